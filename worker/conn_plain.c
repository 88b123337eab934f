/*
 * conn_plain.c: the plain TCP transport, without bufferevents.  A raw
 * read event (EV_PERSIST, armed except while paused) and a raw write
 * event armed only while the socket is full, both inside struct ws_conn.
 * Output is corked: what a loop pass queues for a connection goes on the
 * worker's dirty list, and one flush event, made active when the list
 * goes non-empty, runs after the pass's other callbacks and writes each
 * dirty connection with one writev.  Input is read into the worker's one
 * buffer and parsed there; only a cut frame or head (or input that came
 * while paused) is copied to the connection, until it is consumed.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conn.h"
#include "conn_int.h"
#include "fanout.h"
#include "log.h"
#include "outq.h"
#include "state.h"
#include "util.h"

#define CONN_READ_CHUNK	(64 * 1024)	/* one read, into w_rbuf */

/* Keep what the input handler left in the worker's buffer (a cut frame
 * or head, or input while paused) with the connection, copied. */
static void
plain_keep_rest(struct ws_conn *c, struct evbuffer *in)
{
	size_t rest = evbuffer_get_length(in);

	if (rest == 0)
		return;
	if ((c->wc_in = evbuffer_new()) == NULL ||
	    evbuffer_add(c->wc_in, evbuffer_pullup(in, -1), rest) == -1) {
		evbuffer_drain(in, rest);
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	evbuffer_drain(in, rest);
}

static void
plain_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_conn *c = arg;
	struct worker *w = c->wc_worker;
	struct evbuffer *in;
	ssize_t n;

	(void)what;
	n = read(fd, w->w_rbuf, CONN_READ_CHUNK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		conn_io_lost(c, n < 0);
		return;
	}
	if (n < 0)
		n = 0;		/* woken to handle what is kept */
	if (c->wc_in != NULL) {
		/* The slow path: a frame or head was cut last time. */
		in = c->wc_in;
		if (n > 0 && evbuffer_add(in, w->w_rbuf, (size_t)n) == -1) {
			conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
			return;
		}
	} else {
		/* Parsed in place: the evbuffer only refers to w_rbuf. */
		in = w->w_rbuf_ev;
		if (n > 0 && evbuffer_add_reference(in, w->w_rbuf, (size_t)n,
		    NULL, NULL) == -1) {
			conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
			return;
		}
	}
	/* The input's handler may free the connection: w_reading says. */
	w->w_reading = c;
	conn_input(c, in);
	if (w->w_reading != c) {
		evbuffer_drain(w->w_rbuf_ev, evbuffer_get_length(w->w_rbuf_ev));
		return;
	}
	w->w_reading = NULL;
	if (in == w->w_rbuf_ev)
		plain_keep_rest(c, in);
	else if (evbuffer_get_length(in) == 0) {
		evbuffer_free(c->wc_in);
		c->wc_in = NULL;
	}
}

static void plain_writecb(evutil_socket_t fd, short what, void *arg);

/*
 * Write what is queued: drained, wait for room, or give up.  The write
 * event exists only while the socket is full (taken on a partial write,
 * freed when the queue drains), so an idle connection holds none.
 */
static void
plain_flush(struct ws_conn *c)
{
	struct outq_pool *pool = c->wc_worker->w_outq_pool;

	switch (outq_write(&c->wc_outq, c->wc_fd, pool)) {
	case OUTQ_DRAINED:
		if (c->wc_wev != NULL) {
			event_free(c->wc_wev);
			c->wc_wev = NULL;
		}
		conn_out_drained(c);
		break;
	case OUTQ_PARTIAL:
		if (c->wc_wev == NULL) {
			c->wc_wev = event_new(c->wc_worker->w_base, c->wc_fd,
			    EV_WRITE | EV_PERSIST, plain_writecb, c);
			if (c->wc_wev == NULL ||
			    event_add(c->wc_wev, NULL) == -1) {
				conn_io_lost(c, true);
				break;
			}
		}
		break;
	case OUTQ_ERROR:
		conn_io_lost(c, true);
		break;
	}
}

static void
plain_writecb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	plain_flush(arg);
}

/* The end of a loop pass: every connection that had output queued. */
static void
plain_flushcb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct ws_conn *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&w->w_dirty)) != NULL) {
		TAILQ_REMOVE(&w->w_dirty, c, wc_dirty_entry);
		c->wc_dirty = false;
		/* Waiting for EV_WRITE: the socket is full, do not try. */
		if (c->wc_wev == NULL)
			plain_flush(c);
	}
}

static int
plain_start(struct ws_conn *c, int fd, void *ssl)
{
	struct event_base *base = c->wc_worker->w_base;

	(void)ssl;
	if (evutil_make_socket_nonblocking(fd) == -1)
		return -1;
	c->wc_fd = fd;
	event_assign(&c->wc_rev, base, fd, EV_READ | EV_PERSIST,
	    plain_readcb, c);
	event_add(&c->wc_rev, NULL);
	return 0;
}

static void
plain_read_enable(struct ws_conn *c, bool on)
{
	if (!on) {
		event_del(&c->wc_rev);
		return;
	}
	event_add(&c->wc_rev, NULL);
	/* Bytes may be waiting already: handle them from the loop, not
	 * inside the caller (which may be resuming many connections). */
	if (c->wc_in != NULL && evbuffer_get_length(c->wc_in) > 0)
		event_active(&c->wc_rev, EV_READ, 1);
}

static int
plain_queue(struct ws_conn *c, struct fanout_block *fb)
{
	struct worker *w = c->wc_worker;

	if (outq_push(&c->wc_outq, fb, w->w_outq_pool) == -1)
		return -1;
	if (!c->wc_dirty) {
		if (TAILQ_EMPTY(&w->w_dirty))
			event_active(w->w_flush, EV_WRITE, 1);
		TAILQ_INSERT_TAIL(&w->w_dirty, c, wc_dirty_entry);
		c->wc_dirty = true;
	}
	return 0;
}

static size_t
plain_pending(const struct ws_conn *c)
{
	return c->wc_outq.oq_bytes;
}

static void
plain_shutdown(struct ws_conn *c)
{
	shutdown(c->wc_fd, SHUT_WR);
}

static void
plain_free(struct ws_conn *c)
{
	struct worker *w = c->wc_worker;

	if (w->w_reading == c)
		w->w_reading = NULL;
	if (c->wc_dirty)
		TAILQ_REMOVE(&w->w_dirty, c, wc_dirty_entry);
	event_del(&c->wc_rev);
	if (c->wc_wev != NULL)
		event_free(c->wc_wev);
	c->wc_wev = NULL;
	outq_clear(&c->wc_outq, w->w_outq_pool);
	if (c->wc_in != NULL)
		evbuffer_free(c->wc_in);
	close(c->wc_fd);
}

const struct conn_io conn_io_plain = {
	.ci_start = plain_start,
	.ci_read_enable = plain_read_enable,
	.ci_queue = plain_queue,
	.ci_pending = plain_pending,
	.ci_shutdown = plain_shutdown,
	.ci_free = plain_free,
};

void
conn_io_init(struct worker *w)
{
	TAILQ_INIT(&w->w_dirty);
	w->w_flush = event_new(w->w_base, -1, 0, plain_flushcb, w);
	w->w_rbuf = xmalloc(CONN_READ_CHUNK);
	w->w_rbuf_ev = evbuffer_new();
	w->w_outq_pool = xcalloc(1, sizeof(*w->w_outq_pool));
	if (w->w_flush == NULL || w->w_rbuf_ev == NULL)
		fatalx("libevent", "cannot set up the delivery path");
}

void
conn_io_fini(struct worker *w)
{
	event_free(w->w_flush);
	evbuffer_free(w->w_rbuf_ev);
	free(w->w_rbuf);
	outq_pool_clear(w->w_outq_pool);
	free(w->w_outq_pool);
	w->w_outq_pool = NULL;
	w->w_flush = NULL;
	w->w_rbuf = NULL;
	w->w_rbuf_ev = NULL;
}
