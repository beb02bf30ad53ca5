#!/bin/sh
# Installs the Debian 12 packages Hartslag needs to build, test, fuzz and run.
# Idempotent: when everything is present it returns at once.
set -eu

PACKAGES="build-essential pkg-config libzmq3-dev libczmq-dev libsodium-dev \
libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev sqlite3 libyaml-dev \
libcriterion-dev clang libclang-rt-14-dev llvm gcovr python3 clang-format \
mosquitto mosquitto-clients libmosquitto-dev systemd procps chromium faketime \
valgrind"

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
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
