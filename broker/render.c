/* render.c: JSON for clients.  Text is stored verbatim and only ever
 * escaped here, by json-c, as JSON string content. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "envelope.h"
#include "render.h"
#include "store.h"
#include "util.h"

struct json_object *
render_new(const char *type, const char *id_json)
{
	return envelope_new(type, id_json);
}

char *
render_finish(struct json_object *o, size_t *len)
{
	size_t n;
	const char *s = json_object_to_json_string_length(o,
	    ENVELOPE_JSON_FLAGS, &n);
	char *out = xmalloc(n + 1);

	memcpy(out, s, n + 1);
	json_object_put(o);
	*len = n;
	return out;
}

void
render_ts(struct json_object *o, const char *key, int64_t ms)
{
	char ts[32];

	format_iso8601_ms(ms, ts);
	json_object_object_add(o, key, json_object_new_string(ts));
}

void
render_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s ? s : ""));
}

void
render_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

struct json_object *
render_message(const char *type, const char *room,
    const struct store_message *m)
{
	struct json_object *o = type != NULL ? render_new(type, "") :
	    json_object_new_object();

	render_str(o, "room", room);
	render_int(o, "seq", m->sm_seq);
	render_ts(o, "ts", m->sm_ts);
	if (m->sm_kind == STORE_KIND_EVENT) {
		struct json_object *data = m->sm_data ?
		    json_tokener_parse(m->sm_data) : NULL;

		render_str(o, "event", m->sm_event);
		json_object_object_add(o, "data", data);
		if (m->sm_deleted)
			json_object_object_add(o, "deleted",
			    json_object_new_boolean(1));
		return o;
	}
	render_str(o, "msg_id", m->sm_msg_id);
	render_str(o, "user", m->sm_user);
	render_str(o, "name", m->sm_name);
	if (m->sm_deleted)
		json_object_object_add(o, "deleted", json_object_new_boolean(1));
	else
		render_str(o, "text", m->sm_text);
	if (m->sm_client_msg_id != NULL)
		render_str(o, "client_msg_id", m->sm_client_msg_id);
	if (m->sm_edited_ts != 0)
		render_ts(o, "edited_ts", m->sm_edited_ts);
	if (m->sm_nreactions > 0) {
		struct json_object *r = json_object_new_object();

		for (size_t i = 0; i < m->sm_nreactions; i++)
			json_object_object_add(r, m->sm_reactions[i].sr_emoji,
			    json_object_new_int64(m->sm_reactions[i].sr_count));
		json_object_object_add(o, "reactions", r);
	}
	return o;
}

struct json_object *
render_messages(const char *room, const struct store_msglist *l)
{
	struct json_object *a = json_object_new_array_ext((int)l->ml_n);

	for (size_t i = 0; i < l->ml_n; i++)
		json_object_array_add(a, render_message(NULL, room,
		    &l->ml_msgs[i]));
	return a;
}

char *
render_error(const char *id_json, enum perr code, const char *field,
    const char *message, size_t *len)
{
	return render_finish(envelope_error(id_json, code, field, message),
	    len);
}
