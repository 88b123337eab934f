/* fanout.c: refcounted frames, queued by reference (a plain connection's
 * outq, or evbuffer_add_reference() for TLS), so a message for 10,000
 * members is framed and stored once per worker (once more per window size
 * for permessage-deflate without context takeover). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "deflate.h"
#include "fanout.h"
#include "util.h"
#include "ws_frame.h"

static struct fanout_block *
fanout_build(uint8_t opcode, bool rsv1, const void *payload, size_t len)
{
	uint8_t hdr[WS_MAX_SERVER_HEADER];
	size_t hlen = ws_frame_header(hdr, opcode, true, rsv1, len);
	struct fanout_block *fb = xmalloc(sizeof(*fb) + hlen + len);

	memset(fb, 0, sizeof(*fb));
	fb->fb_refs = 1;
	fb->fb_len = hlen + len;
	fb->fb_hdr_len = hlen;
	fb->fb_opcode = opcode;
	memcpy(fb->fb_data, hdr, hlen);
	if (len > 0)
		memcpy(fb->fb_data + hlen, payload, len);
	return fb;
}

struct fanout_block *
fanout_frame(uint8_t opcode, const void *payload, size_t len)
{
	return fanout_build(opcode, false, payload, len);
}

struct fanout_block *
fanout_frame_compressed(uint8_t opcode, const void *payload, size_t len)
{
	return fanout_build(opcode, true, payload, len);
}

struct fanout_block *
fanout_bytes(const void *data, size_t len)
{
	struct fanout_block *fb = xmalloc(sizeof(*fb) + len);

	memset(fb, 0, sizeof(*fb));
	fb->fb_refs = 1;
	fb->fb_len = len;
	if (len > 0)
		memcpy(fb->fb_data, data, len);
	return fb;
}

const uint8_t *
fanout_payload(const struct fanout_block *fb)
{
	return fb->fb_data + fb->fb_hdr_len;
}

size_t
fanout_payload_len(const struct fanout_block *fb)
{
	return fb->fb_len - fb->fb_hdr_len;
}

struct fanout_block *
fanout_deflated(struct fanout_block *fb, struct deflate_ctx *dc)
{
	int bits = deflate_params(dc)->dp_server_window_bits;
	struct fanout_block **slot;
	struct evbuffer *z;

	if (bits < 9 || bits > 15)
		return NULL;
	slot = &fb->fb_deflated[bits - 9];
	if (*slot != NULL)
		return *slot;
	if ((z = evbuffer_new()) == NULL)
		return NULL;
	if (deflate_compress(dc, fanout_payload(fb), fanout_payload_len(fb),
	    z) == 0)
		*slot = fanout_build(fb->fb_opcode, true,
		    evbuffer_pullup(z, -1), evbuffer_get_length(z));
	evbuffer_free(z);
	return *slot;
}

static void
fanout_unref_cb(const void *data, size_t len, void *arg)
{
	fanout_release(arg);
}

int
fanout_append(struct fanout_block *fb, struct evbuffer *out)
{
	fb->fb_refs++;
	if (evbuffer_add_reference(out, fb->fb_data, fb->fb_len,
	    fanout_unref_cb, fb) == -1) {
		fb->fb_refs--;
		return -1;
	}
	return 0;
}

void
fanout_release(struct fanout_block *fb)
{
	size_t i;

	if (fb == NULL || --fb->fb_refs > 0)
		return;
	for (i = 0; i < FANOUT_WINDOWS; i++)
		fanout_release(fb->fb_deflated[i]);
	free(fb);
}
