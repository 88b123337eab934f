/* auth.h: JWT verification for the worker: one pinned algorithm, one key,
 * and the claim rules of PROTOCOL.md section 2. */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct parley_config;
struct chat_identity;

#define AUTH_MAX_TOKEN		8192	/* longer: "malformed token" */
#define AUTH_MAX_KEY_FILE	65536	/* secret or PEM file */

/* Opaque: pinned algorithm, key bytes, issuer, audience, leeway. */
struct auth_verifier;

/*
 * Build a verifier from the [auth] section.  HS256/384/512 read the raw
 * bytes of secret_file (one trailing "\n" or "\r\n" dropped), or
 * cfg->secret when secret_file is empty; RS256/ES256 read the PEM public
 * key in public_key_file.  Returns NULL and a message in err on error.
 */
struct auth_verifier *auth_verifier_new(const struct parley_config *cfg,
	    char *err, size_t errlen);
void	auth_verifier_free(struct auth_verifier *v);
/* Bytes of the key in use (the HMAC secret's length for HS*). */
size_t	auth_verifier_keylen(const struct auth_verifier *v);

/*
 * Verify token at now (seconds since the epoch).  Returns 0 with *id
 * filled (release it with chat_identity_free), or -1 with *why set to a
 * short static text naming the failed check ("bad signature", "token
 * expired", "invalid rooms", ...); *id is then left empty.
 */
int	auth_verify(const struct auth_verifier *v, const char *token,
	    int64_t now, struct chat_identity *id, const char **why);

#endif
