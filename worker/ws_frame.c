/* ws_frame.c: RFC 6455 section 5 frame parser (server side) and encoder. */
#include <string.h>

#include "ws_frame.h"

/*
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-------+-+-------------+-------------------------------+
 * |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 * |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 * |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 * | |1|2|3|       |K|             |                               |
 * +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 * |     Extended payload length continued, if payload len == 127  |
 * + - - - - - - - - - - - - - - - +-------------------------------+
 * |                               |Masking-key, if MASK set to 1  |
 * +-------------------------------+-------------------------------+
 * | Masking-key (continued)       |          Payload Data         |
 * +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * Every check runs when the header byte it needs arrives, in the same order
 * whatever the split, so a stream yields the same events however it is fed.
 */

#define WS_FIN		0x80
#define WS_RSV1		0x40
#define WS_RSV23	0x30
#define WS_OPMASK	0x0f
#define WS_MASKBIT	0x80
#define WS_LENMASK	0x7f
#define WS_IS_CONTROL(op)	(((op) & 0x08) != 0)

void
ws_parser_init(struct ws_parser *p, uint64_t max_message)
{
	memset(p, 0, sizeof(*p));
	p->wp_state = WS_PS_HEADER;
	p->wp_max_message = max_message;
	p->wp_validate_utf8 = true;
	utf8_init(&p->wp_utf8);
}

static void
ws_fail(struct ws_parser *p, struct ws_event *ev, uint16_t code,
    const char *reason)
{
	ev->we_type = WS_EV_ERROR;
	ev->we_close_code = code;
	ev->we_reason = reason;
	p->wp_state = WS_PS_FAILED;
}

/* Uncompressed text is validated here; compressed text after inflating. */
static bool
ws_msg_validates(const struct ws_parser *p)
{
	return p->wp_msg_opcode == WS_OP_TEXT && p->wp_validate_utf8 &&
	    !p->wp_msg_compressed;
}

static size_t
ws_hdr_extlen(uint8_t b1)
{
	b1 &= WS_LENMASK;
	return b1 == 126 ? 2 : b1 == 127 ? 8 : 0;
}

/* FIN, RSV and opcode; fragmentation rules that depend on them. */
static int
ws_check_byte0(struct ws_parser *p, struct ws_event *ev)
{
	uint8_t	b0 = p->wp_hdr[0], op = b0 & WS_OPMASK;

	if (b0 & WS_RSV23) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "reserved bit set");
		return -1;
	}
	switch (op) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "reserved opcode");
		return -1;
	}
	/* permessage-deflate marks only the first frame of a message. */
	if ((b0 & WS_RSV1) && (!p->wp_allow_rsv1 || op == WS_OP_CONT ||
	    WS_IS_CONTROL(op))) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "reserved bit set");
		return -1;
	}
	if (WS_IS_CONTROL(op) && !(b0 & WS_FIN)) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "fragmented control");
		return -1;
	}
	if (op == WS_OP_CONT && !p->wp_in_message) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "nothing to continue");
		return -1;
	}
	if ((op == WS_OP_TEXT || op == WS_OP_BINARY) && p->wp_in_message) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "message interleaved");
		return -1;
	}
	return 0;
}

/* MASK bit and the 7-bit length. */
static int
ws_check_byte1(struct ws_parser *p, struct ws_event *ev)
{
	uint8_t	b1 = p->wp_hdr[1];

	if (!(b1 & WS_MASKBIT)) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "unmasked frame");
		return -1;
	}
	if (WS_IS_CONTROL(p->wp_hdr[0]) &&
	    (b1 & WS_LENMASK) > WS_MAX_CONTROL_PAYLOAD) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "control too long");
		return -1;
	}
	return 0;
}

/* The whole length is known: refuse a message over the limit before its
 * payload arrives. */
static int
ws_check_length(struct ws_parser *p, struct ws_event *ev)
{
	size_t	 i, ext = ws_hdr_extlen(p->wp_hdr[1]);
	uint64_t len = 0, have;

	if (ext == 0)
		len = p->wp_hdr[1] & WS_LENMASK;
	for (i = 0; i < ext; i++)
		len = (len << 8) | p->wp_hdr[2 + i];
	if (ext == 8 && (len >> 63)) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "bad length");
		return -1;
	}
	if (!WS_IS_CONTROL(p->wp_hdr[0])) {
		have = (p->wp_hdr[0] & WS_OPMASK) == WS_OP_CONT ?
		    p->wp_msg_len : 0;
		/* have > max only if the caller lowered the limit. */
		if (have > p->wp_max_message ||
		    len > p->wp_max_message - have) {
			ws_fail(p, ev, WS_CLOSE_TOO_BIG, "message too big");
			return -1;
		}
	}
	p->wp_frame_len = len;
	return 0;
}

static void
ws_message_end(struct ws_parser *p, struct ws_event *ev)
{
	p->wp_msg_done = false;
	if (ws_msg_validates(p) && !utf8_complete(&p->wp_utf8)) {
		ws_fail(p, ev, WS_CLOSE_INVALID_DATA, "invalid utf-8");
		return;
	}
	ev->we_type = WS_EV_MESSAGE_END;
	ev->we_opcode = p->wp_msg_opcode;
	ev->we_compressed = p->wp_msg_compressed;
	p->wp_in_message = false;
	p->wp_msg_len = 0;
}

bool
ws_close_code_valid(uint16_t code)
{
	if (code >= 1000 && code <= 1003)
		return true;
	if (code >= 1007 && code <= 1014)
		return true;
	return code >= 3000 && code <= 4999;
}

static void
ws_control_done(struct ws_parser *p, struct ws_event *ev)
{
	const uint8_t *c = p->wp_ctrl;
	size_t	 n = p->wp_ctrl_len;
	uint16_t code;

	p->wp_state = WS_PS_HEADER;
	ev->we_opcode = p->wp_opcode;
	if (p->wp_opcode != WS_OP_CLOSE) {
		ev->we_type = WS_EV_CONTROL;
		ev->we_data = c;
		ev->we_len = n;
		return;
	}
	if (n == 1) {
		ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "bad close payload");
		return;
	}
	code = WS_CLOSE_NO_STATUS;
	if (n >= 2) {
		code = (uint16_t)((c[0] << 8) | c[1]);
		if (!ws_close_code_valid(code)) {
			ws_fail(p, ev, WS_CLOSE_PROTOCOL_ERROR,
			    "bad close code");
			return;
		}
		if (!utf8_valid(c + 2, n - 2)) {
			ws_fail(p, ev, WS_CLOSE_INVALID_DATA,
			    "invalid close reason");
			return;
		}
		c += 2;
		n -= 2;
	}
	ev->we_type = WS_EV_CONTROL;
	ev->we_close_code = code;
	ev->we_data = c;
	ev->we_len = n;
	p->wp_state = WS_PS_CLOSED;
}

/* The header is complete: set up the frame (and message) it starts. */
static void
ws_frame_begin(struct ws_parser *p, struct ws_event *ev)
{
	uint8_t	b0 = p->wp_hdr[0];

	p->wp_opcode = b0 & WS_OPMASK;
	p->wp_fin = (b0 & WS_FIN) != 0;
	memcpy(p->wp_mask, p->wp_hdr + p->wp_hdr_len - 4, 4);
	p->wp_frame_off = 0;
	p->wp_hdr_len = 0;

	if (WS_IS_CONTROL(p->wp_opcode)) {
		p->wp_ctrl_len = 0;
		if (p->wp_frame_len == 0)
			ws_control_done(p, ev);
		else
			p->wp_state = WS_PS_PAYLOAD;
		return;
	}
	if (p->wp_opcode != WS_OP_CONT) {
		p->wp_in_message = true;
		p->wp_msg_opcode = p->wp_opcode;
		p->wp_msg_compressed = (b0 & WS_RSV1) != 0;
		p->wp_msg_len = 0;
		utf8_init(&p->wp_utf8);
	}
	p->wp_msg_len += p->wp_frame_len;
	if (p->wp_frame_len != 0)
		p->wp_state = WS_PS_PAYLOAD;
	else if (p->wp_fin)
		ws_message_end(p, ev);
	/* else: an empty non-final fragment; no event for it. */
}

/* Collect header bytes into the spill buffer, checking each as it lands. */
static size_t
ws_feed_header(struct ws_parser *p, const uint8_t *buf, size_t len,
    struct ws_event *ev)
{
	size_t	n = 0, ext;

	while (n < len) {
		p->wp_hdr[p->wp_hdr_len++] = buf[n++];
		if (p->wp_hdr_len == 1) {
			if (ws_check_byte0(p, ev) == -1)
				return n;
			continue;
		}
		if (p->wp_hdr_len == 2 && ws_check_byte1(p, ev) == -1)
			return n;
		ext = ws_hdr_extlen(p->wp_hdr[1]);
		if (p->wp_hdr_len == 2 + ext && ws_check_length(p, ev) == -1)
			return n;
		if (p->wp_hdr_len == 2 + ext + 4) {
			ws_frame_begin(p, ev);
			return n;
		}
	}
	return n;
}

/* XOR with the mask, starting at frame offset off. */
static void
ws_unmask(uint8_t *buf, size_t len, const uint8_t mask[4], uint64_t off)
{
	uint8_t	 m[8];
	uint64_t w, mw;
	size_t	 i;

	for (i = 0; i < sizeof(m); i++)
		m[i] = mask[(off + i) & 3];
	memcpy(&mw, m, sizeof(mw));
	for (i = 0; len - i >= sizeof(w); i += sizeof(w)) {
		memcpy(&w, buf + i, sizeof(w));
		w ^= mw;
		memcpy(buf + i, &w, sizeof(w));
	}
	for (; i < len; i++)
		buf[i] ^= m[i & 7];
}

static size_t
ws_feed_payload(struct ws_parser *p, uint8_t *buf, size_t len,
    struct ws_event *ev)
{
	uint64_t left = p->wp_frame_len - p->wp_frame_off;
	size_t	 n = left < len ? (size_t)left : len;

	ws_unmask(buf, n, p->wp_mask, p->wp_frame_off);
	p->wp_frame_off += n;

	if (WS_IS_CONTROL(p->wp_opcode)) {
		/* Bounded: byte 1 already refused lengths over 125. */
		memcpy(p->wp_ctrl + p->wp_ctrl_len, buf, n);
		p->wp_ctrl_len += n;
		if (p->wp_frame_off == p->wp_frame_len)
			ws_control_done(p, ev);
		return n;
	}

	if (ws_msg_validates(p) && !utf8_feed(&p->wp_utf8, buf, n)) {
		ws_fail(p, ev, WS_CLOSE_INVALID_DATA, "invalid utf-8");
		return n;
	}
	if (p->wp_frame_off == p->wp_frame_len) {
		p->wp_state = WS_PS_HEADER;
		/* One event per call: the end comes with the next one. */
		p->wp_msg_done = p->wp_fin;
	}
	ev->we_type = WS_EV_DATA;
	ev->we_opcode = p->wp_msg_opcode;
	ev->we_compressed = p->wp_msg_compressed;
	ev->we_data = buf;
	ev->we_len = n;
	return n;
}

size_t
ws_parser_feed(struct ws_parser *p, uint8_t *buf, size_t len,
    struct ws_event *ev)
{
	size_t	off = 0;

	memset(ev, 0, sizeof(*ev));
	ev->we_type = WS_EV_NONE;
	if (p->wp_state == WS_PS_FAILED || p->wp_state == WS_PS_CLOSED)
		return 0;
	if (p->wp_msg_done) {
		ws_message_end(p, ev);
		return 0;
	}
	while (off < len && ev->we_type == WS_EV_NONE) {
		if (p->wp_state == WS_PS_HEADER)
			off += ws_feed_header(p, buf + off, len - off, ev);
		else
			off += ws_feed_payload(p, buf + off, len - off, ev);
	}
	return off;
}

size_t
ws_frame_header(uint8_t out[WS_MAX_SERVER_HEADER], uint8_t opcode, bool fin,
    bool rsv1, uint64_t len)
{
	size_t	i, n;

	out[0] = (uint8_t)((fin ? WS_FIN : 0) | (rsv1 ? WS_RSV1 : 0) |
	    (opcode & WS_OPMASK));
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	n = len <= 0xffff ? 2 : 8;
	out[1] = n == 2 ? 126 : 127;
	for (i = 0; i < n; i++)
		out[2 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	return 2 + n;
}

size_t
ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code,
    const char *reason)
{
	size_t	n = 0, max = WS_MAX_CONTROL_PAYLOAD - 2;

	/* 1005 means "no code": it is sent as an empty payload. */
	if (code == WS_CLOSE_NO_STATUS)
		return 0;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	/* Bounded scan: look at no more than one byte past the room. */
	while (reason != NULL && n <= max && reason[n] != '\0')
		n++;
	if (n > max) {
		/* Cut before a continuation byte so the reason stays UTF-8. */
		n = max;
		while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(out + 2, reason, n);
	return 2 + n;
}
