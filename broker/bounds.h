/* bounds.h: bounds on growth: rooms in the database (max_rooms) and the
 * rooms each user keeps listed (max_rooms_per_user), counted in memory. */
#ifndef PARLEY_BOUNDS_H
#define PARLEY_BOUNDS_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct quota_user;

/* Count the rooms: at start-up, and again after a batch failed to commit
 * (batch.c).  0, or -1 on a database error (the count is kept). */
int	bounds_init(struct broker *b);

/*
 * May user join room (on this connection already or not)?  room_exists
 * says whether the room is in the database.  0: yes, and *new_member
 * says the membership is new (call bounds_member_added() once it is
 * stored, and bounds_room_created() for a room created for it); 1: no,
 * *limit names the limit it would pass (create nothing); -1: database
 * error.  qu may be NULL (then the count is not cached).
 */
int	bounds_join(struct broker *b, struct quota_user *qu, const char *user,
	    const char *room, bool room_exists, bool *new_member,
	    const char **limit);
void	bounds_member_added(struct quota_user *qu);
/* A leave with forget removed a membership: one slot is free again. */
void	bounds_forgot(struct quota_user *qu);

/* A publish into a room that is not in the database: 0, or 1 over
 * max_rooms.  Then bounds_room_created() once it is written. */
int	bounds_new_room(struct broker *b);
void	bounds_room_created(struct broker *b);

/* The rooms in the database as counted (for status and tests). */
int64_t	bounds_rooms(const struct broker *b);

#endif
