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

check() {
    root=$1
    cd "$root"
    fail=0
    # One awk pass over every #include line (a shell loop forking per line
    # took minutes, and the self-test runs this thirteen times). A quoted
    # include resolves next to its file first, then in the Makefile's -I
    # directories (lib, tests/support); `..` is folded as realpath -m would.
    find lib broker clients keys pseudonymd -name '*.[ch]' 2>/dev/null | sort |
        xargs grep -Hn '^[[:space:]]*#[[:space:]]*include' /dev/null | awk -F: '
        function exists(path,  line, r) {
            r = (getline line < path)
            if (r >= 0)
                close(path)
            return r >= 0
        }
        function fold(path,  parts, n, i, out, depth, stack) {
            n = split(path, parts, "/")
            depth = 0
            for (i = 1; i <= n; i++) {
                if (parts[i] == "" || parts[i] == ".")
                    continue
                if (parts[i] == ".." && depth > 0 && stack[depth] != "..")
                    depth--
                else
                    stack[++depth] = parts[i]
            }
            out = ""
            for (i = 1; i <= depth; i++)
                out = out (i > 1 ? "/" : "") stack[i]
            return out
        }
        {
            file = $1
            num = $2
            line = substr($0, length(file) + length(num) + 3)
            if (!match(line, /include[ \t]*["<][^">]*[">]/))
                next
            spec = substr(line, RSTART, RLENGTH)
            sub(/^include[ \t]*/, "", spec)
            inc = substr(spec, 2, length(spec) - 2)
            top = file
            sub(/\/.*/, "", top)
            if (substr(spec, 1, 1) == "<")
                target = "<" inc ">"
            else {
                target = inc
                dir = file
                sub(/\/[^\/]*$/, "", dir)
                n = split(dir " lib tests/support", dirs, " ")
                for (i = 1; i <= n; i++)
                    if (exists(dirs[i] "/" inc)) {
                        target = fold(dirs[i] "/" inc)
                        break
                    }
            }
            key = top ":" target
            bad = ""
            if (key ~ /^lib:(broker|clients|keys|pseudonymd)\// ||
                key ~ /^lib:<(zmq\.h|czmq\.h|czmq_)/)
                bad = "lib/ includes " target
            else if (key ~ /^broker:clients\//)
                bad = "broker/ includes " target
            else if (key ~ /^clients:broker\//)
                bad = "clients/ includes " target
            else if (key ~ /^keys:clients\//)
                bad = "keys/ includes " target
            else if (key ~ /^pseudonymd:(broker|clients)\//)
                bad = "pseudonymd/ includes " target
            else if (key ~ /^(broker|clients|keys):pseudonymd\//)
                bad = top "/ includes " target
            if (bad != "")
                print "check-includes: " file ":" num ": " bad
        }' >.check-includes.out
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
