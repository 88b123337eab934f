/* ratelimit.h: token buckets and a sliding 10 s event counter.  Pure
 * arithmetic over an injected clock: callers pass now_ms (monotonic
 * milliseconds); nothing here reads a clock, allocates or does I/O. */
#ifndef PARLEY_RATELIMIT_H
#define PARLEY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* A token bucket: rate tokens per second up to burst.  Start it full
 * with rl_bucket_init(); rate and burst are passed on each call so that
 * a config reload applies at once. */
struct rl_bucket {
	double		 rb_tokens;	/* as of rb_last_ms */
	uint64_t	 rb_last_ms;	/* when rb_tokens was last updated */
};

void	rl_bucket_init(struct rl_bucket *b, double burst, uint64_t now_ms);
/* Take one token.  true: taken.  false: none left; *retry_after_ms (if
 * not NULL) is how long until one is available, at least 1. */
bool	rl_take(struct rl_bucket *b, double rate, double burst,
	    uint64_t now_ms, uint64_t *retry_after_ms);
/* The bucket would be full at now_ms (forgetting it changes nothing). */
bool	rl_full(const struct rl_bucket *b, double rate, double burst,
	    uint64_t now_ms);

/* Events in the last RL_WINDOW_MS: RL_WINDOW_SLOTS one-second slots, the
 * current one and the nine before it.  Zeroed memory is an empty window. */
#define RL_WINDOW_SLOTS		10
#define RL_WINDOW_SLOT_MS	1000
#define RL_WINDOW_MS		(RL_WINDOW_SLOTS * RL_WINDOW_SLOT_MS)

struct rl_window {
	uint64_t	 rw_slot;	/* now_ms / RL_WINDOW_SLOT_MS of the newest */
	uint32_t	 rw_counts[RL_WINDOW_SLOTS];
};

/* Count one event at now_ms; returns the events in the window, it included. */
uint32_t rl_window_add(struct rl_window *w, uint64_t now_ms);
uint32_t rl_window_count(const struct rl_window *w, uint64_t now_ms);

#endif
