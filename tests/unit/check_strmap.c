/* check_strmap.c: the string -> pointer map (common/strmap.c): put, get,
 * del, replacing, keys owned by the map, growth, iteration (each entry
 * once), keys that differ only in the last byte or by length, many keys,
 * and a long random run against a plain array. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "strmap.h"

#define VAL(n)		((void *)(uintptr_t)((n) * 8 + 8))

/* What strmap_each saw: how many entries, and a sum over keys and values
 * that a missed or repeated entry changes. */
struct seen {
	size_t		 n;
	uint64_t	 sum;
};

static uint64_t
key_sum(const char *key, void *val)
{
	uint64_t h = (uintptr_t)val;

	for (; *key != '\0'; key++)
		h = h * 31 + (unsigned char)*key;
	return h;
}

static void
seen_cb(const char *key, void *val, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->sum += key_sum(key, val);
}

static struct seen
each(const struct strmap *m)
{
	struct seen s = { 0, 0 };

	strmap_each(m, seen_cb, &s);
	return s;
}

START_TEST(test_empty)
{
	struct strmap m;

	strmap_init(&m);
	ck_assert_uint_eq(m.smap_count, 0);
	ck_assert_ptr_null(strmap_get(&m, "a"));
	ck_assert_ptr_null(strmap_get(&m, ""));
	ck_assert_ptr_null(strmap_del(&m, "a"));
	ck_assert_uint_eq(each(&m).n, 0);
	strmap_free(&m);
	ck_assert_ptr_null(m.smap_buckets);
	ck_assert_uint_eq(m.smap_count, 0);
}
END_TEST

START_TEST(test_put_get_del)
{
	struct strmap m;

	strmap_init(&m);
	strmap_put(&m, "lobby", VAL(1));
	strmap_put(&m, "team-red", VAL(2));
	ck_assert_uint_eq(m.smap_count, 2);
	ck_assert_ptr_eq(strmap_get(&m, "lobby"), VAL(1));
	ck_assert_ptr_eq(strmap_get(&m, "team-red"), VAL(2));
	ck_assert_ptr_null(strmap_get(&m, "team-blue"));
	ck_assert_ptr_eq(strmap_del(&m, "lobby"), VAL(1));
	ck_assert_uint_eq(m.smap_count, 1);
	ck_assert_ptr_null(strmap_get(&m, "lobby"));
	ck_assert_ptr_null(strmap_del(&m, "lobby"));
	ck_assert_uint_eq(m.smap_count, 1);
	strmap_put(&m, "lobby", VAL(3));
	ck_assert_ptr_eq(strmap_get(&m, "lobby"), VAL(3));
	ck_assert_uint_eq(m.smap_count, 2);
	strmap_free(&m);
}
END_TEST

/* put on a present key replaces the value and counts nothing. */
START_TEST(test_replace)
{
	struct strmap m;
	struct seen s;

	strmap_init(&m);
	strmap_put(&m, "alice", VAL(1));
	strmap_put(&m, "alice", VAL(2));
	ck_assert_uint_eq(m.smap_count, 1);
	ck_assert_ptr_eq(strmap_get(&m, "alice"), VAL(2));
	s = each(&m);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.sum, key_sum("alice", VAL(2)));
	strmap_free(&m);
}
END_TEST

/* The map copies the key: the caller's buffer may change or go. */
START_TEST(test_key_copied)
{
	struct strmap m;
	char buf[16];

	strmap_init(&m);
	snprintf(buf, sizeof(buf), "alice");
	strmap_put(&m, buf, VAL(1));
	snprintf(buf, sizeof(buf), "bob");
	ck_assert_ptr_null(strmap_get(&m, "bob"));
	ck_assert_ptr_eq(strmap_get(&m, "alice"), VAL(1));
	strmap_free(&m);
}
END_TEST

/* Keys that are each other's prefix, differ in one last byte, are empty,
 * or use bytes above 0x7f are all different keys. */
struct key_case {
	const char	*a, *b;
};

static const struct key_case key_cases[] = {
	{ "", "a" },
	{ "a", "ab" },
	{ "user:alice", "user:alicf" },
	{ "room", "Room" },
	{ "caf\xc3\xa9", "cafe" },
	{ "\xff", "\xfe" },
	{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF" },
};
#define NKEY_CASES	(int)(sizeof(key_cases) / sizeof(key_cases[0]))

START_TEST(test_distinct_keys)
{
	const struct key_case *kc = &key_cases[_i];
	struct strmap m;

	strmap_init(&m);
	strmap_put(&m, kc->a, VAL(1));
	ck_assert_ptr_null(strmap_get(&m, kc->b));
	strmap_put(&m, kc->b, VAL(2));
	ck_assert_uint_eq(m.smap_count, 2);
	ck_assert_ptr_eq(strmap_get(&m, kc->a), VAL(1));
	ck_assert_ptr_eq(strmap_get(&m, kc->b), VAL(2));
	ck_assert_ptr_eq(strmap_del(&m, kc->b), VAL(2));
	ck_assert_ptr_eq(strmap_get(&m, kc->a), VAL(1));
	strmap_free(&m);
}
END_TEST

/* A NULL value is stored (and reads back as absent would). */
START_TEST(test_null_value)
{
	struct strmap m;

	strmap_init(&m);
	strmap_put(&m, "k", NULL);
	ck_assert_uint_eq(m.smap_count, 1);
	ck_assert_uint_eq(each(&m).n, 1);
	ck_assert_ptr_null(strmap_del(&m, "k"));
	ck_assert_uint_eq(m.smap_count, 0);
	strmap_free(&m);
}
END_TEST

/* Buckets double when the count passes them, and every key is still
 * there after each doubling. */
START_TEST(test_growth)
{
	struct strmap m;
	char key[32];
	size_t nb = 0;

	strmap_init(&m);
	ck_assert_uint_eq(m.smap_nbuckets, 0);
	ck_assert_ptr_null(m.smap_buckets);
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		strmap_put(&m, key, VAL(i));
		ck_assert_uint_le(m.smap_count, m.smap_nbuckets);
		ck_assert_uint_eq(m.smap_nbuckets & (m.smap_nbuckets - 1), 0);
		if (m.smap_nbuckets != nb) {
			nb = m.smap_nbuckets;
			for (int j = 0; j <= i; j++) {
				snprintf(key, sizeof(key), "k%d", j);
				ck_assert_ptr_eq(strmap_get(&m, key), VAL(j));
			}
		}
	}
	ck_assert_uint_eq(m.smap_nbuckets, 2048);
	strmap_free(&m);
}
END_TEST

/* put and find give the map's own copy of the key, which stays where it
 * is while the table grows and shrinks; the buckets follow the load
 * down, and an emptied map holds none. */
START_TEST(test_find_and_shrink)
{
	struct strmap m;
	const char *kept;
	char key[32];
	void *val = NULL;

	strmap_init(&m);
	ck_assert_ptr_null(strmap_find(&m, "a", &val));
	kept = strmap_put(&m, "kept", VAL(1));
	ck_assert_str_eq(kept, "kept");
	ck_assert_ptr_eq(strmap_put(&m, "kept", VAL(2)), kept);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		strmap_put(&m, key, VAL(i));
	}
	ck_assert_uint_eq(m.smap_nbuckets, 1024);
	ck_assert_ptr_eq(strmap_find(&m, "kept", &val), kept);
	ck_assert_ptr_eq(val, VAL(2));
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_ptr_eq(strmap_del(&m, key), VAL(i));
	}
	ck_assert_uint_le(m.smap_nbuckets, 4);
	ck_assert_ptr_eq(strmap_find(&m, "kept", NULL), kept);
	ck_assert_ptr_eq(strmap_get(&m, "kept"), VAL(2));
	ck_assert_ptr_eq(strmap_del(&m, "kept"), VAL(2));
	ck_assert_uint_eq(m.smap_nbuckets, 0);
	ck_assert_ptr_null(m.smap_buckets);
	ck_assert_ptr_null(strmap_get(&m, "kept"));
	strmap_put(&m, "again", VAL(3));
	ck_assert_ptr_eq(strmap_get(&m, "again"), VAL(3));
	strmap_free(&m);
}
END_TEST

/* Iteration visits every entry exactly once, also after deletes. */
START_TEST(test_each)
{
	struct strmap m;
	char key[32];
	uint64_t sum = 0;
	struct seen s;

	strmap_init(&m);
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "room-%d", i);
		strmap_put(&m, key, VAL(i));
		sum += key_sum(key, VAL(i));
	}
	s = each(&m);
	ck_assert_uint_eq(s.n, 500);
	ck_assert_uint_eq(s.sum, sum);
	for (int i = 0; i < 500; i += 3) {
		snprintf(key, sizeof(key), "room-%d", i);
		ck_assert_ptr_eq(strmap_del(&m, key), VAL(i));
		sum -= key_sum(key, VAL(i));
	}
	s = each(&m);
	ck_assert_uint_eq(s.n, 500 - 167);
	ck_assert_uint_eq(s.n, m.smap_count);
	ck_assert_uint_eq(s.sum, sum);
	strmap_free(&m);
}
END_TEST

/* Many keys: all found, half deleted, the rest found, the deleted not. */
START_TEST(test_many_keys)
{
	enum { N = 100000 };
	struct strmap m;
	char key[32];

	strmap_init(&m);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "user%08d", i);
		strmap_put(&m, key, VAL(i));
	}
	ck_assert_uint_eq(m.smap_count, N);
	for (int i = 0; i < N; i += 2) {
		snprintf(key, sizeof(key), "user%08d", i);
		ck_assert_ptr_eq(strmap_del(&m, key), VAL(i));
	}
	ck_assert_uint_eq(m.smap_count, N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "user%08d", i);
		ck_assert_ptr_eq(strmap_get(&m, key), i % 2 ? VAL(i) : NULL);
	}
	ck_assert_uint_eq(each(&m).n, N / 2);
	strmap_free(&m);
}
END_TEST

/* Random puts, replaces and deletes over a small key space, checked
 * against a plain array after every step. */
START_TEST(test_random_against_array)
{
	enum { NKEYS = 300, STEPS = 100000 };
	static void *ref[NKEYS];
	struct strmap m;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	size_t live = 0;
	char key[32];

	memset(ref, 0, sizeof(ref));
	strmap_init(&m);
	for (int step = 0; step < STEPS; step++) {
		unsigned k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (unsigned)((x >> 8) % NKEYS);
		snprintf(key, sizeof(key), "k%u", k);
		if (x % 3 < 2) {
			live += ref[k] == NULL;
			ref[k] = VAL(step);
			strmap_put(&m, key, ref[k]);
		} else {
			ck_assert_ptr_eq(strmap_del(&m, key), ref[k]);
			live -= ref[k] != NULL;
			ref[k] = NULL;
		}
		ck_assert_uint_eq(m.smap_count, live);
		ck_assert_ptr_eq(strmap_get(&m, key), ref[k]);
	}
	for (unsigned k = 0; k < NKEYS; k++) {
		snprintf(key, sizeof(key), "k%u", k);
		ck_assert_ptr_eq(strmap_get(&m, key), ref[k]);
	}
	ck_assert_uint_eq(each(&m).n, live);
	strmap_free(&m);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("strmap");
	TCase	*tc;

	tc = tcase_create("basics");
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_put_get_del);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_key_copied);
	tcase_add_loop_test(tc, test_distinct_keys, 0, NKEY_CASES);
	tcase_add_test(tc, test_null_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_set_timeout(tc, 60);	/* many keys; sanitizer builds */
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_find_and_shrink);
	tcase_add_test(tc, test_each);
	tcase_add_test(tc, test_many_keys);
	tcase_add_test(tc, test_random_against_array);
	suite_add_tcase(s, tc);
	return s;
}
