/* chat.h: the typed chat events that travel worker -> broker: a verified
 * identity (IPC_CONN_AUTH) and client requests (IPC_CLIENT_REQ).  The
 * worker turns JSON into these; the broker never parses client JSON. */
#ifndef PARLEY_CHAT_H
#define PARLEY_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ipc_msg;
struct ipc_reader;

#define CHAT_MAX_USER		64
#define CHAT_MAX_NAME		64	/* characters (code points) */
#define CHAT_MAX_NAME_BYTES	(CHAT_MAX_NAME * 4)
#define CHAT_MAX_ROOM		128
/* Rooms one connection may be in; one more join gets VALIDATION_ERROR. */
#define CHAT_MAX_ROOMS_PER_CONN	1000
#define CHAT_MAX_PATTERNS	256	/* rooms claim entries */
#define CHAT_MAX_ID		64

/* A verified token, as the worker hands it to the broker. */
struct chat_identity {
	char		 ci_user[CHAT_MAX_USER + 1];	/* sub */
	char		 ci_name[CHAT_MAX_NAME_BYTES + 1]; /* name, or "" */
	bool		 ci_moderator;			/* role == "moderator" */
	int64_t		 ci_exp;			/* seconds; 0: none */
	bool		 ci_rooms_present;		/* rooms claim given */
	size_t		 ci_nrooms;
	char		**ci_rooms;	/* exact names or "prefix*", owned */
};

void	chat_identity_free(struct chat_identity *id);
void	chat_identity_encode(struct ipc_msg *m, const struct chat_identity *id);
/* The whole payload: leftover bytes are an error.  On -1, id holds nothing
 * that needs freeing. */
int	chat_identity_decode(struct ipc_reader *r, struct chat_identity *id);

/*
 * Client requests (PROTOCOL.md section 4).  ping, auth and refresh are
 * answered by the worker and never reach the broker.
 */
enum chat_req_kind {
	CHAT_REQ_JOIN = 1,
	CHAT_REQ_LEAVE,
	CHAT_REQ_SEND,
	CHAT_REQ_HISTORY,
	CHAT_REQ_TYPING,
	CHAT_REQ_READ,
	CHAT_REQ_EDIT,
	CHAT_REQ_DELETE,
	CHAT_REQ_REACT,
	CHAT_REQ_SEARCH,
	CHAT_REQ_PRESENCE,
	CHAT_REQ_ROOMS,
	CHAT_REQ_MAX		/* sentinel */
};

/* The id as JSON text: a string of 64 code points, each escaped to at
 * most 6 bytes ("\u001f"), plus quotes; integers are shorter. */
#define CHAT_MAX_ID_JSON	(CHAT_MAX_ID * 6 + 2)
#define CHAT_MAX_CMID		64	/* client_msg_id, code points */
#define CHAT_MAX_CMID_BYTES	(CHAT_MAX_CMID * 4)
#define CHAT_MAX_EPOCH		64	/* code points */
#define CHAT_MAX_EPOCH_BYTES	(CHAT_MAX_EPOCH * 4)
#define CHAT_MAX_EMOJI		32	/* bytes */
#define CHAT_MAX_Q		256	/* search query, code points */
#define CHAT_MAX_Q_BYTES	(CHAT_MAX_Q * 4)
#define CHAT_MAX_HISTORY	200	/* join.history, history.limit */
#define CHAT_DEF_HISTORY	50
#define CHAT_MAX_SEARCH		100	/* search.limit */
#define CHAT_DEF_SEARCH		20

/* Request fields; a kind's table entry says which it carries. */
#define CHAT_F_ROOM	0x0001
#define CHAT_F_TEXT	0x0002
#define CHAT_F_CMID	0x0004	/* optional, has flag */
#define CHAT_F_SEQ	0x0008
#define CHAT_F_HISTORY	0x0010	/* optional, has flag */
#define CHAT_F_SINCE	0x0020	/* optional, has flag */
#define CHAT_F_EPOCH	0x0040	/* optional, has flag */
#define CHAT_F_BEFORE	0x0080	/* optional, has flag */
#define CHAT_F_LIMIT	0x0100	/* optional, has flag */
#define CHAT_F_ACTIVE	0x0200
#define CHAT_F_FORGET	0x0400	/* optional, default false */
#define CHAT_F_EMOJI	0x0800
#define CHAT_F_Q	0x1000
#define CHAT_F_AFTER	0x2000	/* optional, has flag */

struct chat_req_info {
	enum chat_req_kind	 cri_kind;
	const char		*cri_name;	/* the JSON "type" */
	uint32_t		 cri_fields;	/* CHAT_F_* it carries */
	int64_t			 cri_seq_min;	/* read may say 0 */
	int64_t			 cri_limit_max;	/* history 200, search 100 */
	int64_t			 cri_limit_def;
};

/* NULL for an unknown kind or name. */
const struct chat_req_info *chat_req_lookup(enum chat_req_kind kind);
const struct chat_req_info *chat_req_byname(const char *name);

/* One request.  Only the fields of its kind mean anything; absent
 * optional ones hold their defaults (history 50, limit 50 or 20). */
struct chat_req {
	enum chat_req_kind	 cr_kind;
	char		 cr_id[CHAT_MAX_ID_JSON + 1];	/* JSON: "\"a\"", "42"; "": none */
	char		 cr_room[CHAT_MAX_ROOM + 1];
	char		*cr_text;			/* send, edit; owned UTF-8 */
	bool		 cr_has_cmid;
	char		 cr_cmid[CHAT_MAX_CMID_BYTES + 1]; /* client_msg_id */
	int64_t		 cr_seq;
	bool		 cr_has_history;
	int64_t		 cr_history;			/* join: 0..200 */
	bool		 cr_has_since;
	int64_t		 cr_since;			/* join: >= 0 */
	bool		 cr_has_epoch;
	char		 cr_epoch[CHAT_MAX_EPOCH_BYTES + 1];
	bool		 cr_has_before;
	int64_t		 cr_before;			/* history, search: >= 1 */
	bool		 cr_has_limit;
	int64_t		 cr_limit;
	bool		 cr_active;			/* typing, react */
	bool		 cr_forget;			/* leave */
	char		 cr_emoji[CHAT_MAX_EMOJI + 1];
	char		*cr_q;				/* search; owned */
	bool		 cr_has_after;
	int64_t		 cr_after;			/* history: >= 0, forward */
};

/* Zero r and give kind's optional fields their defaults. */
void	chat_req_init(struct chat_req *r, enum chat_req_kind kind);
void	chat_req_free(struct chat_req *r);
/* Payload of IPC_CLIENT_REQ: u8 kind, str id, then the kind's fields in
 * CHAT_F_* order (optional ones: u8 has, value if has). */
void	chat_req_encode(struct ipc_msg *m, const struct chat_req *r);
/* Re-checks every bound; the whole payload.  On -1 out needs no free. */
int	chat_req_decode(struct ipc_reader *r, struct chat_req *out);

/* Shared checks, so worker and broker agree on them. */
enum chat_text_rule {
	CHAT_TEXT_ANY,		/* any code point, NUL included (ids) */
	CHAT_TEXT_NONUL,	/* no NUL */
	CHAT_TEXT_MSG,		/* no C0 control but \n and \t */
	CHAT_TEXT_NOCTL		/* no C0 control at all */
};
/* Code points in valid UTF-8 that keeps rule, or -1. */
ssize_t	chat_text_count(const char *s, size_t len, enum chat_text_rule rule);
/* A user id (the JWT sub, the API's user): 1-64 chars of [A-Za-z0-9_.@-]
 * (PROTOCOL.md section 2).  The one place that says so. */
bool	chat_user_valid(const char *s, size_t len);
/* 1-128 chars of [A-Za-z0-9_.:@-]. */
bool	chat_room_valid(const char *s, size_t len);
/* An id as the worker writes it: "", an integer, or a JSON string. */
bool	chat_id_json_valid(const char *s, size_t len);

#endif
