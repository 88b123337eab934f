/* auth.c: JWT verification with a pinned algorithm, then the claim rules. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <sodium.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth.h"
#include "auth_claims.h"
#include "chat.h"
#include "config.h"
#include "json_in.h"
#include "utf8.h"
#include "util.h"

/* The leeway is clamped to this (time claims: auth_claims.c). */
#define AUTH_LEEWAY_MAX	(INT64_C(1) << 30)

struct auth_verifier {
	const char	*av_algname;	/* "HS256"..., static */
	jwt_alg_t	 av_alg;
	unsigned char	*av_key;	/* secret bytes or PEM text */
	size_t		 av_keylen;
	char		*av_issuer;	/* NULL: not checked */
	char		*av_audience;	/* NULL: not checked */
	int64_t		 av_leeway;	/* seconds */
	bool		 av_require_exp;
};

static const struct auth_alg {
	const char	*aa_name;
	jwt_alg_t	 aa_alg;
	int		 aa_pkey;	/* 0: HMAC secret, else EVP_PKEY_* */
} auth_algs[] = {
	{ "HS256", JWT_ALG_HS256, 0 },
	{ "HS384", JWT_ALG_HS384, 0 },
	{ "HS512", JWT_ALG_HS512, 0 },
	{ "RS256", JWT_ALG_RS256, EVP_PKEY_RSA },
	{ "ES256", JWT_ALG_ES256, EVP_PKEY_EC },
};

static const struct auth_alg *
auth_alg_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(auth_algs) / sizeof(auth_algs[0]); i++)
		if (strcmp(auth_algs[i].aa_name, name) == 0)
			return &auth_algs[i];
	return NULL;
}

/* Check now, at start-up, that the PEM holds a key of the right kind. */
static int
auth_check_pem(const struct auth_alg *aa, const unsigned char *pem,
    size_t len, char *err, size_t errlen)
{
	BIO *bio;
	EVP_PKEY *pkey;
	char group[64];
	size_t glen;
	int rc = -1;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		snprintf(err, errlen, "public_key_file: no PEM public key");
		return -1;
	}
	if (EVP_PKEY_get_base_id(pkey) != aa->aa_pkey) {
		snprintf(err, errlen, "public_key_file: not a%s key for %s",
		    aa->aa_pkey == EVP_PKEY_RSA ? "n RSA" : "n EC",
		    aa->aa_name);
		goto fail;
	}
	if (aa->aa_pkey == EVP_PKEY_EC && (EVP_PKEY_get_group_name(pkey,
	    group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0)) {
		snprintf(err, errlen, "public_key_file: ES256 needs a "
		    "P-256 key");
		goto fail;
	}
	rc = 0;
fail:
	EVP_PKEY_free(pkey);
	return rc;
}

/* Read the key bytes named by cfg into v; secrets lose one newline. */
static int
auth_load_key(struct auth_verifier *v, const struct auth_alg *aa,
    const struct parley_config *cfg, char *err, size_t errlen)
{
	const char *path, *what;
	char *buf;
	size_t len, keylen;

	if (aa->aa_pkey != 0) {
		path = cfg->public_key_file;
		what = "public_key_file";
		if (path == NULL || *path == '\0') {
			snprintf(err, errlen, "%s needs public_key_file",
			    aa->aa_name);
			return -1;
		}
	} else if (cfg->secret_file != NULL && *cfg->secret_file != '\0') {
		path = cfg->secret_file;
		what = "secret_file";
	} else {
		path = NULL;
		what = "secret";
	}

	if (path == NULL) {
		len = cfg->secret != NULL ? strlen(cfg->secret) : 0;
		buf = xstrndup(cfg->secret != NULL ? cfg->secret : "", len);
	} else if ((buf = read_small_file(path, AUTH_MAX_KEY_FILE,
	    &len)) == NULL) {
		snprintf(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}

	keylen = len;
	if (aa->aa_pkey == 0) {
		/* Editors add a newline; the secret is what comes before. */
		if (keylen > 0 && buf[keylen - 1] == '\n') {
			keylen--;
			if (keylen > 0 && buf[keylen - 1] == '\r')
				keylen--;
		}
		if (keylen == 0 && path == NULL) {
			snprintf(err, errlen, "%s needs secret_file (or "
			    "secret)", aa->aa_name);
			goto fail;
		}
		if (keylen == 0) {
			snprintf(err, errlen, "%s %s is empty", what, path);
			goto fail;
		}
	} else if (auth_check_pem(aa, (unsigned char *)buf, len, err,
	    errlen) == -1)
		goto fail;

	v->av_key = xmalloc(keylen + 1);
	memcpy(v->av_key, buf, keylen);
	v->av_key[keylen] = '\0';
	v->av_keylen = keylen;
	explicit_bzero(buf, len);
	free(buf);
	return 0;
fail:
	explicit_bzero(buf, len);
	free(buf);
	return -1;
}

struct auth_verifier *
auth_verifier_new(const struct parley_config *cfg, char *err, size_t errlen)
{
	struct auth_verifier *v;
	const struct auth_alg *aa;

	if (cfg->algorithm == NULL ||
	    (aa = auth_alg_find(cfg->algorithm)) == NULL) {
		snprintf(err, errlen, "algorithm %s not supported (HS256, "
		    "HS384, HS512, RS256, ES256)",
		    cfg->algorithm != NULL ? cfg->algorithm : "(none)");
		return NULL;
	}
	v = xcalloc(1, sizeof(*v));
	v->av_algname = aa->aa_name;
	v->av_alg = aa->aa_alg;
	if (auth_load_key(v, aa, cfg, err, errlen) == -1)
		goto fail;
	if (cfg->issuer != NULL && *cfg->issuer != '\0')
		v->av_issuer = xstrdup(cfg->issuer);
	if (cfg->audience != NULL && *cfg->audience != '\0')
		v->av_audience = xstrdup(cfg->audience);
	v->av_leeway = cfg->leeway < 0 ? 0 : cfg->leeway;
	if (v->av_leeway > AUTH_LEEWAY_MAX)
		v->av_leeway = AUTH_LEEWAY_MAX;
	v->av_require_exp = cfg->require_exp;
	return v;
fail:
	auth_verifier_free(v);
	return NULL;
}

void
auth_verifier_free(struct auth_verifier *v)
{
	if (v == NULL)
		return;
	if (v->av_key != NULL) {
		explicit_bzero(v->av_key, v->av_keylen);
		free(v->av_key);
	}
	free(v->av_issuer);
	free(v->av_audience);
	free(v);
}

size_t
auth_verifier_keylen(const struct auth_verifier *v)
{
	return v->av_keylen;
}

/*
 * Strict base64url (RFC 7515 section 2): no padding, no other alphabet,
 * unused low bits zero, so each byte string has exactly one spelling
 * (libsodium's decoder enforces all three).  Returns a NUL-terminated
 * buffer or NULL.
 */
static unsigned char *
auth_b64url_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char *out = xmalloc(len / 4 * 3 + 3);
	const char *end = NULL;

	if (sodium_base642bin(out, len / 4 * 3 + 2, s, len, NULL, outlen, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != s + len) {
		free(out);
		return NULL;
	}
	out[*outlen] = '\0';
	return out;
}

/* Decode one segment into a JSON object; NULL if it is anything else.
 * Strings json-c takes but libjwt's parser (jansson) refuses (raw control
 * characters, "\u0000", unpaired surrogate escapes) make it malformed
 * here, not a "bad signature" later. */
static json_object *
auth_segment_json(const char *s, size_t len)
{
	static const struct json_in_rules rules = {
		.jr_max_depth = JSON_TOKENER_DEFAULT_DEPTH,
		.jr_utf8 = true,
		.jr_refuse_escapes = true,
	};
	struct json_in_error e;
	json_object *obj = NULL;
	unsigned char *buf;
	size_t n;

	if ((buf = auth_b64url_decode(s, len, &n)) == NULL)
		return NULL;
	/* Strict UTF-8 (no surrogates) as libjwt's parser wants it. */
	if (n > 0 && utf8_valid(buf, n))
		(void)json_in_parse((const char *)buf, n, &rules, &obj, &e);
	explicit_bzero(buf, n);
	free(buf);
	return obj;
}

/*
 * The header is read here, before libjwt sees the token: libjwt 1.10
 * takes the algorithm from the token, and would check an HS256 token
 * against an RS256 public key used as the HMAC secret.
 */
static int
auth_check_header(const struct auth_verifier *v, const char *s, size_t len,
    const char **why)
{
	json_object *hdr, *alg, *typ;
	int rc = -1;

	if ((hdr = auth_segment_json(s, len)) == NULL) {
		*why = "malformed token";
		return -1;
	}
	if (!json_object_object_get_ex(hdr, "alg", &alg) ||
	    !json_object_is_type(alg, json_type_string) ||
	    strcmp(json_object_get_string(alg), v->av_algname) != 0) {
		*why = "algorithm not allowed";
		goto done;
	}
	/* RFC 7515 4.1.11: we understand no extensions, so refuse them. */
	if (json_object_object_get_ex(hdr, "crit", NULL)) {
		*why = "unsupported crit header";
		goto done;
	}
	/* libjwt would refuse any other typ as a bad signature. */
	if (json_object_object_get_ex(hdr, "typ", &typ) &&
	    (!json_object_is_type(typ, json_type_string) ||
	    strcasecmp(json_object_get_string(typ), "JWT") != 0)) {
		*why = "unsupported typ header";
		goto done;
	}
	rc = 0;
done:
	json_object_put(hdr);
	return rc;
}

int
auth_verify(const struct auth_verifier *v, const char *token, int64_t now,
    struct chat_identity *id, const char **why)
{
	struct auth_claim_rules rules;
	const char *dot1, *dot2, *sig;
	json_object *claims = NULL;
	unsigned char *raw;
	jwt_t *jwt = NULL;
	size_t len, n;
	int rc = -1;

	memset(id, 0, sizeof(*id));
	*why = "malformed token";
	len = strnlen(token, AUTH_MAX_TOKEN + 1);
	if (len == 0 || len > AUTH_MAX_TOKEN)
		return -1;
	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)))
	    == NULL)
		return -1;
	sig = dot2 + 1;
	if (memchr(sig, '.', len - (size_t)(sig - token)) != NULL)
		return -1;

	if (auth_check_header(v, token, (size_t)(dot1 - token), why) == -1)
		return -1;
	*why = "malformed token";
	if ((claims = auth_segment_json(dot1 + 1,
	    (size_t)(dot2 - dot1 - 1))) == NULL)
		return -1;
	if ((raw = auth_b64url_decode(sig, len - (size_t)(sig - token),
	    &n)) == NULL)
		goto done;
	explicit_bzero(raw, n);
	free(raw);
	if (n == 0)
		goto done;

	if (jwt_decode(&jwt, token, v->av_key, (int)v->av_keylen) != 0) {
		jwt = NULL;
		*why = "bad signature";
		goto done;
	}
	if (jwt_get_alg(jwt) != v->av_alg) {
		*why = "algorithm not allowed";
		goto done;
	}
	/* The claims are read from the very bytes the signature covers. */
	rules.acr_issuer = v->av_issuer;
	rules.acr_audience = v->av_audience;
	rules.acr_leeway = v->av_leeway;
	rules.acr_require_exp = v->av_require_exp;
	if (auth_claims_check(&rules, claims, now, id, why) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		memset(id, 0, sizeof(*id));
	jwt_free(jwt);
	json_object_put(claims);
	return rc;
}
