/*
 * conn_out.c: the only code that writes to a client's output: frames
 * (compressed with permessage-deflate when agreed), shared fan-out
 * blocks, the HTTP answers, the output limit (a slow consumer is closed
 * with 1013) and the drain that ends FLUSHING.  Everything is queued as
 * a fanout block on the transport (struct conn_io): a shared frame by
 * reference, anything else as a small block of its own.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "config.h"
#include "conn.h"
#include "conn_int.h"
#include "deflate.h"
#include "fanout.h"
#include "http_upgrade.h"
#include "log.h"
#include "state.h"

size_t
conn_out_pending(const struct ws_conn *c)
{
	return c->wc_io->ci_pending(c);
}

/* Queue fb (the caller keeps its reference); false when out of memory
 * (the connection is then closed, without the block). */
static bool
conn_out_block(struct ws_conn *c, struct fanout_block *fb)
{
	if (fb != NULL && c->wc_io->ci_queue(c, fb) == 0)
		return true;
	/* Not for a close frame: conn_close would come back here. */
	if (c->wc_state == CONN_OPEN &&
	    (fb == NULL || fb->fb_opcode != WS_OP_CLOSE))
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
	return false;
}

/* Queue a block made for this connection alone (its reference passes). */
static void
conn_out_own(struct ws_conn *c, struct fanout_block *fb)
{
	conn_out_block(c, fb);
	fanout_release(fb);
}

/* A slow consumer is closed rather than buffered without bound. */
static void
conn_check_output(struct ws_conn *c)
{
	size_t queued = conn_out_pending(c);

	if (c->wc_state == CONN_OPEN &&
	    queued > cfg_output_limit(c->wc_worker->w_cfg)) {
		log_conn(LOG_LVL_WARN, c->wc_id, "slow_consumer",
		    "%zu bytes queued, over max_output_bytes", queued);
		conn_close(c, WS_CLOSE_TRY_AGAIN, "slow consumer");
	}
}

void
conn_out_frame(struct ws_conn *c, uint8_t opcode, const void *data,
    size_t len)
{
	conn_out_own(c, fanout_frame(opcode, data, len));
}

/* A data message: compressed (RSV1) when permessage-deflate was agreed
 * and the message is long enough to gain from it. */
static void
conn_out_data(struct ws_conn *c, uint8_t opcode, const void *data,
    size_t len)
{
	struct evbuffer *z;

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
	conn_out_own(c, fanout_frame_compressed(opcode,
	    evbuffer_pullup(z, -1), evbuffer_get_length(z)));
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
	if (conn_out_block(c, fb))
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

	conn_out_data(c, opcode, evbuffer_pullup(msg, -1), len);
	evbuffer_drain(msg, len);
	conn_check_output(c);
}

/* An HTTP answer, written by http_answer.c into a scratch evbuffer. */
static void
conn_out_http(struct ws_conn *c, struct evbuffer *ans)
{
	if (ans == NULL)
		return;
	conn_out_own(c, fanout_bytes(evbuffer_pullup(ans, -1),
	    evbuffer_get_length(ans)));
	evbuffer_free(ans);
}

void
conn_out_http_101(struct ws_conn *c, const char *accept,
    const char *extensions)
{
	struct evbuffer *ans = evbuffer_new();

	if (ans != NULL)
		http_write_101(ans, accept, extensions);
	conn_out_http(c, ans);
}

void
conn_out_http_error(struct ws_conn *c, int status, const char *why)
{
	struct evbuffer *ans = evbuffer_new();

	if (ans != NULL)
		http_write_error(ans, status, why);
	conn_out_http(c, ans);
}

void
conn_out_http_refusal(struct ws_conn *c, int status, const char *why,
    unsigned retry_after_s)
{
	struct evbuffer *ans = evbuffer_new();

	if (ans != NULL)
		http_write_refusal(ans, status, why, retry_after_s);
	conn_out_http(c, ans);
}

void
conn_out_drained(struct ws_conn *c)
{
	if (c->wc_state != CONN_FLUSHING || conn_out_pending(c) > 0)
		return;
	conn_flushed(c);
}
