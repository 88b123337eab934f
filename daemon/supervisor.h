/* supervisor.h: parleyd's master process: binds, forks, restarts, stops. */
#ifndef PARLEY_SUPERVISOR_H
#define PARLEY_SUPERVISOR_H

struct parley_config;

/* Runs until SIGTERM/SIGINT has stopped every child; returns the exit code. */
int	supervisor_main(struct parley_config *cfg);

/* File names under run_dir. */
#define PARLEY_PIDFILE		"parleyd.pid"
#define PARLEY_PORTSFILE	"ports.json"
#define PARLEY_CTLSOCK		"parleyd.sock"

#endif
