/* ipc.h: parley's typed, length-prefixed messages between its processes.
 * A message is a fixed header and a payload written and read field by
 * field (OpenSMTPD's m_add/m_get); every read is bounded. */
#ifndef PARLEY_IPC_H
#define PARLEY_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc_types.h"

#define IPC_VERSION	4

enum ipc_type {
#define IPC_ENUM(name, value, min, max) name = value,
	IPC_TYPES(IPC_ENUM)
#undef IPC_ENUM
};

#define IPC_F_HASFD	0x0001	/* an fd travels with this message */

struct ipc_hdr {
	uint16_t	hd_type;
	uint16_t	hd_flags;
	uint32_t	hd_len;		/* payload bytes after the header */
	uint64_t	hd_conn_id;	/* client connection, 0 if none */
};
#define IPC_HDR_SIZE	16

/* IPC_CONN_AUTH flags */
#define IPC_AUTH_F_BACKLOG_SENT	0x01	/* had its personal backlog already */
#define IPC_AUTH_F_WELCOMED	0x02	/* a broker let it in (IPC_AUTH_OK) */

enum ipc_role { IPC_ROLE_SUPERVISOR, IPC_ROLE_BROKER, IPC_ROLE_WORKER, IPC_ROLE_CTL };
enum ipc_conn_kind { IPC_CONN_CHAT = 0, IPC_CONN_ECHO = 1 };

struct ipc_type_info {
	uint16_t	 ti_type;
	const char	*ti_name;
	uint32_t	 ti_min, ti_max;
};

/* NULL for an unknown type. */
const struct ipc_type_info *ipc_type_lookup(uint16_t type);
const char	*ipc_type_name(uint16_t type);	/* "IPC_?" if unknown */
/* A peer's hello carried version: 0 if it is ours, else logged and -1. */
int		 ipc_version_check(uint32_t version, const char *peer);

/*
 * Decode a header from at least IPC_HDR_SIZE bytes.  Returns 0, or -1 if the
 * type is unknown or len is outside the type's bounds (drop the peer).
 */
int	ipc_hdr_decode(const uint8_t *buf, struct ipc_hdr *h);

/* Writer.  Errors are sticky: ipc_msg_finish() reports them once. */
struct ipc_msg {
	uint8_t		*im_buf;	/* header + payload */
	size_t		 im_len;
	size_t		 im_cap;
	bool		 im_error;	/* allocation failed or too large */
};

void	ipc_msg_init(struct ipc_msg *m, uint16_t type, uint64_t conn_id);
void	ipc_msg_set_flags(struct ipc_msg *m, uint16_t flags);
void	ipc_add_u8(struct ipc_msg *m, uint8_t v);
void	ipc_add_u16(struct ipc_msg *m, uint16_t v);
void	ipc_add_u32(struct ipc_msg *m, uint32_t v);
void	ipc_add_u64(struct ipc_msg *m, uint64_t v);
void	ipc_add_i64(struct ipc_msg *m, int64_t v);
void	ipc_add_str(struct ipc_msg *m, const char *s);	/* NULL: empty */
void	ipc_add_strn(struct ipc_msg *m, const char *s, size_t n);
void	ipc_add_data(struct ipc_msg *m, const void *p, size_t n); /* raw, no length */
/* Patch the header's length.  Returns 0, or -1 (message unusable) if an
 * add failed or the payload is outside the type's bounds. */
int	ipc_msg_finish(struct ipc_msg *m);
void	ipc_msg_free(struct ipc_msg *m);

/* Reader over one payload.  Getters return 0 or -1 (short or over max). */
struct ipc_reader {
	const uint8_t	*ir_p;
	size_t		 ir_len;
	size_t		 ir_off;
};

void	ipc_reader_init(struct ipc_reader *r, const void *payload, size_t len);
int	ipc_get_u8(struct ipc_reader *r, uint8_t *v);
int	ipc_get_u16(struct ipc_reader *r, uint16_t *v);
int	ipc_get_u32(struct ipc_reader *r, uint32_t *v);
int	ipc_get_u64(struct ipc_reader *r, uint64_t *v);
int	ipc_get_i64(struct ipc_reader *r, int64_t *v);
/* A str field, pointing into the payload (not NUL-terminated). */
int	ipc_get_str(struct ipc_reader *r, const char **s, size_t *len, size_t max);
/* A str field copied and NUL-terminated; refuses an embedded NUL. */
int	ipc_get_strdup(struct ipc_reader *r, char **s, size_t max);
/* Same, into a caller buffer of cap bytes (max cap-1 characters). */
int	ipc_get_strbuf(struct ipc_reader *r, char *buf, size_t cap);
/* The next n bytes as a reader of their own (an array read in step with
 * the rest of the message), then skip them; -1 if there are fewer. */
int	ipc_get_sub(struct ipc_reader *r, size_t n, struct ipc_reader *sub);
/* All remaining bytes. */
void	ipc_get_rest(struct ipc_reader *r, const uint8_t **p, size_t *len);
/* -1 if bytes are left over (a malformed message). */
int	ipc_end(const struct ipc_reader *r);

/*
 * Supervisor links are SOCK_SEQPACKET: one message per packet, an fd rides
 * with its message (SCM_RIGHTS).  send: fd may be -1.  recv: reads one
 * packet into buf (cap >= IPC_HDR_SIZE), checks the header, stores any
 * passed fd in *fd (else -1).  Returns the payload length, 0 on EOF
 * (h->hd_type is then 0), -1 on error (errno set; EAGAIN: nothing pending,
 * EBADMSG: malformed packet).
 */
int	ipc_seqpacket_send(int sock, const struct ipc_msg *m, int fd);
ssize_t	ipc_seqpacket_recv(int sock, uint8_t *buf, size_t cap,
	    struct ipc_hdr *h, int *fd);

#endif
