// SPDX-License-Identifier: Apache-2.0
/* Tests for hook/oci.c: the state on a hook's stdin and the bundle's config.json. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <criterion/criterion.h>
#include <jansson.h>

#include "oci.h"
#include "pins.h"
#include "state.h"
#include "tmpdir.h"

#define DATA		TEST_DATA "/oci/"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define SENTINEL_STATE	((struct nf_oci_state *)0x1)
#define SENTINEL_CONFIG ((struct nf_oci_config *)0x1)
#define ID_RULE                                                                                  \
	"([A-Za-z0-9][A-Za-z0-9_.+-]*, at most 246 bytes and 251 with each '.' and '_' counted " \
	"twice)"

static char *read_fixture(const char *name, size_t *ret_len)
{
	char path[PATH_MAX];
	size_t len = 0;
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", DATA, name);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %m", path);
	buf = malloc(1 << 20);
	cr_assert_not_null(buf);
	len = fread(buf, 1, 1 << 20, f);
	cr_assert(!ferror(f));
	fclose(f);
	*ret_len = len;
	return buf;
}

/* States as runtimes write them ------------------------------------------------------------ */

struct state_case {
	const char *file;
	const char *id, *status, *bundle;
	int pid;
	bool has_pid;
	size_t n_annotations;
	const char *key, *value; /* one annotation to look up */
};

#define PODMAN_ID "4c9a5e1b2f7d3a8e6c0b9d2f1e4a7c3b5d8e0f2a4c6b8d0e2f4a6c8b0d2e4f6a"
#define CRIO_ID	  "b1f2e3d4c5b6a7980102030405060708090a0b0c0d0e0f101112131415161718"
#define POLICY                                                                             \
	"{\"version\":1,\"mode\":\"enforce\",\"default\":\"deny\",\"rules\":[{\"action\":" \
	"\"allow\",\"cidr\":\"10.0.0.0/8\",\"protocol\":\"tcp\",\"ports\":[443]}]}"

static const struct state_case state_cases[] = {
	{ "state-runc-createRuntime.json", "web-1", "creating", "/run/netfence-demo/web-1", 31337,
	  true, 2, "io.netfence.policy", POLICY },
	{ "state-runc-poststop.json", "web-1", "stopped", "/run/netfence-demo/web-1", 0, false, 2,
	  "io.netfence.policy", POLICY },
	{ "state-crun-createRuntime.json", "web-1", "created", "/run/netfence-demo/web-1", 4242,
	  true, 1, "io.netfence.policy-name", "web-egress" },
	{ "state-crun-poststop.json", "web-1", "stopped", "/run/netfence-demo/web-1", 0, true, 1,
	  "io.netfence.policy-name", "web-egress" },
	{ "state-podman-prestart.json", PODMAN_ID, "created",
	  "/var/lib/containers/storage/overlay-containers/" PODMAN_ID "/userdata", 918273, true, 7,
	  "io.netfence.policy-name", "web-egress" },
	{ "state-crio-createRuntime.json", CRIO_ID, "creating",
	  "/run/containers/storage/overlay-containers/" CRIO_ID "/userdata", 55012, true, 6,
	  "io.kubernetes.cri-o.Annotations", "{\"io.netfence.policy-name\":\"web-egress\"}" },
};

Test(state, runtimes)
{
	for (const struct state_case *c = state_cases; c < state_cases + ARRAY_SIZE(state_cases);
	     c++) {
		struct nf_oci_state *s = NULL;
		char err[512] = "";
		size_t len;
		char *buf = read_fixture(c->file, &len);

		cr_assert_eq(nf_oci_state_parse(buf, len, &s, err, sizeof(err)), 0, "%s: %s",
			     c->file, err);
		cr_assert_str_eq(s->id, c->id, "%s", c->file);
		cr_assert_str_eq(s->status, c->status, "%s", c->file);
		cr_assert_str_eq(s->bundle, c->bundle, "%s", c->file);
		cr_assert_not_null(s->oci_version, "%s", c->file);
		cr_assert_eq(s->pid, c->pid, "%s", c->file);
		cr_assert_eq(s->has_pid, c->has_pid, "%s", c->file);
		cr_assert_eq(s->annotations.n, c->n_annotations, "%s", c->file);
		cr_assert_str_eq(nf_oci_annotation(s, c->key), c->value, "%s", c->file);
		cr_assert_null(nf_oci_annotation(s, "io.netfence.absent"), "%s", c->file);
		nf_oci_state_free(s);
		free(buf);
	}
}

struct doc_case {
	const char *doc;
	int ret;
	const char *msg; /* exact message; NULL for success */
};

#define BASE "\"id\":\"c1\",\"status\":\"creating\",\"bundle\":\"/b\""

static const struct doc_case state_docs[] = {
	/* Accepted. */
	{ "{" BASE "}", 0, NULL },
	{ "{" BASE ",\"pid\":0}", 0, NULL },
	{ "{" BASE ",\"pid\":2147483647}", 0, NULL },
	{ "{" BASE ",\"annotations\":null}", 0, NULL },
	{ "{" BASE ",\"annotations\":{}}", 0, NULL },
	{ "{" BASE ",\"ociVersion\":\"1.2.0\",\"runtimeExtra\":{\"a\":[1,{}]},\"x\":null}", 0,
	  NULL },
	{ " \n{" BASE "}\n\n", 0, NULL },
	/* Wrong types, field by field. */
	{ "{" BASE ",\"ociVersion\":1}", -EINVAL, "/ociVersion: 1 is not a string" },
	{ "{\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL, "/id: missing" },
	{ "{\"id\":5,\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
	  "/id: 5 is not a string" },
	{ "{\"id\":null,\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
	  "/id: null is not a string" },
	{ "{\"id\":\"c1\",\"bundle\":\"/b\"}", -EINVAL, "/status: missing" },
	{ "{\"id\":\"c1\",\"status\":[],\"bundle\":\"/b\"}", -EINVAL,
	  "/status: [] is not a string" },
	{ "{" BASE ",\"pid\":\"12\"}", -EINVAL, "/pid: \"12\" is not an integer" },
	{ "{" BASE ",\"pid\":1.5}", -EINVAL, "/pid: 1.5 is not an integer" },
	{ "{" BASE ",\"pid\":12.0}", -EINVAL, "/pid: 12.0 is not an integer" },
	{ "{" BASE ",\"pid\":1e3}", -EINVAL, "/pid: 1000.0 is not an integer" },
	{ "{" BASE ",\"pid\":true}", -EINVAL, "/pid: true is not an integer" },
	{ "{" BASE ",\"pid\":null}", -EINVAL, "/pid: null is not an integer" },
	{ "{" BASE ",\"pid\":-1}", -EINVAL, "/pid: -1 is out of range (0..2147483647)" },
	{ "{" BASE ",\"pid\":2147483648}", -EINVAL,
	  "/pid: 2147483648 is out of range (0..2147483647)" },
	{ "{\"id\":\"c1\",\"status\":\"creating\"}", -EINVAL, "/bundle: missing" },
	{ "{\"id\":\"c1\",\"status\":\"creating\",\"bundle\":{}}", -EINVAL,
	  "/bundle: {} is not a string" },
	{ "{" BASE ",\"annotations\":[]}", -EINVAL, "/annotations: [] is not an object" },
	{ "{" BASE ",\"annotations\":\"x\"}", -EINVAL, "/annotations: \"x\" is not an object" },
	{ "{" BASE ",\"annotations\":{\"ok\":\"1\",\"foo\":3}}", -EINVAL,
	  "/annotations/foo: 3 is not a string" },
	{ "{" BASE ",\"annotations\":{\"a/b~c\":null}}", -EINVAL,
	  "/annotations/a~1b~0c: null is not a string" },
	{ "{" BASE ",\"annotations\":{\"\\n\\u001b\":false}}", -EINVAL,
	  "/annotations/\\n\\x1b: false is not a string" },
	{ "{" BASE ",\"annotations\":{\"k\":[\"0123456789\",\"0123456789\",\"0123456789\","
	  "\"0123456789\",\"0123456789\"]}}",
	  -EINVAL,
	  "/annotations/k: [\"0123456789\",\"0123456789\",\"0123456789\",\"0123456789\","
	  "\"0123456789... is not a string" },
	{ "{" BASE ",\"annotations\":{\"k\":\"\\u00e9\\ud83d\\ude00\",\"l\":1}}", -EINVAL,
	  "/annotations/l: 1 is not a string" },
	{ "{\"id\":\"\\u00e9\",\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
	  "/id: '\\xc3\\xa9' is not a valid container id " ID_RULE },
	/* Not a state document. */
	{ "[]", -EINVAL, "document: [] is not an object" },
	{ "", -EINVAL, "invalid JSON at line 1, column 0: '[' or '{' expected near end of file" },
	{ "{\"id\":\"c1\"", -EINVAL,
	  "invalid JSON at line 1, column 10: '}' expected near end of file" },
	{ "{" BASE "} {}", -EINVAL,
	  "invalid JSON at line 1, column 47: end of file expected near '{'" },
	{ "{" BASE ",\"id\":\"c2\"}", -EINVAL,
	  "invalid JSON at line 1, column 49: duplicate object key near '\"id\"'" },
	{ "{\"id\":\"c1\\u0000x\",\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
	  "\\u0000 in a string at line 1, column 17" },
	{ "{\"id\":\"c1\xff\",\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
	  "invalid UTF-8 at line 1, column 9" },
	{ "{\"id\":\"c1\xc0\xaf\",\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
	  "invalid UTF-8 at line 1, column 9" },
	{ "{" BASE ",\"pid\":99999999999999999999}", -EINVAL,
	  "invalid JSON at line 1, column 71: too big integer near '99999999999999999999'" },
	{ "{" BASE ",\"pid\":NaN}", -EINVAL,
	  "invalid JSON at line 1, column 54: invalid token near 'NaN'" },
};

static void check_docs(const struct doc_case *cases, size_t n, bool state)
{
	for (const struct doc_case *c = cases; c < cases + n; c++) {
		char err[512] = "";
		int r;

		if (state) {
			struct nf_oci_state *s = SENTINEL_STATE;

			r = nf_oci_state_parse(c->doc, strlen(c->doc), &s, err, sizeof(err));
			cr_assert_eq(r, c->ret, "%s: got %d (%s), want %d", c->doc, r, err, c->ret);
			if (r == 0)
				nf_oci_state_free(s);
			else
				cr_assert_eq(s, SENTINEL_STATE, "%s: output written", c->doc);
		} else {
			struct nf_oci_config *cfg = SENTINEL_CONFIG;

			r = nf_oci_config_parse(c->doc, strlen(c->doc), &cfg, err, sizeof(err));
			cr_assert_eq(r, c->ret, "%s: got %d (%s), want %d", c->doc, r, err, c->ret);
			if (r == 0)
				nf_oci_config_free(cfg);
			else
				cr_assert_eq(cfg, SENTINEL_CONFIG, "%s: output written", c->doc);
		}
		if (c->msg)
			cr_assert_str_eq(err, c->msg, "%s", c->doc);
	}
}

Test(state, documents)
{
	check_docs(state_docs, ARRAY_SIZE(state_docs), true);
}

Test(state, nul_byte)
{
	static const char doc[] = "{\"id\":\"c1\",\"status\":\"creating\",\"bundle\":\"/b\"}\0";
	struct nf_oci_state *s = SENTINEL_STATE;
	char err[512];

	cr_assert_eq(nf_oci_state_parse(doc, sizeof(doc) - 1, &s, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "document holds a NUL byte at offset 45");
	cr_assert_eq(nf_oci_state_parse(doc, 7, &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(s, SENTINEL_STATE);
}

Test(state, not_nul_terminated)
{
	static const char doc[] =
		"{\"id\":\"c1\",\"status\":\"creating\",\"bundle\":\"/b\"}garbage";
	struct nf_oci_state *s = NULL;
	char err[512] = "";

	cr_assert_eq(nf_oci_state_parse(doc, sizeof(doc) - 1 - 7, &s, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(s->id, "c1");
	nf_oci_state_free(s);
}

/* Escapes in keys and values read as jansson reads them, in the order of the document. */
Test(state, escapes)
{
	static const char doc[] =
		"{\"\\u0069d\":\"c\\u0031\",\"status\":\"creating\",\"bundle\":\"\\/b\",\"pid\":7,"
		"\"annotations\":{\"k\\u00e9\":\"v\\n\\ud83d\\ude00\",\"io.netfence.policy\":"
		"\"{\\\"version\\\":1}\",\"z\":\"\"}}";
	struct nf_oci_state *s = NULL;
	char err[512] = "";

	cr_assert_eq(nf_oci_state_parse(doc, strlen(doc), &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(s->id, "c1");
	cr_assert_str_eq(s->bundle, "/b");
	cr_assert_eq(s->pid, 7);
	cr_assert(s->has_pid);
	cr_assert_null(s->oci_version);
	cr_assert_eq(s->annotations.n, 3);
	cr_assert_str_eq(s->annotations.v[0].key, "k\xc3\xa9");
	cr_assert_str_eq(s->annotations.v[0].value, "v\n\xf0\x9f\x98\x80");
	cr_assert_str_eq(s->annotations.v[1].value, "{\"version\":1}");
	cr_assert_str_eq(s->annotations.v[2].key, "z");
	cr_assert_str_eq(s->annotations.v[2].value, "");
	nf_oci_state_free(s);
}

/*
 * What a detach reads: id and status, checked as a full parse checks them; the other fields are
 * not read, but the document must still be JSON that jansson accepts.
 */
static const struct doc_case brief_docs[] = {
	{ "{\"id\":\"c1\",\"status\":\"stopped\"}", 0, NULL },
	{ "{\"id\":\"c1\",\"status\":\"stopped\",\"pid\":\"12\",\"bundle\":false,"
	  "\"annotations\":[],\"ociVersion\":1}",
	  0, NULL },
	{ "{\"status\":\"stopped\"}", -EINVAL, "/id: missing" },
	{ "{\"id\":5,\"status\":\"stopped\"}", -EINVAL, "/id: 5 is not a string" },
	{ "{\"id\":\"../x\",\"status\":\"stopped\"}", -EINVAL,
	  "/id: '../x' is not a valid container id " ID_RULE },
	{ "{\"id\":\"c1\"}", -EINVAL, "/status: missing" },
	{ "{\"id\":\"c1\",\"status\":null}", -EINVAL, "/status: null is not a string" },
	{ "[]", -EINVAL, "document: [] is not an object" },
	{ "{\"id\":\"c1\",\"status\":\"stopped\",\"annotations\":{\"a\":\"1\",\"a\":\"2\"}}",
	  -EINVAL, "invalid JSON at line 1, column 56: duplicate object key near '\"a\"'" },
	{ "{\"id\":\"c1\",\"status\":\"stopped\",\"annotations\":{\"p\":\"\\ud800\"}}", -EINVAL,
	  "invalid JSON at line 1, column 57: invalid Unicode '\\uD800' near '\"\\ud800\"'" },
	{ "{\"id\":\"c1\",\"status\":\"stopped\",\"x\":\"\xe0\x80\x80\"}", -EINVAL,
	  "invalid UTF-8 at line 1, column 35" },
	{ "{\"id\":\"c1\",\"status\":\"stopped\",\"x\":[1,]}", -EINVAL,
	  "invalid JSON at line 1, column 38: unexpected token near ']'" },
};

Test(state, brief)
{
	for (const struct doc_case *c = brief_docs; c < brief_docs + ARRAY_SIZE(brief_docs); c++) {
		struct nf_oci_state *s = SENTINEL_STATE;
		char err[512] = "";
		int r;

		r = nf_oci_state_parse_brief(c->doc, strlen(c->doc), &s, err, sizeof(err));
		cr_assert_eq(r, c->ret, "%s: got %d (%s), want %d", c->doc, r, err, c->ret);
		if (c->msg)
			cr_assert_str_eq(err, c->msg, "%s: got %s", c->doc, err);
		if (r < 0) {
			cr_assert_eq(s, SENTINEL_STATE, "%s: output written", c->doc);
			continue;
		}
		cr_assert_str_eq(s->id, "c1");
		cr_assert_str_eq(s->status, "stopped");
		cr_assert_null(s->bundle);
		cr_assert_eq(s->annotations.n, 0);
		nf_oci_state_free(s);
	}
}

/* A state document of exactly len bytes, padded with an unknown field. */
static char *state_of_size(size_t len)
{
	static const char head[] = "{" BASE ",\"pad\":\"";
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'x', len - (sizeof(head) - 1) - 2);
	memcpy(buf + len - 2, "\"}", 2);
	return buf;
}

Test(state, size_limit)
{
	struct nf_oci_state *s = NULL;
	char err[512] = "";
	char *buf = state_of_size(NF_OCI_STATE_MAX);

	cr_assert_eq(nf_oci_state_parse(buf, NF_OCI_STATE_MAX, &s, err, sizeof(err)), 0, "%s", err);
	nf_oci_state_free(s);
	free(buf);

	s = SENTINEL_STATE;
	buf = state_of_size(NF_OCI_STATE_MAX + 1);
	cr_assert_eq(nf_oci_state_parse(buf, NF_OCI_STATE_MAX + 1, &s, err, sizeof(err)), -EFBIG);
	cr_assert_str_eq(err, "document is 1048577 bytes, more than the 1048576 allowed");
	cr_assert_eq(s, SENTINEL_STATE);
	free(buf);
}

Test(state, error_buffer)
{
	struct nf_oci_state *s = SENTINEL_STATE;
	char err[12];

	cr_assert_eq(nf_oci_state_parse("[]", 2, &s, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "document: [");
	cr_assert_eq(nf_oci_state_parse("[]", 2, &s, NULL, 0), -EINVAL);
	cr_assert_eq(nf_oci_state_parse("[]", 2, &s, err, 0), -EINVAL);
	cr_assert_eq(s, SENTINEL_STATE);
}

/* Container ids ----------------------------------------------------------------------------- */

static const char *const good_ids[] = {
	"a", "0", "web-1", "A.b_c+d-e", "x..", "1.2.3", PODMAN_ID,
};

/* Hostile ids, with the way the message quotes them. */
static const struct {
	const char *id, *quoted;
} bad_ids[] = {
	{ "", "''" },
	{ ".", "'.'" },
	{ "..", "'..'" },
	{ "../x", "'../x'" },
	{ "a/b", "'a/b'" },
	{ "/etc", "'/etc'" },
	{ "-x", "'-x'" },
	{ "_x", "'_x'" },
	{ ".hidden", "'.hidden'" },
	{ "+x", "'+x'" },
	{ "a b", "'a b'" },
	{ "a\nb", "'a\\nb'" },
	{ "a\tb", "'a\\tb'" },
	{ "a\x1b[2Jb", "'a\\x1b[2Jb'" },
	{ "a'b", "'a\\'b'" },
	{ "a\\b", "'a\\\\b'" },
	{ "a:b", "'a:b'" },
	{ "a*", "'a*'" },
};

Test(id, valid)
{
	char long_id[NF_OCI_ID_MAX + 2];

	for (size_t i = 0; i < ARRAY_SIZE(good_ids); i++)
		cr_assert_eq(nf_oci_id_valid(good_ids[i]), 0, "'%s'", good_ids[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_ids); i++)
		cr_assert_eq(nf_oci_id_valid(bad_ids[i].id), -EINVAL, "%s", bad_ids[i].quoted);
	cr_assert_eq(nf_oci_id_valid(NULL), -EINVAL);

	memset(long_id, 'a', sizeof(long_id));
	long_id[NF_OCI_ID_MAX] = '\0';
	cr_assert_eq(nf_oci_id_valid(long_id), 0, "246 bytes");
	long_id[NF_OCI_ID_MAX] = 'a';
	long_id[NF_OCI_ID_MAX + 1] = '\0';
	cr_assert_eq(nf_oci_id_valid(long_id), -EINVAL, "247 bytes");
}

/* "a" and n times ch. */
static char *id_of(char ch, size_t n)
{
	char *id = malloc(n + 2);

	cr_assert_not_null(id);
	id[0] = 'a';
	memset(id + 1, ch, n);
	id[n + 1] = '\0';
	return id;
}

/* Every name the state and the pin store derive from id can be made in a real directory. */
static void assert_names_fit(const char *dir, const char *id)
{
	char path[8192], name[8192];
	int fd;

	for (enum nf_pins_slot slot = NF_PINS_CURRENT; slot <= NF_PINS_OLD; slot++) {
		cr_assert_eq(nf_pins_path(dir, id, slot, path, sizeof(path)), 0);
		cr_assert_eq(mkdir(path, 0700), 0, "mkdir %s: %m", path);
		cr_assert_eq(rmdir(path), 0);
	}
	snprintf(name, sizeof(name), "%s/%s%s", dir, id, NF_STATE_TMP_SUFFIX);
	fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "create %s: %m", name);
	close(fd);
	cr_assert_eq(unlink(name), 0);
}

/* Ids are bounded by the names derived from them: <id>.json.tmp, and the pin store's
 * <name>@new where '.' and '_' take two bytes. */
Test(id, bound_by_derived_names)
{
	static const char doubled[] = { '.', '_' };
	char dir[PATH_MAX];
	char *id;

	nf_test_mkdtemp(dir, sizeof(dir), "oci-id");
	/* the longest valid id: 246 bytes, of which 5 doubled (251 in the store) */
	id = id_of('b', NF_OCI_ID_MAX - 1);
	memcpy(id + 1, "_._._", 5);
	cr_assert_eq(strlen(id), 246);
	cr_assert_eq(nf_pins_name_len(id), 251);
	cr_assert_eq(nf_oci_id_valid(id), 0);
	assert_names_fit(dir, id);
	id[6] = '.';
	cr_assert_eq(nf_oci_id_valid(id), -EINVAL, "246 bytes, 252 in the store");
	free(id);
	id = id_of('b', NF_OCI_ID_MAX);
	cr_assert_eq(nf_oci_id_valid(id), -EINVAL, "247 bytes");
	free(id);

	for (size_t i = 0; i < ARRAY_SIZE(doubled); i++) {
		/* 126 bytes, 251 in the store: valid; one more doubled character is not */
		id = id_of(doubled[i], 125);
		cr_assert_eq(nf_oci_id_valid(id), 0, "'a' and 125 '%c'", doubled[i]);
		assert_names_fit(dir, id);
		free(id);
		id = id_of(doubled[i], 126);
		cr_assert_eq(nf_oci_id_valid(id), -EINVAL, "'a' and 126 '%c'", doubled[i]);
		free(id);
	}
	nf_test_rmtree(dir);
}

/* A state document with this id, built with jansson so that any byte can be put in it. */
static char *state_with_id(const char *id)
{
	json_t *doc = json_pack("{s:s, s:s, s:s}", "id", id, "status", "creating", "bundle", "/b");
	char *s;

	cr_assert_not_null(doc);
	s = json_dumps(doc, JSON_COMPACT);
	cr_assert_not_null(s);
	json_decref(doc);
	return s;
}

Test(id, hostile_ids_in_state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_ids); i++) {
		struct nf_oci_state *s = SENTINEL_STATE;
		char err[512], want[512];
		char *doc = state_with_id(bad_ids[i].id);

		snprintf(want, sizeof(want), "/id: %s is not a valid container id " ID_RULE,
			 bad_ids[i].quoted);
		cr_assert_eq(nf_oci_state_parse(doc, strlen(doc), &s, err, sizeof(err)), -EINVAL,
			     "%s", bad_ids[i].quoted);
		cr_assert_str_eq(err, want);
		cr_assert_eq(s, SENTINEL_STATE);
		free(doc);
	}
}

Test(id, long_ids_in_state)
{
	struct nf_oci_state *s = NULL;
	char err[512] = "", want[512], id[5001];
	char *doc;

	memset(id, 'a', NF_OCI_ID_MAX);
	id[NF_OCI_ID_MAX] = '\0';
	doc = state_with_id(id);
	cr_assert_eq(nf_oci_state_parse(doc, strlen(doc), &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(s->id), NF_OCI_ID_MAX);
	nf_oci_state_free(s);
	free(doc);

	/* 5000 bytes: refused, and the message shows the first 128 of them. */
	memset(id, 'a', 5000);
	id[5000] = '\0';
	doc = state_with_id(id);
	s = SENTINEL_STATE;
	cr_assert_eq(nf_oci_state_parse(doc, strlen(doc), &s, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "/id: '%.128s'... (5000 bytes) is not a valid container id " ID_RULE, id);
	cr_assert_str_eq(err, want);
	cr_assert_eq(s, SENTINEL_STATE);
	free(doc);
}

/* config.json ------------------------------------------------------------------------------ */

Test(config, runc_spec)
{
	struct nf_oci_config *c = NULL;
	char err[512] = "";
	size_t len;
	char *buf = read_fixture("config-runc-spec.json", &len);

	cr_assert_eq(nf_oci_config_parse(buf, len, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert(c->has_netns);
	cr_assert_null(c->netns_path);
	cr_assert(!c->has_userns);
	cr_assert_null(c->userns_path);
	cr_assert(c->has_capabilities);
	cr_assert_eq(c->n_caps, 12);
	cr_assert(nf_oci_config_has_cap(c, "CAP_KILL"));
	cr_assert(nf_oci_config_has_cap(c, "cap_net_bind_service"));
	cr_assert(!nf_oci_config_has_cap(c, "CAP_SYS_ADMIN"));
	cr_assert(!nf_oci_config_has_cap(c, "CAP_NET_ADMIN"));
	cr_assert(!nf_oci_config_has_cap(c, "CAP_BPF"));
	cr_assert_eq(c->annotations.n, 1);
	cr_assert_str_eq(nf_oci_annotations_get(&c->annotations, "io.netfence.policy-name"),
			 "web-egress");
	nf_oci_config_free(c);
	free(buf);
}

Test(config, podman_netns_userns)
{
	struct nf_oci_config *c = NULL;
	char err[512] = "";
	size_t len;
	char *buf = read_fixture("config-podman-netns-userns.json", &len);

	cr_assert_eq(nf_oci_config_parse(buf, len, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert(c->has_netns);
	cr_assert_str_eq(c->netns_path, "/run/netns/netns-3a1f2c4e-5b6d-7e8f-9012-3456789abcde");
	cr_assert(c->has_userns);
	cr_assert_null(c->userns_path);
	/* Only in the bounding set, but the container may still hold them. */
	cr_assert(nf_oci_config_has_cap(c, "CAP_SYS_ADMIN"));
	cr_assert(nf_oci_config_has_cap(c, "CAP_NET_ADMIN"));
	cr_assert(!nf_oci_config_has_cap(c, "CAP_BPF"));
	cr_assert_eq(c->annotations.n, 2);
	nf_oci_config_free(c);
	free(buf);
}

Test(config, host_network_unrestricted_caps)
{
	struct nf_oci_config *c = NULL;
	char err[512] = "";
	size_t len;
	char *buf = read_fixture("config-host-network-no-caps.json", &len);

	cr_assert_eq(nf_oci_config_parse(buf, len, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert(!c->has_netns);
	cr_assert(!c->has_userns);
	cr_assert(!c->has_capabilities);
	cr_assert(nf_oci_config_has_cap(c, "CAP_SYS_ADMIN"), "no capabilities object: any cap");
	cr_assert(nf_oci_config_has_cap(c, "CAP_BPF"));
	cr_assert_eq(c->annotations.n, 0);
	nf_oci_config_free(c);
	free(buf);
}

Test(config, minimal_and_null)
{
	static const char *const docs[] = {
		"{}",
		"{\"process\":null,\"linux\":null,\"annotations\":null}",
		"{\"process\":{\"capabilities\":null},\"linux\":{\"namespaces\":null}}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		struct nf_oci_config *c = NULL;
		char err[512] = "";

		cr_assert_eq(nf_oci_config_parse(docs[i], strlen(docs[i]), &c, err, sizeof(err)), 0,
			     "%s: %s", docs[i], err);
		cr_assert(!c->has_netns && !c->has_userns && !c->has_capabilities, "%s", docs[i]);
		cr_assert(nf_oci_config_has_cap(c, "CAP_SYS_ADMIN"), "%s", docs[i]);
		nf_oci_config_free(c);
	}
}

Test(config, capability_sets)
{
	static const char doc[] =
		"{\"process\":{\"capabilities\":{\"bounding\":[],\"effective\":"
		"null,\"inheritable\":[\"CAP_BPF\"],\"ambient\":[\"CAP_NET_ADMIN\"],"
		"\"unknownSet\":[1]}},\"linux\":{\"namespaces\":[{\"type\":\"network\","
		"\"path\":\"\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}]}}";
	struct nf_oci_config *c = NULL;
	char err[512] = "";

	cr_assert_eq(nf_oci_config_parse(doc, strlen(doc), &c, err, sizeof(err)), 0, "%s", err);
	cr_assert(c->has_capabilities);
	cr_assert_eq(c->n_caps, 2);
	cr_assert(nf_oci_config_has_cap(c, "CAP_BPF"));
	cr_assert(nf_oci_config_has_cap(c, "CAP_NET_ADMIN"));
	cr_assert(!nf_oci_config_has_cap(c, "CAP_SYS_ADMIN"));
	cr_assert(c->has_netns);
	cr_assert_null(c->netns_path, "\"\" is a new namespace");
	cr_assert(c->has_userns);
	cr_assert_str_eq(c->userns_path, "/proc/1/ns/user");
	nf_oci_config_free(c);
}

static const struct doc_case config_docs[] = {
	{ "{\"process\":\"x\"}", -EINVAL, "/process: \"x\" is not an object" },
	{ "{\"process\":{\"capabilities\":[]}}", -EINVAL,
	  "/process/capabilities: [] is not an object" },
	{ "{\"process\":{\"capabilities\":{\"bounding\":\"CAP_KILL\"}}}", -EINVAL,
	  "/process/capabilities/bounding: \"CAP_KILL\" is not an array" },
	{ "{\"process\":{\"capabilities\":{\"permitted\":{}}}}", -EINVAL,
	  "/process/capabilities/permitted: {} is not an array" },
	{ "{\"process\":{\"capabilities\":{\"effective\":[\"CAP_KILL\",3]}}}", -EINVAL,
	  "/process/capabilities/effective/1: 3 is not a string" },
	{ "{\"process\":{\"capabilities\":{\"ambient\":[null]}}}", -EINVAL,
	  "/process/capabilities/ambient/0: null is not a string" },
	{ "{\"linux\":1}", -EINVAL, "/linux: 1 is not an object" },
	{ "{\"linux\":{\"namespaces\":{}}}", -EINVAL, "/linux/namespaces: {} is not an array" },
	{ "{\"linux\":{\"namespaces\":[\"network\"]}}", -EINVAL,
	  "/linux/namespaces/0: \"network\" is not an object" },
	{ "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"path\":\"/x\"}]}}", -EINVAL,
	  "/linux/namespaces/1/type: missing" },
	{ "{\"linux\":{\"namespaces\":[{\"type\":3}]}}", -EINVAL,
	  "/linux/namespaces/0/type: 3 is not a string" },
	{ "{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":false}]}}", -EINVAL,
	  "/linux/namespaces/0/path: false is not a string" },
	{ "{\"linux\":{\"namespaces\":[{\"type\":\"time\",\"path\":7}]}}", -EINVAL,
	  "/linux/namespaces/0/path: 7 is not a string" },
	{ "{\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"pid\"},"
	  "{\"type\":\"network\",\"path\":\"/run/netns/x\"}]}}",
	  -EINVAL, "/linux/namespaces/2: second 'network' namespace" },
	{ "{\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"user\"}]}}", -EINVAL,
	  "/linux/namespaces/1: second 'user' namespace" },
	{ "{\"annotations\":{\"x\":1}}", -EINVAL, "/annotations/x: 1 is not a string" },
	{ "{\"annotations\":[]}", -EINVAL, "/annotations: [] is not an object" },
	{ "[1]", -EINVAL, "document: [1] is not an object" },
	{ "{\"a\":1,\"a\":1}", -EINVAL,
	  "invalid JSON at line 1, column 10: duplicate object key near '\"a\"'" },
	/* Other namespaces' entries and unknown fields are not netfence's business. */
	{ "{\"linux\":{\"namespaces\":[{\"type\":\"ipc\"},{\"type\":\"ipc\"},{\"type\":\"bogus\","
	  "\"x\":1}]},\"vm\":{}}",
	  0, NULL },
	{ "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}", -EINVAL,
	  "/linux/namespaces/1: second 'pid' namespace" },
};

Test(config, documents)
{
	check_docs(config_docs, ARRAY_SIZE(config_docs), false);
}

Test(config, size_limit)
{
	size_t len = NF_OCI_CONFIG_MAX + 1;
	struct nf_oci_config *c = SENTINEL_CONFIG;
	char err[512];
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	memset(buf, ' ', len);
	buf[1] = '{';
	buf[len - 1] = '}';
	cr_assert_eq(nf_oci_config_parse(buf, len, &c, err, sizeof(err)), -EFBIG);
	cr_assert_str_eq(err, "document is 4194305 bytes, more than the 4194304 allowed");
	cr_assert_eq(c, SENTINEL_CONFIG);
	cr_assert_eq(nf_oci_config_parse(buf + 1, len - 1, &c, err, sizeof(err)), 0, "%s", err);
	nf_oci_config_free(c);
	free(buf);
}

/* nf_oci_config_load on a temporary bundle -------------------------------------------------- */

static char bundle[64]; /* "/tmp/netfence-test-oci-XXXXXX" */

static void setup_bundle(void)
{
	nf_test_mkdtemp(bundle, sizeof(bundle), "oci");
}

static void teardown_bundle(void)
{
	nf_test_rmtree(bundle);
}

static void write_config(const char *content, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	f = fopen(path, "we");
	cr_assert_not_null(f, "%s: %m", path);
	cr_assert_eq(fwrite(content, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

TestSuite(load, .init = setup_bundle, .fini = teardown_bundle);

Test(load, ok)
{
	struct nf_oci_config *c = NULL;
	char err[512] = "";
	size_t len;
	char *buf = read_fixture("config-podman-netns-userns.json", &len);

	write_config(buf, len);
	free(buf);
	cr_assert_eq(nf_oci_config_load(bundle, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert(c->has_userns);
	nf_oci_config_free(c);
}

Test(load, errors)
{
	struct nf_oci_config *c = SENTINEL_CONFIG;
	char err[512], want[512], path[PATH_MAX];
	size_t len = NF_OCI_CONFIG_MAX + 1;
	char *big;

	cr_assert_eq(nf_oci_config_load("run/b", &c, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "bundle 'run/b': not an absolute path");
	cr_assert_eq(nf_oci_config_load("", &c, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "bundle '': not an absolute path");

	cr_assert_eq(nf_oci_config_load(bundle, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want),
		 "bundle '%s': cannot read config.json: No such file or directory", bundle);
	cr_assert_str_eq(err, want);

	write_config("{\"linux\":1}", 11);
	cr_assert_eq(nf_oci_config_load(bundle, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "bundle '%s': config.json: /linux: 1 is not an object",
		 bundle);
	cr_assert_str_eq(err, want);

	big = malloc(len);
	cr_assert_not_null(big);
	memset(big, ' ', len);
	write_config(big, len);
	free(big);
	cr_assert_eq(nf_oci_config_load(bundle, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "bundle '%s': config.json is more than 4194304 bytes", bundle);
	cr_assert_str_eq(err, want);

	/* A FIFO must be refused, not block the hook. */
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo: %m");
	cr_assert_eq(nf_oci_config_load(bundle, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "bundle '%s': config.json is not a regular file", bundle);
	cr_assert_str_eq(err, want);

	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(nf_oci_config_load(bundle, &c, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "bundle '%s': cannot read config.json: Is a directory",
		 bundle);
	cr_assert_str_eq(err, want);

	cr_assert_eq(c, SENTINEL_CONFIG);
}

/* config.json: the scanner's way against jansson's ------------------------------------------- */

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void expect_same_config(const struct nf_oci_config *a, const struct nf_oci_config *b,
			       const char *what)
{
	cr_assert_eq(a->annotations.n, b->annotations.n, "%s: annotations", what);
	for (size_t i = 0; i < a->annotations.n; i++)
		cr_assert(same_str(a->annotations.v[i].key, b->annotations.v[i].key) &&
				  same_str(a->annotations.v[i].value, b->annotations.v[i].value),
			  "%s: annotation %zu", what, i);
	cr_assert(a->has_capabilities == b->has_capabilities && a->n_caps == b->n_caps,
		  "%s: capabilities", what);
	for (size_t i = 0; i < a->n_caps; i++)
		cr_assert(same_str(a->caps[i], b->caps[i]), "%s: capability %zu", what, i);
	cr_assert(a->has_netns == b->has_netns && same_str(a->netns_path, b->netns_path) &&
			  a->has_userns == b->has_userns &&
			  same_str(a->userns_path, b->userns_path) &&
			  a->has_cgroupns == b->has_cgroupns &&
			  same_str(a->cgroupns_path, b->cgroupns_path) &&
			  a->has_pidns == b->has_pidns && same_str(a->pidns_path, b->pidns_path),
		  "%s: namespaces", what);
	cr_assert_eq(a->n_mounts, b->n_mounts, "%s: mounts", what);
	for (size_t i = 0; i < a->n_mounts; i++)
		cr_assert(same_str(a->mounts[i].type, b->mounts[i].type) &&
				  same_str(a->mounts[i].source, b->mounts[i].source) &&
				  a->mounts[i].rbind == b->mounts[i].rbind &&
				  a->mounts[i].ro == b->mounts[i].ro &&
				  a->mounts[i].rro == b->mounts[i].rro,
			  "%s: mount %zu", what, i);
}

/* nf_oci_config_parse() answers what jansson's way answers, message and result. */
static bool config_cross_check(const char *buf, size_t len)
{
	struct nf_oci_config *cj = NULL, *c = NULL;
	char errj[512] = "", err[512] = "", shown[80];
	int rj, r;

	snprintf(shown, sizeof(shown), "%.*s", (int)(len < 60 ? len : 60), buf);
	rj = nf_oci_config_parse_jansson(buf, len, &cj, errj, sizeof(errj));
	r = nf_oci_config_parse(buf, len, &c, err, sizeof(err));
	cr_assert_eq(r, rj, "%s: %d, jansson %d (%s)", shown, r, rj, errj);
	cr_assert_str_eq(err, errj, "%s", shown);
	if (r == 0)
		expect_same_config(c, cj, shown);
	nf_oci_config_free(cj);
	nf_oci_config_free(c);
	return r == 0;
}

Test(config, scanner_fixtures)
{
	static const char *const fixtures[] = { "config-host-network-no-caps.json",
						"config-podman-netns-userns.json",
						"config-runc-spec.json" };
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		char *buf = read_fixture(fixtures[i], &len);

		cr_assert(config_cross_check(buf, len), "%s", fixtures[i]);
		free(buf);
	}
	for (size_t i = 0; i < ARRAY_SIZE(config_docs); i++)
		config_cross_check(config_docs[i].doc, strlen(config_docs[i].doc));
}

/* Every fixture, cut and with bytes changed at random, a few thousand times. */
Test(config, scanner_mutations)
{
	static const char *const fixtures[] = { "config-host-network-no-caps.json",
						"config-podman-netns-userns.json",
						"config-runc-spec.json" };
	static const char bytes[] = "{}[]\",:\\ 0-.tnul\x80\x00/";
	unsigned int seed = 1125;
	size_t valid = 0, total = 0;

	for (size_t f = 0; f < ARRAY_SIZE(fixtures); f++) {
		size_t len;
		char *orig = read_fixture(fixtures[f], &len), *buf = malloc(len + 1);

		cr_assert_not_null(buf);
		for (int i = 0; i < 1500; i++) {
			size_t n = len, at;

			memcpy(buf, orig, len);
			for (int m = rand_r(&seed) % 3; m >= 0; m--) {
				at = (size_t)rand_r(&seed) % n;
				if (rand_r(&seed) % 8 == 0)
					n = at + 1; /* cut */
				else
					buf[at] =
						bytes[(size_t)rand_r(&seed) % (sizeof(bytes) - 1)];
			}
			valid += config_cross_check(buf, n);
			total++;
		}
		free(buf);
		free(orig);
	}
	cr_expect_gt(valid, total / 20, "%zu of %zu valid", valid, total);
	cr_expect_lt(valid, total * 19 / 20, "%zu of %zu valid", valid, total);
}

/* A runc config.json with a large policy annotation, mounts with options, and odd spellings. */
Test(config, scanner_documents)
{
	static const char *const docs[] = {
		"{\"annotations\":{\"io.netfence.policy\":\"{\\\"version\\\":1}\",\"b\":\"\"},"
		"\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/h\","
		"\"options\":[\"ro\",\"rbind\"]},{}],\"process\":{\"capabilities\":"
		"{\"bounding\":[\"CAP_KILL\"],\"ambient\":null,\"effective\":[]}},\"linux\":"
		"{\"namespaces\":[{\"type\":\"network\",\"path\":\"\"},{\"type\":\"u\\u0073er\","
		"\"path\":\"/proc/1/ns/user\"}]}}",
		"{\"mounts\":[{\"options\":[\"rbind\",1]}]}",
		"{\"mounts\":[{\"options\":[\"ro\",\"rw\",\"rro\"]},{\"options\":[\"r\\u006f\"]},"
		"{\"options\":[\"rw\",\"ro\",\"rrw\"]}],\"linux\":{\"namespaces\":[{\"type\":"
		"\"cgroup\"},{\"type\":\"cgroup\",\"path\":\"/x\"}]}}",
		"{\"linux\":{\"namespaces\":[{\"type\":\"cgroup\",\"path\":\"/proc/1/ns/"
		"cgroup\"}]}}",
		"{\"mounts\":[{\"options\":null,\"type\":\"t\\u00e9\"}],\"process\":null,\"linux\":"
		"null}",
		"{\"mounts\":null,\"process\":{\"capabilities\":null},\"linux\":{\"namespaces\":"
		"null}}",
		"{\"mounts\":{}}",
		"{\"mounts\":[1]}",
		"{\"mounts\":[{\"source\":7}]}",
		"{\"process\":{\"capabilities\":{}}}",
		"{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/a\",\"path\":\"/"
		"b\"}]}}",
		"{\"annotations\":null}",
		"[]",
	};

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++)
		config_cross_check(docs[i], strlen(docs[i]));
	cr_assert(config_cross_check(docs[0], strlen(docs[0])));
}

/* Mount options: the last of ro/rw and of rro/rrw wins; a cgroup namespace is noted. */
Test(config, mount_options_and_cgroupns)
{
	static const char doc[] =
		"{\"mounts\":[{\"options\":[\"ro\",\"rw\"]},{\"options\":[\"rw\",\"ro\"]},"
		"{\"options\":[\"rro\",\"rbind\"]},{\"options\":[\"rro\",\"rrw\"]}],"
		"\"linux\":{\"namespaces\":[{\"type\":\"cgroup\",\"path\":\"/proc/1/ns/"
		"cgroup\"}]}}";
	struct nf_oci_config *c = NULL;
	char err[512];

	cr_assert_eq(nf_oci_config_parse(doc, strlen(doc), &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->n_mounts, 4);
	cr_expect(!c->mounts[0].ro && c->mounts[1].ro && !c->mounts[0].rro);
	cr_expect(c->mounts[2].rro && c->mounts[2].rbind && !c->mounts[2].ro);
	cr_expect(!c->mounts[3].rro);
	cr_expect(c->has_cgroupns);
	cr_expect_str_eq(c->cgroupns_path, "/proc/1/ns/cgroup");
	nf_oci_config_free(c);
}
