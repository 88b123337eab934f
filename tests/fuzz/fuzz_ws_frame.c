/* fuzz_ws_frame.c: the RFC 6455 parser over arbitrary bytes, in splits
 * derived from the input, checking the parser's contract as it goes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

int	fuzz_ws_frame(const uint8_t *, size_t);

/* abort() rather than assert(): NDEBUG must not turn the checks off. */
#define FZ_CHECK(x)	do { if (!(x)) abort(); } while (0)

/* Feed one chunk until the parser wants more; 0 when the parser is done. */
static int
fz_chunk(struct ws_parser *p, uint8_t *buf, size_t n)
{
	struct ws_event ev;
	size_t	 off = 0, c, i;
	int	 idle = 0;
	volatile uint8_t sink = 0;

	for (;;) {
		c = ws_parser_feed(p, buf + off, n - off, &ev);
		FZ_CHECK(c <= n - off);
		if (ev.we_type == WS_EV_NONE) {
			if (p->wp_state == WS_PS_FAILED ||
			    p->wp_state == WS_PS_CLOSED) {
				FZ_CHECK(c == 0);
				return 0;
			}
			FZ_CHECK(off + c == n);
			return 1;
		}
		idle = c == 0 ? idle + 1 : 0;
		FZ_CHECK(idle <= 1);
		switch (ev.we_type) {
		case WS_EV_DATA:
			FZ_CHECK(ev.we_len > 0);
			FZ_CHECK(ev.we_data >= buf + off &&
			    ev.we_data + ev.we_len <= buf + off + c);
			FZ_CHECK(ev.we_opcode == WS_OP_TEXT ||
			    ev.we_opcode == WS_OP_BINARY);
			break;
		case WS_EV_MESSAGE_END:
			FZ_CHECK(ev.we_opcode == WS_OP_TEXT ||
			    ev.we_opcode == WS_OP_BINARY);
			FZ_CHECK(!ev.we_compressed || p->wp_allow_rsv1);
			break;
		case WS_EV_CONTROL:
			FZ_CHECK(ev.we_len <= WS_MAX_CONTROL_PAYLOAD);
			FZ_CHECK(ev.we_opcode == WS_OP_PING ||
			    ev.we_opcode == WS_OP_PONG || ev.we_opcode == WS_OP_CLOSE);
			if (ev.we_opcode == WS_OP_CLOSE) {
				FZ_CHECK(p->wp_state == WS_PS_CLOSED);
				FZ_CHECK(ev.we_close_code == WS_CLOSE_NO_STATUS ||
				    ws_close_code_valid(ev.we_close_code));
				FZ_CHECK(utf8_valid(ev.we_data, ev.we_len));
			}
			break;
		case WS_EV_ERROR:
			FZ_CHECK(p->wp_state == WS_PS_FAILED);
			FZ_CHECK(ev.we_reason != NULL);
			FZ_CHECK(ev.we_close_code == WS_CLOSE_PROTOCOL_ERROR ||
			    ev.we_close_code == WS_CLOSE_INVALID_DATA ||
			    ev.we_close_code == WS_CLOSE_TOO_BIG);
			break;
		default:
			abort();
		}
		/* Touch every byte an event points at, for ASan. */
		for (i = 0; i < ev.we_len; i++)
			sink ^= ev.we_data[i];
		(void)sink;
		off += c;
	}
}

/*
 * Byte 0 picks the options and the split pattern; the rest is the stream.
 * Each chunk lives in its own allocation so overruns are caught.
 */
int
fuzz_ws_frame(const uint8_t *data, size_t size)
{
	struct ws_parser p;
	uint8_t	*buf;
	size_t	 off = 0, n;
	uint32_t seed;
	uint8_t	 ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	seed = 0x9e3779b9u ^ ctl;

	ws_parser_init(&p, (ctl & 0x01) ? 64 : 1 << 16);
	p.wp_allow_rsv1 = (ctl & 0x02) != 0;
	p.wp_validate_utf8 = (ctl & 0x04) == 0;

	while (off < size) {
		seed = seed * 1103515245u + 12345u;
		switch (ctl >> 6) {
		case 0:
			n = size - off;
			break;
		case 1:
			n = 1;
			break;
		default:
			n = 1 + (seed >> 16) % ((ctl & 0x38) + 1);
			break;
		}
		if (n > size - off)
			n = size - off;
		buf = malloc(n);
		if (buf == NULL)
			return 0;
		memcpy(buf, data + off, n);
		if (fz_chunk(&p, buf, n) == 0) {
			free(buf);
			return 0;
		}
		free(buf);
		off += n;
	}
	/* A pending MESSAGE_END comes out of an empty feed. */
	(void)fz_chunk(&p, &ctl, 0);
	return 0;
}

#ifdef PARLEY_LIBFUZZER
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	return fuzz_ws_frame(d, n);
}
#endif
