/* tls.c: one SSL_CTX per worker: TLS 1.2 and later with forward-secret
 * AEAD suites ([tls] ciphers, ciphersuites, min_version), the certificate
 * chain and key from the config, no session tickets shared across
 * processes. */
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
	unsigned long e;

	if (ctx == NULL)
		goto fail;
	what = "min_version";
	if (SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version ==
	    CFG_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION) != 1)
		goto fail;
	/* Each worker has its own ticket keys: tickets would not resume on
	 * another worker, so do not issue them. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	/* An idle wss connection keeps no OpenSSL read or write buffer. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	what = "ciphers";
	if (SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1)
		goto fail;
	what = "ciphersuites";
	if (SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1)
		goto fail;
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
	e = ERR_get_error();
	snprintf(err, errlen, "%s: %s", what, ERR_reason_error_string(e) ?
	    ERR_reason_error_string(e) : "TLS setup failed");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}
