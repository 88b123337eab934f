/* check_envelope.c: the client envelope and error objects
 * (proto/envelope.c): every error code has its wire spelling, and the
 * envelopes render byte for byte as the worker and broker sent them
 * before they shared this builder. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "envelope.h"

static const char *const wire[PERR_MAX] = {
	[PERR_PARSE_ERROR] = "PARSE_ERROR",
	[PERR_VALIDATION_ERROR] = "VALIDATION_ERROR",
	[PERR_UNKNOWN_TYPE] = "UNKNOWN_TYPE",
	[PERR_NOT_AUTHENTICATED] = "NOT_AUTHENTICATED",
	[PERR_INVALID_TOKEN] = "INVALID_TOKEN",
	[PERR_FORBIDDEN] = "FORBIDDEN",
	[PERR_NOT_IN_ROOM] = "NOT_IN_ROOM",
	[PERR_NOT_FOUND] = "NOT_FOUND",
	[PERR_RATE_LIMIT] = "RATE_LIMIT",
	[PERR_UNAVAILABLE] = "UNAVAILABLE",
	[PERR_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[PERR_LIMIT_EXCEEDED] = "LIMIT_EXCEEDED",
	[PERR_TOO_EXPENSIVE] = "TOO_EXPENSIVE",
};

static const char *const api_wire[PERR_API_MAX] = {
	[PERR_API_BAD_REQUEST] = "bad_request",
	[PERR_API_UNAUTHORIZED] = "unauthorized",
	[PERR_API_LIMIT_EXCEEDED] = "limit_exceeded",
	[PERR_API_NOT_FOUND] = "not_found",
	[PERR_API_METHOD_NOT_ALLOWED] = "method_not_allowed",
	[PERR_API_UNAVAILABLE] = "unavailable",
};

START_TEST(test_every_code_spelled)
{
	ck_assert_ptr_nonnull(wire[_i]);
	ck_assert_str_eq(perr_wire((enum perr)_i), wire[_i]);
}
END_TEST

START_TEST(test_every_api_code_spelled)
{
	ck_assert_ptr_nonnull(api_wire[_i]);
	ck_assert_str_eq(perr_api_wire((enum perr_api)_i), api_wire[_i]);
}
END_TEST

START_TEST(test_out_of_range)
{
	ck_assert_str_eq(perr_wire(PERR_MAX), "INTERNAL_ERROR");
	ck_assert_str_eq(perr_wire((enum perr)-1), "INTERNAL_ERROR");
	ck_assert_str_eq(perr_api_wire(PERR_API_MAX), "unavailable");
}
END_TEST

/* Serialise and release o, compare with want. */
static void
expect(json_object *o, const char *want)
{
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
	    ENVELOPE_JSON_FLAGS), want);
	json_object_put(o);
}

START_TEST(test_envelopes)
{
	expect(envelope_new("pong", NULL), "{\"type\":\"pong\"}");
	expect(envelope_new("pong", ""), "{\"type\":\"pong\"}");
	expect(envelope_new("pong", "1"), "{\"type\":\"pong\",\"id\":1}");
	expect(envelope_new("pong", "\"a/b\""),
	    "{\"type\":\"pong\",\"id\":\"a/b\"}");
	expect(envelope_new("pong", "-9223372036854775807"),
	    "{\"type\":\"pong\",\"id\":-9223372036854775807}");
	expect(envelope_error("12", PERR_VALIDATION_ERROR, "text",
	    "text must be 1 to 4000 characters"),
	    "{\"type\":\"error\",\"id\":12,\"code\":\"VALIDATION_ERROR\","
	    "\"message\":\"text must be 1 to 4000 characters\","
	    "\"field\":\"text\"}");
	expect(envelope_error(NULL, PERR_INVALID_TOKEN, NULL,
	    "invalid token: token expired"),
	    "{\"type\":\"error\",\"code\":\"INVALID_TOKEN\","
	    "\"message\":\"invalid token: token expired\"}");
	expect(envelope_error("\"x\"", PERR_PARSE_ERROR, NULL, NULL),
	    "{\"type\":\"error\",\"id\":\"x\",\"code\":\"PARSE_ERROR\","
	    "\"message\":\"\"}");
	expect(envelope_api_error(PERR_API_BAD_REQUEST, "room",
	    "room is required"),
	    "{\"error\":\"bad_request\",\"field\":\"room\","
	    "\"message\":\"room is required\"}");
	expect(envelope_api_error(PERR_API_NOT_FOUND, NULL, "no such path"),
	    "{\"error\":\"not_found\",\"message\":\"no such path\"}");
}
END_TEST

/* Extra members follow the error's own, as reply.c adds them. */
START_TEST(test_extra_members_last)
{
	json_object *o = envelope_error("7", PERR_RATE_LIMIT, NULL, "slow");

	json_object_object_add(o, "retry_after_ms", json_object_new_int64(50));
	expect(o, "{\"type\":\"error\",\"id\":7,\"code\":\"RATE_LIMIT\","
	    "\"message\":\"slow\",\"retry_after_ms\":50}");
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("envelope");
	TCase	*tc;

	tc = tcase_create("codes");
	tcase_add_loop_test(tc, test_every_code_spelled, 0, PERR_MAX);
	tcase_add_loop_test(tc, test_every_api_code_spelled, 0, PERR_API_MAX);
	tcase_add_test(tc, test_out_of_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, test_envelopes);
	tcase_add_test(tc, test_extra_members_last);
	suite_add_tcase(s, tc);
	return s;
}
