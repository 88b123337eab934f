/* util.h: allocation that cannot fail silently, fd helpers, clocks. */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);

int	 fd_set_nonblock(int fd);
int	 fd_set_cloexec(int fd, int on);

uint64_t now_mono_ms(void);		/* CLOCK_MONOTONIC */
int64_t	 now_wall_ms(void);		/* CLOCK_REALTIME, ms since the epoch */
/* ISO 8601 UTC with milliseconds: "2026-11-21T12:00:00.123Z" (25 bytes). */
void	 format_iso8601_ms(int64_t wall_ms, char out[32]);

/* Read a small file whole (<= max bytes), NUL-terminated; *len without NUL. */
char	*read_small_file(const char *path, size_t max, size_t *len);
/* Create a directory and its parents (mode for the new ones). */
int	 mkdir_p(const char *path, unsigned mode);

/* JSON string escaping for log lines and hand-built answers. */
size_t	 json_escape(char *out, size_t outlen, const char *in);

#endif
