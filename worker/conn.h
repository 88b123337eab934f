/* conn.h: one client connection, from the HTTP upgrade to the close.
 * States (memcached style): every transition goes through conn_set_state. */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <bsd/sys/queue.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/event_struct.h>

#include "outq.h"
#include "ws_frame.h"

struct worker;
struct bufferevent;
struct deflate_ctx;
struct evbuffer;
struct event;
struct fanout_block;
struct conn_io;
struct session;
struct ws_conn;
struct parley_config;
struct http_upgrade_req;

enum conn_state {
	CONN_HANDSHAKE,		/* reading the HTTP request head */
	CONN_ADMITTING,		/* head valid; the broker decides the
				 * per-address limits before the 101 */
	CONN_OPEN,		/* WebSocket frames both ways */
	CONN_FLUSHING,		/* a close frame or HTTP error is queued */
	CONN_LINGER,		/* write side shut; discarding input until EOF */
	CONN_STATE_MAX
};

enum conn_endpoint { CONN_EP_NONE, CONN_EP_CHAT, CONN_EP_ECHO };

/*
 * What runs on top of a WebSocket endpoint (the chat session): the
 * connection (conn*.c) calls it through this table and knows nothing of
 * chat, so another application, or another transport under the session,
 * plugs in beside.
 */
struct conn_app {
	/* Upgraded (101 sent); req is the request, valid during the call. */
	void	(*ca_open)(struct ws_conn *c, const struct http_upgrade_req *req);
	/* One complete, valid UTF-8 text message. */
	void	(*ca_text)(struct ws_conn *c, const char *text, size_t len);
	/* The connection is being freed (safe if ca_open never ran). */
	void	(*ca_close)(struct ws_conn *c);
};

/* A row of the worker's endpoint table (worker.c): the path is the
 * config string at ro_path_off; ro_app NULL is the echo endpoint. */
struct conn_route {
	enum conn_endpoint	 ro_endpoint;
	size_t			 ro_path_off;	/* offsetof(parley_config, ...) */
	const struct conn_app	*ro_app;
};

/* Why reads are paused; they resume when no reason is left. */
#define CONN_PAUSE_BROKER	0x01	/* the broker link is congested */
#define CONN_PAUSE_ADMIT	0x02	/* waiting for the broker's word:
					 * the upgrade or the login */

struct ws_conn {
	uint64_t		 wc_id;
	struct worker		*wc_worker;
	const struct conn_io	*wc_io;		/* plain or TLS (conn_int.h) */
	int			 wc_fd;
	/* TLS: a bufferevent_openssl holds the buffers. */
	struct bufferevent	*wc_bev;
	/* Plain: a raw read event; a write event only while the socket is
	 * full (conn_plain.c); the output ring; input kept only when a
	 * frame or head is cut. */
	struct event		 wc_rev;
	struct event		*wc_wev;
	bool			 wc_dirty;	/* on the worker's flush list */
	struct outq		 wc_outq;
	struct evbuffer		*wc_in;		/* NULL when none is left */
	TAILQ_ENTRY(ws_conn)	 wc_dirty_entry;
	enum conn_state		 wc_state;
	enum conn_endpoint	 wc_endpoint;
	bool			 wc_tls;
	bool			 wc_registered;	/* the broker knows it */
	bool			 wc_seen_by_broker; /* a broker admitted it
						 * (IPC_CONN_ADMITTED): a later
						 * re-registration is exempt
						 * from the limits */
	uint8_t			 wc_paused;	/* CONN_PAUSE_* reasons */
	struct http_upgrade_req	*wc_upgrade;	/* owned, in ADMITTING only */
	/* The peer's address (IPv4 or IPv6), formatted when used
	 * (conn_addr): for logs and the broker's per-address limits. */
	uint8_t			 wc_addr[16];
	sa_family_t		 wc_addr_family;	/* AF_UNSPEC: unknown */

	struct ws_parser	 wc_parser;
	/* The data message being reassembled; NULL between messages. */
	struct evbuffer		*wc_msg;
	uint8_t			 wc_msg_opcode;
	bool			 wc_msg_compressed;	/* RSV1 on its first frame */
	struct deflate_ctx	*wc_deflate;	/* permessage-deflate, or NULL */

	struct event		*wc_timer;	/* handshake, keepalive, close */
	uint64_t		 wc_last_rx_ms;	/* any frame from the client */
	uint64_t		 wc_ping_at_ms;	/* our last ping (0: none) */
	uint16_t		 wc_close_code;	/* what we sent, for logs */

	const struct conn_app	*wc_app;	/* NULL: none (echo) */
	struct session		*wc_session;	/* chat endpoint state */
	TAILQ_ENTRY(ws_conn)	 wc_entry;
};

/* Take over an accepted socket (plain, or TLS when ssl != NULL). */
struct ws_conn *conn_new(struct worker *w, int fd, const struct sockaddr *sa,
	    int salen, void *ssl);
void	conn_free(struct ws_conn *c);
/* The worker's shared I/O state (flush event, read buffer): set up before
 * the first connection, torn down after the last. */
void	conn_io_init(struct worker *w);
void	conn_io_fini(struct worker *w);

/* Output (conn_out.c, the only writer of a client's output; its other
 * functions are in conn_int.h).  Send a text message (one JSON text);
 * over the output limit (cfg_output_limit): closed 1013. */
void	conn_send_text(struct ws_conn *c, const char *text, size_t len);
/* Append a shared, already framed message (the same limit). */
void	conn_send_shared(struct ws_conn *c, struct fanout_block *fb);
/* Start the close: queue a close frame, flush, shut down. */
void	conn_close(struct ws_conn *c, uint16_t code, const char *reason);
void	conn_pause(struct ws_conn *c, unsigned reason, bool paused);
/* max_message_bytes: the frame layer's and the chat layer's limit. */
size_t	conn_max_message(const struct ws_conn *c);
/* The broker's verdict on an ADMITTING connection: answer 101 and open
 * it, or refuse it with HTTP 429 and Retry-After. */
void	conn_admitted(struct ws_conn *c);
void	conn_refused(struct ws_conn *c, uint64_t retry_after_ms,
	    const char *why);
const char *conn_state_name(enum conn_state s);
/* The peer's address as text ("unknown" if not IPv4 or IPv6). */
#define CONN_ADDR_STRLEN	46	/* INET6_ADDRSTRLEN */
const char *conn_addr(const struct ws_conn *c, char buf[CONN_ADDR_STRLEN]);

#endif
