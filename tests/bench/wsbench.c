/*
 * wsbench.c: a small WebSocket load generator for parley (echo, fan-out, hold).
 *
 * One process, one libevent loop, one bufferevent per connection, and its own
 * client side of RFC 6455: the upgrade handshake (Sec-WebSocket-Accept is
 * checked), masked frames out, unmasked frames in, pings answered.
 *
 *   wsbench echo   -p PORT [-c N] [-k K] [-s S] [-d D] [-W WARMUP]
 *   wsbench fanout -p PORT [-r R] [-m M] [-w W] (-T FILE | -C CMD) [-o ROOM]
 *   wsbench hold   -p PORT [-c N] [-d MAXSECS]
 *
 * echo:   N connections to /echo, each keeping K messages of S bytes in flight;
 *         round trips completed inside the D-second window (after WARMUP) give
 *         msg/s, payload MB/s and the round-trip latency percentiles.
 * fanout: R receivers on /ws?token=... join one room; one sender sends M
 *         "send" requests, at most W of them unacknowledged.  Each text holds
 *         the sender's send time; receivers check that they get every message
 *         in seq order (else "FAILED" and exit 1) and record end-to-end latency.
 * hold:   N idle connections to /echo; prints "READY N" once all are open, then
 *         holds them until SIGTERM/SIGINT or MAXSECS (default 60).
 *
 * Results go to stdout as one line "RESULT mode=... key=value ...".
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_OP_CONT	0x0
#define WS_OP_TEXT	0x1
#define WS_OP_BINARY	0x2
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9
#define WS_OP_PONG	0xa

#define BENCH_MAX_HEAD		8192	/* longest 101 response head accepted */
#define BENCH_CONNECT_BATCH	256	/* handshakes in progress at once */
#define BENCH_MAX_PAYLOAD	(16u << 20)

enum bench_mode { MODE_ECHO, MODE_FANOUT, MODE_HOLD };

enum wc_state {
	WC_CONNECTING,	/* TCP connect in progress */
	WC_HANDSHAKE,	/* request sent, waiting for the 101 */
	WC_OPEN,	/* frames flow */
	WC_CLOSED	/* freed or failed */
};

enum wc_role { ROLE_ECHO, ROLE_RECEIVER, ROLE_SENDER, ROLE_HOLD };

struct wsconn {
	struct bufferevent	*wc_bev;
	int			 wc_idx;
	enum wc_role		 wc_role;
	enum wc_state		 wc_state;
	char			 wc_accept[32];	/* expected Sec-WebSocket-Accept */
	char			*wc_path;	/* request target */
	/* echo: send times of the messages in flight, in order */
	int64_t			*wc_ring;
	unsigned		 wc_ring_head, wc_ring_len;
	/* fragmented message being reassembled */
	unsigned char		*wc_frag;
	size_t			 wc_frag_len, wc_frag_cap;
	/* chat */
	int			 wc_welcomed;
	int			 wc_joined;
	long			 wc_next_i;	/* next message index expected */
	int64_t			 wc_last_seq;	/* seq of the previous message */
	int			 wc_msg_opcode;	/* opcode of the message being read */
};

struct lat_set {
	int64_t	*ls_v;
	size_t	 ls_n, ls_cap;
};

static struct bench {
	enum bench_mode		 b_mode;
	struct event_base	*b_base;
	struct sockaddr_in	 b_addr;
	const char		*b_host;
	int			 b_port;
	const char		*b_path;

	struct wsconn		*b_conns;	/* all connections */
	int			 b_nconns;
	int			 b_next_connect;	/* next index to connect */
	int			 b_pending;	/* connects/handshakes in progress */
	int			 b_open;	/* connections in WC_OPEN */

	/* echo */
	int			 b_inflight;	/* K */
	size_t			 b_size;	/* S */
	double			 b_duration;	/* D */
	double			 b_warmup;
	int64_t			 b_t_start, b_t_measure, b_t_end;
	int			 b_stopping;
	uint64_t		 b_msgs;	/* round trips inside the window */
	uint64_t		 b_msgs_all;	/* every round trip, warm-up too */
	uint64_t		 b_outstanding;
	unsigned char		*b_payload;
	unsigned char		*b_scratch;	/* one outgoing frame */
	size_t			 b_scratch_cap;
	struct lat_set		 b_lat;

	/* fanout */
	int			 b_receivers;	/* R */
	long			 b_messages;	/* M */
	int			 b_window;	/* W */
	const char		*b_room;
	char			 b_room_buf[64];
	char			**b_tokens;
	int			 b_ntokens;
	const char		*b_token_file;
	const char		*b_token_cmd;
	int			 b_receivers_ready;
	long			 b_sent, b_acked;
	uint64_t		 b_delivered;
	int64_t			 b_t_first_send, b_t_last_ack, b_t_last_delivery;
	int64_t			 b_t_progress;
	double			 b_timeout;
	struct lat_set		 b_ack_lat;
	int64_t			*b_send_ts;	/* per message index */
	int			 b_failed;
	int			 b_done;	/* results taken: closing down */

	struct event		*b_tick;
	struct event		*b_sigint, *b_sigterm;
	uint32_t		 b_rng;
} B;

static void conn_start(int);
static void conn_fail(struct wsconn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void bench_fail(const char *, ...) __attribute__((format(printf, 1, 2)));
static void fanout_maybe_start(void);
static void fanout_send_more(struct wsconn *);

/* ---------------------------------------------------------------------- */
/* small utilities */

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t
rng_next(void)
{
	/* xorshift32: masking keys and handshake nonces for a benchmark */
	uint32_t x = B.b_rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return B.b_rng = x;
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (p == NULL) {
		perror("calloc");
		exit(2);
	}
	return p;
}

static void
lat_add(struct lat_set *ls, int64_t v)
{
	if (ls->ls_n == ls->ls_cap) {
		size_t cap = ls->ls_cap ? ls->ls_cap * 2 : 65536;
		int64_t *nv = realloc(ls->ls_v, cap * sizeof(*nv));

		if (nv == NULL) {
			perror("realloc");
			exit(2);
		}
		ls->ls_v = nv;
		ls->ls_cap = cap;
	}
	ls->ls_v[ls->ls_n++] = v;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Percentile (0..100) in microseconds, nearest-rank; ls must be sorted. */
static double
lat_pct(const struct lat_set *ls, double pct)
{
	size_t rank;

	if (ls->ls_n == 0)
		return 0.0;
	rank = (size_t)((pct / 100.0) * (double)ls->ls_n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > ls->ls_n)
		rank = ls->ls_n;
	return (double)ls->ls_v[rank - 1] / 1000.0;
}

/* ---------------------------------------------------------------------- */
/* SHA-1 and base64, just enough for Sec-WebSocket-Accept */

static uint32_t
rol32(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void
sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
	    0xC3D2E1F0 };
	unsigned char block[64];
	uint64_t bits = (uint64_t)len * 8;
	size_t total = ((len + 8) / 64 + 1) * 64, off;
	int i;

	for (off = 0; off < total; off += 64) {
		uint32_t w[80], a, b, c, d, e, f, k, t;

		for (i = 0; i < 64; i++) {
			size_t p = off + (size_t)i;

			if (p < len)
				block[i] = msg[p];
			else if (p == len)
				block[i] = 0x80;
			else if (p >= total - 8)
				block[i] = (unsigned char)(bits >>
				    (8 * (total - 1 - p)));
			else
				block[i] = 0;
		}
		for (i = 0; i < 16; i++)
			w[i] = (uint32_t)block[4 * i] << 24 |
			    (uint32_t)block[4 * i + 1] << 16 |
			    (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
		for (i = 16; i < 80; i++)
			w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16],
			    1);
		a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
		for (i = 0; i < 80; i++) {
			if (i < 20) {
				f = (b & c) | (~b & d);
				k = 0x5A827999;
			} else if (i < 40) {
				f = b ^ c ^ d;
				k = 0x6ED9EBA1;
			} else if (i < 60) {
				f = (b & c) | (b & d) | (c & d);
				k = 0x8F1BBCDC;
			} else {
				f = b ^ c ^ d;
				k = 0xCA62C1D6;
			}
			t = rol32(a, 5) + f + e + k + w[i];
			e = d; d = c; c = rol32(b, 30); b = a; a = t;
		}
		h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
	}
	for (i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

static void
base64(const unsigned char *in, size_t len, char *out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*out++ = tbl[in[i] >> 2];
		*out++ = tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = tbl[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*out++ = tbl[in[i + 2] & 63];
	}
	if (i + 1 == len) {
		*out++ = tbl[in[i] >> 2];
		*out++ = tbl[(in[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (i + 2 == len) {
		*out++ = tbl[in[i] >> 2];
		*out++ = tbl[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = tbl[(in[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = '\0';
}

/* ---------------------------------------------------------------------- */
/* frames */

/* Queue one masked frame (FIN set) on c's output. */
static void
ws_send_frame(struct wsconn *c, int opcode, const void *data, size_t len)
{
	unsigned char *p = B.b_scratch, *dst;
	const unsigned char *src = data;
	unsigned char mask[4];
	uint32_t m = rng_next();
	size_t hl, i;

	if (len + 14 > B.b_scratch_cap) {
		/* bigger than the scratch buffer: allocate */
		p = malloc(len + 14);
		if (p == NULL) {
			perror("malloc");
			exit(2);
		}
	}
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
	dst = p + hl;
	for (i = 0; i < len; i++)
		dst[i] = src[i] ^ mask[i & 3];
	evbuffer_add(bufferevent_get_output(c->wc_bev), p, hl + len);
	if (p != B.b_scratch)
		free(p);
}

static void
ws_send_text(struct wsconn *c, const char *s, size_t len)
{
	ws_send_frame(c, WS_OP_TEXT, s, len);
}

/* ---------------------------------------------------------------------- */
/* JSON scraping: parley renders compact JSON (no blanks), so a key is found
 * as "key": and its value read in place.  Enough for the fields we need. */

static const char *
json_find(const char *s, size_t n, const char *key)
{
	char pat[64];
	int pl = snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = memmem(s, n, pat, (size_t)pl);

	return p == NULL ? NULL : p + pl;
}

static int
json_type_is(const char *s, size_t n, const char *type)
{
	char pat[64];
	int pl = snprintf(pat, sizeof(pat), "\"type\":\"%s\"", type);

	return memmem(s, n, pat, (size_t)pl) != NULL;
}

static int
json_int(const char *s, size_t n, const char *key, int64_t *out)
{
	const char *p = json_find(s, n, key), *end = s + n;
	int64_t v = 0;
	int neg = 0, digits = 0;

	if (p == NULL)
		return -1;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* connections */

static void
bench_fail(const char *fmt, ...)
{
	va_list ap;

	if (B.b_failed || B.b_done)
		return;
	printf("FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	B.b_failed = 1;
	event_base_loopbreak(B.b_base);
}

static void
conn_close(struct wsconn *c)
{
	if (c->wc_state == WC_OPEN)
		B.b_open--;
	else if (c->wc_state == WC_CONNECTING || c->wc_state == WC_HANDSHAKE)
		B.b_pending--;
	if (c->wc_bev != NULL)
		bufferevent_free(c->wc_bev);
	c->wc_bev = NULL;
	c->wc_state = WC_CLOSED;
}

static void
conn_fail(struct wsconn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_close(c);
	if (B.b_done || (B.b_mode == MODE_ECHO && B.b_stopping))
		return;		/* closing down: not an error */
	bench_fail("connection %d: %s", c->wc_idx, msg);
}

static void
connect_more(void)
{
	while (B.b_next_connect < B.b_nconns &&
	    B.b_pending < BENCH_CONNECT_BATCH) {
		/* the sender (fanout) connects only once receivers are in */
		if (B.b_mode == MODE_FANOUT &&
		    B.b_next_connect == B.b_receivers)
			return;
		conn_start(B.b_next_connect++);
	}
}

/* --- echo -------------------------------------------------------------- */

static void
echo_send_one(struct wsconn *c)
{
	unsigned pos = (c->wc_ring_head + c->wc_ring_len) %
	    (unsigned)B.b_inflight;

	c->wc_ring[pos] = now_ns();
	c->wc_ring_len++;
	B.b_outstanding++;
	ws_send_frame(c, WS_OP_TEXT, B.b_payload, B.b_size);
}

static void
echo_on_open(struct wsconn *c)
{
	int i;

	for (i = 0; i < B.b_inflight; i++)
		echo_send_one(c);
}

static void
echo_on_message(struct wsconn *c, size_t len)
{
	int64_t t = now_ns(), sent;

	if (c->wc_ring_len == 0) {
		conn_fail(c, "echo without a message in flight");
		return;
	}
	if (len != B.b_size) {
		conn_fail(c, "echo of %zu bytes, sent %zu", len, B.b_size);
		return;
	}
	sent = c->wc_ring[c->wc_ring_head];
	c->wc_ring_head = (c->wc_ring_head + 1) % (unsigned)B.b_inflight;
	c->wc_ring_len--;
	B.b_outstanding--;
	B.b_msgs_all++;
	if (t >= B.b_t_measure && t <= B.b_t_end) {
		B.b_msgs++;
		lat_add(&B.b_lat, t - sent);
	}
	if (!B.b_stopping)
		echo_send_one(c);
	else if (B.b_outstanding == 0)
		event_base_loopbreak(B.b_base);
}

/* --- fanout ------------------------------------------------------------ */

static void
fanout_join(struct wsconn *c)
{
	char buf[128];
	int len;

	len = snprintf(buf, sizeof(buf),
	    "{\"type\":\"join\",\"id\":\"j%d\",\"room\":\"%s\"}",
	    c->wc_idx, B.b_room);
	ws_send_text(c, buf, (size_t)len);
}

static void
fanout_join_cb(evutil_socket_t fd, short what, void *arg)
{
	fanout_join(arg);
}

static void
fanout_on_text(struct wsconn *c, const char *s, size_t n)
{
	int64_t t = now_ns(), v, seq, ts;
	const char *p;
	long i;

	B.b_t_progress = t;
	/* A join refused for load (the broker's reader queue, a burst of
	 * 200 joins) is retried after the wait the server names, as a
	 * client would; any other error ends the run. */
	if (json_type_is(s, n, "error") && !c->wc_joined &&
	    memmem(s, n, "\"RATE_LIMIT\"", 12) != NULL &&
	    json_int(s, n, "retry_after_ms", &v) == 0 && v >= 0) {
		struct timeval tv = { (time_t)(v / 1000),
		    (suseconds_t)(v % 1000) * 1000 };

		event_base_once(B.b_base, -1, EV_TIMEOUT, fanout_join_cb, c,
		    &tv);
		return;
	}
	if (json_type_is(s, n, "error")) {
		bench_fail("connection %d got an error: %.*s", c->wc_idx,
		    (int)(n > 300 ? 300 : n), s);
		return;
	}
	if (!c->wc_welcomed) {
		if (!json_type_is(s, n, "welcome")) {
			bench_fail("connection %d: expected welcome, got %.*s",
			    c->wc_idx, (int)(n > 300 ? 300 : n), s);
			return;
		}
		c->wc_welcomed = 1;
		fanout_join(c);
		return;
	}
	if (!c->wc_joined) {
		if (!json_type_is(s, n, "joined"))
			return;		/* presence, notifications: not ours */
		c->wc_joined = 1;
		if (c->wc_role == ROLE_RECEIVER) {
			B.b_receivers_ready++;
			fanout_maybe_start();
		} else {
			B.b_t_first_send = now_ns();
			fanout_send_more(c);
		}
		return;
	}
	if (c->wc_role == ROLE_SENDER) {
		if (!json_type_is(s, n, "ack"))
			return;		/* its own broadcasts, presence */
		if (json_int(s, n, "id", &v) == -1 || v < 0 ||
		    v >= B.b_messages) {
			bench_fail("sender: bad ack %.*s", (int)n, s);
			return;
		}
		lat_add(&B.b_ack_lat, t - B.b_send_ts[v]);
		B.b_acked++;
		B.b_t_last_ack = t;
		fanout_send_more(c);
		return;
	}
	/* a receiver */
	if (!json_type_is(s, n, "message"))
		return;		/* presence events of later joiners */
	if (json_int(s, n, "seq", &seq) == -1) {
		bench_fail("receiver %d: message without seq", c->wc_idx);
		return;
	}
	p = json_find(s, n, "text");
	if (p == NULL || sscanf(p, "\"bench i=%ld t=%" SCNd64, &i, &ts) != 2) {
		bench_fail("receiver %d: unexpected text in %.*s", c->wc_idx,
		    (int)(n > 300 ? 300 : n), s);
		return;
	}
	if (i != c->wc_next_i || (c->wc_last_seq != 0 &&
	    seq != c->wc_last_seq + 1)) {
		bench_fail("receiver %d: got i=%ld seq=%" PRId64 ", expected "
		    "i=%ld seq=%" PRId64, c->wc_idx, i, seq, c->wc_next_i,
		    c->wc_last_seq + 1);
		return;
	}
	c->wc_next_i++;
	c->wc_last_seq = seq;
	lat_add(&B.b_lat, t - ts);
	B.b_delivered++;
	B.b_t_last_delivery = t;
	if (B.b_delivered == (uint64_t)B.b_receivers * (uint64_t)B.b_messages)
		event_base_loopbreak(B.b_base);
}

static void
fanout_maybe_start(void)
{
	if (B.b_receivers_ready == B.b_receivers) {
		B.b_next_connect = B.b_receivers;
		conn_start(B.b_next_connect++);
	}
}

static void
fanout_send_more(struct wsconn *c)
{
	char buf[256];
	int len;

	while (B.b_sent < B.b_messages &&
	    B.b_sent - B.b_acked < B.b_window) {
		int64_t t = now_ns();

		B.b_send_ts[B.b_sent] = t;
		len = snprintf(buf, sizeof(buf),
		    "{\"type\":\"send\",\"id\":%ld,\"room\":\"%s\","
		    "\"text\":\"bench i=%ld t=%" PRId64 "\"}",
		    B.b_sent, B.b_room, B.b_sent, t);
		ws_send_text(c, buf, (size_t)len);
		B.b_sent++;
	}
}

/* --- frame loop -------------------------------------------------------- */

static void
on_message(struct wsconn *c, int opcode, const unsigned char *data,
    size_t len)
{
	switch (B.b_mode) {
	case MODE_ECHO:
		echo_on_message(c, len);
		break;
	case MODE_FANOUT:
		if (opcode != WS_OP_TEXT) {
			conn_fail(c, "binary message on the chat endpoint");
			return;
		}
		fanout_on_text(c, (const char *)data, len);
		break;
	case MODE_HOLD:
		break;
	}
}

/* Parse every complete frame in the input; returns -1 when c was closed. */
static int
read_frames(struct wsconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->wc_bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in), hl = 2;
		unsigned char h[14];
		uint64_t len;
		int fin, op;

		if (avail < 2)
			return 0;
		evbuffer_copyout(in, h, avail < 14 ? avail : 14);
		fin = h[0] & 0x80;
		op = h[0] & 0x0f;
		if (h[1] & 0x80) {
			conn_fail(c, "server sent a masked frame");
			return -1;
		}
		len = h[1] & 0x7f;
		if (len == 126) {
			if (avail < 4)
				return 0;
			len = (uint64_t)h[2] << 8 | h[3];
			hl = 4;
		} else if (len == 127) {
			int i;

			if (avail < 10)
				return 0;
			for (len = 0, i = 0; i < 8; i++)
				len = len << 8 | h[2 + i];
			hl = 10;
		}
		if (len > BENCH_MAX_PAYLOAD) {
			conn_fail(c, "frame of %" PRIu64 " bytes", len);
			return -1;
		}
		if (avail < hl + len)
			return 0;
		evbuffer_drain(in, hl);
		if (op == WS_OP_PING || op == WS_OP_PONG || op == WS_OP_CLOSE) {
			unsigned char ctl[125];

			if (len > sizeof(ctl)) {
				conn_fail(c, "control frame of %" PRIu64 " bytes",
				    len);
				return -1;
			}
			evbuffer_remove(in, ctl, (size_t)len);
			if (op == WS_OP_PING)
				ws_send_frame(c, WS_OP_PONG, ctl, (size_t)len);
			else if (op == WS_OP_CLOSE) {
				unsigned code = len >= 2 ?
				    (unsigned)ctl[0] << 8 | ctl[1] : 0;

				conn_fail(c, "server closed: %u %.*s", code,
				    len > 2 ? (int)len - 2 : 0,
				    (const char *)ctl + 2);
				return -1;
			}
			continue;
		}
		if (op != WS_OP_CONT)
			c->wc_msg_opcode = op;
		if (B.b_mode == MODE_ECHO) {
			/* only the length matters */
			evbuffer_drain(in, (size_t)len);
			c->wc_frag_len += (size_t)len;
			if (fin) {
				size_t total = c->wc_frag_len;

				c->wc_frag_len = 0;
				on_message(c, c->wc_msg_opcode, NULL, total);
			}
		} else if (fin && c->wc_frag_len == 0) {
			/* whole message in one frame: read it in place */
			unsigned char *p = evbuffer_pullup(in, (ssize_t)len);

			on_message(c, c->wc_msg_opcode, p, (size_t)len);
			if (c->wc_state != WC_OPEN)
				return -1;
			evbuffer_drain(in, (size_t)len);
			continue;
		} else {
			if (c->wc_frag_len + len > c->wc_frag_cap) {
				size_t cap = c->wc_frag_len + (size_t)len;
				unsigned char *nf = realloc(c->wc_frag, cap);

				if (nf == NULL) {
					perror("realloc");
					exit(2);
				}
				c->wc_frag = nf;
				c->wc_frag_cap = cap;
			}
			evbuffer_remove(in, c->wc_frag + c->wc_frag_len,
			    (size_t)len);
			c->wc_frag_len += (size_t)len;
			if (fin) {
				size_t total = c->wc_frag_len;

				c->wc_frag_len = 0;
				on_message(c, c->wc_msg_opcode, c->wc_frag, total);
			}
		}
		if (c->wc_state != WC_OPEN)
			return -1;
	}
}

static void
conn_on_open(struct wsconn *c)
{
	c->wc_state = WC_OPEN;
	B.b_pending--;
	B.b_open++;
	B.b_t_progress = now_ns();
	switch (B.b_mode) {
	case MODE_ECHO:
		if (B.b_open == B.b_nconns) {
			/* every connection is up: the clock starts now */
			int i;

			B.b_t_start = now_ns();
			B.b_t_measure = B.b_t_start +
			    (int64_t)(B.b_warmup * 1e9);
			B.b_t_end = B.b_t_measure +
			    (int64_t)(B.b_duration * 1e9);
			for (i = 0; i < B.b_nconns; i++)
				echo_on_open(&B.b_conns[i]);
		}
		break;
	case MODE_HOLD:
		if (B.b_open == B.b_nconns) {
			printf("READY %d\n", B.b_open);
			fflush(stdout);
		}
		break;
	case MODE_FANOUT:
		break;		/* waits for welcome */
	}
	connect_more();
}

/* The 101 response: status line and Sec-WebSocket-Accept. */
static int
read_handshake(struct wsconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->wc_bev);
	struct evbuffer_ptr end;
	char *head, *p, *line;
	size_t n;
	int ok_accept = 0;

	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos == -1) {
		if (evbuffer_get_length(in) > BENCH_MAX_HEAD)
			conn_fail(c, "response head too long");
		return c->wc_state == WC_CLOSED ? -1 : 0;
	}
	n = (size_t)end.pos + 4;
	head = malloc(n + 1);
	if (head == NULL) {
		perror("malloc");
		exit(2);
	}
	evbuffer_remove(in, head, n);
	head[n] = '\0';
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		p = strstr(head, "\r\n");
		if (p != NULL)
			*p = '\0';
		conn_fail(c, "upgrade refused: %s", head);
		free(head);
		return -1;
	}
	for (line = strstr(head, "\r\n"); line != NULL && line[2] != '\r';
	    line = strstr(line + 2, "\r\n")) {
		static const char hdr[] = "Sec-WebSocket-Accept:";

		if (strncasecmp(line + 2, hdr, sizeof(hdr) - 1) == 0) {
			p = line + 2 + sizeof(hdr) - 1;
			while (*p == ' ' || *p == '\t')
				p++;
			ok_accept = strncmp(p, c->wc_accept,
			    strlen(c->wc_accept)) == 0;
		}
	}
	free(head);
	if (!ok_accept) {
		conn_fail(c, "missing or wrong Sec-WebSocket-Accept");
		return -1;
	}
	conn_on_open(c);
	return 0;
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct wsconn *c = arg;

	if (c->wc_state == WC_HANDSHAKE && read_handshake(c) == -1)
		return;
	if (c->wc_state == WC_OPEN)
		read_frames(c);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct wsconn *c = arg;
	unsigned char nonce[16];
	char key[32], cat[128];
	unsigned char digest[20];
	struct evbuffer *out;
	int i;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		for (i = 0; i < 16; i += 4) {
			uint32_t r = rng_next();

			memcpy(nonce + i, &r, 4);
		}
		base64(nonce, sizeof(nonce), key);
		snprintf(cat, sizeof(cat), "%s%s", key, WS_GUID);
		sha1((unsigned char *)cat, strlen(cat), digest);
		base64(digest, sizeof(digest), c->wc_accept);
		out = bufferevent_get_output(bev);
		evbuffer_add_printf(out,
		    "GET %s HTTP/1.1\r\n"
		    "Host: %s:%d\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Key: %s\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "\r\n", c->wc_path, B.b_host, B.b_port, key);
		c->wc_state = WC_HANDSHAKE;
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_fail(c, "connection closed by the server");
	else if (what & BEV_EVENT_ERROR)
		conn_fail(c, "socket error: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
conn_start(int idx)
{
	struct wsconn *c = &B.b_conns[idx];

	c->wc_bev = bufferevent_socket_new(B.b_base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->wc_bev == NULL) {
		bench_fail("bufferevent_socket_new failed");
		return;
	}
	c->wc_state = WC_CONNECTING;
	B.b_pending++;
	bufferevent_setcb(c->wc_bev, conn_readcb, NULL, conn_eventcb, c);
	bufferevent_enable(c->wc_bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->wc_bev,
	    (struct sockaddr *)&B.b_addr, sizeof(B.b_addr)) == -1)
		conn_fail(c, "connect: %s", strerror(errno));
}

/* ---------------------------------------------------------------------- */
/* timers, signals */

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t t = now_ns();

	switch (B.b_mode) {
	case MODE_ECHO:
		if (B.b_t_end != 0 && t >= B.b_t_end && !B.b_stopping) {
			B.b_stopping = 1;
			/* let the messages in flight come back, at most 2 s */
			B.b_t_progress = t;
			if (B.b_outstanding == 0)
				event_base_loopbreak(B.b_base);
		} else if (B.b_stopping && t - B.b_t_progress > 2000000000LL)
			event_base_loopbreak(B.b_base);
		else if (B.b_t_end == 0 && t - B.b_t_progress >
		    (int64_t)(B.b_timeout * 1e9))
			bench_fail("only %d of %d connections opened", B.b_open,
			    B.b_nconns);
		break;
	case MODE_FANOUT:
		if (t - B.b_t_progress > (int64_t)(B.b_timeout * 1e9))
			bench_fail("no progress for %.1f s: ready=%d/%d sent=%ld"
			    " acked=%ld delivered=%" PRIu64 "/%" PRIu64,
			    B.b_timeout, B.b_receivers_ready, B.b_receivers,
			    B.b_sent, B.b_acked, B.b_delivered,
			    (uint64_t)B.b_receivers * (uint64_t)B.b_messages);
		break;
	case MODE_HOLD:
		if (B.b_open < B.b_nconns && t - B.b_t_progress >
		    (int64_t)(B.b_timeout * 1e9))
			bench_fail("only %d of %d connections opened", B.b_open,
			    B.b_nconns);
		else if (B.b_duration > 0 && t - B.b_t_start >
		    (int64_t)(B.b_duration * 1e9))
			event_base_loopbreak(B.b_base);
		break;
	}
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(B.b_base);
}

/* ---------------------------------------------------------------------- */
/* tokens */

static void
tokens_add(char *line)
{
	size_t n = strcspn(line, "\r\n");

	line[n] = '\0';
	if (n == 0)
		return;
	B.b_tokens = realloc(B.b_tokens, sizeof(char *) *
	    (size_t)(B.b_ntokens + 1));
	if (B.b_tokens == NULL || (B.b_tokens[B.b_ntokens] = strdup(line)) ==
	    NULL) {
		perror("tokens");
		exit(2);
	}
	B.b_ntokens++;
}

static int
tokens_load(int need)
{
	char line[8192], cmd[4096];
	FILE *f;
	int i;

	if (B.b_token_file != NULL) {
		if ((f = fopen(B.b_token_file, "r")) == NULL) {
			fprintf(stderr, "wsbench: %s: %s\n", B.b_token_file,
			    strerror(errno));
			return -1;
		}
		while (fgets(line, sizeof(line), f) != NULL)
			tokens_add(line);
		fclose(f);
	} else if (B.b_token_cmd != NULL) {
		/* one user per connection: CMD bench-uN (the sender: last) */
		for (i = 0; i < need; i++) {
			snprintf(cmd, sizeof(cmd), "%s bench-u%d", B.b_token_cmd,
			    i);
			if ((f = popen(cmd, "r")) == NULL ||
			    fgets(line, sizeof(line), f) == NULL) {
				fprintf(stderr, "wsbench: token command failed:"
				    " %s\n", cmd);
				if (f != NULL)
					pclose(f);
				return -1;
			}
			if (pclose(f) != 0) {
				fprintf(stderr, "wsbench: token command failed:"
				    " %s\n", cmd);
				return -1;
			}
			tokens_add(line);
		}
	}
	if (B.b_ntokens == 0) {
		fprintf(stderr, "wsbench: fanout needs tokens (-T FILE or "
		    "-C CMD)\n");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: wsbench echo   -p PORT [-H HOST] [-P PATH] [-c CONNS] "
	    "[-k INFLIGHT] [-s BYTES] [-d SECS] [-W WARMUP]\n"
	    "       wsbench fanout -p PORT [-H HOST] [-P PATH] [-r RECEIVERS] "
	    "[-m MESSAGES] [-w WINDOW]\n"
	    "                      (-T TOKEN_FILE | -C TOKEN_CMD) [-o ROOM] "
	    "[-t TIMEOUT]\n"
	    "       wsbench hold   -p PORT [-H HOST] [-P PATH] [-c CONNS] "
	    "[-d MAXSECS]\n");
	exit(2);
}

static long
num_arg(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "wsbench: %s must be %ld..%ld\n", what, lo, hi);
		exit(2);
	}
	return v;
}

/* CPU seconds this process used (user + system), for "client_cpu_s". */
static double
self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0.0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
print_results(void)
{
	double secs;

	switch (B.b_mode) {
	case MODE_ECHO:
		qsort(B.b_lat.ls_v, B.b_lat.ls_n, sizeof(int64_t), cmp_i64);
		secs = B.b_duration;
		printf("RESULT mode=echo conns=%d inflight=%d size=%zu "
		    "secs=%.2f msgs=%" PRIu64 " msg_per_s=%.0f MB_per_s=%.2f "
		    "p50_us=%.1f p99_us=%.1f max_us=%.1f msgs_all=%" PRIu64
		    " client_cpu_s=%.3f\n",
		    B.b_nconns, B.b_inflight, B.b_size, secs, B.b_msgs,
		    (double)B.b_msgs / secs,
		    (double)B.b_msgs * (double)B.b_size / secs / 1e6,
		    lat_pct(&B.b_lat, 50), lat_pct(&B.b_lat, 99),
		    lat_pct(&B.b_lat, 100), B.b_msgs_all, self_cpu_s());
		break;
	case MODE_FANOUT:
		qsort(B.b_lat.ls_v, B.b_lat.ls_n, sizeof(int64_t), cmp_i64);
		qsort(B.b_ack_lat.ls_v, B.b_ack_lat.ls_n, sizeof(int64_t),
		    cmp_i64);
		secs = (double)(B.b_t_last_delivery - B.b_t_first_send) / 1e9;
		printf("RESULT mode=fanout receivers=%d messages=%ld window=%d "
		    "secs=%.3f deliveries=%" PRIu64 " deliveries_per_s=%.0f "
		    "sends_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f "
		    "ack_p50_us=%.1f ack_p99_us=%.1f client_cpu_s=%.3f\n",
		    B.b_receivers, B.b_messages, B.b_window, secs,
		    B.b_delivered, (double)B.b_delivered / secs,
		    (double)B.b_messages / secs,
		    lat_pct(&B.b_lat, 50), lat_pct(&B.b_lat, 99),
		    lat_pct(&B.b_lat, 100), lat_pct(&B.b_ack_lat, 50),
		    lat_pct(&B.b_ack_lat, 99), self_cpu_s());
		break;
	case MODE_HOLD:
		printf("RESULT mode=hold conns=%d open=%d\n", B.b_nconns,
		    B.b_open);
		break;
	}
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	const char *mode;
	struct timeval tick = { 0, 100000 };
	struct rlimit rl;
	int ch, i, nconns = 10;
	size_t sz;

	if (argc < 2)
		usage();
	mode = argv[1];
	B.b_duration = 3.0;
	if (strcmp(mode, "echo") == 0)
		B.b_mode = MODE_ECHO;
	else if (strcmp(mode, "fanout") == 0)
		B.b_mode = MODE_FANOUT;
	else if (strcmp(mode, "hold") == 0) {
		B.b_mode = MODE_HOLD;
		B.b_duration = 60.0;
	} else
		usage();
	B.b_host = "127.0.0.1";
	B.b_inflight = 1;
	B.b_size = 64;
	B.b_warmup = 0.5;
	B.b_receivers = 50;
	B.b_messages = 1000;
	B.b_window = 32;
	B.b_timeout = 10.0;
	B.b_rng = (uint32_t)(now_ns() ^ getpid()) | 1;

	optind = 2;
	while ((ch = getopt(argc, argv, "H:p:P:c:k:s:d:W:r:m:w:T:C:o:t:")) != -1) {
		switch (ch) {
		case 'H': B.b_host = optarg; break;
		case 'p': B.b_port = (int)num_arg(optarg, 1, 65535, "-p"); break;
		case 'P': B.b_path = optarg; break;
		case 'c': nconns = (int)num_arg(optarg, 1, 1000000, "-c"); break;
		case 'k': B.b_inflight = (int)num_arg(optarg, 1, 100000, "-k");
			break;
		case 's': B.b_size = (size_t)num_arg(optarg, 0, 16 << 20, "-s");
			break;
		case 'd': B.b_duration = atof(optarg); break;
		case 'W': B.b_warmup = atof(optarg); break;
		case 'r': B.b_receivers = (int)num_arg(optarg, 1, 1000000,
			    "-r");
			break;
		case 'm': B.b_messages = num_arg(optarg, 1, 100000000, "-m");
			break;
		case 'w': B.b_window = (int)num_arg(optarg, 1, 1000000, "-w");
			break;
		case 'T': B.b_token_file = optarg; break;
		case 'C': B.b_token_cmd = optarg; break;
		case 'o': B.b_room = optarg; break;
		case 't': B.b_timeout = atof(optarg); break;
		default: usage();
		}
	}
	if (B.b_port == 0 || optind != argc || B.b_duration < 0 ||
	    B.b_warmup < 0 || (B.b_mode == MODE_ECHO && B.b_duration <= 0))
		usage();
	memset(&B.b_addr, 0, sizeof(B.b_addr));
	B.b_addr.sin_family = AF_INET;
	B.b_addr.sin_port = htons((uint16_t)B.b_port);
	if (inet_pton(AF_INET, B.b_host, &B.b_addr.sin_addr) != 1) {
		fprintf(stderr, "wsbench: -H takes an IPv4 address\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	/* one fd per connection, plus a few */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (B.b_mode == MODE_FANOUT) {
		nconns = B.b_receivers + 1;
		if (B.b_path == NULL)
			B.b_path = "/ws";
		if (B.b_room == NULL) {
			snprintf(B.b_room_buf, sizeof(B.b_room_buf),
			    "bench-%ld-%d", (long)time(NULL), (int)getpid());
			B.b_room = B.b_room_buf;
		}
		if (tokens_load(nconns) == -1)
			return 2;
		B.b_send_ts = xcalloc((size_t)B.b_messages, sizeof(int64_t));
	} else if (B.b_path == NULL)
		B.b_path = "/echo";
	B.b_nconns = nconns;
	B.b_conns = xcalloc((size_t)nconns, sizeof(*B.b_conns));
	for (i = 0; i < nconns; i++) {
		struct wsconn *c = &B.b_conns[i];

		c->wc_idx = i;
		if (B.b_mode == MODE_FANOUT) {
			const char *tok = B.b_tokens[i % B.b_ntokens];

			c->wc_role = i < B.b_receivers ? ROLE_RECEIVER :
			    ROLE_SENDER;
			sz = strlen(B.b_path) + strlen(tok) + 16;
			c->wc_path = xcalloc(1, sz);
			snprintf(c->wc_path, sz, "%s?token=%s", B.b_path, tok);
		} else {
			c->wc_role = B.b_mode == MODE_ECHO ? ROLE_ECHO :
			    ROLE_HOLD;
			c->wc_path = (char *)B.b_path;
		}
		if (B.b_mode == MODE_ECHO)
			c->wc_ring = xcalloc((size_t)B.b_inflight,
			    sizeof(int64_t));
	}
	B.b_payload = xcalloc(1, B.b_size + 1);
	memset(B.b_payload, 'x', B.b_size);
	B.b_scratch_cap = (B.b_size > 65536 ? B.b_size : 65536) + 14;
	B.b_scratch = xcalloc(1, B.b_scratch_cap);

	if ((B.b_base = event_base_new()) == NULL) {
		fprintf(stderr, "wsbench: event_base_new failed\n");
		return 2;
	}
	B.b_tick = event_new(B.b_base, -1, EV_PERSIST, on_tick, NULL);
	event_add(B.b_tick, &tick);
	B.b_sigint = evsignal_new(B.b_base, SIGINT, on_signal, NULL);
	B.b_sigterm = evsignal_new(B.b_base, SIGTERM, on_signal, NULL);
	event_add(B.b_sigint, NULL);
	event_add(B.b_sigterm, NULL);

	B.b_t_start = B.b_t_progress = now_ns();
	connect_more();
	event_base_dispatch(B.b_base);

	if (!B.b_failed)
		print_results();
	B.b_done = 1;
	for (i = 0; i < B.b_nconns; i++) {
		struct wsconn *c = &B.b_conns[i];

		if (c->wc_state == WC_OPEN) {
			static const unsigned char bye[2] = { 0x03, 0xe8 };

			ws_send_frame(c, WS_OP_CLOSE, bye, sizeof(bye));
		}
	}
	/* give the close frames a moment to leave, then drop everything */
	{
		struct timeval t = { 0, 50000 };

		event_base_loopexit(B.b_base, &t);
		event_base_dispatch(B.b_base);
	}
	for (i = 0; i < B.b_nconns; i++)
		if (B.b_conns[i].wc_bev != NULL)
			bufferevent_free(B.b_conns[i].wc_bev);
	return B.b_failed ? 1 : 0;
}
