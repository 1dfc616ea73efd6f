// SPDX-License-Identifier: Apache-2.0
/*
 * Tests for hook/seed.c's decisions: which names are looked up, the entry an answer's address
 * makes (the ports the kernel's lookup of the patterns would give, the TTL clamped, the
 * addresses never learned refused), and the processes whose namespace is seeded. The lookups
 * themselves run against a real resolver in integration/test-dns.sh (seed-*).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <criterion/criterion.h>

#include "compile.h"
#include "seed.h"
#include "tmpdir.h"

static struct nf_policy *parse(const char *doc)
{
	struct nf_policy *p = NULL;
	struct nf_err e;

	cr_assert_eq(nf_policy_parse(doc, strlen(doc), &p, &e), 0, "%s", e.msg);
	nf_policy_resolve(p, true);
	return p;
}

static const char doc[] =
	"{\"version\":1,\"default\":\"deny\",\"resolvers\":[\"192.0.2.53\"],\"rules\":["
	"{\"action\":\"allow\",\"host\":\"api.example.com\",\"protocol\":\"tcp\",\"ports\":[443]},"
	"{\"action\":\"allow\",\"host\":\"*.example.org\",\"protocol\":\"tcp\"},"
	"{\"action\":\"allow\",\"host\":\"API.example.com\",\"protocol\":\"udp\",\"ports\":[53]},"
	"{\"action\":\"deny\",\"cidr\":\"10.0.0.0/8\"},"
	"{\"action\":\"allow\",\"host\":\"b.example.org\",\"protocol\":\"tcp\",\"ports\":[80]},"
	"{\"action\":\"allow\",\"host\":\"**.example.net\"},"
	"{\"action\":\"allow\",\"host\":\"c.example.net\"}]}";

/* Exact names once each, in rule order; wildcards counted, not looked up. */
Test(seed, names)
{
	struct nf_policy *p = parse(doc);
	const char *names[8];
	size_t more = 9, wild = 9, n;

	n = nf_seed_names(p, names, 8, &more, &wild);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(names[0], "api.example.com");
	cr_expect_str_eq(names[1], "b.example.org");
	cr_expect_str_eq(names[2], "c.example.net");
	cr_expect_eq(more, 0);
	cr_expect_eq(wild, 2);
	/* the bound: the rest counted once each */
	n = nf_seed_names(p, names, 1, &more, &wild);
	cr_assert_eq(n, 1);
	cr_expect_eq(more, 2);
	n = nf_seed_names(p, names, 0, &more, &wild);
	cr_expect_eq(n, 0);
	cr_expect_eq(more, 3);
	nf_policy_free(p);
}

Test(seed, no_names)
{
	struct nf_policy *p =
		parse("{\"version\":1,\"default\":\"deny\",\"rules\":[{\"action\":\"allow\","
		      "\"cidr\":\"10.0.0.0/8\"}]}");
	const char *names[4];
	size_t more = 9, wild = 9;

	cr_expect_eq(nf_seed_names(p, names, 4, &more, &wild), 0);
	cr_expect_eq(more + wild, 0);
	nf_policy_free(p);
}

static const uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 7 };

/* The entry of an answer: the name's ports as the programs' lookup gives them. */
Test(seed, entry)
{
	struct nf_policy *p = parse(doc);
	struct nf_compiled *c = NULL;
	struct nf_learned_entry le;
	uint32_t ports[NF_PROTO_COUNT];
	struct nf_err e;

	cr_assert_eq(nf_compile(p, &c, &e), 0);
	cr_assert_eq(nf_seed_entry(c, "b.example.org", v4, false, 60, 1000, 77, 4242, &le), 0);
	cr_expect_eq(le.cgroup_id, 77);
	cr_expect_arr_eq(le.addr, v4, 16);
	cr_expect_eq(le.expires_ns, 1000 + 60ULL * 1000000000ULL);
	cr_expect_eq(le.netns, 4242);
	cr_expect_str_eq(le.name, "b.example.org");
	cr_assert_eq(nf_compiled_host_ports(c, "b.example.org", ports), 0);
	cr_expect_arr_eq(le.portset, ports, sizeof(ports));
	cr_expect_neq(le.portset[NF_PROTO_TCP], NF_PORTSET_NONE);
	/* api.example.com: TCP 443 and UDP 53, from two rules */
	cr_assert_eq(nf_seed_entry(c, "api.example.com", v4, false, 60, 0, 1, 1, &le), 0);
	cr_expect_neq(le.portset[NF_PROTO_TCP], NF_PORTSET_NONE);
	cr_expect_neq(le.portset[NF_PROTO_UDP], NF_PORTSET_NONE);
	cr_expect_eq(le.portset[NF_PROTO_OTHER], NF_PORTSET_NONE);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(seed, entry_ttl_clamped)
{
	struct nf_policy *p = parse(doc);
	struct nf_compiled *c = NULL;
	struct nf_learned_entry le;
	struct nf_err e;

	cr_assert_eq(nf_compile(p, &c, &e), 0);
	cr_assert_eq(nf_seed_entry(c, "c.example.net", v4, false, 0, 0, 1, 1, &le), 0);
	cr_expect_eq(le.expires_ns, NF_DNS_TTL_MIN * 1000000000ULL);
	cr_assert_eq(nf_seed_entry(c, "c.example.net", v4, false, 0xffffffff, 0, 1, 1, &le), 0);
	cr_expect_eq(le.expires_ns, NF_DNS_TTL_MAX * 1000000000ULL);
	nf_compiled_free(c);
	nf_policy_free(p);
}

/* What no answer opens, whoever reports it: the parent checks the child's records again. */
Test(seed, entry_refusals)
{
	static const uint8_t meta[16] = { [10] = 0xff, [11] = 0xff, 169, 254, 169, 254 };
	static const uint8_t lo6[16] = { [15] = 1 };
	struct nf_policy *p = parse(doc);
	struct nf_compiled *c = NULL;
	struct nf_learned_entry le;
	struct nf_err e;

	cr_assert_eq(nf_compile(p, &c, &e), 0);
	cr_expect_eq(nf_seed_entry(c, "api.example.com", meta, false, 60, 0, 1, 1, &le), -EPERM);
	cr_expect_eq(nf_seed_entry(c, "api.example.com", lo6, true, 60, 0, 1, 1, &le), -EPERM);
	/* an IPv4-mapped address from an AAAA record */
	cr_expect_eq(nf_seed_entry(c, "api.example.com", v4, true, 60, 0, 1, 1, &le), -EPERM);
	cr_expect_eq(nf_seed_entry(c, "other.example.com", v4, false, 60, 0, 1, 1, &le), -ENOENT);
	cr_expect_eq(nf_seed_entry(c, "example.org", v4, false, 60, 0, 1, 1, &le), -ENOENT);
	nf_compiled_free(c);
	nf_policy_free(p);
}

Test(seed, cgroup_pids)
{
	char dir[64], path[128];
	pid_t pids[NF_SEED_PIDS_MAX];
	size_t n = 99;
	FILE *f;

	nf_test_mkdtemp(dir, sizeof(dir), "seed");
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("12\n34\nabc\n0\n56\n78", f); /* the last line unfinished: left out */
	fclose(f);
	cr_assert_eq(nf_seed_cgroup_pids(dir, pids, NF_SEED_PIDS_MAX, &n), 0);
	cr_assert_eq(n, 3);
	cr_expect_eq(pids[0], 12);
	cr_expect_eq(pids[1], 34);
	cr_expect_eq(pids[2], 56);
	cr_assert_eq(nf_seed_cgroup_pids(dir, pids, 2, &n), 0);
	cr_expect_eq(n, 2);
	remove(path);
	cr_expect_eq(nf_seed_cgroup_pids(dir, pids, 2, &n), -ENOENT);
	nf_test_rmtree(dir);
}

/* What a flaw in reading an answer could reach, still uid 0: an IPv4 or IPv6 socket and nothing
 * else, in particular no AF_UNIX socket that connects to the host's (the container engine's
 * own, owned by uid 0) nor a file. Each call in a child, the filter being for good. */
static int sandboxed(int domain, int type)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd;

		if (nf_seed_sandbox() < 0)
			_exit(2);
		fd = domain < 0 ? open("/etc/hostname", O_RDONLY) : socket(domain, type, 0);
		_exit(fd >= 0 ? 0 : errno == EPERM ? 1 : 3);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

Test(seed, sandbox)
{
	cr_expect_eq(sandboxed(AF_INET, SOCK_DGRAM), 0);
	cr_expect_eq(sandboxed(AF_INET6, SOCK_DGRAM), 0);
	cr_expect_eq(sandboxed(AF_UNIX, SOCK_STREAM), 1, "an AF_UNIX socket under the filter");
	cr_expect_eq(sandboxed(AF_UNIX, SOCK_DGRAM), 1, "an AF_UNIX socket under the filter");
	cr_expect_eq(sandboxed(AF_NETLINK, SOCK_RAW), 1, "a netlink socket under the filter");
	cr_expect_eq(sandboxed(-1, 0), 1, "open() under the filter");
}
