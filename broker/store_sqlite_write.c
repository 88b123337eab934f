/* store_sqlite_write.c: the SQLite store's writes: the batch transaction
 * (begin, commit, rollback), rooms, appends, edits, deletes, reactions,
 * read markers and memberships.  Each write runs under a savepoint
 * (sq_op_begin()/sq_op_end(), store_sqlite.c). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sqlite.h"
#include "util.h"

/* The batch transaction (the broker's group commit). */

int
sq_begin(struct store_conn *s)
{
	if (s->st_batch) {
		log_warnx("store_error", "begin: a batch is already open");
		return -1;
	}
	/* Never a batch without the configured durability. */
	if (s->st_sync_relaxed && sq_sync_mode(s, true) == -1)
		return -1;
	if (sq_run(s, ST_BEGIN) == -1)
		return -1;
	s->st_batch = 1;
	return 0;
}

int
sq_commit(struct store_conn *s)
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
	if (sq_run(s, ST_COMMIT) == -1)
		return -1;	/* still open: the caller rolls back */
	s->st_batch = 0;
	return 0;
}

int
sq_rollback(struct store_conn *s)
{
	int	 rc = 0;

	if (!sqlite3_get_autocommit(s->st_db))
		rc = sq_run(s, ST_ROLLBACK);
	s->st_batch = 0;
	return rc;
}

/* The search index, after the commit (sql/0005_search_after_commit.sql). */

/* Sets the writer's synchronous mode (a pragma takes effect when it is
 * compiled, so it is run afresh, never from the statement table). */
int
sq_sync_mode(struct store_conn *s, bool full)
{
	char	 err[256];

	if (sq_db_exec(s->st_db, full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", err, sizeof(err)) == -1) {
		log_warnx("store_error", "synchronous: %s", err);
		return -1;
	}
	s->st_sync_relaxed = !full;
	return 0;
}

static int
index_rows(struct store_conn *s, size_t max_rows, int64_t *lag)
{
	sqlite3_stmt	*st = s->st_stmts[ST_INDEX_STATE];
	int64_t		 upto, top, to;
	int		 rc;

	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sq_fail(s, "search index state");
		sq_done(st);
		return -1;
	}
	upto = sqlite3_column_int64(st, 0);
	top = sqlite3_column_int64(st, 1);
	sq_done(st);
	to = top - upto > (int64_t)max_rows ? upto + (int64_t)max_rows : top;
	*lag = top - to;
	if (to <= upto)
		return 0;
	if (sq_bind(s, s->st_stmts[ST_INDEX_ROWS], "II", upto, to) == -1 ||
	    sq_run(s, ST_INDEX_ROWS) == -1 ||
	    sq_bind(s, s->st_stmts[ST_INDEX_SET], "I", to) == -1 ||
	    sq_run(s, ST_INDEX_SET) == -1)
		return -1;
	return 0;
}

/*
 * One slice of indexing.  Inside a batch it is one more write of the
 * batch.  Outside, it is its own transaction, and that commit need not be
 * synced even when the messages' are: the index is derived from committed
 * rows, so a crash can only take back a slice and its watermark together
 * (a WAL commit is atomic either way), and the next slice redoes it.  The
 * next synced commit syncs these frames too.
 */
int
sq_index_step(struct store_conn *s, size_t max_rows, int64_t *lag)
{
	bool	 relax = s->st_sync == CFG_SYNC_FULL && !s->st_batch;
	int	 rc = -1;

	*lag = 0;
	if (s->st_batch) {
		if (sq_op_begin(s) == -1)
			return -1;
		return sq_op_end(s, index_rows(s, max_rows, lag));
	}
	if (relax && sq_sync_mode(s, false) == -1)
		return -1;
	if (sq_run(s, ST_BEGIN) == 0) {
		rc = index_rows(s, max_rows, lag);
		if (rc == 0 && sq_run(s, ST_COMMIT) == -1)
			rc = -1;
		if (rc == -1 && !sqlite3_get_autocommit(s->st_db))
			sq_run(s, ST_ROLLBACK);
	}
	if (relax && sq_sync_mode(s, true) == -1)
		rc = -1;	/* sq_op_begin() and sq_begin() try again */
	return rc;
}

/* Rooms. */

/* n random bytes from the connection's pool, refilled 4 KiB at a time:
 * one getrandom() per 256 ids instead of one each. */
static void
random_bytes(struct store_conn *s, unsigned char *out, size_t n)
{
	if (s->st_rand_off + n > sizeof(s->st_rand)) {
		randombytes_buf(s->st_rand, sizeof(s->st_rand));
		s->st_rand_off = 0;
	}
	memcpy(out, s->st_rand + s->st_rand_off, n);
	/* Never handed out twice, never left behind in memory. */
	sodium_memzero(s->st_rand + s->st_rand_off, n);
	s->st_rand_off += n;
}

/* A fresh epoch: 16 random bytes in hex. */
static void
random_id(struct store_conn *s, char out[STORE_ID_LEN])
{
	unsigned char	 b[(STORE_ID_LEN - 1) / 2];

	random_bytes(s, b, sizeof(b));
	sodium_bin2hex(out, STORE_ID_LEN, b, sizeof(b));
}

/*
 * A fresh msg_id: 32 hex digits as before, now the send time in ms (48
 * bits) and then 10 random bytes.  Ids in time order land at the end of
 * the msg_id index, so a batch of appends dirties a page or two of it
 * instead of one random page each (what a commit writes to the WAL).
 */
static void
message_id(struct store_conn *s, int64_t ts, char out[STORE_ID_LEN])
{
	unsigned char	 b[(STORE_ID_LEN - 1) / 2];
	uint64_t	 t = (uint64_t)ts;
	int		 i;

	for (i = 5; i >= 0; i--, t >>= 8)
		b[i] = (unsigned char)(t & 0xff);
	random_bytes(s, b + 6, sizeof(b) - 6);
	sodium_bin2hex(out, STORE_ID_LEN, b, sizeof(b));
}

/* Inserts the room with a fresh epoch unless it exists. */
static int
room_insert(struct store_conn *s, const char *room)
{
	char	 epoch[STORE_ID_LEN];

	random_id(s, epoch);
	if (sq_bind(s, s->st_stmts[ST_ROOM_INSERT], "ssI", room, epoch,
	    (int64_t)now_wall_ms()) == -1)
		return -1;
	return sq_run(s, ST_ROOM_INSERT);
}

int
sq_room_create(struct store_conn *s, const char *room,
    char epoch[STORE_ID_LEN])
{
	int	 rc;

	if (sq_op_begin(s) == -1)
		return -1;
	rc = room_insert(s, room);
	if (rc == 0)
		rc = sq_room_get(s, room, epoch, NULL) == 0 ? 0 : -1;
	return sq_op_end(s, rc);
}

/* Appends. */

static int
find_client(struct store_conn *s, const char *room, const char *user,
    const char *cmid, struct store_ack *ack)
{
	sqlite3_stmt	*st = s->st_stmts[ST_CLIENT_FIND];
	int		 rc;

	if (sq_bind(s, st, "sss", room, user, cmid) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ack->sa_seq = sqlite3_column_int64(st, 0);
		sq_col_id(st, 1, ack->sa_msg_id);
		ack->sa_ts = sqlite3_column_int64(st, 2);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = sq_fail(s, "client_msg_id lookup");
	sq_done(st);
	return rc;
}

int
sq_find_client_msg(struct store_conn *s, const char *room, const char *user,
    const char *client_msg_id, struct store_ack *ack)
{
	memset(ack, 0, sizeof(*ack));
	return find_client(s, room, user, client_msg_id, ack);
}

/* Takes the next seq of the room, creating the room on first use. */
static int
next_seq(struct store_conn *s, const char *room, int64_t *seq)
{
	int	 rc;

	if (sq_bind(s, s->st_stmts[ST_ROOM_BUMP], "s", room) == -1)
		return -1;
	if ((rc = sq_one_int(s, ST_ROOM_BUMP, seq)) != STORE_NOTFOUND)
		return rc;
	if (room_insert(s, room) == -1 ||
	    sq_bind(s, s->st_stmts[ST_ROOM_BUMP], "s", room) == -1)
		return -1;
	return sq_one_int(s, ST_ROOM_BUMP, seq) == 0 ? 0 : -1;
}

static int
append(struct store_conn *s, const struct store_post *p, enum store_kind kind,
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
	message_id(s, p->sp_ts, ack->sa_msg_id);
	ack->sa_ts = p->sp_ts;
	if (sq_bind(s, s->st_stmts[ST_MSG_INSERT], "sIssssIsIss", p->sp_room,
	    ack->sa_seq, ack->sa_msg_id, p->sp_user,
	    p->sp_name != NULL ? p->sp_name : "",
	    kind == STORE_KIND_MESSAGE ? p->sp_text : NULL, p->sp_ts,
	    p->sp_client_msg_id, (int64_t)kind,
	    kind == STORE_KIND_EVENT ? p->sp_event : NULL,
	    kind == STORE_KIND_EVENT ? p->sp_data : NULL) == -1)
		return -1;
	return sq_run(s, ST_MSG_INSERT);
}

static int
post(struct store_conn *s, const struct store_post *p, enum store_kind kind,
    struct store_ack *ack)
{
	memset(ack, 0, sizeof(*ack));
	if (p->sp_room == NULL || p->sp_user == NULL ||
	    (kind == STORE_KIND_MESSAGE && p->sp_text == NULL) ||
	    (kind == STORE_KIND_EVENT && p->sp_event == NULL)) {
		log_warnx("store_error", "append: missing field");
		return -1;
	}
	if (sq_op_begin(s) == -1)
		return -1;
	return sq_op_end(s, append(s, p, kind, ack));
}

int
sq_message_append(struct store_conn *s, const struct store_post *p,
    struct store_ack *ack)
{
	return post(s, p, STORE_KIND_MESSAGE, ack);
}

int
sq_event_append(struct store_conn *s, const struct store_post *p,
    struct store_ack *ack)
{
	return post(s, p, STORE_KIND_EVENT, ack);
}

/* Changing messages. */

int
sq_message_edit(struct store_conn *s, const char *room, int64_t seq,
    const char *text, int64_t edited_ts)
{
	int	 rc = -1;

	if (sq_op_begin(s) == -1)
		return -1;
	if (sq_bind(s, s->st_stmts[ST_EDIT], "sIsI", room, seq, text,
	    edited_ts) == 0 && sq_run(s, ST_EDIT) == 0)
		rc = sqlite3_changes(s->st_db) > 0 ? 0 : STORE_NOTFOUND;
	return sq_op_end(s, rc);
}

/* Reactions go with the text: a deleted message reports none, and
 * dropping the rows keeps them from coming back in counts. */
int
sq_message_delete(struct store_conn *s, const char *room, int64_t seq)
{
	int	 rc = -1;

	if (sq_op_begin(s) == -1)
		return -1;
	if (sq_bind(s, s->st_stmts[ST_DELETE], "sI", room, seq) == -1 ||
	    sq_run(s, ST_DELETE) == -1)
		goto out;
	if (sqlite3_changes(s->st_db) == 0) {
		rc = STORE_NOTFOUND;
		goto out;
	}
	if (sq_bind(s, s->st_stmts[ST_REACT_CLEAR], "sI", room, seq) == 0 &&
	    sq_run(s, ST_REACT_CLEAR) == 0)
		rc = 0;
out:
	return sq_op_end(s, rc);
}

static int
reaction_set(struct store_conn *s, const char *room, int64_t seq,
    const char *user, const char *emoji, bool active, int64_t *count)
{
	enum store_st	 id = active ? ST_REACT_ADD : ST_REACT_DEL;
	int64_t		 one;
	int		 rc;

	if (sq_bind(s, s->st_stmts[ST_LIVE], "sI", room, seq) == -1)
		return -1;
	if ((rc = sq_one_int(s, ST_LIVE, &one)) != 0)
		return rc;
	if (sq_bind(s, s->st_stmts[id], "sIss", room, seq, user,
	    emoji) == -1 ||
	    sq_run(s, id) == -1 ||
	    sq_bind(s, s->st_stmts[ST_REACT_COUNT], "sIs", room, seq,
	    emoji) == -1)
		return -1;
	return sq_one_int(s, ST_REACT_COUNT, count) == 0 ? 0 : -1;
}

int
sq_reaction_set(struct store_conn *s, const char *room, int64_t seq,
    const char *user, const char *emoji, bool active, int64_t *count)
{
	*count = 0;
	if (sq_op_begin(s) == -1)
		return -1;
	return sq_op_end(s, reaction_set(s, room, seq, user, emoji, active,
	    count));
}

/* Read markers. */

int
sq_read_set(struct store_conn *s, const char *room, const char *user,
    int64_t seq, int64_t *stored)
{
	int	 rc = -1;

	*stored = 0;
	if (sq_op_begin(s) == -1)
		return -1;
	if (sq_bind(s, s->st_stmts[ST_READ_SET], "ssI", room, user,
	    seq) == 0)
		rc = sq_one_int(s, ST_READ_SET, stored) == 0 ? 0 : -1;
	return sq_op_end(s, rc);
}

/* Memberships. */

static int
membership(struct store_conn *s, enum store_st id, const char *user,
    const char *room)
{
	int	 rc = -1;

	if (sq_op_begin(s) == -1)
		return -1;
	if (sq_bind(s, s->st_stmts[id], "ss", user, room) == 0 &&
	    (rc = sq_run(s, id)) == 0 && sqlite3_changes(s->st_db) == 0)
		rc = STORE_NOTFOUND;
	return sq_op_end(s, rc);
}

int
sq_membership_add(struct store_conn *s, const char *user, const char *room)
{
	return membership(s, ST_MEMBER_ADD, user, room);
}

int
sq_membership_remove(struct store_conn *s, const char *user, const char *room)
{
	return membership(s, ST_MEMBER_DEL, user, room);
}

