/* store_sqlite_fts.c: the full-text tokenizer "parley_room": every word
 * indexed under its room, so a search reads only that room's index lists;
 * and the search query made of the user's words with the same tokens. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sqlite.h"
#include "util.h"

/*
 * The indexed text is "<room key> <message text>" (sql/0003_search_by_room
 * .sql: the room key is lower(hex(room)), letters and digits only).  In a
 * document, the tokenizer cuts the message text with unicode61 (its
 * arguments are passed on, e.g. remove_diacritics 2) and emits each token
 * as "<room key>_<token>": unicode61 tokens never hold '_', so the pair is
 * unambiguous, and one room's words never share an index list with
 * another's.  In a query (FTS5_TOKENIZE_QUERY) each quoted string is one
 * token already built by the store (sq_fts_query()), passed through
 * whole.  A document without the space indexes nothing.
 */

struct room_tok {
	fts5_tokenizer	 rt_inner_api;	/* unicode61 */
	Fts5Tokenizer	*rt_inner;
};

/* One document being tokenized. */
struct room_doc {
	void		*rd_ctx;
	int		(*rd_token)(void *, int, const char *, int, int, int);
	const char	*rd_key;
	int		 rd_keylen;
	int		 rd_off;	/* of the message text in the input */
	char		*rd_buf;	/* "<key>_<token>" */
	int		 rd_cap;
};

static int
room_tok_create(void *api_ptr, const char **argv, int argc,
    Fts5Tokenizer **out)
{
	fts5_api	*api = api_ptr;
	struct room_tok	*rt;
	void		*ud = NULL;
	int		 rc;

	*out = NULL;
	if ((rt = sqlite3_malloc(sizeof(*rt))) == NULL)
		return SQLITE_NOMEM;
	memset(rt, 0, sizeof(*rt));
	rc = api->xFindTokenizer(api, "unicode61", &ud, &rt->rt_inner_api);
	if (rc == SQLITE_OK)
		rc = rt->rt_inner_api.xCreate(ud, argv, argc, &rt->rt_inner);
	if (rc != SQLITE_OK) {
		sqlite3_free(rt);
		return rc;
	}
	*out = (Fts5Tokenizer *)rt;
	return SQLITE_OK;
}

static void
room_tok_delete(Fts5Tokenizer *t)
{
	struct room_tok	*rt = (struct room_tok *)t;

	if (rt == NULL)
		return;
	rt->rt_inner_api.xDelete(rt->rt_inner);
	sqlite3_free(rt);
}

static int
room_doc_token(void *ctx, int flags, const char *tok, int ntok, int start,
    int end)
{
	struct room_doc	*rd = ctx;
	char		*nb;
	int		 need = rd->rd_keylen + 1 + ntok;

	if (ntok <= 0)
		return SQLITE_OK;
	/* Grows to the longest word of the text (bounded by max_text). */
	if (need > rd->rd_cap) {
		if ((nb = sqlite3_realloc(rd->rd_buf, need * 2)) == NULL)
			return SQLITE_NOMEM;
		rd->rd_buf = nb;
		rd->rd_cap = need * 2;
	}
	memcpy(rd->rd_buf, rd->rd_key, (size_t)rd->rd_keylen);
	rd->rd_buf[rd->rd_keylen] = '_';
	memcpy(rd->rd_buf + rd->rd_keylen + 1, tok, (size_t)ntok);
	return rd->rd_token(rd->rd_ctx, flags, rd->rd_buf, need,
	    start + rd->rd_off, end + rd->rd_off);
}

static int
room_tok_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text,
    int ntext, int (*token)(void *, int, const char *, int, int, int))
{
	struct room_tok	*rt = (struct room_tok *)t;
	struct room_doc	 rd;
	const char	*sp;
	int		 rc;

	if (ntext <= 0)
		return SQLITE_OK;
	if (flags & FTS5_TOKENIZE_QUERY)
		return token(ctx, 0, text, ntext, 0, ntext);
	if ((sp = memchr(text, ' ', (size_t)ntext)) == NULL || sp == text)
		return SQLITE_OK;
	memset(&rd, 0, sizeof(rd));
	rd.rd_ctx = ctx;
	rd.rd_token = token;
	rd.rd_key = text;
	rd.rd_keylen = (int)(sp - text);
	rd.rd_off = rd.rd_keylen + 1;
	rc = rt->rt_inner_api.xTokenize(rt->rt_inner, &rd, flags,
	    text + rd.rd_off, ntext - rd.rd_off, room_doc_token);
	sqlite3_free(rd.rd_buf);
	return rc;
}

int
sq_fts_register(sqlite3 *db)
{
	static fts5_tokenizer room_tok = {
		room_tok_create, room_tok_delete, room_tok_tokenize,
	};
	sqlite3_stmt	*st = NULL;
	fts5_api	*api = NULL;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW || api == NULL || api->iVersion < 2)
		return -1;
	return api->xCreateTokenizer(api, "parley_room", api, &room_tok,
	    NULL) == SQLITE_OK ? 0 : -1;
}

/* Search.  The query is built from the tokens the index's own tokenizer
 * makes of the user's input, each quoted alone: no FTS5 syntax (operators,
 * prefix stars, NEAR, column filters, phrases) can come from the user. */

/* The word tokenizer of messages_fts: "parley_room remove_diacritics 2"
 * (sql/0003_search_by_room.sql) wraps unicode61 with these arguments; keep
 * the two in step. */
static const char *const fts_tok_args[] = { "remove_diacritics", "2" };

static int
fts_tokenizer(struct store_conn *s)
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
		return sq_fail(s, "fts5 api");
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
sq_tokenizer_free(struct store_conn *s)
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
fts_tokenize(struct store_conn *s, const char *q, struct fts_q *fq)
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
sq_search_terms(struct store_conn *s, const char *q, size_t *nterms)
{
	struct fts_q	 fq = { .fq_build = false };

	*nterms = 0;
	if (fts_tokenize(s, q, &fq) == -1)
		return -1;
	*nterms = fq.fq_n;
	return 0;
}

int
sq_fts_query(struct store_conn *s, const char *room, const char *q,
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

/* Matching rows the index does not hold yet (above search_indexed.upto):
 * the same tokenizer cuts the query and the text, and a row matches when
 * its words hold every word of the query, as the index would answer. */

static int
terms_token(void *ctx, int flags, const char *tok, int ntok, int start,
    int end)
{
	struct sq_terms	*t = ctx;

	(void)start;
	(void)end;
	if ((flags & FTS5_TOKEN_COLOCATED) != 0 || ntok <= 0 ||
	    t->tm_n == STORE_SEARCH_MAX_TERMS)
		return SQLITE_OK;
	if (t->tm_len + (size_t)ntok + 1 > t->tm_cap) {
		t->tm_cap = (t->tm_len + (size_t)ntok + 1) * 2;
		t->tm_buf = xreallocarray(t->tm_buf, t->tm_cap, 1);
	}
	t->tm_off[t->tm_n] = t->tm_len;
	t->tm_wlen[t->tm_n++] = (size_t)ntok;
	memcpy(t->tm_buf + t->tm_len, tok, (size_t)ntok);
	t->tm_len += (size_t)ntok;
	t->tm_buf[t->tm_len++] = '\0';
	return SQLITE_OK;
}

int
sq_fts_terms(struct store_conn *s, const char *q, struct sq_terms *t)
{
	size_t	 len = strlen(q);

	memset(t, 0, sizeof(*t));
	if (fts_tokenizer(s) == -1)
		return -1;
	if (len > INT32_MAX ||
	    s->st_tokapi.xTokenize(s->st_tok, t, FTS5_TOKENIZE_QUERY, q,
	    (int)len, terms_token) != SQLITE_OK) {
		log_warnx("store_error", "fts5: tokenizing a query failed");
		sq_fts_terms_free(t);
		return -1;
	}
	return 0;
}

void
sq_fts_terms_free(struct sq_terms *t)
{
	free(t->tm_buf);
	memset(t, 0, sizeof(*t));
}

/* One text being matched: which query words it has shown so far. */
_Static_assert(STORE_SEARCH_MAX_TERMS <= 32, "the words seen are bits");
struct terms_seen {
	const struct sq_terms *ts_terms;
	uint32_t	 ts_seen;	/* bit i: word i found */
	uint32_t	 ts_all;
};

static int
seen_token(void *ctx, int flags, const char *tok, int ntok, int start,
    int end)
{
	struct terms_seen *ts = ctx;
	const struct sq_terms *t = ts->ts_terms;
	size_t		 i;

	(void)flags;
	(void)start;
	(void)end;
	for (i = 0; i < t->tm_n; i++)
		if (t->tm_wlen[i] == (size_t)ntok && memcmp(t->tm_buf +
		    t->tm_off[i], tok, (size_t)ntok) == 0)
			ts->ts_seen |= (uint32_t)1 << i;
	/* Every word found: stop reading this text. */
	return ts->ts_seen == ts->ts_all ? SQLITE_DONE : SQLITE_OK;
}

int
sq_fts_matches(struct store_conn *s, const struct sq_terms *t,
    const char *text, int len)
{
	struct terms_seen ts = { .ts_terms = t };
	int		 rc;

	if (t->tm_n == 0 || text == NULL || len <= 0)
		return 0;
	if (fts_tokenizer(s) == -1)
		return -1;
	ts.ts_all = t->tm_n == 32 ? UINT32_MAX :
	    ((uint32_t)1 << t->tm_n) - 1;
	rc = s->st_tokapi.xTokenize(s->st_tok, &ts, FTS5_TOKENIZE_DOCUMENT,
	    text, len, seen_token);
	if (rc != SQLITE_OK && rc != SQLITE_DONE) {
		log_warnx("store_error", "fts5: tokenizing a message failed");
		return -1;
	}
	return ts.ts_seen == ts.ts_all;
}
