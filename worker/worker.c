/*
 * worker.c: a worker process.  It owns its client connections, keeps them
 * across a broker restart (re-registering them on the new link), and turns
 * the broker's typed answers into frames: IPC_DELIVER is a batch of
 * replies and room items, each room item framed once and shared by every
 * target connection (fanout.c).
 */
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "chat.h"
#include "config.h"
#include "conn.h"
#include "fanout.h"
#include "ipc.h"
#include "ipc_batch.h"
#include "listener.h"
#include "log.h"
#include "peer.h"
#include "registry.h"
#include "session.h"
#include "state.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#define WORKER_DRAIN_DEADLINE_S	5
#define WORKER_TRIM_S		5	/* how often the heap trim is considered */
#define WORKER_TRIM_CONNS	256

/* The WebSocket endpoints, by configured path: a new one is a row. */
static const struct conn_route worker_routes[] = {
	{ CONN_EP_CHAT, offsetof(struct parley_config, ws_path), &session_app },
	{ CONN_EP_ECHO, offsetof(struct parley_config, echo_path), NULL },
	{ CONN_EP_NONE, 0, NULL }
};

/* The worker's whole state. */
static struct worker worker;

static void	worker_broker_lost(struct peer *p, void *ctx);
static void	worker_resync(struct worker *w);

/* Messages from the broker. */

static int
worker_on_b_hello(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	uint32_t version, pid;
	int64_t start;

	if (ipc_get_u32(r, &version) == -1 || ipc_get_u32(r, &pid) == -1 ||
	    ipc_get_i64(r, &start) == -1 || ipc_end(r) == -1)
		return -1;
	return ipc_version_check(version, "the broker");
}

/* A reply item: one text to one connection. */
static void
worker_deliver_reply(struct worker *w, const struct ipc_item *it)
{
	struct ws_conn *c = idmap_get(&w->w_conns, it->it_conn);

	/* The client may have gone while the answer was on its way. */
	if (c == NULL)
		return;
	if ((it->it_flags & IPC_ITEM_F_RESPONSE) &&
	    c->wc_endpoint == CONN_EP_CHAT)
		session_on_response(c);
	conn_send_text(c, it->it_text, it->it_len);
}

/* A room item: the text framed once, shared by every target. */
static void
worker_deliver_room(struct worker *w, struct ipc_item *it)
{
	struct fanout_block *fb;

	fb = fanout_frame(WS_OP_TEXT, it->it_text, it->it_len);
	for (uint32_t i = 0; i < it->it_n; i++) {
		struct ws_conn *c;
		uint64_t id;

		if (ipc_get_u64(&it->it_ids, &id) == -1)
			break;
		if ((c = idmap_get(&w->w_conns, id)) == NULL)
			continue;
		conn_send_shared(c, fb);
		/* Remember how far it got, to resume there after a restart. */
		if (it->it_seq > 0 && c->wc_endpoint == CONN_EP_CHAT)
			session_note_seq(c, it->it_room, it->it_seq);
	}
	fanout_release(fb);
}

/* A batch of replies and room items, handled in order. */
static int
worker_on_deliver(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct worker *w = ctx;
	struct ipc_item it;
	uint32_t count;

	if (ipc_batch_begin(r, &count) == -1)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		if (ipc_batch_next(r, &it) == -1)
			return -1;
		if (it.it_kind == IPC_ITEM_REPLY)
			worker_deliver_reply(w, &it);
		else
			worker_deliver_room(w, &it);
	}
	return ipc_end(r);
}

static int
worker_on_kick(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct worker *w = ctx;
	struct ws_conn *c = idmap_get(&w->w_conns, h->hd_conn_id);
	char reason[WS_MAX_CONTROL_PAYLOAD];
	uint16_t code;

	if (ipc_get_u16(r, &code) == -1 ||
	    ipc_get_strbuf(r, reason, sizeof(reason)) == -1 || ipc_end(r) == -1)
		return -1;
	if (c != NULL)
		conn_close(c, code, reason);
	return 0;
}

static int
worker_on_room_seq(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct worker *w = ctx;
	struct ws_conn *c = idmap_get(&w->w_conns, h->hd_conn_id);
	char room[CHAT_MAX_ROOM + 1];
	int64_t seq;

	if (ipc_get_strbuf(r, room, sizeof(room)) == -1 ||
	    ipc_get_i64(r, &seq) == -1 || ipc_end(r) == -1)
		return -1;
	if (c != NULL && c->wc_endpoint == CONN_EP_CHAT)
		session_room_seq(c, room, seq);
	return 0;
}

static int
worker_on_room_left(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct worker *w = ctx;
	struct ws_conn *c = idmap_get(&w->w_conns, h->hd_conn_id);
	char room[CHAT_MAX_ROOM + 1];

	if (ipc_get_strbuf(r, room, sizeof(room)) == -1 || ipc_end(r) == -1)
		return -1;
	if (c != NULL && c->wc_endpoint == CONN_EP_CHAT)
		session_room_left(c, room);
	return 0;
}

static int
worker_on_conn_admitted(void *ctx, const struct ipc_hdr *h,
    struct ipc_reader *r, int *fdp)
{
	struct worker *w = ctx;
	struct ws_conn *c = idmap_get(&w->w_conns, h->hd_conn_id);

	if (c == NULL)
		return 0;
	c->wc_seen_by_broker = true;
	if (c->wc_state == CONN_ADMITTING)
		conn_admitted(c);
	return 0;
}

static int
worker_on_conn_refused(void *ctx, const struct ipc_hdr *h,
    struct ipc_reader *r, int *fdp)
{
	struct worker *w = ctx;
	struct ws_conn *c = idmap_get(&w->w_conns, h->hd_conn_id);
	char why[132];		/* IPC_CONN_REFUSED bound */
	uint32_t retry_ms;

	if (ipc_get_u32(r, &retry_ms) == -1 ||
	    ipc_get_strbuf(r, why, sizeof(why)) == -1 || ipc_end(r) == -1)
		return -1;
	if (c == NULL)
		return 0;
	/* The broker did not count it: nothing to report when it closes. */
	if (c->wc_registered) {
		c->wc_registered = false;
		w->w_nregistered--;
	}
	conn_refused(c, retry_ms, why);
	return 0;
}

static int
worker_on_auth_ok(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct worker *w = ctx;
	struct ws_conn *c = idmap_get(&w->w_conns, h->hd_conn_id);

	if (c != NULL && c->wc_endpoint == CONN_EP_CHAT &&
	    c->wc_state == CONN_OPEN)
		session_on_admitted(c);
	return 0;
}

static const struct ipc_handler worker_from_broker[] = {
	{ IPC_B_HELLO,	worker_on_b_hello },
	{ IPC_DELIVER,	worker_on_deliver },
	{ IPC_KICK,	worker_on_kick },
	{ IPC_ROOM_SEQ,	worker_on_room_seq },
	{ IPC_ROOM_LEFT, worker_on_room_left },
	{ IPC_CONN_ADMITTED, worker_on_conn_admitted },
	{ IPC_CONN_REFUSED, worker_on_conn_refused },
	{ IPC_AUTH_OK,	worker_on_auth_ok },
	{ 0, NULL }
};

/* Back-pressure: while the broker link is congested, stop reading clients. */
static void
worker_broker_pressure(struct peer *p, bool congested, void *ctx)
{
	struct worker *w = ctx;
	struct ws_conn *c, *next;

	w->w_broker_congested = congested;
	TAILQ_FOREACH_SAFE(c, &w->w_conn_list, wc_entry, next)
		if (c->wc_endpoint != CONN_EP_ECHO &&
		    (c->wc_state == CONN_OPEN || c->wc_state == CONN_HANDSHAKE ||
		    c->wc_state == CONN_ADMITTING))
			conn_pause(c, CONN_PAUSE_BROKER, congested);
	/* Registrations that did not fit go out now. */
	if (!congested && w->w_broker != NULL)
		worker_resync(w);
}

static void
worker_broker_lost(struct peer *p, void *ctx)
{
	struct worker *w = ctx;
	struct ws_conn *c;

	log_warnx("broker_lost", "broker link lost; keeping %zu connections "
	    "until it is back", w->w_nconns);
	peer_free(w->w_broker);
	w->w_broker = NULL;
	TAILQ_FOREACH(c, &w->w_conn_list, wc_entry) {
		c->wc_registered = false;
		if (c->wc_endpoint == CONN_EP_CHAT && c->wc_state == CONN_OPEN)
			session_broker_lost(c);
	}
	w->w_nregistered = 0;
	if (w->w_broker_congested)
		worker_broker_pressure(NULL, false, w);
}

/*
 * Register every open connection the broker does not know yet, so it
 * rebuilds its state, then (after a new link) report the connections that
 * closed meanwhile and say RESYNC_DONE.  A burst that fills the link stops
 * here and goes on when the link drains: nothing is refused for space.
 */
static void
worker_resync(struct worker *w)
{
	struct ipc_msg m;
	struct ws_conn *c;

	TAILQ_FOREACH(c, &w->w_conn_list, wc_entry) {
		if (w->w_broker == NULL || w->w_broker->p_congested)
			return;		/* worker_broker_pressure resumes it */
		if ((c->wc_state != CONN_OPEN &&
		    c->wc_state != CONN_ADMITTING) || c->wc_registered)
			continue;
		worker_register_conn(w, c, c->wc_seen_by_broker);
		if (c->wc_registered && c->wc_endpoint == CONN_EP_CHAT)
			session_reregister(c);
	}
	if (!w->w_resyncing)
		return;
	w->w_resyncing = false;
	worker_gone_send(w);
	ipc_msg_init(&m, IPC_W_RESYNC_DONE, 0);
	ipc_add_u32(&m, (uint32_t)w->w_nregistered);
	peer_send(w->w_broker, &m);
	log_info("broker_synced", "%zu connections registered",
	    w->w_nregistered);
}

/* Messages from the supervisor. */

static int
worker_on_peer_setup(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct worker *w = ctx;
	struct ipc_msg m;
	uint32_t slot, pid;
	int64_t start;

	if (ipc_get_u32(r, &slot) == -1 || ipc_get_u32(r, &pid) == -1 ||
	    ipc_get_i64(r, &start) == -1 || ipc_end(r) == -1 || *fdp == -1)
		return -1;
	if (w->w_broker != NULL)
		worker_broker_lost(w->w_broker, w);
	w->w_broker = peer_new(w->w_base, *fdp, w->w_broker_name,
	    worker_from_broker, w, worker_broker_lost);
	*fdp = -1;
	if (w->w_broker == NULL)
		return 0;
	w->w_broker->p_pressure = worker_broker_pressure;
	peer_expect_hello(w->w_broker, IPC_B_HELLO);

	ipc_msg_init(&m, IPC_W_HELLO, 0);
	ipc_add_u32(&m, IPC_VERSION);
	ipc_add_u32(&m, (uint32_t)w->w_slot);
	ipc_add_u32(&m, (uint32_t)w->w_pid);
	ipc_add_i64(&m, w->w_start_ms);
	peer_send(w->w_broker, &m);
	log_info("broker_linked", "broker pid %u; re-registering %zu "
	    "connections", pid, w->w_nconns);
	w->w_resyncing = true;
	worker_resync(w);
	return 0;
}

static void
worker_drain(struct worker *w, const char *why)
{
	struct ws_conn *c, *next;

	if (w->w_draining)
		return;
	w->w_draining = true;
	log_info("draining", "%s: closing %zu connections", why, w->w_nconns);
	listener_stop(w);
	TAILQ_FOREACH_SAFE(c, &w->w_conn_list, wc_entry, next)
		conn_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
	event_add(w->w_drain_deadline,
	    &(struct timeval){ WORKER_DRAIN_DEADLINE_S, 0 });
	worker_exit_if_drained(w);
}

static int
worker_on_drain(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	worker_drain(ctx, "supervisor asked");
	return 0;
}

static const struct ipc_handler worker_from_sup[] = {
	{ IPC_PEER_SETUP,	worker_on_peer_setup },
	{ IPC_DRAIN,		worker_on_drain },
	{ 0, NULL }
};

static void
worker_sup_lost(struct chan *ch, void *ctx)
{
	struct worker *w = ctx;

	/* No supervisor: nobody will restart us or the broker. */
	log_warnx("supervisor_lost", "supervisor is gone; draining");
	chan_free(w->w_sup);
	w->w_sup = NULL;
	worker_drain(w, "supervisor lost");
}

static void
worker_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	log_warnx("drain_deadline", "%zu connections did not close in time",
	    w->w_nconns);
	event_base_loopexit(w->w_base, NULL);
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	if (sig == SIGTERM)
		worker_drain(w, "SIGTERM");
	else if (sig == SIGUSR1)
		log_reopen();
}

/*
 * A burst of logins leaves free pages between the records that stay (the
 * handshake's and the token's transient buffers); glibc keeps them until
 * asked.  Like the broker, trim when the connection count moved by
 * WORKER_TRIM_CONNS since the last trim, at most every WORKER_TRIM_S.
 */
static void
worker_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	size_t n = w->w_nconns;

	if (n + WORKER_TRIM_CONNS <= w->w_trim_conns ||
	    n >= w->w_trim_conns + WORKER_TRIM_CONNS) {
		malloc_trim(0);
		w->w_trim_conns = n;
	}
}

int
worker_main(const struct parley_config *cfg, int slot, int sup_fd, int ws_fd,
    int tls_fd)
{
	struct worker *w = &worker;
	struct ipc_msg m;
	struct ws_conn *c;

	w->w_cfg = cfg;
	w->w_routes = worker_routes;
	w->w_slot = slot;
	w->w_pid = getpid();
	w->w_start_ms = now_wall_ms();
	w->w_id_prefix = ((uint64_t)(slot & 0xff) << 56) |
	    ((uint64_t)(w->w_pid & 0xffffff) << 32);
	snprintf(w->w_broker_name, sizeof(w->w_broker_name), "broker");
	idmap_init(&w->w_conns);
	TAILQ_INIT(&w->w_conn_list);
	STAILQ_INIT(&w->w_gone);
	if ((w->w_base = event_base_new()) == NULL)
		fatalx("libevent", "event_base_new failed");
	conn_io_init(w);
	w->w_sigterm = evsignal_new(w->w_base, SIGTERM, worker_signal_cb, w);
	w->w_sigusr1 = evsignal_new(w->w_base, SIGUSR1, worker_signal_cb, w);
	evsignal_add(w->w_sigterm, NULL);
	evsignal_add(w->w_sigusr1, NULL);
	w->w_drain_deadline = evtimer_new(w->w_base, worker_deadline_cb, w);
	if ((w->w_trim = event_new(w->w_base, -1, EV_PERSIST, worker_trim_cb,
	    w)) == NULL)
		fatalx("libevent", "event_new failed");
	event_add(w->w_trim, &(struct timeval){ WORKER_TRIM_S, 0 });
	{
		char err[512];

		if ((w->w_auth = auth_verifier_new(cfg, err, sizeof(err))) == NULL)
			fatalx("auth", "%s", err);
	}
	if (tls_fd != -1) {
		char err[512];

		if ((w->w_ssl_ctx = tls_ctx_new(cfg, err, sizeof(err))) == NULL)
			fatalx("tls", "%s", err);
	}
	w->w_sup = chan_new(w->w_base, sup_fd, "supervisor", worker_from_sup, w,
	    worker_sup_lost);
	if (listener_start(w, ws_fd, tls_fd) == -1)
		fatalx("listen", "cannot listen on the inherited sockets");

	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_add_u32(&m, IPC_VERSION);
	ipc_add_u8(&m, IPC_ROLE_WORKER);
	ipc_add_u32(&m, (uint32_t)slot);
	ipc_add_u32(&m, (uint32_t)w->w_pid);
	chan_send(w->w_sup, &m, -1);
	log_info("worker_started", "worker %d ready", slot);

	event_base_dispatch(w->w_base);

	while ((c = TAILQ_FIRST(&w->w_conn_list)) != NULL)
		conn_free(c);
	conn_io_fini(w);
	listener_stop(w);
	if (w->w_broker != NULL)
		peer_free(w->w_broker);
	chan_free(w->w_sup);
	event_free(w->w_sigterm);
	event_free(w->w_sigusr1);
	event_free(w->w_trim);
	event_free(w->w_drain_deadline);
	idmap_free(&w->w_conns);
	worker_gone_clear(w);
	auth_verifier_free(w->w_auth);
	SSL_CTX_free(w->w_ssl_ctx);
	event_base_free(w->w_base);
	log_info("worker_exit", "worker %d done", slot);
	return 0;
}
