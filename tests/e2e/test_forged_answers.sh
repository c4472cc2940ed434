#!/usr/bin/env bash
# test_forged_answers.sh - per-socket answer matching: an attacker who has guessed a query's ID
# and question and sends forged answers from the upstream's own address (127.0.0.7#53) to every
# other open source port of the daemon (its port pool and c-ares' own sockets, read from
# /proc/net/udp) gets none of them accepted; only an answer on the socket the query left from
# counts. With matching per channel instead of per socket, every query would get the forgery.
# Names starting "slow" go unanswered the first time, so the daemon retries from another socket
# with another ID: the forgeries for the retry always reach the first attempt's socket too, where
# they must not count either. FORGED_QUERIES (400) sets the number of queries (tests/stress/
# hostile.sh runs it with thousands).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
command -v python3 >/dev/null || e2e_skip "python3 not found"

# The upstream and the attacker in one process, so the forgeries carry the upstream's exact source
# address and port and leave before the real answer.
cat >"$E2E_TMP/upstream.py" <<'PYEOF'
import random, signal, socket, struct, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
UP = ("127.0.0.7", 53)
REM = "0700007F:0035"  # 127.0.0.7:53 as /proc/net/udp writes it
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(UP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)

cache = (0.0, [])
def open_ports():
    """(ip, port) of every UDP socket connected to the upstream: the daemon's, nobody else's.
    Read again every 20 ms at most, so a loaded machine still answers within the budget."""
    global cache
    if time.monotonic() - cache[0] < 0.02:
        return cache[1]
    out = []
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            loc, rem = line.split()[1:3]
            if rem == REM:
                ip, port = loc.split(":")
                out.append((socket.inet_ntoa(struct.pack("<I", int(ip, 16))), int(port, 16)))
    cache = (time.monotonic(), out)
    return out

def answer(q, addr):
    off = 12
    while q[off]:
        off += 1 + q[off]
    hdr = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
    return hdr + q[12:off + 5] + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(addr)

forged = queries = 0
dropped = {}  # name of a dropped first query -> (ip, port) it came from
print("ready", flush=True)
while True:
    q, src = sock.recvfrom(4096)
    queries += 1
    name = q[12:q.index(0, 12)].lower()
    others = [p for p in open_ports() if p[1] != src[1]]
    targets = random.sample(others, min(64, len(others)))
    if name in dropped and dropped[name] != src:
        targets.append(dropped[name])  # the retry's forgeries reach the first attempt's socket
    for dst in targets:
        sock.sendto(answer(q, [6, 6, 6, 6]), dst)
        forged += 1
    if name[1:5] == b"slow" and name not in dropped:
        dropped[name] = src
        continue
    sock.sendto(answer(q, [1, 2, 3, 7]), src)
    print("queries", queries, "forged", forged, "ports", len(others) + 1, flush=True)
PYEOF

# The client: N queries for distinct names, up to 20 in flight, tallied by answer.
cat >"$E2E_TMP/client.py" <<'PYEOF'
import socket, struct, sys, time
N, port, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
def query(i):
    name = b"".join(bytes([len(l)]) + l for l in [prefix + b"%d" % i, b"test"]) + b"\0"
    return struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
tally = {"real": 0, "forged": 0, "other": 0}
pending, nxt, deadline = {}, 0, time.time() + 60 + N / 20
while (nxt < N or pending) and time.time() < deadline:
    while nxt < N and len(pending) < 20:
        s.sendto(query(nxt), ("127.0.0.1", port))
        pending[nxt] = time.time()
        nxt += 1
    try:
        a = s.recv(4096)
    except socket.timeout:
        continue
    i = struct.unpack("!H", a[:2])[0]
    if pending.pop(i, None) is None:
        continue
    ip = a[-4:] if struct.unpack("!H", a[6:8])[0] == 1 else b""
    tally["real" if ip == bytes([1, 2, 3, 7]) else "forged" if ip == bytes([6, 6, 6, 6]) else "other"] += 1
tally["lost"] = len(pending) + N - nxt
print(" ".join("%s=%d" % kv for kv in tally.items()))
PYEOF

e2e_add_addr 127.0.0.7/32 2>/dev/null || true
e2e_spawn upstream python3 "$E2E_TMP/upstream.py"
e2e_wait_listen udp 127.0.0.7 53 upstream
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.7 >"$E2E_TMP/d.conf"
e2e_start_dnsroute d 5353 "$E2E_TMP/d.conf" --pid-file= --user=root

N=${FORGED_QUERIES:-400}
out=$(python3 "$E2E_TMP/client.py" "$N" 5353 f)
e2e_log "client: $out"
slow=$(python3 "$E2E_TMP/client.py" 20 5353 slow)
e2e_log "client, retried queries: $slow"
e2e_log "upstream: $(tail -n 1 "$E2E_TMP/upstream.err")"
forged=$(tail -n 1 "$E2E_TMP/upstream.err" | sed -n 's/.* forged \([0-9]*\) .*/\1/p')
e2e_assert_ge 5000 "${forged:-0}" "thousands of forged answers (right ID and question) sent"
e2e_assert_match "forged=0 " "$out " "no forged answer accepted"
e2e_assert_match "real=$N " "$out " "every query got the real answer from its own socket"
e2e_assert_match "forged=0 " "$slow " "retried queries: no forged answer accepted on the first socket"
e2e_assert_match "real=20 " "$slow " "retried queries: the real answer to the retry"
e2e_stop d
e2e_stop upstream
