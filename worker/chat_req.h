/* chat_req.h: one client JSON message -> a typed request or an error
 * reply's parts (PROTOCOL.md sections 3, 4).  Pure: no I/O. */
#ifndef PARLEY_CHAT_REQ_H
#define PARLEY_CHAT_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "chat.h"
#include "envelope.h"

#define CHAT_REQ_DEF_MAX_TEXT	4000	/* code points */
#define CHAT_REQ_DEF_MAX_DEPTH	16	/* JSON nesting; requests are flat */
#define CHAT_REQ_DEF_MAX_BYTES	65536
#define CHAT_REQ_MAX_TOKEN	8192	/* auth, refresh: bytes */
#define CHAT_REQ_MSG_SIZE	128

struct chat_limits {
	size_t		 cl_max_text;	/* send/edit text, code points */
	int		 cl_max_depth;	/* JSON nesting, >= 1 */
	size_t		 cl_max_bytes;	/* whole message */
};

enum chat_parsed_kind {
	CHAT_PARSED_ERROR = 0,	/* reply with cp_err, cp_field, cp_msg */
	CHAT_PARSED_PING,	/* answered by the worker */
	CHAT_PARSED_AUTH,	/* cp_token */
	CHAT_PARSED_REFRESH,	/* cp_token */
	CHAT_PARSED_REQ		/* cp_req, for the broker */
};

enum chat_err {
	CHAT_ERR_NONE = 0,
	CHAT_ERR_PARSE,		/* not one JSON object */
	CHAT_ERR_VALIDATION,	/* cp_field names the field */
	CHAT_ERR_UNKNOWN_TYPE,
	CHAT_ERR_INTERNAL	/* out of memory */
};

struct chat_parsed {
	enum chat_parsed_kind	 cp_kind;
	/* The id as JSON text for every reply, errors included; "" if the
	 * message had none or it could not be read. */
	char			 cp_id[CHAT_MAX_ID_JSON + 1];
	char			*cp_token;	/* owned */
	struct chat_req		 cp_req;	/* its cr_id equals cp_id */
	bool			 cp_preauth;	/* type is auth or ping */
	enum chat_err		 cp_err;
	const char		*cp_field;	/* VALIDATION_ERROR; static */
	char			 cp_msg[CHAT_REQ_MSG_SIZE]; /* names the rule */
};

void	chat_limits_default(struct chat_limits *lim);
/*
 * Parse one message of len bytes (lim NULL: defaults).  Returns 0, or -1
 * with out->cp_kind CHAT_PARSED_ERROR.  Always chat_parsed_free() after.
 */
int	chat_req_parse(const char *json, size_t len,
	    const struct chat_limits *lim, struct chat_parsed *out);
void	chat_parsed_free(struct chat_parsed *p);
/* The error reply's code (envelope.h); chat_req_errcode spells it
 * ("" for CHAT_ERR_NONE). */
enum perr chat_req_perr(enum chat_err err);
const char *chat_req_errcode(enum chat_err err);

#endif
