/* check_seqset.c: the small name -> seq set (common/seqset.c): inline
 * for a room or two, an array and then an index past that, add raising a
 * seq and never lowering it, deletes that move the last entry, handing
 * the names over, and a long random run against a plain table. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "seqset.h"

START_TEST(test_inline)
{
	struct seqset s;

	seqset_init(&s);
	ck_assert_ptr_null(seqset_find(&s, "a"));
	seqset_add(&s, "user:alice", 0);
	seqset_add(&s, "lobby", 5);
	ck_assert_uint_eq(s.ss_cap, 0);		/* still inline */
	ck_assert_uint_eq(seqset_count(&s), 2);
	ck_assert_int_eq(*seqset_find(&s, "lobby"), 5);
	seqset_add(&s, "lobby", 3);		/* never lowered */
	ck_assert_int_eq(*seqset_find(&s, "lobby"), 5);
	*seqset_find(&s, "lobby") = 9;		/* raised in place */
	seqset_add(&s, "lobby", 7);
	ck_assert_int_eq(*seqset_find(&s, "lobby"), 9);
	seqset_del(&s, "user:alice");
	ck_assert_ptr_null(seqset_find(&s, "user:alice"));
	ck_assert_str_eq(seqset_at(&s, 0)->se_name, "lobby");
	seqset_del(&s, "nothing");
	ck_assert_uint_eq(seqset_count(&s), 1);
	seqset_free(&s);
	ck_assert_uint_eq(seqset_count(&s), 0);
}
END_TEST

START_TEST(test_take_names)
{
	struct seqset s;
	char **names, key[16];
	size_t n;

	seqset_init(&s);
	ck_assert_ptr_null(seqset_take_names(&s, &n));
	ck_assert_uint_eq(n, 0);
	for (int k = 0; k < 40; k++) {
		snprintf(key, sizeof(key), "r%d", k);
		seqset_add(&s, key, k);
	}
	names = seqset_take_names(&s, &n);
	ck_assert_uint_eq(n, 40);
	ck_assert_uint_eq(seqset_count(&s), 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(names[i]);
		free(names[i]);
	}
	free(names);
	seqset_add(&s, "again", 1);
	ck_assert_int_eq(*seqset_find(&s, "again"), 1);
	seqset_free(&s);
}
END_TEST

#define NNAMES	100

/* Random adds, raises and deletes over 100 names, so the set goes inline,
 * array and indexed, checked against a table after each step. */
START_TEST(test_random_against_table)
{
	struct seqset s;
	int64_t want[NNAMES];
	bool in[NNAMES] = { false };
	unsigned seed = 4242, live = 0;
	char key[16];

	seqset_init(&s);
	for (int step = 0; step < 100000; step++) {
		unsigned i, op;

		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % (step % 5000 < 2500 ? NNAMES : 4);
		op = (seed >> 20) % 3;
		snprintf(key, sizeof(key), "room-%u", i);
		if (op < 2) {
			int64_t seq = (int64_t)((seed >> 4) % 1000);

			seqset_add(&s, key, seq);
			if (!in[i]) {
				in[i] = true;
				want[i] = seq;
				live++;
			} else if (seq > want[i])
				want[i] = seq;
		} else {
			seqset_del(&s, key);
			if (in[i])
				live--;
			in[i] = false;
		}
		ck_assert_uint_eq(seqset_count(&s), live);
		if (in[i])
			ck_assert_int_eq(*seqset_find(&s, key), want[i]);
		else
			ck_assert_ptr_null(seqset_find(&s, key));
	}
	for (unsigned i = 0; i < NNAMES; i++) {
		snprintf(key, sizeof(key), "room-%u", i);
		if (in[i])
			ck_assert_int_eq(*seqset_find(&s, key), want[i]);
		else
			ck_assert_ptr_null(seqset_find(&s, key));
	}
	for (size_t k = 0; k < seqset_count(&s); k++) {
		const struct seqset_ent *e = seqset_at(&s, k);
		unsigned i = (unsigned)atoi(e->se_name + 5);

		ck_assert(in[i]);
		ck_assert_int_eq(e->se_seq, want[i]);
	}
	seqset_free(&s);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("seqset");
	TCase	*tc = tcase_create("seqset");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_inline);
	tcase_add_test(tc, test_take_names);
	tcase_add_test(tc, test_random_against_table);
	suite_add_tcase(s, tc);
	return s;
}
