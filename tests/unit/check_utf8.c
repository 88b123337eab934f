/* check_utf8.c: the incremental UTF-8 validator against a table and a
 * brute-force reference. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "utf8.h"

struct u8_case {
	const char	*name;
	const char	*bytes;
	size_t		 len;
	int		 fail_at;	/* index of the first impossible byte, -1 */
	bool		 valid;		/* whole input valid and complete */
};

#define S(x)	x, sizeof(x) - 1

static const struct u8_case u8_cases[] = {
	{ "empty",		S(""),			-1, true },
	{ "ascii",		S("hello, world"),	-1, true },
	{ "nul",		S("a\0b"),		-1, true },
	{ "2-byte",		S("\xc3\xa9t\xc3\xa9"),	-1, true },
	{ "3-byte",		S("\xe2\x82\xac"),	-1, true },
	{ "4-byte",		S("\xf0\x9f\x98\x80"),	-1, true },
	{ "U+0080",		S("\xc2\x80"),		-1, true },
	{ "U+07FF",		S("\xdf\xbf"),		-1, true },
	{ "U+0800",		S("\xe0\xa0\x80"),	-1, true },
	{ "U+D7FF",		S("\xed\x9f\xbf"),	-1, true },
	{ "U+E000",		S("\xee\x80\x80"),	-1, true },
	{ "U+FFFF",		S("\xef\xbf\xbf"),	-1, true },
	{ "U+10000",		S("\xf0\x90\x80\x80"),	-1, true },
	{ "U+10FFFF",		S("\xf4\x8f\xbf\xbf"),	-1, true },
	{ "long ascii",		S("0123456789abcdef0123456789abcdef\xc3\xa9"
				    "0123456789"),	-1, true },
	{ "kosme",		S("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
							-1, true },
	{ "stray cont",		S("\x80"),		0, false },
	{ "stray cont late",	S("abc\xbf"),		3, false },
	{ "C0 overlong",	S("\xc0\x80"),		0, false },
	{ "C1 overlong",	S("\xc1\xbf"),		0, false },
	{ "E0 overlong",	S("\xe0\x9f\xbf"),	1, false },
	{ "F0 overlong",	S("\xf0\x8f\xbf\xbf"),	1, false },
	{ "surrogate D800",	S("\xed\xa0\x80"),	1, false },
	{ "surrogate DFFF",	S("\xed\xbf\xbf"),	1, false },
	{ "above 10FFFF",	S("\xf4\x90\x80\x80"),	1, false },
	{ "F5",			S("\xf5\x80\x80\x80"),	0, false },
	{ "FF",			S("\xff"),		0, false },
	{ "FE",			S("a\xfe"),		1, false },
	{ "lead then ascii",	S("\xc3" "a"),		1, false },
	{ "3-byte short",	S("\xe2\x82" "a"),	2, false },
	{ "4-byte short",	S("\xf0\x9f\x98" "a"),	3, false },
	{ "lead then lead",	S("\xc3\xc3\xa9"),	1, false },
	{ "truncated 2",	S("\xc3"),		-1, false },
	{ "truncated 3",	S("\xe2\x82"),		-1, false },
	{ "truncated 4",	S("\xf0\x9f\x98"),	-1, false },
	{ "bad after 8 ascii",	S("abcdefgh\x80"),	8, false },
	{ "bad inside word",	S("abcd\xff" "efghijkl"), 4, false },
};

#define NCASES	(sizeof(u8_cases) / sizeof(u8_cases[0]))

static bool
u8_whole(const struct u8_case *c)
{
	return utf8_valid((const uint8_t *)c->bytes, c->len);
}

START_TEST(test_table_whole)
{
	const struct u8_case *c = &u8_cases[_i];

	ck_assert_msg(u8_whole(c) == c->valid, "%s", c->name);
}
END_TEST

/* Byte by byte, the first false is at fail_at, and it sticks. */
START_TEST(test_table_bytewise)
{
	const struct u8_case *c = &u8_cases[_i];
	struct utf8_state s;
	size_t	i;
	int	failed = -1;

	utf8_init(&s);
	for (i = 0; i < c->len; i++) {
		if (!utf8_feed(&s, (const uint8_t *)c->bytes + i, 1)) {
			failed = (int)i;
			break;
		}
	}
	ck_assert_msg(failed == c->fail_at, "%s: failed at %d, want %d",
	    c->name, failed, c->fail_at);
	if (failed >= 0) {
		ck_assert(!utf8_feed(&s, (const uint8_t *)"a", 1));
		ck_assert(!utf8_complete(&s));
	} else
		ck_assert_msg(utf8_complete(&s) == c->valid, "%s", c->name);
}
END_TEST

/* Every two-way split gives the same answer as the whole. */
START_TEST(test_table_splits)
{
	const struct u8_case *c = &u8_cases[_i];
	const uint8_t *b = (const uint8_t *)c->bytes;
	struct utf8_state s;
	size_t	i;
	bool	ok;

	for (i = 0; i <= c->len; i++) {
		utf8_init(&s);
		ok = utf8_feed(&s, b, i);
		if (c->fail_at >= 0 && i > (size_t)c->fail_at)
			ck_assert_msg(!ok, "%s split %zu", c->name, i);
		else
			ck_assert_msg(ok, "%s split %zu", c->name, i);
		ok = ok && utf8_feed(&s, b + i, c->len - i) &&
		    utf8_complete(&s);
		ck_assert_msg(ok == c->valid, "%s split %zu", c->name, i);
	}
}
END_TEST

/*
 * Reference: index of the first byte after which no completion can be valid
 * (or -1), computed by decoding and checking code point intervals: the
 * completions of a partial sequence span [pad with 80, pad with BF].
 */
static int
ref_fail_at(const uint8_t *b, size_t len, bool *complete)
{
	size_t	 i = 0, need, k, j;
	uint32_t lo, hi, min;

	*complete = true;
	while (i < len) {
		if (b[i] < 0x80) {
			i++;
			continue;
		}
		if ((b[i] & 0xe0) == 0xc0) {
			need = 1;
			min = 0x80;
			lo = b[i] & 0x1f;
		} else if ((b[i] & 0xf0) == 0xe0) {
			need = 2;
			min = 0x800;
			lo = b[i] & 0x0f;
		} else if ((b[i] & 0xf8) == 0xf0) {
			need = 3;
			min = 0x10000;
			lo = b[i] & 0x07;
		} else
			return (int)i;
		for (k = 0; k <= need; k++) {
			/* k bytes after the lead are known. */
			hi = lo;
			for (j = k; j < need; j++) {
				lo = (lo << 6) | 0x00;
				hi = (hi << 6) | 0x3f;
			}
			if (lo < min)
				lo = min;
			if (hi > 0x10ffff)
				hi = 0x10ffff;
			if (lo > hi || (lo >= 0xd800 && hi <= 0xdfff))
				return (int)(i + k);
			if (k == need)
				break;
			if (i + k + 1 >= len) {
				*complete = false;
				return -1;
			}
			if ((b[i + k + 1] & 0xc0) != 0x80)
				return (int)(i + k + 1);
			/* recompute the prefix value with one more byte */
			lo = b[i] & (need == 1 ? 0x1f : need == 2 ? 0x0f : 0x07);
			for (j = 1; j <= k + 1; j++)
				lo = (lo << 6) | (b[i + j] & 0x3f);
		}
		i += need + 1;
	}
	return -1;
}

static int
dut_fail_at(const uint8_t *b, size_t len, bool *complete)
{
	struct utf8_state s;
	size_t	i;

	utf8_init(&s);
	for (i = 0; i < len; i++)
		if (!utf8_feed(&s, b + i, 1))
			return (int)i;
	*complete = utf8_complete(&s);
	return -1;
}

/* Plain ifs: ck_assert marks a point per call, too slow for 16M strings. */
static void
compare(const uint8_t *b, size_t len)
{
	bool	rc = false, dc = false;
	int	r, d;

	r = ref_fail_at(b, len, &rc);
	d = dut_fail_at(b, len, &dc);
	if (r != d || (r == -1 && rc != dc) ||
	    utf8_valid(b, len) != (r == -1 && rc))
		ck_abort_msg("%02x %02x %02x %02x (%zu): ref %d/%d dut %d/%d",
		    b[0], len > 1 ? b[1] : 0, len > 2 ? b[2] : 0,
		    len > 3 ? b[3] : 0, len, r, rc, d, dc);
}

/* Every 1-, 2- and 3-byte string against the reference. */
START_TEST(test_exhaustive_short)
{
	uint8_t	b[3];
	unsigned int x;

	for (x = 0; x < 0x100; x++) {
		b[0] = (uint8_t)x;
		compare(b, 1);
	}
	for (x = 0; x < 0x10000; x++) {
		b[0] = (uint8_t)(x >> 8);
		b[1] = (uint8_t)x;
		compare(b, 2);
	}
	for (x = 0; x < 0x1000000; x++) {
		b[0] = (uint8_t)(x >> 16);
		/* leads below C0 are settled by the 1- and 2-byte loops */
		if (b[0] < 0xc0 && b[0] >= 0x80)
			continue;
		b[1] = (uint8_t)(x >> 8);
		b[2] = (uint8_t)x;
		compare(b, 3);
	}
}
END_TEST

/* 4-byte strings over the interesting byte values. */
START_TEST(test_exhaustive_edges)
{
	static const uint8_t v[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
	    0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed,
	    0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff };
	const size_t n = sizeof(v);
	uint8_t	b[4];
	size_t	i, j, k, l;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			for (k = 0; k < n; k++)
				for (l = 0; l < n; l++) {
					b[0] = v[i];
					b[1] = v[j];
					b[2] = v[k];
					b[3] = v[l];
					compare(b, 4);
				}
}
END_TEST

static size_t
encode(uint32_t cp, uint8_t *o)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | (cp >> 18));
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Every code point: valid unless a surrogate; above 10FFFF invalid. */
START_TEST(test_all_code_points)
{
	uint8_t	 b[4];
	uint32_t cp;
	size_t	 n;

	for (cp = 0; cp <= 0x140000; cp++) {
		n = encode(cp, b);
		if (utf8_valid(b, n) !=
		    (cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff)))
			ck_abort_msg("U+%04X", cp);
	}
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("utf8");
	TCase	*tc;

	tc = tcase_create("table");
	tcase_add_loop_test(tc, test_table_whole, 0, NCASES);
	tcase_add_loop_test(tc, test_table_bytewise, 0, NCASES);
	tcase_add_loop_test(tc, test_table_splits, 0, NCASES);
	suite_add_tcase(s, tc);

	tc = tcase_create("reference");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_exhaustive_short);
	tcase_add_test(tc, test_exhaustive_edges);
	tcase_add_test(tc, test_all_code_points);
	suite_add_tcase(s, tc);
	return s;
}
