/* check_ipc.c: the IPC codec and its SEQPACKET transport. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "check_main.h"
#include "ipc.h"
#include "ipc_batch.h"
#include "peer.h"

#define T(x)	x, #x

/* One field of a test payload; kind 0 ends the list. */
struct rt_field {
	char		 kind;	/* b u8, w u16, d u32, q u64, i i64, s str, r rest */
	uint64_t	 u;
	int64_t		 i;
	const char	*s;
};

struct rt_case {
	uint16_t	 type;
	const char	*name;
	uint64_t	 conn;
	struct rt_field	 f[14];
};

/* A valid payload for every type, following the comments in ipc_types.h. */
static const struct rt_case rt_cases[] = {
	{ T(IPC_W_HELLO), 0, { { 'd', IPC_VERSION, 0, NULL }, { 'd', 3, 0, NULL },
	    { 'd', 4242, 0, NULL }, { 'i', 0, 1700000000123LL, NULL } } },
	{ T(IPC_CONN_OPEN), 17, { { 'b', IPC_CONN_CHAT, 0, NULL },
	    { 'b', 0, 0, NULL },
	    { 's', 0, 0, "192.0.2.7:5555" } } },
	{ T(IPC_CONN_OPEN), 18, { { 'b', IPC_CONN_ECHO, 0, NULL },
	    { 'b', 1, 0, NULL },
	    { 's', 0, 0, "" } } },
	{ T(IPC_CONN_CLOSE), 17, { { 0, 0, 0, NULL } } },
	{ T(IPC_CLIENT_REQ), 17, { { 'b', 2, 0, NULL }, { 's', 0, 0, "general" },
	    { 'r', 0, 0, "hello, world" } } },
	{ T(IPC_CONN_AUTH), 17, { { 'b', 1, 0, NULL }, { 's', 0, 0, "alice" },
	    { 's', 0, 0, "Alice" },
	    { 'b', 1, 0, NULL }, { 'i', 0, 1700003600, NULL }, { 'b', 1, 0, NULL },
	    { 'd', 2, 0, NULL }, { 's', 0, 0, "general" }, { 's', 0, 0, "dev*" } } },
	{ T(IPC_W_RESYNC_DONE), 0, { { 'd', 12, 0, NULL } } },
	{ T(IPC_CONN_GONE), 0, { { 's', 0, 0, "alice" }, { 's', 0, 0, "Alice" },
	    { 'd', 1, 0, NULL }, { 's', 0, 0, "general" } } },
	{ T(IPC_CONN_ROOMS), 17, { { 'd', 2, 0, NULL }, { 's', 0, 0, "general" },
	    { 'i', 0, 42, NULL }, { 's', 0, 0, "user:alice" },
	    { 'i', 0, 0, NULL } } },
	{ T(IPC_ROOM_SEQ), 17, { { 's', 0, 0, "general" },
	    { 'i', 0, 42, NULL } } },
	{ T(IPC_ROOM_LEFT), 17, { { 's', 0, 0, "general" } } },
	{ T(IPC_CONN_ADMITTED), 17, { { 0, 0, 0, NULL } } },
	{ T(IPC_CONN_REFUSED), 17, { { 'd', 2500, 0, NULL },
	    { 's', 0, 0, "connecting too fast" } } },
	{ T(IPC_AUTH_OK), 17, { { 0, 0, 0, NULL } } },
	{ T(IPC_B_HELLO), 0, { { 'd', IPC_VERSION, 0, NULL },
	    { 'd', 4243, 0, NULL }, { 'i', 0, -5, NULL } } },
	{ T(IPC_DELIVER), 0, { { 'd', 2, 0, NULL },
	    { 'b', IPC_ITEM_ROOM, 0, NULL }, { 's', 0, 0, "general" },
	    { 'i', 0, 7, NULL }, { 'd', 2, 0, NULL }, { 'q', 17, 0, NULL },
	    { 'q', UINT64_MAX, 0, NULL }, { 's', 0, 0, "{\"type\":\"message\"}" },
	    { 'b', IPC_ITEM_REPLY, 0, NULL }, { 'q', 17, 0, NULL },
	    { 'b', IPC_ITEM_F_RESPONSE, 0, NULL },
	    { 's', 0, 0, "{\"type\":\"pong\"}" } } },
	{ T(IPC_KICK), 17, { { 'w', 4401, 0, NULL }, { 's', 0, 0, "bad token" } } },
	{ T(IPC_HELLO), 0, { { 'd', IPC_VERSION, 0, NULL },
	    { 'b', IPC_ROLE_WORKER, 0, NULL }, { 'd', 1, 0, NULL },
	    { 'd', 999, 0, NULL } } },
	{ T(IPC_PEER_SETUP), 0, { { 'd', 0, 0, NULL }, { 'd', 1000, 0, NULL },
	    { 'i', 0, INT64_MAX, NULL } } },
	{ T(IPC_DRAIN), 0, { { 0, 0, 0, NULL } } },
	{ T(IPC_SUP_INFO), 0, { { 'd', 1, 0, NULL }, { 'i', 0, INT64_MIN, NULL } } },
	{ T(IPC_CTL_REQ), 0, { { 'd', 2, 0, NULL }, { 's', 0, 0, "kick" },
	    { 's', 0, 0, "alice" } } },
	{ T(IPC_CTL_REQ), 0, { { 'd', 0, 0, NULL } } },
	{ T(IPC_CTL_REPLY), 0, { { 'd', 0, 0, NULL }, { 's', 0, 0, "ok" } } },
};
#define NCASES	(sizeof(rt_cases) / sizeof(rt_cases[0]))

static const uint16_t all_types[] = {
#define ALL_TYPE(name, value, min, max) value,
	IPC_TYPES(ALL_TYPE)
#undef ALL_TYPE
};
#define NTYPES	(sizeof(all_types) / sizeof(all_types[0]))

static void
build(const struct rt_case *c, struct ipc_msg *m)
{
	const struct rt_field *f;

	ipc_msg_init(m, c->type, c->conn);
	for (f = c->f; f->kind != 0; f++) {
		switch (f->kind) {
		case 'b': ipc_add_u8(m, (uint8_t)f->u); break;
		case 'w': ipc_add_u16(m, (uint16_t)f->u); break;
		case 'd': ipc_add_u32(m, (uint32_t)f->u); break;
		case 'q': ipc_add_u64(m, f->u); break;
		case 'i': ipc_add_i64(m, f->i); break;
		case 's': ipc_add_str(m, f->s); break;
		case 'r': ipc_add_data(m, f->s, strlen(f->s)); break;
		default: ck_abort_msg("bad kind %c", f->kind);
		}
	}
}

/* Read c's fields back; 0 if all matched, -1 at the first failed getter. */
static int
read_back(const struct rt_case *c, struct ipc_reader *r)
{
	const struct rt_field *f;
	uint8_t		 b;
	uint16_t	 w;
	uint32_t	 d;
	uint64_t	 q;
	int64_t		 i;
	const char	*s;
	const uint8_t	*p;
	char		*dup, sbuf[64];
	size_t		 len, n;

	for (f = c->f, n = 0; f->kind != 0; f++, n++) {
		switch (f->kind) {
		case 'b':
			if (ipc_get_u8(r, &b) == -1)
				return -1;
			ck_assert_uint_eq(b, f->u);
			break;
		case 'w':
			if (ipc_get_u16(r, &w) == -1)
				return -1;
			ck_assert_uint_eq(w, f->u);
			break;
		case 'd':
			if (ipc_get_u32(r, &d) == -1)
				return -1;
			ck_assert_uint_eq(d, f->u);
			break;
		case 'q':
			if (ipc_get_u64(r, &q) == -1)
				return -1;
			ck_assert_uint_eq(q, f->u);
			break;
		case 'i':
			if (ipc_get_i64(r, &i) == -1)
				return -1;
			ck_assert_int_eq(i, f->i);
			break;
		case 's':
			/* Take turns so every string getter gets exercised. */
			switch (n % 3) {
			case 0:
				if (ipc_get_str(r, &s, &len, 1024) == -1)
					return -1;
				ck_assert_uint_eq(len, strlen(f->s));
				ck_assert(memcmp(s, f->s, len) == 0);
				break;
			case 1:
				if (ipc_get_strdup(r, &dup, 1024) == -1)
					return -1;
				ck_assert_str_eq(dup, f->s);
				free(dup);
				break;
			default:
				if (ipc_get_strbuf(r, sbuf, sizeof(sbuf)) == -1)
					return -1;
				ck_assert_str_eq(sbuf, f->s);
				break;
			}
			break;
		case 'r':
			ipc_get_rest(r, &p, &len);
			ck_assert_uint_eq(len, strlen(f->s));
			ck_assert(memcmp(p, f->s, len) == 0);
			break;
		}
	}
	return 0;
}

/* Length of c's rest field, 0 if it has none. */
static size_t
rest_len(const struct rt_case *c)
{
	const struct rt_field *f;

	for (f = c->f; f->kind != 0; f++)
		if (f->kind == 'r')
			return strlen(f->s);
	return 0;
}

START_TEST(test_roundtrip)
{
	const struct rt_case *c = &rt_cases[_i];
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	struct ipc_reader r;

	build(c, &m);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_int_eq(ipc_hdr_decode(m.im_buf, &h), 0);
	ck_assert_uint_eq(h.hd_type, c->type);
	ck_assert_uint_eq(h.hd_flags, 0);
	ck_assert_uint_eq(h.hd_len, m.im_len - IPC_HDR_SIZE);
	ck_assert_uint_eq(h.hd_conn_id, c->conn);
	ck_assert_str_eq(ipc_type_name(h.hd_type), c->name);
	ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE, h.hd_len);
	ck_assert_int_eq(read_back(c, &r), 0);
	ck_assert_int_eq(ipc_end(&r), 0);
	ipc_msg_free(&m);
	ck_assert_ptr_null(m.im_buf);
}
END_TEST

/* Every cut into the fields before the rest fails to read. */
START_TEST(test_truncated)
{
	const struct rt_case *c = &rt_cases[_i];
	struct ipc_msg	 m;
	struct ipc_reader r;
	size_t		 plen, cut;
	uint8_t		*copy;

	build(c, &m);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	plen = m.im_len - IPC_HDR_SIZE - rest_len(c);
	for (cut = 0; cut < plen; cut++) {
		/* An exact-size copy lets ASan catch a read past the end. */
		copy = malloc(cut + 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, m.im_buf + IPC_HDR_SIZE, cut);
		ipc_reader_init(&r, copy, cut);
		ck_assert_int_eq(read_back(c, &r), -1);
		free(copy);
	}
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_every_type_covered)
{
	size_t	i, j;
	int	found;

	for (i = 0; i < NTYPES; i++) {
		found = 0;
		for (j = 0; j < NCASES; j++)
			if (rt_cases[j].type == all_types[i])
				found = 1;
		ck_assert_msg(found, "no round-trip case for %s",
		    ipc_type_name(all_types[i]));
		ck_assert_ptr_nonnull(ipc_type_lookup(all_types[i]));
		ck_assert_uint_eq(ipc_type_lookup(all_types[i])->ti_type,
		    all_types[i]);
	}
}
END_TEST

static void
put_hdr(uint8_t *buf, uint16_t type, uint16_t flags, uint32_t len,
    uint64_t conn)
{
	memcpy(buf, &type, 2);
	memcpy(buf + 2, &flags, 2);
	memcpy(buf + 4, &len, 4);
	memcpy(buf + 8, &conn, 8);
}

/* ipc_hdr_decode takes exactly [min,max], from any alignment. */
START_TEST(test_hdr_bounds)
{
	const struct ipc_type_info *ti = ipc_type_lookup(all_types[_i]);
	uint8_t		 raw[IPC_HDR_SIZE + 1], *buf = raw + 1;
	struct ipc_hdr	 h;

	ck_assert_ptr_nonnull(ti);
	put_hdr(buf, ti->ti_type, 0, ti->ti_min, 99);
	ck_assert_int_eq(ipc_hdr_decode(buf, &h), 0);
	ck_assert_uint_eq(h.hd_len, ti->ti_min);
	ck_assert_uint_eq(h.hd_conn_id, 99);
	put_hdr(buf, ti->ti_type, 0, ti->ti_max, 99);
	ck_assert_int_eq(ipc_hdr_decode(buf, &h), 0);
	put_hdr(buf, ti->ti_type, 0, ti->ti_max + 1, 99);
	ck_assert_int_eq(ipc_hdr_decode(buf, &h), -1);
	put_hdr(buf, ti->ti_type, 0, UINT32_MAX, 99);
	ck_assert_int_eq(ipc_hdr_decode(buf, &h), -1);
	if (ti->ti_min > 0) {
		put_hdr(buf, ti->ti_type, 0, ti->ti_min - 1, 99);
		ck_assert_int_eq(ipc_hdr_decode(buf, &h), -1);
	}
}
END_TEST

/* ipc_msg_finish refuses a payload one byte outside [min,max]. */
START_TEST(test_finish_bounds)
{
	const struct ipc_type_info *ti = ipc_type_lookup(all_types[_i]);
	struct ipc_msg	 m;
	uint8_t		*zero;
	size_t		 n;

	ck_assert_ptr_nonnull(ti);
	/* Types up to IPC_MAX_PAYLOAD get one big check of their own. */
	n = ti->ti_max < 65536 + 1 ? ti->ti_max + 1 : 65537;
	zero = calloc(1, n);
	ck_assert_ptr_nonnull(zero);

	ipc_msg_init(&m, ti->ti_type, 0);
	ipc_add_data(&m, zero, ti->ti_min);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ipc_msg_free(&m);
	if (ti->ti_max < 65536 + 1) {
		ipc_msg_init(&m, ti->ti_type, 0);
		ipc_add_data(&m, zero, ti->ti_max);
		ck_assert_int_eq(ipc_msg_finish(&m), 0);
		ipc_msg_free(&m);
		ipc_msg_init(&m, ti->ti_type, 0);
		ipc_add_data(&m, zero, ti->ti_max + 1);
		ck_assert_int_eq(ipc_msg_finish(&m), -1);
		ipc_msg_free(&m);
	}
	if (ti->ti_min > 0) {
		ipc_msg_init(&m, ti->ti_type, 0);
		ipc_add_data(&m, zero, ti->ti_min - 1);
		ck_assert_int_eq(ipc_msg_finish(&m), -1);
		ipc_msg_free(&m);
	}
	free(zero);
}
END_TEST

START_TEST(test_finish_max_payload)
{
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	uint8_t		*big;

	big = calloc(1, IPC_MAX_PAYLOAD);
	ck_assert_ptr_nonnull(big);
	ipc_msg_init(&m, IPC_CTL_REPLY, 1);
	ipc_add_data(&m, big, IPC_MAX_PAYLOAD);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_int_eq(ipc_hdr_decode(m.im_buf, &h), 0);
	ck_assert_uint_eq(h.hd_len, IPC_MAX_PAYLOAD);
	/* One more byte is refused, and the error sticks. */
	ipc_add_u8(&m, 0);
	ck_assert(m.im_error);
	ck_assert_int_eq(ipc_msg_finish(&m), -1);
	ipc_msg_free(&m);
	free(big);
}
END_TEST

START_TEST(test_unknown_type)
{
	static const uint16_t bad[] = { 0, 0x0100, 0x01ff, 0x0300, 0x0403, 0xffff };
	uint8_t		 buf[IPC_HDR_SIZE];
	struct ipc_hdr	 h;
	struct ipc_msg	 m;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_ptr_null(ipc_type_lookup(bad[i]));
		ck_assert_str_eq(ipc_type_name(bad[i]), "IPC_?");
		put_hdr(buf, bad[i], 0, 0, 0);
		ck_assert_int_eq(ipc_hdr_decode(buf, &h), -1);
		ipc_msg_init(&m, bad[i], 0);
		ck_assert_int_eq(ipc_msg_finish(&m), -1);
		ipc_msg_free(&m);
	}
	ck_assert_str_eq(ipc_type_name(IPC_DELIVER), "IPC_DELIVER");
}
END_TEST

/* Scalar getters on too-short input fail and leave the offset alone. */
START_TEST(test_short_scalars)
{
	static const uint8_t src[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ipc_reader r;
	uint8_t		*p, b;
	uint16_t	 w;
	uint32_t	 d;
	uint64_t	 q;
	int64_t		 i;
	size_t		 n;

	for (n = 0; n <= sizeof(src); n++) {
		p = malloc(n + 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, src, n);
		ipc_reader_init(&r, p, n);
		ck_assert_int_eq(ipc_get_u64(&r, &q), n >= 8 ? 0 : -1);
		ipc_reader_init(&r, p, n);
		ck_assert_int_eq(ipc_get_i64(&r, &i), n >= 8 ? 0 : -1);
		ipc_reader_init(&r, p, n);
		ck_assert_int_eq(ipc_get_u32(&r, &d), n >= 4 ? 0 : -1);
		ipc_reader_init(&r, p, n);
		ck_assert_int_eq(ipc_get_u16(&r, &w), n >= 2 ? 0 : -1);
		ipc_reader_init(&r, p, n);
		ck_assert_int_eq(ipc_get_u8(&r, &b), n >= 1 ? 0 : -1);
		ck_assert_uint_eq(r.ir_off, n >= 1 ? 1 : 0);
		ck_assert_int_eq(ipc_end(&r), n <= 1 ? 0 : -1);
		free(p);
	}
	/* A NULL payload is an empty one. */
	ipc_reader_init(&r, NULL, 5);
	ck_assert_int_eq(ipc_get_u8(&r, &b), -1);
	ck_assert_int_eq(ipc_end(&r), 0);
}
END_TEST

static void
str_payload(struct ipc_msg *m, const char *s, size_t n)
{
	ipc_msg_init(m, IPC_CTL_REPLY, 0);
	ipc_add_strn(m, s, n);
}

START_TEST(test_str_limits)
{
	struct ipc_msg	 m;
	struct ipc_reader r;
	const char	*s;
	char		*dup, buf[8];
	size_t		 len;
	uint8_t		 evil[8];
	uint32_t	 n;

	/* Embedded NUL: str passes it through, strdup and strbuf refuse. */
	str_payload(&m, "ab\0c", 4);
	ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE, m.im_len - IPC_HDR_SIZE);
	ck_assert_int_eq(ipc_get_strdup(&r, &dup, 100), -1);
	ck_assert_uint_eq(r.ir_off, 0);
	ck_assert_int_eq(ipc_get_strbuf(&r, buf, sizeof(buf)), -1);
	ck_assert_uint_eq(r.ir_off, 0);
	ck_assert_int_eq(ipc_get_str(&r, &s, &len, 100), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(ipc_end(&r), 0);
	ipc_msg_free(&m);

	/* Over max: refused, offset kept; at max: accepted. */
	str_payload(&m, "abcd", 4);
	ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE, m.im_len - IPC_HDR_SIZE);
	ck_assert_int_eq(ipc_get_str(&r, &s, &len, 3), -1);
	ck_assert_int_eq(ipc_get_strdup(&r, &dup, 3), -1);
	ck_assert_int_eq(ipc_get_strbuf(&r, buf, 4), -1);
	ck_assert_int_eq(ipc_get_strbuf(&r, buf, 0), -1);
	ck_assert_uint_eq(r.ir_off, 0);
	ck_assert_int_eq(ipc_get_strdup(&r, &dup, 4), 0);
	ck_assert_str_eq(dup, "abcd");
	free(dup);
	ipc_msg_free(&m);

	/* strbuf takes cap - 1 characters. */
	str_payload(&m, "abc", 3);
	ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE, m.im_len - IPC_HDR_SIZE);
	ck_assert_int_eq(ipc_get_strbuf(&r, buf, 4), 0);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(ipc_end(&r), 0);
	ipc_msg_free(&m);

	/* A NULL string is an empty one. */
	ipc_msg_init(&m, IPC_CTL_REPLY, 0);
	ipc_add_u32(&m, 0);
	ipc_add_str(&m, NULL);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_uint_eq(m.im_len, IPC_HDR_SIZE + 8);
	ipc_msg_free(&m);

	/* A length past the end of the payload, even a huge one. */
	n = 5;
	memcpy(evil, &n, 4);
	memcpy(evil + 4, "abcd", 4);
	ipc_reader_init(&r, evil, sizeof(evil));
	ck_assert_int_eq(ipc_get_str(&r, &s, &len, 100), -1);
	ck_assert_uint_eq(r.ir_off, 0);
	n = UINT32_MAX;
	memcpy(evil, &n, 4);
	ipc_reader_init(&r, evil, sizeof(evil));
	ck_assert_int_eq(ipc_get_str(&r, &s, &len, SIZE_MAX), -1);
	ck_assert_int_eq(ipc_get_strdup(&r, &dup, SIZE_MAX), -1);
	ipc_reader_init(&r, evil, 3);
	ck_assert_int_eq(ipc_get_str(&r, &s, &len, 100), -1);
}
END_TEST

START_TEST(test_leftover)
{
	struct ipc_msg	 m;
	struct ipc_reader r;
	uint32_t	 d;
	const uint8_t	*p;
	size_t		 len;

	ipc_msg_init(&m, IPC_W_RESYNC_DONE, 0);
	ipc_add_u32(&m, 7);
	ipc_add_u8(&m, 1);
	ck_assert_int_eq(ipc_msg_finish(&m), -1);	/* 5 > max 4 */
	ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE, m.im_len - IPC_HDR_SIZE);
	ck_assert_int_eq(ipc_get_u32(&r, &d), 0);
	ck_assert_int_eq(ipc_end(&r), -1);
	ipc_get_rest(&r, &p, &len);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(ipc_end(&r), 0);
	ipc_get_rest(&r, &p, &len);
	ck_assert_uint_eq(len, 0);
	ipc_msg_free(&m);
}
END_TEST

/* SEQPACKET transport. */

static void
seqpair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

static void
kick_msg(struct ipc_msg *m)
{
	ipc_msg_init(m, IPC_KICK, 77);
	ipc_add_u16(m, 1008);
	ipc_add_str(m, "bye");
	ck_assert_int_eq(ipc_msg_finish(m), 0);
}

START_TEST(test_sp_nofd)
{
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	struct ipc_reader r;
	uint8_t		 buf[256];
	uint16_t	 code;
	char		 reason[16];
	int		 sv[2], fd;
	ssize_t		 n;

	seqpair(sv);
	kick_msg(&m);
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, -1), 0);
	n = ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd);
	ck_assert_int_eq(n, 2 + 4 + 3);
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(h.hd_type, IPC_KICK);
	ck_assert_uint_eq(h.hd_flags & IPC_F_HASFD, 0);
	ck_assert_uint_eq(h.hd_conn_id, 77);
	ipc_reader_init(&r, buf + IPC_HDR_SIZE, (size_t)n);
	ck_assert_int_eq(ipc_get_u16(&r, &code), 0);
	ck_assert_uint_eq(code, 1008);
	ck_assert_int_eq(ipc_get_strbuf(&r, reason, sizeof(reason)), 0);
	ck_assert_str_eq(reason, "bye");
	ck_assert_int_eq(ipc_end(&r), 0);

	/* An empty payload returns 0 with a real type. */
	ipc_msg_free(&m);
	ipc_msg_init(&m, IPC_DRAIN, 0);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, -1), 0);
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), 0);
	ck_assert_uint_eq(h.hd_type, IPC_DRAIN);

	/* EOF: 0 with type 0. */
	close(sv[0]);
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), 0);
	ck_assert_uint_eq(h.hd_type, 0);
	ck_assert_int_eq(fd, -1);
	close(sv[1]);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_sp_fd)
{
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	uint8_t		 buf[256];
	char		 got[8];
	int		 sv[2], pfd[2], fd;
	ssize_t		 n;

	seqpair(sv);
	ck_assert_int_eq(pipe(pfd), 0);
	ipc_msg_init(&m, IPC_PEER_SETUP, 0);
	ipc_add_u32(&m, 2);
	ipc_add_u32(&m, 1234);
	ipc_add_i64(&m, 42);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, pfd[1]), 0);
	close(pfd[1]);

	n = ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd);
	ck_assert_int_eq(n, 16);
	ck_assert_uint_eq(h.hd_type, IPC_PEER_SETUP);
	ck_assert_uint_eq(h.hd_flags & IPC_F_HASFD, IPC_F_HASFD);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* The passed fd is the pipe's write end: prove it by writing. */
	ck_assert_int_eq(write(fd, "hi", 2), 2);
	close(fd);
	ck_assert_int_eq(read(pfd[0], got, sizeof(got)), 2);
	ck_assert(memcmp(got, "hi", 2) == 0);
	/* Every write end is closed now. */
	ck_assert_int_eq(read(pfd[0], got, sizeof(got)), 0);
	close(pfd[0]);
	close(sv[0]);
	close(sv[1]);
	ipc_msg_free(&m);
}
END_TEST

START_TEST(test_sp_garbage)
{
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	uint8_t		 buf[256], raw[IPC_HDR_SIZE + 8];
	int		 sv[2], fd;

	seqpair(sv);
	/* Too short for a header. */
	ck_assert_int_eq(send(sv[0], "garbage", 7, 0), 7);
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(fd, -1);
	/* Unknown type. */
	put_hdr(raw, 0x0999, 0, 8, 0);
	ck_assert_int_eq(send(sv[0], raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), -1);
	ck_assert_int_eq(errno, EBADMSG);
	/* Header len disagrees with the packet. */
	put_hdr(raw, IPC_W_RESYNC_DONE, 0, 4, 0);
	ck_assert_int_eq(send(sv[0], raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), -1);
	ck_assert_int_eq(errno, EBADMSG);
	/* HASFD without an fd. */
	put_hdr(raw, IPC_W_RESYNC_DONE, IPC_F_HASFD, 4, 0);
	ck_assert_int_eq(send(sv[0], raw, IPC_HDR_SIZE + 4, 0), IPC_HDR_SIZE + 4);
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), -1);
	ck_assert_int_eq(errno, EBADMSG);
	/* Larger than the caller's buffer: MSG_TRUNC; the next one still reads. */
	kick_msg(&m);
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, -1), 0);
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, -1), 0);
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, IPC_HDR_SIZE + 2, &h, &fd), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), 9);
	ipc_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* An fd without IPC_F_HASFD is refused and closed, not leaked. */
START_TEST(test_sp_stray_fd)
{
	struct ipc_hdr	 h;
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	uint8_t		 raw[IPC_HDR_SIZE + 4], buf[64];
	char		 c;
	int		 sv[2], pfd[2], fd;

	seqpair(sv);
	ck_assert_int_eq(pipe(pfd), 0);
	put_hdr(raw, IPC_W_RESYNC_DONE, 0, 4, 0);
	memset(raw + IPC_HDR_SIZE, 0, 4);
	iov.iov_base = raw;
	iov.iov_len = sizeof(raw);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pfd[1], sizeof(int));
	ck_assert_int_eq(sendmsg(sv[0], &msg, 0), (ssize_t)sizeof(raw));
	close(pfd[1]);

	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(fd, -1);
	/* EOF on the pipe proves the received copy was closed. */
	ck_assert_int_eq(read(pfd[0], &c, 1), 0);
	close(pfd[0]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_sp_again)
{
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	uint8_t		 buf[64];
	int		 sv[2], fd;
	struct timespec	 t0, t1;
	long		 ms;
	pid_t		 pid;
	int		 status, sent = 0;

	seqpair(sv);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_recv(sv[1], buf, sizeof(buf), &h, &fd), -1);
	ck_assert_int_eq(errno, EAGAIN);

	/* Fill the socket, then a send waits about a second and fails. */
	kick_msg(&m);
	while (send(sv[0], m.im_buf, m.im_len, MSG_DONTWAIT) > 0)
		sent++;
	ck_assert_int_gt(sent, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, -1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 900);
	ck_assert_int_le(ms, 3000);

	/* A reader that drains in time lets the waiting send through. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		usleep(100 * 1000);
		while (recv(sv[1], buf, sizeof(buf), 0) > 0)
			;
		_exit(0);
	}
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, -1), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_sp_unfinished)
{
	struct ipc_msg	 m;
	int		 sv[2];

	seqpair(sv);
	ipc_msg_init(&m, IPC_KICK, 1);
	ipc_add_u16(&m, 1000);
	ipc_add_str(&m, "x");
	errno = 0;
	ck_assert_int_eq(ipc_seqpacket_send(sv[0], &m, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ipc_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ipc_get_sub: an array read in step with the rest of the message. */
START_TEST(test_get_sub)
{
	struct ipc_msg	 m;
	struct ipc_reader r, sub;
	uint64_t	 v;
	uint32_t	 n;
	const uint8_t	*rest;
	size_t		 len;

	ipc_msg_init(&m, IPC_DELIVER, 0);
	ipc_add_u32(&m, 2);
	ipc_add_u64(&m, 7);
	ipc_add_u64(&m, 9);
	ipc_add_data(&m, "xy", 2);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE, m.im_len - IPC_HDR_SIZE);
	ck_assert_int_eq(ipc_get_u32(&r, &n), 0);
	/* More than is left: refused, nothing moved. */
	ck_assert_int_eq(ipc_get_sub(&r, 19, &sub), -1);
	ck_assert_uint_eq(r.ir_off, 4);
	ck_assert_int_eq(ipc_get_sub(&r, (size_t)n * 8, &sub), 0);
	ck_assert_int_eq(ipc_get_u64(&sub, &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(ipc_get_u64(&sub, &v), 0);
	ck_assert_uint_eq(v, 9);
	ck_assert_int_eq(ipc_end(&sub), 0);
	ipc_get_rest(&r, &rest, &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(memcmp(rest, "xy", 2), 0);
	ipc_msg_free(&m);
}
END_TEST

/* An IPC_DELIVER batch: what the writer appends the reader yields, in
 * order, and the message passes the header checks. */
START_TEST(test_batch_roundtrip)
{
	static const uint64_t ids[] = { 5, 6, UINT64_MAX };
	struct ipc_batch ib = { 0 };
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	struct ipc_reader r;
	struct ipc_item	 it;
	uint32_t	 count;
	uint64_t	 id;

	ck_assert_uint_eq(ipc_batch_len(&ib), 0);
	ck_assert_int_eq(ipc_batch_take(&ib, &m), -1);
	ipc_batch_add_reply(&ib, 5, IPC_ITEM_F_RESPONSE, "ack", 3);
	ipc_batch_add_room(&ib, "general", 42, ids, 3, "msg", 3);
	ipc_batch_add_room(&ib, "dm", 0, ids, 0, "", 0);
	ipc_batch_add_reply(&ib, 6, 0, "ev", 2);
	ck_assert_uint_eq(ipc_batch_len(&ib), 4 + 2 * IPC_ITEM_REPLY_FIXED +
	    2 * IPC_ITEM_ROOM_FIXED + (3 + 3 + 0 + 2) + (7 + 2) + 3 * 8);
	ck_assert_int_eq(ipc_batch_take(&ib, &m), 0);
	ck_assert_uint_eq(ib.ib_count, 0);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_int_eq(ipc_hdr_decode(m.im_buf, &h), 0);
	ck_assert_uint_eq(h.hd_type, IPC_DELIVER);
	ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE, h.hd_len);
	ck_assert_int_eq(ipc_batch_begin(&r, &count), 0);
	ck_assert_uint_eq(count, 4);

	ck_assert_int_eq(ipc_batch_next(&r, &it), 0);
	ck_assert_uint_eq(it.it_kind, IPC_ITEM_REPLY);
	ck_assert_uint_eq(it.it_conn, 5);
	ck_assert_uint_eq(it.it_flags, IPC_ITEM_F_RESPONSE);
	ck_assert_uint_eq(it.it_len, 3);
	ck_assert_int_eq(memcmp(it.it_text, "ack", 3), 0);

	ck_assert_int_eq(ipc_batch_next(&r, &it), 0);
	ck_assert_uint_eq(it.it_kind, IPC_ITEM_ROOM);
	ck_assert_str_eq(it.it_room, "general");
	ck_assert_int_eq(it.it_seq, 42);
	ck_assert_uint_eq(it.it_n, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(ipc_get_u64(&it.it_ids, &id), 0);
		ck_assert_uint_eq(id, ids[i]);
	}
	ck_assert_int_eq(ipc_end(&it.it_ids), 0);
	ck_assert_int_eq(memcmp(it.it_text, "msg", 3), 0);

	ck_assert_int_eq(ipc_batch_next(&r, &it), 0);
	ck_assert_uint_eq(it.it_kind, IPC_ITEM_ROOM);
	ck_assert_str_eq(it.it_room, "dm");
	ck_assert_int_eq(it.it_seq, 0);
	ck_assert_uint_eq(it.it_n, 0);
	ck_assert_uint_eq(it.it_len, 0);

	ck_assert_int_eq(ipc_batch_next(&r, &it), 0);
	ck_assert_uint_eq(it.it_kind, IPC_ITEM_REPLY);
	ck_assert_uint_eq(it.it_conn, 6);
	ck_assert_uint_eq(it.it_flags, 0);
	ck_assert_int_eq(memcmp(it.it_text, "ev", 2), 0);
	ck_assert_int_eq(ipc_end(&r), 0);
	ipc_msg_free(&m);

	/* A cleared batch frees what it held and starts again. */
	ipc_batch_add_reply(&ib, 1, 0, "x", 1);
	ipc_batch_clear(&ib);
	ck_assert_uint_eq(ipc_batch_len(&ib), 0);
	ck_assert_int_eq(ipc_batch_take(&ib, &m), -1);
}
END_TEST

/* Walk a payload as the worker does: 0 if every item read and nothing is
 * left over, else -1. */
static int
batch_walk(const void *p, size_t len)
{
	struct ipc_reader r;
	struct ipc_item	 it;
	uint32_t	 count;

	ipc_reader_init(&r, p, len);
	if (ipc_batch_begin(&r, &count) == -1)
		return -1;
	for (uint32_t i = 0; i < count; i++)
		if (ipc_batch_next(&r, &it) == -1)
			return -1;
	return ipc_end(&r);
}

START_TEST(test_batch_malformed)
{
	static const uint64_t ids[] = { 5, 6 };
	struct ipc_batch ib = { 0 };
	struct ipc_msg	 m, bad;
	const uint8_t	*p;
	size_t		 len, off;
	uint32_t	 count;
	struct ipc_reader r;
	struct ipc_item	 it;

	ipc_batch_add_room(&ib, "general", 3, ids, 2, "hello", 5);
	ipc_batch_add_reply(&ib, 5, 0, "ok", 2);
	ck_assert_int_eq(ipc_batch_take(&ib, &m), 0);
	p = m.im_buf + IPC_HDR_SIZE;
	len = m.im_len - IPC_HDR_SIZE;
	ck_assert_int_eq(batch_walk(p, len), 0);

	/* Truncated anywhere: refused. */
	for (size_t cut = 0; cut < len; cut++)
		ck_assert_msg(batch_walk(p, cut) == -1, "cut at %zu", cut);
	/* A byte left over after the last item. */
	ipc_msg_init(&bad, IPC_DELIVER, 0);
	ipc_add_data(&bad, p, len);
	ipc_add_u8(&bad, 0);
	ck_assert_int_eq(batch_walk(bad.im_buf + IPC_HDR_SIZE, len + 1), -1);
	ipc_msg_free(&bad);

	/* An unknown kind, in the first and in the second item. */
	ipc_msg_init(&bad, IPC_DELIVER, 0);
	ipc_add_data(&bad, p, len);
	bad.im_buf[IPC_HDR_SIZE + 4] = 3;
	ck_assert_int_eq(batch_walk(bad.im_buf + IPC_HDR_SIZE, len), -1);
	bad.im_buf[IPC_HDR_SIZE + 4] = 0;
	ck_assert_int_eq(batch_walk(bad.im_buf + IPC_HDR_SIZE, len), -1);
	ipc_msg_free(&bad);
	off = 4 + IPC_ITEM_ROOM_FIXED + 7 + 2 * 8 + 5;
	ck_assert_uint_eq(p[off], IPC_ITEM_REPLY);
	ipc_msg_init(&bad, IPC_DELIVER, 0);
	ipc_add_data(&bad, p, len);
	bad.im_buf[IPC_HDR_SIZE + off] = 0xff;
	ipc_reader_init(&r, bad.im_buf + IPC_HDR_SIZE, len);
	ck_assert_int_eq(ipc_batch_begin(&r, &count), 0);
	ck_assert_int_eq(ipc_batch_next(&r, &it), 0);
	/* A failed item leaves the reader where it was. */
	ck_assert_int_eq(ipc_batch_next(&r, &it), -1);
	ck_assert_uint_eq(r.ir_off, off);
	ipc_msg_free(&bad);

	/* A count larger than the items: the walk runs out. */
	ipc_msg_init(&bad, IPC_DELIVER, 0);
	ipc_add_u32(&bad, 3);
	ipc_add_data(&bad, p + 4, len - 4);
	ck_assert_int_eq(batch_walk(bad.im_buf + IPC_HDR_SIZE, len), -1);
	ipc_msg_free(&bad);
	/* A count larger than the payload could hold: refused at once. */
	ipc_msg_init(&bad, IPC_DELIVER, 0);
	ipc_add_u32(&bad, UINT32_MAX);
	ipc_add_data(&bad, p + 4, len - 4);
	ipc_reader_init(&r, bad.im_buf + IPC_HDR_SIZE, len);
	ck_assert_int_eq(ipc_batch_begin(&r, &count), -1);
	ipc_msg_free(&bad);

	/* The id list longer than the item. */
	ipc_msg_init(&bad, IPC_DELIVER, 0);
	ipc_add_data(&bad, p, len);
	count = 1000;
	memcpy(bad.im_buf + IPC_HDR_SIZE + 4 + 1 + 4 + 7 + 8, &count, 4);
	ck_assert_int_eq(batch_walk(bad.im_buf + IPC_HDR_SIZE, len), -1);
	ipc_msg_free(&bad);

	/* A room name past CHAT_MAX_ROOM. */
	{
		char room[CHAT_MAX_ROOM + 2];

		memset(room, 'r', sizeof(room) - 1);
		room[sizeof(room) - 1] = '\0';
		ipc_batch_add_room(&ib, room, 1, ids, 1, "x", 1);
		ck_assert_int_eq(ipc_batch_take(&ib, &bad), 0);
		ck_assert_int_eq(batch_walk(bad.im_buf + IPC_HDR_SIZE,
		    bad.im_len - IPC_HDR_SIZE), -1);
		ipc_msg_free(&bad);
	}
	ipc_msg_free(&m);
}
END_TEST

/* A peer that must say hello first drops one that does not. */
struct hello_ctx {
	int	 hc_hellos;
	int	 hc_others;	/* messages handled other than the hello */
	int	 hc_lost;
	struct event_base *hc_base;
};

static int
hello_fn(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r, int *fdp)
{
	((struct hello_ctx *)ctx)->hc_hellos++;
	return 0;
}

static int
other_fn(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r, int *fdp)
{
	((struct hello_ctx *)ctx)->hc_others++;
	return 0;
}

static void
hello_lost(struct peer *p, void *ctx)
{
	struct hello_ctx *hc = ctx;

	hc->hc_lost++;
	peer_free(p);
	event_base_loopbreak(hc->hc_base);
}

static const struct ipc_handler hello_table[] = {
	{ IPC_W_HELLO, hello_fn },
	{ IPC_CONN_CLOSE, other_fn },
	{ 0, NULL }
};

static void
hello_run(bool hello_first, struct hello_ctx *hc)
{
	struct ipc_msg	 m;
	struct peer	*p;
	int		 sv[2];

	memset(hc, 0, sizeof(*hc));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	hc->hc_base = event_base_new();
	p = peer_new(hc->hc_base, sv[0], "test peer", hello_table, hc,
	    hello_lost);
	ck_assert_ptr_nonnull(p);
	peer_expect_hello(p, IPC_W_HELLO);
	if (hello_first) {
		ipc_msg_init(&m, IPC_W_HELLO, 0);
		ipc_add_u32(&m, IPC_VERSION);
		ipc_add_u32(&m, 1);
		ipc_add_u32(&m, 1);
		ipc_add_i64(&m, 0);
		ck_assert_int_eq(ipc_msg_finish(&m), 0);
		ck_assert_int_eq(write(sv[1], m.im_buf, m.im_len),
		    (ssize_t)m.im_len);
		ipc_msg_free(&m);
	}
	ipc_msg_init(&m, IPC_CONN_CLOSE, 5);
	ck_assert_int_eq(ipc_msg_finish(&m), 0);
	ck_assert_int_eq(write(sv[1], m.im_buf, m.im_len), (ssize_t)m.im_len);
	ipc_msg_free(&m);
	close(sv[1]);		/* EOF ends the loop either way */
	event_base_dispatch(hc->hc_base);
	event_base_free(hc->hc_base);
}

START_TEST(test_peer_hello_first)
{
	struct hello_ctx hc;

	hello_run(false, &hc);
	ck_assert_int_eq(hc.hc_hellos, 0);
	ck_assert_int_eq(hc.hc_others, 0);	/* dropped before it */
	ck_assert_int_eq(hc.hc_lost, 1);
	hello_run(true, &hc);
	ck_assert_int_eq(hc.hc_hellos, 1);
	ck_assert_int_eq(hc.hc_others, 1);
	ck_assert_int_eq(hc.hc_lost, 1);	/* at EOF, not before */
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("ipc");
	TCase	*tc;

	tc = tcase_create("codec");
	tcase_add_loop_test(tc, test_roundtrip, 0, NCASES);
	tcase_add_loop_test(tc, test_truncated, 0, NCASES);
	tcase_add_test(tc, test_every_type_covered);
	tcase_add_loop_test(tc, test_hdr_bounds, 0, NTYPES);
	tcase_add_loop_test(tc, test_finish_bounds, 0, NTYPES);
	tcase_add_test(tc, test_finish_max_payload);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_short_scalars);
	tcase_add_test(tc, test_str_limits);
	tcase_add_test(tc, test_leftover);
	tcase_add_test(tc, test_get_sub);
	tcase_add_test(tc, test_batch_roundtrip);
	tcase_add_test(tc, test_batch_malformed);
	tcase_add_test(tc, test_peer_hello_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("seqpacket");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_sp_nofd);
	tcase_add_test(tc, test_sp_fd);
	tcase_add_test(tc, test_sp_garbage);
	tcase_add_test(tc, test_sp_stray_fd);
	tcase_add_test(tc, test_sp_again);
	tcase_add_test(tc, test_sp_unfinished);
	suite_add_tcase(s, tc);
	return s;
}
