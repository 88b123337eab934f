/*
 * api.c: the broker's HTTP API (PROTOCOL.md section 6).  evhttp serves the
 * inherited listening socket; a static route table maps method and path
 * to a handler and says which routes need the bearer key.  This file only
 * authenticates, parses and validates; service_publish() does the work.
 * Every answer is JSON, but /metrics (Prometheus text format 0.0.4).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <sodium.h>

#include "api.h"
#include "broker.h"
#include "chat.h"
#include "config.h"
#include "log.h"
#include "reader.h"
#include "service.h"
#include "util.h"

#define API_MAX_BODY		(1024 * 1024)	/* larger: evhttp answers 413 */
#define API_MAX_HEADERS		(8 * 1024)
#define API_TIMEOUT		10		/* seconds to read a request */
#define API_MAX_DEPTH		32		/* JSON nesting */
#define API_MAX_KEY		4096		/* key file bytes */
#define API_MAX_EVENT		64
#define API_LOG_PATH		128		/* path bytes in a log line */
#define API_MAX_ERRMSG		192

#define API_JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define API_PROM_TYPE	"text/plain; version=0.0.4"

/*
 * evhttp answers a method outside this set with a bare 501 before any
 * route is looked at; with the common ones allowed, a known path with the
 * wrong method gets our JSON 405 and its Allow header instead.
 */
#define API_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | \
	EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
	EVHTTP_REQ_PATCH)

#define API_F_AUTH	0x01	/* needs Authorization: Bearer <api_key> */

struct api_route {
	enum evhttp_cmd_type	 ar_method;
	const char		*ar_method_name;
	const char		*ar_path;
	int			 ar_flags;	/* API_F_* */
	void			(*ar_handler)(struct broker *,
				    struct evhttp_request *);
};

/* Why a publish body was refused: 400 with this field and message. */
struct api_fail {
	const char	*af_field;
	char		 af_msg[API_MAX_ERRMSG];
};

/* A counter of struct broker_metrics, as /metrics shows it. */
struct api_counter {
	const char	*ac_name;
	const char	*ac_help;
	size_t		 ac_off;
};

static void	api_publish(struct broker *, struct evhttp_request *);
static void	api_healthz(struct broker *, struct evhttp_request *);
static void	api_metrics(struct broker *, struct evhttp_request *);

static const struct api_route api_routes[] = {
	{ EVHTTP_REQ_POST, "POST", "/api/publish", API_F_AUTH, api_publish },
	/* Health and metrics carry no secrets and the API listener is on
	 * loopback by default (127.0.0.1:8081), so they need no key. */
	{ EVHTTP_REQ_GET, "GET", "/healthz", 0, api_healthz },
	{ EVHTTP_REQ_GET, "GET", "/metrics", 0, api_metrics },
	{ 0, NULL, NULL, 0, NULL }
};

#define M(member)	offsetof(struct broker_metrics, member)
static const struct api_counter api_counters[] = {
	{ "parley_messages_stored_total",
	    "Chat messages stored by send.", M(bm_messages) },
	{ "parley_published_total",
	    "Messages and events published through the HTTP API.",
	    M(bm_published) },
	{ "parley_commits_total",
	    "Database transactions committed.", M(bm_commits) },
	{ "parley_commit_failures_total",
	    "Database transactions that failed.", M(bm_commit_failures) },
	{ "parley_deliveries_total",
	    "Frames handed to workers for delivery.", M(bm_deliveries) },
	{ "parley_requests_total",
	    "Client requests handled.", M(bm_requests) },
	{ "parley_error_replies_total",
	    "Error replies sent to clients.", M(bm_errors) },
	{ "parley_rate_limited_total",
	    "Requests refused with RATE_LIMIT.", M(bm_rate_limited) },
	{ "parley_limit_kicks_total",
	    "Connections closed 4429 on a connection or abuse limit.",
	    M(bm_kicked) },
	{ "parley_reads_too_expensive_total",
	    "Reads stopped at query_timeout_ms (TOO_EXPENSIVE).",
	    M(bm_too_expensive) },
	{ NULL, NULL, 0 }
};
#undef M

/* The request's path without its query, for routing and logs. */
static const char *
api_path(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	return path != NULL ? path : "";
}

static const char *
api_method_name(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	default:			return "other";
	}
}

/* Send body (may be NULL) with code; the caller frees body. */
static void
api_send(struct evhttp_request *req, int code, const char *ctype,
    struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, NULL, body);
}

/* Send o as the JSON body of a code answer; o is consumed. */
static void
api_reply_json(struct evhttp_request *req, int code, json_object *o)
{
	struct evbuffer *buf;
	const char *s;
	size_t len;

	if ((buf = evbuffer_new()) == NULL) {
		json_object_put(o);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	s = json_object_to_json_string_length(o, API_JSON_FLAGS, &len);
	evbuffer_add(buf, s, len);
	api_send(req, code, "application/json", buf);
	evbuffer_free(buf);
	json_object_put(o);
}

/* {"error","field"?,"message"} with code, logged (never the body). */
static void __attribute__((format(printf, 5, 6)))
api_error(struct evhttp_request *req, int code, const char *error,
    const char *field, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[API_MAX_ERRMSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("api_request", "%s %.*s: %d %s%s%s: %s",
	    api_method_name(req), API_LOG_PATH, api_path(req), code, error,
	    field != NULL ? " field " : "", field != NULL ? field : "", msg);
	json_object_object_add(o, "error", json_object_new_string(error));
	if (field != NULL)
		json_object_object_add(o, "field",
		    json_object_new_string(field));
	json_object_object_add(o, "message", json_object_new_string(msg));
	api_reply_json(req, code, o);
}

/* The bearer key, compared in constant time once the lengths match. */
static bool
api_authorized(const struct broker *b, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	size_t klen;

	if (b->b_api_key == NULL)
		return false;
	klen = strlen(b->b_api_key);
	/* RFC 7235: the scheme name is case-insensitive. */
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	for (h += 7; *h == ' '; h++)
		;
	if (strlen(h) != klen)
		return false;
	return sodium_memcmp(h, b->b_api_key, klen) == 0;
}

static void
api_dispatch(struct evhttp_request *req, void *arg)
{
	struct broker *b = arg;
	const struct api_route *r, *found = NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const char *path = api_path(req);
	char allow[64] = "", *addr = NULL;
	ev_uint16_t port = 0;
	size_t alen;

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr,
	    &port);
	log_debug("api_request", "%s %.*s from %s", api_method_name(req),
	    API_LOG_PATH, path, addr != NULL ? addr : "?");
	for (r = api_routes; r->ar_path != NULL; r++) {
		if (strcmp(r->ar_path, path) != 0)
			continue;
		if (r->ar_method == method) {
			found = r;
			break;
		}
		alen = strlen(allow);
		snprintf(allow + alen, sizeof(allow) - alen, "%s%s",
		    alen > 0 ? ", " : "", r->ar_method_name);
	}
	if (found == NULL && allow[0] == '\0') {
		api_error(req, HTTP_NOTFOUND, "not_found", NULL, "no such path");
		return;
	}
	if (found == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", allow);
		api_error(req, 405, "method_not_allowed", NULL,
		    "use %s for this path", allow);
		return;
	}
	if ((found->ar_flags & API_F_AUTH) && !api_authorized(b, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		api_error(req, 401, "unauthorized", NULL,
		    "a valid Authorization: Bearer <api key> header is required");
		return;
	}
	found->ar_handler(b, req);
}

/*
 * json-c 0.16 decodes a lone surrogate escape ("\ud800") to U+FFFD, which
 * the text checks would then pass, yet send refuses it (PROTOCOL.md
 * section 4).  So each one is rewritten in place to "\u0000", same
 * length: every string check refuses NUL, and the field gets named.  The
 * same pass refuses what the strict tokener still lets through: raw
 * control bytes inside strings and single-quoted strings.
 */
static int
api_prescan(char *s, size_t len, const char **why)
{
	size_t i = 0, hi = SIZE_MAX;	/* a high surrogate escape waiting */
	bool instr = false;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		unsigned v = 0;
		size_t k;

		if (!instr) {
			if (c == '\'') {
				*why = "single-quoted strings are not JSON";
				return -1;
			}
			instr = c == '"';
			i++;
			continue;
		}
		if (c < 0x20) {
			*why = "control character inside a string";
			return -1;
		}
		for (k = 2; c == '\\' && i + 5 < len && s[i + 1] == 'u' &&
		    k < 6; k++) {
			char d = s[i + k];

			if (d >= '0' && d <= '9')
				v = v * 16 + (unsigned)(d - '0');
			else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f')
				v = v * 16 + (unsigned)((d | 0x20) - 'a' + 10);
			else
				break;
		}
		if (k == 6) {		/* a whole \uXXXX */
			if (v >= 0xdc00 && v <= 0xdfff && hi == SIZE_MAX)
				memcpy(s + i + 2, "0000", 4);
			if (hi != SIZE_MAX && !(v >= 0xdc00 && v <= 0xdfff))
				memcpy(s + hi + 2, "0000", 4);
			hi = v >= 0xd800 && v <= 0xdbff ? i : SIZE_MAX;
			i += 6;
			continue;
		}
		if (hi != SIZE_MAX)
			memcpy(s + hi + 2, "0000", 4);
		hi = SIZE_MAX;
		if (c == '"')
			instr = false;
		i += c == '\\' ? 2 : 1;
	}
	return 0;
}

/* The body as one JSON object (*out), or -1 with the reason in why. */
static int
api_parse_body(char *s, size_t len, json_object **out, char *why,
    size_t whylen)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	const char *scan = NULL;
	json_object *obj;
	size_t i, end;

	*out = NULL;
	for (i = 0; i < len && strchr(" \t\r\n", s[i]) != NULL && s[i]; i++)
		;
	if (i == len || s[i] != '{') {
		snprintf(why, whylen, "expected a JSON object");
		return -1;
	}
	if (api_prescan(s, len, &scan) == -1) {
		snprintf(why, whylen, "%s", scan);
		return -1;
	}
	if ((tok = json_tokener_new_ex(API_MAX_DEPTH)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue)
		snprintf(why, whylen, "truncated JSON");
	else if (jerr == json_tokener_error_depth)
		snprintf(why, whylen, "nested more than %d levels deep",
		    API_MAX_DEPTH);
	else if (jerr != json_tokener_success)
		snprintf(why, whylen, "%s", json_tokener_error_desc(jerr));
	else {
		for (; end < len && strchr(" \t\r\n", s[end]) != NULL &&
		    s[end] != '\0'; end++)
			;
		if (end != len)
			snprintf(why, whylen, "data after the JSON object");
		else if (!json_object_is_type(obj, json_type_object))
			snprintf(why, whylen, "expected a JSON object");
		else {
			*out = obj;
			return 0;
		}
	}
	json_object_put(obj);
	return -1;
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
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* A string value's bytes and length (NULs included), or -1. */
static int
api_str(json_object *v, const char **s, size_t *len)
{
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 0;
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

/* Fill pr from the body; its strings point into obj.  -1: see f. */
static int
api_publish_parse(const struct broker *b, json_object *obj,
    struct publish_req *pr, struct api_fail *f)
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
		    n > b->b_cfg->max_text)
			return api_fail(f, "text", "text must be 1-%d "
			    "characters of UTF-8 without NUL or control "
			    "characters other than \\n and \\t",
			    b->b_cfg->max_text);
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
		    !api_token_valid(s, len, CHAT_MAX_USER, "_.@-"))
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
	if ((v = api_field(obj, "persist")) != NULL) {
		if (!json_object_is_type(v, json_type_boolean))
			return api_fail(f, "persist", "persist must be true "
			    "or false");
		pr->pr_persist = json_object_get_boolean(v);
	}
	if (!pr->pr_persist && pr->pr_text != NULL)
		return api_fail(f, "persist", "persist: false applies to "
		    "events only");
	return 0;
}

static void
api_publish(struct broker *b, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct publish_result res;
	struct publish_req pr;
	struct api_fail f;
	json_object *obj = NULL, *o;
	char why[API_MAX_ERRMSG], ts[32];
	char *body;

	/* evhttp has bounded the body already (413 past API_MAX_BODY). */
	body = len > 0 && len <= INT_MAX ?
	    (char *)evbuffer_pullup(in, -1) : NULL;
	if (body == NULL) {
		api_error(req, HTTP_BADREQUEST, "bad_request", NULL,
		    "invalid JSON: empty body");
		return;
	}
	/* Parsed in place: the request, and so its body, is ours. */
	if (api_parse_body(body, len, &obj, why, sizeof(why)) == -1) {
		api_error(req, HTTP_BADREQUEST, "bad_request", NULL,
		    "invalid JSON: %s", why);
		return;
	}
	if (api_publish_parse(b, obj, &pr, &f) == -1) {
		api_error(req, HTTP_BADREQUEST, "bad_request", f.af_field,
		    "%s", f.af_msg);
		goto done;
	}
	memset(&res, 0, sizeof(res));
	if (service_publish(b, &pr, &res) == -1) {
		api_error(req, HTTP_SERVUNAVAIL, "unavailable", NULL,
		    "database error");
		goto done;
	}
	o = json_object_new_object();
	if (!pr.pr_persist)
		json_object_object_add(o, "delivered",
		    json_object_new_uint64(res.pu_delivered));
	else {
		json_object_object_add(o, "seq",
		    json_object_new_int64(res.pu_seq));
		if (pr.pr_text != NULL)
			json_object_object_add(o, "msg_id",
			    json_object_new_string(res.pu_msg_id));
		else {
			format_iso8601_ms(res.pu_ts, ts);
			json_object_object_add(o, "ts",
			    json_object_new_string(ts));
		}
	}
	api_reply_json(req, HTTP_OK, o);
done:
	json_object_put(obj);
}

/* Connections of the workers linked to the broker now. */
static uint64_t
api_conn_total(const struct broker *b)
{
	uint64_t n = 0;

	for (int i = 0; i <= BROKER_MAX_WORKERS; i++)
		if (b->b_workers[i].bw_peer != NULL)
			n += broker_conn_count(&b->b_workers[i]);
	return n;
}

static int64_t
api_uptime_ms(const struct broker *b)
{
	int64_t ms = now_wall_ms() - b->b_start_ms;

	return ms > 0 ? ms : 0;
}

static void
api_healthz(struct broker *b, struct evhttp_request *req)
{
	json_object *o = json_object_new_object();
	bool ok = service_health(b) == 0;

	json_object_object_add(o, "status",
	    json_object_new_string(ok ? "ok" : "error"));
	json_object_object_add(o, "broker_pid",
	    json_object_new_int64((int64_t)b->b_pid));
	json_object_object_add(o, "uptime",
	    json_object_new_int64(api_uptime_ms(b) / 1000));
	json_object_object_add(o, "connections",
	    json_object_new_uint64(api_conn_total(b)));
	if (!ok) {
		json_object_object_add(o, "message",
		    json_object_new_string("database error"));
		log_info("api_request", "GET /healthz: 503 database error");
	}
	api_reply_json(req, ok ? HTTP_OK : HTTP_SERVUNAVAIL, o);
}

static void
api_metrics(struct broker *b, struct evhttp_request *req)
{
	const struct api_counter *c;
	struct evbuffer *buf;
	int64_t up = api_uptime_ms(b);

	if ((buf = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(buf,
	    "# HELP parley_connections Live client connections per worker.\n"
	    "# TYPE parley_connections gauge\n");
	for (int i = 0; i <= BROKER_MAX_WORKERS; i++) {
		const struct bworker *bw = &b->b_workers[i];

		if (bw->bw_peer != NULL)
			evbuffer_add_printf(buf,
			    "parley_connections{worker=\"%d\"} %zu\n",
			    bw->bw_slot, broker_conn_count(bw));
	}
	evbuffer_add_printf(buf,
	    "# HELP parley_connections_total Live client connections.\n"
	    "# TYPE parley_connections_total gauge\n"
	    "parley_connections_total %llu\n",
	    (unsigned long long)api_conn_total(b));
	evbuffer_add_printf(buf,
	    "# HELP parley_reads_pending Reads waiting for or running on a "
	    "reader thread.\n"
	    "# TYPE parley_reads_pending gauge\n"
	    "parley_reads_pending %zu\n", reader_pending(b->b_reader));
	for (c = api_counters; c->ac_name != NULL; c++)
		evbuffer_add_printf(buf, "# HELP %s %s\n# TYPE %s counter\n"
		    "%s %llu\n", c->ac_name, c->ac_help, c->ac_name, c->ac_name,
		    (unsigned long long)*(const uint64_t *)(const void *)
		    ((const char *)&b->b_metrics + c->ac_off));
	evbuffer_add_printf(buf,
	    "# HELP parley_uptime_seconds Seconds since the broker started.\n"
	    "# TYPE parley_uptime_seconds gauge\n"
	    "parley_uptime_seconds %lld.%03lld\n",
	    (long long)(up / 1000), (long long)(up % 1000));
	api_send(req, HTTP_OK, API_PROM_TYPE, buf);
	evbuffer_free(buf);
}

/* Read the key: one trailing newline (LF or CRLF) is not part of it. */
static char *
api_key_load(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *key;
	size_t len;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "[api] key_file is not set");
		return NULL;
	}
	if ((key = read_small_file(path, API_MAX_KEY, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (len > 0 && key[len - 1] == '\n' && --len > 0 &&
	    key[len - 1] == '\r')
		len--;
	key[len] = '\0';
	if (len == 0 || strlen(key) != len) {
		snprintf(err, errlen, "%s: %s", path, len == 0 ?
		    "the API key is empty" : "the API key contains a NUL byte");
		sodium_memzero(key, len);
		free(key);
		return NULL;
	}
	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("api_key", "%s is readable by every user", path);
	return key;
}

int
api_start(struct broker *b, int fd, char *err, size_t errlen)
{
	struct evhttp *http = NULL;
	char *key;

	/* Without a key the API still serves /healthz and /metrics; every
	 * publish is refused.  Better than no server at all. */
	if ((key = api_key_load(b->b_cfg->api_key_file, err, errlen)) == NULL)
		log_warnx("api_no_key", "%s: POST /api/publish will answer 401",
		    err);
	if ((http = evhttp_new(b->b_base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_max_body_size(http, API_MAX_BODY);
	evhttp_set_max_headers_size(http, API_MAX_HEADERS);
	evhttp_set_timeout(http, API_TIMEOUT);
	evhttp_set_allowed_methods(http, API_METHODS);
	evhttp_set_gencb(http, api_dispatch, b);
	/* evconnlistener accepts until EAGAIN: a blocking fd would hang. */
	if (fd_set_nonblock(fd) == -1 || evhttp_accept_socket(http, fd) == -1) {
		snprintf(err, errlen, "cannot accept on the API socket");
		goto fail;
	}
	b->b_api = http;
	b->b_api_key = key;
	log_info("api_started", "HTTP API on %s", b->b_cfg->api_listen);
	return 0;
fail:
	if (http != NULL)
		evhttp_free(http);
	if (key != NULL) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	if (fd != -1)
		close(fd);	/* evhttp did not take it */
	return -1;
}

void
api_stop(struct broker *b)
{
	if (b->b_api != NULL) {
		evhttp_free(b->b_api);	/* closes the listening socket */
		b->b_api = NULL;
	}
	if (b->b_api_key != NULL) {
		sodium_memzero(b->b_api_key, strlen(b->b_api_key));
		free(b->b_api_key);
		b->b_api_key = NULL;
	}
}
