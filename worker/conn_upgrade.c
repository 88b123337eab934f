/*
 * conn_upgrade.c: a connection's HTTP phase.  HANDSHAKE reads the request
 * head and checks it (path, origin); ADMITTING waits for the broker's
 * word on the per-address limits, then answers 101 and opens the
 * connection, or refuses it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "config.h"
#include "conn.h"
#include "conn_int.h"
#include "deflate.h"
#include "http_upgrade.h"
#include "log.h"
#include "registry.h"
#include "state.h"
#include "util.h"

static void
conn_http_error(struct ws_conn *c, int status, const char *why)
{
	char a[CONN_ADDR_STRLEN];

	log_conn(LOG_LVL_INFO, c->wc_id, "http_error", "%d %s from %s",
	    status, why, conn_addr(c, a));
	conn_out_http_error(c, status, why);
	conn_begin_flush(c);
}

static bool
origin_allowed(const char *list, const char *origin)
{
	size_t olen;
	const char *p;

	if (list == NULL || list[0] == '\0')
		return true;
	/* Browsers always send Origin on a WebSocket upgrade; its absence
	 * means a server or a bot, which cross-site hijacking cannot use
	 * (and which still needs a token). */
	if (origin == NULL)
		return true;
	olen = strlen(origin);
	for (p = list; *p != '\0';) {
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n == olen && strncasecmp(p, origin, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* The endpoint at path: a row of the worker's table whose configured path
 * is set (an empty one is off) and equal; NULL if none. */
static const struct conn_route *
conn_route_find(const struct conn_route *routes,
    const struct parley_config *cfg, const char *path)
{
	for (const struct conn_route *r = routes;
	    r->ro_endpoint != CONN_EP_NONE; r++) {
		const char *p = *(char *const *)(const void *)
		    ((const char *)cfg + r->ro_path_off);

		if (p != NULL && p[0] != '\0' && strcmp(p, path) == 0)
			return r;
	}
	return NULL;
}

static void
conn_upgrade(struct ws_conn *c, const char *head, size_t len)
{
	const struct parley_config *cfg = c->wc_worker->w_cfg;
	const struct conn_route *route;
	struct http_upgrade_req req;
	const char *why = "";
	int status;

	memset(&req, 0, sizeof(req));
	if ((status = http_upgrade_parse(head, len, &req, &why)) != 0) {
		conn_http_error(c, status, why);
		goto done;
	}
	if ((route = conn_route_find(c->wc_worker->w_routes, cfg,
	    req.hu_path)) == NULL) {
		conn_http_error(c, 404, "no WebSocket endpoint at this path");
		goto done;
	}
	c->wc_endpoint = route->ro_endpoint;
	c->wc_app = route->ro_app;
	if (!origin_allowed(cfg->allowed_origins, req.hu_origin)) {
		c->wc_endpoint = CONN_EP_NONE;
		c->wc_app = NULL;
		conn_http_error(c, 403, "origin not allowed");
		goto done;
	}
	/* The broker decides the per-address limits before the 101; until
	 * then nothing is read (a client may not send frames yet). */
	c->wc_upgrade = xmalloc(sizeof(*c->wc_upgrade));
	*c->wc_upgrade = req;
	memset(&req, 0, sizeof(req));
	conn_set_state(c, CONN_ADMITTING);
	conn_pause(c, CONN_PAUSE_ADMIT, true);
	conn_arm_timer(c, cfg->handshake_timeout);
	worker_register_conn(c->wc_worker, c, false);
done:
	http_upgrade_req_free(&req);
}

void
conn_admitted(struct ws_conn *c)
{
	const struct parley_config *cfg = c->wc_worker->w_cfg;
	struct http_upgrade_req *req = c->wc_upgrade;
	char accept[HTTP_WS_ACCEPT_LEN + 1], ext[DEFLATE_HDR_MAX];
	char a[CONN_ADDR_STRLEN];
	struct deflate_params dp;
	bool pmd;

	if (c->wc_state != CONN_ADMITTING || req == NULL)
		return;
	c->wc_upgrade = NULL;
	http_ws_accept(req->hu_key, accept);
	pmd = cfg->permessage_deflate &&
	    deflate_negotiate(req, &dp, ext, sizeof(ext)) == 0;
	conn_out_http_101(c, accept, pmd ? ext : NULL);
	conn_set_state(c, CONN_OPEN);
	/* With deflate the wire bound is looser (incompressible data grows a
	 * little); the inflated size, and an uncompressed message's size,
	 * are held to max_message_bytes in conn_read_frames/conn_inflate. */
	ws_parser_init(&c->wc_parser, pmd ?
	    deflate_wire_bound(conn_max_message(c)) : conn_max_message(c));
	c->wc_parser.wp_validate_utf8 = true;
	if (pmd) {
		c->wc_deflate = deflate_new(&dp);
		c->wc_parser.wp_allow_rsv1 = true;
	}
	c->wc_last_rx_ms = now_mono_ms();
	conn_arm_timer(c, cfg->ping_interval);
	log_conn(LOG_LVL_DEBUG, c->wc_id, "ws_open", "%s from %s%s%s",
	    req->hu_path, conn_addr(c, a), pmd ? ", " : "", pmd ? ext : "");
	conn_pause(c, CONN_PAUSE_ADMIT, false);
	if (c->wc_app != NULL)
		c->wc_app->ca_open(c, req);
	http_upgrade_req_free(req);
	free(req);
}

void
conn_refused(struct ws_conn *c, uint64_t retry_after_ms, const char *why)
{
	char a[CONN_ADDR_STRLEN];

	if (c->wc_state != CONN_ADMITTING)
		return;
	log_conn(LOG_LVL_INFO, c->wc_id, "http_error", "429 %s from %s", why,
	    conn_addr(c, a));
	conn_out_http_refusal(c, 429, why,
	    (unsigned)((retry_after_ms + 999) / 1000));
	conn_begin_flush(c);
}

bool
conn_read_head(struct ws_conn *c, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	size_t look = avail < HTTP_MAX_HEAD ? avail : HTTP_MAX_HEAD;
	const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)look);
	long end = http_upgrade_head_end(buf, look, HTTP_MAX_HEAD);

	if (end == 0 && avail >= HTTP_MAX_HEAD)
		end = -1;
	if (end == 0)
		return false;
	if (end < 0) {
		evbuffer_drain(in, avail);
		conn_http_error(c, 431, "request head over 8 KiB");
		return false;
	}
	conn_upgrade(c, buf, (size_t)end);
	/* The head may carry a token (query string, Authorization). */
	explicit_bzero((char *)(uintptr_t)buf, (size_t)end);
	evbuffer_drain(in, (size_t)end);
	return false;	/* frames are read once the broker admits it */
}
