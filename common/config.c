/* config.c: the INI file (libinih) into struct parley_config, by one key table. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "util.h"

/*
 * How the file is read.  libinih (Debian's, handler without a line
 * number) classifies lines and tracks [sections]; our own reader feeds
 * it one line at a time, so the reader's count is the line of each
 * handler call.  The reader also removes leading blanks (an indented
 * key is a key, never a continuation of the previous value) and keeps
 * the whole line, so values are taken from it and no line is too long
 * for libinih's 200-byte buffer.  Values lose a trailing comment that
 * starts with ';' or '#' at the start of the value or after a blank.
 */

#define CFG_MAX_LINE	16384

enum cfg_type { CFG_STR, CFG_INT, CFG_U64, CFG_SIZE, CFG_BOOL, CFG_ENUM };

/* PLANNED: accepted and stored, with one warning; flip to BUILT when done. */
enum cfg_state { BUILT, PLANNED };

struct cfg_enum {
	const char	*name;
	int		 value;
};

struct cfg_key {
	const char		*section;
	const char		*key;
	enum cfg_type		 type;
	size_t			 off;	/* into struct parley_config */
	const char		*dflt;
	enum cfg_state		 state;
	int64_t			 min;	/* CFG_INT, CFG_U64, CFG_SIZE */
	uint64_t		 max;
	const struct cfg_enum	*names;	/* CFG_ENUM, NULL-terminated */
	const char		*(*check)(const char *); /* CFG_STR: NULL if ok */
};

/* offsetof, and a compile error if the field is not of type T. */
#define CFG_OFF(f, T)							\
	(offsetof(struct parley_config, f) + 0 * sizeof(char[		\
	    _Generic(((struct parley_config *)0)->f, T: 1, default: -1)]))
/* Enums are stored through an int. */
#define CFG_OFF_ENUM(f)							\
	(offsetof(struct parley_config, f) + 0 * sizeof(char[		\
	    sizeof(((struct parley_config *)0)->f) == sizeof(int) ? 1 : -1]))

#define K_STR(s, k, f, d, st, chk)					\
	{ s, k, CFG_STR, CFG_OFF(f, char *), d, st, 0, 0, NULL, chk }
#define K_INT(s, k, f, d, st, lo, hi)					\
	{ s, k, CFG_INT, CFG_OFF(f, int), d, st, lo, hi, NULL, NULL }
#define K_U64(s, k, f, d, st, lo, hi)					\
	{ s, k, CFG_U64, CFG_OFF(f, uint64_t), d, st, lo, hi, NULL, NULL }
#define K_SIZE(s, k, f, d, st, lo, hi)					\
	{ s, k, CFG_SIZE, CFG_OFF(f, uint64_t), d, st, lo, hi, NULL, NULL }
#define K_BOOL(s, k, f, d, st)						\
	{ s, k, CFG_BOOL, CFG_OFF(f, bool), d, st, 0, 0, NULL, NULL }
#define K_ENUM(s, k, f, d, st, names)					\
	{ s, k, CFG_ENUM, CFG_OFF_ENUM(f), d, st, 0, 0, names, NULL }

static const char	*chk_hostport(const char *);
static const char	*chk_hostport_opt(const char *);
static const char	*chk_nonempty(const char *);
static const char	*chk_path(const char *);
static const char	*chk_path_opt(const char *);
static const char	*chk_algorithm(const char *);
static const char	*chk_origins(const char *);

static const struct cfg_enum room_policies[] = {
	{ "open", CFG_ROOMS_OPEN }, { "closed", CFG_ROOMS_CLOSED }, { NULL, 0 }
};
static const struct cfg_enum tls_versions[] = {
	{ "TLSv1.2", CFG_TLS_1_2 }, { "TLSv1.3", CFG_TLS_1_3 }, { NULL, 0 }
};
static const struct cfg_enum sync_modes[] = {
	{ "normal", CFG_SYNC_NORMAL }, { "full", CFG_SYNC_FULL }, { NULL, 0 }
};

#define CFG_TLS_CIPHERS							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CFG_TLS_CIPHERSUITES						\
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"		\
	"TLS_CHACHA20_POLY1305_SHA256"

#define KB	1024ULL
#define MB	(1024ULL * 1024)
#define GB	(1024ULL * 1024 * 1024)
#define DAY	86400

/* Every key of PROTOCOL.md Appendix A, with its default, and our extras. */
static const struct cfg_key cfg_keys[] = {
	K_STR("server", "listen", listen, "127.0.0.1:8080", BUILT, chk_hostport),
	K_INT("server", "workers", workers, "0", BUILT, 0, CFG_MAX_WORKERS),
	K_STR("server", "data_dir", data_dir, "./var/lib", BUILT, chk_nonempty),
	K_STR("server", "run_dir", run_dir, "./var/run", BUILT, chk_nonempty),
	K_STR("server", "log_file", log_file, "", BUILT, NULL),
	K_BOOL("server", "debug", log_debug, "no", BUILT),
	K_INT("server", "control_max_clients", control_max_clients, "8", BUILT,
	    1, 1024),
	K_INT("server", "control_timeout", control_timeout, "10", BUILT,
	    1, 3600),

	K_STR("websocket", "path", ws_path, "/ws", BUILT, chk_path),
	K_STR("websocket", "echo_path", echo_path, "", BUILT, chk_path_opt),
	K_SIZE("websocket", "max_message_bytes", max_message_bytes, "65536",
	    BUILT, 125, GB),
	K_INT("websocket", "ping_interval", ping_interval, "25", BUILT, 1, DAY),
	K_INT("websocket", "idle_timeout", idle_timeout, "60", BUILT, 1, DAY),
	K_INT("websocket", "handshake_timeout", handshake_timeout, "10",
	    BUILT, 1, 3600),
	K_SIZE("websocket", "max_output_bytes", max_output_bytes, "1048576",
	    BUILT, KB, 4 * GB),
	K_STR("websocket", "allowed_origins", allowed_origins, "", BUILT,
	    chk_origins),
	K_BOOL("websocket", "permessage_deflate", permessage_deflate, "yes",
	    BUILT),

	K_STR("auth", "algorithm", algorithm, "HS256", BUILT, chk_algorithm),
	K_STR("auth", "secret_file", secret_file, "./var/jwt.secret", BUILT,
	    NULL),
	K_STR("auth", "secret", secret, "", BUILT, NULL),
	K_STR("auth", "public_key_file", public_key_file, "", BUILT, NULL),
	K_STR("auth", "issuer", issuer, "", BUILT, NULL),
	K_STR("auth", "audience", audience, "", BUILT, NULL),
	K_INT("auth", "auth_timeout", auth_timeout, "10", BUILT, 1, 3600),
	K_INT("auth", "leeway", leeway, "30", BUILT, 0, 3600),
	K_BOOL("auth", "require_exp", require_exp, "yes", BUILT),
	K_ENUM("auth", "default_room_policy", default_room_policy, "open",
	    BUILT, room_policies),

	K_U64("limits", "max_connections", max_connections, "100000", BUILT,
	    1, 10000000),
	K_INT("limits", "max_conns_per_user", max_conns_per_user, "5",
	    BUILT, 1, 1000000),
	K_INT("limits", "max_conns_per_ip", max_conns_per_ip, "200",
	    BUILT, 1, 10000000),
	K_INT("limits", "conn_rate_per_ip", conn_rate_per_ip, "20",
	    BUILT, 1, 1000000),
	K_INT("limits", "conn_burst_per_ip", conn_burst_per_ip, "50",
	    BUILT, 1, 1000000),
	K_INT("limits", "send_rate", send_rate, "20", BUILT, 1, 1000000),
	K_INT("limits", "send_burst", send_burst, "20", BUILT, 1, 1000000),
	K_INT("limits", "typing_rate", typing_rate, "5", BUILT, 1, 1000000),
	K_INT("limits", "join_rate", join_rate, "10", BUILT, 1, 1000000),
	K_INT("limits", "query_rate", query_rate, "5", BUILT, 1, 1000000),
	K_INT("limits", "abuse_threshold", abuse_threshold, "50", BUILT,
	    1, 1000000),
	K_INT("limits", "max_text", max_text, "4000", BUILT, 1, 1000000),
	K_INT("limits", "recovery_limit", recovery_limit, "1000", BUILT,
	    1, 1000000),
	K_INT("limits", "list_rate", list_rate, "2", BUILT, 1, 1000000),
	K_INT("limits", "list_burst", list_burst, "5", BUILT, 1, 1000000),
	K_INT("limits", "read_rate", read_rate, "10", BUILT, 1, 1000000),
	K_INT("limits", "read_burst", read_burst, "20", BUILT, 1, 1000000),
	K_INT("limits", "max_rooms_per_user", max_rooms_per_user, "1000",
	    BUILT, 1, 1000000),
	K_INT("limits", "max_rooms", max_rooms, "1000000", BUILT,
	    1, 1000000000),
	/* At most STORE_SEARCH_MAX_TERMS (broker/store.h). */
	K_INT("limits", "max_search_terms", max_search_terms, "8", BUILT,
	    1, 32),

	K_ENUM("store", "synchronous", synchronous, "full", BUILT, sync_modes),
	K_INT("store", "commit_batch", commit_batch, "256", BUILT, 1, 100000),
	K_INT("store", "commit_delay_ms", commit_delay_ms, "2", BUILT,
	    0, 10000),
	K_INT("store", "reader_threads", reader_threads, "2", BUILT, 1, 64),
	K_INT("store", "reader_queue", reader_queue, "64", BUILT, 1, 100000),
	K_INT("store", "query_timeout_ms", query_timeout_ms, "1000", BUILT,
	    1, 600000),

	K_STR("api", "listen", api_listen, "127.0.0.1:8081", BUILT,
	    chk_hostport_opt),
	K_STR("api", "key_file", api_key_file, "./var/api.key", BUILT, NULL),
	K_INT("api", "max_connections", max_api_connections, "64", BUILT,
	    1, 100000),
	K_INT("api", "timeout", api_timeout, "10", BUILT, 1, 3600),

	K_STR("tls", "listen", tls_listen, "", BUILT, chk_hostport_opt),
	K_STR("tls", "cert_file", tls_cert_file, "", BUILT, NULL),
	K_STR("tls", "key_file", tls_key_file, "", BUILT, NULL),
	/* Forward-secret AEAD only: ECDHE with AES-GCM or ChaCha20-Poly1305. */
	K_STR("tls", "ciphers", tls_ciphers, CFG_TLS_CIPHERS, BUILT,
	    chk_nonempty),
	K_STR("tls", "ciphersuites", tls_ciphersuites, CFG_TLS_CIPHERSUITES,
	    BUILT, chk_nonempty),
	K_ENUM("tls", "min_version", tls_min_version, "TLSv1.2", BUILT,
	    tls_versions),
};
#define CFG_NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* One load in progress. */
struct cfg_parse {
	struct parley_config	*cp_cfg;
	const char		*cp_path;
	FILE			*cp_fp;
	char			*cp_line;	/* whole current line */
	size_t			 cp_linecap;
	int			 cp_lineno;
	int			 cp_set[CFG_NKEYS];	/* line set on, or 0 */
	char			*cp_err;
	size_t			 cp_errlen;
	int			 cp_errline;	/* first error, 0: none */
	int			 cp_failed;
	void			(*cp_warn)(const char *);
};

static const struct cfg_key *
cfg_find(const char *section, const char *key)
{
	size_t	i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].key, key) == 0)
			return &cfg_keys[i];
	return NULL;
}

static void *
cfg_field(struct parley_config *cfg, const struct cfg_key *k)
{
	return (char *)cfg + k->off;
}

/* Record the first error only: "FILE:LINE: ..." ("FILE: ..." if line 0). */
static void __attribute__((format(printf, 3, 4)))
cfg_error(struct cfg_parse *cp, int line, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (cp->cp_failed)
		return;
	cp->cp_failed = 1;
	cp->cp_errline = line;
	if (cp->cp_err == NULL || cp->cp_errlen == 0)
		return;
	if (line > 0)
		n = snprintf(cp->cp_err, cp->cp_errlen, "%s:%d: ",
		    cp->cp_path, line);
	else
		n = snprintf(cp->cp_err, cp->cp_errlen, "%s: ", cp->cp_path);
	if (n < 0 || (size_t)n >= cp->cp_errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(cp->cp_err + n, cp->cp_errlen - n, fmt, ap);
	va_end(ap);
}

/* Parsers: 0 and the value stored, or -1 and *why set. */

static int
cfg_parse_u64(const char *s, uint64_t *out)
{
	char	*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static int
cfg_parse_size(const char *s, uint64_t *out)
{
	char		*end;
	uint64_t	 v, mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = KB;
		break;
	case 'm': case 'M':
		mul = MB;
		break;
	case 'g': case 'G':
		mul = GB;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/*
 * Store value into the key's field.  Returns 0, or -1 with an error text
 * in why (without file, line or key).
 */
static int
cfg_set(struct parley_config *cfg, const struct cfg_key *k, const char *v,
    char *why, size_t whylen)
{
	void			*p = cfg_field(cfg, k);
	const struct cfg_enum	*e;
	long long		 ll;
	uint64_t		 u;
	bool			 b;
	char			*end;
	size_t			 n;

	switch (k->type) {
	case CFG_STR:
		free(*(char **)p);
		*(char **)p = xstrdup(v);
		return 0;
	case CFG_INT:
		errno = 0;
		ll = strtoll(v, &end, 10);
		if (*v == '\0' || isspace((unsigned char)*v) || *end != '\0' ||
		    errno != 0 || ll < k->min || ll > (long long)k->max)
			goto range;
		*(int *)p = (int)ll;
		return 0;
	case CFG_U64:
		if (cfg_parse_u64(v, &u) == -1 || u < (uint64_t)k->min ||
		    u > k->max)
			goto range;
		*(uint64_t *)p = u;
		return 0;
	case CFG_SIZE:
		if (cfg_parse_size(v, &u) == -1 || u < (uint64_t)k->min ||
		    u > k->max)
			goto range;
		*(uint64_t *)p = u;
		return 0;
	case CFG_BOOL:
		if (cfg_parse_bool(v, &b) == -1) {
			snprintf(why, whylen, "not a boolean (yes/no, "
			    "true/false, on/off, 1/0)");
			return -1;
		}
		*(bool *)p = b;
		return 0;
	case CFG_ENUM:
		for (e = k->names; e->name != NULL; e++)
			if (strcmp(v, e->name) == 0) {
				*(int *)p = e->value;
				return 0;
			}
		n = (size_t)snprintf(why, whylen, "must be one of:");
		for (e = k->names; e->name != NULL && n < whylen; e++)
			n += (size_t)snprintf(why + n, whylen - n, "%s %s",
			    e == k->names ? "" : ",", e->name);
		return -1;
	}
	snprintf(why, whylen, "bad key type");
	return -1;
 range:
	snprintf(why, whylen, "not a number between %" PRId64 " and %" PRIu64,
	    k->min, k->max);
	return -1;
}

void
cfg_defaults(struct parley_config *cfg)
{
	char	why[128];
	size_t	i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < CFG_NKEYS; i++)
		if (cfg_set(cfg, &cfg_keys[i], cfg_keys[i].dflt, why,
		    sizeof(why)) == -1) {
			/* A bad built-in default is a bug of this file. */
			fprintf(stderr, "config: default of [%s] %s: %s\n",
			    cfg_keys[i].section, cfg_keys[i].key, why);
			abort();
		}
}

void
cfg_free(struct parley_config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	if (cfg->secret != NULL)
		explicit_bzero(cfg->secret, strlen(cfg->secret));
	for (i = 0; i < CFG_NKEYS; i++)
		if (cfg_keys[i].type == CFG_STR)
			free(*(char **)cfg_field(cfg, &cfg_keys[i]));
	free(cfg->cfg_path);
	memset(cfg, 0, sizeof(*cfg));
}

/* fgets-style reader for ini_parse_stream; see the comment on top. */
static char *
cfg_reader(char *str, int num, void *arg)
{
	struct cfg_parse	*cp = arg;
	ssize_t			 n;
	size_t			 len;
	char			*s;

	if (num < 3)
		return NULL;
	n = getline(&cp->cp_line, &cp->cp_linecap, cp->cp_fp);
	if (n < 0)
		return NULL;
	cp->cp_lineno++;
	len = (size_t)n;
	while (len > 0 && (cp->cp_line[len - 1] == '\n' ||
	    cp->cp_line[len - 1] == '\r'))
		len--;
	cp->cp_line[len] = '\0';
	if (strlen(cp->cp_line) != len) {
		cfg_error(cp, cp->cp_lineno, "NUL byte in line");
		cp->cp_line[0] = '\0';
	} else if (len > CFG_MAX_LINE) {
		cfg_error(cp, cp->cp_lineno, "line longer than %d bytes",
		    CFG_MAX_LINE);
		cp->cp_line[0] = '\0';
	}
	for (s = cp->cp_line; *s == ' ' || *s == '\t'; s++)
		;
	memmove(cp->cp_line, s, strlen(s) + 1);
	/* libinih gets at most num - 2 bytes; values come from cp_line, so
	 * a key line goes to libinih without its value (an inline secret
	 * never sits in libinih's buffer). */
	len = strlen(cp->cp_line);
	if (cp->cp_line[0] != '[' && cp->cp_line[0] != ';' &&
	    cp->cp_line[0] != '#' && (s = strpbrk(cp->cp_line, "=:")) != NULL)
		len = (size_t)(s + 1 - cp->cp_line);
	if (len > (size_t)num - 2)
		len = (size_t)num - 2;
	memcpy(str, cp->cp_line, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/* The value of the current line: after the first '=' or ':', trimmed. */
static char *
cfg_line_value(char *line)
{
	char	*v, *s, *e;

	v = line + strcspn(line, "=:");
	if (*v != '\0')
		v++;
	while (isspace((unsigned char)*v))
		v++;
	for (s = v; *s != '\0'; s++)
		if ((*s == ';' || *s == '#') &&
		    (s == v || isspace((unsigned char)s[-1]))) {
			*s = '\0';
			break;
		}
	e = v + strlen(v);
	while (e > v && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return v;
}

static int
cfg_handler(void *arg, const char *section, const char *name,
    const char *ignored)
{
	struct cfg_parse	*cp = arg;
	const struct cfg_key	*k;
	const char		*value;
	char			 why[256], msg[512];
	int			 line = cp->cp_lineno;
	size_t			 idx;

	if (*name == '\0') {
		cfg_error(cp, line, "syntax error: no key name before '='");
		return 0;
	}
	if (*section == '\0') {
		cfg_error(cp, line, "key '%s' is outside any [section]", name);
		return 0;
	}
	if ((k = cfg_find(section, name)) == NULL) {
		cfg_error(cp, line, "unknown key '%s' in section [%s]", name,
		    section);
		return 0;
	}
	idx = (size_t)(k - cfg_keys);
	if (cp->cp_set[idx] != 0) {
		cfg_error(cp, line, "[%s] %s: duplicate key (first set on "
		    "line %d)", section, name, cp->cp_set[idx]);
		return 0;
	}
	cp->cp_set[idx] = line;
	value = cfg_line_value(cp->cp_line);
	if (cfg_set(cp->cp_cfg, k, value, why, sizeof(why)) == -1) {
		cfg_error(cp, line, "[%s] %s: %s", section, name, why);
		return 0;
	}
	if (k->state == PLANNED && cp->cp_warn != NULL) {
		snprintf(msg, sizeof(msg), "%s:%d: key [%s] %s is accepted "
		    "but not implemented yet", cp->cp_path, line, section,
		    name);
		cp->cp_warn(msg);
	}
	return 1;
}

/* Checks of single string values: NULL if fine, else why not. */

static const char *
chk_hostport(const char *s)
{
	if (cfg_split_hostport(s, NULL, 0, NULL, 0) == -1)
		return "not host:port (or [v6 address]:port) with a port "
		    "from 0 to 65535";
	return NULL;
}

static const char *
chk_hostport_opt(const char *s)
{
	return *s == '\0' ? NULL : chk_hostport(s);
}

static const char *
chk_nonempty(const char *s)
{
	return *s == '\0' ? "must not be empty" : NULL;
}

static const char *
chk_path(const char *s)
{
	if (*s != '/')
		return "must start with '/'";
	if (strpbrk(s, "?# \t") != NULL)
		return "must not contain '?', '#' or blanks";
	return NULL;
}

static const char *
chk_path_opt(const char *s)
{
	return *s == '\0' ? NULL : chk_path(s);
}

static const char *
chk_algorithm(const char *s)
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
static const char *
chk_origins(const char *s)
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

	return k == NULL ? 0 : cp->cp_set[k - cfg_keys];
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

static int
cfg_validate(struct cfg_parse *cp)
{
	struct parley_config	*c = cp->cp_cfg;
	const struct cfg_key	*k;
	const char		*why;
	size_t			 i;
	int			 hs;

	for (i = 0; i < CFG_NKEYS; i++) {
		k = &cfg_keys[i];
		if (k->check == NULL)
			continue;
		if ((why = k->check(*(char **)cfg_field(c, k))) != NULL)
			VERR(cp, k->section, k->key, "%s", why);
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

/* fp == NULL: path could not be opened (errno says why). */
static int
cfg_load_fp(const char *path, FILE *fp, struct parley_config *cfg,
    char *err, size_t errlen, void (*warn)(const char *msg))
{
	struct parley_config	 tmp;
	struct cfg_parse	 cp;
	char			 iobuf[BUFSIZ];
	int			 rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&cp, 0, sizeof(cp));
	cp.cp_cfg = &tmp;
	cp.cp_path = path;
	cp.cp_err = err;
	cp.cp_errlen = errlen;
	cp.cp_warn = warn;

	cfg_defaults(&tmp);
	tmp.cfg_path = xstrdup(path);
	if ((cp.cp_fp = fp) == NULL) {
		cfg_error(&cp, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	/* The file may hold an inline secret: every copy of its bytes is
	 * in a buffer wiped below (getline grows cp_line only for lines
	 * too long to be valid). */
	setvbuf(cp.cp_fp, iobuf, _IOFBF, sizeof(iobuf));
	cp.cp_linecap = CFG_MAX_LINE + 2;
	cp.cp_line = xmalloc(cp.cp_linecap);
	rc = ini_parse_stream(cfg_reader, &cp, cfg_handler, &cp);
	if (ferror(cp.cp_fp) && !cp.cp_failed)
		cfg_error(&cp, cp.cp_lineno, "read error");
	fclose(cp.cp_fp);
	explicit_bzero(iobuf, sizeof(iobuf));
	explicit_bzero(cp.cp_line, cp.cp_linecap);
	free(cp.cp_line);
	if (rc > 0 && (!cp.cp_failed || rc < cp.cp_errline)) {
		/* A line libinih refused before any error of ours. */
		cp.cp_failed = 0;
		cfg_error(&cp, rc, "syntax error: expected [section] or "
		    "key = value");
	} else if (rc < 0 && !cp.cp_failed)
		cfg_error(&cp, 0, "cannot parse (error %d)", rc);
	if (cp.cp_failed || cfg_validate(&cp) == -1)
		goto fail;
	*cfg = tmp;
	return 0;
 fail:
	cfg_free(&tmp);
	memset(cfg, 0, sizeof(*cfg));
	return -1;
}

int
cfg_load(const char *path, struct parley_config *cfg, char *err,
    size_t errlen, void (*warn)(const char *msg))
{
	return cfg_load_fp(path, fopen(path, "r"), cfg, err, errlen, warn);
}

int
cfg_load_mem(const char *name, const void *buf, size_t len,
    struct parley_config *cfg, char *err, size_t errlen,
    void (*warn)(const char *msg))
{
	FILE	*fp = NULL;

	/* fmemopen refuses a size of 0; an empty file is "\n"-less text. */
	if (len > 0)
		fp = fmemopen((void *)(uintptr_t)buf, len, "r");
	else
		fp = fopen("/dev/null", "r");
	return cfg_load_fp(name, fp, cfg, err, errlen, warn);
}

uint64_t
cfg_output_limit(const struct parley_config *cfg)
{
	/* A message's JSON is about its request's size plus the fields the
	 * server adds; a published event's data is held to the same. */
	uint64_t one = 2 * cfg->max_message_bytes + 4096;

	return cfg->max_output_bytes > one ? cfg->max_output_bytes : one;
}

size_t
cfg_reply_budget(const struct parley_config *cfg)
{
	return (size_t)(cfg->max_output_bytes / 2);
}
