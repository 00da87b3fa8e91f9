#!/bin/bash
# bench/attack-duress.sh — a registered account's duress under a combined attack: 1,000
# connections holding slots, an unknown-account duress flood, 100 MB of garbage frames,
# the station's stderr read at 20 KB/s (bench/attack_duress.py says how). Prints the
# duress ACK latency distribution and whether it is first in `vigil alarms`; target:
# every duress ACKed within 1 s and first in the queue. Release build: BUILD (build-rel).
#   bench/attack-duress.sh          # env: HOLD FLOOD_CONNS GARBAGE_MB DURESS GAP_S BUILD
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-rel}
for b in "$BUILD/station/vigil-station" "$BUILD/cli/vigil"; do
  [ -x "$b" ] || { echo "missing $b (make build-rel, or BUILD=dir)" >&2; exit 2; }
done
echo "# $(date -u +%FT%TZ) $(nproc) cores; build $BUILD; load $(cut -d' ' -f1-3 /proc/loadavg)"
exec /usr/bin/python3 "$ROOT/bench/attack_duress.py" "$BUILD"
