/* outq.h: a plain connection's output queue: a ring of references to
 * shared frames (fanout blocks) with how far each has been written,
 * flushed with one writev.  An idle connection holds no storage. */
#ifndef PARLEY_OUTQ_H
#define PARLEY_OUTQ_H

#include <stddef.h>
#include <stdint.h>

struct fanout_block;

struct outq_seg {
	struct fanout_block	*os_fb;		/* one reference held */
	size_t			 os_off;	/* bytes of it already written */
};

struct outq {
	struct outq_seg		*oq_segs;	/* NULL while empty */
	uint32_t		 oq_head;	/* index of the oldest segment */
	uint32_t		 oq_count;
	uint32_t		 oq_cap;	/* a power of two */
	size_t			 oq_bytes;	/* queued, not yet written */
};

enum outq_result {
	OUTQ_DRAINED,		/* everything is written */
	OUTQ_PARTIAL,		/* the socket is full: wait for EV_WRITE */
	OUTQ_ERROR		/* the write failed (errno is set) */
};

/* Queue a reference to fb (taken here).  Returns 0, or -1 (no memory). */
int	outq_push(struct outq *q, struct fanout_block *fb);
/* Write as much as the socket takes, one writev per IOV_MAX segments. */
enum outq_result outq_write(struct outq *q, int fd);
/* Drop every segment and the storage. */
void	outq_clear(struct outq *q);

#endif
