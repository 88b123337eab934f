/* envelope.h: the one builder of what clients get back: the message
 * envelope {"type","id"}, the error object, and the error codes as
 * enums, spelled on the wire only in envelope.c (PROTOCOL.md section 3,
 * and section 7 for the HTTP API). */
#ifndef PARLEY_ENVELOPE_H
#define PARLEY_ENVELOPE_H

#include <json-c/json.h>

/* Error codes of the WebSocket protocol. */
enum perr {
	PERR_PARSE_ERROR = 0,
	PERR_VALIDATION_ERROR,
	PERR_UNKNOWN_TYPE,
	PERR_NOT_AUTHENTICATED,
	PERR_INVALID_TOKEN,
	PERR_FORBIDDEN,
	PERR_NOT_IN_ROOM,
	PERR_NOT_FOUND,
	PERR_RATE_LIMIT,
	PERR_UNAVAILABLE,
	PERR_INTERNAL_ERROR,
	PERR_LIMIT_EXCEEDED,
	PERR_TOO_EXPENSIVE,
	PERR_MAX		/* sentinel */
};

/* Error codes of the HTTP API ({"error": ...}). */
enum perr_api {
	PERR_API_BAD_REQUEST = 0,
	PERR_API_UNAUTHORIZED,
	PERR_API_LIMIT_EXCEEDED,
	PERR_API_NOT_FOUND,
	PERR_API_METHOD_NOT_ALLOWED,
	PERR_API_UNAVAILABLE,
	PERR_API_MAX		/* sentinel */
};

/* The code as on the wire ("VALIDATION_ERROR"); out of range:
 * "INTERNAL_ERROR" (API: "unavailable"), never NULL. */
const char	*perr_wire(enum perr code);
const char	*perr_api_wire(enum perr_api code);

/* How every client text is serialised: compact, "/" unescaped. */
#define ENVELOPE_JSON_FLAGS \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * {"type": type, "id": <id_json>}: the id only when id_json is neither
 * NULL nor "", pasted from its JSON text (the worker wrote it as an
 * integer or a string, chat_id_json_valid).  NULL when out of memory.
 */
json_object	*envelope_new(const char *type, const char *id_json);
/* {"type":"error","id"?,"code","message","field"?}; a caller adds any
 * extra member (retry_after_ms, limit) after these. */
json_object	*envelope_error(const char *id_json, enum perr code,
		    const char *field, const char *message);
/* The HTTP API's {"error","field"?,"message"}. */
json_object	*envelope_api_error(enum perr_api code, const char *field,
		    const char *message);

#endif
