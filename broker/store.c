/* store.c: the store's callers' side: picks the implementation, holds
 * its connection, and passes each call to its struct store_ops. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

struct store {
	const struct store_ops	*s_ops;
	struct store_conn	*s_conn;
};

/* Every implementation; the first is the default. */
static const struct store_ops *const store_impls[] = {
	&store_sqlite_ops,
};

const struct store_ops *
store_pick(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return store_impls[0];
	for (i = 0; i < sizeof(store_impls) / sizeof(store_impls[0]); i++)
		if (strcmp(store_impls[i]->so_name, name) == 0)
			return store_impls[i];
	return NULL;
}

/* Wraps a fresh connection (NULL stays NULL: err is set). */
static struct store *
store_wrap(const struct store_ops *ops, struct store_conn *c)
{
	struct store	*s;

	if (c == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->s_ops = ops;
	s->s_conn = c;
	return s;
}

struct store *
store_open_ops(const struct store_ops *ops, const char *path,
    enum cfg_sync sync, char *err, size_t errlen)
{
	return store_wrap(ops, ops->so_open(path, sync, err, errlen));
}

struct store *
store_open(const char *path, enum cfg_sync sync, char *err, size_t errlen)
{
	return store_open_ops(store_pick(NULL), path, sync, err, errlen);
}

struct store *
store_open_reader(const struct store *writer, const char *path, char *err,
    size_t errlen)
{
	const struct store_ops *ops = writer->s_ops;

	return store_wrap(ops, ops->so_open_reader(path, err, errlen));
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->s_ops->so_close(s->s_conn);
	free(s);
}

/* The calls, passed on. */
int
store_check(struct store *s)
{
	return s->s_ops->so_check(s->s_conn);
}

void
store_set_deadline(struct store *s, uint64_t deadline_ms)
{
	s->s_ops->so_set_deadline(s->s_conn, deadline_ms);
}

int
store_interrupted(const struct store *s)
{
	return s->s_ops->so_interrupted(s->s_conn);
}

void
store_interrupt(struct store *s)
{
	s->s_ops->so_interrupt(s->s_conn);
}

int
store_snapshot_begin(struct store *s)
{
	return s->s_ops->so_snapshot_begin(s->s_conn);
}

void
store_snapshot_end(struct store *s)
{
	s->s_ops->so_snapshot_end(s->s_conn);
}

int
store_begin(struct store *s)
{
	return s->s_ops->so_begin(s->s_conn);
}

int
store_commit(struct store *s)
{
	return s->s_ops->so_commit(s->s_conn);
}

int
store_rollback(struct store *s)
{
	return s->s_ops->so_rollback(s->s_conn);
}

int
store_index_step(struct store *s, size_t max_rows, int64_t *lag)
{
	return s->s_ops->so_index_step(s->s_conn, max_rows, lag);
}

int
store_room_get(struct store *s, const char *room, char epoch[STORE_ID_LEN],
    int64_t *last_seq)
{
	return s->s_ops->so_room_get(s->s_conn, room, epoch, last_seq);
}

int
store_room_create(struct store *s, const char *room, char epoch[STORE_ID_LEN])
{
	return s->s_ops->so_room_create(s->s_conn, room, epoch);
}

int
store_message_append(struct store *s, const struct store_post *p,
    struct store_ack *ack)
{
	return s->s_ops->so_message_append(s->s_conn, p, ack);
}

int
store_event_append(struct store *s, const struct store_post *p,
    struct store_ack *ack)
{
	return s->s_ops->so_event_append(s->s_conn, p, ack);
}

int
store_find_client_msg(struct store *s, const char *room, const char *user,
    const char *client_msg_id, struct store_ack *ack)
{
	return s->s_ops->so_find_client_msg(s->s_conn, room, user,
	    client_msg_id, ack);
}

int
store_message_get(struct store *s, const char *room, int64_t seq,
    struct store_message *m)
{
	return s->s_ops->so_message_get(s->s_conn, room, seq, m);
}

int
store_message_edit(struct store *s, const char *room, int64_t seq,
    const char *text, int64_t edited_ts)
{
	return s->s_ops->so_message_edit(s->s_conn, room, seq, text, edited_ts);
}

int
store_message_delete(struct store *s, const char *room, int64_t seq)
{
	return s->s_ops->so_message_delete(s->s_conn, room, seq);
}

int
store_history(struct store *s, const char *room, int64_t before, size_t limit,
    struct store_msglist *out)
{
	return s->s_ops->so_history(s->s_conn, room, before, limit, out);
}

int
store_since(struct store *s, const char *room, int64_t since, size_t max,
    struct store_msglist *out)
{
	return s->s_ops->so_since(s->s_conn, room, since, max, out);
}

int
store_search(struct store *s, const char *room, const char *q, int64_t before,
    size_t limit, struct store_msglist *out)
{
	return s->s_ops->so_search(s->s_conn, room, q, before, limit, out);
}

int
store_search_terms(struct store *s, const char *q, size_t *nterms)
{
	return s->s_ops->so_search_terms(s->s_conn, q, nterms);
}

int
store_reaction_set(struct store *s, const char *room, int64_t seq,
    const char *user, const char *emoji, bool active, int64_t *count)
{
	return s->s_ops->so_reaction_set(s->s_conn, room, seq, user, emoji,
	    active, count);
}

int
store_read_set(struct store *s, const char *room, const char *user,
    int64_t seq, int64_t *stored)
{
	return s->s_ops->so_read_set(s->s_conn, room, user, seq, stored);
}

int
store_read_get(struct store *s, const char *room, const char *user,
    int64_t *read_seq)
{
	return s->s_ops->so_read_get(s->s_conn, room, user, read_seq);
}

int
store_unread(struct store *s, const char *room, const char *user,
    int64_t read_seq, int64_t *unread)
{
	return s->s_ops->so_unread(s->s_conn, room, user, read_seq, unread);
}

int
store_membership_add(struct store *s, const char *user, const char *room)
{
	return s->s_ops->so_membership_add(s->s_conn, user, room);
}

int
store_membership_remove(struct store *s, const char *user, const char *room)
{
	return s->s_ops->so_membership_remove(s->s_conn, user, room);
}

int
store_membership_has(struct store *s, const char *user, const char *room)
{
	return s->s_ops->so_membership_has(s->s_conn, user, room);
}

int
store_membership_count(struct store *s, const char *user, int64_t *n)
{
	return s->s_ops->so_membership_count(s->s_conn, user, n);
}

int
store_room_count(struct store *s, int64_t *n)
{
	return s->s_ops->so_room_count(s->s_conn, n);
}

int
store_rooms_for_user(struct store *s, const char *user,
    struct store_roomlist *out)
{
	return s->s_ops->so_rooms_for_user(s->s_conn, user, out);
}

/* The lists the calls fill, the same for every implementation. */

void
store_message_clear(struct store_message *m)
{
	size_t	 i;

	free(m->sm_user);
	free(m->sm_name);
	free(m->sm_text);
	free(m->sm_client_msg_id);
	free(m->sm_event);
	free(m->sm_data);
	for (i = 0; i < m->sm_nreactions; i++)
		free(m->sm_reactions[i].sr_emoji);
	free(m->sm_reactions);
	memset(m, 0, sizeof(*m));
}

void
store_msglist_free(struct store_msglist *l)
{
	size_t	 i;

	for (i = 0; i < l->ml_n; i++)
		store_message_clear(&l->ml_msgs[i]);
	free(l->ml_msgs);
	memset(l, 0, sizeof(*l));
}

void
store_roomlist_free(struct store_roomlist *l)
{
	size_t	 i;

	for (i = 0; i < l->rl_n; i++)
		free(l->rl_rooms[i].ri_room);
	free(l->rl_rooms);
	memset(l, 0, sizeof(*l));
}
