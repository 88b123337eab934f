/* render.h: the JSON texts the broker sends to clients (PROTOCOL.md 3-4).
 * Built with json-c; every function returns a new object or text. */
#ifndef PARLEY_RENDER_H
#define PARLEY_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

struct json_object;
struct store_message;
struct store_msglist;

/* {"type": type, "id": <id_json>} (id only when id_json is not ""):
 * envelope_new (proto/envelope.h). */
struct json_object *render_new(const char *type, const char *id_json);
/* Serialize and release o; the text is malloc'd, *len its length. */
char	*render_finish(struct json_object *o, size_t *len);
void	 render_ts(struct json_object *o, const char *key, int64_t ms);
void	 render_str(struct json_object *o, const char *key, const char *s);
void	 render_int(struct json_object *o, const char *key, int64_t v);
/* A message (or published event) object: a live frame with its type
 * ("message", "event"), or a list entry when type is NULL. */
struct json_object *render_message(const char *type, const char *room,
	    const struct store_message *m);
struct json_object *render_messages(const char *room,
	    const struct store_msglist *l);
/* {"type":"error","id","code","message","field"?}: envelope_error. */
char	*render_error(const char *id_json, enum perr code, const char *field,
	    const char *message, size_t *len);

#endif
