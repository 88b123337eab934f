/* batch.c: group commit with a bounded delay and size (config [store]
 * commit_batch, commit_delay_ms); the outbox leaves through a sink; the
 * upkeep that follows commits (search indexing) in bounded slices. */
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
#include "render.h"
#include "state.h"
#include "store.h"
#include "util.h"

/* Rows one upkeep slice indexes: a few milliseconds of the loop at most,
 * so acks never wait long behind it. */
#define INDEX_SLICE_ROWS	256
/* After a failed slice (the database is in trouble: writes will say so),
 * the next try. */
#define UPKEEP_RETRY_MS		1000

static void
batch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	batch_commit(arg);
}

static void
upkeep_at(struct broker *b, int ms)
{
	event_add(b->b_chat->cs_upkeep_timer,
	    &(struct timeval){ ms / 1000, (ms % 1000) * 1000 });
}

/*
 * One slice of upkeep.  Its timer has no delay: it runs in the next loop
 * pass, after the requests that pass reads, so under load slices and
 * requests take turns.  Under load a batch is nearly always open by then:
 * the slice is then one more write of it (committed with it), else its
 * own transaction.
 */
static void
upkeep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	struct chat_state *cs = b->b_chat;
	int64_t lag;

	if (store_index_step(b->b_store, INDEX_SLICE_ROWS, &lag) == -1) {
		upkeep_at(b, UPKEEP_RETRY_MS);
		return;
	}
	cs->cs_index_lag = lag;
	if (lag > 0)
		upkeep_at(b, 0);
}

int64_t
batch_index_lag(const struct broker *b)
{
	return b->b_chat != NULL ? b->b_chat->cs_index_lag : 0;
}

/* Starts the upkeep unless it is already due. */
static void
upkeep_kick(struct broker *b)
{
	if (!evtimer_pending(b->b_chat->cs_upkeep_timer, NULL))
		upkeep_at(b, 0);
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
	cs->cs_upkeep_timer = evtimer_new(b->b_base, upkeep_cb, b);
	if (cs->cs_batch_timer == NULL || cs->cs_upkeep_timer == NULL)
		return -1;
	/* Whatever a previous run left unindexed. */
	upkeep_kick(b);
	return 0;
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
	if (cs->cs_upkeep_timer != NULL)
		event_free(cs->cs_upkeep_timer);
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
	char *nack;
	size_t nack_len;

	if (!ob->ob_to_room) {
		if (!committed && ob->ob_nack) {
			nack = render_error(ob->ob_fail_id, PERR_UNAVAILABLE,
			    NULL, "the write was not committed; retry",
			    &nack_len);
			sink->bs_reply(b, ob->ob_conn, nack, nack_len);
			free(nack);
		} else if (ob->ob_json != NULL)
			/* After a rollback a reply that is not a write's
			 * answer (an error, a read) is still true. */
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
    const char *fail_id)
{
	struct outbox_item *ob = xcalloc(1, sizeof(*ob));

	ob->ob_conn = conn;
	ob->ob_json = json;
	ob->ob_len = len;
	if (fail_id != NULL) {
		ob->ob_nack = true;
		snprintf(ob->ob_fail_id, sizeof(ob->ob_fail_id), "%s",
		    fail_id);
	}
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
	upkeep_kick(b);
	return committed ? 0 : -1;
}
