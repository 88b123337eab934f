/* service_int.h: what the chat service's files share (service.c, reply.c,
 * svc_room.c, svc_message.c): the request context and the handlers. */
#ifndef PARLEY_SERVICE_INT_H
#define PARLEY_SERVICE_INT_H

#include "broker.h"
#include "chat.h"
#include "chatstate.h"
#include "quota.h"

#define MAX_ROOMS_PER_CONN	1000

/* What a request kind needs before its handler runs. */
#define REQ_JOINED	0x01	/* joined on this connection: NOT_IN_ROOM */
#define REQ_ALLOWED	0x02	/* the room ACL allows it: FORBIDDEN */
#define REQ_READS	0x04	/* commit pending writes first */
#define REQ_WRITES	0x08	/* runs inside the write batch */
#define REQ_NOREPLY	0x10	/* the worker waits for no answer (typing):
				 * an error goes out as a plain frame */

struct bconn;
struct room_member;

struct req_handler;

struct req_ctx {
	struct broker		*rq_b;
	struct bconn		*rq_bc;
	struct chat_conn	*rq_cc;
	const struct chat_req	*rq_req;
	struct room_member	*rq_member;	/* when REQ_JOINED */
	const struct req_handler *rq_h;		/* NULL: unknown kind */
};

typedef void (*req_fn)(struct req_ctx *);

/* rh_class: the user's token bucket the request takes from (quota.h);
 * it is checked before anything else, so a refused request does nothing. */
struct req_handler {
	enum chat_req_kind	 rh_kind;
	unsigned		 rh_flags;
	enum quota_class	 rh_class;
	req_fn			 rh_fn;
};

static inline struct chat_state *
chat_state(struct broker *b)
{
	return b->b_chat;
}

static inline const char *
display_name(const struct chat_identity *id)
{
	return id->ci_name[0] != '\0' ? id->ci_name : id->ci_user;
}

/* svc_room.c */
void	svc_join(struct req_ctx *);
void	svc_leave(struct req_ctx *);
void	svc_typing(struct req_ctx *);
void	svc_presence(struct req_ctx *);
void	svc_rooms(struct req_ctx *);
/* Take one connection out of one room, with the events that follow. */
void	svc_member_leave(struct broker *b, struct room_member *m);

/* svc_message.c */
void	svc_send(struct req_ctx *);
void	svc_history(struct req_ctx *);
void	svc_read(struct req_ctx *);
void	svc_edit(struct req_ctx *);
void	svc_delete(struct req_ctx *);
void	svc_react(struct req_ctx *);
void	svc_search(struct req_ctx *);

#endif
