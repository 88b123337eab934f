/* room.c: room membership and per-user presence counts, in small records:
 * room names are the table's key copies, user ids and display names the
 * shared copies in rtb_names, whose pointers key each room's users. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room.h"
#include "util.h"

#define PERSONAL_PREFIX		"user:"
#define PERSONAL_PREFIX_LEN	5

void
room_table_init(struct room_table *t)
{
	strmap_init(&t->rtb_rooms);
	intern_init(&t->rtb_names);
}

void
room_table_free(struct room_table *t)
{
	strmap_free(&t->rtb_rooms);
	intern_free(&t->rtb_names);
}

struct room *
room_lookup(struct room_table *t, const char *name)
{
	return strmap_get(&t->rtb_rooms, name);
}

/* A user's key in r_users: the address of the one shared copy of the id,
 * never 0 nor UINT64_MAX. */
static uint64_t
room_user_key(const char *interned)
{
	return (uint64_t)(uintptr_t)interned;
}

struct room_user *
room_user_find(struct room_table *t, struct room *r, const char *user)
{
	const char *u = intern_find(&t->rtb_names, user);

	return u != NULL ? idmap_get(&r->r_users, room_user_key(u)) : NULL;
}

size_t
room_user_count(const struct room *r)
{
	return idmap_count(&r->r_users);
}

struct room_member *
room_member_find(struct room_member_list *conn_rooms, const char *name)
{
	struct room_member *m;

	SLIST_FOREACH(m, conn_rooms, rm_in_conn)
		if (strcmp(m->rm_room->r_name, name) == 0)
			return m;
	return NULL;
}

struct room_member *
room_join(struct room_table *t, const char *name, struct bconn *bc,
    struct room_member_list *conn_rooms, const char *user, const char *display,
    bool *first)
{
	struct room *r = room_lookup(t, name);
	struct room_user *ru;
	struct room_member *m;

	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		LIST_INIT(&r->r_members);
		idmap_init(&r->r_users);
		r->r_name = strmap_put(&t->rtb_rooms, name, r);
	}
	if ((ru = room_user_find(t, r, user)) == NULL) {
		ru = xcalloc(1, sizeof(*ru));
		ru->ru_room = r;
		ru->ru_user = intern_ref(&t->rtb_names, user);
		ru->ru_name = ru->ru_user;
		idmap_put(&r->r_users, room_user_key(ru->ru_user), ru);
	}
	/* The latest token's display name wins. */
	room_user_set_name(t, ru, display);
	*first = ru->ru_conns == 0;
	ru->ru_conns++;
	m = xcalloc(1, sizeof(*m));
	m->rm_room = r;
	m->rm_conn = bc;
	m->rm_user = ru;
	LIST_INSERT_HEAD(&r->r_members, m, rm_in_room);
	SLIST_INSERT_HEAD(conn_rooms, m, rm_in_conn);
	r->r_nmembers++;
	return m;
}

static void
room_maybe_free(struct room_table *t, struct room *r)
{
	if (r->r_nmembers > 0 || idmap_count(&r->r_users) > 0)
		return;
	idmap_free(&r->r_users);
	strmap_del(&t->rtb_rooms, r->r_name);	/* r_name goes with it */
	free(r);
}

void
room_user_set_name(struct room_table *t, struct room_user *ru,
    const char *display)
{
	const char *old = ru->ru_name;

	if (strcmp(old, display) == 0)
		return;
	/* Most tokens carry no name: the display name is the user id, and
	 * costs no copy. */
	ru->ru_name = strcmp(display, ru->ru_user) == 0 ? ru->ru_user :
	    intern_ref(&t->rtb_names, display);
	if (old != ru->ru_user)
		intern_unref(&t->rtb_names, old);
}

struct room_user *
room_leave(struct room_table *t, struct room_member_list *conn_rooms,
    struct room_member *m)
{
	struct room *r = m->rm_room;
	struct room_user *ru = m->rm_user;

	LIST_REMOVE(m, rm_in_room);
	SLIST_REMOVE(conn_rooms, m, room_member, rm_in_conn);
	r->r_nmembers--;
	free(m);
	if (--ru->ru_conns > 0)
		return NULL;
	return ru;
}

void
room_user_release(struct room_table *t, struct room_user *ru)
{
	struct room *r = ru->ru_room;

	if (ru->ru_conns > 0)
		return;
	if (ru->ru_name != ru->ru_user)
		intern_unref(&t->rtb_names, ru->ru_name);
	idmap_del(&r->r_users, room_user_key(ru->ru_user));
	intern_unref(&t->rtb_names, ru->ru_user);
	free(ru);
	room_maybe_free(t, r);
}

bool
room_is_personal(const char *name)
{
	return strncmp(name, PERSONAL_PREFIX, PERSONAL_PREFIX_LEN) == 0;
}

bool
room_is_own_personal(const char *name, const char *user)
{
	return room_is_personal(name) &&
	    strcmp(name + PERSONAL_PREFIX_LEN, user) == 0;
}

static bool
pattern_matches(const char *pat, const char *name)
{
	size_t n = strlen(pat);

	if (n > 0 && pat[n - 1] == '*')
		return strncmp(pat, name, n - 1) == 0;
	return strcmp(pat, name) == 0;
}

void
conn_identity_take(struct room_table *t, struct conn_identity *ci,
    struct chat_identity *id)
{
	conn_identity_clear(t, ci);
	ci->ci_user = intern_ref(&t->rtb_names, id->ci_user);
	ci->ci_name = intern_ref(&t->rtb_names, id->ci_name[0] != '\0' ?
	    id->ci_name : id->ci_user);
	ci->ci_rooms = id->ci_rooms;
	ci->ci_nrooms = (uint32_t)id->ci_nrooms;
	ci->ci_rooms_present = id->ci_rooms_present;
	ci->ci_moderator = id->ci_moderator;
	id->ci_rooms = NULL;
	id->ci_nrooms = 0;
	chat_identity_free(id);
}

void
conn_identity_clear(struct room_table *t, struct conn_identity *ci)
{
	intern_unref(&t->rtb_names, ci->ci_user);
	intern_unref(&t->rtb_names, ci->ci_name);
	for (uint32_t i = 0; i < ci->ci_nrooms; i++)
		free(ci->ci_rooms[i]);
	free(ci->ci_rooms);
	memset(ci, 0, sizeof(*ci));
}

bool
room_allowed(const struct conn_identity *id, bool default_open,
    const char *name)
{
	if (room_is_own_personal(name, id->ci_user))
		return true;
	/* No pattern, not even "*", opens another user's personal room. */
	if (room_is_personal(name))
		return false;
	if (!id->ci_rooms_present)
		return default_open;
	for (uint32_t i = 0; i < id->ci_nrooms; i++)
		if (pattern_matches(id->ci_rooms[i], name))
			return true;
	return false;
}
