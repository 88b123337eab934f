/* check_room.c: room membership and per-user presence counts (room.c):
 * join and leave, a user's connections counted once for presence, the
 * room made with its first member and freed after its last, personal
 * rooms and the rooms claim (tables). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "room.h"

/* room.c only keeps the connection pointer, never follows it: distinct
 * addresses are all a test connection needs to be. */
#define NCONNS	64
static char conn_slots[NCONNS];
#define CONN(i)	((struct bconn *)(void *)&conn_slots[(i)])
/* The room list of the connection a member is on. */
#define CONN_ROOMS(m)	(&conn_rooms[(char *)(void *)(m)->rm_conn - conn_slots])

static struct room_table t;
static struct room_member_list conn_rooms[NCONNS];

static void
room_setup(void)
{
	room_table_init(&t);
	for (int i = 0; i < NCONNS; i++)
		SLIST_INIT(&conn_rooms[i]);
}

static void
room_teardown(void)
{
	room_table_free(&t);
}

static struct room_member *
join(const char *room, int conn, const char *user, bool want_first)
{
	struct room_member *m;
	bool first = !want_first;

	m = room_join(&t, room, CONN(conn), &conn_rooms[conn], user, user,
	    &first);
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(first == want_first, "%s in %s on conn %d: first %d",
	    user, room, conn, first);
	ck_assert_ptr_eq(m->rm_conn, CONN(conn));
	ck_assert_str_eq(m->rm_room->r_name, room);
	ck_assert_str_eq(m->rm_user->ru_user, user);
	return m;
}

/* Leave, and for the user's last connection release as the service does;
 * returns whether it was the last. */
static bool
leave(struct room_member *m)
{
	struct room_user *ru = room_leave(&t, CONN_ROOMS(m), m);

	if (ru == NULL)
		return false;
	ck_assert_int_eq(ru->ru_conns, 0);
	room_user_release(&t, ru);
	return true;
}

/* The first member makes the room; it is found by name and in the
 * connection's list. */
START_TEST(test_first_member)
{
	struct room_member *m;
	struct room *r;

	ck_assert_ptr_null(room_lookup(&t, "lobby"));
	m = join("lobby", 0, "alice", true);
	r = room_lookup(&t, "lobby");
	ck_assert_ptr_eq(m->rm_room, r);
	ck_assert_uint_eq(r->r_nmembers, 1);
	ck_assert_uint_eq(room_user_count(r), 1);
	ck_assert_int_eq(m->rm_user->ru_conns, 1);
	ck_assert_ptr_eq(LIST_FIRST(&r->r_members), m);
	ck_assert_ptr_eq(room_member_find(&conn_rooms[0], "lobby"), m);
	ck_assert_ptr_null(room_member_find(&conn_rooms[0], "other"));
	ck_assert_ptr_null(room_member_find(&conn_rooms[1], "lobby"));
	leave(m);
}
END_TEST

/* The last member's leave frees the room. */
START_TEST(test_last_member)
{
	struct room_member *m = join("lobby", 0, "alice", true);

	ck_assert(leave(m));
	ck_assert_ptr_null(room_lookup(&t, "lobby"));
	ck_assert_ptr_null(SLIST_FIRST(&conn_rooms[0]));
	ck_assert_uint_eq(t.rtb_rooms.smap_count, 0);
	/* And a join after that makes a new one. */
	m = join("lobby", 0, "alice", true);
	ck_assert_uint_eq(room_lookup(&t, "lobby")->r_nmembers, 1);
	leave(m);
}
END_TEST

/* A user's connections are one presence: only the first joins, only the
 * last leaves. */
START_TEST(test_user_presence_counted)
{
	struct room_member *m[3];
	struct room *r;

	m[0] = join("lobby", 0, "alice", true);
	m[1] = join("lobby", 1, "alice", false);
	m[2] = join("lobby", 2, "alice", false);
	r = room_lookup(&t, "lobby");
	ck_assert_uint_eq(r->r_nmembers, 3);
	ck_assert_uint_eq(room_user_count(r), 1);
	ck_assert_ptr_eq(m[0]->rm_user, m[2]->rm_user);
	ck_assert_int_eq(m[0]->rm_user->ru_conns, 3);
	ck_assert(!leave(m[1]));
	ck_assert(!leave(m[0]));
	ck_assert_ptr_eq(room_lookup(&t, "lobby"), r);
	ck_assert_uint_eq(r->r_nmembers, 1);
	ck_assert_int_eq(m[2]->rm_user->ru_conns, 1);
	ck_assert(leave(m[2]));
	ck_assert_ptr_null(room_lookup(&t, "lobby"));
}
END_TEST

/* Users are counted apart: each one's first connection is a join. */
START_TEST(test_users_apart)
{
	struct room_member *a, *b, *b2;
	struct room *r;

	a = join("lobby", 0, "alice", true);
	b = join("lobby", 1, "bob", true);
	b2 = join("lobby", 2, "bob", false);
	r = room_lookup(&t, "lobby");
	ck_assert_uint_eq(room_user_count(r), 2);
	ck_assert_ptr_ne(a->rm_user, b->rm_user);
	/* alice's last leave is hers alone; bob and the room stay. */
	ck_assert(leave(a));
	ck_assert_ptr_eq(room_lookup(&t, "lobby"), r);
	ck_assert_uint_eq(room_user_count(r), 1);
	ck_assert_ptr_null(room_user_find(&t, r, "alice"));
	ck_assert_ptr_nonnull(room_user_find(&t, r, "bob"));
	ck_assert(!leave(b2));
	ck_assert(leave(b));
	ck_assert_ptr_null(room_lookup(&t, "lobby"));
}
END_TEST

/* The latest connection's display name wins for the user. */
START_TEST(test_display_name_latest)
{
	struct room_member *m[2];
	bool first;

	m[0] = room_join(&t, "lobby", CONN(0), &conn_rooms[0], "alice",
	    "Alice", &first);
	ck_assert(first);
	ck_assert_str_eq(m[0]->rm_user->ru_name, "Alice");
	m[1] = room_join(&t, "lobby", CONN(1), &conn_rooms[1], "alice",
	    "Alice B.", &first);
	ck_assert(!first);
	ck_assert_str_eq(m[0]->rm_user->ru_name, "Alice B.");
	ck_assert_uint_eq(intern_count(&t.rtb_names), 2);	/* id, name */
	/* A token without a name: the user id, kept as no copy. */
	room_user_set_name(&t, m[0]->rm_user, "alice");
	ck_assert_ptr_eq(m[0]->rm_user->ru_name, m[0]->rm_user->ru_user);
	ck_assert_uint_eq(intern_count(&t.rtb_names), 1);
	room_user_set_name(&t, m[0]->rm_user, "Alice");
	ck_assert_str_eq(m[1]->rm_user->ru_name, "Alice");
	leave(m[0]);
	leave(m[1]);
	ck_assert_uint_eq(intern_count(&t.rtb_names), 0);
}
END_TEST

/* Between the last leave and the release the user joins again: that is a
 * new presence join, and the release leaves the user (and room) be. */
START_TEST(test_rejoin_before_release)
{
	struct room_member *m, *m2;
	struct room_user *ru;

	m = join("lobby", 0, "alice", true);
	ru = room_leave(&t, CONN_ROOMS(m), m);
	ck_assert_ptr_nonnull(ru);
	m2 = join("lobby", 1, "alice", true);
	ck_assert_ptr_eq(m2->rm_user, ru);
	room_user_release(&t, ru);
	ck_assert_ptr_eq(room_lookup(&t, "lobby"), m2->rm_room);
	ck_assert_int_eq(m2->rm_user->ru_conns, 1);
	ck_assert(leave(m2));
	ck_assert_ptr_null(room_lookup(&t, "lobby"));
}
END_TEST

/* One connection in many rooms: its list holds them all, and leaving one
 * leaves the others alone. */
START_TEST(test_conn_many_rooms)
{
	struct room_member *m[10];
	char name[16];
	int n = 0;

	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "room%d", i);
		m[i] = join(name, 0, "alice", true);
	}
	ck_assert_uint_eq(t.rtb_rooms.smap_count, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "room%d", i);
		ck_assert_ptr_eq(room_member_find(&conn_rooms[0], name), m[i]);
	}
	ck_assert(leave(m[4]));
	ck_assert_ptr_null(room_member_find(&conn_rooms[0], "room4"));
	ck_assert_ptr_null(room_lookup(&t, "room4"));
	ck_assert_ptr_eq(room_member_find(&conn_rooms[0], "room5"), m[5]);
	{
		struct room_member *it;

		SLIST_FOREACH(it, &conn_rooms[0], rm_in_conn)
			n++;
	}
	ck_assert_int_eq(n, 9);
	/* What a closing connection does: leave every room in its list. */
	while (!SLIST_EMPTY(&conn_rooms[0]))
		ck_assert(leave(SLIST_FIRST(&conn_rooms[0])));
	ck_assert_uint_eq(t.rtb_rooms.smap_count, 0);
}
END_TEST

/* Many users with several connections each, joined and left in another
 * order: the counts hold at every step. */
START_TEST(test_many_members)
{
	struct room_member *m[NCONNS];
	char user[16];
	struct room *r;
	int joins = 0, leaves = 0;

	for (int i = 0; i < NCONNS; i++) {
		bool first;

		snprintf(user, sizeof(user), "u%d", i % 16);
		m[i] = room_join(&t, "big", CONN(i), &conn_rooms[i], user, user,
		    &first);
		joins += first;
	}
	r = room_lookup(&t, "big");
	ck_assert_int_eq(joins, 16);
	ck_assert_uint_eq(r->r_nmembers, NCONNS);
	ck_assert_uint_eq(room_user_count(r), 16);
	/* The first half: every user still has two connections there. */
	for (int i = 0; i < NCONNS / 2; i++)
		leaves += leave(m[i]);
	ck_assert_int_eq(leaves, 0);
	ck_assert_uint_eq(r->r_nmembers, NCONNS / 2);
	ck_assert_uint_eq(room_user_count(r), 16);
	/* The rest backwards: each user's leave is at its last one. */
	for (int i = NCONNS - 1; i >= NCONNS / 2; i--) {
		ck_assert_int_eq(leave(m[i]), i < NCONNS / 2 + 16);
		leaves += i < NCONNS / 2 + 16;
		if (i > NCONNS / 2)
			ck_assert_ptr_eq(room_lookup(&t, "big"), r);
	}
	ck_assert_int_eq(leaves, 16);
	ck_assert_ptr_null(room_lookup(&t, "big"));
}
END_TEST

/* A room name of the longest length is kept whole. */
START_TEST(test_long_name)
{
	char name[CHAT_MAX_ROOM + 1];
	struct room_member *m;

	memset(name, 'r', CHAT_MAX_ROOM);
	name[CHAT_MAX_ROOM] = '\0';
	m = join(name, 0, "alice", true);
	ck_assert_ptr_eq(room_lookup(&t, name), m->rm_room);
	ck_assert_uint_eq(strlen(m->rm_room->r_name), CHAT_MAX_ROOM);
	leave(m);
}
END_TEST

/* Personal rooms. */

struct personal_case {
	const char	*name, *user;
	bool		 personal, own;
};

static const struct personal_case personal_cases[] = {
	{ "user:alice", "alice", true, true },
	{ "user:alice", "bob", true, false },
	{ "user:alice", "alic", true, false },
	{ "user:alic", "alice", true, false },
	{ "user", "alice", false, false },
	{ "User:alice", "alice", false, false },
	{ "lobby", "alice", false, false },
	{ "xuser:alice", "alice", false, false },
	{ "", "alice", false, false },
};
#define NPERSONAL	(int)(sizeof(personal_cases) / sizeof(personal_cases[0]))

START_TEST(test_personal)
{
	const struct personal_case *pc = &personal_cases[_i];

	ck_assert_msg(room_is_personal(pc->name) == pc->personal, "%s",
	    pc->name);
	ck_assert_msg(room_is_own_personal(pc->name, pc->user) == pc->own,
	    "%s for %s", pc->name, pc->user);
}
END_TEST

/* The rooms claim (PROTOCOL.md 2 and 4). */

struct allowed_case {
	const char	*desc;
	const char	*user;
	const char	*rooms;		/* comma-separated; NULL: no claim */
	bool		 default_open;
	const char	*name;
	bool		 allowed;
};

static const struct allowed_case allowed_cases[] = {
	{ "no claim, default open", "alice", NULL, true, "lobby", true },
	{ "no claim, default closed", "alice", NULL, false, "lobby", false },
	{ "own personal, default closed", "alice", NULL, false, "user:alice",
	    true },
	{ "own personal, empty claim", "alice", "", true, "user:alice", true },
	{ "another's personal, default open", "alice", NULL, true, "user:bob",
	    false },
	{ "another's personal, claim *", "alice", "*", true, "user:bob",
	    false },
	{ "another's personal, claim user:*", "alice", "user:*", true,
	    "user:bob", false },
	{ "another's personal, claim naming it", "alice", "user:bob", true,
	    "user:bob", false },
	{ "empty claim closes all", "alice", "", true, "lobby", false },
	{ "exact match", "alice", "lobby", false, "lobby", true },
	{ "exact is not a prefix", "alice", "lobby", true, "lobby2", false },
	{ "exact is whole", "alice", "lobby2", true, "lobby", false },
	{ "prefix match", "alice", "team-*", false, "team-red", true },
	{ "prefix matches itself", "alice", "team-*", false, "team-", true },
	{ "prefix mismatch", "alice", "team-*", true, "teams", false },
	{ "* matches all", "alice", "*", false, "anything", true },
	{ "second pattern", "alice", "a,b*,c", false, "bee", true },
	{ "no pattern matches", "alice", "a,b*,c", true, "d", false },
	{ "star only at the end", "alice", "*-red", true, "team-red", false },
	{ "star inside is literal", "alice", "te*m", true, "te*m", true },
};
#define NALLOWED	(int)(sizeof(allowed_cases) / sizeof(allowed_cases[0]))

START_TEST(test_allowed)
{
	const struct allowed_case *ac = &allowed_cases[_i];
	struct chat_identity id;
	struct conn_identity ci;
	char buf[256], *p, *tok;

	memset(&id, 0, sizeof(id));
	snprintf(id.ci_user, sizeof(id.ci_user), "%s", ac->user);
	if (ac->rooms != NULL) {
		id.ci_rooms_present = true;
		id.ci_rooms = calloc(16, sizeof(*id.ci_rooms));
		ck_assert_ptr_nonnull(id.ci_rooms);
		snprintf(buf, sizeof(buf), "%s", ac->rooms);
		for (p = buf; (tok = strsep(&p, ",")) != NULL;)
			if (*tok != '\0')
				id.ci_rooms[id.ci_nrooms++] = strdup(tok);
	}
	memset(&ci, 0, sizeof(ci));
	conn_identity_take(&t, &ci, &id);
	ck_assert_ptr_null(id.ci_rooms);
	ck_assert_str_eq(ci.ci_user, ac->user);
	ck_assert_ptr_eq(ci.ci_name, ci.ci_user);	/* no name: the id */
	ck_assert_msg(room_allowed(&ci, ac->default_open, ac->name) ==
	    ac->allowed, "%s", ac->desc);
	conn_identity_clear(&t, &ci);
	ck_assert_uint_eq(intern_count(&t.rtb_names), 0);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("room");
	TCase	*tc;

	tc = tcase_create("membership");
	tcase_add_checked_fixture(tc, room_setup, room_teardown);
	tcase_add_test(tc, test_first_member);
	tcase_add_test(tc, test_last_member);
	tcase_add_test(tc, test_user_presence_counted);
	tcase_add_test(tc, test_users_apart);
	tcase_add_test(tc, test_display_name_latest);
	tcase_add_test(tc, test_rejoin_before_release);
	tcase_add_test(tc, test_conn_many_rooms);
	tcase_add_test(tc, test_many_members);
	tcase_add_test(tc, test_long_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("access");
	tcase_add_checked_fixture(tc, room_setup, room_teardown);
	tcase_add_loop_test(tc, test_personal, 0, NPERSONAL);
	tcase_add_loop_test(tc, test_allowed, 0, NALLOWED);
	suite_add_tcase(s, tc);
	return s;
}
