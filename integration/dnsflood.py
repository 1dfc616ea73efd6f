#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Many learned addresses fast, for integration/test-dns.sh's flood case.

  dnsflood.py serve ADDR RECORDS     a resolver on ADDR:53 answering each A query with RECORDS
                                     A records of addresses never given before (10.128.0.0 on)
  dnsflood.py ask RESOLVER N DOMAIN  N queries, one at a time, for f<i>.DOMAIN; prints the
                                     number answered and the last address of the last answer
"""
import ipaddress
import socket
import struct
import sys


def serve(addr, records):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 53))
    print("serving", flush=True)
    nxt = int(ipaddress.IPv4Address("10.128.0.0"))
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 17:
            continue
        qid = msg[:2]
        end = 12
        while end < len(msg) and msg[end]:
            end += msg[end] + 1
        question = msg[12 : end + 5]
        an = b""
        for _ in range(records):
            an += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + struct.pack("!I", nxt)
            nxt += 1
        s.sendto(qid + struct.pack("!HHHHH", 0x8180, 1, records, 0, 0) + question + an, peer)


def ask(resolver, n, domain):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    answered, last = 0, ""
    for i in range(n):
        qid = (i * 7919 + 1) & 0xFFFF
        name = b"".join(bytes([len(p)]) + p for p in ("f%d.%s" % (i, domain)).encode().split(b"."))
        s.sendto(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + b"\0\0\1\0\1",
                 (resolver, 53))
        try:
            msg = s.recv(4096)
        except socket.timeout:
            continue
        if msg[:2] == struct.pack("!H", qid):
            answered += 1
            last = socket.inet_ntoa(msg[-4:])
    print(answered, last)


def main(argv):
    if len(argv) == 3 and argv[0] == "serve":
        serve(argv[1], int(argv[2]))
    elif len(argv) == 4 and argv[0] == "ask":
        ask(argv[1], int(argv[2]), argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
