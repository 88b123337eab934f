/* chat_req.c: one client JSON message -> a typed request, checked against
 * every rule of PROTOCOL.md sections 3 and 4.  Choices where the protocol
 * is silent:
 * - Not one JSON object (empty, an array, a bare value, truncated, trailing
 *   data, nested too deep): PARSE_ERROR with no id.
 * - An optional field given as null counts as absent; a required one as
 *   missing.  Numbers must be JSON integers (not 1.0, "1" or true).
 * - Out-of-range values are refused, never clamped: join.history 0..200,
 *   history.limit 1..200, search.limit 1..100, since >= 0, before >= 1,
 *   seq >= 1 (read.seq >= 0: "nothing read yet" is harmless).
 * - react.active and typing.active are required; leave.forget defaults
 *   to false; an empty epoch is allowed and simply never matches.
 * - A duplicate key: the last one wins (json-c).  Unknown fields: ignored.
 * - The id is echoed as json-c re-serialises it ("\u0041" comes back as
 *   "A").  An integer id of INT64_MIN or UINT64_MAX is refused: json-c
 *   saturates out-of-range literals to those, so they could not be echoed
 *   as sent.  A lone surrogate in a string id comes back as "\u0000".
 */
#include <sys/types.h>

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chat.h"
#include "chat_req.h"
#include "envelope.h"
#include "json_in.h"

/* Types the worker answers itself. */
static const struct {
	const char		*name;
	enum chat_parsed_kind	 kind;
} chat_local[] = {
	{ "ping",	CHAT_PARSED_PING },
	{ "auth",	CHAT_PARSED_AUTH },
	{ "refresh",	CHAT_PARSED_REFRESH },
};

void
chat_limits_default(struct chat_limits *lim)
{
	lim->cl_max_text = CHAT_REQ_DEF_MAX_TEXT;
	lim->cl_max_depth = CHAT_REQ_DEF_MAX_DEPTH;
	lim->cl_max_bytes = CHAT_REQ_DEF_MAX_BYTES;
}

enum perr
chat_req_perr(enum chat_err err)
{
	switch (err) {
	case CHAT_ERR_PARSE:
		return PERR_PARSE_ERROR;
	case CHAT_ERR_VALIDATION:
		return PERR_VALIDATION_ERROR;
	case CHAT_ERR_UNKNOWN_TYPE:
		return PERR_UNKNOWN_TYPE;
	case CHAT_ERR_NONE:
	case CHAT_ERR_INTERNAL:
	default:
		return PERR_INTERNAL_ERROR;
	}
}

const char *
chat_req_errcode(enum chat_err err)
{
	return err == CHAT_ERR_NONE ? "" : perr_wire(chat_req_perr(err));
}

void
chat_parsed_free(struct chat_parsed *p)
{
	if (p->cp_token != NULL)
		explicit_bzero(p->cp_token, strlen(p->cp_token));
	free(p->cp_token);
	p->cp_token = NULL;
	chat_req_free(&p->cp_req);
}

static int __attribute__((format(printf, 4, 5)))
chat_fail(struct chat_parsed *p, enum chat_err err, const char *field,
    const char *fmt, ...)
{
	va_list	ap;

	p->cp_kind = CHAT_PARSED_ERROR;
	p->cp_err = err;
	p->cp_field = err == CHAT_ERR_VALIDATION ? field : NULL;
	va_start(ap, fmt);
	vsnprintf(p->cp_msg, sizeof(p->cp_msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Fields. */

/* NULL if absent or JSON null: null counts as absent. */
static json_object *
chat_field(json_object *obj, const char *key)
{
	return json_in_field(obj, key, NULL);
}

static int
chat_parse_room(json_object *obj, struct chat_req *r, struct chat_parsed *p)
{
	json_object	*v;
	const char	*s;
	size_t		 len;

	if ((v = chat_field(obj, "room")) == NULL)
		return chat_fail(p, CHAT_ERR_VALIDATION, "room",
		    "room is required");
	if (json_in_string_value(v, SIZE_MAX, &s, &len) != JSON_IN_GOT)
		goto bad;
	if (!chat_room_valid(s, len))
		goto bad;
	memcpy(r->cr_room, s, len);
	r->cr_room[len] = '\0';
	return 0;
bad:
	return chat_fail(p, CHAT_ERR_VALIDATION, "room", "room must be 1 to %d "
	    "characters of A-Z, a-z, 0-9 and _ . : @ -", CHAT_MAX_ROOM);
}

/* Message text (send/edit text, search q): required, owned copy. */
static int
chat_parse_text(json_object *obj, const char *key, size_t maxc, char **out,
    struct chat_parsed *p)
{
	json_object	*v;
	const char	*s;
	size_t		 len;
	ssize_t		 n;

	if ((v = chat_field(obj, key)) == NULL)
		return chat_fail(p, CHAT_ERR_VALIDATION, key, "%s is required",
		    key);
	if (json_in_string_value(v, SIZE_MAX, &s, &len) != JSON_IN_GOT)
		goto range;
	if ((n = chat_text_count(s, len, CHAT_TEXT_MSG)) == -1)
		return chat_fail(p, CHAT_ERR_VALIDATION, key, "%s must be valid "
		    "UTF-8 without NUL, lone surrogates or control characters "
		    "other than newline and tab", key);
	if (n < 1 || (size_t)n > maxc)
		goto range;
	if ((*out = malloc(len + 1)) == NULL)
		return chat_fail(p, CHAT_ERR_INTERNAL, NULL, "out of memory");
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	return 0;
range:
	return chat_fail(p, CHAT_ERR_VALIDATION, key,
	    "%s must be 1 to %zu characters", key, maxc);
}

/* An optional identifier-like string (client_msg_id, epoch). */
static int
chat_parse_optstr(json_object *obj, const char *key, size_t minc,
    size_t maxc, char *buf, size_t cap, bool *has, struct chat_parsed *p)
{
	json_object	*v;
	const char	*s;
	size_t		 len;
	ssize_t		 n;

	if ((v = chat_field(obj, key)) == NULL)
		return 0;
	if (json_in_string_value(v, SIZE_MAX, &s, &len) != JSON_IN_GOT)
		goto bad;
	n = chat_text_count(s, len, CHAT_TEXT_NONUL);
	if (n == -1 || (size_t)n < minc || (size_t)n > maxc || len >= cap)
		goto bad;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*has = true;
	return 0;
bad:
	return chat_fail(p, CHAT_ERR_VALIDATION, key, "%s must be a string of "
	    "%zu to %zu characters without NUL", key, minc, maxc);
}

static int
chat_parse_emoji(json_object *obj, struct chat_req *r, struct chat_parsed *p)
{
	json_object	*v;
	const char	*s;
	size_t		 len;

	if ((v = chat_field(obj, "emoji")) == NULL)
		return chat_fail(p, CHAT_ERR_VALIDATION, "emoji",
		    "emoji is required");
	if (json_in_string_value(v, SIZE_MAX, &s, &len) != JSON_IN_GOT)
		goto bad;
	if (len < 1 || len > CHAT_MAX_EMOJI ||
	    chat_text_count(s, len, CHAT_TEXT_NOCTL) == -1)
		goto bad;
	memcpy(r->cr_emoji, s, len);
	r->cr_emoji[len] = '\0';
	return 0;
bad:
	return chat_fail(p, CHAT_ERR_VALIDATION, "emoji", "emoji must be 1 to "
	    "%d bytes of UTF-8 without control characters", CHAT_MAX_EMOJI);
}

/* An integer in [min, max]; has NULL: required. */
static int
chat_parse_int(json_object *obj, const char *key, int64_t min, int64_t max,
    bool *has, int64_t *out, struct chat_parsed *p)
{
	switch (json_in_int64(obj, key, has == NULL, min, max, out)) {
	case JSON_IN_GOT:
		if (has != NULL)
			*has = true;
		return 0;
	case JSON_IN_ABSENT:
		return 0;
	case JSON_IN_MISSING:
		return chat_fail(p, CHAT_ERR_VALIDATION, key, "%s is required",
		    key);
	default:
		break;
	}
	if (max == INT64_MAX)
		return chat_fail(p, CHAT_ERR_VALIDATION, key,
		    "%s must be an integer >= %" PRId64, key, min);
	return chat_fail(p, CHAT_ERR_VALIDATION, key, "%s must be an integer "
	    "from %" PRId64 " to %" PRId64, key, min, max);
}

/* A boolean; required unless optional (then absent keeps *out). */
static int
chat_parse_bool(json_object *obj, const char *key, bool required, bool *out,
    struct chat_parsed *p)
{
	switch (json_in_bool(obj, key, required, out)) {
	case JSON_IN_GOT:
	case JSON_IN_ABSENT:
		return 0;
	case JSON_IN_MISSING:
		return chat_fail(p, CHAT_ERR_VALIDATION, key, "%s is required",
		    key);
	default:
		return chat_fail(p, CHAT_ERR_VALIDATION, key,
		    "%s must be true or false", key);
	}
}

/* The kind's fields, in table order (chat.h CHAT_F_*). */
static int
chat_parse_fields(json_object *obj, const struct chat_req_info *ri,
    const struct chat_limits *lim, struct chat_req *r, struct chat_parsed *p)
{
	uint32_t	f = ri->cri_fields;

	if ((f & CHAT_F_ROOM) && chat_parse_room(obj, r, p) == -1)
		return -1;
	if ((f & CHAT_F_TEXT) &&
	    chat_parse_text(obj, "text", lim->cl_max_text, &r->cr_text, p) == -1)
		return -1;
	if ((f & CHAT_F_CMID) && chat_parse_optstr(obj, "client_msg_id", 1,
	    CHAT_MAX_CMID, r->cr_cmid, sizeof(r->cr_cmid), &r->cr_has_cmid,
	    p) == -1)
		return -1;
	if ((f & CHAT_F_SEQ) && chat_parse_int(obj, "seq", ri->cri_seq_min,
	    INT64_MAX, NULL, &r->cr_seq, p) == -1)
		return -1;
	if ((f & CHAT_F_HISTORY) && chat_parse_int(obj, "history", 0,
	    CHAT_MAX_HISTORY, &r->cr_has_history, &r->cr_history, p) == -1)
		return -1;
	if ((f & CHAT_F_SINCE) && chat_parse_int(obj, "since", 0, INT64_MAX,
	    &r->cr_has_since, &r->cr_since, p) == -1)
		return -1;
	if ((f & CHAT_F_EPOCH) && chat_parse_optstr(obj, "epoch", 0,
	    CHAT_MAX_EPOCH, r->cr_epoch, sizeof(r->cr_epoch), &r->cr_has_epoch,
	    p) == -1)
		return -1;
	if ((f & CHAT_F_BEFORE) && chat_parse_int(obj, "before", 1, INT64_MAX,
	    &r->cr_has_before, &r->cr_before, p) == -1)
		return -1;
	if ((f & CHAT_F_LIMIT) && chat_parse_int(obj, "limit", 1,
	    ri->cri_limit_max, &r->cr_has_limit, &r->cr_limit, p) == -1)
		return -1;
	if ((f & CHAT_F_ACTIVE) &&
	    chat_parse_bool(obj, "active", true, &r->cr_active, p) == -1)
		return -1;
	if ((f & CHAT_F_FORGET) &&
	    chat_parse_bool(obj, "forget", false, &r->cr_forget, p) == -1)
		return -1;
	if ((f & CHAT_F_EMOJI) && chat_parse_emoji(obj, r, p) == -1)
		return -1;
	if ((f & CHAT_F_Q) &&
	    chat_parse_text(obj, "q", CHAT_MAX_Q, &r->cr_q, p) == -1)
		return -1;
	if ((f & CHAT_F_AFTER) && chat_parse_int(obj, "after", 0, INT64_MAX,
	    &r->cr_has_after, &r->cr_after, p) == -1)
		return -1;
	/* One direction per page. */
	if (r->cr_has_after && r->cr_has_before)
		return chat_fail(p, CHAT_ERR_VALIDATION, "after",
		    "after and before cannot be used together");
	return 0;
}

/* The envelope. */

static int
chat_parse_id(json_object *obj, struct chat_parsed *p)
{
	json_object	*v;
	const char	*js;
	size_t		 len;
	ssize_t		 n;
	int64_t		 x;

	if (!json_object_object_get_ex(obj, "id", &v))
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_string:
		n = chat_text_count(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), CHAT_TEXT_ANY);
		if (n == -1 || n > CHAT_MAX_ID)
			goto bad;
		break;
	case json_type_int:
		/* json-c saturates literals out of range: see the top. */
		x = json_object_get_int64(v);
		if (x == INT64_MIN || (x == INT64_MAX &&
		    json_object_get_uint64(v) == UINT64_MAX))
			goto bad;
		break;
	default:
		goto bad;
	}
	/* Re-serialised by json-c, so the echo is always valid JSON. */
	js = json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (js == NULL)
		return chat_fail(p, CHAT_ERR_INTERNAL, NULL, "out of memory");
	len = strlen(js);
	if (len > CHAT_MAX_ID_JSON || !chat_id_json_valid(js, len))
		goto bad;
	memcpy(p->cp_id, js, len + 1);
	return 0;
bad:
	return chat_fail(p, CHAT_ERR_VALIDATION, "id", "id must be a string of "
	    "at most %d characters or an integer", CHAT_MAX_ID);
}

static int
chat_parse_token(json_object *obj, struct chat_parsed *p)
{
	json_object	*v;
	const char	*s;
	size_t		 len;

	if ((v = chat_field(obj, "token")) == NULL)
		return chat_fail(p, CHAT_ERR_VALIDATION, "token",
		    "token is required");
	if (json_in_string_value(v, SIZE_MAX, &s, &len) != JSON_IN_GOT)
		goto bad;
	if (len < 1 || len > CHAT_REQ_MAX_TOKEN ||
	    chat_text_count(s, len, CHAT_TEXT_NONUL) == -1)
		goto bad;
	p->cp_token = strdup(s);
	/* json-c's copy goes with the object, unwiped: wipe it here (the
	 * value is not read again; object keys are hashed, values not). */
	explicit_bzero((char *)(uintptr_t)s, len);
	if (p->cp_token == NULL)
		return chat_fail(p, CHAT_ERR_INTERNAL, NULL, "out of memory");
	return 0;
bad:
	return chat_fail(p, CHAT_ERR_VALIDATION, "token", "token must be a "
	    "string of 1 to %d bytes", CHAT_REQ_MAX_TOKEN);
}

static int
chat_parse_object(json_object *obj, const struct chat_limits *lim,
    struct chat_parsed *p)
{
	const struct chat_req_info *ri;
	json_object	*v;
	const char	*name;
	size_t		 i;

	/* Known before anything can fail: an unauthenticated client may
	 * send only these, so its other mistakes are NOT_AUTHENTICATED. */
	if ((v = chat_field(obj, "type")) != NULL &&
	    json_object_is_type(v, json_type_string))
		p->cp_preauth = strcmp(json_object_get_string(v), "auth") == 0 ||
		    strcmp(json_object_get_string(v), "ping") == 0;
	if (chat_parse_id(obj, p) == -1)
		return -1;
	if ((v = chat_field(obj, "type")) == NULL ||
	    !json_object_is_type(v, json_type_string))
		return chat_fail(p, CHAT_ERR_VALIDATION, "type",
		    "type must be a string");
	name = json_object_get_string(v);
	if (strlen(name) != (size_t)json_object_get_string_len(v))
		goto unknown;			/* an embedded NUL */
	for (i = 0; i < sizeof(chat_local) / sizeof(chat_local[0]); i++) {
		if (strcmp(name, chat_local[i].name) != 0)
			continue;
		if (chat_local[i].kind != CHAT_PARSED_PING &&
		    chat_parse_token(obj, p) == -1)
			return -1;
		p->cp_kind = chat_local[i].kind;
		return 0;
	}
	if ((ri = chat_req_byname(name)) == NULL)
		goto unknown;
	chat_req_init(&p->cp_req, ri->cri_kind);
	memcpy(p->cp_req.cr_id, p->cp_id, sizeof(p->cp_req.cr_id));
	if (chat_parse_fields(obj, ri, lim, &p->cp_req, p) == -1)
		return -1;
	p->cp_kind = CHAT_PARSED_REQ;
	return 0;
unknown:
	return chat_fail(p, CHAT_ERR_UNKNOWN_TYPE, NULL, "unknown type");
}

int
chat_req_parse(const char *json, size_t len, const struct chat_limits *lim,
    struct chat_parsed *out)
{
	struct chat_limits	 deflim;
	struct json_in_rules	 rules;
	struct json_in_error	 e;
	json_object		*obj;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if (lim == NULL) {
		chat_limits_default(&deflim);
		lim = &deflim;
	}
	if (len > lim->cl_max_bytes || len > INT_MAX)
		return chat_fail(out, CHAT_ERR_PARSE, NULL,
		    "message larger than %zu bytes", lim->cl_max_bytes);
	memset(&rules, 0, sizeof(rules));
	rules.jr_max_depth = lim->cl_max_depth;
	if (json_in_parse(json, len, &rules, &obj, &e) == -1)
		return chat_fail(out, e.je_reason == JSON_IN_NOMEM ?
		    CHAT_ERR_INTERNAL : CHAT_ERR_PARSE, NULL, "%s", e.je_why);
	rc = chat_parse_object(obj, lim, out);
	json_object_put(obj);
	return rc;
}
