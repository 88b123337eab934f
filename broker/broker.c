/*
 * broker.c: the broker process.  It keeps a registry of every live client
 * connection per worker (rebuilt from the workers' re-registration burst
 * after a restart), owns SQLite and serves the control socket.  A lost
 * worker takes its connections with it.
 */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "bounds.h"
#include "broker.h"
#include "config.h"
#include "control.h"
#include "deliver.h"
#include "ipc.h"
#include "log.h"
#include "peer.h"
#include "quota.h"
#include "reader.h"
#include "registry.h"
#include "service.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "ws_close.h"

/* The broker's whole state. */
static struct broker broker;

/* Allocator: give the heap's free pages back once the connection count
 * has moved by this much since the last time (a burst of logins leaves
 * the holes of its transient buffers between the records that stay). */
#define BROKER_TRIM_CONNS	256

static void
broker_quota_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	size_t n = registry_total(b);

	quota_sweep(b->b_quota, b->b_cfg, now_mono_ms());
	if (n + BROKER_TRIM_CONNS <= b->b_trim_conns ||
	    n >= b->b_trim_conns + BROKER_TRIM_CONNS) {
		malloc_trim(0);
		b->b_trim_conns = n;
	}
}

/* Back-pressure: if any worker's queue is full, stop reading requests
 * from every worker until it drains; the workers then pause their
 * clients.  Nothing is dropped. */
static void
broker_worker_pressure(struct peer *p, bool congested, void *ctx)
{
	struct bworker *bw = ctx;
	struct broker *b = bw->bw_broker;
	bool any = false;

	/* Leaving: the links stay paused whatever their queues do. */
	if (b->b_draining)
		return;
	for (int i = 1; i <= CFG_MAX_WORKERS; i++)
		if (b->b_workers[i].bw_peer != NULL &&
		    b->b_workers[i].bw_peer->p_congested)
			any = true;
	if (any == b->b_workers_paused)
		return;
	b->b_workers_paused = any;
	for (int i = 1; i <= CFG_MAX_WORKERS; i++)
		if (b->b_workers[i].bw_peer != NULL)
			peer_pause(b->b_workers[i].bw_peer, any);
}

static void
bconn_free(struct broker *b, struct bconn *bc)
{
	service_on_close(b, bc);
	if (bc->bc_quota != NULL)
		quota_addr_close(b->b_quota, bc->bc_quota, now_mono_ms());
	free(bc);
}

/*
 * Per-address limits (PROTOCOL.md 5), echo connections included, decided
 * before the worker answers the upgrade: too many concurrent connections,
 * or new ones too fast, and the worker answers HTTP 429 with Retry-After
 * instead of 101.  A re-registration after a broker restart is counted but
 * never refused.  Returns false when refused (bc is then not counted).
 */
static bool
broker_conn_limits(struct broker *b, struct bconn *bc, const char *addr)
{
	struct ipc_msg m;
	uint64_t retry_ms = 0;
	const char *why;

	switch (quota_addr_open(b->b_quota, b->b_cfg, addr,
	    bc->bc_resumed, now_mono_ms(), &bc->bc_quota, &retry_ms)) {
	case QUOTA_OK:
		return true;
	case QUOTA_TOO_MANY:
		why = "too many connections from this address";
		break;
	default:
		why = "connecting too fast";
		break;
	}
	log_conn(LOG_LVL_INFO, bc->bc_id, "conn_limit", "%s: %s", addr, why);
	b->b_metrics.bm_conns_refused++;
	ipc_msg_init(&m, IPC_CONN_REFUSED, bc->bc_id);
	ipc_add_u32(&m, retry_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)retry_ms);
	ipc_add_str(&m, why);
	registry_send(b, bc->bc_worker, &m);
	return false;
}

static void
bconn_drop(struct bconn *bc, void *arg)
{
	bconn_free(arg, bc);
}

/* A lost worker's connections: gone with it. */
static void
bworker_drop_conns(struct bworker *bw)
{
	registry_drop_all(bw, bconn_drop, bw->bw_broker);
}

/* Messages from workers. */

static int
broker_on_w_hello(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct bworker *bw = ctx;
	uint32_t version, slot, pid;
	int64_t start;

	if (ipc_get_u32(r, &version) == -1 || ipc_get_u32(r, &slot) == -1 ||
	    ipc_get_u32(r, &pid) == -1 || ipc_get_i64(r, &start) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	if (ipc_version_check(version, bw->bw_name) == -1)
		return -1;
	if ((int)slot != bw->bw_slot) {
		log_warnx("ipc_slot", "%s says it is worker %u", bw->bw_name,
		    slot);
		return -1;
	}
	bw->bw_pid = (pid_t)pid;
	bw->bw_start_ms = start;
	return 0;
}

static int
broker_on_conn_open(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct bworker *bw = ctx;
	struct bconn *bc;
	uint8_t kind, resumed;
	char addr[64];

	if (ipc_get_u8(r, &kind) == -1 || ipc_get_u8(r, &resumed) == -1 ||
	    ipc_get_strbuf(r, addr, sizeof(addr)) == -1 || ipc_end(r) == -1)
		return -1;
	if (h->hd_conn_id == 0 || registry_find(bw, h->hd_conn_id) != NULL)
		return -1;
	bc = xcalloc(1, sizeof(*bc));
	bc->bc_id = h->hd_conn_id;
	bc->bc_worker = bw;
	bc->bc_kind = kind;
	bc->bc_resumed = resumed != 0;
	if (!broker_conn_limits(bw->bw_broker, bc, addr)) {
		free(bc);
		return 0;
	}
	registry_add(bw, bc);
	log_conn(LOG_LVL_DEBUG, bc->bc_id, "conn_registered", "%s from %s",
	    bw->bw_name, addr);
	{
		struct ipc_msg m;

		ipc_msg_init(&m, IPC_CONN_ADMITTED, bc->bc_id);
		registry_send(bw->bw_broker, bw, &m);
	}
	return 0;
}

static int
broker_on_conn_close(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct bworker *bw = ctx;
	struct bconn *bc = registry_remove(bw, h->hd_conn_id);

	if (bc == NULL) {
		log_conn(LOG_LVL_DEBUG, h->hd_conn_id, "conn_unknown",
		    "close for an unknown connection");
		return 0;
	}
	bconn_free(bw->bw_broker, bc);
	return 0;
}

static int
broker_on_conn_gone(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct bworker *bw = ctx;

	return service_on_gone(bw->bw_broker, r);
}

/* The chat events of a registered connection go to the service; those
 * of one being closed on a limit are dropped. */
static struct bconn *
bconn_lookup(struct bworker *bw, uint64_t conn_id)
{
	struct bconn *bc = registry_find(bw, conn_id);

	if (bc == NULL)
		log_conn(LOG_LVL_DEBUG, conn_id, "conn_unknown",
		    "event for an unknown connection");
	else if (bc->bc_kicked)
		return NULL;
	return bc;
}

static int
broker_on_conn_auth(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct bworker *bw = ctx;
	struct bconn *bc = bconn_lookup(bw, h->hd_conn_id);

	return bc == NULL ? 0 : service_on_auth(bw->bw_broker, bc, r);
}

static int
broker_on_conn_rooms(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct bworker *bw = ctx;
	struct bconn *bc = bconn_lookup(bw, h->hd_conn_id);

	return bc == NULL ? 0 : service_on_rooms(bw->bw_broker, bc, r);
}

static int
broker_on_client_req(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct bworker *bw = ctx;
	struct bconn *bc = bconn_lookup(bw, h->hd_conn_id);

	return bc == NULL ? 0 : service_on_request(bw->bw_broker, bc, r);
}

static int
broker_on_resync_done(void *ctx, const struct ipc_hdr *h,
    struct ipc_reader *r, int *fdp)
{
	struct bworker *bw = ctx;
	uint32_t n;

	if (ipc_get_u32(r, &n) == -1 || ipc_end(r) == -1)
		return -1;
	log_info("worker_synced", "%s pid %d: %u connections registered",
	    bw->bw_name, (int)bw->bw_pid, n);
	bw->bw_synced = true;
	service_resynced(bw->bw_broker);
	return 0;
}

static const struct ipc_handler broker_from_worker[] = {
	{ IPC_W_HELLO,		broker_on_w_hello },
	{ IPC_CONN_OPEN,	broker_on_conn_open },
	{ IPC_CONN_CLOSE,	broker_on_conn_close },
	{ IPC_W_RESYNC_DONE,	broker_on_resync_done },
	{ IPC_CONN_AUTH,	broker_on_conn_auth },
	{ IPC_CONN_ROOMS,	broker_on_conn_rooms },
	{ IPC_CLIENT_REQ,	broker_on_client_req },
	{ IPC_CONN_GONE,	broker_on_conn_gone },
	{ 0, NULL }
};

static void
broker_worker_lost(struct peer *p, void *ctx)
{
	struct bworker *bw = ctx;

	log_warnx("worker_lost", "%s pid %d: dropping %zu connections",
	    bw->bw_name, (int)bw->bw_pid, registry_count(bw));
	bworker_drop_conns(bw);
	/* Nothing of the old link's batch may reach the next link. */
	registry_batch_drop(bw);
	/* Leaving and waiting for this link to write out: stop waiting. */
	if (bw->bw_peer->p_flushed != NULL) {
		bw->bw_peer->p_flushed = NULL;
		if (--bw->bw_broker->b_flushing == 0)
			event_base_loopexit(bw->bw_broker->b_base, NULL);
	}
	peer_free(bw->bw_peer);
	bw->bw_peer = NULL;
	bw->bw_synced = false;
	broker_worker_pressure(NULL, false, bw);
	/* A worker that will never finish re-registering must not hold
	 * the others' leaves back. */
	service_resynced(bw->bw_broker);
}

/* Messages from the supervisor. */

static int
broker_on_peer_setup(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct broker *b = ctx;
	struct bworker *bw;
	struct ipc_msg m;
	uint32_t slot, pid;
	int64_t start;

	if (ipc_get_u32(r, &slot) == -1 || ipc_get_u32(r, &pid) == -1 ||
	    ipc_get_i64(r, &start) == -1 || ipc_end(r) == -1 || *fdp == -1 ||
	    slot < 1 || slot > CFG_MAX_WORKERS)
		return -1;
	bw = &b->b_workers[slot];
	if (bw->bw_peer != NULL)
		broker_worker_lost(bw->bw_peer, bw);
	bw->bw_slot = (int)slot;
	bw->bw_pid = (pid_t)pid;
	bw->bw_start_ms = start;
	bw->bw_broker = b;
	bw->bw_peer = peer_new(b->b_base, *fdp, bw->bw_name,
	    broker_from_worker, bw, broker_worker_lost);
	*fdp = -1;
	if (bw->bw_peer == NULL)
		return 0;
	bw->bw_peer->p_pressure = broker_worker_pressure;
	peer_expect_hello(bw->bw_peer, IPC_W_HELLO);
	if (b->b_workers_paused)
		peer_pause(bw->bw_peer, true);
	ipc_msg_init(&m, IPC_B_HELLO, 0);
	ipc_add_u32(&m, IPC_VERSION);
	ipc_add_u32(&m, (uint32_t)b->b_pid);
	ipc_add_i64(&m, b->b_start_ms);
	peer_send(bw->bw_peer, &m);
	return 0;
}

static int
broker_on_sup_info(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct broker *b = ctx;
	uint32_t pid;

	if (ipc_get_u32(r, &pid) == -1 ||
	    ipc_get_i64(r, &b->b_sup_start_ms) == -1 || ipc_end(r) == -1)
		return -1;
	b->b_sup_pid = (pid_t)pid;
	return 0;
}

/* Leaving: what the last batch acknowledges must reach the workers. */
#define BROKER_FLUSH_DEADLINE_S	5

static void
broker_flush_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;

	log_warnx("drain_deadline", "worker links did not drain in %d s",
	    BROKER_FLUSH_DEADLINE_S);
	event_base_loopexit(b->b_base, NULL);
}

static void
broker_link_flushed(struct peer *p, void *ctx)
{
	struct bworker *bw = ctx;
	struct broker *b = bw->bw_broker;

	if (--b->b_flushing == 0)
		event_base_loopexit(b->b_base, NULL);
}

/*
 * Commit the open batch, stop taking requests, and leave the loop once
 * every worker link has written out what it holds (the acks and
 * broadcasts of that batch), or after a deadline.
 */
static void
broker_begin_exit(struct broker *b, const char *why)
{
	if (b->b_draining)
		return;
	b->b_draining = true;
	log_info("draining", "%s: flushing and exiting", why);
	service_flush(b);
	/* The batches that flush made go into the links before the wait. */
	registry_batch_flush_all(b);
	b->b_flushing = 1;
	for (int i = 1; i <= CFG_MAX_WORKERS; i++) {
		struct bworker *bw = &b->b_workers[i];

		if (bw->bw_peer == NULL)
			continue;
		peer_pause(bw->bw_peer, true);
		b->b_flushing++;
		peer_when_flushed(bw->bw_peer, broker_link_flushed);
	}
	b->b_flush_deadline = evtimer_new(b->b_base, broker_flush_deadline_cb,
	    b);
	event_add(b->b_flush_deadline,
	    &(struct timeval){ BROKER_FLUSH_DEADLINE_S, 0 });
	if (--b->b_flushing == 0)
		event_base_loopexit(b->b_base, NULL);
}

static int
broker_on_drain(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	broker_begin_exit(ctx, "supervisor asked");
	return 0;
}

static const struct ipc_handler broker_from_sup[] = {
	{ IPC_PEER_SETUP,	broker_on_peer_setup },
	{ IPC_SUP_INFO,		broker_on_sup_info },
	{ IPC_DRAIN,		broker_on_drain },
	{ 0, NULL }
};

static void
broker_sup_lost(struct chan *ch, void *ctx)
{
	struct broker *b = ctx;

	log_warnx("supervisor_lost", "supervisor is gone; exiting");
	chan_free(b->b_sup);
	b->b_sup = NULL;
	event_base_loopexit(b->b_base, NULL);
}

static void
broker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct broker *b = arg;

	if (sig == SIGTERM) {
		broker_begin_exit(b, "SIGTERM");
	} else if (sig == SIGUSR1)
		log_reopen();
}

int
broker_main(const struct parley_config *cfg, int sup_fd, int api_fd,
    int ctl_fd)
{
	struct broker *b = &broker;
	struct ipc_msg m;

	b->b_cfg = cfg;
	b->b_pid = getpid();
	b->b_start_ms = now_wall_ms();
	b->b_sup_pid = getppid();
	LIST_INIT(&b->b_ctl_clients);
	for (int i = 0; i <= CFG_MAX_WORKERS; i++) {
		snprintf(b->b_workers[i].bw_name,
		    sizeof(b->b_workers[i].bw_name), "worker %d", i);
		registry_worker_init(&b->b_workers[i]);
		b->b_workers[i].bw_broker = b;
	}
	if ((b->b_base = event_base_new()) == NULL)
		fatalx("libevent", "event_base_new failed");
	b->b_sigterm = evsignal_new(b->b_base, SIGTERM, broker_signal_cb, b);
	b->b_sigusr1 = evsignal_new(b->b_base, SIGUSR1, broker_signal_cb, b);
	evsignal_add(b->b_sigterm, NULL);
	evsignal_add(b->b_sigusr1, NULL);
	b->b_sup = chan_new(b->b_base, sup_fd, "supervisor", broker_from_sup,
	    b, broker_sup_lost);
	if (control_start(b, ctl_fd) == -1)
		fatalx("control", "cannot serve the control socket");
	{
		char path[4096], err[512];

		snprintf(path, sizeof(path), "%s/parley.db", cfg->data_dir);
		if ((b->b_store = store_open(path, cfg->synchronous, err,
		    sizeof(err))) == NULL)
			fatalx("store", "%s: %s", path, err);
		if ((b->b_reader = reader_start(b, b->b_base, path,
		    cfg->reader_threads, cfg->reader_queue,
		    cfg->query_timeout_ms, err, sizeof(err))) == NULL)
			fatalx("reader", "%s: %s", path, err);
	}
	b->b_quota = xcalloc(1, sizeof(*b->b_quota));
	quota_init(b->b_quota);
	if (bounds_init(b) == -1)
		fatalx("store", "cannot count the rooms");
	if ((b->b_quota_sweep = event_new(b->b_base, -1, EV_PERSIST,
	    broker_quota_sweep_cb, b)) == NULL)
		fatalx("libevent", "event_new failed");
	event_add(b->b_quota_sweep, &(struct timeval){ QUOTA_SWEEP_MS / 1000,
	    (QUOTA_SWEEP_MS % 1000) * 1000 });
	if (service_init(b) == -1)
		fatalx("service", "cannot set up the chat service");
	if (api_fd != -1) {
		char aerr[512];

		/* api_start owns the fd from here, success or not. */
		if (api_start(b, api_fd, aerr, sizeof(aerr)) == -1)
			fatalx("api", "%s", aerr);
	}

	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_add_u32(&m, IPC_VERSION);
	ipc_add_u8(&m, IPC_ROLE_BROKER);
	ipc_add_u32(&m, 0);
	ipc_add_u32(&m, (uint32_t)b->b_pid);
	chan_send(b->b_sup, &m, -1);
	log_info("broker_started", "broker ready");

	event_base_dispatch(b->b_base);

	/* Every acknowledged write is committed before the broker goes. */
	service_flush(b);
	api_stop(b);
	control_stop(b);
	for (int i = 0; i <= CFG_MAX_WORKERS; i++) {
		struct bworker *bw = &b->b_workers[i];

		if (bw->bw_peer != NULL)
			peer_free(bw->bw_peer);
		bw->bw_peer = NULL;
		bworker_drop_conns(bw);
		registry_worker_free(bw);
	}
	/* After the leaves above, which may have filled batches. */
	registry_stop(b);
	/* Joins the threads before the rooms and the store go. */
	reader_stop(b->b_reader);
	b->b_reader = NULL;
	service_free(b);
	event_free(b->b_quota_sweep);
	quota_free(b->b_quota);
	free(b->b_quota);
	store_close(b->b_store);
	chan_free(b->b_sup);
	if (b->b_flush_deadline != NULL)
		event_free(b->b_flush_deadline);
	event_free(b->b_sigterm);
	event_free(b->b_sigusr1);
	event_base_free(b->b_base);
	log_info("broker_exit", "broker done");
	return 0;
}
