# station-lib.sh — shared helpers for the bench/station-*.sh scripts (sourced, not run).
# Starts a vigil-station from an optimised build on 127.0.0.1 with an ephemeral
# port, creates bench accounts through the vigil CLI, and stops what it started.
# It must never touch anything but its own work directory and the processes it started.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-rel}
VIGIL=${VIGIL:-$BUILD/cli/vigil}
STATION=${STATION:-$BUILD/station/vigil-station}
BENCH_KEY=${BENCH_KEY:-0123456789ABCDEF}        # AES-128 as ASCII: bench-only test key
ACCOUNT_BASE=${ACCOUNT_BASE:-100000}             # accounts are printf %X of base+i
# The project machine is shared (other sessions' fuzzers and builds): the station and the
# load generator run at nice -10 so unrelated work gets less of the 2 cores. They still
# share the 2 cores with each other, as the targets say. NICE=0 to run without.
NICE=${NICE:--10}

need_bins() {
  for b in "$VIGIL" "$STATION"; do
    [ -x "$b" ] || { echo "missing $b (make build-rel, or BUILD=dir)" >&2; exit 2; }
  done
}

# write_config DIR [extra 'key value' lines...]
write_config() {
  local dir=$1; shift
  mkdir -p "$dir"
  {
    echo "dc09_listen 127.0.0.1:0"
    echo "store sqlite:$dir/store.db"
    echo "ready_file $dir/ready"
    # As many connections as the open-file limit allows (up to 20,000), all from
    # 127.0.0.1: lift the per-address bound (default 1,000) for the bench panels.
    echo "max_connections 0"
    echo "max_connections_per_address 1000000"
    # One bench panel sends up to ~1,000 frames/s stop-and-wait: lift the per-account
    # flood limit (the daemon's default, 50/s, would throttle the bench itself).
    echo "account_rate_per_s 1000000"
    echo "account_burst 1000000"
    for l in "$@"; do echo "$l"; done
  } > "$dir/station.conf"
}

# add_accounts DIR N — accounts ACCOUNT_BASE..+N-1 with BENCH_KEY, through the CLI.
add_accounts() {
  local dir=$1 n=$2 i
  for ((i = 0; i < n; i++)); do
    printf '%X\n' $((0x$ACCOUNT_BASE + i))
  done | xargs -P 1 -I{} "$VIGIL" -c "$dir/station.conf" account add {} \
      --name "Bench {}" --address "1 Bench Road" --key "$BENCH_KEY" >/dev/null
}

# use_accounts DIR N — puts a store with the N bench accounts in DIR (made once through
# the CLI into /tmp/vigil-bench-accounts-N and copied: ~25 ms per `account add`).
use_accounts() {
  local dir=$1 n=$2 t=/tmp/vigil-bench-accounts-$2
  if [ ! -f "$t/store.db" ]; then
    echo "creating $n bench accounts with vigil account add (once, kept in $t) ..."
    rm -rf "$t"; write_config "$t"; add_accounts "$t" "$n"
    sqlite3 "$t/store.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
  fi
  cp "$t/store.db" "$dir/store.db"
  # the key store the accounts' keys are sealed with goes along (mode 0600 kept), and the
  # audit trail's head file (else the station and the CLI find it does not match)
  if [ -f "$t/store.db.keys" ]; then cp -p "$t/store.db.keys" "$dir/store.db.keys"; fi
  if [ -f "$t/store.db.audit-head" ]; then cp -p "$t/store.db.audit-head" "$dir/store.db.audit-head"; fi
}

# save_template DIR — keeps DIR/store.db (and its audit head) as the template each phase
# starts from; restore_template DIR [FROM] puts a fresh copy of it in DIR.
save_template() {
  sqlite3 "$1/store.db" 'PRAGMA wal_checkpoint(TRUNCATE);' > /dev/null
  mv "$1/store.db" "$1/store.template"
  rm -f "$1/store.db-wal" "$1/store.db-shm"
  if [ -f "$1/store.db.audit-head" ]; then mv "$1/store.db.audit-head" "$1/store.template.audit-head"; fi
}
restore_template() {
  local dir=$1 from=${2:-$1}
  rm -f "$dir/store.db" "$dir/store.db-wal" "$dir/store.db-shm" "$dir/store.db.audit-head"
  cp "$from/store.template" "$dir/store.db"
  if [ -f "$from/store.template.audit-head" ]; then
    cp -p "$from/store.template.audit-head" "$dir/store.db.audit-head"
  fi
  if [ "$dir" != "$from" ] && [ -f "$from/store.db.keys" ]; then cp -p "$from/store.db.keys" "$dir/store.db.keys"; fi
}

# start_station DIR — sets STATION_PID and PORT
start_station() {
  local dir=$1 t
  rm -f "$dir/ready"
  nice -n "$NICE" "$STATION" -c "$dir/station.conf" 2>>"$dir/station.log" &
  STATION_PID=$!
  for ((t = 0; t < 300; t++)); do
    if [ -s "$dir/ready" ] && grep -q '^udp ' "$dir/ready"; then
      PORT=$(sed -n 's/^tcp .*:\([0-9]*\)$/\1/p' "$dir/ready")
      return 0
    fi
    kill -0 "$STATION_PID" 2>/dev/null || { echo "vigil-station exited:" >&2; tail "$dir/station.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "vigil-station did not become ready" >&2; exit 1
}

stop_station() {
  [ -n "${STATION_PID:-}" ] || return 0
  kill -TERM "$STATION_PID" 2>/dev/null || true
  wait "$STATION_PID" 2>/dev/null || true
  STATION_PID=
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

machine_line() {
  echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cores; build $BUILD; nice $NICE; load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# fsync_probe DIR — fdatasync latency after a 4 KiB append, on the store's file system,
# right now: with group commit it bounds what any durable receiver can do here.
fsync_probe() {
  /usr/bin/python3 - "$1" <<'PY'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
lat = []
for _ in range(200):
    os.write(fd, b"x" * 4096)
    t = time.perf_counter(); os.fdatasync(fd); lat.append(time.perf_counter() - t)
os.close(fd); os.unlink(p)
lat.sort()
print("# fdatasync after a 4 KiB append, now: p50 %.0f us, p99 %.0f us (PERFORMANCE.md: ~140 / ~200 us)"
      % (lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6))
PY
}

# cpu_s PID — user+system CPU seconds the process (all threads) has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# stats_now LOG — asks the running station for its counters (SIGUSR1) and waits (up to 10 s:
# its log lines go through a writer thread, and a line may arrive in pieces) for the new
# stats line, whole (its last field written); sets ST to it.
stats_now() {
  local n t
  n=$(grep -c ' stats: .* linger_skips=[0-9]' "$1" || true)
  kill -USR1 "$STATION_PID"
  for ((t = 0; t < 100; t++)); do
    [ "$(grep -c ' stats: .* linger_skips=[0-9]' "$1" || true)" -gt "$n" ] && break
    sleep 0.1
  done
  ST=$(grep ' stats: .* linger_skips=[0-9]' "$1" | tail -1)
}

# ---- PostgreSQL (station-pg.sh, station-ab.sh) -------------------------------------------
# pg_pids — every process whose command line starts with "postgres" (the server:
# postmaster and backends); pg_cpu — their CPU seconds so far.
pg_pids() { pgrep -f '^/usr/lib/postgresql/.*/bin/postgres|^postgres: ' || true; }
pg_cpu() {
  local t=0 p
  for p in $(pg_pids); do
    t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", t + ($14 + $15) / hz }' "/proc/$p/stat" 2>/dev/null || echo "$t")
  done
  echo "$t"
}

# pg_setup DIR N — a throwaway cluster of scripts/pg-test-cluster in DIR/cluster (fsync on,
# synchronous_commit on) at the bench's nice, and a database vigil_bench holding the N bench
# accounts only (keys sealed in DIR/pg.keys), the template every phase's database is copied
# from (pg_fresh). Sets PG_ADMIN_URI and PG_URI (the phases' database, vigil_run). The
# caller stops the cluster ("$ROOT/scripts/pg-test-cluster" stop DIR/cluster).
pg_setup() {
  local dir=$1 n=$2 p i
  "$ROOT/scripts/pg-test-cluster" start "$dir/cluster" >/dev/null
  # The server is part of the store under test: the same nice as the station and the load
  # generator, else those two at -10 starve it of the two cores. Its backends inherit the
  # postmaster's.
  for p in $(pg_pids); do
    renice -n "$NICE" -p "$p" >/dev/null 2>&1 || echo "# cannot renice the PostgreSQL server to $NICE (not root?)"
  done
  PG_ADMIN_URI=$(cat "$dir/cluster/uri")
  PG_URI=$(sed -E 's#/postgres(\?|$)#/vigil_run\1#' <<<"$PG_ADMIN_URI")
  psql -X -q -d "$PG_ADMIN_URI" -c "CREATE DATABASE vigil_bench"
  mkdir -p "$dir/pg-template"
  pg_config_for "$dir/pg-template" "$dir"
  sed -i -E 's#^store (.*)/vigil_run(\?|$)#store \1/vigil_bench\2#' "$dir/pg-template/station.conf"
  echo "creating $n bench accounts in PostgreSQL with vigil account add ..."
  for ((i = 0; i < n; i++)); do printf '%X\n' $((0x$ACCOUNT_BASE + i)); done |
    xargs -P 4 -I{} sh -c '"$0" -c "$1" account add "$2" --name "Bench $2" --address "1 Bench Road" --key "$3" >/dev/null || exit 255' \
      "$VIGIL" "$dir/pg-template/station.conf" {} "$BENCH_KEY"
  rm -f "$dir/pg.keys.audit-head.template"
  [ ! -f "$dir/pg.keys.audit-head" ] || cp -p "$dir/pg.keys.audit-head" "$dir/pg.keys.audit-head.template"
}

# pg_config_for NODE_DIR DIR — NODE_DIR/station.conf for a node on DIR's database (vigil_run).
pg_config_for() {
  local node=$1 dir=$2
  shift 2
  write_config "$node" "$@"
  sed -i "s|^store .*|store $PG_URI|" "$node/station.conf"
  echo "key_store_file $dir/pg.keys" >> "$node/station.conf"
  echo "control_socket $node/ctl" >> "$node/station.conf"
}

# pg_fresh DIR — vigil_run dropped and copied again from vigil_bench (CREATE DATABASE ...
# TEMPLATE), the audit head file with it: as each SQLite phase starts from a copy of the
# accounts-only store, no phase runs on the rows of the one before.
pg_fresh() {
  local dir=$1
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -d "$PG_ADMIN_URI" -c "DROP DATABASE IF EXISTS vigil_run" -c "CREATE DATABASE vigil_run TEMPLATE vigil_bench"
  rm -f "$dir/pg.keys.audit-head"
  [ ! -f "$dir/pg.keys.audit-head.template" ] || cp -p "$dir/pg.keys.audit-head.template" "$dir/pg.keys.audit-head"
}
