/* tls.h: the worker's TLS context (OpenSSL, through bufferevent_openssl). */
#ifndef PARLEY_TLS_H
#define PARLEY_TLS_H

#include <stddef.h>

struct parley_config;
typedef struct ssl_ctx_st SSL_CTX;

/* A server context from [tls] cert_file and key_file, or NULL with err. */
SSL_CTX	*tls_ctx_new(const struct parley_config *cfg, char *err, size_t errlen);

#endif
