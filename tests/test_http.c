// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/http.c: the --listen address. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <criterion/criterion.h>

#include "http.h"

Test(http, listen_address)
{
	static const struct {
		const char *in;
		int family; /* 0: refused */
		int port;
	} cases[] = {
		{ "127.0.0.1:9101", AF_INET, 9101 },
		{ "0.0.0.0:1", AF_INET, 1 },
		{ "[::1]:9101", AF_INET6, 9101 },
		{ "[::]:65535", AF_INET6, 65535 },
		{ "127.0.0.1", 0, 0 },
		{ "127.0.0.1:", 0, 0 },
		{ "127.0.0.1:0", 0, 0 },
		{ "127.0.0.1:65536", 0, 0 },
		{ "127.0.0.1:+80", 0, 0 },
		{ "127.0.0.1:80x", 0, 0 },
		{ "localhost:80", 0, 0 },
		{ "::1:80", 0, 0 },
		{ "[::1]80", 0, 0 },
		{ "[]:80", 0, 0 },
		{ ":80", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage sa;
		unsigned int len = 0;
		int r = nf_http_parse_addr(cases[i].in, &sa, &len);

		if (!cases[i].family) {
			cr_expect_eq(r, -EINVAL, "'%s' accepted", cases[i].in);
			continue;
		}
		cr_expect_eq(r, 0, "'%s' refused", cases[i].in);
		cr_expect_eq(sa.ss_family, cases[i].family, "'%s'", cases[i].in);
		cr_expect_eq(ntohs(((struct sockaddr_in *)&sa)->sin_port), cases[i].port, "'%s'",
			     cases[i].in);
	}
}
