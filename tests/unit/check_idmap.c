/* check_idmap.c: the id -> pointer map (common/idmap.c): put, get, del,
 * replacing, growth, tombstones (reused, and cleaned without growing),
 * the reserved keys, the walk (idmap_next) its callers do, many keys, and a long
 * random run against a plain array. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "idmap.h"

/* Connection ids as the daemon makes them: the worker slot in the top
 * byte, a counter below. */
#define ID(slot, n)	(((uint64_t)(slot) << 56) | (uint64_t)(n))
#define VAL(n)		((void *)(uintptr_t)((n) * 8 + 8))

/* The load bound idmap_put keeps: live plus tombstones under 3/4. */
static void
check_load(const struct idmap *m)
{
	ck_assert_uint_ge(m->idm_cap, 4);
	ck_assert_uint_eq(m->idm_cap & (m->idm_cap - 1), 0);
	ck_assert_uint_le(m->idm_count, m->idm_used);
	ck_assert_uint_lt(m->idm_used * 4, m->idm_cap * 3);
}

/* Live keys seen through idmap_next, as the broker walks them; each
 * must be there once, with its value, and the count must agree.  Empty
 * slots and tombstones (0, UINT64_MAX) hold no value. */
static size_t
walk(const struct idmap *m, uint64_t sum_want)
{
	uint64_t sum = 0, key;
	size_t n = 0;
	void *val;

	for (size_t pos = 0; idmap_next(m, &pos, &key, &val);) {
		ck_assert(key != 0 && key != UINT64_MAX);
		ck_assert_ptr_eq(idmap_get(m, key), val);
		sum += key;
		n++;
	}
	for (size_t i = 0; i < m->idm_cap; i++)
		if (m->idm_keys[i] == 0 || m->idm_keys[i] == UINT64_MAX)
			ck_assert_ptr_null(m->idm_vals[i]);
	ck_assert_uint_eq(sum, sum_want);
	ck_assert_uint_eq(n, idmap_count(m));
	return n;
}

START_TEST(test_empty)
{
	struct idmap m;

	idmap_init(&m);
	ck_assert_uint_eq(m.idm_count, 0);
	ck_assert_ptr_null(idmap_get(&m, 1));
	ck_assert_ptr_null(idmap_del(&m, 1));
	ck_assert_uint_eq(walk(&m, 0), 0);
	idmap_free(&m);
	ck_assert_ptr_null(m.idm_keys);
	ck_assert_uint_eq(m.idm_count, 0);
}
END_TEST

START_TEST(test_put_get_del)
{
	struct idmap m;

	idmap_init(&m);
	idmap_put(&m, ID(1, 1), VAL(1));
	idmap_put(&m, ID(2, 1), VAL(2));
	ck_assert_uint_eq(m.idm_count, 2);
	ck_assert_ptr_eq(idmap_get(&m, ID(1, 1)), VAL(1));
	ck_assert_ptr_eq(idmap_get(&m, ID(2, 1)), VAL(2));
	ck_assert_ptr_null(idmap_get(&m, ID(3, 1)));
	ck_assert_ptr_eq(idmap_del(&m, ID(1, 1)), VAL(1));
	ck_assert_uint_eq(m.idm_count, 1);
	ck_assert_ptr_null(idmap_get(&m, ID(1, 1)));
	ck_assert_ptr_null(idmap_del(&m, ID(1, 1)));
	ck_assert_uint_eq(m.idm_count, 1);
	ck_assert_ptr_eq(idmap_get(&m, ID(2, 1)), VAL(2));
	idmap_free(&m);
}
END_TEST

/* put on a live key replaces the value and counts nothing. */
START_TEST(test_replace)
{
	struct idmap m;

	idmap_init(&m);
	idmap_put(&m, 42, VAL(1));
	idmap_put(&m, 42, VAL(2));
	ck_assert_uint_eq(m.idm_count, 1);
	ck_assert_ptr_eq(idmap_get(&m, 42), VAL(2));
	ck_assert_uint_eq(walk(&m, 42), 1);
	idmap_free(&m);
}
END_TEST

/* The reserved keys (0: an empty slot, UINT64_MAX: a tombstone) are never
 * found, and deleting them changes nothing: the broker looks up ids that
 * come from workers. */
START_TEST(test_reserved_keys)
{
	struct idmap m;

	idmap_init(&m);
	idmap_put(&m, 7, VAL(7));
	idmap_put(&m, 8, VAL(8));
	ck_assert_ptr_eq(idmap_del(&m, 8), VAL(8));	/* one tombstone */
	ck_assert_ptr_null(idmap_get(&m, 0));
	ck_assert_ptr_null(idmap_get(&m, UINT64_MAX));
	ck_assert_ptr_null(idmap_del(&m, 0));
	ck_assert_ptr_null(idmap_del(&m, UINT64_MAX));
	ck_assert_uint_eq(m.idm_count, 1);
	ck_assert_uint_eq(walk(&m, 7), 1);
	/* Deleting 0 many times must not eat the empty slots a lookup needs
	 * to stop at. */
	for (int i = 0; i < 100; i++)
		idmap_del(&m, 0);
	ck_assert_uint_eq(m.idm_count, 1);
	ck_assert_ptr_null(idmap_get(&m, 9));
	ck_assert_ptr_eq(idmap_get(&m, 7), VAL(7));
	idmap_free(&m);
}
END_TEST

/* The table doubles as it fills and stays within its load bound. */
START_TEST(test_growth)
{
	struct idmap m;
	size_t cap = 0;
	uint64_t sum = 0;

	idmap_init(&m);
	for (uint64_t n = 1; n <= 5000; n++) {
		idmap_put(&m, ID(3, n), VAL(n));
		sum += ID(3, n);
		check_load(&m);
		ck_assert_uint_ge(m.idm_cap, cap);
		cap = m.idm_cap;
	}
	ck_assert_uint_eq(m.idm_count, 5000);
	ck_assert_uint_le(m.idm_cap, 16384);
	for (uint64_t n = 1; n <= 5000; n++)
		ck_assert_ptr_eq(idmap_get(&m, ID(3, n)), VAL(n));
	ck_assert_uint_eq(walk(&m, sum), 5000);
	idmap_free(&m);
}
END_TEST

/* A connection opening and closing forever: tombstones are cleaned by
 * rehashing, the table never grows past its small load. */
START_TEST(test_tombstones_churn)
{
	struct idmap m;

	idmap_init(&m);
	idmap_put(&m, ID(1, 0xffffff), VAL(1));	/* one that stays */
	for (uint64_t n = 1; n <= 100000; n++) {
		idmap_put(&m, ID(1, n), VAL(n));
		ck_assert_ptr_eq(idmap_del(&m, ID(1, n)), VAL(n));
		check_load(&m);
	}
	ck_assert_uint_le(m.idm_cap, 8);
	ck_assert_uint_eq(m.idm_count, 1);
	ck_assert_ptr_eq(idmap_get(&m, ID(1, 0xffffff)), VAL(1));
	ck_assert_uint_eq(walk(&m, ID(1, 0xffffff)), 1);
	idmap_free(&m);
}
END_TEST

/* An empty map holds no memory; a map that held many keys and lost
 * most of them shrinks back to its load at the next rehash. */
START_TEST(test_sized_to_load)
{
	struct idmap m;

	idmap_init(&m);
	ck_assert_ptr_null(m.idm_keys);
	ck_assert_uint_eq(m.idm_cap, 0);
	idmap_put(&m, 7, VAL(7));
	ck_assert_uint_eq(m.idm_cap, 4);
	for (uint64_t n = 1; n <= 10000; n++)
		idmap_put(&m, ID(2, n), VAL(n));
	ck_assert_uint_eq(m.idm_cap, 16384);
	for (uint64_t n = 1; n <= 10000; n++)
		ck_assert_ptr_eq(idmap_del(&m, ID(2, n)), VAL(n));
	/* The tombstones go with the rehash their puts cause. */
	for (uint64_t n = 1; n <= 20000 && m.idm_cap > 8; n++) {
		idmap_put(&m, ID(3, n), VAL(n));
		idmap_del(&m, ID(3, n));
	}
	ck_assert_uint_le(m.idm_cap, 8);
	ck_assert_ptr_eq(idmap_get(&m, 7), VAL(7));
	ck_assert_uint_eq(walk(&m, 7), 1);
	check_load(&m);
	idmap_free(&m);
}
END_TEST

/* A deleted key can come back; keys behind a tombstone stay reachable and
 * are replaced in place, not added twice. */
START_TEST(test_tombstones_reuse)
{
	struct idmap m;
	uint64_t sum = 0;

	idmap_init(&m);
	for (uint64_t n = 1; n <= 10; n++)
		idmap_put(&m, n, VAL(n));
	for (uint64_t n = 1; n <= 10; n += 2)
		ck_assert_ptr_eq(idmap_del(&m, n), VAL(n));
	for (uint64_t n = 2; n <= 10; n += 2) {
		ck_assert_ptr_eq(idmap_get(&m, n), VAL(n));
		idmap_put(&m, n, VAL(n + 100));
	}
	ck_assert_uint_eq(m.idm_count, 5);
	for (uint64_t n = 1; n <= 10; n += 2)
		idmap_put(&m, n, VAL(n + 200));
	ck_assert_uint_eq(m.idm_count, 10);
	for (uint64_t n = 1; n <= 10; n++) {
		ck_assert_ptr_eq(idmap_get(&m, n),
		    VAL(n + (n % 2 ? 200 : 100)));
		sum += n;
	}
	ck_assert_uint_eq(walk(&m, sum), 10);
	check_load(&m);
	idmap_free(&m);
}
END_TEST

/* Many keys from many workers, half of them deleted, all the rest
 * found. */
START_TEST(test_many_keys)
{
	struct idmap m;
	uint64_t sum = 0;
	const uint64_t per = 20000;

	idmap_init(&m);
	for (unsigned slot = 1; slot <= 8; slot++)
		for (uint64_t n = 1; n <= per; n++)
			idmap_put(&m, ID(slot, n), VAL(n + slot));
	ck_assert_uint_eq(m.idm_count, 8 * per);
	for (unsigned slot = 1; slot <= 8; slot++)
		for (uint64_t n = 1; n <= per; n++)
			if (n % 2 == 0)
				ck_assert_ptr_eq(idmap_del(&m, ID(slot, n)),
				    VAL(n + slot));
			else
				sum += ID(slot, n);
	ck_assert_uint_eq(m.idm_count, 4 * per);
	for (unsigned slot = 1; slot <= 8; slot++)
		for (uint64_t n = 1; n <= per; n++)
			ck_assert_ptr_eq(idmap_get(&m, ID(slot, n)),
			    n % 2 ? VAL(n + slot) : NULL);
	ck_assert_uint_eq(walk(&m, sum), 4 * per);
	check_load(&m);
	idmap_free(&m);
}
END_TEST

/* A long run of random puts, replaces and deletes over a small key space
 * (so tombstones abound), checked against a plain array after every
 * step. */
START_TEST(test_random_against_array)
{
	enum { NKEYS = 300, STEPS = 200000 };
	static void *ref[NKEYS + 1];
	struct idmap m;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t live = 0;

	memset(ref, 0, sizeof(ref));
	idmap_init(&m);
	for (int step = 0; step < STEPS; step++) {
		uint64_t k, op;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = 1 + (x >> 8) % NKEYS;
		op = x % 3;
		if (op < 2) {
			void *v = VAL(step);

			live += ref[k] == NULL;
			ref[k] = v;
			idmap_put(&m, k, v);
		} else {
			ck_assert_ptr_eq(idmap_del(&m, k), ref[k]);
			live -= ref[k] != NULL;
			ref[k] = NULL;
		}
		ck_assert_uint_eq(m.idm_count, live);
		ck_assert_ptr_eq(idmap_get(&m, k), ref[k]);
	}
	{
		uint64_t sum = 0;

		for (uint64_t k = 1; k <= NKEYS; k++) {
			ck_assert_ptr_eq(idmap_get(&m, k), ref[k]);
			if (ref[k] != NULL)
				sum += k;
		}
		ck_assert_uint_eq(walk(&m, sum), live);
	}
	check_load(&m);
	idmap_free(&m);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("idmap");
	TCase	*tc;

	tc = tcase_create("basics");
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_put_get_del);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_reserved_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	/* Hundreds of thousands of operations: room for a sanitizer build
	 * on a busy machine (Check's default is 4 s). */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_tombstones_churn);
	tcase_add_test(tc, test_sized_to_load);
	tcase_add_test(tc, test_tombstones_reuse);
	tcase_add_test(tc, test_many_keys);
	tcase_add_test(tc, test_random_against_array);
	suite_add_tcase(s, tc);
	return s;
}
