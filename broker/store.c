/* store.c: SQLite persistence for the broker: open, prepared statements,
 * transactions, writes.  Migrations are in store_migrate.c, message reads
 * in store_query.c.  See store.h for the contract. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "store_migrate.h"
#include "util.h"

#define STORE_BUSY_MS		5000
#define STORE_PROGRESS_OPS	1000	/* VM steps between deadline checks */
/* The highest seq the unread counts' Fenwick trees hold (0004). */
#define STORE_FENWICK_MAX	((int64_t)1 << 40)

/* Message columns, in the order row_read() (store_query.c) expects. */
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
};

void
store_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
store_fail(struct store *s, const char *what)
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
store_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds ?1, ?2... from fmt: 's' string (NULL binds NULL), 'I' int64_t.
 * Strings are borrowed: every caller resets before they go away. */
int
store_bind(struct store *s, sqlite3_stmt *st, const char *fmt, ...)
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
		store_done(st);
		return store_fail(s, "bind");
	}
	return 0;
}

/* Steps a statement that returns no rows, then resets it. */
static int
run(struct store *s, enum store_st id)
{
	sqlite3_stmt	*st = s->st_stmts[id];

	if (sqlite3_step(st) != SQLITE_DONE) {
		store_fail(s, sqlite3_sql(st));
		store_done(st);
		return -1;
	}
	store_done(st);
	return 0;
}

/* Steps a bound statement expected to give at most one row of one integer:
 * 0 with *v, STORE_NOTFOUND, or -1.  Resets it. */
static int
one_int(struct store *s, enum store_st id, int64_t *v)
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
		rc = store_fail(s, sqlite3_sql(st));
	store_done(st);
	return rc;
}

char *
store_col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v == NULL ? NULL : xstrdup((const char *)v);
}

void
store_col_id(sqlite3_stmt *st, int i, char out[STORE_ID_LEN])
{
	const unsigned char *v = sqlite3_column_text(st, i);

	snprintf(out, STORE_ID_LEN, "%s", v == NULL ? "" : (const char *)v);
}

static void
random_id(char out[STORE_ID_LEN])
{
	unsigned char	 b[(STORE_ID_LEN - 1) / 2];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, STORE_ID_LEN, b, sizeof(b));
}

/*
 * Each write runs under a savepoint: a failure halfway (seq bumped, insert
 * refused) must not leave a gap inside the caller's batch.  Outside a batch
 * the savepoint is the transaction and its release commits.
 */
static int
op_begin(struct store *s)
{
	if (s->st_batch && sqlite3_get_autocommit(s->st_db)) {
		/* SQLite rolled the whole batch back (I/O error, full disk). */
		log_warnx("store_error", "batch transaction was rolled back");
		return -1;
	}
	return run(s, ST_SAVEPOINT);
}

static int
op_end(struct store *s, int rc)
{
	if (sqlite3_get_autocommit(s->st_db))
		return -1;	/* already rolled back by SQLite */
	if (rc != -1 && run(s, ST_RELEASE) == 0)
		return rc;
	if (run(s, ST_ROLLBACK_TO) == 0)
		run(s, ST_RELEASE);
	if (!s->st_batch && !sqlite3_get_autocommit(s->st_db))
		run(s, ST_ROLLBACK);
	return -1;
}

int
store_read_begin(struct store *s, int *began)
{
	*began = 0;
	if (!sqlite3_get_autocommit(s->st_db))
		return 0;	/* inside a batch or a read already */
	if (run(s, ST_BEGIN_READ) == -1)
		return -1;
	*began = 1;
	return 0;
}

/* Ends a read transaction, never interrupted: past the deadline the
 * progress handler would stop the COMMIT too, and the connection would
 * stay on its old snapshot for the jobs that follow.  -1: rolled back. */
static int
read_txn_end(struct store *s)
{
	uint64_t	 deadline = s->st_deadline_ms;
	int		 rc = 0;

	s->st_deadline_ms = 0;
	if (run(s, ST_COMMIT) == -1) {
		run(s, ST_ROLLBACK);
		rc = -1;
	}
	s->st_deadline_ms = deadline;
	return rc;
}

int
store_read_end(struct store *s, int began, int rc)
{
	if (!began || sqlite3_get_autocommit(s->st_db))
		return rc;
	return read_txn_end(s) == 0 ? rc : -1;
}

/* Runs one statement of a fresh connection, outside the table. */
int
store_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_seterr(err, errlen, "%s", msg != NULL ? msg :
		    sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The first column of a one-row pragma, as an integer or copied text. */
int
store_db_pragma(sqlite3 *db, const char *sql, int64_t *iv, char *tv,
    size_t tvlen, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	const char	*t;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		store_seterr(err, errlen, "%s: %s", sql, sqlite3_errmsg(db));
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
store_db_open(struct store *s, const char *path, int flags, char *err,
    size_t errlen)
{
	if (sqlite3_open_v2(path, &s->st_db, flags, NULL) != SQLITE_OK) {
		store_seterr(err, errlen, "%s: %s", path, s->st_db == NULL ?
		    "out of memory" : sqlite3_errmsg(s->st_db));
		return -1;
	}
	sqlite3_extended_result_codes(s->st_db, 1);
	sqlite3_busy_timeout(s->st_db, STORE_BUSY_MS);
	if (store_fts_register(s->st_db) == -1) {
		store_seterr(err, errlen, "%s: cannot register the full-text "
		    "tokenizer: %s", path, sqlite3_errmsg(s->st_db));
		return -1;
	}
	return 0;
}

/* Every statement of store_sql, prepared once for the connection's life. */
static int
store_prepare_all(struct store *s, char *err, size_t errlen)
{
	for (int i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(s->st_db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st_stmts[i], NULL) !=
		    SQLITE_OK) {
			store_seterr(err, errlen, "prepare \"%s\": %s",
			    store_sql[i], sqlite3_errmsg(s->st_db));
			return -1;
		}
	}
	return 0;
}

struct store *
store_open(const char *path, enum cfg_sync sync, char *err, size_t errlen)
{
	struct store	*s;
	char		 mode[16];

	if (sodium_init() == -1) {
		store_seterr(err, errlen, "libsodium failed to initialise");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	if (store_db_open(s, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    err, errlen) == -1)
		goto fail;
	if (store_db_pragma(s->st_db, "PRAGMA journal_mode = WAL", NULL, mode,
	    sizeof(mode), err, errlen) == -1)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		store_seterr(err, errlen, "%s: cannot use WAL (journal_mode "
		    "%s)", path, mode);
		goto fail;
	}
	if (store_db_exec(s->st_db, sync == CFG_SYNC_FULL ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    err, errlen) == -1 ||
	    store_db_exec(s->st_db, "PRAGMA foreign_keys = ON", err,
	    errlen) == -1)
		goto fail;
	if (store_migrate(s->st_db, err, errlen) == -1)
		goto fail;
	if (store_prepare_all(s, err, errlen) == -1)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

/* Interrupts the running statement once its deadline has passed. */
static int
store_progress(void *arg)
{
	struct store	*s = arg;

	if (s->st_deadline_ms == 0 || now_mono_ms() <= s->st_deadline_ms)
		return 0;
	s->st_interrupted = 1;
	return 1;
}

struct store *
store_open_reader(const char *path, char *err, size_t errlen)
{
	struct store	*s;

	s = xcalloc(1, sizeof(*s));
	if (store_db_open(s, path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    err, errlen) == -1)
		goto fail;
	sqlite3_progress_handler(s->st_db, STORE_PROGRESS_OPS, store_progress,
	    s);
	/* The writer made the schema; the write statements are prepared
	 * too (a read-only connection refuses them when stepped). */
	if (store_prepare_all(s, err, errlen) == -1)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_set_deadline(struct store *s, uint64_t deadline_ms)
{
	s->st_deadline_ms = deadline_ms;
	s->st_interrupted = 0;
}

int
store_interrupted(const struct store *s)
{
	return s->st_interrupted;
}

void
store_interrupt(struct store *s)
{
	sqlite3_interrupt(s->st_db);
}

int
store_snapshot_begin(struct store *s)
{
	if (run(s, ST_BEGIN_READ) == -1)
		return -1;
	return 0;
}

void
store_snapshot_end(struct store *s)
{
	if (!sqlite3_get_autocommit(s->st_db))
		(void)read_txn_end(s);
}

void
store_close(struct store *s)
{
	int	 i;

	if (s == NULL)
		return;
	if (s->st_db != NULL && !sqlite3_get_autocommit(s->st_db)) {
		log_warnx("store_error", "closing with a batch open: "
		    "rolled back");
		sqlite3_exec(s->st_db, "ROLLBACK", NULL, NULL, NULL);
	}
	store_tokenizer_free(s);
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st_stmts[i]);
	if (sqlite3_close(s->st_db) != SQLITE_OK)
		log_warnx("store_error", "close: %s", sqlite3_errmsg(s->st_db));
	free(s);
}

int
store_check(struct store *s)
{
	int64_t	 n;

	return one_int(s, ST_CHECK, &n) == 0 ? 0 : -1;
}

int
store_begin(struct store *s)
{
	if (s->st_batch) {
		log_warnx("store_error", "begin: a batch is already open");
		return -1;
	}
	if (run(s, ST_BEGIN) == -1)
		return -1;
	s->st_batch = 1;
	return 0;
}

int
store_commit(struct store *s)
{
	if (!s->st_batch) {
		log_warnx("store_error", "commit: no batch open");
		return -1;
	}
	if (sqlite3_get_autocommit(s->st_db)) {
		s->st_batch = 0;
		log_warnx("store_error", "commit: the batch was rolled back");
		return -1;
	}
	if (run(s, ST_COMMIT) == -1)
		return -1;	/* still open: the caller rolls back */
	s->st_batch = 0;
	return 0;
}

int
store_rollback(struct store *s)
{
	int	 rc = 0;

	if (!sqlite3_get_autocommit(s->st_db))
		rc = run(s, ST_ROLLBACK);
	s->st_batch = 0;
	return rc;
}

/* Rooms. */

int
store_room_get(struct store *s, const char *room, char epoch[STORE_ID_LEN],
    int64_t *last_seq)
{
	sqlite3_stmt	*st = s->st_stmts[ST_ROOM_GET];
	int		 rc;

	if (store_bind(s, st, "s", room) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (epoch != NULL)
			store_col_id(st, 0, epoch);
		if (last_seq != NULL)
			*last_seq = sqlite3_column_int64(st, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = store_fail(s, "room get");
	store_done(st);
	return rc;
}

/* Inserts the room with a fresh epoch unless it exists. */
static int
room_insert(struct store *s, const char *room)
{
	char	 epoch[STORE_ID_LEN];

	random_id(epoch);
	if (store_bind(s, s->st_stmts[ST_ROOM_INSERT], "ssI", room, epoch,
	    (int64_t)now_wall_ms()) == -1)
		return -1;
	return run(s, ST_ROOM_INSERT);
}

int
store_room_create(struct store *s, const char *room,
    char epoch[STORE_ID_LEN])
{
	int	 rc;

	if (op_begin(s) == -1)
		return -1;
	rc = room_insert(s, room);
	if (rc == 0)
		rc = store_room_get(s, room, epoch, NULL) == 0 ? 0 : -1;
	return op_end(s, rc);
}

/* Appends. */

static int
find_client(struct store *s, const char *room, const char *user,
    const char *cmid, struct store_ack *ack)
{
	sqlite3_stmt	*st = s->st_stmts[ST_CLIENT_FIND];
	int		 rc;

	if (store_bind(s, st, "sss", room, user, cmid) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ack->sa_seq = sqlite3_column_int64(st, 0);
		store_col_id(st, 1, ack->sa_msg_id);
		ack->sa_ts = sqlite3_column_int64(st, 2);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = store_fail(s, "client_msg_id lookup");
	store_done(st);
	return rc;
}

int
store_find_client_msg(struct store *s, const char *room, const char *user,
    const char *client_msg_id, struct store_ack *ack)
{
	memset(ack, 0, sizeof(*ack));
	return find_client(s, room, user, client_msg_id, ack);
}

/* Takes the next seq of the room, creating the room on first use. */
static int
next_seq(struct store *s, const char *room, int64_t *seq)
{
	int	 rc;

	if (store_bind(s, s->st_stmts[ST_ROOM_BUMP], "s", room) == -1)
		return -1;
	if ((rc = one_int(s, ST_ROOM_BUMP, seq)) != STORE_NOTFOUND)
		return rc;
	if (room_insert(s, room) == -1 ||
	    store_bind(s, s->st_stmts[ST_ROOM_BUMP], "s", room) == -1)
		return -1;
	return one_int(s, ST_ROOM_BUMP, seq) == 0 ? 0 : -1;
}

static int
append(struct store *s, const struct store_post *p, enum store_kind kind,
    struct store_ack *ack)
{
	int	 rc;

	if (p->sp_client_msg_id != NULL) {
		rc = find_client(s, p->sp_room, p->sp_user,
		    p->sp_client_msg_id, ack);
		if (rc != STORE_NOTFOUND) {
			ack->sa_duplicate = rc == 0;
			return rc;
		}
	}
	if (next_seq(s, p->sp_room, &ack->sa_seq) == -1)
		return -1;
	random_id(ack->sa_msg_id);
	ack->sa_ts = p->sp_ts;
	if (store_bind(s, s->st_stmts[ST_MSG_INSERT], "sIssssIsIss", p->sp_room,
	    ack->sa_seq, ack->sa_msg_id, p->sp_user,
	    p->sp_name != NULL ? p->sp_name : "",
	    kind == STORE_KIND_MESSAGE ? p->sp_text : NULL, p->sp_ts,
	    p->sp_client_msg_id, (int64_t)kind,
	    kind == STORE_KIND_EVENT ? p->sp_event : NULL,
	    kind == STORE_KIND_EVENT ? p->sp_data : NULL) == -1)
		return -1;
	return run(s, ST_MSG_INSERT);
}

static int
post(struct store *s, const struct store_post *p, enum store_kind kind,
    struct store_ack *ack)
{
	memset(ack, 0, sizeof(*ack));
	if (p->sp_room == NULL || p->sp_user == NULL ||
	    (kind == STORE_KIND_MESSAGE && p->sp_text == NULL) ||
	    (kind == STORE_KIND_EVENT && p->sp_event == NULL)) {
		log_warnx("store_error", "append: missing field");
		return -1;
	}
	if (op_begin(s) == -1)
		return -1;
	return op_end(s, append(s, p, kind, ack));
}

int
store_message_append(struct store *s, const struct store_post *p,
    struct store_ack *ack)
{
	return post(s, p, STORE_KIND_MESSAGE, ack);
}

int
store_event_append(struct store *s, const struct store_post *p,
    struct store_ack *ack)
{
	return post(s, p, STORE_KIND_EVENT, ack);
}

/* Changing messages. */

int
store_message_edit(struct store *s, const char *room, int64_t seq,
    const char *text, int64_t edited_ts)
{
	int	 rc = -1;

	if (op_begin(s) == -1)
		return -1;
	if (store_bind(s, s->st_stmts[ST_EDIT], "sIsI", room, seq, text,
	    edited_ts) == 0 && run(s, ST_EDIT) == 0)
		rc = sqlite3_changes(s->st_db) > 0 ? 0 : STORE_NOTFOUND;
	return op_end(s, rc);
}

/* Reactions go with the text: a deleted message reports none, and
 * dropping the rows keeps them from coming back in counts. */
int
store_message_delete(struct store *s, const char *room, int64_t seq)
{
	int	 rc = -1;

	if (op_begin(s) == -1)
		return -1;
	if (store_bind(s, s->st_stmts[ST_DELETE], "sI", room, seq) == -1 ||
	    run(s, ST_DELETE) == -1)
		goto out;
	if (sqlite3_changes(s->st_db) == 0) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if (store_bind(s, s->st_stmts[ST_REACT_CLEAR], "sI", room, seq) == 0 &&
	    run(s, ST_REACT_CLEAR) == 0)
		rc = 0;
out:
	return op_end(s, rc);
}

static int
reaction_set(struct store *s, const char *room, int64_t seq,
    const char *user, const char *emoji, bool active, int64_t *count)
{
	enum store_st	 id = active ? ST_REACT_ADD : ST_REACT_DEL;
	int64_t		 one;
	int		 rc;

	if (store_bind(s, s->st_stmts[ST_LIVE], "sI", room, seq) == -1)
		return -1;
	if ((rc = one_int(s, ST_LIVE, &one)) != 0)
		return rc;
	if (store_bind(s, s->st_stmts[id], "sIss", room, seq, user,
	    emoji) == -1 ||
	    run(s, id) == -1 ||
	    store_bind(s, s->st_stmts[ST_REACT_COUNT], "sIs", room, seq,
	    emoji) == -1)
		return -1;
	return one_int(s, ST_REACT_COUNT, count) == 0 ? 0 : -1;
}

int
store_reaction_set(struct store *s, const char *room, int64_t seq,
    const char *user, const char *emoji, bool active, int64_t *count)
{
	*count = 0;
	if (op_begin(s) == -1)
		return -1;
	return op_end(s, reaction_set(s, room, seq, user, emoji, active,
	    count));
}

/* Read markers and unread counts. */

int
store_read_set(struct store *s, const char *room, const char *user,
    int64_t seq, int64_t *stored)
{
	int	 rc = -1;

	*stored = 0;
	if (op_begin(s) == -1)
		return -1;
	if (store_bind(s, s->st_stmts[ST_READ_SET], "ssI", room, user,
	    seq) == 0)
		rc = one_int(s, ST_READ_SET, stored) == 0 ? 0 : -1;
	return op_end(s, rc);
}

int
store_read_get(struct store *s, const char *room, const char *user,
    int64_t *read_seq)
{
	int	 rc;

	*read_seq = 0;
	if (store_bind(s, s->st_stmts[ST_READ_GET], "ss", room, user) == -1)
		return -1;
	rc = one_int(s, ST_READ_GET, read_seq);
	return rc == -1 ? -1 : 0;
}

/* Deleted seqs in [1, r] of one Fenwick tree (user "": every author). */
static int
deleted_prefix(struct store *s, const char *room, const char *user,
    int64_t r, int64_t *sum)
{
	sqlite3_stmt	*st = s->st_stmts[ST_DELETED_NODE];
	int64_t		 i;
	int		 rc;

	*sum = 0;
	for (i = r; i > 0; i -= i & -i) {
		if (store_bind(s, st, "ssI", room, user, i) == -1)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*sum += sqlite3_column_int64(st, 0);
		store_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_fail(s, "unread deleted");
	}
	return 0;
}

static int	unread_count(struct store *, const char *, const char *,
		    int64_t, int64_t *);

/* unread = (L - R) - own_after - (deleted_after - own_deleted_after);
 * see sql/0004_unread_counts.sql. */
int
store_unread(struct store *s, const char *room, const char *user,
    int64_t read_seq, int64_t *unread)
{
	int		 began, rc;

	*unread = 0;
	if (read_seq < 0)
		read_seq = 0;
	if (read_seq > STORE_FENWICK_MAX)
		read_seq = STORE_FENWICK_MAX;
	if (store_read_begin(s, &began) == -1)
		return -1;
	rc = unread_count(s, room, user, read_seq, unread);
	return store_read_end(s, began, rc);
}

static int
unread_count(struct store *s, const char *room, const char *user,
    int64_t read_seq, int64_t *unread)
{
	sqlite3_stmt	*st = s->st_stmts[ST_UNREAD];
	int64_t		 last, own_after, max_all, tot_all, max_own, tot_own;
	int64_t		 del_after = 0, own_del_after = 0, pre;

	if (store_bind(s, st, "sIs", room, read_seq, user) == -1)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_done(st);
		return store_fail(s, "unread");
	}
	last = sqlite3_column_int64(st, 0);
	own_after = sqlite3_column_int64(st, 1);
	max_all = sqlite3_column_int64(st, 2);
	tot_all = sqlite3_column_int64(st, 3);
	max_own = sqlite3_column_int64(st, 4);
	tot_own = sqlite3_column_int64(st, 5);
	store_done(st);
	if (read_seq >= last)
		return 0;
	if (read_seq < max_all) {
		if (deleted_prefix(s, room, "", read_seq, &pre) == -1)
			return -1;
		del_after = tot_all - pre;
	}
	if (read_seq < max_own) {
		if (deleted_prefix(s, room, user, read_seq, &pre) == -1)
			return -1;
		own_del_after = tot_own - pre;
	}
	*unread = last - read_seq - own_after - (del_after - own_del_after);
	if (*unread < 0)
		*unread = 0;
	return 0;
}

/* Memberships and the rooms listing. */

static int
membership(struct store *s, enum store_st id, const char *user,
    const char *room)
{
	int	 rc = -1;

	if (op_begin(s) == -1)
		return -1;
	if (store_bind(s, s->st_stmts[id], "ss", user, room) == 0 &&
	    (rc = run(s, id)) == 0 && sqlite3_changes(s->st_db) == 0)
		rc = STORE_NOTFOUND;
	return op_end(s, rc);
}

int
store_membership_has(struct store *s, const char *user, const char *room)
{
	int64_t	 one;

	if (store_bind(s, s->st_stmts[ST_MEMBER_HAS], "ss", user, room) == -1)
		return -1;
	return one_int(s, ST_MEMBER_HAS, &one);
}

int
store_membership_count(struct store *s, const char *user, int64_t *n)
{
	*n = 0;
	if (store_bind(s, s->st_stmts[ST_MEMBER_COUNT], "s", user) == -1)
		return -1;
	return one_int(s, ST_MEMBER_COUNT, n) == 0 ? 0 : -1;
}

int
store_room_count(struct store *s, int64_t *n)
{
	*n = 0;
	return one_int(s, ST_ROOM_COUNT, n) == 0 ? 0 : -1;
}

int
store_membership_add(struct store *s, const char *user, const char *room)
{
	return membership(s, ST_MEMBER_ADD, user, room);
}

int
store_membership_remove(struct store *s, const char *user, const char *room)
{
	return membership(s, ST_MEMBER_DEL, user, room);
}

void
store_roomlist_free(struct store_roomlist *l)
{
	size_t	 i;

	for (i = 0; i < l->rl_n; i++)
		free(l->rl_rooms[i].ri_room);
	free(l->rl_rooms);
	memset(l, 0, sizeof(*l));
}

static int	rooms_for_user(struct store *, const char *,
		    struct store_roomlist *);

int
store_rooms_for_user(struct store *s, const char *user,
    struct store_roomlist *out)
{
	int		 began, rc;

	memset(out, 0, sizeof(*out));
	if (store_read_begin(s, &began) == -1)
		return -1;
	rc = rooms_for_user(s, user, out);
	return store_read_end(s, began, rc);
}

/* store_rooms_for_user() in one read snapshot. */
static int
rooms_for_user(struct store *s, const char *user, struct store_roomlist *out)
{
	sqlite3_stmt	*st = s->st_stmts[ST_ROOMS_FOR];
	struct store_roominfo *ri;
	size_t		 cap = 0, i;
	int		 rc;

	if (store_bind(s, st, "s", user) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->rl_n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			out->rl_rooms = xreallocarray(out->rl_rooms, cap,
			    sizeof(*out->rl_rooms));
		}
		ri = &out->rl_rooms[out->rl_n++];
		ri->ri_room = store_col_dup(st, 0);
		ri->ri_last_seq = sqlite3_column_int64(st, 1);
		ri->ri_read_seq = sqlite3_column_int64(st, 2);
		ri->ri_unread = 0;
	}
	if (rc != SQLITE_DONE) {
		store_fail(s, "rooms for user");
		store_done(st);
		return -1;
	}
	store_done(st);
	for (i = 0; i < out->rl_n; i++) {
		ri = &out->rl_rooms[i];
		if (store_unread(s, ri->ri_room, user, ri->ri_read_seq,
		    &ri->ri_unread) == -1)
			return -1;
	}
	return 0;
}

