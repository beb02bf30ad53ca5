#!/bin/sh
# Installs the Debian 12 packages Hartslag needs to build, test, fuzz and run.
# Idempotent: when everything is present it returns at once.
set -eu

PACKAGES="build-essential pkg-config libzmq3-dev libczmq-dev libsodium-dev \
libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev sqlite3 libyaml-dev \
libcriterion-dev clang libclang-rt-14-dev llvm gcovr python3 clang-format \
mosquitto mosquitto-clients libmosquitto-dev systemd procps chromium faketime \
valgrind libpq-dev postgresql-15 postgresql-client-15"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "hartslag: missing Debian packages:$missing" >&2
    echo "run as root:  apt-get install -y$missing" >&2
    exit 1
fi

echo "hartslag: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Installing a server must not start one: the tests run their own private
# PostgreSQL clusters and a build machine needs no service on port 5432.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    guard=1
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
if [ -n "$guard" ]; then
    rm -f /usr/sbin/policy-rc.d
fi
