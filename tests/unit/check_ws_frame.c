/* check_ws_frame.c: RFC 6455 frame parser and encoder.  Every stream in the
 * table is fed whole, byte by byte and in random splits; all must give the
 * same transcript. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "ws_frame.h"

/* One client frame, built (and masked) by the test itself. */
struct fr {
	int		 used;
	uint8_t		 b0;		/* FIN, RSV, opcode as sent */
	const char	*pl;		/* NULL: plen bytes of 'x' */
	size_t		 plen;
	unsigned int	 fl;
};
#define F_LEN16		0x01	/* 16-bit length whatever the size */
#define F_LEN64		0x02	/* 64-bit length whatever the size */
#define F_NOMASK	0x04	/* leave the MASK bit clear */

#define FR(b0, s)	{ 1, b0, s, sizeof(s) - 1, 0 }
#define FRF(b0, s, f)	{ 1, b0, s, sizeof(s) - 1, f }
#define FILL(b0, n)	{ 1, b0, NULL, n, 0 }

#define O_RSV1		0x01	/* permessage-deflate negotiated */
#define O_NOUTF8	0x02	/* wp_validate_utf8 off */

struct ws_case {
	const char	*name;
	struct fr	 fr[6];
	const char	*raw;	/* hex, appended after the frames */
	uint64_t	 max;	/* 0: 1 MiB */
	unsigned int	 opt;
	const char	*want;	/* transcript; see tr_event() */
};

#define FIN	0x80
#define RSV1	0x40
#define OP_TEXT	0x01
#define OP_BIN	0x02
#define OP_CLOSE 0x08
#define OP_PING	0x09
#define OP_PONG	0x0a

static const struct ws_case ws_cases[] = {
	/* Plain messages. */
	{ "text", { FR(FIN | OP_TEXT, "Hello") }, NULL, 0, 0, "T[Hello]" },
	{ "binary", { FR(FIN | OP_BIN, "\x00\x01\xff") }, NULL, 0, 0,
	    "B[\\x00\\x01\\xff]" },
	{ "empty text", { FR(FIN | OP_TEXT, "") }, NULL, 0, 0, "T[]" },
	{ "empty binary", { FR(FIN | OP_BIN, "") }, NULL, 0, 0, "B[]" },
	{ "rfc 5.7 masked hello", { { 0 } },
	    "818537fa213d7f9f4d5158", 0, 0, "T[Hello]" },
	{ "rfc 5.7 masked ping", { { 0 } },
	    "898537fa213d7f9f4d5158", 0, 0, "PING[Hello]" },
	{ "zero mask key", { { 0 } }, "8182000000006869", 0, 0, "T[hi]" },
	{ "several messages", { FR(FIN | OP_TEXT, "a"), FR(FIN | OP_BIN, "b"),
	    FR(FIN | OP_PING, "p"), FR(FIN | OP_TEXT, "") }, NULL, 0, 0,
	    "T[a] B[b] PING[p] T[]" },
	{ "16-bit length for 5 bytes", { FRF(FIN | OP_TEXT, "Hello",
	    F_LEN16) }, NULL, 0, 0, "T[Hello]" },
	{ "64-bit length for 5 bytes", { FRF(FIN | OP_TEXT, "Hello",
	    F_LEN64) }, NULL, 0, 0, "T[Hello]" },
	{ "126 bytes", { FILL(FIN | OP_BIN, 126) }, NULL, 0, 0, "B[x*126]" },
	{ "65535 bytes", { FILL(FIN | OP_BIN, 65535) }, NULL, 0, 0,
	    "B[x*65535]" },
	{ "70000 bytes", { FILL(FIN | OP_TEXT, 70000) }, NULL, 0, 0,
	    "T[x*70000]" },

	/* Fragmentation (Autobahn 5.x). */
	{ "fragmented", { FR(OP_TEXT, "Hel"), FR(FIN, "lo") }, NULL, 0, 0,
	    "T[Hello]" },
	{ "fragmented in 3", { FR(OP_BIN, "a"), FR(0, "b"), FR(FIN, "c") },
	    NULL, 0, 0, "B[abc]" },
	{ "ping between fragments", { FR(OP_TEXT, "Hel"),
	    FR(FIN | OP_PING, "ping"), FR(0, "l"), FR(FIN, "o") }, NULL, 0, 0,
	    "PING[ping] T[Hello]" },
	{ "pong and ping between fragments", { FR(OP_TEXT, "a"),
	    FR(FIN | OP_PONG, ""), FR(FIN | OP_PING, "x"), FR(FIN, "b") },
	    NULL, 0, 0, "PONG[] PING[x] T[ab]" },
	{ "close between fragments", { FR(OP_TEXT, "a"),
	    FR(FIN | OP_CLOSE, "\x03\xe8"), FR(FIN, "b") }, NULL, 0, 0,
	    "CLOSE1000[]" },
	{ "empty fragments", { FR(OP_TEXT, ""), FR(0, ""), FR(FIN, "") },
	    NULL, 0, 0, "T[]" },
	{ "empty first fragment", { FR(OP_TEXT, ""), FR(FIN, "ab") },
	    NULL, 0, 0, "T[ab]" },
	{ "continuation without message", { FR(FIN, "a") }, NULL, 0, 0,
	    "E1002" },
	{ "non-final continuation without message", { FR(0, "a") }, NULL, 0,
	    0, "E1002" },
	{ "continuation after final", { FR(FIN | OP_TEXT, "a"), FR(FIN, "b") },
	    NULL, 0, 0, "T[a] E1002" },
	{ "text inside fragmented", { FR(OP_TEXT, "a"),
	    FR(FIN | OP_TEXT, "b") }, NULL, 0, 0, "E1002" },
	{ "binary inside fragmented", { FR(OP_TEXT, "a"), FR(OP_BIN, "b") },
	    NULL, 0, 0, "E1002" },

	/* Control frames (Autobahn 2.x, 3.x, 4.x). */
	{ "ping empty", { FR(FIN | OP_PING, "") }, NULL, 0, 0, "PING[]" },
	{ "pong", { FR(FIN | OP_PONG, "abc") }, NULL, 0, 0, "PONG[abc]" },
	{ "ping binary payload", { FR(FIN | OP_PING, "\x00\xff\xfe") }, NULL,
	    0, 0, "PING[\\x00\\xff\\xfe]" },
	{ "ping 125", { FILL(FIN | OP_PING, 125) }, NULL, 0, 0,
	    "PING[x*125]" },
	{ "ping 126", { FILL(FIN | OP_PING, 126) }, NULL, 0, 0, "E1002" },
	{ "ping 16-bit length", { FRF(FIN | OP_PING, "a", F_LEN16) }, NULL, 0,
	    0, "E1002" },
	{ "fragmented ping", { FR(OP_PING, "a") }, NULL, 0, 0, "E1002" },
	{ "fragmented close", { FR(OP_CLOSE, "") }, NULL, 0, 0, "E1002" },
	{ "reserved opcode 3", { FR(FIN | 0x03, "") }, NULL, 0, 0, "E1002" },
	{ "reserved opcode 7", { FR(FIN | 0x07, "") }, NULL, 0, 0, "E1002" },
	{ "reserved opcode B", { FR(FIN | 0x0b, "") }, NULL, 0, 0, "E1002" },
	{ "reserved opcode F", { FR(FIN | 0x0f, "") }, NULL, 0, 0, "E1002" },
	{ "reserved opcode after text", { FR(FIN | OP_TEXT, "ok"),
	    FR(FIN | 0x05, "") }, NULL, 0, 0, "T[ok] E1002" },

	/* Close frames (Autobahn 7.x). */
	{ "close empty", { FR(FIN | OP_CLOSE, "") }, NULL, 0, 0,
	    "CLOSE1005[]" },
	{ "close 1000", { FR(FIN | OP_CLOSE, "\x03\xe8") }, NULL, 0, 0,
	    "CLOSE1000[]" },
	{ "close with reason", { FR(FIN | OP_CLOSE, "\x03\xe9" "bye") }, NULL,
	    0, 0, "CLOSE1001[bye]" },
	{ "close utf-8 reason", { FR(FIN | OP_CLOSE, "\x0f\xa0\xc3\xa9") },
	    NULL, 0, 0, "CLOSE4000[\\xc3\\xa9]" },
	{ "close code from filler", { FILL(FIN | OP_CLOSE, 125) }, NULL, 0, 0,
	    "E1002" },	/* "xx" is code 30840: invalid */
	{ "close then more", { FR(FIN | OP_CLOSE, "\x03\xe8"),
	    FR(FIN | OP_TEXT, "late") }, NULL, 0, 0, "CLOSE1000[]" },
	{ "close then garbage", { FR(FIN | OP_CLOSE, "") }, "ffffffff", 0, 0,
	    "CLOSE1005[]" },
	{ "close 1 byte", { FR(FIN | OP_CLOSE, "\x03") }, NULL, 0, 0,
	    "E1002" },
	{ "close 999", { FR(FIN | OP_CLOSE, "\x03\xe7") }, NULL, 0, 0,
	    "E1002" },
	{ "close 1004", { FR(FIN | OP_CLOSE, "\x03\xec") }, NULL, 0, 0,
	    "E1002" },
	{ "close 1005", { FR(FIN | OP_CLOSE, "\x03\xed") }, NULL, 0, 0,
	    "E1002" },
	{ "close 1006", { FR(FIN | OP_CLOSE, "\x03\xee") }, NULL, 0, 0,
	    "E1002" },
	{ "close 1015", { FR(FIN | OP_CLOSE, "\x03\xf7") }, NULL, 0, 0,
	    "E1002" },
	{ "close 5000", { FR(FIN | OP_CLOSE, "\x13\x88") }, NULL, 0, 0,
	    "E1002" },
	{ "close 4999", { FR(FIN | OP_CLOSE, "\x13\x87") }, NULL, 0, 0,
	    "CLOSE4999[]" },
	{ "close bad reason", { FR(FIN | OP_CLOSE, "\x03\xe8\xce\xba\xff") },
	    NULL, 0, 0, "E1007" },
	{ "close truncated reason", { FR(FIN | OP_CLOSE, "\x03\xe8\xce") },
	    NULL, 0, 0, "E1007" },

	/* Masking and reserved bits (Autobahn 3.x). */
	{ "unmasked", { FRF(FIN | OP_TEXT, "a", F_NOMASK) }, NULL, 0, 0,
	    "E1002" },
	{ "unmasked ping", { FRF(FIN | OP_PING, "", F_NOMASK) }, NULL, 0, 0,
	    "E1002" },
	{ "rsv1 not negotiated", { FR(FIN | RSV1 | OP_TEXT, "a") }, NULL, 0, 0,
	    "E1002" },
	{ "rsv2", { FR(FIN | 0x20 | OP_TEXT, "a") }, NULL, 0, O_RSV1,
	    "E1002" },
	{ "rsv3", { FR(FIN | 0x10 | OP_BIN, "a") }, NULL, 0, O_RSV1,
	    "E1002" },
	{ "rsv1 negotiated", { FR(FIN | RSV1 | OP_TEXT, "\xff") }, NULL, 0,
	    O_RSV1, "Tz[\\xff]" },
	{ "rsv1 on first fragment", { FR(RSV1 | OP_BIN, "a"), FR(FIN, "b") },
	    NULL, 0, O_RSV1, "Bz[ab]" },
	{ "rsv1 on continuation", { FR(RSV1 | OP_TEXT, "a"),
	    FR(FIN | RSV1, "b") }, NULL, 0, O_RSV1, "E1002" },
	{ "rsv1 on ping", { FR(FIN | RSV1 | OP_PING, "") }, NULL, 0, O_RSV1,
	    "E1002" },
	{ "rsv1 then plain", { FR(FIN | RSV1 | OP_TEXT, "a"),
	    FR(FIN | OP_TEXT, "b") }, NULL, 0, O_RSV1, "Tz[a] T[b]" },

	/* Lengths and the message limit. */
	{ "64-bit top bit", { { 0 } }, "81ff800000000000000537fa213d", 0, 0,
	    "E1002" },
	{ "at the limit", { FILL(FIN | OP_TEXT, 16) }, NULL, 16, 0,
	    "T[x*16]" },
	{ "over the limit", { FILL(FIN | OP_TEXT, 17) }, NULL, 16, 0,
	    "E1009" },
	{ "fragments at the limit", { FILL(OP_BIN, 10), FILL(FIN, 6) }, NULL,
	    16, 0, "B[x*16]" },
	{ "fragments over the limit", { FILL(OP_BIN, 10), FILL(FIN, 7) }, NULL,
	    16, 0, "E1009" },
	{ "limit per message", { FILL(FIN | OP_BIN, 16),
	    FILL(FIN | OP_BIN, 16) }, NULL, 16, 0, "B[x*16] B[x*16]" },
	{ "control not counted", { FILL(OP_BIN, 16), FILL(FIN | OP_PING, 20),
	    FR(FIN, "") }, NULL, 16, 0, "PING[x*20] B[x*16]" },
	/* Only the header arrives: refused before any payload. */
	{ "huge length refused early", { { 0 } }, "82ff0000010000000000",
	    0, 0, "E1009" },

	/* UTF-8 (Autobahn 6.x). */
	{ "text utf-8", { FR(FIN | OP_TEXT, "\xce\xba\xe1\xbd\xb9\xcf\x83"
	    "\xce\xbc\xce\xb5") }, NULL, 0, 0,
	    "T[\\xce\\xba\\xe1\\xbd\\xb9\\xcf\\x83\\xce\\xbc\\xce\\xb5]" },
	{ "text invalid", { FR(FIN | OP_TEXT, "\xff") }, NULL, 0, 0,
	    "E1007" },
	{ "text surrogate", { FR(FIN | OP_TEXT, "a\xed\xa0\x80") }, NULL, 0, 0,
	    "E1007" },
	{ "text truncated", { FR(FIN | OP_TEXT, "a\xc3") }, NULL, 0, 0,
	    "E1007" },
	{ "sequence split over fragments", { FR(OP_TEXT, "\xe2"),
	    FR(0, "\x82"), FR(FIN, "\xac") }, NULL, 0, 0,
	    "T[\\xe2\\x82\\xac]" },
	{ "sequence left open at end", { FR(OP_TEXT, "a"), FR(FIN, "\xe2\x82") },
	    NULL, 0, 0, "E1007" },
	{ "open sequence, empty final", { FR(OP_TEXT, "\xc3"), FR(FIN, "") },
	    NULL, 0, 0, "E1007" },
	/* Fails at the first fragment: the message never completes. */
	{ "fail fast", { FR(OP_TEXT, "\xf4\x90") }, NULL, 0, 0, "E1007" },
	{ "fail fast in second fragment", { FR(OP_TEXT, "ok"),
	    FR(0, "\xed\xa0") }, NULL, 0, 0, "E1007" },
	{ "binary not validated", { FR(FIN | OP_BIN, "\xff\xc0") }, NULL, 0,
	    0, "B[\\xff\\xc0]" },
	{ "validation off", { FR(FIN | OP_TEXT, "\xff") }, NULL, 0, O_NOUTF8,
	    "T[\\xff]" },

	/* Truncated input. */
	{ "one header byte", { { 0 } }, "81", 0, 0, " ..." },
	{ "header without mask key", { { 0 } }, "818537fa", 0, 0, " ..." },
	{ "partial payload", { { 0 } }, "818537fa213d7f9f", 0, 0, " ..." },
	{ "partial message", { FR(OP_TEXT, "ab") }, NULL, 0, 0, " ..." },
	{ "partial ping", { { 0 } }, "898537fa213d7f", 0, 0, " ..." },
};

#define NCASES	(sizeof(ws_cases) / sizeof(ws_cases[0]))

/* ---- building input ---- */

static size_t
hex_decode(const char *hex, uint8_t *out)
{
	size_t	n = 0;
	unsigned int v;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		ck_assert(sscanf(hex, "%2x", &v) == 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* The test's own masking: independent of ws_frame.c. */
static size_t
build_frame(const struct fr *f, unsigned int idx, uint8_t *out)
{
	uint8_t	 key[4] = { (uint8_t)(0x37 + idx * 13), 0xfa, 0x21, 0x3d };
	uint8_t	 mbit = (f->fl & F_NOMASK) ? 0 : 0x80;
	size_t	 n = 0, i, ext;
	uint64_t len = f->plen;

	out[n++] = f->b0;
	if ((f->fl & F_LEN64) || (!(f->fl & F_LEN16) && len > 0xffff)) {
		out[n++] = mbit | 127;
		ext = 8;
	} else if ((f->fl & F_LEN16) || len >= 126) {
		out[n++] = mbit | 126;
		ext = 2;
	} else {
		out[n++] = mbit | (uint8_t)len;
		ext = 0;
	}
	for (i = 0; i < ext; i++)
		out[n++] = (uint8_t)(len >> (8 * (ext - 1 - i)));
	if (mbit) {
		memcpy(out + n, key, 4);
		n += 4;
	}
	for (i = 0; i < len; i++) {
		out[n] = f->pl != NULL ? (uint8_t)f->pl[i] : 'x';
		if (mbit)
			out[n] ^= key[i & 3];
		n++;
	}
	return n;
}

static uint8_t *
build_case(const struct ws_case *c, size_t *lenp)
{
	size_t	 cap = 64, n = 0, i;
	uint8_t	*buf;

	for (i = 0; i < 6 && c->fr[i].used; i++)
		cap += c->fr[i].plen + WS_MAX_HEADER;
	if (c->raw != NULL)
		cap += strlen(c->raw) / 2;
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < 6 && c->fr[i].used; i++)
		n += build_frame(&c->fr[i], (unsigned int)i, buf + n);
	if (c->raw != NULL)
		n += hex_decode(c->raw, buf + n);
	*lenp = n;
	return buf;
}

/* ---- running the parser and writing a transcript ---- */

struct run {
	struct ws_parser ru_p;
	char		 ru_out[512];
	size_t		 ru_outlen;
	uint8_t		*ru_msg;		/* the data message so far */
	size_t		 ru_msglen;
	size_t		 ru_msgcap;
	int		 ru_msgop;	/* -1: no DATA seen yet */
	bool		 ru_msgz;
};

static void
tr_add(struct run *r, const char *s, size_t len)
{
	ck_assert_msg(r->ru_outlen + len < sizeof(r->ru_out),
	    "transcript full");
	memcpy(r->ru_out + r->ru_outlen, s, len);
	r->ru_outlen += len;
	r->ru_out[r->ru_outlen] = '\0';
}

static void
tr_fmt(struct run *r, const char *fmt, unsigned long v)
{
	char	tmp[64];
	int	n;

	n = snprintf(tmp, sizeof(tmp), fmt, v);
	tr_add(r, tmp, (size_t)n);
}

/* Payloads as text; a long run of one byte as "c*N". */
static void
tr_bytes(struct run *r, const uint8_t *b, size_t len)
{
	size_t	i;
	char	tmp[8];

	tr_add(r, "[", 1);
	for (i = 1; i < len && b[i] == b[0]; i++)
		;
	if (len > 8 && i == len && b[0] > 0x20 && b[0] < 0x7f) {
		tmp[0] = (char)b[0];
		tr_add(r, tmp, 1);
		tr_fmt(r, "*%lu", (unsigned long)len);
	} else {
		for (i = 0; i < len; i++) {
			if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\')
				tr_add(r, (const char *)b + i, 1);
			else
				tr_fmt(r, "\\x%02lx", b[i]);
		}
	}
	tr_add(r, "]", 1);
}

static void
tr_event(struct run *r, const struct ws_event *ev)
{
	if (r->ru_outlen > 0)
		tr_add(r, " ", 1);
	switch (ev->we_type) {
	case WS_EV_MESSAGE_END:
		ck_assert(r->ru_msgop == -1 || r->ru_msgop == ev->we_opcode);
		tr_add(r, ev->we_opcode == WS_OP_TEXT ? "T" : "B", 1);
		if (ev->we_compressed)
			tr_add(r, "z", 1);
		tr_bytes(r, r->ru_msg, r->ru_msglen);
		r->ru_msglen = 0;
		r->ru_msgop = -1;
		break;
	case WS_EV_CONTROL:
		if (ev->we_opcode == WS_OP_CLOSE)
			tr_fmt(r, "CLOSE%lu", ev->we_close_code);
		else
			tr_add(r, ev->we_opcode == WS_OP_PING ? "PING" : "PONG", 4);
		tr_bytes(r, ev->we_data, ev->we_len);
		break;
	case WS_EV_ERROR:
		ck_assert_ptr_nonnull(ev->we_reason);
		tr_fmt(r, "E%lu", ev->we_close_code);
		break;
	default:
		ck_abort_msg("unexpected event %d", ev->we_type);
	}
}

static void
run_data(struct run *r, const struct ws_event *ev)
{
	if (r->ru_msgop == -1) {
		r->ru_msgop = ev->we_opcode;
		r->ru_msgz = ev->we_compressed;
	}
	if (r->ru_msgop != ev->we_opcode || r->ru_msgz != ev->we_compressed)
		ck_abort_msg("DATA opcode or flags changed mid-message");
	if (r->ru_msglen + ev->we_len > r->ru_msgcap) {
		r->ru_msgcap = (r->ru_msglen + ev->we_len) * 2;
		r->ru_msg = realloc(r->ru_msg, r->ru_msgcap);
		ck_assert_ptr_nonnull(r->ru_msg);
	}
	memcpy(r->ru_msg + r->ru_msglen, ev->we_data, ev->we_len);
	r->ru_msglen += ev->we_len;
}

/*
 * Feed one chunk from its own heap copy, so ASan sees any overrun.  Plain
 * ifs here: ck_assert marks a point per call, too slow per byte.
 */
static void
run_chunk(struct run *r, const uint8_t *src, size_t n)
{
	uint8_t	*buf = malloc(n > 0 ? n : 1);
	struct ws_event ev;
	size_t	 off = 0, c;
	int	 idle = 0;
	bool	 dead;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, src, n);
	for (;;) {
		c = ws_parser_feed(&r->ru_p, buf + off, n - off, &ev);
		if (c > n - off)
			ck_abort_msg("consumed %zu of %zu", c, n - off);
		if (ev.we_type == WS_EV_NONE) {
			dead = r->ru_p.wp_state == WS_PS_FAILED ||
			    r->ru_p.wp_state == WS_PS_CLOSED;
			if (dead ? c != 0 : off + c != n)
				ck_abort_msg("NONE left bytes unconsumed");
			break;
		}
		/* An event without progress may not repeat. */
		idle = c == 0 ? idle + 1 : 0;
		if (idle > 1)
			ck_abort_msg("no progress");
		if (ev.we_type == WS_EV_DATA) {
			if (ev.we_len == 0 || ev.we_data < buf + off ||
			    ev.we_data + ev.we_len > buf + off + c)
				ck_abort_msg("DATA outside the consumed bytes");
			run_data(r, &ev);
		} else
			tr_event(r, &ev);
		off += c;
	}
	free(buf);
}

static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* mode 0: whole; 1: byte by byte; else random splits seeded by mode.
 * Inputs over 4 KiB get larger chunks, to keep the ASan run short. */
static void
run_case(const struct ws_case *c, int mode, struct run *r)
{
	uint8_t	*in;
	size_t	 len, off = 0, n;
	uint32_t seed = (uint32_t)mode * 2654435761u;

	memset(r, 0, sizeof(*r));
	r->ru_msgop = -1;
	ws_parser_init(&r->ru_p, c->max ? c->max : 1 << 20);
	r->ru_p.wp_allow_rsv1 = (c->opt & O_RSV1) != 0;
	r->ru_p.wp_validate_utf8 = !(c->opt & O_NOUTF8);
	in = build_case(c, &len);
	while (off < len) {
		if (mode == 0)
			n = len;
		else if (mode == 1 && len <= 4096)
			n = 1;
		else	/* small chunks, but not for the 64 KiB messages */
			n = 1 + xorshift(&seed) %
			    (mode % 2 && len <= 4096 ? 7 : 300);
		if (n > len - off)
			n = len - off;
		run_chunk(r, in + off, n);
		off += n;
	}
	/* An empty feed at the end changes nothing. */
	run_chunk(r, in, 0);
	if (r->ru_p.wp_state == WS_PS_PAYLOAD ||
	    (r->ru_p.wp_state == WS_PS_HEADER &&
	    (r->ru_p.wp_hdr_len > 0 || r->ru_p.wp_in_message)))
		tr_add(r, " ...", 4);
	free(in);
	free(r->ru_msg);
}

START_TEST(test_cases)
{
	const struct ws_case *c = &ws_cases[_i];
	struct run r;
	int	mode;

	for (mode = 0; mode < 12; mode++) {
		run_case(c, mode, &r);
		ck_assert_msg(strcmp(r.ru_out, c->want) == 0,
		    "%s (mode %d): got \"%s\", want \"%s\"", c->name, mode,
		    r.ru_out, c->want);
	}
}
END_TEST

/* ---- parser details the table cannot show ---- */

START_TEST(test_data_in_place)
{
	struct ws_parser p;
	struct ws_event ev;
	uint8_t	buf[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	    0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	size_t	c;

	ws_parser_init(&p, 100);
	c = ws_parser_feed(&p, buf, sizeof(buf), &ev);
	ck_assert_uint_eq(c, sizeof(buf));
	ck_assert_int_eq(ev.we_type, WS_EV_DATA);
	ck_assert_ptr_eq(ev.we_data, buf + 6);
	ck_assert_uint_eq(ev.we_len, 5);
	ck_assert(memcmp(buf + 6, "Hello", 5) == 0);
	ck_assert_int_eq(ev.we_opcode, WS_OP_TEXT);
	/* The end comes from a call with nothing left. */
	c = ws_parser_feed(&p, buf + c, 0, &ev);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(ev.we_type, WS_EV_MESSAGE_END);
	c = ws_parser_feed(&p, NULL, 0, &ev);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(ev.we_type, WS_EV_NONE);
	ck_assert_int_eq(p.wp_state, WS_PS_HEADER);
}
END_TEST

START_TEST(test_one_event_per_call)
{
	struct ws_parser p;
	struct ws_event ev;
	/* ping "a" then pong "b", key 0 */
	uint8_t	buf[] = { 0x89, 0x81, 0, 0, 0, 0, 'a',
	    0x8a, 0x81, 0, 0, 0, 0, 'b' };
	size_t	c;

	ws_parser_init(&p, 100);
	c = ws_parser_feed(&p, buf, sizeof(buf), &ev);
	ck_assert_uint_eq(c, 7);
	ck_assert_int_eq(ev.we_type, WS_EV_CONTROL);
	ck_assert_int_eq(ev.we_opcode, WS_OP_PING);
	ck_assert_uint_eq(ev.we_len, 1);
	ck_assert_int_eq(ev.we_data[0], 'a');
	c = ws_parser_feed(&p, buf + 7, 7, &ev);
	ck_assert_uint_eq(c, 7);
	ck_assert_int_eq(ev.we_opcode, WS_OP_PONG);
}
END_TEST

START_TEST(test_error_is_final)
{
	struct ws_parser p;
	struct ws_event ev;
	uint8_t	buf[] = { 0x81, 0x01, 'a', 0x81, 0x81, 0, 0, 0, 0, 'a' };
	size_t	c;

	ws_parser_init(&p, 100);
	c = ws_parser_feed(&p, buf, sizeof(buf), &ev);
	ck_assert_uint_eq(c, 2);	/* the unmasked byte 1 */
	ck_assert_int_eq(ev.we_type, WS_EV_ERROR);
	ck_assert_uint_eq(ev.we_close_code, WS_CLOSE_PROTOCOL_ERROR);
	ck_assert_int_eq(p.wp_state, WS_PS_FAILED);
	c = ws_parser_feed(&p, buf + 3, sizeof(buf) - 3, &ev);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(ev.we_type, WS_EV_NONE);
}
END_TEST

START_TEST(test_close_event)
{
	struct ws_parser p;
	struct ws_event ev;
	uint8_t	buf[] = { 0x88, 0x85, 0, 0, 0, 0, 0x0f, 0xa1, 'b', 'y', 'e',
	    0x81, 0x80, 0, 0, 0, 0 };
	size_t	c;

	ws_parser_init(&p, 100);
	c = ws_parser_feed(&p, buf, sizeof(buf), &ev);
	ck_assert_uint_eq(c, 11);
	ck_assert_int_eq(ev.we_type, WS_EV_CONTROL);
	ck_assert_int_eq(ev.we_opcode, WS_OP_CLOSE);
	ck_assert_uint_eq(ev.we_close_code, 4001);
	ck_assert_uint_eq(ev.we_len, 3);
	ck_assert(memcmp(ev.we_data, "bye", 3) == 0);
	ck_assert_int_eq(p.wp_state, WS_PS_CLOSED);
	c = ws_parser_feed(&p, buf + 11, sizeof(buf) - 11, &ev);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(ev.we_type, WS_EV_NONE);
}
END_TEST

/* The limit is enforced from the header alone. */
START_TEST(test_too_big_from_header)
{
	struct ws_parser p;
	struct ws_event ev;
	uint8_t	buf[] = { 0x82, 0xfe, 0x01, 0x00 };	/* 256 bytes */
	size_t	c;

	ws_parser_init(&p, 255);
	c = ws_parser_feed(&p, buf, sizeof(buf), &ev);
	ck_assert_uint_eq(c, 4);
	ck_assert_int_eq(ev.we_type, WS_EV_ERROR);
	ck_assert_uint_eq(ev.we_close_code, WS_CLOSE_TOO_BIG);
}
END_TEST

/* ---- close codes ---- */

static const struct {
	uint16_t	code;
	bool		valid;
} close_codes[] = {
	{ 0, false }, { 999, false }, { 1000, true }, { 1001, true },
	{ 1002, true }, { 1003, true }, { 1004, false }, { 1005, false },
	{ 1006, false }, { 1007, true }, { 1008, true }, { 1009, true },
	{ 1010, true }, { 1011, true }, { 1012, true }, { 1013, true },
	{ 1014, true }, { 1015, false }, { 1016, false }, { 1100, false },
	{ 2000, false }, { 2999, false }, { 3000, true }, { 3999, true },
	{ 4000, true }, { 4401, true }, { 4999, true }, { 5000, false },
	{ 65535, false },
};

START_TEST(test_close_code_valid)
{
	ck_assert_msg(ws_close_code_valid(close_codes[_i].code) ==
	    close_codes[_i].valid, "code %u", close_codes[_i].code);
}
END_TEST

/* ---- encoder ---- */

START_TEST(test_header_bytes)
{
	static const struct {
		uint8_t		op;
		bool		fin, rsv1;
		uint64_t	len;
		const char	*hex;
	} hc[] = {
		{ WS_OP_TEXT, true, false, 0, "8100" },
		{ WS_OP_TEXT, true, false, 125, "817d" },
		{ WS_OP_TEXT, true, false, 126, "817e007e" },
		{ WS_OP_BINARY, true, false, 65535, "827effff" },
		{ WS_OP_BINARY, true, false, 65536, "827f0000000000010000" },
		{ WS_OP_TEXT, false, true, 5, "4105" },
		{ WS_OP_CONT, true, false, 1, "8001" },
		{ WS_OP_CLOSE, true, false, 2, "8802" },
		{ WS_OP_PING, true, false, 0, "8900" },
		{ WS_OP_BINARY, true, false, 0x0102030405060708ULL,
		    "827f0102030405060708" },
	};
	uint8_t	out[WS_MAX_SERVER_HEADER], want[WS_MAX_SERVER_HEADER];
	size_t	i, n, wn;

	for (i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
		n = ws_frame_header(out, hc[i].op, hc[i].fin, hc[i].rsv1,
		    hc[i].len);
		wn = hex_decode(hc[i].hex, want);
		ck_assert_uint_eq(n, wn);
		ck_assert_msg(memcmp(out, want, n) == 0, "case %zu", i);
	}
}
END_TEST

/* Server header + the test's mask, parsed back. */
START_TEST(test_header_round_trip)
{
	static const uint64_t lens[] = { 0, 1, 5, 125, 126, 127, 1000, 65535,
	    65536, 100000 };
	static const uint8_t ops[] = { WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING,
	    WS_OP_PONG };
	const uint8_t key[4] = { 0xa1, 0xb2, 0xc3, 0xd4 };
	struct ws_parser p;
	struct ws_event ev;
	uint8_t	*buf;
	size_t	 li, oi, n, i, off, got, c;
	uint64_t len;
	int	 rsv1, ends;

	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
	for (oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++)
	for (rsv1 = 0; rsv1 < 2; rsv1++) {
		len = lens[li];
		if (ops[oi] >= WS_OP_CLOSE && (len > 125 || rsv1))
			continue;
		buf = malloc(WS_MAX_HEADER + len);
		ck_assert_ptr_nonnull(buf);
		n = ws_frame_header(buf, ops[oi], true, rsv1, len);
		ck_assert_uint_eq(n, len < 126 ? 2 : len < 65536 ? 4 : 10);
		ck_assert(!(buf[1] & 0x80));
		buf[1] |= 0x80;
		memcpy(buf + n, key, 4);
		n += 4;
		for (i = 0; i < len; i++)
			buf[n + i] = (uint8_t)('a' + i % 26) ^ key[i & 3];
		n += len;

		ws_parser_init(&p, 1 << 20);
		p.wp_allow_rsv1 = true;
		off = got = 0;
		ends = 0;
		for (;;) {
			c = ws_parser_feed(&p, buf + off, n - off, &ev);
			off += c;
			if (ev.we_type == WS_EV_NONE)
				break;
			ck_assert_int_ne(ev.we_type, WS_EV_ERROR);
			if (ev.we_type == WS_EV_DATA || ev.we_type == WS_EV_CONTROL) {
				for (i = 0; i < ev.we_len; i++)
					if (ev.we_data[i] != 'a' + (got + i) % 26)
						ck_abort_msg("byte %zu",
						    got + i);
				got += ev.we_len;
			}
			if (ev.we_type == WS_EV_DATA ||
			    ev.we_type == WS_EV_MESSAGE_END)
				ck_assert(ev.we_compressed == rsv1);
			if (ev.we_type == WS_EV_MESSAGE_END ||
			    ev.we_type == WS_EV_CONTROL) {
				ck_assert_int_eq(ev.we_opcode, ops[oi]);
				ends++;
			}
		}
		ck_assert_uint_eq(off, n);
		ck_assert_uint_eq(got, len);
		ck_assert_int_eq(ends, 1);
		free(buf);
	}
}
END_TEST

START_TEST(test_close_payload)
{
	uint8_t	out[WS_MAX_CONTROL_PAYLOAD];
	char	reason[200];
	size_t	n;

	n = ws_close_payload(out, 1000, NULL);
	ck_assert_uint_eq(n, 2);
	ck_assert(out[0] == 0x03 && out[1] == 0xe8);

	n = ws_close_payload(out, WS_CLOSE_INVALID_TOKEN, "token expired");
	ck_assert_uint_eq(n, 2 + 13);
	ck_assert(out[0] == 0x11 && out[1] == 0x31);
	ck_assert(memcmp(out + 2, "token expired", 13) == 0);

	ck_assert_uint_eq(ws_close_payload(out, WS_CLOSE_NO_STATUS, "x"), 0);

	memset(reason, 'a', sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	ck_assert_uint_eq(ws_close_payload(out, 1000, reason), 125);

	/* A 2-byte character straddling the limit is dropped whole. */
	memset(reason, 'a', 122);
	memcpy(reason + 122, "\xc3\xa9", 3);
	n = ws_close_payload(out, 1000, reason);
	ck_assert_uint_eq(n, 2 + 122);
	ck_assert(utf8_valid(out + 2, n - 2));

	/* ... but kept when it fits exactly. */
	memset(reason, 'a', 121);
	memcpy(reason + 121, "\xc3\xa9", 3);
	ck_assert_uint_eq(ws_close_payload(out, 1000, reason), 125);

	/* 4-byte characters only: the cut lands on a boundary. */
	for (n = 0; n + 4 < sizeof(reason); n += 4)
		memcpy(reason + n, "\xf0\x9f\x98\x80", 4);
	reason[n] = '\0';
	n = ws_close_payload(out, 1000, reason);
	ck_assert_uint_eq(n, 2 + 120);
	ck_assert(utf8_valid(out + 2, n - 2));
}
END_TEST

/* ws_close_payload output, masked by the test, parses back. */
START_TEST(test_close_round_trip)
{
	uint8_t	frame[2 + 4 + WS_MAX_CONTROL_PAYLOAD], pl[WS_MAX_CONTROL_PAYLOAD];
	struct ws_parser p;
	struct ws_event ev;
	size_t	n, i, c;

	n = ws_close_payload(pl, 4403, "forbidden \xe2\x82\xac");
	frame[0] = 0x88;
	frame[1] = 0x80 | (uint8_t)n;
	memcpy(frame + 2, "\x01\x02\x03\x04", 4);
	for (i = 0; i < n; i++)
		frame[6 + i] = pl[i] ^ (uint8_t)(1 + (i & 3));
	ws_parser_init(&p, 0);
	c = ws_parser_feed(&p, frame, 6 + n, &ev);
	ck_assert_uint_eq(c, 6 + n);
	ck_assert_int_eq(ev.we_type, WS_EV_CONTROL);
	ck_assert_uint_eq(ev.we_close_code, 4403);
	ck_assert_uint_eq(ev.we_len, n - 2);
	ck_assert(memcmp(ev.we_data, "forbidden \xe2\x82\xac", n - 2) == 0);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("ws_frame");
	TCase	*tc;

	tc = tcase_create("frames");
	tcase_set_timeout(tc, 60);	/* byte by byte, under ASan */
	tcase_add_loop_test(tc, test_cases, 0, NCASES);
	suite_add_tcase(s, tc);

	tc = tcase_create("parser");
	tcase_add_test(tc, test_data_in_place);
	tcase_add_test(tc, test_one_event_per_call);
	tcase_add_test(tc, test_error_is_final);
	tcase_add_test(tc, test_close_event);
	tcase_add_test(tc, test_too_big_from_header);
	tcase_add_loop_test(tc, test_close_code_valid, 0,
	    sizeof(close_codes) / sizeof(close_codes[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("encoder");
	tcase_add_test(tc, test_header_bytes);
	tcase_add_test(tc, test_header_round_trip);
	tcase_add_test(tc, test_close_payload);
	tcase_add_test(tc, test_close_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
