/* reader.c: the pool of reader threads (config [store] reader_threads,
 * reader_queue, query_timeout_ms).  Jobs wait in one bounded FIFO; a
 * thread runs one against its own read-only connection with a deadline,
 * then posts it to a completion list and wakes the loop through an
 * eventfd; the loop finishes it (renders, sends) and frees it.  Nothing
 * on a thread touches broker state. */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "reader.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define READER_RETRY_MIN_MS	10	/* least retry_after_ms when full */

struct reader_thread {
	struct reader		*thr_reader;
	struct store		*thr_store;
	pthread_t		 thr_tid;
	bool			 thr_started;
	uint64_t		 thr_job_ms;	/* its job's start; 0: idle */
};

STAILQ_HEAD(reader_jobs, reader_job);

struct reader {
	struct broker		*rdr_broker;
	pthread_mutex_t		 rdr_mu;
	pthread_cond_t		 rdr_cv;	/* a job, or stopping */
	struct reader_jobs	 rdr_queue;	/* waiting for a thread */
	struct reader_jobs	 rdr_done;	/* waiting for the loop */
	size_t			 rdr_nqueued;
	size_t			 rdr_nrunning;
	size_t			 rdr_queue_max;
	int			 rdr_timeout_ms;
	bool			 rdr_stopping;
	uint64_t		 rdr_avg_ms;	/* recent run time, smoothed */
	int			 rdr_efd;	/* threads -> loop wake-up */
	struct event		*rdr_ev;
	struct reader_thread	*rdr_threads;
	int			 rdr_nthreads;
};

static void *
reader_thread_main(void *arg)
{
	struct reader_thread *rt = arg;
	struct reader *r = rt->thr_reader;
	struct reader_job *job;
	uint64_t t0, ms, one = 1;
	bool wake;

	for (;;) {
		pthread_mutex_lock(&r->rdr_mu);
		while (!r->rdr_stopping && STAILQ_EMPTY(&r->rdr_queue))
			pthread_cond_wait(&r->rdr_cv, &r->rdr_mu);
		if (r->rdr_stopping) {
			pthread_mutex_unlock(&r->rdr_mu);
			break;
		}
		job = STAILQ_FIRST(&r->rdr_queue);
		STAILQ_REMOVE_HEAD(&r->rdr_queue, rj_entry);
		r->rdr_nqueued--;
		r->rdr_nrunning++;
		t0 = rt->thr_job_ms = now_mono_ms();
		pthread_mutex_unlock(&r->rdr_mu);

		store_set_deadline(rt->thr_store,
		    t0 + (uint64_t)r->rdr_timeout_ms);
		job->rj_run(job, rt->thr_store);
		store_set_deadline(rt->thr_store, 0);
		ms = now_mono_ms() - t0;

		pthread_mutex_lock(&r->rdr_mu);
		rt->thr_job_ms = 0;
		r->rdr_nrunning--;
		r->rdr_avg_ms = (r->rdr_avg_ms * 7 + ms) / 8;
		wake = STAILQ_EMPTY(&r->rdr_done);
		STAILQ_INSERT_TAIL(&r->rdr_done, job, rj_entry);
		pthread_mutex_unlock(&r->rdr_mu);
		/* One wake-up per batch of completions; the loop takes all. */
		if (wake && write(r->rdr_efd, &one, sizeof(one)) == -1 &&
		    errno != EAGAIN)
			log_warn("reader", "eventfd write");
	}
	return NULL;
}

/* On the loop: finish every completed job, in completion order. */
static void
reader_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reader *r = arg;
	struct reader_jobs done = STAILQ_HEAD_INITIALIZER(done);
	struct reader_job *job;
	uint64_t n;

	if (read(r->rdr_efd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("reader", "eventfd read");
	pthread_mutex_lock(&r->rdr_mu);
	STAILQ_CONCAT(&done, &r->rdr_done);
	pthread_mutex_unlock(&r->rdr_mu);
	while ((job = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, rj_entry);
		job->rj_done(r->rdr_broker, job);
		job->rj_free(job);
	}
}

struct reader *
reader_start(struct broker *b, struct event_base *base, const char *path,
    int nthreads, int queue_max, int timeout_ms, char *err, size_t errlen)
{
	struct reader *r = xcalloc(1, sizeof(*r));

	r->rdr_broker = b;
	pthread_mutex_init(&r->rdr_mu, NULL);
	pthread_cond_init(&r->rdr_cv, NULL);
	STAILQ_INIT(&r->rdr_queue);
	STAILQ_INIT(&r->rdr_done);
	r->rdr_queue_max = (size_t)queue_max;
	r->rdr_timeout_ms = timeout_ms;
	r->rdr_avg_ms = READER_RETRY_MIN_MS;
	r->rdr_threads = xcalloc((size_t)nthreads, sizeof(*r->rdr_threads));
	r->rdr_nthreads = nthreads;
	r->rdr_efd = -1;
	if ((r->rdr_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((r->rdr_ev = event_new(base, r->rdr_efd, EV_READ | EV_PERSIST,
	    reader_wake_cb, r)) == NULL || event_add(r->rdr_ev, NULL) == -1) {
		snprintf(err, errlen, "event_new failed");
		goto fail;
	}
	for (int i = 0; i < nthreads; i++) {
		struct reader_thread *rt = &r->rdr_threads[i];
		int rc;

		rt->thr_reader = r;
		if ((rt->thr_store = store_open_reader(b->b_store, path,
		    err, errlen)) == NULL)
			goto fail;
		if ((rc = pthread_create(&rt->thr_tid, NULL,
		    reader_thread_main, rt)) != 0) {
			snprintf(err, errlen, "pthread_create: %s",
			    strerror(rc));
			goto fail;
		}
		rt->thr_started = true;
	}
	log_info("reader_started", "%d reader threads, queue %d, deadline "
	    "%d ms", nthreads, queue_max, timeout_ms);
	return r;
fail:
	reader_stop(r);
	return NULL;
}

int
reader_submit(struct reader *r, struct reader_job *job, bool force,
    uint64_t *retry_ms)
{
	/* Only the loop submits, so the queue cannot grow in between. */
	if (!force && reader_full(r, retry_ms))
		return -1;
	pthread_mutex_lock(&r->rdr_mu);
	STAILQ_INSERT_TAIL(&r->rdr_queue, job, rj_entry);
	r->rdr_nqueued++;
	pthread_cond_signal(&r->rdr_cv);
	pthread_mutex_unlock(&r->rdr_mu);
	return 0;
}

bool
reader_full(struct reader *r, uint64_t *retry_ms)
{
	bool full;

	pthread_mutex_lock(&r->rdr_mu);
	full = r->rdr_nqueued >= r->rdr_queue_max;
	if (full) {
		/* Time for the queue ahead to drain over the threads, a job
		 * taking what recent ones took, or what a running one has
		 * taken so far if that is more. */
		uint64_t now = now_mono_ms(), each = r->rdr_avg_ms, ms;

		for (int i = 0; i < r->rdr_nthreads; i++) {
			uint64_t t = r->rdr_threads[i].thr_job_ms;

			if (t != 0 && now - t > each)
				each = now - t;
		}
		ms = each * (r->rdr_nqueued + r->rdr_nrunning) /
		    (uint64_t)r->rdr_nthreads;

		if (ms > (uint64_t)r->rdr_timeout_ms)
			ms = (uint64_t)r->rdr_timeout_ms;
		*retry_ms = ms < READER_RETRY_MIN_MS ? READER_RETRY_MIN_MS : ms;
	}
	pthread_mutex_unlock(&r->rdr_mu);
	return full;
}

size_t
reader_pending(struct reader *r)
{
	size_t n;

	pthread_mutex_lock(&r->rdr_mu);
	n = r->rdr_nqueued + r->rdr_nrunning;
	pthread_mutex_unlock(&r->rdr_mu);
	return n;
}

static void
reader_jobs_free(struct reader_jobs *q)
{
	struct reader_job *job;

	while ((job = STAILQ_FIRST(q)) != NULL) {
		STAILQ_REMOVE_HEAD(q, rj_entry);
		job->rj_free(job);
	}
}

void
reader_stop(struct reader *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->rdr_mu);
	r->rdr_stopping = true;
	pthread_cond_broadcast(&r->rdr_cv);
	pthread_mutex_unlock(&r->rdr_mu);
	/* A query running now ends at once instead of at its deadline. */
	for (int i = 0; i < r->rdr_nthreads; i++)
		if (r->rdr_threads[i].thr_started)
			store_interrupt(r->rdr_threads[i].thr_store);
	for (int i = 0; i < r->rdr_nthreads; i++) {
		struct reader_thread *rt = &r->rdr_threads[i];

		if (rt->thr_started)
			pthread_join(rt->thr_tid, NULL);
		store_close(rt->thr_store);
	}
	/* Their connections are going too: nobody waits for these. */
	reader_jobs_free(&r->rdr_queue);
	reader_jobs_free(&r->rdr_done);
	if (r->rdr_ev != NULL)
		event_free(r->rdr_ev);
	if (r->rdr_efd != -1)
		close(r->rdr_efd);
	pthread_cond_destroy(&r->rdr_cv);
	pthread_mutex_destroy(&r->rdr_mu);
	free(r->rdr_threads);
	free(r);
}
