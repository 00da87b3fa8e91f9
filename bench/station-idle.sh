#!/bin/bash
# station-idle.sh — station memory per idle connected panel: 19,000 panels connect, each
# sends one encrypted NULL poll (ACKed) and stays connected. The station's VmRSS is read
# from /proc before the connections (accounts loaded, warm) and once all are up.
# Target (issue 16): <= 1 KiB of station memory per connected panel. Env: N (default 19000), BUILD.
set -euo pipefail
. "$(dirname "$0")/station-lib.sh"
need_bins
N=${N:-19000}
OUT=${OUT:-/tmp/vigil-bench-station-idle}
ACCTS=${ACCTS:-1000}   # panels share the 1,000 bench accounts (19 connections each)
trap 'stop_station; [ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null || true' EXIT
write_config "$OUT"
use_accounts "$OUT" "$ACCTS"
machine_line
start_station "$OUT"
# Warm-up: a few connections and frames, so lazily allocated pools exist before "before".
"$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" --account-base "$ACCOUNT_BASE" \
   --connections 10 --duration 1 --warmup 0 >/dev/null
sleep 1
before=$(rss_kib "$STATION_PID")
echo "station pid $STATION_PID: VmRSS before $before KiB"
echo "\$ vigil bench --host 127.0.0.1 --port \$PORT --key \$KEY --idle $N --accounts $ACCTS --duration 30"
"$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" --account-base "$ACCOUNT_BASE" \
   --idle "$N" --accounts "$ACCTS" --duration 30 > "$OUT/idle.out" &
BPID=$!
for ((t = 0; t < 600; t++)); do
  grep -q 'holding' "$OUT/idle.out" 2>/dev/null && break
  kill -0 "$BPID" 2>/dev/null || break
  sleep 0.5
done
cat "$OUT/idle.out"
sleep 2
after=$(rss_kib "$STATION_PID")
conns=$(ls /proc/"$STATION_PID"/fd | wc -l)
echo "station VmRSS after $after KiB with $conns open fds"
awk -v b="$before" -v a="$after" -v n="$N" \
  'BEGIN { k = (a-b)/n; printf "station memory per idle connection: %.2f KiB ((%d - %d) KiB / %d)\n", k, a, b, n;
           printf "verdict: <= 1 KiB of station memory per connected panel (%.2f KiB): %s\n", k, (k <= 1 ? "met" : "NOT met") }'
wait "$BPID" || true
BPID=
grep -q "$N polls ACKed" "$OUT/idle.out" || { echo "not every idle panel got its poll ACKed" >&2; exit 1; }
