/* check_intern.c: refcounted shared strings (common/intern.c): equal
 * strings share one copy, the copy lives while any reference does, the
 * last unref frees it, and a long random run against plain counts. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "intern.h"

START_TEST(test_shared_copy)
{
	struct intern t;
	char buf[16];
	const char *a, *b;

	intern_init(&t);
	ck_assert_ptr_null(intern_find(&t, "alice"));
	snprintf(buf, sizeof(buf), "alice");
	a = intern_ref(&t, buf);
	ck_assert_ptr_ne(a, buf);		/* a copy, not the caller's */
	memset(buf, 'x', 5);
	ck_assert_str_eq(a, "alice");
	b = intern_ref(&t, "alice");
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_eq(intern_find(&t, "alice"), a);
	ck_assert_uint_eq(intern_count(&t), 1);
	ck_assert_ptr_ne(intern_ref(&t, "bob"), a);
	ck_assert_uint_eq(intern_count(&t), 2);
	intern_unref(&t, intern_find(&t, "bob"));
	ck_assert_ptr_null(intern_find(&t, "bob"));
	intern_unref(&t, a);
	ck_assert_ptr_eq(intern_find(&t, "alice"), a);	/* b holds it */
	ck_assert_str_eq(b, "alice");
	intern_unref(&t, b);
	ck_assert_ptr_null(intern_find(&t, "alice"));
	ck_assert_uint_eq(intern_count(&t), 0);
	intern_unref(&t, NULL);			/* nothing */
	ck_assert_ptr_eq(intern_ref(&t, ""), intern_find(&t, ""));
	intern_unref(&t, intern_find(&t, ""));
	intern_free(&t);
}
END_TEST

#define NSTR	64

/* Random refs and unrefs over a few strings, checked against counts: a
 * string is found exactly while its count is positive, always as the
 * same pointer while it lives. */
START_TEST(test_random_against_counts)
{
	struct intern t;
	unsigned counts[NSTR] = { 0 };
	const char *held[NSTR] = { 0 };
	char key[32];
	unsigned seed = 12345;

	intern_init(&t);
	for (int step = 0; step < 200000; step++) {
		unsigned i;

		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % NSTR;
		snprintf(key, sizeof(key), "user-%u", i);
		if ((seed >> 20) % 2 == 0 || counts[i] == 0) {
			const char *p = intern_ref(&t, key);

			if (counts[i] > 0)
				ck_assert_ptr_eq(p, held[i]);
			ck_assert_str_eq(p, key);
			held[i] = p;
			counts[i]++;
		} else {
			intern_unref(&t, held[i]);
			if (--counts[i] == 0)
				held[i] = NULL;
		}
		ck_assert_ptr_eq(intern_find(&t, key), held[i]);
	}
	for (unsigned i = 0; i < NSTR; i++)
		while (counts[i]-- > 0)
			intern_unref(&t, held[i]);
	ck_assert_uint_eq(intern_count(&t), 0);
	ck_assert_ptr_null(t.in_strs.smap_buckets);
	intern_free(&t);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("intern");
	TCase	*tc = tcase_create("intern");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_shared_copy);
	tcase_add_test(tc, test_random_against_counts);
	suite_add_tcase(s, tc);
	return s;
}
