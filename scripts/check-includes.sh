#!/bin/sh
# check-includes.sh: the layering of Hartslag's tree (issue 16), checked by
# `make lint`.
#
#   lib/      the pure core: includes nothing from broker/ or clients/, no
#             ZeroMQ or CZMQ (zmq.h, czmq.h), and compiles without their
#             flags; no lib/ header mentions sqlite3 (the stores speak
#             lib/db.h)
#   broker/   never includes from clients/
#   clients/  never includes from broker/
#   keys/     never includes from clients/ (exit codes: lib/exit_codes.h)
#   pseudonymd/ (the pseudonym service, issue 17) never includes from
#             broker/ or clients/, and nothing else includes from it
#
# Usage: scripts/check-includes.sh [ROOT]     check the tree at ROOT (.)
#        scripts/check-includes.sh --self-test plant each kind of violation
#                                              in a copy and require a refusal
# Set CHECK_INCLUDES_COMPILE=0 to skip the compile of lib/ (the self-test
# does; the grep rules already catch its planted violations).
set -eu

# lib/ headers that still expose SQLite types: none since the audit tables
# moved behind lib/audit_store (issue 16). Kept so that the rule's
# bookkeeping stays checked: a header listed here that no longer mentions
# sqlite3 is an error too, so that it is taken off.
SQLITE_HEADERS_PENDING=""

# Prints the repository path a quoted #include of FILE resolves to: next to
# FILE first, then the -I directories of the Makefile (lib, tests/support).
resolve() {
    file=$1
    inc=$2
    for dir in "$(dirname "$file")" lib tests/support; do
        if [ -f "$dir/$inc" ]; then
            realpath -m --relative-to=. "$dir/$inc"
            return
        fi
    done
    echo "$inc"
}

check() {
    root=$1
    cd "$root"
    fail=0
    for file in $(find lib broker clients keys pseudonymd -name '*.[ch]' 2>/dev/null | sort); do
        top=${file%%/*}
        grep -n '^[[:space:]]*#[[:space:]]*include' "$file" | while IFS= read -r line; do
            num=${line%%:*}
            inc=$(echo "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*["<]\([^">]*\)[">].*/\1/p')
            case "$line" in
            *'<'*'>'*) target="<$inc>" ;;
            *) target=$(resolve "$file" "$inc") ;;
            esac
            bad=""
            case "$top:$target" in
            lib:broker/* | lib:clients/* | lib:keys/* | lib:pseudonymd/*) bad="lib/ includes $target" ;;
            lib:'<zmq.h>' | lib:'<czmq.h>' | lib:'<czmq_'*) bad="lib/ includes $target" ;;
            broker:clients/*) bad="broker/ includes $target" ;;
            clients:broker/*) bad="clients/ includes $target" ;;
            keys:clients/*) bad="keys/ includes $target" ;;
            pseudonymd:broker/* | pseudonymd:clients/*) bad="pseudonymd/ includes $target" ;;
            broker:pseudonymd/* | clients:pseudonymd/* | keys:pseudonymd/*)
                bad="$top/ includes $target" ;;
            esac
            if [ -n "$bad" ]; then
                echo "check-includes: $file:$num: $bad"
            fi
        done
    done >.check-includes.out
    if [ -s .check-includes.out ]; then
        cat .check-includes.out
        fail=1
    fi
    rm -f .check-includes.out
    for header in lib/*.h; do
        name=${header#lib/}
        pending=0
        for p in $SQLITE_HEADERS_PENDING; do
            [ "$p" = "$name" ] && pending=1
        done
        if grep -q sqlite3 "$header"; then
            if [ $pending = 0 ]; then
                echo "check-includes: $header mentions sqlite3 (lib/ headers speak lib/db.h)"
                fail=1
            fi
        elif [ $pending = 1 ]; then
            echo "check-includes: $header no longer mentions sqlite3: take it off" \
                "SQLITE_HEADERS_PENDING in scripts/check-includes.sh"
            fail=1
        fi
    done
    if [ "${CHECK_INCLUDES_COMPILE:-1}" != 0 ]; then
        # lib/ without the ZeroMQ and CZMQ flags: only its own libraries.
        flags=$(pkg-config --cflags libsodium libprotobuf-c sqlite3 yaml-0.1 libpq)
        gen=${BUILD:-build}/gen
        for file in lib/*.c; do
            # shellcheck disable=SC2086
            if ! ${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -fsyntax-only \
                -I"$gen" -Ilib $flags "$file" 2>/dev/null; then
                echo "check-includes: $file does not compile without the ZeroMQ/CZMQ flags"
                fail=1
            fi
        done
    fi
    return $fail
}

# Plants one violation per rule in a copy of the tree; each must be refused,
# and the untouched copy must pass.
self_test() {
    src=$(pwd)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    export CHECK_INCLUDES_COMPILE=0
    status=0
    plant() {
        rm -rf "$tmp/tree"
        mkdir -p "$tmp/tree"
        (cd "$src" && tar cf - lib broker clients keys pseudonymd tests/support) | (cd "$tmp/tree" && tar xf -)
        if [ $# -gt 0 ]; then
            printf '%s\n' "$2" >>"$tmp/tree/$1"
        fi
    }
    plant
    if ! (check "$tmp/tree" >/dev/null); then
        echo "check-includes self-test: the clean tree is refused"
        status=1
    fi
    while IFS='|' read -r file text; do
        plant "$file" "$text"
        if (check "$tmp/tree" >/dev/null); then
            echo "check-includes self-test: not refused: $file gains '$text'"
            status=1
        fi
    done <<'EOF'
lib/merkle.c|#include "../broker/store.h"
lib/merkle.c|#include "../clients/daemon/store.h"
lib/merkle.h|#include <czmq.h>
lib/merkle.c|#include <zmq.h>
lib/merkle.h|typedef struct sqlite3 sqlite3;
broker/store.c|#include "../clients/cli/commands.h"
clients/cli/cmd_send.c|#include "../../broker/broker.h"
clients/daemon/store.c|#include "../../broker/store.h"
keys/cmd_keys.c|#include "../clients/cli/commands.h"
pseudonymd/service.c|#include "../broker/auth_gate.h"
pseudonymd/store.c|#include "../clients/daemon/store.h"
broker/broker.c|#include "../pseudonymd/request.h"
EOF
    return $status
}

if [ "${1:-}" = "--self-test" ]; then
    self_test
else
    check "${1:-.}"
fi
