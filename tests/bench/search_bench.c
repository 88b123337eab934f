/*
 * search_bench.c: times store_search() and the unread counts on a big
 * database, through the store API the broker uses (libparley.a).
 *
 *   search_bench [-d DB] [-n MESSAGES] [-r ROOMS] [-b BIG%] [-i ITER]
 *                [-B OLDITER] [-D DENSE]
 *
 * Fills DB (default: a temp file, removed at exit) unless it already holds
 * the messages, through store_message_append() in batches of 10,000:
 * MESSAGES messages (default 1,000,000), BIG% (30) of them in room "big",
 * the rest spread over ROOMS - 1 (999) rooms "room-N", from 50 users; the
 * texts are 6-12 words of a 20,000-word vocabulary drawn with a Zipf-like
 * law, plus "the" in half of them, "rareword" in 20 messages of "big", and
 * "elsewhere" in a third of the other rooms' messages (never in "big").
 * 1% of the messages are deleted.  User "reader" is a member of every room
 * and has read each up to the middle (so the unread counts walk the
 * deletion trees: the slow path).
 *
 * Then each case runs ITER (200) times, interleaved, and prints p50, p99
 * and max in ms, one "RESULT case=... p50_ms=... p99_ms=... max_ms=..."
 * line per case.  With -D, room "dense" gets DENSE crafted messages (once):
 * message i holds seven of w1..w8, all but w(i mod 8), the worst case of
 * an AND of words (each list long, the intersection empty), searched for
 * all eight.  With -B, the search of schema 0001/0002 also runs
 * OLDITER times per word, for comparison: its index (text only, table
 * bench_old_fts, built in DB once) and its statement (the room's rows
 * walked newest first, the match tested per row).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

#define BATCH		10000
#define VOCAB		20000
#define NUSERS		50
#define MAXCASES	16

struct bcase {
	const char	*bc_name;
	const char	*bc_room;
	const char	*bc_q;		/* NULL: not a search */
	int64_t		 bc_before;
	int		 bc_kind;	/* 0 search, 1 unread, 2 rooms */
	double		*bc_ms;
	size_t		 bc_hits;	/* results of the last run */
};

static uint64_t	rng = 88172645463325252ULL;

static uint64_t
xrand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double
urand(void)
{
	return (double)(xrand() >> 11) / 9007199254740992.0;
}

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "search_bench: %s\n", what);
	exit(1);
}

/* A word of rank 1..VOCAB, drawn about as often as 1/rank. */
static void
word(char *out, size_t len)
{
	long	 r = (long)exp(urand() * log((double)VOCAB));

	snprintf(out, len, "w%ld", r);
}

/* Index what was appended, as the broker does after its commits, so the
 * timed searches read the index, not the not-yet-indexed tail. */
static void
index_all(struct store *s)
{
	int64_t lag = 1;

	while (lag > 0)
		if (store_index_step(s, 10000, &lag) == -1)
			die("index");
}

static void
fill(struct store *s, long n, int rooms, int bigpct)
{
	struct store_post p = { .sp_name = "", .sp_ts = 1 };
	struct store_ack a;
	char		 room[32], user[32], text[256], w[16];
	long		 i, rare = 0;
	int		 k, nw, big, r;
	double		 t0 = now_ms();

	for (i = 0; i < n; i++) {
		if (i % BATCH == 0 && store_begin(s) == -1)
			die("begin");
		big = (long)(xrand() % 100) < bigpct;
		r = big ? 0 : 1 + (int)(xrand() % (uint64_t)(rooms - 1));
		snprintf(room, sizeof(room), big ? "big" : "room-%d", r);
		snprintf(user, sizeof(user), "u%d", (int)(xrand() % NUSERS));
		text[0] = '\0';
		nw = 6 + (int)(xrand() % 7);
		for (k = 0; k < nw; k++) {
			word(w, sizeof(w));
			strcat(text, k ? " " : "");
			strcat(text, w);
		}
		if (xrand() % 2)
			strcat(text, " the");
		if (!big && xrand() % 3 == 0)
			strcat(text, " elsewhere");
		if (big && rare < 20 &&
		    xrand() % (uint64_t)(n / 100 + 1) == 0) {
			strcat(text, " rareword");
			rare++;
		}
		p.sp_room = room;
		p.sp_user = user;
		p.sp_text = text;
		if (store_message_append(s, &p, &a) == -1)
			die("append");
		/* 1% deleted, a little after they were sent. */
		if (a.sa_seq > 50 && xrand() % 100 == 0 &&
		    store_message_delete(s, room, a.sa_seq - 1 -
		    (int64_t)(xrand() % 50)) == -1)
			die("delete");
		if ((i + 1) % BATCH == 0 || i + 1 == n) {
			if (store_commit(s) == -1)
				die("commit");
			if ((i + 1) % (BATCH * 20) == 0)
				fprintf(stderr, "search_bench: %ld messages, "
				    "%.0f s\n", i + 1, (now_ms() - t0) / 1e3);
		}
	}
	if (store_membership_add(s, "reader", "big") == -1)
		die("membership");
	for (r = 1; r < rooms; r++) {
		snprintf(room, sizeof(room), "room-%d", r);
		if (store_membership_add(s, "reader", room) == -1)
			die("membership");
	}
	index_all(s);
	fprintf(stderr, "search_bench: filled %ld messages in %.0f s (%ld "
	    "with rareword)\n", n, (now_ms() - t0) / 1e3, rare);
}

/* Room "dense": n messages, each with seven of the eight words. */
static void
fill_dense(struct store *s, long n)
{
	struct store_post p = { .sp_room = "dense", .sp_user = "u0",
	    .sp_name = "", .sp_ts = 1 };
	struct store_ack a;
	char		 text[64], w[8];
	long		 i;
	int		 j;

	for (i = 0; i < n; i++) {
		if (i % BATCH == 0 && store_begin(s) == -1)
			die("begin");
		text[0] = '\0';
		for (j = 1; j <= 8; j++) {
			if (j == 1 + (int)(i % 8))
				continue;
			snprintf(w, sizeof(w), "w%d ", j);
			strcat(text, w);
		}
		p.sp_text = text;
		if (store_message_append(s, &p, &a) == -1)
			die("append");
		if (((i + 1) % BATCH == 0 || i + 1 == n) &&
		    store_commit(s) == -1)
			die("commit");
	}
	index_all(s);
}

/* "reader" has read every room up to its middle. */
static void
read_half(struct store *s, int rooms)
{
	char	 room[32];
	int64_t	 last, v;
	int	 r;

	for (r = 0; r < rooms; r++) {
		snprintf(room, sizeof(room), r ? "room-%d" : "big", r);
		if (store_room_get(s, room, NULL, &last) == 0 &&
		    store_read_set(s, room, "reader", last / 2, &v) == -1)
			die("read_set");
	}
}

static int	cmp_double(const void *, const void *);
static double	pct(const double *, int, double);

/* The search of schema 0001/0002, restricted to the text column. */
static void
old_search(const char *db, const char *room, const char *word, int iter)
{
	sqlite3		*c = NULL;
	sqlite3_stmt	*st = NULL;
	char		 q[128];
	double		*ms, t0;
	int		 i, n = 0;

	if ((ms = calloc((size_t)iter, sizeof(double))) == NULL)
		die("calloc");
	if (sqlite3_open(db, &c) != SQLITE_OK)
		die("open");
	sqlite3_busy_timeout(c, 5000);
	if (sqlite3_exec(c, "CREATE VIRTUAL TABLE IF NOT EXISTS bench_old_fts "
	    "USING fts5(text, content = 'messages', content_rowid = 'id', "
	    "tokenize = 'unicode61 remove_diacritics 2')", NULL, NULL,
	    NULL) != SQLITE_OK)
		die(sqlite3_errmsg(c));
	/* Built once: an empty index has no rows in its _idx table. */
	if (sqlite3_prepare_v2(c, "SELECT count(*) FROM bench_old_fts_idx",
	    -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		die(sqlite3_errmsg(c));
	if (sqlite3_column_int64(st, 0) == 0) {
		fprintf(stderr, "search_bench: building the 0001 index\n");
		if (sqlite3_exec(c, "INSERT INTO bench_old_fts (bench_old_fts) "
		    "VALUES ('rebuild')", NULL, NULL, NULL) != SQLITE_OK)
			die(sqlite3_errmsg(c));
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(c, "SELECT m.seq FROM bench_old_fts "
	    "JOIN messages m ON m.id = bench_old_fts.rowid "
	    "WHERE bench_old_fts MATCH ?2 AND m.room = ?1 AND m.seq < ?3 "
	    "AND m.deleted = 0 ORDER BY m.seq DESC LIMIT ?4", -1, &st,
	    NULL) != SQLITE_OK)
		die(sqlite3_errmsg(c));
	snprintf(q, sizeof(q), "\"%s\"", word);
	for (i = 0; i < iter; i++) {
		t0 = now_ms();
		sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, q, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, INT64_MAX);
		sqlite3_bind_int64(st, 4, 21);
		for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++)
			;
		sqlite3_reset(st);
		ms[i] = now_ms() - t0;
	}
	qsort(ms, (size_t)iter, sizeof(double), cmp_double);
	printf("| old_query_%s_%s | %d | %.3f | %.3f | %.3f |\n", word, room,
	    n > 20 ? 20 : n, pct(ms, iter, 0.5), pct(ms, iter, 0.99),
	    ms[iter - 1]);
	sqlite3_finalize(st);
	sqlite3_close(c);
	free(ms);
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, int n, double p)
{
	int	 i = (int)ceil(p * n) - 1;

	return v[i < 0 ? 0 : i];
}

static void
run_case(struct store *s, struct bcase *c, int it)
{
	struct store_msglist l;
	struct store_roomlist rl;
	int64_t		 u;
	double		 t0 = now_ms();
	int		 rc;

	switch (c->bc_kind) {
	case 0:
		rc = store_search(s, c->bc_room, c->bc_q, c->bc_before, 20, &l);
		if (rc != 0)
			die("store_search");
		c->bc_hits = l.ml_n;
		store_msglist_free(&l);
		break;
	case 1:
		if (store_unread(s, c->bc_room, "reader", c->bc_before,
		    &u) == -1)
			die("store_unread");
		c->bc_hits = (size_t)u;
		break;
	default:
		if (store_rooms_for_user(s, "reader", &rl) == -1)
			die("store_rooms_for_user");
		c->bc_hits = rl.rl_n;
		store_roomlist_free(&rl);
		break;
	}
	c->bc_ms[it] = now_ms() - t0;
}

int
main(int argc, char **argv)
{
	struct bcase	 cases[MAXCASES];
	struct store	*s;
	char		 path[256] = "", err[256], tmpdir[] =
			    "/tmp/search_bench.XXXXXX", q8[256];
	const char	*db = NULL;
	long		 n = 1000000;
	int		 rooms = 1000, bigpct = 30, iter = 200, olditer = 0;
	long		 dense = 0;
	int		 ch, i, it;
	int64_t		 last = 0, mid;
	size_t		 nc = 0;

	while ((ch = getopt(argc, argv, "d:n:r:b:i:B:D:")) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'n': n = atol(optarg); break;
		case 'r': rooms = atoi(optarg); break;
		case 'b': bigpct = atoi(optarg); break;
		case 'i': iter = atoi(optarg); break;
		case 'B': olditer = atoi(optarg); break;
		case 'D': dense = atol(optarg); break;
		default:
			fprintf(stderr, "usage: search_bench [-d DB] "
			    "[-n MESSAGES] [-r ROOMS] [-b BIG%%] [-i ITER] "
			    "[-B OLDITER] [-D DENSE]\n");
			return 2;
		}
	}
	if (n < 1000 || rooms < 2 || bigpct < 1 || bigpct > 99 || iter < 1 ||
	    olditer < 0 || dense < 0)
		die("bad arguments");
	log_init("search_bench", -1, 0);
	if (db == NULL) {
		if (mkdtemp(tmpdir) == NULL)
			die("mkdtemp");
		snprintf(path, sizeof(path), "%s/bench.db", tmpdir);
		db = path;
	}
	if ((s = store_open(db, CFG_SYNC_NORMAL, err, sizeof(err))) == NULL)
		die(err);
	if (store_room_get(s, "big", NULL, &last) == STORE_NOTFOUND)
		fill(s, n, rooms, bigpct);
	else
		fprintf(stderr, "search_bench: using the messages in %s\n", db);
	if (store_room_get(s, "big", NULL, &last) != 0)
		die("no room big");
	mid = last / 2;
	read_half(s, rooms);
	if (dense > 0 && store_room_get(s, "dense", NULL, NULL) ==
	    STORE_NOTFOUND)
		fill_dense(s, dense);
	/* Eight common-ish words, rarely all in one message. */
	snprintf(q8, sizeof(q8), "w1 w2 w3 w4 w5 w6 w7 w8");

#define CASE(nm, rm, qq, bf, k) do {					\
	cases[nc] = (struct bcase){ nm, rm, qq, bf, k,			\
	    calloc((size_t)iter, sizeof(double)), 0 };			\
	if (cases[nc].bc_ms == NULL) die("calloc");			\
	nc++;								\
} while (0)
	CASE("rare_word_big_room", "big", "rareword", 0, 0);
	CASE("common_word_big_room", "big", "the", 0, 0);
	CASE("common_word_big_room_before_mid", "big", "the", mid, 0);
	CASE("two_common_words_big_room", "big", "the w1", 0, 0);
	CASE("max_terms_8_big_room", "big", q8, 0, 0);
	CASE("word_only_elsewhere_big_room", "big", "elsewhere", 0, 0);
	CASE("absent_word_big_room", "big", "nosuchword", 0, 0);
	CASE("common_word_small_room", "room-7", "the", 0, 0);
	CASE("max_terms_8_small_room", "room-7", q8, 0, 0);
	if (dense > 0)
		CASE("crafted_8_terms_dense_room", "dense", q8, 0, 0);
	CASE("unread_big_room_read_seq_0", "big", NULL, 0, 1);
	CASE("unread_big_room_read_seq_mid", "big", NULL, mid, 1);
	CASE("rooms_listing_reader", NULL, NULL, 0, 2);
#undef CASE

	for (it = 0; it < iter; it++)
		for (i = 0; i < (int)nc; i++)
			run_case(s, &cases[i], it);
	printf("| case | results | p50 ms | p99 ms | max ms |\n");
	printf("|---|---|---|---|---|\n");
	for (i = 0; i < (int)nc; i++) {
		qsort(cases[i].bc_ms, (size_t)iter, sizeof(double), cmp_double);
		printf("| %s | %zu | %.3f | %.3f | %.3f |\n", cases[i].bc_name,
		    cases[i].bc_hits, pct(cases[i].bc_ms, iter, 0.5),
		    pct(cases[i].bc_ms, iter, 0.99),
		    cases[i].bc_ms[iter - 1]);
		fprintf(stderr, "RESULT case=%s results=%zu p50_ms=%.3f "
		    "p99_ms=%.3f max_ms=%.3f\n", cases[i].bc_name,
		    cases[i].bc_hits, pct(cases[i].bc_ms, iter, 0.5),
		    pct(cases[i].bc_ms, iter, 0.99),
		    cases[i].bc_ms[iter - 1]);
		free(cases[i].bc_ms);
	}
	if (olditer > 0) {
		old_search(db, "big", "rareword", olditer);
		old_search(db, "big", "the", olditer);
		old_search(db, "big", "elsewhere", olditer);
	}
	store_close(s);
	if (path[0] != '\0') {
		for (i = 0; i < 3; i++) {
			snprintf(err, sizeof(err), "%s%s", path,
			    (const char *[]){ "", "-wal", "-shm" }[i]);
			unlink(err);
		}
		rmdir(tmpdir);
	}
	return 0;
}
