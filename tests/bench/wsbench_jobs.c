/*
 * wsbench_jobs.c: what each workload sends and checks: echo (closed loop),
 * broadcast (open-loop ladder, per-sender order, loss after a drain), durable
 * ingest (acks; closed loop or open loop) and idle (joined, then held).
 *
 * Chat frames are never parsed as JSON: a frame is classified by its fixed
 * start ({"type":"message" ...) and a delivery's sender, index and send time
 * are read from the fixed-format prefix of its text (WB_TAG, wsbench.h).
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsbench.h"

#define STARTS(d, n, lit) \
	((n) >= sizeof(lit) - 1 && memcmp((d), (lit), sizeof(lit) - 1) == 0)

static const char k_message[] = "{\"type\":\"message\"";
static const char k_text[] = "\"text\":\"" WB_TAG;

/* ---------------------------------------------------------------------- */
/* small helpers */

static int
hexval(const unsigned char *p, int n, uint64_t *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++) {
		unsigned char ch = p[i];

		if (ch >= '0' && ch <= '9')
			v = v << 4 | (uint64_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = v << 4 | (uint64_t)(ch - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int
decval(const unsigned char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	if (i == 0)
		return -1;
	*out = v;
	return 0;
}

static void
room_name(char *buf, size_t cap, int room)
{
	if (W.b_mode == MODE_BROADCAST)
		snprintf(buf, cap, "%s", W.b_room_prefix);
	else
		snprintf(buf, cap, "%s-%d", W.b_room_prefix, room);
}

static void
send_join(struct wconn *c)
{
	char buf[160], room[96];
	int len;

	room_name(room, sizeof(room), c->wc_room);
	len = snprintf(buf, sizeof(buf),
	    "{\"type\":\"join\",\"id\":\"j%d\",\"room\":\"%s\"}", c->wc_idx,
	    room);
	ws_send(c, WS_OP_TEXT, buf, (size_t)len);
}

/* A chat "send" whose text starts with the fixed prefix. */
static void
send_chat(struct wconn *c, uint64_t id, uint32_t index, int64_t ts)
{
	char buf[WB_MAX_FRAME], room[96];
	int len;

	room_name(room, sizeof(room), c->wc_room);
	len = snprintf(buf, sizeof(buf),
	    "{\"type\":\"send\",\"id\":%" PRIu64 ",\"room\":\"%s\",\"text\":\""
	    WB_TAG "%04x.%08x.%016" PRIx64 "%.*s\"}", id, room,
	    (unsigned)c->wc_sender & 0xffff, index, (uint64_t)ts,
	    (int)(W.b_size > WB_PREFIX_LEN ? W.b_size - WB_PREFIX_LEN : 0),
	    (const char *)W.b_payload);
	ws_send(c, WS_OP_TEXT, buf, (size_t)len);
	c->wc_sent++;
	W.b_step.s_sent++;
	W.b_total_sent++;
}

/* ---------------------------------------------------------------------- */
/* echo */

static void
echo_send(struct wconn *c)
{
	uint32_t pos = (c->wc_ring_head + c->wc_ring_len) % (uint32_t)W.b_depth;

	c->wc_ring[pos] = W.b_now;
	c->wc_ring_len++;
	W.b_step.s_sent++;
	ws_send(c, WS_OP_BINARY, W.b_payload, W.b_size);
}

static void
echo_on_message(struct wconn *c, size_t len)
{
	struct wb_step *s = &W.b_step;
	int64_t sent;

	if (c->wc_ring_len == 0) {
		conn_fail(c, "echo without a message in flight");
		return;
	}
	if (len != W.b_size) {
		conn_fail(c, "echo of %zu bytes, sent %zu", len, W.b_size);
		return;
	}
	sent = c->wc_ring[c->wc_ring_head];
	c->wc_ring_head = (c->wc_ring_head + 1) % (uint32_t)W.b_depth;
	c->wc_ring_len--;
	s->s_acked++;		/* every round trip, warm-up included */
	W.b_t_progress = W.b_now;
	if (W.b_now >= s->s_t_start && W.b_now <= s->s_t_send_end) {
		s->s_delivered++;
		hist_add(&s->s_lat, W.b_now - sent);
	}
	if (W.b_sending)
		echo_send(c);
}

/* ---------------------------------------------------------------------- */
/* chat: broadcast, ingest, idle */

/* Start broadcast rung idx (-1: the warm-up at the first rate). */
static void
step_begin(int idx)
{
	struct wb_step *s = &W.b_step;
	double secs = idx < 0 ? W.b_warmup : W.b_duration;

	W.b_step_idx = idx;
	memset(s, 0, sizeof(*s));
	s->s_rate = W.b_rates[idx < 0 ? 0 : idx];
	s->s_t_start = W.b_now;
	s->s_t_send_end = W.b_now + (int64_t)(secs * 1e9);
	W.b_sending = 1;
	W.b_sched = 0;
	W.b_t_progress = W.b_now;
	W.b_rep_sent = W.b_rep_delivered = 0;
	printf("STEP %d rate=%.0f\n", idx, s->s_rate);
	fflush(stdout);
}

static void
all_ready(void)
{
	int i;

	W.b_started = 1;
	W.b_t_progress = W.b_now;
	switch (W.b_mode) {
	case MODE_IDLE:
		printf("READY %d\n", W.b_ready);
		fflush(stdout);
		W.b_step.s_t_start = W.b_now;
		break;
	case MODE_BROADCAST:
		/* -S: everyone joined; the stalled stop reading now */
		for (i = wb_members(); i < W.b_nconns; i++)
			stall_conn(&W.b_conns[i]);
		/* a warm-up rung (step -1) at the first rate, not judged */
		step_begin(W.b_warmup > 0 ? -1 : 0);
		break;
	case MODE_INGEST:
		memset(&W.b_step, 0, sizeof(W.b_step));
		W.b_step.s_rate = W.b_nrates > 0 ? W.b_rates[0] : 0;
		W.b_step.s_t_start = W.b_now + (int64_t)(W.b_warmup * 1e9);
		W.b_step.s_t_send_end = W.b_step.s_t_start +
		    (int64_t)(W.b_duration * 1e9);
		W.b_sending = 1;
		W.b_sched = 0;
		printf("STEP 0 rate=%.0f\n", W.b_step.s_rate);
		fflush(stdout);
		if (W.b_step.s_rate == 0)
			for (i = 0; i < W.b_nconns; i++) {
				struct wconn *c = &W.b_conns[i];
				int k;

				for (k = 0; k < W.b_depth; k++) {
					c->wc_ts[c->wc_sent % WB_TS_RING] =
					    W.b_now;
					send_chat(c, c->wc_sent,
					    (uint32_t)c->wc_sent, W.b_now);
				}
			}
		break;
	case MODE_ECHO:
		break;
	}
}

static void
on_delivery(struct wconn *c, const unsigned char *d, size_t n)
{
	const unsigned char *p = memmem(d, n, k_text, sizeof(k_text) - 1);
	struct wb_step *s = &W.b_step;
	uint64_t snd, idx, ts;

	if (p == NULL)
		return;		/* a message that is not ours */
	p += sizeof(k_text) - 1;
	if ((size_t)(d + n - p) < WB_PREFIX_LEN - WB_TAG_LEN ||
	    hexval(p, 4, &snd) == -1 || hexval(p + 5, 8, &idx) == -1 ||
	    hexval(p + 14, 16, &ts) == -1) {
		conn_fail(c, "bad message text: %.*s", (int)(n > 200 ? 200 : n),
		    (const char *)d);
		return;
	}
	if (W.b_mode != MODE_BROADCAST)
		return;		/* ingest: the sender's own copy */
	if (snd >= (uint64_t)W.b_senders) {
		conn_fail(c, "message from sender %" PRIu64, snd);
		return;
	}
	if (idx == c->wc_next_i[snd])
		c->wc_next_i[snd]++;
	else if (idx > c->wc_next_i[snd]) {
		s->s_gaps += idx - c->wc_next_i[snd];
		c->wc_next_i[snd] = (uint32_t)idx + 1;
	} else
		s->s_dups++;
	s->s_delivered++;
	W.b_t_progress = W.b_now;
	if ((int64_t)ts >= s->s_t_start)
		hist_add(&s->s_lat, W.b_now - (int64_t)ts);
}

/* A send was answered: acked (ok) or refused for load (UNAVAILABLE). */
static void
on_answer(struct wconn *c, uint64_t id, int ok)
{
	struct wb_step *s = &W.b_step;
	int64_t ts;

	c->wc_acked++;
	W.b_t_progress = W.b_now;
	if (W.b_mode != MODE_INGEST)
		return;
	ts = c->wc_ts[id % WB_TS_RING];
	if (!ok) {
		if (ts >= s->s_t_start && ts <= s->s_t_send_end)
			s->s_refused++;
	} else {
		/* the rate counts acks inside the window; the latency, every
		 * ack of a message sent inside it (the drain included) */
		if (W.b_now >= s->s_t_start && W.b_now <= s->s_t_send_end)
			s->s_acked++;
		if (ts >= s->s_t_start && ts <= s->s_t_send_end)
			hist_add(&s->s_ack_lat, W.b_now - ts);
	}
	if (s->s_rate == 0 && W.b_sending) {
		c->wc_ts[c->wc_sent % WB_TS_RING] = W.b_now;
		send_chat(c, c->wc_sent, (uint32_t)c->wc_sent, W.b_now);
	}
}

static void
on_ack(struct wconn *c, const unsigned char *d, size_t n)
{
	static const char k_ack[] = "{\"type\":\"ack\",\"id\":";
	uint64_t id;

	if (decval(d + sizeof(k_ack) - 1, n - (sizeof(k_ack) - 1), &id) == -1) {
		conn_fail(c, "bad ack: %.*s", (int)(n > 200 ? 200 : n),
		    (const char *)d);
		return;
	}
	on_answer(c, id, 1);
}

static void
on_error(struct wconn *c, const unsigned char *d, size_t n)
{
	static const char k_retry[] = "\"retry_after_ms\":";
	static const char k_id[] = "\"id\":";
	const unsigned char *p;
	uint64_t ms, id;

	/* ingest, open loop: a send refused for load is an answer, counted
	 * (refused=), not the end of the run */
	if (W.b_mode == MODE_INGEST && c->wc_joined &&
	    memmem(d, n, "\"UNAVAILABLE\"", 13) != NULL &&
	    (p = memmem(d, n, k_id, sizeof(k_id) - 1)) != NULL &&
	    decval(p + sizeof(k_id) - 1,
	    n - (size_t)(p - d) - (sizeof(k_id) - 1), &id) == 0) {
		on_answer(c, id, 0);
		return;
	}

	/* A join refused for load is retried after the wait the server
	 * names, as a client would; any other error ends the run. */
	if (!c->wc_joined && memmem(d, n, "\"RATE_LIMIT\"", 12) != NULL &&
	    (p = memmem(d, n, k_retry, sizeof(k_retry) - 1)) != NULL &&
	    decval(p + sizeof(k_retry) - 1,
	    n - (size_t)(p - d) - (sizeof(k_retry) - 1), &ms) == 0) {
		c->wc_rejoin_at = W.b_now + (int64_t)ms * 1000000;
		return;
	}
	conn_fail(c, "error from the server: %.*s", (int)(n > 300 ? 300 : n),
	    (const char *)d);
}

static void
chat_on_text(struct wconn *c, const unsigned char *d, size_t n)
{
	if (STARTS(d, n, k_message)) {
		on_delivery(c, d, n);
		return;
	}
	if (STARTS(d, n, "{\"type\":\"ack\",\"id\":")) {
		on_ack(c, d, n);
		return;
	}
	if (STARTS(d, n, "{\"type\":\"error\"")) {
		on_error(c, d, n);
		return;
	}
	if (!c->wc_welcomed && STARTS(d, n, "{\"type\":\"welcome\"")) {
		c->wc_welcomed = 1;
		send_join(c);
		return;
	}
	if (!c->wc_joined && STARTS(d, n, "{\"type\":\"joined\"")) {
		c->wc_joined = 1;
		W.b_t_progress = W.b_now;
		if (++W.b_ready == W.b_nconns)
			all_ready();
	}
	/* presence and the rest: not ours */
}

/* ---------------------------------------------------------------------- */
/* entry points from wsbench.c and wsbench_net.c */

void
job_setup(void)
{
	int i;

	for (i = 0; i < W.b_nconns; i++) {
		struct wconn *c = &W.b_conns[i];

		c->wc_fd = -1;
		c->wc_idx = i;
		c->wc_sender = -1;
		switch (W.b_mode) {
		case MODE_ECHO:
			c->wc_ring = xcalloc((size_t)W.b_depth, sizeof(int64_t));
			break;
		case MODE_BROADCAST:
			c->wc_next_i = xcalloc((size_t)W.b_senders,
			    sizeof(uint32_t));
			if (i < W.b_senders)
				c->wc_sender = i;
			break;
		case MODE_INGEST:
			c->wc_sender = i;
			c->wc_room = i;
			c->wc_ts = xcalloc(WB_TS_RING, sizeof(int64_t));
			break;
		case MODE_IDLE:
			c->wc_room = i % W.b_rooms;
			break;
		}
	}
}

void
job_on_open(struct wconn *c)
{
	int i;

	if (W.b_mode == MODE_IDLE && strcmp(W.b_path, "/echo") == 0) {
		/* idle on the echo endpoint: no welcome, ready once open */
		c->wc_joined = 1;
		if (++W.b_ready == W.b_nconns)
			all_ready();
		return;
	}
	if (W.b_mode != MODE_ECHO || W.b_open < W.b_nconns)
		return;		/* chat waits for its welcome */
	/* every echo connection is up: the clock starts now */
	W.b_started = 1;
	W.b_sending = 1;
	W.b_step.s_t_start = W.b_now + (int64_t)(W.b_warmup * 1e9);
	W.b_step.s_t_send_end = W.b_step.s_t_start +
	    (int64_t)(W.b_duration * 1e9);
	for (i = 0; i < W.b_nconns; i++) {
		int k;

		for (k = 0; k < W.b_depth; k++)
			echo_send(&W.b_conns[i]);
	}
}

void
job_on_message(struct wconn *c, int opcode, const unsigned char *d,
    size_t n)
{
	if (W.b_mode == MODE_ECHO)
		echo_on_message(c, n);
	else if (opcode != WS_OP_TEXT)
		conn_fail(c, "binary message on the chat endpoint");
	else
		chat_on_text(c, d, n);
}

/* Open loop: send every message due by now (message k of a step is due
 * at start + k / rate; its text carries that time, not the time it left,
 * so a late sender does not hide queueing). */
static void
send_due(void)
{
	struct wb_step *s = &W.b_step;
	int64_t now = W.b_now < s->s_t_send_end ? W.b_now : s->s_t_send_end;
	uint64_t due;
	int nsend = W.b_mode == MODE_BROADCAST ? W.b_senders : W.b_nconns;

	if (now < s->s_t_start)
		return;
	due = (uint64_t)((double)(now - s->s_t_start) * s->s_rate / 1e9) + 1;
	while (W.b_sched < due && !W.b_failed) {
		struct wconn *c = &W.b_conns[W.b_sched % (uint64_t)nsend];
		int64_t ts = s->s_t_start +
		    (int64_t)((double)W.b_sched * 1e9 / s->s_rate);

		if (c->wc_state != WC_OPEN)
			return;
		if (W.b_mode == MODE_INGEST) {
			if (c->wc_sent - c->wc_acked >= WB_TS_RING) {
				wb_fail("sender %d: %d sends unacknowledged",
				    c->wc_idx, WB_TS_RING);
				return;
			}
			c->wc_ts[c->wc_sent % WB_TS_RING] = ts;
		}
		send_chat(c, c->wc_sent, (uint32_t)c->wc_sent, ts);
		W.b_sched++;
	}
}

static int
step_drained(void)
{
	struct wb_step *s = &W.b_step;
	int64_t quiet = W.b_now - W.b_t_progress;
	uint64_t acked = 0;
	int i;

	if (quiet > (int64_t)(W.b_drain * 1e9))
		return 1;
	switch (W.b_mode) {
	case MODE_BROADCAST:
		return s->s_delivered >= s->s_sent * (uint64_t)wb_members();
	case MODE_INGEST:
		for (i = 0; i < W.b_nconns; i++)
			acked += W.b_conns[i].wc_sent - W.b_conns[i].wc_acked;
		return acked == 0;
	case MODE_ECHO:
		for (i = 0; i < W.b_nconns; i++)
			acked += W.b_conns[i].wc_ring_len;
		return acked == 0;
	default:
		return 1;
	}
}

static void
next_step(void)
{
	struct wb_step *s = &W.b_step;
	double p99 = hist_pct(&s->s_lat, 99) / 1000.0;
	int ok = s->s_delivered >= s->s_sent * (uint64_t)wb_members() &&
	    s->s_gaps == 0 && s->s_dups == 0 &&
	    (W.b_max_p99_ms <= 0 || p99 <= W.b_max_p99_ms);

	if (W.b_step_idx >= 0 && (!ok || W.b_step_idx + 1 >= W.b_nrates)) {
		W.b_stop = 1;
		return;
	}
	step_begin(W.b_step_idx + 1);
}

void
job_tick(void)
{
	struct wb_step *s = &W.b_step;
	int i;

	if (W.b_failed) {
		W.b_stop = 1;
		return;
	}
	if (!W.b_started) {
		for (i = 0; i < W.b_nconns; i++) {
			struct wconn *c = &W.b_conns[i];

			if (c->wc_rejoin_at != 0 && W.b_now >= c->wc_rejoin_at) {
				c->wc_rejoin_at = 0;
				send_join(c);
			}
		}
		if (W.b_now - W.b_t_progress > (int64_t)(W.b_timeout * 1e9))
			wb_fail("set-up stalled: %d of %d connections open, "
			    "%d ready", W.b_open, W.b_nconns, W.b_ready);
		step_report();
		return;
	}
	if (W.b_mode == MODE_IDLE) {
		if (W.b_duration > 0 && W.b_now - s->s_t_start >
		    (int64_t)(W.b_duration * 1e9))
			W.b_stop = 1;
		return;
	}
	if (W.b_sending && s->s_rate > 0)
		send_due();
	if (W.b_sending && W.b_now >= s->s_t_send_end) {
		W.b_sending = 0;
		s->s_t_end = 0;
		W.b_t_progress = W.b_now;
	}
	if (!W.b_sending && s->s_t_end == 0 && step_drained()) {
		s->s_t_end = W.b_now;
		s->s_expected = W.b_mode == MODE_BROADCAST ?
		    s->s_sent * (uint64_t)wb_members() : s->s_sent;
		step_report();
		if (W.b_mode == MODE_BROADCAST)
			next_step();
		else
			W.b_stop = 1;
		return;
	}
	step_report();
}

int64_t
job_next_wake(void)
{
	struct wb_step *s = &W.b_step;

	if (!W.b_sending || s->s_rate <= 0)
		return 0;
	return s->s_t_start + (int64_t)((double)W.b_sched * 1e9 / s->s_rate);
}
