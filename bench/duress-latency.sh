#!/bin/bash
# bench/duress-latency.sh — time from the duress key press in a vigil-panel to the
# alarm stored at the station, p50/p99 over TRIALS, alone and under load.
#
#   bench/duress-latency.sh [TRIALS=1000] [LOAD_PANELS=14000]
#
# One vigil-panel (account ACCOUNT_BASE) enters its duress code TRIALS times, one
# at a time; each trial runs from the '#' that completes the entry to the *ACK of
# the 1121 frame. vigil-station ACKs only after the event is committed (SQLite WAL,
# synchronous=FULL), so this is an upper bound of "key press → alarm stored".
# Under load, a second vigil-panel process runs LOAD_PANELS panels (--count, the
# accounts after ACCOUNT_BASE), each cycling its 8 partitions through real keypad
# entries (arm → closing report at the end of the 45 s exit delay → disarm →
# opening report), ~0.36 reports/s per panel, plus a NULL poll every 60 s. The
# load process prints what it really achieved every 10 s (events/s ACKed).
# Binaries from build-rel (make build-rel) or BUILD=dir. Touches only a temp dir
# and the processes it starts; never prints a key or a code.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/station-lib.sh"
TRIALS=${1:-1000}
LOAD=${2:-14000}
PANEL=${PANEL:-$BUILD/panel-sim/vigil-panel}
need_bins
[ -x "$PANEL" ] || { echo "missing $PANEL (make build-rel)" >&2; exit 2; }

DIR=$(mktemp -d /tmp/vigil-duress-bench.XXXXXX)
LOAD_PID=
cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
  stop_station
  [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT

write_config "$DIR"
use_accounts "$DIR" $((LOAD + 1))
# The trials under load come from another account: the same sequences and payloads
# as the first run's would be duplicates to the station (ACKed without a store).
DURESS2=$(printf '%X' $((0x$ACCOUNT_BASE + LOAD + 1)))
"$VIGIL" -c "$DIR/station.conf" account add "$DURESS2" --name "Bench duress 2" \
  --address "1 Bench Road" --key "$BENCH_KEY" > /dev/null
start_station "$DIR"
KEYHEX=$(printf '%s' "$BENCH_KEY" | od -An -tx1 | tr -d ' \n')
panel_conf() {  # panel_conf FILE ACCOUNT [extra lines]
  local f=$1 a=$2; shift 2
  { echo "account $a"; echo "receiver 127.0.0.1:$PORT"; echo "transport tcp"
    echo "key_hex $KEYHEX"; echo "exit_delay_s 45"; for l in "$@"; do echo "$l"; done; } > "$f"
}
panel_conf "$DIR/duress.conf" "$ACCOUNT_BASE"
panel_conf "$DIR/duress2.conf" "$DURESS2"
panel_conf "$DIR/load.conf" "$(printf '%X' $((0x$ACCOUNT_BASE + 1)))" "supervision_s 60" \
  "ack_timeout_ms 5000"

machine_line
fsync_probe "$DIR"
echo "# alone: $TRIALS duress trials, one panel, nothing else on the station"
nice -n "$NICE" "$PANEL" -c "$DIR/duress.conf" --bench-duress "$TRIALS" --bench-warmup-s 2 \
  --bench-gap-ms 20

if [ "$LOAD" -gt 0 ]; then
  echo "# under load: $LOAD panels (--count --load) in a second process; warm-up ${WARMUP:=110} s"
  echo "# (reports start when the first exit delays end: 45 s plus a random start within 45 s)"
  nice -n "$NICE" "$PANEL" -c "$DIR/load.conf" --count "$LOAD" --load 2> "$DIR/load.log" &
  LOAD_PID=$!
  sleep "$WARMUP"
  echo "# load before the trials (the load process's own 10 s counters):"
  tail -2 "$DIR/load.log"
  nice -n "$NICE" "$PANEL" -c "$DIR/duress2.conf" --bench-duress "$TRIALS" --bench-warmup-s 1 \
    --bench-gap-ms 20
  sleep 1
  echo "# load during and after the trials:"
  tail -4 "$DIR/load.log"
  kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=
fi
