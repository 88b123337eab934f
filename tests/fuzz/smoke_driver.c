/* smoke_driver.c: a deterministic mutation run over every fuzz target, so
 * `make check` under ASan/UBSan replays the same inputs on every machine,
 * then every file of the target's seed corpus (tests/fuzz/corpus/NAME/). */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ipc.h"
#include "ipc_batch.h"

#define SMOKE_ITERS	20000	/* inputs per target */
#define SMOKE_MAXLEN	4096
#define SMOKE_NSEEDS	32
#define SMOKE_SEED	0x9e3779b97f4a7c15ULL
#define SMOKE_REPORT	5	/* failing inputs named per target */
#define SMOKE_MAXFILE	(1024 * 1024)	/* a corpus file larger: an error */

#ifndef PARLEY_FUZZ_CORPUS
#define PARLEY_FUZZ_CORPUS	"tests/fuzz/corpus"
#endif

struct seed {
	uint8_t		sd_buf[SMOKE_MAXLEN];
	size_t		sd_len;
};

struct seeds {
	struct seed	ss_v[SMOKE_NSEEDS];
	size_t		ss_n;
};

struct target {
	const char	*t_name;
	int		(*t_fn)(const uint8_t *, size_t);
	void		(*t_seeds)(struct seeds *);
};

/* xorshift64: the whole run follows from SMOKE_SEED. */
static uint64_t
rnd(uint64_t *st)
{
	uint64_t	x = *st;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

static size_t
rnd_below(uint64_t *st, size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd(st) % n);
}

static void
seed_add(struct seeds *ss, const void *p, size_t len)
{
	if (ss->ss_n == SMOKE_NSEEDS || len > SMOKE_MAXLEN)
		abort();	/* a seed table bug, not a finding */
	memcpy(ss->ss_v[ss->ss_n].sd_buf, p, len);
	ss->ss_v[ss->ss_n].sd_len = len;
	ss->ss_n++;
}

/* One client frame, masked as RFC 6455 requires (len < 65536). */
static size_t
ws_frame(uint8_t *out, uint8_t b0, const void *payload, size_t len,
    uint32_t key)
{
	const uint8_t	*p = payload;
	uint8_t		 mask[4];
	size_t		 n = 0, i;

	memcpy(mask, &key, 4);
	out[n++] = b0;
	if (len < 126)
		out[n++] = 0x80 | (uint8_t)len;
	else {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	}
	memcpy(out + n, mask, 4);
	n += 4;
	for (i = 0; i < len; i++)
		out[n++] = p[i] ^ mask[i % 4];
	return n;
}

static void
seeds_ws(struct seeds *ss)
{
	static const char json[] =
	    "{\"type\":\"send\",\"room\":\"general\",\"text\":\"hi\"}";
	uint8_t	 b[SMOKE_MAXLEN], big[300];
	size_t	 n;

	n = ws_frame(b, 0x81, "Hello", 5, 0x3d21fa37);
	seed_add(ss, b, n);
	n = ws_frame(b, 0x88, "\x03\xe8" "bye", 5, 0x01020304);
	seed_add(ss, b, n);
	n = ws_frame(b, 0x89, "", 0, 0xdeadbeef);
	seed_add(ss, b, n);
	n = ws_frame(b, 0x8a, "pong", 4, 0);
	seed_add(ss, b, n);
	/* A fragmented text message, then a ping between fragments. */
	n = ws_frame(b, 0x01, "Hel", 3, 0x11223344);
	n += ws_frame(b + n, 0x89, "p", 1, 0x55667788);
	n += ws_frame(b + n, 0x80, "lo \xc3\xa9", 5, 0x99aabbcc);
	seed_add(ss, b, n);
	memset(big, 'x', sizeof(big));
	n = ws_frame(b, 0x82, big, sizeof(big), 0xcafebabe);
	seed_add(ss, b, n);
	n = ws_frame(b, 0x81, json, strlen(json), 0x0badf00d);
	seed_add(ss, b, n);
	/* Unmasked, and a 64-bit length header: both must be refused. */
	seed_add(ss, "\x81\x05Hello", 7);
	seed_add(ss, "\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00" "abcd", 14);
}

static void
seeds_http(struct seeds *ss)
{
	static const char *const heads[] = {
		"GET /chat HTTP/1.1\r\n"
		"Host: localhost:8080\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"\r\n",
		"GET /chat?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln&x=1 "
		"HTTP/1.1\r\n"
		"host: example.com\r\n"
		"upgrade: WebSocket\r\n"
		"connection: keep-alive, Upgrade\r\n"
		"origin: https://example.com\r\n"
		"sec-websocket-key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
		"sec-websocket-version: 13\r\n"
		"Sec-WebSocket-Extensions: permessage-deflate; "
		"client_max_window_bits\r\n"
		"\r\n",
		"GET /echo HTTP/1.1\r\n"
		"Host: [::1]:8080\r\n"
		"Authorization: Bearer aaa.bbb.ccc\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"Sec-WebSocket-Protocol: chat, superchat\r\n"
		"\r\n",
		"POST /api/publish HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}",
		"GET / HTTP/1.1\r\nHost: a\r\n X-Folded: b\r\n\r\n",
	};
	size_t	i;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		seed_add(ss, heads[i], strlen(heads[i]));
}

static void
seeds_chat(struct seeds *ss)
{
	static const char *const reqs[] = {
		"{\"type\":\"join\",\"room\":\"general\",\"since\":4,"
		    "\"epoch\":\"e1\",\"history\":20,\"id\":1}",
		"{\"type\":\"send\",\"room\":\"a:b\",\"text\":\"h\\u00e9\\n\","
		    "\"client_msg_id\":\"c1\",\"id\":\"x\"}",
		"{\"type\":\"react\",\"room\":\"r\",\"seq\":3,"
		    "\"emoji\":\"\\ud83d\\ude00\",\"active\":true}",
		"{\"type\":\"search\",\"room\":\"r\",\"q\":\"a b\",\"limit\":5,"
		    "\"before\":9}",
		"{\"type\":\"auth\",\"token\":\"a.b.c\"}",
		"{\"type\":\"typing\",\"room\":\"r\",\"active\":false}",
		"[[[[{\"type\":1}]]]]",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		seed_add(ss, reqs[i], strlen(reqs[i]));
}

/* Raw DEFLATE blocks as a client sends them (trailing 00 00 ff ff cut). */
static void
seeds_inflate(struct seeds *ss)
{
	/* "Hello" compressed, window 15; then the same twice (context). */
	static const uint8_t hello[] = { 0x0f, 0x00, 0xf2, 0x48, 0xcd, 0xc9,
	    0xc9, 0x07, 0x00 };
	static const uint8_t two[] = { 0x0f, 0x00, 0xf2, 0x48, 0xcd, 0xc9,
	    0xc9, 0x07, 0x00, 0xfe, 0xf2, 0x00, 0x11, 0x00 };
	/* A stored (uncompressed) block, and a final block. */
	static const uint8_t stored[] = { 0x0f, 0x01, 0x00, 0x03, 0x00, 0xfc,
	    0xff, 'a', 'b', 'c' };
	static const uint8_t final[] = { 0x0f, 0x00, 0xf3, 0x48, 0xcd, 0xc9,
	    0xc9, 0x07, 0x00 };

	seed_add(ss, hello, sizeof(hello));
	seed_add(ss, two, sizeof(two));
	seed_add(ss, stored, sizeof(stored));
	seed_add(ss, final, sizeof(final));
}

static void
seed_msg(struct seeds *ss, struct ipc_msg *m)
{
	if (ipc_msg_finish(m) == 0)
		seed_add(ss, m->im_buf, m->im_len);
	ipc_msg_free(m);
}

/* One valid message per type (layouts in ipc_types.h). */
static void
seeds_ipc(struct seeds *ss)
{
	struct ipc_msg	m;

	ipc_msg_init(&m, IPC_W_HELLO, 0);
	ipc_add_u32(&m, IPC_VERSION);
	ipc_add_u32(&m, 1);
	ipc_add_u32(&m, 100);
	ipc_add_i64(&m, 1700000000000LL);
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_CONN_OPEN, 5);
	ipc_add_u8(&m, IPC_CONN_CHAT);
	ipc_add_u8(&m, 0);
	ipc_add_str(&m, "127.0.0.1:40000");
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_CONN_CLOSE, 5);
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_CLIENT_REQ, 5);
	ipc_add_u8(&m, 1);
	ipc_add_str(&m, "general");
	ipc_add_str(&m, "hi");
	seed_msg(ss, &m);
	/* conn_id doubles as fz_program's opcode stream. */
	ipc_msg_init(&m, IPC_CONN_AUTH, 0x2ad1c688ULL);
	ipc_add_u8(&m, 0);
	ipc_add_str(&m, "alice");
	ipc_add_str(&m, "Alice");
	ipc_add_u8(&m, 0);
	ipc_add_i64(&m, 1700003600);
	ipc_add_u8(&m, 1);
	ipc_add_u32(&m, 2);
	ipc_add_str(&m, "general");
	ipc_add_str(&m, "dev*");
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_W_RESYNC_DONE, 0);
	ipc_add_u32(&m, 3);
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_B_HELLO, 0);
	ipc_add_u32(&m, IPC_VERSION);
	ipc_add_u32(&m, 101);
	ipc_add_i64(&m, 1700000000001LL);
	seed_msg(ss, &m);
	/* A batch: an ack, then its broadcast. */
	ipc_msg_init(&m, IPC_DELIVER, 0);
	ipc_add_u32(&m, 2);
	ipc_add_u8(&m, IPC_ITEM_REPLY);
	ipc_add_u64(&m, 5);
	ipc_add_u8(&m, IPC_ITEM_F_RESPONSE);
	ipc_add_str(&m, "{\"type\":\"pong\"}");
	ipc_add_u8(&m, IPC_ITEM_ROOM);
	ipc_add_str(&m, "general");
	ipc_add_i64(&m, 9);
	ipc_add_u32(&m, 2);
	ipc_add_u64(&m, 5);
	ipc_add_u64(&m, 6);
	ipc_add_str(&m, "{\"type\":\"message\"}");
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_KICK, 5);
	ipc_add_u16(&m, 4401);
	ipc_add_str(&m, "invalid token");
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_HELLO, 0);
	ipc_add_u32(&m, IPC_VERSION);
	ipc_add_u8(&m, IPC_ROLE_BROKER);
	ipc_add_u32(&m, 0);
	ipc_add_u32(&m, 102);
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_PEER_SETUP, 0);
	ipc_add_u32(&m, 1);
	ipc_add_u32(&m, 100);
	ipc_add_i64(&m, 1700000000000LL);
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_DRAIN, 0);
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_SUP_INFO, 0);
	ipc_add_u32(&m, 1);
	ipc_add_i64(&m, 1699999999999LL);
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_CTL_REQ, 0);
	ipc_add_u32(&m, 3);
	ipc_add_str(&m, "kick");
	ipc_add_str(&m, "alice");
	ipc_add_str(&m, "spam");
	seed_msg(ss, &m);
	ipc_msg_init(&m, IPC_CTL_REPLY, 0);
	ipc_add_u32(&m, 0);
	ipc_add_str(&m, "{\"workers\":2}");
	seed_msg(ss, &m);
}

static void
seeds_jwt(struct seeds *ss)
{
	static const char *const toks[] = {
		/* HS256 {"sub":"alice"}, and the same with a bad signature. */
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4"
		    "cCI6MTgwMDAwMzYwMH0.c2lnbmF0dXJl",
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IiLCJyb29tcyI6WyJhKiJdfQ."
		    "AAAA",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"a.b.c",
		"..",
	};

	for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
		seed_add(ss, toks[i], strlen(toks[i]));
}

static void
seeds_api_body(struct seeds *ss)
{
	static const char *const bodies[] = {
		"{\"room\":\"general\",\"text\":\"hello\"}",
		"{\"room\":\"ops\",\"event\":\"deploy.done\",\"data\":"
		    "{\"v\":[1,2.5,null,true]},\"persist\":false}",
		"{\"room\":\"r\",\"text\":\"\\ud83d\\ude00 \\ud800\","
		    "\"user\":\"bot\",\"name\":\"B\\u00f6t\"}",
		" {\"room\":\"a:b\",\"event\":\"x\"} \r\n",
		"[1]",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		seed_add(ss, bodies[i], strlen(bodies[i]));
}

static void
seeds_config(struct seeds *ss)
{
	static const char *const confs[] = {
		"[server]\nlisten = 127.0.0.1:0\nworkers = 2\n"
		    "[websocket]\necho_path = /echo ; test\n"
		    "[auth]\nalgorithm = HS256\nsecret = 0123456789abcdef"
		    "0123456789abcdef\n",
		"[tls]\nlisten = [::1]:8443\ncert_file = c.pem\n"
		    "key_file = k.pem\nmin_version = TLSv1.3\n"
		    "ciphers = ECDHE-RSA-AES128-GCM-SHA256\n",
		"[limits]\nmax_connections = 10\nsend_rate = 5\n"
		    "[store]\nsynchronous = normal\n"
		    "[api]\nlisten =\n",
		"  [auth]\n  algorithm = RS256\r\npublic_key_file = p.pem\n"
		    "# comment\n\n",
	};

	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++)
		seed_add(ss, confs[i], strlen(confs[i]));
}

/* Values that sit on length and sign boundaries. */
static const uint64_t interesting[] = {
	0, 1, 2, 4, 8, 0x7d, 0x7e, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff,
	0x10000, 0x1000000, 0x7fffffff, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffffffULL, 0xffffffffffffffffULL,
};
static const uint8_t tokens[] = { '\0', '\r', '\n', ':', ' ', ',', ';', '%',
	'?', '=', '\t', 0x80, 0xc0, 0xed, 0xf4, 0xff };

/* Apply one random edit to buf (len bytes, room for SMOKE_MAXLEN). */
static size_t
mutate(uint64_t *st, uint8_t *buf, size_t len, const struct seeds *ss)
{
	const struct seed *o;
	uint64_t	 v;
	size_t		 pos, n, w;

	pos = rnd_below(st, len + 1);
	switch (rnd_below(st, 10)) {
	case 0:		/* flip a bit */
		if (len > 0)
			buf[rnd_below(st, len)] ^= 1u << rnd_below(st, 8);
		break;
	case 1:		/* set a random byte */
		if (len > 0)
			buf[rnd_below(st, len)] = (uint8_t)rnd(st);
		break;
	case 2:		/* set a token byte */
		if (len > 0)
			buf[rnd_below(st, len)] =
			    tokens[rnd_below(st, sizeof(tokens))];
		break;
	case 3:		/* overwrite 1, 2, 4 or 8 bytes with a boundary value */
		w = (size_t)1 << rnd_below(st, 4);
		if (len >= w) {
			v = interesting[rnd_below(st, sizeof(interesting) /
			    sizeof(interesting[0]))];
			if (rnd(st) & 1)
				v = __builtin_bswap64(v) >> (64 - 8 * w);
			memcpy(buf + rnd_below(st, len - w + 1), &v, w);
		}
		break;
	case 4:		/* insert random bytes */
		n = 1 + rnd_below(st, 16);
		if (n > SMOKE_MAXLEN - len)
			n = SMOKE_MAXLEN - len;
		memmove(buf + pos + n, buf + pos, len - pos);
		for (w = 0; w < n; w++)
			buf[pos + w] = (uint8_t)rnd(st);
		len += n;
		break;
	case 5:		/* delete a range */
		n = rnd_below(st, len - pos + 1);
		memmove(buf + pos, buf + pos + n, len - pos - n);
		len -= n;
		break;
	case 6:		/* truncate */
		len = pos;
		break;
	case 7:		/* splice in part of a seed */
		o = &ss->ss_v[rnd_below(st, ss->ss_n)];
		w = rnd_below(st, o->sd_len + 1);
		n = rnd_below(st, o->sd_len - w + 1);
		if (n > SMOKE_MAXLEN - len)
			n = SMOKE_MAXLEN - len;
		memmove(buf + pos + n, buf + pos, len - pos);
		memcpy(buf + pos, o->sd_buf + w, n);
		len += n;
		break;
	case 8:		/* repeat the input: pipelined frames and messages */
		n = len < SMOKE_MAXLEN - len ? len : SMOKE_MAXLEN - len;
		memcpy(buf + len, buf, n);
		len += n;
		break;
	default:	/* grow with filler: long lengths and heads */
		n = rnd_below(st, 1024);
		if (n > SMOKE_MAXLEN - len)
			n = SMOKE_MAXLEN - len;
		memmove(buf + pos + n, buf + pos, len - pos);
		memset(buf + pos, (int)tokens[rnd_below(st, sizeof(tokens))] |
		    'A', n);
		len += n;
		break;
	}
	return len;
}

/* One input: a seed with a few edits, or now and then pure noise. */
static size_t
make_input(uint64_t *st, uint8_t *buf, const struct seeds *ss)
{
	const struct seed *s;
	size_t		 len, i, k;

	if (rnd_below(st, 16) == 0) {
		len = rnd_below(st, SMOKE_MAXLEN + 1);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd(st);
		return len;
	}
	s = &ss->ss_v[rnd_below(st, ss->ss_n)];
	memcpy(buf, s->sd_buf, s->sd_len);
	len = s->sd_len;
	k = 1 + rnd_below(st, 8);
	for (i = 0; i < k; i++)
		len = mutate(st, buf, len, ss);
	return len;
}

/* Run the target on an exact-size copy, so ASan sees any overread. */
static int
run_one(const struct target *t, const uint8_t *buf, size_t len)
{
	uint8_t	*copy;
	int	 rc;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL) {
		perror("fuzz_smoke: malloc");
		exit(2);
	}
	memcpy(copy, buf, len);
	rc = t->t_fn(len > 0 ? copy : copy + 1, len);
	free(copy);
	return rc;
}

static int
run_target(const struct target *t, size_t iters, size_t *inputs)
{
	struct seeds	*ss;
	uint8_t		 buf[SMOKE_MAXLEN];
	uint64_t	 st = SMOKE_SEED;
	size_t		 i, len;
	int		 failures = 0;

	if ((ss = calloc(1, sizeof(*ss))) == NULL) {
		perror("fuzz_smoke: calloc");
		exit(2);
	}
	t->t_seeds(ss);
	for (i = 0; i < iters; i++) {
		/* Every seed as it is first, then mutants. */
		if (i < ss->ss_n) {
			len = ss->ss_v[i].sd_len;
			memcpy(buf, ss->ss_v[i].sd_buf, len);
		} else
			len = make_input(&st, buf, ss);
		if (run_one(t, buf, len) != 0) {
			if (failures++ < SMOKE_REPORT)
				fprintf(stderr, "fuzz_smoke: %s: input %zu "
				    "(%zu bytes) failed\n", t->t_name, i, len);
		}
	}
	free(ss);
	*inputs += iters;
	return failures;
}

/* Read one corpus file whole; NULL (and a message) if it cannot. */
static uint8_t *
read_file(const char *path, size_t *lenp)
{
	FILE	*fp;
	uint8_t	*buf;
	size_t	 n;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "fuzz_smoke: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(SMOKE_MAXFILE + 1)) == NULL) {
		perror("fuzz_smoke: malloc");
		exit(2);
	}
	n = fread(buf, 1, SMOKE_MAXFILE + 1, fp);
	fclose(fp);
	if (n > SMOKE_MAXFILE) {
		fprintf(stderr, "fuzz_smoke: %s: larger than %d bytes\n", path,
		    SMOKE_MAXFILE);
		free(buf);
		return NULL;
	}
	*lenp = n;
	return buf;
}

/* Every file of dir/NAME once, as it is.  A target without a corpus,
 * or a file that fails, is a failure. */
static int
run_corpus(const struct target *t, const char *dir, size_t *inputs)
{
	char		 path[4096];
	struct dirent	*de;
	DIR		*d;
	uint8_t		*buf;
	size_t		 len, n = 0;
	int		 failures = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, t->t_name);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "fuzz_smoke: %s: no seed corpus: %s\n",
		    t->t_name, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, t->t_name,
		    de->d_name);
		n++;
		if ((buf = read_file(path, &len)) == NULL) {
			failures++;
			continue;
		}
		if (run_one(t, buf, len) != 0) {
			failures++;
			fprintf(stderr, "fuzz_smoke: %s: corpus file %s "
			    "failed\n", t->t_name, path);
		}
		free(buf);
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "fuzz_smoke: %s: the seed corpus %s/%s is "
		    "empty\n", t->t_name, dir, t->t_name);
		failures++;
	}
	*inputs += n;
	return failures;
}

/* -w DIR: the built-in seeds as files, DIR/NAME/seed-NN (for the corpus). */
static int
write_seeds(const struct target *t, const char *dir)
{
	struct seeds	*ss;
	char		 path[4096];
	FILE		*fp;
	size_t		 i;

	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return -1;
	t->t_seeds(ss);
	snprintf(path, sizeof(path), "%s/%s", dir, t->t_name);
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		perror(path);
		free(ss);
		return -1;
	}
	for (i = 0; i < ss->ss_n; i++) {
		snprintf(path, sizeof(path), "%s/%s/seed-%02zu", dir,
		    t->t_name, i);
		if ((fp = fopen(path, "wb")) == NULL ||
		    fwrite(ss->ss_v[i].sd_buf, 1, ss->ss_v[i].sd_len, fp) !=
		    ss->ss_v[i].sd_len || fclose(fp) != 0) {
			perror(path);
			free(ss);
			return -1;
		}
	}
	free(ss);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct target targets[] = {
		{ "ws_frame", fuzz_ws_frame, seeds_ws },
		{ "http_upgrade", fuzz_http_upgrade, seeds_http },
		{ "ipc", fuzz_ipc, seeds_ipc },
		{ "chat_req", fuzz_chat_req, seeds_chat },
		{ "inflate", fuzz_inflate, seeds_inflate },
		{ "jwt", fuzz_jwt, seeds_jwt },
		{ "api_body", fuzz_api_body, seeds_api_body },
		{ "config", fuzz_config, seeds_config },
	};
	const size_t ntargets = sizeof(targets) / sizeof(targets[0]);
	const char *corpus = getenv("PARLEY_FUZZ_CORPUS");
	size_t	i, iters = SMOKE_ITERS, inputs = 0, files = 0;
	int	failures = 0;

	if (argc == 3 && strcmp(argv[1], "-w") == 0) {
		for (i = 0; i < ntargets; i++)
			if (write_seeds(&targets[i], argv[2]) == -1)
				return 1;
		return 0;
	}
	/* An optional count, for longer runs by hand. */
	if (argc > 2 || (argc > 1 &&
	    (iters = strtoul(argv[1], NULL, 10)) == 0)) {
		fprintf(stderr, "usage: fuzz_smoke [inputs-per-target]\n"
		    "       fuzz_smoke -w dir\n");
		return 2;
	}
	if (corpus == NULL || *corpus == '\0')
		corpus = PARLEY_FUZZ_CORPUS;
	for (i = 0; i < ntargets; i++) {
		failures += run_target(&targets[i], iters, &inputs);
		failures += run_corpus(&targets[i], corpus, &files);
	}
	printf("fuzz_smoke: %zu inputs and %zu corpus files (%s), %d "
	    "failures\n", inputs, files, corpus, failures);
	return failures == 0 ? 0 : 1;
}
