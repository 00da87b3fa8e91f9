#!/bin/bash
# station-throughput.sh [empty|grown] — vigil-station throughput and ACK latency, durable,
# loopback, with `vigil bench` (stop-and-wait panels, AES-128 *ADM-CID, every ACK verified)
# and its in-process echo baseline in the same run:
#   A. 50 connections, as fast as stop-and-wait allows   (target >= 50,000 msgs/s)
#   B. 1,000 connections, same                            (target >= 35% of the echo baseline)
#   C. 50 connections at 20,000 msgs/s offered            (target p99 ACK latency <= 2 ms)
# empty: a fresh store with the 1,000 bench accounts; grown: a copy of the store made by
# station-grow-store.sh (>= 500k events over the same 1,000 accounts).
# Env: BUILD (default build-rel), DURATION (s, default 15), OUT (work dir).
set -euo pipefail
. "$(dirname "$0")/station-lib.sh"
need_bins
MODE=${1:-empty}
DURATION=${DURATION:-15}
OUT=${OUT:-/tmp/vigil-bench-station-$MODE}
GROWN=${GROWN:-/tmp/vigil-bench-grown}
rm -rf "$OUT"; mkdir -p "$OUT"
trap stop_station EXIT

case $MODE in
  empty)
    write_config "$OUT"
    use_accounts "$OUT" 1000 ;;
  grown)
    [ -f "$GROWN/store.db" ] || "$(dirname "$0")/station-grow-store.sh"
    write_config "$OUT"
    cp "$GROWN/store.db" "$OUT/store.db"
    echo "store: $(sqlite3 "$OUT/store.db" 'select count(*) from events') events," \
         "$(sqlite3 "$OUT/store.db" 'select count(*) from accounts') accounts" ;;
  *) echo "usage: $0 [empty|grown]" >&2; exit 2 ;;
esac

machine_line
start_station "$OUT"
echo "station pid $STATION_PID port $PORT, store $MODE"
B=("$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" --account-base "$ACCOUNT_BASE")

echo "== A: 50 connections, AES-128, stop-and-wait"
echo "\$ vigil bench --host 127.0.0.1 --port \$PORT --key \$KEY --connections 50 --duration $DURATION --echo"
"${B[@]}" --connections 50 --duration "$DURATION" --echo
echo "== B: 1,000 connections"
echo "\$ vigil bench --host 127.0.0.1 --port \$PORT --key \$KEY --connections 1000 --duration $DURATION --echo"
"${B[@]}" --connections 1000 --duration "$DURATION" --echo
echo "== C: 50 connections, 20,000 msgs/s offered"
echo "\$ vigil bench --host 127.0.0.1 --port \$PORT --key \$KEY --connections 50 --rate 20000 --duration $DURATION"
"${B[@]}" --connections 50 --rate 20000 --duration "$DURATION"
echo "station RSS $(rss_kib "$STATION_PID") KiB"
stop_station
echo "store after: $(sqlite3 "$OUT/store.db" 'select count(*) from events') events"
