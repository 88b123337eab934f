/* ws_close.h: the WebSocket close codes parley sends, RFC 6455 section
 * 7.4.1 plus parley's 4xxx (PROTOCOL.md 3).  Here, below both processes:
 * the worker closes with them and the broker asks it to (IPC_KICK). */
#ifndef PARLEY_WS_CLOSE_H
#define PARLEY_WS_CLOSE_H

#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL_ERROR	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_NO_STATUS	1005	/* never sent on the wire */
#define WS_CLOSE_INVALID_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011
#define WS_CLOSE_TRY_AGAIN	1013
#define WS_CLOSE_INVALID_TOKEN	4401
#define WS_CLOSE_FORBIDDEN	4403
#define WS_CLOSE_AUTH_TIMEOUT	4408
#define WS_CLOSE_TOO_MANY	4429

#endif
