/* log.h: structured logging, one JSON object per line.
 * After OpenBSD's log.c: log_warn appends strerror(errno) and keeps errno. */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stdint.h>
#include <stdnoreturn.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* role: "supervisor", "broker", "worker"; slot: worker number or -1. */
void	log_init(const char *role, int slot, int debug);
/* Send lines to path (NULL or "": stderr).  Returns 0 or -1. */
int	log_open(const char *path);
int	log_reopen(void);

void	log_warn(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_info(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_debug(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A line about one client connection: carries "conn". */
void	log_conn(enum log_level lvl, uint64_t conn, const char *ev,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
noreturn void fatal(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
noreturn void fatalx(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
