/* outq.c: the output ring of a plain connection: references to fanout
 * blocks, written with writev; storage taken on first use (the smallest
 * from the worker's pool), doubled as needed (the output limit bounds it)
 * and given back when it drains. */
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "fanout.h"
#include "outq.h"

#define OUTQ_MIN_CAP	8
#ifndef IOV_MAX
#define IOV_MAX		1024
#endif
#define OUTQ_IOV	(IOV_MAX < 1024 ? IOV_MAX : 1024)

/* Storage for cap slots: the smallest from the pool when it has one. */
static struct outq_seg *
outq_storage(uint32_t cap, struct outq_pool *pool)
{
	void *p;

	if (cap == OUTQ_MIN_CAP && pool != NULL && pool->op_free != NULL) {
		p = pool->op_free;
		pool->op_free = *(void **)p;
		pool->op_n--;
		return p;
	}
	return malloc(cap * sizeof(struct outq_seg));
}

static void
outq_storage_free(struct outq_seg *segs, uint32_t cap,
    struct outq_pool *pool)
{
	if (segs == NULL)
		return;
	if (cap == OUTQ_MIN_CAP && pool != NULL &&
	    pool->op_n < OUTQ_POOL_MAX) {
		*(void **)(void *)segs = pool->op_free;
		pool->op_free = segs;
		pool->op_n++;
		return;
	}
	free(segs);
}

void
outq_pool_clear(struct outq_pool *pool)
{
	void *p;

	while ((p = pool->op_free) != NULL) {
		pool->op_free = *(void **)p;
		free(p);
	}
	pool->op_n = 0;
}

static int
outq_grow(struct outq *q, struct outq_pool *pool)
{
	uint32_t cap = q->oq_cap == 0 ? OUTQ_MIN_CAP : q->oq_cap * 2;
	struct outq_seg *segs;

	if (cap < q->oq_cap || (segs = outq_storage(cap, pool)) == NULL)
		return -1;
	/* Unwrap the ring into the new storage, oldest first. */
	for (uint32_t i = 0; i < q->oq_count; i++)
		segs[i] = q->oq_segs[(q->oq_head + i) & (q->oq_cap - 1)];
	outq_storage_free(q->oq_segs, q->oq_cap, pool);
	q->oq_segs = segs;
	q->oq_head = 0;
	q->oq_cap = cap;
	return 0;
}

int
outq_push(struct outq *q, struct fanout_block *fb, struct outq_pool *pool)
{
	struct outq_seg *s;

	if (q->oq_count == q->oq_cap && outq_grow(q, pool) == -1)
		return -1;
	s = &q->oq_segs[(q->oq_head + q->oq_count) & (q->oq_cap - 1)];
	s->os_fb = fb;
	s->os_off = 0;
	fb->fb_refs++;
	q->oq_count++;
	q->oq_bytes += fb->fb_len;
	return 0;
}

void
outq_clear(struct outq *q, struct outq_pool *pool)
{
	for (uint32_t i = 0; i < q->oq_count; i++)
		fanout_release(q->oq_segs[(q->oq_head + i) &
		    (q->oq_cap - 1)].os_fb);
	outq_storage_free(q->oq_segs, q->oq_cap, pool);
	q->oq_segs = NULL;
	q->oq_head = q->oq_count = q->oq_cap = 0;
	q->oq_bytes = 0;
}

/* Account n written bytes: release the blocks that are wholly out. */
static void
outq_advance(struct outq *q, size_t n)
{
	q->oq_bytes -= n;
	while (n > 0 && q->oq_count > 0) {
		struct outq_seg *s = &q->oq_segs[q->oq_head];
		size_t left = s->os_fb->fb_len - s->os_off;

		if (n < left) {
			s->os_off += n;
			return;
		}
		n -= left;
		fanout_release(s->os_fb);
		q->oq_head = (q->oq_head + 1) & (q->oq_cap - 1);
		q->oq_count--;
	}
}

enum outq_result
outq_write(struct outq *q, int fd, struct outq_pool *pool)
{
	struct iovec iov[OUTQ_IOV];

	while (q->oq_count > 0) {
		uint32_t n = q->oq_count < OUTQ_IOV ? q->oq_count : OUTQ_IOV;
		size_t want = 0;
		ssize_t got;

		for (uint32_t i = 0; i < n; i++) {
			const struct outq_seg *s =
			    &q->oq_segs[(q->oq_head + i) & (q->oq_cap - 1)];

			iov[i].iov_base = s->os_fb->fb_data + s->os_off;
			iov[i].iov_len = s->os_fb->fb_len - s->os_off;
			want += iov[i].iov_len;
		}
		got = writev(fd, iov, (int)n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return OUTQ_PARTIAL;
			return OUTQ_ERROR;
		}
		outq_advance(q, (size_t)got);
		if ((size_t)got < want)
			return OUTQ_PARTIAL;
	}
	/* Drained: an idle connection holds no ring. */
	outq_clear(q, pool);
	return OUTQ_DRAINED;
}
