/* control.h: the admin control socket, served by the broker. */
#ifndef PARLEY_CONTROL_H
#define PARLEY_CONTROL_H

#include <stddef.h>

struct broker;
struct evbuffer;

int	control_start(struct broker *b, int fd);
void	control_stop(struct broker *b);

/* ctl_cmds.c: one handler per parleyctl command; text goes to out.
 * Returns 0 (ok) or 1 (error: out says why). */
int	ctl_dispatch(struct broker *b, int argc, char **argv,
	    struct evbuffer *out);

#endif
