/*
 * peer_trivial.c: the least a server can do in wsbench's wire shape, to
 * measure wsbench's own ceiling (docs/BENCHMARKS.md): one epoll loop, /echo
 * and one broadcast room on /ws (every join goes to it), each message's
 * frame built once and written to every member at once.  Not a real server:
 * no auth, no limits, no validation beyond what keeps it from crashing.
 *
 *   peer_trivial PORTFILE
 */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsbench_sha1.h"

#define PT_MAX_FDS	65536
#define PT_IN_CAP	(256u << 10)
#define PT_FRAME_CAP	(64u << 10)

struct pt_conn {
	unsigned char	*in;
	size_t		 in_len;
	unsigned char	*out;		/* what the socket did not take */
	size_t		 out_len;
	int		 open;		/* past the HTTP upgrade */
	int		 chat;		/* /ws (else /echo) */
	int		 member;	/* in the room */
};

static struct pt {
	int		 epfd, lfd;
	struct pt_conn	*conns;		/* by fd */
	int		*members;	/* fds in the room */
	int		 nmembers;
	uint64_t	 seq;
	unsigned char	 frame[PT_FRAME_CAP + 16];
	volatile sig_atomic_t stop;
} P;

static void
on_signal(int sig)
{
	(void)sig;
	P.stop = 1;
}

static void
pt_close(int fd)
{
	struct pt_conn *c = &P.conns[fd];
	int i;

	if (c->member)
		for (i = 0; i < P.nmembers; i++)
			if (P.members[i] == fd) {
				P.members[i] = P.members[--P.nmembers];
				break;
			}
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	close(fd);
}

static void
pt_write(int fd, const void *data, size_t len)
{
	struct pt_conn *c = &P.conns[fd];
	ssize_t n = 0;

	if (c->out_len == 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return;
	}
	/* a benchmark peer: the slow reader's backlog simply grows */
	c->out = realloc(c->out, c->out_len + len - (size_t)n);
	if (c->out == NULL)
		exit(2);
	memcpy(c->out + c->out_len, (const char *)data + n, len - (size_t)n);
	c->out_len += len - (size_t)n;
	{
		struct epoll_event ev = { EPOLLIN | EPOLLOUT, { .fd = fd } };

		epoll_ctl(P.epfd, EPOLL_CTL_MOD, fd, &ev);
	}
}

static void
pt_flush(int fd)
{
	struct pt_conn *c = &P.conns[fd];
	ssize_t n = send(fd, c->out, c->out_len, MSG_NOSIGNAL);

	if (n <= 0)
		return;
	memmove(c->out, c->out + n, c->out_len - (size_t)n);
	c->out_len -= (size_t)n;
	if (c->out_len == 0) {
		struct epoll_event ev = { EPOLLIN, { .fd = fd } };

		epoll_ctl(P.epfd, EPOLL_CTL_MOD, fd, &ev);
	}
}

/* An unmasked frame (FIN) of len bytes into P.frame; returns its size. */
static size_t
pt_frame(int op, const void *data, size_t len)
{
	size_t hl = 2;

	P.frame[0] = (unsigned char)(0x80 | op);
	if (len < 126)
		P.frame[1] = (unsigned char)len;
	else {
		P.frame[1] = 126;
		P.frame[2] = (unsigned char)(len >> 8);
		P.frame[3] = (unsigned char)len;
		hl = 4;
	}
	memcpy(P.frame + hl, data, len);
	return hl + len;
}

static void
pt_text(int fd, const char *s, size_t n)
{
	pt_write(fd, P.frame, pt_frame(0x1, s, n));
}

static void
pt_chat(int fd, char *s, size_t n)
{
	struct pt_conn *c = &P.conns[fd];
	char buf[PT_FRAME_CAP], *id, *text, *end;
	uint64_t idv = 0;
	size_t len, flen;
	int i;

	s[n] = '\0';	/* the buffer has room: PT_IN_CAP > any frame */
	if (strstr(s, "\"type\":\"join\"") != NULL) {
		if (!c->member) {
			P.members[P.nmembers++] = fd;
			c->member = 1;
		}
		pt_text(fd, "{\"type\":\"joined\"}", 17);
		return;
	}
	if (strstr(s, "\"type\":\"send\"") == NULL)
		return;
	if ((id = strstr(s, "\"id\":")) != NULL)
		idv = strtoull(id + 5, NULL, 10);
	text = strstr(s, "\"text\":\"");
	end = text ? strchr(text + 8, '"') : NULL;
	if (end == NULL)
		return;
	len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"ack\",\"id\":%"
	    PRIu64 "}", idv);
	pt_text(fd, buf, len);
	len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"message\","
	    "\"room\":\"r\",\"seq\":%" PRIu64 ",\"text\":\"%.*s\"}", ++P.seq,
	    (int)(end - text - 8), text + 8);
	flen = pt_frame(0x1, buf, len);
	for (i = 0; i < P.nmembers; i++)
		pt_write(P.members[i], P.frame, flen);
}

/* Frames in c->in; returns bytes consumed, or -1 to close. */
static long
pt_frames(int fd)
{
	struct pt_conn *c = &P.conns[fd];
	size_t off = 0;

	while (c->in_len - off >= 6) {
		unsigned char *h = c->in + off, *m, *p;
		size_t len = h[1] & 0x7f, hl = 2, i;
		int op = h[0] & 0x0f;

		if (len == 126) {
			len = (size_t)h[2] << 8 | h[3];
			hl = 4;
		} else if (len == 127)
			return -1;
		if (c->in_len - off < hl + 4 + len)
			break;
		m = h + hl;
		p = m + 4;
		for (i = 0; i < len; i++)
			p[i] ^= m[i & 3];
		off += hl + 4 + len;
		if (op == 0x8)
			return -1;
		if (op == 0x9) {
			pt_write(fd, P.frame, pt_frame(0xa, p, len));
			continue;
		}
		if (!c->chat)
			pt_write(fd, P.frame, pt_frame(op, p, len));
		else if (op == 0x1) {
			unsigned char save = p[len];

			pt_chat(fd, (char *)p, len);
			p[len] = save;
		}
	}
	return (long)off;
}

static int
pt_upgrade(int fd)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	struct pt_conn *c = &P.conns[fd];
	char *end, *key, cat[128], accept[32], resp[256];
	unsigned char digest[20];
	size_t head, klen;
	int n;

	c->in[c->in_len] = '\0';
	if ((end = strstr((char *)c->in, "\r\n\r\n")) == NULL)
		return 0;
	head = (size_t)(end - (char *)c->in) + 4;
	c->chat = strncmp((char *)c->in, "GET /ws", 7) == 0;
	key = strcasestr((char *)c->in, "\r\nSec-WebSocket-Key:");
	if (key == NULL)
		return -1;
	key += 20;
	while (*key == ' ')
		key++;
	klen = strcspn(key, "\r\n ");
	if (klen > 64)
		return -1;
	snprintf(cat, sizeof(cat), "%.*s%s", (int)klen, key, guid);
	sha1((unsigned char *)cat, strlen(cat), digest);
	base64(digest, sizeof(digest), accept);
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	pt_write(fd, resp, (size_t)n);
	c->open = 1;
	memmove(c->in, c->in + head, c->in_len - head);
	c->in_len -= head;
	if (c->chat)
		pt_text(fd, "{\"type\":\"welcome\"}", 18);
	return 0;
}

static void
pt_read(int fd)
{
	struct pt_conn *c = &P.conns[fd];
	ssize_t n;
	long used;

	n = recv(fd, c->in + c->in_len, PT_IN_CAP - 1 - c->in_len, 0);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			pt_close(fd);
		return;
	}
	c->in_len += (size_t)n;
	if (!c->open && (pt_upgrade(fd) == -1 || !c->open)) {
		if (!c->open && c->in_len >= PT_IN_CAP - 1)
			pt_close(fd);
		return;
	}
	if ((used = pt_frames(fd)) == -1) {
		pt_close(fd);
		return;
	}
	memmove(c->in, c->in + used, c->in_len - (size_t)used);
	c->in_len -= (size_t)used;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct epoll_event ev, evs[256];
	FILE *f;
	int i, n, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: peer_trivial PORTFILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	P.conns = calloc(PT_MAX_FDS, sizeof(*P.conns));
	P.members = calloc(PT_MAX_FDS, sizeof(int));
	P.epfd = epoll_create1(0);
	P.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (P.conns == NULL || P.members == NULL || P.epfd < 0 || P.lfd < 0)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(P.lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(P.lfd, 4096) == -1 ||
	    getsockname(P.lfd, (struct sockaddr *)&sa, &sl) == -1) {
		perror("peer_trivial: listen");
		return 2;
	}
	ev.events = EPOLLIN;
	ev.data.fd = P.lfd;
	epoll_ctl(P.epfd, EPOLL_CTL_ADD, P.lfd, &ev);
	if ((f = fopen(argv[1], "w")) == NULL)
		return 2;
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	fclose(f);
	while (!P.stop) {
		n = epoll_wait(P.epfd, evs, 256, 500);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == P.lfd) {
				int cfd;

				while ((cfd = accept4(P.lfd, NULL, NULL,
				    SOCK_NONBLOCK)) >= 0) {
					if (cfd >= PT_MAX_FDS) {
						close(cfd);
						continue;
					}
					P.conns[cfd].in = malloc(PT_IN_CAP);
					if (P.conns[cfd].in == NULL)
						return 2;
					setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY,
					    &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.fd = cfd;
					epoll_ctl(P.epfd, EPOLL_CTL_ADD, cfd, &ev);
				}
				continue;
			}
			if (P.conns[fd].in == NULL)
				continue;
			if (evs[i].events & EPOLLOUT)
				pt_flush(fd);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				pt_read(fd);
		}
	}
	return 0;
}
