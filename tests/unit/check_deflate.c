/* check_deflate.c: permessage-deflate negotiation (a table of offers) and
 * the zlib streams: round trips, context takeover, the inflated-size cap,
 * corrupt input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "check_main.h"
#include "deflate.h"
#include "http_upgrade.h"

/* Negotiation. */

struct neg_case {
	const char	*name;
	bool		 offered;
	bool		 cnct, snct;
	int		 cmwb, smwb;	/* as http_ext.c reports them */
	const char	*answer;	/* NULL: declined */
	int		 server_bits, client_bits;
};

static const struct neg_case neg_cases[] = {
	{ "not offered", false, false, false, 0, 0, NULL, 0, 0 },
	{ "plain", true, false, false, 0, 0, "permessage-deflate", 15, 15 },
	{ "server_no_context_takeover", true, false, true, 0, 0,
	    "permessage-deflate; server_no_context_takeover", 15, 15 },
	{ "client_no_context_takeover", true, true, false, 0, 0,
	    "permessage-deflate; client_no_context_takeover", 15, 15 },
	{ "both no_context_takeover", true, true, true, 0, 0,
	    "permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover", 15, 15 },
	{ "server_max_window_bits=15", true, false, false, 0, 15,
	    "permessage-deflate; server_max_window_bits=15", 15, 15 },
	{ "server_max_window_bits=10", true, false, false, 0, 10,
	    "permessage-deflate; server_max_window_bits=10", 10, 15 },
	{ "server_max_window_bits=9", true, false, false, 0, 9,
	    "permessage-deflate; server_max_window_bits=9", 9, 15 },
	{ "server_max_window_bits=8 declined", true, false, false, 0, 8,
	    NULL, 0, 0 },
	{ "server_max_window_bits=16 declined", true, false, false, 0, 16,
	    NULL, 0, 0 },
	{ "client_max_window_bits, no value", true, false, false, -1, 0,
	    "permessage-deflate", 15, 15 },
	{ "client_max_window_bits=12", true, false, false, 12, 0,
	    "permessage-deflate; client_max_window_bits=12", 15, 12 },
	{ "client_max_window_bits=8", true, false, false, 8, 0,
	    "permessage-deflate; client_max_window_bits=8", 15, 9 },
	{ "client_max_window_bits=7 declined", true, false, false, 7, 0,
	    NULL, 0, 0 },
	{ "everything", true, true, true, 10, 11,
	    "permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover; server_max_window_bits=11; "
	    "client_max_window_bits=10", 11, 10 },
};
#define NNEG	(int)(sizeof(neg_cases) / sizeof(neg_cases[0]))

START_TEST(test_negotiate_table)
{
	const struct neg_case	*nc = &neg_cases[_i];
	struct http_upgrade_req	 req;
	struct deflate_params	 dp;
	char			 hdr[DEFLATE_HDR_MAX];
	int			 r;

	memset(&req, 0, sizeof(req));
	req.hu_npmd = nc->offered ? 1 : 0;
	req.hu_pmd[0].po_client_no_context_takeover = nc->cnct;
	req.hu_pmd[0].po_server_no_context_takeover = nc->snct;
	req.hu_pmd[0].po_client_max_window_bits = nc->cmwb;
	req.hu_pmd[0].po_server_max_window_bits = nc->smwb;
	r = deflate_negotiate(&req, &dp, hdr, sizeof(hdr));
	if (nc->answer == NULL) {
		ck_assert_msg(r == -1, "%s: accepted as %s", nc->name, hdr);
		return;
	}
	ck_assert_msg(r == 0, "%s: declined", nc->name);
	ck_assert_str_eq(hdr, nc->answer);
	ck_assert_int_eq(dp.dp_server_window_bits, nc->server_bits);
	ck_assert_int_eq(dp.dp_client_window_bits, nc->client_bits);
	ck_assert(dp.dp_server_no_context_takeover == nc->snct);
	ck_assert(dp.dp_client_no_context_takeover == nc->cnct);
}
END_TEST

START_TEST(test_negotiate_small_buffer)
{
	struct http_upgrade_req	 req;
	struct deflate_params	 dp;
	char			 hdr[24];

	memset(&req, 0, sizeof(req));
	req.hu_npmd = 1;
	req.hu_pmd[0].po_server_no_context_takeover = true;
	ck_assert_int_eq(deflate_negotiate(&req, &dp, hdr, sizeof(hdr)), -1);
}
END_TEST

/* RFC 7692 5: a declined offer (8-bit window) falls back to the next. */
START_TEST(test_negotiate_fallback)
{
	static const char head[] = "GET /ws HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate; "
	    "server_max_window_bits=8, permessage-deflate; "
	    "server_max_window_bits=16, permessage-deflate; "
	    "client_max_window_bits\r\n\r\n";
	struct http_upgrade_req	 req;
	struct deflate_params	 dp;
	char			 hdr[DEFLATE_HDR_MAX];
	const char		*why;

	ck_assert_int_eq(http_upgrade_parse(head, sizeof(head) - 1, &req,
	    &why), 0);
	ck_assert_uint_eq(req.hu_npmd, 2);	/* =16 is malformed, not kept */
	ck_assert_int_eq(deflate_negotiate(&req, &dp, hdr, sizeof(hdr)), 0);
	ck_assert_str_eq(hdr, "permessage-deflate");
	ck_assert_int_eq(dp.dp_server_window_bits, 15);
	ck_assert_int_eq(dp.dp_client_window_bits, 15);
	http_upgrade_req_free(&req);
}
END_TEST

/* Helpers. */

static struct deflate_ctx *
ctx(bool snct, bool cnct, int sbits, int cbits)
{
	struct deflate_params dp = {
		.dp_server_no_context_takeover = snct,
		.dp_client_no_context_takeover = cnct,
		.dp_server_window_bits = sbits,
		.dp_client_window_bits = cbits,
	};

	return deflate_new(&dp);
}

/* Client side: raw deflate, sync flush, tail stripped (RFC 7692 7.2.1).
 * flush may be Z_FINISH to end with a BFINAL block (7.2.3.3). */
static struct evbuffer *
client_compress(z_stream *z, const void *data, size_t len, int flush)
{
	struct evbuffer	*out = evbuffer_new();
	size_t		 cap = len + len / 8 + 1024, n;
	uint8_t		*buf = malloc(cap);

	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	z->next_out = buf;
	z->avail_out = (uInt)cap;
	ck_assert_int_ne(deflate(z, flush), Z_STREAM_ERROR);
	ck_assert_int_gt(z->avail_out, 0);
	n = cap - z->avail_out;
	if (flush == Z_SYNC_FLUSH) {
		ck_assert_int_ge(n, 4);
		ck_assert(memcmp(buf + n - 4, "\x00\x00\xff\xff", 4) == 0);
		n -= 4;
	}
	evbuffer_add(out, buf, n);
	free(buf);
	return out;
}

static void
client_init(z_stream *z, int bits)
{
	memset(z, 0, sizeof(*z));
	ck_assert_int_eq(deflateInit2(z, 6, Z_DEFLATED, -bits, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
}

/* Client side: inflate what the server sent (tail restored). */
static size_t
client_inflate(z_stream *z, struct evbuffer *in, uint8_t *out, size_t cap)
{
	size_t	 len = evbuffer_get_length(in);
	uint8_t	*buf = malloc(len + 4);
	int	 ret;

	evbuffer_remove(in, buf, len);
	memcpy(buf + len, "\x00\x00\xff\xff", 4);
	z->next_in = buf;
	z->avail_in = (uInt)(len + 4);
	z->next_out = out;
	z->avail_out = (uInt)cap;
	ret = inflate(z, Z_SYNC_FLUSH);
	free(buf);
	if (ret != Z_OK && ret != Z_BUF_ERROR)
		return (size_t)-1;
	ck_assert_int_eq(z->avail_in, 0);
	return cap - z->avail_out;
}

static void
client_inflate_init(z_stream *z, int bits)
{
	memset(z, 0, sizeof(*z));
	ck_assert_int_eq(inflateInit2(z, -bits), Z_OK);
}

static const char chat_msg[] = "{\"type\":\"message\",\"room\":\"lobby\","
    "\"seq\":42,\"user\":\"alice\",\"text\":\"hello hello hello, world\","
    "\"ts\":\"2026-11-21T12:00:00.123Z\"}";

/* Sending. */

START_TEST(test_send_round_trip)
{
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*z = evbuffer_new();
	uint8_t			 out[1024];
	z_stream		 cl;
	size_t			 first, second, n;

	client_inflate_init(&cl, 15);
	/* Context takeover: the repeat compresses to a back-reference. */
	ck_assert_int_eq(deflate_compress(dc, chat_msg, strlen(chat_msg), z),
	    0);
	first = evbuffer_get_length(z);
	n = client_inflate(&cl, z, out, sizeof(out));
	ck_assert_uint_eq(n, strlen(chat_msg));
	ck_assert(memcmp(out, chat_msg, n) == 0);
	ck_assert_int_eq(deflate_compress(dc, chat_msg, strlen(chat_msg), z),
	    0);
	second = evbuffer_get_length(z);
	ck_assert_uint_lt(second, first / 2);
	n = client_inflate(&cl, z, out, sizeof(out));
	ck_assert_uint_eq(n, strlen(chat_msg));
	ck_assert(memcmp(out, chat_msg, n) == 0);
	inflateEnd(&cl);
	evbuffer_free(z);
	deflate_free(dc);
}
END_TEST

START_TEST(test_send_no_context_takeover)
{
	struct deflate_ctx	*dc = ctx(true, false, 15, 15);
	struct evbuffer		*a = evbuffer_new(), *b = evbuffer_new();
	uint8_t			 out[1024];
	z_stream		 cl;
	size_t			 n;

	ck_assert_int_eq(deflate_compress(dc, chat_msg, strlen(chat_msg), a),
	    0);
	ck_assert_int_eq(deflate_compress(dc, chat_msg, strlen(chat_msg), b),
	    0);
	/* Each message stands alone: same bytes, and a fresh inflater
	 * decodes the second. */
	ck_assert_uint_eq(evbuffer_get_length(a), evbuffer_get_length(b));
	ck_assert(memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1),
	    evbuffer_get_length(a)) == 0);
	client_inflate_init(&cl, 15);
	n = client_inflate(&cl, b, out, sizeof(out));
	ck_assert_uint_eq(n, strlen(chat_msg));
	ck_assert(memcmp(out, chat_msg, n) == 0);
	inflateEnd(&cl);
	evbuffer_free(a);
	evbuffer_free(b);
	deflate_free(dc);
}
END_TEST

START_TEST(test_send_small_window)
{
	/* server_max_window_bits=9: a client inflating with a 9-bit window
	 * must decode a long, repetitive message. */
	struct deflate_ctx	*dc = ctx(false, false, 9, 15);
	struct evbuffer		*z = evbuffer_new();
	size_t			 len = 100000, i, n;
	uint8_t			*msg = malloc(len), *out = malloc(len);
	z_stream		 cl;

	for (i = 0; i < len; i++)
		msg[i] = (uint8_t)("abcdefghijklmnopqrstuvwxyz0123456789"
		    [(i * 7 + i / 1000) % 36]);
	ck_assert_int_eq(deflate_compress(dc, msg, len, z), 0);
	client_inflate_init(&cl, 9);
	n = client_inflate(&cl, z, out, len);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(out, msg, len) == 0);
	inflateEnd(&cl);
	free(msg);
	free(out);
	evbuffer_free(z);
	deflate_free(dc);
}
END_TEST

START_TEST(test_send_empty_and_incompressible)
{
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*z = evbuffer_new();
	size_t			 len = 65536, i, n;
	uint8_t			*msg = malloc(len), *out = malloc(len);
	uint32_t		 x = 12345;
	z_stream		 cl;

	client_inflate_init(&cl, 15);
	ck_assert_int_eq(deflate_compress(dc, "", 0, z), 0);
	ck_assert_uint_eq(client_inflate(&cl, z, out, len), 0);
	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		msg[i] = (uint8_t)(x >> 16);
	}
	ck_assert_int_eq(deflate_compress(dc, msg, len, z), 0);
	ck_assert_uint_le(evbuffer_get_length(z), deflate_wire_bound(len));
	n = client_inflate(&cl, z, out, len);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(out, msg, len) == 0);
	inflateEnd(&cl);
	free(msg);
	free(out);
	evbuffer_free(z);
	deflate_free(dc);
}
END_TEST

/* Receiving. */

START_TEST(test_recv_context_takeover)
{
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*in, *out = evbuffer_new();
	z_stream		 cl;
	int			 i;

	client_init(&cl, 15);
	for (i = 0; i < 3; i++) {
		in = client_compress(&cl, chat_msg, strlen(chat_msg),
		    Z_SYNC_FLUSH);
		ck_assert_int_eq(deflate_inflate(dc, in, out, 65536),
		    DEFLATE_OK);
		ck_assert_uint_eq(evbuffer_get_length(in), 0);
		ck_assert_uint_eq(evbuffer_get_length(out), strlen(chat_msg));
		ck_assert(memcmp(evbuffer_pullup(out, -1), chat_msg,
		    strlen(chat_msg)) == 0);
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_free(in);
	}
	deflateEnd(&cl);
	evbuffer_free(out);
	deflate_free(dc);
}
END_TEST

START_TEST(test_recv_no_context_takeover)
{
	/* client_no_context_takeover agreed: the client resets per message
	 * and so must we.  Without the reset, a message that starts a new
	 * stream is still decodable, so also check the reverse: a client
	 * that keeps its context breaks a resetting inflater. */
	struct deflate_ctx	*dc = ctx(false, true, 15, 15);
	struct evbuffer		*in, *out = evbuffer_new();
	z_stream		 cl;
	int			 i;

	for (i = 0; i < 3; i++) {
		client_init(&cl, 15);
		in = client_compress(&cl, chat_msg, strlen(chat_msg),
		    Z_SYNC_FLUSH);
		deflateEnd(&cl);
		ck_assert_int_eq(deflate_inflate(dc, in, out, 65536),
		    DEFLATE_OK);
		ck_assert_uint_eq(evbuffer_get_length(out), strlen(chat_msg));
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_free(in);
	}
	client_init(&cl, 15);
	in = client_compress(&cl, chat_msg, strlen(chat_msg), Z_SYNC_FLUSH);
	ck_assert_int_eq(deflate_inflate(dc, in, out, 65536), DEFLATE_OK);
	evbuffer_drain(out, evbuffer_get_length(out));
	evbuffer_free(in);
	in = client_compress(&cl, chat_msg, strlen(chat_msg), Z_SYNC_FLUSH);
	ck_assert_int_eq(deflate_inflate(dc, in, out, 65536),
	    DEFLATE_CORRUPT);
	evbuffer_free(in);
	deflateEnd(&cl);
	evbuffer_free(out);
	deflate_free(dc);
}
END_TEST

START_TEST(test_recv_bfinal_then_more)
{
	/* A message ending in a BFINAL block (7.2.3.3), then another. */
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*in, *out = evbuffer_new();
	z_stream		 cl;

	client_init(&cl, 15);
	in = client_compress(&cl, chat_msg, strlen(chat_msg), Z_FINISH);
	ck_assert_int_eq(deflate_inflate(dc, in, out, 65536), DEFLATE_OK);
	ck_assert_uint_eq(evbuffer_get_length(out), strlen(chat_msg));
	evbuffer_drain(out, evbuffer_get_length(out));
	evbuffer_free(in);
	deflateReset(&cl);
	in = client_compress(&cl, "second", 6, Z_SYNC_FLUSH);
	ck_assert_int_eq(deflate_inflate(dc, in, out, 65536), DEFLATE_OK);
	ck_assert_uint_eq(evbuffer_get_length(out), 6);
	ck_assert(memcmp(evbuffer_pullup(out, -1), "second", 6) == 0);
	evbuffer_free(in);
	deflateEnd(&cl);
	evbuffer_free(out);
	deflate_free(dc);
}
END_TEST

START_TEST(test_recv_empty_payload)
{
	/* RSV1 with no payload: an empty message; the stream is untouched
	 * so the client's context carries on. */
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*in, *out = evbuffer_new();
	z_stream		 cl;
	int			 i;

	client_init(&cl, 15);
	for (i = 0; i < 2; i++) {
		in = evbuffer_new();
		ck_assert_int_eq(deflate_inflate(dc, in, out, 65536),
		    DEFLATE_OK);
		ck_assert_uint_eq(evbuffer_get_length(out), 0);
		evbuffer_free(in);
		in = client_compress(&cl, chat_msg, strlen(chat_msg),
		    Z_SYNC_FLUSH);
		ck_assert_int_eq(deflate_inflate(dc, in, out, 65536),
		    DEFLATE_OK);
		ck_assert_uint_eq(evbuffer_get_length(out), strlen(chat_msg));
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_free(in);
	}
	deflateEnd(&cl);
	evbuffer_free(out);
	deflate_free(dc);
}
END_TEST

static void
noop_cleanup(const void *data, size_t len, void *arg)
{
}

START_TEST(test_recv_many_chains)
{
	/* The compressed message arrives as many evbuffer chains. */
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*flat, *in = evbuffer_new(),
				*out = evbuffer_new();
	size_t			 len = 200000, i, zlen;
	uint8_t			*msg = malloc(len), *zb;
	z_stream		 cl;

	for (i = 0; i < len; i++)
		msg[i] = (uint8_t)('a' + (i * i) % 26);
	client_init(&cl, 15);
	flat = client_compress(&cl, msg, len, Z_SYNC_FLUSH);
	zlen = evbuffer_get_length(flat);
	zb = evbuffer_pullup(flat, -1);
	for (i = 0; i < zlen; i += 7)
		evbuffer_add_reference(in, zb + i, zlen - i < 7 ? zlen - i : 7,
		    noop_cleanup, NULL);
	ck_assert_int_eq(deflate_inflate(dc, in, out, len), DEFLATE_OK);
	ck_assert_uint_eq(evbuffer_get_length(out), len);
	ck_assert(memcmp(evbuffer_pullup(out, -1), msg, len) == 0);
	deflateEnd(&cl);
	evbuffer_free(in);
	evbuffer_free(flat);
	evbuffer_free(out);
	free(msg);
	deflate_free(dc);
}
END_TEST

/* The cap: a message of exactly max inflates; one byte more does not. */
START_TEST(test_recv_exact_limit)
{
	size_t			 max = 65536;
	uint8_t			*msg = malloc(max + 1);
	struct deflate_ctx	*dc;
	struct evbuffer		*in, *out = evbuffer_new();
	z_stream		 cl;

	memset(msg, 'x', max + 1);
	dc = ctx(false, false, 15, 15);
	client_init(&cl, 15);
	in = client_compress(&cl, msg, max, Z_SYNC_FLUSH);
	ck_assert_int_eq(deflate_inflate(dc, in, out, max), DEFLATE_OK);
	ck_assert_uint_eq(evbuffer_get_length(out), max);
	evbuffer_free(in);
	deflateEnd(&cl);
	deflate_free(dc);

	evbuffer_drain(out, evbuffer_get_length(out));
	dc = ctx(false, false, 15, 15);
	client_init(&cl, 15);
	in = client_compress(&cl, msg, max + 1, Z_SYNC_FLUSH);
	ck_assert_int_eq(deflate_inflate(dc, in, out, max), DEFLATE_TOO_BIG);
	ck_assert_uint_le(evbuffer_get_length(out), max);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
	evbuffer_free(in);
	deflateEnd(&cl);
	deflate_free(dc);
	evbuffer_free(out);
	free(msg);
}
END_TEST

START_TEST(test_recv_zip_bomb)
{
	/* 10 MB of zeros: about 10 KB on the wire, refused after max bytes
	 * of output. */
	size_t			 len = 10 * 1024 * 1024;
	uint8_t			*zeros = calloc(1, len);
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*in, *out = evbuffer_new();
	z_stream		 cl;

	client_init(&cl, 15);
	in = client_compress(&cl, zeros, len, Z_SYNC_FLUSH);
	ck_assert_uint_lt(evbuffer_get_length(in), 65536);
	ck_assert_int_eq(deflate_inflate(dc, in, out, 65536),
	    DEFLATE_TOO_BIG);
	ck_assert_uint_le(evbuffer_get_length(out), 65536);
	evbuffer_free(in);
	deflateEnd(&cl);
	evbuffer_free(out);
	deflate_free(dc);
	free(zeros);
}
END_TEST

struct corrupt_case {
	const char	*name;
	const char	*bytes;
	size_t		 len;
};

static const struct corrupt_case corrupt_cases[] = {
	{ "reserved block type", "\x07\x00", 2 },
	{ "stored lengths differ", "\x00\x05\x00\x00\x00hello", 10 },
	{ "too many length symbols", "\xfc\xff\xff\xff\xff", 5 },
	{ "distance too far back", "\x4b\x04\x02\x50\x00\x00", 6 },
};
#define NCORRUPT	(int)(sizeof(corrupt_cases) / sizeof(corrupt_cases[0]))

START_TEST(test_recv_corrupt)
{
	const struct corrupt_case *cc = &corrupt_cases[_i];
	struct deflate_ctx	*dc = ctx(false, false, 15, 15);
	struct evbuffer		*in = evbuffer_new(), *out = evbuffer_new();

	evbuffer_add(in, cc->bytes, cc->len);
	ck_assert_msg(deflate_inflate(dc, in, out, 65536) == DEFLATE_CORRUPT,
	    "%s: not refused", cc->name);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
	evbuffer_free(in);
	evbuffer_free(out);
	deflate_free(dc);
}
END_TEST

START_TEST(test_server_to_server)
{
	/* Our compressor feeding our inflater, across window sizes. */
	int bits;

	for (bits = 9; bits <= 15; bits++) {
		struct deflate_ctx *tx = ctx(false, false, bits, 15);
		struct deflate_ctx *rx = ctx(false, false, 15, bits);
		struct evbuffer *z = evbuffer_new(), *out = evbuffer_new();
		int i;

		for (i = 0; i < 4; i++) {
			ck_assert_int_eq(deflate_compress(tx, chat_msg,
			    strlen(chat_msg), z), 0);
			ck_assert_int_eq(deflate_inflate(rx, z, out, 65536),
			    DEFLATE_OK);
			ck_assert_uint_eq(evbuffer_get_length(out),
			    strlen(chat_msg));
			evbuffer_drain(out, evbuffer_get_length(out));
		}
		evbuffer_free(z);
		evbuffer_free(out);
		deflate_free(tx);
		deflate_free(rx);
	}
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("deflate");
	TCase	*tc;

	tc = tcase_create("negotiate");
	tcase_add_loop_test(tc, test_negotiate_table, 0, NNEG);
	tcase_add_test(tc, test_negotiate_small_buffer);
	tcase_add_test(tc, test_negotiate_fallback);
	suite_add_tcase(s, tc);

	tc = tcase_create("send");
	tcase_add_test(tc, test_send_round_trip);
	tcase_add_test(tc, test_send_no_context_takeover);
	tcase_add_test(tc, test_send_small_window);
	tcase_add_test(tc, test_send_empty_and_incompressible);
	tcase_add_test(tc, test_server_to_server);
	suite_add_tcase(s, tc);

	tc = tcase_create("receive");
	tcase_add_test(tc, test_recv_context_takeover);
	tcase_add_test(tc, test_recv_no_context_takeover);
	tcase_add_test(tc, test_recv_bfinal_then_more);
	tcase_add_test(tc, test_recv_many_chains);
	tcase_add_test(tc, test_recv_empty_payload);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_recv_exact_limit);
	tcase_add_test(tc, test_recv_zip_bomb);
	tcase_add_loop_test(tc, test_recv_corrupt, 0, NCORRUPT);
	suite_add_tcase(s, tc);
	return s;
}
