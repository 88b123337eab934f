/* svc_message.c: the chat service's message requests: send, history,
 * read markers, edit, delete, react and search. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "bounds.h"
#include "chatstate.h"
#include "render.h"
#include "reply.h"
#include "room.h"
#include "service_int.h"
#include "state.h"
#include "store.h"
#include "util.h"

void
svc_send(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	const struct chat_req *r = q->rq_req;
	const struct conn_identity *id = &q->rq_cc->cc_id;
	struct store_post post = {
		.sp_room = r->cr_room,
		.sp_user = id->ci_user,
		.sp_name = display_name(id),
		.sp_text = r->cr_text,
		.sp_client_msg_id = r->cr_has_cmid ? r->cr_cmid : NULL,
		.sp_ts = now_wall_ms(),
	};
	struct store_message msg;
	struct store_ack ack;
	struct json_object *o;
	bool new_room = false;
	int rc;

	/* The personal room is joined at login with no room in the
	 * database: the first send there creates it, within max_rooms
	 * (bounds.c).  Any other joined room exists. */
	if (room_is_personal(r->cr_room)) {
		if ((rc = store_room_get(b->b_store, r->cr_room, NULL,
		    NULL)) == -1)
			goto unavailable;
		new_room = rc == STORE_NOTFOUND;
		if (new_room && bounds_new_room(b) != 0) {
			reply_limit_exceeded(q, "max_rooms");
			return;
		}
	}
	if (store_message_append(b->b_store, &post, &ack) == -1)
		goto unavailable;
	if (new_room)
		bounds_room_created(b);
	o = render_new("ack", r->cr_id);
	render_str(o, "room", r->cr_room);
	render_int(o, "seq", ack.sa_seq);
	render_str(o, "msg_id", ack.sa_msg_id);
	render_ts(o, "ts", ack.sa_ts);
	if (ack.sa_duplicate)
		json_object_object_add(o, "duplicate",
		    json_object_new_boolean(1));
	reply_after_commit(q, o);
	if (ack.sa_duplicate)
		return;
	/* Everyone in the room, the sender's own connections included. */
	memset(&msg, 0, sizeof(msg));
	msg.sm_seq = ack.sa_seq;
	memcpy(msg.sm_msg_id, ack.sa_msg_id, sizeof(msg.sm_msg_id));
	msg.sm_user = (char *)post.sp_user;
	msg.sm_name = (char *)post.sp_name;
	msg.sm_text = r->cr_text;
	msg.sm_ts = ack.sa_ts;
	msg.sm_client_msg_id = (char *)post.sp_client_msg_id;
	o = render_message("message", r->cr_room, &msg);
	reply_room_item(b, r->cr_room, ack.sa_seq, o);
	b->b_metrics.bm_messages++;
	return;
unavailable:
	reply_error(q, PERR_UNAVAILABLE, NULL, "database error; retry");
}

void
svc_history(struct req_ctx *q)
{
	svc_read_history(q);
}

void
svc_read(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	const struct chat_req *r = q->rq_req;
	const char *user = q->rq_cc->cc_id.ci_user;
	int64_t before = 0, stored = 0;
	struct json_object *o;
	int rc;

	/* A room that does not exist has nothing to read: its marker would be
	 * 0, the same as none, so nothing is stored (bounds on growth: no row
	 * per made-up room name). */
	if ((rc = store_room_get(b->b_store, r->cr_room, NULL, NULL)) == -1 ||
	    (rc == 0 && (store_read_get(b->b_store, r->cr_room, user,
	    &before) == -1 || store_read_set(b->b_store, r->cr_room, user,
	    r->cr_seq, &stored) == -1))) {
		reply_error(q, PERR_UNAVAILABLE, NULL, "database error; retry");
		return;
	}
	o = render_new("read", r->cr_id);
	render_str(o, "room", r->cr_room);
	render_int(o, "seq", stored);
	reply_after_commit(q, o);
	if (stored <= before)
		return;
	o = render_new("read", "");
	render_str(o, "room", r->cr_room);
	render_str(o, "user", user);
	render_int(o, "seq", stored);
	reply_room_event(b, r->cr_room, q->rq_bc->bc_id, NULL, o);
}

/* Look up the target of edit/delete/react; replies on failure. */
static int
target_message(struct req_ctx *q, struct store_message *msg, bool author)
{
	const struct conn_identity *id = &q->rq_cc->cc_id;
	int rc = store_message_get(q->rq_b->b_store, q->rq_req->cr_room,
	    q->rq_req->cr_seq, msg);

	if (rc == -1) {
		reply_error(q, PERR_UNAVAILABLE, NULL, "database error; retry");
		return -1;
	}
	if (rc == STORE_NOTFOUND || msg->sm_deleted) {
		if (rc == 0)
			store_message_clear(msg);
		reply_error(q, PERR_NOT_FOUND, "seq", "no message with that seq");
		return -1;
	}
	if (author && !id->ci_moderator &&
	    (msg->sm_kind != STORE_KIND_MESSAGE ||
	    strcmp(msg->sm_user, id->ci_user) != 0)) {
		store_message_clear(msg);
		reply_error(q, PERR_FORBIDDEN, "seq",
		    "only the author or a moderator may do that");
		return -1;
	}
	return 0;
}

void
svc_edit(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	const struct chat_req *r = q->rq_req;
	struct store_message msg;
	struct json_object *o;
	int64_t now = now_wall_ms();

	if (target_message(q, &msg, true) == -1)
		return;
	if (msg.sm_kind != STORE_KIND_MESSAGE) {
		store_message_clear(&msg);
		reply_error(q, PERR_NOT_FOUND, "seq", "no message with that seq "
		    "(events cannot be edited)");
		return;
	}
	store_message_clear(&msg);
	if (store_message_edit(b->b_store, r->cr_room, r->cr_seq, r->cr_text,
	    now) != 0) {
		reply_error(q, PERR_UNAVAILABLE, NULL, "database error; retry");
		return;
	}
	o = render_new("edited", r->cr_id);
	render_str(o, "room", r->cr_room);
	render_int(o, "seq", r->cr_seq);
	render_str(o, "text", r->cr_text);
	render_str(o, "user", q->rq_cc->cc_id.ci_user);
	render_ts(o, "edited_ts", now);
	reply_and_tell_room(q, o);
}

void
svc_delete(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	const struct chat_req *r = q->rq_req;
	struct store_message msg;
	struct json_object *o;

	if (target_message(q, &msg, true) == -1)
		return;
	store_message_clear(&msg);
	if (store_message_delete(b->b_store, r->cr_room, r->cr_seq) != 0) {
		reply_error(q, PERR_UNAVAILABLE, NULL, "database error; retry");
		return;
	}
	o = render_new("deleted", r->cr_id);
	render_str(o, "room", r->cr_room);
	render_int(o, "seq", r->cr_seq);
	render_str(o, "user", q->rq_cc->cc_id.ci_user);
	reply_and_tell_room(q, o);
}

void
svc_react(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	const struct chat_req *r = q->rq_req;
	struct store_message msg;
	struct json_object *o;
	int64_t count = 0;
	int rc;

	if (target_message(q, &msg, false) == -1)
		return;
	store_message_clear(&msg);
	rc = store_reaction_set(b->b_store, r->cr_room, r->cr_seq,
	    q->rq_cc->cc_id.ci_user, r->cr_emoji, r->cr_active, &count);
	if (rc != 0) {
		if (rc == STORE_NOTFOUND)
			reply_error(q, PERR_NOT_FOUND, "seq",
			    "no message with that seq");
		else
			reply_error(q, PERR_UNAVAILABLE, NULL,
			    "database error; retry");
		return;
	}
	o = render_new("reaction", r->cr_id);
	render_str(o, "room", r->cr_room);
	render_int(o, "seq", r->cr_seq);
	render_str(o, "user", q->rq_cc->cc_id.ci_user);
	render_str(o, "emoji", r->cr_emoji);
	json_object_object_add(o, "active", json_object_new_boolean(
	    r->cr_active));
	render_int(o, "count", count);
	reply_and_tell_room(q, o);
}

void
svc_search(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	size_t nterms;
	int max = q->rq_b->b_cfg->max_search_terms;
	char why[96];

	/* Each term is one more index list to walk: the cap bounds the cost.
	 * Counting is cheap (a tokenizer pass over at most CHAT_MAX_Q), so
	 * it is done here; the search itself runs on a reader. */
	if (store_search_terms(q->rq_b->b_store, r->cr_q, &nterms) == -1) {
		reply_error(q, PERR_UNAVAILABLE, NULL, "database error; retry");
		return;
	}
	if (nterms == 0) {
		reply_error(q, PERR_VALIDATION_ERROR, "q",
		    "the query has no words to search for");
		return;
	}
	if (nterms > (size_t)max) {
		snprintf(why, sizeof(why), "the query has %zu words; "
		    "at most %d are allowed", nterms, max);
		reply_error(q, PERR_VALIDATION_ERROR, "q", why);
		return;
	}
	svc_read_search(q);
}
