/* preflight.h: check what a configuration needs from the file system (JWT
 * key, TLS certificate, API key) before any process depends on it, so a
 * bad file fails `parleyd -t`, start-up or a reload, not a child. */
#ifndef PARLEY_PREFLIGHT_H
#define PARLEY_PREFLIGHT_H

#include <stddef.h>

struct parley_config;

/* 0, or -1 with "[section] what: why" in err.  Problems that leave the
 * server usable go to warn (may be NULL). */
int	preflight_check(const struct parley_config *cfg, char *err,
	    size_t errlen, void (*warn)(const char *msg));

#endif
