/* deflate.h: permessage-deflate (RFC 7692): negotiation and the zlib
 * streams of one connection.  No sockets and no clock: the caller hands in
 * buffers.
 *
 * Memory per negotiated connection (zlib's own formulas, memLevel 8):
 *   deflater: (1 << (server_max_window_bits + 2)) + (1 << (8 + 9)) bytes,
 *             256 KiB with the default 15-bit window (132 KiB with 10 bits),
 *             plus ~6 KiB of state;
 *   inflater: (1 << client window bits), 32 KiB by default, plus ~7 KiB.
 * So up to ~300 KiB per connection.  Both streams are created lazily: the
 * deflater on the first message we compress, the inflater on the first
 * compressed message received, and both are freed with the connection.
 */
#ifndef PARLEY_DEFLATE_H
#define PARLEY_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct http_upgrade_req;

/* Messages shorter than this are sent uncompressed (RSV1 clear). */
#define DEFLATE_MIN_BYTES	64
/* Room for the 101 answer's extension line. */
#define DEFLATE_HDR_MAX		160
/* zlib level: speed matters more than ratio for chat traffic. */
#define DEFLATE_LEVEL		6
#define DEFLATE_MEM_LEVEL	8

/* What was agreed for one connection. */
struct deflate_params {
	bool	dp_server_no_context_takeover;	/* reset our deflater per message */
	bool	dp_client_no_context_takeover;	/* reset our inflater per message */
	int	dp_server_window_bits;	/* our deflater: 9..15 */
	int	dp_client_window_bits;	/* our inflater: 9..15 */
};

enum deflate_result {
	DEFLATE_OK = 0,
	DEFLATE_TOO_BIG,	/* inflated past the limit: close 1009 */
	DEFLATE_CORRUPT,	/* not a valid DEFLATE stream: close 1007 */
	DEFLATE_NOMEM,		/* zlib could not allocate: close 1011 */
};

struct deflate_ctx;	/* opaque: the params and two z_streams */

/*
 * Answer the offers parsed by http_upgrade.c: the first one that can be
 * honoured.  Returns 0 with *dp filled and the Sec-WebSocket-Extensions
 * value in hdr ("permessage-deflate; ..."), or -1 when there is no offer
 * or every one is declined (no extension header then).
 */
int	deflate_negotiate(const struct http_upgrade_req *req,
	    struct deflate_params *dp, char *hdr, size_t hdrlen);

struct deflate_ctx *deflate_new(const struct deflate_params *dp);
void	deflate_free(struct deflate_ctx *dc);
const struct deflate_params *deflate_params(const struct deflate_ctx *dc);

/*
 * Compress one whole message and append the payload to send, with RSV1 on
 * its first frame (the trailing 00 00 ff ff already removed), to out.
 * Returns 0, or -1 (out of memory; out may hold a partial payload).
 */
int	deflate_compress(struct deflate_ctx *dc, const void *data, size_t len,
	    struct evbuffer *out);

/*
 * Inflate one whole compressed message: the payload in in (drained) plus
 * the 00 00 ff ff tail.  Appends at most max bytes to out; one byte more
 * stops inflating at once with DEFLATE_TOO_BIG, so a bomb costs no more
 * than max bytes of memory and the CPU to produce them.
 */
enum deflate_result deflate_inflate(struct deflate_ctx *dc,
	    struct evbuffer *in, struct evbuffer *out, uint64_t max);

/* Largest wire payload a message of max inflated bytes may need: deflate
 * output can be a little longer than incompressible input. */
uint64_t deflate_wire_bound(uint64_t max);

#endif
