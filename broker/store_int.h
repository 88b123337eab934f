/* store_int.h: what the store's files share (store.c, store_migrate.c,
 * store_query.c): the connection, its statements and the helpers of
 * store.c that run them. */
#ifndef PARLEY_STORE_INT_H
#define PARLEY_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

enum store_st {
	ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
	ST_BEGIN, ST_BEGIN_READ, ST_COMMIT, ST_ROLLBACK,
	ST_CHECK,
	ST_ROOM_GET, ST_ROOM_INSERT, ST_ROOM_BUMP,
	ST_MSG_INSERT, ST_CLIENT_FIND, ST_MSG_GET,
	ST_HISTORY, ST_SINCE, ST_SEARCH, ST_REACTIONS,
	ST_EDIT, ST_DELETE, ST_REACT_CLEAR,
	ST_LIVE, ST_REACT_ADD, ST_REACT_DEL, ST_REACT_COUNT,
	ST_READ_SET, ST_READ_GET, ST_UNREAD, ST_DELETED_NODE,
	ST_MEMBER_ADD, ST_MEMBER_DEL, ST_ROOMS_FOR,
	ST_MEMBER_HAS, ST_MEMBER_COUNT, ST_ROOM_COUNT,
	ST__COUNT
};

struct store {
	sqlite3		*st_db;
	sqlite3_stmt	*st_stmts[ST__COUNT];
	int		 st_batch;	/* inside store_begin() */
	/* Readers (store_open_reader): a query past the deadline is
	 * interrupted by the progress handler, which sets st_interrupted. */
	uint64_t	 st_deadline_ms;	/* monotonic; 0: none */
	int		 st_interrupted;
	/* The index's tokenizer, for search queries; made on first use. */
	fts5_tokenizer	 st_tokapi;
	Fts5Tokenizer	*st_tok;
};

/* A read of several statements in one snapshot.  Outside a transaction
 * each statement would take and drop SQLite's read lock (system calls
 * each); this takes it once.  *began: whether store_read_end() commits.
 * store_read_end() returns rc, or -1 if rc was 0 and the commit failed. */
int	store_read_begin(struct store *s, int *began);
int	store_read_end(struct store *s, int began, int rc);

/* store_query.c: frees st_tok. */
void	store_tokenizer_free(struct store *s);

/* Formats into err (when not NULL) for store_open()'s caller. */
void	store_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Logs "store_error" with what and SQLite's message; returns -1. */
int	store_fail(struct store *s, const char *what);
/* Resets a statement and clears its bindings. */
void	store_done(sqlite3_stmt *st);
/* Binds ?1, ?2... from fmt: 's' string (NULL binds NULL), 'I' int64_t. */
int	store_bind(struct store *s, sqlite3_stmt *st, const char *fmt, ...);
/* Column i as a malloc'd string (NULL stays NULL), or as an id. */
char	*store_col_dup(sqlite3_stmt *st, int i);
void	store_col_id(sqlite3_stmt *st, int i, char out[STORE_ID_LEN]);
/* For a fresh connection, outside the statement table. */
int	store_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
int	store_db_pragma(sqlite3 *db, const char *sql, int64_t *iv, char *tv,
	    size_t tvlen, char *err, size_t errlen);

#endif
