/* parleyctl.c: the admin client.  Sends one command over the control
 * socket with the same IPC codec the daemons use, prints the answer. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "supervisor.h"
#include "util.h"

#ifndef PARLEY_SYSCONFDIR
#define PARLEY_SYSCONFDIR "/etc"
#endif
#define CTL_TIMEOUT_MS	10000

static void
usage(void)
{
	fprintf(stderr, "usage: parleyctl [-s socket | -c config] command "
	    "[args...]\n  commands: status, help\n");
	exit(2);
}

static int
read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;

	while (len > 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *sock = NULL, *cfgpath = NULL;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un sun;
	struct ipc_msg m;
	struct ipc_hdr h;
	struct ipc_reader r;
	uint8_t hbuf[IPC_HDR_SIZE], *payload = NULL;
	const char *text;
	size_t textlen;
	uint32_t status;
	int ch, fd;

	while ((ch = getopt(argc, argv, "+c:s:h")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (sock == NULL) {
		struct parley_config cfg;
		char err[1024];

		if (cfgpath == NULL)
			cfgpath = PARLEY_SYSCONFDIR "/parley.conf";
		if (cfg_load(cfgpath, &cfg, err, sizeof(err), NULL) == -1) {
			fprintf(stderr, "parleyctl: %s\n", err);
			return 2;
		}
		snprintf(path, sizeof(path), "%s/%s", cfg.run_dir,
		    PARLEY_CTLSOCK);
		cfg_free(&cfg);
		sock = path;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "parleyctl: socket path too long\n");
		return 2;
	}
	strcpy(sun.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "parleyctl: cannot connect to %s: %s "
		    "(is parleyd running?)\n", sock, strerror(errno));
		return 1;
	}

	ipc_msg_init(&m, IPC_CTL_REQ, 0);
	ipc_add_u32(&m, (uint32_t)argc);
	for (int i = 0; i < argc; i++)
		ipc_add_str(&m, argv[i]);
	if (ipc_msg_finish(&m) == -1 || write_full(fd, m.im_buf, m.im_len) == -1) {
		fprintf(stderr, "parleyctl: cannot send the command\n");
		return 1;
	}
	ipc_msg_free(&m);

	if (read_full(fd, hbuf, sizeof(hbuf), CTL_TIMEOUT_MS) == -1 ||
	    ipc_hdr_decode(hbuf, &h) == -1 || h.type != IPC_CTL_REPLY) {
		fprintf(stderr, "parleyctl: no answer from %s (is the broker "
		    "running?)\n", sock);
		return 1;
	}
	payload = xmalloc(h.len);
	if (read_full(fd, payload, h.len, CTL_TIMEOUT_MS) == -1) {
		fprintf(stderr, "parleyctl: truncated answer\n");
		return 1;
	}
	ipc_reader_init(&r, payload, h.len);
	if (ipc_get_u32(&r, &status) == -1 ||
	    ipc_get_str(&r, &text, &textlen, IPC_MAX_PAYLOAD) == -1 ||
	    ipc_end(&r) == -1) {
		fprintf(stderr, "parleyctl: malformed answer\n");
		return 1;
	}
	fwrite(text, 1, textlen, status == 0 ? stdout : stderr);
	free(payload);
	close(fd);
	return status == 0 ? 0 : 1;
}
