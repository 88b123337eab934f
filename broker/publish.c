/* publish.c: publishing into rooms from the HTTP API (POST /api/publish),
 * and the health check behind it. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "batch.h"
#include "bounds.h"
#include "chatstate.h"
#include "config.h"
#include "deliver.h"
#include "log.h"
#include "render.h"
#include "reply.h"
#include "room.h"
#include "service.h"
#include "service_int.h"
#include "state.h"
#include "store.h"
#include "util.h"

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
	bool new_room;
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
	/* A new room counts against max_rooms (bounds.c). */
	if ((rc = store_room_get(b->b_store, p->pr_room, NULL, NULL)) == -1)
		return -1;
	new_room = rc == STORE_NOTFOUND;
	if (new_room && bounds_new_room(b) != 0) {
		log_info("publish_refused", "room %s: max_rooms (%d) reached",
		    p->pr_room, b->b_cfg->max_rooms);
		return PUBLISH_LIMIT;
	}
	if (batch_write(b) == -1)
		return -1;
	rc = p->pr_text != NULL ? store_message_append(b->b_store, &post, &ack) :
	    store_event_append(b->b_store, &post, &ack);
	if (rc == -1) {
		batch_commit(b);
		return -1;
	}
	if (new_room)
		bounds_room_created(b);
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
	reply_room_item(b, p->pr_room, ack.sa_seq, o);
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
