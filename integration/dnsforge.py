#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""DNS messages for integration/test-dns.sh, sent by hand where a resolver would not send them.

  dnsforge.py query RESOLVER PORT ID NAME SECONDS
      send an A query for NAME from local UDP port PORT to RESOLVER:53 with id ID, print
      "sent", then keep the socket open SECONDS (answers reach a fence's ingress only through
      an open socket)
  dnsforge.py answer SRC DST PORT ID NAME ADDR [TTL]
      send an answer (NAME A ADDR) from SRC:53 to DST:PORT with id ID; SRC need not be an
      address of this host (IP_TRANSPARENT)
"""
import socket
import struct
import sys
import time

IP_FREEBIND = 15
IP_TRANSPARENT = 19


def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def question(name):
    return qname(name) + struct.pack(">HH", 1, 1)


def query(resolver, port, qid, name, hold):
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question(name)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.sendto(msg, (resolver, 53))
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
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 53))
    s.sendto(msg, (dst, port))
    s.close()


def main(argv):
    if len(argv) == 6 and argv[0] == "query":
        query(argv[1], int(argv[2]), int(argv[3]), argv[4], float(argv[5]))
    elif len(argv) in (7, 8) and argv[0] == "answer":
        ttl = int(argv[7]) if len(argv) == 8 else 300
        answer(argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5], argv[6], ttl)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
