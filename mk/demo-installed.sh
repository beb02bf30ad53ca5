#!/bin/sh
# The Hartslag demo, from an installed tree (make install puts this file at
# PREFIX/share/hartslag/demo.sh). It runs scripts/demo.sh next to it, which
# takes the example configurations from PREFIX/share/hartslag/examples,
# with the binaries in PREFIX/bin (or the directory given as $1).
#
#   /usr/local/share/hartslag/demo.sh            KEEP=1 keeps its directory
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$(cd "$here/../../bin" 2>/dev/null && pwd)}
[ -n "$bin" ] || { echo "demo: cannot find the binaries: pass their directory as \$1" >&2; exit 1; }
exec "$here/scripts/demo.sh" "$bin"
