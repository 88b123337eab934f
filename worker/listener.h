/* listener.h: accepting plain and TLS connections (listener.c). */
#ifndef PARLEY_WORKER_LISTENER_H
#define PARLEY_WORKER_LISTENER_H

struct worker;

int	listener_start(struct worker *w, int ws_fd, int tls_fd);
void	listener_stop(struct worker *w);

#endif
