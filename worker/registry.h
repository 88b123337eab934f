/* registry.h: the worker's connections, its broker link and the gone list
 * (registry.c).  Lower files reach the broker only through here. */
#ifndef PARLEY_WORKER_REGISTRY_H
#define PARLEY_WORKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

struct worker;
struct ws_conn;
struct ipc_msg;

void	worker_conn_added(struct worker *w, struct ws_conn *c);
void	worker_conn_removed(struct worker *w, struct ws_conn *c);
/* Draining and nothing left: end the loop. */
void	worker_exit_if_drained(struct worker *w);
/* Tell the broker about an open connection (if the broker is up). */
void	worker_register_conn(struct worker *w, struct ws_conn *c,
	    bool resumed);
/* Send an IPC message about a connection to the broker; -1 if it is down. */
int	worker_to_broker(struct worker *w, struct ipc_msg *m);
/* A chat connection of user (display name) closed while the broker was
 * away; rooms (an array of owned strings) is taken over. */
void	worker_gone_note(struct worker *w, const char *user, const char *name,
	    char **rooms, size_t nrooms);
/* After re-registering: report them to the broker (IPC_CONN_GONE). */
void	worker_gone_send(struct worker *w);
void	worker_gone_clear(struct worker *w);

#endif
