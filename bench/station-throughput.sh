#!/bin/bash
# station-throughput.sh [empty|grown] — vigil-station's speed as ratios to this machine's
# own ceilings, measured in the same run, on the same disk (issue 16). Load: `vigil bench`
# (stop-and-wait panels, AES-128 *ADM-CID, every ACK verified); ceilings: its bare echo
# (network + client), its durable echo (the same plus one write + fdatasync per batch read,
# on the store's disk: the ceiling of any reply-after-fdatasync design there) and
# bench_net_ceiling (bare epoll echo, two processes: printed for reading).
#
# Each round runs, each phase on its own daemon started on a copy of the same store:
#   A    50 connections, store on disk     (station, echo, durable echo)
#   A'   50 connections, store on tmpfs    (station only: fdatasync ~free)
#   B    1,000 connections                 (station, echo)
#   C    50 connections, 20,000 msgs/s offered (station, durable echo)
# A and A' alternate in order from round to round; ROUNDS (3) rounds; each figure is the
# median of the rounds. Figures and targets:
#   CPU per stored frame (A): the station's utime+stime (/proc) over its half of the run
#     divided by the frames it ACKed (its own counter)          target <= 15 us
#   disk vs tmpfs (A / A')                                      target >= 85 %
#   station / durable echo (A)                                  information
#   1,000 connections: station / echo (B)                       target >= 80 %
#   p99 ACK latency at 20,000 msgs/s: station / durable echo (C) target <= 1.5x
# empty: a fresh store with the 1,000 bench accounts; grown: a copy of the store made by
# station-grow-store.sh (>= 500k events over the same 1,000 accounts).
# Env: BUILD (default build-rel), DURATION (s per half, default 10), ROUNDS (3), OUT.
# run-all: args empty
# run-all: args grown
set -euo pipefail
. "$(dirname "$0")/station-lib.sh"
need_bins
[ -x "$BUILD/bench/bench_net_ceiling" ] || { echo "missing $BUILD/bench/bench_net_ceiling (make build-rel)" >&2; exit 2; }
MODE=${1:-empty}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-/tmp/vigil-bench-station-$MODE}
SHM=/dev/shm/vigil-bench-station-$MODE-$$
GROWN=${GROWN:-/tmp/vigil-bench-grown}
rm -rf "$OUT"; mkdir -p "$OUT" "$SHM"
trap 'stop_station; rm -rf "$SHM"' EXIT

write_config "$OUT"
write_config "$SHM"
case $MODE in
  empty)
    use_accounts "$OUT" 1000 ;;
  grown)
    [ -f "$GROWN/store.db" ] || "$(dirname "$0")/station-grow-store.sh"
    cp "$GROWN/store.db" "$OUT/store.db"
    for f in keys audit-head; do
      if [ -f "$GROWN/store.db.$f" ]; then cp -p "$GROWN/store.db.$f" "$OUT/store.db.$f"; fi
    done ;;
  *) echo "usage: $0 [empty|grown]" >&2; exit 2 ;;
esac
echo "store: $(sqlite3 "$OUT/store.db" 'select count(*) from events') events," \
     "$(sqlite3 "$OUT/store.db" 'select count(*) from accounts') accounts"
save_template "$OUT"
machine_line; fsync_probe "$OUT"
FIG="$OUT/figures"; : > "$FIG"

field() { sed -n "s|.*$2=\([0-9.]*\).*|\1|p" <<<"$1" | head -1; }

# phase NAME DIR [bench args...] — one daemon on a copy of the store in DIR, one `vigil
# bench`; sets R (its output), CPU_US (station CPU per ACKed frame over its half), ACKS.
phase() {
  local name=$1 dir=$2; shift 2
  restore_template "$dir" "$OUT"
  : > "$dir/station.log"
  start_station "$dir"
  echo "-- $name: vigil bench $* --duration $DURATION (store in $dir; load $(cut -d' ' -f1 /proc/loadavg))"
  local c0 c1 bp st
  c0=$(cpu_s "$STATION_PID")
  nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" \
      --account-base "$ACCOUNT_BASE" "$@" --duration "$DURATION" > "$dir/bench.out" 2>&1 &
  bp=$!
  # the station's half ends when its line is printed (the echoes follow with it idle)
  while ! grep -q '^station ' "$dir/bench.out" && kill -0 "$bp" 2>/dev/null; do sleep 0.1; done
  c1=$(cpu_s "$STATION_PID")
  stats_now "$dir/station.log"
  ACKS=$(field "$ST" acks)
  wait "$bp" || true
  R=$(cat "$dir/bench.out"); echo "$R"
  CPU_US=$(awk -v a="$c0" -v b="$c1" -v n="$ACKS" 'BEGIN { printf "%.1f", (n > 0 ? (b - a) * 1e6 / n : 0) }')
  stop_station
  st=$(grep ' stats: ' "$dir/station.log" | tail -1)
  echo "   station: CPU $CPU_US us per ACKed frame ($ACKS ACKs); $(field "$st" batch_avg) frames" \
       "per commit, commit p50 $(field "$st" commit_ms_p50) ms p99 $(field "$st" commit_ms_p99) ms"
}
rate() { field "$(grep "^$1 " <<<"$R")" msgs/s; }
p99() { field "$(grep "^$1 " <<<"$R")" p99; }
note() { echo "$1=$2" >> "$FIG"; }

for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS"
  "$BUILD/bench/bench_net_ceiling" --connections 50 --duration 3 | sed 's/^/   net ceiling: /'
  order="disk tmpfs"; [ $((round % 2)) -eq 0 ] && order="tmpfs disk"
  for where in $order; do
    if [ "$where" = disk ]; then
      phase "A 50 connections, disk" "$OUT" --connections 50 --echo --durable-echo "$OUT"
      note a_rate "$(rate station)"; note a_cpu "$CPU_US"
      note a_durable_share "$(awk -v s="$(rate station)" -v d="$(rate durable)" 'BEGIN { printf "%.1f", 100 * s / d }')"
      note a_echo "$(rate echo)"; note a_durable "$(rate durable)"
    else
      phase "A' 50 connections, tmpfs" "$SHM" --connections 50
      note t_rate "$(rate station)"; note t_cpu "$CPU_US"
    fi
  done
  phase "B 1,000 connections" "$OUT" --connections 1000 --echo
  note b_rate "$(rate station)"; note b_echo "$(rate echo)"; note b_cpu "$CPU_US"
  phase "C 50 connections, 20,000 msgs/s offered" "$OUT" --connections 50 --rate 20000 \
      --durable-echo "$OUT"
  note c_rate "$(rate station)"; note c_p99 "$(p99 station)"; note c_durable_p99 "$(p99 durable)"
  note load "$(cut -d' ' -f1 /proc/loadavg)"
  # the ratios of this round (each of the same round's phases, minutes apart at most)
  last() { grep "^$1=" "$FIG" | tail -1 | cut -d= -f2; }
  note r_disk_tmpfs "$(awk -v a="$(last a_rate)" -v t="$(last t_rate)" 'BEGIN { printf "%.1f", 100 * a / t }')"
  note r_b_echo "$(awk -v a="$(last b_rate)" -v e="$(last b_echo)" 'BEGIN { printf "%.1f", 100 * a / e }')"
  note r_c_p99 "$(awk -v a="$(last c_p99)" -v d="$(last c_durable_p99)" 'BEGIN { printf "%.2f", a / d }')"
done

# median KEY — the median of the rounds' figures
median() { grep "^$1=" "$FIG" | cut -d= -f2 | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
all() { grep "^$1=" "$FIG" | cut -d= -f2 | paste -sd' '; }
verdict() {   # verdict TEXT CONDITION
  if awk "BEGIN { exit !($2) }"; then echo "verdict: $1: met"; else echo "verdict: $1: NOT met"; fi
}
AC=$(median a_cpu); DT=$(median r_disk_tmpfs); BR=$(median r_b_echo); CR=$(median r_c_p99)
echo "== $MODE store: medians of $ROUNDS rounds; each round's figure in brackets (a ratio is"
echo "   taken within its round, then the median of the rounds); load average [$(all load)]"
echo "A  50 conns, disk: $(median a_rate) msgs/s [$(all a_rate)]; echo [$(all a_echo)], durable echo [$(all a_durable)]"
echo "A' 50 conns, tmpfs: $(median t_rate) msgs/s [$(all t_rate)]"
echo "B  1,000 conns: $(median b_rate) msgs/s [$(all b_rate)]; echo [$(all b_echo)]"
echo "C  20,000 msgs/s offered: station p99 [$(all c_p99)] us, durable echo p99 [$(all c_durable_p99)] us; reached [$(all c_rate)] msgs/s"
verdict "CPU per stored frame <= 15 us (disk $AC us [$(all a_cpu)]; tmpfs $(median t_cpu) us [$(all t_cpu)]; 1,000 conns $(median b_cpu) us [$(all b_cpu)])" "$AC <= 15"
verdict "disk >= 85 % of tmpfs at 50 connections ($DT % [$(all r_disk_tmpfs)])" "$DT >= 85"
echo "information: station / durable echo at 50 connections: $(median a_durable_share) % [$(all a_durable_share)]"
verdict "1,000 connections >= 80 % of the echo ($BR % [$(all r_b_echo)])" "$BR >= 80"
verdict "p99 at 20,000 msgs/s offered <= 1.5x the durable echo's (${CR}x [$(all r_c_p99)])" "$CR <= 1.5"
