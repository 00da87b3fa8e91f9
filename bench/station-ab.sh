#!/bin/bash
# station-ab.sh — is B faster than A? Two vigil-station builds, or one build with two
# configurations, measured in alternating phases on the same store and disk.
#
#   bench/station-ab.sh sqlite|pg
#
# This machine's speed moves by 1.5x within minutes (bench/RESULTS.md), so a change is
# judged only on phases taken back to back, A and B in turn, the order swapped from pair to
# pair (A B, B A, A B, ...). Every phase runs its own daemon on a fresh copy of the same
# accounts-only store (SQLite) or database (PostgreSQL: CREATE DATABASE ... TEMPLATE), as
# bench/station-throughput.sh and bench/station-pg.sh do; the load generator is A's `vigil
# bench`, the same for both sides. This is the tool behind the "tried and not kept" lines of
# bench/RESULTS.md; it prints figures, never a verdict on an issue's target.
#
# Env:
#   A, B             build directories (default: build-rel for both)
#   A_CONF, B_CONF   extra station.conf lines for that side, separated by ';'
#                    (e.g. B_CONF='commit_linger_us 0')
#   LOAD             `vigil bench` arguments (default '--connections 50'; e.g.
#                    '--connections 50 --rate 20000' for latency at an offered rate)
#   PAIRS            pairs of phases (default 3); DURATION seconds per phase (default 10)
#   OUT              work directory (default /tmp/vigil-bench-ab; the PostgreSQL cluster
#                    runs there as the postgres user when run as root)
# Each phase prints msgs/s, p50 and p99 of the ACKs, the station's CPU per ACKed frame
# (and, on PostgreSQL, the server's), frames per commit and the commit's p50/p99. The
# summary: each side's medians, and in how many pairs B had the higher msgs/s and the lower
# p99.
# run-all: skip (it compares two builds or configurations; `make bench` has no B to give it)
set -euo pipefail
ENGINE=${1:-}
case "$ENGINE" in
  sqlite|pg) ;;
  *) echo "usage: bench/station-ab.sh sqlite|pg   (env A, B, A_CONF, B_CONF, LOAD, PAIRS, DURATION)" >&2
     exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
A=${A:-$HERE/../build-rel}; B=${B:-$A}
A=$(cd "$A" && pwd); B=$(cd "$B" && pwd)
BUILD=$A
. "$HERE/station-lib.sh"
for d in "$A" "$B"; do
  [ -x "$d/station/vigil-station" ] || { echo "missing $d/station/vigil-station (make build-rel)" >&2; exit 2; }
done
need_bins
A_CONF=${A_CONF:-}; B_CONF=${B_CONF:-}
LOAD=${LOAD:---connections 50}
PAIRS=${PAIRS:-3}; DURATION=${DURATION:-10}
OUT=${OUT:-/tmp/vigil-bench-ab}
N_ACCOUNTS=1000
read -r -a LOAD_ARGS <<<"$LOAD"
rm -rf "$OUT"; mkdir -p "$OUT"; chmod 0755 "$OUT"
cleanup() {
  stop_station
  [ "$ENGINE" != pg ] || "$ROOT/scripts/pg-test-cluster" stop "$OUT/cluster" >/dev/null 2>&1 || true
}
trap cleanup EXIT

field() { sed -n "s|.*$2=\([0-9.]*\).*|\1|p" <<<"$1" | head -1; }
extra_lines() { tr ';' '\n' <<<"$1" | sed -e 's/^ *//' -e '/^$/d'; }

machine_line; fsync_probe "$OUT"
echo "# A: $A ${A_CONF:+(conf: $A_CONF)}"
echo "# B: $B ${B_CONF:+(conf: $B_CONF)}"
echo "# load: vigil bench $LOAD --duration $DURATION; $PAIRS pairs on $ENGINE"

mapfile -t XA < <(extra_lines "$A_CONF")
mapfile -t XB < <(extra_lines "$B_CONF")
if [ "$ENGINE" = sqlite ]; then
  mkdir -p "$OUT/tmpl"
  write_config "$OUT/tmpl"
  use_accounts "$OUT/tmpl" "$N_ACCOUNTS"
  save_template "$OUT/tmpl"
  write_config "$OUT/a" "${XA[@]}"
  write_config "$OUT/b" "${XB[@]}"
else
  pg_setup "$OUT" "$N_ACCOUNTS"
  pg_config_for "$OUT/a" "$OUT" "${XA[@]}"
  pg_config_for "$OUT/b" "$OUT" "${XB[@]}"
fi

# phase SIDE — one daemon of that side on a fresh store, one `vigil bench`; appends its
# figures to OUT/figures.
phase() {
  local side=$1 dir=$OUT/$1 build c0 c1 g0=0 g1=0 r st acks
  build=$A; [ "$side" = b ] && build=$B
  if [ "$ENGINE" = sqlite ]; then restore_template "$dir" "$OUT/tmpl"; else pg_fresh "$OUT"; fi
  : > "$dir/station.log"
  STATION=$build/station/vigil-station start_station "$dir"
  c0=$(cpu_s "$STATION_PID")
  [ "$ENGINE" = sqlite ] || g0=$(pg_cpu)
  r=$(nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" \
        --account-base "$ACCOUNT_BASE" "${LOAD_ARGS[@]}" --duration "$DURATION" | grep '^station ')
  c1=$(cpu_s "$STATION_PID")
  [ "$ENGINE" = sqlite ] || g1=$(pg_cpu)
  stats_now "$dir/station.log"
  st=$ST
  stop_station
  acks=$(field "$st" acks)
  awk -v side="${side^^}" -v r="$(field "$r" msgs/s)" -v p50="$(field "$r" p50)" \
      -v p99="$(field "$r" p99)" -v a="$c0" -v b="$c1" -v g="$g0" -v h="$g1" -v n="$acks" \
      -v batch="$(field "$st" batch_avg)" -v c50="$(field "$st" commit_ms_p50)" \
      -v c99="$(field "$st" commit_ms_p99)" -v pg="$ENGINE" 'BEGIN {
        cpu = n > 0 ? (b - a) * 1e6 / n : 0; srv = n > 0 ? (h - g) * 1e6 / n : 0
        printf "%s msgs/s=%s p50=%sus p99=%sus cpu_us=%.1f", side, r, p50, p99, cpu
        if (pg == "pg") printf " server_cpu_us=%.1f", srv
        printf " batch=%s commit_p50=%sms commit_p99=%sms\n", batch, c50, c99 }' | tee -a "$OUT/figures"
}

: > "$OUT/figures"
for ((pair = 1; pair <= PAIRS; pair++)); do
  echo "== pair $pair of $PAIRS (load $(cut -d' ' -f1 /proc/loadavg))"
  if [ $((pair % 2)) -eq 1 ]; then phase a; phase b; else phase b; phase a; fi
done

# the summary: medians per side, and the pairs B won (figures of pair k: lines 2k-1, 2k)
echo "== summary ($(date -u +%FT%TZ))"
awk -v engine="$ENGINE" '
  function num(s, k,   m) { return match(s, k "=[0-9.]+") ? substr(s, RSTART + length(k) + 1, RLENGTH - length(k) - 1) + 0 : 0 }
  function median(v, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
  { s = $1; n[s]++; k = n[s]
    rate[s, k] = num($0, "msgs/s"); p99[s, k] = num($0, "p99"); cpu[s, k] = num($0, "cpu_us")
    srv[s, k] = num($0, "server_cpu_us") }
  END {
    for (si = 1; si <= 2; si++) {
      s = si == 1 ? "A" : "B"; m = n[s]
      for (k = 1; k <= m; k++) { r[k] = rate[s, k]; q[k] = p99[s, k]; c[k] = cpu[s, k]; g[k] = srv[s, k] }
      mr[s] = median(r, m); mq[s] = median(q, m); mc[s] = median(c, m); mg = median(g, m)
      printf "%s: median msgs/s %.0f, p99 %.0f us, station CPU %.1f us per frame", s, mr[s], mq[s], mc[s]
      if (engine == "pg") printf ", server %.1f us", mg
      printf "\n"
    }
    wr = wq = 0
    for (k = 1; k <= n["A"] && k <= n["B"]; k++) { wr += rate["B", k] > rate["A", k]; wq += p99["B", k] < p99["A", k] }
    printf "B / A: msgs/s %.3f, p99 %.3f, CPU per frame %.3f; B had the higher msgs/s in %d of %d pairs, the lower p99 in %d\n",
      mr["A"] ? mr["B"] / mr["A"] : 0, mq["A"] ? mq["B"] / mq["A"] : 0, mc["A"] ? mc["B"] / mc["A"] : 0,
      wr, (n["A"] < n["B"] ? n["A"] : n["B"]), wq
  }' "$OUT/figures"
