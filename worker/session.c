/*
 * session.c: the chat endpoint's per-connection protocol state.  It
 * authenticates the connection (token in the upgrade, or an auth message
 * before auth_timeout), answers ping/auth/refresh itself, remembers the
 * rooms the connection asked to join, and turns every other request into
 * IPC_CLIENT_REQ for the broker.  Replies are built with json-c.
 * Choices where PROTOCOL.md is silent:
 * - The welcome and refreshed replies to an auth/refresh message carry its
 *   id, like every reply (section 3).
 * - A token already past exp but accepted within leeway lives until
 *   exp + leeway; otherwise the connection is closed at exp itself.
 * - A failed refresh (bad token, another user) is an error reply only: the
 *   token the connection holds stays valid until its own exp.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "auth.h"
#include "chat.h"
#include "chat_req.h"
#include "config.h"
#include "conn.h"
#include "envelope.h"
#include "http_upgrade.h"
#include "ipc.h"
#include "log.h"
#include "registry.h"
#include "seqset.h"
#include "session_claims.h"
#include "session.h"
#include "state.h"
#include "util.h"

/* Longest single wait on the exp timer; the callback re-arms for the rest,
 * so a far-future exp never overflows libevent's clock arithmetic. */
#define SESSION_MAX_WAIT_MS	(24 * 3600 * 1000LL)
/* Requests one connection may have waiting at the broker. */
#define SESSION_MAX_INFLIGHT	256

struct session {
	struct session_claims	 se_id;		/* valid if se_authed */
	/* auth_timeout until the welcome, then the token's exp: one timer,
	 * never both at once. */
	struct event		*se_timer;
	int64_t			 se_exp_at_ms;	/* wall clock; 0: none */
	char			*se_welcome_id;	/* the auth message's id, for
						 * the welcome; owned */
	/* Ids of requests the broker has not answered yet, oldest first
	 * (a ring, freed when it empties): if the broker dies they are
	 * answered UNAVAILABLE. */
	char			**se_inflight;
	uint16_t		 se_if_head, se_if_n, se_if_cap;
	bool			 se_authed;	/* token verified */
	bool			 se_welcomed;	/* the broker let the login in
						 * (IPC_AUTH_OK): welcome sent */
	bool			 se_auth_sent;	/* broker has our CONN_AUTH */
	/* Joined (the broker said so), with the last seq delivered in each;
	 * a room or two inline. */
	struct seqset		 se_rooms;
};

static const char *
session_display(const struct session *s)
{
	return s->se_id.sc_name != NULL ? s->se_id.sc_name : s->se_id.sc_user;
}

static void
session_room_add(struct session *s, const char *room, int64_t seq)
{
	if (seqset_find(&s->se_rooms, room) == NULL &&
	    seqset_count(&s->se_rooms) >= CHAT_MAX_ROOMS_PER_CONN)
		return;
	seqset_add(&s->se_rooms, room, seq);
}

void
session_room_seq(struct ws_conn *c, const char *room, int64_t seq)
{
	if (c->wc_session != NULL && c->wc_session->se_authed)
		session_room_add(c->wc_session, room, seq);
}

void
session_note_seq(struct ws_conn *c, const char *room, int64_t seq)
{
	struct session *s = c->wc_session;
	int64_t *last;

	/* Every delivery: a lookup, no allocation. */
	if (s != NULL && (last = seqset_find(&s->se_rooms, room)) != NULL &&
	    seq > *last)
		*last = seq;
}

/* JSON replies. */

/* Serialise, send and release obj. */
static void
session_send_json(struct ws_conn *c, json_object *obj)
{
	const char	*text = NULL;

	if (obj != NULL)
		text = json_object_to_json_string_ext(obj, ENVELOPE_JSON_FLAGS);
	if (text == NULL) {
		log_conn(LOG_LVL_WARN, c->wc_id, "reply_failed",
		    "out of memory building a reply");
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
	} else
		conn_send_text(c, text, strlen(text));
	json_object_put(obj);
}

void
session_send_error(struct ws_conn *c, const char *id_json, enum perr code,
    const char *field, const char *message)
{
	session_send_json(c, envelope_error(id_json, code, field, message));
}

/* Broker messages. */

/* Tell the broker who this is.  Skipped (-1) while the broker does not
 * know the connection: session_reregister sends it with CONN_OPEN. */
static int
session_send_auth(struct ws_conn *c)
{
	struct session	*s = c->wc_session;
	struct ipc_msg	 m;

	s->se_auth_sent = false;
	if (!s->se_authed || !c->wc_registered)
		return -1;
	ipc_msg_init(&m, IPC_CONN_AUTH, c->wc_id);
	/* The broker told us (IPC_ROOM_SEQ) once it sent the personal
	 * backlog; a connection that never got it must get it now, even if
	 * it logs in while the broker restarts. */
	{
		char room[CHAT_MAX_ROOM + 1];
		struct chat_identity id;

		snprintf(room, sizeof(room), "user:%s", s->se_id.sc_user);
		ipc_add_u8(&m, (seqset_find(&s->se_rooms, room) != NULL ?
		    IPC_AUTH_F_BACKLOG_SENT : 0) |
		    (s->se_welcomed ? IPC_AUTH_F_WELCOMED : 0));
		session_identity(&s->se_id, &id);
		chat_identity_encode(&m, &id);
	}
	if (worker_to_broker(c->wc_worker, &m) == -1) {
		log_conn(LOG_LVL_WARN, c->wc_id, "conn_auth_unsent",
		    "could not queue IPC_CONN_AUTH");
		return -1;
	}
	s->se_auth_sent = true;
	return 0;
}

static void
session_send_rooms(struct ws_conn *c)
{
	struct session	*s = c->wc_session;
	struct ipc_msg	 m;
	size_t		 i, n = seqset_count(&s->se_rooms);

	if (n == 0)
		return;
	ipc_msg_init(&m, IPC_CONN_ROOMS, c->wc_id);
	ipc_add_u32(&m, (uint32_t)n);
	for (i = 0; i < n; i++) {
		const struct seqset_ent *e = seqset_at(&s->se_rooms, i);

		ipc_add_str(&m, e->se_name);
		ipc_add_i64(&m, e->se_seq);
	}
	if (worker_to_broker(c->wc_worker, &m) == -1)
		log_conn(LOG_LVL_WARN, c->wc_id, "conn_rooms_unsent",
		    "could not queue IPC_CONN_ROOMS (%zu rooms)", n);
}

/* Timers. */

static void
session_exp_schedule(struct session *s, int64_t now_ms)
{
	int64_t		 wait = s->se_exp_at_ms - now_ms;
	struct timeval	 tv;

	if (wait < 0)
		wait = 0;
	if (wait > SESSION_MAX_WAIT_MS)
		wait = SESSION_MAX_WAIT_MS;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	event_add(s->se_timer, &tv);
}

static void
session_arm_exp(struct ws_conn *c)
{
	struct session	*s = c->wc_session;
	int64_t		 now = now_wall_ms(), exp = s->se_id.sc_exp;
	int64_t		 leeway = c->wc_worker->w_cfg->leeway;

	/* Before the welcome the timer is the auth timeout's: the welcome
	 * arms exp. */
	if (!s->se_welcomed)
		return;
	event_del(s->se_timer);
	s->se_exp_at_ms = 0;
	if (exp == 0)
		return;
	if (exp > INT64_MAX / 1000 - leeway)
		exp = INT64_MAX / 1000 - leeway;
	s->se_exp_at_ms = exp * 1000;
	/* Accepted only thanks to leeway: give it the rest of the leeway
	 * rather than a welcome followed at once by a close. */
	if (s->se_exp_at_ms <= now)
		s->se_exp_at_ms += leeway * 1000;
	session_exp_schedule(s, now);
}

static void
session_exp_cb(struct ws_conn *c)
{
	struct session	*s = c->wc_session;
	int64_t		 now = now_wall_ms();

	if (s->se_exp_at_ms == 0)
		return;
	if (now < s->se_exp_at_ms) {
		session_exp_schedule(s, now);
		return;
	}
	log_conn(LOG_LVL_INFO, c->wc_id, "token_expired", "user %s",
	    s->se_id.sc_user);
	session_send_error(c, NULL, PERR_INVALID_TOKEN, NULL, "token expired");
	conn_close(c, WS_CLOSE_INVALID_TOKEN, "token expired");
}

static void
session_auth_timeout_cb(struct ws_conn *c)
{
	struct session	*s = c->wc_session;

	if (s->se_authed) {
		/* Verified, but no word from the broker on the user's limits
		 * (it is restarting, or stalled): no welcome, try later. */
		log_conn(LOG_LVL_WARN, c->wc_id, "admit_timeout",
		    "user %s: no answer from the broker in %d s",
		    s->se_id.sc_user, c->wc_worker->w_cfg->auth_timeout);
		conn_close(c, WS_CLOSE_TRY_AGAIN, "server busy; try again");
		return;
	}
	log_conn(LOG_LVL_INFO, c->wc_id, "auth_timeout",
	    "no token within %d s", c->wc_worker->w_cfg->auth_timeout);
	conn_close(c, WS_CLOSE_AUTH_TIMEOUT, "auth timeout");
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_conn	*c = arg;

	if (c->wc_session->se_welcomed)
		session_exp_cb(c);
	else
		session_auth_timeout_cb(c);
}

/* Authentication. */

static int
session_verify(struct ws_conn *c, const char *token, struct chat_identity *id,
    const char **why)
{
	/* Not time(NULL): on Linux it reads the coarse clock, up to a tick
	 * behind, so with leeway 0 a token just issued (iat = now) could be
	 * refused as "issued in the future" at a second boundary. */
	if (auth_verify(c->wc_worker->w_auth, token, now_wall_ms() / 1000, id,
	    why) == -1) {
		log_conn(LOG_LVL_INFO, c->wc_id, "auth_failed", "%s", *why);
		return -1;
	}
	return 0;
}

static void
session_send_invalid(struct ws_conn *c, const char *id_json, const char *why)
{
	char	msg[CHAT_REQ_MSG_SIZE];

	snprintf(msg, sizeof(msg), "invalid token: %s", why);
	session_send_error(c, id_json, PERR_INVALID_TOKEN, NULL, msg);
}

/*
 * Take id (ownership moves here) and ask the broker: the welcome waits for
 * its word on the user's limits (IPC_AUTH_OK, or a 4429 close), so a
 * client that got welcome is in.  Reads pause meanwhile; the auth timer
 * bounds the wait.
 */
static void
session_accept(struct ws_conn *c, struct chat_identity *id,
    const char *id_json)
{
	struct session	*s = c->wc_session;

	session_claims_take(&s->se_id, id);
	s->se_authed = true;
	s->se_welcome_id = id_json != NULL ? xstrdup(id_json) : NULL;
	log_conn(LOG_LVL_INFO, c->wc_id, "auth_ok", "user %s",
	    s->se_id.sc_user);
	if (!event_pending(s->se_timer, EV_TIMEOUT, NULL))
		event_add(s->se_timer, &(struct timeval){
		    c->wc_worker->w_cfg->auth_timeout, 0 });
	conn_pause(c, CONN_PAUSE_ADMIT, true);
	/* Not registered yet (the broker is away): session_reregister
	 * sends it with CONN_OPEN. */
	session_send_auth(c);
}

void
session_on_admitted(struct ws_conn *c)
{
	const struct parley_config *cfg = c->wc_worker->w_cfg;
	struct session	*s = c->wc_session;
	json_object	*obj;
	char		 conn[17], now[32];

	if (s == NULL || !s->se_authed || s->se_welcomed)
		return;
	event_del(s->se_timer);
	s->se_welcomed = true;
	snprintf(conn, sizeof(conn), "%016" PRIx64, c->wc_id);
	format_iso8601_ms(now_wall_ms(), now);
	if ((obj = envelope_new("welcome", s->se_welcome_id)) != NULL) {
		json_object_object_add(obj, "user",
		    json_object_new_string(s->se_id.sc_user));
		json_object_object_add(obj, "name",
		    json_object_new_string(session_display(s)));
		json_object_object_add(obj, "conn",
		    json_object_new_string(conn));
		json_object_object_add(obj, "server_time",
		    json_object_new_string(now));
		json_object_object_add(obj, "ping_interval",
		    json_object_new_int(cfg->ping_interval));
	}
	free(s->se_welcome_id);
	s->se_welcome_id = NULL;
	/* The broker sends what follows (the personal backlog) after
	 * IPC_AUTH_OK, so the welcome is first. */
	session_send_json(c, obj);
	session_arm_exp(c);
	conn_pause(c, CONN_PAUSE_ADMIT, false);
}

/* First authentication; a bad token closes the connection with 4401. */
static void
session_login(struct ws_conn *c, const char *token, const char *id_json)
{
	struct chat_identity	 id;
	const char		*why;

	if (session_verify(c, token, &id, &why) == -1) {
		session_send_invalid(c, id_json, why);
		conn_close(c, WS_CLOSE_INVALID_TOKEN, why);
		return;
	}
	session_accept(c, &id, id_json);
}

/*
 * A new token for the same user.  A bad one is only an error: the token
 * the connection holds stays valid until its exp, and the client may try
 * again; closing would punish a client for a refresh race.
 */
static void
session_refresh(struct ws_conn *c, const char *token, const char *id_json)
{
	struct session		*s = c->wc_session;
	struct chat_identity	 id;
	json_object		*obj;
	const char		*why;

	if (session_verify(c, token, &id, &why) == -1) {
		session_send_invalid(c, id_json, why);
		return;
	}
	if (strcmp(id.ci_user, s->se_id.sc_user) != 0) {
		log_conn(LOG_LVL_INFO, c->wc_id, "refresh_failed",
		    "token for another user");
		chat_identity_free(&id);
		session_send_error(c, id_json, PERR_INVALID_TOKEN, NULL,
		    "refresh token is for another user");
		return;
	}
	session_claims_clear(&s->se_id);
	session_claims_take(&s->se_id, &id);
	log_conn(LOG_LVL_INFO, c->wc_id, "refresh_ok", "user %s",
	    s->se_id.sc_user);
	session_arm_exp(c);
	if ((obj = envelope_new("refreshed", id_json)) != NULL)
		json_object_object_add(obj, "exp", s->se_id.sc_exp != 0 ?
		    json_object_new_int64(s->se_id.sc_exp) : NULL);
	session_send_json(c, obj);
	/* The broker takes a second CONN_AUTH as an identity update. */
	session_send_auth(c);
}

/* Requests for the broker. */

/* In-flight requests. */

static void
session_inflight_push(struct session *s, const char *id)
{
	if (s->se_if_n == s->se_if_cap) {
		uint16_t cap = s->se_if_cap ? s->se_if_cap * 2 : 4;
		char **ring = xcalloc(cap, sizeof(*ring));

		for (size_t i = 0; i < s->se_if_n; i++)
			ring[i] = s->se_inflight[(s->se_if_head + i) %
			    s->se_if_cap];
		free(s->se_inflight);
		s->se_inflight = ring;
		s->se_if_cap = cap;
		s->se_if_head = 0;
	}
	s->se_inflight[(s->se_if_head + s->se_if_n) % s->se_if_cap] =
	    xstrdup(id);
	s->se_if_n++;
}

static char *
session_inflight_pop(struct session *s)
{
	char *id;

	if (s->se_if_n == 0)
		return NULL;
	id = s->se_inflight[s->se_if_head];
	s->se_if_head = (uint16_t)((s->se_if_head + 1) % s->se_if_cap);
	/* An idle connection keeps no ring. */
	if (--s->se_if_n == 0) {
		free(s->se_inflight);
		s->se_inflight = NULL;
		s->se_if_head = s->se_if_cap = 0;
	}
	return id;
}

void
session_on_response(struct ws_conn *c)
{
	struct session *s = c->wc_session;

	if (s != NULL)
		free(session_inflight_pop(s));
}

void
session_broker_lost(struct ws_conn *c)
{
	struct session *s = c->wc_session;
	char *id;

	if (s == NULL)
		return;
	s->se_auth_sent = false;
	while ((id = session_inflight_pop(s)) != NULL) {
		session_send_error(c, id, PERR_UNAVAILABLE, NULL,
		    "the server restarted before answering; retry");
		free(id);
	}
}

static void
session_forward(struct ws_conn *c, const struct chat_req *r)
{
	struct session	*s = c->wc_session;
	const char	*id = r->cr_id;
	struct ipc_msg	 m;

	if (c->wc_worker->w_broker == NULL || !c->wc_registered ||
	    (!s->se_auth_sent && session_send_auth(c) == -1)) {
		session_send_error(c, id, PERR_UNAVAILABLE, NULL,
		    "the server is restarting; retry");
		return;
	}
	/* typing is the one request the broker does not answer. */
	if (r->cr_kind != CHAT_REQ_TYPING &&
	    s->se_if_n >= SESSION_MAX_INFLIGHT) {
		session_send_error(c, id, PERR_UNAVAILABLE, NULL,
		    "too many requests waiting for an answer; slow down");
		return;
	}
	if (r->cr_kind == CHAT_REQ_JOIN &&
	    seqset_count(&s->se_rooms) >= CHAT_MAX_ROOMS_PER_CONN &&
	    seqset_find(&s->se_rooms, r->cr_room) == NULL) {
		session_send_error(c, id, PERR_VALIDATION_ERROR, "room",
		    "too many rooms on one connection");
		return;
	}
	ipc_msg_init(&m, IPC_CLIENT_REQ, c->wc_id);
	chat_req_encode(&m, r);
	if (ipc_msg_finish(&m) == -1) {
		ipc_msg_free(&m);
		log_conn(LOG_LVL_WARN, c->wc_id, "client_req_unsent",
		    "request does not fit in an IPC message");
		session_send_error(c, id, PERR_INTERNAL_ERROR, NULL,
		    "request too large to forward");
		return;
	}
	if (worker_to_broker(c->wc_worker, &m) == -1) {
		session_send_error(c, id, PERR_UNAVAILABLE, NULL,
		    "the server is busy; retry");
		return;
	}
	if (r->cr_kind != CHAT_REQ_TYPING)
		session_inflight_push(s, id);
	/* The room set changes only when the broker says so (IPC_ROOM_SEQ,
	 * IPC_ROOM_LEFT): a refused join or leave leaves it as it was. */
}

void
session_room_left(struct ws_conn *c, const char *room)
{
	if (c->wc_session != NULL)
		seqset_del(&c->wc_session->se_rooms, room);
}

/* Entry points from conn.c and worker.c. */

void
session_on_open(struct ws_conn *c, const struct http_upgrade_req *req)
{
	struct worker	*w = c->wc_worker;
	struct session	*s = xcalloc(1, sizeof(*s));
	char		*query_token = NULL;
	const char	*token;

	seqset_init(&s->se_rooms);
	s->se_timer = evtimer_new(w->w_base, session_timer_cb, c);
	c->wc_session = s;
	if (s->se_timer == NULL) {
		log_conn(LOG_LVL_WARN, c->wc_id, "session_alloc",
		    "evtimer_new failed");
		conn_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}

	if (req->hu_query != NULL)
		query_token = http_query_param(req->hu_query, "token");
	token = query_token != NULL ? query_token : req->hu_bearer;
	if (token != NULL)
		session_login(c, token, NULL);
	else
		event_add(s->se_timer,
		    &(struct timeval){ w->w_cfg->auth_timeout, 0 });
	if (query_token != NULL)
		explicit_bzero(query_token, strlen(query_token));
	free(query_token);
}

void
session_on_text(struct ws_conn *c, const char *text, size_t len)
{
	const struct parley_config *cfg = c->wc_worker->w_cfg;
	struct session		*s = c->wc_session;
	struct chat_limits	 lim;
	struct chat_parsed	 p;

	if (s == NULL)
		return;
	chat_limits_default(&lim);
	lim.cl_max_text = (size_t)cfg->max_text;
	lim.cl_max_bytes = conn_max_message(c);
	chat_req_parse(text, len, &lim, &p);
	/* An auth or refresh message holds a token: p has its own copies
	 * of all it needs, so wipe the text now (a close frees it). */
	if (p.cp_token != NULL)
		explicit_bzero((char *)(uintptr_t)text, len);

	/* Before auth only auth and ping are accepted (PROTOCOL.md 2);
	 * text that is not JSON at all still gets PARSE_ERROR. */
	if (!s->se_authed && p.cp_kind == CHAT_PARSED_ERROR &&
	    p.cp_err != CHAT_ERR_PARSE && !p.cp_preauth) {
		session_send_error(c, p.cp_id, PERR_NOT_AUTHENTICATED, NULL,
		    "authenticate first");
		chat_parsed_free(&p);
		return;
	}
	switch (p.cp_kind) {
	case CHAT_PARSED_ERROR:
		session_send_error(c, p.cp_id, chat_req_perr(p.cp_err),
		    p.cp_err == CHAT_ERR_VALIDATION ? p.cp_field : NULL,
		    p.cp_msg);
		break;
	case CHAT_PARSED_PING:
		session_send_json(c, envelope_new("pong", p.cp_id));
		break;
	case CHAT_PARSED_AUTH:
		if (s->se_authed)
			session_send_error(c, p.cp_id, PERR_VALIDATION_ERROR,
			    "type", "already authenticated");
		else
			session_login(c, p.cp_token, p.cp_id);
		break;
	case CHAT_PARSED_REFRESH:
		if (!s->se_authed)
			session_send_error(c, p.cp_id, PERR_NOT_AUTHENTICATED,
			    NULL, "authenticate first");
		else
			session_refresh(c, p.cp_token, p.cp_id);
		break;
	case CHAT_PARSED_REQ:
		if (!s->se_authed)
			session_send_error(c, p.cp_id, PERR_NOT_AUTHENTICATED,
			    NULL, "authenticate first");
		else
			session_forward(c, &p.cp_req);
		break;
	}
	chat_parsed_free(&p);
}

void
session_on_close(struct ws_conn *c)
{
	struct session	*s = c->wc_session;

	if (s == NULL)
		return;
	/* The broker is away: it must still hear of this user's leaves.
	 * The room names are handed over, not copied. */
	if (s->se_authed && seqset_count(&s->se_rooms) > 0 &&
	    c->wc_worker->w_broker == NULL) {
		size_t n;
		char **rooms = seqset_take_names(&s->se_rooms, &n);

		worker_gone_note(c->wc_worker, s->se_id.sc_user,
		    session_display(s), rooms, n);
	}
	if (s->se_timer != NULL)
		event_free(s->se_timer);
	session_claims_clear(&s->se_id);
	free(s->se_welcome_id);
	while (s->se_if_n > 0)
		free(session_inflight_pop(s));
	free(s->se_inflight);
	seqset_free(&s->se_rooms);
	free(s);
	c->wc_session = NULL;
}

void
session_reregister(struct ws_conn *c)
{
	struct session	*s = c->wc_session;

	if (s == NULL || !s->se_authed)
		return;
	/* Rooms only after the identity: the broker checks them against it. */
	if (session_send_auth(c) == 0)
		session_send_rooms(c);
}

const struct conn_app session_app = {
	.ca_open = session_on_open,
	.ca_text = session_on_text,
	.ca_close = session_on_close,
};
