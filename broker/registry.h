/* registry.h: the broker's live client connections, per worker, and the
 * links to those workers (registry.c).  Every lower file reaches a
 * connection or a worker through here, never through broker.c. */
#ifndef PARLEY_REGISTRY_H
#define PARLEY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct bworker;
struct bconn;
struct ipc_msg;
struct ipc_batch;

/* A worker slot's empty registry, and its release (after
 * registry_drop_all). */
void		 registry_worker_init(struct bworker *bw);
void		 registry_worker_free(struct bworker *bw);

/* A connection by id, on whichever worker has it (the id names the
 * worker's slot); NULL if none. */
struct bconn	*registry_conn(struct broker *b, uint64_t conn_id);
/* On one worker. */
struct bconn	*registry_find(struct bworker *bw, uint64_t conn_id);
void		 registry_add(struct bworker *bw, struct bconn *bc);
/* Takes it out and returns it (the caller frees it); NULL if absent. */
struct bconn	*registry_remove(struct bworker *bw, uint64_t conn_id);
/* Takes every connection of bw out, then calls fn on each: fn may send
 * (presence leaves) without meeting the ones going. */
void		 registry_drop_all(struct bworker *bw,
		    void (*fn)(struct bconn *bc, void *arg), void *arg);
size_t		 registry_count(const struct bworker *bw);
size_t		 registry_total(const struct broker *b);

/* Every connection of every worker, in no order:
 *	struct registry_iter it = { 0 };
 *	while (registry_next(b, &it, &bc)) ...
 * Adding or removing connections during the walk is not allowed. */
struct registry_iter {
	int	 rit_slot;
	size_t	 rit_pos;
};
bool		 registry_next(struct broker *b, struct registry_iter *it,
		    struct bconn **bcp);

/* Queue m to the worker (m is consumed); -1 if its link is gone or full.
 * The worker's pending batch goes first: every message to a worker goes
 * through here (or its batch) so that the worker sees them in order. */
int		 registry_send(struct broker *b, struct bworker *bw,
		    struct ipc_msg *m);
/* The same to the worker of conn_id, if the connection is still there. */
int		 registry_send_conn(struct broker *b, uint64_t conn_id,
		    struct ipc_msg *m);

/* The worker's pending IPC_DELIVER batch to append item_len more bytes
 * to: sent first if that would take it past the cap; started (and its
 * sending scheduled for the end of this loop pass) if empty.  NULL if the
 * link is gone. */
struct ipc_batch *registry_batch(struct broker *b, struct bworker *bw,
		    size_t item_len);
/* Send the worker's pending batch now (nothing if empty). */
void		 registry_batch_flush(struct broker *b, struct bworker *bw);
/* Every worker's (leaving: before waiting for the links to drain). */
void		 registry_batch_flush_all(struct broker *b);
/* Forget the pending batch of a lost link. */
void		 registry_batch_drop(struct bworker *bw);
/* At exit: drop the batches and free the event that sends them. */
void		 registry_stop(struct broker *b);

#endif
