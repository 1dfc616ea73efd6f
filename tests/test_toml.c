// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/toml.c: the TOML subset of containerd's, CRI-O's and Podman's configs. */
#include <errno.h>
#include <string.h>
#include <criterion/criterion.h>

#include "toml.h"

static struct nf_toml parse_ok(const char *text)
{
	struct nf_toml doc;
	struct nf_err err = { 0 };

	cr_assert_eq(nf_toml_parse(text, strlen(text), &doc, &err), 0, "%s", err.msg);
	return doc;
}

/* containerd 1.6's config.toml, version 2, as docs/runtimes.md shows it. */
Test(toml, containerd_runtime_handler)
{
	struct nf_toml doc = parse_ok(
		"version = 2\n"
		"# a comment\n"
		"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.netfence]\n"
		"  runtime_type = \"io.containerd.runc.v2\"   # trailing comment\n"
		"  pod_annotations = [\n"
		"    \"io.netfence.*\", # first\n"
		"    'other.*',\n"
		"  ]\n"
		"  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.netfence.options]\n"
		"    BinaryName = \"/usr/local/bin/netfence-runc\"\n"
		"    SystemdCgroup = true\n");
	const char *ver[] = { "version", NULL };
	const char *bin[] = { "plugins",    "io.containerd.grpc.v1.cri",
			      "containerd", "runtimes",
			      "netfence",   "options",
			      "BinaryName", NULL };
	const char *ann[] = { "plugins",  "io.containerd.grpc.v1.cri", "containerd", "runtimes",
			      "netfence", "pod_annotations",	       NULL };
	const struct nf_toml_entry *e;

	e = nf_toml_get(&doc, ver);
	cr_assert(e && e->type == NF_TOML_INT && e->i == 2);
	e = nf_toml_get(&doc, bin);
	cr_assert(e && e->type == NF_TOML_STRING);
	cr_assert_str_eq(e->str, "/usr/local/bin/netfence-runc");
	cr_assert_eq(e->line, 10);
	e = nf_toml_get(&doc, ann);
	cr_assert(e && e->type == NF_TOML_ARRAY && e->n_items == 2);
	cr_assert_str_eq(e->items[0], "io.netfence.*");
	cr_assert_str_eq(e->items[1], "other.*");
	nf_toml_free(&doc);
}

/* Dotted keys, quoted keys, escapes, and values netfence skips over. */
Test(toml, keys_and_skipped_values)
{
	struct nf_toml doc = parse_ok("[crio.runtime]\n"
				      "hooks_dir = [\"/a\", \"/b \\\"q\\\"\"]\n"
				      "opts.inner = { a = 1, b = [1, 2], c = \"]\" }\n"
				      "ratio = 1.5\n"
				      "text = \"\"\"\nmulti [ line\n\"\"\"\n"
				      "nested = [[1, 2], [\"x\"]]\n"
				      "[[crio.array]]\n"
				      "'lit.key' = 'C:\\path'\n"
				      "enabled = false\n");
	const char *hooks[] = { "crio", "runtime", "hooks_dir", NULL };
	const char *inner[] = { "crio", "runtime", "opts", "inner", NULL };
	const char *lit[] = { "crio", "array", "lit.key", NULL };
	const char *en[] = { "crio", "array", "enabled", NULL };
	const struct nf_toml_entry *e;

	e = nf_toml_get(&doc, hooks);
	cr_assert(e && e->type == NF_TOML_ARRAY && e->n_items == 2);
	cr_assert_str_eq(e->items[1], "/b \"q\"");
	e = nf_toml_get(&doc, inner);
	cr_assert(e && e->type == NF_TOML_OTHER);
	e = nf_toml_get(&doc, lit);
	cr_assert(e && e->type == NF_TOML_STRING);
	cr_assert_str_eq(e->str, "C:\\path");
	e = nf_toml_get(&doc, en);
	cr_assert(e && e->type == NF_TOML_BOOL && !e->b);
	cr_assert_eq(e->line, 11);
	nf_toml_free(&doc);
}

Test(toml, errors_name_the_line)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "a = 1\nb \"x\"\n", "line 2: expected '=' after the key" },
		{ "a = \"open\n", "line 1: unterminated string" },
		{ "[t\n", "line 1: unterminated table header" },
		{ "a = [\"x\",\n\"y\"\n", "line 3: unterminated array" },
		{ "a = 1 2\n", "line 1: unexpected text after the value" },
		{ "a =\n", "line 1: a value is missing" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nf_toml doc;
		struct nf_err err = { 0 };

		cr_assert_eq(nf_toml_parse(cases[i].text, strlen(cases[i].text), &doc, &err),
			     -EINVAL, "case %zu", i);
		cr_assert_str_eq(err.msg, cases[i].err, "case %zu", i);
		cr_assert_eq(doc.n, 0);
	}
}
