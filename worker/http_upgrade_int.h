/* http_upgrade_int.h: what the upgrade parser (http_upgrade.c) and the
 * extension offers (http_ext.c) share. */
#ifndef PARLEY_HTTP_UPGRADE_INT_H
#define PARLEY_HTTP_UPGRADE_INT_H

#include <stdbool.h>
#include <string.h>

/* Only a pointer to it here, so no http_upgrade.h (no include circle). */
struct http_upgrade_req;

#define HU_NAME_MAX	32	/* longer names are none we look at */

static inline bool
hu_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 7230 tchar. */
static inline bool
hu_is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* http_ext.c: one Sec-WebSocket-Extensions value into req->hu_pmd. */
void	http_ext_offers(struct http_upgrade_req *req, const char *value);

#endif
