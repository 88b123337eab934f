/* store_fts.c: the full-text tokenizer "parley_room": every word indexed
 * under its room, so a search reads only that room's index lists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"

/*
 * The indexed text is "<room key> <message text>" (sql/0003_search_by_room
 * .sql: the room key is lower(hex(room)), letters and digits only).  In a
 * document, the tokenizer cuts the message text with unicode61 (its
 * arguments are passed on, e.g. remove_diacritics 2) and emits each token
 * as "<room key>_<token>": unicode61 tokens never hold '_', so the pair is
 * unambiguous, and one room's words never share an index list with
 * another's.  In a query (FTS5_TOKENIZE_QUERY) each quoted string is one
 * token already built by the store (store_fts_query()), passed through
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
store_fts_register(struct sqlite3 *db)
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
