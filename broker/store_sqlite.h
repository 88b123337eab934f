/* store_sqlite.h: private to the SQLite store (store_sqlite*.c): the
 * connection, its statements, the helpers its files share, and the
 * functions its ops table (store_sqlite.c) points to.  Nothing outside
 * those files includes this but the store's own tests and benchmarks. */
#ifndef PARLEY_STORE_SQLITE_H
#define PARLEY_STORE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* The highest seq the unread counts' Fenwick trees hold (0004). */
#define STORE_FENWICK_MAX	((int64_t)1 << 40)

enum store_st {
	ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
	ST_BEGIN, ST_BEGIN_READ, ST_COMMIT, ST_ROLLBACK,
	ST_CHECK,
	ST_ROOM_GET, ST_ROOM_INSERT, ST_ROOM_BUMP,
	ST_MSG_INSERT, ST_CLIENT_FIND, ST_MSG_GET,
	ST_HISTORY, ST_SINCE, ST_SEARCH, ST_SEARCH_TAIL, ST_REACTIONS,
	ST_EDIT, ST_DELETE, ST_REACT_CLEAR,
	ST_LIVE, ST_REACT_ADD, ST_REACT_DEL, ST_REACT_COUNT,
	ST_READ_SET, ST_READ_GET, ST_UNREAD, ST_DELETED_NODE,
	ST_MEMBER_ADD, ST_MEMBER_DEL, ST_ROOMS_FOR,
	ST_MEMBER_HAS, ST_MEMBER_COUNT, ST_ROOM_COUNT,
	ST_INDEX_STATE, ST_INDEX_ROWS, ST_INDEX_SET,
	ST__COUNT
};

/* The SQLite connection behind a struct store (the writer's or a
 * reader's). */
struct store_conn {
	sqlite3		*st_db;
	sqlite3_stmt	*st_stmts[ST__COUNT];
	int		 st_batch;	/* inside sq_begin() */
	enum cfg_sync	 st_sync;	/* the writer's configured mode */
	bool		 st_sync_relaxed; /* normal for now (index slices) */
	struct sq_ckpt	*st_ckpt;	/* the writer's checkpoint thread */
	/* Random bytes for ids, used once each (store_sqlite_write.c). */
	unsigned char	 st_rand[4096];
	size_t		 st_rand_off;	/* used up to here */
	/* Readers (sq_open_reader): a query past the deadline is
	 * interrupted by the progress handler, which sets st_interrupted. */
	uint64_t	 st_deadline_ms;	/* monotonic; 0: none */
	int		 st_interrupted;
	/* The index's tokenizer, for search queries; made on first use. */
	fts5_tokenizer	 st_tokapi;
	Fts5Tokenizer	*st_tok;
};

/* One schema step, from sql/NNNN_name.sql; see sql/gen_migrations.sh. */
struct store_migration {
	int		 mig_version;	/* NNNN: 1, 2, ... without holes */
	const char	*mig_name;
	const char	*mig_sql;
};
extern const struct store_migration store_migrations[];	/* sql/migrations.c */
extern const size_t store_nmigrations;

/* store_sqlite.c: open, close, and what every file runs statements with. */
struct store_conn *sq_open(const char *path, enum cfg_sync sync, char *err,
	    size_t errlen);
struct store_conn *sq_open_reader(const char *path, char *err,
	    size_t errlen);
void	sq_close(struct store_conn *s);
int	sq_check(struct store_conn *s);
void	sq_set_deadline(struct store_conn *s, uint64_t deadline_ms);
int	sq_interrupted(const struct store_conn *s);
void	sq_interrupt(struct store_conn *s);
int	sq_snapshot_begin(struct store_conn *s);
void	sq_snapshot_end(struct store_conn *s);

/* Formats into err (when not NULL) for sq_open()'s caller. */
void	sq_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Logs "store_error" with what and SQLite's message; returns -1. */
int	sq_fail(struct store_conn *s, const char *what);
/* Resets a statement and clears its bindings. */
void	sq_done(sqlite3_stmt *st);
/* Binds ?1, ?2... from fmt: 's' string (NULL binds NULL), 'I' int64_t. */
int	sq_bind(struct store_conn *s, sqlite3_stmt *st, const char *fmt, ...);
/* Steps a statement that returns no rows, then resets it. */
int	sq_run(struct store_conn *s, enum store_st id);
/* Steps a bound statement expected to give at most one row of one
 * integer: 0 with *v, STORE_NOTFOUND, or -1.  Resets it. */
int	sq_one_int(struct store_conn *s, enum store_st id, int64_t *v);
/* Column i as a malloc'd string (NULL stays NULL), or as an id. */
char	*sq_col_dup(sqlite3_stmt *st, int i);
void	sq_col_id(sqlite3_stmt *st, int i, char out[STORE_ID_LEN]);
/* The savepoint around one write: sq_op_end() returns rc, or -1 when the
 * write failed or did not commit (everything it did is undone). */
int	sq_op_begin(struct store_conn *s);
int	sq_op_end(struct store_conn *s, int rc);
/* A read of several statements in one snapshot.  Outside a transaction
 * each statement would take and drop SQLite's read lock (system calls
 * each); this takes it once.  *began: whether sq_read_end() commits.
 * sq_read_end() returns rc, or -1 if rc was 0 and the commit failed. */
int	sq_read_begin(struct store_conn *s, int *began);
int	sq_read_end(struct store_conn *s, int began, int rc);
/* For a fresh connection, outside the statement table. */
int	sq_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
int	sq_db_pragma(sqlite3 *db, const char *sql, int64_t *iv, char *tv,
	    size_t tvlen, char *err, size_t errlen);

/* store_sqlite_write.c */
int	sq_begin(struct store_conn *s);
int	sq_index_step(struct store_conn *s, size_t max_rows, int64_t *lag);
/* PRAGMA synchronous FULL (full) or NORMAL; st_sync_relaxed says which. */
int	sq_sync_mode(struct store_conn *s, bool full);
int	sq_commit(struct store_conn *s);
int	sq_rollback(struct store_conn *s);
int	sq_room_create(struct store_conn *s, const char *room,
	    char epoch[STORE_ID_LEN]);
int	sq_message_append(struct store_conn *s, const struct store_post *p,
	    struct store_ack *ack);
int	sq_event_append(struct store_conn *s, const struct store_post *p,
	    struct store_ack *ack);
int	sq_find_client_msg(struct store_conn *s, const char *room,
	    const char *user, const char *client_msg_id, struct store_ack *ack);
int	sq_message_edit(struct store_conn *s, const char *room, int64_t seq,
	    const char *text, int64_t edited_ts);
int	sq_message_delete(struct store_conn *s, const char *room,
	    int64_t seq);
int	sq_reaction_set(struct store_conn *s, const char *room, int64_t seq,
	    const char *user, const char *emoji, bool active, int64_t *count);
int	sq_read_set(struct store_conn *s, const char *room, const char *user,
	    int64_t seq, int64_t *stored);
int	sq_membership_add(struct store_conn *s, const char *user,
	    const char *room);
int	sq_membership_remove(struct store_conn *s, const char *user,
	    const char *room);

/* store_sqlite_query.c */
int	sq_room_get(struct store_conn *s, const char *room,
	    char epoch[STORE_ID_LEN], int64_t *last_seq);
int	sq_message_get(struct store_conn *s, const char *room, int64_t seq,
	    struct store_message *m);
int	sq_history(struct store_conn *s, const char *room, int64_t before,
	    size_t limit, struct store_msglist *out);
int	sq_since(struct store_conn *s, const char *room, int64_t since,
	    size_t max, struct store_msglist *out);
int	sq_search(struct store_conn *s, const char *room, const char *q,
	    int64_t before, size_t limit, struct store_msglist *out);
int	sq_read_get(struct store_conn *s, const char *room, const char *user,
	    int64_t *read_seq);
int	sq_unread(struct store_conn *s, const char *room, const char *user,
	    int64_t read_seq, int64_t *unread);
int	sq_membership_has(struct store_conn *s, const char *user,
	    const char *room);
int	sq_membership_count(struct store_conn *s, const char *user,
	    int64_t *n);
int	sq_room_count(struct store_conn *s, int64_t *n);
int	sq_rooms_for_user(struct store_conn *s, const char *user,
	    struct store_roomlist *out);

/* store_sqlite_fts.c.  sq_fts_register(): the full-text tokenizer of
 * messages_fts ("parley_room") on a connection: every connection that
 * reads or writes messages_fts needs it (sq_open() and sq_open_reader()
 * do); 0 or -1.  sq_fts_query(): the FTS5 query sq_search() runs for room
 * and q, in *out (free it): 0, STORE_BADQUERY (no terms, *out NULL) or
 * -1; *nterms: q's terms.  Exposed for tests too. */
int	sq_fts_register(sqlite3 *db);
int	sq_search_terms(struct store_conn *s, const char *q, size_t *nterms);
int	sq_fts_query(struct store_conn *s, const char *room, const char *q,
	    char **out, size_t *nterms);
/* The words of a query as the tokenizer cuts them, for matching the rows
 * the index does not hold yet: sq_fts_terms() fills t (free it with
 * sq_fts_terms_free(); 0 or -1), sq_fts_matches() says whether text holds
 * every one of them, as the index would (1, 0, or -1). */
struct sq_terms {
	char		*tm_buf;	/* the words, each NUL-terminated */
	size_t		 tm_len, tm_cap;
	size_t		 tm_off[STORE_SEARCH_MAX_TERMS];
	size_t		 tm_wlen[STORE_SEARCH_MAX_TERMS];
	size_t		 tm_n;
};
int	sq_fts_terms(struct store_conn *s, const char *q, struct sq_terms *t);
void	sq_fts_terms_free(struct sq_terms *t);
int	sq_fts_matches(struct store_conn *s, const struct sq_terms *t,
	    const char *text, int len);
void	sq_tokenizer_free(struct store_conn *s);

/* store_sqlite_ckpt.c: the writer's checkpoints on a thread of their own
 * (start after the migrations: 0 or -1 with err; stop before closing the
 * writer).  For tests: sq_ckpt_set_limits() replaces the log lengths
 * (pages) that start a passive and a restart checkpoint; sq_ckpt_runs():
 * checkpoints done so far. */
struct sq_ckpt;
int	sq_ckpt_start(struct store_conn *s, const char *path, char *err,
	    size_t errlen);
void	sq_ckpt_stop(struct store_conn *s);
void	sq_ckpt_set_limits(struct store_conn *s, int passive_pages,
	    int restart_pages);
uint64_t sq_ckpt_runs(struct store_conn *s);

/* store_sqlite_migrate.c: applies the migrations the file lacks; 0, or -1
 * with err set. */
int	sq_migrate(sqlite3 *db, char *err, size_t errlen);

#endif
