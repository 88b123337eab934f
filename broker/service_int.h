/* service_int.h: what the chat service's files share (service.c, reply.c,
 * svc_room.c, svc_message.c): the request context and the handlers. */
#ifndef PARLEY_SERVICE_INT_H
#define PARLEY_SERVICE_INT_H

#include "chat.h"
#include "chatstate.h"
#include "quota.h"
#include "state.h"

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
display_name(const struct conn_identity *id)
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

/* svc_read.c: the reads that run on the reader pool (reader.c). */
struct member_hold;
/* Queue the job of q (history, search, rooms); answers RATE_LIMIT when the
 * pool's queue is full. */
void	svc_read_history(struct req_ctx *);
void	svc_read_search(struct req_ctx *);
void	svc_read_rooms(struct req_ctx *);
/* Is the pool's queue full?  Then answers q RATE_LIMIT and says true. */
bool	svc_read_refused(struct req_ctx *);
/* The read of a join whose member m now holds its items (new_member: m
 * was made for this join and goes again if it fails). */
void	svc_read_join(struct req_ctx *, struct room_member *m,
	    bool new_member);
/* The personal backlog of a connection just authenticated, m its member
 * of the personal room. */
void	svc_read_backlog(struct broker *, struct bconn *,
	    struct room_member *m);
/* deliver.c: an item for a member that holds. */
void	svc_hold_add(struct broker *, struct member_hold *, int64_t seq,
	    const char *json, size_t len);
void	svc_hold_free(struct member_hold *);
/* svc_room.c: [{user, name, connections}] of r's users. */
struct json_object *svc_members_json(struct room *r);

#endif
