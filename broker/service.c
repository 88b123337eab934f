/*
 * service.c: the broker's chat service.  Identities arrive verified from
 * the workers (IPC_CONN_AUTH), requests arrive typed (IPC_CLIENT_REQ) and
 * go through one dispatch table whose flags say what each kind needs:
 * a join on this connection, the room ACL, a committed view of the
 * database, or a place in the current write batch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "batch.h"
#include "broker.h"
#include "chatstate.h"
#include "config.h"
#include "deliver.h"
#include "ipc.h"
#include "log.h"
#include "quota.h"
#include "render.h"
#include "room.h"
#include "service.h"
#include "store.h"
#include "util.h"

#define TYPING_THROTTLE_MS	2000	/* one active:true per user and room */
#define TYPING_TIMEOUT_S	6	/* then the server sends active:false */
#define MAX_ROOMS_PER_CONN	1000

/* What a request kind needs before its handler runs. */
#define REQ_JOINED	0x01	/* joined on this connection: NOT_IN_ROOM */
#define REQ_ALLOWED	0x02	/* the room ACL allows it: FORBIDDEN */
#define REQ_READS	0x04	/* commit pending writes first */
#define REQ_WRITES	0x08	/* runs inside the write batch */
#define REQ_NOREPLY	0x10	/* the worker waits for no answer (typing):
				 * an error goes out as a plain frame */

struct req_handler;

struct req_ctx {
	struct broker		*rq_b;
	struct bconn		*rq_bc;
	struct chat_conn	*rq_cc;
	const struct chat_req	*rq_req;
	struct room_member	*rq_member;	/* when REQ_JOINED */
	const struct req_handler *rq_h;		/* NULL: unknown kind */
};

typedef void (*req_fn)(struct req_ctx *);

static void	svc_join(struct req_ctx *);
static void	svc_leave(struct req_ctx *);
static void	svc_send(struct req_ctx *);
static void	svc_history(struct req_ctx *);
static void	svc_typing(struct req_ctx *);
static void	svc_read(struct req_ctx *);
static void	svc_edit(struct req_ctx *);
static void	svc_delete(struct req_ctx *);
static void	svc_react(struct req_ctx *);
static void	svc_search(struct req_ctx *);
static void	svc_presence(struct req_ctx *);
static void	svc_rooms(struct req_ctx *);

/* rh_class: the user's token bucket the request takes from (quota.h);
 * it is checked before anything else, so a refused request does nothing. */
static const struct req_handler {
	enum chat_req_kind	 rh_kind;
	unsigned		 rh_flags;
	enum quota_class	 rh_class;
	req_fn			 rh_fn;
} req_handlers[] = {
	{ CHAT_REQ_JOIN,	REQ_ALLOWED | REQ_READS,	QUOTA_JOIN,
	    svc_join },
	{ CHAT_REQ_LEAVE,	REQ_READS,			QUOTA_JOIN,
	    svc_leave },
	{ CHAT_REQ_SEND,	REQ_JOINED | REQ_WRITES,	QUOTA_SEND,
	    svc_send },
	{ CHAT_REQ_HISTORY,	REQ_ALLOWED | REQ_READS,	QUOTA_QUERY,
	    svc_history },
	{ CHAT_REQ_TYPING,	REQ_JOINED | REQ_NOREPLY,	QUOTA_TYPING,
	    svc_typing },
	{ CHAT_REQ_READ,	REQ_ALLOWED | REQ_WRITES,	QUOTA_NONE,
	    svc_read },
	{ CHAT_REQ_EDIT,	REQ_JOINED | REQ_WRITES,	QUOTA_SEND,
	    svc_edit },
	{ CHAT_REQ_DELETE,	REQ_JOINED | REQ_WRITES,	QUOTA_SEND,
	    svc_delete },
	{ CHAT_REQ_REACT,	REQ_JOINED | REQ_WRITES,	QUOTA_SEND,
	    svc_react },
	{ CHAT_REQ_SEARCH,	REQ_ALLOWED | REQ_READS,	QUOTA_QUERY,
	    svc_search },
	{ CHAT_REQ_PRESENCE,	REQ_ALLOWED,			QUOTA_NONE,
	    svc_presence },
	{ CHAT_REQ_ROOMS,	REQ_READS,			QUOTA_NONE,
	    svc_rooms },
};

static const char *const quota_class_names[QUOTA_NCLASSES] = {
	[QUOTA_SEND] = "send, edit, delete and react",
	[QUOTA_TYPING] = "typing",
	[QUOTA_JOIN] = "join and leave",
	[QUOTA_QUERY] = "history and search",
};

static struct chat_state *
chat_state(struct broker *b)
{
	return b->b_chat;
}

static const char *
display_name(const struct chat_identity *id)
{
	return id->ci_name[0] != '\0' ? id->ci_name : id->ci_user;
}

/* Replies. */

static void
reply_json(struct req_ctx *q, struct json_object *o)
{
	size_t len;
	char *json = render_finish(o, &len);

	batch_reply(q->rq_b, q->rq_bc->bc_id, json, len, NULL, 0);
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
	batch_reply(q->rq_b, q->rq_bc->bc_id, json, len, NULL, 0);
}

static void
reply_error(struct req_ctx *q, const char *code, const char *field,
    const char *message)
{
	size_t len;
	char *json = render_error(q->rq_req->cr_id, code, field, message, &len);

	reply_error_json(q, json, len);
}

/* {"type":"error","id","code":"RATE_LIMIT","message","retry_after_ms"} */
static void
reply_rate_limit(struct req_ctx *q, uint64_t retry_after_ms)
{
	struct json_object *o = render_new("error", q->rq_req->cr_id);
	char msg[128], *json;
	size_t len;

	snprintf(msg, sizeof(msg), "rate limit for %s exceeded; retry in %"
	    PRIu64 " ms", quota_class_names[q->rq_h->rh_class], retry_after_ms);
	render_str(o, "code", "RATE_LIMIT");
	render_str(o, "message", msg);
	render_int(o, "retry_after_ms", retry_after_ms > INT64_MAX ?
	    INT64_MAX : (int64_t)retry_after_ms);
	json = render_finish(o, &len);
	reply_error_json(q, json, len);
}

/* A write's answer: the reply after COMMIT, UNAVAILABLE after ROLLBACK. */
static void
reply_after_commit(struct req_ctx *q, struct json_object *o)
{
	size_t len, flen;
	char *json = render_finish(o, &len);
	char *fail = render_error(q->rq_req->cr_id, "UNAVAILABLE", NULL,
	    "the write was not committed; retry", &flen);

	batch_reply(q->rq_b, q->rq_bc->bc_id, json, len, fail, flen);
}

static void
room_event(struct broker *b, const char *room, uint64_t exclude_conn,
    const char *exclude_user, struct json_object *o)
{
	size_t len;
	char *json = render_finish(o, &len);

	batch_room(b, room, 0, exclude_conn, exclude_user, json, len);
}

/* A sequenced item (message, stored event) for everyone in the room. */
static void
room_item(struct broker *b, const char *room, int64_t seq,
    struct json_object *o)
{
	size_t len;
	char *json = render_finish(o, &len);

	batch_room(b, room, seq, 0, NULL, json, len);
}

/* A write's answer to the sender, and the same event (without the id) to
 * the room's other connections: edited, deleted, reaction. */
static void
reply_and_tell_room(struct req_ctx *q, struct json_object *o)
{
	struct json_object *ev = NULL;

	json_object_deep_copy(o, &ev, NULL);
	json_object_object_del(ev, "id");
	reply_after_commit(q, o);
	room_event(q->rq_b, q->rq_req->cr_room, q->rq_bc->bc_id, NULL, ev);
}

/* Presence and typing. */

static void
presence_event(struct broker *b, const char *room, struct room_user *ru,
    uint64_t exclude_conn, const char *state)
{
	struct json_object *o;

	if (room_is_personal(room))
		return;
	o = render_new("presence", "");
	render_str(o, "room", room);
	render_str(o, "user", ru->ru_user);
	render_str(o, "name", ru->ru_name);
	render_str(o, "state", state);
	room_event(b, room, exclude_conn, NULL, o);
}

static void
typing_event(struct broker *b, struct room_user *ru, bool active)
{
	struct json_object *o = render_new("typing", "");

	render_str(o, "room", ru->ru_room->r_name);
	render_str(o, "user", ru->ru_user);
	render_str(o, "name", ru->ru_name);
	json_object_object_add(o, "active", json_object_new_boolean(active));
	room_event(b, ru->ru_room->r_name, 0, ru->ru_user, o);
}

static void
typing_stop(struct broker *b, struct room_user *ru)
{
	if (ru->ru_typing_stop != NULL)
		event_del(ru->ru_typing_stop);
	if (!ru->ru_typing)
		return;
	ru->ru_typing = false;
	ru->ru_typing_sent_ms = 0;
	typing_event(b, ru, false);
}

static void
typing_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct room_user *ru = arg;

	typing_stop(ru->ru_ctx, ru);
}

/* Take one connection out of one room, with the events that follow. */
static void
member_leave(struct broker *b, struct room_member *m)
{
	struct chat_state *cs = chat_state(b);
	uint64_t conn = m->rm_conn->bc_id;
	char room[CHAT_MAX_ROOM + 1];
	struct room_user *ru;

	snprintf(room, sizeof(room), "%s", m->rm_room->r_name);
	if ((ru = room_leave(&cs->cs_rooms, m)) == NULL)
		return;
	/* It was the user's last connection in the room. */
	typing_stop(b, ru);
	presence_event(b, room, ru, conn, "leave");
	if (ru->ru_typing_stop != NULL)
		event_free(ru->ru_typing_stop);
	room_user_release(&cs->cs_rooms, ru);
}

static void
member_json_cb(const char *user, void *val, void *arg)
{
	struct room_user *ru = val;
	struct json_object *o = json_object_new_object();

	render_str(o, "user", ru->ru_user);
	render_str(o, "name", ru->ru_name);
	render_int(o, "connections", ru->ru_conns);
	json_object_array_add(arg, o);
}

/* [{user, name, connections}] of the users with a live connection. */
static struct json_object *
members_json(struct room *r)
{
	struct json_object *a = json_object_new_array();

	if (r != NULL)
		strmap_each(&r->r_users, member_json_cb, a);
	return a;
}

static size_t
conn_room_count(const struct chat_conn *cc)
{
	const struct room_member *m;
	size_t n = 0;

	LIST_FOREACH(m, &cc->cc_rooms, rm_in_conn)
		n++;
	return n;
}

/* Requests. */

static void
svc_join(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	struct chat_state *cs = chat_state(b);
	const struct chat_req *r = q->rq_req;
	const char *user = q->rq_cc->cc_id.ci_user;
	struct room_member *m = room_member_find(&q->rq_cc->cc_rooms,
	    r->cr_room);
	struct store_msglist list = { 0 };
	char epoch[STORE_ID_LEN];
	int64_t last_seq, read_seq = 0, unread = 0;
	struct json_object *o;
	bool first, recovered = false;
	int rc;

	if (m == NULL && conn_room_count(q->rq_cc) >= MAX_ROOMS_PER_CONN) {
		reply_error(q, "VALIDATION_ERROR", "room",
		    "too many rooms on one connection");
		return;
	}
	rc = store_room_get(b->b_store, r->cr_room, epoch, &last_seq);
	if (rc == STORE_NOTFOUND) {
		rc = store_room_create(b->b_store, r->cr_room, epoch);
		last_seq = 0;
	}
	if (rc == -1 || (m == NULL &&
	    store_membership_add(b->b_store, user, r->cr_room) == -1) ||
	    store_read_get(b->b_store, r->cr_room, user, &read_seq) == -1 ||
	    store_unread(b->b_store, r->cr_room, user, read_seq, &unread) == -1)
		goto unavailable;

	if (r->cr_has_since && (!r->cr_has_epoch ||
	    strcmp(r->cr_epoch, epoch) == 0)) {
		if (store_since(b->b_store, r->cr_room, r->cr_since,
		    (size_t)b->b_cfg->recovery_limit, &list) == -1)
			goto unavailable;
		recovered = !list.ml_more;
		if (!recovered)
			store_msglist_free(&list);
	}
	if (!recovered && store_history(b->b_store, r->cr_room, 0,
	    (size_t)r->cr_history, &list) == -1)
		goto unavailable;

	if (m == NULL) {
		m = room_join(&cs->cs_rooms, r->cr_room, q->rq_bc,
		    &q->rq_cc->cc_rooms, user, display_name(&q->rq_cc->cc_id),
		    &first);
		if (first)
			presence_event(b, r->cr_room, m->rm_user,
			    q->rq_bc->bc_id, "join");
	}
	o = render_new("joined", r->cr_id);
	render_str(o, "room", r->cr_room);
	render_str(o, "epoch", epoch);
	json_object_object_add(o, "members", members_json(m->rm_room));
	json_object_object_add(o, "messages", render_messages(r->cr_room,
	    &list));
	render_int(o, "last_seq", last_seq);
	render_int(o, "read_seq", read_seq);
	render_int(o, "unread", unread);
	if (r->cr_has_since)
		json_object_object_add(o, "recovered",
		    json_object_new_boolean(recovered));
	reply_json(q, o);
	deliver_room_seq(b, q->rq_bc->bc_id, r->cr_room, last_seq);
	store_msglist_free(&list);
	return;
unavailable:
	store_msglist_free(&list);
	reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
}

static void
svc_leave(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct room_member *m = room_member_find(&q->rq_cc->cc_rooms,
	    r->cr_room);
	struct json_object *o;

	if (m == NULL && !r->cr_forget) {
		reply_error(q, "NOT_IN_ROOM", "room",
		    "this connection has not joined that room");
		return;
	}
	if (m != NULL)
		member_leave(q->rq_b, m);
	if (r->cr_forget && store_membership_remove(q->rq_b->b_store,
	    q->rq_cc->cc_id.ci_user, r->cr_room) == -1) {
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
		return;
	}
	o = render_new("left", r->cr_id);
	render_str(o, "room", r->cr_room);
	reply_json(q, o);
}

static void
svc_send(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	const struct chat_req *r = q->rq_req;
	const struct chat_identity *id = &q->rq_cc->cc_id;
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

	if (store_message_append(b->b_store, &post, &ack) == -1) {
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
		return;
	}
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
	room_item(b, r->cr_room, ack.sa_seq, o);
	b->b_metrics.bm_messages++;
}

static void
svc_history(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct store_msglist list = { 0 };
	struct json_object *o;

	if (store_history(q->rq_b->b_store, r->cr_room,
	    r->cr_has_before ? r->cr_before : 0, (size_t)r->cr_limit,
	    &list) == -1) {
		store_msglist_free(&list);
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
		return;
	}
	o = render_new("history", r->cr_id);
	render_str(o, "room", r->cr_room);
	json_object_object_add(o, "messages", render_messages(r->cr_room,
	    &list));
	json_object_object_add(o, "has_more",
	    json_object_new_boolean(list.ml_more));
	store_msglist_free(&list);
	reply_json(q, o);
}

static void
svc_typing(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	struct room_user *ru = q->rq_member->rm_user;
	uint64_t now = now_mono_ms();

	if (!q->rq_req->cr_active) {
		typing_stop(b, ru);
		return;
	}
	if (ru->ru_typing_stop == NULL) {
		ru->ru_ctx = b;
		ru->ru_typing_stop = evtimer_new(b->b_base, typing_timeout_cb,
		    ru);
	}
	event_add(ru->ru_typing_stop, &(struct timeval){ TYPING_TIMEOUT_S, 0 });
	ru->ru_typing = true;
	if (ru->ru_typing_sent_ms != 0 &&
	    now - ru->ru_typing_sent_ms < TYPING_THROTTLE_MS)
		return;
	ru->ru_typing_sent_ms = now;
	typing_event(b, ru, true);
}

static void
svc_read(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	const struct chat_req *r = q->rq_req;
	const char *user = q->rq_cc->cc_id.ci_user;
	int64_t before = 0, stored = 0;
	struct json_object *o;

	if (store_read_get(b->b_store, r->cr_room, user, &before) == -1 ||
	    store_read_set(b->b_store, r->cr_room, user, r->cr_seq,
	    &stored) == -1) {
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
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
	room_event(b, r->cr_room, q->rq_bc->bc_id, NULL, o);
}

/* Look up the target of edit/delete/react; replies on failure. */
static int
target_message(struct req_ctx *q, struct store_message *msg, bool author)
{
	const struct chat_identity *id = &q->rq_cc->cc_id;
	int rc = store_message_get(q->rq_b->b_store, q->rq_req->cr_room,
	    q->rq_req->cr_seq, msg);

	if (rc == -1) {
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
		return -1;
	}
	if (rc == STORE_NOTFOUND || msg->sm_deleted) {
		if (rc == 0)
			store_message_clear(msg);
		reply_error(q, "NOT_FOUND", "seq", "no message with that seq");
		return -1;
	}
	if (author && !id->ci_moderator &&
	    (msg->sm_kind != STORE_KIND_MESSAGE ||
	    strcmp(msg->sm_user, id->ci_user) != 0)) {
		store_message_clear(msg);
		reply_error(q, "FORBIDDEN", "seq",
		    "only the author or a moderator may do that");
		return -1;
	}
	return 0;
}

static void
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
		reply_error(q, "NOT_FOUND", "seq", "no message with that seq "
		    "(events cannot be edited)");
		return;
	}
	store_message_clear(&msg);
	if (store_message_edit(b->b_store, r->cr_room, r->cr_seq, r->cr_text,
	    now) != 0) {
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
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

static void
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
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
		return;
	}
	o = render_new("deleted", r->cr_id);
	render_str(o, "room", r->cr_room);
	render_int(o, "seq", r->cr_seq);
	render_str(o, "user", q->rq_cc->cc_id.ci_user);
	reply_and_tell_room(q, o);
}

static void
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
			reply_error(q, "NOT_FOUND", "seq",
			    "no message with that seq");
		else
			reply_error(q, "UNAVAILABLE", NULL,
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

static void
svc_search(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct store_msglist list = { 0 };
	struct json_object *o;
	int rc;

	rc = store_search(q->rq_b->b_store, r->cr_room, r->cr_q,
	    r->cr_has_before ? r->cr_before : 0, (size_t)r->cr_limit, &list);
	if (rc != 0) {
		store_msglist_free(&list);
		if (rc == STORE_BADQUERY)
			reply_error(q, "VALIDATION_ERROR", "q",
			    "the query has no words to search for");
		else
			reply_error(q, "UNAVAILABLE", NULL,
			    "database error; retry");
		return;
	}
	o = render_new("search_results", r->cr_id);
	render_str(o, "room", r->cr_room);
	json_object_object_add(o, "messages", render_messages(r->cr_room,
	    &list));
	store_msglist_free(&list);
	reply_json(q, o);
}

static void
svc_presence(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct json_object *o = render_new("presence", r->cr_id);

	render_str(o, "room", r->cr_room);
	json_object_object_add(o, "members", members_json(room_lookup(
	    &chat_state(q->rq_b)->cs_rooms, r->cr_room)));
	reply_json(q, o);
}

static void
svc_rooms(struct req_ctx *q)
{
	struct store_roomlist list = { 0 };
	struct json_object *o, *a;

	if (store_rooms_for_user(q->rq_b->b_store, q->rq_cc->cc_id.ci_user,
	    &list) == -1) {
		store_roomlist_free(&list);
		reply_error(q, "UNAVAILABLE", NULL, "database error; retry");
		return;
	}
	a = json_object_new_array_ext((int)list.rl_n);
	for (size_t i = 0; i < list.rl_n; i++) {
		struct json_object *e = json_object_new_object();

		render_str(e, "room", list.rl_rooms[i].ri_room);
		render_int(e, "last_seq", list.rl_rooms[i].ri_last_seq);
		render_int(e, "read_seq", list.rl_rooms[i].ri_read_seq);
		render_int(e, "unread", list.rl_rooms[i].ri_unread);
		json_object_array_add(a, e);
	}
	store_roomlist_free(&list);
	o = render_new("rooms", q->rq_req->cr_id);
	json_object_object_add(o, "rooms", a);
	reply_json(q, o);
}

/* Events from workers. */

static struct chat_conn *
chat_conn_get(struct bconn *bc)
{
	struct chat_conn *cc = bc->bc_chat;

	if (cc == NULL) {
		cc = xcalloc(1, sizeof(*cc));
		LIST_INIT(&cc->cc_rooms);
		bc->bc_chat = cc;
	}
	return cc;
}

/*
 * Send one connection the items of room after seq since (at most
 * recovery_limit), as live frames.  Returns the last seq sent (since if
 * none) or -1; *more: items were left out.
 */
static int64_t
deliver_since(struct broker *b, struct bconn *bc, const char *room,
    int64_t since, bool *more)
{
	struct store_msglist list = { 0 };
	int64_t last = since;

	*more = false;
	if (store_since(b->b_store, room, since,
	    (size_t)b->b_cfg->recovery_limit, &list) == -1) {
		store_msglist_free(&list);
		return -1;
	}
	for (size_t i = 0; i < list.ml_n; i++) {
		const struct store_message *m = &list.ml_msgs[i];
		struct json_object *o = render_message(m->sm_kind ==
		    STORE_KIND_EVENT ? "event" : "message", room, m);
		size_t len;
		char *json = render_finish(o, &len);

		deliver_reply(b, bc->bc_id, json, len, false);
		free(json);
		last = m->sm_seq;
	}
	*more = list.ml_more;
	store_msglist_free(&list);
	return last;
}

/* Offline delivery: what reached the personal room since the user last
 * read it, right after welcome (PROTOCOL.md 7). */
static void
deliver_personal_backlog(struct broker *b, struct bconn *bc,
    const struct chat_identity *id)
{
	char room[CHAT_MAX_ROOM + 1], epoch[STORE_ID_LEN];
	int64_t read_seq = 0, last_seq = 0, sent;
	bool more;

	snprintf(room, sizeof(room), "user:%s", id->ci_user);
	if (store_read_get(b->b_store, room, id->ci_user, &read_seq) == -1 ||
	    store_room_get(b->b_store, room, epoch, &last_seq) == -1 ||
	    (sent = deliver_since(b, bc, room, read_seq, &more)) == -1) {
		log_conn(LOG_LVL_WARN, bc->bc_id, "backlog",
		    "could not read the personal room");
		return;
	}
	/* Its worker resumes from here after a broker restart. */
	deliver_room_seq(b, bc->bc_id, room, more || sent > read_seq ? sent :
	    (last_seq > read_seq ? last_seq : read_seq));
}

int
service_on_auth(struct broker *b, struct bconn *bc, struct ipc_reader *r)
{
	uint8_t flags;
	struct chat_state *cs = chat_state(b);
	struct chat_identity id;
	struct chat_conn *cc;
	char room[CHAT_MAX_ROOM + 1];
	bool first;

	memset(&id, 0, sizeof(id));
	if (bc->bc_kind != IPC_CONN_CHAT || ipc_get_u8(r, &flags) == -1 ||
	    chat_identity_decode(r, &id) == -1)
		return -1;
	cc = chat_conn_get(bc);
	if (cc->cc_authed) {
		/* A refresh: same user, new claims. */
		if (strcmp(cc->cc_id.ci_user, id.ci_user) != 0) {
			chat_identity_free(&id);
			return -1;
		}
		chat_identity_free(&cc->cc_id);
		cc->cc_id = id;
		return 0;
	}
	/* One over max_conns_per_user: close the new one (its welcome is
	 * out already); a re-registration is counted, never refused. */
	if (quota_user_open(b->b_quota, b->b_cfg, id.ci_user,
	    bc->bc_resumed, now_mono_ms(), &cc->cc_quota) != QUOTA_OK) {
		log_conn(LOG_LVL_INFO, bc->bc_id, "conn_limit",
		    "user %s: too many connections", id.ci_user);
		chat_identity_free(&id);
		broker_kick(b, bc, "too many connections for this user");
		return 0;
	}
	cc->cc_id = id;
	cc->cc_authed = true;
	snprintf(room, sizeof(room), "user:%s", id.ci_user);
	batch_commit(b);
	room_join(&cs->cs_rooms, room, bc, &cc->cc_rooms, id.ci_user,
	    display_name(&id), &first);
	/* A connection re-registered after a broker restart had its backlog;
	 * IPC_CONN_ROOMS says how far it got. */
	if (!(flags & IPC_AUTH_F_BACKLOG_SENT))
		deliver_personal_backlog(b, bc, &cc->cc_id);
	return 0;
}

int
service_on_rooms(struct broker *b, struct bconn *bc, struct ipc_reader *r)
{
	struct chat_state *cs = chat_state(b);
	struct chat_conn *cc = bc->bc_chat;
	uint32_t n;

	if (cc == NULL || !cc->cc_authed || ipc_get_u32(r, &n) == -1 ||
	    n > MAX_ROOMS_PER_CONN)
		return -1;
	/* What it is sent next must come after what it missed. */
	batch_commit(b);
	for (uint32_t i = 0; i < n; i++) {
		char room[CHAT_MAX_ROOM + 1];
		int64_t seq, sent;
		bool first, more;

		if (ipc_get_strbuf(r, room, sizeof(room)) == -1 ||
		    ipc_get_i64(r, &seq) == -1 ||
		    !chat_room_valid(room, strlen(room)))
			return -1;
		if (!room_allowed(&cc->cc_id, b->b_cfg->default_room_policy ==
		    CFG_ROOMS_OPEN, room))
			continue;
		/* Rejoin silently: to the other members it never left. */
		if (room_member_find(&cc->cc_rooms, room) == NULL)
			room_join(&cs->cs_rooms, room, bc, &cc->cc_rooms,
			    cc->cc_id.ci_user, display_name(&cc->cc_id),
			    &first);
		/* Items committed while the old broker died unsent. */
		if ((sent = deliver_since(b, bc, room, seq, &more)) == -1)
			continue;
		if (more) {
			deliver_kick(b, bc->bc_id, 1001, "missed too much "
			    "during a restart: reconnect and recover");
			return 0;
		}
		if (sent > seq)
			deliver_room_seq(b, bc->bc_id, room, sent);
	}
	return ipc_end(r);
}

/*
 * The user's bucket for the request's class (PROTOCOL.md 5), shared by all
 * of the user's connections.  Refused: RATE_LIMIT with retry_after_ms, typing
 * included (as a plain frame, see REQ_NOREPLY), and nothing is done.  The
 * refusal that makes more than abuse_threshold in 10 s closes the
 * connection it came on with 4429; the user's other connections stay
 * until they too are refused while over the threshold.
 */
static bool
service_rate_ok(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	struct quota_user *qu = q->rq_cc->cc_quota;
	uint64_t retry;
	bool abuse;

	if (qu == NULL || quota_request(qu, b->b_cfg, q->rq_h->rh_class,
	    now_mono_ms(), &retry, &abuse))
		return true;
	b->b_metrics.bm_rate_limited++;
	reply_rate_limit(q, retry);
	if (abuse) {
		log_conn(LOG_LVL_INFO, q->rq_bc->bc_id, "rate_limit_abuse",
		    "user %s: over %d refusals in 10 s",
		    q->rq_cc->cc_id.ci_user, b->b_cfg->abuse_threshold);
		/* The error goes out before the close. */
		batch_commit(b);
		broker_kick(b, q->rq_bc, "rate limit abuse");
	}
	return false;
}

int
service_on_request(struct broker *b, struct bconn *bc, struct ipc_reader *r)
{
	struct chat_conn *cc = bc->bc_chat;
	const struct req_handler *h = NULL;
	struct chat_req req;
	struct req_ctx q;

	if (chat_req_decode(r, &req) == -1)
		return -1;
	memset(&q, 0, sizeof(q));
	q.rq_b = b;
	q.rq_bc = bc;
	q.rq_cc = cc;
	q.rq_req = &req;
	b->b_metrics.bm_requests++;
	for (size_t i = 0; i < sizeof(req_handlers) / sizeof(req_handlers[0]);
	    i++)
		if (req_handlers[i].rh_kind == req.cr_kind)
			h = &req_handlers[i];
	q.rq_h = h;
	if (cc == NULL || !cc->cc_authed) {
		reply_error(&q, "NOT_AUTHENTICATED", NULL, "authenticate first");
		goto done;
	}
	if (h == NULL) {
		reply_error(&q, "UNKNOWN_TYPE", "type", "unknown request");
		goto done;
	}
	if (!service_rate_ok(&q))
		goto done;
	if ((h->rh_flags & REQ_ALLOWED) && !room_allowed(&cc->cc_id,
	    b->b_cfg->default_room_policy == CFG_ROOMS_OPEN, req.cr_room)) {
		reply_error(&q, "FORBIDDEN", "room",
		    "your token does not allow this room");
		goto done;
	}
	if ((h->rh_flags & REQ_JOINED) && (q.rq_member = room_member_find(
	    &cc->cc_rooms, req.cr_room)) == NULL) {
		reply_error(&q, "NOT_IN_ROOM", "room",
		    "join the room on this connection first");
		goto done;
	}
	if (h->rh_flags & REQ_READS)
		batch_commit(b);
	if ((h->rh_flags & REQ_WRITES) && batch_write(b) == -1) {
		reply_error(&q, "UNAVAILABLE", NULL, "database error; retry");
		goto done;
	}
	h->rh_fn(&q);
	if (h->rh_flags & REQ_WRITES)
		batch_wrote(b);
done:
	chat_req_free(&req);
	return 0;
}

void
service_on_close(struct broker *b, struct bconn *bc)
{
	struct chat_conn *cc = bc->bc_chat;
	struct room_member *m;

	if (cc == NULL)
		return;
	if (cc->cc_quota != NULL)
		quota_user_close(b->b_quota, cc->cc_quota, now_mono_ms());
	cc->cc_quota = NULL;
	while ((m = LIST_FIRST(&cc->cc_rooms)) != NULL)
		member_leave(b, m);
	chat_identity_free(&cc->cc_id);
	free(cc);
	bc->bc_chat = NULL;
}

int
service_on_gone(struct broker *b, struct ipc_reader *r)
{
	struct chat_state *cs = chat_state(b);
	char user[CHAT_MAX_USER + 1], name[CHAT_MAX_NAME_BYTES + 1];
	uint32_t n;

	if (ipc_get_strbuf(r, user, sizeof(user)) == -1 ||
	    ipc_get_strbuf(r, name, sizeof(name)) == -1 ||
	    ipc_get_u32(r, &n) == -1 || n > MAX_ROOMS_PER_CONN)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct pending_leave *pl;
		char room[CHAT_MAX_ROOM + 1];

		if (ipc_get_strbuf(r, room, sizeof(room)) == -1)
			return -1;
		if (room_is_personal(room))
			continue;
		if (cs->cs_nleaves >= MAX_PENDING_LEAVES) {
			log_warnx("leaves_overflow", "dropping the leave of %s "
			    "in %s", user, room);
			continue;
		}
		pl = xcalloc(1, sizeof(*pl));
		memcpy(pl->pl_user, user, sizeof(user));
		memcpy(pl->pl_name, name, sizeof(name));
		memcpy(pl->pl_room, room, sizeof(room));
		STAILQ_INSERT_TAIL(&cs->cs_leaves, pl, pl_entry);
		cs->cs_nleaves++;
	}
	return ipc_end(r);
}

void
service_resynced(struct broker *b)
{
	struct chat_state *cs = chat_state(b);
	struct pending_leave *pl;

	for (int i = 1; i <= BROKER_MAX_WORKERS; i++)
		if (b->b_workers[i].bw_peer != NULL &&
		    !b->b_workers[i].bw_synced)
			return;
	while ((pl = STAILQ_FIRST(&cs->cs_leaves)) != NULL) {
		struct room *r = room_lookup(&cs->cs_rooms, pl->pl_room);

		STAILQ_REMOVE_HEAD(&cs->cs_leaves, pl_entry);
		cs->cs_nleaves--;
		/* Still here on another connection: no leave happened. */
		if (r != NULL && strmap_get(&r->r_users, pl->pl_user) == NULL) {
			struct json_object *o = render_new("presence", "");

			render_str(o, "room", pl->pl_room);
			render_str(o, "user", pl->pl_user);
			render_str(o, "name", pl->pl_name);
			render_str(o, "state", "leave");
			room_event(b, pl->pl_room, 0, NULL, o);
		}
		free(pl);
	}
}

/* Publishing (the HTTP API). */

int
service_publish(struct broker *b, const struct publish_req *p,
    struct publish_result *out)
{
	struct chat_state *cs = chat_state(b);
	struct store_post post = {
		.sp_room = p->pr_room,
		.sp_user = p->pr_user ? p->pr_user : "system",
		.sp_name = p->pr_name ? p->pr_name : "",
		.sp_text = p->pr_text,
		.sp_event = p->pr_event,
		.sp_data = p->pr_data ? p->pr_data : "null",
		.sp_ts = now_wall_ms(),
	};
	struct room *r = room_lookup(&cs->cs_rooms, p->pr_room);
	struct store_message msg;
	struct store_ack ack;
	struct json_object *o;
	int rc;

	memset(out, 0, sizeof(*out));
	out->pu_ts = post.sp_ts;
	/* A worker cannot keep up: refuse rather than queue without bound. */
	if (b->b_workers_paused) {
		log_warnx("publish_refused", "workers are congested");
		return -1;
	}
	if (p->pr_text == NULL && !p->pr_persist) {
		/* Live only: no seq, nothing stored. */
		o = render_new("event", "");
		render_str(o, "room", p->pr_room);
		render_str(o, "event", p->pr_event);
		json_object_object_add(o, "data", json_tokener_parse(
		    post.sp_data));
		render_ts(o, "ts", post.sp_ts);
		{
			size_t len;
			char *json = render_finish(o, &len);

			batch_commit(b);
			out->pu_delivered = deliver_room(b, r, 0, 0, NULL,
			    json, len);
			free(json);
		}
		b->b_metrics.bm_published++;
		return 0;
	}
	if (batch_write(b) == -1)
		return -1;
	rc = p->pr_text != NULL ? store_message_append(b->b_store, &post, &ack) :
	    store_event_append(b->b_store, &post, &ack);
	if (rc == -1) {
		batch_commit(b);
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	msg.sm_seq = ack.sa_seq;
	memcpy(msg.sm_msg_id, ack.sa_msg_id, sizeof(msg.sm_msg_id));
	msg.sm_kind = p->pr_text != NULL ? STORE_KIND_MESSAGE :
	    STORE_KIND_EVENT;
	msg.sm_user = (char *)post.sp_user;
	msg.sm_name = (char *)post.sp_name;
	msg.sm_text = (char *)p->pr_text;
	msg.sm_event = (char *)p->pr_event;
	msg.sm_data = (char *)post.sp_data;
	msg.sm_ts = ack.sa_ts;
	o = render_message(p->pr_text != NULL ? "message" : "event",
	    p->pr_room, &msg);
	room_item(b, p->pr_room, ack.sa_seq, o);
	out->pu_seq = ack.sa_seq;
	out->pu_ts = ack.sa_ts;
	if (p->pr_text != NULL)
		memcpy(out->pu_msg_id, ack.sa_msg_id, sizeof(out->pu_msg_id));
	out->pu_delivered = r != NULL ? r->r_nmembers : 0;
	b->b_metrics.bm_published++;
	/* The API answers only once the item is durable. */
	return batch_commit(b);
}

int
service_health(struct broker *b)
{
	return b->b_store != NULL && store_check(b->b_store) == 0 ? 0 : -1;
}

/* Life cycle. */

int
service_init(struct broker *b)
{
	struct chat_state *cs = xcalloc(1, sizeof(*cs));

	cs->cs_broker = b;
	room_table_init(&cs->cs_rooms);
	STAILQ_INIT(&cs->cs_leaves);
	b->b_chat = cs;
	return batch_init(b);
}

void
service_flush(struct broker *b)
{
	if (b->b_chat != NULL)
		batch_commit(b);
}

void
service_free(struct broker *b)
{
	struct chat_state *cs = b->b_chat;

	if (cs == NULL)
		return;
	batch_free(b);
	room_table_free(&cs->cs_rooms);
	{
		struct pending_leave *pl;

		while ((pl = STAILQ_FIRST(&cs->cs_leaves)) != NULL) {
			STAILQ_REMOVE_HEAD(&cs->cs_leaves, pl_entry);
			free(pl);
		}
	}
	for (int i = 0; i <= BROKER_MAX_WORKERS; i++)
		free(cs->cs_scratch[i].iv_ids);
	free(cs);
	b->b_chat = NULL;
}
