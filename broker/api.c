/*
 * api.c: the broker's HTTP API (PROTOCOL.md section 6).  evhttp serves the
 * inherited listening socket; a static route table maps method and path
 * to a handler and says which routes need the bearer key.  This file only
 * authenticates, parses and validates; service_publish() does the work.
 * Every answer is JSON, but /metrics (Prometheus text format 0.0.4).
 * At most [api] max_connections connections: at the cap the listener
 * stops accepting (the kernel's backlog holds the next ones) until one
 * closes; each is closed after [api] timeout seconds idle.
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
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <sodium.h>

#include "api.h"
#include "api_body.h"
#include "batch.h"
#include "bounds.h"
#include "chat.h"
#include "config.h"
#include "envelope.h"
#include "log.h"
#include "reader.h"
#include "registry.h"
#include "service.h"
#include "state.h"
#include "util.h"

#define API_MAX_BODY		(1024 * 1024)	/* larger: evhttp answers 413 */
#define API_MAX_HEADERS		(8 * 1024)
#define API_MAX_KEY		4096		/* key file bytes */
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
	{ "parley_ipc_batches_total",
	    "IPC_DELIVER batches sent to workers.", M(bm_ipc_batches) },
	{ "parley_requests_total",
	    "Client requests handled.", M(bm_requests) },
	{ "parley_error_replies_total",
	    "Error replies sent to clients.", M(bm_errors) },
	{ "parley_rate_limited_total",
	    "Requests refused with RATE_LIMIT.", M(bm_rate_limited) },
	{ "parley_limit_kicks_total",
	    "Connections closed 4429 on a connection or abuse limit.",
	    M(bm_kicked) },
	{ "parley_conns_refused_total",
	    "Upgrades refused with HTTP 429 on a per-address limit.",
	    M(bm_conns_refused) },
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
api_error(struct evhttp_request *req, int code, enum perr_api error,
    const char *field, const char *fmt, ...)
{
	char msg[API_MAX_ERRMSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("api_request", "%s %.*s: %d %s%s%s: %s",
	    api_method_name(req), API_LOG_PATH, api_path(req), code,
	    perr_api_wire(error), field != NULL ? " field " : "",
	    field != NULL ? field : "", msg);
	api_reply_json(req, code, envelope_api_error(error, field, msg));
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
		api_error(req, HTTP_NOTFOUND, PERR_API_NOT_FOUND, NULL,
		    "no such path");
		return;
	}
	if (found == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", allow);
		api_error(req, 405, PERR_API_METHOD_NOT_ALLOWED, NULL,
		    "use %s for this path", allow);
		return;
	}
	if ((found->ar_flags & API_F_AUTH) && !api_authorized(b, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		api_error(req, 401, PERR_API_UNAUTHORIZED, NULL,
		    "a valid Authorization: Bearer <api key> header is required");
		return;
	}
	found->ar_handler(b, req);
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
		api_error(req, HTTP_BADREQUEST, PERR_API_BAD_REQUEST, NULL,
		    "invalid JSON: empty body");
		return;
	}
	if (api_parse_body(body, len, &obj, why, sizeof(why)) == -1) {
		api_error(req, HTTP_BADREQUEST, PERR_API_BAD_REQUEST, NULL,
		    "%s", why);
		return;
	}
	if (api_publish_parse(obj, b->b_cfg->max_text, &pr, &f) == -1) {
		api_error(req, HTTP_BADREQUEST, PERR_API_BAD_REQUEST,
		    f.af_field, "%s", f.af_msg);
		goto done;
	}
	memset(&res, 0, sizeof(res));
	switch (service_publish(b, &pr, &res)) {
	case 0:
		break;
	case PUBLISH_LIMIT:
		api_error(req, 403, PERR_API_LIMIT_EXCEEDED, "room",
		    "max_rooms (%d) reached: the server creates no more rooms",
		    b->b_cfg->max_rooms);
		goto done;
	default:
		api_error(req, HTTP_SERVUNAVAIL, PERR_API_UNAVAILABLE, NULL,
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

	for (int i = 0; i <= CFG_MAX_WORKERS; i++)
		if (b->b_workers[i].bw_peer != NULL)
			n += registry_count(&b->b_workers[i]);
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
	for (int i = 0; i <= CFG_MAX_WORKERS; i++) {
		const struct bworker *bw = &b->b_workers[i];

		if (bw->bw_peer != NULL)
			evbuffer_add_printf(buf,
			    "parley_connections{worker=\"%d\"} %zu\n",
			    bw->bw_slot, registry_count(bw));
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
	evbuffer_add_printf(buf,
	    "# HELP parley_search_index_lag Committed messages not yet in the "
	    "search index (search scans them; exact at any lag).\n"
	    "# TYPE parley_search_index_lag gauge\n"
	    "parley_search_index_lag %lld\n",
	    (long long)batch_index_lag(b));
	for (c = api_counters; c->ac_name != NULL; c++)
		evbuffer_add_printf(buf, "# HELP %s %s\n# TYPE %s counter\n"
		    "%s %llu\n", c->ac_name, c->ac_help, c->ac_name, c->ac_name,
		    (unsigned long long)*(const uint64_t *)(const void *)
		    ((const char *)&b->b_metrics + c->ac_off));
	evbuffer_add_printf(buf,
	    "# HELP parley_rooms Rooms in the database (max_rooms bounds it).\n"
	    "# TYPE parley_rooms gauge\n"
	    "parley_rooms %lld\n"
	    "# HELP parley_api_connections Open HTTP API connections.\n"
	    "# TYPE parley_api_connections gauge\n"
	    "parley_api_connections %d\n",
	    (long long)bounds_rooms(b), b->b_api_conns);
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

/*
 * Connections: counted in evhttp's bufferevent hook, uncounted in the
 * evhttp connection's close callback.  The connection does not exist yet
 * inside the hook, so the callback is set on the next loop pass, from the
 * bufferevent's callback argument (evhttp's connection); a reference
 * keeps the bufferevent valid until then, and one whose callbacks are
 * gone was freed (closed) already.
 */
static void
api_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct broker *b = arg;

	b->b_api_conns--;
	if (b->b_api_paused && b->b_api_listener != NULL &&
	    b->b_api_conns < b->b_cfg->max_api_connections) {
		b->b_api_paused = false;
		evconnlistener_enable(b->b_api_listener);
		log_info("api_accepting", "%d connections: accepting again",
		    b->b_api_conns);
	}
}

/* A new connection, until its close callback is set. */
struct api_watch {
	struct broker		*aw_broker;
	struct bufferevent	*aw_bev;	/* referenced */
};

static void
api_conn_watch(evutil_socket_t fd, short what, void *arg)
{
	struct api_watch *aw = arg;
	bufferevent_data_cb readcb;
	void *evcon = NULL;

	bufferevent_getcb(aw->aw_bev, &readcb, NULL, NULL, &evcon);
	if (readcb == NULL || evcon == NULL)
		api_conn_closed(NULL, aw->aw_broker);
	else
		evhttp_connection_set_closecb(evcon, api_conn_closed,
		    aw->aw_broker);
	bufferevent_decref(aw->aw_bev);
	free(aw);
}

static struct bufferevent *
api_conn_new(struct event_base *base, void *arg)
{
	struct broker *b = arg;
	struct api_watch *aw;
	struct bufferevent *bev;

	/* Out of memory: NULL, and evhttp tries a bufferevent of its own
	 * (uncounted; it would most likely fail too). */
	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;
	aw = xcalloc(1, sizeof(*aw));
	aw->aw_broker = b;
	aw->aw_bev = bev;
	if (event_base_once(base, -1, EV_TIMEOUT, api_conn_watch, aw,
	    &(struct timeval){ 0, 0 }) == -1) {
		free(aw);
		bufferevent_free(bev);
		return NULL;
	}
	bufferevent_incref(bev);
	if (++b->b_api_conns >= b->b_cfg->max_api_connections &&
	    !b->b_api_paused && b->b_api_listener != NULL) {
		b->b_api_paused = true;
		evconnlistener_disable(b->b_api_listener);
		log_warnx("api_conn_limit", "%d connections (max_connections): "
		    "not accepting until one closes", b->b_api_conns);
	}
	return bev;
}

int
api_start(struct broker *b, int fd, char *err, size_t errlen)
{
	struct evhttp *http = NULL;
	struct evhttp_bound_socket *bound;
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
	evhttp_set_timeout(http, b->b_cfg->api_timeout);
	evhttp_set_allowed_methods(http, API_METHODS);
	evhttp_set_gencb(http, api_dispatch, b);
	evhttp_set_bevcb(http, api_conn_new, b);
	/* evconnlistener accepts until EAGAIN: a blocking fd would hang. */
	if (fd_set_nonblock(fd) == -1 || (bound =
	    evhttp_accept_socket_with_handle(http, fd)) == NULL) {
		snprintf(err, errlen, "cannot accept on the API socket");
		goto fail;
	}
	b->b_api_listener = evhttp_bound_socket_get_listener(bound);
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
	/* Freeing the connections must not re-enable a freed listener. */
	b->b_api_listener = NULL;
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
