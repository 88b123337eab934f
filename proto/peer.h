/* peer.h: one IPC link to another parley process, with its dispatch table.
 * Stream peers (worker <-> broker, control clients) use bufferevents with
 * byte limits; supervisor channels are SOCK_SEQPACKET and may carry fds.
 * A lost peer reaches its owner through one callback (tmux's proc.c). */
#ifndef PARLEY_PEER_H
#define PARLEY_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct event_base;
struct bufferevent;
struct event;
struct peer;

/*
 * A handler returns 0, or -1 when the message is malformed: the peer is
 * then dropped.  fd is a descriptor passed with the message (seqpacket
 * channels only), else -1; a handler that keeps it must set *fdp = -1.
 */
typedef int (*ipc_handler_fn)(void *ctx, const struct ipc_hdr *h,
    struct ipc_reader *r, int *fdp);

struct ipc_handler {
	uint16_t	 ih_type;
	ipc_handler_fn	 ih_fn;
};

/* Called once when the link is lost (EOF, error, malformed message). */
typedef void (*peer_lost_fn)(struct peer *p, void *ctx);
/* Called when the output queue crosses the high mark (on) or drains (off). */
typedef void (*peer_pressure_fn)(struct peer *p, bool congested, void *ctx);

struct peer {
	const char		*p_name;	/* for logs: "broker", "worker 2" */
	struct bufferevent	*p_bev;
	const struct ipc_handler *p_table;	/* ends with ih_fn == NULL */
	void			*p_ctx;
	peer_lost_fn		 p_lost;
	peer_pressure_fn	 p_pressure;
	size_t			 p_out_high;	/* congested above this */
	size_t			 p_out_max;	/* refuse to queue above this */
	bool			 p_congested;
	bool			 p_dead;	/* lost; waiting to be freed */
	bool			 p_in_dispatch;
	bool			 p_paused;	/* reads stopped (back-pressure) */
	bool			 p_close_when_flushed;
	uint16_t		 p_hello;	/* the type that must come first
						 * (0: none); dropped otherwise */
	bool			 p_greeted;	/* p_hello was handled */
	void			(*p_flushed)(struct peer *p, void *ctx);
};

#define PEER_OUT_HIGH	(8u * 1024 * 1024)
#define PEER_OUT_MAX	(64u * 1024 * 1024)

struct peer *peer_new(struct event_base *base, int fd, const char *name,
	    const struct ipc_handler *table, void *ctx, peer_lost_fn lost);
void	peer_free(struct peer *p);
/* Finish m and queue it.  Returns -1 if m is malformed or the queue is at
 * p_out_max (the caller decides; IPC never drops silently). */
int	peer_send(struct peer *p, struct ipc_msg *m);
/* Convenience: a message whose payload is one opaque blob. */
int	peer_compose(struct peer *p, uint16_t type, uint64_t conn_id,
	    const void *data, size_t len);
size_t	peer_queued(const struct peer *p);
/* The first message from this peer must be of type hello (its version
 * check): anything before it drops the peer. */
void	peer_expect_hello(struct peer *p, uint16_t hello);
/* Stop or resume reading from this peer (back-pressure). */
void	peer_pause(struct peer *p, bool paused);
/* Call fn once the output queue is empty (at once if it is). */
void	peer_when_flushed(struct peer *p, void (*fn)(struct peer *, void *));
/* Flush what is queued, then drop the link (control clients). */
void	peer_close_when_flushed(struct peer *p);

/* Supervisor channel: SOCK_SEQPACKET, one message per packet. */
struct chan {
	const char		*c_name;
	int			 c_fd;
	struct event		*c_ev;
	const struct ipc_handler *c_table;
	void			*c_ctx;
	void			(*c_lost)(struct chan *c, void *ctx);
};

struct chan *chan_new(struct event_base *base, int fd, const char *name,
	    const struct ipc_handler *table, void *ctx,
	    void (*lost)(struct chan *, void *));
void	chan_free(struct chan *c);
int	chan_send(struct chan *c, struct ipc_msg *m, int fd);

#endif
