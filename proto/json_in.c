/* json_in.c: one strict reading of untrusted JSON (pre-scan, tokener,
 * typed getters) for every process that takes JSON from outside. */
#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_in.h"

static const char *const json_in_reasons[] = {
	[JSON_IN_OK] = "",
	[JSON_IN_NOT_OBJECT] = "expected a JSON object",
	[JSON_IN_SINGLE_QUOTE] = "strings must use double quotes",
	[JSON_IN_CONTROL] = "control character inside a string",
	[JSON_IN_ESCAPE] = "lone surrogate or \\u0000 escape",
	[JSON_IN_TRUNCATED] = "truncated JSON",
	[JSON_IN_DEPTH] = "JSON nested too deep",
	[JSON_IN_SYNTAX] = "invalid JSON",
	[JSON_IN_TRAILING] = "data after the JSON object",
	[JSON_IN_TOO_BIG] = "JSON text too large",
	[JSON_IN_NOMEM] = "out of memory",
};

const char *
json_in_reason(enum json_in_reason reason)
{
	if ((size_t)reason >= sizeof(json_in_reasons) /
	    sizeof(json_in_reasons[0]))
		return "invalid JSON";
	return json_in_reasons[reason];
}

static int
json_in_fail(struct json_in_error *e, enum json_in_reason reason)
{
	e->je_reason = reason;
	snprintf(e->je_why, sizeof(e->je_why), "%s", json_in_reason(reason));
	return -1;
}

/* Pre-scan of the raw text. */

static bool
json_in_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The code unit of \uXXXX whose hex digits start at s[i], or -1. */
static long
json_in_hex4(const char *s, size_t len, size_t i)
{
	long	v = 0;
	size_t	k;
	char	c;

	if (len < 4 || i > len - 4)
		return -1;
	for (k = i; k < i + 4; k++) {
		c = s[k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* What one string holds that json-c would let through. */
struct json_in_marks {
	size_t	jm_lone;	/* unpaired surrogate escapes */
	size_t	jm_nul;		/* "\u0000" escapes */
};

static void
json_in_lone(char *out, size_t at, struct json_in_marks *m)
{
	m->jm_lone++;
	if (out != NULL)
		memcpy(out + at, "\\u0000", 6);
}

/*
 * Walk the string whose body starts at in[i].  Returns the index of its
 * closing quote (len if unterminated: json-c reports that), or -1 on a raw
 * control byte.  Counts lone surrogate and \u0000 escapes and, with out,
 * rewrites each lone surrogate at the same offset.
 */
static ssize_t
json_in_scan_string(const char *in, size_t len, size_t i, char *out,
    struct json_in_marks *m)
{
	size_t		hi = SIZE_MAX;	/* an unpaired high surrogate escape */
	long		cu;
	unsigned char	c;

	while (i < len) {
		c = (unsigned char)in[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c == '\\' && i + 1 < len && in[i + 1] == 'u' &&
		    (cu = json_in_hex4(in, len, i + 2)) != -1) {
			if (cu >= 0xdc00 && cu <= 0xdfff && hi != SIZE_MAX) {
				hi = SIZE_MAX;		/* a pair */
			} else {
				if (hi != SIZE_MAX)
					json_in_lone(out, hi, m);
				hi = SIZE_MAX;
				if (cu >= 0xd800 && cu <= 0xdbff)
					hi = i;
				else if (cu >= 0xdc00 && cu <= 0xdfff)
					json_in_lone(out, i, m);
				else if (cu == 0)
					m->jm_nul++;
			}
			i += 6;
			continue;
		}
		if (hi != SIZE_MAX)
			json_in_lone(out, hi, m);
		hi = SIZE_MAX;
		i += c == '\\' ? 2 : 1;
	}
	if (hi != SIZE_MAX)
		json_in_lone(out, hi, m);
	return (ssize_t)(i < len ? i : len);
}

/*
 * Refuse what the strict tokener still lets through (raw control bytes
 * in strings, single-quoted strings) and deal with lone surrogates by
 * the rules.  A key's lone surrogate is left alone when rewriting: it
 * only misspells the key.  *copy is NULL if nothing changed.
 */
static enum json_in_reason
json_in_prescan(const char *in, size_t len, const struct json_in_rules *r,
    char **copy)
{
	struct json_in_marks	 m;
	size_t			 i, j, end;
	ssize_t			 e;

	*copy = NULL;
	for (i = 0; i < len; i++) {
		if (in[i] == '\'')
			goto fail_quote;
		if (in[i] != '"')
			continue;
		memset(&m, 0, sizeof(m));
		if ((e = json_in_scan_string(in, len, i + 1, NULL, &m)) == -1) {
			free(*copy);
			*copy = NULL;
			return JSON_IN_CONTROL;
		}
		end = (size_t)e;
		if (r->jr_refuse_escapes && (m.jm_lone > 0 || m.jm_nul > 0)) {
			free(*copy);
			*copy = NULL;
			return JSON_IN_ESCAPE;
		}
		for (j = end + 1; j < len && json_in_ws(in[j]); j++)
			;
		if (m.jm_lone > 0 && (j >= len || in[j] != ':')) {
			if (*copy == NULL) {
				if ((*copy = malloc(len)) == NULL)
					return JSON_IN_NOMEM;
				memcpy(*copy, in, len);
			}
			(void)json_in_scan_string(in, len, i + 1, *copy, &m);
		}
		i = end;
	}
	return JSON_IN_OK;
fail_quote:
	free(*copy);
	*copy = NULL;
	return JSON_IN_SINGLE_QUOTE;
}

static void
json_in_wipe_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);	/* it may hold a token */
	free(p);
}

int
json_in_parse(const char *text, size_t len, const struct json_in_rules *r,
    json_object **out, struct json_in_error *e)
{
	struct json_tokener	*tok;
	enum json_tokener_error	 jerr;
	enum json_in_reason	 why;
	json_object		*obj;
	char			*copy = NULL;
	size_t			 i, end;
	int			 flags = JSON_TOKENER_STRICT;

	*out = NULL;
	e->je_reason = JSON_IN_OK;
	e->je_why[0] = '\0';
	if (len > INT_MAX)
		return json_in_fail(e, JSON_IN_TOO_BIG);
	for (i = 0; i < len && json_in_ws(text[i]); i++)
		;
	if (i == len || text[i] != '{')
		return json_in_fail(e, JSON_IN_NOT_OBJECT);
	if ((why = json_in_prescan(text, len, r, &copy)) != JSON_IN_OK)
		return json_in_fail(e, why);
	if ((tok = json_tokener_new_ex(r->jr_max_depth > 0 ?
	    r->jr_max_depth : 1)) == NULL) {
		json_in_wipe_free(copy, len);
		return json_in_fail(e, JSON_IN_NOMEM);
	}
	if (r->jr_utf8)
		flags |= JSON_TOKENER_VALIDATE_UTF8;
	json_tokener_set_flags(tok, flags);
	obj = json_tokener_parse_ex(tok, copy != NULL ? copy : text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	json_in_wipe_free(copy, len);
	if (jerr == json_tokener_continue)
		json_in_fail(e, JSON_IN_TRUNCATED);
	else if (jerr == json_tokener_error_depth) {
		e->je_reason = JSON_IN_DEPTH;
		snprintf(e->je_why, sizeof(e->je_why), "JSON nested more than "
		    "%d levels deep", r->jr_max_depth);
	} else if (jerr != json_tokener_success) {
		e->je_reason = JSON_IN_SYNTAX;
		snprintf(e->je_why, sizeof(e->je_why), "invalid JSON: %s",
		    json_tokener_error_desc(jerr));
	} else if (end != len)
		json_in_fail(e, JSON_IN_TRAILING);
	else if (!json_object_is_type(obj, json_type_object))
		json_in_fail(e, JSON_IN_NOT_OBJECT);
	else {
		*out = obj;
		return 0;
	}
	json_object_put(obj);
	return -1;
}

/* Fields. */

json_object *
json_in_field(json_object *obj, const char *key, bool *present)
{
	json_object	*v = NULL;
	bool		 there;

	there = json_object_object_get_ex(obj, key, &v);
	if (present != NULL)
		*present = there;
	return there ? v : NULL;
}

enum json_in_get
json_in_string_value(json_object *v, size_t max_bytes, const char **s,
    size_t *len)
{
	size_t	n;

	if (!json_object_is_type(v, json_type_string))
		return JSON_IN_WRONG_TYPE;
	n = (size_t)json_object_get_string_len(v);
	if (n > max_bytes)
		return JSON_IN_OUT_OF_RANGE;
	*s = json_object_get_string(v);
	*len = n;
	return JSON_IN_GOT;
}

enum json_in_get
json_in_string(json_object *obj, const char *key, bool required,
    size_t max_bytes, const char **s, size_t *len)
{
	json_object	*v;

	if ((v = json_in_field(obj, key, NULL)) == NULL)
		return required ? JSON_IN_MISSING : JSON_IN_ABSENT;
	return json_in_string_value(v, max_bytes, s, len);
}

enum json_in_get
json_in_int64(json_object *obj, const char *key, bool required, int64_t min,
    int64_t max, int64_t *out)
{
	json_object	*v;
	int64_t		 x;

	if ((v = json_in_field(obj, key, NULL)) == NULL)
		return required ? JSON_IN_MISSING : JSON_IN_ABSENT;
	if (!json_object_is_type(v, json_type_int))
		return JSON_IN_WRONG_TYPE;
	x = json_object_get_int64(v);
	/* json-c clamps a uint64 above INT64_MAX to INT64_MAX here. */
	if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return JSON_IN_OUT_OF_RANGE;
	if (x < min || x > max)
		return JSON_IN_OUT_OF_RANGE;
	*out = x;
	return JSON_IN_GOT;
}

enum json_in_get
json_in_bool(json_object *obj, const char *key, bool required, bool *out)
{
	json_object	*v;

	if ((v = json_in_field(obj, key, NULL)) == NULL)
		return required ? JSON_IN_MISSING : JSON_IN_ABSENT;
	if (!json_object_is_type(v, json_type_boolean))
		return JSON_IN_WRONG_TYPE;
	*out = json_object_get_boolean(v);
	return JSON_IN_GOT;
}

const char *
json_in_get_why(enum json_in_get g)
{
	switch (g) {
	case JSON_IN_GOT:
	case JSON_IN_ABSENT:
		return "";
	case JSON_IN_MISSING:
		return "is required";
	case JSON_IN_WRONG_TYPE:
		return "has the wrong type";
	case JSON_IN_OUT_OF_RANGE:
	default:
		return "is out of range";
	}
}
