/*
 * wsbench.h: the load generator's one context struct and the calls between
 * its files (wsbench.c: options and results; wsbench_net.c: epoll, sockets,
 * RFC 6455 client side; wsbench_jobs.c: what each workload sends and checks).
 */
#ifndef WSBENCH_H
#define WSBENCH_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define WS_OP_CONT	0x0
#define WS_OP_TEXT	0x1
#define WS_OP_BINARY	0x2
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9
#define WS_OP_PONG	0xa

#define WB_RBUF_SIZE	(512u << 10)	/* one read buffer for every socket */
#define WB_MAX_FRAME	(64u << 10)	/* largest frame accepted (-s bound) */
#define WB_CONNECT_BATCH 256		/* handshakes in progress at once */
#define WB_HIST_BUCKETS	2560		/* log-linear, ~1.6% wide, in us */
#define WB_TS_RING	65536		/* ingest: send times of unacked ids */
#define WB_MAX_ADDRS	254		/* -A: 127.0.0.1 .. 127.0.0.254 */

/* The fixed text prefix of every broadcast/ingest message:
 * "wsb.SSSS.IIIIIIII.TTTTTTTTTTTTTTTT" (hex sender, index, send time in ns
 * of CLOCK_MONOTONIC), then padding up to -s bytes. */
#define WB_TAG		"wsb."
#define WB_TAG_LEN	4
#define WB_PREFIX_LEN	34

enum wb_mode { MODE_ECHO, MODE_BROADCAST, MODE_INGEST, MODE_IDLE };

enum wc_state { WC_FREE, WC_CONNECTING, WC_HANDSHAKE, WC_OPEN, WC_CLOSED };

struct wb_hist {
	uint64_t	h_n[WB_HIST_BUCKETS];
	uint64_t	h_count;
	uint64_t	h_max_us;
};

struct wconn {
	int		 wc_fd;
	int		 wc_idx;
	int		 wc_sender;	/* sender number, or -1 */
	int		 wc_room;	/* room number (ingest, idle) */
	uint8_t		 wc_state;
	uint8_t		 wc_welcomed;
	uint8_t		 wc_joined;
	uint8_t		 wc_pollout;	/* EPOLLOUT armed */
	uint8_t		 wc_stalled;	/* -S: joined, then never read */
	int64_t		 wc_rejoin_at;	/* a join refused for load: retry */
	char		 wc_accept[32];	/* expected Sec-WebSocket-Accept */
	/* a partial frame carried over to the next read */
	unsigned char	*wc_carry;
	uint32_t	 wc_carry_len, wc_carry_cap;
	/* bytes the socket did not take yet */
	unsigned char	*wc_out;
	uint32_t	 wc_out_len, wc_out_cap;
	/* echo: send times of the messages in flight, oldest first */
	int64_t		*wc_ring;
	uint32_t	 wc_ring_head, wc_ring_len;
	uint32_t	 wc_frag_len;	/* echo: bytes of a fragmented message */
	/* broadcast members: next index expected from each sender */
	uint32_t	*wc_next_i;
	/* ingest senders */
	int64_t		*wc_ts;		/* send time by id % WB_TS_RING */
	uint64_t	 wc_sent, wc_acked;
};

/* One step of a run (a broadcast ladder rung, or the whole run). */
struct wb_step {
	double		 s_rate;	/* offered messages/s (0: closed loop) */
	int64_t		 s_t_start, s_t_send_end, s_t_end;
	uint64_t	 s_sent, s_acked, s_delivered, s_expected;
	uint64_t	 s_gaps, s_dups;
	uint64_t	 s_refused;	/* ingest: sends answered UNAVAILABLE */
	struct wb_hist	 s_lat;		/* delivery or round-trip latency */
	struct wb_hist	 s_ack_lat;
};

struct wb {
	enum wb_mode	 b_mode;
	int		 b_epfd;
	struct sockaddr_in b_addr;
	const char	*b_host;
	int		 b_port;
	const char	*b_path;
	int		 b_naddrs;	/* -A */

	struct wconn	*b_conns;
	int		 b_nconns;
	int		 b_next_connect;
	int		 b_pending, b_open, b_ready;
	unsigned char	*b_rbuf;
	int64_t		 b_now;		/* taken once per wake-up */

	/* knobs */
	int		 b_depth;	/* -k: echo in flight / ingest window */
	size_t		 b_size;	/* -s */
	double		 b_duration;	/* -d */
	double		 b_warmup;	/* -W */
	int		 b_senders;	/* -K */
	int		 b_nstalled;	/* -S: the last S conns stop reading */
	int		 b_rooms;	/* -R */
	double		*b_rates;	/* -L: messages/s per step */
	int		 b_nrates;
	double		 b_max_p99_ms;	/* -x: ladder stops past it */
	double		 b_drain;	/* -D: seconds without progress */
	double		 b_timeout;	/* -t: set-up without progress */
	const char	*b_room_prefix;
	char		 b_room_buf[48];
	char		**b_tokens;
	int		 b_ntokens;
	const char	*b_token_file;
	const char	*b_token_cmd;
	int		 b_quiet;	/* -q: no progress line */
	int64_t		 b_poll_ns;	/* -i: least time between wake-ups */
	int64_t		 b_t_wake;

	/* run state */
	int		 b_started;	/* all connections ready: load on */
	int		 b_step_idx;
	struct wb_step	 b_step;
	int		 b_sending;	/* inside the send window */
	uint64_t	 b_sched;	/* open loop: messages due so far */
	uint64_t	 b_total_sent;
	int64_t		 b_t_progress;	/* last time something moved */
	int64_t		 b_t_report;	/* last progress line */
	uint64_t	 b_rep_delivered, b_rep_sent;
	int		 b_failed;
	int		 b_stop;	/* leave the loop */
	volatile sig_atomic_t b_signalled;	/* SIGINT/SIGTERM */
	int		 b_closing;	/* results taken: errors are not */
	uint32_t	 b_rng;
	unsigned char	*b_payload;	/* -s bytes of padding */
	unsigned char	*b_frame;	/* scratch for one outgoing frame */
	size_t		 b_frame_cap;
};

extern struct wb W;

/* wsbench.c */
int64_t	 now_ns(void);
uint32_t rng_next(void);
void	*xcalloc(size_t, size_t);
void	 wb_fail(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 hist_add(struct wb_hist *, int64_t ns);
double	 hist_pct(const struct wb_hist *, double pct);	/* us */
void	 step_report(void);
int	 wb_members(void);	/* connections that read: nconns - S */

/* wsbench_net.c */
void	 net_init(void);
void	 net_loop(void);
void	 conn_start(int idx);
void	 conn_close(struct wconn *);
void	 conn_fail(struct wconn *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 ws_send(struct wconn *, int opcode, const void *, size_t);
void	 connect_more(void);
void	 stall_conn(struct wconn *);
void	 stalled_report(void);

/* wsbench_jobs.c */
void	 job_setup(void);
void	 job_on_open(struct wconn *);
void	 job_on_message(struct wconn *, int opcode, const unsigned char *,
	    size_t);
void	 job_tick(void);
int64_t	 job_next_wake(void);	/* ns of the next timed action, or 0 */

#endif
