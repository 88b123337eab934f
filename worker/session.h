/* session.h: the chat endpoint's per-connection protocol state (auth,
 * joined rooms) and the JSON edge: requests in, typed IPC out. */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

struct ws_conn;
struct worker;
struct http_upgrade_req;
struct ipc_msg;


/* Opaque; c->wc_session, from session_on_open to session_on_close. */
struct session;

/* The chat endpoint's application, for the worker's endpoint table. */
extern const struct conn_app session_app;

void	session_on_open(struct ws_conn *c, const struct http_upgrade_req *req);
void	session_on_text(struct ws_conn *c, const char *text, size_t len);
/* Safe when session_on_open never ran. */
void	session_on_close(struct ws_conn *c);
/* The broker let the login in (IPC_AUTH_OK): send the welcome. */
void	session_on_admitted(struct ws_conn *c);
/* After a broker restart: re-send what the broker must know. */
void	session_reregister(struct ws_conn *c);
/* The broker says the connection is in room with everything up to seq. */
void	session_room_seq(struct ws_conn *c, const char *room, int64_t seq);
/* The broker took the connection out of room. */
void	session_room_left(struct ws_conn *c, const char *room);
/* A sequenced item of room was delivered to the connection. */
void	session_note_seq(struct ws_conn *c, const char *room, int64_t seq);
/* The broker answered one of this connection's requests. */
void	session_on_response(struct ws_conn *c);
/* The broker is gone: answer what it never will. */
void	session_broker_lost(struct ws_conn *c);

/*
 * Send {"type":"error","id":..,"code":..,"message":..,"field":..}.
 * id_json is the request's id as JSON text ("" or NULL: none); field is
 * added when not NULL (VALIDATION_ERROR).  The connection stays open.
 */
void	session_send_error(struct ws_conn *c, const char *id_json,
	    enum perr code, const char *field, const char *message);

#endif
