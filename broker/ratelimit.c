/*
 * ratelimit.c: token buckets with an injected clock, and a sliding window
 * of event counts (PROTOCOL.md 5).  No clock, no I/O: the broker passes
 * now_mono_ms(), the unit tests a fake clock.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ratelimit.h"

/* Float slack: waiting exactly the advertised retry_after_ms must do. */
#define RL_EPSILON	1e-9

/* Bring tokens up to date.  A clock that goes backwards adds nothing; a
 * huge gap cannot overflow: a double holds 2^64 ms * 1e6/s easily, and
 * the result is clamped to burst. */
static double
rl_refill(const struct rl_bucket *b, double rate, double burst,
    uint64_t now_ms)
{
	double tokens = b->rb_tokens;

	if (now_ms > b->rb_last_ms)
		tokens += (double)(now_ms - b->rb_last_ms) * rate / 1000.0;
	if (tokens > burst)
		tokens = burst;
	return tokens;
}

void
rl_bucket_init(struct rl_bucket *b, double burst, uint64_t now_ms)
{
	b->rb_tokens = burst;
	b->rb_last_ms = now_ms;
}

bool
rl_take(struct rl_bucket *b, double rate, double burst, uint64_t now_ms,
    uint64_t *retry_after_ms)
{
	double need;

	b->rb_tokens = rl_refill(b, rate, burst, now_ms);
	if (now_ms > b->rb_last_ms)
		b->rb_last_ms = now_ms;
	if (b->rb_tokens >= 1.0 - RL_EPSILON) {
		b->rb_tokens -= 1.0;
		if (b->rb_tokens < 0)
			b->rb_tokens = 0;
		return true;
	}
	if (retry_after_ms != NULL) {
		if (rate <= 0) {
			*retry_after_ms = UINT64_MAX;
			return false;
		}
		need = ceil((1.0 - b->rb_tokens) * 1000.0 / rate - RL_EPSILON);
		*retry_after_ms = need < 1 ? 1 : (uint64_t)need;
	}
	return false;
}

bool
rl_full(const struct rl_bucket *b, double rate, double burst,
    uint64_t now_ms)
{
	return rl_refill(b, rate, burst, now_ms) >= burst - RL_EPSILON;
}

/* Move the window to now's slot, clearing the slots it passes. */
static void
rl_window_advance(struct rl_window *w, uint64_t slot)
{
	uint64_t gap;

	if (slot <= w->rw_slot)
		return;			/* same slot, or a clock going back */
	gap = slot - w->rw_slot;
	if (gap >= RL_WINDOW_SLOTS)
		memset(w->rw_counts, 0, sizeof(w->rw_counts));
	else
		for (uint64_t i = 1; i <= gap; i++)
			w->rw_counts[(w->rw_slot + i) % RL_WINDOW_SLOTS] = 0;
	w->rw_slot = slot;
}

uint32_t
rl_window_add(struct rl_window *w, uint64_t now_ms)
{
	uint32_t *c;

	rl_window_advance(w, now_ms / RL_WINDOW_SLOT_MS);
	c = &w->rw_counts[w->rw_slot % RL_WINDOW_SLOTS];
	if (*c < UINT32_MAX)
		(*c)++;
	return rl_window_count(w, now_ms);
}

uint32_t
rl_window_count(const struct rl_window *w, uint64_t now_ms)
{
	uint64_t slot = now_ms / RL_WINDOW_SLOT_MS, sum = 0;

	if (slot < w->rw_slot)
		slot = w->rw_slot;
	for (uint64_t k = 0; k < RL_WINDOW_SLOTS && k <= w->rw_slot; k++) {
		uint64_t s = w->rw_slot - k;

		if (s + RL_WINDOW_SLOTS <= slot)
			break;
		sum += w->rw_counts[s % RL_WINDOW_SLOTS];
	}
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}
