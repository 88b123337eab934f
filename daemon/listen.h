/* listen.h: bind parleyd's listening sockets (listen.c). */
#ifndef PARLEY_LISTEN_H
#define PARLEY_LISTEN_H

#include <stdbool.h>

/* host:port, port_override > 0 replaces the port; SO_REUSEPORT if asked. */
int	listen_tcp(const char *hostport, int port_override, bool reuseport);
/* The port fd is bound to, or -1. */
int	listen_port(int fd);
/* n sockets on one port (port 0: the first picks it, in *portp); owned. */
int	*listen_reuseport(const char *hostport, int n, int *portp);
/* The control socket at path, mode 0660; refuses a path in use. */
int	listen_control(const char *path);

#endif
