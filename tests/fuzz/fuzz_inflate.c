/* fuzz_inflate.c: a client's compressed messages (RFC 7692) through the
 * bounded inflater: never past the cap, never a crash; a stream that
 * keeps its context is fed several messages in a row. */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "deflate.h"
#include "fuzz.h"

#define FUZZ_INFLATE_MAX	4096

int
fuzz_inflate(const uint8_t *data, size_t len)
{
	struct deflate_params dp = {
		.dp_server_window_bits = 15,
		.dp_client_window_bits = 9 + (len > 0 ? data[0] % 7 : 6),
		.dp_client_no_context_takeover = len > 1 && (data[1] & 1),
	};
	struct deflate_ctx *dc = deflate_new(&dp);
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	size_t off = len > 2 ? 2 : len;
	int bad = 0;

	/* Split the rest into messages at each 0xfe byte. */
	while (dc != NULL && off <= len && !bad) {
		size_t end = off;
		enum deflate_result r;

		while (end < len && data[end] != 0xfe)
			end++;
		evbuffer_drain(in, evbuffer_get_length(in));
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_add(in, data + off, end - off);
		r = deflate_inflate(dc, in, out, FUZZ_INFLATE_MAX);
		if (r == DEFLATE_OK &&
		    evbuffer_get_length(out) > FUZZ_INFLATE_MAX)
			bad = 1;
		if (r != DEFLATE_OK)
			break;
		off = end + 1;
	}
	evbuffer_free(in);
	evbuffer_free(out);
	deflate_free(dc);
	return bad;
}

#ifdef PARLEY_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (fuzz_inflate(d, n) != 0)
		abort();
	return 0;
}
#endif
