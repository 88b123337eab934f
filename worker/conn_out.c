/*
 * conn_out.c: the only code that writes to a client's output: frames
 * (compressed with permessage-deflate when agreed), shared fan-out
 * blocks, the HTTP answers, the output limit (a slow consumer is closed
 * with 1013) and the drain that ends FLUSHING.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "conn.h"
#include "conn_int.h"
#include "deflate.h"
#include "fanout.h"
#include "http_upgrade.h"
#include "log.h"
#include "state.h"

static struct evbuffer *
conn_output(const struct ws_conn *c)
{
	return bufferevent_get_output(c->wc_bev);
}

size_t
conn_out_pending(const struct ws_conn *c)
{
	return evbuffer_get_length(conn_output(c));
}

/* A slow consumer is closed rather than buffered without bound. */
static void
conn_check_output(struct ws_conn *c)
{
	size_t queued = conn_out_pending(c);

	if (queued > cfg_output_limit(c->wc_worker->w_cfg)) {
		log_conn(LOG_LVL_WARN, c->wc_id, "slow_consumer",
		    "%zu bytes queued, over max_output_bytes", queued);
		conn_close(c, WS_CLOSE_TRY_AGAIN, "slow consumer");
	}
}

void
conn_out_frame(struct ws_conn *c, uint8_t opcode, const void *data,
    size_t len)
{
	uint8_t hdr[WS_MAX_SERVER_HEADER];
	size_t hlen = ws_frame_header(hdr, opcode, true, false, len);
	struct evbuffer *out = conn_output(c);

	evbuffer_add(out, hdr, hlen);
	if (len > 0)
		evbuffer_add(out, data, len);
}

/* A data message: compressed (RSV1) when permessage-deflate was agreed
 * and the message is long enough to gain from it. */
static void
conn_out_data(struct ws_conn *c, uint8_t opcode, const void *data,
    size_t len)
{
	uint8_t hdr[WS_MAX_SERVER_HEADER];
	struct evbuffer *z;
	size_t hlen;

	if (c->wc_deflate == NULL || len < DEFLATE_MIN_BYTES) {
		conn_out_frame(c, opcode, data, len);
		return;
	}
	if ((z = evbuffer_new()) == NULL ||
	    deflate_compress(c->wc_deflate, data, len, z) == -1) {
		if (z != NULL)
			evbuffer_free(z);
		conn_close(c, WS_CLOSE_INTERNAL, "compression failed");
		return;
	}
	hlen = ws_frame_header(hdr, opcode, true, true,
	    evbuffer_get_length(z));
	evbuffer_add(conn_output(c), hdr, hlen);
	evbuffer_add_buffer(conn_output(c), z);
	evbuffer_free(z);
}

void
conn_send_text(struct ws_conn *c, const char *text, size_t len)
{
	if (c->wc_state != CONN_OPEN)
		return;
	conn_out_data(c, WS_OP_TEXT, text, len);
	conn_check_output(c);
}

void
conn_send_shared(struct ws_conn *c, struct fanout_block *fb)
{
	if (c->wc_state != CONN_OPEN)
		return;
	if (c->wc_deflate != NULL &&
	    fanout_payload_len(fb) >= DEFLATE_MIN_BYTES) {
		/* Without context takeover, every such connection with the
		 * same window gets the same bytes: compress once, share. */
		if (deflate_params(c->wc_deflate)->
		    dp_server_no_context_takeover)
			fb = fanout_deflated(fb, c->wc_deflate);
		else {
			conn_out_data(c, fb->fb_opcode, fanout_payload(fb),
			    fanout_payload_len(fb));
			conn_check_output(c);
			return;
		}
	}
	if (fb == NULL || fanout_append(fb, conn_output(c)) == -1) {
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	conn_check_output(c);
}

void
conn_out_pong(struct ws_conn *c, const void *data, size_t len)
{
	conn_out_frame(c, WS_OP_PONG, data, len);
	conn_check_output(c);
}

void
conn_out_echo(struct ws_conn *c, uint8_t opcode, struct evbuffer *msg)
{
	size_t len = evbuffer_get_length(msg);

	if (c->wc_deflate != NULL) {
		conn_out_data(c, opcode, evbuffer_pullup(msg, -1), len);
		evbuffer_drain(msg, len);
	} else {
		uint8_t hdr[WS_MAX_SERVER_HEADER];
		size_t hlen = ws_frame_header(hdr, opcode, true, false, len);

		/* Move the reassembled chains to the output: no copy. */
		evbuffer_add(conn_output(c), hdr, hlen);
		evbuffer_add_buffer(conn_output(c), msg);
	}
	conn_check_output(c);
}

void
conn_out_http_101(struct ws_conn *c, const char *accept,
    const char *extensions)
{
	http_write_101(conn_output(c), accept, extensions);
}

void
conn_out_http_error(struct ws_conn *c, int status, const char *why)
{
	http_write_error(conn_output(c), status, why);
}

void
conn_out_http_refusal(struct ws_conn *c, int status, const char *why,
    unsigned retry_after_s)
{
	http_write_refusal(conn_output(c), status, why, retry_after_s);
}

void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct ws_conn *c = arg;

	(void)bev;
	if (c->wc_state != CONN_FLUSHING || conn_out_pending(c) > 0)
		return;
	conn_flushed(c);
}
