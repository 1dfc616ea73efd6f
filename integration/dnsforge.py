#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""DNS messages for integration/test-dns.sh, sent by hand where a resolver would not send them.

  dnsforge.py query RESOLVER PORT ID NAME SECONDS
      send an A query for NAME from local UDP port PORT to RESOLVER:53 (IPv4 or IPv6) with id
      ID, print "sent", then keep the socket open SECONDS (answers reach a fence's ingress only
      through an open socket)
  dnsforge.py cquery RESOLVER PORT ID NAME SECONDS GO
      the same query from a socket connected to RESOLVER:53 first: print "connected", wait
      for the file GO to exist, then send with send() (no address: no sock_addr hook runs)
  dnsforge.py answer SRC DST PORT ID NAME ADDR [TTL]
      send an answer (NAME A ADDR) from SRC:53 to DST:PORT with id ID; SRC need not be an
      address of this host (IP_TRANSPARENT; for an IPv6 SRC, IPV6_FREEBIND, which needs no
      capability)
  dnsforge.py frame IFACE DSTMAC SRC DST PORT ID NAME ADDR
      the same answer as a whole Ethernet frame written to IFACE with a packet socket (no
      socket hook judges it)
  dnsforge.py craft KIND SRC DST PORT ID
      an answer to a query for api.example.com made to try the parser: KIND is one of
      CRAFTED's keys
  dnsforge.py watch ADDR LOG SECONDS
      a resolver on ADDR:53 that answers nothing: each A query's source port, id and name, a
      line "PORT ID NAME" appended to LOG, for SECONDS
  dnsforge.py relay LOG SRC DST ADDR SECONDS
      for each line of LOG (watch's), as it comes, send from SRC the answer (NAME A ADDR) to
      DST:PORT with its id, printing "sent PORT ID" (the id a forger would have to guess)
"""
import os
import socket
import struct
import sys
import time

IP_FREEBIND = 15
IP_TRANSPARENT = 19
IPV6_FREEBIND = 78


def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def question(name):
    return qname(name) + struct.pack(">HH", 1, 1)


def query(resolver, port, qid, name, hold, go=None):
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question(name)
    s = socket.socket(socket.AF_INET6 if ":" in resolver else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if ":" in resolver else "0.0.0.0", port))
    if go is None:
        s.sendto(msg, (resolver, 53))
    else:
        s.connect((resolver, 53))
        print("connected", flush=True)
        while not os.path.exists(go):
            time.sleep(0.05)
        s.send(msg)
    print("sent", flush=True)
    s.settimeout(0.1)
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline:
        try:
            s.recv(4096)
        except OSError:
            pass
    s.close()


def answer(src, dst, port, qid, name, addr, ttl):
    msg = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question(name)
    # the owner as a pointer to the question's name, at offset 12
    msg += struct.pack(">HHHIH", 0xC00C, 1, 1, ttl, 4) + socket.inet_aton(addr)
    send_from(src, dst, port, msg)


def rr(owner, rtype, ttl, rdata):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def message(qid, qwire, an=(), ns=(), ar=(), ancount=None):
    head = struct.pack(">HHHHHH", qid, 0x8180, 1, len(an) if ancount is None else ancount,
                       len(ns), len(ar))
    return head + qwire + struct.pack(">HH", 1, 1) + b"".join(an) + b"".join(ns) + b"".join(ar)


def a(addr):
    return socket.inet_aton(addr)


def a6(addr):
    return socket.inet_pton(socket.AF_INET6, addr)


Q = qname("api.example.com")
PTR_Q = struct.pack(">H", 0xC00C)  # the question's name
EVIL, EVIL2 = "10.77.0.20", "10.77.0.21"

# Answers whose question is allowed (api.example.com) but whose other content should teach
# nothing about EVIL: each would open 10.77.0.20 if the parser took what it must not.
CRAFTED = {
    # an A record owned by another name, then one by the question: only the second is learned
    "other-owner": lambda i: message(i, Q, [rr(qname("other.example.com"), 1, 300, a(EVIL)),
                                            rr(PTR_Q, 1, 300, a(EVIL2))]),
    # the question's A records in the authority and additional sections only
    "other-sections": lambda i: message(i, Q, [], [rr(PTR_Q, 1, 300, a(EVIL))],
                                        [rr(PTR_Q, 1, 300, a(EVIL))]),
    # a CNAME to one name, then an A record of another
    "cname-mismatch": lambda i: message(i, Q, [
        rr(PTR_Q, 5, 300, qname("b.example.net")),
        rr(qname("c.example.net"), 1, 300, a(EVIL))]),
    # an A record before the CNAME that leads to its owner: the chain is read in order
    "cname-order": lambda i: message(i, Q, [
        rr(qname("b.example.net"), 1, 300, a(EVIL)),
        rr(PTR_Q, 5, 300, qname("b.example.net"))]),
    # the owner a pointer to itself (a loop), then to a later offset (forward)
    "pointer-loop": lambda i: message(i, Q, [rr(struct.pack(">H", 0xC000 | (12 + len(Q) + 4)),
                                                1, 300, a(EVIL))]),
    "pointer-forward": lambda i: message(i, Q, [
        rr(struct.pack(">H", 0xC000 | (12 + len(Q) + 4 + 16)), 1, 300, a(EVIL)),
        rr(Q, 16, 300, b"\x03abc")]),
    # the question's name with a NUL byte, a dot inside a label, a suffix
    "nul-label": lambda i: message(i, qname("api\0.example.com"), [rr(PTR_Q, 1, 300, a(EVIL))]),
    "dot-label": lambda i: message(i, b"\x0bapi.example\x03com\x00",
                                   [rr(PTR_Q, 1, 300, a(EVIL))]),
    "suffix": lambda i: message(i, qname("api.example.com.attacker.test"),
                                [rr(PTR_Q, 1, 300, a(EVIL))]),
    # more records than the header counts: the ones past ancount are not answers
    "past-ancount": lambda i: message(i, Q, [rr(PTR_Q, 16, 300, b"\x01x"),
                                             rr(PTR_Q, 1, 300, a(EVIL))], ancount=1),
    # the record of class CH, not IN
    "class-ch": lambda i: message(i, Q, [PTR_Q + struct.pack(">HHIH", 1, 3, 300, 4) + a(EVIL)]),
    # the largest TTL: learned, for at most NF_DNS_TTL_MAX (the test reads show)
    "ttl-max": lambda i: message(i, Q, [rr(PTR_Q, 1, 0xFFFFFFFF, a(EVIL))]),
    # an AAAA record of EVIL's IPv4-mapped form: never learned (an A record opens EVIL)
    "aaaa-mapped": lambda i: message(i, Q, [rr(PTR_Q, 28, 300, a6("::ffff:" + EVIL))]),
    # control: an AAAA record of an IPv6 address is learned
    "aaaa": lambda i: message(i, Q, [rr(PTR_Q, 28, 300, a6("fd77::20"))]),
}


def send_from(src, dst, port, msg):
    if ":" in src:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 53))
    s.sendto(msg, (dst, port))
    s.close()


def watch(addr, log, seconds):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    s.settimeout(0.1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            msg, peer = s.recvfrom(4096)
        except OSError:
            continue
        labels, off = [], 12
        while off < len(msg) and msg[off]:
            labels.append(msg[off + 1:off + 1 + msg[off]].decode(errors="replace"))
            off += 1 + msg[off]
        if msg[off + 1:off + 5] == struct.pack(">HH", 1, 1):
            with open(log, "a") as f:
                f.write("%d %d %s\n" % (peer[1], struct.unpack(">H", msg[:2])[0],
                                        ".".join(labels)))


def relay(log, src, dst, addr, seconds):
    done = 0
    deadline = time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            with open(log) as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        for line in lines[done:]:
            port, qid, name = line.split()
            answer(src, dst, int(port), int(qid), name, addr, 300)
            print("sent", port, qid, flush=True)
        done = len(lines)
        time.sleep(0.002)


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF


def frame(iface, dstmac, src, dst, port, qid, name, addr):
    msg = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question(name)
    msg += struct.pack(">HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(addr)
    udp = struct.pack(">HHHH", 53, port, 8 + len(msg), 0) + msg  # checksum 0: none, for IPv4
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack(">H", checksum(ip)) + ip[12:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    eth = bytes.fromhex(dstmac.replace(":", "")) + s.getsockname()[4] + b"\x08\x00"
    s.send(eth + ip + udp)
    s.close()


def main(argv):
    if len(argv) == 6 and argv[0] == "query":
        query(argv[1], int(argv[2]), int(argv[3]), argv[4], float(argv[5]))
    elif len(argv) == 7 and argv[0] == "cquery":
        query(argv[1], int(argv[2]), int(argv[3]), argv[4], float(argv[5]), argv[6])
    elif len(argv) in (7, 8) and argv[0] == "answer":
        ttl = int(argv[7]) if len(argv) == 8 else 300
        answer(argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5], argv[6], ttl)
    elif len(argv) == 9 and argv[0] == "frame":
        frame(argv[1], argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), argv[7], argv[8])
    elif len(argv) == 4 and argv[0] == "watch":
        watch(argv[1], argv[2], float(argv[3]))
    elif len(argv) == 6 and argv[0] == "relay":
        relay(argv[1], argv[2], argv[3], argv[4], float(argv[5]))
    elif len(argv) == 6 and argv[0] == "craft" and argv[1] in CRAFTED:
        send_from(argv[2], argv[3], int(argv[4]), CRAFTED[argv[1]](int(argv[5])))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
