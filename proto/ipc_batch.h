/* ipc_batch.h: the IPC_DELIVER payload, a batch of room broadcasts and
 * replies in the order the broker produced them (ipc_types.h has the
 * layout): a writer that appends items, and a reader that yields them. */
#ifndef PARLEY_IPC_BATCH_H
#define PARLEY_IPC_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "ipc.h"

/* Item kinds. */
#define IPC_ITEM_ROOM		1	/* one text to several connections */
#define IPC_ITEM_REPLY		2	/* one text to one connection */

/* IPC_ITEM_REPLY flags */
#define IPC_ITEM_F_RESPONSE	0x01	/* answers one of its requests */

/* Fixed bytes of each kind besides its ids and texts. */
#define IPC_ITEM_ROOM_FIXED	(1 + 4 + 8 + 4 + 4)
#define IPC_ITEM_REPLY_FIXED	(1 + 8 + 1 + 4)

/* A batch being built: im_buf holds the header, the count, the items. */
struct ipc_batch {
	struct ipc_msg	 ib_msg;
	uint32_t	 ib_count;	/* 0: not started */
};

/* Payload bytes so far (0 if not started). */
size_t	ipc_batch_len(const struct ipc_batch *ib);
void	ipc_batch_add_room(struct ipc_batch *ib, const char *room, int64_t seq,
	    const uint64_t *ids, size_t n, const char *text, size_t len);
void	ipc_batch_add_reply(struct ipc_batch *ib, uint64_t conn_id,
	    uint8_t flags, const char *text, size_t len);
/* Patch the count and hand the message over in *m (then send it); the
 * batch is empty again.  -1 if it was empty. */
int	ipc_batch_take(struct ipc_batch *ib, struct ipc_msg *m);
void	ipc_batch_clear(struct ipc_batch *ib);

/* One item read: pointers into the payload. */
struct ipc_item {
	uint8_t		 it_kind;
	char		 it_room[CHAT_MAX_ROOM + 1];	/* ROOM */
	int64_t		 it_seq;			/* ROOM; 0: none */
	uint32_t	 it_n;				/* ROOM: ids */
	struct ipc_reader it_ids;			/* ROOM: n x u64 */
	uint64_t	 it_conn;			/* REPLY */
	uint8_t		 it_flags;			/* REPLY */
	const char	*it_text;
	size_t		 it_len;
};

/* Start reading a payload: *count items follow.  -1 if malformed (the
 * count is more than the payload could hold). */
int	ipc_batch_begin(struct ipc_reader *r, uint32_t *count);
/* The next item; -1 if it is truncated or of an unknown kind.  After the
 * last one, ipc_end(r) says whether bytes were left over. */
int	ipc_batch_next(struct ipc_reader *r, struct ipc_item *it);

#endif
