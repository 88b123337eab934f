/* fuzz_ipc.c: fuzz the IPC header decoder, the bounded payload getters and
 * the IPC_DELIVER batch reader. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ipc.h"
#include "ipc_batch.h"

#define FZ_STRBUF	1024	/* largest ipc_get_strbuf buffer we offer */
#define FZ_MAX_ARGS	256	/* list counts past this are not worth walking */

/*
 * Every field read is written again into a mirror message.  The encoding is
 * canonical, so the mirror must always equal the bytes consumed so far.
 */
struct fz {
	struct ipc_reader	z_r;
	struct ipc_msg		z_m;
};

/* A getter must not move the offset when it fails. */
static int
fz_fail(struct fz *z, size_t off)
{
	if (z->z_r.ir_off != off)
		abort();
	return -1;
}

static int
fz_u8(struct fz *z)
{
	size_t	off = z->z_r.ir_off;
	uint8_t	v;

	if (ipc_get_u8(&z->z_r, &v) == -1)
		return fz_fail(z, off);
	ipc_add_u8(&z->z_m, v);
	return 0;
}

static int
fz_u16(struct fz *z)
{
	size_t		off = z->z_r.ir_off;
	uint16_t	v;

	if (ipc_get_u16(&z->z_r, &v) == -1)
		return fz_fail(z, off);
	ipc_add_u16(&z->z_m, v);
	return 0;
}

/* A u32 is often a count, so hand it back. */
static int
fz_u32(struct fz *z, uint32_t *out)
{
	size_t		off = z->z_r.ir_off;
	uint32_t	v;

	if (ipc_get_u32(&z->z_r, &v) == -1)
		return fz_fail(z, off);
	ipc_add_u32(&z->z_m, v);
	if (out != NULL)
		*out = v;
	return 0;
}

static int
fz_u64(struct fz *z)
{
	size_t		off = z->z_r.ir_off;
	uint64_t	v;

	if (ipc_get_u64(&z->z_r, &v) == -1)
		return fz_fail(z, off);
	ipc_add_u64(&z->z_m, v);
	return 0;
}

static int
fz_i64(struct fz *z)
{
	size_t	off = z->z_r.ir_off;
	int64_t	v;

	if (ipc_get_i64(&z->z_r, &v) == -1)
		return fz_fail(z, off);
	ipc_add_i64(&z->z_m, v);
	return 0;
}

/* A str field by one of the three string getters (how: 0, 1 or 2). */
static int
fz_str(struct fz *z, size_t max, unsigned int how)
{
	char		 buf[FZ_STRBUF + 1], *d;
	const char	*s;
	size_t		 len, cap, off = z->z_r.ir_off;

	switch (how % 3) {
	case 0:
		if (ipc_get_str(&z->z_r, &s, &len, max) == -1)
			return fz_fail(z, off);
		if (len > max)
			abort();
		ipc_add_strn(&z->z_m, s, len);
		return 0;
	case 1:
		if (ipc_get_strdup(&z->z_r, &d, max) == -1)
			return fz_fail(z, off);
		len = strlen(d);
		if (len > max || len + 4 != z->z_r.ir_off - off)
			abort();
		ipc_add_str(&z->z_m, d);
		free(d);
		return 0;
	default:
		cap = max < FZ_STRBUF ? max + 1 : sizeof(buf);
		if (ipc_get_strbuf(&z->z_r, buf, cap) == -1)
			return fz_fail(z, off);
		len = strlen(buf);
		if (len >= cap || len + 4 != z->z_r.ir_off - off)
			abort();
		ipc_add_str(&z->z_m, buf);
		return 0;
	}
}

static void
fz_rest(struct fz *z)
{
	const uint8_t	*p;
	size_t		 len;

	ipc_get_rest(&z->z_r, &p, &len);
	ipc_add_data(&z->z_m, p, len);
	if (ipc_end(&z->z_r) != 0)
		abort();
}

/* u32 n, then n items read by item(); n bounded so junk stays cheap. */
static int
fz_list(struct fz *z, int (*item)(struct fz *, unsigned int))
{
	uint32_t	n, i;

	if (fz_u32(z, &n) == -1)
		return -1;
	for (i = 0; i < n && i < FZ_MAX_ARGS; i++)
		if (item(z, i) == -1)
			return -1;
	return 0;
}

static int
fz_item_conn(struct fz *z, unsigned int i)
{
	return fz_u64(z);
}

static int
fz_item_arg(struct fz *z, unsigned int i)
{
	return fz_str(z, 4096, i);
}

static int
fz_item_room_seq(struct fz *z, unsigned int i)
{
	if (fz_str(z, 128, i) == -1)
		return -1;
	return fz_i64(z);
}

/* One IPC_DELIVER item (ipc_batch.h). */
static int
fz_item_deliver(struct fz *z, unsigned int i)
{
	size_t	off = z->z_r.ir_off;
	uint8_t	kind;

	if (ipc_get_u8(&z->z_r, &kind) == -1)
		return fz_fail(z, off);
	ipc_add_u8(&z->z_m, kind);
	switch (kind) {
	case IPC_ITEM_ROOM:
		if (fz_str(z, CHAT_MAX_ROOM, i) == -1 || fz_i64(z) == -1 ||
		    fz_list(z, fz_item_conn) == -1)
			return -1;
		return fz_str(z, IPC_MAX_PAYLOAD, i + 1);
	case IPC_ITEM_REPLY:
		if (fz_u64(z) == -1 || fz_u8(z) == -1)
			return -1;
		return fz_str(z, IPC_MAX_PAYLOAD, i + 1);
	default:
		return -1;
	}
}

/*
 * The batch reader the worker uses, over any payload: an item it yields
 * lies within the payload, and a refused item leaves the offset alone.
 */
static int
fz_batch(const uint8_t *payload, size_t plen)
{
	struct ipc_reader r;
	struct ipc_item	 it;
	uint32_t	 count, i;
	size_t		 off;

	ipc_reader_init(&r, payload, plen);
	if (ipc_batch_begin(&r, &count) == -1)
		return 0;
	if ((size_t)count * IPC_ITEM_REPLY_FIXED > plen)
		return 1;
	for (i = 0; i < count; i++) {
		off = r.ir_off;
		if (ipc_batch_next(&r, &it) == -1)
			return r.ir_off != off;
		if (r.ir_off <= off || r.ir_off > plen ||
		    (const uint8_t *)it.it_text < payload ||
		    (const uint8_t *)it.it_text + it.it_len > payload + plen ||
		    strlen(it.it_room) > CHAT_MAX_ROOM)
			return 1;
		if (it.it_kind == IPC_ITEM_ROOM &&
		    it.it_ids.ir_len != (size_t)it.it_n * 8)
			return 1;
	}
	return 0;
}

/* The payload layouts of ipc_types.h, as a handler would read them. */
static int
fz_layout(struct fz *z, uint16_t type, uint64_t conn_id)
{
	switch (type) {
	case IPC_W_HELLO:
		if (fz_u32(z, NULL) == -1 || fz_u32(z, NULL) == -1 ||
		    fz_u32(z, NULL) == -1)
			return -1;
		return fz_i64(z);
	case IPC_CONN_OPEN:
		if (fz_u8(z) == -1 || fz_u8(z) == -1)
			return -1;
		return fz_str(z, 1019, (unsigned int)conn_id);
	case IPC_CONN_CLOSE:
	case IPC_CONN_ADMITTED:
	case IPC_AUTH_OK:
	case IPC_DRAIN:
		return 0;
	case IPC_CONN_REFUSED:
		if (fz_u32(z, NULL) == -1)
			return -1;
		return fz_str(z, 132, (unsigned int)conn_id);
	case IPC_CLIENT_REQ:
		if (fz_u8(z) == -1)
			return -1;
		fz_rest(z);
		return 0;
	case IPC_CONN_AUTH:
		/* flags, user, name, moderator, exp, rooms present, rooms */
		if (fz_u8(z) == -1 || fz_str(z, 64, 0) == -1 || fz_str(z, 256, 1) == -1 ||
		    fz_u8(z) == -1 || fz_i64(z) == -1 || fz_u8(z) == -1)
			return -1;
		return fz_list(z, fz_item_arg);
	case IPC_W_RESYNC_DONE:
		return fz_u32(z, NULL);
	case IPC_CONN_ROOMS:
		return fz_list(z, fz_item_room_seq);
	case IPC_ROOM_SEQ:
		if (fz_str(z, 128, 0) == -1)
			return -1;
		return fz_i64(z);
	case IPC_ROOM_LEFT:
		return fz_str(z, 128, 0);
	case IPC_CONN_GONE:
		if (fz_str(z, 64, 0) == -1 || fz_str(z, 256, 1) == -1)
			return -1;
		return fz_list(z, fz_item_arg);
	case IPC_B_HELLO:
	case IPC_PEER_SETUP:
		if (fz_u32(z, NULL) == -1 || fz_u32(z, NULL) == -1)
			return -1;
		return fz_i64(z);
	case IPC_DELIVER:
		return fz_list(z, fz_item_deliver);
	case IPC_KICK:
		if (fz_u16(z) == -1)
			return -1;
		return fz_str(z, 123, 2);
	case IPC_HELLO:
		if (fz_u32(z, NULL) == -1 || fz_u8(z) == -1 ||
		    fz_u32(z, NULL) == -1)
			return -1;
		return fz_u32(z, NULL);
	case IPC_SUP_INFO:
		if (fz_u32(z, NULL) == -1)
			return -1;
		return fz_i64(z);
	case IPC_CTL_REQ:
		return fz_list(z, fz_item_arg);
	case IPC_CTL_REPLY:
		if (fz_u32(z, NULL) == -1)
			return -1;
		return fz_str(z, IPC_MAX_PAYLOAD, (unsigned int)conn_id);
	default:
		return -1;
	}
}

/* Any getter sequence: conn_id is the program, three bits an opcode. */
static int
fz_program(struct fz *z, uint64_t prog)
{
	int	i;

	for (i = 0; i < 21; i++, prog >>= 3) {
		switch (prog & 7) {
		case 0: if (fz_u8(z) == -1) return -1; break;
		case 1: if (fz_u16(z) == -1) return -1; break;
		case 2: if (fz_u32(z, NULL) == -1) return -1; break;
		case 3: if (fz_u64(z) == -1) return -1; break;
		case 4: if (fz_i64(z) == -1) return -1; break;
		case 5: if (fz_str(z, 64, i) == -1) return -1; break;
		case 6: if (fz_str(z, SIZE_MAX, i) == -1) return -1; break;
		default: fz_rest(z); return 0;
		}
	}
	return 0;
}

/* The mirror must equal the consumed prefix of the payload. */
static int
fz_check(const struct fz *z, const uint8_t *payload)
{
	size_t	n = z->z_m.im_len - IPC_HDR_SIZE;

	if (z->z_m.im_error)
		return 0;
	if (n != z->z_r.ir_off || memcmp(z->z_m.im_buf + IPC_HDR_SIZE,
	    payload, n) != 0)
		return 1;
	return 0;
}

int
fuzz_ipc(const uint8_t *data, size_t len)
{
	struct ipc_hdr	 h, h2;
	struct fz	 z;
	const uint8_t	*payload;
	size_t		 plen;
	int		 decoded, ok, bad = 0;

	if (len < IPC_HDR_SIZE)
		return 0;
	decoded = ipc_hdr_decode(data, &h) == 0;
	if (strlen(ipc_type_name(h.hd_type)) == 0)
		return 1;
	/* A decoded header is within its type's bounds, as promised. */
	if (decoded && (ipc_type_lookup(h.hd_type) == NULL ||
	    h.hd_len < ipc_type_lookup(h.hd_type)->ti_min ||
	    h.hd_len > ipc_type_lookup(h.hd_type)->ti_max))
		return 1;
	payload = data + IPC_HDR_SIZE;
	plen = len - IPC_HDR_SIZE;

	/* As a handler would: the type's layout, then ipc_end. */
	ipc_reader_init(&z.z_r, payload, plen);
	ipc_msg_init(&z.z_m, h.hd_type, h.hd_conn_id);
	ok = fz_layout(&z, h.hd_type, h.hd_conn_id) == 0 &&
	    ipc_end(&z.z_r) == 0;
	bad |= fz_check(&z, payload);
	/* A message read cleanly re-encodes into an acceptable one. */
	if (ok && decoded && h.hd_len == plen && !z.z_m.im_error) {
		if (ipc_msg_finish(&z.z_m) == -1 ||
		    ipc_hdr_decode(z.z_m.im_buf, &h2) == -1 ||
		    h2.hd_type != h.hd_type || h2.hd_len != h.hd_len ||
		    h2.hd_conn_id != h.hd_conn_id)
			bad = 1;
	}
	ipc_msg_free(&z.z_m);

	/* Then an arbitrary getter sequence over the same bytes. */
	ipc_reader_init(&z.z_r, payload, plen);
	ipc_msg_init(&z.z_m, IPC_CTL_REPLY, 0);
	(void)fz_program(&z, h.hd_conn_id);
	bad |= fz_check(&z, payload);
	ipc_msg_free(&z.z_m);

	/* And the same bytes as an IPC_DELIVER batch. */
	bad |= fz_batch(payload, plen);
	return bad;
}

#ifdef PARLEY_LIBFUZZER
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (fuzz_ipc(data, len) != 0)
		abort();
	return 0;
}
#endif
