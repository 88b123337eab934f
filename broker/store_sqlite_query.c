/* store_sqlite_query.c: the SQLite store's reads: rooms, one message,
 * history pages, items since a seq, search, read markers and unread
 * counts, memberships and the rooms listing. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sqlite.h"
#include "util.h"

#define STORE_MAX_LIMIT		100000		/* rows in one list */

/* Copies the MSG_COLS row st is on. */
static void
row_read(sqlite3_stmt *st, struct store_message *m)
{
	memset(m, 0, sizeof(*m));
	m->sm_seq = sqlite3_column_int64(st, 0);
	sq_col_id(st, 1, m->sm_msg_id);
	m->sm_kind = sqlite3_column_int(st, 2) == STORE_KIND_EVENT ?
	    STORE_KIND_EVENT : STORE_KIND_MESSAGE;
	m->sm_user = sq_col_dup(st, 3);
	m->sm_name = sq_col_dup(st, 4);
	m->sm_text = sq_col_dup(st, 5);
	m->sm_ts = sqlite3_column_int64(st, 6);
	m->sm_client_msg_id = sq_col_dup(st, 7);
	m->sm_edited_ts = sqlite3_column_int64(st, 8);
	m->sm_deleted = sqlite3_column_int(st, 9) != 0;
	m->sm_event = sq_col_dup(st, 10);
	m->sm_data = sq_col_dup(st, 11);
}

static int
reactions_load(struct store_conn *s, const char *room, struct store_message *m)
{
	sqlite3_stmt	*st = s->st_stmts[ST_REACTIONS];
	struct store_reaction *r;
	size_t		 cap = 0;
	int		 rc;

	if (m->sm_deleted)
		return 0;
	if (sq_bind(s, st, "sI", room, m->sm_seq) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (m->sm_nreactions == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			m->sm_reactions = xreallocarray(m->sm_reactions, cap,
			    sizeof(*m->sm_reactions));
		}
		r = &m->sm_reactions[m->sm_nreactions++];
		r->sr_emoji = sq_col_dup(st, 0);
		r->sr_count = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		rc = sq_fail(s, "reactions");
	else
		rc = 0;
	sq_done(st);
	return rc;
}

int
sq_message_get(struct store_conn *s, const char *room, int64_t seq,
    struct store_message *m)
{
	sqlite3_stmt	*st = s->st_stmts[ST_MSG_GET];
	int		 rc;

	memset(m, 0, sizeof(*m));
	if (sq_bind(s, st, "sI", room, seq) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_read(st, m);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = sq_fail(s, "message get");
	sq_done(st);
	if (rc == 0 && reactions_load(s, room, m) == -1) {
		store_message_clear(m);
		rc = -1;
	}
	return rc;
}

/* A free slot at the end of out, which holds *cap slots. */
static struct store_message *
list_push(struct store_msglist *out, size_t *cap)
{
	if (out->ml_n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		out->ml_msgs = xreallocarray(out->ml_msgs, *cap,
		    sizeof(*out->ml_msgs));
	}
	return &out->ml_msgs[out->ml_n++];
}

/* Collects at most limit rows of a bound list statement (which asked for
 * limit + 1, to learn whether more exist), then their reactions. */
static int
list_read(struct store_conn *s, enum store_st id, const char *room, size_t limit,
    struct store_msglist *out)
{
	sqlite3_stmt	*st = s->st_stmts[id];
	size_t		 cap = 0, i;
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->ml_n == limit) {
			out->ml_more = true;
			rc = SQLITE_DONE;
			break;
		}
		row_read(st, list_push(out, &cap));
	}
	if (rc != SQLITE_DONE) {
		sq_fail(s, sqlite3_sql(st));
		sq_done(st);
		return -1;
	}
	sq_done(st);
	for (i = 0; i < out->ml_n; i++)
		if (reactions_load(s, room, &out->ml_msgs[i]) == -1)
			return -1;
	return 0;
}

static int64_t
limit_plus_one(size_t *limit)
{
	if (*limit > STORE_MAX_LIMIT)
		*limit = STORE_MAX_LIMIT;
	return (int64_t)*limit + 1;
}

int
sq_history(struct store_conn *s, const char *room, int64_t before,
    size_t limit, struct store_msglist *out)
{
	struct store_message tmp;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	if (sq_bind(s, s->st_stmts[ST_HISTORY], "sII", room,
	    before > 0 ? before : INT64_MAX, limit_plus_one(&limit)) == -1 ||
	    list_read(s, ST_HISTORY, room, limit, out) == -1)
		return -1;
	/* Read newest first to find the page, hand out oldest first. */
	for (i = 0; i < out->ml_n / 2; i++) {
		tmp = out->ml_msgs[i];
		out->ml_msgs[i] = out->ml_msgs[out->ml_n - 1 - i];
		out->ml_msgs[out->ml_n - 1 - i] = tmp;
	}
	return 0;
}

int
sq_since(struct store_conn *s, const char *room, int64_t since, size_t max,
    struct store_msglist *out)
{
	memset(out, 0, sizeof(*out));
	if (sq_bind(s, s->st_stmts[ST_SINCE], "sII", room, since,
	    limit_plus_one(&max)) == -1)
		return -1;
	return list_read(s, ST_SINCE, room, max, out);
}

/* Search: the FTS5 query is made in store_sqlite_fts.c. */

/* The room's matches among the rows not indexed yet, newest first, at
 * most limit (ml_more: another one exists).  The rows are the index's
 * lag, and each is matched with the index's own tokenizer. */
static int
search_tail(struct store_conn *s, const char *room, const struct sq_terms *t,
    int64_t before, size_t limit, struct store_msglist *out)
{
	sqlite3_stmt	*st = s->st_stmts[ST_SEARCH_TAIL];
	size_t		 cap = 0, i;
	int		 rc, m = 0;

	if (sq_bind(s, st, "sI", room, before) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		m = sq_fts_matches(s, t, (const char *)sqlite3_column_text(st,
		    5), sqlite3_column_bytes(st, 5));
		if (m == -1)
			break;
		if (m == 0)
			continue;
		if (out->ml_n == limit) {
			out->ml_more = true;
			rc = SQLITE_DONE;
			break;
		}
		row_read(st, list_push(out, &cap));
	}
	if (m == -1 || rc != SQLITE_DONE) {
		if (m != -1)
			sq_fail(s, "search tail");
		sq_done(st);
		return -1;
	}
	sq_done(st);
	for (i = 0; i < out->ml_n; i++)
		if (reactions_load(s, room, &out->ml_msgs[i]) == -1)
			return -1;
	return 0;
}

/* The matches the index holds, after the tail's in out: every indexed row
 * of a room is older than its rows in the tail (ids grow with seq). */
static int
search_indexed(struct store_conn *s, const char *room, const char *fts,
    int64_t before, size_t limit, struct store_msglist *out)
{
	struct store_msglist more;
	size_t		 rest = limit - out->ml_n;
	int		 rc = -1;

	memset(&more, 0, sizeof(more));
	if (sq_bind(s, s->st_stmts[ST_SEARCH], "ssII", room, fts, before,
	    limit_plus_one(&rest)) == 0)
		rc = list_read(s, ST_SEARCH, room, rest, &more);
	if (rc == 0 && more.ml_n > 0) {
		out->ml_msgs = xreallocarray(out->ml_msgs, out->ml_n +
		    more.ml_n, sizeof(*out->ml_msgs));
		memcpy(out->ml_msgs + out->ml_n, more.ml_msgs, more.ml_n *
		    sizeof(*more.ml_msgs));
		out->ml_n += more.ml_n;
		free(more.ml_msgs);
		more.ml_msgs = NULL;
		more.ml_n = 0;
	}
	out->ml_more = more.ml_more;
	store_msglist_free(&more);
	return rc;
}

int
sq_search(struct store_conn *s, const char *room, const char *q,
    int64_t before, size_t limit, struct store_msglist *out)
{
	struct sq_terms	 terms;
	char		*fts = NULL;
	size_t		 n;
	int		 began, rc;

	memset(out, 0, sizeof(*out));
	memset(&terms, 0, sizeof(terms));
	if ((rc = sq_fts_query(s, room, q, &fts, &n)) != 0)
		return rc;
	if (n > STORE_SEARCH_MAX_TERMS) {
		rc = STORE_TOOMANY;
		goto out;
	}
	rc = -1;
	if (sq_fts_terms(s, q, &terms) == -1 ||
	    sq_read_begin(s, &began) == -1)
		goto out;
	if (before <= 0)
		before = INT64_MAX;
	(void)limit_plus_one(&limit);
	/* One snapshot: the watermark, the tail and the index agree. */
	rc = search_tail(s, room, &terms, before, limit, out);
	if (rc == 0 && !out->ml_more)
		rc = search_indexed(s, room, fts, before, limit, out);
	rc = sq_read_end(s, began, rc);
out:
	sq_fts_terms_free(&terms);
	free(fts);
	return rc;
}

/* Rooms and read markers. */

int
sq_room_get(struct store_conn *s, const char *room, char epoch[STORE_ID_LEN],
    int64_t *last_seq)
{
	sqlite3_stmt	*st = s->st_stmts[ST_ROOM_GET];
	int		 rc;

	if (sq_bind(s, st, "s", room) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (epoch != NULL)
			sq_col_id(st, 0, epoch);
		if (last_seq != NULL)
			*last_seq = sqlite3_column_int64(st, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = sq_fail(s, "room get");
	sq_done(st);
	return rc;
}

int
sq_read_get(struct store_conn *s, const char *room, const char *user,
    int64_t *read_seq)
{
	int	 rc;

	*read_seq = 0;
	if (sq_bind(s, s->st_stmts[ST_READ_GET], "ss", room, user) == -1)
		return -1;
	rc = sq_one_int(s, ST_READ_GET, read_seq);
	return rc == -1 ? -1 : 0;
}

/* Unread counts. */

/* Deleted seqs in [1, r] of one Fenwick tree (user "": every author). */
static int
deleted_prefix(struct store_conn *s, const char *room, const char *user,
    int64_t r, int64_t *sum)
{
	sqlite3_stmt	*st = s->st_stmts[ST_DELETED_NODE];
	int64_t		 i;
	int		 rc;

	*sum = 0;
	for (i = r; i > 0; i -= i & -i) {
		if (sq_bind(s, st, "ssI", room, user, i) == -1)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*sum += sqlite3_column_int64(st, 0);
		sq_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sq_fail(s, "unread deleted");
	}
	return 0;
}

static int	unread_count(struct store_conn *, const char *, const char *,
		    int64_t, int64_t *);

/* unread = (L - R) - own_after - (deleted_after - own_deleted_after);
 * see sql/0004_unread_counts.sql. */
int
sq_unread(struct store_conn *s, const char *room, const char *user,
    int64_t read_seq, int64_t *unread)
{
	int		 began, rc;

	*unread = 0;
	if (read_seq < 0)
		read_seq = 0;
	if (read_seq > STORE_FENWICK_MAX)
		read_seq = STORE_FENWICK_MAX;
	if (sq_read_begin(s, &began) == -1)
		return -1;
	rc = unread_count(s, room, user, read_seq, unread);
	return sq_read_end(s, began, rc);
}

static int
unread_count(struct store_conn *s, const char *room, const char *user,
    int64_t read_seq, int64_t *unread)
{
	sqlite3_stmt	*st = s->st_stmts[ST_UNREAD];
	int64_t		 last, own_after, max_all, tot_all, max_own, tot_own;
	int64_t		 del_after = 0, own_del_after = 0, pre;

	if (sq_bind(s, st, "sIs", room, read_seq, user) == -1)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sq_done(st);
		return sq_fail(s, "unread");
	}
	last = sqlite3_column_int64(st, 0);
	own_after = sqlite3_column_int64(st, 1);
	max_all = sqlite3_column_int64(st, 2);
	tot_all = sqlite3_column_int64(st, 3);
	max_own = sqlite3_column_int64(st, 4);
	tot_own = sqlite3_column_int64(st, 5);
	sq_done(st);
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
int
sq_membership_has(struct store_conn *s, const char *user, const char *room)
{
	int64_t	 one;

	if (sq_bind(s, s->st_stmts[ST_MEMBER_HAS], "ss", user, room) == -1)
		return -1;
	return sq_one_int(s, ST_MEMBER_HAS, &one);
}

int
sq_membership_count(struct store_conn *s, const char *user, int64_t *n)
{
	*n = 0;
	if (sq_bind(s, s->st_stmts[ST_MEMBER_COUNT], "s", user) == -1)
		return -1;
	return sq_one_int(s, ST_MEMBER_COUNT, n) == 0 ? 0 : -1;
}

int
sq_room_count(struct store_conn *s, int64_t *n)
{
	*n = 0;
	return sq_one_int(s, ST_ROOM_COUNT, n) == 0 ? 0 : -1;
}

static int	rooms_for_user(struct store_conn *, const char *,
		    struct store_roomlist *);

int
sq_rooms_for_user(struct store_conn *s, const char *user,
    struct store_roomlist *out)
{
	int		 began, rc;

	memset(out, 0, sizeof(*out));
	if (sq_read_begin(s, &began) == -1)
		return -1;
	rc = rooms_for_user(s, user, out);
	return sq_read_end(s, began, rc);
}

/* sq_rooms_for_user() in one read snapshot. */
static int
rooms_for_user(struct store_conn *s, const char *user, struct store_roomlist *out)
{
	sqlite3_stmt	*st = s->st_stmts[ST_ROOMS_FOR];
	struct store_roominfo *ri;
	size_t		 cap = 0, i;
	int		 rc;

	if (sq_bind(s, st, "s", user) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->rl_n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			out->rl_rooms = xreallocarray(out->rl_rooms, cap,
			    sizeof(*out->rl_rooms));
		}
		ri = &out->rl_rooms[out->rl_n++];
		ri->ri_room = sq_col_dup(st, 0);
		ri->ri_last_seq = sqlite3_column_int64(st, 1);
		ri->ri_read_seq = sqlite3_column_int64(st, 2);
		ri->ri_unread = 0;
	}
	if (rc != SQLITE_DONE) {
		sq_fail(s, "rooms for user");
		sq_done(st);
		return -1;
	}
	sq_done(st);
	for (i = 0; i < out->rl_n; i++) {
		ri = &out->rl_rooms[i];
		if (sq_unread(s, ri->ri_room, user, ri->ri_read_seq,
		    &ri->ri_unread) == -1)
			return -1;
	}
	return 0;
}

