/* worker.h: a worker process: accepts clients, speaks WebSocket, talks to
 * the broker.  Only its entry point is public; the context it runs on is in
 * state.h. */
#ifndef PARLEY_WORKER_H
#define PARLEY_WORKER_H

struct parley_config;

/* fds are inherited from the supervisor; tls_fd is -1 when TLS is off. */
int	worker_main(const struct parley_config *cfg, int slot, int sup_fd,
	    int ws_fd, int tls_fd);

#endif
