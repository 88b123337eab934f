/* quota.h: per-user and per-address accounting for PROTOCOL.md 5: the
 * request-class token buckets and refusal window of each user, and the
 * concurrent connections and connection-rate bucket of each address.
 * The clock is injected (now_ms) and nothing here does I/O. */
#ifndef PARLEY_QUOTA_H
#define PARLEY_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "ratelimit.h"
#include "strmap.h"

struct parley_config;

/* Request classes: each row of service.c's dispatch table names one. */
enum quota_class {
	QUOTA_NONE,		/* not limited: no request kind uses it */
	QUOTA_SEND,		/* send, edit, delete, react: send_rate, send_burst */
	QUOTA_TYPING,		/* typing_rate, burst = rate */
	QUOTA_JOIN,		/* join, leave: join_rate, burst = rate */
	QUOTA_QUERY,		/* history, search: query_rate, burst = rate */
	QUOTA_LIST,		/* rooms, presence: list_rate, list_burst */
	QUOTA_READ,		/* read: read_rate, read_burst */
	QUOTA_NCLASSES
};

/* An entry idle (no connection) this long is forgotten even if its
 * buckets have not refilled: the maps stay bounded by the connections
 * plus what arrived in the last QUOTA_IDLE_MAX_MS. */
#define QUOTA_IDLE_MAX_MS		60000
#define QUOTA_SWEEP_MS		5000	/* how often the broker calls sweep */

struct quota_user {
	/* One bucket per request class, [c - 1]: QUOTA_NONE has none. */
	struct rl_bucket	 qu_buckets[QUOTA_NCLASSES - 1];
	struct rl_window	*qu_refusals;	/* RATE_LIMIT errors, last 10 s:
						 * made by the first refusal */
	uint64_t		 qu_idle_ms;	/* when qu_conns went to 0 */
	int64_t			 qu_rooms;	/* memberships (bounds.c) */
	int			 qu_conns;	/* authenticated, counted */
	bool			 qu_rooms_known; /* qu_rooms was counted */
};

struct quota_addr {
	int			 qa_conns;	/* registered, counted */
	struct rl_bucket	 qa_rate;	/* new connections */
	uint64_t		 qa_idle_ms;	/* when qa_conns went to 0 */
};

struct quota {
	struct strmap		 q_users;	/* user id -> struct quota_user */
	struct strmap		 q_addrs;	/* address -> struct quota_addr */
};

enum quota_verdict {
	QUOTA_OK,
	QUOTA_TOO_MANY,		/* concurrent connections */
	QUOTA_TOO_FAST,		/* new connections per second (addresses) */
};

void	quota_init(struct quota *q);
void	quota_free(struct quota *q);

/* What a refusal for too many concurrent connections tells the client to
 * wait (Retry-After): nobody knows when one will close. */
#define QUOTA_TOO_MANY_RETRY_MS	10000

/*
 * A connection from addr.  QUOTA_OK: counted against the returned entry
 * (give it back with quota_addr_close).  Otherwise it is not counted,
 * *entry is NULL and *retry_after_ms (if not NULL) says when to try again:
 * the next connection token, or QUOTA_TOO_MANY_RETRY_MS.  resumed (a
 * re-registration after a broker restart): always counted and QUOTA_OK,
 * and it takes no connection token.
 */
enum quota_verdict quota_addr_open(struct quota *q,
	    const struct parley_config *cfg, const char *addr, bool resumed,
	    uint64_t now_ms, struct quota_addr **entry,
	    uint64_t *retry_after_ms);
void	quota_addr_close(struct quota *q, struct quota_addr *qa,
	    uint64_t now_ms);

/* An authenticated connection of user; the same contract (QUOTA_OK or
 * QUOTA_TOO_MANY). */
enum quota_verdict quota_user_open(struct quota *q,
	    const struct parley_config *cfg, const char *user, bool resumed,
	    uint64_t now_ms, struct quota_user **entry);
void	quota_user_close(struct quota *q, struct quota_user *qu,
	    uint64_t now_ms);

/*
 * A request of class c.  true: go ahead.  false: refused; *retry_after_ms
 * is when one token will be there, and *abuse is set when this refusal
 * makes more than abuse_threshold in the last 10 s.
 */
bool	quota_request(struct quota_user *qu, const struct parley_config *cfg,
	    enum quota_class c, uint64_t now_ms, uint64_t *retry_after_ms,
	    bool *abuse);

/* Forget idle entries whose state no longer matters (full buckets, empty
 * window) or that have been idle QUOTA_IDLE_MAX_MS.  Returns how many. */
size_t	quota_sweep(struct quota *q, const struct parley_config *cfg,
	    uint64_t now_ms);

#endif
