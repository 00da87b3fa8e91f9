#!/bin/bash
# bench/console-latency.sh — how soon every operator sees a duress: from the duress's
# commit (its ACK received by the panel side) to the `alarm` event read on each of
# STREAMS (50) open Server-Sent Events streams of vigil-console (GET /api/alarms/stream),
# while vigil-station takes RATE (~5,000) routine events/s from LOAD_CONNS panels
# (`vigil bench --rate`, AES-128 *ADM-CID openings/closings: no alarms, every ACK checked).
# DURESS duress frames (clear ADM-CID 1121, each on its own account, so each is a new
# alarm) are injected one at a time, GAP_MS apart, by a small Python client that also
# holds the streams (one thread, select(): all times on one clock). Prints p50/p99/max
# over DURESS x STREAMS deliveries; target p99 <= 250 ms (docs/console.md: change_poll_ms
# 50 by default). Release build: BUILD (default build-rel).
#
#   bench/console-latency.sh                 # env: RATE STREAMS DURESS GAP_MS LOAD_CONNS
#
# Touches only a temp dir and the processes it starts; 127.0.0.1 only; never prints a key
# or a password.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/station-lib.sh"
need_bins
CONSOLE=${CONSOLE:-$BUILD/console/vigil-console}
[ -x "$CONSOLE" ] || { echo "missing $CONSOLE (make build-rel)" >&2; exit 2; }
RATE=${RATE:-5000}
STREAMS=${STREAMS:-50}
DURESS=${DURESS:-100}
GAP_MS=${GAP_MS:-150}
LOAD_CONNS=${LOAD_CONNS:-200}
WARMUP=${WARMUP:-3}
DURATION=$((WARMUP + (DURESS * GAP_MS) / 1000 + 8))

DIR=$(mktemp -d /tmp/vigil-console-bench.XXXXXX)
CONSOLE_PID= LOAD_PID=
cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
  if [ -n "$CONSOLE_PID" ]; then kill -TERM "$CONSOLE_PID" 2>/dev/null; wait "$CONSOLE_PID" 2>/dev/null; fi
  stop_station
  [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT

write_config "$DIR" "http_listen 127.0.0.1:0" "web_root $ROOT/web" "escalate_after_s 3600" \
  "sse_clients_max $((STREAMS + 16))" "http_connections_max $((STREAMS + 64))"
use_accounts "$DIR" "$LOAD_CONNS"
# the duress accounts: keyless, D0000 upwards (not bench accounts: their own sequences)
for ((i = 0; i < DURESS; i++)); do printf 'D%04X\n' "$i"; done |
  xargs -P 1 -I{} "$VIGIL" -c "$DIR/station.conf" account add {} --name "Duress {}" \
    --address "1 Bench Road" > /dev/null
PW=$("$VIGIL" -c "$DIR/station.conf" operator add bench --role operator | sed -n 's/^password: //p')
[ -n "$PW" ] || { echo "vigil operator add printed no password" >&2; exit 1; }
start_station "$DIR"
nice -n "$NICE" "$CONSOLE" -c "$DIR/station.conf" 2>> "$DIR/console.log" &
CONSOLE_PID=$!
HTTP=
for ((t = 0; t < 200; t++)); do
  HTTP=$(sed -n 's/^info main: listening http \([0-9.]*:[0-9]*\)$/\1/p' "$DIR/console.log" | head -1)
  [ -n "$HTTP" ] && break
  kill -0 "$CONSOLE_PID" 2>/dev/null || { echo "vigil-console exited:" >&2; tail "$DIR/console.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$HTTP" ] || { echo "vigil-console did not log 'listening http'" >&2; exit 1; }

machine_line
echo "# $STREAMS SSE streams; load: $LOAD_CONNS panels at $RATE msgs/s offered; $DURESS duress frames, ${GAP_MS} ms apart"
nice -n "$NICE" "$VIGIL" bench --host 127.0.0.1 --port "$PORT" --key "$BENCH_KEY" \
  --account-base "$ACCOUNT_BASE" --connections "$LOAD_CONNS" --rate "$RATE" \
  --duration "$DURATION" > "$DIR/load.out" 2>&1 &
LOAD_PID=$!
c0=$(cpu_s "$STATION_PID"); k0=$(cpu_s "$CONSOLE_PID")

set +e
PW="$PW" nice -n "$NICE" /usr/bin/python3 - "$HTTP" "$PORT" "$STREAMS" "$DURESS" "$GAP_MS" "$WARMUP" <<'PY'
import json, os, select, socket, sys, time

http_hp, dc09_port, streams, n_duress, gap_ms, warmup = sys.argv[1:7]
host, hport = http_hp.rsplit(":", 1)
HTTP = (host, int(hport)); DC09 = ("127.0.0.1", int(dc09_port))
STREAMS, N, GAP, WARMUP = int(streams), int(n_duress), int(gap_ms) / 1000.0, float(warmup)
assert HTTP[0] == "127.0.0.1"

def crc16(b):
    c = 0
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
    return c

def duress_frame(seq, acct):
    ts = time.strftime("_%H:%M:%S,%m-%d-%Y", time.gmtime())
    body = ('"ADM-CID"%04dR0L0#%s[#%s|1121 01 001]%s' % (seq, acct, acct, ts)).encode()
    return b"\n%04X%04X" % (crc16(body), len(body)) + body + b"\r"

# login
s = socket.create_connection(HTTP, timeout=10)
body = json.dumps({"name": "bench", "password": os.environ["PW"]}).encode()
s.sendall(b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
resp = b""
for _ in range(1000):
    c = s.recv(65536)
    if not c:
        break
    resp += c
s.close()
head = resp.split(b"\r\n\r\n", 1)[0].decode("latin-1")
if not head.startswith("HTTP/1.1 200") and not head.startswith("HTTP/1.0 200"):
    sys.exit("login failed: %s" % head.splitlines()[0] if head else "no answer")
cookie = [l.split(":", 1)[1].strip().split(";")[0] for l in head.split("\r\n")
          if l.lower().startswith("set-cookie:") and "vigil_session=" in l][0]

class SSE:
    def __init__(self, k):
        self.k = k
        self.sock = socket.create_connection(HTTP, timeout=10)
        self.sock.sendall(("GET /api/alarms/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream"
                           "\r\nCookie: %s\r\n\r\n" % cookie).encode())
        self.sock.setblocking(False)
        self.raw = b""; self.head = None; self.chunked = False
        self.cbuf = b""; self.left = None; self.text = b""
        self.seen = {}                     # account -> first time its alarm event was read
    def feed(self, data, now):
        if self.head is None:
            self.raw += data
            if b"\r\n\r\n" not in self.raw:
                return
            h, _, data = self.raw.partition(b"\r\n\r\n")
            self.head = h.decode("latin-1")
            if " 200 " not in self.head.split("\r\n")[0]:
                sys.exit("stream %d: %s" % (self.k, self.head.split("\r\n")[0]))
            self.chunked = "chunked" in self.head.lower()
        if self.chunked:
            self.cbuf += data; out = []
            for _ in range(100000):
                if self.left is None:
                    i = self.cbuf.find(b"\r\n")
                    if i < 0: break
                    self.left = int(self.cbuf[:i].split(b";")[0] or b"0", 16); self.cbuf = self.cbuf[i + 2:]
                elif self.left > 0:
                    if not self.cbuf: break
                    t = self.cbuf[:self.left]; out.append(t); self.cbuf = self.cbuf[len(t):]; self.left -= len(t)
                else:
                    if len(self.cbuf) < 2: break
                    self.cbuf = self.cbuf[2:]; self.left = None
            data = b"".join(out)
        self.text += data
        while True:
            i = self.text.find(b"\n\n")
            if i < 0: break
            ev, self.text = self.text[:i], self.text[i + 2:]
            lines = ev.decode("utf-8", "replace").replace("\r", "").split("\n")
            if "event: alarm" not in lines: continue
            d = "\n".join(l[5:].lstrip() for l in lines if l.startswith("data:"))
            try:
                a = json.loads(d)
            except ValueError:
                continue
            self.seen.setdefault(str(a.get("account")), now)

streams = [SSE(k) for k in range(STREAMS)]
by_fd = {x.sock.fileno(): x for x in streams}
dc = socket.create_connection(DC09, timeout=10); dc.setblocking(False)
by_fd[dc.fileno()] = None
poll = select.poll()
for fd in by_fd: poll.register(fd, select.POLLIN)

t_start = time.monotonic()
next_at = t_start + WARMUP
acked = {}          # account -> monotonic time of its ACK
sent = {}
inflight = None
rxbuf = b""
i = 0
deadline = t_start + WARMUP + N * GAP + 30
while time.monotonic() < deadline:
    now = time.monotonic()
    if inflight is None and i < N and now >= next_at:
        acct = "D%04X" % i
        dc.sendall(duress_frame(1, acct))
        sent[acct] = now; inflight = acct; i += 1; next_at = now + GAP
    if i >= N and inflight is None:
        if all(all(a in x.seen for a in acked) for x in streams) or now > next_at + 5:
            break
    wait_ms = max(0, int((next_at - now) * 1000)) if i < N and inflight is None else 50
    for fd, ev in poll.poll(min(wait_ms, 50)):
        t = time.monotonic()
        x = by_fd[fd]
        if x is None:
            try:
                chunk = dc.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                sys.exit("the station closed the duress connection")
            rxbuf += chunk
            while b"\r" in rxbuf:
                fr, _, rxbuf = rxbuf.partition(b"\r")
                if b'"ACK"' in fr and inflight and ("#%s[" % inflight).encode() in fr:
                    acked[inflight] = t; inflight = None
                elif inflight:
                    sys.exit("duress %s: reply %r" % (inflight, fr))
        else:
            try:
                chunk = x.sock.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                sys.exit("stream %d closed by the console" % x.k)
            x.feed(chunk, t)

ack_lat = sorted((acked[a] - sent[a]) * 1000 for a in acked)
lat, early, missing = [], 0, 0
for a, ta in acked.items():
    for x in streams:
        if a not in x.seen:
            missing += 1
            continue
        d = (x.seen[a] - ta) * 1000
        if d < 0:
            early += 1; d = 0.0
        lat.append(d)
lat.sort()
def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")
print("duress ACK (commit) latency, client side: n=%d p50 %.1f ms p99 %.1f ms max %.1f ms"
      % (len(ack_lat), pct(ack_lat, .5), pct(ack_lat, .99), ack_lat[-1] if ack_lat else float("nan")))
print("duress ACK -> alarm event on %d streams: n=%d p50 %.1f ms p99 %.1f ms max %.1f ms"
      " (%d read before the ACK, counted 0; %d never seen)"
      % (STREAMS, len(lat), pct(lat, .5), pct(lat, .99), lat[-1] if lat else float("nan"), early, missing))
p99 = pct(lat, .99)
print("target p99 <= 250 ms: %s" % ("met" if lat and p99 <= 250 and not missing else "MISSED"))
if missing or len(acked) < N:
    sys.exit("incomplete run: %d of %d duress ACKed, %d deliveries missing" % (len(acked), N, missing))
PY
rc=$?
set -e
wait "$LOAD_PID" || echo "load generator: exit $? (see below)"
LOAD_PID=
echo "load: $(grep '^station ' "$DIR/load.out" || tail -3 "$DIR/load.out")"
awk -v a="$c0" -v b="$(cpu_s "$STATION_PID")" -v c="$k0" -v d="$(cpu_s "$CONSOLE_PID")" -v s="$DURATION" \
  'BEGIN { printf "CPU over the run: station %.0f%%, console %.0f%% of one core\n", 100 * (b - a) / s, 100 * (d - c) / s }'
echo "console RSS at the end: $(rss_kib "$CONSOLE_PID") KiB"
exit $rc
