/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `netfence metrics --listen ADDR:PORT`: a small HTTP/1.0 server for a Prometheus scrape. One
 * request at a time, GET /metrics only (404 for other paths, 405 for other methods), requests
 * bounded in size and time; it keeps CAP_BPF alone, to read the counters.
 */
#ifndef NETFENCE_HTTP_H
#define NETFENCE_HTTP_H

#include <stdio.h>
#include <sys/socket.h>

#define NF_HTTP_REQUEST_MAX 8192 /* bytes of a request's line and headers */
#define NF_HTTP_TIMEOUT_MS  5000 /* to receive a request, and to send the answer */

/* Writes the body of GET /metrics to f; < 0 answers 500. */
typedef int (*nf_http_body_fn)(FILE *f, void *ctx);

/* "HOST:PORT", an IPv4 address or a bracketed IPv6 one: 0, or -EINVAL. */
int nf_http_parse_addr(const char *s, struct sockaddr_storage *ret, unsigned int *ret_len);

/* Serve until SIGINT or SIGTERM; 0 then, < 0 (logged) when it cannot listen. */
int nf_http_serve_metrics(const char *addr, nf_http_body_fn body, void *ctx);

#endif
