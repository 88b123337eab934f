/* reply.c: the chat service's answers: render, then queue in the batch's
 * order for the requesting connection or for a room. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "batch.h"
#include "config.h"
#include "deliver.h"
#include "envelope.h"
#include "quota.h"
#include "render.h"
#include "reply.h"
#include "service_int.h"
#include "state.h"

static const char *const quota_class_names[QUOTA_NCLASSES] = {
	[QUOTA_SEND] = "send, edit, delete and react",
	[QUOTA_TYPING] = "typing",
	[QUOTA_JOIN] = "join and leave",
	[QUOTA_QUERY] = "history and search",
	[QUOTA_LIST] = "rooms and presence",
	[QUOTA_READ] = "read",
};

void
reply_json(struct req_ctx *q, struct json_object *o)
{
	size_t len;
	char *json = render_finish(o, &len);

	batch_reply(q->rq_b, q->rq_bc->bc_id, json, len, NULL);
}

/* An error text for q: in the batch's order, or at once as a plain frame
 * for a request the worker expects no answer to (it counts answers). */
static void
reply_error_json(struct req_ctx *q, char *json, size_t len)
{
	q->rq_b->b_metrics.bm_errors++;
	if (q->rq_h != NULL && (q->rq_h->rh_flags & REQ_NOREPLY)) {
		deliver_reply(q->rq_b, q->rq_bc->bc_id, json, len, false);
		free(json);
		return;
	}
	batch_reply(q->rq_b, q->rq_bc->bc_id, json, len, NULL);
}

void
reply_error(struct req_ctx *q, enum perr code, const char *field,
    const char *message)
{
	size_t len;
	char *json = render_error(q->rq_req->cr_id, code, field, message, &len);

	reply_error_json(q, json, len);
}

/* {"type":"error","id","code":"RATE_LIMIT","message","retry_after_ms"} */
static void
reply_retry_after(struct req_ctx *q, const char *msg, uint64_t retry_after_ms)
{
	struct json_object *o = envelope_error(q->rq_req->cr_id,
	    PERR_RATE_LIMIT, NULL, msg);
	char *json;
	size_t len;

	render_int(o, "retry_after_ms", retry_after_ms > INT64_MAX ?
	    INT64_MAX : (int64_t)retry_after_ms);
	json = render_finish(o, &len);
	reply_error_json(q, json, len);
}

/* Over the user's rate for the request's class. */
void
reply_rate_limit(struct req_ctx *q, uint64_t retry_after_ms)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "rate limit for %s exceeded; retry in %"
	    PRIu64 " ms", quota_class_names[q->rq_h->rh_class], retry_after_ms);
	reply_retry_after(q, msg, retry_after_ms);
}

/* {"type":"error","id","code":"LIMIT_EXCEEDED","message","limit"}: a bound
 * on growth (bounds.c); limit is its config key. */
void
reply_limit_exceeded(struct req_ctx *q, const char *limit)
{
	struct json_object *o;
	char msg[160], *json;
	size_t len;

	if (strcmp(limit, "max_rooms_per_user") == 0)
		snprintf(msg, sizeof(msg), "max_rooms_per_user (%d) reached: "
		    "leave a room with forget to join another",
		    q->rq_b->b_cfg->max_rooms_per_user);
	else
		snprintf(msg, sizeof(msg), "%s (%d) reached: the server "
		    "creates no more rooms", limit, q->rq_b->b_cfg->max_rooms);
	o = envelope_error(q->rq_req->cr_id, PERR_LIMIT_EXCEEDED, NULL, msg);
	render_str(o, "limit", limit);
	json = render_finish(o, &len);
	reply_error_json(q, json, len);
}

/* The reader pool's queue is full (reader.c): nothing was done. */
void
reply_busy(struct req_ctx *q, uint64_t retry_after_ms)
{
	char msg[128];

	q->rq_b->b_metrics.bm_rate_limited++;
	snprintf(msg, sizeof(msg), "the server has too many reads waiting; "
	    "retry in %" PRIu64 " ms", retry_after_ms);
	reply_retry_after(q, msg, retry_after_ms);
}

/* A write's answer: the reply after COMMIT, UNAVAILABLE after ROLLBACK. */
void
reply_after_commit(struct req_ctx *q, struct json_object *o)
{
	size_t len;
	char *json = render_finish(o, &len);

	/* The nack is made only if the batch rolls back (batch.c). */
	batch_reply(q->rq_b, q->rq_bc->bc_id, json, len, q->rq_req->cr_id);
}

void
reply_room_event(struct broker *b, const char *room,
    uint64_t exclude_conn, const char *exclude_user, struct json_object *o)
{
	size_t len;
	char *json = render_finish(o, &len);

	batch_room(b, room, 0, exclude_conn, exclude_user, json, len);
}

/* A sequenced item (message, stored event) for everyone in the room. */
void
reply_room_item(struct broker *b, const char *room, int64_t seq,
    struct json_object *o)
{
	size_t len;
	char *json = render_finish(o, &len);

	batch_room(b, room, seq, 0, NULL, json, len);
}

/* A write's answer to the sender, and the same event (without the id) to
 * the room's other connections: edited, deleted, reaction. */
void
reply_and_tell_room(struct req_ctx *q, struct json_object *o)
{
	struct json_object *ev = NULL;

	json_object_deep_copy(o, &ev, NULL);
	json_object_object_del(ev, "id");
	reply_after_commit(q, o);
	reply_room_event(q->rq_b, q->rq_req->cr_room, q->rq_bc->bc_id, NULL,
	    ev);
}
