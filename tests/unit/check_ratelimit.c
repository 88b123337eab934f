/* check_ratelimit.c: token buckets and the refusal window (ratelimit.c)
 * on a fake clock.  The per-user and per-address accounting on top
 * (quota.c) is check_quota.c's. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
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
	ck_assert(b.rb_tokens > 999990 && b.rb_tokens <= 1000000);
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
	ck_assert_uint_eq(b.rb_last_ms, T0);
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
	return s;
}
