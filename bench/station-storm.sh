#!/bin/bash
# station-storm.sh — a duress in a storm (issue 16). 10,000 connected panels (`vigil bench`,
# AES-128 *ADM-CID, stop-and-wait, sharing the 1,000 bench accounts) offer 1.5x what the
# station committed at 1,000 connections a moment before (phase 1, same run); meanwhile
# bench/storm_duress.py sends one encrypted duress a second from other panels (DURESS
# accounts of their own, one connection each). In the same `vigil bench` invocation the
# same storm then runs against the durable echo (one write + fdatasync per batch read, on
# the store's disk): its p99 is the ceiling. Prints, with a verdict each:
#   - the duress ACK latency: p50/p99/max and a histogram; target p99 <= 3x the durable
#     echo's p99 at the same offered rate;
#   - routine events ACKed before a duress that arrived earlier than them: must be 0. From
#     the store: rows are inserted in batch order and, within a batch, in the order their
#     replies are written, so a routine row before a duress row with a later receive time
#     is exactly such an event;
#   - none lost, none ACKed before durable: every duress ACKed and stored once; the station's
#     ACKs of new events never exceed the events it stored; vigil bench saw no bad reply.
# ROUNDS (default 3) rounds; the figures are the medians, each round's beside them.
# Env: BUILD (build-rel), DURATION (s of storm, default 20), ROUNDS, PANELS (10000),
# DURESS (accounts, default 8), OUT.
set -euo pipefail
. "$(dirname "$0")/station-lib.sh"
need_bins
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
PANELS=${PANELS:-10000}
NDURESS=${DURESS:-8}
OUT=${OUT:-/tmp/vigil-bench-station-storm}
rm -rf "$OUT"; mkdir -p "$OUT"
trap 'stop_station; [ -n "${BP:-}" ] && kill "$BP" 2>/dev/null || true' EXIT

write_config "$OUT"
use_accounts "$OUT" 1000
DACCTS=()
for ((i = 0; i < NDURESS; i++)); do
  DACCTS+=("$(printf '%X' $((0x$ACCOUNT_BASE + 0x10000 + i)))")
  "$VIGIL" -c "$OUT/station.conf" account add "${DACCTS[$i]}" --name "Storm duress $i" \
    --address "1 Bench Road" --key "$BENCH_KEY" > /dev/null
done
DLIST=$(IFS=,; echo "${DACCTS[*]}")
DSQL="'$(IFS=,; echo "${DACCTS[*]}" | sed "s/,/','/g")'"
save_template "$OUT"
machine_line; fsync_probe "$OUT"
FIG="$OUT/figures"; : > "$FIG"
field() { sed -n "s|.*$2=\([0-9.]*\).*|\1|p" <<<"$1" | head -1; }
note() { echo "$1=$2" >> "$FIG"; }

fresh() {
  restore_template "$OUT"
  : > "$OUT/station.log"
  start_station "$OUT"
}
B=()
# The generator's durable echo half holds both ends of every connection in one process: give
# it room for 2 x PANELS descriptors where the hard limit allows (root), else as it is.
bench() {
  ( ulimit -n $((2 * PANELS + 1000)) 2>/dev/null || true
    exec nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" \
      --account-base "$ACCOUNT_BASE" "$@" )
}

for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
  # 1. what the station commits at 1,000 connections, now
  fresh
  R=$(bench --connections 1000 --duration 10); echo "$R"
  stop_station
  R1000=$(field "$(grep '^station ' <<<"$R")" msgs/s)
  OFFER=$(awk -v r="$R1000" 'BEGIN { printf "%d", r * 1.5 }')
  # 2. the storm, then the same storm against the durable echo
  fresh
  START_ID=$(sqlite3 "$OUT/store.db" 'select coalesce(max(id), 0) from events')
  echo "\$ vigil bench --connections $PANELS --accounts 1000 --rate $OFFER --warmup 2" \
       "--duration $DURATION --timeout-ms 30000 --durable-echo \$OUT   (1.5 x $R1000)"
  bench --connections "$PANELS" --accounts 1000 --rate "$OFFER" --warmup 2 \
    --duration "$DURATION" --timeout-ms 30000 --durable-echo "$OUT" > "$OUT/storm.out" 2>&1 &
  BP=$!
  # the duress panels at the same priority as the station and the storm's panels (else,
  # both cores busy, their own wake-ups would be timed)
  nice -n "$NICE" /usr/bin/python3 "$(dirname "$0")/storm_duress.py" 127.0.0.1 "$PORT" "$BENCH_KEY" "$DLIST" \
    $((DURATION + 30)) "$OUT/storm.out" "$OUT/duress.$round"
  while ! grep -q '^station ' "$OUT/storm.out" && kill -0 "$BP" 2>/dev/null; do sleep 0.2; done
  stats_now "$OUT/station.log"
  wait "$BP" || true; BP=
  cat "$OUT/storm.out"
  stop_station
  RS=$(grep '^station ' "$OUT/storm.out"); RD=$(grep '^durable  conns' "$OUT/storm.out" || true)
  DP99=$(field "$RD" p99)
  if [ -z "$DP99" ] || [ "$DP99" = 0 ]; then
    echo "durable echo: no figure this round (vigil bench failed in its durable echo half):" \
         "the round's ratio is left out"
  fi
  echo "durable echo: $(field "$RD" connected) of $PANELS panels connected (its server and the" \
       "panels share one process's open-file limit: $(ulimit -n))"
  # the duress latencies (us; -1 none, -2 skipped: every duress panel still waiting)
  sort -k3 -n "$OUT/duress.$round" | awk -v dp="$DP99" -v r="$round" -v fig="$FIG" '
    $3 >= 0 { v[++n] = $3 } $3 == -1 { lost++ } $3 == -2 { skipped++ }
    END {
      p50 = n ? v[int((n - 1) * 0.50) + 1] : 0; p99 = n ? v[int((n - 1) * 0.99) + 1] : 0
      printf "duress: %d ACKed, %d unanswered, %d not sent (all duress panels waiting); p50 %d us, p99 %d us, max %d us; durable echo p99 %d us (%.2fx)\n",
             n, lost, skipped, p50, p99, n ? v[n] : 0, dp, dp ? p99 / dp : 0
      printf "duress_p99=%d\nduress_lost=%d\nduress_n=%d\n", p99, lost + skipped, n >> fig
      if (dp) printf "duress_ratio=%.2f\ndurable_p99=%d\n", p99 / dp, dp >> fig
      split("1 2 5 10 20 50 100 200 500 1000 2000 5000 1000000000", ub, " ")
      for (i = 1; i <= n; i++) { ms = v[i] / 1000; for (b = 1; ms >= ub[b]; b++); h[b]++ }
      lo = 0
      for (b = 1; b <= 13; b++) {
        label = b < 13 ? sprintf("%5s-%-5s ms", lo, ub[b]) : sprintf("%5s+      ms", lo)
        bar = ""; for (k = 0; k < h[b] && k < 60; k++) bar = bar "#"
        if (h[b]) printf "  %s %4d %s\n", label, h[b], bar
        lo = ub[b]
      }
    }'
  # order, loss, durability, from the store this storm wrote
  Q="select count(*) from events d join events r on r.id < d.id and r.received_at_ms > d.received_at_ms
     where d.id > $START_ID and r.id > $START_ID and d.account in ($DSQL) and d.cid_event = 121
       and r.account not in ($DSQL)"
  BEFORE=$(sqlite3 "$OUT/store.db" "$Q")
  DSTORED=$(sqlite3 "$OUT/store.db" "select count(*) from events where id > $START_ID and account in ($DSQL)")
  STORED=$(sqlite3 "$OUT/store.db" "select count(*) from events where id > $START_ID")
  echo "store: $STORED events stored by the storm, $DSTORED of them duress;" \
       "routine events ACKed before a duress that arrived earlier: $BEFORE"
  echo "station: frames_rx $(field "$ST" frames_rx), ACKs $(field "$ST" acks) (duplicates ACKed again" \
       "$(field "$ST" duplicates), polls $(field "$ST" polls)), events stored $(field "$ST" events_stored)," \
       "batch full (unanswered, retried) $(field "$ST" batch_full_drops); $(field "$ST" batch_avg) frames per commit"
  note routine_before "$BEFORE"
  note offered "$OFFER"; note storm_rate "$(field "$RS" msgs/s)"
  note r1000 "$R1000"; note load "$(cut -d' ' -f1 /proc/loadavg)"
  DN=$(awk '$3 >= 0' "$OUT/duress.$round" | wc -l)
  # every ACKed duress stored once; no ACK of a new event without its row; no bad reply
  ok=1
  [ "$DSTORED" -eq "$DN" ] || { echo "duress: $DN ACKed but $DSTORED stored" >&2; ok=0; }
  awk -v a="$(field "$ST" acks)" -v d="$(field "$ST" duplicates)" -v p="$(field "$ST" polls)" \
      -v s="$(field "$ST" events_stored)" 'BEGIN { exit !(a - d - p <= s) }' ||
    { echo "the station ACKed more new events than it stored" >&2; ok=0; }
  grep -q ' bad=0 nak=0 duh=0 closed=0 ' <<<"$RS" || { echo "vigil bench saw bad replies or closes" >&2; ok=0; }
  note intact "$ok"
done

median() { grep "^$1=" "$FIG" | cut -d= -f2 | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
all() { grep "^$1=" "$FIG" | cut -d= -f2 | paste -sd' '; }
sum() { grep "^$1=" "$FIG" | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }'; }
verdict() { if awk "BEGIN { exit !($2) }"; then echo "verdict: $1: met"; else echo "verdict: $1: NOT met"; fi; }
echo "== storm: $PANELS panels offering 1.5x the 1,000-connection rate (median $(median r1000) msgs/s [$(all r1000)]);" \
     "the station committed $(median storm_rate) msgs/s [$(all storm_rate)]; load average [$(all load)]"
echo "duress p99 [$(all duress_p99)] us; the durable echo's p99 in the same storm [$(all durable_p99)] us"
verdict "duress p99 <= 3x the durable echo's p99 in the same storm ($(median duress_ratio)x [$(all duress_ratio)])" \
  "$(median duress_ratio) <= 3 && $(median duress_ratio) > 0"
verdict "routine events ACKed before an earlier duress = 0 ([$(all routine_before)])" "$(sum routine_before) == 0"
verdict "none lost, none ACKed before durable (every duress ACKed and stored once, ACKs <= rows, no bad reply) [$(all intact)]" \
  "$(sum intact) == $ROUNDS && $(sum duress_lost) == 0"
