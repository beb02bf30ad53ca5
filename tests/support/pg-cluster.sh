#!/bin/sh
# pg-cluster.sh PORT [PRIMARY_PORT NAME]: a private PostgreSQL cluster for
# one test binary (tests/support/pg_harness.c starts it).
#
# It creates a cluster in a new directory under /tmp, serves it on
# 127.0.0.1:PORT only (trust authentication, user and database
# "hartslag"), prints "ready LOCATION" and then obeys one command per line
# on stdin: stop (fast shutdown), start, kill (SIGKILL to the postmaster and
# its backends: a crash), sql TEXT (run TEXT as the superuser), promote
# (a standby becomes a primary; done once it has written). Each answers
# "done" or "failed". At end of input, which also happens when the test
# process dies however it dies, the server is stopped at once and the
# directory removed: no test run leaves a server behind.
#
# With PRIMARY_PORT the cluster is a streaming standby of the cluster on
# 127.0.0.1:PRIMARY_PORT instead of a new one: a pg_basebackup of it (its
# WAL streamed alongside, -R for the standby's settings), a hot standby
# (read-only) that streams from it under application_name NAME, the name
# the primary's synchronous_standby_names gives (pg_harness.c sets it).
# initdb's pg_hba.conf lets replication connections from 127.0.0.1 in
# with the same trust as the others.
#
# As root (CI), initdb and the server run as Debian's postgres user:
# initdb refuses root.
set -u
port=$1
primary_port=${2:-}
name=${3:-}
bindir=$(pg_config --bindir 2>/dev/null)
if [ ! -x "$bindir/initdb" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)
fi
if [ ! -x "$bindir/initdb" ]; then
    echo "failed PostgreSQL server binaries not found (scripts/deps.sh installs postgresql)"
    exit 1
fi
dir=$(mktemp -d /tmp/hartslag-pg-XXXXXX) || exit 1
if [ "$(id -u)" = 0 ]; then
    # initdb runs shell commands into /dev/null as the postgres user; some
    # minimal containers create it 0644. 0666 is what every Linux gives it.
    if ! runuser -u postgres -- sh -c ': >/dev/null' 2>/dev/null; then
        echo "pg-cluster.sh: /dev/null was not writable for others; chmod 0666" >&2
        chmod 0666 /dev/null
    fi
    chown postgres: "$dir"
    as() { runuser -u postgres -- "$@"; }
else
    as() { "$@"; }
fi

options="-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir \
-c fsync=off -c full_page_writes=off -c max_connections=40 -c shared_buffers=32MB \
-c log_min_messages=warning"
# Tests trade durability for speed; the benchmark (HARTSLAG_PG_DURABLE=1)
# measures a server that syncs its commits, as in production.
if [ "${HARTSLAG_PG_DURABLE:-0}" = 1 ]; then
    options=$(echo "$options" | sed 's/-c fsync=off -c full_page_writes=off/-c fsync=on -c full_page_writes=on/')
fi

start() {
    as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" start \
        >/dev/null 2>&1
}

stop() {
    as "$bindir/pg_ctl" -D "$dir/data" -m "$1" -w -t 30 stop >/dev/null 2>&1
}

cleanup() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        stop immediate || kill -9 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap 'cleanup; exit 1' HUP INT TERM PIPE

sql() {
    as "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U hartslag -d hartslag \
        -c "$1" >/dev/null 2>&1
}

# A write the server accepts: a transaction id is refused during recovery.
writable() {
    [ "$(as "$bindir/psql" -X -q -A -t -h 127.0.0.1 -p "$port" -U hartslag -d hartslag \
        -c "SELECT txid_current() > 0" 2>/dev/null)" = t ]
}

promote() {
    as "$bindir/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null 2>&1 || return 1
    i=0
    until writable; do
        i=$((i + 1))
        [ $i -le 600 ] || return 1
        sleep 0.1
    done
}

if [ -n "$primary_port" ]; then
    # The base backup copies the primary's postgresql.auto.conf as it is
    # now: its synchronous_standby_names is set after this (a promoted
    # standby that waited for a standby of its own would hang its commits).
    if ! as "$bindir/pg_basebackup" -D "$dir/data" -R -X stream -c fast \
        -d "host=127.0.0.1 port=$primary_port user=hartslag application_name=$name" \
        >"$dir/basebackup.log" 2>&1; then
        echo "failed pg_basebackup: $(tail -n 1 "$dir/basebackup.log")"
        cleanup
        exit 1
    fi
    options="$options -c hot_standby=on"
    if ! start; then
        echo "failed the standby did not start: $(tail -n 1 "$dir/server.log" 2>/dev/null)"
        cleanup
        exit 1
    fi
else
    if ! as "$bindir/initdb" -D "$dir/data" -U hartslag --auth=trust -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1; then
        echo "failed initdb: $(tail -n 1 "$dir/initdb.log")"
        cleanup
        exit 1
    fi
    if ! start || ! as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U hartslag hartslag \
        >/dev/null 2>&1; then
        echo "failed the server did not start: $(tail -n 1 "$dir/server.log" 2>/dev/null)"
        cleanup
        exit 1
    fi
fi
echo "ready postgresql://hartslag@127.0.0.1:$port/hartslag"

while IFS= read -r line; do
    case $line in
    stop) stop fast && echo done || echo failed ;;
    start) start && echo done || echo failed ;;
    kill)
        # the whole server at once, as a machine that dies: the postmaster
        # and its backends (a backend left alive would keep the shared
        # memory and the next start would refuse)
        pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
        if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
            pkill -9 -P "$pid" 2>/dev/null
            while pgrep -P "$pid" >/dev/null 2>&1 || kill -0 "$pid" 2>/dev/null; do
                sleep 0.05
            done
            echo done
        else
            echo failed
        fi
        ;;
    "sql "*) sql "${line#sql }" && echo done || echo failed ;;
    promote) promote && echo done || echo failed ;;
    *) echo failed ;;
    esac
done
cleanup
