/*
 * ipc_types.h: every IPC message type, once.  X(name, value, min, max):
 * min and max bound the payload; the dispatcher checks them before any
 * handler runs.  Ranges follow the direction (tmux style):
 *   0x01xx worker -> broker, 0x02xx broker -> worker,
 *   0x03xx supervisor <-> child, 0x04xx control socket.
 * Bump IPC_VERSION (ipc.h) whenever this list or a payload changes.
 * Payload layouts: u8/u16/u32/u64/i64 host order; "str" is u32 length +
 * bytes (no NUL); "rest" is all remaining bytes.
 */
#define IPC_MAX_PAYLOAD	(16u * 1024 * 1024)

#define IPC_TYPES(X)							\
	/* worker -> broker */						\
	/* u32 version, u32 slot, u32 pid, i64 start_ms */		\
	X(IPC_W_HELLO,		0x0101, 20, 20)				\
	/* conn: u8 kind (enum ipc_conn_kind), u8 resumed (re-sent	\
	 * after a broker restart), str remote address */		\
	X(IPC_CONN_OPEN,	0x0102, 6, 1024)			\
	/* conn: empty */						\
	X(IPC_CONN_CLOSE,	0x0103, 0, 0)				\
	/* conn: u8 request kind, then its fields (chat.h) */		\
	X(IPC_CLIENT_REQ,	0x0104, 1, IPC_MAX_PAYLOAD)		\
	/* conn: u8 flags (IPC_AUTH_F_*), verified identity (chat.h) */	\
	X(IPC_CONN_AUTH,	0x0105, 2, 65536)			\
	/* u32 live connections re-registered */			\
	X(IPC_W_RESYNC_DONE,	0x0106, 4, 4)				\
	/* conn: u32 n, then n x (str room, i64 seq): rooms it had	\
	 * joined and the last seq it got in each, re-sent after a	\
	 * broker restart (rejoined silently, ACL checked again, and	\
	 * sent what it missed) */					\
	X(IPC_CONN_ROOMS,	0x0107, 4, 1048576)			\
	/* str user, str name, u32 n, str room[n]: a chat connection	\
	 * that closed while the broker was away (its presence leaves) */	\
	X(IPC_CONN_GONE,	0x0108, 12, 1048576)			\
	/* broker -> worker */						\
	/* u32 version, u32 pid, i64 start_ms */			\
	X(IPC_B_HELLO,		0x0201, 16, 16)				\
	/* (0x0202 was IPC_REPLY, now an IPC_DELIVER item) */		\
	/* u32 count, then count items in order (ipc_batch.h), each	\
	 * u8 kind and its fields:					\
	 *  IPC_ITEM_ROOM: str room, i64 seq (0: not sequenced),	\
	 *   u32 n, u64 conn[n], str JSON text for all of them;		\
	 *  IPC_ITEM_REPLY: u64 conn, u8 flags (IPC_ITEM_F_RESPONSE:	\
	 *   answers one of its requests), str JSON text */		\
	X(IPC_DELIVER,		0x0203, 18, IPC_MAX_PAYLOAD)		\
	/* conn: u16 close code, str reason */				\
	X(IPC_KICK,		0x0204, 6, 130)				\
	/* conn: str room, i64 seq: the connection is in room and has	\
	 * everything up to seq (after join and personal backlog) */	\
	X(IPC_ROOM_SEQ,		0x0205, 12, 140)			\
	/* conn: str room: the connection is no longer in room */	\
	X(IPC_ROOM_LEFT,	0x0206, 5, 132)				\
	/* conn: empty: the broker counted the connection and let it in	\
	 * (re-registered later, it is exempt from the limits) */	\
	X(IPC_CONN_ADMITTED,	0x0207, 0, 0)				\
	/* conn: u32 retry_after_ms, str why: over a per-address limit;	\
	 * the broker forgot it; the worker answers HTTP 429 */		\
	X(IPC_CONN_REFUSED,	0x0208, 8, 140)				\
	/* conn: empty: the login (IPC_CONN_AUTH) is within the user's	\
	 * limits: the worker sends welcome now, before what follows */	\
	X(IPC_AUTH_OK,		0x0209, 0, 0)				\
	/* supervisor <-> child (SOCK_SEQPACKET, may carry an fd) */	\
	/* child -> sup: u32 version, u8 role, u32 slot, u32 pid */	\
	X(IPC_HELLO,		0x0301, 13, 13)				\
	/* sup -> child, fd attached: u32 slot, u32 pid, i64 start_ms	\
	 * of the process at the other end of the passed socket */	\
	X(IPC_PEER_SETUP,	0x0302, 16, 16)				\
	/* sup -> child: stop gracefully and exit */			\
	X(IPC_DRAIN,		0x0303, 0, 0)				\
	/* sup -> broker: u32 pid, i64 start_ms of the supervisor */	\
	X(IPC_SUP_INFO,		0x0304, 12, 12)				\
	/* control socket */						\
	/* u32 argc, str argv[argc] */					\
	X(IPC_CTL_REQ,		0x0401, 4, 65536)			\
	/* u32 status (0 ok, 1 error), str text */			\
	X(IPC_CTL_REPLY,	0x0402, 8, IPC_MAX_PAYLOAD)
