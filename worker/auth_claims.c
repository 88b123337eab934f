/* auth_claims.c: the claim rules of PROTOCOL.md section 2, read from a
 * JWT's verified claims object into a chat identity. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "auth_claims.h"
#include "chat.h"
#include "json_in.h"
#include "utf8.h"
#include "util.h"

/* Time claims are clamped to this, so "+ leeway" never overflows. */
#define AUTH_TIME_MAX	(INT64_C(1) << 60)

/* A claim, or NULL when absent; *present tells absent from JSON null. */
static json_object *
auth_claim(json_object *claims, const char *name, bool *present)
{
	return json_in_field(claims, name, present);
}

/*
 * A NumericDate, int or float.  Rounded up: with an integer now,
 * "now >= t" and "now < t" give the same answers for ceil(t).
 * Returns 0 (absent: *present false), or -1 for a wrong type.
 */
static int
auth_time_claim(json_object *claims, const char *name, bool *present,
    int64_t *t)
{
	json_object *val;
	double d;

	val = auth_claim(claims, name, present);
	if (!*present)
		return 0;
	if (json_object_is_type(val, json_type_int)) {
		*t = json_object_get_int64(val);
	} else if (json_object_is_type(val, json_type_double)) {
		d = ceil(json_object_get_double(val));
		if (isnan(d))
			return -1;
		if (d > (double)AUTH_TIME_MAX)
			*t = AUTH_TIME_MAX;
		else if (d < -(double)AUTH_TIME_MAX)
			*t = -AUTH_TIME_MAX;
		else
			*t = (int64_t)d;
	} else
		return -1;
	if (*t > AUTH_TIME_MAX)
		*t = AUTH_TIME_MAX;
	if (*t < -AUTH_TIME_MAX)
		*t = -AUTH_TIME_MAX;
	return 0;
}

/* exp, nbf and iat, each with the leeway. */
static int
auth_check_times(const struct auth_claim_rules *r, json_object *claims,
    int64_t now, struct chat_identity *id, const char **why)
{
	int64_t t, lw = r->acr_leeway;
	bool present;

	if (now > AUTH_TIME_MAX)
		now = AUTH_TIME_MAX;
	if (now < -AUTH_TIME_MAX)
		now = -AUTH_TIME_MAX;

	if (auth_time_claim(claims, "exp", &present, &t) == -1) {
		*why = "invalid exp";
		return -1;
	}
	if (!present && r->acr_require_exp) {
		*why = "missing exp";
		return -1;
	}
	if (present && now >= t + lw) {
		*why = "token expired";
		return -1;
	}
	/* 0 means "no exp" to the broker; an exp of 0 is long expired. */
	id->ci_exp = present ? t : 0;

	if (auth_time_claim(claims, "nbf", &present, &t) == -1) {
		*why = "invalid nbf";
		return -1;
	}
	if (present && now + lw < t) {
		*why = "token not yet valid";
		return -1;
	}

	if (auth_time_claim(claims, "iat", &present, &t) == -1) {
		*why = "invalid iat";
		return -1;
	}
	if (present && t > now + lw) {
		*why = "issued in the future";
		return -1;
	}
	return 0;
}

/* A string claim with no NUL inside; NULL for any other JSON type. */
static const char *
auth_string(json_object *val, size_t *len)
{
	const char *s;

	if (json_in_string_value(val, SIZE_MAX, &s, len) != JSON_IN_GOT ||
	    strlen(s) != *len)
		return NULL;
	return s;
}

static int
auth_check_sub(json_object *claims, struct chat_identity *id,
    const char **why)
{
	json_object *val;
	const char *s;
	size_t len;
	bool present;

	val = auth_claim(claims, "sub", &present);
	if (!present) {
		*why = "missing sub";
		return -1;
	}
	if ((s = auth_string(val, &len)) == NULL ||
	    !chat_user_valid(s, len))
		goto bad;
	memcpy(id->ci_user, s, len + 1);
	return 0;
bad:
	*why = "invalid sub";
	return -1;
}

static int
auth_check_iss(const struct auth_claim_rules *r, json_object *claims,
    const char **why)
{
	json_object *val;
	const char *s;
	size_t len;
	bool present;

	if (r->acr_issuer == NULL)
		return 0;
	val = auth_claim(claims, "iss", &present);
	if (!present) {
		*why = "missing iss";
		return -1;
	}
	if ((s = auth_string(val, &len)) == NULL) {
		*why = "invalid iss";
		return -1;
	}
	if (strcmp(s, r->acr_issuer) != 0) {
		*why = "wrong issuer";
		return -1;
	}
	return 0;
}

/* aud: a string, or an array whose string entries are candidates. */
static int
auth_check_aud(const struct auth_claim_rules *r, json_object *claims,
    const char **why)
{
	json_object *val;
	const char *s;
	size_t i, n, len;
	bool present;

	if (r->acr_audience == NULL)
		return 0;
	val = auth_claim(claims, "aud", &present);
	if (!present) {
		*why = "missing aud";
		return -1;
	}
	if (json_object_is_type(val, json_type_string)) {
		if ((s = auth_string(val, &len)) != NULL &&
		    strcmp(s, r->acr_audience) == 0)
			return 0;
	} else if (json_object_is_type(val, json_type_array)) {
		n = json_object_array_length(val);
		for (i = 0; i < n; i++) {
			s = auth_string(json_object_array_get_idx(val, i),
			    &len);
			if (s != NULL && strcmp(s, r->acr_audience) == 0)
				return 0;
		}
	} else {
		*why = "invalid aud";
		return -1;
	}
	*why = "wrong audience";
	return -1;
}

/* name: at most CHAT_MAX_NAME code points of valid UTF-8. */
static int
auth_check_name(json_object *claims, struct chat_identity *id,
    const char **why)
{
	json_object *val;
	const char *s;
	size_t i, len, cps = 0;
	bool present;

	val = auth_claim(claims, "name", &present);
	if (!present)
		return 0;
	if ((s = auth_string(val, &len)) == NULL ||
	    len > CHAT_MAX_NAME_BYTES ||
	    !utf8_valid((const uint8_t *)s, len))
		goto bad;
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cps++;
	if (cps > CHAT_MAX_NAME)
		goto bad;
	memcpy(id->ci_name, s, len + 1);
	return 0;
bad:
	*why = "invalid name";
	return -1;
}

static int
auth_check_role(json_object *claims, struct chat_identity *id,
    const char **why)
{
	json_object *val;
	const char *s;
	size_t len;
	bool present;

	val = auth_claim(claims, "role", &present);
	if (!present)
		return 0;
	if ((s = auth_string(val, &len)) == NULL) {
		*why = "invalid role";
		return -1;
	}
	id->ci_moderator = strcmp(s, "moderator") == 0;
	return 0;
}

/* A room name, or a prefix of one ending in '*' ("*" alone: any room). */
static bool
auth_room_pattern_ok(const char *s, size_t len)
{
	if (len == 0 || len > CHAT_MAX_ROOM)
		return false;
	if (s[len - 1] == '*')
		len--;
	return len == 0 || chat_room_valid(s, len);
}

/* Last check of all, so nothing allocated here is ever undone. */
static int
auth_check_rooms(json_object *claims, struct chat_identity *id,
    const char **why)
{
	json_object *val;
	const char *s;
	size_t i, n, len;
	bool present;

	val = auth_claim(claims, "rooms", &present);
	if (!present)
		return 0;
	if (!json_object_is_type(val, json_type_array) ||
	    (n = json_object_array_length(val)) > CHAT_MAX_PATTERNS)
		goto bad;
	for (i = 0; i < n; i++) {
		s = auth_string(json_object_array_get_idx(val, i), &len);
		if (s == NULL || !auth_room_pattern_ok(s, len))
			goto bad;
	}
	id->ci_rooms_present = true;
	id->ci_nrooms = n;
	if (n > 0) {
		id->ci_rooms = xcalloc(n, sizeof(*id->ci_rooms));
		for (i = 0; i < n; i++)
			id->ci_rooms[i] = xstrdup(json_object_get_string(
			    json_object_array_get_idx(val, i)));
	}
	return 0;
bad:
	*why = "invalid rooms";
	return -1;
}

int
auth_claims_check(const struct auth_claim_rules *r, json_object *claims,
    int64_t now, struct chat_identity *id, const char **why)
{
	if (auth_check_sub(claims, id, why) == -1 ||
	    auth_check_times(r, claims, now, id, why) == -1 ||
	    auth_check_iss(r, claims, why) == -1 ||
	    auth_check_aud(r, claims, why) == -1 ||
	    auth_check_name(claims, id, why) == -1 ||
	    auth_check_role(claims, id, why) == -1 ||
	    auth_check_rooms(claims, id, why) == -1)
		return -1;
	return 0;
}
