/*
 * registry.c: the worker's registry: its open connections (by id and in
 * order), the link to the broker (send, register a connection), and the
 * gone list of chat connections that closed while the broker was away.
 * The worker's functions keep the worker_ prefix: this is its state.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "conn.h"
#include "idmap.h"
#include "ipc.h"
#include "log.h"
#include "peer.h"
#include "registry.h"
#include "state.h"
#include "util.h"

void
worker_conn_added(struct worker *w, struct ws_conn *c)
{
	idmap_put(&w->w_conns, c->wc_id, c);
	TAILQ_INSERT_TAIL(&w->w_conn_list, c, wc_entry);
	w->w_nconns++;
}

void
worker_exit_if_drained(struct worker *w)
{
	if (w->w_draining && w->w_nconns == 0)
		event_base_loopexit(w->w_base, NULL);
}

void
worker_conn_removed(struct worker *w, struct ws_conn *c)
{
	if (c->wc_registered && w->w_broker != NULL &&
	    peer_compose(w->w_broker, IPC_CONN_CLOSE, c->wc_id, NULL, 0) == -1)
		log_conn(LOG_LVL_ERROR, c->wc_id, "conn_close_unsent",
		    "the broker link is full; the broker keeps a stale "
		    "connection until it restarts");
	if (c->wc_registered)
		w->w_nregistered--;
	c->wc_registered = false;
	idmap_del(&w->w_conns, c->wc_id);
	TAILQ_REMOVE(&w->w_conn_list, c, wc_entry);
	w->w_nconns--;
	worker_exit_if_drained(w);
}

int
worker_to_broker(struct worker *w, struct ipc_msg *m)
{
	if (w->w_broker == NULL) {
		ipc_msg_free(m);
		return -1;
	}
	return peer_send(w->w_broker, m);
}

void
worker_register_conn(struct worker *w, struct ws_conn *c, bool resumed)
{
	char a[CONN_ADDR_STRLEN];
	struct ipc_msg m;

	if (w->w_broker == NULL || c->wc_registered)
		return;
	ipc_msg_init(&m, IPC_CONN_OPEN, c->wc_id);
	ipc_add_u8(&m, c->wc_endpoint == CONN_EP_ECHO ? IPC_CONN_ECHO :
	    IPC_CONN_CHAT);
	ipc_add_u8(&m, resumed);
	ipc_add_str(&m, conn_addr(c, a));
	if (peer_send(w->w_broker, &m) == 0) {
		c->wc_registered = true;
		w->w_nregistered++;
	}
}

/* The gone list: chat connections that closed while the broker was
 * away.  Bounded: past WORKER_MAX_GONE the oldest are dropped, loudly. */

static void
worker_gone_free(struct gone_conn *g)
{
	for (size_t i = 0; i < g->gc_nrooms; i++)
		free(g->gc_rooms[i]);
	free(g->gc_rooms);
	free(g->gc_user);
	free(g->gc_name);
	free(g);
}

void
worker_gone_note(struct worker *w, const char *user, const char *name,
    char **rooms, size_t nrooms)
{
	struct gone_conn *g;

	if (w->w_ngone >= WORKER_MAX_GONE) {
		g = STAILQ_FIRST(&w->w_gone);
		STAILQ_REMOVE_HEAD(&w->w_gone, gc_entry);
		w->w_ngone--;
		log_warnx("gone_overflow", "dropping the leave of %s: more than "
		    "%d connections closed while the broker was away",
		    g->gc_user, WORKER_MAX_GONE);
		worker_gone_free(g);
	}
	g = xcalloc(1, sizeof(*g));
	g->gc_user = xstrdup(user);
	g->gc_name = xstrdup(name);
	g->gc_rooms = rooms;
	g->gc_nrooms = nrooms;
	STAILQ_INSERT_TAIL(&w->w_gone, g, gc_entry);
	w->w_ngone++;
}

void
worker_gone_send(struct worker *w)
{
	struct gone_conn *g;

	while ((g = STAILQ_FIRST(&w->w_gone)) != NULL) {
		struct ipc_msg m;

		STAILQ_REMOVE_HEAD(&w->w_gone, gc_entry);
		w->w_ngone--;
		ipc_msg_init(&m, IPC_CONN_GONE, 0);
		ipc_add_str(&m, g->gc_user);
		ipc_add_str(&m, g->gc_name);
		ipc_add_u32(&m, (uint32_t)g->gc_nrooms);
		for (size_t i = 0; i < g->gc_nrooms; i++)
			ipc_add_str(&m, g->gc_rooms[i]);
		if (worker_to_broker(w, &m) == -1)
			log_warnx("gone_lost", "could not report the leave of %s",
			    g->gc_user);
		worker_gone_free(g);
	}
}

void
worker_gone_clear(struct worker *w)
{
	struct gone_conn *g;

	while ((g = STAILQ_FIRST(&w->w_gone)) != NULL) {
		STAILQ_REMOVE_HEAD(&w->w_gone, gc_entry);
		worker_gone_free(g);
	}
	w->w_ngone = 0;
}
