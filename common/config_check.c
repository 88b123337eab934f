/* config_check.c: each value's own checks, then the keys checked together. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

/* Checks of single string values: NULL if fine, else why not. */

const char *
cfg_check_hostport(const char *s)
{
	if (cfg_split_hostport(s, NULL, 0, NULL, 0) == -1)
		return "not host:port (or [v6 address]:port) with a port "
		    "from 0 to 65535";
	return NULL;
}

const char *
cfg_check_hostport_opt(const char *s)
{
	return *s == '\0' ? NULL : cfg_check_hostport(s);
}

const char *
cfg_check_nonempty(const char *s)
{
	return *s == '\0' ? "must not be empty" : NULL;
}

const char *
cfg_check_path(const char *s)
{
	if (*s != '/')
		return "must start with '/'";
	if (strpbrk(s, "?# \t") != NULL)
		return "must not contain '?', '#' or blanks";
	return NULL;
}

const char *
cfg_check_path_opt(const char *s)
{
	return *s == '\0' ? NULL : cfg_check_path(s);
}

const char *
cfg_check_algorithm(const char *s)
{
	static const char *const algs[] = {
		"HS256", "HS384", "HS512", "RS256", "ES256"
	};
	size_t	i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(s, algs[i]) == 0)
			return NULL;
	return "must be one of: HS256, HS384, HS512, RS256, ES256";
}

/* Space-separated origins, each scheme://host[:port] with no path. */
const char *
cfg_check_origins(const char *s)
{
	const char	*p, *sep, *end;
	size_t		 len;

	for (p = s; *p != '\0'; p = end) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		end = p + len;
		sep = strstr(p, "://");
		if (sep == NULL || sep >= end || sep == p || sep + 3 == end)
			return "each origin must look like scheme://host[:port]";
		if (memchr(sep + 3, '/', (size_t)(end - (sep + 3))) != NULL)
			return "an origin has no path (not even a trailing '/')";
	}
	return NULL;
}

int
cfg_split_hostport(const char *s, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char	*h, *p, *e;
	size_t		 hl, pl, i;
	unsigned long	 v;

	if (s == NULL)
		return -1;
	if (*s == '[') {
		h = s + 1;
		if ((e = strchr(h, ']')) == NULL || e[1] != ':')
			return -1;
		hl = (size_t)(e - h);
		p = e + 2;
		if (hl == 0 || memchr(h, '[', hl) != NULL)
			return -1;
	} else {
		h = s;
		if ((e = strchr(s, ':')) == NULL || strchr(e + 1, ':') != NULL)
			return -1;	/* no port, or a bare v6 address */
		hl = (size_t)(e - h);
		p = e + 1;
		if (hl == 0 || memchr(h, ']', hl) != NULL)
			return -1;
	}
	for (i = 0; i < hl; i++)
		if (isspace((unsigned char)h[i]) || h[i] == '/')
			return -1;
	pl = strlen(p);
	if (pl == 0 || pl > 5 || strspn(p, "0123456789") != pl)
		return -1;
	v = strtoul(p, NULL, 10);
	if (v > 65535)
		return -1;
	if (host != NULL) {
		if (hl >= hostlen)
			return -1;
		memcpy(host, h, hl);
		host[hl] = '\0';
	}
	if (port != NULL) {
		if (pl >= portlen)
			return -1;
		memcpy(port, p, pl + 1);
	}
	return 0;
}

/* Line of a key in the file, or 0 if it has its default. */
static int
cfg_line_of(const struct cfg_parse *cp, const char *section, const char *key)
{
	const struct cfg_key	*k = cfg_find(section, key);

	return k == NULL ? 0 : cp->cfp_set[k - cfg_keys];
}

#define VERR(cp, sec, key, ...) do {					\
	char	vmsg_[256];						\
	snprintf(vmsg_, sizeof(vmsg_), __VA_ARGS__);			\
	cfg_error((cp), cfg_line_of((cp), (sec), (key)), "[%s] %s: %s",	\
	    (sec), (key), vmsg_);					\
	return -1;							\
} while (0)

/* Two listen addresses that would collide (port 0 never does). */
static int
cfg_same_addr(const char *a, const char *b)
{
	char	ha[256], pa[8], hb[256], pb[8];

	if (*a == '\0' || *b == '\0' ||
	    cfg_split_hostport(a, ha, sizeof(ha), pa, sizeof(pa)) == -1 ||
	    cfg_split_hostport(b, hb, sizeof(hb), pb, sizeof(pb)) == -1)
		return 0;
	return atoi(pa) != 0 && atoi(pa) == atoi(pb) && strcmp(ha, hb) == 0;
}

int
cfg_validate(struct cfg_parse *cp)
{
	struct parley_config	*c = cp->cfp_cfg;
	const struct cfg_key	*k;
	const char		*why;
	size_t			 i;
	int			 hs;

	for (i = 0; i < CFG_NKEYS; i++) {
		k = &cfg_keys[i];
		if (k->ck_check == NULL)
			continue;
		if ((why = k->ck_check(*(char **)cfg_field(c, k))) != NULL)
			VERR(cp, k->ck_section, k->ck_key, "%s", why);
	}

	if (c->ping_interval >= c->idle_timeout)
		VERR(cp, "websocket", "ping_interval", "must be less than "
		    "idle_timeout (%d)", c->idle_timeout);
	if (strcmp(c->ws_path, c->echo_path) == 0)
		VERR(cp, "websocket", "echo_path", "must differ from path");

	hs = strncmp(c->algorithm, "HS", 2) == 0;
	if (hs) {
		if (*c->secret != '\0' && *c->secret_file != '\0') {
			if (cfg_line_of(cp, "auth", "secret_file") != 0)
				VERR(cp, "auth", "secret", "set secret or "
				    "secret_file, not both");
			/* The inline secret replaces the default file. */
			free(c->secret_file);
			c->secret_file = xstrdup("");
		}
		if (*c->secret == '\0' && *c->secret_file == '\0')
			VERR(cp, "auth", "secret_file", "%s needs secret_file "
			    "or secret", c->algorithm);
	} else if (*c->public_key_file == '\0')
		VERR(cp, "auth", "public_key_file", "required for %s",
		    c->algorithm);

	if (*c->api_listen != '\0' && *c->api_key_file == '\0')
		VERR(cp, "api", "key_file", "required when [api] listen is set");
	if (*c->tls_listen != '\0') {
		if (*c->tls_cert_file == '\0')
			VERR(cp, "tls", "cert_file", "required when [tls] "
			    "listen is set");
		if (*c->tls_key_file == '\0')
			VERR(cp, "tls", "key_file", "required when [tls] "
			    "listen is set");
	}
	if (cfg_same_addr(c->listen, c->api_listen))
		VERR(cp, "api", "listen", "same address as [server] listen");
	if (cfg_same_addr(c->listen, c->tls_listen))
		VERR(cp, "tls", "listen", "same address as [server] listen");
	if (cfg_same_addr(c->api_listen, c->tls_listen))
		VERR(cp, "tls", "listen", "same address as [api] listen");
	return 0;
}
