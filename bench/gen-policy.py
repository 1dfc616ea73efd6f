#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Policies, destinations and firewall rule sets for `make bench` (bench/run.sh).

Every address is inside 10.0.0.0/8 or fd00::/8; the benchmark only ever sends to them from a
private network namespace where those prefixes are local routes, so nothing leaves the machine.

  gen-policy.py mix --family 4|6 --rules N --dests K --seed S POLICY DESTS
      An allow-list policy ("default": "deny") of N rules on N distinct prefixes: broad allow
      rules (TCP with port lists, UDP/53, or every port) with narrower deny rules, many of them
      nested inside the allows, so that "deny wins" and port sets are exercised. DESTS gets K
      lines "ADDR PORT tcp|udp allow|deny", picked from rules chosen uniformly over the whole rule
      set (plus some uncovered addresses), with the verdict the policy gives (computed here from
      the rules directly, independently of netfence's compiler).

  gen-policy.py block --rules N --dests K --seed S PREFIX
      A block list: N distinct, non-overlapping IPv4 CIDRs. Writes PREFIX.policy.json
      ("default": "allow", one deny rule per CIDR), PREFIX.nft (one interval set, one rule:
      reject), PREFIX.ipt (iptables-restore input, one REJECT rule per CIDR), PREFIX.ipt-ct (the
      same behind a conntrack ESTABLISHED,RELATED accept), PREFIX.allowed (K addresses no CIDR
      covers) and PREFIX.denied (K addresses inside CIDRs spread over the list).

The documents are written compactly, as they would travel in an annotation; `mix` keeps the
policy under the 1 MiB document limit at 16384 rules (and, for IPv4, the OCI state carrying it
escaped under the hook's 1 MiB state limit).
"""
import argparse
import ipaddress
import json
import random
import sys

PORT_LISTS = [[443], [80, 443], ["8000-8080"], [443, "8000-8080"], [22, 443]]


def port_in(ports, port):
    if ports is None:
        return True
    for p in ports:
        if isinstance(p, int):
            if p == port:
                return True
        else:
            lo, hi = (int(x) for x in p.split("-"))
            if lo <= port <= hi:
                return True
    return False


def covering(net, rules_by_net, maxlen):
    """Rules whose prefix contains the address net (a /32 or /128)."""
    addr = int(net.network_address)
    out = []
    for length in range(maxlen + 1):
        mask = ((1 << length) - 1) << (maxlen - length)
        key = (addr & mask, length)
        out.extend(rules_by_net.get(key, ()))
    return out


def verdict(rules, proto, port, default_allow):
    deny = allow = False
    for r in rules:
        p = r.get("protocol", "any")
        if p != "any" and p != proto:
            continue
        if not port_in(r.get("ports"), port):
            continue
        if r["action"] == "deny":
            deny = True
        else:
            allow = True
    if deny:
        return False
    return True if allow else default_allow


def rand_prefix(rng, family, length):
    """A random prefix of the given length inside 10.0.0.0/8 or fd00::/8."""
    if family == 4:
        bits, base, top = 32, 10 << 24, 8
    else:
        bits, base, top = 128, 0xFD << 120, 8
    host = rng.getrandbits(bits - top)
    if family == 6:
        # Keep the text short: random bits only in the first 64 bits and the last group.
        host &= ((1 << 56) - 1) << 64 | 0xFFFF
    addr = base | host
    mask = ((1 << length) - 1) << (bits - length) if length else 0
    return addr & mask


def prefix_mask(bits, length):
    return ((1 << length) - 1) << (bits - length) if length else 0


def rand_within(rng, family, addr, alen, length):
    """A random prefix of the given length inside the prefix (addr, alen), length >= alen."""
    bits = 32 if family == 4 else 128
    r = rng.getrandbits(bits - alen) if bits > alen else 0
    if family == 6:
        r &= ((1 << 56) - 1) << 64 | 0xFFFF
    return (addr | r) & prefix_mask(bits, length)


def fmt_prefix(family, addr, length):
    if family == 4:
        return "%s/%d" % (ipaddress.IPv4Address(addr), length)
    return "%s/%d" % (ipaddress.IPv6Address(addr), length)


def fmt_addr(family, addr):
    return str(ipaddress.IPv4Address(addr) if family == 4 else ipaddress.IPv6Address(addr))


def mix(args):
    rng = random.Random(args.seed)
    fam = args.family
    bits = 32 if fam == 4 else 128
    if fam == 4:
        allow_lens, allow_w = [12, 16, 20, 24, 28], [1, 6, 20, 50, 23]
        deny_lens, deny_w = [24, 28, 30, 32], [20, 20, 10, 50]
    else:
        allow_lens, allow_w = [24, 32, 40, 48, 56, 64], [1, 5, 14, 40, 20, 20]
        deny_lens, deny_w = [64, 80, 96, 112, 128], [20, 10, 10, 10, 50]
    rules, seen = [], set()
    allow_nets = []
    while len(rules) < args.rules:
        kind = rng.random()
        if kind < 0.40 and allow_nets:
            # Deny: often nested inside an allow rule, so that deny wins is exercised.
            length = rng.choices(deny_lens, deny_w)[0]
            if rng.random() < 0.6:
                a, alen = rng.choice(allow_nets)
                addr = rand_within(rng, fam, a, alen, length)
            else:
                addr = rand_prefix(rng, fam, length)
            rule = {"action": "deny"}
        else:
            length = rng.choices(allow_lens, allow_w)[0]
            addr = rand_prefix(rng, fam, length)
            rule = {"action": "allow"}
            k = rng.random()
            if k < 0.34:
                rule["protocol"] = "tcp"
                rule["ports"] = rng.choice(PORT_LISTS)
            elif k < 0.50:
                rule["protocol"] = "udp"
                rule["ports"] = [53]
            # else: every protocol and port
        key = (addr, length)
        if key in seen:
            continue
        seen.add(key)
        if rule["action"] == "allow":
            allow_nets.append(key)
        rule = {"action": rule["action"], "cidr": fmt_prefix(fam, addr, length), **{
            k: v for k, v in rule.items() if k != "action"}}
        rules.append((key, rule))
    policy = {"version": 1, "default": "deny", "loopback": "policy", "raw_sockets": "allow",
              "rules": [r for _, r in rules]}
    doc = json.dumps(policy, separators=(",", ":"))
    if len(doc) > 1024 * 1024:
        sys.exit("gen-policy: the policy is %d bytes, over 1 MiB" % len(doc))
    with open(args.policy, "w") as f:
        f.write(doc)

    by_net = {}
    for key, r in rules:
        by_net.setdefault(key, []).append(r)
    lines = []
    for i in range(args.dests):
        pick = rng.random()
        if pick < 0.85:
            (a, alen), r = rng.choice(rules)
            addr = rand_within(rng, fam, a, alen, bits)
        else:
            addr = rand_prefix(rng, fam, bits)
        proto = "udp" if rng.random() < 0.5 else "tcp"
        port = rng.choice([53, 443, 8080, 22, 80, 9999]) if proto == "tcp" else rng.choice(
            [53, 53, 443, 5353])
        net = ipaddress.ip_network(fmt_prefix(fam, addr, bits))
        ok = verdict(covering(net, by_net, bits), proto, port, False)
        lines.append("%s %d %s %s" % (fmt_addr(fam, addr), port, proto, "allow" if ok else "deny"))
    with open(args.dests_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    allowed = sum(1 for ln in lines if ln.endswith("allow"))
    print(json.dumps({"rules": len(rules), "bytes": len(doc), "dests": len(lines),
                      "dests_allowed": allowed}))


def block(args):
    rng = random.Random(args.seed)
    lens, weights = [20, 24, 28, 32], [5, 35, 20, 40]
    chosen, ancestors = {}, set()
    nets = []
    while len(nets) < args.rules:
        length = rng.choices(lens, weights)[0]
        addr = rand_prefix(rng, 4, length)
        # Non-overlapping: no chosen prefix may contain it or lie inside it.
        if (addr, length) in ancestors:
            continue
        if any(((addr >> (32 - l)) << (32 - l), l) in chosen for l in range(8, length + 1)):
            continue
        chosen[(addr, length)] = True
        for l in range(8, length):
            ancestors.add(((addr >> (32 - l)) << (32 - l), l))
        nets.append((addr, length))
    cidrs = [fmt_prefix(4, a, l) for a, l in nets]
    policy = {"version": 1, "default": "allow", "loopback": "policy", "raw_sockets": "allow",
              "rules": [{"action": "deny", "cidr": c} for c in cidrs]}
    with open(args.prefix + ".policy.json", "w") as f:
        f.write(json.dumps(policy, separators=(",", ":")))
    with open(args.prefix + ".nft", "w") as f:
        f.write("table ip nfbench {\n\tset block {\n\t\ttype ipv4_addr\n\t\tflags interval\n")
        f.write("\t\telements = {\n")
        f.write(",\n".join("\t\t\t" + c for c in cidrs))
        f.write("\n\t\t}\n\t}\n\tchain output {\n")
        f.write("\t\ttype filter hook output priority filter; policy accept;\n")
        f.write("\t\tip daddr @block reject\n\t}\n}\n")
    for suffix, ct in ((".ipt", False), (".ipt-ct", True)):
        with open(args.prefix + suffix, "w") as f:
            f.write("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
            if ct:
                f.write("-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n")
            for c in cidrs:
                f.write("-A OUTPUT -d %s -j REJECT\n" % c)
            f.write("COMMIT\n")

    def covered(a):
        return any(((a >> (32 - l)) << (32 - l), l) in chosen for l in range(8, 33))

    allowed = []
    while len(allowed) < args.dests:
        a = rand_prefix(rng, 4, 32)
        if not covered(a) and (a & 0xFF) not in (0, 255):
            allowed.append(a)
    denied = []
    for i in range(args.dests):
        a, l = nets[rng.randrange(len(nets))]
        span = 32 - l
        denied.append(a | (rng.getrandbits(span) if span else 0))
    with open(args.prefix + ".allowed", "w") as f:
        f.write("\n".join(fmt_addr(4, a) for a in allowed) + "\n")
    with open(args.prefix + ".denied", "w") as f:
        f.write("\n".join(fmt_addr(4, a) for a in denied) + "\n")
    print(json.dumps({"rules": len(nets), "dests": args.dests}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mix")
    m.add_argument("--family", type=int, choices=(4, 6), default=4)
    m.add_argument("--rules", type=int, required=True)
    m.add_argument("--dests", type=int, default=4096)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("policy")
    m.add_argument("dests_file")
    b = sub.add_parser("block")
    b.add_argument("--rules", type=int, required=True)
    b.add_argument("--dests", type=int, default=4096)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("prefix")
    args = ap.parse_args()
    (mix if args.cmd == "mix" else block)(args)


if __name__ == "__main__":
    main()
