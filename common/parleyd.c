/* parleyd.c: main(): flags, configuration, then the supervisor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/unistd.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "supervisor.h"
#include "tls.h"
#include "util.h"

#ifndef PARLEY_SYSCONFDIR
#define PARLEY_SYSCONFDIR "/etc"
#endif
#define PARLEY_DEFAULT_CONFIG PARLEY_SYSCONFDIR "/parley.conf"

extern char **environ;

static void
usage(void)
{
	fprintf(stderr, "usage: parleyd [-dfhtv] [-c file]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -d       debug logging\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       print the version and exit\n", PARLEY_DEFAULT_CONFIG);
	exit(1);
}

static void
config_warning(const char *msg)
{
	fprintf(stderr, "parleyd: warning: %s\n", msg);
}

int
main(int argc, char *argv[])
{
	struct parley_config cfg;
	const char *path = PARLEY_DEFAULT_CONFIG;
	bool foreground = false, check_only = false, debug = false;
	char err[1024];
	int ch;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "c:dfhtv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'v':
			printf("parleyd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if (cfg_load(path, &cfg, err, sizeof(err), config_warning) == -1) {
		fprintf(stderr, "parleyd: %s\n", err);
		return 1;
	}
	/* Load the JWT key now, so a bad key fails here and not in workers. */
	{
		struct auth_verifier *v = auth_verifier_new(&cfg, err,
		    sizeof(err));

		if (v == NULL) {
			fprintf(stderr, "parleyd: %s: [auth] %s\n", path, err);
			cfg_free(&cfg);
			return 1;
		}
		auth_verifier_free(v);
	}
	if (cfg.tls_listen[0] != '\0') {
		SSL_CTX *ctx = tls_ctx_new(&cfg, err, sizeof(err));

		if (ctx == NULL) {
			fprintf(stderr, "parleyd: %s: [tls] %s\n", path, err);
			cfg_free(&cfg);
			return 1;
		}
		SSL_CTX_free(ctx);
	}
	if (cfg.api_listen[0] != '\0') {
		size_t len = 0;
		char *key = read_small_file(cfg.api_key_file, 4096, &len);

		while (key != NULL && len > 0 &&
		    (key[len - 1] == '\n' || key[len - 1] == '\r'))
			len--;
		free(key);
		if (key == NULL || len == 0) {
			fprintf(stderr, "parleyd: %s: [api] key_file %s: %s\n",
			    path, cfg.api_key_file, key == NULL ?
			    strerror(errno) : "empty");
			cfg_free(&cfg);
			return 1;
		}
	}
	if (check_only) {
		fprintf(stderr, "parleyd: configuration %s is ok\n", path);
		cfg_free(&cfg);
		return 0;
	}
	if (debug)
		cfg.log_debug = true;
	log_init("supervisor", -1, cfg.log_debug);
	if (!foreground) {
		if (cfg.log_file[0] == '\0') {
			char def[4096];

			snprintf(def, sizeof(def), "%s/parleyd.log", cfg.run_dir);
			free(cfg.log_file);
			cfg.log_file = strdup(def);
		}
		/* Relative paths stay valid: daemon() keeps the directory. */
		if (daemon(1, 0) == -1) {
			fprintf(stderr, "parleyd: daemon: %s\n", strerror(errno));
			return 1;
		}
	}
	/* The default log file lives in run_dir: make it before opening. */
	if (mkdir_p(cfg.run_dir, 0750) == -1) {
		fprintf(stderr, "parleyd: %s: %s\n", cfg.run_dir, strerror(errno));
		return 1;
	}
	if (cfg.log_file != NULL && cfg.log_file[0] != '\0' &&
	    log_open(cfg.log_file) == -1) {
		fprintf(stderr, "parleyd: %s: %s\n", cfg.log_file,
		    strerror(errno));
		return 1;
	}
	ch = supervisor_main(&cfg);
	cfg_free(&cfg);
	return ch;
}
