// SPDX-License-Identifier: Apache-2.0
/*
 * Tests for hook/json_writer.c, with jansson as the oracle: whatever the writer emits parses with
 * jansson to the values written, and where jansson can write the same value, the bytes are the
 * ones its JSON_COMPACT writes (what list, show and doctor printed through jansson).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <jansson.h>

#include "json_writer.h"

struct out {
	FILE *f;
	char *buf;
	size_t len;
	struct nf_jsonw w;
};

static void out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	cr_assert_not_null(o->f);
	o->w = (struct nf_jsonw)NF_JSONW_INIT(o->f);
}

/* The text written, for the caller to free(). */
static char *out_close(struct out *o)
{
	cr_assert_eq(fclose(o->f), 0);
	return o->buf;
}

/* {"s": s} through the writer, parsed back by jansson: the string value, and its length. */
static json_t *write_and_parse(const char *s, char **text)
{
	json_error_t e;
	struct out o;
	json_t *doc;

	out_open(&o);
	nf_jsonw_start_object(&o.w);
	nf_jsonw_string_field(&o.w, "s", s);
	nf_jsonw_end_object(&o.w);
	*text = out_close(&o);
	doc = json_loads(*text, JSON_REJECT_DUPLICATES, &e);
	cr_assert_not_null(doc, "jansson refuses %s: %s", *text, e.text);
	cr_assert(json_is_string(json_object_get(doc, "s")), "%s", *text);
	return doc;
}

Test(json_writer, valid_strings_parse_back_as_written)
{
	static const char *const cases[] = {
		"",
		"plain",
		"\"quoted\" and 'single'",
		"back\\slash\\\\ and \\\"",
		"a/b</script>",
		"\b\f\n\r\t",
		"\x01\x02\x03\x04\x05\x06\x07\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
		"\x1a"
		"\x1b\x1c\x1d\x1e\x1f",
		"del \x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", /* 2, 3 and 4 bytes */
		"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf", /* edges */
		"\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf", /* to U+10FFFF */
		"\\u0000 is text here",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		json_t *doc = write_and_parse(cases[i], &text);
		const json_t *v = json_object_get(doc, "s");

		cr_expect_eq(json_string_length(v), strlen(cases[i]), "case %zu: %s", i, text);
		cr_expect_str_eq(json_string_value(v), cases[i], "case %zu: %s", i, text);
		json_decref(doc);
		free(text);
	}
}

/* Each byte outside a valid UTF-8 sequence comes back as the code point of that byte. */
Test(json_writer, invalid_utf8_is_escaped_byte_by_byte)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "\xff", "\xc3\xbf" },
		{ "a\x80z", "a\xc2\x80z" },
		{ "\xc0\x80", "\xc3\x80\xc2\x80" },			    /* overlong NUL */
		{ "\xc1\xbf", "\xc3\x81\xc2\xbf" },			    /* overlong */
		{ "\xe0\x9f\xbf", "\xc3\xa0\xc2\x9f\xc2\xbf" },		    /* overlong, 3 bytes */
		{ "\xed\xa0\x80", "\xc3\xad\xc2\xa0\xc2\x80" },		    /* a surrogate */
		{ "\xf0\x8f\xbf\xbf", "\xc3\xb0\xc2\x8f\xc2\xbf\xc2\xbf" }, /* overlong, 4 bytes */
		{ "\xf4\x90\x80\x80", "\xc3\xb4\xc2\x90\xc2\x80\xc2\x80" }, /* past U+10FFFF */
		{ "\xf5\x80", "\xc3\xb5\xc2\x80" },
		{ "\xe2\x82", "\xc3\xa2\xc2\x82" },   /* cut at the end */
		{ "\xe2\x82x", "\xc3\xa2\xc2\x82x" }, /* cut short */
		{ "\xe2\x82\"", "\xc3\xa2\xc2\x82\"" },
		{ "\xff\xc3\xa9", "\xc3\xbf\xc3\xa9" }, /* a valid sequence right after */
		{ "\xc3\xa9\xa9", "\xc3\xa9\xc2\xa9" }, /* a continuation byte too many */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		json_t *doc = write_and_parse(cases[i].in, &text);

		cr_expect_str_eq(json_string_value(json_object_get(doc, "s")), cases[i].want,
				 "case %zu: %s", i, text);
		for (const char *p = text; *p; p++)
			cr_expect((unsigned char)*p < 0x80 || strchr(cases[i].want, *p),
				  "case %zu: raw byte 0x%02x in %s", i, (unsigned char)*p, text);
		json_decref(doc);
		free(text);
	}
}

/* Random bytes, weighted toward the ones that need care: always JSON, and the same string
 * whenever the input is valid UTF-8 (json_string() says whether it is). */
Test(json_writer, random_bytes_always_parse)
{
	static const unsigned char pick[] = { 'a',  '"',  '\\', '\n', 0x01, 0x1f, 0x7f, 0x80, 0xbf,
					      0xc2, 0xc3, 0xe0, 0xe2, 0xed, 0xf0, 0xf4, 0xff, '/' };
	unsigned int seed = 17;

	for (int round = 0; round < 5000; round++) {
		char in[33], *text;
		size_t len = (size_t)(rand_r(&seed) % 32);
		json_t *doc, *ref;

		for (size_t i = 0; i < len; i++)
			in[i] = (char)(rand_r(&seed) % 3 ? pick[rand_r(&seed) % sizeof(pick)]
							 : 1 + rand_r(&seed) % 255);
		in[len] = '\0';
		doc = write_and_parse(in, &text);
		ref = json_string(in);
		if (ref)
			cr_assert_str_eq(json_string_value(json_object_get(doc, "s")), in, "%s",
					 text);
		json_decref(ref);
		json_decref(doc);
		free(text);
	}
}

/* A show-like object, through the writer and through jansson: the same bytes. */
Test(json_writer, compact_as_jansson_writes_it)
{
	json_t *ref =
		json_pack("{s:s, s:s, s:b, s:I, s:{s:I, s:I}, s:n, s:[s, s, i, b, n, {}, []], s:s}",
			  "id", "c1", "cgroup", "/sys/fs/cgroup/a \"b\"\\c\n\x01\x1f\x7f",
			  "attached", 1, "cgroup_id", (json_int_t)INT64_MAX, "counters", "allowed",
			  (json_int_t)0, "denied", (json_int_t)12345678901234, "pod", "list",
			  "caf\xc3\xa9", "", -7, 0, "k\"e\\y\t", "\xf0\x9f\x90\xa7");
	char *want = json_dumps(ref, JSON_COMPACT), *got;
	struct out o;

	cr_assert_not_null(want);
	out_open(&o);
	nf_jsonw_start_object(&o.w);
	nf_jsonw_string_field(&o.w, "id", "c1");
	nf_jsonw_string_field(&o.w, "cgroup", "/sys/fs/cgroup/a \"b\"\\c\n\x01\x1f\x7f");
	nf_jsonw_bool_field(&o.w, "attached", true);
	nf_jsonw_uint_field(&o.w, "cgroup_id", INT64_MAX);
	nf_jsonw_name(&o.w, "counters");
	nf_jsonw_start_object(&o.w);
	nf_jsonw_uint_field(&o.w, "allowed", 0);
	nf_jsonw_int_field(&o.w, "denied", 12345678901234);
	nf_jsonw_end_object(&o.w);
	nf_jsonw_string_field(&o.w, "pod", NULL);
	nf_jsonw_name(&o.w, "list");
	nf_jsonw_start_array(&o.w);
	nf_jsonw_string(&o.w, "caf\xc3\xa9");
	nf_jsonw_string(&o.w, "");
	nf_jsonw_int(&o.w, -7);
	nf_jsonw_bool(&o.w, false);
	nf_jsonw_null(&o.w);
	nf_jsonw_start_object(&o.w);
	nf_jsonw_end_object(&o.w);
	nf_jsonw_start_array(&o.w);
	nf_jsonw_end_array(&o.w);
	nf_jsonw_end_array(&o.w);
	nf_jsonw_string_field(&o.w, "k\"e\\y\t", "\xf0\x9f\x90\xa7");
	nf_jsonw_end_object(&o.w);
	got = out_close(&o);
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	json_decref(ref);
}

Test(json_writer, integers_at_their_limits)
{
	struct out o;
	char *got;

	out_open(&o);
	nf_jsonw_start_array(&o.w);
	nf_jsonw_uint(&o.w, UINT64_MAX);
	nf_jsonw_int(&o.w, INT64_MIN);
	nf_jsonw_int(&o.w, INT64_MAX);
	nf_jsonw_end_array(&o.w);
	got = out_close(&o);
	/* jansson holds integers in a long long: the first is past what it reads. */
	cr_expect_str_eq(got, "[18446744073709551615,-9223372036854775808,9223372036854775807]");
	free(got);
}

/* Values one after the other, each ended by a line: JSON lines, as monitor prints them. */
Test(json_writer, lines)
{
	struct out o;
	char *got;

	out_open(&o);
	for (int i = 0; i < 3; i++) {
		nf_jsonw_start_object(&o.w);
		nf_jsonw_int_field(&o.w, "n", i);
		nf_jsonw_end_object(&o.w);
		nf_jsonw_end_line(&o.w);
	}
	nf_jsonw_start_array(&o.w);
	nf_jsonw_end_array(&o.w);
	nf_jsonw_end_line(&o.w);
	got = out_close(&o);
	cr_expect_str_eq(got, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n[]\n");
	free(got);
}

/* A document netfence keeps (a fence's policy in show): every valid policy fixture comes out as
 * jansson writes it, and parses back to the same value. */
Test(json_writer, jansson_values_as_jansson_writes_them)
{
	const char *dir = TEST_DATA "/policies/valid";
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		char path[4096], *want, *got;
		json_t *doc, *back;
		struct out o;

		if (!strstr(de->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		doc = json_load_file(path, 0, NULL);
		if (!doc)
			continue;
		out_open(&o);
		nf_jsonw_json(&o.w, doc);
		got = out_close(&o);
		want = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
		cr_expect_str_eq(got, want, "%s", de->d_name);
		back = json_loads(got, 0, NULL);
		cr_expect(json_equal(back, doc), "%s", de->d_name);
		json_decref(back);
		json_decref(doc);
		free(got);
		free(want);
		n++;
	}
	closedir(d);
	cr_assert_gt(n, 5);
}

Test(json_writer, reals_as_jansson_writes_them)
{
	json_t *doc = json_pack("[f, f, f]", 0.5, 1e300, 3.0);
	char *want = json_dumps(doc, JSON_COMPACT), *got;
	struct out o;

	out_open(&o);
	nf_jsonw_json(&o.w, doc);
	got = out_close(&o);
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	json_decref(doc);
}
