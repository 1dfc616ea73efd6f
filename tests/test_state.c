// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/state.c: the state file of a fence, its policy member, and reading the head
 * without the policy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <jansson.h>

#include "state.h"
#include "tmpdir.h"
#include "util.h"

static char root[256];

static void setup(void)
{
	nf_test_mkdtemp(root, sizeof(root), "state");
}

static void teardown(void)
{
	nf_test_rmtree(root);
}

TestSuite(state, .init = setup, .fini = teardown);

static struct nf_state sample(const char *id, const char *cgroup)
{
	return (struct nf_state){
		.id = (char *)id,
		.cgroup = (char *)cgroup,
		.cgroup_id = 4242,
		.mode = "audit",
		.source = "annotation",
		.attached_at = "2026-01-02T03:04:05Z",
		.removable = true,
		.own_netns = false,
	};
}

static json_t *load_file(const char *name)
{
	char path[512];
	json_error_t jerr;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	cr_assert_not_null(doc, "%s is not JSON: %s at %d", path, jerr.text, jerr.position);
	return doc;
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "%s: %m", path);
	cr_assert_eq(nf_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* The file is one JSON document whose "policy" is the document as given. */
Test(state, policy_is_a_member_of_the_state_file)
{
	const char *policy = "{\"version\": 1,\n \"default\": \"deny\", \"rules\": []}\n";
	struct nf_state s = sample("web-1", "/sys/fs/cgroup/a");
	json_t *doc, *want;

	cr_assert_eq(nf_state_write(root, &s, policy, strlen(policy)), 0);
	doc = load_file("web-1.json");
	want = json_loads(policy, 0, NULL);
	cr_assert(json_equal(json_object_get(doc, "policy"), want), "policy member differs");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "cgroup")), "/sys/fs/cgroup/a");
	cr_assert_eq(json_integer_value(json_object_get(doc, "cgroup_id")), 4242);
	cr_assert(json_is_true(json_object_get(doc, "removable")));
	json_decref(want);
	json_decref(doc);
}

Test(state, round_trip)
{
	const char *policy = "{\"version\":1,\"default\":\"allow\",\"rules\":[]}";
	struct nf_state s = sample("web-1", "/sys/fs/cgroup/a");
	struct nf_state *got = NULL;
	char *text = NULL;
	size_t len = 0;

	cr_assert_eq(nf_state_write(root, &s, policy, strlen(policy)), 0);
	cr_assert_eq(nf_state_read(root, "web-1", &got), 0);
	cr_assert_str_eq(got->id, "web-1");
	cr_assert_str_eq(got->cgroup, "/sys/fs/cgroup/a");
	cr_assert_str_eq(got->mode, "audit");
	cr_assert_str_eq(got->source, "annotation");
	cr_assert_str_eq(got->attached_at, "2026-01-02T03:04:05Z");
	cr_assert_eq(got->cgroup_id, 4242);
	cr_assert(got->removable);
	cr_assert(!got->own_netns);
	nf_state_free(got);
	cr_assert_eq(nf_state_read_policy(root, "web-1", &text, &len), 0);
	cr_assert_eq(len, strlen(policy));
	cr_assert_str_eq(text, policy);
	free(text);
}

/*
 * Strings of the head that spell the policy member, a quote and backslashes included, and a
 * policy that names "policy" itself: the head is still read up to the real member only.
 */
Test(state, policy_member_spelled_inside_strings)
{
	const char *cgroup = "/sys/fs/cgroup/x\\\",\"policy\":{\"a\":\"b\"},\"y";
	const char *policy = "{\"version\":1,\"default\":\"deny\",\"rules\":[],"
			     "\"x\":{\"z\":1,\"policy\":\"},\\\"policy\\\":\"}}";
	struct nf_state s = sample("web-2", cgroup);
	struct nf_state *got = NULL;
	char *text = NULL;
	size_t len;
	json_t *doc;

	cr_assert_eq(nf_state_write(root, &s, policy, strlen(policy)), 0);
	doc = load_file("web-2.json");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "cgroup")), cgroup);
	json_decref(doc);
	cr_assert_eq(nf_state_read(root, "web-2", &got), 0);
	cr_assert_str_eq(got->cgroup, cgroup);
	nf_state_free(got);
	cr_assert_eq(nf_state_read_policy(root, "web-2", &text, &len), 0);
	cr_assert_str_eq(text, policy);
	free(text);
}

/* The head is read without the policy: a policy past what a reader would accept, or cut short,
 * leaves gc and detach able to read the rest. */
Test(state, head_read_without_the_policy)
{
	struct nf_state *got = NULL;
	char *text = NULL;
	size_t len;

	write_file("cut.json",
		   "{\"id\":\"cut\",\"cgroup\":\"/c\",\"cgroup_id\":7,\"mode\":\"enforce\","
		   "\"source\":\"file\",\"attached_at\":\"t\",\"removable\":false,"
		   "\"own_netns\":true,\"policy\":{\"version\":1,\"rul");
	cr_assert_eq(nf_state_read(root, "cut", &got), 0);
	cr_assert_str_eq(got->cgroup, "/c");
	cr_assert_eq(got->cgroup_id, 7);
	cr_assert(got->own_netns);
	nf_state_free(got);
	cr_assert_eq(nf_state_read_policy(root, "cut", &text, &len), -ENOENT);
}

/* A large policy: the head is found past the first read, and the policy comes back whole. */
Test(state, large_policy)
{
	size_t n = 900 * 1024, len = 0;
	char *policy = malloc(n + 64), *text = NULL;
	struct nf_state s = sample("big", "/sys/fs/cgroup/big");
	struct nf_state *got = NULL;
	size_t o = 0;

	cr_assert_not_null(policy);
	o += (size_t)sprintf(policy, "{\"version\":1,\"default\":\"deny\",\"pad\":\"");
	memset(policy + o, 'p', n);
	o += n;
	o += (size_t)sprintf(policy + o, "\",\"rules\":[]}");
	cr_assert_eq(nf_state_write(root, &s, policy, o), 0);
	cr_assert_eq(nf_state_read(root, "big", &got), 0);
	cr_assert_str_eq(got->cgroup, "/sys/fs/cgroup/big");
	nf_state_free(got);
	cr_assert_eq(nf_state_read_policy(root, "big", &text, &len), 0);
	cr_assert_eq(len, o);
	cr_assert_eq(memcmp(text, policy, o), 0);
	free(text);
	free(policy);
}

/* A long cgroup path puts the policy member past the first 4 KiB of the file. */
Test(state, long_head)
{
	char cgroup[4000] = "/sys/fs/cgroup/";
	const char *policy = "{\"version\":1,\"default\":\"deny\",\"rules\":[]}";
	struct nf_state *got = NULL;
	struct nf_state s;

	/* control bytes are written as \u00XX: six bytes each */
	memset(cgroup + strlen(cgroup), '\x01', sizeof(cgroup) - strlen(cgroup) - 1);
	s = sample("long", cgroup);
	cr_assert_eq(nf_state_write(root, &s, policy, strlen(policy)), 0);
	cr_assert_eq(nf_state_read(root, "long", &got), 0);
	cr_assert_str_eq(got->cgroup, cgroup);
	nf_state_free(got);
}

/* No policy: the file is the head alone, and says so. */
Test(state, without_policy)
{
	struct nf_state s = sample("bare", "/c");
	struct nf_state *got = NULL;
	char *text = NULL;
	size_t len;
	json_t *doc;

	cr_assert_eq(nf_state_write(root, &s, NULL, 0), 0);
	doc = load_file("bare.json");
	cr_assert_null(json_object_get(doc, "policy"));
	json_decref(doc);
	cr_assert_eq(nf_state_read(root, "bare", &got), 0);
	cr_assert_str_eq(got->cgroup, "/c");
	nf_state_free(got);
	cr_assert_eq(nf_state_read_policy(root, "bare", &text, &len), -ENOENT);
}

Test(state, remove_and_list)
{
	struct nf_state a = sample("a", "/a"), b = sample("b", "/b");
	char **ids = NULL, path[512];
	size_t n = 0;

	cr_assert_eq(nf_state_write(root, &a, "{}", 2), 0);
	cr_assert_eq(nf_state_write(root, &b, "{}", 2), 0);
	write_file("a.json.tmp", "{");
	cr_assert_eq(nf_state_ids(root, &ids, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ids[0], "a");
	cr_assert_str_eq(ids[1], "b");
	nf_strv_free(ids, n);
	cr_assert_eq(nf_state_remove(root, "a"), 0);
	snprintf(path, sizeof(path), "%s/a.json", root);
	cr_assert_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/a.json.tmp", root);
	cr_assert_eq(access(path, F_OK), -1, "temporary file left");
	cr_assert_eq(nf_state_remove(root, "a"), 0, "removing twice is success");
	cr_assert_eq(nf_state_ids(root, &ids, &n), 0);
	cr_assert_eq(n, 1);
	nf_strv_free(ids, n);
}

Test(state, kubernetes_names_beside_the_state)
{
	struct nf_state a = sample("k", "/k"), *got = NULL;
	struct nf_state_k8s k8s = { .pod = "web-0", .namespace = "shop\"\n", .container = NULL };
	char **ids = NULL, path[512];
	size_t n = 0;

	cr_assert_eq(nf_state_write(root, &a, "{}", 2), 0);
	cr_assert_eq(nf_state_read(root, "k", &got), 0);
	cr_expect_null(got->k8s.pod, "no names before they are written");
	nf_state_free(got);
	cr_assert_eq(nf_state_write_k8s(root, "k", &(struct nf_state_k8s){}), 0);
	snprintf(path, sizeof(path), "%s/k.meta", root);
	cr_expect_eq(access(path, F_OK), -1, "a file for no names");
	cr_assert_eq(nf_state_write_k8s(root, "k", &k8s), 0);
	cr_assert_eq(nf_state_read(root, "k", &got), 0);
	cr_expect_str_eq(got->k8s.pod, "web-0");
	cr_expect_str_eq(got->k8s.namespace, "shop\"\n");
	cr_expect_null(got->k8s.container);
	cr_expect(!got->unfenced);
	nf_state_free(got);
	/* not a state file: gc's listing does not see it */
	cr_assert_eq(nf_state_ids(root, &ids, &n), 0);
	cr_expect_eq(n, 1);
	nf_strv_free(ids, n);
	cr_assert_eq(nf_state_remove(root, "k"), 0);
	cr_expect_eq(access(path, F_OK), -1, "names left after remove");
}

Test(state, unfenced_record)
{
	struct nf_state s = {
		.id = "u",
		.cgroup = NULL,
		.mode = "unfenced",
		.source = NULL,
		.attached_at = "2026-01-02T03:04:05Z",
		.unfenced = true,
		.unfenced_reason = "cannot load the BPF programs",
		.k8s = { .pod = "db-0" },
	};
	struct nf_state *got = NULL;
	char **ids = NULL;
	size_t n = 0;

	cr_assert_eq(nf_state_write_unfenced(root, &s), 0);
	cr_assert_eq(nf_state_ids(root, &ids, &n), 0);
	cr_expect_eq(n, 0, "an unfenced record is not a state file (gc removes those)");
	nf_strv_free(ids, n);
	cr_assert_eq(nf_state_unfenced_ids(root, &ids, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ids[0], "u");
	nf_strv_free(ids, n);
	cr_assert_eq(nf_state_read(root, "u", &got), 0);
	cr_expect(got->unfenced);
	cr_expect_str_eq(got->unfenced_reason, "cannot load the BPF programs");
	cr_expect_str_eq(got->k8s.pod, "db-0");
	cr_expect_str_eq(got->cgroup, "");
	nf_state_free(got);
	cr_assert_eq(nf_state_remove(root, "u"), 0);
	cr_expect_eq(nf_state_read(root, "u", &got), -ENOENT);
}
