/* check_store.c: the broker's store (the SQLite one, through store.h; its
 * files are also inspected by hand), each test on a fresh file. */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check_main.h"
#include "log.h"
#include "store.h"
#include "store_sqlite.h"

/* Check's default (4 s) is too short for the big tests under sanitizers
 * on a loaded machine; a hang still ends. */
#define STORE_TEST_TIMEOUT	120

/* A fresh directory and database path for one test (Check forks each). */
struct tdb {
	char	 td_dir[64];
	char	 td_path[96];
};

static void
tdb_init(struct tdb *t)
{
	snprintf(t->td_dir, sizeof(t->td_dir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->td_dir));
	snprintf(t->td_path, sizeof(t->td_path), "%s/parley.db", t->td_dir);
}

static void
tdb_done(struct tdb *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char	 p[128];
	size_t	 i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->td_path, sfx[i]);
		unlink(p);
	}
	rmdir(t->td_dir);
}

static struct store *
open_ok(struct tdb *t)
{
	struct store	*s;
	char		 err[256] = "";

	s = store_open(t->td_path, CFG_SYNC_NORMAL, err, sizeof(err));
	ck_assert_msg(s != NULL, "store_open: %s", err);
	return s;
}

/* A second connection, as a reader or to prepare a file by hand. */
static sqlite3 *
raw_open(struct tdb *t)
{
	sqlite3	*db = NULL;

	ck_assert_int_eq(sqlite3_open(t->td_path, &db), SQLITE_OK);
	/* messages_fts needs its tokenizer on every connection. */
	ck_assert_int_eq(sq_fts_register(db), 0);
	return db;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK,
	    "%s: %s", sql, msg ? msg : "");
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
raw_text(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt	*st;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static struct store_ack
send_as(struct store *s, const char *room, const char *user,
    const char *text, const char *cmid)
{
	struct store_post p = {
		.sp_room = room, .sp_user = user, .sp_name = "Name",
		.sp_text = text, .sp_client_msg_id = cmid, .sp_ts = 1000,
	};
	struct store_ack a;

	ck_assert_int_eq(store_message_append(s, &p, &a), 0);
	return a;
}

static void
send_n(struct store *s, const char *room, int n)
{
	char	 text[32];
	int	 i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "message number %d", i + 1);
		send_as(s, room, "alice", text, NULL);
	}
}

static int64_t
last_seq(struct store *s, const char *room)
{
	int64_t	 v = -1;

	ck_assert_int_eq(store_room_get(s, room, NULL, &v), 0);
	return v;
}

/* The definition of unread, counted row by row on a second connection,
 * against store_unread() for every user and read_seq of the room. */
static void
unread_matches_count(struct tdb *t, struct store *s, const char *room)
{
	static const char *const users[] = { "ann", "bob", "cy", "dee" };
	sqlite3		*db = raw_open(t);
	sqlite3_stmt	*st;
	int64_t		 last, r, want, got;
	size_t		 u;

	last = -1;
	ck_assert_int_eq(store_room_get(s, room, NULL, &last), 0);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages "
	    "WHERE room = ?1 AND seq > ?2 AND user <> ?3 AND deleted = 0", -1,
	    &st, NULL), SQLITE_OK);
	for (u = 0; u < sizeof(users) / sizeof(users[0]); u++) {
		for (r = 0; r <= last + 1; r++) {
			/* Plain ifs: a Check assertion costs a write. */
			sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, r);
			sqlite3_bind_text(st, 3, users[u], -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_ROW)
				ck_abort_msg("count: %s", sqlite3_errmsg(db));
			want = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			got = -1;
			if (store_unread(s, room, users[u], r, &got) != 0 ||
			    got != want)
				ck_abort_msg("unread %s %s read_seq %lld: "
				    "%lld, counted %lld", room, users[u],
				    (long long)r, (long long)got,
				    (long long)want);
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void fts_integrity(struct tdb *t);

/* Migrations. */

START_TEST(test_migrate_empty)
{
	struct tdb	 t;
	struct store	*s;
	sqlite3		*db;

	tdb_init(&t);
	s = open_ok(&t);
	ck_assert_int_eq(store_check(s), 0);
	db = raw_open(&t);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"),
	    (int64_t)store_nmigrations);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name IN ('rooms', 'messages', 'reactions', 'read_markers', "
	    "'memberships', 'messages_fts', 'messages_fts_src', "
	    "'messages_user', 'unread_deleted')"), 9);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'messages_unread'"), 0);
	sqlite3_close(db);
	store_close(s);
	/* Opening again applies nothing and keeps the version. */
	s = open_ok(&t);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* From every earlier version (0 is the empty file) up to the latest, with
 * data written at that version surviving and staying searchable. */
START_TEST(test_migrate_upgrade)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;
	struct store_ack a;
	sqlite3		*db;
	char		 sql[64], busy[1024];
	size_t		 i, from = (size_t)_i;

	tdb_init(&t);
	db = raw_open(&t);
	for (i = 0; i < from; i++) {
		raw_exec(db, "BEGIN");
		raw_exec(db, store_migrations[i].mig_sql);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    store_migrations[i].mig_version);
		raw_exec(db, sql);
		raw_exec(db, "COMMIT");
	}
	if (from >= 1) {
		raw_exec(db, "INSERT INTO rooms VALUES ('old', 'e', 1, 0);"
		    "INSERT INTO messages (room, seq, msg_id, user, text, ts) "
		    "VALUES ('old', 1, 'abc', 'bob', 'ancient words', 5)");
		/* A history for the unread counts to take over: 'busy' has
		 * seqs 1..40 by three users, some deleted. */
		/* Before 0004 deleted rows are written as deleted; from
		 * 0004 on, through the deletion trigger (below). */
		snprintf(busy, sizeof(busy), "INSERT INTO rooms "
		    "VALUES ('busy', 'e', 40, 0);"
		    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		    "FROM n WHERE i < 40) "
		    "INSERT INTO messages (room, seq, msg_id, user, text, ts, "
		    "deleted) SELECT 'busy', i, 'b' || i, "
		    "CASE i %% 3 WHEN 0 THEN 'ann' WHEN 1 THEN 'bob' "
		    "ELSE 'cy' END, CASE WHEN i %% 7 = 0 AND %d THEN NULL "
		    "ELSE 'busy words ' || i END, 5, i %% 7 = 0 AND %d "
		    "FROM n", from < 4, from < 4);
		raw_exec(db, busy);
	}
	if (from >= 4) {
		/* What the store keeps from 0004 on: user_n on insert, and
		 * deletions through their trigger. */
		raw_exec(db, "UPDATE messages SET user_n = x.n FROM (SELECT "
		    "id, row_number() OVER (PARTITION BY room, user ORDER BY "
		    "seq) AS n FROM messages) AS x WHERE messages.id = x.id;"
		    "UPDATE messages SET deleted = 1, text = NULL "
		    "WHERE room = 'busy' AND seq % 7 = 0");
	}
	sqlite3_close(db);

	s = open_ok(&t);
	db = raw_open(&t);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"),
	    (int64_t)store_nmigrations);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'messages_user'"), 1);
	sqlite3_close(db);
	/* Every row the old triggers indexed counts as indexed (0005). */
	db = raw_open(&t);
	ck_assert_int_eq(raw_int(db, "SELECT upto = coalesce((SELECT max(id) "
	    "FROM messages), 0) FROM search_indexed"), 1);
	sqlite3_close(db);
	fts_integrity(&t);
	if (from >= 1) {
		ck_assert_int_eq(store_search(s, "old", "ancient", 0, 10, &l),
		    0);
		ck_assert_uint_eq(l.ml_n, 1);
		ck_assert_str_eq(l.ml_msgs[0].sm_msg_id, "abc");
		store_msglist_free(&l);
		ck_assert_int_eq(store_search(s, "busy", "words", 0, 100, &l),
		    0);
		ck_assert_uint_eq(l.ml_n, 40 - 5);
		ck_assert_int_eq(l.ml_msgs[0].sm_seq, 40);
		store_msglist_free(&l);
		a = send_as(s, "old", "bob", "new words", NULL);
		ck_assert_int_eq(a.sa_seq, 2);
		/* Migrated counts, then counts kept after more writes. */
		unread_matches_count(&t, s, "busy");
		send_as(s, "busy", "bob", "after", NULL);
		send_as(s, "busy", "ann", "after", NULL);
		ck_assert_int_eq(store_message_delete(s, "busy", 41), 0);
		ck_assert_int_eq(store_message_delete(s, "busy", 2), 0);
		unread_matches_count(&t, s, "busy");
	}
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_migrate_refuse_newer)
{
	struct tdb	 t;
	struct store	*s;
	sqlite3		*db;
	char		 err[256] = "", sql[64];

	tdb_init(&t);
	s = open_ok(&t);
	store_close(s);
	db = raw_open(&t);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu",
	    store_nmigrations + 1);
	raw_exec(db, sql);
	sqlite3_close(db);
	s = store_open(t.td_path, CFG_SYNC_FULL, err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "newer") != NULL, "err: %s", err);
	/* Refused means untouched. */
	db = raw_open(&t);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"),
	    (int64_t)store_nmigrations + 1);
	sqlite3_close(db);
	tdb_done(&t);
}
END_TEST

START_TEST(test_migrate_refuse_foreign)
{
	struct tdb	 t;
	struct store	*s;
	sqlite3		*db;
	char		 err[256] = "";

	tdb_init(&t);
	db = raw_open(&t);
	raw_exec(db, "PRAGMA application_id = 42; CREATE TABLE x (y)");
	sqlite3_close(db);
	s = store_open(t.td_path, CFG_SYNC_NORMAL, err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "not a parley") != NULL, "err: %s", err);
	tdb_done(&t);
}
END_TEST

START_TEST(test_wal_mode)
{
	struct tdb	 t;
	struct store	*s;
	sqlite3		*db;
	char		 mode[16];

	tdb_init(&t);
	s = open_ok(&t);
	db = raw_open(&t);
	raw_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	ck_assert_int_eq(raw_int(db, "PRAGMA application_id"), 1347570777);
	sqlite3_close(db);
	ck_assert_int_eq(access(t.td_path, F_OK), 0);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* Rooms, seq, msg_id. */

START_TEST(test_room_create_get)
{
	struct tdb	 t;
	struct store	*s;
	char		 e1[STORE_ID_LEN], e2[STORE_ID_LEN], e3[STORE_ID_LEN];
	int64_t		 seq = -1;

	tdb_init(&t);
	s = open_ok(&t);
	ck_assert_int_eq(store_room_get(s, "r", e1, &seq), STORE_NOTFOUND);
	ck_assert_int_eq(store_room_get(s, "r", e1, &seq), STORE_NOTFOUND);
	ck_assert_int_eq(store_room_create(s, "r", e1), 0);
	ck_assert_uint_eq(strlen(e1), 32);
	ck_assert_uint_eq(strspn(e1, "0123456789abcdef"), 32);
	ck_assert_int_eq(store_room_create(s, "r", e2), 0);
	ck_assert_str_eq(e1, e2);
	ck_assert_int_eq(store_room_get(s, "r", e3, &seq), 0);
	ck_assert_str_eq(e1, e3);
	ck_assert_int_eq(seq, 0);
	ck_assert_int_eq(store_room_create(s, "other", e2), 0);
	ck_assert_str_ne(e1, e2);
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_seq_per_room)
{
	struct tdb	 t;
	struct store	*s;
	struct store_ack a;
	int64_t		 want_a = 0, want_b = 0;
	int		 i;

	tdb_init(&t);
	s = open_ok(&t);
	for (i = 0; i < 30; i++) {
		if (i % 3 == 0) {
			a = send_as(s, "b", "u", "x", NULL);
			ck_assert_int_eq(a.sa_seq, ++want_b);
		} else {
			a = send_as(s, "a", "u", "x", NULL);
			ck_assert_int_eq(a.sa_seq, ++want_a);
		}
		ck_assert(!a.sa_duplicate);
		ck_assert_int_eq(a.sa_ts, 1000);
	}
	ck_assert_int_eq(last_seq(s, "a"), 20);
	ck_assert_int_eq(last_seq(s, "b"), 10);
	store_close(s);
	/* The counter lives in the file, not in the process. */
	s = open_ok(&t);
	a = send_as(s, "a", "u", "x", NULL);
	ck_assert_int_eq(a.sa_seq, 21);
	store_close(s);
	tdb_done(&t);
}
END_TEST

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_msg_id_unique)
{
	struct tdb	 t;
	struct store	*s;
	struct store_ack a;
	char		 ids[200][STORE_ID_LEN];
	int		 i;

	tdb_init(&t);
	s = open_ok(&t);
	for (i = 0; i < 200; i++) {
		a = send_as(s, i % 2 ? "x" : "y", "u", "x", NULL);
		ck_assert_uint_eq(strlen(a.sa_msg_id), 32);
		ck_assert_uint_eq(strspn(a.sa_msg_id, "0123456789abcdef"), 32);
		memcpy(ids[i], a.sa_msg_id, STORE_ID_LEN);
	}
	qsort(ids, 200, STORE_ID_LEN, cmp_str);
	for (i = 1; i < 200; i++)
		ck_assert_str_ne(ids[i - 1], ids[i]);
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_client_msg_id)
{
	struct tdb	 t;
	struct store	*s;
	struct store_ack a, b;
	struct store_post p = {
		.sp_room = "r", .sp_user = "alice", .sp_name = "A",
		.sp_text = "resent", .sp_client_msg_id = "c1", .sp_ts = 9999,
	};

	tdb_init(&t);
	s = open_ok(&t);
	a = send_as(s, "r", "alice", "hello", "c1");
	ck_assert(!a.sa_duplicate);
	ck_assert_int_eq(a.sa_seq, 1);
	/* Same user, room, id: the original ack, nothing stored. */
	ck_assert_int_eq(store_message_append(s, &p, &b), 0);
	ck_assert(b.sa_duplicate);
	ck_assert_int_eq(b.sa_seq, 1);
	ck_assert_str_eq(b.sa_msg_id, a.sa_msg_id);
	ck_assert_int_eq(b.sa_ts, 1000);
	ck_assert_int_eq(last_seq(s, "r"), 1);
	/* Another user, or another room, with the same id is new. */
	b = send_as(s, "r", "bob", "hi", "c1");
	ck_assert(!b.sa_duplicate);
	ck_assert_int_eq(b.sa_seq, 2);
	b = send_as(s, "r2", "alice", "hi", "c1");
	ck_assert(!b.sa_duplicate);
	ck_assert_int_eq(b.sa_seq, 1);
	ck_assert_int_eq(store_find_client_msg(s, "r", "alice", "c1", &b), 0);
	ck_assert_str_eq(b.sa_msg_id, a.sa_msg_id);
	ck_assert_int_eq(store_find_client_msg(s, "r", "alice", "c2", &b),
	    STORE_NOTFOUND);
	store_close(s);

	s = open_ok(&t);
	ck_assert_int_eq(store_message_append(s, &p, &b), 0);
	ck_assert(b.sa_duplicate);
	ck_assert_str_eq(b.sa_msg_id, a.sa_msg_id);
	ck_assert_int_eq(last_seq(s, "r"), 2);
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_events)
{
	struct tdb	 t;
	struct store	*s;
	struct store_ack a;
	struct store_message m;
	struct store_post p = {
		.sp_room = "user:bob", .sp_user = "system", .sp_name = "",
		.sp_event = "task.created", .sp_data = "{\"id\":7}",
		.sp_text = "ignored", .sp_ts = 5,
	};

	tdb_init(&t);
	s = open_ok(&t);
	send_as(s, "user:bob", "system", "first", NULL);
	ck_assert_int_eq(store_event_append(s, &p, &a), 0);
	ck_assert_int_eq(a.sa_seq, 2);
	ck_assert_int_eq(store_message_get(s, "user:bob", 2, &m), 0);
	ck_assert_int_eq(m.sm_kind, STORE_KIND_EVENT);
	ck_assert_str_eq(m.sm_event, "task.created");
	ck_assert_str_eq(m.sm_data, "{\"id\":7}");
	ck_assert_ptr_null(m.sm_text);
	store_message_clear(&m);
	/* An event has no text to edit. */
	ck_assert_int_eq(store_message_edit(s, "user:bob", 2, "x", 6),
	    STORE_NOTFOUND);
	/* A message without text, or an event without a name, is refused. */
	p.sp_event = NULL;
	ck_assert_int_eq(store_event_append(s, &p, &a), -1);
	p.sp_text = NULL;
	ck_assert_int_eq(store_message_append(s, &p, &a), -1);
	ck_assert_int_eq(last_seq(s, "user:bob"), 2);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* Lists. */

static void
assert_seqs(const struct store_msglist *l, int64_t first, size_t n)
{
	size_t	 i;

	ck_assert_uint_eq(l->ml_n, n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(l->ml_msgs[i].sm_seq, first + (int64_t)i);
}

static void
assert_desc(const struct store_msglist *l, const int64_t *seqs, size_t n)
{
	size_t	 i;

	ck_assert_uint_eq(l->ml_n, n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(l->ml_msgs[i].sm_seq, seqs[i]);
}

START_TEST(test_history_paging)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;
	int64_t		 n;

	tdb_init(&t);
	s = open_ok(&t);
	ck_assert_int_eq(store_history(s, "r", 0, 5, &l), 0);
	ck_assert_uint_eq(l.ml_n, 0);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);

	send_n(s, "r", 10);
	send_n(s, "other", 3);
	ck_assert_int_eq(store_message_delete(s, "r", 8), 0);
	ck_assert_int_eq(store_reaction_set(s, "r", 9, "bob", "+1", true, &n),
	    0);

	ck_assert_int_eq(store_history(s, "r", 0, 4, &l), 0);
	assert_seqs(&l, 7, 4);
	ck_assert(l.ml_more);
	ck_assert_str_eq(l.ml_msgs[0].sm_text, "message number 7");
	ck_assert_str_eq(l.ml_msgs[0].sm_user, "alice");
	ck_assert_str_eq(l.ml_msgs[0].sm_name, "Name");
	ck_assert(l.ml_msgs[1].sm_deleted);
	ck_assert_ptr_null(l.ml_msgs[1].sm_text);
	ck_assert_uint_eq(l.ml_msgs[2].sm_nreactions, 1);
	ck_assert_str_eq(l.ml_msgs[2].sm_reactions[0].sr_emoji, "+1");
	ck_assert_int_eq(l.ml_msgs[2].sm_reactions[0].sr_count, 1);
	store_msglist_free(&l);

	ck_assert_int_eq(store_history(s, "r", 7, 4, &l), 0);
	assert_seqs(&l, 3, 4);
	ck_assert(l.ml_more);
	store_msglist_free(&l);

	ck_assert_int_eq(store_history(s, "r", 3, 4, &l), 0);
	assert_seqs(&l, 1, 2);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);

	/* A page that ends exactly at seq 1 has nothing more. */
	ck_assert_int_eq(store_history(s, "r", 5, 4, &l), 0);
	assert_seqs(&l, 1, 4);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);

	ck_assert_int_eq(store_history(s, "r", 0, 50, &l), 0);
	assert_seqs(&l, 1, 10);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_since)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;

	tdb_init(&t);
	s = open_ok(&t);
	send_n(s, "r", 10);
	/* Exactly max missed: all of them, recovered. */
	ck_assert_int_eq(store_since(s, "r", 5, 5, &l), 0);
	assert_seqs(&l, 6, 5);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);
	/* max + 1 missed: not recovered. */
	ck_assert_int_eq(store_since(s, "r", 4, 5, &l), 0);
	assert_seqs(&l, 5, 5);
	ck_assert(l.ml_more);
	store_msglist_free(&l);
	/* Nothing missed. */
	ck_assert_int_eq(store_since(s, "r", 10, 5, &l), 0);
	assert_seqs(&l, 11, 0);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);
	ck_assert_int_eq(store_since(s, "none", 0, 5, &l), 0);
	ck_assert_uint_eq(l.ml_n, 0);
	store_msglist_free(&l);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* Changes. */

static size_t
search_n(struct store *s, const char *room, const char *q)
{
	struct store_msglist l;
	size_t		 n;

	ck_assert_int_eq(store_search(s, room, q, 0, 100, &l), 0);
	n = l.ml_n;
	store_msglist_free(&l);
	return n;
}

static void
fts_integrity(struct tdb *t)
{
	sqlite3	*db = raw_open(t);

	raw_exec(db, "INSERT INTO messages_fts (messages_fts) "
	    "VALUES ('integrity-check')");
	sqlite3_close(db);
}

START_TEST(test_edit_delete)
{
	struct tdb	 t;
	struct store	*s;
	struct store_message m;
	int64_t		 n;

	tdb_init(&t);
	s = open_ok(&t);
	send_as(s, "r", "alice", "the quick brown fox", NULL);
	send_as(s, "r", "bob", "lazy dog", NULL);
	send_as(s, "r", "bob", "another fox", NULL);
	ck_assert_uint_eq(search_n(s, "r", "fox"), 2);

	ck_assert_int_eq(store_message_edit(s, "r", 1, "a slow red panda",
	    4242), 0);
	ck_assert_int_eq(store_message_get(s, "r", 1, &m), 0);
	ck_assert_str_eq(m.sm_text, "a slow red panda");
	ck_assert_str_eq(m.sm_user, "alice");
	ck_assert_int_eq(m.sm_edited_ts, 4242);
	ck_assert(!m.sm_deleted);
	store_message_clear(&m);
	ck_assert_uint_eq(search_n(s, "r", "fox"), 1);
	ck_assert_uint_eq(search_n(s, "r", "quick"), 0);
	ck_assert_uint_eq(search_n(s, "r", "panda"), 1);

	ck_assert_int_eq(store_reaction_set(s, "r", 3, "alice", "x", true,
	    &n), 0);
	ck_assert_int_eq(store_message_delete(s, "r", 3), 0);
	ck_assert_int_eq(store_message_get(s, "r", 3, &m), 0);
	ck_assert(m.sm_deleted);
	ck_assert_int_eq(m.sm_seq, 3);
	ck_assert_ptr_null(m.sm_text);
	ck_assert_uint_eq(m.sm_nreactions, 0);
	ck_assert_str_eq(m.sm_user, "bob");
	store_message_clear(&m);
	ck_assert_uint_eq(search_n(s, "r", "fox"), 0);
	ck_assert_uint_eq(search_n(s, "r", "another"), 0);
	ck_assert_int_eq(store_message_delete(s, "r", 3), 0);
	ck_assert_int_eq(last_seq(s, "r"), 3);

	/* Missing or deleted rows. */
	ck_assert_int_eq(store_message_edit(s, "r", 3, "back", 1),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_message_edit(s, "r", 99, "x", 1),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_message_delete(s, "r", 99), STORE_NOTFOUND);
	ck_assert_int_eq(store_message_get(s, "r", 99, &m), STORE_NOTFOUND);
	ck_assert_int_eq(store_message_get(s, "nope", 1, &m), STORE_NOTFOUND);
	store_close(s);
	fts_integrity(&t);
	tdb_done(&t);
}
END_TEST

START_TEST(test_search)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;
	char		 text[32];
	int		 i;

	tdb_init(&t);
	s = open_ok(&t);
	for (i = 1; i <= 6; i++) {
		snprintf(text, sizeof(text), "Café item %d", i);
		send_as(s, "r", "u", text, NULL);
	}
	send_as(s, "elsewhere", "u", "cafe item 1", NULL);
	/* Newest first, room only, diacritics folded, every word needed. */
	ck_assert_int_eq(store_search(s, "r", "cafe ITEM", 0, 4, &l), 0);
	ck_assert_uint_eq(l.ml_n, 4);
	ck_assert_int_eq(l.ml_msgs[0].sm_seq, 6);
	ck_assert_int_eq(l.ml_msgs[3].sm_seq, 3);
	ck_assert(l.ml_more);
	store_msglist_free(&l);
	ck_assert_int_eq(store_search(s, "r", "item", 3, 10, &l), 0);
	ck_assert_uint_eq(l.ml_n, 2);
	ck_assert_int_eq(l.ml_msgs[0].sm_seq, 2);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);
	ck_assert_uint_eq(search_n(s, "r", "item 4"), 1);
	ck_assert_uint_eq(search_n(s, "r", "item 9"), 0);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* User input never reaches FTS5 as syntax. */
START_TEST(test_search_injection)
{
	static const char *const qs[] = {
		"foo AND (", "foo*", "NEAR(a b", "text:foo", "-foo", "^foo",
		"a OR b", "{text}: x", "foo\" OR \"bar", "NOT", "room_key : 72",
		"'; DROP TABLE messages; --",
	};
	/* Nothing but separators: no term at all. */
	static const char *const empty[] = {
		"", " \t\n", "\"", "\"\"\"", "*", ")", "+", "- : ( ) ^ *",
	};
	struct tdb	 t;
	struct store	*s;
	struct store_conn *c;
	struct store_msglist l;
	char		*out, err[256] = "";
	size_t		 i, n;

	tdb_init(&t);
	s = open_ok(&t);
	send_as(s, "r", "u", "foo AND ( bar", NULL);
	send_as(s, "r", "u", "b only", NULL);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		ck_assert_msg(store_search(s, "r", qs[i], 0, 10, &l) == 0,
		    "query %s", qs[i]);
		store_msglist_free(&l);
	}
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		ck_assert_msg(store_search(s, "r", empty[i], 0, 10, &l) ==
		    STORE_BADQUERY, "query %s", empty[i]);
		ck_assert_uint_eq(l.ml_n, 0);
		store_msglist_free(&l);
		ck_assert_int_eq(store_search_terms(s, empty[i], &n), 0);
		ck_assert_uint_eq(n, 0);
	}
	/* Operators are plain words: "a OR b" needs both a and b. */
	ck_assert_uint_eq(search_n(s, "r", "foo AND ("), 1);
	ck_assert_uint_eq(search_n(s, "r", "b OR foo"), 0);
	ck_assert_uint_eq(search_n(s, "r", "  \tfoo\n "), 1);
	ck_assert_uint_eq(search_n(s, "r", "foo*"), 1);
	ck_assert_uint_eq(search_n(s, "r", "fo*"), 0);
	/* The room's key is no word of the room. */
	ck_assert_uint_eq(search_n(s, "r", "72"), 0);

	/* Each token alone, folded, under the room's key (hex of "r:1"). */
	/* The query the SQLite store runs, from its own connection. */
	c = sq_open_reader(t.td_path, err, sizeof(err));
	ck_assert_msg(c != NULL, "sq_open_reader: %s", err);
	ck_assert_int_eq(sq_fts_query(c, "r:1", "a \"B\"  c* Ünï-code",
	    &out, &n), 0);
	ck_assert_str_eq(out, "\"723a31_a\" \"723a31_b\" \"723a31_c\" "
	    "\"723a31_uni\" \"723a31_code\"");
	ck_assert_uint_eq(n, 5);
	free(out);
	ck_assert_int_eq(sq_fts_query(c, "r", "*", &out, &n),
	    STORE_BADQUERY);
	ck_assert_ptr_null(out);
	sq_close(c);
	store_close(s);
	fts_integrity(&t);
	tdb_done(&t);
}
END_TEST

/* The index selects the rows: room scoping, paging, deletion, order. */
START_TEST(test_search_scoped)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;
	char		 text[64];
	int		 i;

	tdb_init(&t);
	s = open_ok(&t);
	/* Rooms whose names share a prefix, their rows interleaved. */
	for (i = 1; i <= 30; i++) {
		snprintf(text, sizeof(text), "alpha %s n%d",
		    i % 2 ? "odd" : "even", i);
		send_as(s, "a", "u", text, NULL);
		send_as(s, "a:b", "u", text, NULL);
		send_as(s, "ab", "u", "alpha elsewhere", NULL);
	}
	ck_assert_int_eq(store_message_delete(s, "a", 29), 0);
	ck_assert_int_eq(store_message_delete(s, "a", 10), 0);
	store_message_edit(s, "a", 30, "beta now", 1);

	/* Newest first, deleted and edited-away rows gone. */
	ck_assert_int_eq(store_search(s, "a", "alpha", 0, 5, &l), 0);
	assert_desc(&l, (const int64_t[]){ 28, 27, 26, 25, 24 }, 5);
	ck_assert(l.ml_more);
	store_msglist_free(&l);
	/* Paging by before: seq < before, exactly. */
	ck_assert_int_eq(store_search(s, "a", "alpha", 24, 5, &l), 0);
	assert_desc(&l, (const int64_t[]){ 23, 22, 21, 20, 19 }, 5);
	store_msglist_free(&l);
	ck_assert_int_eq(store_search(s, "a", "alpha", 12, 5, &l), 0);
	assert_desc(&l, (const int64_t[]){ 11, 9, 8, 7, 6 }, 5);
	store_msglist_free(&l);
	ck_assert_int_eq(store_search(s, "a", "alpha", 3, 5, &l), 0);
	assert_desc(&l, (const int64_t[]){ 2, 1 }, 2);
	ck_assert(!l.ml_more);
	store_msglist_free(&l);
	ck_assert_int_eq(store_search(s, "a", "alpha", 1, 5, &l), 0);
	ck_assert_uint_eq(l.ml_n, 0);
	store_msglist_free(&l);
	/* A before past the end is no bound. */
	ck_assert_int_eq(store_search(s, "a", "alpha odd", 1000, 3, &l), 0);
	assert_desc(&l, (const int64_t[]){ 27, 25, 23 }, 3);
	store_msglist_free(&l);
	/* Every term, in this room only. */
	ck_assert_uint_eq(search_n(s, "a", "alpha even"), 13);
	ck_assert_uint_eq(search_n(s, "a:b", "alpha even"), 15);
	ck_assert_uint_eq(search_n(s, "a", "elsewhere"), 0);
	ck_assert_uint_eq(search_n(s, "ab", "elsewhere"), 30);
	ck_assert_uint_eq(search_n(s, "a", "beta"), 1);
	ck_assert_uint_eq(search_n(s, "none", "alpha"), 0);
	ck_assert_uint_eq(search_n(s, "a", "n7 odd alpha"), 1);
	ck_assert_uint_eq(search_n(s, "a", "n7 even"), 0);
	store_close(s);
	fts_integrity(&t);
	tdb_done(&t);
}
END_TEST

START_TEST(test_search_terms)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;
	char		 q[512];
	size_t		 i, n;

	tdb_init(&t);
	s = open_ok(&t);
	send_as(s, "r", "u", "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 "
	    "w15 w16 w17 w18 w19 w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 "
	    "w30 w31 w32 w33", NULL);
	/* Punctuation splits terms: they are what the index holds. */
	ck_assert_int_eq(store_search_terms(s, "foo.bar baz e-mail", &n), 0);
	ck_assert_uint_eq(n, 5);
	q[0] = '\0';
	for (i = 1; i <= STORE_SEARCH_MAX_TERMS; i++)
		snprintf(q + strlen(q), sizeof(q) - strlen(q), "w%zu.", i);
	ck_assert_int_eq(store_search_terms(s, q, &n), 0);
	ck_assert_uint_eq(n, STORE_SEARCH_MAX_TERMS);
	ck_assert_uint_eq(search_n(s, "r", q), 1);
	strcat(q, "w33");
	ck_assert_int_eq(store_search_terms(s, q, &n), 0);
	ck_assert_uint_eq(n, STORE_SEARCH_MAX_TERMS + 1);
	ck_assert_int_eq(store_search(s, "r", q, 0, 10, &l), STORE_TOOMANY);
	ck_assert_uint_eq(l.ml_n, 0);
	store_msglist_free(&l);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* The plan: the full-text index is the outer loop, messages by rowid. */
START_TEST(test_search_plan)
{
	struct tdb	 t;
	struct store	*s;
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 plan[512] = "";

	tdb_init(&t);
	s = open_ok(&t);
	send_n(s, "r", 3);
	db = raw_open(&t);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN "
	    "SELECT m.seq FROM messages_fts f CROSS JOIN messages m "
	    "ON m.id = f.rowid WHERE f.messages_fts MATCH ?2 "
	    "AND f.rowid < coalesce((SELECT id FROM messages WHERE room = ?1 "
	    "AND seq >= ?3 ORDER BY seq LIMIT 1), 9223372036854775807) "
	    "AND m.room = ?1 AND m.seq < ?3 AND m.deleted = 0 "
	    "ORDER BY f.rowid DESC LIMIT ?4", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan),
		    "%s|", (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(db);
	ck_assert_msg(strstr(plan, "SCAN f VIRTUAL TABLE") != NULL &&
	    strstr(plan, "SEARCH m USING INTEGER PRIMARY KEY") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL, "plan: %s", plan);
	/* The not-yet-indexed tail: a rowid range as long as the lag, never
	 * the room's index (the whole room). */
	plan[0] = '\0';
	db = raw_open(&t);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN "
	    "SELECT m.seq FROM messages m "
	    "WHERE m.id > (SELECT upto FROM search_indexed) "
	    "AND +m.room = ?1 AND m.seq < ?2 AND m.deleted = 0 "
	    "AND m.text IS NOT NULL ORDER BY m.id DESC", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan),
		    "%s|", (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(db);
	ck_assert_msg(strstr(plan, "SEARCH m USING INTEGER PRIMARY KEY "
	    "(rowid>?)") != NULL && strstr(plan, "TEMP B-TREE") == NULL,
	    "tail plan: %s", plan);
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_reactions)
{
	struct tdb	 t;
	struct store	*s;
	struct store_message m;
	int64_t		 n = -1;

	tdb_init(&t);
	s = open_ok(&t);
	send_n(s, "r", 2);
	ck_assert_int_eq(store_reaction_set(s, "r", 1, "a", "👍", true, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_reaction_set(s, "r", 1, "a", "👍", true, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_reaction_set(s, "r", 1, "b", "👍", true, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_reaction_set(s, "r", 1, "b", "🎉", true, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_reaction_set(s, "r", 2, "b", "👍", true, &n), 0);
	ck_assert_int_eq(n, 1);

	ck_assert_int_eq(store_message_get(s, "r", 1, &m), 0);
	ck_assert_uint_eq(m.sm_nreactions, 2);
	ck_assert_int_eq(m.sm_reactions[0].sr_count +
	    m.sm_reactions[1].sr_count, 3);
	store_message_clear(&m);

	ck_assert_int_eq(store_reaction_set(s, "r", 1, "b", "👍", false, &n),
	    0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_reaction_set(s, "r", 1, "b", "👍", false, &n),
	    0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_reaction_set(s, "r", 1, "a", "👍", false, &n),
	    0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_reaction_set(s, "r", 9, "a", "👍", true, &n),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_message_delete(s, "r", 2), 0);
	ck_assert_int_eq(store_reaction_set(s, "r", 2, "a", "👍", true, &n),
	    STORE_NOTFOUND);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* Read markers, unread, rooms. */

START_TEST(test_read_markers)
{
	struct tdb	 t;
	struct store	*s;
	int64_t		 v = -1;

	tdb_init(&t);
	s = open_ok(&t);
	send_n(s, "r", 5);
	ck_assert_int_eq(store_read_get(s, "r", "bob", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(store_read_set(s, "r", "bob", 3, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(store_read_set(s, "r", "bob", 1, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(store_read_get(s, "r", "bob", &v), 0);
	ck_assert_int_eq(v, 3);
	/* Never past last_seq. */
	ck_assert_int_eq(store_read_set(s, "r", "bob", 1000, &v), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(store_read_set(s, "r", "bob", -4, &v), 0);
	ck_assert_int_eq(v, 5);
	/* A room with nothing in it yet (a personal room). */
	ck_assert_int_eq(store_read_set(s, "user:bob", "bob", 2, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(store_read_get(s, "r", "alice", &v), 0);
	ck_assert_int_eq(v, 0);
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_unread)
{
	struct tdb	 t;
	struct store	*s;
	int64_t		 n = -1;

	tdb_init(&t);
	s = open_ok(&t);
	send_as(s, "r", "alice", "1", NULL);
	send_as(s, "r", "bob", "2", NULL);
	send_as(s, "r", "alice", "3", NULL);
	send_as(s, "r", "carol", "4", NULL);
	send_as(s, "r", "carol", "5", NULL);
	ck_assert_int_eq(store_unread(s, "r", "bob", 0, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(store_unread(s, "r", "alice", 0, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(store_unread(s, "r", "alice", 3, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_message_delete(s, "r", 5), 0);
	ck_assert_int_eq(store_unread(s, "r", "alice", 3, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_unread(s, "none", "alice", 0, &n), 0);
	ck_assert_int_eq(n, 0);

	store_close(s);
	tdb_done(&t);
}
END_TEST

/* Counts kept by the store against counting, over many writes: sends by
 * several users (events too), deletions in any order, read_seq anywhere. */
START_TEST(test_unread_exact)
{
	static const char *const users[] = { "ann", "bob", "cy", "dee" };
	struct tdb	 t;
	struct store	*s;
	struct store_post ev = {
		.sp_room = "r", .sp_user = "dee", .sp_event = "e",
		.sp_data = "{}", .sp_ts = 1,
	};
	struct store_ack a;
	unsigned int	 x = 12345;
	int		 i;

	tdb_init(&t);
	s = open_ok(&t);
	ck_assert_int_eq(store_begin(s), 0);
	for (i = 0; i < 300; i++) {
		x = x * 1103515245 + 12345;
		if (i % 37 == 5)
			ck_assert_int_eq(store_event_append(s, &ev, &a), 0);
		else
			send_as(s, "r", users[(x >> 16) % 3], "w", NULL);
		send_as(s, "other", users[(x >> 8) % 4], "w", NULL);
	}
	for (i = 0; i < 90; i++) {
		x = x * 1103515245 + 12345;
		/* Some twice: deleting again changes nothing. */
		ck_assert_int_eq(store_message_delete(s, "r",
		    1 + (int64_t)((x >> 16) % 300)), 0);
	}
	ck_assert_int_eq(store_commit(s), 0);
	unread_matches_count(&t, s, "r");
	unread_matches_count(&t, s, "other");
	/* A rolled-back deletion leaves the counts alone. */
	ck_assert_int_eq(store_begin(s), 0);
	for (i = 1; i <= 300; i++)
		ck_assert_int_eq(store_message_delete(s, "r", i), 0);
	ck_assert_int_eq(store_rollback(s), 0);
	unread_matches_count(&t, s, "r");
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_rooms_listing)
{
	struct tdb	 t;
	struct store	*s;
	struct store_roomlist l;
	int64_t		 v;

	tdb_init(&t);
	s = open_ok(&t);
	send_n(s, "b", 4);
	send_as(s, "b", "bob", "mine", NULL);
	send_n(s, "a", 2);
	ck_assert_int_eq(store_membership_add(s, "bob", "b"), 0);
	ck_assert_int_eq(store_membership_add(s, "bob", "a"), 0);
	ck_assert_int_eq(store_membership_add(s, "bob", "a"), STORE_NOTFOUND);
	ck_assert_int_eq(store_membership_add(s, "bob", "c"), 0);
	ck_assert_int_eq(store_membership_add(s, "alice", "a"), 0);
	/* The counts of the bounds on growth (bounds.c). */
	ck_assert_int_eq(store_membership_has(s, "bob", "a"), 0);
	ck_assert_int_eq(store_membership_has(s, "bob", "zz"), STORE_NOTFOUND);
	ck_assert_int_eq(store_membership_count(s, "bob", &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(store_membership_count(s, "nobody", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(store_room_count(s, &v), 0);
	ck_assert_int_eq(v, 2);		/* a and b; c is only a membership */
	ck_assert_int_eq(store_read_set(s, "b", "bob", 1, &v), 0);

	ck_assert_int_eq(store_rooms_for_user(s, "bob", &l), 0);
	ck_assert_uint_eq(l.rl_n, 3);
	ck_assert_str_eq(l.rl_rooms[0].ri_room, "a");
	ck_assert_int_eq(l.rl_rooms[0].ri_last_seq, 2);
	ck_assert_int_eq(l.rl_rooms[0].ri_read_seq, 0);
	ck_assert_int_eq(l.rl_rooms[0].ri_unread, 2);
	ck_assert_str_eq(l.rl_rooms[1].ri_room, "b");
	ck_assert_int_eq(l.rl_rooms[1].ri_last_seq, 5);
	ck_assert_int_eq(l.rl_rooms[1].ri_read_seq, 1);
	ck_assert_int_eq(l.rl_rooms[1].ri_unread, 3);
	ck_assert_str_eq(l.rl_rooms[2].ri_room, "c");
	ck_assert_int_eq(l.rl_rooms[2].ri_last_seq, 0);
	ck_assert_int_eq(l.rl_rooms[2].ri_unread, 0);
	store_roomlist_free(&l);

	ck_assert_int_eq(store_membership_remove(s, "bob", "a"), 0);
	ck_assert_int_eq(store_membership_remove(s, "bob", "zz"),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_membership_count(s, "bob", &v), 0);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(store_rooms_for_user(s, "bob", &l), 0);
	ck_assert_uint_eq(l.rl_n, 2);
	ck_assert_str_eq(l.rl_rooms[0].ri_room, "b");
	store_roomlist_free(&l);
	ck_assert_int_eq(store_rooms_for_user(s, "nobody", &l), 0);
	ck_assert_uint_eq(l.rl_n, 0);
	store_roomlist_free(&l);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* A reader whose deadline has passed still ends its snapshot: the COMMIT
 * that ends it is not interrupted (SQLite checks the progress handler
 * every STORE_PROGRESS_OPS steps summed over a statement's runs), or the
 * connection would stay on that old snapshot for the jobs that follow.
 * The same for the transaction of a search. */
START_TEST(test_reader_deadline_ends_snapshot)
{
	struct tdb	 t;
	struct store	*s, *rd;
	struct store_msglist l;
	char		 err[256] = "", epoch[STORE_ID_LEN];
	int64_t		 seq;
	int		 i;

	tdb_init(&t);
	s = open_ok(&t);
	ck_assert_int_eq(store_room_create(s, "r", epoch), 0);
	rd = store_open_reader(s, t.td_path, err, sizeof(err));
	ck_assert_msg(rd != NULL, "store_open_reader: %s", err);
	for (i = 1; i <= 1500; i++) {
		store_set_deadline(rd, 1);	/* long past */
		if (i % 2) {
			if (store_snapshot_begin(rd) == 0)
				(void)store_room_get(rd, "r", NULL, &seq);
			store_snapshot_end(rd);
		} else {
			(void)store_search(rd, "r", "message", 0, 10, &l);
			store_msglist_free(&l);
		}
		/* The next job, a plain read, sees the newest commit. */
		store_set_deadline(rd, 0);
		send_n(s, "r", 1);
		ck_assert_int_eq(last_seq(rd, "r"), i);
	}
	store_close(rd);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* Batches. */

START_TEST(test_batch_commit)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;
	sqlite3		*db;

	tdb_init(&t);
	s = open_ok(&t);
	db = raw_open(&t);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_begin(s), -1);
	send_n(s, "r", 3);
	/* Visible to the store at once, to other readers only on commit. */
	ck_assert_int_eq(store_history(s, "r", 0, 10, &l), 0);
	ck_assert_uint_eq(l.ml_n, 3);
	store_msglist_free(&l);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM messages"), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM messages"), 3);
	ck_assert_int_eq(store_commit(s), -1);
	sqlite3_close(db);
	store_close(s);
	tdb_done(&t);
}
END_TEST

START_TEST(test_batch_rollback)
{
	struct tdb	 t;
	struct store	*s;
	struct store_msglist l;
	struct store_ack a;
	int64_t		 v;

	tdb_init(&t);
	s = open_ok(&t);
	send_n(s, "r", 2);
	ck_assert_int_eq(store_begin(s), 0);
	a = send_as(s, "r", "u", "lost", "c9");
	ck_assert_int_eq(a.sa_seq, 3);
	send_as(s, "new", "u", "lost too", NULL);
	ck_assert_int_eq(store_membership_add(s, "u", "new"), 0);
	ck_assert_int_eq(store_read_set(s, "r", "u", 3, &v), 0);
	ck_assert_int_eq(store_rollback(s), 0);

	ck_assert_int_eq(store_history(s, "r", 0, 10, &l), 0);
	ck_assert_uint_eq(l.ml_n, 2);
	store_msglist_free(&l);
	ck_assert_int_eq(store_room_get(s, "new", NULL, NULL), STORE_NOTFOUND);
	ck_assert_int_eq(store_read_get(s, "r", "u", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(last_seq(s, "r"), 2);
	/* The seq (and the client_msg_id) are free again. */
	a = send_as(s, "r", "u", "again", "c9");
	ck_assert(!a.sa_duplicate);
	ck_assert_int_eq(a.sa_seq, 3);
	ck_assert_int_eq(store_rollback(s), 0);	/* nothing open: harmless */
	/* Closing with a batch open loses the batch, nothing else. */
	ck_assert_int_eq(store_begin(s), 0);
	send_as(s, "r", "u", "unfinished", NULL);
	store_close(s);
	s = open_ok(&t);
	ck_assert_int_eq(last_seq(s, "r"), 3);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* A write that fails halfway inside a batch leaves no trace and no gap. */
START_TEST(test_batch_partial_failure)
{
	struct tdb	 t;
	struct store	*s;
	struct store_ack a;
	struct store_post p = {
		.sp_room = "r", .sp_user = "u", .sp_name = "n",
		.sp_text = "boom", .sp_ts = 1,
	};
	sqlite3		*db;

	tdb_init(&t);
	s = open_ok(&t);
	store_close(s);
	/* The insert fails after the seq was taken. */
	db = raw_open(&t);
	raw_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON messages "
	    "WHEN new.text = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
	sqlite3_close(db);
	s = open_ok(&t);

	ck_assert_int_eq(store_message_append(s, &p, &a), -1);
	ck_assert_int_eq(store_room_get(s, "r", NULL, NULL), STORE_NOTFOUND);
	ck_assert_int_eq(store_begin(s), 0);
	send_as(s, "r", "u", "one", NULL);
	ck_assert_int_eq(store_message_append(s, &p, &a), -1);
	a = send_as(s, "r", "u", "two", NULL);
	ck_assert_int_eq(a.sa_seq, 2);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(last_seq(s, "r"), 2);
	ck_assert_int_eq(store_message_append(s, &p, &a), -1);
	ck_assert_int_eq(last_seq(s, "r"), 2);
	ck_assert_int_eq(store_check(s), 0);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* The search index after the commit (sql/0005_search_after_commit.sql). */

static int64_t
index_lag(struct store *s)
{
	int64_t	 lag = -1;

	/* A slice of no rows only reports. */
	ck_assert_int_eq(store_index_step(s, 0, &lag), 0);
	return lag;
}

/* The seqs of a search, newest first, as "10 9 8" (+ " more"). */
static void
search_seqs(struct store *s, const char *room, const char *q, int64_t before,
    size_t limit, char *out, size_t outlen)
{
	struct store_msglist l;
	size_t		 i, n = 0;

	out[0] = '\0';
	ck_assert_int_eq(store_search(s, room, q, before, limit, &l), 0);
	for (i = 0; i < l.ml_n; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%lld",
		    i ? " " : "", (long long)l.ml_msgs[i].sm_seq);
	if (l.ml_more)
		snprintf(out + n, outlen - n, " more");
	store_msglist_free(&l);
}

#define ck_search(s, room, q, before, limit, want) do {			\
	char	 got_[512];						\
	search_seqs((s), (room), (q), (before), (limit), got_,		\
	    sizeof(got_));						\
	ck_assert_str_eq(got_, (want));					\
} while (0)

/* A message is found the moment it is stored, before the index holds it,
 * while the index catches up, and after; edits and deletes on either side
 * of the watermark are seen at once. */
START_TEST(test_search_index_lag)
{
	struct tdb	 t;
	struct store	*s;
	char		 text[32];
	int64_t		 lag;
	int		 i;

	tdb_init(&t);
	s = open_ok(&t);
	for (i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "common word%d", i);
		send_as(s, "r", "u", text, NULL);
		if (i <= 3)
			send_as(s, "other", "u", "common", NULL);
	}
	ck_assert_int_eq(index_lag(s), 13);
	ck_search(s, "r", "common", 0, 4, "10 9 8 7 more");
	ck_search(s, "r", "common", 3, 10, "2 1");
	ck_search(s, "r", "word7", 0, 10, "7");
	ck_search(s, "other", "common", 0, 10, "3 2 1");

	/* Rows 1..6 indexed: r's seqs 1..3 and other's 1..3. */
	ck_assert_int_eq(store_index_step(s, 6, &lag), 0);
	ck_assert_int_eq(lag, 7);
	fts_integrity(&t);
	ck_search(s, "r", "common", 0, 100, "10 9 8 7 6 5 4 3 2 1");
	ck_search(s, "r", "common", 0, 7, "10 9 8 7 6 5 4 more");
	ck_search(s, "r", "common", 0, 6, "10 9 8 7 6 5 more");
	ck_search(s, "r", "common", 0, 5, "10 9 8 7 6 more");
	ck_search(s, "r", "common", 5, 2, "4 3 more");
	ck_search(s, "r", "common", 3, 10, "2 1");
	ck_search(s, "other", "common", 0, 10, "3 2 1");

	/* Edits and deletes, indexed (seq 2) and not (seqs 8, 9). */
	ck_assert_int_eq(store_message_edit(s, "r", 2, "changed", 1), 0);
	ck_assert_int_eq(store_message_edit(s, "r", 8, "fresh", 1), 0);
	ck_assert_int_eq(store_message_delete(s, "r", 9), 0);
	ck_search(s, "r", "common", 0, 100, "10 7 6 5 4 3 1");
	ck_search(s, "r", "changed", 0, 100, "2");
	ck_search(s, "r", "fresh", 0, 100, "8");
	ck_search(s, "r", "word8", 0, 100, "");
	fts_integrity(&t);

	/* Caught up: the same answers from the index alone. */
	ck_assert_int_eq(store_index_step(s, 1000, &lag), 0);
	ck_assert_int_eq(lag, 0);
	ck_assert_int_eq(index_lag(s), 0);
	fts_integrity(&t);
	ck_search(s, "r", "common", 0, 100, "10 7 6 5 4 3 1");
	ck_search(s, "r", "fresh", 0, 100, "8");
	ck_search(s, "r", "word9", 0, 100, "");
	ck_search(s, "r", "common", 6, 2, "5 4 more");
	ck_assert_int_eq(store_message_edit(s, "r", 10, "fresh again", 2), 0);
	ck_search(s, "r", "fresh", 0, 100, "10 8");
	fts_integrity(&t);
	store_close(s);
	tdb_done(&t);
}
END_TEST

/* Inside a batch a slice is one of its writes: rolled back with it. */
START_TEST(test_search_index_in_batch)
{
	struct tdb	 t;
	struct store	*s;
	sqlite3		*db;
	int64_t		 lag;

	tdb_init(&t);
	s = open_ok(&t);
	ck_assert_int_eq(store_begin(s), 0);
	send_n(s, "r", 3);
	ck_assert_int_eq(store_index_step(s, 100, &lag), 0);
	ck_assert_int_eq(lag, 0);
	ck_assert_int_eq(store_rollback(s), 0);
	ck_assert_int_eq(index_lag(s), 0);
	db = raw_open(&t);
	ck_assert_int_eq(raw_int(db, "SELECT upto FROM search_indexed"), 0);
	sqlite3_close(db);

	ck_assert_int_eq(store_begin(s), 0);
	send_n(s, "r", 3);
	ck_assert_int_eq(store_index_step(s, 2, &lag), 0);
	ck_assert_int_eq(lag, 1);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(index_lag(s), 1);
	ck_search(s, "r", "message", 0, 10, "3 2 1");
	store_close(s);
	fts_integrity(&t);
	tdb_done(&t);
}
END_TEST

/* A slice outside a batch commits unsynced; the writer's durability is
 * back before anything else is written. */
START_TEST(test_search_index_sync_restored)
{
	struct tdb	 t;
	struct store_conn *c;
	struct store_post p = {
		.sp_room = "r", .sp_user = "u", .sp_text = "hello",
		.sp_ts = 1,
	};
	struct store_ack a;
	char		 err[256] = "";
	int64_t		 lag, mode;

	tdb_init(&t);
	c = sq_open(t.td_path, CFG_SYNC_FULL, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(sq_message_append(c, &p, &a), 0);
	ck_assert_int_eq(sq_index_step(c, 10, &lag), 0);
	ck_assert_int_eq(lag, 0);
	ck_assert_int_eq(sq_db_pragma(c->st_db, "PRAGMA synchronous", &mode,
	    NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(mode, 2);	/* FULL */
	/* Even if the restore had failed, the next write restores it. */
	ck_assert_int_eq(sq_sync_mode(c, false), 0);
	ck_assert_int_eq(sq_message_append(c, &p, &a), 0);
	ck_assert_int_eq(sq_db_pragma(c->st_db, "PRAGMA synchronous", &mode,
	    NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(mode, 2);
	sq_close(c);
	tdb_done(&t);
}
END_TEST

/* The WAL is checkpointed by the store's thread, never by a commit, and
 * stays bounded while writes go on without a pause. */
START_TEST(test_wal_bounded)
{
	struct tdb	 t;
	struct store_conn *c;
	struct store_post p = {
		.sp_room = "r", .sp_user = "u", .sp_ts = 1,
	};
	struct store_ack a;
	char		 err[256] = "", text[600], wal[128];
	struct stat	 sb;
	off_t		 most = 0;
	int		 i, j;

	tdb_init(&t);
	c = sq_open(t.td_path, CFG_SYNC_NORMAL, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	/* 20 pages start a passive checkpoint, 100 a restart. */
	sq_ckpt_set_limits(c, 20, 100);
	snprintf(wal, sizeof(wal), "%s-wal", t.td_path);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	p.sp_text = text;
	/* 300 batches of 20 messages of 600 bytes: about 900 pages of
	 * rows alone, nine times the restart limit. */
	for (i = 0; i < 300; i++) {
		ck_assert_int_eq(sq_begin(c), 0);
		for (j = 0; j < 20; j++)
			ck_assert_int_eq(sq_message_append(c, &p, &a), 0);
		ck_assert_int_eq(sq_commit(c), 0);
		ck_assert_int_eq(stat(wal, &sb), 0);
		if (sb.st_size > most)
			most = sb.st_size;
	}
	ck_assert_uint_gt(sq_ckpt_runs(c), 0);
	/* The restart limit, plus what the commits in flight add while the
	 * thread waits for its turn: far below the 900 pages. */
	ck_assert_msg(most < 400 * 4096, "WAL grew to %lld bytes",
	    (long long)most);
	sq_close(c);
	tdb_done(&t);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*su = suite_create("store");
	TCase	*tc;

	log_init("test", -1, 0);
	tc = tcase_create("migrate");
	tcase_add_test(tc, test_migrate_empty);
	tcase_add_loop_test(tc, test_migrate_upgrade, 0,
	    (int)store_nmigrations);
	tcase_add_test(tc, test_migrate_refuse_newer);
	tcase_add_test(tc, test_migrate_refuse_foreign);
	tcase_add_test(tc, test_wal_mode);
	tcase_add_test(tc, test_wal_bounded);
	tcase_set_timeout(tc, STORE_TEST_TIMEOUT);
	suite_add_tcase(su, tc);

	tc = tcase_create("append");
	tcase_add_test(tc, test_room_create_get);
	tcase_add_test(tc, test_seq_per_room);
	tcase_add_test(tc, test_msg_id_unique);
	tcase_add_test(tc, test_client_msg_id);
	tcase_add_test(tc, test_events);
	tcase_set_timeout(tc, STORE_TEST_TIMEOUT);
	suite_add_tcase(su, tc);

	tc = tcase_create("lists");
	tcase_add_test(tc, test_history_paging);
	tcase_add_test(tc, test_since);
	tcase_set_timeout(tc, STORE_TEST_TIMEOUT);
	suite_add_tcase(su, tc);

	tc = tcase_create("changes");
	tcase_add_test(tc, test_edit_delete);
	tcase_add_test(tc, test_search);
	tcase_add_test(tc, test_search_injection);
	tcase_add_test(tc, test_search_scoped);
	tcase_add_test(tc, test_search_terms);
	tcase_add_test(tc, test_search_plan);
	tcase_add_test(tc, test_search_index_lag);
	tcase_add_test(tc, test_search_index_in_batch);
	tcase_add_test(tc, test_search_index_sync_restored);
	tcase_add_test(tc, test_reactions);
	tcase_set_timeout(tc, STORE_TEST_TIMEOUT);
	suite_add_tcase(su, tc);

	tc = tcase_create("read");
	tcase_add_test(tc, test_read_markers);
	tcase_add_test(tc, test_unread);
	tcase_add_test(tc, test_unread_exact);
	tcase_add_test(tc, test_rooms_listing);
	tcase_add_test(tc, test_reader_deadline_ends_snapshot);
	tcase_set_timeout(tc, STORE_TEST_TIMEOUT);
	suite_add_tcase(su, tc);

	tc = tcase_create("batch");
	tcase_add_test(tc, test_batch_commit);
	tcase_add_test(tc, test_batch_rollback);
	tcase_add_test(tc, test_batch_partial_failure);
	tcase_set_timeout(tc, STORE_TEST_TIMEOUT);
	suite_add_tcase(su, tc);
	return su;
}
