/* state.h: the worker process's one context, struct worker, and the gone
 * list's records.  Data only: every worker file may include it; it includes
 * no worker file. */
#ifndef PARLEY_WORKER_STATE_H
#define PARLEY_WORKER_STATE_H

#include <bsd/sys/queue.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "idmap.h"

struct parley_config;
struct event_base;
struct event;
struct evconnlistener;
struct evbuffer;
struct outq_pool;
struct chan;
struct peer;
struct ws_conn;
struct auth_verifier;
typedef struct ssl_ctx_st SSL_CTX;

/* A chat connection that closed while the broker was away: the broker
 * must still hear of it, or its users' leaves are lost. */
struct gone_conn {
	char			*gc_user;
	char			*gc_name;
	char			**gc_rooms;
	size_t			 gc_nrooms;
	STAILQ_ENTRY(gone_conn)	 gc_entry;
};
#define WORKER_MAX_GONE	10000

struct worker {
	struct event_base	*w_base;
	const struct parley_config *w_cfg;
	const struct conn_route	*w_routes;	/* its WebSocket endpoints */
	int			 w_slot;
	pid_t			 w_pid;
	int64_t			 w_start_ms;
	uint64_t		 w_id_prefix;	/* slot and pid: ids stay unique */
	uint32_t		 w_id_seq;

	struct chan		*w_sup;		/* supervisor channel */
	struct peer		*w_broker;	/* NULL while the broker restarts */
	char			 w_broker_name[16];
	bool			 w_broker_congested;

	struct evconnlistener	*w_listener;
	struct evconnlistener	*w_tls_listener;
	SSL_CTX			*w_ssl_ctx;
	struct event		*w_accept_retry; /* EMFILE back-off */
	struct auth_verifier	*w_auth;

	struct idmap		 w_conns;	/* conn id -> struct ws_conn */
	TAILQ_HEAD(, ws_conn)	 w_conn_list;
	size_t			 w_nconns;	/* in w_conn_list */
	size_t			 w_nregistered;	/* known to the broker */
	bool			 w_resyncing;	/* new broker link: burst under way */
	/* The delivery path (conn_plain.c): connections with output queued
	 * in this loop pass, written by w_flush at its end (one writev
	 * each); w_rbuf is the one read buffer of plain connections,
	 * w_rbuf_ev an evbuffer that only refers to it while it is parsed. */
	TAILQ_HEAD(, ws_conn)	 w_dirty;
	struct event		*w_flush;
	uint8_t			*w_rbuf;
	struct evbuffer		*w_rbuf_ev;
	struct ws_conn		*w_reading;	/* its input is being handled */
	struct outq_pool	*w_outq_pool;	/* smallest rings, for reuse */
	STAILQ_HEAD(, gone_conn) w_gone;	/* closed while the broker was away */
	size_t			 w_ngone;

	/* Give the heap's free pages back after a burst of connections
	 * came or went (worker.c, worker_trim_cb). */
	struct event		*w_trim;
	size_t			 w_trim_conns;	/* w_nconns at the last trim */

	bool			 w_draining;
	struct event		*w_drain_deadline;
	struct event		*w_sigterm;
	struct event		*w_sigusr1;
};

#endif
