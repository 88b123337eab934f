/* chat.c: chat requests and identities as typed IPC payloads, and the
 * field checks that worker and broker share. */
#include <sys/types.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "ipc.h"
#include "utf8.h"

/* Indexed by kind - 1; which fields each kind carries, and its ranges. */
static const struct chat_req_info chat_reqs[] = {
	{ CHAT_REQ_JOIN, "join", CHAT_F_ROOM | CHAT_F_HISTORY | CHAT_F_SINCE |
	    CHAT_F_EPOCH, 1, 0, 0 },
	{ CHAT_REQ_LEAVE, "leave", CHAT_F_ROOM | CHAT_F_FORGET, 1, 0, 0 },
	{ CHAT_REQ_SEND, "send", CHAT_F_ROOM | CHAT_F_TEXT | CHAT_F_CMID,
	    1, 0, 0 },
	{ CHAT_REQ_HISTORY, "history", CHAT_F_ROOM | CHAT_F_BEFORE |
	    CHAT_F_LIMIT | CHAT_F_AFTER, 1, CHAT_MAX_HISTORY, CHAT_DEF_HISTORY },
	{ CHAT_REQ_TYPING, "typing", CHAT_F_ROOM | CHAT_F_ACTIVE, 1, 0, 0 },
	{ CHAT_REQ_READ, "read", CHAT_F_ROOM | CHAT_F_SEQ, 0, 0, 0 },
	{ CHAT_REQ_EDIT, "edit", CHAT_F_ROOM | CHAT_F_SEQ | CHAT_F_TEXT,
	    1, 0, 0 },
	{ CHAT_REQ_DELETE, "delete", CHAT_F_ROOM | CHAT_F_SEQ, 1, 0, 0 },
	{ CHAT_REQ_REACT, "react", CHAT_F_ROOM | CHAT_F_SEQ | CHAT_F_EMOJI |
	    CHAT_F_ACTIVE, 1, 0, 0 },
	{ CHAT_REQ_SEARCH, "search", CHAT_F_ROOM | CHAT_F_Q | CHAT_F_LIMIT |
	    CHAT_F_BEFORE, 1, CHAT_MAX_SEARCH, CHAT_DEF_SEARCH },
	{ CHAT_REQ_PRESENCE, "presence", CHAT_F_ROOM, 1, 0, 0 },
	{ CHAT_REQ_ROOMS, "rooms", 0, 1, 0, 0 },
};

const struct chat_req_info *
chat_req_lookup(enum chat_req_kind kind)
{
	if (kind < CHAT_REQ_JOIN || kind >= CHAT_REQ_MAX)
		return NULL;
	return &chat_reqs[kind - 1];
}

const struct chat_req_info *
chat_req_byname(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(chat_reqs) / sizeof(chat_reqs[0]); i++)
		if (strcmp(chat_reqs[i].cri_name, name) == 0)
			return &chat_reqs[i];
	return NULL;
}

/* Shared checks. */

ssize_t
chat_text_count(const char *s, size_t len, enum chat_text_rule rule)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 i, n = 0;

	if (len > SSIZE_MAX || !utf8_valid(p, len))
		return -1;
	for (i = 0; i < len; i++) {
		if ((p[i] & 0xc0) == 0x80)	/* continuation byte */
			continue;
		n++;
		if (p[i] >= 0x20)
			continue;
		switch (rule) {
		case CHAT_TEXT_ANY:
			break;
		case CHAT_TEXT_NONUL:
			if (p[i] == '\0')
				return -1;
			break;
		case CHAT_TEXT_MSG:
			if (p[i] != '\n' && p[i] != '\t')
				return -1;
			break;
		case CHAT_TEXT_NOCTL:
		default:
			return -1;
		}
	}
	return (ssize_t)n;
}

static bool
chat_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

bool
chat_room_valid(const char *s, size_t len)
{
	size_t	i;
	char	c;

	if (len < 1 || len > CHAT_MAX_ROOM)
		return false;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!chat_is_alnum(c) && c != '_' && c != '.' && c != ':' &&
		    c != '@' && c != '-')
			return false;
	}
	return true;
}

bool
chat_user_valid(const char *s, size_t len)
{
	size_t	i;
	char	c;

	if (len < 1 || len > CHAT_MAX_USER)
		return false;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!chat_is_alnum(c) && c != '_' && c != '.' && c != '@' &&
		    c != '-')
			return false;
	}
	return true;
}

static bool
chat_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* The broker pastes the id into replies verbatim, so it must be JSON. */
bool
chat_id_json_valid(const char *s, size_t len)
{
	size_t	i, start;
	uint8_t	c;

	if (len == 0)
		return true;
	if (s[0] != '"') {
		/* A JSON integer, as json-c prints an int64 or uint64. */
		start = s[0] == '-' ? 1 : 0;
		if (start == len || len - start > 20)
			return false;
		if (s[start] == '0' && len - start > 1)
			return false;
		for (i = start; i < len; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
		return true;
	}
	if (len < 2 || s[len - 1] != '"' ||
	    !utf8_valid((const uint8_t *)s, len))
		return false;
	for (i = 1; i < len - 1; i++) {
		c = (uint8_t)s[i];
		if (c < 0x20 || c == '"')
			return false;
		if (c != '\\')
			continue;
		if (++i >= len - 1)
			return false;
		if (strchr("\"\\/bfnrt", s[i]) != NULL && s[i] != '\0')
			continue;
		if (s[i] != 'u' || i + 4 >= len - 1 || !chat_is_hex(s[i + 1]) ||
		    !chat_is_hex(s[i + 2]) || !chat_is_hex(s[i + 3]) ||
		    !chat_is_hex(s[i + 4]))
			return false;
		i += 4;
	}
	return true;
}

/* Requests. */

void
chat_req_init(struct chat_req *r, enum chat_req_kind kind)
{
	const struct chat_req_info *ri = chat_req_lookup(kind);

	memset(r, 0, sizeof(*r));
	r->cr_kind = kind;
	if (ri == NULL)
		return;
	if (ri->cri_fields & CHAT_F_HISTORY)
		r->cr_history = CHAT_DEF_HISTORY;
	if (ri->cri_fields & CHAT_F_LIMIT)
		r->cr_limit = ri->cri_limit_def;
}

void
chat_req_free(struct chat_req *r)
{
	free(r->cr_text);
	free(r->cr_q);
	r->cr_text = NULL;
	r->cr_q = NULL;
}

static void
chat_add_optint(struct ipc_msg *m, bool has, int64_t v)
{
	ipc_add_u8(m, has);
	if (has)
		ipc_add_i64(m, v);
}

static void
chat_add_optstr(struct ipc_msg *m, bool has, const char *s)
{
	ipc_add_u8(m, has);
	if (has)
		ipc_add_str(m, s);
}

void
chat_req_encode(struct ipc_msg *m, const struct chat_req *r)
{
	const struct chat_req_info *ri = chat_req_lookup(r->cr_kind);
	uint32_t	f;

	if (ri == NULL) {
		m->im_error = true;	/* sticky: ipc_msg_finish() fails */
		return;
	}
	f = ri->cri_fields;
	ipc_add_u8(m, (uint8_t)r->cr_kind);
	ipc_add_str(m, r->cr_id);
	if (f & CHAT_F_ROOM)
		ipc_add_str(m, r->cr_room);
	if (f & CHAT_F_TEXT)
		ipc_add_str(m, r->cr_text);
	if (f & CHAT_F_CMID)
		chat_add_optstr(m, r->cr_has_cmid, r->cr_cmid);
	if (f & CHAT_F_SEQ)
		ipc_add_i64(m, r->cr_seq);
	if (f & CHAT_F_HISTORY)
		chat_add_optint(m, r->cr_has_history, r->cr_history);
	if (f & CHAT_F_SINCE)
		chat_add_optint(m, r->cr_has_since, r->cr_since);
	if (f & CHAT_F_EPOCH)
		chat_add_optstr(m, r->cr_has_epoch, r->cr_epoch);
	if (f & CHAT_F_BEFORE)
		chat_add_optint(m, r->cr_has_before, r->cr_before);
	if (f & CHAT_F_LIMIT)
		chat_add_optint(m, r->cr_has_limit, r->cr_limit);
	if (f & CHAT_F_ACTIVE)
		ipc_add_u8(m, r->cr_active);
	if (f & CHAT_F_FORGET)
		ipc_add_u8(m, r->cr_forget);
	if (f & CHAT_F_EMOJI)
		ipc_add_str(m, r->cr_emoji);
	if (f & CHAT_F_Q)
		ipc_add_str(m, r->cr_q);
	if (f & CHAT_F_AFTER)
		chat_add_optint(m, r->cr_has_after, r->cr_after);
}

static int
chat_get_bool(struct ipc_reader *rd, bool *v)
{
	uint8_t	b;

	if (ipc_get_u8(rd, &b) == -1 || b > 1)
		return -1;
	*v = b;
	return 0;
}

static int
chat_get_int(struct ipc_reader *rd, int64_t *v, int64_t min, int64_t max)
{
	int64_t	x;

	if (ipc_get_i64(rd, &x) == -1 || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

/* Absent: *v keeps the default chat_req_init() gave it. */
static int
chat_get_optint(struct ipc_reader *rd, bool *has, int64_t *v, int64_t min,
    int64_t max)
{
	if (chat_get_bool(rd, has) == -1)
		return -1;
	return *has ? chat_get_int(rd, v, min, max) : 0;
}

/*
 * A string of at most maxb bytes and minc..maxc code points under rule,
 * copied into buf (cap maxb + 1) or, with buf NULL, into a new *dup.
 */
static int
chat_get_text(struct ipc_reader *rd, char *buf, char **dup, size_t maxb,
    enum chat_text_rule rule, size_t minc, size_t maxc)
{
	const char	*s;
	size_t		 len;
	ssize_t		 n;
	char		*d;

	if (ipc_get_str(rd, &s, &len, maxb) == -1)
		return -1;
	if ((n = chat_text_count(s, len, rule)) == -1 ||
	    (size_t)n < minc || (size_t)n > maxc)
		return -1;
	if (buf != NULL)
		d = buf;
	else if ((d = malloc(len + 1)) == NULL)
		return -1;
	memcpy(d, s, len);
	d[len] = '\0';
	if (buf == NULL)
		*dup = d;
	return 0;
}

static int
chat_get_opttext(struct ipc_reader *rd, bool *has, char *buf, size_t maxb,
    size_t minc, size_t maxc)
{
	if (chat_get_bool(rd, has) == -1)
		return -1;
	if (!*has)
		return 0;
	return chat_get_text(rd, buf, NULL, maxb, CHAT_TEXT_NONUL, minc, maxc);
}

int
chat_req_decode(struct ipc_reader *rd, struct chat_req *out)
{
	const struct chat_req_info *ri;
	struct chat_req	 r;
	const char	*s;
	size_t		 len;
	uint8_t		 kind;
	uint32_t	 f;

	memset(out, 0, sizeof(*out));
	if (ipc_get_u8(rd, &kind) == -1 ||
	    (ri = chat_req_lookup((enum chat_req_kind)kind)) == NULL)
		return -1;
	chat_req_init(&r, ri->cri_kind);
	f = ri->cri_fields;
	if (ipc_get_str(rd, &s, &len, CHAT_MAX_ID_JSON) == -1 ||
	    !chat_id_json_valid(s, len))
		goto fail;
	memcpy(r.cr_id, s, len);
	r.cr_id[len] = '\0';
	if (f & CHAT_F_ROOM) {
		if (ipc_get_str(rd, &s, &len, CHAT_MAX_ROOM) == -1 ||
		    !chat_room_valid(s, len))
			goto fail;
		memcpy(r.cr_room, s, len);
		r.cr_room[len] = '\0';
	}
	/* max_text is the worker's policy; here only the IPC bound holds. */
	if ((f & CHAT_F_TEXT) && chat_get_text(rd, NULL, &r.cr_text,
	    IPC_MAX_PAYLOAD, CHAT_TEXT_MSG, 1, SIZE_MAX) == -1)
		goto fail;
	if ((f & CHAT_F_CMID) && chat_get_opttext(rd, &r.cr_has_cmid,
	    r.cr_cmid, CHAT_MAX_CMID_BYTES, 1, CHAT_MAX_CMID) == -1)
		goto fail;
	if ((f & CHAT_F_SEQ) &&
	    chat_get_int(rd, &r.cr_seq, ri->cri_seq_min, INT64_MAX) == -1)
		goto fail;
	if ((f & CHAT_F_HISTORY) && chat_get_optint(rd, &r.cr_has_history,
	    &r.cr_history, 0, CHAT_MAX_HISTORY) == -1)
		goto fail;
	if ((f & CHAT_F_SINCE) && chat_get_optint(rd, &r.cr_has_since,
	    &r.cr_since, 0, INT64_MAX) == -1)
		goto fail;
	if ((f & CHAT_F_EPOCH) && chat_get_opttext(rd, &r.cr_has_epoch,
	    r.cr_epoch, CHAT_MAX_EPOCH_BYTES, 0, CHAT_MAX_EPOCH) == -1)
		goto fail;
	if ((f & CHAT_F_BEFORE) && chat_get_optint(rd, &r.cr_has_before,
	    &r.cr_before, 1, INT64_MAX) == -1)
		goto fail;
	if ((f & CHAT_F_LIMIT) && chat_get_optint(rd, &r.cr_has_limit,
	    &r.cr_limit, 1, ri->cri_limit_max) == -1)
		goto fail;
	if ((f & CHAT_F_ACTIVE) && chat_get_bool(rd, &r.cr_active) == -1)
		goto fail;
	if ((f & CHAT_F_FORGET) && chat_get_bool(rd, &r.cr_forget) == -1)
		goto fail;
	if ((f & CHAT_F_EMOJI) && chat_get_text(rd, r.cr_emoji, NULL,
	    CHAT_MAX_EMOJI, CHAT_TEXT_NOCTL, 1, SIZE_MAX) == -1)
		goto fail;
	if ((f & CHAT_F_Q) && chat_get_text(rd, NULL, &r.cr_q,
	    CHAT_MAX_Q_BYTES, CHAT_TEXT_MSG, 1, CHAT_MAX_Q) == -1)
		goto fail;
	if ((f & CHAT_F_AFTER) && (chat_get_optint(rd, &r.cr_has_after,
	    &r.cr_after, 0, INT64_MAX) == -1 ||
	    (r.cr_has_after && r.cr_has_before)))
		goto fail;
	if (ipc_end(rd) == -1)
		goto fail;
	*out = r;
	return 0;
fail:
	chat_req_free(&r);
	return -1;
}

/* Identities: str user, str name, u8 moderator, i64 exp, u8 rooms_present,
 * u32 nrooms, str pattern[nrooms]. */

void
chat_identity_free(struct chat_identity *id)
{
	size_t	i;

	if (id->ci_rooms != NULL)
		for (i = 0; i < id->ci_nrooms; i++)
			free(id->ci_rooms[i]);
	free(id->ci_rooms);
	memset(id, 0, sizeof(*id));
}

void
chat_identity_encode(struct ipc_msg *m, const struct chat_identity *id)
{
	size_t	i;

	if (id->ci_nrooms > CHAT_MAX_PATTERNS) {
		m->im_error = true;	/* the broker would refuse it */
		return;
	}
	ipc_add_str(m, id->ci_user);
	ipc_add_str(m, id->ci_name);
	ipc_add_u8(m, id->ci_moderator);
	ipc_add_i64(m, id->ci_exp);
	ipc_add_u8(m, id->ci_rooms_present);
	ipc_add_u32(m, (uint32_t)id->ci_nrooms);
	for (i = 0; i < id->ci_nrooms; i++)
		ipc_add_str(m, id->ci_rooms[i]);
}

int
chat_identity_decode(struct ipc_reader *r, struct chat_identity *id)
{
	ssize_t		n;
	uint32_t	nrooms, i;

	memset(id, 0, sizeof(*id));
	if (ipc_get_strbuf(r, id->ci_user, sizeof(id->ci_user)) == -1 ||
	    !chat_user_valid(id->ci_user, strlen(id->ci_user)))
		goto fail;
	if (ipc_get_strbuf(r, id->ci_name, sizeof(id->ci_name)) == -1)
		goto fail;
	n = chat_text_count(id->ci_name, strlen(id->ci_name), CHAT_TEXT_NONUL);
	if (n == -1 || n > CHAT_MAX_NAME)
		goto fail;
	if (chat_get_bool(r, &id->ci_moderator) == -1 ||
	    ipc_get_i64(r, &id->ci_exp) == -1 || id->ci_exp < 0 ||
	    chat_get_bool(r, &id->ci_rooms_present) == -1 ||
	    ipc_get_u32(r, &nrooms) == -1)
		goto fail;
	if (nrooms > CHAT_MAX_PATTERNS || (!id->ci_rooms_present && nrooms > 0))
		goto fail;
	if (nrooms > 0 &&
	    (id->ci_rooms = calloc(nrooms, sizeof(*id->ci_rooms))) == NULL)
		goto fail;
	id->ci_nrooms = nrooms;
	/* A pattern is a room name, or a prefix and '*'. */
	for (i = 0; i < nrooms; i++)
		if (ipc_get_strdup(r, &id->ci_rooms[i], CHAT_MAX_ROOM + 1) == -1 ||
		    id->ci_rooms[i][0] == '\0')
			goto fail;
	if (ipc_end(r) == -1)
		goto fail;
	return 0;
fail:
	chat_identity_free(id);
	return -1;
}
