/* envelope.c: the client envelope and error objects, and the only
 * spelling of each error code on the wire. */
#include <stddef.h>

#include "envelope.h"

static const char *const perr_names[PERR_MAX] = {
	[PERR_PARSE_ERROR] = "PARSE_ERROR",
	[PERR_VALIDATION_ERROR] = "VALIDATION_ERROR",
	[PERR_UNKNOWN_TYPE] = "UNKNOWN_TYPE",
	[PERR_NOT_AUTHENTICATED] = "NOT_AUTHENTICATED",
	[PERR_INVALID_TOKEN] = "INVALID_TOKEN",
	[PERR_FORBIDDEN] = "FORBIDDEN",
	[PERR_NOT_IN_ROOM] = "NOT_IN_ROOM",
	[PERR_NOT_FOUND] = "NOT_FOUND",
	[PERR_RATE_LIMIT] = "RATE_LIMIT",
	[PERR_UNAVAILABLE] = "UNAVAILABLE",
	[PERR_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[PERR_LIMIT_EXCEEDED] = "LIMIT_EXCEEDED",
	[PERR_TOO_EXPENSIVE] = "TOO_EXPENSIVE",
};

static const char *const perr_api_names[PERR_API_MAX] = {
	[PERR_API_BAD_REQUEST] = "bad_request",
	[PERR_API_UNAUTHORIZED] = "unauthorized",
	[PERR_API_LIMIT_EXCEEDED] = "limit_exceeded",
	[PERR_API_NOT_FOUND] = "not_found",
	[PERR_API_METHOD_NOT_ALLOWED] = "method_not_allowed",
	[PERR_API_UNAVAILABLE] = "unavailable",
};

const char *
perr_wire(enum perr code)
{
	if ((unsigned)code >= PERR_MAX || perr_names[code] == NULL)
		return perr_names[PERR_INTERNAL_ERROR];
	return perr_names[code];
}

const char *
perr_api_wire(enum perr_api code)
{
	if ((unsigned)code >= PERR_API_MAX || perr_api_names[code] == NULL)
		return perr_api_names[PERR_API_UNAVAILABLE];
	return perr_api_names[code];
}

static void
envelope_str(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s ? s : ""));
}

json_object *
envelope_new(const char *type, const char *id_json)
{
	json_object	*o, *id;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	envelope_str(o, "type", type);
	if (id_json != NULL && id_json[0] != '\0' &&
	    (id = json_tokener_parse(id_json)) != NULL)
		json_object_object_add(o, "id", id);
	return o;
}

json_object *
envelope_error(const char *id_json, enum perr code, const char *field,
    const char *message)
{
	json_object	*o;

	if ((o = envelope_new("error", id_json)) == NULL)
		return NULL;
	envelope_str(o, "code", perr_wire(code));
	envelope_str(o, "message", message);
	if (field != NULL)
		envelope_str(o, "field", field);
	return o;
}

json_object *
envelope_api_error(enum perr_api code, const char *field,
    const char *message)
{
	json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	envelope_str(o, "error", perr_api_wire(code));
	if (field != NULL)
		envelope_str(o, "field", field);
	envelope_str(o, "message", message);
	return o;
}
