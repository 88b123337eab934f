/*
 * registry.c: the broker's live client connections, as their workers
 * registered them (one idmap per worker, keyed by connection id), and the
 * links to those workers.  What a connection means to the chat service is
 * service.c's; what a worker link does is broker.c's.  This file only
 * keeps them and finds them.
 */
#include <stdlib.h>

#include "config.h"
#include "idmap.h"
#include "ipc.h"
#include "peer.h"
#include "registry.h"
#include "state.h"

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

int
registry_send(struct broker *b, struct bworker *bw, struct ipc_msg *m)
{
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
