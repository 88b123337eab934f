/* check_json_in.c: the strict JSON edge (proto/json_in.c): every class of
 * text it refuses (not an object, single quotes, raw control bytes, lone
 * surrogates and \u0000 under the JWT rules, truncation, nesting, bad
 * escapes and syntax, trailing data), what it rewrites (lone surrogates
 * in values become NUL, keys stay), and the typed getters (missing,
 * wrong type, out of range, over-long, optional, null as absent). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "json_in.h"

static const struct json_in_rules chat_rules = { 16, false, false };
static const struct json_in_rules api_rules = { 32, true, false };
static const struct json_in_rules jwt_rules = { 32, true, true };

enum which { CHAT, API, JWT };

static const struct json_in_rules *
rules_of(enum which w)
{
	return w == CHAT ? &chat_rules : w == API ? &api_rules : &jwt_rules;
}

static const struct refusal {
	enum which		 w;
	const char		*text;
	enum json_in_reason	 reason;
} refusals[] = {
	{ CHAT, "", JSON_IN_NOT_OBJECT },
	{ CHAT, "   \n", JSON_IN_NOT_OBJECT },
	{ CHAT, "[1]", JSON_IN_NOT_OBJECT },
	{ CHAT, "\"a\"", JSON_IN_NOT_OBJECT },
	{ API, "42", JSON_IN_NOT_OBJECT },
	{ CHAT, "{'a':1}", JSON_IN_SINGLE_QUOTE },
	{ API, "{\"a\":'b'}", JSON_IN_SINGLE_QUOTE },
	{ CHAT, "{\"a\":\"x\ty\"}", JSON_IN_CONTROL },
	{ CHAT, "{\"a\":\"x\ny\"}", JSON_IN_CONTROL },
	{ API, "{\"a\x01\":1}", JSON_IN_CONTROL },
	{ JWT, "{\"a\":\"\x1f\"}", JSON_IN_CONTROL },
	{ JWT, "{\"a\":\"\\ud800\"}", JSON_IN_ESCAPE },		/* high */
	{ JWT, "{\"a\":\"\\udc00\"}", JSON_IN_ESCAPE },		/* low */
	{ JWT, "{\"a\":\"\\ud800x\"}", JSON_IN_ESCAPE },
	{ JWT, "{\"a\":\"\\ud800\\u0041\"}", JSON_IN_ESCAPE },
	{ JWT, "{\"a\":\"\\u0000\"}", JSON_IN_ESCAPE },
	{ JWT, "{\"\\udfff\":1}", JSON_IN_ESCAPE },		/* in a key */
	{ CHAT, "{\"a\":1", JSON_IN_TRUNCATED },
	{ CHAT, "{\"a\":\"b", JSON_IN_TRUNCATED },
	{ API, "{", JSON_IN_TRUNCATED },
	{ CHAT, "{\"a\":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", JSON_IN_DEPTH },
	{ CHAT, "{\"a\":\"\\x\"}", JSON_IN_SYNTAX },		/* bad escape */
	{ CHAT, "{\"a\":\"\\u12g4\"}", JSON_IN_SYNTAX },
	{ CHAT, "{\"a\":01}", JSON_IN_SYNTAX },
	{ CHAT, "{\"a\":1,}", JSON_IN_SYNTAX },
	{ CHAT, "{a:1}", JSON_IN_SYNTAX },
	{ API, "{\"a\":\"\xff\"}", JSON_IN_SYNTAX },		/* not UTF-8 */
	/* json-c's strict mode refuses most trailing data itself ... */
	{ CHAT, "{} x", JSON_IN_SYNTAX },
	{ CHAT, "{}{}", JSON_IN_SYNTAX },
	{ API, "{\"a\":1} 2", JSON_IN_SYNTAX },
};

/* ... but stops quietly at a NUL byte: the edge catches what follows. */
START_TEST(test_trailing_after_nul)
{
	struct json_in_error e;
	json_object *obj;

	ck_assert_int_eq(json_in_parse("{}\0x", 4, &chat_rules, &obj, &e), -1);
	ck_assert_int_eq(e.je_reason, JSON_IN_TRAILING);
	ck_assert_int_eq(json_in_parse("{} \0", 4, &api_rules, &obj, &e), -1);
	ck_assert_int_eq(e.je_reason, JSON_IN_TRAILING);
}
END_TEST

START_TEST(test_refusals)
{
	const struct refusal *r = &refusals[_i];
	struct json_in_error e;
	json_object *obj = (json_object *)1;

	ck_assert_msg(json_in_parse(r->text, strlen(r->text), rules_of(r->w),
	    &obj, &e) == -1, "accepted: %s", r->text);
	ck_assert_ptr_null(obj);
	ck_assert_msg(e.je_reason == r->reason, "%s: reason %d, want %d (%s)",
	    r->text, e.je_reason, r->reason, e.je_why);
	ck_assert_str_ne(e.je_why, "");
}
END_TEST

START_TEST(test_reason_texts)
{
	struct json_in_error e;
	json_object *obj;

	ck_assert_int_eq(json_in_parse("{\"a\":1", 6, &chat_rules, &obj, &e),
	    -1);
	ck_assert_str_eq(e.je_why, "truncated JSON");
	ck_assert_int_eq(json_in_parse("{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}",
	    37, &chat_rules, &obj, &e), -1);
	ck_assert_str_eq(e.je_why, "JSON nested more than 16 levels deep");
	ck_assert_str_eq(json_in_reason(JSON_IN_SINGLE_QUOTE),
	    "strings must use double quotes");
	ck_assert_str_eq(json_in_reason(JSON_IN_CONTROL),
	    "control character inside a string");
	ck_assert_str_eq(json_in_reason(JSON_IN_TRAILING),
	    "data after the JSON object");
	for (int r = JSON_IN_OK + 1; r <= JSON_IN_NOMEM; r++)
		ck_assert_str_ne(json_in_reason((enum json_in_reason)r), "");
}
END_TEST

static const char *const accepted[] = {
	"{}",
	"  {\"a\":1}  \n",
	"{\"a\":\"\\ud83d\\ude00\"}",		/* a pair */
	"{\"a\":\"it's\"}",			/* a quote inside a string */
	"{\"a\":\"\\\"'\\\\\"}",
	"{\"a\":{\"b\":[1,2,{\"c\":null}]}}",
	"{\"a\":1,\"a\":2}",			/* duplicate: last wins */
	"{\"a\":NaN}",			/* json-c takes it even strict */
};

START_TEST(test_accepted)
{
	struct json_in_error e;
	json_object *obj = NULL;
	const char *t = accepted[_i];

	ck_assert_msg(json_in_parse(t, strlen(t), &api_rules, &obj, &e) == 0,
	    "%s: %s", t, e.je_why);
	ck_assert(json_object_is_type(obj, json_type_object));
	json_object_put(obj);
	ck_assert_msg(json_in_parse(t, strlen(t), &jwt_rules, &obj, &e) == 0,
	    "%s: %s", t, e.je_why);
	json_object_put(obj);
}
END_TEST

START_TEST(test_duplicate_last_wins)
{
	struct json_in_error e;
	json_object *obj;
	int64_t v = 0;

	ck_assert_int_eq(json_in_parse("{\"a\":1,\"a\":2}", 13, &chat_rules,
	    &obj, &e), 0);
	ck_assert_int_eq(json_in_int64(obj, "a", true, 0, 9, &v), JSON_IN_GOT);
	ck_assert_int_eq(v, 2);
	json_object_put(obj);
}
END_TEST

/* A lone surrogate in a value becomes NUL (every string field refuses
 * it); one in a key is left to misspell the key; the caller's text is
 * never written. */
START_TEST(test_lone_rewritten)
{
	static const char *const lone[] = {
		"{\"a\":\"x\\ud800\"}",		/* high at the end */
		"{\"a\":\"x\\ud800y\"}",	/* high, then a plain char */
		"{\"a\":\"x\\udc00\"}",		/* low alone */
		"{\"a\":\"x\\ud800\\ud800\\udc00\"}", /* high, then a pair */
	};
	char text[64];
	struct json_in_error e;
	json_object *obj, *v;

	for (size_t i = 0; i < sizeof(lone) / sizeof(lone[0]); i++) {
		snprintf(text, sizeof(text), "%s", lone[i]);
		ck_assert_int_eq(json_in_parse(text, strlen(text), &chat_rules,
		    &obj, &e), 0);
		ck_assert_str_eq(text, lone[i]);
		ck_assert(json_object_object_get_ex(obj, "a", &v));
		ck_assert_uint_ne(strlen(json_object_get_string(v)),
		    (size_t)json_object_get_string_len(v));
		json_object_put(obj);
	}
	ck_assert_int_eq(json_in_parse("{\"k\\ud800\":1}", 13, &chat_rules,
	    &obj, &e), 0);
	ck_assert(!json_object_object_get_ex(obj, "k", NULL));
	ck_assert_int_eq(json_object_object_length(obj), 1);
	json_object_put(obj);
}
END_TEST

START_TEST(test_getters)
{
	static const char text[] = "{\"s\":\"abc\",\"n\":null,\"i\":7,"
	    "\"f\":1.0,\"q\":\"1\",\"b\":true,\"big\":18446744073709551615,"
	    "\"neg\":-5,\"nul\":\"a\\u0000b\"}";
	struct json_in_error e;
	json_object *obj;
	const char *s;
	size_t len;
	int64_t i = 42;
	bool b = false, present;

	ck_assert_int_eq(json_in_parse(text, strlen(text), &chat_rules, &obj,
	    &e), 0);
	/* strings: max length, type, null as absent, NUL kept in length */
	ck_assert_int_eq(json_in_string(obj, "s", true, 3, &s, &len),
	    JSON_IN_GOT);
	ck_assert_str_eq(s, "abc");
	ck_assert_int_eq(json_in_string(obj, "s", true, 2, &s, &len),
	    JSON_IN_OUT_OF_RANGE);
	ck_assert_int_eq(json_in_string(obj, "i", true, 9, &s, &len),
	    JSON_IN_WRONG_TYPE);
	ck_assert_int_eq(json_in_string(obj, "n", false, 9, &s, &len),
	    JSON_IN_ABSENT);
	ck_assert_int_eq(json_in_string(obj, "n", true, 9, &s, &len),
	    JSON_IN_MISSING);
	ck_assert_int_eq(json_in_string(obj, "zz", true, 9, &s, &len),
	    JSON_IN_MISSING);
	ck_assert_int_eq(json_in_string(obj, "nul", true, 9, &s, &len),
	    JSON_IN_GOT);
	ck_assert_uint_eq(len, 3);
	/* integers: range, not a float, a string or a bool; uint64 */
	ck_assert_int_eq(json_in_int64(obj, "i", true, 0, 7, &i), JSON_IN_GOT);
	ck_assert_int_eq(i, 7);
	ck_assert_int_eq(json_in_int64(obj, "i", true, 8, 9, &i),
	    JSON_IN_OUT_OF_RANGE);
	ck_assert_int_eq(json_in_int64(obj, "neg", true, 0, INT64_MAX, &i),
	    JSON_IN_OUT_OF_RANGE);
	ck_assert_int_eq(json_in_int64(obj, "big", true, 0, INT64_MAX, &i),
	    JSON_IN_OUT_OF_RANGE);
	ck_assert_int_eq(json_in_int64(obj, "f", true, 0, 9, &i),
	    JSON_IN_WRONG_TYPE);
	ck_assert_int_eq(json_in_int64(obj, "q", true, 0, 9, &i),
	    JSON_IN_WRONG_TYPE);
	ck_assert_int_eq(json_in_int64(obj, "b", true, 0, 9, &i),
	    JSON_IN_WRONG_TYPE);
	i = 42;
	ck_assert_int_eq(json_in_int64(obj, "n", false, 0, 9, &i),
	    JSON_IN_ABSENT);
	ck_assert_int_eq(i, 42);
	/* booleans */
	ck_assert_int_eq(json_in_bool(obj, "b", true, &b), JSON_IN_GOT);
	ck_assert(b);
	ck_assert_int_eq(json_in_bool(obj, "i", true, &b), JSON_IN_WRONG_TYPE);
	ck_assert_int_eq(json_in_bool(obj, "zz", true, &b), JSON_IN_MISSING);
	ck_assert_int_eq(json_in_bool(obj, "zz", false, &b), JSON_IN_ABSENT);
	/* present tells null from absent */
	ck_assert_ptr_null(json_in_field(obj, "n", &present));
	ck_assert(present);
	ck_assert_ptr_null(json_in_field(obj, "zz", &present));
	ck_assert(!present);
	ck_assert_str_eq(json_in_get_why(JSON_IN_MISSING), "is required");
	ck_assert_str_ne(json_in_get_why(JSON_IN_WRONG_TYPE), "");
	ck_assert_str_ne(json_in_get_why(JSON_IN_OUT_OF_RANGE), "");
	json_object_put(obj);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("json_in");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_refusals, 0,
	    sizeof(refusals) / sizeof(refusals[0]));
	tcase_add_test(tc, test_trailing_after_nul);
	tcase_add_test(tc, test_reason_texts);
	tcase_add_loop_test(tc, test_accepted, 0,
	    sizeof(accepted) / sizeof(accepted[0]));
	tcase_add_test(tc, test_duplicate_last_wins);
	tcase_add_test(tc, test_lone_rewritten);
	suite_add_tcase(s, tc);

	tc = tcase_create("getters");
	tcase_add_test(tc, test_getters);
	suite_add_tcase(s, tc);
	return s;
}
