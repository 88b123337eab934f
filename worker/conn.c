/*
 * conn.c: a client connection's life: birth, the state machine, timers
 * and the close.  Every close goes FLUSHING (our close frame or HTTP
 * answer drains) -> LINGER (write side shut, input discarded until the
 * client closes) -> freed, so a client never loses our last frame to a
 * reset.  The HTTP phase is conn_upgrade.c, input conn_read.c, output
 * conn_out.c, the sockets conn_plain.c and conn_tls.c.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "config.h"
#include "conn.h"
#include "conn_int.h"
#include "deflate.h"
#include "http_upgrade.h"
#include "log.h"
#include "registry.h"
#include "state.h"
#include "util.h"

#define CONN_FLUSH_TIMEOUT_S	5	/* for our last bytes to leave */
#define CONN_LINGER_TIMEOUT_S	2	/* for the client to close after us */

static void	conn_timercb(evutil_socket_t fd, short what, void *arg);

static const char *conn_state_names[CONN_STATE_MAX] = {
	"handshake", "admitting", "open", "flushing", "linger"
};

const char *
conn_state_name(enum conn_state s)
{
	return s < CONN_STATE_MAX ? conn_state_names[s] : "?";
}

void
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

void
conn_arm_timer(struct ws_conn *c, int seconds)
{
	conn_arm_timer_ms(c, (uint64_t)seconds * 1000);
}

static void
conn_keep_addr(struct ws_conn *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		memcpy(c->wc_addr, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, sizeof(struct in_addr));
		c->wc_addr_family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(c->wc_addr, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, sizeof(struct in6_addr));
		c->wc_addr_family = AF_INET6;
	}
}

const char *
conn_addr(const struct ws_conn *c, char buf[CONN_ADDR_STRLEN])
{
	if (c->wc_addr_family == AF_UNSPEC || inet_ntop(c->wc_addr_family,
	    c->wc_addr, buf, CONN_ADDR_STRLEN) == NULL)
		snprintf(buf, CONN_ADDR_STRLEN, "unknown");
	return buf;
}

struct ws_conn *
conn_new(struct worker *w, int fd, const struct sockaddr *sa, int salen,
    void *ssl)
{
	const struct parley_config *cfg = w->w_cfg;
	struct ws_conn *c = xcalloc(1, sizeof(*c));
	char a[CONN_ADDR_STRLEN];
	int on = 1;

	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->wc_worker = w;
	c->wc_id = w->w_id_prefix | ++w->w_id_seq;
	c->wc_tls = ssl != NULL;
	c->wc_io = ssl != NULL ? &conn_io_tls : &conn_io_plain;
	conn_keep_addr(c, sa);
	if (c->wc_io->ci_start(c, fd, ssl) == -1) {
		log_conn(LOG_LVL_WARN, c->wc_id, "conn_alloc",
		    "transport setup failed");
		if (ssl != NULL)
			SSL_free(ssl);
		close(fd);
		free(c);
		return NULL;
	}
	c->wc_timer = evtimer_new(w->w_base, conn_timercb, c);
	c->wc_last_rx_ms = now_mono_ms();
	conn_arm_timer(c, cfg->handshake_timeout);
	worker_conn_added(w, c);
	log_conn(LOG_LVL_DEBUG, c->wc_id, "conn_accept", "from %s%s",
	    conn_addr(c, a), c->wc_tls ? " (tls)" : "");
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
	if (c->wc_msg != NULL)
		evbuffer_free(c->wc_msg);
	deflate_free(c->wc_deflate);
	c->wc_io->ci_free(c);
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
	c->wc_io->ci_read_enable(c, c->wc_paused == 0);
}

/* Closing. */

void
conn_begin_flush(struct ws_conn *c)
{
	conn_set_state(c, CONN_FLUSHING);
	if (c->wc_msg != NULL)
		evbuffer_drain(c->wc_msg, evbuffer_get_length(c->wc_msg));
	conn_arm_timer(c, CONN_FLUSH_TIMEOUT_S);
	/* Keep reading (and discarding) so the client's close is consumed. */
	if (c->wc_paused) {
		c->wc_paused = 0;
		c->wc_io->ci_read_enable(c, true);
	}
	if (conn_out_pending(c) == 0)
		conn_flushed(c);
}

void
conn_flushed(struct ws_conn *c)
{
	/* Everything we meant to say is out: half-close and wait for the
	 * client's FIN, so our close frame is never lost to a reset. */
	if (c->wc_tls) {
		conn_free(c);
		return;
	}
	c->wc_io->ci_shutdown(c);
	conn_set_state(c, CONN_LINGER);
	conn_arm_timer(c, CONN_LINGER_TIMEOUT_S);
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
		conn_out_http_refusal(c, 503, reason, 1);
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
	conn_out_frame(c, WS_OP_CLOSE, payload, len);
	conn_begin_flush(c);
}

void
conn_io_lost(struct ws_conn *c, bool error)
{
	if (error)
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

	char a[CONN_ADDR_STRLEN];

	switch (c->wc_state) {
	case CONN_HANDSHAKE:
		log_conn(LOG_LVL_INFO, c->wc_id, "handshake_timeout",
		    "no complete request head from %s in %d s",
		    conn_addr(c, a), cfg->handshake_timeout);
		conn_free(c);
		return;
	case CONN_ADMITTING:
		/* The broker is away (restarting) or too busy to answer. */
		log_conn(LOG_LVL_INFO, c->wc_id, "http_error",
		    "503 no admission from the broker in %d s",
		    cfg->handshake_timeout);
		conn_out_http_refusal(c, 503,
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
			conn_out_frame(c, WS_OP_PING, NULL, 0);
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
