/*
 * api_body.c: the body of POST /api/publish, from bytes to a checked
 * struct publish_req.  Pure: no broker, no I/O (the fuzz target
 * tests/fuzz/fuzz_api_body.c runs it alone).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api_body.h"
#include "chat.h"
#include "json_in.h"
#include "service.h"

#define API_MAX_DEPTH		32		/* JSON nesting */
#define API_MAX_EVENT		64
#define API_JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

int
api_parse_body(const char *s, size_t len, json_object **out, char *why,
    size_t whylen)
{
	struct json_in_rules rules = {
		.jr_max_depth = API_MAX_DEPTH,
		.jr_utf8 = true,
		.jr_refuse_escapes = false,
	};
	struct json_in_error e;

	if (json_in_parse(s, len, &rules, out, &e) == -1) {
		snprintf(why, whylen, "%s", e.je_why);
		return -1;
	}
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
api_fail(struct api_fail *f, const char *field, const char *fmt, ...)
{
	va_list ap;

	f->af_field = field;
	va_start(ap, fmt);
	vsnprintf(f->af_msg, sizeof(f->af_msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A field's value; NULL when absent or JSON null (null means absent). */
static json_object *
api_field(json_object *obj, const char *key)
{
	return json_in_field(obj, key, NULL);
}

/* A string value's bytes and length (NULs included), or -1. */
static int
api_str(json_object *v, const char **s, size_t *len)
{
	return json_in_string_value(v, SIZE_MAX, s, len) == JSON_IN_GOT ?
	    0 : -1;
}

/* 1..max bytes of ASCII letters, digits and the bytes in extra. */
static bool
api_token_valid(const char *s, size_t len, size_t max, const char *extra)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr(extra, c) != NULL)))
			return false;
	}
	return true;
}

int
api_publish_parse(json_object *obj, int max_text, struct publish_req *pr,
    struct api_fail *f)
{
	json_object *text = api_field(obj, "text");
	json_object *event = api_field(obj, "event");
	json_object *data = api_field(obj, "data");
	json_object *v;
	const char *s;
	size_t len;
	ssize_t n;

	memset(pr, 0, sizeof(*pr));
	pr->pr_persist = true;

	if ((v = api_field(obj, "room")) == NULL)
		return api_fail(f, "room", "room is required");
	if (api_str(v, &s, &len) == -1 || !chat_room_valid(s, len))
		return api_fail(f, "room", "room must be 1-%d characters of "
		    "[A-Za-z0-9_.:@-]", CHAT_MAX_ROOM);
	pr->pr_room = s;

	if (text != NULL && event != NULL)
		return api_fail(f, "event", "give text or event, not both");
	if (text == NULL && event == NULL)
		return api_fail(f, "text", "text or event is required");
	if (text != NULL) {
		/* Exactly the rule send follows (PROTOCOL.md section 4). */
		if (api_str(text, &s, &len) == -1 ||
		    (n = chat_text_count(s, len, CHAT_TEXT_MSG)) < 1 ||
		    n > max_text)
			return api_fail(f, "text", "text must be 1-%d "
			    "characters of UTF-8 without NUL or control "
			    "characters other than \\n and \\t",
			    max_text);
		if (data != NULL)
			return api_fail(f, "data", "data applies to events "
			    "only");
		pr->pr_text = s;
	} else {
		if (api_str(event, &s, &len) == -1 ||
		    !api_token_valid(s, len, API_MAX_EVENT, "_.:-"))
			return api_fail(f, "event", "event must be 1-%d "
			    "characters of [A-Za-z0-9_.:-]", API_MAX_EVENT);
		pr->pr_event = s;
		/* The data goes out as it came, re-serialized compactly. */
		pr->pr_data = data != NULL ?
		    json_object_to_json_string_ext(data, API_JSON_FLAGS) :
		    "null";
		if (pr->pr_data == NULL)
			return api_fail(f, "data", "cannot serialize data");
	}

	if ((v = api_field(obj, "user")) != NULL) {
		if (api_str(v, &s, &len) == -1 ||
		    !chat_user_valid(s, len))
			return api_fail(f, "user", "user must be 1-%d "
			    "characters of [A-Za-z0-9_.@-]", CHAT_MAX_USER);
		pr->pr_user = s;
	}
	if ((v = api_field(obj, "name")) != NULL) {
		if (api_str(v, &s, &len) == -1 ||
		    (n = chat_text_count(s, len, CHAT_TEXT_NOCTL)) < 0 ||
		    n > CHAT_MAX_NAME)
			return api_fail(f, "name", "name must be at most %d "
			    "characters of UTF-8 without control characters",
			    CHAT_MAX_NAME);
		pr->pr_name = s;
	}
	if (json_in_bool(obj, "persist", false, &pr->pr_persist) < 0)
		return api_fail(f, "persist", "persist must be true or false");
	if (!pr->pr_persist && pr->pr_text != NULL)
		return api_fail(f, "persist", "persist: false applies to "
		    "events only");
	return 0;
}
