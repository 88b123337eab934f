/* room.h: rooms in memory: which connections are in which room, and
 * presence per user.  Pure bookkeeping: no I/O, no database. */
#ifndef PARLEY_ROOM_H
#define PARLEY_ROOM_H

#include <bsd/sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "strmap.h"

struct bconn;
struct event;
struct member_hold;

/* One user's presence in one room: how many of their connections. */
struct room_user {
	char			 ru_user[CHAT_MAX_USER + 1];
	char			 ru_name[CHAT_MAX_NAME_BYTES + 1];
	int			 ru_conns;
	/* typing: owned by the service, kept here because it is per user
	 * and room */
	bool			 ru_typing;
	uint64_t		 ru_typing_sent_ms;	/* last active:true sent */
	struct event		*ru_typing_stop;	/* automatic active:false */
	void			*ru_ctx;		/* the service, for the timer */
	struct room		*ru_room;
};

/* One connection in one room. */
struct room_member {
	struct room		*rm_room;
	struct bconn		*rm_conn;
	struct room_user	*rm_user;
	struct member_hold	*rm_hold;	/* a join's read in flight:
						 * the service holds its items */
	LIST_ENTRY(room_member)	 rm_in_room;
	LIST_ENTRY(room_member)	 rm_in_conn;
};
LIST_HEAD(room_member_list, room_member);

struct room {
	char			 r_name[CHAT_MAX_ROOM + 1];
	struct room_member_list	 r_members;
	size_t			 r_nmembers;
	struct strmap		 r_users;	/* user -> struct room_user */
};

struct room_table {
	struct strmap		 rtb_rooms;	/* name -> struct room */
};

void	room_table_init(struct room_table *t);
/* Every room must be empty by now (all members removed). */
void	room_table_free(struct room_table *t);
struct room *room_lookup(struct room_table *t, const char *name);

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
struct room_user *room_leave(struct room_table *t, struct room_member *m);
void	room_user_release(struct room_table *t, struct room_user *ru);

/* Personal rooms: "user:<sub>". */
bool	room_is_personal(const char *name);
bool	room_is_own_personal(const char *name, const char *user);

/* May a token with these claims join name?  (PROTOCOL.md 2 and 4.) */
bool	room_allowed(const struct chat_identity *id, bool default_open,
	    const char *name);

#endif
