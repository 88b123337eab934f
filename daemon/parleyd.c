/* parleyd.c: main(): flags, configuration, then the supervisor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bsd/unistd.h>

#include "config.h"
#include "log.h"
#include "preflight.h"
#include "supervisor.h"
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

	/* Everything parleyd creates (database, WAL, pidfile, logs,
	 * directories) is its own: 0600 and 0700.  The control socket
	 * sets its mode itself. */
	umask(077);
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
	/* Keys and certificates fail here, not in a child. */
	if (preflight_check(&cfg, err, sizeof(err), config_warning) == -1) {
		fprintf(stderr, "parleyd: %s: %s\n", path, err);
		cfg_free(&cfg);
		return 1;
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
	if (mkdir_p(cfg.run_dir, 0700) == -1) {
		fprintf(stderr, "parleyd: %s: %s\n", cfg.run_dir, strerror(errno));
		return 1;
	}
	/* -f logs to stderr (PROTOCOL.md Appendix A), whatever log_file says. */
	if (foreground && cfg.log_file[0] != '\0') {
		free(cfg.log_file);
		cfg.log_file = strdup("");
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
