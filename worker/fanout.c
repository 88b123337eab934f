/* fanout.c: refcounted frames appended with evbuffer_add_reference(), so a
 * message for 10,000 members is framed and stored once per worker. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "fanout.h"
#include "util.h"
#include "ws_frame.h"

struct fanout_block *
fanout_frame(uint8_t opcode, const void *payload, size_t len)
{
	uint8_t hdr[WS_MAX_SERVER_HEADER];
	size_t hlen = ws_frame_header(hdr, opcode, true, false, len);
	struct fanout_block *fb = xmalloc(sizeof(*fb) + hlen + len);

	fb->fb_refs = 1;
	fb->fb_len = hlen + len;
	memcpy(fb->fb_data, hdr, hlen);
	if (len > 0)
		memcpy(fb->fb_data + hlen, payload, len);
	return fb;
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
	if (fb != NULL && --fb->fb_refs == 0)
		free(fb);
}
