/*
 * wsbench.c: a WebSocket load generator for parley and its peers: options,
 * tokens, latency histograms, the progress line and the RESULT lines.
 *
 *   wsbench echo      -p PORT [-c N] [-k DEPTH] [-s BYTES] [-d SECS] [-W SECS]
 *   wsbench broadcast -p PORT [-c MEMBERS] [-K SENDERS] -L RATE[,RATE...]
 *                     [-d SECS] [-x P99_MS] [-D SECS] [-s BYTES] [-o ROOM]
 *                     [-S STALLED]
 *   wsbench ingest    -p PORT [-c SENDERS] [-k DEPTH | -L RATE] [-d SECS]
 *   wsbench idle      -p PORT [-c N] [-R ROOMS] [-d MAXSECS]
 * common: [-H HOST] [-P PATH] [-T TOKEN_FILE | -C TOKEN_CMD] [-A ADDRS]
 *         [-t SETUP_TIMEOUT] [-i POLL_MS] [-q]
 *
 * echo:      N connections to /echo (PATH), each keeping DEPTH binary
 *            messages of BYTES in flight (closed loop); round trips inside
 *            the SECS window after the WARMUP give msg/s and percentiles.
 * broadcast: MEMBERS connections join one room; the first SENDERS of them
 *            send, open loop, RATE messages/s in all for SECS per rung of the
 *            ladder -L; after each rung the members drain (until everything
 *            arrived, or nothing moved for -D SECS).  Every member checks
 *            each sender's index sequence; loss = expected - delivered.  The
 *            ladder stops after the first rung with loss or p99 > -x.
 *            With -W SECS > 0 a warm-up rung (step -1) at the first rate
 *            comes first; it is reported but not judged.
 *            -S N: N more connections (after the MEMBERS) join the room,
 *            then never read again (small SO_RCVBUF, no EPOLLIN): the
 *            server's slow-consumer policy must close them.  After the
 *            last rung their sockets are read out and one line
 *            "STALLED n=N closed=C code1013=K ..." says how they ended.
 * ingest:    SENDERS connections, each joined to its own room, send; the
 *            acks (after COMMIT) are counted and timed.  Closed loop with
 *            DEPTH unacked per sender, or open loop at RATE messages/s.
 *            A send refused with UNAVAILABLE (the server's admission
 *            control) is counted as refused=, not a failure.
 * idle:      N connections join rooms (N / ROOMS each), print "READY N",
 *            then hold until SIGTERM/SIGINT or MAXSECS (0: forever).
 *            With -P /echo they only open (no welcome, no join).
 *
 * Tokens (-T: one per line, used round-robin; -C: "CMD bench-uN" prints
 * connection N's) go into the query (?token=); without them no token is
 * sent (the peers).  -A N binds connections to 127.0.0.1..127.0.0.N.
 * -i MS: once the load is on, wake up at most every MS milliseconds, so
 * that one recv() takes several frames (cheaper; adds up to MS to the
 * latencies measured).
 * stdout: "STEP i rate=R" as a rung starts, one "RESULT mode=... k=v ..."
 * line per rung / run; stderr: a progress line every second.
 */

#include <sys/resource.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wsbench.h"

struct wb W;

/* ---------------------------------------------------------------------- */
/* utilities */

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint32_t
rng_next(void)
{
	/* xorshift32: masking keys and handshake nonces for a benchmark */
	uint32_t x = W.b_rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return W.b_rng = x;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (p == NULL) {
		perror("wsbench: calloc");
		exit(2);
	}
	return p;
}

void
wb_fail(const char *fmt, ...)
{
	va_list ap;

	if (W.b_failed || W.b_closing)
		return;
	printf("FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	W.b_failed = 1;
	W.b_stop = 1;
}

/* Log-linear buckets over microseconds: exact below 128 us, then 64
 * buckets per power of two (about 1.6% wide). */
static int
hist_bucket(uint64_t us)
{
	int e;

	if (us < 128)
		return (int)us;
	e = 63 - __builtin_clzll(us);
	return 128 + (e - 7) * 64 + (int)((us >> (e - 6)) & 63);
}

static uint64_t
hist_value(int b)
{
	int e;

	if (b < 128)
		return (uint64_t)b;
	e = (b - 128) / 64 + 7;
	return ((uint64_t)64 + (uint64_t)((b - 128) % 64)) << (e - 6);
}

void
hist_add(struct wb_hist *h, int64_t ns)
{
	uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
	int b = hist_bucket(us);

	if (b >= WB_HIST_BUCKETS)
		b = WB_HIST_BUCKETS - 1;
	h->h_n[b]++;
	h->h_count++;
	if (us > h->h_max_us)
		h->h_max_us = us;
}

/* Percentile (0..100) in microseconds: the lower edge of the bucket that
 * holds the nearest-rank sample. */
double
hist_pct(const struct wb_hist *h, double pct)
{
	uint64_t rank, seen = 0;
	int b;

	if (h->h_count == 0)
		return 0.0;
	if (pct >= 100)
		return (double)h->h_max_us;
	rank = (uint64_t)(pct / 100.0 * (double)h->h_count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (b = 0; b < WB_HIST_BUCKETS; b++) {
		seen += h->h_n[b];
		if (seen >= rank)
			return (double)hist_value(b);
	}
	return (double)h->h_max_us;
}

/* CPU seconds this process used (user + system). */
static double
self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0.0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------------- */
/* reports */

int
wb_members(void)
{
	return W.b_nconns - W.b_nstalled;
}

static const char *
mode_name(void)
{
	static const char *names[] = { "echo", "broadcast", "ingest", "idle" };

	return names[W.b_mode];
}

static void
print_result(void)
{
	static double cpu_last;
	struct wb_step *s = &W.b_step;
	double cpu = self_cpu_s(), secs;
	const struct wb_hist *h = W.b_mode == MODE_INGEST ? &s->s_ack_lat :
	    &s->s_lat;
	uint64_t lost = s->s_expected > s->s_delivered ?
	    s->s_expected - s->s_delivered : 0;

	printf("RESULT mode=%s step=%d conns=%d ", mode_name(), W.b_step_idx,
	    wb_members());
	switch (W.b_mode) {
	case MODE_ECHO:
		secs = W.b_duration;
		printf("depth=%d size=%zu secs=%.2f msgs=%" PRIu64
		    " msg_per_s=%.0f msgs_all=%" PRIu64 " ", W.b_depth,
		    W.b_size, secs, s->s_delivered,
		    (double)s->s_delivered / secs, s->s_acked);
		break;
	case MODE_BROADCAST:
		secs = (double)(s->s_t_end - s->s_t_start) / 1e9;
		printf("senders=%d size=%zu rate=%.0f offered_deliveries_per_s="
		    "%.0f secs=%.3f sent=%" PRIu64 " expected=%" PRIu64
		    " delivered=%" PRIu64 " lost=%" PRIu64 " gaps=%" PRIu64
		    " dups=%" PRIu64 " deliveries_per_s=%.0f ", W.b_senders,
		    W.b_size, s->s_rate, s->s_rate * wb_members(), secs,
		    s->s_sent, s->s_expected, s->s_delivered, lost, s->s_gaps,
		    s->s_dups, (double)s->s_delivered / secs);
		break;
	case MODE_INGEST:
		secs = W.b_duration;
		printf("depth=%d rate=%.0f secs=%.2f sent=%" PRIu64 " acked=%"
		    PRIu64 " refused=%" PRIu64 " acks_per_s=%.0f ",
		    s->s_rate > 0 ? 0 : W.b_depth, s->s_rate, secs,
		    W.b_total_sent, s->s_acked, s->s_refused,
		    (double)s->s_acked / secs);
		break;
	case MODE_IDLE:
		printf("open=%d ready=%d ", W.b_open, W.b_ready);
		break;
	}
	if (W.b_mode != MODE_IDLE)
		printf("samples=%" PRIu64 " p50_us=%.0f p90_us=%.0f p99_us=%.0f "
		    "p999_us=%.0f max_us=%.0f ", h->h_count, hist_pct(h, 50),
		    hist_pct(h, 90), hist_pct(h, 99), hist_pct(h, 99.9),
		    hist_pct(h, 100));
	printf("client_cpu_s=%.3f\n", cpu - cpu_last);
	cpu_last = cpu;
	fflush(stdout);
}

/* The progress line (once a second), and the RESULT once a step ended. */
void
step_report(void)
{
	struct wb_step *s = &W.b_step;
	double dt = (double)(W.b_now - W.b_t_report) / 1e9;
	uint64_t done = W.b_mode == MODE_INGEST ? s->s_acked :
	    s->s_delivered;

	if (s->s_t_end != 0) {
		print_result();
		return;
	}
	if (W.b_quiet || dt < 1.0)
		return;
	if (!W.b_started)
		fprintf(stderr, "wsbench %s: connecting: open %d/%d ready %d\n",
		    mode_name(), W.b_open, W.b_nconns, W.b_ready);
	else if (W.b_mode != MODE_IDLE)
		fprintf(stderr, "wsbench %s: step %d rate %.0f: sent %.0f/s, "
		    "%s %.0f/s, p99 so far %.1f ms%s\n", mode_name(),
		    W.b_step_idx, s->s_rate,
		    (double)(s->s_sent - W.b_rep_sent) / dt,
		    W.b_mode == MODE_INGEST ? "acked" : "done",
		    (double)(done - W.b_rep_delivered) / dt,
		    hist_pct(W.b_mode == MODE_INGEST ? &s->s_ack_lat :
		    &s->s_lat, 99) / 1000.0, W.b_sending ? "" : " (draining)");
	W.b_rep_sent = s->s_sent;
	W.b_rep_delivered = done;
	W.b_t_report = W.b_now;
}

/* ---------------------------------------------------------------------- */
/* tokens */

static void
tokens_add(char *line)
{
	size_t n = strcspn(line, "\r\n");
	char **nt;

	line[n] = '\0';
	if (n == 0)
		return;
	nt = realloc(W.b_tokens, sizeof(char *) * (size_t)(W.b_ntokens + 1));
	if (nt == NULL || (nt[W.b_ntokens] = strdup(line)) == NULL) {
		perror("wsbench: tokens");
		exit(2);
	}
	W.b_tokens = nt;
	W.b_ntokens++;
}

static int
tokens_load(int need)
{
	char line[8192], cmd[4096];
	FILE *f;
	int i;

	if (W.b_token_file != NULL) {
		if ((f = fopen(W.b_token_file, "r")) == NULL) {
			fprintf(stderr, "wsbench: %s: %s\n", W.b_token_file,
			    strerror(errno));
			return -1;
		}
		while (fgets(line, sizeof(line), f) != NULL)
			tokens_add(line);
		fclose(f);
	} else if (W.b_token_cmd != NULL) {
		for (i = 0; i < need; i++) {
			snprintf(cmd, sizeof(cmd), "%s bench-u%d", W.b_token_cmd,
			    i);
			if ((f = popen(cmd, "r")) == NULL)
				return -1;
			if (fgets(line, sizeof(line), f) == NULL) {
				pclose(f);
				fprintf(stderr, "wsbench: %s: no token\n", cmd);
				return -1;
			}
			if (pclose(f) != 0) {
				fprintf(stderr, "wsbench: %s failed\n", cmd);
				return -1;
			}
			tokens_add(line);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* options */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: wsbench echo      -p PORT [-c N] [-k DEPTH] [-s BYTES] "
	    "[-d SECS] [-W SECS]\n"
	    "       wsbench broadcast -p PORT [-c MEMBERS] [-K SENDERS] "
	    "-L RATE[,RATE...] [-d SECS]\n"
	    "                         [-x P99_MS] [-D SECS] [-s BYTES] "
	    "[-o ROOM] [-S STALLED]\n"
	    "       wsbench ingest    -p PORT [-c SENDERS] [-k DEPTH | "
	    "-L RATE] [-d SECS] [-W SECS]\n"
	    "       wsbench idle      -p PORT [-c N] [-R ROOMS] [-d MAXSECS]\n"
	    "common: [-H HOST] [-P PATH] [-T TOKEN_FILE | -C TOKEN_CMD] "
	    "[-A ADDRS] [-t SECS] [-i POLL_MS] [-q]\n");
	exit(2);
}

static double
num_arg(const char *s, double lo, double hi, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "wsbench: %s must be %g..%g\n", what, lo, hi);
		exit(2);
	}
	return v;
}

static void
parse_rates(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;

	if (copy == NULL)
		exit(2);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		double *nr = realloc(W.b_rates, sizeof(double) *
		    (size_t)(W.b_nrates + 1));

		if (nr == NULL)
			exit(2);
		W.b_rates = nr;
		W.b_rates[W.b_nrates++] = num_arg(tok, 0.001, 1e8, "-L rate");
	}
	free(copy);
}

static void
on_signal(int sig)
{
	(void)sig;
	W.b_signalled = 1;
}

static void
parse_args(int argc, char *argv[])
{
	int ch;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "echo") == 0)
		W.b_mode = MODE_ECHO;
	else if (strcmp(argv[1], "broadcast") == 0)
		W.b_mode = MODE_BROADCAST;
	else if (strcmp(argv[1], "ingest") == 0)
		W.b_mode = MODE_INGEST;
	else if (strcmp(argv[1], "idle") == 0)
		W.b_mode = MODE_IDLE;
	else
		usage();
	W.b_host = "127.0.0.1";
	W.b_nconns = W.b_mode == MODE_BROADCAST ? 1000 : 100;
	W.b_depth = 1;
	W.b_size = W.b_mode == MODE_ECHO ? 32 : 64;
	W.b_duration = W.b_mode == MODE_IDLE ? 0 : 5;
	W.b_warmup = W.b_mode == MODE_BROADCAST ? 0 : 1;
	W.b_senders = 10;
	W.b_rooms = 0;
	W.b_drain = 2;
	W.b_timeout = 20;
	W.b_naddrs = 1;
	optind = 2;
	while ((ch = getopt(argc, argv,
	    "A:c:C:d:D:H:i:k:K:L:o:p:P:qR:s:S:t:T:W:x:")) != -1) {
		switch (ch) {
		case 'A': W.b_naddrs = (int)num_arg(optarg, 1, WB_MAX_ADDRS,
			    "-A"); break;
		case 'c': W.b_nconns = (int)num_arg(optarg, 1, 1000000, "-c");
			break;
		case 'C': W.b_token_cmd = optarg; break;
		case 'd': W.b_duration = num_arg(optarg, 0, 1e6, "-d"); break;
		case 'D': W.b_drain = num_arg(optarg, 0.1, 600, "-D"); break;
		case 'H': W.b_host = optarg; break;
		case 'i': W.b_poll_ns = (int64_t)(num_arg(optarg, 0, 100,
			    "-i") * 1e6); break;
		case 'k': W.b_depth = (int)num_arg(optarg, 1, 10000, "-k");
			break;
		case 'K': W.b_senders = (int)num_arg(optarg, 1, 65535, "-K");
			break;
		case 'L': parse_rates(optarg); break;
		case 'o': W.b_room_prefix = optarg; break;
		case 'p': W.b_port = (int)num_arg(optarg, 1, 65535, "-p"); break;
		case 'P': W.b_path = optarg; break;
		case 'q': W.b_quiet = 1; break;
		case 'R': W.b_rooms = (int)num_arg(optarg, 1, 1000000, "-R");
			break;
		case 'S': W.b_nstalled = (int)num_arg(optarg, 0, 65535, "-S");
			break;
		case 's': W.b_size = (size_t)num_arg(optarg, 0,
			    WB_MAX_FRAME - 1024, "-s"); break;
		case 't': W.b_timeout = num_arg(optarg, 0.1, 3600, "-t"); break;
		case 'T': W.b_token_file = optarg; break;
		case 'W': W.b_warmup = num_arg(optarg, 0, 3600, "-W"); break;
		case 'x': W.b_max_p99_ms = num_arg(optarg, 0, 1e6, "-x"); break;
		default: usage();
		}
	}
	if (W.b_port == 0 || optind != argc)
		usage();
	if (W.b_mode == MODE_ECHO && W.b_duration <= 0)
		usage();
	if (W.b_mode == MODE_BROADCAST && (W.b_nrates == 0 ||
	    W.b_senders > W.b_nconns))
		usage();
	if (W.b_mode == MODE_INGEST && W.b_nrates > 1)
		usage();
	if (W.b_nstalled > 0 && W.b_mode != MODE_BROADCAST)
		usage();
	W.b_nconns += W.b_nstalled;	/* the stalled come after the members */
	if (W.b_rooms == 0)
		W.b_rooms = (W.b_nconns + 99) / 100;
	if (W.b_path == NULL)
		W.b_path = W.b_mode == MODE_ECHO ? "/echo" : "/ws";
	if (W.b_room_prefix == NULL) {
		snprintf(W.b_room_buf, sizeof(W.b_room_buf), "wsb-%ld-%d",
		    (long)time(NULL), (int)getpid());
		W.b_room_prefix = W.b_room_buf;
	}
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	struct rlimit rl;
	int i;

	parse_args(argc, argv);
	memset(&W.b_addr, 0, sizeof(W.b_addr));
	W.b_addr.sin_family = AF_INET;
	W.b_addr.sin_port = htons((uint16_t)W.b_port);
	if (inet_pton(AF_INET, W.b_host, &W.b_addr.sin_addr) != 1) {
		fprintf(stderr, "wsbench: -H takes an IPv4 address\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* one fd per connection, plus a few */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)W.b_nconns + 16) {
		fprintf(stderr, "wsbench: %d connections need more fds than "
		    "RLIMIT_NOFILE %llu\n", W.b_nconns,
		    (unsigned long long)rl.rlim_cur);
		return 2;
	}
	if (tokens_load(W.b_nconns) == -1)
		return 2;
	W.b_rng = (uint32_t)(now_ns() ^ getpid()) | 1;
	W.b_payload = xcalloc(1, W.b_size + 1);
	memset(W.b_payload, 'x', W.b_size);
	W.b_frame_cap = WB_MAX_FRAME + 14;
	W.b_frame = xcalloc(1, W.b_frame_cap);
	W.b_conns = xcalloc((size_t)W.b_nconns, sizeof(*W.b_conns));
	job_setup();
	net_init();

	W.b_now = W.b_t_progress = W.b_t_report = now_ns();
	connect_more();
	net_loop();

	W.b_closing = 1;
	if (W.b_nstalled > 0 && !W.b_failed && !W.b_signalled)
		stalled_report();
	if (W.b_mode == MODE_IDLE && !W.b_failed) {
		W.b_step.s_t_end = now_ns();
		print_result();
	}
	for (i = 0; i < W.b_nconns; i++) {
		static const unsigned char bye[2] = { 0x03, 0xe8 };	/* 1000 */
		struct wconn *c = &W.b_conns[i];

		if (c->wc_state == WC_OPEN)
			ws_send(c, WS_OP_CLOSE, bye, sizeof(bye));
		if (c->wc_state != WC_FREE && c->wc_state != WC_CLOSED)
			conn_close(c);
	}
	if (W.b_signalled && W.b_mode != MODE_IDLE && !W.b_failed) {
		printf("FAILED: interrupted\n");
		return 1;
	}
	return W.b_failed ? 1 : 0;
}
