/* ws_frame.h: RFC 6455 frame parser and encoder.  Pure: no I/O, no clock. */
#ifndef PARLEY_WS_FRAME_H
#define PARLEY_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"
#include "ws_close.h"

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

#define WS_MAX_CONTROL_PAYLOAD	125
#define WS_MAX_HEADER		14	/* 2 + 8 (length) + 4 (mask) */
#define WS_MAX_SERVER_HEADER	10	/* server frames are never masked */

enum ws_event_type {
	WS_EV_NONE = 0,		/* need more bytes */
	WS_EV_DATA,		/* a chunk of a data message, unmasked */
	WS_EV_MESSAGE_END,	/* the data message is complete */
	WS_EV_CONTROL,		/* a whole ping, pong or close frame */
	WS_EV_ERROR,		/* fail the connection with we_close_code */
};

struct ws_event {
	enum ws_event_type	we_type;
	uint8_t			we_opcode;	/* TEXT/BINARY for DATA and MESSAGE_END,
					 * PING/PONG/CLOSE for CONTROL */
	bool			we_compressed;	/* RSV1 was set on the first frame */
	const uint8_t		*we_data;	/* DATA: chunk; CONTROL: payload
					 * (for CLOSE: the reason, after the code) */
	size_t			we_len;
	uint16_t		we_close_code;	/* CONTROL close: the peer's code,
						 * WS_CLOSE_NO_STATUS if none;
						 * ERROR: the code to send */
	const char		*we_reason;	/* ERROR: short static reason */
};

enum ws_parser_state {
	WS_PS_HEADER,		/* collecting the 2..14 header bytes */
	WS_PS_PAYLOAD,		/* inside a frame's payload */
	WS_PS_FAILED,		/* an error was reported; feed nothing more */
	WS_PS_CLOSED,		/* a close frame was reported */
};

struct ws_parser {
	enum ws_parser_state	wp_state;
	/* Limits and options, set by the caller after ws_parser_init(). */
	uint64_t		wp_max_message;	/* reassembled payload limit (bytes on the wire) */
	bool			wp_allow_rsv1;	/* permessage-deflate negotiated */
	bool			wp_validate_utf8; /* validate uncompressed text here */

	/* Header being collected (the "spill" of a partial header). */
	uint8_t			wp_hdr[WS_MAX_HEADER];
	size_t			wp_hdr_len;

	/* Current frame. */
	uint8_t			wp_opcode;
	bool			wp_fin;
	uint8_t			wp_mask[4];
	uint64_t		wp_frame_len;
	uint64_t		wp_frame_off;

	/* Current data message (possibly fragmented). */
	bool			wp_in_message;
	uint8_t			wp_msg_opcode;
	bool			wp_msg_compressed;
	uint64_t		wp_msg_len;
	bool			wp_msg_done;	/* final frame read: MESSAGE_END is due */
	struct utf8_state	wp_utf8;

	/* A control frame is collected whole before it is reported. */
	uint8_t			wp_ctrl[WS_MAX_CONTROL_PAYLOAD];
	size_t			wp_ctrl_len;
};

void	ws_parser_init(struct ws_parser *p, uint64_t max_message);

/*
 * Consume bytes from buf (which the parser unmasks in place) until one event
 * is ready.  Returns the number of bytes consumed and fills *ev; ev->type is
 * WS_EV_NONE when all of buf was consumed without completing an event.
 * DATA events point into buf; CONTROL events point into the parser.  Call
 * again with the rest of buf until it returns 0 bytes and WS_EV_NONE.
 */
size_t	ws_parser_feed(struct ws_parser *p, uint8_t *buf, size_t len,
	    struct ws_event *ev);

/* Server frame header for a payload of len bytes; returns its size (2..10). */
size_t	ws_frame_header(uint8_t out[WS_MAX_SERVER_HEADER], uint8_t opcode,
	    bool fin, bool rsv1, uint64_t len);

/* Close payload: 2-byte code and reason truncated to fit 125 bytes. */
size_t	ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code,
	    const char *reason);

/* May a peer send this code in a close frame?  (RFC 6455 7.4) */
bool	ws_close_code_valid(uint16_t code);

#endif
