/* parleyctl.c: the admin client.  Sends one command over the control
 * socket with the same IPC codec the daemons use, prints the answer. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jwt.h>

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
	    "[args...]\n"
	    "  commands: status, rooms, kick USER [REASON], help (answered "
	    "by the daemon)\n"
	    "            token USER [TTL] (a development token signed with "
	    "the\n            configured HS* secret; needs -c, not the "
	    "daemon)\n");
	exit(2);
}

/* 0, or -1 with errno: ETIMEDOUT (no data in timeout_ms), EPIPE (the
 * daemon closed the connection), or what read() said. */
static int
read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;

	while (len > 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;
		int rc;

		if ((rc = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
			continue;
		if (rc == 0)
			errno = ETIMEDOUT;
		if (rc <= 0)
			return -1;
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EPIPE;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* SIGPIPE is ignored (main), so a closed socket is an EPIPE here. */
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

/* Why no answer came, on stderr. */
static void
read_failed(const char *sock, const char *what)
{
	if (errno == ETIMEDOUT)
		fprintf(stderr, "parleyctl: no %s from %s within %d s (is the "
		    "broker running?)\n", what, sock, CTL_TIMEOUT_MS / 1000);
	else if (errno == EPIPE || errno == ECONNRESET)
		fprintf(stderr, "parleyctl: %s closed the connection before "
		    "its %s (refused or dropped; see parleyd's log)\n", sock,
		    what);
	else
		fprintf(stderr, "parleyctl: reading the %s from %s: %s\n",
		    what, sock, strerror(errno));
}

/* Sign a token locally with the configured shared secret: for development
 * and for the quick start, never a substitute for a real issuer. */
static int
make_token(const char *cfgpath, int argc, char **argv)
{
	struct parley_config cfg;
	char err[1024], *secret = NULL, *tok = NULL;
	long ttl = argc > 2 ? strtol(argv[2], NULL, 10) : 3600;
	jwt_alg_t alg;
	jwt_t *jwt = NULL;
	size_t len = 0, full = 0;
	int rc = 1;

	if (argc < 2 || argc > 3 || ttl <= 0) {
		fprintf(stderr, "usage: parleyctl -c config token USER [TTL]\n");
		return 2;
	}
	if (cfg_load(cfgpath, &cfg, err, sizeof(err), NULL) == -1) {
		fprintf(stderr, "parleyctl: %s\n", err);
		return 2;
	}
	alg = jwt_str_alg(cfg.algorithm);
	if (alg != JWT_ALG_HS256 && alg != JWT_ALG_HS384 &&
	    alg != JWT_ALG_HS512) {
		fprintf(stderr, "parleyctl: token needs an HS* algorithm\n");
		goto done;
	}
	if (cfg.secret_file[0] != '\0')
		secret = read_small_file(cfg.secret_file, 65536, &len);
	else if (cfg.secret != NULL && cfg.secret[0] != '\0') {
		secret = xstrdup(cfg.secret);
		len = strlen(secret);
	}
	if (secret == NULL || len == 0) {
		fprintf(stderr, "parleyctl: no secret in %s\n",
		    cfg.secret_file[0] ? cfg.secret_file : "the config");
		goto done;
	}
	full = len;
	if (secret[len - 1] == '\n')
		len--;
	if (len > 0 && secret[len - 1] == '\r')
		len--;
	if (jwt_new(&jwt) != 0 || jwt_add_grant(jwt, "sub", argv[1]) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)time(NULL)) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)time(NULL) + ttl) != 0 ||
	    jwt_set_alg(jwt, alg, (unsigned char *)secret, (int)len) != 0 ||
	    (tok = jwt_encode_str(jwt)) == NULL) {
		fprintf(stderr, "parleyctl: cannot sign a token\n");
		goto done;
	}
	printf("%s\n", tok);
	rc = 0;
done:
	if (tok != NULL)
		explicit_bzero(tok, strlen(tok));
	free(tok);
	jwt_free(jwt);
	if (secret != NULL)
		explicit_bzero(secret, full);
	free(secret);
	cfg_free(&cfg);
	return rc;
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
	int ch, fd, werr, rc = 1;

	/* A daemon that closed on us is reported, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
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
	if (strcmp(argv[0], "token") == 0)
		return make_token(cfgpath ? cfgpath : PARLEY_SYSCONFDIR
		    "/parley.conf", argc, argv);
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
	if (ipc_msg_finish(&m) == -1) {
		fprintf(stderr, "parleyctl: command too long\n");
		rc = 2;
		goto done;
	}
	/* A daemon that refuses us (too many control clients) answers and
	 * closes, maybe before we write: then read its answer anyway. */
	if (write_full(fd, m.im_buf, m.im_len) == -1) {
		werr = errno;
		if (read_full(fd, hbuf, sizeof(hbuf), 0) == -1) {
			fprintf(stderr, "parleyctl: cannot send the command to "
			    "%s: %s\n", sock, strerror(werr));
			goto done;
		}
	} else if (read_full(fd, hbuf, sizeof(hbuf), CTL_TIMEOUT_MS) == -1) {
		read_failed(sock, "answer");
		goto done;
	}
	if (ipc_hdr_decode(hbuf, &h) == -1 || h.hd_type != IPC_CTL_REPLY) {
		fprintf(stderr, "parleyctl: %s answered something that is not "
		    "a control reply\n", sock);
		goto done;
	}
	payload = xmalloc(h.hd_len);
	if (read_full(fd, payload, h.hd_len, CTL_TIMEOUT_MS) == -1) {
		read_failed(sock, "whole answer");
		goto done;
	}
	ipc_reader_init(&r, payload, h.hd_len);
	if (ipc_get_u32(&r, &status) == -1 ||
	    ipc_get_str(&r, &text, &textlen, IPC_MAX_PAYLOAD) == -1 ||
	    ipc_end(&r) == -1) {
		fprintf(stderr, "parleyctl: malformed answer\n");
		goto done;
	}
	fwrite(text, 1, textlen, status == 0 ? stdout : stderr);
	rc = status == 0 ? 0 : 1;
done:
	ipc_msg_free(&m);
	free(payload);
	close(fd);
	return rc;
}
