/* check_ratelimit.c: token buckets and the refusal window (ratelimit.c)
 * and the per-user and per-address accounting on top (quota.c), all on a
 * fake clock. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "config.h"
#include "quota.h"
#include "ratelimit.h"

#define T0	1000000		/* a fake "now" well away from zero */

/* Take n tokens; returns how many were granted. */
static int
take_n(struct rl_bucket *b, double rate, double burst, uint64_t now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += rl_take(b, rate, burst, now, NULL);
	return ok;
}

/* Buckets. */

START_TEST(test_burst)
{
	struct rl_bucket b;
	uint64_t retry = 0;

	rl_bucket_init(&b, 20, T0);
	ck_assert_int_eq(take_n(&b, 20, 20, T0, 20), 20);
	ck_assert(!rl_take(&b, 20, 20, T0, &retry));
	/* 20/s: one token every 50 ms. */
	ck_assert_uint_eq(retry, 50);
}
END_TEST

START_TEST(test_refill)
{
	struct rl_bucket b;
	uint64_t retry = 0;

	rl_bucket_init(&b, 5, T0);
	ck_assert_int_eq(take_n(&b, 5, 5, T0, 10), 5);
	/* 5/s: 199 ms is not enough, 200 ms is one token, exactly. */
	ck_assert(!rl_take(&b, 5, 5, T0 + 199, &retry));
	ck_assert_uint_eq(retry, 1);
	ck_assert(rl_take(&b, 5, 5, T0 + 200, &retry));
	ck_assert(!rl_take(&b, 5, 5, T0 + 200, &retry));
	ck_assert_uint_eq(retry, 200);
	/* Half a second later: two and a half tokens, so two. */
	ck_assert_int_eq(take_n(&b, 5, 5, T0 + 700, 10), 2);
	ck_assert(!rl_take(&b, 5, 5, T0 + 700, &retry));
	ck_assert_uint_eq(retry, 100);
	/* Waiting exactly retry_after_ms is always enough. */
	ck_assert(rl_take(&b, 5, 5, T0 + 700 + retry, NULL));
}
END_TEST

START_TEST(test_retry_after_rates)
{
	static const struct {
		double		rate;
		uint64_t	want;	/* from empty */
	} cases[] = {
		{ 1, 1000 }, { 3, 334 }, { 7, 143 }, { 1000, 1 },
		{ 1000000, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rl_bucket b;
		uint64_t retry = 0, now = T0;

		rl_bucket_init(&b, 1, now);
		ck_assert(rl_take(&b, cases[i].rate, 1, now, NULL));
		ck_assert(!rl_take(&b, cases[i].rate, 1, now, &retry));
		ck_assert_msg(retry == cases[i].want, "rate %g: %llu",
		    cases[i].rate, (unsigned long long)retry);
		/* retry is enough, and (for slow rates) one ms less is not. */
		if (retry > 1)
			ck_assert(!rl_take(&b, cases[i].rate, 1,
			    now + retry - 1, NULL));
		ck_assert(rl_take(&b, cases[i].rate, 1, now + retry, NULL));
	}
}
END_TEST

START_TEST(test_burst_cap)
{
	struct rl_bucket b;

	/* Idle for an hour: still only burst tokens. */
	rl_bucket_init(&b, 3, T0);
	ck_assert_int_eq(take_n(&b, 1, 3, T0, 3), 3);
	ck_assert_int_eq(take_n(&b, 1, 3, T0 + 3600 * 1000, 10), 3);
}
END_TEST

START_TEST(test_huge_gap)
{
	struct rl_bucket b;
	uint64_t retry = 0;

	/* From 0 to the end of time at the highest configurable rate:
	 * no overflow, no NaN, just a full bucket. */
	rl_bucket_init(&b, 1000000, 0);
	ck_assert_int_eq(take_n(&b, 1000000, 1000000, 0, 10), 10);
	ck_assert(rl_full(&b, 1000000, 1000000, UINT64_MAX));
	ck_assert_int_eq(take_n(&b, 1000000, 1000000, UINT64_MAX, 5), 5);
	ck_assert(b.tokens > 999990 && b.tokens <= 1000000);
	/* And a bucket starting empty long ago. */
	rl_bucket_init(&b, 2, 0);
	ck_assert_int_eq(take_n(&b, 1, 2, 0, 5), 2);
	ck_assert(!rl_take(&b, 1, 2, 0, &retry));
	ck_assert_int_eq(take_n(&b, 1, 2, UINT64_MAX - 1, 5), 2);
}
END_TEST

START_TEST(test_clock_backwards)
{
	struct rl_bucket b;
	uint64_t retry = 0;

	rl_bucket_init(&b, 1, T0);
	ck_assert(rl_take(&b, 1, 1, T0, NULL));
	/* An earlier now adds nothing and does not move last_ms back. */
	ck_assert(!rl_take(&b, 1, 1, T0 - 500, &retry));
	ck_assert_uint_eq(retry, 1000);
	ck_assert_uint_eq(b.last_ms, T0);
	ck_assert(rl_take(&b, 1, 1, T0 + 1000, NULL));
}
END_TEST

START_TEST(test_rate_change)
{
	struct rl_bucket b;

	/* A reload lowering burst clamps at once; raising it fills over
	 * time, not at once. */
	rl_bucket_init(&b, 10, T0);
	ck_assert_int_eq(take_n(&b, 10, 2, T0, 10), 2);
	ck_assert(!rl_full(&b, 10, 20, T0));
	ck_assert(!rl_full(&b, 10, 20, T0 + 1999));
	ck_assert(rl_full(&b, 10, 20, T0 + 2000));
}
END_TEST

START_TEST(test_full)
{
	struct rl_bucket b;

	rl_bucket_init(&b, 4, T0);
	ck_assert(rl_full(&b, 2, 4, T0));
	ck_assert(rl_take(&b, 2, 4, T0, NULL));
	ck_assert(!rl_full(&b, 2, 4, T0));
	ck_assert(!rl_full(&b, 2, 4, T0 + 499));
	ck_assert(rl_full(&b, 2, 4, T0 + 500));
}
END_TEST

/* The window. */

START_TEST(test_window_counts)
{
	struct rl_window w;

	memset(&w, 0, sizeof(w));
	ck_assert_uint_eq(rl_window_count(&w, T0), 0);
	for (int i = 1; i <= 30; i++)
		ck_assert_uint_eq(rl_window_add(&w, T0 + (uint64_t)i * 100),
		    (uint32_t)i);
	ck_assert_uint_eq(rl_window_count(&w, T0 + 3000), 30);
	/* Events leave the window ten one-second slots later. */
	ck_assert_uint_eq(rl_window_count(&w, T0 + 9999), 30);
	ck_assert_uint_lt(rl_window_count(&w, T0 + 10999), 30);
	ck_assert_uint_eq(rl_window_count(&w, T0 + 13100), 0);
	ck_assert_uint_eq(rl_window_add(&w, T0 + 13100), 1);
}
END_TEST

START_TEST(test_window_sliding)
{
	struct rl_window w;
	uint64_t now = 5000000;		/* a slot boundary */

	memset(&w, 0, sizeof(w));
	/* One event a second: the window always holds the last ten. */
	for (int i = 0; i < 100; i++) {
		uint32_t n = rl_window_add(&w, now + (uint64_t)i * 1000);

		ck_assert_uint_eq(n, i < 10 ? (uint32_t)i + 1 : 10);
	}
	/* A long gap clears everything. */
	ck_assert_uint_eq(rl_window_add(&w, now + 10000000), 1);
	/* Back in time: counted in the newest slot. */
	ck_assert_uint_eq(rl_window_add(&w, now), 2);
}
END_TEST

START_TEST(test_window_burst_threshold)
{
	struct rl_window w;
	uint32_t n = 0;

	/* 51 refusals in one go are "more than 50 in 10 s". */
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 51; i++)
		n = rl_window_add(&w, T0 + (uint64_t)i);
	ck_assert_uint_gt(n, 50);
	/* 50 spread over 20 s never are. */
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 50; i++)
		ck_assert_uint_le(rl_window_add(&w, T0 + (uint64_t)i * 400),
		    26);
}
END_TEST

/* quota.c */

static struct parley_config cfg;

static void
quota_setup(void)
{
	cfg_defaults(&cfg);
	cfg.send_rate = 2;
	cfg.send_burst = 4;
	cfg.typing_rate = 1;
	cfg.join_rate = 3;
	cfg.query_rate = 2;
	cfg.abuse_threshold = 5;
	cfg.max_conns_per_user = 2;
	cfg.max_conns_per_ip = 3;
	cfg.conn_rate_per_ip = 1;
	cfg.conn_burst_per_ip = 5;
	cfg.list_rate = 2;
	cfg.list_burst = 3;
	cfg.read_rate = 4;
	cfg.read_burst = 6;
}

static void
quota_teardown(void)
{
	cfg_free(&cfg);
}

START_TEST(test_quota_classes)
{
	struct quota q;
	struct quota_user *u, *v;
	uint64_t retry;
	bool abuse;

	quota_init(&q);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &u),
	    QUOTA_OK);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "bob", false, T0, &v),
	    QUOTA_OK);
	/* send: burst 4, then retry in 500 ms (2/s). */
	for (int i = 0; i < 4; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_SEND, T0, &retry,
		    &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_SEND, T0, &retry, &abuse));
	ck_assert_uint_eq(retry, 500);
	ck_assert(!abuse);
	/* Other classes and other users have their own buckets; NONE is
	 * never limited. */
	ck_assert(quota_request(u, &cfg, QUOTA_TYPING, T0, &retry, &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_TYPING, T0, &retry, &abuse));
	ck_assert_uint_eq(retry, 1000);
	for (int i = 0; i < 3; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_JOIN, T0, &retry,
		    &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_JOIN, T0, &retry, &abuse));
	ck_assert_uint_eq(retry, 334);
	for (int i = 0; i < 2; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_QUERY, T0, &retry,
		    &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_QUERY, T0, &retry, &abuse));
	for (int i = 0; i < 1000; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_NONE, T0, &retry,
		    &abuse));
	ck_assert(quota_request(v, &cfg, QUOTA_SEND, T0, &retry, &abuse));
	/* Refill. */
	ck_assert(quota_request(u, &cfg, QUOTA_SEND, T0 + 500, &retry,
	    &abuse));
	quota_free(&q);
}
END_TEST

/* rooms and presence (list), and read: each its own bucket with its own
 * burst, refilling at its own rate; their refusals count for abuse. */
START_TEST(test_quota_list_read_classes)
{
	struct quota q;
	struct quota_user *u;
	uint64_t retry;
	bool abuse;

	quota_init(&q);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "carol", false, T0, &u),
	    QUOTA_OK);
	for (int i = 0; i < 3; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_LIST, T0, &retry,
		    &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_LIST, T0, &retry, &abuse));
	ck_assert_uint_eq(retry, 500);		/* 2/s */
	for (int i = 0; i < 6; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_READ, T0, &retry,
		    &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_READ, T0, &retry, &abuse));
	ck_assert_uint_eq(retry, 250);		/* 4/s */
	/* Spending one class leaves the others alone. */
	ck_assert(quota_request(u, &cfg, QUOTA_SEND, T0, &retry, &abuse));
	/* Refill at each class's rate: 250 ms gives read one token and list
	 * none; 500 ms gives list one. */
	ck_assert(quota_request(u, &cfg, QUOTA_READ, T0 + 250, &retry,
	    &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_LIST, T0 + 250, &retry,
	    &abuse));
	ck_assert_uint_eq(retry, 250);
	ck_assert(quota_request(u, &cfg, QUOTA_LIST, T0 + 500, &retry,
	    &abuse));
	/* The burst caps what a long idle refills. */
	for (int i = 0; i < 3; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_LIST, T0 + 60000,
		    &retry, &abuse));
	ck_assert(!quota_request(u, &cfg, QUOTA_LIST, T0 + 60000, &retry,
	    &abuse));
	/* Refusals of these classes count toward abuse_threshold (5): one
	 * so far in this 10 s window, the sixth is abuse. */
	for (int i = 0; i < 4; i++) {
		ck_assert(!quota_request(u, &cfg, QUOTA_LIST, T0 + 60000,
		    &retry, &abuse));
		ck_assert(!abuse);
	}
	ck_assert(!quota_request(u, &cfg, QUOTA_LIST, T0 + 60000, &retry,
	    &abuse));
	ck_assert(abuse);
	quota_free(&q);
}
END_TEST

START_TEST(test_quota_abuse)
{
	struct quota q;
	struct quota_user *u;
	uint64_t retry;
	bool abuse = false;
	int refusals = 0;

	quota_init(&q);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &u),
	    QUOTA_OK);
	/* threshold 5: the sixth refusal within 10 s is abuse. */
	for (int i = 0; i < 4; i++)
		ck_assert(quota_request(u, &cfg, QUOTA_SEND, T0, &retry,
		    &abuse));
	while (!quota_request(u, &cfg, QUOTA_SEND, T0 + 10, &retry, &abuse)) {
		refusals++;
		if (abuse)
			break;
	}
	ck_assert(abuse);
	ck_assert_int_eq(refusals, 6);
	/* Twelve seconds later the window is empty again. */
	ck_assert(quota_request(u, &cfg, QUOTA_SEND, T0 + 12000, &retry,
	    &abuse));
	ck_assert(quota_request(u, &cfg, QUOTA_SEND, T0 + 12000, &retry,
	    &abuse));
	for (int i = 0; i < 5; i++) {
		quota_request(u, &cfg, QUOTA_SEND, T0 + 12000, &retry, &abuse);
		ck_assert(!abuse);
	}
	quota_free(&q);
}
END_TEST

START_TEST(test_quota_user_conns)
{
	struct quota q;
	struct quota_user *a, *b, *c, *r;

	quota_init(&q);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &a),
	    QUOTA_OK);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &b),
	    QUOTA_OK);
	ck_assert_ptr_eq(a, b);
	/* One over: refused and not counted. */
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &c),
	    QUOTA_TOO_MANY);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(a->qu_conns, 2);
	/* A re-registration is counted but never refused. */
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", true, T0, &r),
	    QUOTA_OK);
	ck_assert_int_eq(a->qu_conns, 3);
	quota_user_close(&q, r, T0);
	quota_user_close(&q, a, T0);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &c),
	    QUOTA_OK);
	quota_user_close(&q, c, T0);
	quota_user_close(&q, b, T0);
	ck_assert_int_eq(b->qu_conns, 0);
	quota_free(&q);
}
END_TEST

START_TEST(test_quota_addr)
{
	struct quota q;
	struct quota_addr *e[8], *x;

	quota_init(&q);
	/* Three at once (max 3), the fourth is one too many. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
		    T0, &e[i], NULL), QUOTA_OK);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0,
	    &x, NULL), QUOTA_TOO_MANY);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(e[0]->qa_conns, 3);
	/* Another address is independent. */
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.2", false, T0,
	    &e[3], NULL), QUOTA_OK);
	/* Burst 5: that refused attempt took the fourth token; after one
	 * close the fifth attempt is allowed, the sixth is too fast. */
	quota_addr_close(&q, e[0], T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0,
	    &e[0], NULL), QUOTA_OK);
	quota_addr_close(&q, e[0], T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0,
	    &x, NULL), QUOTA_TOO_FAST);
	/* A resumed connection is counted even now, and over the max. */
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", true, T0,
	    &e[0], NULL), QUOTA_OK);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", true, T0,
	    &e[4], NULL), QUOTA_OK);
	ck_assert_int_eq(e[0]->qa_conns, 4);
	/* One token a second. */
	quota_addr_close(&q, e[0], T0);
	quota_addr_close(&q, e[4], T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
	    T0 + 1000, &e[0], NULL), QUOTA_OK);
	quota_free(&q);
}
END_TEST

START_TEST(test_quota_sweep)
{
	struct quota q;
	struct quota_user *u;
	struct quota_addr *a, *b;
	uint64_t retry;
	bool abuse;

	quota_init(&q);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &u),
	    QUOTA_OK);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0,
	    &a, NULL), QUOTA_OK);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.2", false, T0,
	    &b, NULL), QUOTA_OK);
	/* Live entries stay. */
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 100000), 0);
	/* Closed with a full bucket: gone at the next sweep.  Closed with
	 * tokens spent: kept until refilled (1/s from 4 of 5: 1 s). */
	quota_addr_close(&q, b, T0 + 100000);
	quota_addr_close(&q, a, T0 + 100000);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 100000), 2);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
	    T0 + 100000, &a, NULL), QUOTA_OK);
	quota_addr_close(&q, a, T0 + 100000);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 100500), 0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 101000), 1);
	/* A user with refusals in the window is kept; an idle one past
	 * QUOTA_IDLE_MAX_MS is not, whatever its state. */
	for (int i = 0; i < 10; i++)
		quota_request(u, &cfg, QUOTA_SEND, T0 + 200000, &retry,
		    &abuse);
	quota_user_close(&q, u, T0 + 200000);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 205000), 0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 200000 +
	    QUOTA_IDLE_MAX_MS), 1);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &u),
	    QUOTA_OK);
	ck_assert_int_eq(u->qu_conns, 1);
	quota_free(&q);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("ratelimit");
	TCase	*tc;

	tc = tcase_create("bucket");
	tcase_add_test(tc, test_burst);
	tcase_add_test(tc, test_refill);
	tcase_add_test(tc, test_retry_after_rates);
	tcase_add_test(tc, test_burst_cap);
	tcase_add_test(tc, test_huge_gap);
	tcase_add_test(tc, test_clock_backwards);
	tcase_add_test(tc, test_rate_change);
	tcase_add_test(tc, test_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("window");
	tcase_add_test(tc, test_window_counts);
	tcase_add_test(tc, test_window_sliding);
	tcase_add_test(tc, test_window_burst_threshold);
	suite_add_tcase(s, tc);

	tc = tcase_create("quota");
	tcase_add_checked_fixture(tc, quota_setup, quota_teardown);
	tcase_add_test(tc, test_quota_classes);
	tcase_add_test(tc, test_quota_abuse);
	tcase_add_test(tc, test_quota_list_read_classes);
	tcase_add_test(tc, test_quota_user_conns);
	tcase_add_test(tc, test_quota_addr);
	tcase_add_test(tc, test_quota_sweep);
	suite_add_tcase(s, tc);
	return s;
}
