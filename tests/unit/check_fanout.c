/* check_fanout.c: one framed message shared by many connections
 * (worker/fanout.c): the frame bytes (a table of lengths), one block
 * referenced by many evbuffers without a copy, the reference count (held
 * until the last evbuffer drains or is freed), and the compressed variant
 * per window size.  evbuffers need no event loop. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "check_main.h"
#include "deflate.h"
#include "fanout.h"
#include "ws_frame.h"

static uint8_t *
payload_of(size_t len)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)('a' + i % 26);
	return p;
}

/* Frames: the server's header (FIN, opcode, no mask) and the payload. */
struct frame_case {
	const char	*name;
	uint8_t		 opcode;
	size_t		 len;
	size_t		 hdr_len;
};

static const struct frame_case frame_cases[] = {
	{ "empty text", WS_OP_TEXT, 0, 2 },
	{ "one byte", WS_OP_TEXT, 1, 2 },
	{ "125: the last 7-bit length", WS_OP_TEXT, 125, 2 },
	{ "126: the first 16-bit length", WS_OP_TEXT, 126, 4 },
	{ "65535: the last 16-bit length", WS_OP_TEXT, 65535, 4 },
	{ "65536: the first 64-bit length", WS_OP_TEXT, 65536, 10 },
	{ "binary", WS_OP_BINARY, 300, 4 },
};
#define NFRAME_CASES	(int)(sizeof(frame_cases) / sizeof(frame_cases[0]))

START_TEST(test_frame)
{
	const struct frame_case *fc = &frame_cases[_i];
	uint8_t *p = payload_of(fc->len);
	struct fanout_block *fb = fanout_frame(fc->opcode, p, fc->len);
	const uint8_t *h = fb->fb_data;
	uint64_t n = 0;

	ck_assert_uint_eq(fb->fb_refs, 1);
	ck_assert_uint_eq(fb->fb_opcode, fc->opcode);
	ck_assert_msg(fb->fb_hdr_len == fc->hdr_len, "%s: header %zu",
	    fc->name, fb->fb_hdr_len);
	ck_assert_uint_eq(fb->fb_len, fc->hdr_len + fc->len);
	ck_assert_uint_eq(h[0], 0x80 | fc->opcode);	/* FIN, no RSV */
	ck_assert_uint_eq(h[1] & 0x80, 0);		/* not masked */
	if (fc->hdr_len == 2)
		n = h[1];
	else if (fc->hdr_len == 4) {
		ck_assert_uint_eq(h[1], 126);
		n = (uint64_t)h[2] << 8 | h[3];
	} else {
		ck_assert_uint_eq(h[1], 127);
		for (int i = 2; i < 10; i++)
			n = n << 8 | h[i];
	}
	ck_assert_uint_eq(n, fc->len);
	ck_assert_ptr_eq(fanout_payload(fb), fb->fb_data + fc->hdr_len);
	ck_assert_uint_eq(fanout_payload_len(fb), fc->len);
	ck_assert(memcmp(fanout_payload(fb), p, fc->len) == 0);
	for (int i = 0; i < FANOUT_WINDOWS; i++)
		ck_assert_ptr_null(fb->fb_deflated[i]);
	fanout_release(fb);
	free(p);
}
END_TEST

/* Many outputs hold the one block: each reads the frame, none copied it,
 * and every reference is counted. */
START_TEST(test_shared_by_many)
{
	enum { N = 1000 };
	static struct evbuffer *out[N];
	const char *msg = "{\"type\":\"message\",\"room\":\"lobby\"}";
	struct fanout_block *fb = fanout_frame(WS_OP_TEXT, msg, strlen(msg));

	for (int i = 0; i < N; i++) {
		ck_assert_ptr_nonnull(out[i] = evbuffer_new());
		ck_assert_int_eq(fanout_append(fb, out[i]), 0);
	}
	ck_assert_uint_eq(fb->fb_refs, N + 1);
	for (int i = 0; i < N; i++) {
		struct evbuffer_iovec v;

		ck_assert_uint_eq(evbuffer_get_length(out[i]), fb->fb_len);
		ck_assert_int_eq(evbuffer_peek(out[i], -1, NULL, &v, 1), 1);
		ck_assert_ptr_eq(v.iov_base, fb->fb_data);
		ck_assert_uint_eq(v.iov_len, fb->fb_len);
	}
	/* The caller lets go: the outputs keep it. */
	fanout_release(fb);
	ck_assert_uint_eq(fb->fb_refs, N);
	ck_assert(memcmp(evbuffer_pullup(out[N - 1], -1) + 2, msg,
	    strlen(msg)) == 0);
	for (int i = 0; i < N; i++)
		evbuffer_free(out[i]);
}
END_TEST

/* A reference goes with the last byte of its frame drained, not before;
 * the block is freed with the last one (run under LSan to see it go). */
START_TEST(test_released_on_drain)
{
	struct fanout_block *fb = fanout_frame(WS_OP_TEXT, "hello", 5);
	struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();

	ck_assert_int_eq(fanout_append(fb, a), 0);
	ck_assert_int_eq(fanout_append(fb, b), 0);
	/* Before and after it, other bytes of each connection. */
	evbuffer_add(a, "x", 1);
	evbuffer_prepend(b, "y", 1);
	fb->fb_refs++;			/* the test's own look at it */
	fanout_release(fb);		/* the caller's */
	ck_assert_uint_eq(fb->fb_refs, 3);
	/* A partial write keeps the reference. */
	evbuffer_drain(a, 3);
	ck_assert_uint_eq(fb->fb_refs, 3);
	ck_assert_uint_eq(evbuffer_get_length(a), fb->fb_len - 3 + 1);
	evbuffer_drain(a, fb->fb_len - 3);
	ck_assert_uint_eq(fb->fb_refs, 2);
	ck_assert_uint_eq(evbuffer_get_length(a), 1);
	/* b: drained by its leading byte only, then the frame too. */
	evbuffer_drain(b, 1);
	ck_assert_uint_eq(fb->fb_refs, 2);
	evbuffer_drain(b, evbuffer_get_length(b));
	ck_assert_uint_eq(fb->fb_refs, 1);
	fanout_release(fb);		/* the last: freed */
	evbuffer_free(a);
	evbuffer_free(b);
}
END_TEST

/* Moving the bytes to another evbuffer (as a write path may) moves the
 * reference; freeing an evbuffer unread releases it. */
START_TEST(test_moved_and_freed)
{
	struct fanout_block *fb = fanout_frame(WS_OP_TEXT, "hello", 5);
	struct evbuffer *a = evbuffer_new(), *b = evbuffer_new(),
	    *c = evbuffer_new();

	fanout_append(fb, a);
	fanout_append(fb, c);
	fb->fb_refs++;
	fanout_release(fb);
	ck_assert_int_eq(evbuffer_add_buffer(b, a), 0);
	ck_assert_uint_eq(evbuffer_get_length(a), 0);
	ck_assert_uint_eq(fb->fb_refs, 3);
	evbuffer_free(a);
	ck_assert_uint_eq(fb->fb_refs, 3);
	evbuffer_drain(b, fb->fb_len);
	ck_assert_uint_eq(fb->fb_refs, 2);
	evbuffer_free(c);
	ck_assert_uint_eq(fb->fb_refs, 1);
	fanout_release(fb);
	evbuffer_free(b);
}
END_TEST

/* Compressed variants. */

static struct deflate_ctx *
snct_ctx(int bits)
{
	struct deflate_params dp = {
		.dp_server_no_context_takeover = true,
		.dp_client_no_context_takeover = true,
		.dp_server_window_bits = bits,
		.dp_client_window_bits = 15,
	};

	return deflate_new(&dp);
}

/* What a client reads from a compressed frame's payload (RFC 7692:
 * append 00 00 ff ff, raw inflate). */
static size_t
client_inflate(const uint8_t *z, size_t zlen, uint8_t *out, size_t cap)
{
	static const uint8_t tail[4] = { 0x00, 0x00, 0xff, 0xff };
	z_stream s;
	size_t n;

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(inflateInit2(&s, -15), Z_OK);
	s.next_out = out;
	s.avail_out = (uInt)cap;
	s.next_in = (Bytef *)(uintptr_t)z;
	s.avail_in = (uInt)zlen;
	ck_assert_int_ne(inflate(&s, Z_SYNC_FLUSH), Z_STREAM_ERROR);
	s.next_in = (Bytef *)(uintptr_t)tail;
	s.avail_in = sizeof(tail);
	ck_assert_int_ne(inflate(&s, Z_SYNC_FLUSH), Z_STREAM_ERROR);
	n = cap - s.avail_out;
	inflateEnd(&s);
	return n;
}

static const char *long_msg =
    "{\"type\":\"message\",\"room\":\"lobby\",\"seq\":1,\"from\":\"alice\","
    "\"text\":\"the same words, the same words, the same words again\"}";

/* The compressed frame: RSV1 set, same opcode, and a client inflates it
 * back to the payload. */
START_TEST(test_deflated_frame)
{
	struct fanout_block *fb = fanout_frame(WS_OP_TEXT, long_msg,
	    strlen(long_msg)), *d;
	struct deflate_ctx *dc = snct_ctx(15);
	uint8_t buf[1024];
	size_t n;

	d = fanout_deflated(fb, dc);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_eq(fb->fb_deflated[15 - 9], d);
	ck_assert_uint_eq(d->fb_data[0], 0x80 | 0x40 | WS_OP_TEXT);
	ck_assert_uint_eq(d->fb_opcode, WS_OP_TEXT);
	ck_assert_uint_lt(fanout_payload_len(d), strlen(long_msg));
	n = client_inflate(fanout_payload(d), fanout_payload_len(d), buf,
	    sizeof(buf));
	ck_assert_uint_eq(n, strlen(long_msg));
	ck_assert(memcmp(buf, long_msg, n) == 0);
	fanout_release(fb);
	deflate_free(dc);
}
END_TEST

/* Built once per window size: the same window gets the same block, also
 * through another connection's deflater; another window gets its own. */
START_TEST(test_deflated_cached)
{
	struct fanout_block *fb = fanout_frame(WS_OP_TEXT, long_msg,
	    strlen(long_msg));
	struct deflate_ctx *a = snct_ctx(15), *b = snct_ctx(15),
	    *c = snct_ctx(10), *e = snct_ctx(9);
	struct fanout_block *da = fanout_deflated(fb, a);

	ck_assert_ptr_eq(fanout_deflated(fb, a), da);
	ck_assert_ptr_eq(fanout_deflated(fb, b), da);
	ck_assert_ptr_ne(fanout_deflated(fb, c), da);
	ck_assert_ptr_eq(fanout_deflated(fb, c), fb->fb_deflated[10 - 9]);
	ck_assert_ptr_eq(fanout_deflated(fb, e), fb->fb_deflated[0]);
	ck_assert_uint_eq(da->fb_refs, 1);	/* fb's */
	for (int i = 0; i < FANOUT_WINDOWS; i++)
		ck_assert((fb->fb_deflated[i] != NULL) ==
		    (i == 0 || i == 1 || i == 6));
	fanout_release(fb);
	deflate_free(a);
	deflate_free(b);
	deflate_free(c);
	deflate_free(e);
}
END_TEST

/* Sharing is sound: without context takeover a deflater that has already
 * compressed other messages makes the very bytes a fresh one does. */
START_TEST(test_deflated_same_bytes)
{
	struct deflate_ctx *used = snct_ctx(12), *fresh = snct_ctx(12);
	struct evbuffer *z = evbuffer_new();
	struct fanout_block *f1, *f2, *d1, *d2;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(deflate_compress(used, long_msg + i,
		    strlen(long_msg) - i, z), 0);
	f1 = fanout_frame(WS_OP_TEXT, long_msg, strlen(long_msg));
	f2 = fanout_frame(WS_OP_TEXT, long_msg, strlen(long_msg));
	d1 = fanout_deflated(f1, used);
	d2 = fanout_deflated(f2, fresh);
	ck_assert_ptr_nonnull(d1);
	ck_assert_ptr_nonnull(d2);
	ck_assert_uint_eq(d1->fb_len, d2->fb_len);
	ck_assert(memcmp(d1->fb_data, d2->fb_data, d1->fb_len) == 0);
	fanout_release(f1);
	fanout_release(f2);
	evbuffer_free(z);
	deflate_free(used);
	deflate_free(fresh);
}
END_TEST

/* A window size outside 9..15 has no slot: NULL, nothing cached. */
START_TEST(test_deflated_bad_window)
{
	struct fanout_block *fb = fanout_frame(WS_OP_TEXT, long_msg,
	    strlen(long_msg));
	struct deflate_ctx *lo = snct_ctx(8), *hi = snct_ctx(16);

	ck_assert_ptr_null(fanout_deflated(fb, lo));
	ck_assert_ptr_null(fanout_deflated(fb, hi));
	for (int i = 0; i < FANOUT_WINDOWS; i++)
		ck_assert_ptr_null(fb->fb_deflated[i]);
	fanout_release(fb);
	deflate_free(lo);
	deflate_free(hi);
}
END_TEST

/* The compressed block outlives the plain one while outputs hold it:
 * releasing the plain block gives back only its own reference. */
START_TEST(test_deflated_outlives_plain)
{
	struct fanout_block *fb = fanout_frame(WS_OP_TEXT, long_msg,
	    strlen(long_msg)), *d;
	struct deflate_ctx *dc = snct_ctx(15);
	struct evbuffer *plain = evbuffer_new(), *zout = evbuffer_new();
	uint8_t buf[1024];
	size_t len;

	d = fanout_deflated(fb, dc);
	ck_assert_int_eq(fanout_append(fb, plain), 0);
	ck_assert_int_eq(fanout_append(d, zout), 0);
	ck_assert_uint_eq(d->fb_refs, 2);
	fanout_release(fb);		/* the caller's: fb lives in plain */
	ck_assert_uint_eq(d->fb_refs, 2);
	evbuffer_free(plain);		/* fb freed: its hold on d goes */
	ck_assert_uint_eq(d->fb_refs, 1);
	len = evbuffer_get_length(zout);
	ck_assert_uint_eq(len, d->fb_len);
	memcpy(buf, evbuffer_pullup(zout, -1), len);
	ck_assert_uint_eq(client_inflate(buf + d->fb_hdr_len,
	    len - d->fb_hdr_len, buf + len, sizeof(buf) - len),
	    strlen(long_msg));
	evbuffer_drain(zout, len);	/* d freed */
	evbuffer_free(zout);
	deflate_free(dc);
}
END_TEST

START_TEST(test_release_null)
{
	fanout_release(NULL);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("fanout");
	TCase	*tc;

	tc = tcase_create("frame");
	tcase_add_loop_test(tc, test_frame, 0, NFRAME_CASES);
	suite_add_tcase(s, tc);

	tc = tcase_create("references");
	tcase_add_test(tc, test_shared_by_many);
	tcase_add_test(tc, test_released_on_drain);
	tcase_add_test(tc, test_moved_and_freed);
	tcase_add_test(tc, test_release_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("deflated");
	tcase_add_test(tc, test_deflated_frame);
	tcase_add_test(tc, test_deflated_cached);
	tcase_add_test(tc, test_deflated_same_bytes);
	tcase_add_test(tc, test_deflated_bad_window);
	tcase_add_test(tc, test_deflated_outlives_plain);
	suite_add_tcase(s, tc);
	return s;
}
