/* fanout.h: one framed server message shared by many connections.  The
 * frame is built once; each connection's output holds a reference. */
#ifndef PARLEY_FANOUT_H
#define PARLEY_FANOUT_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

struct fanout_block {
	size_t		fb_refs;
	size_t		fb_len;		/* header + payload */
	uint8_t		fb_data[];
};

/* A text frame (opcode, FIN) around payload; refcount 1 (the caller's). */
struct fanout_block *fanout_frame(uint8_t opcode, const void *payload,
	    size_t len);
/* Append a reference to out.  Returns 0 or -1. */
int	fanout_append(struct fanout_block *fb, struct evbuffer *out);
void	fanout_release(struct fanout_block *fb);

#endif
