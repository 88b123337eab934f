/*
 * listen.c: the listening sockets parleyd binds before it forks: TCP
 * (one SO_REUSEPORT socket per worker, or one for the API) and the control
 * socket.  A socket that cannot be bound is fatal: it is start-up.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "util.h"

int
listen_tcp(const char *hostport, int port_override, bool reuseport)
{
	char host[256], port[16];
	struct addrinfo hints, *res = NULL;
	int fd = -1, on = 1, rc;

	if (cfg_split_hostport(hostport, host, sizeof(host), port,
	    sizeof(port)) == -1)
		fatalx("config", "bad listen address '%s'", hostport);
	if (port_override > 0)
		snprintf(port, sizeof(port), "%d", port_override);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0)
		fatalx("listen", "%s: %s", hostport, gai_strerror(rc));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("listen", "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		fatal("listen", "SO_REUSEPORT");
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		fatal("listen", "bind %s", hostport);
	if (listen(fd, 511) == -1)
		fatal("listen", "listen %s", hostport);
	freeaddrinfo(res);
	return fd;
}

int
listen_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* One listening socket per worker on the same port: the kernel spreads
 * new connections over them (SO_REUSEPORT), so no accept mutex. */
int *
listen_reuseport(const char *hostport, int n, int *portp)
{
	int *fds = xcalloc((size_t)n, sizeof(int));

	fds[0] = listen_tcp(hostport, 0, true);
	*portp = listen_port(fds[0]);
	for (int i = 1; i < n; i++)
		fds[i] = listen_tcp(hostport, *portp, true);
	return fds;
}

int
listen_control(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("control", "socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("control", "socket");
	/* A socket that still answers belongs to a running parleyd. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("control", "%s is in use: is parleyd already running?",
		    path);
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("control", "bind %s", path);
	umask(old);
	if (chmod(path, 0660) == -1 || listen(fd, 16) == -1)
		fatal("control", "%s", path);
	return fd;
}
