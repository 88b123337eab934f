/* preflight.h: check what a configuration needs from the file system (JWT
 * key, TLS certificate, API key) before any process depends on it, so a
 * bad file fails `parleyd -t`, start-up or a reload, not a child. */
#ifndef PARLEY_PREFLIGHT_H
#define PARLEY_PREFLIGHT_H

#include <stddef.h>
#include <sys/types.h>

struct parley_config;

/* Shortest HS256/384/512 secret accepted, in bytes (RFC 7518 3.2 asks
 * for at least the hash size; 32 is HS256's). */
#define PREFLIGHT_MIN_SECRET	32

/* 0, or -1 with "[section] what: why" in err.  Problems that leave the
 * server usable go to warn (may be NULL). */
int	preflight_check(const struct parley_config *cfg, char *err,
	    size_t errlen, void (*warn)(const char *msg));

/* Pure checks, for the tests too.  0, or -1 with the reason in err:
 * a secret file open to group or others ("what path has mode 0644; ..."),
 * an HMAC secret shorter than PREFLIGHT_MIN_SECRET. */
int	preflight_mode_ok(const char *what, const char *path, mode_t mode,
	    char *err, size_t errlen);
int	preflight_secret_ok(const char *alg, size_t len, char *err,
	    size_t errlen);

#endif
