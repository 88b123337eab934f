/* check_http_upgrade.c: upgrade-head validation, field extraction, head
 * framing, accept key, query decoding and the written answers. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "check_main.h"
#include "http_upgrade.h"

#define RL	"GET /ws HTTP/1.1\r\n"
#define H_HOST	"Host: example.com\r\n"
#define H_UP	"Upgrade: websocket\r\n"
#define H_CONN	"Connection: Upgrade\r\n"
#define H_KEY	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_VER	"Sec-WebSocket-Version: 13\r\n"
#define END	"\r\n"
#define GOOD	H_HOST H_UP H_CONN H_KEY H_VER

#define X10	"X-A: 1\r\nX-B: 1\r\nX-C: 1\r\nX-D: 1\r\nX-E: 1\r\n" \
		"X-F: 1\r\nX-G: 1\r\nX-H: 1\r\nX-I: 1\r\nX-J: 1\r\n"

static const struct {
	const char	*name;
	const char	*head;
	int		 status;
} heads[] = {
	{ "minimal", RL GOOD END, 0 },
	{ "lower-case names", RL "host: a\r\nupgrade: websocket\r\n"
	    "connection: upgrade\r\nsec-websocket-key: "
	    "dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n" END, 0 },
	{ "Upgrade case", RL H_HOST "Upgrade: WebSocket\r\n" H_CONN H_KEY
	    H_VER END, 0 },
	{ "Upgrade list", RL H_HOST "Upgrade: h2c ,  websocket\r\n" H_CONN
	    H_KEY H_VER END, 0 },
	{ "Connection list", RL H_HOST H_UP "Connection: keep-alive, Upgrade\r\n"
	    H_KEY H_VER END, 0 },
	{ "Connection no space", RL H_HOST H_UP "Connection: keep-alive,UPGRADE"
	    "\r\n" H_KEY H_VER END, 0 },
	{ "Connection empty items", RL H_HOST H_UP "Connection: ,, upgrade ,\r\n"
	    H_KEY H_VER END, 0 },
	{ "Connection twice", RL H_HOST H_UP "Connection: keep-alive\r\n"
	    "Connection: upgrade\r\n" H_KEY H_VER END, 0 },
	{ "trailing OWS", RL "Host: a \t\r\n" "Upgrade: websocket  \r\n" H_CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==  \r\n"
	    "Sec-WebSocket-Version: 13 \r\n" END, 0 },
	{ "Content-Length 0", RL GOOD "Content-Length: 0\r\n" END, 0 },
	{ "HTTP/1.2", "GET /ws HTTP/1.2\r\n" GOOD END, 0 },
	{ "absolute-form", "GET http://example.com/ws?a=1 HTTP/1.1\r\n" GOOD
	    END, 0 },
	{ "64 headers", RL GOOD X10 X10 X10 X10 X10
	    "X-1: 1\r\nX-2: 1\r\nX-3: 1\r\nX-4: 1\r\nX-5: 1\r\nX-6: 1\r\n"
	    "X-7: 1\r\nX-8: 1\r\nX-9: 1\r\n" END, 0 },
	{ "unknown extension", RL GOOD "Sec-WebSocket-Extensions: x; y=\"\r\n"
	    END, 0 },
	{ "empty other value", RL GOOD "X-Empty:\r\n" END, 0 },
	{ "empty other value mid", RL "X-Empty:\r\n" GOOD END, 0 },

	{ "65 headers", RL GOOD X10 X10 X10 X10 X10
	    "X-1: 1\r\nX-2: 1\r\nX-3: 1\r\nX-4: 1\r\nX-5: 1\r\nX-6: 1\r\n"
	    "X-7: 1\r\nX-8: 1\r\nX-9: 1\r\nX-10: 1\r\n" END, 431 },

	{ "garbage", "GARBAGE\r\n\r\n", 400 },
	{ "no colon", RL GOOD "Bogus header\r\n" END, 400 },
	{ "space before colon", RL "Host : a\r\n" GOOD END, 400 },
	{ "space in name", RL GOOD "X Y: a\r\n" END, 400 },
	{ "obs-fold", RL H_HOST "Upgrade: h2c,\r\n websocket\r\n" H_CONN
	    H_KEY H_VER END, 400 },
	{ "obs-fold other", RL GOOD "X-A: a\r\n\tb\r\n" END, 400 },
	{ "control char", RL GOOD "X-A: a\001b\r\n" END, 400 },
	{ "bare LF head", "GET /ws HTTP/1.1\nHost: a\nUpgrade: websocket\n"
	    "Connection: upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	    "Sec-WebSocket-Version: 13\n\n", 0 },
	{ "incomplete head", RL GOOD, 400 },
	{ "empty", "", 400 },
	{ "HTTP/1.0", "GET /ws HTTP/1.0\r\n" GOOD END, 505 },
	{ "HTTP/0.9", "GET /ws HTTP/0.9\r\n" GOOD END, 505 },
	{ "HTTP/2.0", "GET /ws HTTP/2.0\r\n" GOOD END, 505 },
	{ "HTTP/1.0 POST", "POST /ws HTTP/1.0\r\n" GOOD END, 505 },
	{ "POST", "POST /ws HTTP/1.1\r\n" GOOD END, 405 },
	{ "HEAD", "HEAD /ws HTTP/1.1\r\n" GOOD END, 405 },
	{ "PUT", "PUT /ws HTTP/1.1\r\n" GOOD END, 405 },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\n" GOOD END, 405 },
	{ "CONNECT", "CONNECT example.com:80 HTTP/1.1\r\n" GOOD END, 405 },
	{ "lower-case method", "get /ws HTTP/1.1\r\n" GOOD END, 400 },
	{ "body length", RL GOOD "Content-Length: 5\r\n" END, 400 },
	{ "body chunked", RL GOOD "Transfer-Encoding: chunked\r\n" END, 400 },
	{ "body gzip", RL GOOD "Transfer-Encoding: gzip\r\n" END, 400 },
	{ "two lengths", RL GOOD "Content-Length: 0\r\nContent-Length: 0\r\n"
	    END, 400 },
	{ "bad length", RL GOOD "Content-Length: x\r\n" END, 400 },
	{ "asterisk", "GET * HTTP/1.1\r\n" GOOD END, 400 },
	{ "fragment", "GET /ws#frag HTTP/1.1\r\n" GOOD END, 400 },
	{ "no Host", RL H_UP H_CONN H_KEY H_VER END, 400 },
	{ "two Host", RL H_HOST GOOD END, 400 },
	{ "empty Host", RL "Host:\r\n" H_UP H_CONN H_KEY H_VER END, 400 },
	{ "no Upgrade", RL H_HOST H_CONN H_KEY H_VER END, 400 },
	{ "Upgrade h2c", RL H_HOST "Upgrade: h2c\r\n" H_CONN H_KEY H_VER END,
	    400 },
	{ "Upgrade websocketx", RL H_HOST "Upgrade: websocketx\r\n" H_CONN
	    H_KEY H_VER END, 400 },
	{ "Upgrade web socket", RL H_HOST "Upgrade: web socket\r\n" H_CONN
	    H_KEY H_VER END, 400 },
	{ "no Connection", RL H_HOST H_UP H_KEY H_VER END, 400 },
	{ "Connection keep-alive", RL H_HOST H_UP "Connection: keep-alive\r\n"
	    H_KEY H_VER END, 400 },
	{ "Connection upgrades", RL H_HOST H_UP "Connection: upgrades\r\n"
	    H_KEY H_VER END, 400 },
	{ "no version", RL H_HOST H_UP H_CONN H_KEY END, 400 },
	{ "two versions", RL GOOD H_VER END, 400 },
	{ "version 8", RL H_HOST H_UP H_CONN H_KEY
	    "Sec-WebSocket-Version: 8\r\n" END, 426 },
	{ "version 013", RL H_HOST H_UP H_CONN H_KEY
	    "Sec-WebSocket-Version: 013\r\n" END, 426 },
	{ "version list", RL H_HOST H_UP H_CONN H_KEY
	    "Sec-WebSocket-Version: 13, 8\r\n" END, 426 },
	{ "version empty", RL H_HOST H_UP H_CONN H_KEY
	    "Sec-WebSocket-Version:\r\n" END, 426 },
	{ "version long", RL H_HOST H_UP H_CONN H_KEY
	    "Sec-WebSocket-Version: 1313131313\r\n" END, 426 },
	{ "no key", RL H_HOST H_UP H_CONN H_VER END, 400 },
	{ "two keys", RL GOOD H_KEY END, 400 },
	{ "key short", RL H_HOST H_UP H_CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" H_VER END, 400 },
	{ "key long", RL H_HOST H_UP H_CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===\r\n" H_VER END, 400 },
	{ "key no padding", RL H_HOST H_UP H_CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQxx\r\n" H_VER END, 400 },
	{ "key bad char", RL H_HOST H_UP H_CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n" H_VER END, 400 },
	{ "key base64url", RL H_HOST H_UP H_CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j-Q==\r\n" H_VER END, 400 },
	{ "key non-canonical", RL H_HOST H_UP H_CONN
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" H_VER END, 400 },
	{ "key 20 bytes", RL H_HOST H_UP H_CONN
	    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n" H_VER END,
	    400 },
	{ "key empty", RL H_HOST H_UP H_CONN "Sec-WebSocket-Key:\r\n" H_VER
	    END, 400 },
	{ "two Origin", RL GOOD "Origin: https://a\r\nOrigin: https://b\r\n"
	    END, 400 },
	{ "two Authorization", RL GOOD "Authorization: Bearer a\r\n"
	    "Authorization: Bearer b\r\n" END, 400 },
};

START_TEST(test_status)
{
	struct http_upgrade_req	 req;
	const char		*why = NULL;
	int			 st;

	st = http_upgrade_parse(heads[_i].head, strlen(heads[_i].head), &req,
	    &why);
	ck_assert_msg(st == heads[_i].status, "%s: got %d (%s), want %d",
	    heads[_i].name, st, why ? why : "(null)", heads[_i].status);
	ck_assert_ptr_nonnull(why);
	if (st != 0) {
		/* Failure leaves nothing owned behind. */
		ck_assert_ptr_null(req.hu_host);
		ck_assert_ptr_null(req.hu_query);
		ck_assert_ptr_null(req.hu_origin);
		ck_assert_ptr_null(req.hu_bearer);
	}
	http_upgrade_req_free(&req);
	http_upgrade_req_free(&req);	/* safe twice */
}
END_TEST

START_TEST(test_fields)
{
	static const char head[] =
	    "GET /chat/ws?a=1&token=abc.def-_x%2B HTTP/1.1\r\n"
	    "Host: chat.example.com:8080\r\n"
	    "Origin: https://app.example.com\r\n"
	    "Authorization: bearer eyJhbGciOi.x.y\r\n"
	    "X-Forwarded-For: 203.0.113.9, 10.0.0.1\r\n"
	    "X-Forwarded-For: 10.9.9.9\r\n"
	    H_UP H_CONN H_KEY H_VER
	    "Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits\r\n"
	    END;
	struct http_upgrade_req	 req;
	const char		*why;
	char			*tok;

	ck_assert_int_eq(http_upgrade_parse(head, sizeof(head) - 1, &req,
	    &why), 0);
	ck_assert_str_eq(req.hu_path, "/chat/ws");
	ck_assert_str_eq(req.hu_query, "a=1&token=abc.def-_x%2B");
	ck_assert_str_eq(req.hu_host, "chat.example.com:8080");
	ck_assert_str_eq(req.hu_origin, "https://app.example.com");
	ck_assert_str_eq(req.hu_bearer, "eyJhbGciOi.x.y");
	ck_assert_str_eq(req.hu_key, "dGhlIHNhbXBsZSBub25jZQ==");
	ck_assert_str_eq(req.hu_x_forwarded_for, "203.0.113.9, 10.0.0.1");
	ck_assert_uint_eq(req.hu_npmd, 1);
	ck_assert_int_eq(req.hu_pmd[0].po_client_max_window_bits, -1);
	ck_assert_int_eq(req.hu_pmd[0].po_server_max_window_bits, 0);
	tok = http_query_param(req.hu_query, "token");
	ck_assert_str_eq(tok, "abc.def-_x+");
	free(tok);
	http_upgrade_req_free(&req);
	ck_assert_ptr_null(req.hu_host);
}
END_TEST

START_TEST(test_fields_absent)
{
	static const char head[] = RL GOOD END;
	struct http_upgrade_req	 req;
	const char		*why;

	ck_assert_int_eq(http_upgrade_parse(head, sizeof(head) - 1, &req,
	    &why), 0);
	ck_assert_str_eq(req.hu_path, "/ws");
	ck_assert_ptr_null(req.hu_query);
	ck_assert_ptr_null(req.hu_origin);
	ck_assert_ptr_null(req.hu_bearer);
	ck_assert_str_eq(req.hu_x_forwarded_for, "");
	ck_assert_uint_eq(req.hu_npmd, 0);
	http_upgrade_req_free(&req);
}
END_TEST

START_TEST(test_long_xff)
{
	char			 head[512];
	struct http_upgrade_req	 req;
	const char		*why;

	snprintf(head, sizeof(head), RL GOOD "X-Forwarded-For: %0100d\r\n" END,
	    7);
	ck_assert_int_eq(http_upgrade_parse(head, strlen(head), &req, &why), 0);
	ck_assert_uint_eq(strlen(req.hu_x_forwarded_for),
	    sizeof(req.hu_x_forwarded_for) - 1);
	http_upgrade_req_free(&req);
}
END_TEST

/* Path limit: HTTP_MAX_PATH bytes pass, one more is refused. */
START_TEST(test_path_limit)
{
	static const int	 extra[] = { 0, 1 };
	size_t			 plen = HTTP_MAX_PATH + (size_t)extra[_i], n;
	char			*head;
	struct http_upgrade_req	 req;
	const char		*why;
	int			 st;

	head = malloc(plen + 256);
	ck_assert_ptr_nonnull(head);
	n = (size_t)sprintf(head, "GET /");
	memset(head + n, 'p', plen - 1);
	n += plen - 1;
	strcpy(head + n, "?q=1 HTTP/1.1\r\n" GOOD END);
	st = http_upgrade_parse(head, strlen(head), &req, &why);
	ck_assert_int_eq(st, extra[_i] ? 400 : 0);
	if (st == 0)
		ck_assert_uint_eq(strlen(req.hu_path), HTTP_MAX_PATH);
	http_upgrade_req_free(&req);
	free(head);
}
END_TEST

static const struct {
	const char	*value;
	const char	*bearer;
} bearers[] = {
	{ "Bearer abc", "abc" },
	{ "bearer  abc.def ", "abc.def" },
	{ "BEARER\tx", "x" },
	{ "Basic dXNlcjpwYXNz", NULL },
	{ "Bearer", NULL },
	{ "Bearer   ", NULL },
	{ "Bearerabc", NULL },
	{ "", NULL },
};

START_TEST(test_bearer)
{
	char			 head[512];
	struct http_upgrade_req	 req;
	const char		*why;

	snprintf(head, sizeof(head), RL GOOD "Authorization: %s\r\n" END,
	    bearers[_i].value);
	ck_assert_int_eq(http_upgrade_parse(head, strlen(head), &req, &why), 0);
	if (bearers[_i].bearer == NULL)
		ck_assert_ptr_null(req.hu_bearer);
	else
		ck_assert_str_eq(req.hu_bearer, bearers[_i].bearer);
	http_upgrade_req_free(&req);
}
END_TEST

static const struct {
	const char	*ext1;
	const char	*ext2;		/* a second header line, or NULL */
	bool		 offered;
	bool		 cnct;
	bool		 snct;
	int		 cmwb;
	int		 smwb;
} exts[] = {
	{ "permessage-deflate", NULL, true, false, false, 0, 0 },
	{ "PerMessage-Deflate", NULL, true, false, false, 0, 0 },
	{ "permessage-deflate; client_max_window_bits", NULL,
	    true, false, false, -1, 0 },
	{ "permessage-deflate; client_max_window_bits=10; "
	    "server_max_window_bits=12; client_no_context_takeover; "
	    "server_no_context_takeover", NULL, true, true, true, 10, 12 },
	{ "permessage-deflate;server_max_window_bits=8;"
	    "client_max_window_bits=15", NULL, true, false, false, 15, 8 },
	{ "permessage-deflate; client_max_window_bits = \"9\"", NULL,
	    true, false, false, 9, 0 },
	{ "permessage-deflate; server_max_window_bits", NULL,
	    false, false, false, 0, 0 },
	{ "permessage-deflate; server_max_window_bits=16", NULL,
	    false, false, false, 0, 0 },
	{ "permessage-deflate; server_max_window_bits=7", NULL,
	    false, false, false, 0, 0 },
	{ "permessage-deflate; server_max_window_bits=08", NULL,
	    false, false, false, 0, 0 },
	{ "permessage-deflate; client_max_window_bits=100000000000", NULL,
	    false, false, false, 0, 0 },
	{ "permessage-deflate; client_no_context_takeover=1", NULL,
	    false, false, false, 0, 0 },
	{ "permessage-deflate; client_no_context_takeover; "
	    "client_no_context_takeover", NULL, false, false, false, 0, 0 },
	{ "permessage-deflate; server_max_window_bits=9; "
	    "server_max_window_bits=9", NULL, false, false, false, 0, 0 },
	{ "permessage-deflate; unknown", NULL, false, false, false, 0, 0 },
	{ "permessage-deflate; server_max_window_bits=10, permessage-deflate",
	    NULL, true, false, false, 0, 10 },
	{ "permessage-deflate; server_max_window_bits=99, permessage-deflate; "
	    "client_no_context_takeover", NULL, true, true, false, 0, 0 },
	{ "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits",
	    NULL, true, false, false, -1, 0 },
	{ "foo; bar=\"a,b;c\", permessage-deflate; server_no_context_takeover",
	    NULL, true, false, true, 0, 0 },
	{ "foo, bar", NULL, false, false, false, 0, 0 },
	{ "", NULL, false, false, false, 0, 0 },
	{ "permessage-deflate;", NULL, false, false, false, 0, 0 },
	{ "permessage-deflate; server_max_window_bits=\"10", NULL,
	    false, false, false, 0, 0 },
	{ "@@@, permessage-deflate", NULL, false, false, false, 0, 0 },
	{ "permessage-deflate x", NULL, false, false, false, 0, 0 },
	{ "foo", "permessage-deflate; server_no_context_takeover",
	    true, false, true, 0, 0 },
	{ "permessage-deflate; server_max_window_bits=11",
	    "permessage-deflate", true, false, false, 0, 11 },
	{ "permessage-deflate; bad", "permessage-deflate",
	    true, false, false, 0, 0 },
};

START_TEST(test_extensions)
{
	char			 head[1024];
	struct http_upgrade_req	 req;
	const char		*why;

	if (exts[_i].ext2 == NULL)
		snprintf(head, sizeof(head), RL GOOD
		    "Sec-WebSocket-Extensions: %s\r\n" END, exts[_i].ext1);
	else
		snprintf(head, sizeof(head), RL GOOD
		    "Sec-WebSocket-Extensions: %s\r\n"
		    "Sec-WebSocket-Extensions: %s\r\n" END,
		    exts[_i].ext1, exts[_i].ext2);
	ck_assert_int_eq(http_upgrade_parse(head, strlen(head), &req, &why), 0);
	ck_assert_msg((req.hu_npmd > 0) == exts[_i].offered, "%s",
	    exts[_i].ext1);
	if (req.hu_npmd > 0) {
		const struct http_pmd_offer *po = &req.hu_pmd[0];

		ck_assert(po->po_client_no_context_takeover == exts[_i].cnct);
		ck_assert(po->po_server_no_context_takeover == exts[_i].snct);
		ck_assert_int_eq(po->po_client_max_window_bits,
		    exts[_i].cmwb);
		ck_assert_int_eq(po->po_server_max_window_bits,
		    exts[_i].smwb);
	}
	http_upgrade_req_free(&req);
}
END_TEST

#define HEAD18	"GET / HTTP/1.1\r\n\r\n"

static const struct {
	const char	*buf;
	size_t		 max;
	long		 want;
} ends[] = {
	{ HEAD18, 8192, 18 },
	{ HEAD18 "GET", 8192, 18 },		/* pipelined bytes after */
	{ HEAD18, 18, 18 },			/* exactly at the limit */
	{ HEAD18, 17, -1 },			/* one over */
	{ HEAD18 "xx", 17, -1 },
	{ "GET / HTTP/1.1\r\n\r", 8192, 0 },
	{ "GET / HTTP/1.1\r\n\r", 17, -1 },	/* full, no end yet */
	{ "GET / HTTP/1.1\n\n", 8192, 0 },	/* bare LF is no end */
	{ "\r\n\r\n", 4, 4 },
	{ "", 8192, 0 },
	{ "", 0, -1 },
};

START_TEST(test_head_end)
{
	ck_assert_int_eq(http_upgrade_head_end(ends[_i].buf,
	    strlen(ends[_i].buf), ends[_i].max), ends[_i].want);
}
END_TEST

/* Bytes arriving one at a time: 0 until the last one. */
START_TEST(test_head_end_split)
{
	static const char	head[] = RL GOOD END;
	size_t			n, len = sizeof(head) - 1;

	for (n = 0; n < len; n++)
		ck_assert_int_eq(http_upgrade_head_end(head, n, HTTP_MAX_HEAD),
		    0);
	ck_assert_int_eq(http_upgrade_head_end(head, len, HTTP_MAX_HEAD),
	    (long)len);
}
END_TEST

/* An 8193-byte head is refused, an 8192-byte one accepted. */
START_TEST(test_head_end_8k)
{
	static char	buf[HTTP_MAX_HEAD + 2];
	size_t		len = HTTP_MAX_HEAD + (size_t)_i;

	memset(buf, 'a', len);
	memcpy(buf + len - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(http_upgrade_head_end(buf, len, HTTP_MAX_HEAD),
	    _i == 0 ? (long)len : -1);
}
END_TEST

START_TEST(test_accept)
{
	char	out[HTTP_WS_ACCEPT_LEN + 1];

	http_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_uint_eq(strlen(out), HTTP_WS_ACCEPT_LEN);
}
END_TEST

static const struct {
	const char	*query;
	const char	*name;
	const char	*want;
} params[] = {
	{ "token=abc", "token", "abc" },
	{ "a=1&token=x%2Fy%2b", "token", "x/y+" },
	{ "tok=1&token=2", "token", "2" },
	{ "tokenx=1&token=2", "token", "2" },
	{ "token", "token", "" },
	{ "token=", "token", "" },
	{ "token=a+b", "token", "a+b" },
	{ "a=1&&token=%41%62", "token", "Ab" },
	{ "token=1&token=2", "token", "1" },
	{ "token=%zz&x=1", "token", NULL },
	{ "token=%4", "token", NULL },
	{ "token=abc%", "token", NULL },
	{ "token=%00", "token", NULL },
	{ "x=token", "token", NULL },
	{ "tokenx=1", "token", NULL },
	{ "", "token", NULL },
	{ NULL, "token", NULL },
};

START_TEST(test_query_param)
{
	char	*v;

	v = http_query_param(params[_i].query, params[_i].name);
	if (params[_i].want == NULL)
		ck_assert_ptr_null(v);
	else
		ck_assert_str_eq(v, params[_i].want);
	free(v);
}
END_TEST

static char *
drain(struct evbuffer *b)
{
	size_t	 n = evbuffer_get_length(b);
	char	*s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_write_101)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	ck_assert_int_eq(http_write_101(b, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
	    NULL), 0);
	s = drain(b);
	ck_assert_str_eq(s, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "\r\n");
	free(s);

	ck_assert_int_eq(http_write_101(b, "abc=",
	    "permessage-deflate; server_no_context_takeover"), 0);
	s = drain(b);
	ck_assert_str_eq(s, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: abc=\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_no_context_takeover\r\n"
	    "\r\n");
	free(s);

	/* No header injection. */
	ck_assert_int_eq(http_write_101(b, "abc=", "x\r\nSet-Cookie: a"), -1);
	ck_assert_int_eq(http_write_101(b, "a\nb", NULL), -1);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

static const struct {
	int		 status;
	const char	*why;
	const char	*want;
} errors[] = {
	{ 400, "missing Host", "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 13\r\n"
	    "Connection: close\r\n\r\nmissing Host\n" },
	{ 403, "origin not allowed", "HTTP/1.1 403 Forbidden\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 19\r\n"
	    "Connection: close\r\n\r\norigin not allowed\n" },
	{ 404, "no such path", "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 13\r\n"
	    "Connection: close\r\n\r\nno such path\n" },
	{ 405, "method must be GET", "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 19\r\n"
	    "Connection: close\r\nAllow: GET\r\n\r\nmethod must be GET\n" },
	{ 426, "v", "HTTP/1.1 426 Upgrade Required\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 2\r\n"
	    "Connection: close\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\nv\n" },
	{ 429, "slow down", "HTTP/1.1 429 Too Many Requests\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 10\r\n"
	    "Connection: close\r\n\r\nslow down\n" },
	{ 431, "head too large",
	    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 15\r\n"
	    "Connection: close\r\n\r\nhead too large\n" },
	{ 503, "draining", "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 9\r\n"
	    "Connection: close\r\n\r\ndraining\n" },
	{ 505, "HTTP/1.1 required", "HTTP/1.1 505 HTTP Version Not Supported\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 18\r\n"
	    "Connection: close\r\n\r\nHTTP/1.1 required\n" },
	{ 400, "two\r\nlines", "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 4\r\n"
	    "Connection: close\r\n\r\ntwo\n" },
	{ 400, NULL, "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 12\r\n"
	    "Connection: close\r\n\r\nBad Request\n" },
	{ 299, "x", NULL },
	{ 999, "x", NULL },
};

START_TEST(test_write_error)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	if (errors[_i].want == NULL) {
		ck_assert_int_eq(http_write_error(b, errors[_i].status,
		    errors[_i].why), -1);
		ck_assert_uint_eq(evbuffer_get_length(b), 0);
	} else {
		ck_assert_int_eq(http_write_error(b, errors[_i].status,
		    errors[_i].why), 0);
		s = drain(b);
		ck_assert_str_eq(s, errors[_i].want);
		free(s);
	}
	evbuffer_free(b);
}
END_TEST

/* The why text of a long body is bounded. */
START_TEST(test_write_error_long)
{
	struct evbuffer	*b = evbuffer_new();
	char		 why[1000];

	memset(why, 'w', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	ck_assert_int_eq(http_write_error(b, 400, why), 0);
	ck_assert_uint_lt(evbuffer_get_length(b), 400);
	evbuffer_free(b);
}
END_TEST

#define NITEMS(a)	((int)(sizeof(a) / sizeof((a)[0])))

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("http_upgrade");
	TCase	*tc;

	tc = tcase_create("status");
	tcase_add_loop_test(tc, test_status, 0, NITEMS(heads));
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_fields_absent);
	tcase_add_test(tc, test_long_xff);
	tcase_add_loop_test(tc, test_path_limit, 0, 2);
	tcase_add_loop_test(tc, test_bearer, 0, NITEMS(bearers));
	suite_add_tcase(s, tc);

	tc = tcase_create("extensions");
	tcase_add_loop_test(tc, test_extensions, 0, NITEMS(exts));
	suite_add_tcase(s, tc);

	tc = tcase_create("head_end");
	tcase_add_loop_test(tc, test_head_end, 0, NITEMS(ends));
	tcase_add_test(tc, test_head_end_split);
	tcase_add_loop_test(tc, test_head_end_8k, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("accept");
	tcase_add_test(tc, test_accept);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_loop_test(tc, test_query_param, 0, NITEMS(params));
	suite_add_tcase(s, tc);

	tc = tcase_create("answers");
	tcase_add_test(tc, test_write_101);
	tcase_add_loop_test(tc, test_write_error, 0, NITEMS(errors));
	tcase_add_test(tc, test_write_error_long);
	suite_add_tcase(s, tc);

	return s;
}
