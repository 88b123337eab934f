/* api.h: the broker's HTTP API (PROTOCOL.md section 6): POST /api/publish,
 * GET /healthz and GET /metrics on the inherited API listening socket. */
#ifndef PARLEY_API_H
#define PARLEY_API_H

#include <stddef.h>

struct broker;

/*
 * Read the bearer key from cfg->api_key_file and serve HTTP on fd, the
 * bound and listening API socket.  fd is the API's from then on: it is
 * closed by api_stop(), or at once if this fails.  Sets b->b_api and
 * b->b_api_key.  Returns 0, or -1 with a message in err.
 */
int	api_start(struct broker *b, int fd, char *err, size_t errlen);
/* Stop serving, close the socket and wipe the key.  Safe if not started. */
void	api_stop(struct broker *b);

#endif
