#!/usr/bin/env python3
"""e2e_dns.py - a tiny DNS client for the e2e tests, for what dig/kdig cannot do: pipelined TCP
queries on one connection, idle or half-sent TCP connections, connection caps, and raw (bad)
packets. Standard library only; every wait is bounded.

  e2e_dns.py pipeline HOST PORT NAME...       one TCP connection, all queries in one write;
                                              prints "id rcode ancount qname" per reply, in
                                              arrival order
  e2e_dns.py idle HOST PORT MAX_S             connect, send nothing; prints the seconds until the
                                              server closed ("open" if it did not within MAX_S)
  e2e_dns.py half HOST PORT HOLD_S            connect, send half a message, hold it HOLD_S seconds
  e2e_dns.py conns HOST PORT N HOLD_S         open N connections at once; after 0.5 s print one
                                              "open"/"closed" per connection; hold HOLD_S seconds
  e2e_dns.py raw udp|tcp HOST PORT HEX        send the bytes; prints "rcode=N flags=0xHHHH
                                              id=N len=N" of the reply or "none" (1 s wait)
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
    s = socket.create_connection((host, port), timeout=5)
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
    s = socket.create_connection((host, port), timeout=5)
    m = build_query(0x4242, "stuck.test")
    s.sendall(struct.pack("!H", len(m)) + m[: len(m) // 2])
    print("sent half", flush=True)
    time.sleep(hold_s)
    s.close()


def cmd_conns(host, port, n, hold_s):
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
    time.sleep(0.5)
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(1)
            print("closed" if not data else "data")
        except BlockingIOError:
            print("open")
        except ConnectionResetError:
            print("closed")
    sys.stdout.flush()
    time.sleep(hold_s)


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
    cmd, host, port = argv[1], argv[2], int(argv[3]) if argv[1] != "raw" else 0
    if cmd == "pipeline":
        cmd_pipeline(host, port, argv[4:])
    elif cmd == "idle":
        cmd_idle(host, port, float(argv[4]))
    elif cmd == "half":
        cmd_half(host, port, float(argv[4]))
    elif cmd == "conns":
        cmd_conns(host, port, int(argv[4]), float(argv[5]))
    elif cmd == "raw":
        cmd_raw(argv[2], argv[3], int(argv[4]), argv[5])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
