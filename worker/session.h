/* session.h: the chat endpoint's per-connection protocol state (auth,
 * joined rooms) and the JSON edge: requests in, typed IPC out. */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include <stddef.h>

struct ws_conn;
struct worker;
struct http_upgrade_req;
struct ipc_msg;

void	session_on_open(struct ws_conn *c, const struct http_upgrade_req *req);
void	session_on_text(struct ws_conn *c, const char *text, size_t len);
void	session_on_close(struct ws_conn *c);
/* After a broker restart: re-send what the broker must know. */
void	session_reregister(struct ws_conn *c);

#endif
