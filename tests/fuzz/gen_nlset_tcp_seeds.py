#!/usr/bin/env python3
"""gen_nlset_tcp_seeds.py - writes the seed corpora of fuzz_nlset_reply (netlink replies as the
kernel sends them to nlset: acks, ipset and nft errors with the echoed request, an ipset header
reply, an nft set reply, several in one buffer, and broken ones) and fuzz_tcp_frame (TCP byte
streams: pipelined messages, lengths split over reads, short lengths).

Run from anywhere: python3 tests/fuzz/gen_nlset_tcp_seeds.py. The files are committed."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NLMSG_ERROR, NLMSG_DONE = 2, 3
NFNL_SUBSYS_IPSET, NFNL_SUBSYS_NFTABLES = 6, 10
IPSET_CMD_ADD, IPSET_CMD_HEADER = 9, 12
NFT_MSG_NEWSET = 9
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 0x8000, 0x4000


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def attr(kind, payload):
    return pad4(struct.pack("=HH", 4 + len(payload), kind) + payload)


def nlmsg(kind, flags, seq, payload):
    return pad4(struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + payload)


def nfgen(family=2, res_id=0):
    return struct.pack("=BBH", family, 0, res_id)


def nfnl(subsys, cmd, seq, attrs, family=2):
    return nlmsg((subsys << 8) | cmd, 0, seq, nfgen(family) + b"".join(attrs))


def error(code, seq, request=b""):
    """NLMSG_ERROR: the code, then the request (its header only for an ack)."""
    req = request if request else struct.pack("=IHHII", 16, 0, 0, seq, 0)
    return nlmsg(NLMSG_ERROR, 0, seq, struct.pack("=i", code) + req)


def ipset_add(seq, lineno):
    ip = attr(1 | NLA_F_NESTED, attr(1 | NLA_F_NET_BYTEORDER, bytes([192, 0, 2, 7])))
    data = attr(7 | NLA_F_NESTED, ip + attr(9 | NLA_F_NET_BYTEORDER, struct.pack(">I", lineno)))
    return nfnl(NFNL_SUBSYS_IPSET, IPSET_CMD_ADD, seq,
                [attr(1, b"\x07"), attr(2, b"s4\0"), data, attr(9, struct.pack("=I", lineno))])


def ipset_header(seq, typename=b"hash:ip\0", family=2, timeout=True):
    data = attr(6 | NLA_F_NET_BYTEORDER, struct.pack(">I", 600)) if timeout else b""
    return nfnl(NFNL_SUBSYS_IPSET, IPSET_CMD_HEADER, seq,
                [attr(1, b"\x07"), attr(2, b"s4\0"), attr(3, typename), attr(5, bytes([family])),
                 attr(7 | NLA_F_NESTED, data)])


def nft_set(seq, key_type=7, key_len=4, flags=0x10):
    be = lambda v: struct.pack(">I", v)
    return nfnl(NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWSET, seq,
                [attr(1, b"t\0"), attr(2, b"s\0"), attr(3, be(flags)), attr(4, be(key_type)),
                 attr(5, be(key_len))], family=1)


def nlset_seeds():
    add = ipset_add(7, 3)
    return {
        "ack": error(0, 1),
        "acks_batch": error(0, 1) + error(0, 2) + error(0, 3),
        "ipset_exist": error(-4103, 7, add),
        "ipset_lineno": error(-4097, 7, add),
        "ipset_enoent": error(-2, 5),
        "nft_enoent": error(-2, 9),
        "ipset_header": ipset_header(4),
        "ipset_header_v6_notimeout": ipset_header(4, family=10, timeout=False),
        "ipset_header_bitmap": ipset_header(4, typename=b"bitmap:port\0"),
        "nft_set_v4": nft_set(8),
        "nft_set_v6_interval": nft_set(8, key_type=8, key_len=16, flags=0x1 | 0x10),
        "nft_set_map": nft_set(8, flags=0x8),
        "probe_then_done": ipset_header(4) + nlmsg(NLMSG_DONE, 0, 4, struct.pack("=i", 0)),
        "error_short": nlmsg(NLMSG_ERROR, 0, 1, b"\0\0"),
        "error_bad_inner_len": error(-4097, 7, struct.pack("=IHHII", 4000, 0, 0, 7, 0)),
        "truncated": ipset_header(4)[:-6],
        "attr_overlong": nfnl(NFNL_SUBSYS_IPSET, IPSET_CMD_HEADER, 4, [struct.pack("=HH", 200, 3)]),
        "header_len_zero": struct.pack("=IHHII", 0, 2, 0, 1, 0),
    }


def frame(msg):
    return struct.pack(">H", len(msg)) + msg


def query(qid, qname=b"\x03www\x07example\x03com\x00"):
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + b"\x00\x01\x00\x01"


def tcp_seeds():
    # The fuzz target reads: 2 bytes of split seed, then the stream.
    q = [query(i) for i in range(1, 4)]
    return {
        "one": b"\x00\x00" + frame(q[0]),
        "pipelined": b"\x12\x34" + b"".join(frame(m) for m in q),
        "split_length": b"\xff\x01" + frame(q[0]) + frame(q[1])[:1],
        "partial_tail": b"\x00\x07" + frame(q[0]) + frame(q[1])[:9],
        "short_length": b"\x00\x02" + frame(q[0]) + b"\x00\x05hello",
        "zero_length": b"\x00\x00\x00\x00",
        "max_length": b"\x00\x09" + b"\xff\xff" + b"\x00" * 300,
    }


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("nlset_reply", nlset_seeds())
    write("tcp_frame", tcp_seeds())
