/*
 * conn_read.c: a connection's input.  OPEN runs the pure frame parser
 * (ws_frame.c) over the input in place, reassembles (and inflates)
 * messages, answers control frames and hands each text message to the
 * endpoint's application (struct conn_app) or echoes it.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "config.h"
#include "conn.h"
#include "conn_int.h"
#include "deflate.h"
#include "log.h"
#include "state.h"
#include "utf8.h"
#include "util.h"

/* The largest message a client may send: reassembled and, with
 * permessage-deflate, inflated (PROTOCOL.md 1).  The one place that reads
 * max_message_bytes for the frame layer and the chat layer. */
size_t
conn_max_message(const struct ws_conn *c)
{
	return (size_t)c->wc_worker->w_cfg->max_message_bytes;
}

static bool
conn_msg_utf8_valid(struct evbuffer *msg)
{
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v;
	struct utf8_state u;

	utf8_init(&u);
	if (evbuffer_ptr_set(msg, &pos, 0, EVBUFFER_PTR_SET) == -1)
		return false;
	while (evbuffer_peek(msg, -1, &pos, &v, 1) > 0 && v.iov_len > 0) {
		if (!utf8_feed(&u, v.iov_base, v.iov_len))
			return false;
		if (evbuffer_ptr_set(msg, &pos, v.iov_len,
		    EVBUFFER_PTR_ADD) == -1)
			break;
	}
	return utf8_complete(&u);
}

/* Replace the compressed message in wc_msg by its inflated text; checks
 * the size limit (1009), the DEFLATE data and, for text, UTF-8 (1007). */
static int
conn_inflate_message(struct ws_conn *c)
{
	struct evbuffer *plain = evbuffer_new();
	enum deflate_result r = DEFLATE_NOMEM;

	if (plain != NULL)
		r = deflate_inflate(c->wc_deflate, c->wc_msg, plain,
		    conn_max_message(c));
	switch (r) {
	case DEFLATE_OK:
		break;
	case DEFLATE_TOO_BIG:
		conn_close(c, WS_CLOSE_TOO_BIG, "message too big");
		goto fail;
	case DEFLATE_CORRUPT:
		conn_close(c, WS_CLOSE_INVALID_DATA,
		    "invalid compressed data");
		goto fail;
	case DEFLATE_NOMEM:
	default:
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
		goto fail;
	}
	if (c->wc_msg_opcode == WS_OP_TEXT && !conn_msg_utf8_valid(plain)) {
		conn_close(c, WS_CLOSE_INVALID_DATA, "invalid utf-8");
		goto fail;
	}
	evbuffer_add_buffer(c->wc_msg, plain);
	evbuffer_free(plain);
	return 0;
fail:
	if (plain != NULL)
		evbuffer_free(plain);
	return -1;
}

static void
conn_handle_message(struct ws_conn *c)
{
	struct evbuffer *msg = c->wc_msg;
	size_t len;

	if (c->wc_msg_compressed && conn_inflate_message(c) == -1)
		return;
	if (c->wc_endpoint == CONN_EP_ECHO) {
		conn_out_echo(c, c->wc_msg_opcode, msg);
		return;
	}
	len = evbuffer_get_length(msg);
	if (c->wc_msg_opcode == WS_OP_BINARY) {
		conn_close(c, WS_CLOSE_UNSUPPORTED, "binary messages are not "
		    "accepted");
		return;
	}
	if (c->wc_app != NULL)
		c->wc_app->ca_text(c, (const char *)evbuffer_pullup(msg, -1),
		    len);
	evbuffer_drain(msg, len);
}

/* A whole message is in wc_msg (taken on its first data): handle it,
 * then let the buffer go, so an idle connection holds none. */
static void
conn_on_message(struct ws_conn *c)
{
	if (c->wc_msg == NULL && (c->wc_msg = evbuffer_new()) == NULL) {
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	conn_handle_message(c);
	evbuffer_free(c->wc_msg);
	c->wc_msg = NULL;
}

static void
conn_on_control(struct ws_conn *c, const struct ws_event *ev)
{
	switch (ev->we_opcode) {
	case WS_OP_PING:
		conn_out_pong(c, ev->we_data, ev->we_len);
		break;
	case WS_OP_PONG:
		break;
	case WS_OP_CLOSE:
		/* Echo the client's code (RFC 6455 5.5.1), then close. */
		log_conn(LOG_LVL_DEBUG, c->wc_id, "ws_peer_close", "code %u",
		    ev->we_close_code);
		c->wc_close_code = ev->we_close_code;
		if (ev->we_close_code == WS_CLOSE_NO_STATUS)
			conn_out_frame(c, WS_OP_CLOSE, NULL, 0);
		else {
			uint8_t payload[2] = { ev->we_close_code >> 8,
			    ev->we_close_code & 0xff };

			conn_out_frame(c, WS_OP_CLOSE, payload, 2);
		}
		conn_begin_flush(c);
		break;
	}
}

/* Run the parser over the input in place, chunk by chunk.  The parser
 * reports one event per call and may owe one (MESSAGE_END) after the
 * input is used up, so call it until it has nothing left to say. */
static void
conn_read_frames(struct ws_conn *c, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	struct ws_event ev;
	uint8_t empty[1];

	while (c->wc_state == CONN_OPEN && !c->wc_paused) {
		uint8_t *buf = empty;
		size_t len = 0, used;

		if (evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
			len = v.iov_len;
			buf = evbuffer_pullup(in, (ssize_t)len);
		}
		used = ws_parser_feed(&c->wc_parser, buf, len, &ev);
		if (used > 0)
			c->wc_last_rx_ms = now_mono_ms();
		switch (ev.we_type) {
		case WS_EV_NONE:
			break;
		case WS_EV_DATA:
			if (c->wc_endpoint == CONN_EP_CHAT &&
			    ev.we_opcode == WS_OP_BINARY) {
				evbuffer_drain(in, used);
				conn_close(c, WS_CLOSE_UNSUPPORTED,
				    "binary messages are not accepted");
				return;
			}
			/* Compressed: the wire size is bounded by the
			 * parser, the inflated size by the inflater. */
			if (c->wc_msg == NULL &&
			    (c->wc_msg = evbuffer_new()) == NULL) {
				evbuffer_drain(in, evbuffer_get_length(in));
				conn_close(c, WS_CLOSE_INTERNAL,
				    "out of memory");
				return;
			}
			if (c->wc_deflate != NULL && !ev.we_compressed &&
			    evbuffer_get_length(c->wc_msg) + ev.we_len >
			    conn_max_message(c)) {
				evbuffer_drain(in, evbuffer_get_length(in));
				conn_close(c, WS_CLOSE_TOO_BIG,
				    "message too big");
				return;
			}
			c->wc_msg_opcode = ev.we_opcode;
			evbuffer_add(c->wc_msg, ev.we_data, ev.we_len);
			break;
		case WS_EV_MESSAGE_END:
			c->wc_msg_opcode = ev.we_opcode;
			c->wc_msg_compressed = ev.we_compressed;
			evbuffer_drain(in, used);
			conn_on_message(c);
			continue;
		case WS_EV_CONTROL:
			evbuffer_drain(in, used);
			conn_on_control(c, &ev);
			continue;
		case WS_EV_ERROR:
			evbuffer_drain(in, evbuffer_get_length(in));
			log_conn(LOG_LVL_INFO, c->wc_id, "ws_protocol_error",
			    "%s", ev.we_reason);
			conn_close(c, ev.we_close_code, ev.we_reason);
			return;
		}
		evbuffer_drain(in, used);
		if (used == 0 && ev.we_type == WS_EV_NONE)
			break;
	}
}

void
conn_input(struct ws_conn *c, struct evbuffer *in)
{
	switch (c->wc_state) {
	case CONN_HANDSHAKE:
		if (!conn_read_head(c, in))
			return;
		/* frames may follow the head at once */
		__attribute__((fallthrough));
	case CONN_OPEN:
		conn_read_frames(c, in);
		break;
	case CONN_FLUSHING:
	case CONN_LINGER:
		evbuffer_drain(in, evbuffer_get_length(in));
		break;
	default:
		break;
	}
}
