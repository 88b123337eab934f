/* peer.c: read, frame, size-check and dispatch IPC messages; queue output
 * with limits.  Nothing else in parley touches an IPC socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "util.h"

static ipc_handler_fn
handler_lookup(const struct ipc_handler *table, uint16_t type)
{
	for (; table->ih_fn != NULL; table++)
		if (table->ih_type == type)
			return table->ih_fn;
	return NULL;
}

static void
peer_lose(struct peer *p)
{
	if (p->p_dead)
		return;
	p->p_dead = true;
	bufferevent_disable(p->p_bev, EV_READ | EV_WRITE);
	/* Inside its own dispatch loop the peer must outlive the handler:
	 * peer_readcb reports the loss when the loop is done. */
	if (p->p_in_dispatch)
		return;
	/* The owner frees the peer from here; never touch p afterwards. */
	p->p_lost(p, p->p_ctx);
}

/* Dispatch one message; -1 means the peer must be dropped. */
static int
peer_dispatch(struct peer *p, const struct ipc_hdr *h, const uint8_t *payload)
{
	struct ipc_reader r;
	ipc_handler_fn fn;
	int fd = -1;

	if (p->p_hello != 0 && !p->p_greeted && h->hd_type != p->p_hello) {
		log_warnx("ipc_no_hello", "%s sent %s before %s", p->p_name,
		    ipc_type_name(h->hd_type), ipc_type_name(p->p_hello));
		return -1;
	}
	if ((fn = handler_lookup(p->p_table, h->hd_type)) == NULL) {
		log_warnx("ipc_unexpected", "%s sent %s", p->p_name,
		    ipc_type_name(h->hd_type));
		return -1;
	}
	ipc_reader_init(&r, payload, h->hd_len);
	if (fn(p->p_ctx, h, &r, &fd) == -1) {
		log_warnx("ipc_malformed", "%s sent a malformed %s", p->p_name,
		    ipc_type_name(h->hd_type));
		return -1;
	}
	if (h->hd_type == p->p_hello)
		p->p_greeted = true;
	return 0;
}

static void
peer_readcb(struct bufferevent *bev, void *arg)
{
	struct peer *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hbuf[IPC_HDR_SIZE];
	struct ipc_hdr h;
	int rc = 0;

	p->p_in_dispatch = true;
	/* Stop at once when a handler paused us (back-pressure): what is
	 * buffered waits for peer_pause(p, false). */
	while (!p->p_dead && !p->p_paused &&
	    evbuffer_get_length(in) >= IPC_HDR_SIZE) {
		uint8_t *msg;

		evbuffer_copyout(in, hbuf, sizeof(hbuf));
		if (ipc_hdr_decode(hbuf, &h) == -1) {
			log_warnx("ipc_bad_header", "%s sent a bad header "
			    "(type 0x%04x)", p->p_name, h.hd_type);
			rc = -1;
			break;
		}
		if (evbuffer_get_length(in) < IPC_HDR_SIZE + (size_t)h.hd_len)
			break;
		msg = evbuffer_pullup(in, IPC_HDR_SIZE + (ssize_t)h.hd_len);
		rc = peer_dispatch(p, &h, msg + IPC_HDR_SIZE);
		evbuffer_drain(in, IPC_HDR_SIZE + (size_t)h.hd_len);
		if (rc == -1)
			break;
	}
	p->p_in_dispatch = false;
	if (p->p_dead)
		p->p_lost(p, p->p_ctx);	/* lost during dispatch */
	else if (rc == -1)
		peer_lose(p);
}

static void
peer_writecb(struct bufferevent *bev, void *arg)
{
	struct peer *p = arg;

	if (p->p_close_when_flushed &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		peer_lose(p);
		return;
	}
	if (p->p_flushed != NULL && peer_queued(p) == 0) {
		void (*fn)(struct peer *, void *) = p->p_flushed;

		p->p_flushed = NULL;
		fn(p, p->p_ctx);
		return;
	}
	if (p->p_congested && peer_queued(p) <= p->p_out_high / 2) {
		p->p_congested = false;
		log_info("ipc_drained", "%s output drained", p->p_name);
		if (p->p_pressure != NULL)
			p->p_pressure(p, false, p->p_ctx);
	}
}

static void
peer_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct peer *p = arg;

	if (what & BEV_EVENT_ERROR)
		log_warnx("ipc_lost", "%s: %s", p->p_name,
		    strerror(EVUTIL_SOCKET_ERROR()));
	else if (!p->p_close_when_flushed)
		log_info("ipc_lost", "%s closed its end", p->p_name);
	peer_lose(p);
}

struct peer *
peer_new(struct event_base *base, int fd, const char *name,
    const struct ipc_handler *table, void *ctx, peer_lost_fn lost)
{
	struct peer *p = xcalloc(1, sizeof(*p));

	fd_set_nonblock(fd);
	p->p_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (p->p_bev == NULL) {
		free(p);
		close(fd);
		return NULL;
	}
	p->p_name = name;
	p->p_table = table;
	p->p_ctx = ctx;
	p->p_lost = lost;
	p->p_out_high = PEER_OUT_HIGH;
	p->p_out_max = PEER_OUT_MAX;
	/* The write callback fires when output falls to the low mark. */
	bufferevent_setwatermark(p->p_bev, EV_WRITE, p->p_out_high / 2, 0);
	bufferevent_setcb(p->p_bev, peer_readcb, peer_writecb, peer_eventcb, p);
	bufferevent_enable(p->p_bev, EV_READ | EV_WRITE);
	return p;
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	bufferevent_free(p->p_bev);
	free(p);
}

size_t
peer_queued(const struct peer *p)
{
	return evbuffer_get_length(bufferevent_get_output(p->p_bev));
}

int
peer_send(struct peer *p, struct ipc_msg *m)
{
	int rc = -1;

	if (p->p_dead)
		goto out;
	if (ipc_msg_finish(m) == -1) {
		log_warnx("ipc_compose", "bad %s for %s", ipc_type_name(
		    ((struct ipc_hdr *)(void *)m->im_buf)->hd_type), p->p_name);
		goto out;
	}
	if (peer_queued(p) + m->im_len > p->p_out_max) {
		log_warnx("ipc_full", "%s output queue is full (%zu bytes)",
		    p->p_name, peer_queued(p));
		goto out;
	}
	if (bufferevent_write(p->p_bev, m->im_buf, m->im_len) == -1)
		goto out;
	rc = 0;
	if (!p->p_congested && peer_queued(p) > p->p_out_high) {
		p->p_congested = true;
		log_warnx("ipc_congested", "%s output above %zu bytes",
		    p->p_name, p->p_out_high);
		if (p->p_pressure != NULL)
			p->p_pressure(p, true, p->p_ctx);
	}
out:
	ipc_msg_free(m);
	return rc;
}

int
peer_compose(struct peer *p, uint16_t type, uint64_t conn_id,
    const void *data, size_t len)
{
	struct ipc_msg m;

	ipc_msg_init(&m, type, conn_id);
	if (len > 0)
		ipc_add_data(&m, data, len);
	return peer_send(p, &m);
}

void
peer_expect_hello(struct peer *p, uint16_t hello)
{
	p->p_hello = hello;
}

void
peer_pause(struct peer *p, bool paused)
{
	if (p->p_dead || p->p_paused == paused)
		return;
	p->p_paused = paused;
	if (paused)
		bufferevent_disable(p->p_bev, EV_READ);
	else {
		bufferevent_enable(p->p_bev, EV_READ);
		/* Messages may be buffered already: run them from the loop,
		 * not from inside whoever resumed us. */
		if (evbuffer_get_length(bufferevent_get_input(p->p_bev)) > 0)
			bufferevent_trigger(p->p_bev, EV_READ,
			    BEV_TRIG_DEFER_CALLBACKS);
	}
}

void
peer_when_flushed(struct peer *p, void (*fn)(struct peer *, void *))
{
	if (p->p_dead || peer_queued(p) == 0) {
		fn(p, p->p_ctx);
		return;
	}
	p->p_flushed = fn;
	/* The write callback must run when the queue reaches zero. */
	bufferevent_setwatermark(p->p_bev, EV_WRITE, 0, 0);
}

void
peer_close_when_flushed(struct peer *p)
{
	p->p_close_when_flushed = true;
	bufferevent_disable(p->p_bev, EV_READ);
	if (peer_queued(p) == 0)
		peer_lose(p);
	else
		bufferevent_setwatermark(p->p_bev, EV_WRITE, 0, 0);
}

/* Supervisor channels. */

static void
chan_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct chan *c = arg;
	uint8_t buf[IPC_HDR_SIZE + 4096];
	struct ipc_hdr h;
	struct ipc_reader r;
	ipc_handler_fn fn;
	int pfd;

	for (;;) {
		ssize_t n = ipc_seqpacket_recv(c->c_fd, buf, sizeof(buf), &h,
		    &pfd);

		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			log_warn("chan_read", "%s", c->c_name);
			goto lost;
		}
		if (n == 0 && h.hd_type == 0)
			goto lost;
		if ((fn = handler_lookup(c->c_table, h.hd_type)) == NULL) {
			log_warnx("ipc_unexpected", "%s sent %s", c->c_name,
			    ipc_type_name(h.hd_type));
			if (pfd != -1)
				close(pfd);
			goto lost;
		}
		ipc_reader_init(&r, buf + IPC_HDR_SIZE, (size_t)n);
		if (fn(c->c_ctx, &h, &r, &pfd) == -1) {
			log_warnx("ipc_malformed", "%s sent a malformed %s",
			    c->c_name, ipc_type_name(h.hd_type));
			if (pfd != -1)
				close(pfd);
			goto lost;
		}
		if (pfd != -1)
			close(pfd);
	}
lost:
	event_del(c->c_ev);
	c->c_lost(c, c->c_ctx);
}

struct chan *
chan_new(struct event_base *base, int fd, const char *name,
    const struct ipc_handler *table, void *ctx,
    void (*lost)(struct chan *, void *))
{
	struct chan *c = xcalloc(1, sizeof(*c));

	fd_set_nonblock(fd);
	c->c_name = name;
	c->c_fd = fd;
	c->c_table = table;
	c->c_ctx = ctx;
	c->c_lost = lost;
	c->c_ev = event_new(base, fd, EV_READ | EV_PERSIST, chan_readcb, c);
	event_add(c->c_ev, NULL);
	return c;
}

void
chan_free(struct chan *c)
{
	if (c == NULL)
		return;
	event_free(c->c_ev);
	close(c->c_fd);
	free(c);
}

int
chan_send(struct chan *c, struct ipc_msg *m, int fd)
{
	int rc = -1;

	if (ipc_msg_finish(m) == 0)
		rc = ipc_seqpacket_send(c->c_fd, m, fd);
	if (rc == -1)
		log_warn("chan_send", "%s", c->c_name);
	ipc_msg_free(m);
	return rc;
}
