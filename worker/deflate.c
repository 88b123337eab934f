/*
 * deflate.c: permessage-deflate (RFC 7692) negotiation and zlib streams.
 *
 * A compressed message is raw DEFLATE data flushed with Z_SYNC_FLUSH, whose
 * trailing empty stored block (00 00 ff ff) the sender removes and the
 * receiver puts back (RFC 7692 7.2.1, 7.2.2).  Without "no_context_takeover"
 * each direction keeps one stream for the whole connection, so the peer's
 * window carries over from message to message.
 *
 * Decisions:
 * - server_max_window_bits=8 is declined: zlib silently deflates with a
 *   9-bit window when asked for 8, which would break the client's promise.
 * - client_max_window_bits with a value is echoed; our inflater then uses
 *   max(value, 9) bits (a bigger inflate window is always safe).  Without a
 *   value we leave it out and inflate with 15 bits.
 * - server_max_window_bits is only ever answered when offered (7.1.2.1).
 * - Data that does not inflate is "invalid data": close 1007.
 */
#define ZLIB_CONST
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "deflate.h"
#include "http_upgrade.h"
#include "util.h"

#define DEFLATE_CHUNK		16384	/* zlib output per call */
#define DEFLATE_SLICE		(1U << 30)	/* zlib input per call */

static const uint8_t deflate_tail[4] = { 0x00, 0x00, 0xff, 0xff };

struct deflate_ctx {
	struct deflate_params	dc_params;
	z_stream		dc_def;		/* outgoing messages */
	z_stream		dc_inf;		/* incoming messages */
	bool			dc_def_live;	/* deflateInit2 done */
	bool			dc_inf_live;	/* inflateInit2 done */
};

/* Negotiation (RFC 7692 7.1). */

/* Answer one offer: 0 with *dp and hdr filled, -1 if it cannot be honoured. */
static int
deflate_answer(const struct http_pmd_offer *po, struct deflate_params *dp,
    char *hdr, size_t hdrlen)
{
	int	smwb = po->po_server_max_window_bits;
	int	cmwb = po->po_client_max_window_bits;
	int	n;

	/* 0: absent.  8 is declined (see above); outside 8..15 is bad. */
	if (smwb != 0 && (smwb < 9 || smwb > 15))
		return -1;
	if (cmwb != 0 && cmwb != -1 && (cmwb < 8 || cmwb > 15))
		return -1;
	memset(dp, 0, sizeof(*dp));
	dp->dp_server_no_context_takeover = po->po_server_no_context_takeover;
	dp->dp_client_no_context_takeover = po->po_client_no_context_takeover;
	dp->dp_server_window_bits = smwb != 0 ? smwb : 15;
	dp->dp_client_window_bits = cmwb > 0 ? (cmwb < 9 ? 9 : cmwb) : 15;

	n = snprintf(hdr, hdrlen, "permessage-deflate%s%s",
	    dp->dp_server_no_context_takeover ?
	    "; server_no_context_takeover" : "",
	    dp->dp_client_no_context_takeover ?
	    "; client_no_context_takeover" : "");
	if (n >= 0 && (size_t)n < hdrlen && smwb != 0)
		n += snprintf(hdr + n, hdrlen - (size_t)n,
		    "; server_max_window_bits=%d", smwb);
	if (n >= 0 && (size_t)n < hdrlen && cmwb > 0)
		n += snprintf(hdr + n, hdrlen - (size_t)n,
		    "; client_max_window_bits=%d", cmwb);
	if (n < 0 || (size_t)n >= hdrlen)
		return -1;
	return 0;
}

/* RFC 7692 5: the first offer that can be honoured wins; the others,
 * before and after it, are declined. */
int
deflate_negotiate(const struct http_upgrade_req *req,
    struct deflate_params *dp, char *hdr, size_t hdrlen)
{
	for (size_t i = 0; i < req->hu_npmd; i++)
		if (deflate_answer(&req->hu_pmd[i], dp, hdr, hdrlen) == 0)
			return 0;
	return -1;
}

/* Streams. */

struct deflate_ctx *
deflate_new(const struct deflate_params *dp)
{
	struct deflate_ctx *dc = xcalloc(1, sizeof(*dc));

	dc->dc_params = *dp;
	return dc;
}

void
deflate_free(struct deflate_ctx *dc)
{
	if (dc == NULL)
		return;
	if (dc->dc_def_live)
		deflateEnd(&dc->dc_def);
	if (dc->dc_inf_live)
		inflateEnd(&dc->dc_inf);
	free(dc);
}

const struct deflate_params *
deflate_params(const struct deflate_ctx *dc)
{
	return &dc->dc_params;
}

uint64_t
deflate_wire_bound(uint64_t max)
{
	/* Stored blocks cost 5 bytes per 64 KiB; be generous. */
	return max + (max >> 10) + 64;
}

/* Compressing. */

static int
deflate_def_init(struct deflate_ctx *dc)
{
	if (dc->dc_def_live)
		return 0;
	memset(&dc->dc_def, 0, sizeof(dc->dc_def));
	if (deflateInit2(&dc->dc_def, DEFLATE_LEVEL, Z_DEFLATED,
	    -dc->dc_params.dp_server_window_bits, DEFLATE_MEM_LEVEL,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	dc->dc_def_live = true;
	return 0;
}

int
deflate_compress(struct deflate_ctx *dc, const void *data, size_t len,
    struct evbuffer *out)
{
	/* The last 4 bytes produced so far are held back: at the end they
	 * are the 00 00 ff ff that is not sent. */
	uint8_t		 buf[sizeof(deflate_tail) + DEFLATE_CHUNK];
	const uint8_t	*p = data;
	z_stream	*z = &dc->dc_def;
	size_t		 left = len, hold = 0, made;
	int		 flush, ret;

	if (deflate_def_init(dc) == -1)
		return -1;
	do {
		uInt n = left > DEFLATE_SLICE ? DEFLATE_SLICE : (uInt)left;

		z->next_in = p;
		z->avail_in = n;
		p += n;
		left -= n;
		flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
		do {
			z->next_out = buf + hold;
			z->avail_out = DEFLATE_CHUNK;
			ret = deflate(z, flush);
			if (ret != Z_OK && ret != Z_BUF_ERROR)
				return -1;
			made = hold + DEFLATE_CHUNK - z->avail_out;
			if (made > sizeof(deflate_tail)) {
				if (evbuffer_add(out, buf,
				    made - sizeof(deflate_tail)) == -1)
					return -1;
				memmove(buf, buf + made - sizeof(deflate_tail),
				    sizeof(deflate_tail));
				hold = sizeof(deflate_tail);
			} else
				hold = made;
		} while (z->avail_out == 0);
	} while (left > 0);
	/* Z_SYNC_FLUSH always ends in the empty stored block. */
	if (hold != sizeof(deflate_tail) ||
	    memcmp(buf, deflate_tail, sizeof(deflate_tail)) != 0)
		return -1;
	if (dc->dc_params.dp_server_no_context_takeover &&
	    deflateReset(z) != Z_OK)
		return -1;
	return 0;
}

/* Inflating. */

static int
deflate_inf_init(struct deflate_ctx *dc)
{
	if (dc->dc_inf_live)
		return 0;
	memset(&dc->dc_inf, 0, sizeof(dc->dc_inf));
	if (inflateInit2(&dc->dc_inf,
	    -dc->dc_params.dp_client_window_bits) != Z_OK)
		return -1;
	dc->dc_inf_live = true;
	return 0;
}

/* Feed one piece of input; *total counts the output so far (<= max).
 * *ended: a block with BFINAL set ended the stream (7.2.3.3); the rest
 * of the message, our tail included, is ignored and the next message
 * starts a new stream. */
static enum deflate_result
deflate_inflate_piece(struct deflate_ctx *dc, const uint8_t *data,
    size_t len, struct evbuffer *out, uint64_t max, uint64_t *total,
    bool *ended)
{
	uint8_t		 buf[DEFLATE_CHUNK];
	z_stream	*z = &dc->dc_inf;
	size_t		 made;
	int		 ret;

	z->next_in = data;
	z->avail_in = (uInt)len;
	do {
		z->next_out = buf;
		z->avail_out = sizeof(buf);
		ret = inflate(z, Z_SYNC_FLUSH);
		switch (ret) {
		case Z_OK:
		case Z_BUF_ERROR:	/* no progress possible: done */
		case Z_STREAM_END:
			break;
		case Z_MEM_ERROR:
			return DEFLATE_NOMEM;
		default:		/* Z_DATA_ERROR, Z_NEED_DICT, ... */
			return DEFLATE_CORRUPT;
		}
		made = sizeof(buf) - z->avail_out;
		if (made > max - *total)
			return DEFLATE_TOO_BIG;
		if (made > 0 && evbuffer_add(out, buf, made) == -1)
			return DEFLATE_NOMEM;
		*total += made;
		if (ret == Z_STREAM_END) {
			*ended = true;
			return inflateReset(z) == Z_OK ? DEFLATE_OK :
			    DEFLATE_NOMEM;
		}
		if (ret == Z_BUF_ERROR && made == 0)
			break;
	} while (z->avail_in > 0 || z->avail_out == 0);
	return DEFLATE_OK;
}

enum deflate_result
deflate_inflate(struct deflate_ctx *dc, struct evbuffer *in,
    struct evbuffer *out, uint64_t max)
{
	struct evbuffer_iovec	 v;
	enum deflate_result	 r = DEFLATE_OK;
	uint64_t		 total = 0;
	bool			 ended = false;

	/* An empty payload is an empty message.  Inflating just the tail
	 * would leave the stream inside a stored-block header (the tail is
	 * the second half of one) and garble the next message. */
	if (evbuffer_get_length(in) == 0)
		return DEFLATE_OK;
	if (deflate_inf_init(dc) == -1)
		return DEFLATE_NOMEM;
	while (r == DEFLATE_OK && !ended &&
	    evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		size_t n = v.iov_len > DEFLATE_SLICE ? DEFLATE_SLICE :
		    v.iov_len;

		r = deflate_inflate_piece(dc, v.iov_base, n, out, max, &total,
		    &ended);
		evbuffer_drain(in, n);
	}
	if (r == DEFLATE_OK && !ended)
		r = deflate_inflate_piece(dc, deflate_tail,
		    sizeof(deflate_tail), out, max, &total, &ended);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (r != DEFLATE_OK)
		return r;
	if (dc->dc_params.dp_client_no_context_takeover &&
	    inflateReset(&dc->dc_inf) != Z_OK)
		return DEFLATE_NOMEM;
	return DEFLATE_OK;
}
