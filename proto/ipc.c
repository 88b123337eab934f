/* ipc.c: typed IPC messages: writer, bounded reader, SEQPACKET + SCM_RIGHTS. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"

#define IPC_INIT_CAP		256
#define IPC_SEND_WAIT_MS	1000	/* a full peer queue gets this long */
#define IPC_MAX_FDS		4	/* more in one packet is a broken peer */

/* Header field offsets; memcpy keeps every access aligned. */
#define IPC_OFF_TYPE		0
#define IPC_OFF_FLAGS		2
#define IPC_OFF_LEN		4
#define IPC_OFF_CONN		8

static const struct ipc_type_info ipc_types[] = {
#define IPC_INFO(name, value, min, max) { value, #name, min, max },
	IPC_TYPES(IPC_INFO)
#undef IPC_INFO
};

const struct ipc_type_info *
ipc_type_lookup(uint16_t type)
{
	size_t	i;

	for (i = 0; i < sizeof(ipc_types) / sizeof(ipc_types[0]); i++)
		if (ipc_types[i].ti_type == type)
			return &ipc_types[i];
	return NULL;
}

const char *
ipc_type_name(uint16_t type)
{
	const struct ipc_type_info *ti = ipc_type_lookup(type);

	return ti != NULL ? ti->ti_name : "IPC_?";
}

int
ipc_version_check(uint32_t version, const char *peer)
{
	if (version == IPC_VERSION)
		return 0;
	log_warnx("ipc_version", "%s speaks IPC version %u, not %u", peer,
	    version, IPC_VERSION);
	return -1;
}

int
ipc_hdr_decode(const uint8_t *buf, struct ipc_hdr *h)
{
	const struct ipc_type_info *ti;

	memcpy(&h->hd_type, buf + IPC_OFF_TYPE, sizeof(h->hd_type));
	memcpy(&h->hd_flags, buf + IPC_OFF_FLAGS, sizeof(h->hd_flags));
	memcpy(&h->hd_len, buf + IPC_OFF_LEN, sizeof(h->hd_len));
	memcpy(&h->hd_conn_id, buf + IPC_OFF_CONN, sizeof(h->hd_conn_id));
	if ((ti = ipc_type_lookup(h->hd_type)) == NULL)
		return -1;
	if (h->hd_len < ti->ti_min || h->hd_len > ti->ti_max)
		return -1;
	return 0;
}

/* Writer. */

void
ipc_msg_init(struct ipc_msg *m, uint16_t type, uint64_t conn_id)
{
	uint16_t	flags = 0;
	uint32_t	len = 0;

	memset(m, 0, sizeof(*m));
	if ((m->im_buf = malloc(IPC_INIT_CAP)) == NULL) {
		m->im_error = true;
		return;
	}
	m->im_cap = IPC_INIT_CAP;
	memcpy(m->im_buf + IPC_OFF_TYPE, &type, sizeof(type));
	memcpy(m->im_buf + IPC_OFF_FLAGS, &flags, sizeof(flags));
	memcpy(m->im_buf + IPC_OFF_LEN, &len, sizeof(len));
	memcpy(m->im_buf + IPC_OFF_CONN, &conn_id, sizeof(conn_id));
	m->im_len = IPC_HDR_SIZE;
}

void
ipc_msg_set_flags(struct ipc_msg *m, uint16_t flags)
{
	if (m->im_buf != NULL)
		memcpy(m->im_buf + IPC_OFF_FLAGS, &flags, sizeof(flags));
}

/* Make room for n more bytes; never past the largest legal message. */
static int
ipc_msg_reserve(struct ipc_msg *m, size_t n)
{
	size_t	 need, cap;
	uint8_t	*p;

	if (m->im_error)
		return -1;
	if (n > (size_t)IPC_HDR_SIZE + IPC_MAX_PAYLOAD - m->im_len)
		goto fail;
	need = m->im_len + n;
	if (need <= m->im_cap)
		return 0;
	cap = m->im_cap;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(m->im_buf, cap)) == NULL)
		goto fail;
	m->im_buf = p;
	m->im_cap = cap;
	return 0;
fail:
	m->im_error = true;
	return -1;
}

void
ipc_add_data(struct ipc_msg *m, const void *p, size_t n)
{
	if (ipc_msg_reserve(m, n) == -1)
		return;
	if (n > 0)
		memcpy(m->im_buf + m->im_len, p, n);
	m->im_len += n;
}

void
ipc_add_u8(struct ipc_msg *m, uint8_t v)
{
	ipc_add_data(m, &v, sizeof(v));
}

void
ipc_add_u16(struct ipc_msg *m, uint16_t v)
{
	ipc_add_data(m, &v, sizeof(v));
}

void
ipc_add_u32(struct ipc_msg *m, uint32_t v)
{
	ipc_add_data(m, &v, sizeof(v));
}

void
ipc_add_u64(struct ipc_msg *m, uint64_t v)
{
	ipc_add_data(m, &v, sizeof(v));
}

void
ipc_add_i64(struct ipc_msg *m, int64_t v)
{
	ipc_add_data(m, &v, sizeof(v));
}

void
ipc_add_strn(struct ipc_msg *m, const char *s, size_t n)
{
	if (n > UINT32_MAX) {
		m->im_error = true;
		return;
	}
	ipc_add_u32(m, (uint32_t)n);
	ipc_add_data(m, s, n);
}

void
ipc_add_str(struct ipc_msg *m, const char *s)
{
	ipc_add_strn(m, s, s != NULL ? strlen(s) : 0);
}

int
ipc_msg_finish(struct ipc_msg *m)
{
	const struct ipc_type_info *ti;
	uint16_t	type;
	uint32_t	len;

	if (m->im_error || m->im_buf == NULL)
		return -1;
	memcpy(&type, m->im_buf + IPC_OFF_TYPE, sizeof(type));
	if ((ti = ipc_type_lookup(type)) == NULL)
		goto fail;
	/* Reserve kept im_len within the header plus IPC_MAX_PAYLOAD. */
	len = (uint32_t)(m->im_len - IPC_HDR_SIZE);
	if (len < ti->ti_min || len > ti->ti_max)
		goto fail;
	memcpy(m->im_buf + IPC_OFF_LEN, &len, sizeof(len));
	return 0;
fail:
	m->im_error = true;
	return -1;
}

void
ipc_msg_free(struct ipc_msg *m)
{
	free(m->im_buf);
	memset(m, 0, sizeof(*m));
}

/* Reader: a failed getter leaves the offset where it was. */

void
ipc_reader_init(struct ipc_reader *r, const void *payload, size_t len)
{
	r->ir_p = payload;
	r->ir_len = payload != NULL ? len : 0;
	r->ir_off = 0;
}

static int
ipc_get_raw(struct ipc_reader *r, void *v, size_t n)
{
	if (n > r->ir_len - r->ir_off)
		return -1;
	memcpy(v, r->ir_p + r->ir_off, n);
	r->ir_off += n;
	return 0;
}

int
ipc_get_u8(struct ipc_reader *r, uint8_t *v)
{
	return ipc_get_raw(r, v, sizeof(*v));
}

int
ipc_get_u16(struct ipc_reader *r, uint16_t *v)
{
	return ipc_get_raw(r, v, sizeof(*v));
}

int
ipc_get_u32(struct ipc_reader *r, uint32_t *v)
{
	return ipc_get_raw(r, v, sizeof(*v));
}

int
ipc_get_u64(struct ipc_reader *r, uint64_t *v)
{
	return ipc_get_raw(r, v, sizeof(*v));
}

int
ipc_get_i64(struct ipc_reader *r, int64_t *v)
{
	return ipc_get_raw(r, v, sizeof(*v));
}

int
ipc_get_str(struct ipc_reader *r, const char **s, size_t *len, size_t max)
{
	uint32_t	n;
	size_t		off = r->ir_off;

	if (ipc_get_u32(r, &n) == -1)
		return -1;
	if (n > max || n > r->ir_len - r->ir_off) {
		r->ir_off = off;
		return -1;
	}
	*s = (const char *)r->ir_p + r->ir_off;
	*len = n;
	r->ir_off += n;
	return 0;
}

int
ipc_get_strdup(struct ipc_reader *r, char **s, size_t max)
{
	const char	*p;
	size_t		 len, off = r->ir_off;
	char		*d;

	if (ipc_get_str(r, &p, &len, max) == -1)
		return -1;
	/* A NUL inside would silently shorten the string. */
	if (memchr(p, '\0', len) != NULL || (d = malloc(len + 1)) == NULL) {
		r->ir_off = off;
		return -1;
	}
	memcpy(d, p, len);
	d[len] = '\0';
	*s = d;
	return 0;
}

int
ipc_get_strbuf(struct ipc_reader *r, char *buf, size_t cap)
{
	const char	*p;
	size_t		 len, off = r->ir_off;

	if (cap == 0 || ipc_get_str(r, &p, &len, cap - 1) == -1)
		return -1;
	if (memchr(p, '\0', len) != NULL) {
		r->ir_off = off;
		return -1;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	return 0;
}

int
ipc_get_sub(struct ipc_reader *r, size_t n, struct ipc_reader *sub)
{
	if (n > r->ir_len - r->ir_off)
		return -1;
	ipc_reader_init(sub, r->ir_p + r->ir_off, n);
	r->ir_off += n;
	return 0;
}

void
ipc_get_rest(struct ipc_reader *r, const uint8_t **p, size_t *len)
{
	*p = r->ir_p + r->ir_off;
	*len = r->ir_len - r->ir_off;
	r->ir_off = r->ir_len;
}

int
ipc_end(const struct ipc_reader *r)
{
	return r->ir_off == r->ir_len ? 0 : -1;
}

/* SOCK_SEQPACKET transport. */

static int64_t
ipc_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for room in a full socket buffer until the deadline; 0 or -1. */
static int
ipc_wait_writable(int sock, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	for (;;) {
		if ((left = deadline - ipc_now_ms()) <= 0) {
			errno = EAGAIN;
			return -1;
		}
		pfd.fd = sock;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EAGAIN;
			return -1;
		}
		/* Errors and hangups are reported by the retried sendmsg. */
		return 0;
	}
}

int
ipc_seqpacket_send(int sock, const struct ipc_msg *m, int fd)
{
	uint8_t		 hdr[IPC_HDR_SIZE];
	uint16_t	 flags;
	uint32_t	 len;
	struct iovec	 iov[2];
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	int64_t		 deadline = 0;
	ssize_t		 n;

	if (m->im_error || m->im_buf == NULL || m->im_len < IPC_HDR_SIZE) {
		errno = EINVAL;
		return -1;
	}
	/* An unfinished message would be refused by the receiver anyway. */
	memcpy(&len, m->im_buf + IPC_OFF_LEN, sizeof(len));
	if (len != m->im_len - IPC_HDR_SIZE) {
		errno = EINVAL;
		return -1;
	}
	/* The flag must match the fd, so patch a copy of the header. */
	memcpy(hdr, m->im_buf, IPC_HDR_SIZE);
	memcpy(&flags, hdr + IPC_OFF_FLAGS, sizeof(flags));
	if (fd >= 0)
		flags |= IPC_F_HASFD;
	else
		flags &= ~IPC_F_HASFD;
	memcpy(hdr + IPC_OFF_FLAGS, &flags, sizeof(flags));

	iov[0].iov_base = hdr;
	iov[0].iov_len = IPC_HDR_SIZE;
	iov[1].iov_base = m->im_buf + IPC_HDR_SIZE;
	iov[1].iov_len = m->im_len - IPC_HDR_SIZE;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	if (fd >= 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}

	for (;;) {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (deadline == 0)
			deadline = ipc_now_ms() + IPC_SEND_WAIT_MS;
		if (ipc_wait_writable(sock, deadline) == -1)
			return -1;
	}
	/* SEQPACKET sends all or nothing; anything else is a broken socket. */
	if ((size_t)n != m->im_len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* Close the fds of a refused packet so a bad peer cannot leak them. */
static void
ipc_close_fds(int *fds, size_t nfds)
{
	size_t	i;

	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

ssize_t
ipc_seqpacket_recv(int sock, uint8_t *buf, size_t cap, struct ipc_hdr *h,
    int *fd)
{
	struct iovec	 iov;
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
	}		 cmsgbuf;
	int		 fds[IPC_MAX_FDS];
	size_t		 nfds = 0, i, k;
	ssize_t		 n;

	memset(h, 0, sizeof(*h));
	*fd = -1;
	if (cap < IPC_HDR_SIZE) {
		errno = EINVAL;
		return -1;
	}
	iov.iov_base = buf;
	iov.iov_len = cap;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;

	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k && nfds < IPC_MAX_FDS; i++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
	}
	if (n == 0) {
		ipc_close_fds(fds, nfds);
		return 0;
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		goto bad;
	if (nfds > 1 || (size_t)n < IPC_HDR_SIZE)
		goto bad;
	if (ipc_hdr_decode(buf, h) == -1)
		goto bad;
	if ((size_t)n != IPC_HDR_SIZE + (size_t)h->hd_len)
		goto bad;
	if (((h->hd_flags & IPC_F_HASFD) != 0) != (nfds == 1))
		goto bad;
	if (nfds == 1)
		*fd = fds[0];
	return n - IPC_HDR_SIZE;
bad:
	ipc_close_fds(fds, nfds);
	memset(h, 0, sizeof(*h));
	errno = EBADMSG;
	return -1;
}
