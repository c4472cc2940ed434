#!/usr/bin/env python3
"""pr_echo.py - tiny TCP/UDP "who are you" servers and clients for test_policy_route.sh.

  pr_echo.py serve PORT ADDR...        on each ADDR, TCP and UDP on PORT: every TCP connection
                                       and every UDP datagram is answered with the peer's address
                                       as the server saw it; one line per exchange on stdout
  pr_echo.py ask tcp|udp ADDR PORT [TIMEOUT [SPORT]]
                                       prints the address the server saw, or TIMEOUT (exit 1);
                                       SPORT: the source port (a fresh one: no old conntrack entry)
"""
import selectors
import socket
import sys


def serve(port, addrs):
    sel = selectors.DefaultSelector()
    for a in addrs:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((a, port))
        t.listen(64)
        sel.register(t, selectors.EVENT_READ, "tcp")
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((a, port))
        sel.register(u, selectors.EVENT_READ, "udp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "tcp":
                c, peer = s.accept()
                c.settimeout(2)
                try:
                    c.recv(64)
                    c.sendall(peer[0].encode() + b"\n")
                except OSError:
                    pass
                c.close()
            else:
                _, peer = s.recvfrom(64)
                s.sendto(peer[0].encode() + b"\n", peer)
            print(key.data, s.getsockname()[0], peer[0], flush=True)


def ask(proto, addr, port, timeout, sport):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    s.settimeout(timeout)
    if sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
    try:
        if proto == "tcp":
            s.connect((addr, port))
            s.sendall(b"who\n")
            data = s.recv(64)
        else:
            s.sendto(b"who\n", (addr, port))
            data = s.recv(64)
    except (socket.timeout, OSError):
        print("TIMEOUT")
        return 1
    print(data.decode().strip())
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3:])
    elif len(sys.argv) in (5, 6, 7) and sys.argv[1] == "ask" and sys.argv[2] in ("tcp", "udp"):
        t = float(sys.argv[5]) if len(sys.argv) >= 6 else 2.0
        sport = int(sys.argv[6]) if len(sys.argv) == 7 else 0
        return ask(sys.argv[2], sys.argv[3], int(sys.argv[4]), t, sport)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
