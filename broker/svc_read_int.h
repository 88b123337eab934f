/* svc_read_int.h: what the reader-pool reads share (svc_read.c,
 * svc_read_join.c): the job, and the job helpers of svc_read.c. */
#ifndef PARLEY_SVC_READ_INT_H
#define PARLEY_SVC_READ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatstate.h"
#include "reader.h"
#include "store.h"

struct broker;
struct json_object;
struct req_ctx;

enum read_kind { RD_HISTORY, RD_SEARCH, RD_ROOMS, RD_JOIN, RD_BACKLOG };

struct read_job {
	struct reader_job	 rd_job;	/* first: the pool's part */
	enum read_kind		 rd_kind;
	uint64_t		 rd_conn;
	uint64_t		 rd_serial;	/* join, backlog: its hold */
	char			 rd_id[CHAT_MAX_ID_JSON + 1];
	char			 rd_room[CHAT_MAX_ROOM + 1];
	char			 rd_user[CHAT_MAX_USER + 1];
	char			*rd_q;		/* search */
	int64_t			 rd_before;	/* 0: none */
	bool			 rd_has_after;
	int64_t			 rd_after;
	size_t			 rd_limit;	/* history, search, join */
	bool			 rd_has_since;
	int64_t			 rd_since;
	bool			 rd_has_epoch;
	char			 rd_epoch[CHAT_MAX_EPOCH_BYTES + 1];
	size_t			 rd_recovery;	/* recovery_limit */
	size_t			 rd_budget;	/* cfg_reply_budget */
	bool			 rd_new_member;	/* join: undo on failure */

	/* Results. */
	bool			 rd_error;	/* rd_json is an error */
	bool			 rd_too_expensive; /* past the deadline */
	char			*rd_json;	/* a whole reply */
	size_t			 rd_len;
	struct json_object	*rd_msgs;	/* join: the messages */
	bool			 rd_cut;	/* cut by the byte budget */
	bool			 rd_more;	/* backlog: more than sent */
	bool			 rd_recovered;
	char			 rd_room_epoch[STORE_ID_LEN];
	int64_t			 rd_last_seq;	/* the snapshot's */
	int64_t			 rd_read_seq;
	int64_t			 rd_unread;
	char			**rd_frames;	/* backlog: live frames */
	size_t			*rd_lens;
	int64_t			*rd_seqs;
	size_t			 rd_nframes;
};

/* svc_read.c.  read_job_new(): a job of kind for the request q, with the
 * request's id, room and user copied. */
struct read_job *read_job_new(struct req_ctx *q, enum read_kind kind,
	    reader_run_fn run, reader_done_fn done);
/* The pool's rj_free of every read job. */
void	read_job_free(struct reader_job *j);
/* On a thread: the error that answers a failed read. */
void	read_fail(struct read_job *rd, struct store *s);
/* The messages of l as list entries, at most budget bytes of JSON but at
 * least one: from the front of l or, with from_end, from its back.
 * *cut: some were left out. */
struct json_object *render_budget(const char *room,
	    const struct store_msglist *l, size_t budget, bool from_end,
	    bool *cut);

#endif
