/*
 * conn.c: a client connection's state machine.  HANDSHAKE reads and checks
 * the HTTP head; OPEN runs the pure frame parser (ws_frame.c) over the input
 * in place and reassembles messages; every close goes FLUSHING (our close
 * frame or HTTP answer drains) -> LINGER (write side shut, input discarded
 * until the client closes) -> freed, so a client never loses our last
 * frame to a reset.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "conn.h"
#include "deflate.h"
#include "fanout.h"
#include "http_upgrade.h"
#include "log.h"
#include "registry.h"
#include "state.h"
#include "util.h"

#define CONN_FLUSH_TIMEOUT_S	5	/* for our last bytes to leave */
#define CONN_LINGER_TIMEOUT_S	2	/* for the client to close after us */
#define CONN_READ_HIGH		(256 * 1024)

static void	conn_readcb(struct bufferevent *bev, void *arg);
static void	conn_writecb(struct bufferevent *bev, void *arg);
static void	conn_eventcb(struct bufferevent *bev, short what, void *arg);
static void	conn_timercb(evutil_socket_t fd, short what, void *arg);

static const char *conn_state_names[CONN_STATE_MAX] = {
	"handshake", "admitting", "open", "flushing", "linger"
};

const char *
conn_state_name(enum conn_state s)
{
	return s < CONN_STATE_MAX ? conn_state_names[s] : "?";
}

static void
conn_set_state(struct ws_conn *c, enum conn_state s)
{
	if (s >= CONN_STATE_MAX)
		fatalx("conn_state", "bad state %d", (int)s);
	log_conn(LOG_LVL_DEBUG, c->wc_id, "conn_state", "%s -> %s",
	    conn_state_name(c->wc_state), conn_state_name(s));
	c->wc_state = s;
}

static void
conn_arm_timer_ms(struct ws_conn *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_add(c->wc_timer, &tv);
}

static void
conn_arm_timer(struct ws_conn *c, int seconds)
{
	conn_arm_timer_ms(c, (uint64_t)seconds * 1000);
}

static void
format_addr(const struct sockaddr *sa, char *out, size_t len)
{
	const void *addr = NULL;

	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (addr == NULL || inet_ntop(sa->sa_family, addr, out,
	    (socklen_t)len) == NULL)
		snprintf(out, len, "unknown");
}

struct ws_conn *
conn_new(struct worker *w, int fd, const struct sockaddr *sa, int salen,
    void *ssl)
{
	const struct parley_config *cfg = w->w_cfg;
	struct ws_conn *c = xcalloc(1, sizeof(*c));
	int on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->wc_worker = w;
	c->wc_id = w->w_id_prefix | ++w->w_id_seq;
	c->wc_tls = ssl != NULL;
	format_addr(sa, c->wc_addr, sizeof(c->wc_addr));
	if (ssl != NULL)
		c->wc_bev = bufferevent_openssl_socket_new(w->w_base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->wc_bev = bufferevent_socket_new(w->w_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->wc_bev == NULL) {
		log_conn(LOG_LVL_WARN, c->wc_id, "conn_alloc",
		    "bufferevent failed");
		if (ssl != NULL)
			SSL_free(ssl);
		close(fd);
		free(c);
		return NULL;
	}
	c->wc_msg = evbuffer_new();
	c->wc_timer = evtimer_new(w->w_base, conn_timercb, c);
	c->wc_last_rx_ms = now_mono_ms();
	bufferevent_setwatermark(c->wc_bev, EV_READ, 0, CONN_READ_HIGH);
	bufferevent_setcb(c->wc_bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_enable(c->wc_bev, EV_READ | EV_WRITE);
	conn_arm_timer(c, cfg->handshake_timeout);
	worker_conn_added(w, c);
	log_conn(LOG_LVL_DEBUG, c->wc_id, "conn_accept", "from %s%s",
	    c->wc_addr, c->wc_tls ? " (tls)" : "");
	if (w->w_broker_congested)
		conn_pause(c, CONN_PAUSE_BROKER, true);
	return c;
}

void
conn_free(struct ws_conn *c)
{
	struct worker *w = c->wc_worker;

	if (c->wc_app != NULL)
		c->wc_app->ca_close(c);
	worker_conn_removed(w, c);
	log_conn(LOG_LVL_DEBUG, c->wc_id, "conn_free", "in state %s",
	    conn_state_name(c->wc_state));
	if (c->wc_upgrade != NULL) {
		http_upgrade_req_free(c->wc_upgrade);
		free(c->wc_upgrade);
	}
	event_free(c->wc_timer);
	evbuffer_free(c->wc_msg);
	deflate_free(c->wc_deflate);
	bufferevent_free(c->wc_bev);
	free(c);
}

void
conn_pause(struct ws_conn *c, unsigned reason, bool paused)
{
	uint8_t was = c->wc_paused;

	if (paused)
		c->wc_paused |= (uint8_t)reason;
	else
		c->wc_paused &= (uint8_t)~reason;
	if ((was != 0) == (c->wc_paused != 0))
		return;
	if (c->wc_paused != 0)
		bufferevent_disable(c->wc_bev, EV_READ);
	else {
		bufferevent_enable(c->wc_bev, EV_READ);
		/* Bytes may be waiting already: process them from the loop,
		 * not from inside the caller (which may be resuming many
		 * connections and must not be re-entered). */
		if (evbuffer_get_length(bufferevent_get_input(c->wc_bev)) > 0)
			bufferevent_trigger(c->wc_bev, EV_READ,
			    BEV_TRIG_DEFER_CALLBACKS);
	}
}

/* Output. */

static struct evbuffer *
conn_output(struct ws_conn *c)
{
	return bufferevent_get_output(c->wc_bev);
}

/* The largest message a client may send: reassembled and, with
 * permessage-deflate, inflated (PROTOCOL.md 1).  The one place that reads
 * max_message_bytes for the frame layer and the chat layer. */
size_t
conn_max_message(const struct ws_conn *c)
{
	return (size_t)c->wc_worker->w_cfg->max_message_bytes;
}

/* A slow consumer is closed rather than buffered without bound. */
static void
conn_check_output(struct ws_conn *c)
{
	size_t queued = evbuffer_get_length(conn_output(c));

	if (queued > cfg_output_limit(c->wc_worker->w_cfg)) {
		log_conn(LOG_LVL_WARN, c->wc_id, "slow_consumer",
		    "%zu bytes queued, over max_output_bytes", queued);
		conn_close(c, WS_CLOSE_TRY_AGAIN, "slow consumer");
	}
}

static void
conn_send_frame(struct ws_conn *c, uint8_t opcode, const void *data,
    size_t len)
{
	uint8_t hdr[WS_MAX_SERVER_HEADER];
	size_t hlen = ws_frame_header(hdr, opcode, true, false, len);
	struct evbuffer *out = conn_output(c);

	evbuffer_add(out, hdr, hlen);
	if (len > 0)
		evbuffer_add(out, data, len);
}

/* A data message: compressed (RSV1) when permessage-deflate was agreed
 * and the message is long enough to gain from it. */
static void
conn_send_data(struct ws_conn *c, uint8_t opcode, const void *data,
    size_t len)
{
	uint8_t hdr[WS_MAX_SERVER_HEADER];
	struct evbuffer *z;
	size_t hlen;

	if (c->wc_deflate == NULL || len < DEFLATE_MIN_BYTES) {
		conn_send_frame(c, opcode, data, len);
		return;
	}
	if ((z = evbuffer_new()) == NULL ||
	    deflate_compress(c->wc_deflate, data, len, z) == -1) {
		if (z != NULL)
			evbuffer_free(z);
		conn_close(c, WS_CLOSE_INTERNAL, "compression failed");
		return;
	}
	hlen = ws_frame_header(hdr, opcode, true, true,
	    evbuffer_get_length(z));
	evbuffer_add(conn_output(c), hdr, hlen);
	evbuffer_add_buffer(conn_output(c), z);
	evbuffer_free(z);
}

void
conn_send_text(struct ws_conn *c, const char *text, size_t len)
{
	if (c->wc_state != CONN_OPEN)
		return;
	conn_send_data(c, WS_OP_TEXT, text, len);
	conn_check_output(c);
}

void
conn_send_shared(struct ws_conn *c, struct fanout_block *fb)
{
	if (c->wc_state != CONN_OPEN)
		return;
	if (c->wc_deflate != NULL &&
	    fanout_payload_len(fb) >= DEFLATE_MIN_BYTES) {
		/* Without context takeover, every such connection with the
		 * same window gets the same bytes: compress once, share. */
		if (deflate_params(c->wc_deflate)->
		    dp_server_no_context_takeover)
			fb = fanout_deflated(fb, c->wc_deflate);
		else {
			conn_send_data(c, fb->fb_opcode, fanout_payload(fb),
			    fanout_payload_len(fb));
			conn_check_output(c);
			return;
		}
	}
	if (fb == NULL || fanout_append(fb, conn_output(c)) == -1) {
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	conn_check_output(c);
}

/* Closing. */

static void
conn_begin_flush(struct ws_conn *c)
{
	conn_set_state(c, CONN_FLUSHING);
	evbuffer_drain(c->wc_msg, evbuffer_get_length(c->wc_msg));
	conn_arm_timer(c, CONN_FLUSH_TIMEOUT_S);
	/* Keep reading (and discarding) so the client's close is consumed. */
	if (c->wc_paused) {
		c->wc_paused = 0;
		bufferevent_enable(c->wc_bev, EV_READ);
	}
	if (evbuffer_get_length(conn_output(c)) == 0)
		conn_writecb(c->wc_bev, c);
}

void
conn_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
	size_t len;

	if (c->wc_state == CONN_ADMITTING) {
		/* A valid upgrade waiting for the broker's word (a drain):
		 * answered, through FLUSHING, not dropped. */
		log_conn(LOG_LVL_INFO, c->wc_id, "http_error", "503 %s",
		    reason ? reason : "");
		http_write_refusal(conn_output(c), 503, reason, 1);
		conn_begin_flush(c);
		return;
	}
	if (c->wc_state != CONN_OPEN) {
		if (c->wc_state == CONN_HANDSHAKE)
			conn_free(c);
		return;
	}
	c->wc_close_code = code;
	log_conn(code == WS_CLOSE_NORMAL || code == WS_CLOSE_GOING_AWAY ?
	    LOG_LVL_DEBUG : LOG_LVL_INFO, c->wc_id, "ws_close",
	    "sending %u %s", code, reason ? reason : "");
	len = code == WS_CLOSE_NO_STATUS ? 0 :
	    ws_close_payload(payload, code, reason);
	conn_send_frame(c, WS_OP_CLOSE, payload, len);
	conn_begin_flush(c);
}

static void
conn_http_error(struct ws_conn *c, int status, const char *why)
{
	log_conn(LOG_LVL_INFO, c->wc_id, "http_error", "%d %s from %s",
	    status, why, c->wc_addr);
	http_write_error(conn_output(c), status, why);
	conn_begin_flush(c);
}

/* The upgrade. */

static bool
origin_allowed(const char *list, const char *origin)
{
	size_t olen;
	const char *p;

	if (list == NULL || list[0] == '\0')
		return true;
	/* Browsers always send Origin on a WebSocket upgrade; its absence
	 * means a server or a bot, which cross-site hijacking cannot use
	 * (and which still needs a token). */
	if (origin == NULL)
		return true;
	olen = strlen(origin);
	for (p = list; *p != '\0';) {
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n == olen && strncasecmp(p, origin, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* The endpoint at path: a row of the worker's table whose configured path
 * is set (an empty one is off) and equal; NULL if none. */
static const struct conn_route *
conn_route_find(const struct conn_route *routes,
    const struct parley_config *cfg, const char *path)
{
	for (const struct conn_route *r = routes;
	    r->cr_endpoint != CONN_EP_NONE; r++) {
		const char *p = *(char *const *)(const void *)
		    ((const char *)cfg + r->cr_path_off);

		if (p != NULL && p[0] != '\0' && strcmp(p, path) == 0)
			return r;
	}
	return NULL;
}

static void
conn_upgrade(struct ws_conn *c, const char *head, size_t len)
{
	const struct parley_config *cfg = c->wc_worker->w_cfg;
	const struct conn_route *route;
	struct http_upgrade_req req;
	const char *why = "";
	int status;

	memset(&req, 0, sizeof(req));
	if ((status = http_upgrade_parse(head, len, &req, &why)) != 0) {
		conn_http_error(c, status, why);
		goto done;
	}
	if ((route = conn_route_find(c->wc_worker->w_routes, cfg,
	    req.hu_path)) == NULL) {
		conn_http_error(c, 404, "no WebSocket endpoint at this path");
		goto done;
	}
	c->wc_endpoint = route->cr_endpoint;
	c->wc_app = route->cr_app;
	if (!origin_allowed(cfg->allowed_origins, req.hu_origin)) {
		c->wc_endpoint = CONN_EP_NONE;
		c->wc_app = NULL;
		conn_http_error(c, 403, "origin not allowed");
		goto done;
	}
	/* The broker decides the per-address limits before the 101; until
	 * then nothing is read (a client may not send frames yet). */
	c->wc_upgrade = xmalloc(sizeof(*c->wc_upgrade));
	*c->wc_upgrade = req;
	memset(&req, 0, sizeof(req));
	conn_set_state(c, CONN_ADMITTING);
	conn_pause(c, CONN_PAUSE_ADMIT, true);
	conn_arm_timer(c, cfg->handshake_timeout);
	worker_register_conn(c->wc_worker, c, false);
done:
	http_upgrade_req_free(&req);
}

void
conn_admitted(struct ws_conn *c)
{
	const struct parley_config *cfg = c->wc_worker->w_cfg;
	struct http_upgrade_req *req = c->wc_upgrade;
	char accept[HTTP_WS_ACCEPT_LEN + 1], ext[DEFLATE_HDR_MAX];
	struct deflate_params dp;
	bool pmd;

	if (c->wc_state != CONN_ADMITTING || req == NULL)
		return;
	c->wc_upgrade = NULL;
	http_ws_accept(req->hu_key, accept);
	pmd = cfg->permessage_deflate &&
	    deflate_negotiate(req, &dp, ext, sizeof(ext)) == 0;
	http_write_101(conn_output(c), accept, pmd ? ext : NULL);
	conn_set_state(c, CONN_OPEN);
	/* With deflate the wire bound is looser (incompressible data grows a
	 * little); the inflated size, and an uncompressed message's size,
	 * are held to max_message_bytes in conn_read_frames/conn_inflate. */
	ws_parser_init(&c->wc_parser, pmd ?
	    deflate_wire_bound(conn_max_message(c)) : conn_max_message(c));
	c->wc_parser.wp_validate_utf8 = true;
	if (pmd) {
		c->wc_deflate = deflate_new(&dp);
		c->wc_parser.wp_allow_rsv1 = true;
	}
	c->wc_last_rx_ms = now_mono_ms();
	conn_arm_timer(c, cfg->ping_interval);
	log_conn(LOG_LVL_DEBUG, c->wc_id, "ws_open", "%s from %s%s%s",
	    req->hu_path, c->wc_addr, pmd ? ", " : "", pmd ? ext : "");
	conn_pause(c, CONN_PAUSE_ADMIT, false);
	if (c->wc_app != NULL)
		c->wc_app->ca_open(c, req);
	http_upgrade_req_free(req);
	free(req);
}

void
conn_refused(struct ws_conn *c, uint64_t retry_after_ms, const char *why)
{
	if (c->wc_state != CONN_ADMITTING)
		return;
	log_conn(LOG_LVL_INFO, c->wc_id, "http_error", "429 %s from %s", why,
	    c->wc_addr);
	http_write_refusal(conn_output(c), 429, why,
	    (unsigned)((retry_after_ms + 999) / 1000));
	conn_begin_flush(c);
}

/* Returns false when the connection left HANDSHAKE some other way. */
static bool
conn_read_head(struct ws_conn *c, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	size_t look = avail < HTTP_MAX_HEAD ? avail : HTTP_MAX_HEAD;
	const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)look);
	long end = http_upgrade_head_end(buf, look, HTTP_MAX_HEAD);

	if (end == 0 && avail >= HTTP_MAX_HEAD)
		end = -1;
	if (end == 0)
		return false;
	if (end < 0) {
		evbuffer_drain(in, avail);
		conn_http_error(c, 431, "request head over 8 KiB");
		return false;
	}
	conn_upgrade(c, buf, (size_t)end);
	/* The head may carry a token (query string, Authorization). */
	explicit_bzero((char *)(uintptr_t)buf, (size_t)end);
	evbuffer_drain(in, (size_t)end);
	return false;	/* frames are read once the broker admits it */
}

/* Frames. */

static bool
conn_msg_utf8_valid(struct evbuffer *msg)
{
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v;
	struct utf8_state u;

	utf8_init(&u);
	if (evbuffer_ptr_set(msg, &pos, 0, EVBUFFER_PTR_SET) == -1)
		return false;
	while (evbuffer_peek(msg, -1, &pos, &v, 1) > 0 && v.iov_len > 0) {
		if (!utf8_feed(&u, v.iov_base, v.iov_len))
			return false;
		if (evbuffer_ptr_set(msg, &pos, v.iov_len,
		    EVBUFFER_PTR_ADD) == -1)
			break;
	}
	return utf8_complete(&u);
}

/* Replace the compressed message in wc_msg by its inflated text; checks
 * the size limit (1009), the DEFLATE data and, for text, UTF-8 (1007). */
static int
conn_inflate_message(struct ws_conn *c)
{
	struct evbuffer *plain = evbuffer_new();
	enum deflate_result r = DEFLATE_NOMEM;

	if (plain != NULL)
		r = deflate_inflate(c->wc_deflate, c->wc_msg, plain,
		    conn_max_message(c));
	switch (r) {
	case DEFLATE_OK:
		break;
	case DEFLATE_TOO_BIG:
		conn_close(c, WS_CLOSE_TOO_BIG, "message too big");
		goto fail;
	case DEFLATE_CORRUPT:
		conn_close(c, WS_CLOSE_INVALID_DATA,
		    "invalid compressed data");
		goto fail;
	case DEFLATE_NOMEM:
	default:
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
		goto fail;
	}
	if (c->wc_msg_opcode == WS_OP_TEXT && !conn_msg_utf8_valid(plain)) {
		conn_close(c, WS_CLOSE_INVALID_DATA, "invalid utf-8");
		goto fail;
	}
	evbuffer_add_buffer(c->wc_msg, plain);
	evbuffer_free(plain);
	return 0;
fail:
	if (plain != NULL)
		evbuffer_free(plain);
	return -1;
}

static void
conn_on_message(struct ws_conn *c)
{
	struct evbuffer *msg = c->wc_msg;
	size_t len;

	if (c->wc_msg_compressed && conn_inflate_message(c) == -1)
		return;
	len = evbuffer_get_length(msg);
	if (c->wc_endpoint == CONN_EP_ECHO && c->wc_deflate != NULL) {
		conn_send_data(c, c->wc_msg_opcode, evbuffer_pullup(msg, -1),
		    len);
		evbuffer_drain(msg, len);
		conn_check_output(c);
		return;
	}
	if (c->wc_endpoint == CONN_EP_ECHO) {
		uint8_t hdr[WS_MAX_SERVER_HEADER];
		size_t hlen = ws_frame_header(hdr, c->wc_msg_opcode, true,
		    false, len);

		/* Move the reassembled chains to the output: no copy. */
		evbuffer_add(conn_output(c), hdr, hlen);
		evbuffer_add_buffer(conn_output(c), msg);
		conn_check_output(c);
		return;
	}
	if (c->wc_msg_opcode == WS_OP_BINARY) {
		conn_close(c, WS_CLOSE_UNSUPPORTED, "binary messages are not "
		    "accepted");
		return;
	}
	if (c->wc_app != NULL)
		c->wc_app->ca_text(c, (const char *)evbuffer_pullup(msg, -1),
		    len);
	evbuffer_drain(msg, len);
}

static void
conn_on_control(struct ws_conn *c, const struct ws_event *ev)
{
	switch (ev->opcode) {
	case WS_OP_PING:
		conn_send_frame(c, WS_OP_PONG, ev->data, ev->len);
		conn_check_output(c);
		break;
	case WS_OP_PONG:
		break;
	case WS_OP_CLOSE:
		/* Echo the client's code (RFC 6455 5.5.1), then close. */
		log_conn(LOG_LVL_DEBUG, c->wc_id, "ws_peer_close", "code %u",
		    ev->close_code);
		c->wc_close_code = ev->close_code;
		if (ev->close_code == WS_CLOSE_NO_STATUS)
			conn_send_frame(c, WS_OP_CLOSE, NULL, 0);
		else {
			uint8_t payload[2] = { ev->close_code >> 8,
			    ev->close_code & 0xff };

			conn_send_frame(c, WS_OP_CLOSE, payload, 2);
		}
		conn_begin_flush(c);
		break;
	}
}

/* Run the parser over the input in place, chunk by chunk.  The parser
 * reports one event per call and may owe one (MESSAGE_END) after the
 * input is used up, so call it until it has nothing left to say. */
static void
conn_read_frames(struct ws_conn *c, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	struct ws_event ev;
	uint8_t empty[1];

	while (c->wc_state == CONN_OPEN && !c->wc_paused) {
		uint8_t *buf = empty;
		size_t len = 0, used;

		if (evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
			len = v.iov_len;
			buf = evbuffer_pullup(in, (ssize_t)len);
		}
		used = ws_parser_feed(&c->wc_parser, buf, len, &ev);
		if (used > 0)
			c->wc_last_rx_ms = now_mono_ms();
		switch (ev.type) {
		case WS_EV_NONE:
			break;
		case WS_EV_DATA:
			if (c->wc_endpoint == CONN_EP_CHAT &&
			    ev.opcode == WS_OP_BINARY) {
				evbuffer_drain(in, used);
				conn_close(c, WS_CLOSE_UNSUPPORTED,
				    "binary messages are not accepted");
				return;
			}
			/* Compressed: the wire size is bounded by the
			 * parser, the inflated size by the inflater. */
			if (c->wc_deflate != NULL && !ev.compressed &&
			    evbuffer_get_length(c->wc_msg) + ev.len >
			    conn_max_message(c)) {
				evbuffer_drain(in, evbuffer_get_length(in));
				conn_close(c, WS_CLOSE_TOO_BIG,
				    "message too big");
				return;
			}
			c->wc_msg_opcode = ev.opcode;
			evbuffer_add(c->wc_msg, ev.data, ev.len);
			break;
		case WS_EV_MESSAGE_END:
			c->wc_msg_opcode = ev.opcode;
			c->wc_msg_compressed = ev.compressed;
			evbuffer_drain(in, used);
			conn_on_message(c);
			continue;
		case WS_EV_CONTROL:
			evbuffer_drain(in, used);
			conn_on_control(c, &ev);
			continue;
		case WS_EV_ERROR:
			evbuffer_drain(in, evbuffer_get_length(in));
			log_conn(LOG_LVL_INFO, c->wc_id, "ws_protocol_error",
			    "%s", ev.reason);
			conn_close(c, ev.close_code, ev.reason);
			return;
		}
		evbuffer_drain(in, used);
		if (used == 0 && ev.type == WS_EV_NONE)
			break;
	}
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct ws_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	switch (c->wc_state) {
	case CONN_HANDSHAKE:
		if (!conn_read_head(c, in))
			return;
		/* frames may follow the head at once */
		__attribute__((fallthrough));
	case CONN_OPEN:
		conn_read_frames(c, in);
		break;
	case CONN_FLUSHING:
	case CONN_LINGER:
		evbuffer_drain(in, evbuffer_get_length(in));
		break;
	default:
		break;
	}
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct ws_conn *c = arg;

	if (c->wc_state != CONN_FLUSHING ||
	    evbuffer_get_length(conn_output(c)) > 0)
		return;
	/* Everything we meant to say is out: half-close and wait for the
	 * client's FIN, so our close frame is never lost to a reset. */
	if (c->wc_tls) {
		conn_free(c);
		return;
	}
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	conn_set_state(c, CONN_LINGER);
	conn_arm_timer(c, CONN_LINGER_TIMEOUT_S);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct ws_conn *c = arg;

	/* bufferevent_openssl reports a finished TLS handshake this way. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (c->wc_tls && (what & BEV_EVENT_ERROR)) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		if (e != 0)
			log_conn(LOG_LVL_DEBUG, c->wc_id, "tls_error", "%s",
			    ERR_reason_error_string(e) ?
			    ERR_reason_error_string(e) : "unknown");
	}
	if (what & BEV_EVENT_ERROR)
		log_conn(LOG_LVL_DEBUG, c->wc_id, "conn_error", "%s in %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()),
		    conn_state_name(c->wc_state));
	else if (c->wc_state == CONN_OPEN)
		log_conn(LOG_LVL_DEBUG, c->wc_id, "conn_eof",
		    "client went away without a close frame");
	conn_free(c);
}

static void
conn_timercb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_conn *c = arg;
	const struct parley_config *cfg = c->wc_worker->w_cfg;
	uint64_t idle, now = now_mono_ms();
	uint64_t ping_ms = (uint64_t)cfg->ping_interval * 1000;
	uint64_t idle_ms = (uint64_t)cfg->idle_timeout * 1000;

	switch (c->wc_state) {
	case CONN_HANDSHAKE:
		log_conn(LOG_LVL_INFO, c->wc_id, "handshake_timeout",
		    "no complete request head from %s in %d s", c->wc_addr,
		    cfg->handshake_timeout);
		conn_free(c);
		return;
	case CONN_ADMITTING:
		/* The broker is away (restarting) or too busy to answer. */
		log_conn(LOG_LVL_INFO, c->wc_id, "http_error",
		    "503 no admission from the broker in %d s",
		    cfg->handshake_timeout);
		http_write_refusal(conn_output(c), 503,
		    "the server is restarting; retry", 1);
		conn_begin_flush(c);
		return;
	case CONN_OPEN:
		/* Paused by back-pressure: its frames wait unread, so
		 * silence here is ours, not the client's. */
		if (c->wc_paused)
			c->wc_last_rx_ms = now;
		/* In milliseconds: the ping must go out when the silence
		 * reaches ping_interval, or a client that answers every ping
		 * could still be closed as idle. */
		idle = now - c->wc_last_rx_ms;
		if (idle >= idle_ms) {
			conn_close(c, WS_CLOSE_GOING_AWAY, "idle timeout");
			return;
		}
		if (idle < ping_ms) {
			conn_arm_timer_ms(c, ping_ms - idle);
			return;
		}
		/* One ping per silence: none sent since the last frame in. */
		if (c->wc_ping_at_ms <= c->wc_last_rx_ms) {
			conn_send_frame(c, WS_OP_PING, NULL, 0);
			c->wc_ping_at_ms = now;
		}
		conn_arm_timer_ms(c, idle_ms - idle);
		return;
	case CONN_FLUSHING:
	case CONN_LINGER:
	default:
		conn_free(c);
		return;
	}
}
