/* batch.h: group commit.  Writes of one short window share a transaction;
 * their acks and broadcasts wait in an outbox until COMMIT succeeds, so
 * nothing is acknowledged that a crash could lose. */
#ifndef PARLEY_BATCH_H
#define PARLEY_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;

/* Where the outbox goes once its batch is settled: deliver.c by default
 * (batch_init()).  reply: one connection's answer (response: it answers
 * one of its requests).  room: a broadcast to the room's members but
 * exclude_conn (0: none) and exclude_user's connections (NULL: none).
 * A test sets its own to watch the outbox without workers. */
struct batch_sink {
	void	(*bs_reply)(struct broker *b, uint64_t conn, const char *json,
		    size_t len);
	void	(*bs_room)(struct broker *b, const char *room, int64_t seq,
		    uint64_t exclude_conn, const char *exclude_user,
		    const char *json, size_t len);
};

/* Sets up the outbox and its timer (not started) with deliver.c's sink. */
int	batch_init(struct broker *b);
/* Replaces the sink; sink must outlive the batch. */
void	batch_set_sink(struct broker *b, const struct batch_sink *sink);
void	batch_free(struct broker *b);
/* Before a write: open the batch if needed.  -1: the database failed. */
int	batch_write(struct broker *b);
/* After a write: commit now if the batch is full. */
void	batch_wrote(struct broker *b);
/* Queue a reply: json (owned, may be NULL) on commit.  fail_id: for a
 * write's answer, the request's id (JSON, copied), whose UNAVAILABLE nack
 * is sent instead on rollback; NULL for any other reply (still sent on
 * rollback).  Without an open batch it is sent at once. */
void	batch_reply(struct broker *b, uint64_t conn, char *json, size_t len,
	    const char *fail_id);
/* Queue a room broadcast (json owned), dropped on rollback; seq is the
 * item's seq in the room, 0 if none. */
void	batch_room(struct broker *b, const char *room, int64_t seq,
	    uint64_t exclude_conn, const char *exclude_user, char *json,
	    size_t len);
/* Commit what is open and flush the outbox.  0, or -1 if rolled back. */
int	batch_commit(struct broker *b);
/* Committed messages the search index had not taken in at its last
 * slice (search is exact at any lag; /metrics shows it). */
int64_t	batch_index_lag(const struct broker *b);

#endif
