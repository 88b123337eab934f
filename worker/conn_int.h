/* conn_int.h: what the connection's files share (conn.c the lifecycle,
 * conn_upgrade.c the HTTP upgrade, conn_read.c the input, conn_out.c the
 * output, conn_plain.c and conn_tls.c the transports); nothing outside
 * them includes it. */
#ifndef PARLEY_CONN_INT_H
#define PARLEY_CONN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

struct bufferevent;
struct evbuffer;
struct fanout_block;

/*
 * A transport: where a connection's bytes come from and go to.  Plain
 * TCP (conn_plain.c: raw events, an output ring written with one writev
 * per loop pass) or TLS (conn_tls.c: bufferevent_openssl).  Both hand
 * input to conn_input, report a drained output with conn_out_drained and
 * a dead socket with conn_io_lost.
 */
struct conn_io {
	/* Take over fd (and ssl for TLS); 0, or -1 (nothing is kept). */
	int	(*ci_start)(struct ws_conn *c, int fd, void *ssl);
	/* Read or stop reading; reading again handles bytes left over. */
	void	(*ci_read_enable)(struct ws_conn *c, bool on);
	/* Queue a reference to fb for writing.  0, or -1 (no memory). */
	int	(*ci_queue)(struct ws_conn *c, struct fanout_block *fb);
	size_t	(*ci_pending)(const struct ws_conn *c);
	/* Our last bytes are out: shut the write side. */
	void	(*ci_shutdown)(struct ws_conn *c);
	void	(*ci_free)(struct ws_conn *c);
};
extern const struct conn_io conn_io_plain;
extern const struct conn_io conn_io_tls;

/* conn.c: the socket is gone (EOF, or an error when error is set). */
void	conn_io_lost(struct ws_conn *c, bool error);

/* conn.c: states, timers, the close. */
void	conn_set_state(struct ws_conn *c, enum conn_state s);
void	conn_arm_timer(struct ws_conn *c, int seconds);
/* Enter FLUSHING: our last bytes (close frame or HTTP answer) are queued. */
void	conn_begin_flush(struct ws_conn *c);
/* FLUSHING and the output is empty: half-close and LINGER (TLS: free). */
void	conn_flushed(struct ws_conn *c);

/* conn_upgrade.c: HANDSHAKE reads the head; false when the connection
 * left HANDSHAKE (answered, or ADMITTING), so no frames follow yet. */
bool	conn_read_head(struct ws_conn *c, struct evbuffer *in);

/* conn_read.c: handle the bytes in `in` as the state asks; what is not
 * consumed (a cut frame or head, or input while paused) stays there. */
void	conn_input(struct ws_conn *c, struct evbuffer *in);

/*
 * conn_out.c: the only code that writes to a client's output.  Data
 * messages (conn_send_text, conn_send_shared, conn_out_echo, the pong)
 * are held to the output limit: over it, the client is a slow consumer
 * and is closed with 1013.  Control frames and HTTP answers are not (a
 * close must always be queued).
 */
/* One uncompressed frame: close or ping. */
void	conn_out_frame(struct ws_conn *c, uint8_t opcode, const void *data,
	    size_t len);
/* The answer to a ping. */
void	conn_out_pong(struct ws_conn *c, const void *data, size_t len);
/* The echo endpoint: send msg back as one message; msg is left empty. */
void	conn_out_echo(struct ws_conn *c, uint8_t opcode, struct evbuffer *msg);
/* The HTTP answers of the upgrade (http_answer.c writes them). */
void	conn_out_http_101(struct ws_conn *c, const char *accept,
	    const char *extensions);
void	conn_out_http_error(struct ws_conn *c, int status, const char *why);
void	conn_out_http_refusal(struct ws_conn *c, int status, const char *why,
	    unsigned retry_after_s);
/* Bytes queued and not yet written to the socket. */
size_t	conn_out_pending(const struct ws_conn *c);
/* The transport wrote everything queued. */
void	conn_out_drained(struct ws_conn *c);

#endif
