/* session.c: the chat endpoint's JSON edge (filled in by the chat protocol
 * work; for now every request is refused as unauthenticated). */
#include <string.h>

#include "conn.h"
#include "session.h"

void
session_on_open(struct ws_conn *c, const struct http_upgrade_req *req)
{
}

void
session_on_text(struct ws_conn *c, const char *text, size_t len)
{
	static const char answer[] = "{\"type\":\"error\",\"code\":"
	    "\"NOT_AUTHENTICATED\",\"message\":\"authenticate first\"}";

	conn_send_text(c, answer, sizeof(answer) - 1);
}

void
session_on_close(struct ws_conn *c)
{
}

void
session_reregister(struct ws_conn *c)
{
}
