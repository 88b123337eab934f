/* svc_room.c: the chat service's room requests (join, leave, presence,
 * rooms, typing) and the presence and typing events they cause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "bounds.h"
#include "chatstate.h"
#include "config.h"
#include "deliver.h"
#include "log.h"
#include "render.h"
#include "reply.h"
#include "room.h"
#include "service_int.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define TYPING_THROTTLE_MS	2000	/* one active:true per user and room */
#define TYPING_TIMEOUT_S	6	/* then the server sends active:false */

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
	reply_room_event(b, room, exclude_conn, NULL, o);
}

static void
typing_event(struct broker *b, struct room_user *ru, bool active)
{
	struct json_object *o = render_new("typing", "");

	render_str(o, "room", ru->ru_room->r_name);
	render_str(o, "user", ru->ru_user);
	render_str(o, "name", ru->ru_name);
	json_object_object_add(o, "active", json_object_new_boolean(active));
	reply_room_event(b, ru->ru_room->r_name, 0, ru->ru_user, o);
}

static void
typing_stop(struct broker *b, struct room_user *ru)
{
	struct room_typing *rt = ru->ru_typing;

	if (rt == NULL)
		return;
	event_del(rt->rt_stop);
	if (!rt->rt_typing)
		return;
	rt->rt_typing = false;
	rt->rt_sent_ms = 0;
	typing_event(b, ru, false);
}

static void
typing_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct room_user *ru = arg;

	typing_stop(ru->ru_typing->rt_ctx, ru);
}

static void
typing_free(struct room_user *ru)
{
	if (ru->ru_typing == NULL)
		return;
	event_free(ru->ru_typing->rt_stop);
	free(ru->ru_typing);
	ru->ru_typing = NULL;
}

/* Take one connection out of one room, with the events that follow. */
void
svc_member_leave(struct broker *b, struct room_member *m)
{
	struct chat_state *cs = chat_state(b);
	struct chat_conn *cc = m->rm_conn->bc_chat;
	uint64_t conn = m->rm_conn->bc_id;
	char room[CHAT_MAX_ROOM + 1];
	struct room_user *ru;

	snprintf(room, sizeof(room), "%s", m->rm_room->r_name);
	/* A join still being read: its job finds no hold and is dropped. */
	svc_hold_free(m->rm_hold);
	m->rm_hold = NULL;
	if ((ru = room_leave(&cs->cs_rooms, &cc->cc_rooms, m)) == NULL)
		return;
	/* It was the user's last connection in the room. */
	typing_stop(b, ru);
	presence_event(b, room, ru, conn, "leave");
	typing_free(ru);
	room_user_release(&cs->cs_rooms, ru);
}

/* [{user, name, connections}] of the users with a live connection. */
struct json_object *
svc_members_json(struct room *r)
{
	struct json_object *a = json_object_new_array();
	void *val;

	if (r == NULL)
		return a;
	for (size_t pos = 0; idmap_next(&r->r_users, &pos, NULL, &val);) {
		struct room_user *ru = val;
		struct json_object *o = json_object_new_object();

		render_str(o, "user", ru->ru_user);
		render_str(o, "name", ru->ru_name);
		render_int(o, "connections", ru->ru_conns);
		json_object_array_add(a, o);
	}
	return a;
}

static size_t
conn_room_count(const struct chat_conn *cc)
{
	const struct room_member *m;
	size_t n = 0;

	SLIST_FOREACH(m, &cc->cc_rooms, rm_in_conn)
		n++;
	return n;
}

/*
 * The room and the membership are written here, on the loop; the member
 * enters the room at once and holds its items while the history, the
 * marker and the recovery are read on a reader thread (svc_read.c), which
 * answers `joined`.
 */
void
svc_join(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	struct chat_state *cs = chat_state(b);
	const struct chat_req *r = q->rq_req;
	const char *user = q->rq_cc->cc_id.ci_user;
	struct room_member *m = room_member_find(&q->rq_cc->cc_rooms,
	    r->cr_room);
	char epoch[STORE_ID_LEN];
	int64_t last_seq;
	bool first, made = false, new_member = false;
	const char *limit;
	int rc, brc;

	if (m == NULL && conn_room_count(q->rq_cc) >= CHAT_MAX_ROOMS_PER_CONN) {
		reply_error(q, PERR_VALIDATION_ERROR, "room",
		    "too many rooms on one connection");
		return;
	}
	if (svc_read_refused(q))
		return;
	rc = store_room_get(b->b_store, r->cr_room, epoch, &last_seq);
	if (rc == -1)
		goto unavailable;
	/* Bounds on growth (bounds.c): checked before anything is created,
	 * also when this connection is in the room already: its personal
	 * room (joined at login, maybe no room in the database yet), or a
	 * room another connection forgot, is listed again like any. */
	brc = bounds_join(b, q->rq_cc->cc_quota, user, r->cr_room, rc == 0,
	    &new_member, &limit);
	if (brc == -1)
		goto unavailable;
	if (brc == 1) {
		reply_limit_exceeded(q, limit);
		return;
	}
	if (rc == STORE_NOTFOUND &&
	    (rc = store_room_create(b->b_store, r->cr_room, epoch)) == 0)
		bounds_room_created(b);
	/* A listed room (bounds_join looked) needs no membership write. */
	if (rc == -1 || (new_member &&
	    store_membership_add(b->b_store, user, r->cr_room) == -1))
		goto unavailable;
	if (new_member)
		bounds_member_added(q->rq_cc->cc_quota);
	if (m == NULL) {
		m = room_join(&cs->cs_rooms, r->cr_room, q->rq_bc,
		    &q->rq_cc->cc_rooms, user, display_name(&q->rq_cc->cc_id),
		    &first);
		made = true;
		if (first)
			presence_event(b, r->cr_room, m->rm_user,
			    q->rq_bc->bc_id, "join");
	}
	svc_read_join(q, m, made);
	return;
unavailable:
	reply_error(q, PERR_UNAVAILABLE, NULL, "database error; retry");
}

void
svc_leave(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct room_member *m = room_member_find(&q->rq_cc->cc_rooms,
	    r->cr_room);
	struct json_object *o;

	if (m == NULL && !r->cr_forget) {
		reply_error(q, PERR_NOT_IN_ROOM, "room",
		    "this connection has not joined that room");
		return;
	}
	if (m != NULL) {
		svc_member_leave(q->rq_b, m);
		/* Its worker stops re-registering it there. */
		deliver_room_left(q->rq_b, q->rq_bc->bc_id, r->cr_room);
	}
	if (r->cr_forget) {
		int rc = store_membership_remove(q->rq_b->b_store,
		    q->rq_cc->cc_id.ci_user, r->cr_room);

		if (rc == -1) {
			reply_error(q, PERR_UNAVAILABLE, NULL,
			    "database error; retry");
			return;
		}
		if (rc == 0)
			bounds_forgot(q->rq_cc->cc_quota);
	}
	o = render_new("left", r->cr_id);
	render_str(o, "room", r->cr_room);
	reply_json(q, o);
}

void
svc_typing(struct req_ctx *q)
{
	struct broker *b = q->rq_b;
	struct room_user *ru = q->rq_member->rm_user;
	struct room_typing *rt;
	uint64_t now = now_mono_ms();

	if (!q->rq_req->cr_active) {
		typing_stop(b, ru);
		return;
	}
	if ((rt = ru->ru_typing) == NULL) {
		rt = ru->ru_typing = xcalloc(1, sizeof(*rt));
		rt->rt_ctx = b;
		if ((rt->rt_stop = evtimer_new(b->b_base, typing_timeout_cb,
		    ru)) == NULL)
			fatalx("libevent", "evtimer_new failed");
	}
	event_add(rt->rt_stop, &(struct timeval){ TYPING_TIMEOUT_S, 0 });
	rt->rt_typing = true;
	if (rt->rt_sent_ms != 0 && now - rt->rt_sent_ms < TYPING_THROTTLE_MS)
		return;
	rt->rt_sent_ms = now;
	typing_event(b, ru, true);
}

void
svc_presence(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct json_object *o = render_new("presence", r->cr_id);

	render_str(o, "room", r->cr_room);
	json_object_object_add(o, "members", svc_members_json(room_lookup(
	    &chat_state(q->rq_b)->cs_rooms, r->cr_room)));
	reply_json(q, o);
}

void
svc_rooms(struct req_ctx *q)
{
	svc_read_rooms(q);
}
