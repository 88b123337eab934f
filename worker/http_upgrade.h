/* http_upgrade.h: validate a WebSocket upgrade request head (RFC 6455 4.2.1)
 * and build the answers.  Parsing uses libhttp-parser; no I/O here. */
#ifndef PARLEY_HTTP_UPGRADE_H
#define PARLEY_HTTP_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;

#define HTTP_MAX_HEAD		8192
#define HTTP_MAX_PATH		2048
#define HTTP_WS_KEY_LEN		24	/* base64 of 16 bytes */
#define HTTP_WS_ACCEPT_LEN	28
#define HTTP_MAX_PMD_OFFERS	8	/* later permessage-deflate offers are ignored */

/* One well-formed permessage-deflate offer (RFC 7692 7.1). */
struct http_pmd_offer {
	bool	po_client_no_context_takeover;
	bool	po_server_no_context_takeover;
	int	po_client_max_window_bits;	/* 0: not given; -1: given without value */
	int	po_server_max_window_bits;	/* 0: not given */
};

struct http_upgrade_req {
	char	hu_path[HTTP_MAX_PATH + 1];	/* path without the query */
	char	*hu_query;	/* raw query string or NULL; owned */
	char	*hu_host;	/* owned */
	char	*hu_origin;	/* owned, NULL when absent */
	char	*hu_bearer;	/* token from "Authorization: Bearer", owned */
	char	hu_key[HTTP_WS_KEY_LEN + 1];
	/* The well-formed permessage-deflate offers of Sec-WebSocket-Extensions,
	 * in the client's order of preference; deflate.c picks one. */
	struct http_pmd_offer hu_pmd[HTTP_MAX_PMD_OFFERS];
	size_t	hu_npmd;
	char	hu_x_forwarded_for[64];	/* unused unless trusted; kept for logs */
};

/*
 * Find the end of the head ("\r\n\r\n") in buf.  Returns the head length
 * including the blank line, 0 when more bytes are needed, or -1 when the
 * head exceeds max_head (answer 431).
 */
long	http_upgrade_head_end(const char *buf, size_t len, size_t max_head);

/*
 * Parse and validate a complete head.  Returns 0 and fills req on success;
 * otherwise an HTTP status to answer with: 400 (malformed, no Host, bad or
 * missing Sec-WebSocket-Key, missing Upgrade/Connection tokens, a body),
 * 405 (not GET), 426 (Sec-WebSocket-Version not 13), 505 (not HTTP/1.1+).
 * *why is set to a short static reason either way.
 * req must be released with http_upgrade_req_free().
 */
int	http_upgrade_parse(const char *head, size_t len,
	    struct http_upgrade_req *req, const char **why);
void	http_upgrade_req_free(struct http_upgrade_req *req);

/* Value of name in a query string ("a=1&token=xyz"), percent-decoded; owned. */
char	*http_query_param(const char *query, const char *name);

/* http_answer.c: the answers. */

/* Sec-WebSocket-Accept for a key: base64(SHA1(key + GUID)), NUL-terminated. */
void	http_ws_accept(const char *key, char out[HTTP_WS_ACCEPT_LEN + 1]);

/* Append "HTTP/1.1 101 ..." with the accept key and optional extension line. */
int	http_write_101(struct evbuffer *out, const char *accept,
	    const char *extensions);
/* Append an error answer with a small text body and "Connection: close";
 * 426 carries "Sec-WebSocket-Version: 13", 405 carries "Allow: GET". */
int	http_write_error(struct evbuffer *out, int status, const char *why);
/* The same with "Retry-After: retry_after_s" (429, 503) when it is > 0. */
int	http_write_refusal(struct evbuffer *out, int status, const char *why,
	    unsigned retry_after_s);

#endif
