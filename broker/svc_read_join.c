/*
 * svc_read_join.c: the reads that hold live items while they run: the
 * history of a join and the personal backlog (PROTOCOL.md 7), and the
 * member_hold they use.
 *
 * Join and the personal backlog answer with a snapshot read on a thread
 * while writes commit on the loop.  The member enters the room on the loop
 * when the job is queued, with a member_hold: every room item that reaches
 * it until the job is done is held (deliver_room).  Each commit is either
 * in the snapshot (its seq <= the snapshot's last_seq S) or after it, so on
 * completion the reply goes first, then the held items with seq > S (and
 * every unsequenced one), in order: nothing lost, nothing twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chatstate.h"
#include "config.h"
#include "deliver.h"
#include "log.h"
#include "reader.h"
#include "registry.h"
#include "render.h"
#include "reply.h"
#include "room.h"
#include "service_int.h"
#include "state.h"
#include "store.h"
#include "svc_read_int.h"
#include "util.h"
#include "ws_close.h"

#define READ_JOIN_BUSY_MS	100	/* a second join of the same room */

/* Holds. */

static struct member_hold *
hold_new(uint64_t serial)
{
	struct member_hold *h = xcalloc(1, sizeof(*h));

	h->mh_job = serial;
	STAILQ_INIT(&h->mh_items);
	return h;
}

static void
hold_clear(struct member_hold *h)
{
	struct hold_item *hi;

	while ((hi = STAILQ_FIRST(&h->mh_items)) != NULL) {
		STAILQ_REMOVE_HEAD(&h->mh_items, hi_entry);
		free(hi->hi_json);
		free(hi);
	}
	h->mh_bytes = 0;
}

void
svc_hold_free(struct member_hold *h)
{
	if (h == NULL)
		return;
	hold_clear(h);
	free(h);
}

void
svc_hold_add(struct broker *b, struct member_hold *h, int64_t seq,
    const char *json, size_t len)
{
	struct hold_item *hi;

	if (h->mh_overflow)
		return;
	/* More than the connection could queue: it could not follow. */
	if (h->mh_bytes + len > cfg_output_limit(b->b_cfg)) {
		hold_clear(h);
		h->mh_overflow = true;
		return;
	}
	hi = xcalloc(1, sizeof(*hi));
	hi->hi_seq = seq;
	hi->hi_json = xmalloc(len + 1);
	memcpy(hi->hi_json, json, len);
	hi->hi_json[len] = '\0';
	hi->hi_len = len;
	h->mh_bytes += len;
	STAILQ_INSERT_TAIL(&h->mh_items, hi, hi_entry);
}

/* The held items the snapshot up to seq covered not, to the connection. */
static void
hold_release(struct broker *b, uint64_t conn, const char *room,
    struct member_hold *h, int64_t covered)
{
	struct hold_item *hi;

	STAILQ_FOREACH(hi, &h->mh_items, hi_entry)
		if (hi->hi_seq == 0 || hi->hi_seq > covered)
			deliver_room_one(b, conn, room, hi->hi_seq,
			    hi->hi_json, hi->hi_len);
	svc_hold_free(h);
}

/* The member of conn in room whose hold belongs to job rd, or NULL. */
static struct room_member *
job_member(struct broker *b, struct read_job *rd, struct bconn **bcp)
{
	struct bconn *bc = registry_conn(b, rd->rd_conn);
	struct chat_conn *cc;
	struct room_member *m;

	*bcp = bc;
	if (bc == NULL || (cc = bc->bc_chat) == NULL)
		return NULL;
	m = room_member_find(&cc->cc_rooms, rd->rd_room);
	if (m == NULL || m->rm_hold == NULL ||
	    m->rm_hold->mh_job != rd->rd_serial)
		return NULL;
	return m;
}

/* join */

static void
join_run(struct reader_job *j, struct store *s)
{
	struct read_job *rd = (struct read_job *)j;
	struct store_msglist l = { 0 };
	int rc = -1;

	/* last_seq, the marker and the messages of one committed state. */
	if (store_snapshot_begin(s) == -1)
		goto fail;
	if (store_room_get(s, rd->rd_room, rd->rd_room_epoch,
	    &rd->rd_last_seq) != 0 ||
	    store_read_get(s, rd->rd_room, rd->rd_user,
	    &rd->rd_read_seq) == -1 ||
	    store_unread(s, rd->rd_room, rd->rd_user, rd->rd_read_seq,
	    &rd->rd_unread) == -1)
		goto end;
	if (rd->rd_has_since && (!rd->rd_has_epoch ||
	    strcmp(rd->rd_epoch, rd->rd_room_epoch) == 0)) {
		if (store_since(s, rd->rd_room, rd->rd_since, rd->rd_recovery,
		    &l) == -1)
			goto end;
		rd->rd_recovered = !l.ml_more;
		if (!rd->rd_recovered)
			store_msglist_free(&l);
	}
	if (!rd->rd_recovered && store_history(s, rd->rd_room, 0,
	    rd->rd_limit, &l) == -1)
		goto end;
	rc = 0;
end:
	store_snapshot_end(s);
fail:
	if (rc == -1)
		read_fail(rd, s);
	else
		/* Recovery keeps the oldest (the client pages on with
		 * `after`), a history page the newest. */
		rd->rd_msgs = render_budget(rd->rd_room, &l, rd->rd_budget,
		    !rd->rd_recovered, &rd->rd_cut);
	store_msglist_free(&l);
}

static void
join_done(struct broker *b, struct reader_job *j)
{
	struct read_job *rd = (struct read_job *)j;
	struct room_member *m;
	struct member_hold *h;
	struct bconn *bc;
	struct json_object *o;
	char *json;
	size_t len;

	if ((m = job_member(b, rd, &bc)) == NULL) {
		/* Gone, or left (a leave took the hold along). */
		if (bc != NULL) {
			json = render_error(rd->rd_id, PERR_UNAVAILABLE, "room",
			    "the room was left before the join completed",
			    &len);
			deliver_reply(b, rd->rd_conn, json, len, true);
			free(json);
		}
		return;
	}
	h = m->rm_hold;
	m->rm_hold = NULL;
	if (rd->rd_error || h->mh_overflow) {
		b->b_metrics.bm_errors++;
		if (rd->rd_too_expensive)
			b->b_metrics.bm_too_expensive++;
		if (rd->rd_error)
			deliver_reply(b, rd->rd_conn, rd->rd_json, rd->rd_len,
			    true);
		else {
			json = render_error(rd->rd_id, PERR_UNAVAILABLE, NULL,
			    "the room moved faster than the join could "
			    "follow; retry", &len);
			deliver_reply(b, rd->rd_conn, json, len, true);
			free(json);
		}
		if (rd->rd_new_member) {
			svc_hold_free(h);
			svc_member_leave(b, m);
		} else if (h->mh_overflow) {
			/* It was in the room and lost live items. */
			svc_hold_free(h);
			deliver_close(b, bc, WS_CLOSE_GOING_AWAY,
			    "missed too much while joining: reconnect and "
			    "recover");
		} else
			hold_release(b, rd->rd_conn, rd->rd_room, h, 0);
		return;
	}
	o = render_new("joined", rd->rd_id);
	render_str(o, "room", rd->rd_room);
	render_str(o, "epoch", rd->rd_room_epoch);
	json_object_object_add(o, "members", svc_members_json(m->rm_room));
	json_object_object_add(o, "messages", rd->rd_msgs);
	rd->rd_msgs = NULL;
	render_int(o, "last_seq", rd->rd_last_seq);
	render_int(o, "read_seq", rd->rd_read_seq);
	render_int(o, "unread", rd->rd_unread);
	if (rd->rd_has_since)
		json_object_object_add(o, "recovered",
		    json_object_new_boolean(rd->rd_recovered));
	if (rd->rd_cut)
		json_object_object_add(o, "has_more",
		    json_object_new_boolean(1));
	json = render_finish(o, &len);
	deliver_reply(b, rd->rd_conn, json, len, true);
	free(json);
	deliver_room_seq(b, rd->rd_conn, rd->rd_room, rd->rd_last_seq);
	hold_release(b, rd->rd_conn, rd->rd_room, h, rd->rd_last_seq);
}

void
svc_read_join(struct req_ctx *q, struct room_member *m, bool new_member)
{
	struct chat_state *cs = chat_state(q->rq_b);
	const struct chat_req *r = q->rq_req;
	struct read_job *rd;

	if (m->rm_hold != NULL) {
		reply_busy(q, READ_JOIN_BUSY_MS);
		return;
	}
	rd = read_job_new(q, RD_JOIN, join_run, join_done);
	rd->rd_serial = ++cs->cs_job_serial;
	rd->rd_limit = (size_t)r->cr_history;
	rd->rd_has_since = r->cr_has_since;
	rd->rd_since = r->cr_since;
	rd->rd_has_epoch = r->cr_has_epoch;
	snprintf(rd->rd_epoch, sizeof(rd->rd_epoch), "%s", r->cr_epoch);
	rd->rd_new_member = new_member;
	/* From here on its items wait for the snapshot (svc_read_refused
	 * made room in the queue). */
	m->rm_hold = hold_new(rd->rd_serial);
	reader_submit(q->rq_b->b_reader, &rd->rd_job, true, NULL);
}

/* Personal backlog (PROTOCOL.md 7). */

static void
backlog_run(struct reader_job *j, struct store *s)
{
	struct read_job *rd = (struct read_job *)j;
	struct store_msglist l = { 0 };
	size_t used = 0;
	int rc = -1;

	if (store_snapshot_begin(s) == -1)
		goto fail;
	if (store_read_get(s, rd->rd_room, rd->rd_user,
	    &rd->rd_read_seq) == -1)
		goto end;
	rc = store_room_get(s, rd->rd_room, NULL, &rd->rd_last_seq);
	if (rc == STORE_NOTFOUND)
		rd->rd_last_seq = rc = 0;
	if (rc == 0 && store_since(s, rd->rd_room, rd->rd_read_seq,
	    rd->rd_recovery, &l) == -1)
		rc = -1;
end:
	store_snapshot_end(s);
fail:
	if (rc != 0) {
		read_fail(rd, s);
		store_msglist_free(&l);
		return;
	}
	rd->rd_more = l.ml_more;
	rd->rd_frames = xreallocarray(NULL, l.ml_n + 1, sizeof(char *));
	rd->rd_lens = xreallocarray(NULL, l.ml_n + 1, sizeof(size_t));
	rd->rd_seqs = xreallocarray(NULL, l.ml_n + 1, sizeof(int64_t));
	for (size_t i = 0; i < l.ml_n; i++) {
		const struct store_message *msg = &l.ml_msgs[i];
		struct json_object *o = render_message(msg->sm_kind ==
		    STORE_KIND_EVENT ? "event" : "message", rd->rd_room, msg);
		size_t len;
		char *json = render_finish(o, &len);

		/* The byte budget, as for a reply: the rest stays unread. */
		if (i > 0 && used + len > rd->rd_budget) {
			free(json);
			rd->rd_more = true;
			break;
		}
		used += len;
		rd->rd_frames[rd->rd_nframes] = json;
		rd->rd_lens[rd->rd_nframes] = len;
		rd->rd_seqs[rd->rd_nframes++] = msg->sm_seq;
	}
	store_msglist_free(&l);
}

static void
backlog_done(struct broker *b, struct reader_job *j)
{
	struct read_job *rd = (struct read_job *)j;
	struct room_member *m;
	struct member_hold *h;
	struct bconn *bc;
	int64_t sent = rd->rd_read_seq, upto;

	if ((m = job_member(b, rd, &bc)) == NULL)
		return;
	h = m->rm_hold;
	m->rm_hold = NULL;
	if (rd->rd_error || h->mh_overflow) {
		log_conn(LOG_LVL_WARN, rd->rd_conn, "backlog",
		    "could not read the personal room");
		if (h->mh_overflow) {
			svc_hold_free(h);
			deliver_close(b, bc, WS_CLOSE_GOING_AWAY,
			    "missed too much while connecting: reconnect");
		} else
			hold_release(b, rd->rd_conn, rd->rd_room, h, 0);
		return;
	}
	for (size_t i = 0; i < rd->rd_nframes; i++) {
		deliver_reply(b, rd->rd_conn, rd->rd_frames[i], rd->rd_lens[i],
		    false);
		sent = rd->rd_seqs[i];
	}
	/* Its worker resumes from here after a broker restart. */
	if (rd->rd_more || sent > rd->rd_read_seq)
		upto = sent;
	else
		upto = rd->rd_last_seq > rd->rd_read_seq ? rd->rd_last_seq :
		    rd->rd_read_seq;
	deliver_room_seq(b, rd->rd_conn, rd->rd_room, upto);
	hold_release(b, rd->rd_conn, rd->rd_room, h, rd->rd_last_seq);
}

void
svc_read_backlog(struct broker *b, struct bconn *bc, struct room_member *m)
{
	struct chat_state *cs = chat_state(b);
	struct chat_conn *cc = bc->bc_chat;
	struct read_job *rd = xcalloc(1, sizeof(*rd));

	rd->rd_job.rj_run = backlog_run;
	rd->rd_job.rj_done = backlog_done;
	rd->rd_job.rj_free = read_job_free;
	rd->rd_kind = RD_BACKLOG;
	rd->rd_conn = bc->bc_id;
	rd->rd_serial = ++cs->cs_job_serial;
	snprintf(rd->rd_room, sizeof(rd->rd_room), "%s", m->rm_room->r_name);
	snprintf(rd->rd_user, sizeof(rd->rd_user), "%s", cc->cc_id.ci_user);
	rd->rd_budget = cfg_reply_budget(b->b_cfg);
	rd->rd_recovery = (size_t)b->b_cfg->recovery_limit;
	m->rm_hold = hold_new(rd->rd_serial);
	/* No request to refuse: one per authentication, never refused. */
	reader_submit(b->b_reader, &rd->rd_job, true, NULL);
}
