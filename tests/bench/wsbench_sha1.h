/* wsbench_sha1.h: SHA-1 and base64 for the WebSocket handshake (bench tools). */
#ifndef WSBENCH_SHA1_H
#define WSBENCH_SHA1_H

#include <stddef.h>

void	sha1(const unsigned char *, size_t, unsigned char out[20]);
void	base64(const unsigned char *, size_t, char *out);	/* NUL-ended */

#endif
