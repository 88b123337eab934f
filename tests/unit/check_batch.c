/* check_batch.c: the group commit (broker/batch.c) against a real SQLite
 * file, its outbox watched through a recording sink instead of workers. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batch.h"
#include "chatstate.h"
#include "check_main.h"
#include "config.h"
#include "log.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define TB_MAX_SENT	64

/* One thing the sink was given. */
struct sent {
	bool	 se_to_room;
	uint64_t se_conn;		/* reply target, or room exclusion */
	char	 se_room[32];
	int64_t	 se_seq;
	char	 se_user[32];		/* room: excluded user, "" none */
	char	 se_json[128];
};

/* A broker with just what batch.c uses: config, store, chat state, an
 * event base that never runs (the delay timer is added, never fires). */
struct tb {
	char			 tb_dir[64];
	char			 tb_path[96];
	struct parley_config	 tb_cfg;
	struct chat_state	 tb_cs;
	struct broker		 tb_b;
	struct store_ops	 tb_ops;	/* the store's, maybe failing */
	struct sent		 tb_sent[TB_MAX_SENT];
	size_t			 tb_nsent;
};

/* The next record of the bench that holds b. */
static struct sent *
sent_next(struct broker *b)
{
	struct tb	*t = (struct tb *)(void *)((char *)b -
			    offsetof(struct tb, tb_b));

	ck_assert_uint_lt(t->tb_nsent, TB_MAX_SENT);
	return &t->tb_sent[t->tb_nsent++];
}

static void
rec_reply(struct broker *b, uint64_t conn, const char *json, size_t len)
{
	struct sent	*se = sent_next(b);

	se->se_conn = conn;
	snprintf(se->se_json, sizeof(se->se_json), "%.*s", (int)len, json);
}

static void
rec_room(struct broker *b, const char *room, int64_t seq,
    uint64_t exclude_conn, const char *exclude_user, const char *json,
    size_t len)
{
	struct sent	*se = sent_next(b);

	se->se_to_room = true;
	se->se_conn = exclude_conn;
	se->se_seq = seq;
	snprintf(se->se_room, sizeof(se->se_room), "%s", room);
	snprintf(se->se_user, sizeof(se->se_user), "%s",
	    exclude_user != NULL ? exclude_user : "");
	snprintf(se->se_json, sizeof(se->se_json), "%.*s", (int)len, json);
}

static const struct batch_sink rec_sink = {
	.bs_reply = rec_reply,
	.bs_room = rec_room,
};

/* A COMMIT that always fails (the disk is full). */
static int
commit_fails(struct store_conn *c)
{
	(void)c;
	return -1;
}

static void
tb_open(struct tb *t, int commit_batch, bool fail_commits)
{
	char	 err[256] = "";

	memset(t, 0, sizeof(*t));
	snprintf(t->tb_dir, sizeof(t->tb_dir), "/tmp/check_batch.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->tb_dir));
	snprintf(t->tb_path, sizeof(t->tb_path), "%s/parley.db", t->tb_dir);
	t->tb_cfg.commit_batch = commit_batch;
	t->tb_cfg.commit_delay_ms = 1000;
	t->tb_cfg.max_rooms = 1000;
	t->tb_b.b_cfg = &t->tb_cfg;
	t->tb_b.b_chat = &t->tb_cs;
	t->tb_cs.cs_broker = &t->tb_b;
	/* The store's own ops, but for COMMIT when it is to fail. */
	t->tb_ops = *store_pick("sqlite");
	if (fail_commits)
		t->tb_ops.so_commit = commit_fails;
	t->tb_b.b_store = store_open_ops(&t->tb_ops, t->tb_path,
	    CFG_SYNC_NORMAL, err, sizeof(err));
	ck_assert_msg(t->tb_b.b_store != NULL, "store_open: %s", err);
	ck_assert_ptr_nonnull(t->tb_b.b_base = event_base_new());
	ck_assert_int_eq(batch_init(&t->tb_b), 0);
	batch_set_sink(&t->tb_b, &rec_sink);
}

static void
tb_close(struct tb *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char	 p[128];
	size_t	 i;

	batch_free(&t->tb_b);
	store_close(t->tb_b.b_store);
	event_base_free(t->tb_b.b_base);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->tb_path, sfx[i]);
		unlink(p);
	}
	rmdir(t->tb_dir);
}

/* One send as svc_message.c does it: open the batch, append, queue the
 * ack (and a nack for a rollback) and the broadcast, close the write. */
/* The nack of a write with request id "n", made only on rollback. */
#define NACK	"{\"type\":\"error\",\"id\":\"n\",\"code\":" \
	"\"UNAVAILABLE\",\"message\":\"the write was not committed; retry\"}"

static int64_t
tb_send(struct tb *t, const char *room, const char *user, uint64_t conn,
    const char *ack)
{
	struct store_post p = { .sp_room = room, .sp_user = user,
	    .sp_text = "hi", .sp_ts = 1 };
	struct store_ack a;

	ck_assert_int_eq(batch_write(&t->tb_b), 0);
	ck_assert_int_eq(store_message_append(t->tb_b.b_store, &p, &a), 0);
	batch_reply(&t->tb_b, conn, xstrdup(ack), strlen(ack), "\"n\"");
	batch_room(&t->tb_b, room, a.sa_seq, conn, user, xstrdup(ack),
	    strlen(ack));
	batch_wrote(&t->tb_b);
	return a.sa_seq;
}

static int64_t
last_seq(struct tb *t, const char *room)
{
	int64_t	 seq = 0;
	int	 rc;

	rc = store_room_get(t->tb_b.b_store, room, NULL, &seq);
	ck_assert(rc == 0 || rc == STORE_NOTFOUND);
	return rc == 0 ? seq : 0;
}

/* Without an open batch nothing waits: a read's answer leaves at once. */
START_TEST(test_no_batch_sends_now)
{
	struct tb	 t;

	tb_open(&t, 10, false);
	batch_reply(&t.tb_b, 7, xstrdup("pong"), 4, NULL);
	ck_assert_uint_eq(t.tb_nsent, 1);
	ck_assert_uint_eq(t.tb_sent[0].se_conn, 7);
	ck_assert_str_eq(t.tb_sent[0].se_json, "pong");
	ck_assert_int_eq(batch_commit(&t.tb_b), 0);	/* nothing open */
	ck_assert_uint_eq(t.tb_nsent, 1);
	tb_close(&t);
}
END_TEST

/* Acks and broadcasts wait for COMMIT, then leave in the order of their
 * writes. */
START_TEST(test_order_after_commit)
{
	struct tb	 t;

	tb_open(&t, 10, false);
	tb_send(&t, "r", "alice", 1, "a1");
	tb_send(&t, "r", "bob", 2, "b1");
	tb_send(&t, "s", "alice", 1, "a2");
	ck_assert_uint_eq(t.tb_nsent, 0);
	ck_assert_int_eq(batch_commit(&t.tb_b), 0);
	ck_assert_uint_eq(t.tb_nsent, 6);
	ck_assert(!t.tb_sent[0].se_to_room);
	ck_assert_str_eq(t.tb_sent[0].se_json, "a1");
	ck_assert(t.tb_sent[1].se_to_room);
	ck_assert_str_eq(t.tb_sent[1].se_json, "a1");
	ck_assert_str_eq(t.tb_sent[2].se_json, "b1");
	ck_assert_str_eq(t.tb_sent[3].se_json, "b1");
	ck_assert_str_eq(t.tb_sent[4].se_json, "a2");
	ck_assert_str_eq(t.tb_sent[5].se_json, "a2");
	ck_assert_uint_eq(t.tb_b.b_metrics.bm_commits, 1);
	tb_close(&t);
}
END_TEST

/* A room delivery carries its room, seq and exclusions, after COMMIT, and
 * the rows are stored by then. */
START_TEST(test_room_after_commit)
{
	struct tb	 t;
	int64_t		 seq;

	tb_open(&t, 10, false);
	tb_send(&t, "r", "alice", 1, "m1");
	seq = tb_send(&t, "r", "bob", 9, "m2");
	ck_assert_int_eq(seq, 2);
	ck_assert_uint_eq(t.tb_nsent, 0);
	ck_assert_int_eq(batch_commit(&t.tb_b), 0);
	ck_assert_uint_eq(t.tb_nsent, 4);
	ck_assert(t.tb_sent[3].se_to_room);
	ck_assert_str_eq(t.tb_sent[3].se_room, "r");
	ck_assert_int_eq(t.tb_sent[3].se_seq, 2);
	ck_assert_uint_eq(t.tb_sent[3].se_conn, 9);
	ck_assert_str_eq(t.tb_sent[3].se_user, "bob");
	ck_assert_int_eq(last_seq(&t, "r"), 2);
	tb_close(&t);
}
END_TEST

/* A failed COMMIT: every write's reply becomes its nack, the writes'
 * broadcasts are dropped, nothing is stored, the failure is counted. */
START_TEST(test_failure_replies)
{
	struct tb	 t;

	tb_open(&t, 10, true);
	tb_send(&t, "r", "alice", 1, "a1");
	tb_send(&t, "r", "bob", 2, "b1");
	ck_assert_int_eq(batch_commit(&t.tb_b), -1);
	ck_assert_uint_eq(t.tb_nsent, 2);
	ck_assert(!t.tb_sent[0].se_to_room);
	ck_assert_uint_eq(t.tb_sent[0].se_conn, 1);
	ck_assert_str_eq(t.tb_sent[0].se_json, NACK);
	ck_assert_uint_eq(t.tb_sent[1].se_conn, 2);
	ck_assert_str_eq(t.tb_sent[1].se_json, NACK);
	ck_assert_uint_eq(t.tb_b.b_metrics.bm_commit_failures, 1);
	ck_assert_uint_eq(t.tb_b.b_metrics.bm_commits, 0);
	ck_assert_int_eq(last_seq(&t, "r"), 0);
	ck_assert_int_eq(t.tb_b.b_nrooms, 0);	/* recounted */
	tb_close(&t);
}
END_TEST

/* What was queued during the batch but is no write's result (an error
 * reply without a nack, presence) is still true after a rollback. */
START_TEST(test_failure_keeps_non_writes)
{
	struct tb	 t;

	tb_open(&t, 10, true);
	tb_send(&t, "r", "alice", 1, "a1");
	batch_reply(&t.tb_b, 3, xstrdup("err"), 3, NULL);
	batch_room(&t.tb_b, "r", 0, 3, NULL, xstrdup("presence"), 8);
	ck_assert_uint_eq(t.tb_nsent, 0);
	ck_assert_int_eq(batch_commit(&t.tb_b), -1);
	ck_assert_uint_eq(t.tb_nsent, 3);
	ck_assert_str_eq(t.tb_sent[0].se_json, NACK);
	ck_assert_str_eq(t.tb_sent[1].se_json, "err");
	ck_assert_uint_eq(t.tb_sent[1].se_conn, 3);
	ck_assert(t.tb_sent[2].se_to_room);
	ck_assert_str_eq(t.tb_sent[2].se_json, "presence");
	ck_assert_int_eq(t.tb_sent[2].se_seq, 0);
	ck_assert_str_eq(t.tb_sent[2].se_user, "");
	tb_close(&t);
}
END_TEST

/* commit_batch writes fill the batch: it commits and empties the outbox
 * at once, and the next write opens a new one. */
START_TEST(test_limit_commits)
{
	struct tb	 t;

	tb_open(&t, 3, false);
	tb_send(&t, "r", "u", 1, "m1");
	tb_send(&t, "r", "u", 1, "m2");
	ck_assert_uint_eq(t.tb_nsent, 0);
	tb_send(&t, "r", "u", 1, "m3");
	ck_assert_uint_eq(t.tb_nsent, 6);
	ck_assert_uint_eq(t.tb_b.b_metrics.bm_commits, 1);
	ck_assert(STAILQ_EMPTY(&t.tb_cs.cs_outbox));
	ck_assert(!t.tb_cs.cs_batch_open);
	tb_send(&t, "r", "u", 1, "m4");
	ck_assert(t.tb_cs.cs_batch_open);
	ck_assert_uint_eq(t.tb_nsent, 6);
	ck_assert_int_eq(batch_commit(&t.tb_b), 0);
	ck_assert_uint_eq(t.tb_nsent, 8);
	ck_assert_int_eq(last_seq(&t, "r"), 4);
	tb_close(&t);
}
END_TEST

/* A batch that failed is over: the next write starts a new transaction,
 * and its seqs are the ones the rolled-back batch had handed out. */
START_TEST(test_after_failure_seq_again)
{
	struct tb	 t;

	tb_open(&t, 10, true);
	ck_assert_int_eq(tb_send(&t, "r", "u", 1, "m1"), 1);
	ck_assert_int_eq(batch_commit(&t.tb_b), -1);
	ck_assert(!t.tb_cs.cs_batch_open);
	ck_assert_int_eq(tb_send(&t, "r", "u", 1, "m1"), 1);
	ck_assert_int_eq(batch_commit(&t.tb_b), -1);
	ck_assert_uint_eq(t.tb_b.b_metrics.bm_commit_failures, 2);
	tb_close(&t);
}
END_TEST

/* batch_free() commits what is open and flushes the outbox first. */
START_TEST(test_free_commits)
{
	struct tb	 t;
	char		 err[256] = "";
	struct store	*s;
	int64_t		 seq = 0;

	tb_open(&t, 10, false);
	tb_send(&t, "r", "u", 1, "m1");
	batch_free(&t.tb_b);
	ck_assert_uint_eq(t.tb_nsent, 2);
	/* Durable: another connection sees the row. */
	s = store_open(t.tb_path, CFG_SYNC_NORMAL, err, sizeof(err));
	ck_assert_msg(s != NULL, "store_open: %s", err);
	ck_assert_int_eq(store_room_get(s, "r", NULL, &seq), 0);
	ck_assert_int_eq(seq, 1);
	store_close(s);
	/* Freeing again (tb_close) finds nothing open. */
	ck_assert_int_eq(batch_init(&t.tb_b), 0);
	batch_set_sink(&t.tb_b, &rec_sink);
	tb_close(&t);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*su = suite_create("batch");
	TCase	*tc;

	log_init("test", -1, 0);
	tc = tcase_create("outbox");
	tcase_add_test(tc, test_no_batch_sends_now);
	tcase_add_test(tc, test_order_after_commit);
	tcase_add_test(tc, test_room_after_commit);
	tcase_add_test(tc, test_limit_commits);
	tcase_add_test(tc, test_free_commits);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(su, tc);

	tc = tcase_create("failure");
	tcase_add_test(tc, test_failure_replies);
	tcase_add_test(tc, test_failure_keeps_non_writes);
	tcase_add_test(tc, test_after_failure_seq_again);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(su, tc);
	return su;
}
