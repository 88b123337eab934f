/* store_sqlite.c: the SQLite store: open, pragmas, the prepared statements
 * and their helpers, reader connections, close, and the ops table.  Writes
 * are in store_sqlite_write.c, reads in store_sqlite_query.c, the search
 * tokenizer in store_sqlite_fts.c, migrations in store_sqlite_migrate.c.
 * See store.h for the contract. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sqlite.h"
#include "util.h"

#define STORE_BUSY_MS		5000
#define STORE_PROGRESS_OPS	1000	/* VM steps between deadline checks */

/* Message columns, in the order row_read() (store_sqlite_query.c) expects. */
#define MSG_COLS "m.seq, m.msg_id, m.kind, m.user, m.name, m.text, m.ts, " \
	"m.client_msg_id, m.edited_ts, m.deleted, m.event, m.data"

/* Every statement the store runs after open, prepared once. */
static const char *const store_sql[ST__COUNT] = {
	[ST_SAVEPOINT] = "SAVEPOINT store_op",
	[ST_RELEASE] = "RELEASE store_op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO store_op",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN DEFERRED",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* Reads a page, so a broken file or disk shows. */
	[ST_CHECK] = "SELECT count(*) FROM (SELECT 1 FROM rooms LIMIT 1)",
	[ST_ROOM_GET] = "SELECT epoch, last_seq FROM rooms WHERE room = ?1",
	[ST_ROOM_INSERT] = "INSERT INTO rooms (room, epoch, last_seq, "
	    "created_ts) VALUES (?1, ?2, 0, ?3) ON CONFLICT (room) DO NOTHING",
	[ST_ROOM_BUMP] = "UPDATE rooms SET last_seq = last_seq + 1 "
	    "WHERE room = ?1 RETURNING last_seq",
	/* user_n: the user's rows in the room, this one included (0004). */
	[ST_MSG_INSERT] = "INSERT INTO messages (room, seq, msg_id, user, "
	    "name, text, ts, client_msg_id, kind, event, data, user_n) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	    "coalesce((SELECT user_n FROM messages WHERE room = ?1 "
	    "AND user = ?4 ORDER BY seq DESC LIMIT 1), 0) + 1)",
	[ST_CLIENT_FIND] = "SELECT seq, msg_id, ts FROM messages "
	    "WHERE room = ?1 AND user = ?2 AND client_msg_id = ?3",
	[ST_MSG_GET] = "SELECT " MSG_COLS " FROM messages m "
	    "WHERE m.room = ?1 AND m.seq = ?2",
	[ST_HISTORY] = "SELECT " MSG_COLS " FROM messages m "
	    "WHERE m.room = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3",
	[ST_SINCE] = "SELECT " MSG_COLS " FROM messages m "
	    "WHERE m.room = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3",
	/* The index drives (0003): ?2's tokens are the room's, and rowid
	 * order is seq order within it, so seq < ?3 becomes rowid < the id
	 * at seq ?3 (or the next one) and the index skips what is after
	 * before.  The checks on m restate the invariants. */
	[ST_SEARCH] = "SELECT " MSG_COLS " FROM messages_fts f "
	    "CROSS JOIN messages m ON m.id = f.rowid "
	    "WHERE f.messages_fts MATCH ?2 AND f.rowid < coalesce((SELECT id "
	    "FROM messages WHERE room = ?1 AND seq >= ?3 ORDER BY seq "
	    "LIMIT 1), 9223372036854775807) "
	    "AND m.room = ?1 AND m.seq < ?3 AND m.deleted = 0 "
	    "ORDER BY f.rowid DESC LIMIT ?4",
	/* The rows above the index's watermark (0005), newest first: a
	 * rowid range as long as the lag ('+' keeps the planner off the
	 * room's index, which would walk the whole room). */
	[ST_SEARCH_TAIL] = "SELECT " MSG_COLS " FROM messages m "
	    "WHERE m.id > (SELECT upto FROM search_indexed) "
	    "AND +m.room = ?1 AND m.seq < ?2 AND m.deleted = 0 "
	    "AND m.text IS NOT NULL ORDER BY m.id DESC",
	[ST_REACTIONS] = "SELECT emoji, count(*) FROM reactions "
	    "WHERE room = ?1 AND seq = ?2 GROUP BY emoji ORDER BY emoji",
	[ST_EDIT] = "UPDATE messages SET text = ?3, edited_ts = ?4 "
	    "WHERE room = ?1 AND seq = ?2 AND deleted = 0 AND kind = 0",
	[ST_DELETE] = "UPDATE messages SET deleted = 1, text = NULL, "
	    "data = NULL WHERE room = ?1 AND seq = ?2",
	[ST_REACT_CLEAR] = "DELETE FROM reactions WHERE room = ?1 AND seq = ?2",
	[ST_LIVE] = "SELECT 1 FROM messages "
	    "WHERE room = ?1 AND seq = ?2 AND deleted = 0",
	[ST_REACT_ADD] = "INSERT INTO reactions (room, seq, user, emoji) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[ST_REACT_DEL] = "DELETE FROM reactions "
	    "WHERE room = ?1 AND seq = ?2 AND user = ?3 AND emoji = ?4",
	[ST_REACT_COUNT] = "SELECT count(*) FROM reactions "
	    "WHERE room = ?1 AND seq = ?2 AND emoji = ?3",
	/* Clamped to [0, last_seq] so a bogus seq cannot hide later unread. */
	[ST_READ_SET] = "INSERT INTO read_markers (room, user, read_seq) "
	    "VALUES (?1, ?2, max(0, min(?3, coalesce((SELECT last_seq "
	    "FROM rooms WHERE room = ?1), 0)))) "
	    "ON CONFLICT (room, user) DO UPDATE "
	    "SET read_seq = max(read_seq, excluded.read_seq) "
	    "RETURNING read_seq",
	[ST_READ_GET] = "SELECT read_seq FROM read_markers "
	    "WHERE room = ?1 AND user = ?2",
	/* What an unread count needs besides the Fenwick prefixes, as in
	 * sql/0004_unread_counts.sql: last_seq, own_after, and per tree
	 * (every author, then the user) the highest deleted seq and the
	 * total.  Scalar subqueries only: no temporary tables. */
	[ST_UNREAD] = "SELECT coalesce((SELECT last_seq FROM rooms "
	    "WHERE room = ?1), 0), "
	    "coalesce((SELECT user_n FROM messages WHERE room = ?1 "
	    "AND user = ?3 ORDER BY seq DESC LIMIT 1), 0) "
	    "- coalesce((SELECT user_n FROM messages WHERE room = ?1 "
	    "AND user = ?3 AND seq <= ?2 ORDER BY seq DESC LIMIT 1), 0), "
	    "coalesce((SELECT n FROM unread_deleted WHERE room = ?1 "
	    "AND user = '' AND node = -1), 0), "
	    "coalesce((SELECT n FROM unread_deleted WHERE room = ?1 "
	    "AND user = '' AND node = 0), 0), "
	    "coalesce((SELECT n FROM unread_deleted WHERE room = ?1 "
	    "AND user = ?3 AND node = -1), 0), "
	    "coalesce((SELECT n FROM unread_deleted WHERE room = ?1 "
	    "AND user = ?3 AND node = 0), 0)",
	[ST_DELETED_NODE] = "SELECT n FROM unread_deleted "
	    "WHERE room = ?1 AND user = ?2 AND node = ?3",
	[ST_MEMBER_ADD] = "INSERT INTO memberships (user, room) "
	    "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[ST_MEMBER_DEL] = "DELETE FROM memberships "
	    "WHERE user = ?1 AND room = ?2",
	[ST_ROOMS_FOR] = "SELECT ms.room, coalesce(r.last_seq, 0), "
	    "coalesce(rm.read_seq, 0) FROM memberships ms "
	    "LEFT JOIN rooms r ON r.room = ms.room "
	    "LEFT JOIN read_markers rm ON rm.room = ms.room "
	    "AND rm.user = ms.user WHERE ms.user = ?1 ORDER BY ms.room",
	[ST_MEMBER_HAS] = "SELECT 1 FROM memberships "
	    "WHERE user = ?1 AND room = ?2",
	[ST_MEMBER_COUNT] = "SELECT count(*) FROM memberships WHERE user = ?1",
	[ST_ROOM_COUNT] = "SELECT count(*) FROM rooms",
	/* Indexing after the commit (0005). */
	[ST_INDEX_STATE] = "SELECT upto, coalesce((SELECT max(id) "
	    "FROM messages), 0) FROM search_indexed",
	[ST_INDEX_ROWS] = "INSERT INTO messages_fts (rowid, text) "
	    "SELECT id, lower(hex(room)) || ' ' || text FROM messages "
	    "WHERE id > ?1 AND id <= ?2 AND text IS NOT NULL",
	[ST_INDEX_SET] = "UPDATE search_indexed SET upto = ?1",
};

void
sq_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
sq_fail(struct store_conn *s, const char *what)
{
	/* A reader's deadline is a limit doing its job, not a fault. */
	if (s->st_interrupted)
		log_info("query_deadline", "interrupted: %s", what);
	else
		log_warnx("store_error", "%s: %s", what,
		    sqlite3_errmsg(s->st_db));
	return -1;
}

void
sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds ?1, ?2... from fmt: 's' string (NULL binds NULL), 'I' int64_t.
 * Strings are borrowed: every caller resets before they go away. */
int
sq_bind(struct store_conn *s, sqlite3_stmt *st, const char *fmt, ...)
{
	va_list		 ap;
	const char	*str;
	int		 i, rc = SQLITE_OK;

	if ((int)strlen(fmt) != sqlite3_bind_parameter_count(st)) {
		log_warnx("store_error", "bind: %zu values for \"%s\"",
		    strlen(fmt), sqlite3_sql(st));
		return -1;
	}
	va_start(ap, fmt);
	for (i = 1; *fmt != '\0' && rc == SQLITE_OK; fmt++, i++) {
		if (*fmt == 's') {
			str = va_arg(ap, const char *);
			rc = str == NULL ? sqlite3_bind_null(st, i) :
			    sqlite3_bind_text(st, i, str, -1, SQLITE_STATIC);
		} else
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_fail(s, "bind");
	}
	return 0;
}

/* Steps a statement that returns no rows, then resets it. */
int
sq_run(struct store_conn *s, enum store_st id)
{
	sqlite3_stmt	*st = s->st_stmts[id];

	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_fail(s, sqlite3_sql(st));
		sq_done(st);
		return -1;
	}
	sq_done(st);
	return 0;
}

/* Steps a bound statement expected to give at most one row of one integer:
 * 0 with *v, STORE_NOTFOUND, or -1.  Resets it. */
int
sq_one_int(struct store_conn *s, enum store_st id, int64_t *v)
{
	sqlite3_stmt	*st = s->st_stmts[id];
	int		 rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = sq_fail(s, sqlite3_sql(st));
	sq_done(st);
	return rc;
}

char *
sq_col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v == NULL ? NULL : xstrdup((const char *)v);
}

void
sq_col_id(sqlite3_stmt *st, int i, char out[STORE_ID_LEN])
{
	const unsigned char *v = sqlite3_column_text(st, i);

	snprintf(out, STORE_ID_LEN, "%s", v == NULL ? "" : (const char *)v);
}

/*
 * Each write runs under a savepoint: a failure halfway (seq bumped, insert
 * refused) must not leave a gap inside the caller's batch.  Outside a batch
 * the savepoint is the transaction and its release commits.
 */
int
sq_op_begin(struct store_conn *s)
{
	if (s->st_batch && sqlite3_get_autocommit(s->st_db)) {
		/* SQLite rolled the whole batch back (I/O error, full disk). */
		log_warnx("store_error", "batch transaction was rolled back");
		return -1;
	}
	/* Never a write without the configured durability. */
	if (s->st_sync_relaxed && sq_sync_mode(s, true) == -1)
		return -1;
	return sq_run(s, ST_SAVEPOINT);
}

int
sq_op_end(struct store_conn *s, int rc)
{
	if (sqlite3_get_autocommit(s->st_db))
		return -1;	/* already rolled back by SQLite */
	if (rc != -1 && sq_run(s, ST_RELEASE) == 0)
		return rc;
	if (sq_run(s, ST_ROLLBACK_TO) == 0)
		sq_run(s, ST_RELEASE);
	if (!s->st_batch && !sqlite3_get_autocommit(s->st_db))
		sq_run(s, ST_ROLLBACK);
	return -1;
}

int
sq_read_begin(struct store_conn *s, int *began)
{
	*began = 0;
	if (!sqlite3_get_autocommit(s->st_db))
		return 0;	/* inside a batch or a read already */
	if (sq_run(s, ST_BEGIN_READ) == -1)
		return -1;
	*began = 1;
	return 0;
}

/* Ends a read transaction, never interrupted: past the deadline the
 * progress handler would stop the COMMIT too, and the connection would
 * stay on its old snapshot for the jobs that follow.  -1: rolled back. */
static int
read_txn_end(struct store_conn *s)
{
	uint64_t	 deadline = s->st_deadline_ms;
	int		 rc = 0;

	s->st_deadline_ms = 0;
	if (sq_run(s, ST_COMMIT) == -1) {
		sq_run(s, ST_ROLLBACK);
		rc = -1;
	}
	s->st_deadline_ms = deadline;
	return rc;
}

int
sq_read_end(struct store_conn *s, int began, int rc)
{
	if (!began || sqlite3_get_autocommit(s->st_db))
		return rc;
	return read_txn_end(s) == 0 ? rc : -1;
}

/* Runs one statement of a fresh connection, outside the table. */
int
sq_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sq_seterr(err, errlen, "%s", msg != NULL ? msg :
		    sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The first column of a one-row pragma, as an integer or copied text. */
int
sq_db_pragma(sqlite3 *db, const char *sql, int64_t *iv, char *tv,
    size_t tvlen, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	const char	*t;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sq_seterr(err, errlen, "%s: %s", sql, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	if (iv != NULL)
		*iv = sqlite3_column_int64(st, 0);
	if (tv != NULL) {
		t = (const char *)sqlite3_column_text(st, 0);
		snprintf(tv, tvlen, "%s", t == NULL ? "" : t);
	}
	sqlite3_finalize(st);
	return 0;
}

/* Open path for the writer or a reader (flags), with what every
 * connection needs: extended codes, the busy timeout, and the index's
 * tokenizer (writes to messages and search queries both use it). */
static int
sq_db_open(struct store_conn *s, const char *path, int flags, char *err,
    size_t errlen)
{
	if (sqlite3_open_v2(path, &s->st_db, flags, NULL) != SQLITE_OK) {
		sq_seterr(err, errlen, "%s: %s", path, s->st_db == NULL ?
		    "out of memory" : sqlite3_errmsg(s->st_db));
		return -1;
	}
	sqlite3_extended_result_codes(s->st_db, 1);
	sqlite3_busy_timeout(s->st_db, STORE_BUSY_MS);
	if (sq_fts_register(s->st_db) == -1) {
		sq_seterr(err, errlen, "%s: cannot register the full-text "
		    "tokenizer: %s", path, sqlite3_errmsg(s->st_db));
		return -1;
	}
	return 0;
}

/* Every statement of store_sql, prepared once for the connection's life. */
static int
sq_prepare_all(struct store_conn *s, char *err, size_t errlen)
{
	for (int i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(s->st_db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st_stmts[i], NULL) !=
		    SQLITE_OK) {
			sq_seterr(err, errlen, "prepare \"%s\": %s",
			    store_sql[i], sqlite3_errmsg(s->st_db));
			return -1;
		}
	}
	return 0;
}

/*
 * Process-wide SQLite settings, made before SQLite initialises (the first
 * sq_open() of the process, before any reader thread exists).  Statement
 * journals (every write's savepoint) stay in memory in small chunks: with
 * the default 64 KiB spill size each one is a 64 KiB malloc, which glibc
 * takes from and gives back to the kernel (brk) on every write: a quarter
 * of the broker's CPU under ingest load.  A statement journal holds the
 * pages one write touched, a few.
 */
static void
sq_global_config(void)
{
	int	 rc;

	if ((rc = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1)) !=
	    SQLITE_OK)
		log_info("store_config", "statement journal spill not set: "
		    "%s", sqlite3_errstr(rc));
}

struct store_conn *
sq_open(const char *path, enum cfg_sync sync, char *err, size_t errlen)
{
	static pthread_once_t	 config_once = PTHREAD_ONCE_INIT;
	struct store_conn	*s;
	char		 mode[16];

	pthread_once(&config_once, sq_global_config);
	if (sodium_init() == -1) {
		sq_seterr(err, errlen, "libsodium failed to initialise");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->st_sync = sync;
	s->st_rand_off = sizeof(s->st_rand);	/* empty */
	/* One thread (the broker's loop) uses the writer: no mutex on
	 * every call.  The checkpoint thread has its own connection. */
	if (sq_db_open(s, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, err, errlen) == -1)
		goto fail;
	if (sq_db_pragma(s->st_db, "PRAGMA journal_mode = WAL", NULL, mode,
	    sizeof(mode), err, errlen) == -1)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		sq_seterr(err, errlen, "%s: cannot use WAL (journal_mode "
		    "%s)", path, mode);
		goto fail;
	}
	if (sq_db_exec(s->st_db, sync == CFG_SYNC_FULL ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    err, errlen) == -1 ||
	    sq_db_exec(s->st_db, "PRAGMA foreign_keys = ON", err,
	    errlen) == -1)
		goto fail;
	if (sq_migrate(s->st_db, err, errlen) == -1)
		goto fail;
	if (sq_prepare_all(s, err, errlen) == -1 ||
	    sq_ckpt_start(s, path, err, errlen) == -1)
		goto fail;
	return s;
fail:
	sq_close(s);
	return NULL;
}

/* Interrupts the running statement once its deadline has passed. */
static int
sq_progress(void *arg)
{
	struct store_conn	*s = arg;

	if (s->st_deadline_ms == 0 || now_mono_ms() <= s->st_deadline_ms)
		return 0;
	s->st_interrupted = 1;
	return 1;
}

struct store_conn *
sq_open_reader(const char *path, char *err, size_t errlen)
{
	struct store_conn	*s;

	s = xcalloc(1, sizeof(*s));
	s->st_rand_off = sizeof(s->st_rand);	/* empty */
	if (sq_db_open(s, path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    err, errlen) == -1)
		goto fail;
	sqlite3_progress_handler(s->st_db, STORE_PROGRESS_OPS, sq_progress,
	    s);
	/* The writer made the schema; the write statements are prepared
	 * too (a read-only connection refuses them when stepped). */
	if (sq_prepare_all(s, err, errlen) == -1)
		goto fail;
	return s;
fail:
	sq_close(s);
	return NULL;
}

void
sq_set_deadline(struct store_conn *s, uint64_t deadline_ms)
{
	s->st_deadline_ms = deadline_ms;
	s->st_interrupted = 0;
}

int
sq_interrupted(const struct store_conn *s)
{
	return s->st_interrupted;
}

void
sq_interrupt(struct store_conn *s)
{
	sqlite3_interrupt(s->st_db);
}

int
sq_snapshot_begin(struct store_conn *s)
{
	if (sq_run(s, ST_BEGIN_READ) == -1)
		return -1;
	return 0;
}

void
sq_snapshot_end(struct store_conn *s)
{
	if (!sqlite3_get_autocommit(s->st_db))
		(void)read_txn_end(s);
}

void
sq_close(struct store_conn *s)
{
	int	 i;

	if (s == NULL)
		return;
	if (s->st_db != NULL && !sqlite3_get_autocommit(s->st_db)) {
		log_warnx("store_error", "closing with a batch open: "
		    "rolled back");
		sqlite3_exec(s->st_db, "ROLLBACK", NULL, NULL, NULL);
	}
	sq_ckpt_stop(s);
	sodium_memzero(s->st_rand, sizeof(s->st_rand));
	sq_tokenizer_free(s);
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st_stmts[i]);
	if (sqlite3_close(s->st_db) != SQLITE_OK)
		log_warnx("store_error", "close: %s", sqlite3_errmsg(s->st_db));
	free(s);
}

int
sq_check(struct store_conn *s)
{
	int64_t	 n;

	return sq_one_int(s, ST_CHECK, &n) == 0 ? 0 : -1;
}

/* The SQLite store, as store.c calls it. */
const struct store_ops store_sqlite_ops = {
	.so_name = "sqlite",
	.so_open = sq_open,
	.so_open_reader = sq_open_reader,
	.so_close = sq_close,
	.so_check = sq_check,
	.so_set_deadline = sq_set_deadline,
	.so_interrupted = sq_interrupted,
	.so_interrupt = sq_interrupt,
	.so_snapshot_begin = sq_snapshot_begin,
	.so_snapshot_end = sq_snapshot_end,
	.so_begin = sq_begin,
	.so_commit = sq_commit,
	.so_rollback = sq_rollback,
	.so_index_step = sq_index_step,
	.so_room_get = sq_room_get,
	.so_room_create = sq_room_create,
	.so_message_append = sq_message_append,
	.so_event_append = sq_event_append,
	.so_find_client_msg = sq_find_client_msg,
	.so_message_get = sq_message_get,
	.so_message_edit = sq_message_edit,
	.so_message_delete = sq_message_delete,
	.so_history = sq_history,
	.so_since = sq_since,
	.so_search = sq_search,
	.so_search_terms = sq_search_terms,
	.so_reaction_set = sq_reaction_set,
	.so_read_set = sq_read_set,
	.so_read_get = sq_read_get,
	.so_unread = sq_unread,
	.so_membership_add = sq_membership_add,
	.so_membership_remove = sq_membership_remove,
	.so_membership_has = sq_membership_has,
	.so_membership_count = sq_membership_count,
	.so_room_count = sq_room_count,
	.so_rooms_for_user = sq_rooms_for_user,
};
