#!/bin/bash
# station-pg.sh — vigil-station's durable throughput on PostgreSQL, one node and two
# nodes on one database, beside the same station on SQLite, all in one run on the same
# disk (issue 15: one PostgreSQL node >= 50% of the SQLite throughput).
#   S. SQLite store, 50 connections (stop-and-wait, AES-128 *ADM-CID, every ACK checked)
#      S and P1 alternate three times; the verdict is on the medians
#   P1. PostgreSQL store (a throwaway cluster of scripts/pg-test-cluster in OUT: fsync on,
#       synchronous_commit on), one node, 50 connections
#   P2. one database, two nodes, 25 connections each at once (summed)
# Every S phase starts from a copy of the accounts-only store, every P phase from a copy of
# the accounts-only database (CREATE DATABASE vigil_run TEMPLATE vigil_bench).
# Each figure is `vigil bench`'s station msgs/s; the durable echo of the S phase (one
# write + fdatasync per batch read on this disk) is printed as the disk's ceiling.
# Besides msgs/s, the CPU seconds of the station(s) and of the PostgreSQL server per
# 1,000 frames show what bounds the PostgreSQL figure.
# Env: BUILD (default build-rel), DURATION (s, default 10), OUT (work dir, default
# /tmp/vigil-bench-pg; the cluster runs as the postgres user when run as root).
# run-all: args
set -euo pipefail
. "$(dirname "$0")/station-lib.sh"
need_bins
DURATION=${DURATION:-10}
OUT=${OUT:-/tmp/vigil-bench-pg}
N_ACCOUNTS=1000
PGC="$ROOT/scripts/pg-test-cluster"
rm -rf "$OUT"; mkdir -p "$OUT"; chmod 0755 "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_station
  "$PGC" stop "$OUT/cluster" >/dev/null 2>&1 || true
}
trap cleanup EXIT

field() { sed -n "s|.*$2=\([0-9.]*\).*|\1|p" <<<"$1" | head -1; }
verdict() { if awk "BEGIN { exit !($2) }"; then echo "target $1: met"; else echo "target $1: MISSED"; fi; }
machine_line; fsync_probe "$OUT"

mkdir -p "$OUT/sqlite"
write_config "$OUT/sqlite"
use_accounts "$OUT/sqlite" "$N_ACCOUNTS"
cp "$OUT/sqlite/store.db" "$OUT/sqlite/store.template"

echo "== the PostgreSQL cluster (fsync on, synchronous_commit on)"
pg_setup "$OUT" "$N_ACCOUNTS"
for n in a b; do
  mkdir -p "$OUT/$n"
  pg_config_for "$OUT/$n" "$OUT"
done

# S and P1 alternate, three rounds; the verdict is on the medians.
SQS=(); P1S=(); DES=()
for round in 1 2 3; do
  echo "== S (round $round): SQLite store, one node, 50 connections"
  rm -f "$OUT/sqlite/store.db-wal" "$OUT/sqlite/store.db-shm"
  cp "$OUT/sqlite/store.template" "$OUT/sqlite/store.db"
  start_station "$OUT/sqlite"
  c0=$(cpu_s "$STATION_PID")
  R=$(nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" \
        --account-base "$ACCOUNT_BASE" --connections 50 --duration "$DURATION" --durable-echo "$OUT/sqlite")
  echo "$R"
  c1=$(cpu_s "$STATION_PID")
  SQ=$(field "$(grep '^station ' <<<"$R")" msgs/s); SQS+=("$SQ")
  DES+=("$(field "$(grep '^durable' <<<"$R")" msgs/s)")
  awk -v a="$c0" -v b="$c1" -v n="$SQ" -v d="$DURATION" \
    'BEGIN { printf "station CPU: %.0f us per frame\n", 1e6 * (b - a) / (n * (d + 1)) }'
  stop_station

  echo "== P1 (round $round): PostgreSQL store, one node, 50 connections"
  pg_fresh "$OUT"
  : > "$OUT/a/station.log"
  start_station "$OUT/a"
  c0=$(cpu_s "$STATION_PID"); g0=$(pg_cpu)
  R=$(nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" \
        --account-base "$ACCOUNT_BASE" --connections 50 --duration "$DURATION")
  echo "$R"
  c1=$(cpu_s "$STATION_PID"); g1=$(pg_cpu)
  P1=$(field "$(grep '^station ' <<<"$R")" msgs/s); P1S+=("$P1")
  awk -v a="$c0" -v b="$c1" -v g="$g0" -v h="$g1" -v n="$P1" -v d="$DURATION" \
    'BEGIN { f = n * (d + 1); printf "CPU per frame: station %.0f us, PostgreSQL server %.0f us\n", 1e6 * (b - a) / f, 1e6 * (h - g) / f }'
  stop_station
  st=$(grep ' stats: ' "$OUT/a/station.log" | tail -1)
  echo "P1 commits: $(field "$st" commits) of $(field "$st" batch_avg) frames on average;" \
       "commit p50 $(field "$st" commit_ms_p50) ms, p99 $(field "$st" commit_ms_p99) ms;" \
       "statements before COMMIT $(field "$st" rows_ms_avg) ms per batch"
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
SQ=$(median "${SQS[@]}"); P1=$(median "${P1S[@]}"); DE=$(median "${DES[@]}")

echo "== P2: PostgreSQL store, two nodes, 25 connections each"
pg_fresh "$OUT"
start_station "$OUT/a"; PA=$PORT; SA=$STATION_PID
STATION_PID=
start_station "$OUT/b"; PB=$PORT; SB=$STATION_PID
g0=$(pg_cpu)
nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PA" --key "$BENCH_KEY" \
   --account-base "$ACCOUNT_BASE" --connections 25 --duration "$DURATION" > "$OUT/p2a.txt" &
PIDS+=($!)
nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PB" --key "$BENCH_KEY" \
   --account-base "$(printf '%X' $((0x$ACCOUNT_BASE + 500)))" --connections 25 --duration "$DURATION" > "$OUT/p2b.txt" &
PIDS+=($!)
wait "${PIDS[@]}"; PIDS=()
g1=$(pg_cpu)
cat "$OUT/p2a.txt" "$OUT/p2b.txt"
P2A=$(field "$(grep '^station ' "$OUT/p2a.txt")" msgs/s)
P2B=$(field "$(grep '^station ' "$OUT/p2b.txt")" msgs/s)
P2=$(awk -v a="$P2A" -v b="$P2B" 'BEGIN { printf "%.0f", a + b }')
kill -TERM "$SA" "$SB"; wait "$SA" "$SB" 2>/dev/null || true
STATION_PID=
echo "events in the database: $(psql -X -A -t -d "$PG_URI" -c 'SELECT count(*) FROM events')"

echo "== result ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "rounds: sqlite ${SQS[*]}; pg one node ${P1S[*]}"
echo "sqlite_one_node=$SQ msgs/s  durable_echo=$DE msgs/s  pg_one_node=$P1 msgs/s (medians of 3)  pg_two_nodes=$P2 msgs/s ($P2A + $P2B)"
verdict "PostgreSQL, one node >= 50% of SQLite ($P1 / $SQ)" "$SQ > 0 && $P1 / $SQ >= 0.5"
awk -v p="$P2" -v q="$P1" 'BEGIN { if (q > 0) printf "two nodes / one node: %.2f (information)\n", p / q }'
