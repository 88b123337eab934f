/* room.h: rooms in memory: which connections are in which room, and
 * presence per user.  Pure bookkeeping: no I/O, no database. */
#ifndef PARLEY_ROOM_H
#define PARLEY_ROOM_H

#include <bsd/sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "idmap.h"
#include "intern.h"
#include "strmap.h"

struct bconn;
struct event;
struct member_hold;

/* What the broker keeps of a connection's verified token (a compact
 * struct chat_identity): the strings shared through the room table's
 * rtb_names, so each user's id and name are stored once. */
struct conn_identity {
	const char		*ci_user;	/* sub */
	const char		*ci_name;	/* display name: the user id
						 * when the token has none */
	char			**ci_rooms;	/* rooms claim: exact names or
						 * "prefix*", owned */
	uint32_t		 ci_nrooms;
	bool			 ci_rooms_present; /* rooms claim given */
	bool			 ci_moderator;	/* role == "moderator" */
};

/* Typing state of one user in one room: made by the first typing request
 * (svc_room.c), so a user who never types costs nothing for it. */
struct room_typing {
	bool			 rt_typing;
	uint64_t		 rt_sent_ms;	/* last active:true sent */
	struct event		*rt_stop;	/* automatic active:false */
	void			*rt_ctx;	/* the service, for the timer */
};

/* One user's presence in one room: how many of their connections. */
struct room_user {
	const char		*ru_user;	/* in rtb_names (a reference) */
	const char		*ru_name;	/* display name: ru_user itself,
						 * or a copy in rtb_names */
	struct room		*ru_room;
	struct room_typing	*ru_typing;	/* owned by the service; NULL:
						 * never typed */
	int			 ru_conns;
};

/* One connection in one room (64 bytes with malloc's header). */
struct room_member {
	struct room		*rm_room;
	struct bconn		*rm_conn;
	struct room_user	*rm_user;
	struct member_hold	*rm_hold;	/* a join's read in flight:
						 * the service holds its items */
	LIST_ENTRY(room_member)	 rm_in_room;
	SLIST_ENTRY(room_member) rm_in_conn;	/* a connection's few rooms */
};
SLIST_HEAD(room_member_list, room_member);
LIST_HEAD(room_members, room_member);

struct room {
	const char		*r_name;	/* rtb_rooms' key copy */
	struct room_members	 r_members;
	size_t			 r_nmembers;
	struct idmap		 r_users;	/* user (its rtb_names pointer)
						 * -> struct room_user */
};

struct room_table {
	struct strmap		 rtb_rooms;	/* name -> struct room */
	struct intern		 rtb_names;	/* user ids and display names
						 * of connections, shared */
};

void	room_table_init(struct room_table *t);
/* Every room must be empty by now (all members removed). */
void	room_table_free(struct room_table *t);
struct room *room_lookup(struct room_table *t, const char *name);

/* The user's presence record in r, or NULL. */
struct room_user *room_user_find(struct room_table *t, struct room *r,
	    const char *user);
/* How many users r has a record for. */
size_t	room_user_count(const struct room *r);

/* The member of conn's list in room name, or NULL. */
struct room_member *room_member_find(struct room_member_list *conn_rooms,
	    const char *name);

/*
 * Put a connection in a room (made if needed).  *first: this is the
 * user's first connection there (a presence join).
 */
struct room_member *room_join(struct room_table *t, const char *name,
	    struct bconn *bc, struct room_member_list *conn_rooms,
	    const char *user, const char *display, bool *first);

/*
 * Take a member out.  Returns the room_user when it was the user's last
 * connection there (a presence leave): the caller reads it, then calls
 * room_user_release().  The room itself is freed with its last member
 * unless users remain.
 */
struct room_user *room_leave(struct room_table *t,
	    struct room_member_list *conn_rooms, struct room_member *m);
/* The latest token's display name for the user (ru_name). */
void	room_user_set_name(struct room_table *t, struct room_user *ru,
	    const char *display);
void	room_user_release(struct room_table *t, struct room_user *ru);

/* Personal rooms: "user:<sub>". */
bool	room_is_personal(const char *name);
bool	room_is_own_personal(const char *name, const char *user);

/* Keep what the broker needs of id in ci (empty or cleared): id's rooms
 * claim moves over, and id is freed. */
void	conn_identity_take(struct room_table *t, struct conn_identity *ci,
	    struct chat_identity *id);
/* Give it all back; ci is empty after. */
void	conn_identity_clear(struct room_table *t, struct conn_identity *ci);

/* May a token with these claims join name?  (PROTOCOL.md 2 and 4.) */
bool	room_allowed(const struct conn_identity *id, bool default_open,
	    const char *name);

#endif
