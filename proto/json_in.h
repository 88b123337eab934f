/* json_in.h: the one strict JSON input edge: a pre-scan of the raw text,
 * json-c's strict tokener, and typed field getters.  Chat requests, JWT
 * segments and API bodies all come in through here. */
#ifndef PARLEY_JSON_IN_H
#define PARLEY_JSON_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* How one text is read. */
struct json_in_rules {
	int	jr_max_depth;	/* nesting json-c allows (>= 1) */
	bool	jr_utf8;	/* json-c validates UTF-8 too */
	/*
	 * false: a lone surrogate escape in a value string becomes "\u0000"
	 * (json-c 0.16 would decode it to U+FFFD, which every text check
	 * passes; NUL is refused by every string field).  true (JWT
	 * segments): a lone surrogate or "\u0000" anywhere is refused, as
	 * libjwt's own parser (jansson) refuses them.
	 */
	bool	jr_refuse_escapes;
};

/* Why a text was refused; each class has its own reason text. */
enum json_in_reason {
	JSON_IN_OK = 0,
	JSON_IN_NOT_OBJECT,	/* empty, array, bare value */
	JSON_IN_SINGLE_QUOTE,
	JSON_IN_CONTROL,	/* raw byte < 0x20 inside a string */
	JSON_IN_ESCAPE,		/* lone surrogate or \u0000 (jr_refuse_escapes) */
	JSON_IN_TRUNCATED,
	JSON_IN_DEPTH,
	JSON_IN_SYNTAX,		/* anything else json-c refuses */
	JSON_IN_TRAILING,	/* data after the object */
	JSON_IN_TOO_BIG,	/* over INT_MAX: json-c's length is an int */
	JSON_IN_NOMEM
};

#define JSON_IN_MAX_WHY	96

struct json_in_error {
	enum json_in_reason	je_reason;
	char			je_why[JSON_IN_MAX_WHY];	/* for the client */
};

/*
 * Parse len bytes at text as exactly one JSON object into *out (release
 * with json_object_put).  -1: *out is NULL and e says why.
 */
int	json_in_parse(const char *text, size_t len,
	    const struct json_in_rules *rules, json_object **out,
	    struct json_in_error *e);
/* The reason's text, e.g. "truncated JSON" (depth: see je_why). */
const char *json_in_reason(enum json_in_reason reason);

/*
 * Fields.  An optional field given as JSON null counts as absent, a
 * required one as missing.
 */
enum json_in_get {
	JSON_IN_GOT = 0,
	JSON_IN_ABSENT = 1,	/* optional and not there: *out untouched */
	JSON_IN_MISSING = -1,	/* required and not there */
	JSON_IN_WRONG_TYPE = -2,
	JSON_IN_OUT_OF_RANGE = -3	/* too long, too small, too big */
};

/* The value at key; NULL when absent or null.  present (may be NULL)
 * tells absent from null. */
json_object *json_in_field(json_object *obj, const char *key, bool *present);
/* A string of at most max_bytes bytes (NULs included). */
enum json_in_get json_in_string(json_object *obj, const char *key,
	    bool required, size_t max_bytes, const char **s, size_t *len);
/* The same for a value already in hand (an array entry, say). */
enum json_in_get json_in_string_value(json_object *v, size_t max_bytes,
	    const char **s, size_t *len);
/* A JSON integer (not 1.0, "1" or true) in [min, max]. */
enum json_in_get json_in_int64(json_object *obj, const char *key,
	    bool required, int64_t min, int64_t max, int64_t *out);
enum json_in_get json_in_bool(json_object *obj, const char *key,
	    bool required, bool *out);
/* "is required", "has the wrong type", "is out of range". */
const char *json_in_get_why(enum json_in_get g);

#endif
