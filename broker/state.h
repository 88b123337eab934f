/* state.h: the broker process's one context, struct broker, and the
 * records it keeps per worker, connection and control client.  Data only:
 * every broker file may include it; it includes no broker file. */
#ifndef PARLEY_BROKER_STATE_H
#define PARLEY_BROKER_STATE_H

#include <bsd/sys/queue.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "idmap.h"
#include "ipc_batch.h"

struct parley_config;
struct event_base;
struct event;
struct evconnlistener;
struct chan;
struct peer;
struct store;
struct evhttp;
struct ipc_msg;
struct quota;
struct quota_addr;
struct chat_conn;
struct chat_state;
struct reader;


/* One live client connection, as a worker registered it (48 bytes with
 * malloc's header: its address lives once, in its bc_quota entry). */
struct bconn {
	uint64_t		 bc_id;
	struct bworker		*bc_worker;
	struct chat_conn	*bc_chat;	/* rooms, identity (chatstate.h) */
	struct quota_addr	*bc_quota;	/* its address's count; NULL: none */
	uint8_t			 bc_kind;	/* enum ipc_conn_kind */
	bool			 bc_resumed;	/* re-registered after a restart */
	bool			 bc_kicked;	/* closing on a limit: ignore it */
};

/* One worker process, as seen from the broker. */
struct bworker {
	int			 bw_slot;	/* 1..N; 0: unused */
	pid_t			 bw_pid;
	int64_t			 bw_start_ms;
	char			 bw_name[16];
	struct peer		*bw_peer;
	struct idmap		 bw_conns;	/* conn id -> struct bconn */
	bool			 bw_synced;	/* re-registration is complete */
	struct ipc_batch	 bw_batch;	/* IPC_DELIVER being filled */
	struct broker		*bw_broker;
};

struct ctl_client {
	struct peer		*cli_peer;
	struct broker		*cli_broker;
	struct event		*cli_timeout;	/* control_timeout: closed */
	LIST_ENTRY(ctl_client)	 cli_entry;
};

/* Counters for /metrics and parleyctl. */
struct broker_metrics {
	uint64_t	 bm_messages;		/* stored by send */
	uint64_t	 bm_published;		/* stored or sent by the API */
	uint64_t	 bm_commits;
	uint64_t	 bm_commit_failures;
	uint64_t	 bm_deliveries;		/* frames handed to workers */
	uint64_t	 bm_ipc_batches;	/* IPC_DELIVER messages sent */
	uint64_t	 bm_requests;		/* client requests handled */
	uint64_t	 bm_errors;		/* error replies */
	uint64_t	 bm_rate_limited;	/* RATE_LIMIT refusals */
	uint64_t	 bm_kicked;		/* closed 4429 on a limit */
	uint64_t	 bm_conns_refused;	/* upgrades refused (HTTP 429) */
	uint64_t	 bm_too_expensive;	/* reads past query_timeout_ms */
};

struct broker {
	struct event_base	*b_base;
	const struct parley_config *b_cfg;
	pid_t			 b_pid;
	int64_t			 b_start_ms;
	pid_t			 b_sup_pid;
	int64_t			 b_sup_start_ms;
	struct chan		*b_sup;
	struct bworker		 b_workers[CFG_MAX_WORKERS + 1];
	bool			 b_workers_paused; /* a worker's queue is full */
	struct evconnlistener	*b_ctl;
	LIST_HEAD(, ctl_client)	 b_ctl_clients;
	struct store		*b_store;
	struct reader		*b_reader;	/* reads off the loop */
	bool			 b_draining;
	int			 b_flushing;	/* worker links still writing out */
	struct event		*b_flush_deadline;
	struct event		*b_sigterm;
	struct event		*b_sigusr1;
	struct chat_state	*b_chat;	/* rooms, presence (chatstate.h) */
	struct event		*b_batch_ev;	/* sends the workers' batches at
						 * the end of the loop pass */
	struct broker_metrics	 b_metrics;
	struct evhttp		*b_api;		/* NULL when the API is off */
	char			*b_api_key;	/* bearer key for the API */
	struct evconnlistener	*b_api_listener; /* evhttp's, to pause */
	int			 b_api_conns;	/* open API connections */
	bool			 b_api_paused;	/* at max_api_connections */
	struct quota		*b_quota;	/* per user and address (quota.c) */
	struct event		*b_quota_sweep; /* forgets idle entries */
	size_t			 b_trim_conns;	/* connections at the last
						 * malloc_trim (broker.c) */
	int64_t			 b_nrooms;	/* rooms in the database (bounds.c) */
};

/* api_fd is -1 when the HTTP API is off. */

#endif
