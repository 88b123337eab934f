/*
 * service.c: the broker's chat service.  Identities arrive verified from
 * the workers (IPC_CONN_AUTH), requests arrive typed (IPC_CLIENT_REQ) and
 * go through one dispatch table whose flags say what each kind needs:
 * a join on this connection, the room ACL, a committed view of the
 * database, or a place in the current write batch.  The handlers live in
 * svc_room.c and svc_message.c, their answers are built by reply.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "batch.h"
#include "chatstate.h"
#include "config.h"
#include "deliver.h"
#include "ipc.h"
#include "log.h"
#include "quota.h"
#include "registry.h"
#include "render.h"
#include "reply.h"
#include "room.h"
#include "service.h"
#include "service_int.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "ws_close.h"

static const struct req_handler req_handlers[] = {
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
	{ CHAT_REQ_READ,	REQ_ALLOWED | REQ_WRITES,	QUOTA_READ,
	    svc_read },
	{ CHAT_REQ_EDIT,	REQ_JOINED | REQ_WRITES,	QUOTA_SEND,
	    svc_edit },
	{ CHAT_REQ_DELETE,	REQ_JOINED | REQ_WRITES,	QUOTA_SEND,
	    svc_delete },
	{ CHAT_REQ_REACT,	REQ_JOINED | REQ_WRITES,	QUOTA_SEND,
	    svc_react },
	{ CHAT_REQ_SEARCH,	REQ_ALLOWED | REQ_READS,	QUOTA_QUERY,
	    svc_search },
	{ CHAT_REQ_PRESENCE,	REQ_ALLOWED,			QUOTA_LIST,
	    svc_presence },
	{ CHAT_REQ_ROOMS,	REQ_READS,			QUOTA_LIST,
	    svc_rooms },
};

/* Events from workers. */

static struct chat_conn *
chat_conn_get(struct bconn *bc)
{
	struct chat_conn *cc = bc->bc_chat;

	if (cc == NULL) {
		cc = xcalloc(1, sizeof(*cc));
		SLIST_INIT(&cc->cc_rooms);
		bc->bc_chat = cc;
	}
	return cc;
}

int
service_on_auth(struct broker *b, struct bconn *bc, struct ipc_reader *r)
{
	uint8_t flags;
	struct chat_state *cs = chat_state(b);
	struct chat_identity id;
	struct chat_conn *cc;
	struct room_member *pm;
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
		conn_identity_take(&cs->cs_rooms, &cc->cc_id, &id);
		/* Presence and typing show the newest display name; a room
		 * the new token no longer allows ends the connection with
		 * 4403 (PROTOCOL.md 3: "no longer allowed"). */
		{
			struct room_member *m;

			SLIST_FOREACH(m, &cc->cc_rooms, rm_in_conn) {
				room_user_set_name(&cs->cs_rooms, m->rm_user,
				    display_name(&cc->cc_id));
				if (!room_allowed(&cc->cc_id,
				    b->b_cfg->default_room_policy ==
				    CFG_ROOMS_OPEN, m->rm_room->r_name)) {
					deliver_close(b, bc, WS_CLOSE_FORBIDDEN,
					    "no longer allowed in a joined room");
					break;
				}
			}
		}
		return 0;
	}
	/* One over max_conns_per_user: close the new one with 4429 before
	 * its welcome (the worker waits for IPC_AUTH_OK).  A re-registration
	 * of a connection a broker already welcomed is counted, never
	 * refused. */
	if (quota_user_open(b->b_quota, b->b_cfg, id.ci_user,
	    bc->bc_resumed && (flags & IPC_AUTH_F_WELCOMED), now_mono_ms(),
	    &cc->cc_quota) != QUOTA_OK) {
		log_conn(LOG_LVL_INFO, bc->bc_id, "conn_limit",
		    "user %s: too many connections", id.ci_user);
		chat_identity_free(&id);
		deliver_close(b, bc, WS_CLOSE_TOO_MANY,
		    "too many connections for this user");
		return 0;
	}
	conn_identity_take(&cs->cs_rooms, &cc->cc_id, &id);
	cc->cc_authed = true;
	/* The welcome goes out before anything the broker sends next. */
	{
		struct ipc_msg m;

		ipc_msg_init(&m, IPC_AUTH_OK, bc->bc_id);
		registry_send(b, bc->bc_worker, &m);
	}
	snprintf(room, sizeof(room), "user:%s", cc->cc_id.ci_user);
	batch_commit(b);
	pm = room_join(&cs->cs_rooms, room, bc, &cc->cc_rooms,
	    cc->cc_id.ci_user, display_name(&cc->cc_id), &first);
	/* Offline delivery (PROTOCOL.md 7), read off the loop.  A connection
	 * re-registered after a broker restart had its backlog;
	 * IPC_CONN_ROOMS says how far it got. */
	if (!(flags & IPC_AUTH_F_BACKLOG_SENT))
		svc_read_backlog(b, bc, pm);
	return 0;
}

int
service_on_rooms(struct broker *b, struct bconn *bc, struct ipc_reader *r)
{
	struct chat_state *cs = chat_state(b);
	struct chat_conn *cc = bc->bc_chat;
	uint32_t n;

	if (cc == NULL || !cc->cc_authed || ipc_get_u32(r, &n) == -1 ||
	    n > CHAT_MAX_ROOMS_PER_CONN)
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
			deliver_close(b, bc, WS_CLOSE_GOING_AWAY, "missed too "
			    "much during a restart: reconnect and recover");
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
		deliver_close(b, q->rq_bc, WS_CLOSE_TOO_MANY, "rate limit abuse");
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
		reply_error(&q, PERR_NOT_AUTHENTICATED, NULL, "authenticate first");
		goto done;
	}
	if (h == NULL) {
		reply_error(&q, PERR_UNKNOWN_TYPE, "type", "unknown request");
		goto done;
	}
	if (!service_rate_ok(&q))
		goto done;
	if ((h->rh_flags & REQ_ALLOWED) && !room_allowed(&cc->cc_id,
	    b->b_cfg->default_room_policy == CFG_ROOMS_OPEN, req.cr_room)) {
		reply_error(&q, PERR_FORBIDDEN, "room",
		    "your token does not allow this room");
		goto done;
	}
	if ((h->rh_flags & REQ_JOINED) && (q.rq_member = room_member_find(
	    &cc->cc_rooms, req.cr_room)) == NULL) {
		reply_error(&q, PERR_NOT_IN_ROOM, "room",
		    "join the room on this connection first");
		goto done;
	}
	if (h->rh_flags & REQ_READS)
		batch_commit(b);
	if ((h->rh_flags & REQ_WRITES) && batch_write(b) == -1) {
		reply_error(&q, PERR_UNAVAILABLE, NULL, "database error; retry");
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
	while ((m = SLIST_FIRST(&cc->cc_rooms)) != NULL)
		svc_member_leave(b, m);
	conn_identity_clear(&chat_state(b)->cs_rooms, &cc->cc_id);
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
	    ipc_get_u32(r, &n) == -1 || n > CHAT_MAX_ROOMS_PER_CONN)
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

	for (int i = 1; i <= CFG_MAX_WORKERS; i++)
		if (b->b_workers[i].bw_peer != NULL &&
		    !b->b_workers[i].bw_synced)
			return;
	while ((pl = STAILQ_FIRST(&cs->cs_leaves)) != NULL) {
		struct room *r = room_lookup(&cs->cs_rooms, pl->pl_room);

		STAILQ_REMOVE_HEAD(&cs->cs_leaves, pl_entry);
		cs->cs_nleaves--;
		/* Still here on another connection: no leave happened. */
		if (r != NULL &&
		    room_user_find(&cs->cs_rooms, r, pl->pl_user) == NULL) {
			struct json_object *o = render_new("presence", "");

			render_str(o, "room", pl->pl_room);
			render_str(o, "user", pl->pl_user);
			render_str(o, "name", pl->pl_name);
			render_str(o, "state", "leave");
			reply_room_event(b, pl->pl_room, 0, NULL, o);
		}
		free(pl);
	}
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
	for (int i = 0; i <= CFG_MAX_WORKERS; i++)
		free(cs->cs_scratch[i].iv_ids);
	free(cs);
	b->b_chat = NULL;
}
