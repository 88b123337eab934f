/* conn_tls.c: the TLS transport: bufferevent_openssl holds the input and
 * output buffers; shared frames are appended by reference. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "conn_int.h"
#include "fanout.h"
#include "log.h"
#include "state.h"

#define CONN_READ_HIGH		(256 * 1024)

static void
tls_readcb(struct bufferevent *bev, void *arg)
{
	conn_input(arg, bufferevent_get_input(bev));
}

static void
tls_writecb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_out_drained(arg);
}

static void
tls_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct ws_conn *c = arg;

	/* bufferevent_openssl reports a finished TLS handshake this way. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		if (e != 0)
			log_conn(LOG_LVL_DEBUG, c->wc_id, "tls_error", "%s",
			    ERR_reason_error_string(e) ?
			    ERR_reason_error_string(e) : "unknown");
	}
	conn_io_lost(c, (what & BEV_EVENT_ERROR) != 0);
}

static int
tls_start(struct ws_conn *c, int fd, void *ssl)
{
	c->wc_fd = fd;
	c->wc_bev = bufferevent_openssl_socket_new(c->wc_worker->w_base, fd,
	    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->wc_bev == NULL)
		return -1;
	bufferevent_setwatermark(c->wc_bev, EV_READ, 0, CONN_READ_HIGH);
	bufferevent_setcb(c->wc_bev, tls_readcb, tls_writecb, tls_eventcb, c);
	bufferevent_enable(c->wc_bev, EV_READ | EV_WRITE);
	return 0;
}

static void
tls_read_enable(struct ws_conn *c, bool on)
{
	if (!on) {
		bufferevent_disable(c->wc_bev, EV_READ);
		return;
	}
	bufferevent_enable(c->wc_bev, EV_READ);
	/* Bytes may be waiting already: process them from the loop, not
	 * from inside the caller (which may be resuming many connections
	 * and must not be re-entered). */
	if (evbuffer_get_length(bufferevent_get_input(c->wc_bev)) > 0)
		bufferevent_trigger(c->wc_bev, EV_READ,
		    BEV_TRIG_DEFER_CALLBACKS);
}

static int
tls_queue(struct ws_conn *c, struct fanout_block *fb)
{
	return fanout_append(fb, bufferevent_get_output(c->wc_bev));
}

static size_t
tls_pending(const struct ws_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->wc_bev));
}

static void
tls_shutdown(struct ws_conn *c)
{
	/* Not used: a TLS connection is freed once its output drained. */
	(void)c;
}

static void
tls_free(struct ws_conn *c)
{
	bufferevent_free(c->wc_bev);
}

const struct conn_io conn_io_tls = {
	.ci_start = tls_start,
	.ci_read_enable = tls_read_enable,
	.ci_queue = tls_queue,
	.ci_pending = tls_pending,
	.ci_shutdown = tls_shutdown,
	.ci_free = tls_free,
};
