/*
 * svc_read.c: the chat service's reads that run on the reader pool
 * (reader.c): the job's life (made on the loop, run and rendered on a
 * thread, finished on the loop) and the plain reads: history, search,
 * rooms.  The history of a join and the personal backlog, which hold the
 * member's live items while they run, are in svc_read_join.c.  A job
 * copies what it needs from the request, runs on a thread against a
 * read-only connection, renders there, and is finished on the loop, where
 * the connection is looked up again by id (it may be gone: the result is
 * dropped).
 *
 * Replies fit the pipe: the messages of one reply stop at the byte budget
 * (cfg_reply_budget, half of max_output_bytes), always at least one, and
 * the reply says has_more (PROTOCOL.md 4).
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
#include "render.h"
#include "reply.h"
#include "service_int.h"
#include "state.h"
#include "store.h"
#include "svc_read_int.h"
#include "util.h"

/* Jobs. */

void
read_job_free(struct reader_job *j)
{
	struct read_job *rd = (struct read_job *)j;

	free(rd->rd_q);
	free(rd->rd_json);
	if (rd->rd_msgs != NULL)
		json_object_put(rd->rd_msgs);
	for (size_t i = 0; i < rd->rd_nframes; i++)
		free(rd->rd_frames[i]);
	free(rd->rd_frames);
	free(rd->rd_lens);
	free(rd->rd_seqs);
	free(rd);
}

/* On a thread: the error that answers a failed read. */
void
read_fail(struct read_job *rd, struct store *s)
{
	rd->rd_error = true;
	free(rd->rd_json);
	rd->rd_too_expensive = store_interrupted(s);
	if (rd->rd_too_expensive)
		rd->rd_json = render_error(rd->rd_id, PERR_TOO_EXPENSIVE, NULL,
		    "the query ran past the server's deadline; make it "
		    "cheaper (fewer or rarer words, a smaller limit)",
		    &rd->rd_len);
	else
		rd->rd_json = render_error(rd->rd_id, PERR_UNAVAILABLE, NULL,
		    "database error; retry", &rd->rd_len);
}

/*
 * The messages of l as list entries, at most budget bytes of JSON but at
 * least one: from the front of l (forward pages, search) or, with
 * from_end, from its back (the newest of a backward page).  *cut: some
 * were left out.
 */
struct json_object *
render_budget(const char *room, const struct store_msglist *l,
    size_t budget, bool from_end, bool *cut)
{
	struct json_object **objs, *a;
	size_t used = 0, first = 0, last = l->ml_n, len, i, k;

	*cut = false;
	if (l->ml_n == 0)
		return json_object_new_array();
	/* Rendered one by one from the kept end, up to the first that
	 * does not fit. */
	objs = xcalloc(l->ml_n, sizeof(*objs));
	for (k = 0; k < l->ml_n; k++) {
		i = from_end ? l->ml_n - 1 - k : k;
		objs[i] = render_message(NULL, room, &l->ml_msgs[i]);
		json_object_to_json_string_length(objs[i],
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
		if (k > 0 && used + len + 1 > budget) {
			json_object_put(objs[i]);
			*cut = true;
			if (from_end)
				first = i + 1;
			else
				last = i;
			break;
		}
		used += len + 1;
	}
	a = json_object_new_array_ext((int)(last - first));
	for (i = first; i < last; i++)
		json_object_array_add(a, objs[i]);
	free(objs);
	return a;
}

struct read_job *
read_job_new(struct req_ctx *q, enum read_kind kind, reader_run_fn run,
    reader_done_fn done)
{
	struct broker *b = q->rq_b;
	struct read_job *rd = xcalloc(1, sizeof(*rd));

	rd->rd_job.rj_run = run;
	rd->rd_job.rj_done = done;
	rd->rd_job.rj_free = read_job_free;
	rd->rd_kind = kind;
	rd->rd_conn = q->rq_bc->bc_id;
	snprintf(rd->rd_id, sizeof(rd->rd_id), "%s", q->rq_req->cr_id);
	snprintf(rd->rd_room, sizeof(rd->rd_room), "%s", q->rq_req->cr_room);
	snprintf(rd->rd_user, sizeof(rd->rd_user), "%s",
	    q->rq_cc->cc_id.ci_user);
	rd->rd_budget = cfg_reply_budget(b->b_cfg);
	rd->rd_recovery = (size_t)b->b_cfg->recovery_limit;
	return rd;
}

bool
svc_read_refused(struct req_ctx *q)
{
	uint64_t retry;

	if (!reader_full(q->rq_b->b_reader, &retry))
		return false;
	reply_busy(q, retry);
	return true;
}

/* Queue rd, or answer RATE_LIMIT and free it. */
static void
read_submit(struct req_ctx *q, struct read_job *rd)
{
	uint64_t retry;

	if (reader_submit(q->rq_b->b_reader, &rd->rd_job, false,
	    &retry) == -1) {
		read_job_free(&rd->rd_job);
		reply_busy(q, retry);
	}
}

/* A whole reply (or error) rendered on the thread: send it. */
static void
reply_done(struct broker *b, struct reader_job *j)
{
	struct read_job *rd = (struct read_job *)j;

	if (rd->rd_error)
		b->b_metrics.bm_errors++;
	if (rd->rd_too_expensive)
		b->b_metrics.bm_too_expensive++;
	if (rd->rd_json != NULL)
		deliver_reply(b, rd->rd_conn, rd->rd_json, rd->rd_len, true);
}

/* history */

static void
history_run(struct reader_job *j, struct store *s)
{
	struct read_job *rd = (struct read_job *)j;
	struct store_msglist l = { 0 };
	struct json_object *o, *msgs;
	bool cut;
	int rc;

	if (rd->rd_has_after)
		rc = store_since(s, rd->rd_room, rd->rd_after, rd->rd_limit,
		    &l);
	else
		rc = store_history(s, rd->rd_room, rd->rd_before, rd->rd_limit,
		    &l);
	if (rc == -1) {
		read_fail(rd, s);
		goto out;
	}
	/* Backward pages keep their newest, forward ones their oldest. */
	msgs = render_budget(rd->rd_room, &l, rd->rd_budget,
	    !rd->rd_has_after, &cut);
	o = render_new("history", rd->rd_id);
	render_str(o, "room", rd->rd_room);
	json_object_object_add(o, "messages", msgs);
	json_object_object_add(o, "has_more",
	    json_object_new_boolean(l.ml_more || cut));
	rd->rd_json = render_finish(o, &rd->rd_len);
out:
	store_msglist_free(&l);
}

void
svc_read_history(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct read_job *rd = read_job_new(q, RD_HISTORY, history_run,
	    reply_done);

	rd->rd_before = r->cr_has_before ? r->cr_before : 0;
	rd->rd_has_after = r->cr_has_after;
	rd->rd_after = r->cr_after;
	rd->rd_limit = (size_t)r->cr_limit;
	read_submit(q, rd);
}

/* search */

static void
search_run(struct reader_job *j, struct store *s)
{
	struct read_job *rd = (struct read_job *)j;
	struct store_msglist l = { 0 };
	struct json_object *o, *msgs;
	bool cut;
	int rc;

	rc = store_search(s, rd->rd_room, rd->rd_q, rd->rd_before,
	    rd->rd_limit, &l);
	if (rc == STORE_BADQUERY || rc == STORE_TOOMANY) {
		rd->rd_error = true;
		rd->rd_json = render_error(rd->rd_id, PERR_VALIDATION_ERROR, "q",
		    rc == STORE_BADQUERY ?
		    "the query has no words to search for" :
		    "the query has too many words", &rd->rd_len);
		goto out;
	}
	if (rc != 0) {
		read_fail(rd, s);
		goto out;
	}
	/* Newest first: keep the front. */
	msgs = render_budget(rd->rd_room, &l, rd->rd_budget, false, &cut);
	o = render_new("search_results", rd->rd_id);
	render_str(o, "room", rd->rd_room);
	json_object_object_add(o, "messages", msgs);
	if (cut)
		json_object_object_add(o, "has_more",
		    json_object_new_boolean(1));
	rd->rd_json = render_finish(o, &rd->rd_len);
out:
	store_msglist_free(&l);
}

void
svc_read_search(struct req_ctx *q)
{
	const struct chat_req *r = q->rq_req;
	struct read_job *rd = read_job_new(q, RD_SEARCH, search_run,
	    reply_done);

	rd->rd_q = xstrdup(r->cr_q);
	rd->rd_before = r->cr_has_before ? r->cr_before : 0;
	rd->rd_limit = (size_t)r->cr_limit;
	read_submit(q, rd);
}

/* rooms */

static void
rooms_run(struct reader_job *j, struct store *s)
{
	struct read_job *rd = (struct read_job *)j;
	struct store_roomlist list = { 0 };
	struct json_object *o, *a;
	int rc;

	if (store_snapshot_begin(s) == -1) {
		read_fail(rd, s);
		return;
	}
	rc = store_rooms_for_user(s, rd->rd_user, &list);
	store_snapshot_end(s);
	if (rc == -1) {
		store_roomlist_free(&list);
		read_fail(rd, s);
		return;
	}
	a = json_object_new_array_ext((int)list.rl_n);
	for (size_t i = 0; i < list.rl_n; i++) {
		struct json_object *e = json_object_new_object();

		render_str(e, "room", list.rl_rooms[i].ri_room);
		render_int(e, "last_seq", list.rl_rooms[i].ri_last_seq);
		render_int(e, "read_seq", list.rl_rooms[i].ri_read_seq);
		render_int(e, "unread", list.rl_rooms[i].ri_unread);
		json_object_array_add(a, e);
	}
	store_roomlist_free(&list);
	o = render_new("rooms", rd->rd_id);
	json_object_object_add(o, "rooms", a);
	rd->rd_json = render_finish(o, &rd->rd_len);
}

void
svc_read_rooms(struct req_ctx *q)
{
	read_submit(q, read_job_new(q, RD_ROOMS, rooms_run, reply_done));
}
