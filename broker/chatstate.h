/* chatstate.h: the broker's chat state, hung off struct broker's b_chat
 * and each struct bconn's bc_chat. */
#ifndef PARLEY_CHATSTATE_H
#define PARLEY_CHATSTATE_H

#include <bsd/sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "room.h"
#include "state.h"

struct event;
struct quota_user;
struct batch_sink;

/* Per chat connection (64 bytes with malloc's header). */
struct chat_conn {
	struct conn_identity	 cc_id;		/* valid once cc_authed */
	struct room_member_list	 cc_rooms;	/* joined on this connection */
	struct quota_user	*cc_quota;	/* its user's count; NULL: none */
	bool			 cc_authed;
};

struct id_vec {
	uint64_t		*iv_ids;
	size_t			 iv_n, iv_cap;
};

/* Something to send once the batch it depends on is committed. */
struct outbox_item {
	bool			 ob_to_room;
	bool			 ob_write;	/* a write's result: dropped on
						 * rollback */
	uint64_t		 ob_conn;	/* reply target, or room exclusion */
	char			*ob_exclude_user; /* room: skip this user */
	char			 ob_room[CHAT_MAX_ROOM + 1];
	int64_t			 ob_seq;	/* room item's seq, 0: none */
	char			*ob_json;	/* sent after COMMIT */
	size_t			 ob_len;
	/* A write's answer: after ROLLBACK its nack goes instead, made
	 * then (rarely needed) for this request id. */
	bool			 ob_nack;
	char			 ob_fail_id[CHAT_MAX_ID_JSON + 1];
	STAILQ_ENTRY(outbox_item) ob_entry;
};

/* A room item that reached a member while the snapshot its join answers
 * with was being read (svc_read.c). */
struct hold_item {
	int64_t			 hi_seq;	/* 0: not sequenced */
	char			*hi_json;
	size_t			 hi_len;
	STAILQ_ENTRY(hold_item)	 hi_entry;
};

/* What a member holds back until its join (or personal backlog) job is
 * done: then the items the snapshot does not cover follow the reply. */
struct member_hold {
	uint64_t		 mh_job;	/* the job's serial */
	size_t			 mh_bytes;	/* bounded by cfg_output_limit */
	bool			 mh_overflow;	/* items were dropped */
	STAILQ_HEAD(, hold_item) mh_items;
};

/* A user's leave that waits until every worker has re-registered. */
struct pending_leave {
	char			 pl_user[CHAT_MAX_USER + 1];
	char			 pl_name[CHAT_MAX_NAME_BYTES + 1];
	char			 pl_room[CHAT_MAX_ROOM + 1];
	STAILQ_ENTRY(pending_leave) pl_entry;
};
#define MAX_PENDING_LEAVES	100000

struct chat_state {
	struct broker		*cs_broker;
	struct room_table	 cs_rooms;
	struct id_vec		 cs_scratch[CFG_MAX_WORKERS + 1];

	/* Group commit (batch.c). */
	bool			 cs_batch_open;
	bool			 cs_in_write;	/* between batch_write/_wrote */
	int			 cs_batch_writes;
	struct event		*cs_batch_timer;
	STAILQ_HEAD(, outbox_item) cs_outbox;
	const struct batch_sink	*cs_sink;	/* where the outbox goes */
	/* Upkeep after commits (batch.c): search indexing in slices. */
	struct event		*cs_upkeep_timer;
	int64_t			 cs_index_lag;	/* rows not indexed yet */

	/* Read jobs (svc_read.c): serials tie a job to its member_hold. */
	uint64_t		 cs_job_serial;

	/* Leaves of connections that closed while the broker was away. */
	STAILQ_HEAD(, pending_leave) cs_leaves;
	size_t			 cs_nleaves;
};

#endif
