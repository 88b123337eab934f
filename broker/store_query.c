/* store_query.c: reading messages back: one message, history pages,
 * items since a seq, and full-text search. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"
#include "util.h"

#define STORE_MAX_LIMIT		100000		/* rows in one list */

/* Reading messages. */

void
store_message_clear(struct store_message *m)
{
	size_t	 i;

	free(m->sm_user);
	free(m->sm_name);
	free(m->sm_text);
	free(m->sm_client_msg_id);
	free(m->sm_event);
	free(m->sm_data);
	for (i = 0; i < m->sm_nreactions; i++)
		free(m->sm_reactions[i].sr_emoji);
	free(m->sm_reactions);
	memset(m, 0, sizeof(*m));
}

void
store_msglist_free(struct store_msglist *l)
{
	size_t	 i;

	for (i = 0; i < l->ml_n; i++)
		store_message_clear(&l->ml_msgs[i]);
	free(l->ml_msgs);
	memset(l, 0, sizeof(*l));
}

/* Copies the MSG_COLS row st is on. */
static void
row_read(sqlite3_stmt *st, struct store_message *m)
{
	memset(m, 0, sizeof(*m));
	m->sm_seq = sqlite3_column_int64(st, 0);
	store_col_id(st, 1, m->sm_msg_id);
	m->sm_kind = sqlite3_column_int(st, 2) == STORE_KIND_EVENT ?
	    STORE_KIND_EVENT : STORE_KIND_MESSAGE;
	m->sm_user = store_col_dup(st, 3);
	m->sm_name = store_col_dup(st, 4);
	m->sm_text = store_col_dup(st, 5);
	m->sm_ts = sqlite3_column_int64(st, 6);
	m->sm_client_msg_id = store_col_dup(st, 7);
	m->sm_edited_ts = sqlite3_column_int64(st, 8);
	m->sm_deleted = sqlite3_column_int(st, 9) != 0;
	m->sm_event = store_col_dup(st, 10);
	m->sm_data = store_col_dup(st, 11);
}

static int
reactions_load(struct store *s, const char *room, struct store_message *m)
{
	sqlite3_stmt	*st = s->st_stmts[ST_REACTIONS];
	struct store_reaction *r;
	size_t		 cap = 0;
	int		 rc;

	if (m->sm_deleted)
		return 0;
	if (store_bind(s, st, "sI", room, m->sm_seq) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (m->sm_nreactions == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			m->sm_reactions = xreallocarray(m->sm_reactions, cap,
			    sizeof(*m->sm_reactions));
		}
		r = &m->sm_reactions[m->sm_nreactions++];
		r->sr_emoji = store_col_dup(st, 0);
		r->sr_count = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		rc = store_fail(s, "reactions");
	else
		rc = 0;
	store_done(st);
	return rc;
}

int
store_message_get(struct store *s, const char *room, int64_t seq,
    struct store_message *m)
{
	sqlite3_stmt	*st = s->st_stmts[ST_MSG_GET];
	int		 rc;

	memset(m, 0, sizeof(*m));
	if (store_bind(s, st, "sI", room, seq) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_read(st, m);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else
		rc = store_fail(s, "message get");
	store_done(st);
	if (rc == 0 && reactions_load(s, room, m) == -1) {
		store_message_clear(m);
		rc = -1;
	}
	return rc;
}

/* Collects at most limit rows of a bound list statement (which asked for
 * limit + 1, to learn whether more exist), then their reactions. */
static int
list_read(struct store *s, enum store_st id, const char *room, size_t limit,
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
		if (out->ml_n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out->ml_msgs = xreallocarray(out->ml_msgs, cap,
			    sizeof(*out->ml_msgs));
		}
		row_read(st, &out->ml_msgs[out->ml_n++]);
	}
	if (rc != SQLITE_DONE) {
		store_fail(s, sqlite3_sql(st));
		store_done(st);
		return -1;
	}
	store_done(st);
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
store_history(struct store *s, const char *room, int64_t before,
    size_t limit, struct store_msglist *out)
{
	struct store_message tmp;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	if (store_bind(s, s->st_stmts[ST_HISTORY], "sII", room,
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
store_since(struct store *s, const char *room, int64_t since, size_t max,
    struct store_msglist *out)
{
	memset(out, 0, sizeof(*out));
	if (store_bind(s, s->st_stmts[ST_SINCE], "sII", room, since,
	    limit_plus_one(&max)) == -1)
		return -1;
	return list_read(s, ST_SINCE, room, max, out);
}

static int
fts_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/* Each word becomes an FTS5 string ("" inside doubles), so no operator,
 * bracket, column filter or prefix star in user input means anything. */
int
store_fts_query(const char *q, char *out, size_t outlen)
{
	size_t	 o = 0;
	int	 words = 0;

/* Keeps one byte for the NUL. */
#define FTS_PUT(c) do {					\
	if (o + 1 >= outlen)				\
		return -1;				\
	out[o++] = (c);					\
} while (0)

	while (*q != '\0') {
		if (fts_space(*q)) {
			q++;
			continue;
		}
		if (words++ > 0)
			FTS_PUT(' ');
		FTS_PUT('"');
		for (; *q != '\0' && !fts_space(*q); q++) {
			if (*q == '"')
				FTS_PUT('"');
			FTS_PUT(*q);
		}
		FTS_PUT('"');
	}
#undef FTS_PUT
	if (words == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
store_search(struct store *s, const char *room, const char *q,
    int64_t before, size_t limit, struct store_msglist *out)
{
	char	*fts;
	size_t	 len = strlen(q) * 3 + 4;	/* worst case: `" a`... */
	int	 rc = -1;

	memset(out, 0, sizeof(*out));
	fts = xmalloc(len);
	if (store_fts_query(q, fts, len) == -1) {
		rc = STORE_BADQUERY;
		goto fail;
	}
	if (store_bind(s, s->st_stmts[ST_SEARCH], "ssII", room, fts,
	    before > 0 ? before : INT64_MAX, limit_plus_one(&limit)) == -1)
		goto fail;
	rc = list_read(s, ST_SEARCH, room, limit, out);
fail:
	free(fts);
	return rc;
}

