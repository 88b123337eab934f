/* deliver.h: hand JSON texts to the workers that own the connections.
 * A room broadcast adds to each worker's pending IPC_DELIVER batch one
 * item carrying the text once and its list of target connections; a
 * reply adds one item for its connection. */
#ifndef PARLEY_DELIVER_H
#define PARLEY_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct bconn;
struct room;

/* One connection.  response: this answers one of its requests (the
 * worker counts those to fail them if the broker dies).  Returns 0, or
 * -1 if the connection is gone. */
int	deliver_reply(struct broker *b, uint64_t conn_id, const char *json,
	    size_t len, bool response);
/* Every member of r except exclude_conn (0: none) and except every
 * connection of exclude_user (NULL: none).  seq: the item's seq in the
 * room, 0 if it has none (workers track it to resume after a restart).
 * Returns how many. */
size_t	deliver_room(struct broker *b, struct room *r, int64_t seq,
	    uint64_t exclude_conn, const char *exclude_user, const char *json,
	    size_t len);
/* One room item to one connection (a member's held items). */
void	deliver_room_one(struct broker *b, uint64_t conn_id, const char *room,
	    int64_t seq, const char *json, size_t len);
/* Tell a connection's worker it is in room with everything up to seq. */
void	deliver_room_seq(struct broker *b, uint64_t conn_id, const char *room,
	    int64_t seq);
/* Tell a connection's worker it is no longer in room. */
void	deliver_room_left(struct broker *b, uint64_t conn_id, const char *room);
/* Close bc with code (4429 for the limits, 4403 for an operator's kick,
 * 1001 to make it reconnect) and ignore what it sends until its worker
 * reports it closed.  Once per connection. */
void	deliver_close(struct broker *b, struct bconn *bc, uint16_t code,
	    const char *reason);
/* The same by id, without marking it (the connection may be gone). */
void	deliver_kick(struct broker *b, uint64_t conn_id, uint16_t code,
	    const char *reason);

/* A re-registered connection's catch-up after a broker restart: the
 * items of room after since, as live frames, bounded by recovery_limit and
 * the reply budget.  Returns the last seq sent (since if none) or -1;
 * *more: items were left out. */
int64_t	deliver_since(struct broker *b, struct bconn *bc, const char *room,
	    int64_t since, bool *more);

#endif
