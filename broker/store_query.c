/* store_query.c: reading messages back: one message, history pages,
 * items since a seq, and full-text search. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
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

/* Search.  The query is built from the tokens the index's own tokenizer
 * makes of the user's input, each quoted alone: no FTS5 syntax (operators,
 * prefix stars, NEAR, column filters, phrases) can come from the user. */

/* The word tokenizer of messages_fts: "parley_room remove_diacritics 2"
 * (sql/0003_search_by_room.sql) wraps unicode61 with these arguments; keep
 * the two in step. */
static const char *const fts_tok_args[] = { "remove_diacritics", "2" };

static int
fts_tokenizer(struct store *s)
{
	sqlite3_stmt	*st = NULL;
	fts5_api	*api = NULL;
	void		*ud = NULL;

	if (s->st_tok != NULL)
		return 0;
	if (sqlite3_prepare_v2(s->st_db, "SELECT fts5(?1)", -1, &st,
	    NULL) != SQLITE_OK ||
	    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr",
	    NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return store_fail(s, "fts5 api");
	}
	sqlite3_finalize(st);
	if (api == NULL || api->iVersion < 2 ||
	    api->xFindTokenizer(api, "unicode61", &ud, &s->st_tokapi) !=
	    SQLITE_OK ||
	    s->st_tokapi.xCreate(ud, (const char **)fts_tok_args,
	    (int)(sizeof(fts_tok_args) / sizeof(fts_tok_args[0])),
	    &s->st_tok) != SQLITE_OK) {
		s->st_tok = NULL;
		log_warnx("store_error", "fts5: no unicode61 tokenizer");
		return -1;
	}
	return 0;
}

void
store_tokenizer_free(struct store *s)
{
	if (s->st_tok != NULL)
		s->st_tokapi.xDelete(s->st_tok);
	s->st_tok = NULL;
}

/* The query being built; bounded by the input, which the worker bounds
 * (CHAT_MAX_Q). */
struct fts_q {
	char	*fq_buf;
	size_t	 fq_len;
	size_t	 fq_cap;
	size_t	 fq_n;		/* tokens seen */
	bool	 fq_build;	/* else only count */
	const char *fq_key;	/* the room key, lower(hex(room)) */
};

static void
fq_put(struct fts_q *fq, const char *p, size_t n)
{
	if (fq->fq_len + n + 1 > fq->fq_cap) {
		fq->fq_cap = (fq->fq_len + n + 1) * 2;
		fq->fq_buf = xreallocarray(fq->fq_buf, fq->fq_cap, 1);
	}
	memcpy(fq->fq_buf + fq->fq_len, p, n);
	fq->fq_len += n;
	fq->fq_buf[fq->fq_len] = '\0';
}

static int
fq_token(void *ctx, int flags, const char *tok, int ntok, int start, int end)
{
	struct fts_q	*fq = ctx;
	int		 i;

	(void)start;
	(void)end;
	if ((flags & FTS5_TOKEN_COLOCATED) != 0 || ntok <= 0)
		return SQLITE_OK;
	if (++fq->fq_n > STORE_SEARCH_MAX_TERMS || !fq->fq_build)
		return SQLITE_OK;
	fq_put(fq, fq->fq_n == 1 ? "\"" : " \"", fq->fq_n == 1 ? 1 : 2);
	fq_put(fq, fq->fq_key, strlen(fq->fq_key));
	fq_put(fq, "_", 1);
	for (i = 0; i < ntok; i++) {
		if (tok[i] == '"')
			fq_put(fq, "\"", 1);	/* never, with unicode61 */
		fq_put(fq, &tok[i], 1);
	}
	fq_put(fq, "\"", 1);
	return SQLITE_OK;
}

static int
fts_tokenize(struct store *s, const char *q, struct fts_q *fq)
{
	size_t	 len = strlen(q);

	if (fts_tokenizer(s) == -1)
		return -1;
	if (len > INT32_MAX ||
	    s->st_tokapi.xTokenize(s->st_tok, fq, FTS5_TOKENIZE_QUERY, q,
	    (int)len, fq_token) != SQLITE_OK) {
		log_warnx("store_error", "fts5: tokenizing a query failed");
		return -1;
	}
	return 0;
}

int
store_search_terms(struct store *s, const char *q, size_t *nterms)
{
	struct fts_q	 fq = { .fq_build = false };

	*nterms = 0;
	if (fts_tokenize(s, q, &fq) == -1)
		return -1;
	*nterms = fq.fq_n;
	return 0;
}

int
store_fts_query(struct store *s, const char *room, const char *q,
    char **out, size_t *nterms)
{
	static const char hex[] = "0123456789abcdef";
	struct fts_q	 fq = { .fq_build = true };
	const unsigned char *r = (const unsigned char *)room;
	char		*key, *k;
	int		 rc;

	*out = NULL;
	*nterms = 0;
	/* Every term as the index holds it: "<lower(hex(room))>_<token>". */
	k = key = xmalloc(strlen(room) * 2 + 1);
	for (; *r != '\0'; r++) {
		*k++ = hex[*r >> 4];
		*k++ = hex[*r & 0xf];
	}
	*k = '\0';
	fq.fq_key = key;
	rc = fts_tokenize(s, q, &fq);
	free(key);
	if (rc == -1 || fq.fq_n == 0) {
		free(fq.fq_buf);
		return rc == -1 ? -1 : STORE_BADQUERY;
	}
	*nterms = fq.fq_n;
	*out = fq.fq_buf;
	return 0;
}

int
store_search(struct store *s, const char *room, const char *q,
    int64_t before, size_t limit, struct store_msglist *out)
{
	char	*fts = NULL;
	size_t	 n;
	int	 began, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_fts_query(s, room, q, &fts, &n)) != 0)
		return rc;
	if (n > STORE_SEARCH_MAX_TERMS) {
		rc = STORE_TOOMANY;
		goto out;
	}
	rc = -1;
	if (store_read_begin(s, &began) == -1)
		goto out;
	if (store_bind(s, s->st_stmts[ST_SEARCH], "ssII", room, fts,
	    before > 0 ? before : INT64_MAX, limit_plus_one(&limit)) == 0)
		rc = list_read(s, ST_SEARCH, room, limit, out);
	rc = store_read_end(s, began, rc);
out:
	free(fts);
	return rc;
}
