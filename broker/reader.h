/* reader.h: a small bounded pool of reader threads, each with its own
 * read-only SQLite connection, so no slow read runs on the broker's loop.
 * A job is queued from the loop, run on a thread, and finished on the loop. */
#ifndef PARLEY_READER_H
#define PARLEY_READER_H

#include <bsd/sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct event_base;
struct store;

struct reader;
struct reader_job;

/* On a thread: only the job and the thread's store, no broker state.  The
 * store's deadline is set (query_timeout_ms) before it runs. */
typedef void (*reader_run_fn)(struct reader_job *, struct store *);
/* On the loop: send the result (the connection may be gone: look it up by
 * id).  Not called for a job still queued when the pool stops. */
typedef void (*reader_done_fn)(struct broker *, struct reader_job *);
/* Frees the job (the embedding struct), run or not. */
typedef void (*reader_free_fn)(struct reader_job *);

/* Embed first in a job's own struct; the pool owns it from submit on. */
struct reader_job {
	reader_run_fn		 rj_run;
	reader_done_fn		 rj_done;
	reader_free_fn		 rj_free;
	STAILQ_ENTRY(reader_job) rj_entry;
};

/* nthreads connections to path, at most queue_max jobs waiting, each run
 * with a deadline of timeout_ms.  NULL with err on failure. */
struct reader *reader_start(struct broker *b, struct event_base *base,
	    const char *path, int nthreads, int queue_max, int timeout_ms,
	    char *err, size_t errlen);
/* 0: queued.  -1: the queue is full and the job was not taken (the caller
 * still owns it); *retry_ms says when to try again.  force: queue even
 * when full (work that has no request to refuse, bounded by its caller). */
int	reader_submit(struct reader *r, struct reader_job *job, bool force,
	    uint64_t *retry_ms);
/* Would a submit without force be refused?  Then *retry_ms. */
bool	reader_full(struct reader *r, uint64_t *retry_ms);
/* Jobs waiting and running, for /metrics and tests. */
size_t	reader_pending(struct reader *r);
/* Joins the threads; jobs not finished are freed without done. */
void	reader_stop(struct reader *r);

#endif
