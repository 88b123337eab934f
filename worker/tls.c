/* tls.c: one SSL_CTX per worker: TLS 1.2 and later, the certificate chain
 * and key from the config, no session tickets shared across processes. */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdio.h>

#include "config.h"
#include "tls.h"

SSL_CTX *
tls_ctx_new(const struct parley_config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *what = "SSL_CTX_new";

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Each worker has its own ticket keys: tickets would not resume on
	 * another worker, so do not issue them. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	what = cfg->tls_cert_file;
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1)
		goto fail;
	what = cfg->tls_key_file;
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file,
	    SSL_FILETYPE_PEM) != 1)
		goto fail;
	what = "the key does not match the certificate";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail:
	snprintf(err, errlen, "%s: %s", what,
	    ERR_reason_error_string(ERR_get_error()) ?
	    ERR_reason_error_string(ERR_get_error()) : "TLS setup failed");
	SSL_CTX_free(ctx);
	return NULL;
}
