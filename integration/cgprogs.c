// SPDX-License-Identifier: Apache-2.0
/*
 * cgprogs CGROUP-DIR: the BPF programs attached to a cgroup, as a JSON array of
 * {"id", "attach_type", "attach_flags", "name"} (bpftool's names), for the integration tests.
 *
 * bpftool 7.1 (Debian 12) asks BPF_PROG_QUERY for per-program attach flags, a field kernels
 * before 6.0 refuse, and then lists nothing: a test reading that as "no programs" cannot fail.
 * This asks with the fields every kernel since 4.15 knows. Exit 1 with a message when a query
 * fails; an attach type the kernel does not know (EINVAL) is skipped, except for the six
 * netfence uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

static const struct {
	int type;
	const char *name;
	int required;
} types[] = {
	{ 0, "cgroup_inet_ingress", 0 },
	{ 1, "cgroup_inet_egress", 1 },
	{ 2, "cgroup_inet_sock_create", 1 },
	{ 3, "cgroup_sock_ops", 0 },
	{ 6, "cgroup_device", 0 },
	{ 8, "cgroup_inet4_bind", 0 },
	{ 9, "cgroup_inet6_bind", 0 },
	{ 10, "cgroup_inet4_connect", 1 },
	{ 11, "cgroup_inet6_connect", 1 },
	{ 12, "cgroup_inet4_post_bind", 0 },
	{ 13, "cgroup_inet6_post_bind", 0 },
	{ 14, "cgroup_udp4_sendmsg", 1 },
	{ 15, "cgroup_udp6_sendmsg", 1 },
	{ 18, "cgroup_sysctl", 0 },
	{ 19, "cgroup_udp4_recvmsg", 0 },
	{ 20, "cgroup_udp6_recvmsg", 0 },
	{ 21, "cgroup_getsockopt", 0 },
	{ 22, "cgroup_setsockopt", 0 },
	{ 29, "cgroup_inet4_getpeername", 0 },
	{ 30, "cgroup_inet6_getpeername", 0 },
	{ 31, "cgroup_inet4_getsockname", 0 },
	{ 32, "cgroup_inet6_getsockname", 0 },
	{ 34, "cgroup_inet_sock_release", 0 },
};

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static void prog_name(__u32 id, char *name, size_t size)
{
	struct bpf_prog_info info;
	union bpf_attr attr;
	int fd;

	name[0] = 0;
	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
	if (fd < 0)
		return; /* detached and freed since the query */
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (__u64)(unsigned long)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0)
		snprintf(name, size, "%s", info.name);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *sep = "";
	int cg;

	if (argc != 2) {
		fprintf(stderr, "usage: cgprogs CGROUP-DIR\n");
		return 2;
	}
	cg = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (cg < 0) {
		fprintf(stderr, "cgprogs: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("[");
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		__u32 ids[64], cnt = 64;
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		attr.query.target_fd = cg;
		attr.query.attach_type = types[t].type;
		attr.query.prog_ids = (__u64)(unsigned long)ids;
		attr.query.prog_cnt = cnt;
		if (sys_bpf(BPF_PROG_QUERY, &attr) < 0) {
			if (errno == EINVAL && !types[t].required)
				continue;
			fprintf(stderr, "cgprogs: %s: BPF_PROG_QUERY %s: %s\n", argv[1],
				types[t].name, strerror(errno));
			return 1;
		}
		for (__u32 i = 0; i < attr.query.prog_cnt && i < cnt; i++) {
			__u32 f = attr.query.attach_flags;
			char name[32];

			prog_name(ids[i], name, sizeof(name));
			printf("%s{\"id\":%u,\"attach_type\":\"%s\",\"attach_flags\":\"%s\","
			       "\"name\":\"%s\"}",
			       sep, ids[i], types[t].name,
			       f & BPF_F_ALLOW_MULTI	  ? "multi"
			       : f & BPF_F_ALLOW_OVERRIDE ? "override"
							  : "",
			       name);
			sep = ",";
		}
	}
	printf("]\n");
	return 0;
}
