/*
 * quota.c: who is over which limit (PROTOCOL.md 5).  Per user: one token
 * bucket per request class, shared by all of the user's connections, and
 * a 10 s window of refusals for abuse.  Per address: concurrent
 * connections and a new-connection bucket.  Entries outlive their last
 * connection until their buckets have refilled (so closing and reopening
 * does not reset a limit), at most QUOTA_IDLE_MAX_MS; quota_sweep() drops
 * them.  No clock, no I/O: the broker passes now_mono_ms().
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "quota.h"
#include "util.h"

void
quota_init(struct quota *q)
{
	strmap_init(&q->q_users);
	strmap_init(&q->q_addrs);
}

/* rate and burst of a class under cfg. */
static void
quota_class_rate(const struct parley_config *cfg, enum quota_class c,
    double *rate, double *burst)
{
	switch (c) {
	case QUOTA_SEND:
		*rate = cfg->send_rate;
		*burst = cfg->send_burst;
		return;
	case QUOTA_TYPING:
		*rate = *burst = cfg->typing_rate;
		return;
	case QUOTA_JOIN:
		*rate = *burst = cfg->join_rate;
		return;
	case QUOTA_QUERY:
		*rate = *burst = cfg->query_rate;
		return;
	case QUOTA_LIST:
		*rate = cfg->list_rate;
		*burst = cfg->list_burst;
		return;
	case QUOTA_READ:
		*rate = cfg->read_rate;
		*burst = cfg->read_burst;
		return;
	default:
		*rate = *burst = 0;
		return;
	}
}

/* Addresses. */

enum quota_verdict
quota_addr_open(struct quota *q, const struct parley_config *cfg,
    const char *addr, bool resumed, uint64_t now_ms, struct quota_addr **entry,
    uint64_t *retry_after_ms)
{
	struct quota_addr *qa = strmap_get(&q->q_addrs, addr);

	*entry = NULL;
	if (retry_after_ms != NULL)
		*retry_after_ms = QUOTA_TOO_MANY_RETRY_MS;
	if (qa == NULL) {
		qa = xcalloc(1, sizeof(*qa));
		rl_bucket_init(&qa->qa_rate, cfg->conn_burst_per_ip, now_ms);
		qa->qa_idle_ms = now_ms;
		strmap_put(&q->q_addrs, addr, qa);
	}
	if (!resumed) {
		/* Every attempt is a new connection, even one refused for
		 * being one too many. */
		if (!rl_take(&qa->qa_rate, cfg->conn_rate_per_ip,
		    cfg->conn_burst_per_ip, now_ms, retry_after_ms))
			return QUOTA_TOO_FAST;
		if (qa->qa_conns >= cfg->max_conns_per_ip)
			return QUOTA_TOO_MANY;
	}
	qa->qa_conns++;
	*entry = qa;
	return QUOTA_OK;
}

void
quota_addr_close(struct quota *q, struct quota_addr *qa, uint64_t now_ms)
{
	if (qa->qa_conns > 0 && --qa->qa_conns == 0)
		qa->qa_idle_ms = now_ms;
}

/* Users. */

static void
quota_user_fill(struct quota_user *qu, const struct parley_config *cfg,
    uint64_t now_ms)
{
	for (int c = QUOTA_NONE + 1; c < QUOTA_NCLASSES; c++) {
		double rate, burst;

		quota_class_rate(cfg, c, &rate, &burst);
		rl_bucket_init(&qu->qu_buckets[c - 1], burst, now_ms);
	}
}

enum quota_verdict
quota_user_open(struct quota *q, const struct parley_config *cfg,
    const char *user, bool resumed, uint64_t now_ms, struct quota_user **entry)
{
	struct quota_user *qu = strmap_get(&q->q_users, user);

	*entry = NULL;
	if (qu == NULL) {
		qu = xcalloc(1, sizeof(*qu));
		quota_user_fill(qu, cfg, now_ms);
		qu->qu_idle_ms = now_ms;
		strmap_put(&q->q_users, user, qu);
	}
	if (!resumed && qu->qu_conns >= cfg->max_conns_per_user)
		return QUOTA_TOO_MANY;
	qu->qu_conns++;
	*entry = qu;
	return QUOTA_OK;
}

void
quota_user_close(struct quota *q, struct quota_user *qu, uint64_t now_ms)
{
	if (qu->qu_conns > 0 && --qu->qu_conns == 0)
		qu->qu_idle_ms = now_ms;
}

bool
quota_request(struct quota_user *qu, const struct parley_config *cfg,
    enum quota_class c, uint64_t now_ms, uint64_t *retry_after_ms, bool *abuse)
{
	double rate, burst;

	*retry_after_ms = 0;
	*abuse = false;
	if (c <= QUOTA_NONE || c >= QUOTA_NCLASSES)
		return true;
	quota_class_rate(cfg, c, &rate, &burst);
	if (rl_take(&qu->qu_buckets[c - 1], rate, burst, now_ms,
	    retry_after_ms))
		return true;
	if (qu->qu_refusals == NULL)
		qu->qu_refusals = xcalloc(1, sizeof(*qu->qu_refusals));
	*abuse = rl_window_add(qu->qu_refusals, now_ms) >
	    (uint32_t)cfg->abuse_threshold;
	return false;
}

/* Sweeping. */

struct quota_sweep_ctx {
	const struct parley_config *qs_cfg;
	uint64_t		 qs_now;
	char			**qs_keys;	/* to forget */
	size_t			 qs_n, qs_cap;
};

static void
quota_sweep_mark(struct quota_sweep_ctx *s, const char *key)
{
	if (s->qs_n == s->qs_cap) {
		s->qs_cap = s->qs_cap ? s->qs_cap * 2 : 64;
		s->qs_keys = xreallocarray(s->qs_keys, s->qs_cap,
		    sizeof(*s->qs_keys));
	}
	s->qs_keys[s->qs_n++] = xstrdup(key);
}

static bool
quota_idle_expired(uint64_t idle_ms, uint64_t now_ms)
{
	return now_ms >= idle_ms && now_ms - idle_ms >= QUOTA_IDLE_MAX_MS;
}

static void
quota_sweep_user_cb(const char *key, void *val, void *arg)
{
	struct quota_sweep_ctx *s = arg;
	struct quota_user *qu = val;

	if (qu->qu_conns > 0)
		return;
	if (!quota_idle_expired(qu->qu_idle_ms, s->qs_now)) {
		if (qu->qu_refusals != NULL &&
		    rl_window_count(qu->qu_refusals, s->qs_now) > 0)
			return;
		for (int c = QUOTA_NONE + 1; c < QUOTA_NCLASSES; c++) {
			double rate, burst;

			quota_class_rate(s->qs_cfg, c, &rate, &burst);
			if (!rl_full(&qu->qu_buckets[c - 1], rate, burst,
			    s->qs_now))
				return;
		}
	}
	quota_sweep_mark(s, key);
}

static void
quota_sweep_addr_cb(const char *key, void *val, void *arg)
{
	struct quota_sweep_ctx *s = arg;
	struct quota_addr *qa = val;

	if (qa->qa_conns > 0)
		return;
	if (!quota_idle_expired(qa->qa_idle_ms, s->qs_now) &&
	    !rl_full(&qa->qa_rate, s->qs_cfg->conn_rate_per_ip,
	    s->qs_cfg->conn_burst_per_ip, s->qs_now))
		return;
	quota_sweep_mark(s, key);
}

static void
quota_user_free(struct quota_user *qu)
{
	free(qu->qu_refusals);
	free(qu);
}

static void
quota_addr_free(struct quota_addr *qa)
{
	free(qa);
}

static size_t
quota_sweep_map(struct strmap *m, struct quota_sweep_ctx *s,
    void (*cb)(const char *, void *, void *), bool users)
{
	size_t n;

	s->qs_n = 0;
	strmap_each(m, cb, s);
	for (size_t i = 0; i < s->qs_n; i++) {
		void *val = strmap_del(m, s->qs_keys[i]);

		if (users)
			quota_user_free(val);
		else
			quota_addr_free(val);
		free(s->qs_keys[i]);
	}
	n = s->qs_n;
	s->qs_n = 0;
	return n;
}

size_t
quota_sweep(struct quota *q, const struct parley_config *cfg,
    uint64_t now_ms)
{
	struct quota_sweep_ctx s = { .qs_cfg = cfg, .qs_now = now_ms };
	size_t n;

	n = quota_sweep_map(&q->q_users, &s, quota_sweep_user_cb, true);
	n += quota_sweep_map(&q->q_addrs, &s, quota_sweep_addr_cb, false);
	free(s.qs_keys);
	return n;
}

static void
quota_free_user_cb(const char *key, void *val, void *arg)
{
	quota_user_free(val);
}

static void
quota_free_addr_cb(const char *key, void *val, void *arg)
{
	quota_addr_free(val);
}

void
quota_free(struct quota *q)
{
	strmap_each(&q->q_users, quota_free_user_cb, NULL);
	strmap_each(&q->q_addrs, quota_free_addr_cb, NULL);
	strmap_free(&q->q_users);
	strmap_free(&q->q_addrs);
}
