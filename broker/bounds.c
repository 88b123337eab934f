/*
 * bounds.c: bounds on growth (SECURITY: one user must not grow the
 * database without end).  max_rooms caps the rooms in the database,
 * personal rooms included; max_rooms_per_user caps the memberships a user
 * keeps listed by `rooms` (joined and not forgotten).  Nothing here counts
 * per request: the rooms are counted once at start-up and a user's
 * memberships once when first needed (kept in the user's quota entry, so
 * the cache is as bounded as the quota map); from then on the writers
 * that create rooms or memberships tell this file.  A write batch that
 * fails to commit may have created rooms: batch.c counts them again.
 */
#include "bounds.h"
#include "config.h"
#include "log.h"
#include "quota.h"
#include "state.h"
#include "store.h"

int
bounds_init(struct broker *b)
{
	int64_t n;

	if (store_room_count(b->b_store, &n) == -1)
		return -1;
	b->b_nrooms = n;
	log_info("bounds", "%lld rooms in the database (max_rooms %d)",
	    (long long)n, b->b_cfg->max_rooms);
	return 0;
}

/* The user's memberships, from the cache or counted once. */
static int
bounds_user_rooms(struct broker *b, struct quota_user *qu, const char *user,
    int64_t *n)
{
	if (qu != NULL && qu->qu_rooms_known) {
		*n = qu->qu_rooms;
		return 0;
	}
	if (store_membership_count(b->b_store, user, n) == -1)
		return -1;
	if (qu != NULL) {
		qu->qu_rooms = *n;
		qu->qu_rooms_known = true;
	}
	return 0;
}

int
bounds_join(struct broker *b, struct quota_user *qu, const char *user,
    const char *room, bool room_exists, bool *new_member, const char **limit)
{
	int64_t n;
	int rc;

	*new_member = false;
	*limit = NULL;
	/* Rejoining a listed room is always allowed. */
	if ((rc = store_membership_has(b->b_store, user, room)) == -1)
		return -1;
	if (rc == 0)
		return 0;
	if (bounds_user_rooms(b, qu, user, &n) == -1)
		return -1;
	if (n >= b->b_cfg->max_rooms_per_user) {
		*limit = "max_rooms_per_user";
		return 1;
	}
	if (!room_exists && bounds_new_room(b) != 0) {
		*limit = "max_rooms";
		return 1;
	}
	*new_member = true;
	return 0;
}

void
bounds_member_added(struct quota_user *qu)
{
	if (qu != NULL && qu->qu_rooms_known)
		qu->qu_rooms++;
}

void
bounds_forgot(struct quota_user *qu)
{
	if (qu != NULL && qu->qu_rooms_known && qu->qu_rooms > 0)
		qu->qu_rooms--;
}

int
bounds_new_room(struct broker *b)
{
	return b->b_nrooms >= b->b_cfg->max_rooms ? 1 : 0;
}

void
bounds_room_created(struct broker *b)
{
	b->b_nrooms++;
}

int64_t
bounds_rooms(const struct broker *b)
{
	return b->b_nrooms;
}
