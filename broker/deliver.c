/* deliver.c: fan-out from the broker to the workers, and the catch-up a
 * re-registered connection is sent after a broker restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatstate.h"
#include "config.h"
#include "deliver.h"
#include "ipc.h"
#include "ipc_batch.h"
#include "log.h"
#include "peer.h"
#include "registry.h"
#include "render.h"
#include "room.h"
#include "service_int.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "ws_close.h"

/* Ids per room item: keeps one item well under IPC_MAX_PAYLOAD. */
#define DELIVER_MAX_IDS		65536

/* Replies and broadcasts are items of the worker's pending IPC_DELIVER
 * batch (registry.c sends it at the end of the loop pass, or before
 * anything else to that worker), so they reach it in the order made. */
int
deliver_reply(struct broker *b, uint64_t conn_id, const char *json,
    size_t len, bool response)
{
	struct bconn *bc = registry_conn(b, conn_id);
	struct ipc_batch *ib;

	if (bc == NULL || (ib = registry_batch(b, bc->bc_worker,
	    IPC_ITEM_REPLY_FIXED + len)) == NULL)
		return -1;
	ipc_batch_add_reply(ib, conn_id, response ? IPC_ITEM_F_RESPONSE : 0,
	    json, len);
	b->b_metrics.bm_deliveries++;
	return 0;
}

static void
deliver_flush(struct broker *b, struct bworker *bw, const char *room,
    int64_t seq, const uint64_t *ids, size_t n, const char *json, size_t len)
{
	struct ipc_batch *ib = registry_batch(b, bw, IPC_ITEM_ROOM_FIXED +
	    strlen(room) + n * sizeof(*ids) + len);

	if (ib == NULL) {
		log_warnx("deliver", "%s: could not queue a delivery to %zu "
		    "connections", bw->bw_name, n);
		return;
	}
	ipc_batch_add_room(ib, room, seq, ids, n, json, len);
}

size_t
deliver_room(struct broker *b, struct room *r, int64_t seq,
    uint64_t exclude_conn, const char *exclude_user, const char *json,
    size_t len)
{
	struct chat_state *cs = b->b_chat;
	struct room_member *m;
	size_t total = 0;

	if (r == NULL)
		return 0;
	/* Group the targets by worker, reusing per-worker scratch arrays. */
	LIST_FOREACH(m, &r->r_members, rm_in_room) {
		struct bconn *bc = m->rm_conn;
		struct id_vec *v;

		if (bc->bc_id == exclude_conn || (exclude_user != NULL &&
		    strcmp(m->rm_user->ru_user, exclude_user) == 0))
			continue;
		/* Its join is being read: after the reply, in order. */
		if (m->rm_hold != NULL) {
			svc_hold_add(b, m->rm_hold, seq, json, len);
			continue;
		}
		v = &cs->cs_scratch[bc->bc_worker->bw_slot];
		if (v->iv_n == v->iv_cap) {
			v->iv_cap = v->iv_cap ? v->iv_cap * 2 : 64;
			v->iv_ids = xreallocarray(v->iv_ids, v->iv_cap,
			    sizeof(*v->iv_ids));
		}
		v->iv_ids[v->iv_n++] = bc->bc_id;
		if (v->iv_n == DELIVER_MAX_IDS) {
			deliver_flush(b, bc->bc_worker, r->r_name, seq,
			    v->iv_ids, v->iv_n, json, len);
			total += v->iv_n;
			v->iv_n = 0;
		}
	}
	for (int i = 1; i <= CFG_MAX_WORKERS; i++) {
		struct id_vec *v = &cs->cs_scratch[i];

		if (v->iv_n == 0)
			continue;
		deliver_flush(b, &b->b_workers[i], r->r_name, seq, v->iv_ids,
		    v->iv_n, json, len);
		total += v->iv_n;
		v->iv_n = 0;
	}
	b->b_metrics.bm_deliveries += total;
	return total;
}

void
deliver_room_one(struct broker *b, uint64_t conn_id, const char *room,
    int64_t seq, const char *json, size_t len)
{
	struct bconn *bc = registry_conn(b, conn_id);

	if (bc == NULL)
		return;
	deliver_flush(b, bc->bc_worker, room, seq, &conn_id, 1, json, len);
	b->b_metrics.bm_deliveries++;
}

void
deliver_room_seq(struct broker *b, uint64_t conn_id, const char *room,
    int64_t seq)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_ROOM_SEQ, conn_id);
	ipc_add_str(&m, room);
	ipc_add_i64(&m, seq);
	registry_send_conn(b, conn_id, &m);
}

void
deliver_room_left(struct broker *b, uint64_t conn_id, const char *room)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_ROOM_LEFT, conn_id);
	ipc_add_str(&m, room);
	registry_send_conn(b, conn_id, &m);
}

/* Close a client connection with code and ignore what it sends until its
 * worker reports it closed.  Once per connection. */
void
deliver_close(struct broker *b, struct bconn *bc, uint16_t code,
    const char *reason)
{
	if (bc->bc_kicked)
		return;
	bc->bc_kicked = true;
	/* parley_limit_kicks_total counts the limits' closes only. */
	if (code == WS_CLOSE_TOO_MANY)
		b->b_metrics.bm_kicked++;
	deliver_kick(b, bc->bc_id, code, reason);
}

void
deliver_kick(struct broker *b, uint64_t conn_id, uint16_t code,
    const char *reason)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_KICK, conn_id);
	ipc_add_u16(&m, code);
	ipc_add_str(&m, reason);
	registry_send_conn(b, conn_id, &m);
}

/*
 * Send one connection the items of room after seq since (at most
 * recovery_limit, and at most the reply budget of bytes), as live frames.
 * Returns the last seq sent (since if none) or -1; *more: items were left
 * out.  Only for a re-registration after a broker restart.
 */
int64_t
deliver_since(struct broker *b, struct bconn *bc, const char *room,
    int64_t since, bool *more)
{
	struct store_msglist list = { 0 };
	size_t used = 0, budget = cfg_reply_budget(b->b_cfg);
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

		if (i > 0 && used + len > budget) {
			free(json);
			*more = true;
			break;
		}
		used += len;
		deliver_reply(b, bc->bc_id, json, len, false);
		free(json);
		last = m->sm_seq;
	}
	*more = *more || list.ml_more;
	store_msglist_free(&list);
	return last;
}
