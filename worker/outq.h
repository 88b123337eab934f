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
	size_t			 os_off;	/* bytes of it written */
};

struct outq {
	struct outq_seg		*oq_segs;	/* NULL while empty */
	uint32_t		 oq_head;	/* the oldest segment */
	uint32_t		 oq_count;
	uint32_t		 oq_cap;	/* a power of two */
	size_t			 oq_bytes;	/* queued, not yet written */
};

/* Rings of the smallest size, kept for reuse by the worker's connections
 * so that a connection's first frame after an idle spell takes no
 * allocation; at most OUTQ_POOL_MAX are kept. */
#define OUTQ_POOL_MAX	1024
struct outq_pool {
	void			*op_free;	/* a list through each ring */
	size_t			 op_n;
};

enum outq_result {
	OUTQ_DRAINED,		/* everything is written */
	OUTQ_PARTIAL,		/* the socket is full: wait for EV_WRITE */
	OUTQ_ERROR		/* the write failed (errno is set) */
};

/* Queue a reference to fb (taken here).  Returns 0, or -1 (no memory).
 * pool may be NULL (every ring is then malloc'd and freed). */
int	outq_push(struct outq *q, struct fanout_block *fb,
	    struct outq_pool *pool);
/* Write as much as the socket takes, one writev per IOV_MAX segments;
 * drained, the storage goes back to the pool. */
enum outq_result outq_write(struct outq *q, int fd, struct outq_pool *pool);
/* Drop every segment and the storage. */
void	outq_clear(struct outq *q, struct outq_pool *pool);
/* Free the pool's rings. */
void	outq_pool_clear(struct outq_pool *pool);

#endif
