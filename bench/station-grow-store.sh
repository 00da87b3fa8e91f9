#!/bin/bash
# station-grow-store.sh — makes the "grown" store for station-throughput.sh: the 1,000
# bench accounts and at least 500,000 events over them, written BY THE DAEMON (vigil bench
# with 1,000 panels against a running vigil-station), so the rows are exactly what the
# daemon stores. Output: $GROWN/store.db (default /tmp/vigil-bench-grown).
# run-all: skip
set -euo pipefail
. "$(dirname "$0")/station-lib.sh"
need_bins
GROWN=${GROWN:-/tmp/vigil-bench-grown}
TARGET=${TARGET:-500000}
rm -rf "$GROWN"; mkdir -p "$GROWN"
trap stop_station EXIT
write_config "$GROWN"
use_accounts "$GROWN" 1000
start_station "$GROWN"
n=0
while [ "$n" -lt "$TARGET" ]; do
  nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" --account-base "$ACCOUNT_BASE" \
      --connections 1000 --duration 20 --warmup 0 >"$GROWN/grow.out" || true
  cat "$GROWN/grow.out"
  n=$(sqlite3 "$GROWN/store.db" 'select count(*) from events')
  echo "store: $n events"
done
stop_station
sqlite3 "$GROWN/store.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
echo "grown store: $(sqlite3 "$GROWN/store.db" 'select count(*) from events') events over" \
     "$(sqlite3 "$GROWN/store.db" 'select count(distinct account) from events') accounts in $GROWN/store.db"
