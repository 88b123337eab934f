/*
 * wsbench_net.c: raw epoll, non-blocking sockets and the client side of
 * RFC 6455 for wsbench: the upgrade (Sec-WebSocket-Accept checked), masked
 * frames out, frames scanned in place out of one big shared read buffer.
 *
 * The receive path is the generator's hot path: one read() of up to
 * WB_RBUF_SIZE per readable socket, frames parsed where they lie, only a
 * partial frame at the end copied aside (wc_carry) for the next read.
 */

#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "wsbench.h"
#include "wsbench_sha1.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WB_MAX_HEAD	8192	/* longest 101 response head accepted */
#define WB_EVENTS	512
#define WB_STALL_RCVBUF	4096	/* -S: bytes of receive buffer asked for */
#define WB_STALL_READ_S	5	/* -S: the read-out at the end waits this */

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* ---------------------------------------------------------------------- */
/* buffers */

static void
grow(unsigned char **buf, uint32_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 256;
	unsigned char *nb;

	if (need <= *cap)
		return;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX || (nb = realloc(*buf, ncap)) == NULL) {
		perror("wsbench: realloc");
		exit(2);
	}
	*buf = nb;
	*cap = (uint32_t)ncap;
}

static void
set_pollout(struct wconn *c, int on)
{
	struct epoll_event ev;

	if (c->wc_pollout == on)
		return;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(W.b_epfd, EPOLL_CTL_MOD, c->wc_fd, &ev) == -1) {
		perror("wsbench: epoll_ctl");
		exit(2);
	}
	c->wc_pollout = (uint8_t)on;
}

/* Write at once; what the socket does not take waits for EPOLLOUT. */
static void
conn_write(struct wconn *c, const void *data, size_t len)
{
	ssize_t n = 0;

	if (c->wc_state == WC_CLOSED)
		return;
	if (c->wc_out_len == 0 && c->wc_state != WC_CONNECTING) {
		n = send(c->wc_fd, data, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR) {
				conn_fail(c, "send: %s", strerror(errno));
				return;
			}
			n = 0;
		}
		if ((size_t)n == len)
			return;
	}
	grow(&c->wc_out, &c->wc_out_cap, c->wc_out_len + len - (size_t)n);
	memcpy(c->wc_out + c->wc_out_len, (const char *)data + n,
	    len - (size_t)n);
	c->wc_out_len += (uint32_t)(len - (size_t)n);
	if (c->wc_state != WC_CONNECTING)
		set_pollout(c, 1);
}

static void
conn_flush(struct wconn *c)
{
	ssize_t n;

	while (c->wc_out_len > 0) {
		n = send(c->wc_fd, c->wc_out, c->wc_out_len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			conn_fail(c, "send: %s", strerror(errno));
			return;
		}
		memmove(c->wc_out, c->wc_out + n, c->wc_out_len - (size_t)n);
		c->wc_out_len -= (uint32_t)n;
	}
	set_pollout(c, 0);
}

/* One masked frame with FIN set. */
void
ws_send(struct wconn *c, int opcode, const void *data, size_t len)
{
	unsigned char *p;
	const unsigned char *src = data;
	uint32_t m = rng_next();
	unsigned char mask[4];
	size_t hl, i;

	if (len + 14 > W.b_frame_cap) {
		free(W.b_frame);
		W.b_frame_cap = len + 14;
		W.b_frame = xcalloc(1, W.b_frame_cap);
	}
	p = W.b_frame;
	p[0] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		p[1] = (unsigned char)(0x80 | len);
		hl = 2;
	} else if (len <= 0xffff) {
		p[1] = 0x80 | 126;
		p[2] = (unsigned char)(len >> 8);
		p[3] = (unsigned char)len;
		hl = 4;
	} else {
		p[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			p[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(mask, &m, 4);
	memcpy(p + hl, mask, 4);
	hl += 4;
	for (i = 0; i < len; i++)
		p[hl + i] = src[i] ^ mask[i & 3];
	conn_write(c, p, hl + len);
}

/* ---------------------------------------------------------------------- */
/* connections */

void
conn_close(struct wconn *c)
{
	if (c->wc_state == WC_OPEN)
		W.b_open--;
	else if (c->wc_state == WC_CONNECTING || c->wc_state == WC_HANDSHAKE)
		W.b_pending--;
	if (c->wc_fd >= 0)
		close(c->wc_fd);	/* also leaves the epoll set */
	c->wc_fd = -1;
	c->wc_state = WC_CLOSED;
	free(c->wc_carry);
	free(c->wc_out);
	c->wc_carry = c->wc_out = NULL;
	c->wc_carry_len = c->wc_carry_cap = c->wc_out_len = c->wc_out_cap = 0;
}

void
conn_fail(struct wconn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_close(c);
	wb_fail("connection %d: %s", c->wc_idx, msg);
}

void
conn_start(int idx)
{
	struct wconn *c = &W.b_conns[idx];
	struct epoll_event ev;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		wb_fail("socket: %s (connection %d)", strerror(errno), idx);
		return;
	}
	c->wc_fd = fd;
	c->wc_state = WC_CONNECTING;
	W.b_pending++;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (idx >= wb_members()) {
		/* -S: a small window before connect, so that the server's own
		 * queue (not the kernel's buffers) fills once it stops reading */
		int rcv = WB_STALL_RCVBUF;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	if (W.b_naddrs > 1) {
		/* -A: spread over 127.0.0.1..N, past 64k ports per address */
		struct sockaddr_in src;

		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000001u +
		    (uint32_t)(idx % W.b_naddrs));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			conn_fail(c, "bind: %s", strerror(errno));
			return;
		}
	}
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	c->wc_pollout = 1;
	if (epoll_ctl(W.b_epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		conn_fail(c, "epoll_ctl: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&W.b_addr, sizeof(W.b_addr)) == -1 &&
	    errno != EINPROGRESS)
		conn_fail(c, "connect: %s", strerror(errno));
}

void
connect_more(void)
{
	while (W.b_next_connect < W.b_nconns &&
	    W.b_pending < WB_CONNECT_BATCH && !W.b_failed)
		conn_start(W.b_next_connect++);
}

/* The TCP connect finished: send the upgrade request. */
static void
conn_connected(struct wconn *c)
{
	unsigned char nonce[16], digest[20];
	char key[32], cat[128], req[4096];
	int err = 0, i, n;
	socklen_t len = sizeof(err);

	if (getsockopt(c->wc_fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		conn_fail(c, "connect: %s", strerror(err ? err : errno));
		return;
	}
	for (i = 0; i < 16; i += 4) {
		uint32_t r = rng_next();

		memcpy(nonce + i, &r, 4);
	}
	base64(nonce, sizeof(nonce), key);
	snprintf(cat, sizeof(cat), "%s%s", key, WS_GUID);
	sha1((unsigned char *)cat, strlen(cat), digest);
	base64(digest, sizeof(digest), c->wc_accept);
	if (W.b_ntokens > 0)
		n = snprintf(req, sizeof(req), "GET %s?token=%s HTTP/1.1\r\n",
		    W.b_path, W.b_tokens[c->wc_idx % W.b_ntokens]);
	else
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n", W.b_path);
	n += snprintf(req + n, sizeof(req) - (size_t)n,
	    "Host: %s:%d\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n", W.b_host, W.b_port, key);
	if (n >= (int)sizeof(req)) {
		conn_fail(c, "request too long");
		return;
	}
	c->wc_state = WC_HANDSHAKE;
	set_pollout(c, 0);
	conn_write(c, req, (size_t)n);
}

/* The 101 response head in buf[0..n); returns its length, 0 when more is
 * needed, -1 when c failed. */
static long
read_handshake(struct wconn *c, unsigned char *buf, size_t n)
{
	static const char hdr[] = "\r\nSec-WebSocket-Accept:";
	unsigned char *end = memmem(buf, n, "\r\n\r\n", 4);
	char *p;
	size_t hn;

	if (end == NULL) {
		if (n > WB_MAX_HEAD) {
			conn_fail(c, "response head too long");
			return -1;
		}
		return 0;
	}
	hn = (size_t)(end - buf) + 4;
	if (hn < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
		p = memchr(buf, '\r', hn);
		conn_fail(c, "upgrade refused: %.*s",
		    (int)(p ? p - (char *)buf : 40), (char *)buf);
		return -1;
	}
	p = memmem(buf, hn, hdr, sizeof(hdr) - 1);
	if (p != NULL) {
		p += sizeof(hdr) - 1;
		while (*p == ' ')
			p++;
	}
	if (p == NULL || strncmp(p, c->wc_accept, strlen(c->wc_accept)) != 0) {
		conn_fail(c, "missing or wrong Sec-WebSocket-Accept");
		return -1;
	}
	c->wc_state = WC_OPEN;
	W.b_pending--;
	W.b_open++;
	W.b_t_progress = W.b_now;
	job_on_open(c);
	connect_more();
	return (long)hn;
}

/* Every complete frame in buf[0..n); returns the bytes consumed, or -1
 * when c was closed. */
static long
read_frames(struct wconn *c, unsigned char *buf, size_t n)
{
	size_t off = 0;

	while (n - off >= 2) {
		unsigned char *h = buf + off;
		size_t avail = n - off, hl = 2;
		uint64_t len = h[1] & 0x7f;
		int fin = h[0] & 0x80, op = h[0] & 0x0f;

		if (h[1] & 0x80) {
			conn_fail(c, "server sent a masked frame");
			return -1;
		}
		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)h[2] << 8 | h[3];
			hl = 4;
		} else if (len == 127) {
			int i;

			if (avail < 10)
				break;
			for (len = 0, i = 0; i < 8; i++)
				len = len << 8 | h[2 + i];
			hl = 10;
		}
		if (len > WB_MAX_FRAME) {
			conn_fail(c, "frame of %" PRIu64 " bytes", len);
			return -1;
		}
		if (avail < hl + len)
			break;
		off += hl + (size_t)len;
		if (op == WS_OP_PING) {
			ws_send(c, WS_OP_PONG, h + hl, (size_t)len);
		} else if (op == WS_OP_CLOSE) {
			unsigned code = len >= 2 ?
			    (unsigned)h[hl] << 8 | h[hl + 1] : 0;

			conn_fail(c, "server closed: %u %.*s", code,
			    len > 2 ? (int)len - 2 : 0, (char *)h + hl + 2);
			return -1;
		} else if (op == WS_OP_PONG) {
			continue;
		} else if (!fin || op == WS_OP_CONT) {
			/* fragments: only echo (which counts bytes) takes them */
			if (W.b_mode != MODE_ECHO) {
				conn_fail(c, "fragmented message");
				return -1;
			}
			c->wc_frag_len += (uint32_t)len;
			if (fin) {
				job_on_message(c, WS_OP_BINARY, NULL,
				    c->wc_frag_len);
				c->wc_frag_len = 0;
			}
		} else
			job_on_message(c, op, h + hl, (size_t)len);
		if (c->wc_state != WC_OPEN)
			return -1;
	}
	return (long)off;
}

static void
conn_readable(struct wconn *c)
{
	unsigned char *buf = W.b_rbuf;
	size_t have, room;
	ssize_t n;
	long used, head;

	for (;;) {
		have = c->wc_carry_len;
		if (have > 0)
			memcpy(buf, c->wc_carry, have);
		room = WB_RBUF_SIZE - have;
		n = recv(c->wc_fd, buf + have, room, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_fail(c, "recv: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			conn_fail(c, "connection closed by the server");
			return;
		}
		have += (size_t)n;
		used = 0;
		if (c->wc_state == WC_HANDSHAKE) {
			if ((head = read_handshake(c, buf, have)) == -1)
				return;
			used = head;
		}
		if (c->wc_state == WC_OPEN) {
			long f = read_frames(c, buf + used, have - (size_t)used);

			if (f == -1)
				return;
			used += f;
		}
		c->wc_carry_len = (uint32_t)(have - (size_t)used);
		if (c->wc_carry_len > 0) {
			grow(&c->wc_carry, &c->wc_carry_cap, c->wc_carry_len);
			memcpy(c->wc_carry, buf + used, c->wc_carry_len);
		}
		if ((size_t)n < room)
			return;		/* the socket is drained */
	}
}

/* ---------------------------------------------------------------------- */
/* the loop */

void
net_init(void)
{
	W.b_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (W.b_epfd == -1) {
		perror("wsbench: epoll_create1");
		exit(2);
	}
	W.b_rbuf = xcalloc(1, WB_RBUF_SIZE);
}

void
net_loop(void)
{
	struct epoll_event ev[WB_EVENTS];
	int i, n, timeout;
	int64_t wake;

	while (!W.b_stop && !W.b_signalled) {
		W.b_now = now_ns();
		wake = job_next_wake();
		timeout = 100;
		if (wake != 0) {
			int64_t ms = (wake - W.b_now + 999999) / 1000000;

			timeout = ms < 0 ? 0 : ms < timeout ? (int)ms : timeout;
		}
		if (W.b_poll_ns > 0 && W.b_started) {
			/* -i: wake at most once per interval, so that each
			 * socket has gathered several frames per recv() */
			int64_t next = W.b_t_wake + W.b_poll_ns;

			if (next > W.b_now) {
				struct timespec ts = { 0, (long)(next - W.b_now) };

				nanosleep(&ts, NULL);
			}
			W.b_t_wake = now_ns();
		}
		n = epoll_wait(W.b_epfd, ev, WB_EVENTS, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("wsbench: epoll_wait");
			exit(2);
		}
		W.b_now = now_ns();
		for (i = 0; i < n; i++) {
			struct wconn *c = ev[i].data.ptr;

			if (c->wc_state == WC_CLOSED || c->wc_state == WC_FREE)
				continue;
			if (c->wc_stalled) {
				/* only ERR/HUP wake a stalled socket: stop
				 * watching it (level-triggered); the read-out
				 * at the end says how it ended */
				epoll_ctl(W.b_epfd, EPOLL_CTL_DEL, c->wc_fd,
				    NULL);
				continue;
			}
			if (c->wc_state == WC_CONNECTING) {
				if (ev[i].events & (EPOLLOUT | EPOLLERR |
				    EPOLLHUP))
					conn_connected(c);
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_readable(c);
			if (c->wc_state == WC_OPEN || c->wc_state == WC_HANDSHAKE)
				if (ev[i].events & EPOLLOUT)
					conn_flush(c);
		}
		job_tick();
	}
}

/* ---------------------------------------------------------------------- */
/* -S: stalled members */

/* From now on c is never read: no EPOLLIN (ERR and HUP still wake). */
void
stall_conn(struct wconn *c)
{
	struct epoll_event ev;

	if (c->wc_state != WC_OPEN)
		return;
	ev.events = 0;
	ev.data.ptr = c;
	epoll_ctl(W.b_epfd, EPOLL_CTL_MOD, c->wc_fd, &ev);
	c->wc_pollout = 0;
	c->wc_stalled = 1;
}

/* Read a stalled socket out (the queued data, then the server's close):
 * returns the close code seen (0: none) and sets *end to 1 on EOF, 2 on a
 * reset, 0 when it was still open after WB_STALL_READ_S. */
static unsigned
stalled_read_out(struct wconn *c, int *end, uint64_t *bytes)
{
	unsigned char *buf = W.b_rbuf;
	size_t have = 0, off;
	unsigned code = 0;
	struct timeval tv = { WB_STALL_READ_S, 0 };
	int flags0 = 0;

	*end = 0;
	/* blocking, with a timeout: this is after the measurement */
	setsockopt(c->wc_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (ioctl(c->wc_fd, FIONBIO, &flags0) == -1)
		return 0;
	if (c->wc_carry_len > 0) {
		memcpy(buf, c->wc_carry, c->wc_carry_len);
		have = c->wc_carry_len;
	}
	for (;;) {
		ssize_t n = recv(c->wc_fd, buf + have, WB_RBUF_SIZE - have, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*end = errno == ECONNRESET ? 2 : 0;
			return code;
		}
		if (n == 0) {
			*end = 1;
			return code;
		}
		*bytes += (uint64_t)n;
		have += (size_t)n;
		/* step over whole frames; note a close frame's code */
		off = 0;
		while (have - off >= 2) {
			unsigned char *h = buf + off;
			uint64_t len = h[1] & 0x7f;
			size_t hl = 2;
			int i;

			if (len == 126) {
				if (have - off < 4)
					break;
				len = (uint64_t)h[2] << 8 | h[3];
				hl = 4;
			} else if (len == 127) {
				if (have - off < 10)
					break;
				for (len = 0, i = 0; i < 8; i++)
					len = len << 8 | h[2 + i];
				hl = 10;
			}
			if (len > WB_MAX_FRAME)
				return code;	/* not a stream we understand */
			if (have - off < hl + len)
				break;
			if ((h[0] & 0x0f) == WS_OP_CLOSE && len >= 2)
				code = (unsigned)h[hl] << 8 | h[hl + 1];
			off += hl + (size_t)len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
}

/* The "STALLED" line: how the stalled members ended. */
void
stalled_report(void)
{
	int i, closed = 0, c1013 = 0, other = 0, eof = 0, rst = 0, open = 0;
	uint64_t bytes = 0;
	int64_t t0 = now_ns();

	for (i = wb_members(); i < W.b_nconns; i++) {
		struct wconn *c = &W.b_conns[i];
		unsigned code;
		int end;

		if (c->wc_state != WC_OPEN) {
			closed++;	/* failed before the load: not stalled */
			continue;
		}
		code = stalled_read_out(c, &end, &bytes);
		if (code == 1013)
			c1013++;
		else if (code != 0)
			other++;
		if (end == 1)
			eof++;
		else if (end == 2)
			rst++;
		else if (code == 0)
			open++;
		if (code != 0 || end != 0)
			closed++;
		conn_close(c);
	}
	printf("STALLED n=%d closed=%d code1013=%d other_code=%d eof=%d "
	    "reset=%d still_open=%d bytes_read=%" PRIu64 " read_out_s=%.3f\n",
	    W.b_nstalled, closed, c1013, other, eof, rst, open, bytes,
	    (double)(now_ns() - t0) / 1e9);
	fflush(stdout);
}
