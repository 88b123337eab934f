/* fuzz.h: the parser fuzz targets.  Each takes one input of any bytes and
 * length, must never read outside it, and returns 0; nonzero means the
 * target caught a broken invariant (smoke_driver.c counts these as
 * failures, the libFuzzer wrappers abort on them). */
#ifndef PARLEY_FUZZ_H
#define PARLEY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	fuzz_ws_frame(const uint8_t *data, size_t len);
int	fuzz_http_upgrade(const uint8_t *data, size_t len);
int	fuzz_ipc(const uint8_t *data, size_t len);
int	fuzz_chat_req(const uint8_t *data, size_t len);
int	fuzz_inflate(const uint8_t *data, size_t len);
int	fuzz_jwt(const uint8_t *data, size_t len);
int	fuzz_api_body(const uint8_t *data, size_t len);
int	fuzz_config(const uint8_t *data, size_t len);

/* fuzz_jwt's verifiers; tests/fuzz/grow_corpus.py signs its seeds so. */
#define FUZZ_JWT_SECRET	"parley-fuzz-secret-0123456789abcdef"
#define FUZZ_JWT_ISS	"parley-fuzz"
#define FUZZ_JWT_AUD	"parley"
#define FUZZ_JWT_NOW	INT64_C(1800000000)

#endif
