/* fdlimit.h: raise RLIMIT_NOFILE at start-up, before the children are
 * forked, so each worker can hold its share of max_connections. */
#ifndef PARLEY_FDLIMIT_H
#define PARLEY_FDLIMIT_H

#include <stdint.h>

/* Descriptors a process needs beside its clients: listeners, IPC links,
 * SQLite and its WAL, the reader threads' connections, logs. */
#define FDLIMIT_RESERVE	256

/* The soft limit a worker needs for its share of max_connections. */
uint64_t fdlimit_wanted(uint64_t max_connections, int nworkers);

/*
 * Raise the soft limit towards wanted; past the hard limit only when
 * allowed to raise that too (root: CAP_SYS_RESOURCE, up to fs.nr_open).  Logs what it got, and warns
 * when it is less than wanted.  Returns the soft limit now in force.
 */
uint64_t fdlimit_raise(uint64_t wanted);

#endif
