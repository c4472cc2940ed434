#!/usr/bin/env python3
"""gen_dnsmsg_seeds.py - writes the seed corpora of fuzz_dnsmsg_query and fuzz_dnsmsg_reply.

Run from anywhere: python3 tests/fuzz/gen_dnsmsg_seeds.py. Seeds are small hand-made packets, valid
and broken, that reach each branch of the parser and of the rewrites; the files are committed."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def name(text):
    out = b""
    for label in [l for l in text.split(".") if l]:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(id_, flags, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", id_, flags, qd, an, ns, ar)


def question(qname, qtype=1, qclass=1):
    return name(qname) + struct.pack(">HH", qtype, qclass)


def opt(size=1232, do=False, ext=0, version=0, options=b""):
    return b"\0" + struct.pack(">HHBBHH", 41, size, ext, version, 0x8000 if do else 0,
                               len(options)) + options


def rr(owner, rtype, ttl, rdata, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


PTR_Q = b"\xc0\x0c"
COOKIE = struct.pack(">HH", 10, 8) + b"\x01\x02\x03\x04\x05\x06\x07\x08"


def queries():
    q = {}
    q["a_plain"] = header(0x1234, 0x0100) + question("www.example.com")
    q["aaaa_edns"] = header(1, 0x0100, ar=1) + question("ipv6.test", 28) + opt(4096)
    q["edns_do_cookie"] = header(2, 0x0100, ar=1) + question("Example.COM", 1) + opt(1232, True, options=COOKIE)
    q["edns_v1"] = header(3, 0x0100, ar=1) + question("a.test") + opt(512, version=1)
    q["any"] = header(4, 0x0100) + question("any.test", 255)
    q["https"] = header(5, 0x0120, ar=1) + question("svc.test", 65) + opt(1400)
    q["root_ns"] = header(6, 0) + question("", 2)
    q["long_name"] = header(7, 0x0100) + question(".".join(["x" * 63] * 3 + ["y" * 61]))
    q["qr_set"] = header(8, 0x8100) + question("a.test")
    q["opcode_notify"] = header(9, 0x2000) + question("a.test", 6)
    q["qd0"] = header(10, 0x0100, qd=0)
    q["qd2"] = header(11, 0x0100, qd=2) + question("a.test") + question("b.test")
    q["an1"] = header(12, 0x0100, an=1) + question("a.test") + rr(PTR_Q, 1, 60, b"\1\2\3\4")
    q["two_opts"] = header(13, 0x0100, ar=2) + question("a.test") + opt() + opt()
    q["opt_not_last"] = header(14, 0x0100, ar=2) + question("a.test") + opt() + rr(PTR_Q, 1, 60, b"\1\2\3\4")
    q["opt_bad_option"] = header(15, 0x0100, ar=1) + question("a.test") + opt(options=b"\0\x0a\0\x09abc")
    q["trailing"] = header(16, 0x0100) + question("a.test") + b"\0\0"
    q["truncated_name"] = header(17, 0x0100) + name("truncated.test")[:6]
    q["short_header"] = header(18, 0x0100)[:7]
    q["ptr_loop"] = header(19, 0x0100) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)
    q["ptr_forward"] = header(20, 0x0100) + b"\xc0\x12\0\1\0\1" + name("x")
    q["label_0x40"] = header(21, 0x0100) + b"\x41a\0\0\1\0\1"
    q["tc_query"] = header(22, 0x0300, ar=1) + question("tc.test", 16) + opt(65535, True)
    return q


def reply(id_, qname, qtype, flags=0x8180, an=(), ns=(), ar=()):
    return (header(id_, flags, 1, len(an), len(ns), len(ar)) + question(qname, qtype)
            + b"".join(an) + b"".join(ns) + b"".join(ar))


def soa(owner, ttl, minimum):
    rdata = name("ns.test") + name("host.test") + struct.pack(">IIIII", 1, 3600, 600, 86400, minimum)
    return rr(owner, 6, ttl, rdata)


def replies():
    r = {}
    a = lambda o, ip, ttl=300: rr(o, 1, ttl, bytes(ip))
    r["a_one"] = reply(1, "www.example.com", 1, an=[a(PTR_Q, [192, 0, 2, 1])])
    r["aaaa_edns"] = reply(2, "v6.test", 28, an=[rr(PTR_Q, 28, 60, bytes(16))], ar=[opt(4096, True)])
    r["cname_chain"] = reply(3, "www.example.com", 1, an=[
        rr(PTR_Q, 5, 3600, name("t1.cdn.test")),
        rr(name("t1.cdn.test"), 5, 1800, name("t2.cdn.test")),
        a(name("T2.CDN.test"), [10, 0, 0, 1], 120),
        a(name("unrelated.test"), [10, 0, 0, 9], 30)], ar=[opt()])
    # Compressed CNAME target: points into the question name (offset 12).
    r["cname_compressed"] = reply(4, "a.b.test", 1, an=[
        rr(PTR_Q, 5, 60, b"\x01x\xc0\x0e"), a(name("x.b.test"), [1, 1, 1, 1])])
    r["cname_loop"] = reply(5, "l0.test", 1, an=[
        rr(PTR_Q, 5, 60, name("l1.test")), rr(name("l1.test"), 5, 60, name("l0.test"))])
    chain = [rr(name("c%d.test" % i), 5, 60, name("c%d.test" % (i + 1))) for i in range(12)]
    r["cname_12"] = reply(6, "c0.test", 1, an=chain + [a(name("c12.test"), [2, 2, 2, 2])])
    r["nxdomain_soa"] = reply(7, "nx.test", 1, flags=0x8183, ns=[soa(name("test"), 900, 300)])
    r["nodata_soa"] = reply(8, "nodata.test", 28, ns=[soa(name("test"), 60, 3600)], ar=[opt()])
    r["servfail"] = reply(9, "sf.test", 1, flags=0x8182)
    r["tc"] = reply(10, "big.test", 16, flags=0x8380)
    r["ext_rcode"] = reply(11, "badvers.test", 1, ar=[opt(ext=1)])
    big = [a(PTR_Q, [10, 0, i // 256, i % 256]) for i in range(40)]
    r["big_40a"] = reply(12, "big.test", 1, an=big, ar=[opt(4096, True, options=COOKIE)])
    r["opt_mid_additional"] = reply(13, "mid.test", 1, an=[a(PTR_Q, [3, 3, 3, 3])],
                                    ar=[a(PTR_Q, [4, 4, 4, 4]), opt(), a(PTR_Q, [5, 5, 5, 5])])
    r["txt_mx"] = reply(14, "mail.test", 15, an=[rr(PTR_Q, 15, 60, b"\0\x0a" + name("mx.test")),
                                                rr(PTR_Q, 16, 60, b"\x05hello")])
    r["high_ttl"] = reply(15, "ttl.test", 1, an=[a(PTR_Q, [6, 6, 6, 6], 0x80000001)])
    r["two_opts"] = reply(16, "a.test", 1, ar=[opt(), opt()])
    r["opt_in_answer"] = reply(17, "a.test", 1, an=[opt()])
    r["rdlen_overrun"] = reply(18, "a.test", 1, an=[a(PTR_Q, [1, 2, 3, 4])])[:-2]
    r["ptr_loop_answer"] = reply(19, "a.test", 1, an=[rr(b"\xc0\x1c", 1, 60, b"\1\2\3\4")])
    r["trailing"] = reply(20, "a.test", 1, an=[a(PTR_Q, [1, 2, 3, 4])]) + b"\0"
    r["wrong_class"] = reply(21, "ch.test", 1, an=[rr(PTR_Q, 1, 60, b"\1\2\3\4", rclass=3)])
    r["local_aa"] = reply(22, "blocked.test", 1, flags=0x8580, an=[a(PTR_Q, [0, 0, 0, 0], 0)], ar=[opt()])
    return r


def write(directory, packets):
    path = os.path.join(HERE, "corpus", directory)
    os.makedirs(path, exist_ok=True)
    for key, data in sorted(packets.items()):
        with open(os.path.join(path, key + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("dnsmsg_query", queries())
    write("dnsmsg_reply", replies())
