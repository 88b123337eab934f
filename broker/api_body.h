/* api_body.h: parse and check a POST /api/publish body (PROTOCOL.md
 * section 6), apart from the HTTP server so it can be tested and fuzzed. */
#ifndef PARLEY_API_BODY_H
#define PARLEY_API_BODY_H

#include <stddef.h>

#include <json-c/json.h>

struct publish_req;

#define API_BODY_MAX_ERRMSG	192

/* Why a publish body was refused: 400 with this field and message. */
struct api_fail {
	const char	*af_field;	/* NULL: no field named */
	char		 af_msg[API_BODY_MAX_ERRMSG];
};

/*
 * The body (len bytes at s) as one JSON object in *out, read by the
 * strict edge (json_in.h), to be released with json_object_put; or -1
 * with the reason, for the client, in why.
 */
int	api_parse_body(const char *s, size_t len, json_object **out, char *why,
	    size_t whylen);
/* Fill pr from obj; its strings point into obj.  -1: see f. */
int	api_publish_parse(json_object *obj, int max_text,
	    struct publish_req *pr, struct api_fail *f);

#endif
