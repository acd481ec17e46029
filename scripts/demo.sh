#!/usr/bin/env bash
# demo.sh BUILD_DIR: the demonstration behind `make demo`.
# For now it is the libtrawl loop demo (docs/examples/loop-demo.c): timers,
# a DNS lookup against the demo's own loopback responder, a TCP echo and a
# file read, interleaved in one loop. Nothing leaves the machine. The scanner
# lab demo will extend this script once the scanner exists.
set -euo pipefail

BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DEMO="$BUILD/docs/examples/loop-demo"
if [ ! -x "$DEMO" ]; then
  echo "demo.sh: $DEMO is missing; build first (make build)" >&2
  exit 1
fi

echo "== libtrawl loop demo: one loop, four kinds of work (times in ms since start)"
"$DEMO" "$SRC/docs/examples/loop-demo.c"
echo "== loop demo done"
