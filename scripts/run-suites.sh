#!/bin/sh
# Runs test suites, PARALLEL at a time, each with Criterion's --jobs 2, and
# prints each suite's output whole when it ends (never interleaved), with
# its time. Reads one suite a line on stdin: "plain PATH" or "postgresql
# PATH" (run with HARTSLAG_TEST_STORE=postgresql). After all have run,
# exits 1 naming every suite that failed.
#
#   usage: run-suites.sh PARALLEL BUILD_DIR SOURCE_DIR < suites
#
# Why parallel: most integration suites wait (daemons start, brokers
# restart, a store is torn) far more than they compute, so two suites at a
# time on two cores take little more than the longer of them. Every test
# makes its own temporary directory, ports and PostgreSQL cluster, so
# suites share no state.
set -u

if [ "${1:-}" = --one ]; then
    # One suite (called through xargs): output, status and time to files.
    work=$2 n=$3 store=$4 suite=$5
    began=$(date +%s)
    if [ "$store" = postgresql ]; then
        HARTSLAG_TEST_STORE=postgresql \
            HARTSLAG_CHAOS_SIGNALS=${HARTSLAG_CHAOS_SIGNALS:-10000} \
            HARTSLAG_CHAOS_KILLS=${HARTSLAG_CHAOS_KILLS:-10} \
            "$suite" --jobs 2 --short-filename >"$work/$n.log" 2>&1
    else
        "$suite" --jobs 2 --short-filename >"$work/$n.log" 2>&1
    fi
    rc=$?
    label=$suite
    [ "$store" = postgresql ] && label="$suite (PostgreSQL)"
    [ $rc -eq 0 ] || echo "$label" >"$work/$n.failed"
    # One write of a whole suite's output: two suites' lines never mix.
    out=$({ echo "== $label"; cat "$work/$n.log"; echo "-- $label: $(($(date +%s) - began)) s"; })
    printf '%s\n' "$out"
    exit 0
fi

parallel=$1
HARTSLAG_BIN=$2
HARTSLAG_SRC=$3
export HARTSLAG_BIN HARTSLAG_SRC
work=$(mktemp -d "${TMPDIR:-/tmp}/hartslag-suites.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

n=0
while read -r store suite; do
    [ -n "${suite:-}" ] || continue
    n=$((n + 1))
    printf '%s %s %s %s\n' "$work" "$n" "$store" "$suite"
done | xargs -P "$parallel" -L 1 "$0" --one

failed=$(cat "$work"/*.failed 2>/dev/null | tr '\n' ' ')
if [ -n "$failed" ]; then
    echo "FAILED ($HARTSLAG_BIN): $failed"
    exit 1
fi
exit 0
