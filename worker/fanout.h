/* fanout.h: one framed server message shared by many connections.  The
 * frame is built once; each connection's output holds a reference. */
#ifndef PARLEY_FANOUT_H
#define PARLEY_FANOUT_H

#include <stddef.h>
#include <stdint.h>

struct deflate_ctx;
struct evbuffer;

/* Compressed variants are cached per server window size (9..15). */
#define FANOUT_WINDOWS	7

struct fanout_block {
	size_t		fb_refs;
	size_t		fb_len;		/* header + payload */
	size_t		fb_hdr_len;
	uint8_t		fb_opcode;
	/* permessage-deflate without server context takeover: the same
	 * compressed frame (RSV1) for every such connection, built on first
	 * use and released with this block. */
	struct fanout_block *fb_deflated[FANOUT_WINDOWS];
	uint8_t		fb_data[];
};

/* A text frame (opcode, FIN) around payload; refcount 1 (the caller's). */
struct fanout_block *fanout_frame(uint8_t opcode, const void *payload,
	    size_t len);
/* The same with RSV1 set: payload is compressed (permessage-deflate). */
struct fanout_block *fanout_frame_compressed(uint8_t opcode,
	    const void *payload, size_t len);
/* Bytes already framed (an HTTP answer): no header, opcode 0. */
struct fanout_block *fanout_bytes(const void *data, size_t len);
const uint8_t *fanout_payload(const struct fanout_block *fb);
size_t	fanout_payload_len(const struct fanout_block *fb);
/*
 * The compressed variant of fb for a connection whose deflater dc was
 * agreed without server context takeover (so its output depends only on
 * the window size).  Owned by fb; NULL when compression failed.
 */
struct fanout_block *fanout_deflated(struct fanout_block *fb,
	    struct deflate_ctx *dc);
/* Append a reference to out (a TLS connection's output).  Returns 0 or -1. */
int	fanout_append(struct fanout_block *fb, struct evbuffer *out);
void	fanout_release(struct fanout_block *fb);

#endif
