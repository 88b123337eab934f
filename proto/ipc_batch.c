/* ipc_batch.c: IPC_DELIVER batches: append items, read them back. */
#include <string.h>

#include "ipc_batch.h"

/* Offset of the u32 count in the message buffer. */
#define IPC_BATCH_OFF_COUNT	IPC_HDR_SIZE

static void
ipc_batch_start(struct ipc_batch *ib)
{
	if (ib->ib_count > 0)
		return;
	ipc_msg_init(&ib->ib_msg, IPC_DELIVER, 0);
	ipc_add_u32(&ib->ib_msg, 0);	/* patched by ipc_batch_take */
}

size_t
ipc_batch_len(const struct ipc_batch *ib)
{
	return ib->ib_count > 0 ? ib->ib_msg.im_len - IPC_HDR_SIZE : 0;
}

void
ipc_batch_add_room(struct ipc_batch *ib, const char *room, int64_t seq,
    const uint64_t *ids, size_t n, const char *text, size_t len)
{
	ipc_batch_start(ib);
	ipc_add_u8(&ib->ib_msg, IPC_ITEM_ROOM);
	ipc_add_str(&ib->ib_msg, room);
	ipc_add_i64(&ib->ib_msg, seq);
	ipc_add_u32(&ib->ib_msg, (uint32_t)n);
	ipc_add_data(&ib->ib_msg, ids, n * sizeof(*ids));
	ipc_add_strn(&ib->ib_msg, text, len);
	ib->ib_count++;
}

void
ipc_batch_add_reply(struct ipc_batch *ib, uint64_t conn_id, uint8_t flags,
    const char *text, size_t len)
{
	ipc_batch_start(ib);
	ipc_add_u8(&ib->ib_msg, IPC_ITEM_REPLY);
	ipc_add_u64(&ib->ib_msg, conn_id);
	ipc_add_u8(&ib->ib_msg, flags);
	ipc_add_strn(&ib->ib_msg, text, len);
	ib->ib_count++;
}

int
ipc_batch_take(struct ipc_batch *ib, struct ipc_msg *m)
{
	if (ib->ib_count == 0)
		return -1;
	*m = ib->ib_msg;
	if (m->im_buf != NULL && !m->im_error)
		memcpy(m->im_buf + IPC_BATCH_OFF_COUNT, &ib->ib_count,
		    sizeof(ib->ib_count));
	memset(ib, 0, sizeof(*ib));
	return 0;
}

void
ipc_batch_clear(struct ipc_batch *ib)
{
	if (ib->ib_count > 0)
		ipc_msg_free(&ib->ib_msg);
	memset(ib, 0, sizeof(*ib));
}

int
ipc_batch_begin(struct ipc_reader *r, uint32_t *count)
{
	if (ipc_get_u32(r, count) == -1)
		return -1;
	/* Every item takes at least its fixed bytes: a count past that is
	 * a lie, refused before any item is acted on. */
	if (*count > (r->ir_len - r->ir_off) / IPC_ITEM_REPLY_FIXED)
		return -1;
	return 0;
}

int
ipc_batch_next(struct ipc_reader *r, struct ipc_item *it)
{
	struct ipc_reader whole = *r;

	if (ipc_get_u8(r, &it->it_kind) == -1)
		return -1;
	switch (it->it_kind) {
	case IPC_ITEM_ROOM:
		if (ipc_get_strbuf(r, it->it_room, sizeof(it->it_room)) == -1 ||
		    ipc_get_i64(r, &it->it_seq) == -1 ||
		    ipc_get_u32(r, &it->it_n) == -1 ||
		    ipc_get_sub(r, (size_t)it->it_n * 8, &it->it_ids) == -1)
			goto bad;
		it->it_conn = 0;
		it->it_flags = 0;
		break;
	case IPC_ITEM_REPLY:
		if (ipc_get_u64(r, &it->it_conn) == -1 ||
		    ipc_get_u8(r, &it->it_flags) == -1)
			goto bad;
		it->it_room[0] = '\0';
		it->it_seq = 0;
		it->it_n = 0;
		ipc_reader_init(&it->it_ids, NULL, 0);
		break;
	default:
		goto bad;
	}
	if (ipc_get_str(r, &it->it_text, &it->it_len, IPC_MAX_PAYLOAD) == -1)
		goto bad;
	return 0;
bad:
	*r = whole;
	return -1;
}
