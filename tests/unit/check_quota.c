/* check_quota.c: the per-user and per-address accounting of quota.c on a
 * fake clock: the request classes' buckets (a table), the abuse window,
 * concurrent connections, the connection-rate bucket, resumed
 * registrations and the sweep.  The buckets underneath are
 * check_ratelimit.c's. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "config.h"
#include "quota.h"

#define T0	1000000		/* a fake "now" well away from zero */

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

/* A fresh quota with one connection of user. */
static struct quota_user *
open_user(struct quota *q, const char *user, uint64_t now)
{
	struct quota_user *u;

	ck_assert_int_eq(quota_user_open(q, &cfg, user, false, now, &u),
	    QUOTA_OK);
	ck_assert_ptr_nonnull(u);
	return u;
}

/* n requests of class c at now, every one granted (no refusal counted). */
static void
take(struct quota_user *u, enum quota_class c, uint64_t now, int n)
{
	uint64_t retry;
	bool abuse;

	for (int i = 0; i < n; i++)
		ck_assert(quota_request(u, &cfg, c, now, &retry, &abuse));
}

/* Requests of class c at now until one is refused; returns how many were
 * granted (at most limit). */
static int
spend(struct quota_user *u, enum quota_class c, uint64_t now, int limit)
{
	uint64_t retry;
	bool abuse;
	int n = 0;

	while (n < limit && quota_request(u, &cfg, c, now, &retry, &abuse))
		n++;
	return n;
}

/* The classes: each its burst, then a refusal telling when the next
 * token comes (1000 / rate, rounded up), and that wait is enough. */
struct class_case {
	const char		*name;
	enum quota_class	 c;
	int			 burst;
	uint64_t		 retry;
};

static const struct class_case class_cases[] = {
	{ "send: send_rate 2, send_burst 4", QUOTA_SEND, 4, 500 },
	{ "typing: burst = typing_rate 1", QUOTA_TYPING, 1, 1000 },
	{ "join: burst = join_rate 3", QUOTA_JOIN, 3, 334 },
	{ "query: burst = query_rate 2", QUOTA_QUERY, 2, 500 },
	{ "list: list_rate 2, list_burst 3", QUOTA_LIST, 3, 500 },
	{ "read: read_rate 4, read_burst 6", QUOTA_READ, 6, 250 },
};
#define NCLASS_CASES	(int)(sizeof(class_cases) / sizeof(class_cases[0]))

START_TEST(test_class_bucket)
{
	const struct class_case *cc = &class_cases[_i];
	struct quota q;
	struct quota_user *u;
	uint64_t retry = 0;
	bool abuse = true;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	ck_assert_msg(spend(u, cc->c, T0, 1000) == cc->burst, "%s", cc->name);
	ck_assert(!quota_request(u, &cfg, cc->c, T0, &retry, &abuse));
	ck_assert_msg(retry == cc->retry, "%s: retry %llu", cc->name,
	    (unsigned long long)retry);
	ck_assert(!abuse);
	if (cc->retry > 1)
		ck_assert(!quota_request(u, &cfg, cc->c, T0 + cc->retry - 1,
		    &retry, &abuse));
	ck_assert_msg(quota_request(u, &cfg, cc->c, T0 + cc->retry, &retry,
	    &abuse), "%s: waiting retry_after_ms was not enough", cc->name);
	ck_assert_uint_eq(retry, 0);
	/* A long idle refills no more than the burst. */
	ck_assert_int_eq(spend(u, cc->c, T0 + 3600 * 1000, 1000), cc->burst);
	quota_free(&q);
}
END_TEST

/* Spending one class to the end leaves every other class its burst. */
START_TEST(test_class_independent)
{
	const struct class_case *cc = &class_cases[_i];
	struct quota q;
	struct quota_user *u;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	spend(u, cc->c, T0, 1000);
	for (int j = 0; j < NCLASS_CASES; j++)
		if (class_cases[j].c != cc->c)
			ck_assert_msg(spend(u, class_cases[j].c, T0, 1000) ==
			    class_cases[j].burst, "%s after %s",
			    class_cases[j].name, cc->name);
	quota_free(&q);
}
END_TEST

/* QUOTA_NONE, and anything out of range, is never limited. */
START_TEST(test_class_none)
{
	struct quota q;
	struct quota_user *u;
	uint64_t retry = 7;
	bool abuse = true;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	ck_assert_int_eq(spend(u, QUOTA_NONE, T0, 10000), 10000);
	ck_assert_int_eq(spend(u, QUOTA_NCLASSES, T0, 10000), 10000);
	ck_assert(quota_request(u, &cfg, QUOTA_NONE, T0, &retry, &abuse));
	ck_assert_uint_eq(retry, 0);
	ck_assert(!abuse);
	quota_free(&q);
}
END_TEST

/* Users have their own buckets. */
START_TEST(test_users_independent)
{
	struct quota q;
	struct quota_user *a, *b;

	quota_init(&q);
	a = open_user(&q, "alice", T0);
	b = open_user(&q, "bob", T0);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(spend(a, QUOTA_SEND, T0, 1000), 4);
	ck_assert_int_eq(spend(b, QUOTA_SEND, T0, 1000), 4);
	quota_free(&q);
}
END_TEST

/* A user's connections share one entry, so one set of buckets. */
START_TEST(test_user_conns_share_buckets)
{
	struct quota q;
	struct quota_user *a, *b;

	quota_init(&q);
	a = open_user(&q, "alice", T0);
	b = open_user(&q, "alice", T0);
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(a->qu_conns, 2);
	take(a, QUOTA_SEND, T0, 3);
	ck_assert_int_eq(spend(b, QUOTA_SEND, T0, 1000), 1);
	quota_free(&q);
}
END_TEST

/* Closing the last connection and opening again (before a sweep) does not
 * reset a limit. */
START_TEST(test_user_reopen_keeps_buckets)
{
	struct quota q;
	struct quota_user *a;

	quota_init(&q);
	a = open_user(&q, "alice", T0);
	ck_assert_int_eq(spend(a, QUOTA_SEND, T0, 1000), 4);
	quota_user_close(&q, a, T0);
	ck_assert_int_eq(a->qu_conns, 0);
	a = open_user(&q, "alice", T0);
	ck_assert_int_eq(spend(a, QUOTA_SEND, T0, 1000), 0);
	quota_free(&q);
}
END_TEST

/* max_conns_per_user 2: the third is refused and not counted. */
START_TEST(test_user_too_many)
{
	struct quota q;
	struct quota_user *a, *c = (void *)&q;

	quota_init(&q);
	a = open_user(&q, "alice", T0);
	open_user(&q, "alice", T0);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &c),
	    QUOTA_TOO_MANY);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(a->qu_conns, 2);
	/* One closes: room for one more. */
	quota_user_close(&q, a, T0);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &c),
	    QUOTA_OK);
	ck_assert_ptr_eq(c, a);
	ck_assert_int_eq(a->qu_conns, 2);
	quota_free(&q);
}
END_TEST

/* A re-registration after a broker restart is counted, never refused. */
START_TEST(test_user_resumed)
{
	struct quota q;
	struct quota_user *a, *r;

	quota_init(&q);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", true, T0,
		    &r), QUOTA_OK);
		ck_assert_ptr_nonnull(r);
	}
	ck_assert_int_eq(r->qu_conns, 5);
	/* Over the max now: a new one is refused until enough close. */
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &a),
	    QUOTA_TOO_MANY);
	for (int i = 0; i < 4; i++)
		quota_user_close(&q, r, T0);
	ck_assert_int_eq(quota_user_open(&q, &cfg, "alice", false, T0, &a),
	    QUOTA_OK);
	ck_assert_int_eq(a->qu_conns, 2);
	quota_free(&q);
}
END_TEST

/* One close too many does not go below zero. */
START_TEST(test_user_close_floor)
{
	struct quota q;
	struct quota_user *a;

	quota_init(&q);
	a = open_user(&q, "alice", T0);
	quota_user_close(&q, a, T0);
	quota_user_close(&q, a, T0 + 5);
	ck_assert_int_eq(a->qu_conns, 0);
	ck_assert_uint_eq(a->qu_idle_ms, T0);
	quota_free(&q);
}
END_TEST

/* abuse_threshold 5: the sixth refusal within 10 s is abuse, and every
 * one after it while the window holds them. */
START_TEST(test_abuse_threshold)
{
	struct quota q;
	struct quota_user *u;
	uint64_t retry;
	bool abuse;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	take(u, QUOTA_SEND, T0, 4);
	for (int i = 1; i <= 5; i++) {
		ck_assert(!quota_request(u, &cfg, QUOTA_SEND, T0 + 10, &retry,
		    &abuse));
		ck_assert_msg(!abuse, "refusal %d", i);
		ck_assert_uint_gt(retry, 0);
	}
	for (int i = 6; i <= 8; i++) {
		ck_assert(!quota_request(u, &cfg, QUOTA_SEND, T0 + 10, &retry,
		    &abuse));
		ck_assert_msg(abuse, "refusal %d", i);
		/* Still told when to come back. */
		ck_assert_uint_eq(retry, 490);
	}
	quota_free(&q);
}
END_TEST

/* Refusals of every class count in one window per user. */
START_TEST(test_abuse_across_classes)
{
	struct quota q;
	struct quota_user *u, *v;
	uint64_t retry;
	bool abuse = false;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	v = open_user(&q, "bob", T0);
	for (int j = 0; j < NCLASS_CASES; j++) {
		take(u, class_cases[j].c, T0, class_cases[j].burst);
		take(v, class_cases[j].c, T0, class_cases[j].burst);
	}
	/* Six classes, one refusal each: the sixth is abuse. */
	for (int j = 0; j < NCLASS_CASES; j++) {
		ck_assert(!quota_request(u, &cfg, class_cases[j].c, T0, &retry,
		    &abuse));
		ck_assert_msg(abuse == (j == 5), "%s", class_cases[j].name);
	}
	/* bob's window is his own. */
	ck_assert(!quota_request(v, &cfg, QUOTA_SEND, T0, &retry, &abuse));
	ck_assert(!abuse);
	quota_free(&q);
}
END_TEST

/* The window forgets refusals older than 10 s. */
START_TEST(test_abuse_window_slides)
{
	struct quota q;
	struct quota_user *u;
	uint64_t retry;
	bool abuse;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	take(u, QUOTA_TYPING, T0, 1);
	for (int i = 0; i < 6; i++)
		quota_request(u, &cfg, QUOTA_TYPING, T0, &retry, &abuse);
	ck_assert(abuse);
	/* Twelve seconds later: the typing bucket is full again and the
	 * window empty, so five refusals are not abuse. */
	ck_assert(quota_request(u, &cfg, QUOTA_TYPING, T0 + 12000, &retry,
	    &abuse));
	for (int i = 0; i < 5; i++) {
		ck_assert(!quota_request(u, &cfg, QUOTA_TYPING, T0 + 12000,
		    &retry, &abuse));
		ck_assert(!abuse);
	}
	quota_free(&q);
}
END_TEST

/* Addresses. */

/* max_conns_per_ip 3: the fourth is one too many, told to wait
 * QUOTA_TOO_MANY_RETRY_MS, not counted. */
START_TEST(test_addr_too_many)
{
	struct quota q;
	struct quota_addr *e[3], *x = (void *)&q;
	uint64_t retry = 0;

	quota_init(&q);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
		    T0, &e[i], &retry), QUOTA_OK);
		ck_assert_ptr_eq(e[i], e[0]);
	}
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &x,
	    &retry), QUOTA_TOO_MANY);
	ck_assert_ptr_null(x);
	ck_assert_uint_eq(retry, QUOTA_TOO_MANY_RETRY_MS);
	ck_assert_int_eq(e[0]->qa_conns, 3);
	/* NULL retry_after_ms is allowed. */
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &x,
	    NULL), QUOTA_TOO_MANY);
	/* After a close there is room again (the bucket refilled one). */
	quota_addr_close(&q, e[0], T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
	    T0 + 1000, &x, &retry), QUOTA_OK);
	quota_free(&q);
}
END_TEST

/* conn_rate_per_ip 1, conn_burst_per_ip 5: five attempts (refused ones
 * too) and the sixth is too fast, told when the next token comes. */
START_TEST(test_addr_too_fast)
{
	struct quota q;
	struct quota_addr *e, *x;
	uint64_t retry = 0;

	quota_init(&q);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
		    T0, &e, &retry), QUOTA_OK);
		quota_addr_close(&q, e, T0);
	}
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
	    T0 + 400, &x, &retry), QUOTA_TOO_FAST);
	ck_assert_ptr_null(x);
	ck_assert_uint_eq(retry, 600);
	ck_assert_int_eq(e->qa_conns, 0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
	    T0 + 400 + retry, &x, &retry), QUOTA_OK);
	ck_assert_int_eq(x->qa_conns, 1);
	quota_free(&q);
}
END_TEST

/* Addresses have their own counts and buckets. */
START_TEST(test_addr_independent)
{
	struct quota q;
	struct quota_addr *a, *b;

	quota_init(&q);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
		    T0, &a, NULL), QUOTA_OK);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(quota_addr_open(&q, &cfg, "::1", false, T0,
		    &b, NULL), QUOTA_OK);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(a->qa_conns, 3);
	ck_assert_int_eq(b->qa_conns, 3);
	quota_free(&q);
}
END_TEST

/* A resumed registration takes no token and is never refused, even with
 * the bucket empty and the address at its max. */
START_TEST(test_addr_resumed)
{
	struct quota q;
	struct quota_addr *e, *x;

	quota_init(&q);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false,
		    T0, &e, NULL), i < 3 ? QUOTA_OK : QUOTA_TOO_MANY);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", true,
		    T0, &x, NULL), QUOTA_OK);
	ck_assert_int_eq(x->qa_conns, 7);
	/* The bucket still has the one token resumed ones did not take. */
	for (int i = 0; i < 5; i++)
		quota_addr_close(&q, x, T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &e,
	    NULL), QUOTA_OK);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &e,
	    NULL), QUOTA_TOO_FAST);
	/* A resumed one for an address never seen makes its entry. */
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.9", true, T0, &x,
	    NULL), QUOTA_OK);
	ck_assert_int_eq(x->qa_conns, 1);
	quota_free(&q);
}
END_TEST

/* The sweep. */

/* Live entries are never forgotten, however long. */
START_TEST(test_sweep_keeps_live)
{
	struct quota q;
	struct quota_addr *a;

	quota_init(&q);
	open_user(&q, "alice", T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &a,
	    NULL), QUOTA_OK);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 10 * QUOTA_IDLE_MAX_MS),
	    0);
	ck_assert_uint_eq(q.q_users.smap_count, 1);
	ck_assert_uint_eq(q.q_addrs.smap_count, 1);
	quota_free(&q);
}
END_TEST

/* Idle with full buckets: forgotten at the next sweep, both maps
 * counted. */
START_TEST(test_sweep_forgets_full)
{
	struct quota q;
	struct quota_user *u;
	struct quota_addr *a;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", true, T0, &a,
	    NULL), QUOTA_OK);
	quota_user_close(&q, u, T0);
	quota_addr_close(&q, a, T0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0), 2);
	ck_assert_uint_eq(q.q_users.smap_count, 0);
	ck_assert_uint_eq(q.q_addrs.smap_count, 0);
	quota_free(&q);
}
END_TEST

/* Idle with tokens spent: kept until they have refilled. */
START_TEST(test_sweep_waits_for_refill)
{
	struct quota q;
	struct quota_user *u;
	struct quota_addr *a;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	take(u, QUOTA_SEND, T0, 4);
	quota_user_close(&q, u, T0);
	/* 4 tokens at 2/s: two seconds. */
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 1999), 0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 2000), 1);
	/* An address: one token at 1/s. */
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &a,
	    NULL), QUOTA_OK);
	quota_addr_close(&q, a, T0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 999), 0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 1000), 1);
	quota_free(&q);
}
END_TEST

/* An address refused as too fast is kept while its bucket is empty (a
 * sweep must not hand whoever hammers a fresh burst), then forgotten. */
START_TEST(test_sweep_refused_addr)
{
	struct quota q;
	struct quota_addr *a;

	cfg.conn_burst_per_ip = 1;
	quota_init(&q);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &a,
	    NULL), QUOTA_OK);
	quota_addr_close(&q, a, T0);
	ck_assert_int_eq(quota_addr_open(&q, &cfg, "10.0.0.1", false, T0, &a,
	    NULL), QUOTA_TOO_FAST);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 999), 0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 1000), 1);
	quota_free(&q);
}
END_TEST

/* A user with refusals in the window is kept though the buckets are full
 * again, so a reconnect cannot wash away abuse. */
START_TEST(test_sweep_keeps_refusals)
{
	struct quota q;
	struct quota_user *u;
	uint64_t retry;
	bool abuse;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	spend(u, QUOTA_TYPING, T0, 1000);
	ck_assert(!quota_request(u, &cfg, QUOTA_TYPING, T0, &retry, &abuse));
	quota_user_close(&q, u, T0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 5000), 0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 11000), 1);
	quota_free(&q);
}
END_TEST

/* Idle for QUOTA_IDLE_MAX_MS since the last close: forgotten whatever its
 * state (send_burst 100 at 1/s needs 100 s to refill). */
START_TEST(test_sweep_idle_max)
{
	struct quota q;
	struct quota_user *u;
	uint64_t closed = T0 + 30000;

	cfg.send_rate = 1;
	cfg.send_burst = 100;
	quota_init(&q);
	u = open_user(&q, "alice", T0);
	take(u, QUOTA_SEND, T0 + 30000, 100);
	quota_user_close(&q, u, closed);
	ck_assert_uint_eq(quota_sweep(&q, &cfg,
	    closed + QUOTA_IDLE_MAX_MS - 1), 0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, closed + QUOTA_IDLE_MAX_MS),
	    1);
	quota_free(&q);
}
END_TEST

/* A forgotten user comes back with fresh buckets and a count of one. */
START_TEST(test_sweep_then_reopen)
{
	struct quota q;
	struct quota_user *u;

	quota_init(&q);
	u = open_user(&q, "alice", T0);
	spend(u, QUOTA_SEND, T0, 1000);
	quota_user_close(&q, u, T0);
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + QUOTA_IDLE_MAX_MS), 1);
	u = open_user(&q, "alice", T0 + QUOTA_IDLE_MAX_MS);
	ck_assert_int_eq(u->qu_conns, 1);
	ck_assert_int_eq(spend(u, QUOTA_SEND, T0 + QUOTA_IDLE_MAX_MS, 1000),
	    4);
	quota_free(&q);
}
END_TEST

/* Many idle entries in one sweep (more than its first key array). */
START_TEST(test_sweep_many)
{
	struct quota q;
	char name[32];

	quota_init(&q);
	for (int i = 0; i < 1000; i++) {
		struct quota_user *u;
		struct quota_addr *a;

		snprintf(name, sizeof(name), "user%d", i);
		u = open_user(&q, name, T0);
		snprintf(name, sizeof(name), "10.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(quota_addr_open(&q, &cfg, name, true, T0, &a,
		    NULL), QUOTA_OK);
		/* Every other one stays connected. */
		if (i % 2 == 0) {
			quota_user_close(&q, u, T0);
			quota_addr_close(&q, a, T0);
		}
	}
	ck_assert_uint_eq(quota_sweep(&q, &cfg, T0 + 1), 1000);
	ck_assert_uint_eq(q.q_users.smap_count, 500);
	ck_assert_uint_eq(q.q_addrs.smap_count, 500);
	ck_assert_ptr_null(strmap_get(&q.q_users, "user0"));
	ck_assert_ptr_nonnull(strmap_get(&q.q_users, "user1"));
	quota_free(&q);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("quota");
	TCase	*tc;

	tc = tcase_create("classes");
	tcase_add_checked_fixture(tc, quota_setup, quota_teardown);
	tcase_add_loop_test(tc, test_class_bucket, 0, NCLASS_CASES);
	tcase_add_loop_test(tc, test_class_independent, 0, NCLASS_CASES);
	tcase_add_test(tc, test_class_none);
	tcase_add_test(tc, test_users_independent);
	suite_add_tcase(s, tc);

	tc = tcase_create("users");
	tcase_add_checked_fixture(tc, quota_setup, quota_teardown);
	tcase_add_test(tc, test_user_conns_share_buckets);
	tcase_add_test(tc, test_user_reopen_keeps_buckets);
	tcase_add_test(tc, test_user_too_many);
	tcase_add_test(tc, test_user_resumed);
	tcase_add_test(tc, test_user_close_floor);
	suite_add_tcase(s, tc);

	tc = tcase_create("abuse");
	tcase_add_checked_fixture(tc, quota_setup, quota_teardown);
	tcase_add_test(tc, test_abuse_threshold);
	tcase_add_test(tc, test_abuse_across_classes);
	tcase_add_test(tc, test_abuse_window_slides);
	suite_add_tcase(s, tc);

	tc = tcase_create("addresses");
	tcase_add_checked_fixture(tc, quota_setup, quota_teardown);
	tcase_add_test(tc, test_addr_too_many);
	tcase_add_test(tc, test_addr_too_fast);
	tcase_add_test(tc, test_addr_independent);
	tcase_add_test(tc, test_addr_resumed);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_checked_fixture(tc, quota_setup, quota_teardown);
	tcase_add_test(tc, test_sweep_keeps_live);
	tcase_add_test(tc, test_sweep_forgets_full);
	tcase_add_test(tc, test_sweep_waits_for_refill);
	tcase_add_test(tc, test_sweep_refused_addr);
	tcase_add_test(tc, test_sweep_keeps_refusals);
	tcase_add_test(tc, test_sweep_idle_max);
	tcase_add_test(tc, test_sweep_then_reopen);
	tcase_add_test(tc, test_sweep_many);
	suite_add_tcase(s, tc);
	return s;
}
