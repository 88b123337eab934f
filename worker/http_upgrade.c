/* http_upgrade.c: validate a WebSocket upgrade request head (RFC 6455
 * section 4.2.1) with libhttp-parser; http_ext.c reads the extension
 * offers, http_answer.c writes the answer.
 * Pure: no sockets, no config; the caller bounds the head first. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <sodium.h>

#include "http_upgrade.h"
#include "http_upgrade_int.h"
#include "util.h"

#define HU_MAX_HEADERS	64	/* one more answers 431 */

/* Where the header callbacks are: pieces of one name or one value. */
enum hu_cb_state {
	HU_CB_NONE,
	HU_CB_FIELD,
	HU_CB_VALUE,
};

/* Parse state for one head; lives on the stack of http_upgrade_parse. */
struct hu_parse {
	struct http_upgrade_req	*hp_req;
	int			 hp_status;	/* error found in a callback */
	const char		*hp_why;
	bool			 hp_done;	/* headers complete */
	enum hu_cb_state	 hp_cb;

	char			*hp_url;	/* cap: head length */
	size_t			 hp_url_len;
	char			 hp_name[HU_NAME_MAX + 1];
	size_t			 hp_name_len;
	bool			 hp_name_long;
	char			*hp_value;	/* cap: head length */
	size_t			 hp_value_len;
	const char		*hp_value_end;	/* where the last piece ended */
	size_t			 hp_cap;

	int			 hp_nheaders;
	int			 hp_nhost;
	int			 hp_norigin;
	int			 hp_nauth;
	int			 hp_nkey;
	int			 hp_nversion;
	bool			 hp_upgrade_ok;
	bool			 hp_connection_ok;
	bool			 hp_te;
	bool			 hp_key_bad;
	bool			 hp_xff_seen;
	char			 hp_version[4];	/* "13" fits; longer is bad */
	bool			 hp_version_bad;
};

static int
hu_fail(struct hu_parse *hp, int status, const char *why)
{
	if (hp->hp_status == 0) {
		hp->hp_status = status;
		hp->hp_why = why;
	}
	return -1;
}

/* Trim OWS in place on a NUL-terminated buffer of *len bytes. */
static char *
hu_trim(char *s, size_t *len)
{
	size_t	n = *len;

	while (n > 0 && hu_is_ows(*s)) {
		s++;
		n--;
	}
	while (n > 0 && hu_is_ows(s[n - 1]))
		n--;
	s[n] = '\0';
	*len = n;
	return s;
}

/* Does a comma-separated list hold token (case-insensitive)? */
static bool
hu_list_has(const char *list, const char *token)
{
	size_t		 tlen = strlen(token), n;
	const char	*p = list, *end;

	for (;;) {
		while (hu_is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			return false;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		n = (size_t)(end - p);
		while (n > 0 && hu_is_ows(p[n - 1]))
			n--;
		if (n == tlen && strncasecmp(p, token, tlen) == 0)
			return true;
		p = end;
	}
}

/*
 * base64 of exactly 16 bytes: 22 alphabet chars then "==".  The last char
 * must leave its 4 spare bits zero (canonical, which libsodium's decoder
 * checks), so the key decodes to 16 bytes under any decoder; real clients
 * always send it that way.
 */
static bool
hu_key_valid(const char *key, size_t len)
{
	unsigned char raw[16];
	const char *end = NULL;
	size_t n = 0;

	return len == HTTP_WS_KEY_LEN && sodium_base642bin(raw, sizeof(raw),
	    key, len, NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    n == sizeof(raw) && end == key + len;
}


/* "Bearer <token>", scheme case-insensitive; other schemes are ignored. */
static void
hu_bearer(struct http_upgrade_req *req, const char *v, size_t len)
{
	size_t	i;

	if (len < 7 || strncasecmp(v, "bearer", 6) != 0 || !hu_is_ows(v[6]))
		return;
	for (i = 6; i < len && hu_is_ows(v[i]); i++)
		;
	if (i < len)
		req->hu_bearer = xstrndup(v + i, len - i);
}

/* A whole header (name and value) has arrived. */
static int
hu_header(struct hu_parse *hp)
{
	struct http_upgrade_req	*req = hp->hp_req;
	const char		*n = hp->hp_name;
	char			*v;
	size_t			 len = hp->hp_value_len;

	hp->hp_value[len] = '\0';
	v = hu_trim(hp->hp_value, &len);
	/* A NUL would cut the copies short of what was validated. */
	if (memchr(v, '\0', len) != NULL)
		return hu_fail(hp, 400, "NUL in header value");
	if (hp->hp_name_long)
		return 0;

	if (strcasecmp(n, "host") == 0) {
		if (++hp->hp_nhost > 1)
			return hu_fail(hp, 400, "duplicate Host");
		req->hu_host = xstrndup(v, len);
	} else if (strcasecmp(n, "origin") == 0) {
		/* Two origins could slip one past the allow-list. */
		if (++hp->hp_norigin > 1)
			return hu_fail(hp, 400, "duplicate Origin");
		req->hu_origin = xstrndup(v, len);
	} else if (strcasecmp(n, "authorization") == 0) {
		if (++hp->hp_nauth > 1)
			return hu_fail(hp, 400, "duplicate Authorization");
		hu_bearer(req, v, len);
	} else if (strcasecmp(n, "upgrade") == 0) {
		if (hu_list_has(v, "websocket"))
			hp->hp_upgrade_ok = true;
	} else if (strcasecmp(n, "connection") == 0) {
		if (hu_list_has(v, "upgrade"))
			hp->hp_connection_ok = true;
	} else if (strcasecmp(n, "sec-websocket-key") == 0) {
		/* RFC 6455 11.3.1: not more than once in a request. */
		if (++hp->hp_nkey > 1)
			return hu_fail(hp, 400, "duplicate Sec-WebSocket-Key");
		if (hu_key_valid(v, len))
			memcpy(req->hu_key, v, HTTP_WS_KEY_LEN + 1);
		else
			hp->hp_key_bad = true;
	} else if (strcasecmp(n, "sec-websocket-version") == 0) {
		/* RFC 6455 11.3.5: not more than once in a request. */
		if (++hp->hp_nversion > 1)
			return hu_fail(hp, 400,
			    "duplicate Sec-WebSocket-Version");
		if (len < sizeof(hp->hp_version))
			memcpy(hp->hp_version, v, len + 1);
		else
			hp->hp_version_bad = true;
	} else if (strcasecmp(n, "sec-websocket-extensions") == 0)
		http_ext_offers(req, v);
	else if (strcasecmp(n, "transfer-encoding") == 0)
		hp->hp_te = true;
	else if (strcasecmp(n, "x-forwarded-for") == 0 && !hp->hp_xff_seen) {
		hp->hp_xff_seen = true;
		snprintf(req->hu_x_forwarded_for,
		    sizeof(req->hu_x_forwarded_for), "%s", v);
	}
	return 0;
}

static int
hu_on_url(http_parser *p, const char *at, size_t len)
{
	struct hu_parse	*hp = p->data;

	if (len > hp->hp_cap - hp->hp_url_len)
		return hu_fail(hp, 400, "URL too long");
	memcpy(hp->hp_url + hp->hp_url_len, at, len);
	hp->hp_url_len += len;
	return 0;
}

static int
hu_on_field(http_parser *p, const char *at, size_t len)
{
	struct hu_parse	*hp = p->data;
	size_t		 i;

	if (hp->hp_cb == HU_CB_VALUE && hu_header(hp) == -1)
		return -1;
	/* Non-strict http_parser lets SP into names: "Host : x" is no Host. */
	for (i = 0; i < len; i++) {
		if (!hu_is_tchar(at[i]))
			return hu_fail(hp, 400, "bad header name");
	}
	if (hp->hp_cb != HU_CB_FIELD) {
		if (++hp->hp_nheaders > HU_MAX_HEADERS)
			return hu_fail(hp, 431, "too many header fields");
		hp->hp_name_len = 0;
		hp->hp_name_long = false;
		hp->hp_cb = HU_CB_FIELD;
	}
	if (len > HU_NAME_MAX - hp->hp_name_len) {
		hp->hp_name_long = true;
		return 0;
	}
	memcpy(hp->hp_name + hp->hp_name_len, at, len);
	hp->hp_name_len += len;
	hp->hp_name[hp->hp_name_len] = '\0';
	return 0;
}

static int
hu_on_value(http_parser *p, const char *at, size_t len)
{
	struct hu_parse	*hp = p->data;

	if (hp->hp_cb == HU_CB_NONE)
		return hu_fail(hp, 400, "header value without a name");
	if (hp->hp_cb == HU_CB_FIELD) {
		hp->hp_value_len = 0;
		hp->hp_cb = HU_CB_VALUE;
	} else if (at != hp->hp_value_end) {
		/* The head is one buffer: a gap inside a value is an obs-fold,
		 * which RFC 7230 3.2.4 lets us refuse. */
		return hu_fail(hp, 400, "folded header value");
	}
	hp->hp_value_end = at + len;
	if (len > hp->hp_cap - hp->hp_value_len)
		return hu_fail(hp, 400, "header value too long");
	memcpy(hp->hp_value + hp->hp_value_len, at, len);
	hp->hp_value_len += len;
	return 0;
}

static int
hu_on_headers_complete(http_parser *p)
{
	struct hu_parse	*hp = p->data;

	if (hp->hp_cb == HU_CB_FIELD) {
		/* A name whose empty value was never reported. */
		hp->hp_value_len = 0;
		hp->hp_cb = HU_CB_VALUE;
	}
	if (hp->hp_cb == HU_CB_VALUE && hu_header(hp) == -1)
		return -1;
	hp->hp_cb = HU_CB_NONE;
	hp->hp_done = true;
	/* Skip any body: its presence is judged after the parse. */
	return 1;
}

/* Split the request target into hu_path and hu_query. */
static int
hu_url(struct hu_parse *hp)
{
	struct http_upgrade_req	*req = hp->hp_req;
	struct http_parser_url	 u;
	const char		*path;
	size_t			 plen;

	http_parser_url_init(&u);
	if (http_parser_parse_url(hp->hp_url, hp->hp_url_len, 0, &u) != 0)
		return hu_fail(hp, 400, "bad request target");
	if (!(u.field_set & (1 << UF_PATH)) ||
	    (u.field_set & (1 << UF_FRAGMENT)))
		return hu_fail(hp, 400, "bad request target");
	path = hp->hp_url + u.field_data[UF_PATH].off;
	plen = u.field_data[UF_PATH].len;
	if (plen == 0 || path[0] != '/')
		return hu_fail(hp, 400, "bad request target");
	if (plen > HTTP_MAX_PATH)
		return hu_fail(hp, 400, "path too long");
	if (memchr(path, '\0', plen) != NULL)
		return hu_fail(hp, 400, "bad request target");
	memcpy(req->hu_path, path, plen);
	req->hu_path[plen] = '\0';
	if ((u.field_set & (1 << UF_QUERY)) && u.field_data[UF_QUERY].len > 0)
		req->hu_query = xstrndup(hp->hp_url +
		    u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
	return 0;
}

/* The RFC 6455 4.2.1 rules, once the whole head is parsed. */
static int
hu_validate(struct hu_parse *hp, const http_parser *p)
{
	bool	body;

	/* HTTP/1.1 or later of major version 1; 1.0 and 0.9 cannot upgrade. */
	if (p->http_major != 1 || p->http_minor < 1)
		return hu_fail(hp, 505, "HTTP/1.1 required");
	if (p->method != HTTP_GET)
		return hu_fail(hp, 405, "method must be GET");
	body = (p->flags & F_CHUNKED) || hp->hp_te ||
	    (p->content_length > 0 && p->content_length != ULLONG_MAX);
	if (body)
		return hu_fail(hp, 400, "upgrade request with a body");
	if (hu_url(hp) == -1)
		return -1;
	if (hp->hp_nhost == 0)
		return hu_fail(hp, 400, "missing Host");
	if (hp->hp_req->hu_host[0] == '\0')
		return hu_fail(hp, 400, "empty Host");
	if (!hp->hp_upgrade_ok)
		return hu_fail(hp, 400, "Upgrade: websocket missing");
	if (!hp->hp_connection_ok)
		return hu_fail(hp, 400, "Connection: Upgrade missing");
	/*
	 * A missing version is a malformed handshake (400); a version we do
	 * not speak gets 426 with "Sec-WebSocket-Version: 13" (RFC 6455 4.4).
	 */
	if (hp->hp_nversion == 0)
		return hu_fail(hp, 400, "missing Sec-WebSocket-Version");
	if (hp->hp_version_bad || strcmp(hp->hp_version, "13") != 0)
		return hu_fail(hp, 426, "unsupported Sec-WebSocket-Version");
	if (hp->hp_nkey == 0)
		return hu_fail(hp, 400, "missing Sec-WebSocket-Key");
	if (hp->hp_key_bad)
		return hu_fail(hp, 400, "bad Sec-WebSocket-Key");
	return 0;
}

long
http_upgrade_head_end(const char *buf, size_t len, size_t max_head)
{
	size_t	lim = len < max_head ? len : max_head, i;

	for (i = 0; i + 4 <= lim; i++) {
		if (buf[i] == '\r' && memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return (long)(i + 4);
	}
	return len >= max_head ? -1 : 0;
}

/* The URL and header values may hold a token. */
static void
hu_parse_wipe(struct hu_parse *hp)
{
	explicit_bzero(hp->hp_url, hp->hp_cap + 1);
	explicit_bzero(hp->hp_value, hp->hp_cap + 1);
	free(hp->hp_url);
	free(hp->hp_value);
}

int
http_upgrade_parse(const char *head, size_t len,
    struct http_upgrade_req *req, const char **why)
{
	static const http_parser_settings settings = {
		.on_url = hu_on_url,
		.on_header_field = hu_on_field,
		.on_header_value = hu_on_value,
		.on_headers_complete = hu_on_headers_complete,
	};
	struct hu_parse	hp;
	http_parser	p;

	memset(req, 0, sizeof(*req));
	memset(&hp, 0, sizeof(hp));
	hp.hp_req = req;
	hp.hp_cap = len;
	hp.hp_url = xmalloc(len + 1);
	hp.hp_value = xmalloc(len + 1);

	http_parser_init(&p, HTTP_REQUEST);
	p.data = &hp;
	http_parser_execute(&p, &settings, head, len);
	if (hp.hp_status != 0)
		goto fail;
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK) {
		hu_fail(&hp, 400, "malformed request head");
		goto fail;
	}
	if (!hp.hp_done) {
		hu_fail(&hp, 400, "incomplete request head");
		goto fail;
	}
	if (hu_validate(&hp, &p) == -1)
		goto fail;

	hu_parse_wipe(&hp);
	*why = "ok";
	return 0;
fail:
	hu_parse_wipe(&hp);
	http_upgrade_req_free(req);
	*why = hp.hp_why;
	return hp.hp_status;
}

/* Query string and bearer may hold a token: wiped before they are freed. */
static void
hu_free_secret(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

void
http_upgrade_req_free(struct http_upgrade_req *req)
{
	if (req == NULL)
		return;
	hu_free_secret(req->hu_query);
	free(req->hu_host);
	free(req->hu_origin);
	hu_free_secret(req->hu_bearer);
	memset(req, 0, sizeof(*req));
}

static int
hu_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * '+' stays '+': tokens are base64url and '+' is never a space here.
 * A bad escape or an encoded NUL makes the value absent (NULL).  Names
 * are compared raw; the first match wins.
 */
char *
http_query_param(const char *query, const char *name)
{
	size_t		 nlen = strlen(name), i, n;
	const char	*p, *end, *v;
	char		*out;
	int		 hi, lo;

	if (query == NULL)
		return NULL;
	for (p = query; *p != '\0'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		if ((size_t)(end - p) < nlen || strncmp(p, name, nlen) != 0)
			continue;
		v = p + nlen;
		if (v != end && *v != '=')
			continue;
		if (v != end)
			v++;
		out = xmalloc((size_t)(end - v) + 1);
		for (i = 0, n = 0; v + i < end; i++) {
			if (v[i] != '%') {
				out[n++] = v[i];
				continue;
			}
			if (v + i + 2 >= end ||
			    (hi = hu_hex(v[i + 1])) < 0 ||
			    (lo = hu_hex(v[i + 2])) < 0 || (hi | lo) == 0)
				goto bad;
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		}
		out[n] = '\0';
		return out;
bad:
		explicit_bzero(out, (size_t)(end - v) + 1);
		free(out);
		return NULL;
	}
	return NULL;
}
