/* check_outq.c: a plain connection's output ring (worker/outq.c) over a
 * socketpair: bytes come out in order, one reference per queued block,
 * a partial write keeps the rest (and its offset), the ring grows past
 * its first size, storage is given back once drained or cleared, and the
 * pool hands a drained ring to the next queue. */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "fanout.h"
#include "outq.h"

static void
pair(int sv[2], int sndbuf)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_ne(fcntl(sv[0], F_SETFL, O_NONBLOCK), -1);
	ck_assert_int_ne(fcntl(sv[1], F_SETFL, O_NONBLOCK), -1);
	if (sndbuf > 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
}

/* Read everything the peer has; returns the count. */
static size_t
drain(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

START_TEST(test_in_order)
{
	struct outq q = { 0 };
	struct fanout_block *a = fanout_bytes("hello ", 6);
	struct fanout_block *b = fanout_bytes("world", 5);
	uint8_t buf[64];
	int sv[2];

	pair(sv, 0);
	ck_assert_int_eq(outq_push(&q, a, NULL), 0);
	ck_assert_int_eq(outq_push(&q, b, NULL), 0);
	ck_assert_int_eq(outq_push(&q, a, NULL), 0);
	ck_assert_uint_eq(a->fb_refs, 3);
	ck_assert_uint_eq(q.oq_bytes, 17);
	ck_assert_int_eq(outq_write(&q, sv[0], NULL), OUTQ_DRAINED);
	ck_assert_uint_eq(drain(sv[1], buf, sizeof(buf)), 17);
	ck_assert(memcmp(buf, "hello worldhello ", 17) == 0);
	/* Drained: the references are back, the ring is gone. */
	ck_assert_uint_eq(a->fb_refs, 1);
	ck_assert_uint_eq(b->fb_refs, 1);
	ck_assert_ptr_null(q.oq_segs);
	ck_assert_uint_eq(q.oq_bytes, 0);
	fanout_release(a);
	fanout_release(b);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_partial_and_grow)
{
	enum { BLOCK = 1000, N = 300 };
	struct outq q = { 0 };
	uint8_t *pat = malloc(BLOCK), *buf = malloc(BLOCK * N);
	struct fanout_block *fb;
	size_t total = 0;
	int sv[2], rounds = 0;

	for (int i = 0; i < BLOCK; i++)
		pat[i] = (uint8_t)(i * 7);
	fb = fanout_bytes(pat, BLOCK);
	pair(sv, 4096);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(outq_push(&q, fb, NULL), 0);
	ck_assert_uint_ge(q.oq_cap, N);
	ck_assert_uint_eq(fb->fb_refs, N + 1);
	/* The socket takes a little at a time: the rest waits, and the
	 * bytes still come out whole and in order. */
	while (outq_write(&q, sv[0], NULL) == OUTQ_PARTIAL) {
		ck_assert_uint_gt(q.oq_bytes, 0);
		total += drain(sv[1], buf + total, BLOCK * N - total);
		rounds++;
	}
	total += drain(sv[1], buf + total, BLOCK * N - total);
	ck_assert_int_gt(rounds, 0);
	ck_assert_uint_eq(total, BLOCK * N);
	for (int i = 0; i < N; i++)
		ck_assert(memcmp(buf + i * BLOCK, pat, BLOCK) == 0);
	ck_assert_uint_eq(fb->fb_refs, 1);
	ck_assert_ptr_null(q.oq_segs);
	fanout_release(fb);
	free(pat);
	free(buf);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* The ring wraps: pushes after a partial drain land behind the rest. */
START_TEST(test_wrap)
{
	struct outq q = { 0 };
	struct fanout_block *fb[20];
	uint8_t buf[64];
	size_t got = 0;
	int sv[2];

	pair(sv, 0);
	for (int i = 0; i < 20; i++) {
		char c = (char)('a' + i);

		fb[i] = fanout_bytes(&c, 1);
	}
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(outq_push(&q, fb[i], NULL), 0);
	ck_assert_int_eq(outq_write(&q, sv[0], NULL), OUTQ_DRAINED);
	got += drain(sv[1], buf, sizeof(buf));
	for (int i = 6; i < 20; i++)
		ck_assert_int_eq(outq_push(&q, fb[i], NULL), 0);
	ck_assert_uint_eq(q.oq_count, 14);
	ck_assert_int_eq(outq_write(&q, sv[0], NULL), OUTQ_DRAINED);
	got += drain(sv[1], buf + got, sizeof(buf) - got);
	ck_assert_uint_eq(got, 20);
	ck_assert(memcmp(buf, "abcdefghijklmnopqrst", 20) == 0);
	for (int i = 0; i < 20; i++) {
		ck_assert_uint_eq(fb[i]->fb_refs, 1);
		fanout_release(fb[i]);
	}
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_clear_and_error)
{
	struct outq q = { 0 };
	struct fanout_block *fb = fanout_frame(0x1, "x", 1);
	int sv[2];

	pair(sv, 0);
	ck_assert_int_eq(outq_push(&q, fb, NULL), 0);
	outq_clear(&q, NULL);
	ck_assert_uint_eq(fb->fb_refs, 1);
	ck_assert_ptr_null(q.oq_segs);
	ck_assert_uint_eq(q.oq_bytes, 0);
	/* The peer is gone: an error, nothing lost from the count. */
	close(sv[1]);
	ck_assert_int_eq(outq_push(&q, fb, NULL), 0);
	ck_assert_int_eq(outq_write(&q, sv[0], NULL), OUTQ_ERROR);
	ck_assert_uint_eq(q.oq_bytes, 3);
	outq_clear(&q, NULL);
	ck_assert_uint_eq(fb->fb_refs, 1);
	fanout_release(fb);
	close(sv[0]);
}
END_TEST

/* A drained ring of the smallest size goes to the pool and comes back
 * for the next connection's first frame: no allocation then. */
START_TEST(test_pool)
{
	struct outq_pool pool = { 0 };
	struct outq q = { 0 }, r = { 0 };
	struct fanout_block *fb = fanout_bytes("x", 1);
	struct outq_seg *first;
	uint8_t buf[8];
	int sv[2];

	pair(sv, 0);
	ck_assert_int_eq(outq_push(&q, fb, &pool), 0);
	first = q.oq_segs;
	ck_assert_int_eq(outq_write(&q, sv[0], &pool), OUTQ_DRAINED);
	ck_assert_ptr_null(q.oq_segs);
	ck_assert_uint_eq(pool.op_n, 1);
	ck_assert_int_eq(outq_push(&r, fb, &pool), 0);
	ck_assert_ptr_eq(r.oq_segs, first);
	ck_assert_uint_eq(pool.op_n, 0);
	outq_clear(&r, &pool);
	ck_assert_uint_eq(pool.op_n, 1);
	outq_pool_clear(&pool);
	ck_assert_uint_eq(pool.op_n, 0);
	ck_assert_uint_eq(drain(sv[1], buf, sizeof(buf)), 1);
	fanout_release(fb);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("outq");
	TCase	*tc = tcase_create("ring");

	signal(SIGPIPE, SIG_IGN);
	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_partial_and_grow);
	tcase_add_test(tc, test_wrap);
	tcase_add_test(tc, test_clear_and_error);
	tcase_add_test(tc, test_pool);
	suite_add_tcase(s, tc);
	return s;
}
