/* store.h: the broker's persistence, behind one interface (struct
 * store_ops) with SQLite as its implementation today (store_sqlite*.c).
 * Only the broker opens the database; nothing here talks to sockets or
 * knows about JSON, and no database library's type appears here.
 *
 * Return values: 0 done, STORE_NOTFOUND (1) when the room, message or row
 * asked for does not exist, -1 on a database error (already logged as
 * "store_error"; never with message texts).
 *
 * Transactions.  Each write runs under its own savepoint, so a failed call
 * changes nothing.  Outside store_begin()/store_commit() every write commits
 * by itself.  Between them (the broker's group commit: begin once per loop
 * pass, commit after the batch) writes are visible to this connection at
 * once but durable only after store_commit() returns 0; ack and broadcast
 * only then.  If store_commit() fails, call store_rollback(): nothing of the
 * batch is stored, and every seq handed out in it will be handed out again.
 * The store keeps no seq cache (each append reads rooms.last_seq inside the
 * transaction), so it needs no repair; a caller that caches last_seq must
 * reload it with store_room_get() and must nack the batch's sends. */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define STORE_NOTFOUND		1
#define STORE_BADQUERY		2	/* store_search: nothing to search for */
#define STORE_TOOMANY		3	/* store_search: too many terms */
/* The most terms store_search() takes; the configured cap (config
 * max_search_terms) is checked by the caller with store_search_terms(). */
#define STORE_SEARCH_MAX_TERMS	32
#define STORE_ID_LEN		33	/* 16 random bytes in hex, plus NUL */

/* A store as its callers hold it: the implementation and its connection. */
struct store;
struct store_ops;
/* One implementation's connection; each implementation defines it in its
 * private files (the SQLite one in store_sqlite.h) and no caller sees it. */
struct store_conn;

enum store_kind {
	STORE_KIND_MESSAGE = 0,		/* chat text */
	STORE_KIND_EVENT = 1		/* published custom event */
};

/* What to append.  Borrowed strings; user and room are required, name may
 * be "" (NULL is stored as "").  Messages need text; events need event and
 * take data (JSON text, not checked here) and ignore text. */
struct store_post {
	const char	*sp_room;
	const char	*sp_user;
	const char	*sp_name;
	const char	*sp_text;
	const char	*sp_client_msg_id;	/* NULL: not idempotent */
	const char	*sp_event;
	const char	*sp_data;
	int64_t		 sp_ts;			/* ms since the Unix epoch */
};

/* The answer to an append: what goes into `ack`. */
struct store_ack {
	int64_t		 sa_seq;
	char		 sa_msg_id[STORE_ID_LEN];
	int64_t		 sa_ts;
	bool		 sa_duplicate;	/* client_msg_id seen: the original */
};

struct store_reaction {
	char		*sr_emoji;
	int64_t		 sr_count;
};

/* A stored row; the strings are owned, free with store_message_clear(). */
struct store_message {
	int64_t		 sm_seq;
	char		 sm_msg_id[STORE_ID_LEN];
	enum store_kind	 sm_kind;
	char		*sm_user;
	char		*sm_name;
	char		*sm_text;		/* NULL: deleted, or an event */
	int64_t		 sm_ts;
	char		*sm_client_msg_id;	/* NULL: none */
	int64_t		 sm_edited_ts;		/* 0: never edited */
	bool		 sm_deleted;
	char		*sm_event;		/* events: the name */
	char		*sm_data;		/* events: JSON; NULL once deleted */
	struct store_reaction *sm_reactions;	/* by emoji; none if deleted */
	size_t		 sm_nreactions;
};

struct store_msglist {
	struct store_message *ml_msgs;
	size_t		 ml_n;
	bool		 ml_more;	/* more rows beyond the limit */
};

struct store_roominfo {
	char		*ri_room;
	int64_t		 ri_last_seq;
	int64_t		 ri_read_seq;
	int64_t		 ri_unread;
};

struct store_roomlist {
	struct store_roominfo *rl_rooms;	/* sorted by room */
	size_t		 rl_n;
};

/* The implementation called name (NULL: the default, "sqlite"), or NULL
 * when there is none.  A configuration key choosing the store would pass
 * its value here. */
const struct store_ops *store_pick(const char *name);

/* Opens (creating) path with the default implementation and brings the
 * schema up to date; refuses a schema newer than this binary.  SQLite:
 * WAL mode, one migration per transaction. */
struct store *store_open(const char *path, enum cfg_sync sync, char *err,
	    size_t errlen);
/* The same with the implementation ops (from store_pick(), or a test's
 * table wrapping one). */
struct store *store_open_ops(const struct store_ops *ops, const char *path,
	    enum cfg_sync sync, char *err, size_t errlen);
void	store_close(struct store *s);
int	store_check(struct store *s);		/* 0: the database answers */

/* A read-only connection to writer's database, with writer's
 * implementation, for a reader thread (reader.c), after store_open() made
 * the schema.  One thread uses it at a time; writer is only looked at.
 * store_set_deadline(): a statement still running at deadline_ms
 * (now_mono_ms() clock; 0: none) is interrupted and fails (-1), and
 * store_interrupted() says so until the next store_set_deadline().
 * store_snapshot_begin()/_end(): the reads between them see one
 * committed state (SQLite: a WAL read transaction). */
struct store *store_open_reader(const struct store *writer, const char *path,
	    char *err, size_t errlen);
void	store_set_deadline(struct store *s, uint64_t deadline_ms);
int	store_interrupted(const struct store *s);
/* From another thread: stop what s runs now (the pool's stop). */
void	store_interrupt(struct store *s);
int	store_snapshot_begin(struct store *s);
void	store_snapshot_end(struct store *s);

int	store_begin(struct store *s);
int	store_commit(struct store *s);
int	store_rollback(struct store *s);	/* safe when nothing is open */

/* Upkeep after the commit, never inside a batch.  Not needed for
 * correctness at any moment, so the broker runs them when it has time.
 * index_step: puts at most max_rows more committed messages into the
 *   search index (its own transaction, not synced: a crash loses only
 *   index work, redone after the restart); *lag is the number of rows
 *   still waiting afterwards.  Search is exact at any lag. */
int	store_index_step(struct store *s, size_t max_rows, int64_t *lag);

/* Rooms.  A read never creates one; store_room_create() returns the epoch of
 * the room, new (random) or existing. */
int	store_room_get(struct store *s, const char *room,
	    char epoch[STORE_ID_LEN], int64_t *last_seq);
int	store_room_create(struct store *s, const char *room,
	    char epoch[STORE_ID_LEN]);

/* Appends with seq = last_seq + 1, creating the room if needed.  A repeated
 * (room, user, client_msg_id) stores nothing and answers the original
 * seq, msg_id and ts with sa_duplicate set. */
int	store_message_append(struct store *s, const struct store_post *p,
	    struct store_ack *ack);
int	store_event_append(struct store *s, const struct store_post *p,
	    struct store_ack *ack);
int	store_find_client_msg(struct store *s, const char *room,
	    const char *user, const char *client_msg_id, struct store_ack *ack);

/* Reading messages back. */

/* One row, deleted or not, with its reactions. */
int	store_message_get(struct store *s, const char *room, int64_t seq,
	    struct store_message *m);
/* STORE_NOTFOUND for a missing or deleted row, or an event. */
int	store_message_edit(struct store *s, const char *room, int64_t seq,
	    const char *text, int64_t edited_ts);
/* Keeps the row and its seq; sets deleted, drops text, data, the search
 * entry and the reactions.  Deleting twice is not an error. */
int	store_message_delete(struct store *s, const char *room, int64_t seq);

/* Lists.  Each fills *out (free with store_msglist_free(), also after -1).
 * history: seq < before (0: newest), the newest limit, oldest first.
 * since: seq > since, oldest first, at most max; ml_more when more exist,
 *   so exactly max missed still counts as recovered.
 * search: non-deleted messages of the room holding every term of q, seq <
 *   before (0: none), newest first.  The terms are the tokens the index
 *   makes of q (runs of letters and digits, case and diacritics folded), so
 *   FTS5 syntax in q means nothing; STORE_BADQUERY when q has none,
 *   STORE_TOOMANY when it has more than STORE_SEARCH_MAX_TERMS.  The full-
 *   text index picks the room's matching rows newest first: the cost grows
 *   with the index lists of the terms in that room, not with the room.
 *   Exact whatever the index lag: rows not indexed yet (store_index_step())
 *   are matched one by one, a cost that grows with the lag. */
int	store_history(struct store *s, const char *room, int64_t before,
	    size_t limit, struct store_msglist *out);
int	store_since(struct store *s, const char *room, int64_t since,
	    size_t max, struct store_msglist *out);
int	store_search(struct store *s, const char *room, const char *q,
	    int64_t before, size_t limit, struct store_msglist *out);
void	store_message_clear(struct store_message *m);
void	store_msglist_free(struct store_msglist *l);

/* One reaction per (room, seq, user, emoji); *count is the emoji's count on
 * that message afterwards.  STORE_NOTFOUND for a missing or deleted row. */
int	store_reaction_set(struct store *s, const char *room, int64_t seq,
	    const char *user, const char *emoji, bool active, int64_t *count);

/* Read markers never go back, and never pass the room's last_seq; *stored
 * is the marker afterwards.  A user without one has read_seq 0. */
int	store_read_set(struct store *s, const char *room, const char *user,
	    int64_t seq, int64_t *stored);
int	store_read_get(struct store *s, const char *room, const char *user,
	    int64_t *read_seq);
/* Rows after read_seq that are not the user's own and not deleted; events
 * count (they are what a personal room delivers).  A few index lookups,
 * however many rows are unread (see sql/0004_unread_counts.sql). */
int	store_unread(struct store *s, const char *room, const char *user,
	    int64_t read_seq, int64_t *unread);

/* The `rooms` listing: joined rooms, kept until a forgetting leave.
 * add: STORE_NOTFOUND when it was there already; remove: when it was not. */
int	store_membership_add(struct store *s, const char *user,
	    const char *room);
int	store_membership_remove(struct store *s, const char *user,
	    const char *room);
/* 0 when user is a member of room, else STORE_NOTFOUND (or -1). */
int	store_membership_has(struct store *s, const char *user,
	    const char *room);
/* Counts for the bounds on growth (bounds.c): a user's memberships, and
 * every room.  Each walks what it counts: call them once, not per request. */
int	store_membership_count(struct store *s, const char *user, int64_t *n);
int	store_room_count(struct store *s, int64_t *n);
int	store_rooms_for_user(struct store *s, const char *user,
	    struct store_roomlist *out);
void	store_roomlist_free(struct store_roomlist *l);

/* The number of search terms in q (0: nothing to search for), for the
 * caller's configured cap; -1 on error.  The terms are the ones
 * store_search() would look for. */
int	store_search_terms(struct store *s, const char *q, size_t *nterms);

/*
 * The interface every implementation fills: one function per call above,
 * on its own connection type.  The wrappers in store.c dispatch to these;
 * callers never use the table.  Adding a store is a new set of files that
 * defines struct store_conn and one const struct store_ops, and one line
 * in store.c's list of implementations.
 */
struct store_ops {
	const char	*so_name;	/* for store_pick() */
	struct store_conn *(*so_open)(const char *path, enum cfg_sync sync,
			    char *err, size_t errlen);
	struct store_conn *(*so_open_reader)(const char *path, char *err,
			    size_t errlen);
	void		(*so_close)(struct store_conn *c);
	int		(*so_check)(struct store_conn *c);
	void		(*so_set_deadline)(struct store_conn *c,
			    uint64_t deadline_ms);
	int		(*so_interrupted)(const struct store_conn *c);
	void		(*so_interrupt)(struct store_conn *c);
	int		(*so_snapshot_begin)(struct store_conn *c);
	void		(*so_snapshot_end)(struct store_conn *c);
	int		(*so_begin)(struct store_conn *c);
	int		(*so_commit)(struct store_conn *c);
	int		(*so_rollback)(struct store_conn *c);
	int		(*so_index_step)(struct store_conn *c, size_t max_rows,
			    int64_t *lag);
	int		(*so_room_get)(struct store_conn *c, const char *room,
			    char epoch[STORE_ID_LEN], int64_t *last_seq);
	int		(*so_room_create)(struct store_conn *c,
			    const char *room, char epoch[STORE_ID_LEN]);
	int		(*so_message_append)(struct store_conn *c,
			    const struct store_post *p, struct store_ack *ack);
	int		(*so_event_append)(struct store_conn *c,
			    const struct store_post *p, struct store_ack *ack);
	int		(*so_find_client_msg)(struct store_conn *c,
			    const char *room, const char *user,
			    const char *client_msg_id, struct store_ack *ack);
	int		(*so_message_get)(struct store_conn *c,
			    const char *room, int64_t seq,
			    struct store_message *m);
	int		(*so_message_edit)(struct store_conn *c,
			    const char *room, int64_t seq, const char *text,
			    int64_t edited_ts);
	int		(*so_message_delete)(struct store_conn *c,
			    const char *room, int64_t seq);
	int		(*so_history)(struct store_conn *c, const char *room,
			    int64_t before, size_t limit,
			    struct store_msglist *out);
	int		(*so_since)(struct store_conn *c, const char *room,
			    int64_t since, size_t max,
			    struct store_msglist *out);
	int		(*so_search)(struct store_conn *c, const char *room,
			    const char *q, int64_t before, size_t limit,
			    struct store_msglist *out);
	int		(*so_search_terms)(struct store_conn *c,
			    const char *q, size_t *nterms);
	int		(*so_reaction_set)(struct store_conn *c,
			    const char *room, int64_t seq, const char *user,
			    const char *emoji, bool active, int64_t *count);
	int		(*so_read_set)(struct store_conn *c, const char *room,
			    const char *user, int64_t seq, int64_t *stored);
	int		(*so_read_get)(struct store_conn *c, const char *room,
			    const char *user, int64_t *read_seq);
	int		(*so_unread)(struct store_conn *c, const char *room,
			    const char *user, int64_t read_seq,
			    int64_t *unread);
	int		(*so_membership_add)(struct store_conn *c,
			    const char *user, const char *room);
	int		(*so_membership_remove)(struct store_conn *c,
			    const char *user, const char *room);
	int		(*so_membership_has)(struct store_conn *c,
			    const char *user, const char *room);
	int		(*so_membership_count)(struct store_conn *c,
			    const char *user, int64_t *n);
	int		(*so_room_count)(struct store_conn *c, int64_t *n);
	int		(*so_rooms_for_user)(struct store_conn *c,
			    const char *user, struct store_roomlist *out);
};

/* The implementations. */
extern const struct store_ops store_sqlite_ops;	/* store_sqlite.c */

#endif
