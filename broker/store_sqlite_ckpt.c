/* store_sqlite_ckpt.c: the writer's WAL checkpoints, off the broker's
 * loop: a thread with its own connection copies the log into the database
 * when a commit left it long, and restarts it when it grew too long. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sqlite.h"
#include "util.h"

/*
 * SQLite's own automatic checkpoint runs inside the COMMIT that crosses
 * its threshold, on the loop, with the batch's acks waiting behind it.
 * Here the writer's WAL hook (after every commit, with the log's length)
 * only wakes the thread each time the log has grown by CKPT_PASSIVE_PAGES:
 * a passive checkpoint copies what no reader still needs and never blocks
 * the writer.  Once all is copied, the writer starts the log over at its
 * next commit.  Not after every commit past the mark: a busy writer's
 * commits rewrite the same few hundred pages (the rooms' index leaves),
 * and each checkpoint copies each page once, with an fsync.
 *
 * Under a steady stream of commits the passive checkpoints may never
 * catch up between two of them (nor while a reader holds an old
 * snapshot), and the log would grow without end.  At CKPT_RESTART_PAGES
 * the writer itself, in the hook, runs a restart checkpoint: it copies
 * what is left (little: the thread copied the rest), waits for the
 * readers (the busy timeout), and makes the next commit start the log
 * over.  That is the bound; a loop pass pays for it once every
 * CKPT_RESTART_PAGES pages written.  journal_size_limit then cuts the file
 * back to CKPT_WAL_KEEP_BYTES when the log starts over.
 */
#define CKPT_PASSIVE_PAGES	4000		/* 16 MB at 4 KiB pages */
#define CKPT_RESTART_PAGES	16000		/* 64 MB */
#define CKPT_WAL_KEEP_BYTES	(64 * 1024 * 1024)
#define CKPT_BUSY_MS		5000

struct sq_ckpt {
	pthread_t	 ck_thread;
	pthread_mutex_t	 ck_lock;
	pthread_cond_t	 ck_cond;	/* to the thread: work, or stop */
	pthread_cond_t	 ck_idle;	/* from it: a checkpoint ended */
	sqlite3		*ck_db;
	int		 ck_passive;	/* pages: CKPT_PASSIVE_PAGES */
	int		 ck_restart;	/* pages: CKPT_RESTART_PAGES */
	int		 ck_want;	/* -1 none, else SQLITE_CHECKPOINT_PASSIVE */
	int		 ck_asked_at;	/* the log's length at the last ask */
	bool		 ck_stop;
	bool		 ck_running;	/* the thread is in a checkpoint */
	bool		 ck_hold;	/* the writer's restart: start none */
	uint64_t	 ck_runs;	/* checkpoints done (tests) */
};

static void *
ckpt_main(void *arg)
{
	struct sq_ckpt	*ck = arg;
	int		 mode, rc, log_pages, done_pages;

	/* Named, so that top -H and /proc show what its CPU is. */
	pthread_setname_np(pthread_self(), "parleyd-ckpt");
	pthread_mutex_lock(&ck->ck_lock);
	for (;;) {
		while ((ck->ck_want == -1 || ck->ck_hold) && !ck->ck_stop)
			pthread_cond_wait(&ck->ck_cond, &ck->ck_lock);
		if (ck->ck_stop)
			break;
		mode = ck->ck_want;
		ck->ck_want = -1;
		ck->ck_running = true;
		pthread_mutex_unlock(&ck->ck_lock);
		rc = sqlite3_wal_checkpoint_v2(ck->ck_db, NULL, mode,
		    &log_pages, &done_pages);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warnx("store_error", "checkpoint: %s",
			    sqlite3_errmsg(ck->ck_db));
		pthread_mutex_lock(&ck->ck_lock);
		ck->ck_running = false;
		ck->ck_runs++;
		pthread_cond_broadcast(&ck->ck_idle);
	}
	pthread_mutex_unlock(&ck->ck_lock);
	return NULL;
}

/* Past the bound: the writer's own restart checkpoint, in its hook. */
static void
ckpt_restart(struct sq_ckpt *ck, sqlite3 *db)
{
	int		 rc, log_pages, done_pages;

	/* Two checkpoints never run at once (the second gets SQLITE_BUSY at
	 * once): wait for the thread's, bounded by what it has left. */
	pthread_mutex_lock(&ck->ck_lock);
	ck->ck_hold = true;
	while (ck->ck_running)
		pthread_cond_wait(&ck->ck_idle, &ck->ck_lock);
	pthread_mutex_unlock(&ck->ck_lock);
	rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART,
	    &log_pages, &done_pages);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("store_error", "checkpoint: %s", sqlite3_errmsg(db));
	else
		log_info("wal_restart", "log of %d pages, %d copied%s",
		    log_pages, done_pages, rc == SQLITE_BUSY ?
		    "; a reader held it back" : ", started over");
	pthread_mutex_lock(&ck->ck_lock);
	ck->ck_hold = false;
	ck->ck_runs++;
	pthread_cond_signal(&ck->ck_cond);
	pthread_mutex_unlock(&ck->ck_lock);
}

/* The writer's WAL hook: after each commit, on the writer's thread. */
static int
ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_ckpt	*ck = arg;
	bool		 restart;

	(void)name;
	pthread_mutex_lock(&ck->ck_lock);
	restart = pages >= ck->ck_restart;
	if (pages < ck->ck_asked_at)
		ck->ck_asked_at = 0;		/* the log started over */
	if (!restart && pages >= ck->ck_asked_at + ck->ck_passive) {
		ck->ck_asked_at = pages;
		ck->ck_want = SQLITE_CHECKPOINT_PASSIVE;
		pthread_cond_signal(&ck->ck_cond);
	}
	pthread_mutex_unlock(&ck->ck_lock);
	if (restart)
		ckpt_restart(ck, db);
	return SQLITE_OK;
}

int
sq_ckpt_start(struct store_conn *s, const char *path, char *err,
    size_t errlen)
{
	struct sq_ckpt	*ck;
	char		 sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %d",
	    CKPT_WAL_KEEP_BYTES);
	if (sq_db_exec(s->st_db, sql, err, errlen) == -1)
		return -1;
	ck = xcalloc(1, sizeof(*ck));
	ck->ck_passive = CKPT_PASSIVE_PAGES;
	ck->ck_restart = CKPT_RESTART_PAGES;
	ck->ck_want = -1;
	if (sqlite3_open_v2(path, &ck->ck_db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sq_seterr(err, errlen, "%s: checkpoint connection: %s", path,
		    ck->ck_db == NULL ? "out of memory" :
		    sqlite3_errmsg(ck->ck_db));
		sqlite3_close(ck->ck_db);
		free(ck);
		return -1;
	}
	sqlite3_busy_timeout(ck->ck_db, CKPT_BUSY_MS);
	/* SQLite opens the file at the first statement: until then a
	 * checkpoint finds no WAL and does nothing. */
	if (sq_db_exec(ck->ck_db, "SELECT count(*) FROM sqlite_schema", err,
	    errlen) == -1) {
		sqlite3_close(ck->ck_db);
		free(ck);
		return -1;
	}
	pthread_mutex_init(&ck->ck_lock, NULL);
	pthread_cond_init(&ck->ck_cond, NULL);
	pthread_cond_init(&ck->ck_idle, NULL);
	if (pthread_create(&ck->ck_thread, NULL, ckpt_main, ck) != 0) {
		sq_seterr(err, errlen, "cannot start the checkpoint thread");
		pthread_mutex_destroy(&ck->ck_lock);
		pthread_cond_destroy(&ck->ck_cond);
		pthread_cond_destroy(&ck->ck_idle);
		sqlite3_close(ck->ck_db);
		free(ck);
		return -1;
	}
	/* Replaces SQLite's automatic checkpoint on this connection. */
	sqlite3_wal_hook(s->st_db, ckpt_hook, ck);
	s->st_ckpt = ck;
	return 0;
}

void
sq_ckpt_stop(struct store_conn *s)
{
	struct sq_ckpt	*ck = s->st_ckpt;

	if (ck == NULL)
		return;
	sqlite3_wal_hook(s->st_db, NULL, NULL);
	pthread_mutex_lock(&ck->ck_lock);
	ck->ck_stop = true;
	pthread_cond_signal(&ck->ck_cond);
	pthread_mutex_unlock(&ck->ck_lock);
	pthread_join(ck->ck_thread, NULL);
	if (sqlite3_close(ck->ck_db) != SQLITE_OK)
		log_warnx("store_error", "checkpoint close: %s",
		    sqlite3_errmsg(ck->ck_db));
	pthread_mutex_destroy(&ck->ck_lock);
	pthread_cond_destroy(&ck->ck_cond);
	pthread_cond_destroy(&ck->ck_idle);
	free(ck);
	s->st_ckpt = NULL;
}

void
sq_ckpt_set_limits(struct store_conn *s, int passive_pages,
    int restart_pages)
{
	pthread_mutex_lock(&s->st_ckpt->ck_lock);
	s->st_ckpt->ck_passive = passive_pages;
	s->st_ckpt->ck_restart = restart_pages;
	pthread_mutex_unlock(&s->st_ckpt->ck_lock);
}

uint64_t
sq_ckpt_runs(struct store_conn *s)
{
	uint64_t	 n;

	if (s->st_ckpt == NULL)
		return 0;
	pthread_mutex_lock(&s->st_ckpt->ck_lock);
	n = s->st_ckpt->ck_runs;
	pthread_mutex_unlock(&s->st_ckpt->ck_lock);
	return n;
}
