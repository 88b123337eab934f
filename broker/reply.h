/* reply.h: render a JSON object and queue it in the write batch's order:
 * to the requesting connection, or to a room. */
#ifndef PARLEY_REPLY_H
#define PARLEY_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

struct broker;
struct json_object;
struct req_ctx;

/* Each takes o over and releases it. */
void	reply_json(struct req_ctx *q, struct json_object *o);
/* {"type":"error","id","code","message","field"?}; at once as a plain
 * frame for a request the worker expects no answer to. */
void	reply_error(struct req_ctx *q, enum perr code, const char *field,
	    const char *message);
/* {"type":"error","id","code":"RATE_LIMIT","message","retry_after_ms"} */
void	reply_rate_limit(struct req_ctx *q, uint64_t retry_after_ms);
/* {"type":"error","id","code":"LIMIT_EXCEEDED","message","limit"}: limit
 * is the config key of the bound on growth it would pass (bounds.c). */
void	reply_limit_exceeded(struct req_ctx *q, const char *limit);
/* RATE_LIMIT with retry_after_ms: the reader pool's queue is full. */
void	reply_busy(struct req_ctx *q, uint64_t retry_after_ms);
/* A write's answer: the reply after COMMIT, UNAVAILABLE after ROLLBACK. */
void	reply_after_commit(struct req_ctx *q, struct json_object *o);
/* An unsequenced event for the room, except exclude_conn (0: none) and
 * every connection of exclude_user (NULL: none). */
void	reply_room_event(struct broker *b, const char *room,
	    uint64_t exclude_conn, const char *exclude_user,
	    struct json_object *o);
/* A sequenced item (message, stored event) for everyone in the room. */
void	reply_room_item(struct broker *b, const char *room, int64_t seq,
	    struct json_object *o);
/* A write's answer to the sender, and the same event (without the id) to
 * the room's other connections: edited, deleted, reaction. */
void	reply_and_tell_room(struct req_ctx *q, struct json_object *o);

#endif
