/* fuzz_http_upgrade.c: feed arbitrary bytes to the head framer, the head
 * parser and the query decoder; everything must be freed and bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_upgrade.h"

int	fuzz_http_upgrade(const uint8_t *data, size_t size);

int
fuzz_http_upgrade(const uint8_t *data, size_t size)
{
	struct http_upgrade_req	 req;
	const char		*why = NULL;
	char			*v, *q;
	long			 end;

	end = http_upgrade_head_end((const char *)data, size, HTTP_MAX_HEAD);
	if (end < -1 || end > (long)size || end > HTTP_MAX_HEAD)
		abort();
	/* Parse the framed head, or the whole input when there is none. */
	if (end <= 0)
		end = (long)(size < HTTP_MAX_HEAD ? size : HTTP_MAX_HEAD);
	if (http_upgrade_parse((const char *)data, (size_t)end, &req,
	    &why) == 0) {
		if (req.hu_host == NULL || req.hu_path[0] != '/' ||
		    strlen(req.hu_key) != HTTP_WS_KEY_LEN)
			abort();
		v = http_query_param(req.hu_query, "token");
		free(v);
	}
	if (why == NULL)
		abort();
	http_upgrade_req_free(&req);

	/* The decoder on its own, over the input as a query string. */
	if ((q = malloc(size + 1)) == NULL)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	v = http_query_param(q, "token");
	free(v);
	free(q);
	return 0;
}

#ifdef PARLEY_LIBFUZZER
int	LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	return fuzz_http_upgrade(d, n);
}
#endif
