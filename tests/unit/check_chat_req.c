/* check_chat_req.c: client JSON -> typed requests (worker/chat_req.c) and
 * their IPC codec (proto/chat.c). */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "chat.h"
#include "chat_req.h"
#include "ipc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define DESC_SIZE	(256 * 1024)

static void __attribute__((format(printf, 3, 4)))
app(char *buf, size_t cap, const char *fmt, ...)
{
	size_t	len = strlen(buf);
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/*
 * One line per request, only its kind's fields, in CHAT_F_* order; an
 * absent optional field shows "~" before its (default) value.
 */
static void
describe(const struct chat_req *r, char *buf, size_t cap)
{
	const struct chat_req_info *ri = chat_req_lookup(r->cr_kind);
	uint32_t	f;

	buf[0] = '\0';
	ck_assert_ptr_nonnull(ri);
	f = ri->cri_fields;
	app(buf, cap, "%s id=%s", ri->cri_name, r->cr_id);
	if (f & CHAT_F_ROOM)
		app(buf, cap, " room=%s", r->cr_room);
	if (f & CHAT_F_TEXT)
		app(buf, cap, " text=%s", r->cr_text);
	if (f & CHAT_F_CMID)
		app(buf, cap, " cmid=%s%s", r->cr_has_cmid ? "" : "~",
		    r->cr_cmid);
	if (f & CHAT_F_SEQ)
		app(buf, cap, " seq=%" PRId64, r->cr_seq);
	if (f & CHAT_F_HISTORY)
		app(buf, cap, " history=%s%" PRId64,
		    r->cr_has_history ? "" : "~", r->cr_history);
	if (f & CHAT_F_SINCE)
		app(buf, cap, " since=%s%" PRId64,
		    r->cr_has_since ? "" : "~", r->cr_since);
	if (f & CHAT_F_EPOCH)
		app(buf, cap, " epoch=%s%s", r->cr_has_epoch ? "" : "~",
		    r->cr_epoch);
	if (f & CHAT_F_BEFORE)
		app(buf, cap, " before=%s%" PRId64,
		    r->cr_has_before ? "" : "~", r->cr_before);
	if (f & CHAT_F_LIMIT)
		app(buf, cap, " limit=%s%" PRId64,
		    r->cr_has_limit ? "" : "~", r->cr_limit);
	if (f & CHAT_F_ACTIVE)
		app(buf, cap, " active=%d", r->cr_active);
	if (f & CHAT_F_FORGET)
		app(buf, cap, " forget=%d", r->cr_forget);
	if (f & CHAT_F_EMOJI)
		app(buf, cap, " emoji=%s", r->cr_emoji);
	if (f & CHAT_F_Q)
		app(buf, cap, " q=%s", r->cr_q);
	if (f & CHAT_F_AFTER)
		app(buf, cap, " after=%s%" PRId64,
		    r->cr_has_after ? "" : "~", r->cr_after);
}

static char *
repeat(const char *unit, size_t n)
{
	size_t	ulen = strlen(unit), i;
	char	*s = malloc(ulen * n + 1);

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ulen, unit, ulen);
	s[ulen * n] = '\0';
	return s;
}

/* printf into a fresh string. */
static char * __attribute__((format(printf, 1, 2)))
xfmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&s, fmt, ap), -1);
	va_end(ap);
	return s;
}

static int
parse(const char *json, struct chat_parsed *p)
{
	return chat_req_parse(json, strlen(json), NULL, p);
}

/* Valid requests of every type. */

static const struct ok_case {
	const char	*json;
	const char	*want;
} ok_cases[] = {
	{ "{\"type\":\"join\",\"room\":\"general\"}",
	  "join id= room=general history=~50 since=~0 epoch=~" },
	{ "{\"type\":\"join\",\"id\":\"j1\",\"room\":\"a-Z_0.9:@x\",\"history\":0,"
	  "\"since\":17,\"epoch\":\"e-1\"}",
	  "join id=\"j1\" room=a-Z_0.9:@x history=0 since=17 epoch=e-1" },
	{ "{\"room\":\"user:alice\",\"history\":200,\"since\":0,\"epoch\":\"\","
	  "\"type\":\"join\",\"id\":7}",
	  "join id=7 room=user:alice history=200 since=0 epoch=" },
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":null,\"since\":null,"
	  "\"epoch\":null}",
	  "join id= room=r history=~50 since=~0 epoch=~" },
	{ "{\"type\":\"join\",\"room\":\"r\",\"since\":9223372036854775807}",
	  "join id= room=r history=~50 since=9223372036854775807 epoch=~" },
	{ "{\"type\":\"leave\",\"room\":\"r\"}", "leave id= room=r forget=0" },
	{ "{\"type\":\"leave\",\"room\":\"r\",\"forget\":true}",
	  "leave id= room=r forget=1" },
	{ "{\"type\":\"leave\",\"room\":\"r\",\"forget\":false,\"id\":-3}",
	  "leave id=-3 room=r forget=0" },
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":\"hi\"}",
	  "send id= room=r text=hi cmid=~" },
	{ "{\"type\":\"send\",\"id\":\"s/1\",\"room\":\"r\",\"text\":\"a\\tb\\nc "
	  "\\u00e9\\ud83d\\ude00\xe2\x82\xac\",\"client_msg_id\":\"c-1\"}",
	  "send id=\"s/1\" room=r text=a\tb\nc \xc3\xa9\xf0\x9f\x98\x80"
	  "\xe2\x82\xac cmid=c-1" },
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":\"\\u007f\\ufffd\","
	  "\"client_msg_id\":null}",
	  "send id= room=r text=\x7f\xef\xbf\xbd cmid=~" },
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":\"a\\\\ud800\"}",
	  "send id= room=r text=a\\ud800 cmid=~" },
	{ "{\"type\":\"history\",\"room\":\"r\"}",
	  "history id= room=r before=~0 limit=~50 after=~0" },
	{ "{\"type\":\"history\",\"room\":\"r\",\"before\":10,\"limit\":200}",
	  "history id= room=r before=10 limit=200 after=~0" },
	{ "{\"type\":\"history\",\"room\":\"r\",\"before\":1,\"limit\":1}",
	  "history id= room=r before=1 limit=1 after=~0" },
	{ "{\"type\":\"history\",\"room\":\"r\",\"after\":0,\"limit\":200}",
	  "history id= room=r before=~0 limit=200 after=0" },
	{ "{\"type\":\"history\",\"room\":\"r\",\"after\":118}",
	  "history id= room=r before=~0 limit=~50 after=118" },
	{ "{\"type\":\"typing\",\"room\":\"r\",\"active\":true}",
	  "typing id= room=r active=1" },
	{ "{\"type\":\"typing\",\"room\":\"r\",\"active\":false}",
	  "typing id= room=r active=0" },
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":0}",
	  "read id= room=r seq=0" },
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":5}",
	  "read id= room=r seq=5" },
	{ "{\"type\":\"edit\",\"room\":\"r\",\"seq\":1,\"text\":\"fixed\"}",
	  "edit id= room=r text=fixed seq=1" },
	{ "{\"type\":\"delete\",\"room\":\"r\",\"seq\":9223372036854775807}",
	  "delete id= room=r seq=9223372036854775807" },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":3,\"emoji\":\"\\ud83d\\udc4d\","
	  "\"active\":true}",
	  "react id= room=r seq=3 active=1 emoji=\xf0\x9f\x91\x8d" },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":3,\"emoji\":"
	  "\"12345678901234567890123456789012\",\"active\":false}",
	  "react id= room=r seq=3 active=0 "
	  "emoji=12345678901234567890123456789012" },
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"hello world\"}",
	  "search id= room=r before=~0 limit=~20 q=hello world" },
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"x\",\"limit\":100,"
	  "\"before\":42}",
	  "search id= room=r before=42 limit=100 q=x" },
	{ "{\"type\":\"presence\",\"room\":\"r\"}", "presence id= room=r" },
	{ "{\"type\":\"presence\",\"room\":\"r\",\"extra\":{\"a\":[1,2.5,null]},"
	  "\"x\":null,\"y\":\"\\ud800\",\"k\\udc00\":1}",
	  "presence id= room=r" },
	{ "{\"type\":\"rooms\"}", "rooms id=" },
	{ " \t\r\n{ \"type\" : \"rooms\" , \"id\" : \"\" } \n", "rooms id=\"\"" },
	{ "{\"type\":\"ping\",\"type\":\"rooms\"}", "rooms id=" },
};

START_TEST(test_ok)
{
	const struct ok_case *c = &ok_cases[_i];
	struct chat_parsed	 p;
	char			 got[1024];

	ck_assert_msg(parse(c->json, &p) == 0, "%s: %s", c->json, p.cp_msg);
	ck_assert_int_eq(p.cp_kind, CHAT_PARSED_REQ);
	ck_assert_int_eq(p.cp_err, CHAT_ERR_NONE);
	ck_assert_str_eq(p.cp_id, p.cp_req.cr_id);
	describe(&p.cp_req, got, sizeof(got));
	ck_assert_str_eq(got, c->want);
	chat_parsed_free(&p);
}
END_TEST

START_TEST(test_local_kinds)
{
	struct chat_parsed	p;
	char			*tok, *json;

	ck_assert_int_eq(parse("{\"type\":\"ping\",\"id\":\"p\"}", &p), 0);
	ck_assert_int_eq(p.cp_kind, CHAT_PARSED_PING);
	ck_assert_str_eq(p.cp_id, "\"p\"");
	chat_parsed_free(&p);

	ck_assert_int_eq(parse("{\"type\":\"auth\",\"token\":\"a.b.c\"}", &p), 0);
	ck_assert_int_eq(p.cp_kind, CHAT_PARSED_AUTH);
	ck_assert_str_eq(p.cp_token, "a.b.c");
	chat_parsed_free(&p);

	tok = repeat("x", CHAT_REQ_MAX_TOKEN);
	json = xfmt("{\"type\":\"refresh\",\"id\":1,\"token\":\"%s\"}", tok);
	ck_assert_int_eq(parse(json, &p), 0);
	ck_assert_int_eq(p.cp_kind, CHAT_PARSED_REFRESH);
	ck_assert_str_eq(p.cp_token, tok);
	ck_assert_str_eq(p.cp_id, "1");
	chat_parsed_free(&p);
	free(json);
	free(tok);
}
END_TEST

/* Invalid requests: code and field. */

static const struct bad_case {
	const char	*json;
	enum chat_err	 err;
	const char	*field;
	const char	*msg;	/* NULL: not checked */
} bad_cases[] = {
	/* envelope */
	{ "{\"room\":\"r\"}", CHAT_ERR_VALIDATION, "type",
	  "type must be a string" },
	{ "{\"type\":5}", CHAT_ERR_VALIDATION, "type", NULL },
	{ "{\"type\":null}", CHAT_ERR_VALIDATION, "type", NULL },
	{ "{\"type\":[\"join\"]}", CHAT_ERR_VALIDATION, "type", NULL },
	{ "{\"type\":\"nope\"}", CHAT_ERR_UNKNOWN_TYPE, NULL, NULL },
	{ "{\"type\":\"JOIN\",\"room\":\"r\"}", CHAT_ERR_UNKNOWN_TYPE, NULL, NULL },
	{ "{\"type\":\"\"}", CHAT_ERR_UNKNOWN_TYPE, NULL, NULL },
	{ "{\"type\":\"ping\\u0000x\"}", CHAT_ERR_UNKNOWN_TYPE, NULL, NULL },
	{ "{\"type\":\"error\"}", CHAT_ERR_UNKNOWN_TYPE, NULL, NULL },
	{ "{\"type\":5,\"id\":1.5}", CHAT_ERR_VALIDATION, "id", NULL },
	/* room */
	{ "{\"type\":\"join\"}", CHAT_ERR_VALIDATION, "room", "room is required" },
	{ "{\"type\":\"join\",\"room\":null}", CHAT_ERR_VALIDATION, "room", NULL },
	{ "{\"type\":\"join\",\"room\":\"\"}", CHAT_ERR_VALIDATION, "room",
	  "room must be 1 to 128 characters of A-Z, a-z, 0-9 and _ . : @ -" },
	{ "{\"type\":\"join\",\"room\":\"a b\"}", CHAT_ERR_VALIDATION, "room", NULL },
	{ "{\"type\":\"join\",\"room\":\"a/b\"}", CHAT_ERR_VALIDATION, "room", NULL },
	{ "{\"type\":\"join\",\"room\":\"a*\"}", CHAT_ERR_VALIDATION, "room", NULL },
	{ "{\"type\":\"join\",\"room\":\"\\u00e9\"}", CHAT_ERR_VALIDATION, "room",
	  NULL },
	{ "{\"type\":\"join\",\"room\":\"a\\u0000\"}", CHAT_ERR_VALIDATION, "room",
	  NULL },
	{ "{\"type\":\"join\",\"room\":5}", CHAT_ERR_VALIDATION, "room", NULL },
	{ "{\"type\":\"presence\"}", CHAT_ERR_VALIDATION, "room", NULL },
	{ "{\"type\":\"rooms\",\"room\":5}", CHAT_ERR_NONE, NULL, NULL },
	/* join */
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":201}",
	  CHAT_ERR_VALIDATION, "history",
	  "history must be an integer from 0 to 200" },
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":-1}",
	  CHAT_ERR_VALIDATION, "history", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":1.5}",
	  CHAT_ERR_VALIDATION, "history", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":50.0}",
	  CHAT_ERR_VALIDATION, "history", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":1e1}",
	  CHAT_ERR_VALIDATION, "history", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":\"5\"}",
	  CHAT_ERR_VALIDATION, "history", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"history\":true}",
	  CHAT_ERR_VALIDATION, "history", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"since\":-1}",
	  CHAT_ERR_VALIDATION, "since", "since must be an integer >= 0" },
	{ "{\"type\":\"join\",\"room\":\"r\",\"since\":1.0}",
	  CHAT_ERR_VALIDATION, "since", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"since\":9223372036854775808}",
	  CHAT_ERR_VALIDATION, "since", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"since\":-9223372036854775809}",
	  CHAT_ERR_VALIDATION, "since", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"since\":99999999999999999999999}",
	  CHAT_ERR_VALIDATION, "since", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"epoch\":5}",
	  CHAT_ERR_VALIDATION, "epoch", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"epoch\":\"a\\u0000\"}",
	  CHAT_ERR_VALIDATION, "epoch", NULL },
	{ "{\"type\":\"join\",\"room\":\"r\",\"epoch\":\"\\udfff\"}",
	  CHAT_ERR_VALIDATION, "epoch", NULL },
	/* leave */
	{ "{\"type\":\"leave\",\"room\":\"r\",\"forget\":\"yes\"}",
	  CHAT_ERR_VALIDATION, "forget", "forget must be true or false" },
	{ "{\"type\":\"leave\",\"room\":\"r\",\"forget\":1}",
	  CHAT_ERR_VALIDATION, "forget", NULL },
	/* send */
	{ "{\"type\":\"send\",\"room\":\"r\"}", CHAT_ERR_VALIDATION, "text",
	  "text is required" },
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":null}",
	  CHAT_ERR_VALIDATION, "text", NULL },
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":\"\"}", CHAT_ERR_VALIDATION,
	  "text", "text must be 1 to 4000 characters" },
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":5}", CHAT_ERR_VALIDATION,
	  "text", NULL },
	{ "{\"type\":\"send\",\"room\":\"x\",\"text\":\"hi\",\"client_msg_id\":\"\"}",
	  CHAT_ERR_VALIDATION, "client_msg_id",
	  "client_msg_id must be a string of 1 to 64 characters without NUL" },
	{ "{\"type\":\"send\",\"room\":\"x\",\"text\":\"hi\",\"client_msg_id\":5}",
	  CHAT_ERR_VALIDATION, "client_msg_id", NULL },
	{ "{\"type\":\"send\",\"room\":\"x\",\"text\":\"hi\",\"client_msg_id\":"
	  "\"\\ud800\"}", CHAT_ERR_VALIDATION, "client_msg_id", NULL },
	{ "{\"type\":\"send\",\"room\":\"bad room\",\"text\":\"\"}",
	  CHAT_ERR_VALIDATION, "room", NULL },
	/* history */
	{ "{\"type\":\"history\",\"room\":\"r\",\"limit\":0}", CHAT_ERR_VALIDATION,
	  "limit", "limit must be an integer from 1 to 200" },
	{ "{\"type\":\"history\",\"room\":\"r\",\"limit\":201}",
	  CHAT_ERR_VALIDATION, "limit", NULL },
	{ "{\"type\":\"history\",\"room\":\"r\",\"before\":0}",
	  CHAT_ERR_VALIDATION, "before", "before must be an integer >= 1" },
	{ "{\"type\":\"history\",\"room\":\"r\",\"before\":-5}",
	  CHAT_ERR_VALIDATION, "before", NULL },
	{ "{\"type\":\"history\",\"room\":\"r\",\"after\":-1}",
	  CHAT_ERR_VALIDATION, "after", "after must be an integer >= 0" },
	{ "{\"type\":\"history\",\"room\":\"r\",\"after\":\"1\"}",
	  CHAT_ERR_VALIDATION, "after", NULL },
	{ "{\"type\":\"history\",\"room\":\"r\",\"after\":1,\"before\":5}",
	  CHAT_ERR_VALIDATION, "after",
	  "after and before cannot be used together" },
	/* typing */
	{ "{\"type\":\"typing\",\"room\":\"r\"}", CHAT_ERR_VALIDATION, "active",
	  "active is required" },
	{ "{\"type\":\"typing\",\"room\":\"r\",\"active\":\"true\"}",
	  CHAT_ERR_VALIDATION, "active", NULL },
	{ "{\"type\":\"typing\",\"room\":\"r\",\"active\":1}",
	  CHAT_ERR_VALIDATION, "active", NULL },
	{ "{\"type\":\"typing\",\"room\":\"r\",\"active\":null}",
	  CHAT_ERR_VALIDATION, "active", NULL },
	/* read */
	{ "{\"type\":\"read\",\"room\":\"r\"}", CHAT_ERR_VALIDATION, "seq",
	  "seq is required" },
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":-1}", CHAT_ERR_VALIDATION,
	  "seq", "seq must be an integer >= 0" },
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":\"1\"}", CHAT_ERR_VALIDATION,
	  "seq", NULL },
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":1.0}", CHAT_ERR_VALIDATION,
	  "seq", NULL },
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":9223372036854775808}",
	  CHAT_ERR_VALIDATION, "seq", NULL },
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":18446744073709551615}",
	  CHAT_ERR_VALIDATION, "seq", NULL },
	/* edit, delete */
	{ "{\"type\":\"edit\",\"room\":\"r\",\"seq\":0,\"text\":\"x\"}",
	  CHAT_ERR_VALIDATION, "seq", "seq must be an integer >= 1" },
	{ "{\"type\":\"edit\",\"room\":\"r\",\"seq\":1}", CHAT_ERR_VALIDATION,
	  "text", NULL },
	{ "{\"type\":\"edit\",\"room\":\"r\",\"seq\":1,\"text\":\"a\\rb\"}",
	  CHAT_ERR_VALIDATION, "text", NULL },
	{ "{\"type\":\"delete\",\"room\":\"r\"}", CHAT_ERR_VALIDATION, "seq", NULL },
	{ "{\"type\":\"delete\",\"room\":\"r\",\"seq\":false}",
	  CHAT_ERR_VALIDATION, "seq", NULL },
	/* react */
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"active\":true}",
	  CHAT_ERR_VALIDATION, "emoji", "emoji is required" },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":\"\","
	  "\"active\":true}", CHAT_ERR_VALIDATION, "emoji",
	  "emoji must be 1 to 32 bytes of UTF-8 without control characters" },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":"
	  "\"123456789012345678901234567890123\",\"active\":true}",
	  CHAT_ERR_VALIDATION, "emoji", NULL },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":"
	  "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
	  "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9x\","
	  "\"active\":true}", CHAT_ERR_VALIDATION, "emoji", NULL },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":\"a\\n\","
	  "\"active\":true}", CHAT_ERR_VALIDATION, "emoji", NULL },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":\"\\ud83d\","
	  "\"active\":true}", CHAT_ERR_VALIDATION, "emoji", NULL },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":1,"
	  "\"active\":true}", CHAT_ERR_VALIDATION, "emoji", NULL },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":\"x\"}",
	  CHAT_ERR_VALIDATION, "active", NULL },
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":0,\"emoji\":\"x\","
	  "\"active\":true}", CHAT_ERR_VALIDATION, "seq", NULL },
	/* search */
	{ "{\"type\":\"search\",\"room\":\"r\"}", CHAT_ERR_VALIDATION, "q",
	  "q is required" },
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"\"}", CHAT_ERR_VALIDATION,
	  "q", "q must be 1 to 256 characters" },
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"x\",\"limit\":101}",
	  CHAT_ERR_VALIDATION, "limit", "limit must be an integer from 1 to 100" },
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"x\",\"limit\":0}",
	  CHAT_ERR_VALIDATION, "limit", NULL },
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"x\",\"before\":0}",
	  CHAT_ERR_VALIDATION, "before", NULL },
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"\\ud800x\"}",
	  CHAT_ERR_VALIDATION, "q", NULL },
	/* auth, refresh */
	{ "{\"type\":\"auth\"}", CHAT_ERR_VALIDATION, "token", "token is required" },
	{ "{\"type\":\"auth\",\"token\":\"\"}", CHAT_ERR_VALIDATION, "token",
	  "token must be a string of 1 to 8192 bytes" },
	{ "{\"type\":\"auth\",\"token\":5}", CHAT_ERR_VALIDATION, "token", NULL },
	{ "{\"type\":\"auth\",\"token\":\"a\\u0000b\"}", CHAT_ERR_VALIDATION,
	  "token", NULL },
	{ "{\"type\":\"refresh\",\"token\":null}", CHAT_ERR_VALIDATION, "token",
	  NULL },
};

static void
check_bad(const char *json, size_t len, const struct chat_limits *lim,
    enum chat_err err, const char *field, const char *msg)
{
	struct chat_parsed	p;
	int			rc;

	rc = chat_req_parse(json, len, lim, &p);
	if (err == CHAT_ERR_NONE) {
		ck_assert_msg(rc == 0, "%s: %s", json, p.cp_msg);
		chat_parsed_free(&p);
		return;
	}
	ck_assert_msg(rc == -1, "accepted: %s", json);
	ck_assert_int_eq(p.cp_kind, CHAT_PARSED_ERROR);
	ck_assert_msg(p.cp_err == err, "%s: got %s (%s)", json,
	    chat_req_errcode(p.cp_err), p.cp_msg);
	if (field == NULL)
		ck_assert_ptr_null(p.cp_field);
	else {
		ck_assert_ptr_nonnull(p.cp_field);
		ck_assert_str_eq(p.cp_field, field);
	}
	ck_assert_msg(p.cp_msg[0] != '\0', "no message");
	if (msg != NULL)
		ck_assert_str_eq(p.cp_msg, msg);
	chat_parsed_free(&p);
}

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];

	check_bad(c->json, strlen(c->json), NULL, c->err, c->field, c->msg);
}
END_TEST

START_TEST(test_long_fields)
{
	char	*s, *json;

	/* room: 128 ok, 129 refused */
	s = repeat("r", 128);
	json = xfmt("{\"type\":\"presence\",\"room\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_NONE, NULL, NULL);
	free(json);
	free(s);
	s = repeat("r", 129);
	json = xfmt("{\"type\":\"presence\",\"room\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION, "room", NULL);
	free(json);
	free(s);

	/* client_msg_id and epoch: 64 characters, not bytes */
	s = repeat("\xc3\xa9", 64);
	json = xfmt("{\"type\":\"send\",\"room\":\"r\",\"text\":\"x\","
	    "\"client_msg_id\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_NONE, NULL, NULL);
	free(json);
	json = xfmt("{\"type\":\"join\",\"room\":\"r\",\"epoch\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_NONE, NULL, NULL);
	free(json);
	free(s);
	s = repeat("c", 65);
	json = xfmt("{\"type\":\"send\",\"room\":\"r\",\"text\":\"x\","
	    "\"client_msg_id\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION,
	    "client_msg_id", NULL);
	free(json);
	json = xfmt("{\"type\":\"join\",\"room\":\"r\",\"epoch\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION, "epoch", NULL);
	free(json);
	free(s);

	/* q: 256 characters */
	s = repeat("\xe2\x82\xac", 256);
	json = xfmt("{\"type\":\"search\",\"room\":\"r\",\"q\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_NONE, NULL, NULL);
	free(json);
	free(s);
	s = repeat("q", 257);
	json = xfmt("{\"type\":\"search\",\"room\":\"r\",\"q\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION, "q", NULL);
	free(json);
	free(s);

	/* token: 8193 bytes */
	s = repeat("t", CHAT_REQ_MAX_TOKEN + 1);
	json = xfmt("{\"type\":\"auth\",\"token\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION, "token", NULL);
	free(json);
	free(s);
}
END_TEST

/* Not one JSON object. */

static const char *parse_cases[] = {
	"", "   ", "\n", "[]", "[1]", "42", "\"x\"", "null", "true",
	"{", "{\"type\":\"ping\"", "{\"type\":\"pi", "{\"type\":", "{\"type\"",
	"{\"type\":\"ping\"} x", "{\"type\":\"ping\"}{}", "{\"type\":\"ping\"},",
	"{\"type\":\"ping\"}]", "{\"type\":\"ping\",}", "{\"type\" \"ping\"}",
	"{'type':'ping'}", "{\"type\":'ping'}", "{type:\"ping\"}",
	"{\"type\":\"ping\",\"x\":\"a\tb\"}",
	"{\"type\":\"ping\",\"x\":\"a\nb\"}",
	"{\"type\":\"ping\",\"x\":01}", "{\"type\":\"ping\",\"x\":.5}",
	"{\"type\":\"ping\",\"x\":-}", "{\"type\":\"ping\",\"x\":tru}",
	"{\"type\":\"ping\",\"x\":\"\\q\"}", "{\"type\":\"ping\",\"x\":\"\\u12\"}",
	"\xef\xbb\xbf{\"type\":\"ping\"}",
};

START_TEST(test_parse_error)
{
	const char	*json = parse_cases[_i];

	check_bad(json, strlen(json), NULL, CHAT_ERR_PARSE, NULL, NULL);
}
END_TEST

START_TEST(test_parse_error_special)
{
	struct chat_limits	 lim;
	struct chat_parsed	 p;
	const char		 nul[] = "{\"type\":\"ping\"}\0";
	const char		 nul2[] = "{\"type\":\"ping\",\0\"id\":1}";
	char			*open, *close, *json;

	/* a raw NUL byte is no JSON */
	check_bad(nul, sizeof(nul) - 1, NULL, CHAT_ERR_PARSE, NULL, NULL);
	check_bad(nul2, sizeof(nul2) - 1, NULL, CHAT_ERR_PARSE, NULL, NULL);

	/* depth bomb: refused at the limit, without recursion */
	open = repeat("[", 10000);
	close = repeat("]", 10000);
	json = xfmt("{\"type\":\"ping\",\"a\":%s%s}", open, close);
	check_bad(json, strlen(json), NULL, CHAT_ERR_PARSE, NULL, NULL);
	ck_assert_int_eq(parse(json, &p), -1);
	ck_assert_str_eq(p.cp_msg, "JSON nested more than 16 levels deep");
	chat_parsed_free(&p);
	free(json);
	json = xfmt("%s%s", open, close);
	check_bad(json, strlen(json), NULL, CHAT_ERR_PARSE, NULL, NULL);
	free(json);
	free(open);
	free(close);
	open = repeat("{\"a\":", 10000);
	check_bad(open, strlen(open), NULL, CHAT_ERR_PARSE, NULL, NULL);
	free(open);

	/* modest nesting in an unknown field is fine */
	json = "{\"type\":\"ping\",\"a\":[[[[[[[[{\"b\":[1]}]]]]]]]]}";
	check_bad(json, strlen(json), NULL, CHAT_ERR_NONE, NULL, NULL);

	/* the byte limit */
	chat_limits_default(&lim);
	lim.cl_max_bytes = 15;
	json = "{\"type\":\"ping\"}";
	check_bad(json, strlen(json), &lim, CHAT_ERR_NONE, NULL, NULL);
	json = "{\"type\":\"ping\"} ";
	check_bad(json, strlen(json), &lim, CHAT_ERR_PARSE, NULL, NULL);

	/* a parse error carries no id */
	ck_assert_int_eq(parse("{\"id\":\"x\",\"type\":\"ping\"", &p), -1);
	ck_assert_str_eq(p.cp_id, "");
	ck_assert_str_eq(chat_req_errcode(p.cp_err), "PARSE_ERROR");
	chat_parsed_free(&p);
}
END_TEST

/* id: string of at most 64 characters, or an integer; echoed as JSON. */

static const struct id_case {
	const char	*id;	/* JSON text of the id field */
	const char	*echo;	/* NULL: VALIDATION_ERROR field id */
} id_cases[] = {
	{ "\"abc\"", "\"abc\"" },
	{ "\"\"", "\"\"" },
	{ "42", "42" },
	{ "0", "0" },
	{ "-0", "0" },
	{ "-7", "-7" },
	{ "9223372036854775807", "9223372036854775807" },
	{ "-9223372036854775807", "-9223372036854775807" },
	{ "18446744073709551614", "18446744073709551614" },
	{ "\"a/b\\\"c\\\\d\"", "\"a/b\\\"c\\\\d\"" },
	{ "\"\\u0041\\u00e9\"", "\"A\xc3\xa9\"" },
	{ "\"\\u0001\\n\"", "\"\\u0001\\n\"" },
	{ "\"\\u0000\"", "\"\\u0000\"" },
	/* a lone surrogate cannot be echoed as sent: it comes back as NUL */
	{ "\"\\ud800\"", "\"\\u0000\"" },
	{ "1.5", NULL },
	{ "1.0", NULL },
	{ "1e2", NULL },
	{ "true", NULL },
	{ "false", NULL },
	{ "null", NULL },
	{ "{}", NULL },
	{ "{\"a\":1}", NULL },
	{ "[]", NULL },
	{ "[1]", NULL },
	{ "-9223372036854775808", NULL },
	{ "-9223372036854775809", NULL },
	{ "18446744073709551616", NULL },
	{ "99999999999999999999999", NULL },
};

START_TEST(test_id)
{
	const struct id_case *c = &id_cases[_i];
	struct chat_parsed	 p;
	char			*json;
	int			 rc;

	json = xfmt("{\"type\":\"ping\",\"id\":%s}", c->id);
	rc = parse(json, &p);
	if (c->echo == NULL) {
		ck_assert_msg(rc == -1, "accepted id %s", c->id);
		ck_assert_int_eq(p.cp_err, CHAT_ERR_VALIDATION);
		ck_assert_str_eq(p.cp_field, "id");
		ck_assert_str_eq(p.cp_msg, "id must be a string of at most 64 "
		    "characters or an integer");
		ck_assert_str_eq(p.cp_id, "");
	} else {
		ck_assert_msg(rc == 0, "%s: %s", c->id, p.cp_msg);
		ck_assert_int_eq(p.cp_kind, CHAT_PARSED_PING);
		ck_assert_str_eq(p.cp_id, c->echo);
		ck_assert(chat_id_json_valid(p.cp_id, strlen(p.cp_id)));
	}
	chat_parsed_free(&p);
	free(json);
}
END_TEST

START_TEST(test_id_length)
{
	struct chat_parsed	 p;
	char			*s, *json, *want;

	/* 64 characters, multi-byte: fine; 65: refused */
	s = repeat("\xf0\x9f\x98\x80", 64);
	json = xfmt("{\"type\":\"ping\",\"id\":\"%s\"}", s);
	ck_assert_int_eq(parse(json, &p), 0);
	want = xfmt("\"%s\"", s);
	ck_assert_str_eq(p.cp_id, want);
	chat_parsed_free(&p);
	free(want);
	free(json);
	free(s);

	s = repeat("\\u001f", 64);	/* the longest echo: 6 bytes each */
	json = xfmt("{\"type\":\"ping\",\"id\":\"%s\"}", s);
	ck_assert_int_eq(parse(json, &p), 0);
	ck_assert_uint_eq(strlen(p.cp_id), CHAT_MAX_ID_JSON);
	chat_parsed_free(&p);
	free(json);
	free(s);

	s = repeat("i", 65);
	json = xfmt("{\"type\":\"ping\",\"id\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION, "id", NULL);
	free(json);
	free(s);
	s = repeat("\xc3\xa9", 65);
	json = xfmt("{\"type\":\"ping\",\"id\":\"%s\"}", s);
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION, "id", NULL);
	free(json);
	free(s);

	/* invalid UTF-8 cannot be echoed in a text frame */
	json = "{\"type\":\"ping\",\"id\":\"\xff\"}";
	check_bad(json, strlen(json), NULL, CHAT_ERR_VALIDATION, "id", NULL);
}
END_TEST

START_TEST(test_id_on_errors)
{
	static const char *jsons[] = {
		"{\"id\":\"x\",\"type\":\"join\"}",
		"{\"type\":\"nope\",\"id\":\"x\"}",
		"{\"id\":\"x\"}",
		"{\"id\":\"x\",\"type\":\"send\",\"room\":\"r\",\"text\":\"\\r\"}",
	};
	struct chat_parsed	p;
	size_t			i;

	for (i = 0; i < NELEM(jsons); i++) {
		ck_assert_int_eq(parse(jsons[i], &p), -1);
		ck_assert_str_eq(p.cp_id, "\"x\"");
		chat_parsed_free(&p);
	}
	ck_assert_int_eq(parse("{\"type\":\"rooms\"}", &p), 0);
	ck_assert_str_eq(p.cp_id, "");
	chat_parsed_free(&p);
}
END_TEST

/* text: 1..max_text code points, the control and surrogate rules. */

static const struct text_case {
	const char	*text;	/* JSON string body */
	const char	*want;	/* decoded; NULL: VALIDATION_ERROR text */
} text_cases[] = {
	{ "a\\tb\\nc", "a\tb\nc" },
	{ "\\ud83d\\ude00", "\xf0\x9f\x98\x80" },
	{ "\\uD83D\\uDE00", "\xf0\x9f\x98\x80" },
	{ "x\\ud83d\\ude00y", "x\xf0\x9f\x98\x80y" },
	{ "\\ufffd", "\xef\xbf\xbd" },
	{ "\xef\xbf\xbd", "\xef\xbf\xbd" },
	{ "\\u007f\xc2\x85", "\x7f\xc2\x85" },		/* DEL, C1: allowed */
	{ "\\\\ud800", "\\ud800" },			/* an escaped backslash */
	{ "\\\\\\ud83d\\ude00", "\\\xf0\x9f\x98\x80" },
	{ "\\r", NULL },
	{ "a\\r\\nb", NULL },
	{ "\\u0000", NULL },
	{ "a\\u0000b", NULL },
	{ "\\u0001", NULL },
	{ "\\u001f", NULL },
	{ "\\b", NULL },
	{ "\\f", NULL },
	{ "\\ud800", NULL },
	{ "\\udbff", NULL },
	{ "\\udc00", NULL },
	{ "\\udfff", NULL },
	{ "x\\ud800y", NULL },
	{ "\\ud800\\u0041", NULL },
	{ "\\ud800\\n", NULL },
	{ "\\ude00\\ud83d", NULL },
	{ "\\ud83d\\ud83d\\ude00", NULL },
	{ "\\ud83d\\ude00\\ude00", NULL },
	{ "\\ud800\\ud800", NULL },
	{ "ok\\ud83d", NULL },
	{ "\xff", NULL },				/* raw invalid UTF-8 */
	{ "\xc0\xaf", NULL },				/* overlong */
	{ "\xed\xa0\x80", NULL },			/* raw surrogate */
	{ "\xf4\x90\x80\x80", NULL },			/* above U+10FFFF */
};

START_TEST(test_text)
{
	const struct text_case *c = &text_cases[_i];
	static const char *fmts[] = {
		"{\"type\":\"send\",\"room\":\"r\",\"text\":\"%s\"}",
		"{\"type\":\"edit\",\"room\":\"r\",\"seq\":2,\"text\":\"%s\"}",
	};
	struct chat_parsed	 p;
	char			*json;
	size_t			 i;
	int			 rc;

	for (i = 0; i < NELEM(fmts); i++) {
		json = xfmt(fmts[i], c->text);
		rc = chat_req_parse(json, strlen(json), NULL, &p);
		if (c->want == NULL) {
			ck_assert_msg(rc == -1, "accepted %s", json);
			ck_assert_int_eq(p.cp_err, CHAT_ERR_VALIDATION);
			ck_assert_str_eq(p.cp_field, "text");
		} else {
			ck_assert_msg(rc == 0, "%s: %s", json, p.cp_msg);
			ck_assert_str_eq(p.cp_req.cr_text, c->want);
		}
		chat_parsed_free(&p);
		free(json);
	}
}
END_TEST

START_TEST(test_text_length)
{
	static const char *units[] = {
		"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\\ud83d\\ude00", "\\n",
	};
	struct chat_limits	 lim;
	struct chat_parsed	 p;
	char			*s, *json;
	size_t			 i;

	for (i = 0; i < NELEM(units); i++) {
		s = repeat(units[i], 4000);
		json = xfmt("{\"type\":\"send\",\"room\":\"r\",\"text\":\"%s\"}", s);
		ck_assert_msg(parse(json, &p) == 0, "%s: %s", units[i], p.cp_msg);
		chat_parsed_free(&p);
		free(json);
		free(s);

		s = repeat(units[i], 4001);
		json = xfmt("{\"type\":\"send\",\"room\":\"r\",\"text\":\"%s\"}", s);
		ck_assert_int_eq(parse(json, &p), -1);
		ck_assert_str_eq(p.cp_field, "text");
		ck_assert_str_eq(p.cp_msg, "text must be 1 to 4000 characters");
		chat_parsed_free(&p);
		free(json);
		free(s);
	}

	/* a configured max_text */
	chat_limits_default(&lim);
	lim.cl_max_text = 5;
	json = "{\"type\":\"send\",\"room\":\"r\",\"text\":\"ab\xc3\xa9""de\"}";
	check_bad(json, strlen(json), &lim, CHAT_ERR_NONE, NULL, NULL);
	json = "{\"type\":\"send\",\"room\":\"r\",\"text\":\"abcdef\"}";
	check_bad(json, strlen(json), &lim, CHAT_ERR_VALIDATION, "text",
	    "text must be 1 to 5 characters");
}
END_TEST

/* The IPC codec. */

static void
encode(const struct chat_req *r, struct ipc_msg *m)
{
	ipc_msg_init(m, IPC_CLIENT_REQ, 17);
	chat_req_encode(m, r);
	ck_assert_int_eq(ipc_msg_finish(m), 0);
}

static int
decode(const uint8_t *p, size_t len, struct chat_req *out)
{
	struct ipc_reader	rd;

	ipc_reader_init(&rd, p, len);
	return chat_req_decode(&rd, out);
}

/* Every valid request survives the trip; every prefix and any trailing
 * byte is refused. */
START_TEST(test_roundtrip)
{
	const struct ok_case *c = &ok_cases[_i];
	struct chat_parsed	 p;
	struct chat_req		 back;
	struct ipc_msg		 m;
	const uint8_t		*pl;
	uint8_t			*longer;
	size_t			 plen, n;
	char			 want[1024], got[1024];

	ck_assert_int_eq(parse(c->json, &p), 0);
	encode(&p.cp_req, &m);
	pl = m.im_buf + IPC_HDR_SIZE;
	plen = m.im_len - IPC_HDR_SIZE;
	ck_assert_int_eq(decode(pl, plen, &back), 0);
	describe(&p.cp_req, want, sizeof(want));
	describe(&back, got, sizeof(got));
	ck_assert_str_eq(got, want);
	chat_req_free(&back);

	for (n = 0; n < plen; n++) {
		ck_assert_msg(decode(pl, n, &back) == -1, "%zu of %zu", n, plen);
		ck_assert_ptr_null(back.cr_text);
		ck_assert_ptr_null(back.cr_q);
	}
	longer = malloc(plen + 1);
	ck_assert_ptr_nonnull(longer);
	memcpy(longer, pl, plen);
	longer[plen] = 0;
	ck_assert_int_eq(decode(longer, plen + 1, &back), -1);
	free(longer);
	ipc_msg_free(&m);
	chat_parsed_free(&p);
}
END_TEST

START_TEST(test_roundtrip_big_text)
{
	struct chat_parsed	 p;
	struct chat_req		 back;
	struct ipc_msg		 m;
	char			*s, *json;

	s = repeat("\xf0\x9f\x98\x80", 4000);
	json = xfmt("{\"type\":\"send\",\"room\":\"r\",\"text\":\"%s\"}", s);
	ck_assert_int_eq(parse(json, &p), 0);
	encode(&p.cp_req, &m);
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), 0);
	ck_assert_str_eq(back.cr_text, s);
	chat_req_free(&back);
	ipc_msg_free(&m);
	chat_parsed_free(&p);
	free(json);
	free(s);
}
END_TEST

/* A request the worker would never build; decode must refuse it. */
static const struct corrupt_case {
	const char	*json;	/* a valid base request */
	char		 what;	/* what to break */
} corrupt_cases[] = {
	{ "{\"type\":\"join\",\"room\":\"r\"}", 'R' },		/* room "a b" */
	{ "{\"type\":\"join\",\"room\":\"r\"}", 'r' },		/* room "" */
	{ "{\"type\":\"join\",\"room\":\"r\"}", 'h' },		/* history 201 */
	{ "{\"type\":\"join\",\"room\":\"r\"}", 's' },		/* since -1 */
	{ "{\"type\":\"join\",\"room\":\"r\"}", 'E' },		/* epoch 65 */
	{ "{\"type\":\"join\",\"room\":\"r\"}", 'i' },		/* id abc */
	{ "{\"type\":\"join\",\"room\":\"r\"}", 'I' },		/* id "a"b" */
	{ "{\"type\":\"join\",\"room\":\"r\"}", 'J' },		/* id 01 */
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":\"x\"}", 't' }, /* "" */
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":\"x\"}", 'T' }, /* \r */
	{ "{\"type\":\"send\",\"room\":\"r\",\"text\":\"x\"}", 'c' }, /* "" */
	{ "{\"type\":\"delete\",\"room\":\"r\",\"seq\":1}", 'q' },	/* seq 0 */
	{ "{\"type\":\"read\",\"room\":\"r\",\"seq\":1}", 'Q' },	/* seq -1 */
	{ "{\"type\":\"history\",\"room\":\"r\"}", 'l' },		/* 201 */
	{ "{\"type\":\"history\",\"room\":\"r\"}", 'a' },		/* after -1 */
	{ "{\"type\":\"history\",\"room\":\"r\",\"before\":5}", 'A' },
								/* and after */
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"x\"}", 'l' },	/* 101 */
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"x\"}", 'b' },	/* 0 */
	{ "{\"type\":\"search\",\"room\":\"r\",\"q\":\"x\"}", 'z' },	/* q "" */
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":\"x\","
	  "\"active\":true}", 'e' },				/* emoji "" */
	{ "{\"type\":\"react\",\"room\":\"r\",\"seq\":1,\"emoji\":\"x\","
	  "\"active\":true}", 'n' },				/* emoji \n */
};

START_TEST(test_decode_refuses)
{
	const struct corrupt_case *c = &corrupt_cases[_i];
	struct chat_parsed	 p;
	struct chat_req		*r, back;
	struct ipc_msg		 m;
	char			*s = NULL;

	ck_assert_int_eq(parse(c->json, &p), 0);
	r = &p.cp_req;
	switch (c->what) {
	case 'R': strcpy(r->cr_room, "a b"); break;
	case 'r': r->cr_room[0] = '\0'; break;
	case 'h': r->cr_has_history = true; r->cr_history = 201; break;
	case 's': r->cr_has_since = true; r->cr_since = -1; break;
	case 'E':
		s = repeat("e", 65);
		r->cr_has_epoch = true;
		strcpy(r->cr_epoch, s);
		break;
	case 'i': strcpy(r->cr_id, "abc"); break;
	case 'I': strcpy(r->cr_id, "\"a\"b\""); break;
	case 'J': strcpy(r->cr_id, "01"); break;
	case 't': r->cr_text[0] = '\0'; break;
	case 'T': r->cr_text[0] = '\r'; break;
	case 'c': r->cr_has_cmid = true; r->cr_cmid[0] = '\0'; break;
	case 'q': r->cr_seq = 0; break;
	case 'Q': r->cr_seq = -1; break;
	case 'l': r->cr_has_limit = true; r->cr_limit = r->cr_kind ==
	    CHAT_REQ_SEARCH ? 101 : 201; break;
	case 'b': r->cr_has_before = true; r->cr_before = 0; break;
	case 'a': r->cr_has_after = true; r->cr_after = -1; break;
	case 'A': r->cr_has_after = true; r->cr_after = 1; break;
	case 'z': r->cr_q[0] = '\0'; break;
	case 'e': r->cr_emoji[0] = '\0'; break;
	case 'n': r->cr_emoji[0] = '\n'; break;
	default: ck_abort();
	}
	encode(r, &m);
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), -1);
	ipc_msg_free(&m);
	chat_parsed_free(&p);
	free(s);
}
END_TEST

START_TEST(test_decode_raw)
{
	struct chat_req	back;
	struct ipc_msg	m;
	struct chat_req	r;

	/* unknown kinds */
	ipc_msg_init(&m, IPC_CLIENT_REQ, 1);
	ipc_add_u8(&m, 0);
	ipc_add_str(&m, "");
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, IPC_CLIENT_REQ, 1);
	ipc_add_u8(&m, CHAT_REQ_MAX);
	ipc_add_str(&m, "");
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), -1);
	ipc_msg_free(&m);

	/* a bool that is not 0 or 1 */
	ipc_msg_init(&m, IPC_CLIENT_REQ, 1);
	ipc_add_u8(&m, CHAT_REQ_TYPING);
	ipc_add_str(&m, "");
	ipc_add_str(&m, "r");
	ipc_add_u8(&m, 1);
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), 0);
	ck_assert(back.cr_active);
	ipc_msg_free(&m);
	ipc_msg_init(&m, IPC_CLIENT_REQ, 1);
	ipc_add_u8(&m, CHAT_REQ_TYPING);
	ipc_add_str(&m, "");
	ipc_add_str(&m, "r");
	ipc_add_u8(&m, 2);
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), -1);
	ipc_msg_free(&m);

	/* a NUL inside text */
	ipc_msg_init(&m, IPC_CLIENT_REQ, 1);
	ipc_add_u8(&m, CHAT_REQ_SEND);
	ipc_add_str(&m, "");
	ipc_add_str(&m, "r");
	ipc_add_strn(&m, "a\0b", 3);
	ipc_add_u8(&m, 0);
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), -1);
	ipc_msg_free(&m);

	/* an unknown kind cannot be encoded */
	chat_req_init(&r, (enum chat_req_kind)99);
	ipc_msg_init(&m, IPC_CLIENT_REQ, 1);
	chat_req_encode(&m, &r);
	ck_assert_int_eq(ipc_msg_finish(&m), -1);
	ipc_msg_free(&m);

	/* defaults come back for absent optional fields */
	chat_req_init(&r, CHAT_REQ_SEARCH);
	strcpy(r.cr_room, "r");
	r.cr_q = strdup("x");
	encode(&r, &m);
	ck_assert_int_eq(decode(m.im_buf + IPC_HDR_SIZE,
	    m.im_len - IPC_HDR_SIZE, &back), 0);
	ck_assert(!back.cr_has_limit);
	ck_assert_int_eq(back.cr_limit, CHAT_DEF_SEARCH);
	ck_assert_str_eq(back.cr_q, "x");
	chat_req_free(&back);
	chat_req_free(&r);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_id_json_valid)
{
	static const struct {
		const char	*s;
		bool		 ok;
	} cases[] = {
		{ "", true }, { "0", true }, { "-1", true }, { "42", true },
		{ "18446744073709551615", true },
		{ "-9223372036854775808", true },
		{ "123456789012345678901", false }, { "-", false },
		{ "01", false }, { "-01", false }, { "1.5", false },
		{ "abc", false }, { "\"\"", true }, { "\"a\"", true },
		{ "\"a\\\"b\"", true }, { "\"\\u00e9\"", true },
		{ "\"\\u00e\"", false }, { "\"\\x\"", false },
		{ "\"a\"b\"", false }, { "\"a", false }, { "\"", false },
		{ "\"\\\"", false }, { "\"\\\\\"", true }, { "\"a\nb\"", false },
		{ "\"\xff\"", false }, { "\"\xc3\xa9/\"", true },
	};
	size_t	i;

	for (i = 0; i < NELEM(cases); i++)
		ck_assert_msg(chat_id_json_valid(cases[i].s,
		    strlen(cases[i].s)) == cases[i].ok, "%s", cases[i].s);
}
END_TEST

START_TEST(test_errcode)
{
	ck_assert_str_eq(chat_req_errcode(CHAT_ERR_PARSE), "PARSE_ERROR");
	ck_assert_str_eq(chat_req_errcode(CHAT_ERR_VALIDATION),
	    "VALIDATION_ERROR");
	ck_assert_str_eq(chat_req_errcode(CHAT_ERR_UNKNOWN_TYPE), "UNKNOWN_TYPE");
	ck_assert_str_eq(chat_req_errcode(CHAT_ERR_INTERNAL), "INTERNAL_ERROR");
	ck_assert_ptr_null(chat_req_lookup(0));
	ck_assert_ptr_null(chat_req_lookup(CHAT_REQ_MAX));
	ck_assert_ptr_null(chat_req_byname("ping"));
	ck_assert_int_eq(chat_req_byname("rooms")->cri_kind, CHAT_REQ_ROOMS);
}
END_TEST

/* Identities. */

static void
identity_fill(struct chat_identity *id, size_t nrooms)
{
	size_t	i;

	memset(id, 0, sizeof(*id));
	strcpy(id->ci_user, "alice.b@x-1");
	strcpy(id->ci_name, "Alice \xc3\x89");
	id->ci_moderator = true;
	id->ci_exp = 1700003600;
	id->ci_rooms_present = true;
	id->ci_nrooms = nrooms;
	id->ci_rooms = calloc(nrooms + 1, sizeof(char *));
	ck_assert_ptr_nonnull(id->ci_rooms);
	for (i = 0; i < nrooms; i++)
		id->ci_rooms[i] = xfmt(i % 2 ? "project:%zu:*" : "room%zu", i);
}

static void
identity_encode(const struct chat_identity *id, struct ipc_msg *m)
{
	ipc_msg_init(m, IPC_CONN_AUTH, 5);
	chat_identity_encode(m, id);
}

static int
identity_decode(const struct ipc_msg *m, size_t len, struct chat_identity *id)
{
	struct ipc_reader	rd;

	ipc_reader_init(&rd, m->im_buf + IPC_HDR_SIZE, len);
	return chat_identity_decode(&rd, id);
}

START_TEST(test_identity_roundtrip)
{
	static const size_t	 counts[] = { 0, 1, 2, CHAT_MAX_PATTERNS };
	struct chat_identity	 id, back;
	struct ipc_msg		 m;
	size_t			 c, i, plen, n;

	for (c = 0; c < NELEM(counts); c++) {
		identity_fill(&id, counts[c]);
		identity_encode(&id, &m);
		ck_assert_int_eq(ipc_msg_finish(&m), 0);
		plen = m.im_len - IPC_HDR_SIZE;
		ck_assert_int_eq(identity_decode(&m, plen, &back), 0);
		ck_assert_str_eq(back.ci_user, id.ci_user);
		ck_assert_str_eq(back.ci_name, id.ci_name);
		ck_assert(back.ci_moderator);
		ck_assert_int_eq(back.ci_exp, id.ci_exp);
		ck_assert(back.ci_rooms_present);
		ck_assert_uint_eq(back.ci_nrooms, id.ci_nrooms);
		for (i = 0; i < id.ci_nrooms; i++)
			ck_assert_str_eq(back.ci_rooms[i], id.ci_rooms[i]);
		chat_identity_free(&back);
		if (counts[c] <= 2)
			for (n = 0; n < plen; n++)
				ck_assert_int_eq(identity_decode(&m, n, &back),
				    -1);
		ipc_msg_free(&m);
		chat_identity_free(&id);
	}

	/* no rooms claim, no name, no exp */
	memset(&id, 0, sizeof(id));
	strcpy(id.ci_user, "bob");
	identity_encode(&id, &m);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_int_eq(identity_decode(&m, m.im_len - IPC_HDR_SIZE, &back), 0);
	ck_assert_str_eq(back.ci_user, "bob");
	ck_assert_str_eq(back.ci_name, "");
	ck_assert(!back.ci_moderator && !back.ci_rooms_present);
	ck_assert_uint_eq(back.ci_nrooms, 0);
	ck_assert_ptr_null(back.ci_rooms);
	chat_identity_free(&back);
	ipc_msg_free(&m);

	/* too many patterns cannot be encoded */
	identity_fill(&id, CHAT_MAX_PATTERNS + 1);
	identity_encode(&id, &m);
	ck_assert_int_eq(ipc_msg_finish(&m), -1);
	ipc_msg_free(&m);
	chat_identity_free(&id);
}
END_TEST

/* Raw identity payloads the decoder must refuse. */
static void
identity_raw(struct ipc_msg *m, const char *user, const char *name,
    uint8_t mod, int64_t exp, uint8_t present, uint32_t n, const char *pat)
{
	uint32_t	i;

	ipc_msg_init(m, IPC_CONN_AUTH, 5);
	ipc_add_str(m, user);
	ipc_add_str(m, name);
	ipc_add_u8(m, mod);
	ipc_add_i64(m, exp);
	ipc_add_u8(m, present);
	ipc_add_u32(m, n);
	/* A huge count comes without its patterns. */
	for (i = 0; i < n && i <= CHAT_MAX_PATTERNS; i++)
		ipc_add_str(m, pat);
}

START_TEST(test_identity_refused)
{
	struct chat_identity	 back;
	struct ipc_msg		 m;
	char			*longname, *okname, *pat129, *pat130, *user65;

	longname = repeat("n", CHAT_MAX_NAME + 1);
	okname = repeat("\xf0\x9f\x98\x80", CHAT_MAX_NAME);
	pat129 = repeat("p", CHAT_MAX_ROOM + 1);
	pat130 = repeat("p", CHAT_MAX_ROOM + 2);
	user65 = repeat("u", CHAT_MAX_USER + 1);
#define IDENT(rc, ...) do {						\
	identity_raw(&m, __VA_ARGS__);					\
	ck_assert_int_eq(identity_decode(&m, m.im_len - IPC_HDR_SIZE,	\
	    &back), rc);						\
	if (rc == 0)							\
		chat_identity_free(&back);				\
	ck_assert_ptr_null(back.ci_rooms);				\
	ipc_msg_free(&m);						\
} while (0)
	IDENT(0, "u", "", 0, 0, 1, 0, NULL);
	IDENT(0, "u", okname, 1, 5, 1, 2, pat129);
	IDENT(0, "u", "", 0, 0, 1, CHAT_MAX_PATTERNS, "p*");
	IDENT(-1, "", "", 0, 0, 0, 0, NULL);
	IDENT(-1, "a b", "", 0, 0, 0, 0, NULL);
	IDENT(-1, user65, "", 0, 0, 0, 0, NULL);
	IDENT(-1, "u", longname, 0, 0, 0, 0, NULL);
	IDENT(-1, "u", "\xff", 0, 0, 0, 0, NULL);
	IDENT(-1, "u", "", 2, 0, 0, 0, NULL);
	IDENT(-1, "u", "", 0, -1, 0, 0, NULL);
	IDENT(-1, "u", "", 0, 0, 2, 0, NULL);
	IDENT(-1, "u", "", 0, 0, 0, 1, "p");
	IDENT(-1, "u", "", 0, 0, 1, 1, pat130);
	IDENT(-1, "u", "", 0, 0, 1, 1, "");
	IDENT(-1, "u", "", 0, 0, 1, CHAT_MAX_PATTERNS + 1, "p");
	IDENT(-1, "u", "", 0, 0, 1, UINT32_MAX, NULL);
#undef IDENT
	/* trailing bytes */
	identity_raw(&m, "u", "", 0, 0, 0, 0, NULL);
	ipc_add_u8(&m, 0);
	ck_assert_int_eq(identity_decode(&m, m.im_len - IPC_HDR_SIZE, &back),
	    -1);
	ipc_msg_free(&m);
	free(longname);
	free(okname);
	free(pat129);
	free(pat130);
	free(user65);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("chat_req");
	TCase	*tc;

	tc = tcase_create("valid");
	tcase_add_loop_test(tc, test_ok, 0, NELEM(ok_cases));
	tcase_add_test(tc, test_local_kinds);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad_cases));
	tcase_add_test(tc, test_long_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_error");
	tcase_add_loop_test(tc, test_parse_error, 0, NELEM(parse_cases));
	tcase_add_test(tc, test_parse_error_special);
	suite_add_tcase(s, tc);

	tc = tcase_create("id");
	tcase_add_loop_test(tc, test_id, 0, NELEM(id_cases));
	tcase_add_test(tc, test_id_length);
	tcase_add_test(tc, test_id_on_errors);
	tcase_add_test(tc, test_id_json_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_loop_test(tc, test_text, 0, NELEM(text_cases));
	tcase_add_test(tc, test_text_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec");
	tcase_add_loop_test(tc, test_roundtrip, 0, NELEM(ok_cases));
	tcase_add_test(tc, test_roundtrip_big_text);
	tcase_add_loop_test(tc, test_decode_refuses, 0, NELEM(corrupt_cases));
	tcase_add_test(tc, test_decode_raw);
	tcase_add_test(tc, test_errcode);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_test(tc, test_identity_roundtrip);
	tcase_add_test(tc, test_identity_refused);
	suite_add_tcase(s, tc);
	return s;
}
