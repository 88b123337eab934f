/* http_answer.c: the HTTP answers to an upgrade request: 101 Switching
 * Protocols with Sec-WebSocket-Accept (RFC 6455 4.2.2), or an error with a
 * one-line body, and Retry-After where the client should come back.
 * Pure: it appends to an evbuffer. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "http_upgrade.h"

#define HA_WS_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HA_WHY_MAX	200	/* bound on the error body */

void
http_ws_accept(const char *key, char out[HTTP_WS_ACCEPT_LEN + 1])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;
	EVP_MD_CTX	*ctx;

	out[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
	    EVP_DigestUpdate(ctx, HA_WS_GUID, sizeof(HA_WS_GUID) - 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20)
		EVP_EncodeBlock((unsigned char *)out, md, 20);
	EVP_MD_CTX_free(ctx);
}

/* Refuse CR/LF in what goes into a header line. */
static bool
ha_header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

int
http_write_101(struct evbuffer *out, const char *accept,
    const char *extensions)
{
	if (!ha_header_safe(accept) ||
	    (extensions != NULL && !ha_header_safe(extensions)))
		return -1;
	if (evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n", accept) < 0)
		return -1;
	if (extensions != NULL && evbuffer_add_printf(out,
	    "Sec-WebSocket-Extensions: %s\r\n", extensions) < 0)
		return -1;
	if (evbuffer_add(out, "\r\n", 2) == -1)
		return -1;
	return 0;
}

static const struct {
	int		 hs_status;
	const char	*hs_reason;
} ha_reasons[] = {
	{ 400, "Bad Request" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 426, "Upgrade Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
};

static const char *
ha_reason(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(ha_reasons) / sizeof(ha_reasons[0]); i++) {
		if (ha_reasons[i].hs_status == status)
			return ha_reasons[i].hs_reason;
	}
	return NULL;
}

/* why: one line; cut at the first CR/LF and at HA_WHY_MAX bytes. */
int
http_write_error(struct evbuffer *out, int status, const char *why)
{
	return http_write_refusal(out, status, why, 0);
}

int
http_write_refusal(struct evbuffer *out, int status, const char *why,
    unsigned retry_after_s)
{
	const char	*reason, *extra;
	char		 retry[48];
	int		 wlen;

	if ((reason = ha_reason(status)) == NULL)
		return -1;
	if (why == NULL)
		why = reason;
	wlen = (int)strcspn(why, "\r\n");
	if (wlen > HA_WHY_MAX)
		wlen = HA_WHY_MAX;
	if (status == 426)
		extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
	else if (status == 405)
		extra = "Allow: GET\r\n";
	else
		extra = "";
	retry[0] = '\0';
	if (retry_after_s > 0)
		snprintf(retry, sizeof(retry), "Retry-After: %u\r\n",
		    retry_after_s);
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %d\r\n"
	    "Connection: close\r\n"
	    "%s%s"
	    "\r\n"
	    "%.*s\n", status, reason, wlen + 1, extra, retry, wlen, why) < 0)
		return -1;
	return 0;
}
