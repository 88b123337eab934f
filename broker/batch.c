/* batch.c: group commit with a bounded delay and size (config [store]
 * commit_batch, commit_delay_ms); the outbox leaves through a sink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "batch.h"
#include "bounds.h"
#include "chatstate.h"
#include "config.h"
#include "deliver.h"
#include "log.h"
#include "state.h"
#include "store.h"
#include "util.h"

static void
batch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	batch_commit(arg);
}

/* The default sink: the workers, through deliver.c. */
static void
sink_deliver_reply(struct broker *b, uint64_t conn, const char *json,
    size_t len)
{
	deliver_reply(b, conn, json, len, true);
}

static void
sink_deliver_room(struct broker *b, const char *room, int64_t seq,
    uint64_t exclude_conn, const char *exclude_user, const char *json,
    size_t len)
{
	deliver_room(b, room_lookup(&b->b_chat->cs_rooms, room), seq,
	    exclude_conn, exclude_user, json, len);
}

static const struct batch_sink batch_deliver_sink = {
	.bs_reply = sink_deliver_reply,
	.bs_room = sink_deliver_room,
};

int
batch_init(struct broker *b)
{
	struct chat_state *cs = b->b_chat;

	STAILQ_INIT(&cs->cs_outbox);
	cs->cs_sink = &batch_deliver_sink;
	cs->cs_batch_timer = evtimer_new(b->b_base, batch_timer_cb, b);
	return cs->cs_batch_timer == NULL ? -1 : 0;
}

void
batch_set_sink(struct broker *b, const struct batch_sink *sink)
{
	b->b_chat->cs_sink = sink;
}

static void
outbox_item_free(struct outbox_item *ob)
{
	free(ob->ob_json);
	free(ob->ob_fail_json);
	free(ob->ob_exclude_user);
	free(ob);
}

void
batch_free(struct broker *b)
{
	struct chat_state *cs = b->b_chat;
	struct outbox_item *ob;

	batch_commit(b);
	while ((ob = STAILQ_FIRST(&cs->cs_outbox)) != NULL) {
		STAILQ_REMOVE_HEAD(&cs->cs_outbox, ob_entry);
		outbox_item_free(ob);
	}
	if (cs->cs_batch_timer != NULL)
		event_free(cs->cs_batch_timer);
}

int
batch_write(struct broker *b)
{
	struct chat_state *cs = b->b_chat;
	int delay = b->b_cfg->commit_delay_ms;

	if (cs->cs_batch_open) {
		cs->cs_in_write = true;
		return 0;
	}
	if (store_begin(b->b_store) == -1)
		return -1;
	cs->cs_in_write = true;
	cs->cs_batch_open = true;
	cs->cs_batch_writes = 0;
	event_add(cs->cs_batch_timer,
	    &(struct timeval){ delay / 1000, (delay % 1000) * 1000 });
	return 0;
}

void
batch_wrote(struct broker *b)
{
	struct chat_state *cs = b->b_chat;

	cs->cs_in_write = false;
	if (++cs->cs_batch_writes >= b->b_cfg->commit_batch)
		batch_commit(b);
}

static void
batch_send(struct broker *b, struct outbox_item *ob, bool committed)
{
	const struct batch_sink *sink = b->b_chat->cs_sink;

	if (!ob->ob_to_room) {
		if (committed && ob->ob_json != NULL)
			sink->bs_reply(b, ob->ob_conn, ob->ob_json,
			    ob->ob_len);
		else if (!committed && ob->ob_fail_json != NULL)
			sink->bs_reply(b, ob->ob_conn, ob->ob_fail_json,
			    ob->ob_fail_len);
		else if (!committed)
			/* Not a write's answer (an error, a read): still true. */
			sink->bs_reply(b, ob->ob_conn, ob->ob_json,
			    ob->ob_len);
		return;
	}
	/* Presence and typing queued meanwhile are still true. */
	if (committed || !ob->ob_write)
		sink->bs_room(b, ob->ob_room, ob->ob_seq, ob->ob_conn,
		    ob->ob_exclude_user, ob->ob_json, ob->ob_len);
}

static bool
cs_in_write_now(struct broker *b)
{
	return b->b_chat->cs_in_write;
}

static void
batch_enqueue(struct broker *b, struct outbox_item *ob)
{
	struct chat_state *cs = b->b_chat;

	if (!cs->cs_batch_open) {
		batch_send(b, ob, true);
		outbox_item_free(ob);
		return;
	}
	STAILQ_INSERT_TAIL(&cs->cs_outbox, ob, ob_entry);
}

void
batch_reply(struct broker *b, uint64_t conn, char *json, size_t len,
    char *fail_json, size_t fail_len)
{
	struct outbox_item *ob = xcalloc(1, sizeof(*ob));

	ob->ob_conn = conn;
	ob->ob_json = json;
	ob->ob_len = len;
	ob->ob_fail_json = fail_json;
	ob->ob_fail_len = fail_len;
	batch_enqueue(b, ob);
}

void
batch_room(struct broker *b, const char *room, int64_t seq,
    uint64_t exclude_conn, const char *exclude_user, char *json, size_t len)
{
	struct outbox_item *ob = xcalloc(1, sizeof(*ob));

	ob->ob_seq = seq;
	ob->ob_to_room = true;
	ob->ob_write = cs_in_write_now(b);
	ob->ob_conn = exclude_conn;
	ob->ob_exclude_user = exclude_user ? xstrdup(exclude_user) : NULL;
	snprintf(ob->ob_room, sizeof(ob->ob_room), "%s", room);
	ob->ob_json = json;
	ob->ob_len = len;
	batch_enqueue(b, ob);
}

int
batch_commit(struct broker *b)
{
	struct chat_state *cs = b->b_chat;
	struct outbox_item *ob;
	bool committed = true;

	if (!cs->cs_batch_open)
		return 0;
	event_del(cs->cs_batch_timer);
	cs->cs_batch_open = false;
	cs->cs_in_write = false;
	if (store_commit(b->b_store) == -1) {
		log_warnx("commit_failed", "rolling back %d writes",
		    cs->cs_batch_writes);
		store_rollback(b->b_store);
		b->b_metrics.bm_commit_failures++;
		/* Rooms the batch created are gone again: count anew. */
		if (bounds_init(b) == -1)
			log_warnx("commit_failed", "rooms not recounted");
		committed = false;
	} else
		b->b_metrics.bm_commits++;
	/* In order: acks and broadcasts leave in the order of their writes,
	 * so every room's messages reach every member in seq order. */
	while ((ob = STAILQ_FIRST(&cs->cs_outbox)) != NULL) {
		STAILQ_REMOVE_HEAD(&cs->cs_outbox, ob_entry);
		batch_send(b, ob, committed);
		outbox_item_free(ob);
	}
	return committed ? 0 : -1;
}
