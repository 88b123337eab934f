/* config_parse.c: the INI file (libinih) and its values into the key table. */
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
#include "config_int.h"
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

/* Record the first error only: "FILE:LINE: ..." ("FILE: ..." if line 0). */
void
cfg_error(struct cfg_parse *cp, int line, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (cp->cfp_failed)
		return;
	cp->cfp_failed = 1;
	cp->cfp_errline = line;
	if (cp->cfp_err == NULL || cp->cfp_errlen == 0)
		return;
	if (line > 0)
		n = snprintf(cp->cfp_err, cp->cfp_errlen, "%s:%d: ",
		    cp->cfp_path, line);
	else
		n = snprintf(cp->cfp_err, cp->cfp_errlen, "%s: ", cp->cfp_path);
	if (n < 0 || (size_t)n >= cp->cfp_errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(cp->cfp_err + n, cp->cfp_errlen - n, fmt, ap);
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
int
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

	switch (k->ck_type) {
	case CFG_STR:
		free(*(char **)p);
		*(char **)p = xstrdup(v);
		return 0;
	case CFG_INT:
		errno = 0;
		ll = strtoll(v, &end, 10);
		if (*v == '\0' || isspace((unsigned char)*v) || *end != '\0' ||
		    errno != 0 || ll < k->ck_min || ll > (long long)k->ck_max)
			goto range;
		*(int *)p = (int)ll;
		return 0;
	case CFG_U64:
		if (cfg_parse_u64(v, &u) == -1 || u < (uint64_t)k->ck_min ||
		    u > k->ck_max)
			goto range;
		*(uint64_t *)p = u;
		return 0;
	case CFG_SIZE:
		if (cfg_parse_size(v, &u) == -1 || u < (uint64_t)k->ck_min ||
		    u > k->ck_max)
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
		for (e = k->ck_names; e->ce_name != NULL; e++)
			if (strcmp(v, e->ce_name) == 0) {
				*(int *)p = e->ce_value;
				return 0;
			}
		n = (size_t)snprintf(why, whylen, "must be one of:");
		for (e = k->ck_names; e->ce_name != NULL && n < whylen; e++)
			n += (size_t)snprintf(why + n, whylen - n, "%s %s",
			    e == k->ck_names ? "" : ",", e->ce_name);
		return -1;
	}
	snprintf(why, whylen, "bad key type");
	return -1;
 range:
	snprintf(why, whylen, "not a number between %" PRId64 " and %" PRIu64,
	    k->ck_min, k->ck_max);
	return -1;
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
	n = getline(&cp->cfp_line, &cp->cfp_linecap, cp->cfp_fp);
	if (n < 0)
		return NULL;
	cp->cfp_lineno++;
	len = (size_t)n;
	while (len > 0 && (cp->cfp_line[len - 1] == '\n' ||
	    cp->cfp_line[len - 1] == '\r'))
		len--;
	cp->cfp_line[len] = '\0';
	if (strlen(cp->cfp_line) != len) {
		cfg_error(cp, cp->cfp_lineno, "NUL byte in line");
		cp->cfp_line[0] = '\0';
	} else if (len > CFG_MAX_LINE) {
		cfg_error(cp, cp->cfp_lineno, "line longer than %d bytes",
		    CFG_MAX_LINE);
		cp->cfp_line[0] = '\0';
	}
	for (s = cp->cfp_line; *s == ' ' || *s == '\t'; s++)
		;
	memmove(cp->cfp_line, s, strlen(s) + 1);
	/* libinih gets at most num - 2 bytes; values come from cfp_line, so
	 * a key line goes to libinih without its value (an inline secret
	 * never sits in libinih's buffer). */
	len = strlen(cp->cfp_line);
	if (cp->cfp_line[0] != '[' && cp->cfp_line[0] != ';' &&
	    cp->cfp_line[0] != '#' && (s = strpbrk(cp->cfp_line, "=:")) != NULL)
		len = (size_t)(s + 1 - cp->cfp_line);
	if (len > (size_t)num - 2)
		len = (size_t)num - 2;
	memcpy(str, cp->cfp_line, len);
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
	int			 line = cp->cfp_lineno;
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
	if (cp->cfp_set[idx] != 0) {
		cfg_error(cp, line, "[%s] %s: duplicate key (first set on "
		    "line %d)", section, name, cp->cfp_set[idx]);
		return 0;
	}
	cp->cfp_set[idx] = line;
	value = cfg_line_value(cp->cfp_line);
	if (cfg_set(cp->cfp_cfg, k, value, why, sizeof(why)) == -1) {
		cfg_error(cp, line, "[%s] %s: %s", section, name, why);
		return 0;
	}
	if (k->ck_state == PLANNED && cp->cfp_warn != NULL) {
		snprintf(msg, sizeof(msg), "%s:%d: key [%s] %s is accepted "
		    "but not implemented yet", cp->cfp_path, line, section,
		    name);
		cp->cfp_warn(msg);
	}
	return 1;
}

/* fp == NULL: path could not be opened (errno says why). */
int
cfg_parse_file(const char *path, FILE *fp, struct parley_config *cfg,
    char *err, size_t errlen, void (*warn)(const char *msg))
{
	struct parley_config	 tmp;
	struct cfg_parse	 cp;
	char			 iobuf[BUFSIZ];
	int			 rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&cp, 0, sizeof(cp));
	cp.cfp_cfg = &tmp;
	cp.cfp_path = path;
	cp.cfp_err = err;
	cp.cfp_errlen = errlen;
	cp.cfp_warn = warn;

	cfg_defaults(&tmp);
	tmp.cfg_path = xstrdup(path);
	if ((cp.cfp_fp = fp) == NULL) {
		cfg_error(&cp, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	/* The file may hold an inline secret: every copy of its bytes is
	 * in a buffer wiped below (getline grows cfp_line only for lines
	 * too long to be valid). */
	setvbuf(cp.cfp_fp, iobuf, _IOFBF, sizeof(iobuf));
	cp.cfp_linecap = CFG_MAX_LINE + 2;
	cp.cfp_line = xmalloc(cp.cfp_linecap);
	rc = ini_parse_stream(cfg_reader, &cp, cfg_handler, &cp);
	if (ferror(cp.cfp_fp) && !cp.cfp_failed)
		cfg_error(&cp, cp.cfp_lineno, "read error");
	fclose(cp.cfp_fp);
	explicit_bzero(iobuf, sizeof(iobuf));
	explicit_bzero(cp.cfp_line, cp.cfp_linecap);
	free(cp.cfp_line);
	if (rc > 0 && (!cp.cfp_failed || rc < cp.cfp_errline)) {
		/* A line libinih refused before any error of ours. */
		cp.cfp_failed = 0;
		cfg_error(&cp, rc, "syntax error: expected [section] or "
		    "key = value");
	} else if (rc < 0 && !cp.cfp_failed)
		cfg_error(&cp, 0, "cannot parse (error %d)", rc);
	if (cp.cfp_failed || cfg_validate(&cp) == -1)
		goto fail;
	*cfg = tmp;
	return 0;
 fail:
	cfg_free(&tmp);
	memset(cfg, 0, sizeof(*cfg));
	return -1;
}
