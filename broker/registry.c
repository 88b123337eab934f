/*
 * registry.c: the broker's live client connections, as their workers
 * registered them (one idmap per worker, keyed by connection id), and the
 * links to those workers.  What a connection means to the chat service is
 * service.c's; what a worker link does is broker.c's.  This file only
 * keeps them and finds them, and sends to the workers: every message to
 * a worker goes through registry_send, which first sends that worker's
 * pending IPC_DELIVER batch, so the worker gets everything in order.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "config.h"
#include "idmap.h"
#include "ipc.h"
#include "ipc_batch.h"
#include "log.h"
#include "peer.h"
#include "registry.h"
#include "state.h"

/* A batch is sent once it holds this much (an item larger goes alone);
 * IPC_MAX_PAYLOAD is the hard limit. */
#define REGISTRY_BATCH_CAP	(1024u * 1024)

void
registry_worker_init(struct bworker *bw)
{
	idmap_init(&bw->bw_conns);
}

void
registry_worker_free(struct bworker *bw)
{
	idmap_free(&bw->bw_conns);
}

struct bconn *
registry_conn(struct broker *b, uint64_t conn_id)
{
	unsigned slot = (unsigned)(conn_id >> 56);

	if (slot < 1 || slot > CFG_MAX_WORKERS)
		return NULL;
	return idmap_get(&b->b_workers[slot].bw_conns, conn_id);
}

struct bconn *
registry_find(struct bworker *bw, uint64_t conn_id)
{
	return idmap_get(&bw->bw_conns, conn_id);
}

void
registry_add(struct bworker *bw, struct bconn *bc)
{
	idmap_put(&bw->bw_conns, bc->bc_id, bc);
}

struct bconn *
registry_remove(struct bworker *bw, uint64_t conn_id)
{
	return idmap_del(&bw->bw_conns, conn_id);
}

void
registry_drop_all(struct bworker *bw, void (*fn)(struct bconn *, void *),
    void *arg)
{
	struct idmap old = bw->bw_conns;
	void *bc;

	idmap_init(&bw->bw_conns);
	for (size_t pos = 0; idmap_next(&old, &pos, NULL, &bc);)
		fn(bc, arg);
	idmap_free(&old);
}

size_t
registry_count(const struct bworker *bw)
{
	return idmap_count(&bw->bw_conns);
}

size_t
registry_total(const struct broker *b)
{
	size_t n = 0;

	for (int i = 1; i <= CFG_MAX_WORKERS; i++)
		n += registry_count(&b->b_workers[i]);
	return n;
}

bool
registry_next(struct broker *b, struct registry_iter *it, struct bconn **bcp)
{
	void *v;

	if (it->rit_slot < 1)
		it->rit_slot = 1;
	for (; it->rit_slot <= CFG_MAX_WORKERS; it->rit_slot++, it->rit_pos = 0)
		if (idmap_next(&b->b_workers[it->rit_slot].bw_conns,
		    &it->rit_pos, NULL, &v)) {
			*bcp = v;
			return true;
		}
	return false;
}

void
registry_batch_flush(struct broker *b, struct bworker *bw)
{
	struct ipc_msg m;
	uint32_t items = bw->bw_batch.ib_count;

	if (ipc_batch_take(&bw->bw_batch, &m) == -1)
		return;
	if (bw->bw_peer == NULL) {
		ipc_msg_free(&m);
		return;
	}
	b->b_metrics.bm_ipc_batches++;
	log_debug("ipc_batch", "%s: %u items, %zu bytes", bw->bw_name, items,
	    m.im_len - IPC_HDR_SIZE);
	if (peer_send(bw->bw_peer, &m) == -1)
		log_warnx("deliver", "%s: could not queue a batch of %u "
		    "deliveries", bw->bw_name, items);
}

void
registry_batch_flush_all(struct broker *b)
{
	for (int i = 1; i <= CFG_MAX_WORKERS; i++)
		registry_batch_flush(b, &b->b_workers[i]);
}

static void
registry_batch_cb(evutil_socket_t fd, short what, void *arg)
{
	registry_batch_flush_all(arg);
}

struct ipc_batch *
registry_batch(struct broker *b, struct bworker *bw, size_t item_len)
{
	struct ipc_batch *ib = &bw->bw_batch;

	if (bw->bw_peer == NULL)
		return NULL;
	if (ib->ib_count > 0 && ipc_batch_len(ib) + item_len >
	    REGISTRY_BATCH_CAP)
		registry_batch_flush(b, bw);
	if (ib->ib_count == 0) {
		/* Sent after the callbacks already active in this loop pass:
		 * one group commit's outbox makes one message. */
		if (b->b_batch_ev == NULL && (b->b_batch_ev = event_new(
		    b->b_base, -1, 0, registry_batch_cb, b)) == NULL)
			fatalx("libevent", "event_new failed");
		event_active(b->b_batch_ev, EV_TIMEOUT, 0);
	}
	return ib;
}

void
registry_batch_drop(struct bworker *bw)
{
	ipc_batch_clear(&bw->bw_batch);
}

void
registry_stop(struct broker *b)
{
	for (int i = 0; i <= CFG_MAX_WORKERS; i++)
		registry_batch_drop(&b->b_workers[i]);
	if (b->b_batch_ev != NULL)
		event_free(b->b_batch_ev);
	b->b_batch_ev = NULL;
}

int
registry_send(struct broker *b, struct bworker *bw, struct ipc_msg *m)
{
	/* The rule that keeps a worker's messages in order. */
	registry_batch_flush(b, bw);
	if (bw->bw_peer == NULL) {
		ipc_msg_free(m);
		return -1;
	}
	return peer_send(bw->bw_peer, m);
}

int
registry_send_conn(struct broker *b, uint64_t conn_id, struct ipc_msg *m)
{
	struct bconn *bc = registry_conn(b, conn_id);

	if (bc == NULL) {
		ipc_msg_free(m);
		return -1;
	}
	return registry_send(b, bc->bc_worker, m);
}
