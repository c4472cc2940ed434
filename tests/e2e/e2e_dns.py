#!/usr/bin/env python3
"""e2e_dns.py - a tiny DNS client for the e2e tests, for what dig/kdig cannot do: pipelined TCP
queries on one connection, idle or half-sent TCP connections, connection caps, and raw (bad)
packets. Standard library only; every wait is bounded.

  e2e_dns.py pipeline HOST PORT NAME...       one TCP connection, all queries in one write;
                                              prints "id rcode ancount qname" per reply, in
                                              arrival order
  e2e_dns.py idle HOST PORT MAX_S             connect, send nothing; prints the seconds until the
                                              server closed ("open" if it did not within MAX_S)
  e2e_dns.py half HOST PORT HOLD_S            connect, send half a message; prints "closed S" when
                                              the server closed it after S seconds, or "open"
  e2e_dns.py conns HOST PORT N HOLD_S [K]     open N connections at once; once K of them were
                                              closed by the server (at most 10 s; K 0: after
                                              0.5 s) print one "open"/"closed" per connection;
                                              hold HOLD_S seconds
  e2e_dns.py busycap HOST PORT NAME N         one connection sends a query for NAME, then N more
                                              connect at once (one process: no start-up delay
                                              between); prints "open"/"closed" per newcomer once
                                              one was closed (at most 10 s), then the busy
                                              connection's answer "ID RCODE ANCOUNT QNAME" or
                                              "busy closed"
  e2e_dns.py raw udp|tcp HOST PORT HEX        send the bytes; prints "rcode=N flags=0xHHHH
                                              id=N len=N" of the reply or "none" (1 s wait)
  e2e_dns.py tcpqueries HOST PORT N TIMEOUT_S N sequential TCP queries, a connection each;
                                              prints "answered K of N"
  e2e_dns.py flood HOST PORT MODE N DURATION_S
                                              hold N connections: MODE idle (send nothing) or
                                              slowloris (a query one byte per 0.5 s); idle+ and
                                              slowloris+ reopen each one the server closes;
                                              prints "opened N closed_by_server N" at the end
"""
import socket
import struct
import sys
import time


def build_query(qid, name, qtype=1):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split(".") if p) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def read_name(msg, off):
    labels = []
    jumped, end = False, off
    for _ in range(128):
        ln = msg[off]
        if ln & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            jumped = True
            off = (ln & 0x3F) << 8 | msg[off + 1]
            continue
        if ln == 0:
            return ".".join(labels) + ".", (end if jumped else off + 1)
        labels.append(msg[off + 1:off + 1 + ln].decode("ascii", "replace"))
        off += 1 + ln
    raise ValueError("name loop")


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def cmd_pipeline(host, port, names):
    s = socket.create_connection((host, port), timeout=15)
    msgs = [build_query(0x1000 + i, n) for i, n in enumerate(names)]
    t0 = time.monotonic()
    s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
    for _ in names:
        (ln,) = struct.unpack("!H", recv_exact(s, 2))
        r = recv_exact(s, ln)
        qid, flags, _qd, an = struct.unpack("!HHHH", r[:8])
        qname, _ = read_name(r, 12)
        print(f"{qid:#x} {flags & 15} {an} {qname}", flush=True)
    print(f"elapsed_ms {int((time.monotonic() - t0) * 1000)}", file=sys.stderr)
    s.close()


def cmd_idle(host, port, max_s):
    s = socket.create_connection((host, port), timeout=max_s)
    t0 = time.monotonic()
    try:
        data = s.recv(1)
        print(f"{time.monotonic() - t0:.1f}" if not data else "data")
    except socket.timeout:
        print("open")
    except ConnectionResetError:
        print(f"{time.monotonic() - t0:.1f}")


def cmd_half(host, port, hold_s):
    """Sends half a query and holds the connection; prints when the server closed it."""
    s = socket.create_connection((host, port), timeout=5)
    m = build_query(0x4242, "stuck.test")
    s.sendall(struct.pack("!H", len(m)) + m[: len(m) // 2])
    t0 = time.monotonic()
    print("sent half", flush=True)
    s.settimeout(hold_s)
    try:
        data = s.recv(1)
        print(f"closed {time.monotonic() - t0:.1f}" if not data else "data", flush=True)
    except socket.timeout:
        print("open", flush=True)
    except ConnectionResetError:
        print(f"closed {time.monotonic() - t0:.1f}", flush=True)
    s.close()


def cmd_conns(host, port, n, hold_s, want_closed=0):
    """Opens N connections; prints open/closed per connection once WANT_CLOSED of them were
    closed by the server (at most 10 s), or after 0.5 s when WANT_CLOSED is 0."""
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
    state = wait_closed(socks, want_closed, 10 if want_closed else 0.5)
    print("\n".join(state), flush=True)
    time.sleep(hold_s)


def wait_closed(socks, want_closed, max_s):
    """Polls SOCKS until WANT_CLOSED of them were closed by the server or MAX_S passed; returns
    "open"/"closed"/"data" per socket."""
    for s in socks:
        s.setblocking(False)
    state = ["open"] * len(socks)
    deadline = time.monotonic() + max_s
    while True:
        for i, s in enumerate(socks):
            if state[i] != "open":
                continue
            try:
                data = s.recv(1)
                state[i] = "closed" if not data else "data"
            except BlockingIOError:
                pass
            except ConnectionResetError:
                state[i] = "closed"
        if (want_closed and state.count("closed") >= want_closed) or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def cmd_busycap(host, port, name, n):
    """A connection with a query in flight, then N newcomers: which does the server close?"""
    busy = socket.create_connection((host, port), timeout=15)
    m = build_query(0x1000, name)
    busy.sendall(struct.pack("!H", len(m)) + m)
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
    print("\n".join(wait_closed(socks, 1, 10)), flush=True)
    try:
        (ln,) = struct.unpack("!H", recv_exact(busy, 2))
        r = recv_exact(busy, ln)
        qid, flags, _qd, an = struct.unpack("!HHHH", r[:8])
        print(f"{qid:#x} {flags & 15} {an} {read_name(r, 12)[0]}", flush=True)
    except (EOFError, ConnectionResetError):
        print("busy closed", flush=True)


def cmd_tcpqueries(host, port, count, timeout_s):
    """COUNT sequential TCP queries, each on a new connection; prints 'answered N of COUNT' and
    how the others failed."""
    answered, why = 0, {}
    for i in range(count):
        stage = "connect"
        try:
            s = socket.create_connection((host, port), timeout=timeout_s)
            stage = "answer"
            m = build_query(0x2000 + i, f"q{i}.flood.test")
            s.sendall(struct.pack("!H", len(m)) + m)
            (ln,) = struct.unpack("!H", recv_exact(s, 2))
            r = recv_exact(s, ln)
            s.close()
            if struct.unpack("!H", r[:2])[0] == 0x2000 + i and r[3] & 15 == 0:
                answered += 1
                continue
            err = "wrong reply"
        except socket.timeout:
            err = "timeout"
        except (OSError, EOFError) as e:
            err = type(e).__name__
        key = f"{stage} {err}"
        why[key] = why.get(key, 0) + 1
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(why.items()))
    print(f"answered {answered} of {count}" + (f" ({detail})" if detail else ""), flush=True)


def cmd_flood(mode, host, port, n, duration_s):
    """Holds N connections to the server for DURATION seconds. mode idle: connect and send
    nothing; slowloris: send a query one byte every 0.5 s; a "+" suffix (idle+, slowloris+)
    reopens each connection the server closes. Prints 'opened N closed_by_server N' on SIGTERM
    or at the end."""
    reconnect = mode.endswith("+")
    mode = mode.rstrip("+")
    import selectors
    import signal
    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "closed": 0}
    m = build_query(0x3333, "slow.flood.test")
    framed = struct.pack("!H", len(m)) + m

    def open_one():
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        stats["opened"] += 1
        sel.register(s, selectors.EVENT_READ, [0])

    def report(*_):
        print(f"opened {stats['opened']} closed_by_server {stats['closed']}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    for _ in range(n):
        open_one()
    print("flooding", flush=True)
    end = time.monotonic() + duration_s
    next_drip = time.monotonic()
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            try:
                data = key.fileobj.recv(512)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                stats["closed"] += 1
                sel.unregister(key.fileobj)
                key.fileobj.close()
                if reconnect:
                    open_one()
        if mode == "slowloris" and time.monotonic() >= next_drip:
            next_drip += 0.5
            for key in list(sel.get_map().values()):
                pos = key.data[0] % len(framed)
                try:
                    key.fileobj.send(framed[pos:pos + 1])
                    key.data[0] += 1
                except OSError:
                    pass
    report()


def cmd_raw(proto, host, port, hexdata):
    data = bytes.fromhex(hexdata)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        if proto == "udp":
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(1)
            s.sendto(data, (host, port))
            r = s.recv(65535)
        else:
            s = socket.create_connection((host, port), timeout=1)
            s.sendall(struct.pack("!H", len(data)) + data)
            (ln,) = struct.unpack("!H", recv_exact(s, 2))
            r = recv_exact(s, ln)
    except (socket.timeout, EOFError, ConnectionResetError):
        print("none")
        return
    if len(r) < 12:
        print(f"short len={len(r)}")
        return
    qid, flags = struct.unpack("!HH", r[:4])
    print(f"rcode={flags & 15} flags={flags:#06x} id={qid} len={len(r)}")


def main(argv):
    cmd = argv[1]
    if cmd == "flood":
        host, port = argv[2], int(argv[3])
        cmd_flood(argv[4], host, port, int(argv[5]), float(argv[6]))
        return
    host, port = argv[2], int(argv[3]) if argv[1] != "raw" else 0
    if cmd == "pipeline":
        cmd_pipeline(host, port, argv[4:])
    elif cmd == "idle":
        cmd_idle(host, port, float(argv[4]))
    elif cmd == "half":
        cmd_half(host, port, float(argv[4]))
    elif cmd == "conns":
        cmd_conns(host, port, int(argv[4]), float(argv[5]), int(argv[6]) if len(argv) > 6 else 0)
    elif cmd == "busycap":
        cmd_busycap(host, port, argv[4], int(argv[5]))
    elif cmd == "raw":
        cmd_raw(argv[2], argv[3], int(argv[4]), argv[5])
    elif cmd == "tcpqueries":
        cmd_tcpqueries(host, port, int(argv[4]), float(argv[5]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
