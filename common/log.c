/* log.c: one JSON object per line, to stderr or a file (reopened on
 * SIGUSR1).  The API is OpenBSD's: log_warn appends strerror(errno). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"

#define LOG_LINE_MAX	2048

/* The logger's whole state: set once per process, read everywhere. */
static struct {
	const char	*role;
	int		 slot;
	int		 debug;
	int		 fd;
	char		 path[1024];
} logger = { "parleyd", -1, 0, STDERR_FILENO, "" };

static const char *level_names[] = { "error", "warn", "info", "debug" };

/* libevent's own messages join the JSON stream. */
static void
log_libevent(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG)
		log_debug("libevent", "%s", msg);
	else
		log_warnx("libevent", "%s", msg);
}

void
log_init(const char *role, int slot, int debug)
{
	logger.role = role;
	logger.slot = slot;
	logger.debug = debug;
	event_set_log_callback(log_libevent);
}

int
log_open(const char *path)
{
	int fd;

	if (path == NULL || *path == '\0') {
		logger.path[0] = '\0';
		logger.fd = STDERR_FILENO;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (logger.fd != STDERR_FILENO && logger.fd >= 0) {
		/* A reopen (SIGUSR1): the broker's reader threads may be
		 * writing, so the new file takes the old descriptor's number
		 * at once (dup3); none of them can write to a closed, or
		 * reused, descriptor. */
		if (dup3(fd, logger.fd, O_CLOEXEC) == -1) {
			close(fd);
			return -1;
		}
		close(fd);
	} else
		logger.fd = fd;
	snprintf(logger.path, sizeof(logger.path), "%s", path);
	return 0;
}

int
log_reopen(void)
{
	char path[sizeof(logger.path)];

	if (logger.path[0] == '\0')
		return 0;
	memcpy(path, logger.path, sizeof(path));
	return log_open(path);
}

static void
log_emit(enum log_level lvl, uint64_t conn, const char *ev, const char *err,
    const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX / 2], emsg[LOG_LINE_MAX / 2 + 64];
	char line[LOG_LINE_MAX + 256], ts[32], slot[24] = "", cid[40] = "";
	int n;

	if (lvl == LOG_LVL_DEBUG && !logger.debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != NULL) {
		char joined[sizeof(msg) + 64];

		snprintf(joined, sizeof(joined), "%s: %s", msg, err);
		json_escape(emsg, sizeof(emsg), joined);
	} else
		json_escape(emsg, sizeof(emsg), msg);
	format_iso8601_ms(now_wall_ms(), ts);
	if (logger.slot >= 0)
		snprintf(slot, sizeof(slot), ",\"slot\":%d", logger.slot);
	if (conn != 0)
		snprintf(cid, sizeof(cid), ",\"conn\":\"%016llx\"",
		    (unsigned long long)conn);
	n = snprintf(line, sizeof(line),
	    "{\"ts\":\"%s\",\"lvl\":\"%s\",\"role\":\"%s\"%s,\"pid\":%ld,"
	    "\"ev\":\"%s\"%s,\"msg\":\"%s\"}\n", ts, level_names[lvl],
	    logger.role, slot, (long)getpid(), ev, cid, emsg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line so lines of several processes never interleave. */
	(void)!write(logger.fd, line, (size_t)n);
}

#define LOG_BODY(lvl, conn, err) do {				\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_emit(lvl, conn, ev, err, fmt, ap);			\
	va_end(ap);						\
} while (0)

void
log_warn(const char *ev, const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LVL_WARN, 0, strerror(saved));
	errno = saved;
}

void
log_warnx(const char *ev, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, 0, NULL);
}

void
log_info(const char *ev, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, 0, NULL);
}

void
log_debug(const char *ev, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, 0, NULL);
}

void
log_conn(enum log_level lvl, uint64_t conn, const char *ev, const char *fmt,
    ...)
{
	LOG_BODY(lvl, conn, NULL);
}

void
fatal(const char *ev, const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LVL_ERROR, 0, strerror(saved));
	exit(1);
}

void
fatalx(const char *ev, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, 0, NULL);
	exit(1);
}
