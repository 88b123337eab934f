/* check_auth.c: JWT verification against tokens from two encoders: libjwt
 * here, and PyJWT through auth_tokens.tsv (made by auth_tokens.py).
 * Key files live in tests/unit/keys under $PARLEY_SRCDIR (default "."). */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check_main.h"
#include "auth.h"
#include "chat.h"
#include "config.h"
#include "util.h"

#define AUTH_TEST_NOW	INT64_C(1800000000)	/* auth_tokens.py: NOW */
#define AUTH_TEST_LEEWAY 30			/* auth_tokens.py: LEEWAY */
#define ISS		"https://auth.example.com"
#define AUD		"parley"

#define X4(s)		s s s s
#define X16(s)		X4(X4(s))
#define X64(s)		X4(X16(s))
#define E_ACUTE		"\xc3\xa9"		/* U+00E9, 2 bytes */
#define GRIN		"\xf0\x9f\x98\x80"	/* U+1F600, 4 bytes */

/* A verifier configuration; auth_tokens.tsv names these. */
struct profile {
	const char	*pf_name;
	const char	*pf_alg;
	const char	*pf_keyfile;	/* under keys/ */
	const char	*pf_issuer;
	const char	*pf_audience;
	bool		 pf_require_exp;
};

static const struct profile profiles[] = {
	{ "hs256",	  "HS256", "hs.secret",	    "", "", true },
	{ "hs384",	  "HS384", "hs.secret",	    "", "", true },
	{ "hs512",	  "HS512", "hs.secret",	    "", "", true },
	{ "rs256",	  "RS256", "rs256.pub.pem", "", "", true },
	{ "es256",	  "ES256", "es256.pub.pem", "", "", true },
	{ "hs256-issaud", "HS256", "hs.secret",	    ISS, AUD, true },
	{ "hs256-noexp",  "HS256", "hs.secret",	    "", "", false },
};

/* A config with only the [auth] keys set; strings point into tc_*. */
struct test_cfg {
	struct parley_config	tc_cfg;
	char			tc_alg[16];
	char			tc_path[PATH_MAX];
	char			tc_secret[256];
	char			tc_issuer[128];
	char			tc_audience[128];
	char			tc_empty[1];
};

static const char *
srcdir(void)
{
	const char *d = getenv("PARLEY_SRCDIR");

	return d != NULL && *d != '\0' ? d : ".";
}

static void
key_path(const char *name, char *buf, size_t len)
{
	ck_assert_int_lt(snprintf(buf, len, "%s/tests/unit/keys/%s",
	    srcdir(), name), (int)len);
}

/* The whole key file; a secret loses one newline, as in auth.c. */
static unsigned char *
load_key(const char *name, int *lenp)
{
	char path[PATH_MAX];
	char *buf;
	size_t len;

	key_path(name, path, sizeof(path));
	buf = read_small_file(path, AUTH_MAX_KEY_FILE, &len);
	ck_assert_msg(buf != NULL, "%s: %s", path, strerror(errno));
	if (strstr(name, ".pem") == NULL && len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	*lenp = (int)len;
	return (unsigned char *)buf;
}

static void
cfg_init(struct test_cfg *t, const char *alg)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->tc_alg, sizeof(t->tc_alg), "%s", alg);
	t->tc_cfg.algorithm = t->tc_alg;
	t->tc_cfg.secret_file = t->tc_empty;
	t->tc_cfg.secret = t->tc_empty;
	t->tc_cfg.public_key_file = t->tc_empty;
	t->tc_cfg.issuer = t->tc_issuer;
	t->tc_cfg.audience = t->tc_audience;
	t->tc_cfg.leeway = AUTH_TEST_LEEWAY;
	t->tc_cfg.require_exp = true;
}

static void
cfg_profile(struct test_cfg *t, const struct profile *p)
{
	cfg_init(t, p->pf_alg);
	key_path(p->pf_keyfile, t->tc_path, sizeof(t->tc_path));
	if (strncmp(p->pf_alg, "HS", 2) == 0)
		t->tc_cfg.secret_file = t->tc_path;
	else
		t->tc_cfg.public_key_file = t->tc_path;
	snprintf(t->tc_issuer, sizeof(t->tc_issuer), "%s", p->pf_issuer);
	snprintf(t->tc_audience, sizeof(t->tc_audience), "%s", p->pf_audience);
	t->tc_cfg.require_exp = p->pf_require_exp;
}

static struct auth_verifier *
verifier_cfg(const struct parley_config *cfg)
{
	struct auth_verifier *v;
	char err[256] = "";

	v = auth_verifier_new(cfg, err, sizeof(err));
	ck_assert_msg(v != NULL, "auth_verifier_new: %s", err);
	return v;
}

static struct auth_verifier *
verifier(const char *profile)
{
	struct test_cfg t;
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(profiles[i].pf_name, profile) == 0) {
			cfg_profile(&t, &profiles[i]);
			return verifier_cfg(&t.tc_cfg);
		}
	}
	ck_abort_msg("no profile %s", profile);
	return NULL;
}

/*
 * Verify and compare: want_why NULL means success is expected.  Returns
 * NULL when it went as expected, else a message (static buffer).
 */
static const char *
outcome(const char *profile, const char *token, const char *want_why,
    const char *want_user)
{
	static char msg[512];
	struct auth_verifier *v;
	struct chat_identity id;
	const char *why = NULL;
	int rc;

	v = verifier(profile);
	rc = auth_verify(v, token, AUTH_TEST_NOW, &id, &why);
	auth_verifier_free(v);
	msg[0] = '\0';
	if (want_why == NULL && rc != 0)
		snprintf(msg, sizeof(msg), "refused (%s), expected ok", why);
	else if (want_why == NULL && want_user != NULL &&
	    strcmp(id.ci_user, want_user) != 0)
		snprintf(msg, sizeof(msg), "user %s, expected %s", id.ci_user,
		    want_user);
	else if (want_why != NULL && rc == 0)
		snprintf(msg, sizeof(msg), "accepted, expected \"%s\"",
		    want_why);
	else if (want_why != NULL && strstr(why, want_why) == NULL)
		snprintf(msg, sizeof(msg), "refused with \"%s\", expected "
		    "\"%s\"", why, want_why);
	chat_identity_free(&id);
	return msg[0] != '\0' ? msg : NULL;
}

/* "NOW", "NOW+30", "NOW-29" in a claims template become numbers. */
static void
expand(const char *tmpl, char *out, size_t outlen)
{
	size_t n = 0;
	long long off;
	char *end;

	while (*tmpl != '\0') {
		ck_assert_uint_lt(n + 32, outlen);
		if (strncmp(tmpl, "NOW", 3) != 0) {
			out[n++] = *tmpl++;
			continue;
		}
		tmpl += 3;
		off = 0;
		if (*tmpl == '+' || *tmpl == '-') {
			off = strtoll(tmpl, &end, 10);
			tmpl = end;
		}
		n += (size_t)snprintf(out + n, outlen - n, "%lld",
		    (long long)AUTH_TEST_NOW + off);
	}
	out[n] = '\0';
}

/* Keys for signing: a name from keys/, or one of these. */
#define K_OTHER		"other secret"

static char *
sign(jwt_alg_t alg, const char *keyname, const char *claims_tmpl)
{
	static const char other[] = "not-the-parley-test-secret-at-all";
	char claims[16384];
	unsigned char *key = NULL;
	jwt_t *jwt;
	char *tok;
	int keylen = 0;

	expand(claims_tmpl, claims, sizeof(claims));
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_msg(jwt_add_grants_json(jwt, claims) == 0, "claims %s",
	    claims);
	if (keyname == NULL)
		ck_assert_int_eq(jwt_set_alg(jwt, alg, NULL, 0), 0);
	else if (strcmp(keyname, K_OTHER) == 0)
		ck_assert_int_eq(jwt_set_alg(jwt, alg,
		    (const unsigned char *)other, sizeof(other) - 1), 0);
	else {
		key = load_key(keyname, &keylen);
		ck_assert_int_eq(jwt_set_alg(jwt, alg, key, keylen), 0);
	}
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	jwt_free(jwt);
	free(key);
	return tok;
}

/* ---- tokens from libjwt's encoder ---- */

struct jwt_case {
	const char	*jc_name;
	const char	*jc_profile;
	jwt_alg_t	 jc_alg;
	const char	*jc_key;
	const char	*jc_claims;	/* template, see expand() */
	const char	*jc_why;	/* NULL: accepted */
};

#define SUB	"\"sub\":\"alice\""
#define EXP	"\"exp\":NOW+3600"
#define C(x)	"{" SUB "," EXP x "}"
#define HS	JWT_ALG_HS256, "hs.secret"

static const struct jwt_case jwt_cases[] = {
	{ "hs256", "hs256", HS, C(""), NULL },
	{ "hs384", "hs384", JWT_ALG_HS384, "hs.secret", C(""), NULL },
	{ "hs512", "hs512", JWT_ALG_HS512, "hs.secret", C(""), NULL },
	{ "rs256", "rs256", JWT_ALG_RS256, "rs256.pem", C(""), NULL },
	{ "es256", "es256", JWT_ALG_ES256, "es256.pem", C(""), NULL },
	{ "wrong secret", "hs256", JWT_ALG_HS256, K_OTHER, C(""),
	    "bad signature" },
	{ "hs512 on hs256", "hs256", JWT_ALG_HS512, "hs.secret", C(""),
	    "algorithm not allowed" },
	{ "es256 on rs256", "rs256", JWT_ALG_ES256, "es256.pem", C(""),
	    "algorithm not allowed" },
	{ "rs256 pubkey as hs256 secret", "rs256", JWT_ALG_HS256,
	    "rs256.pub.pem", C(""), "algorithm not allowed" },
	{ "es256 pubkey as hs256 secret", "es256", JWT_ALG_HS256,
	    "es256.pub.pem", C(""), "algorithm not allowed" },
	{ "alg none", "hs256", JWT_ALG_NONE, NULL, C(""),
	    "algorithm not allowed" },

	{ "exp edge", "hs256", HS, "{" SUB ",\"exp\":NOW-29}", NULL },
	{ "exp past edge", "hs256", HS, "{" SUB ",\"exp\":NOW-30}",
	    "token expired" },
	{ "exp float edge", "hs256", HS, "{" SUB ",\"exp\":NOW-30.5}",
	    NULL },
	{ "exp float past", "hs256", HS, "{" SUB ",\"exp\":NOW-31.5}",
	    "token expired" },
	{ "exp string", "hs256", HS, "{" SUB ",\"exp\":\"NOW+3600\"}",
	    "invalid exp" },
	{ "exp missing", "hs256", HS, "{" SUB "}", "missing exp" },
	{ "exp missing, not required", "hs256-noexp", HS, "{" SUB "}",
	    NULL },
	{ "exp wrong type, not required", "hs256-noexp", HS,
	    "{" SUB ",\"exp\":[1]}", "invalid exp" },
	{ "nbf edge", "hs256", HS, C(",\"nbf\":NOW+30"), NULL },
	{ "nbf past edge", "hs256", HS, C(",\"nbf\":NOW+31"),
	    "token not yet valid" },
	{ "iat edge", "hs256", HS, C(",\"iat\":NOW+30"), NULL },
	{ "iat past edge", "hs256", HS, C(",\"iat\":NOW+31"),
	    "issued in the future" },
	{ "iat past", "hs256", HS, C(",\"iat\":NOW-100000"), NULL },

	{ "iss aud", "hs256-issaud", HS,
	    C(",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\""), NULL },
	{ "aud array", "hs256-issaud", HS,
	    C(",\"iss\":\"" ISS "\",\"aud\":[\"x\",\"" AUD "\"]"), NULL },
	{ "aud array miss", "hs256-issaud", HS,
	    C(",\"iss\":\"" ISS "\",\"aud\":[\"x\",null]"),
	    "wrong audience" },
	{ "aud wrong", "hs256-issaud", HS,
	    C(",\"iss\":\"" ISS "\",\"aud\":\"parley \""), "wrong audience" },
	{ "iss wrong", "hs256-issaud", HS,
	    C(",\"iss\":\"https://evil.example\",\"aud\":\"" AUD "\""),
	    "wrong issuer" },
	{ "iss number", "hs256-issaud", HS,
	    C(",\"iss\":1,\"aud\":\"" AUD "\""), "invalid iss" },

	{ "sub missing", "hs256", HS, "{" EXP "}", "missing sub" },
	{ "sub bad char", "hs256", HS, "{\"sub\":\"al+ce\"," EXP "}",
	    "invalid sub" },
	{ "sub 64", "hs256", HS, "{\"sub\":\"" X64("u") "\"," EXP "}",
	    NULL },
	{ "sub 65", "hs256", HS, "{\"sub\":\"" X64("u") "v\"," EXP "}",
	    "invalid sub" },
	{ "sub bool", "hs256", HS, "{\"sub\":true," EXP "}",
	    "invalid sub" },

	{ "name 64 2-byte", "hs256", HS,
	    C(",\"name\":\"" X64(E_ACUTE) "\""), NULL },
	{ "name 65 2-byte", "hs256", HS,
	    C(",\"name\":\"" X64(E_ACUTE) E_ACUTE "\""), "invalid name" },
	{ "name 64 4-byte", "hs256", HS,
	    C(",\"name\":\"" X64(GRIN) "\""), NULL },
	{ "name 65 4-byte", "hs256", HS,
	    C(",\"name\":\"" X64(GRIN) GRIN "\""), "invalid name" },
	{ "name escaped 64", "hs256", HS,
	    C(",\"name\":\"" X64("\\u00e9") "\""), NULL },
	{ "name object", "hs256", HS, C(",\"name\":{}"), "invalid name" },

	{ "rooms", "hs256", HS,
	    C(",\"rooms\":[\"general\",\"project:42:*\",\"*\"]"), NULL },
	{ "rooms empty", "hs256", HS, C(",\"rooms\":[]"), NULL },
	{ "rooms star inside", "hs256", HS, C(",\"rooms\":[\"a*:b\"]"),
	    "invalid rooms" },
	{ "rooms object", "hs256", HS, C(",\"rooms\":{\"a\":1}"),
	    "invalid rooms" },
	{ "rooms null", "hs256", HS, C(",\"rooms\":null"),
	    "invalid rooms" },

	{ "role moderator", "hs256", HS, C(",\"role\":\"moderator\""), NULL },
	{ "role bool", "hs256", HS, C(",\"role\":true"), "invalid role" },
};

START_TEST(t_libjwt)
{
	const struct jwt_case *c = &jwt_cases[_i];
	const char *msg;
	char *tok;

	tok = sign(c->jc_alg, c->jc_key, c->jc_claims);
	msg = outcome(c->jc_profile, tok, c->jc_why, NULL);
	ck_assert_msg(msg == NULL, "%s: %s", c->jc_name, msg);
	free(tok);
}
END_TEST

/* Every field of the identity, from one full token. */
START_TEST(t_identity)
{
	struct auth_verifier *v = verifier("hs256");
	struct chat_identity id;
	const char *why = NULL;
	char *tok;

	tok = sign(HS, "{\"sub\":\"bob@example.com\",\"exp\":NOW+60,"
	    "\"name\":\"B" E_ACUTE "b\",\"role\":\"moderator\","
	    "\"rooms\":[\"general\",\"project:42:*\"],\"extra\":[1,2]}");
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), 0);
	ck_assert_str_eq(id.ci_user, "bob@example.com");
	ck_assert_str_eq(id.ci_name, "B" E_ACUTE "b");
	ck_assert(id.ci_moderator);
	ck_assert_int_eq(id.ci_exp, AUTH_TEST_NOW + 60);
	ck_assert(id.ci_rooms_present);
	ck_assert_uint_eq(id.ci_nrooms, 2);
	ck_assert_str_eq(id.ci_rooms[0], "general");
	ck_assert_str_eq(id.ci_rooms[1], "project:42:*");
	chat_identity_free(&id);
	free(tok);

	/* Absent optional claims: empty name, no rooms, not a moderator. */
	tok = sign(HS, "{\"sub\":\"carol\",\"exp\":NOW+60,"
	    "\"role\":\"Moderator\"}");
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), 0);
	ck_assert_str_eq(id.ci_name, "");
	ck_assert(!id.ci_moderator);
	ck_assert(!id.ci_rooms_present);
	ck_assert_uint_eq(id.ci_nrooms, 0);
	ck_assert_ptr_null(id.ci_rooms);
	chat_identity_free(&id);
	free(tok);

	/* An empty rooms array is present and allows nothing. */
	tok = sign(HS, "{\"sub\":\"dave\",\"exp\":NOW+60,\"rooms\":[]}");
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), 0);
	ck_assert(id.ci_rooms_present);
	ck_assert_uint_eq(id.ci_nrooms, 0);
	chat_identity_free(&id);
	free(tok);

	/* A refusal leaves the identity empty. */
	tok = sign(HS, "{\"sub\":\"erin\",\"exp\":NOW+60,\"rooms\":[1]}");
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), -1);
	ck_assert_str_eq(why, "invalid rooms");
	ck_assert_str_eq(id.ci_user, "");
	ck_assert_ptr_null(id.ci_rooms);
	free(tok);

	/* Without exp (require_exp = no) ci_exp is 0. */
	auth_verifier_free(v);
	v = verifier("hs256-noexp");
	tok = sign(HS, "{\"sub\":\"frank\"}");
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), 0);
	ck_assert_int_eq(id.ci_exp, 0);
	free(tok);
	auth_verifier_free(v);
}
END_TEST

/* ---- hand-built tokens ---- */

static char *
b64url_n(const void *data, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	size_t i, o = 0;
	char *out = xmalloc(n / 3 * 4 + 5);
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
	}
	out[o] = '\0';
	return out;
}

static char *
b64url(const char *s)
{
	return b64url_n(s, strlen(s));
}

/* header.payload.sig from plain JSON texts; sig used as given. */
static char *
handmade(const char *hdr, const char *payload_tmpl, const char *sig)
{
	char payload[4096], *h, *p, *tok;
	size_t len;

	expand(payload_tmpl, payload, sizeof(payload));
	h = b64url(hdr);
	p = b64url(payload);
	len = strlen(h) + strlen(p) + strlen(sig) + 3;
	tok = xmalloc(len);
	snprintf(tok, len, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return tok;
}

/* Like handmade(), signed HS256 with hs.secret: JSON libjwt won't write. */
static char *
hs_handmade(const char *hdr, const char *payload_tmpl)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *key;
	unsigned int maclen;
	char *tok, *sig, *out;
	size_t len;
	int keylen;

	tok = handmade(hdr, payload_tmpl, "");
	key = load_key("hs.secret", &keylen);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, keylen,
	    (unsigned char *)tok, strlen(tok) - 1, mac, &maclen));
	free(key);
	sig = b64url_n(mac, maclen);
	len = strlen(tok) + strlen(sig) + 1;
	out = xmalloc(len);
	snprintf(out, len, "%s%s", tok, sig);
	free(tok);
	free(sig);
	return out;
}

static void
expect_fail(const char *profile, const char *token, const char *why,
    const char *what)
{
	const char *msg = outcome(profile, token, why, NULL);

	ck_assert_msg(msg == NULL, "%s: %s", what, msg);
}

START_TEST(t_shape)
{
	char *tok, *bad, big[AUTH_MAX_TOKEN + 64];
	const char *sig;

	tok = sign(HS, C(""));
	ck_assert_ptr_null(outcome("hs256", tok, NULL, "alice"));
	sig = strrchr(tok, '.') + 1;

	expect_fail("hs256", "", "malformed token", "empty");
	expect_fail("hs256", "abc", "malformed token", "one segment");
	expect_fail("hs256", "..", "malformed token", "only dots");

	/* Two segments: drop the signature and its dot. */
	bad = xstrndup(tok, (size_t)(sig - tok - 1));
	expect_fail("hs256", bad, "malformed token", "two segments");
	free(bad);

	/* Empty signature, four segments, padding, foreign alphabet. */
	bad = xstrndup(tok, (size_t)(sig - tok));
	expect_fail("hs256", bad, "malformed token", "empty signature");
	free(bad);
	bad = xmalloc(strlen(tok) + 8);
	sprintf(bad, "%s.", tok);
	expect_fail("hs256", bad, "malformed token", "trailing dot");
	sprintf(bad, "%s.AAAA", tok);
	expect_fail("hs256", bad, "malformed token", "four segments");
	sprintf(bad, "%s=", tok);
	expect_fail("hs256", bad, "malformed token", "padding");
	strcpy(bad, tok);
	bad[sig - tok + 3] = '+';
	expect_fail("hs256", bad, "malformed token", "'+' in signature");
	strcpy(bad, tok);
	bad[5] = '/';
	expect_fail("hs256", bad, "malformed token", "'/' in header");

	/* HS256: 32 bytes in 43 chars; the last char's 2 low bits unused. */
	ck_assert_uint_eq(strlen(sig), 43);
	strcpy(bad, tok);
	bad[strlen(bad) - 1] ^= 1;
	expect_fail("hs256", bad, "malformed token", "non-canonical base64");

	/* A flipped signature character (still canonical: a 6-bit value). */
	strcpy(bad, tok);
	bad[sig - tok + 10] = bad[sig - tok + 10] == 'A' ? 'B' : 'A';
	expect_fail("hs256", bad, "bad signature", "tampered signature");
	free(bad);

	/* Too long: the length check comes before any decoding. */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '.';
	big[200] = '.';
	expect_fail("hs256", big, "malformed token", "over 8 KiB");
	free(tok);
}
END_TEST

START_TEST(t_tamper)
{
	char *tok, *forged, *hdr_end, *p;
	const char *sig;
	size_t len;

	/* mallory's claims under alice's signature. */
	tok = sign(HS, C(""));
	sig = strrchr(tok, '.');
	hdr_end = strchr(tok, '.');
	p = b64url("{\"sub\":\"mallory\",\"exp\":1800003600}");
	len = strlen(tok) + strlen(p) + 1;
	forged = xmalloc(len);
	snprintf(forged, len, "%.*s.%s%s", (int)(hdr_end - tok), tok, p, sig);
	expect_fail("hs256", forged, "bad signature", "swapped payload");
	free(forged);
	free(p);
	free(tok);
}
END_TEST

START_TEST(t_header)
{
	static const char *claims = C("");
	static const struct {
		const char	*hdr;
		const char	*why;
	} cases[] = {
		{ "{\"alg\":\"none\"}",			"algorithm not allowed" },
		{ "{\"alg\":\"None\",\"typ\":\"JWT\"}",	"algorithm not allowed" },
		{ "{\"alg\":\"HS256 \"}",		"algorithm not allowed" },
		{ "{\"alg\":[\"HS256\"]}",		"algorithm not allowed" },
		{ "{\"typ\":\"JWT\"}",			"algorithm not allowed" },
		{ "[\"HS256\"]",			"malformed token" },
		{ "\"HS256\"",				"malformed token" },
		{ "{\"alg\":\"HS256\"",			"malformed token" },
		{ "{\"alg\":\"HS256\"}x",		"malformed token" },
		{ "{'alg':'HS256'}",			"malformed token" },
		{ "",					"malformed token" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", "crit" },
		{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "typ" },
	};
	char *tok;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tok = handmade(cases[i].hdr, claims, "c2lnbmF0dXJl");
		expect_fail("hs256", tok, cases[i].why, cases[i].hdr);
		free(tok);
	}
	/* alg none with an empty signature, the classic. */
	tok = handmade("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, "");
	expect_fail("hs256", tok, "algorithm not allowed", "none, no sig");
	expect_fail("rs256", tok, "algorithm not allowed", "none on rs256");
	free(tok);
	/* A payload that is not one JSON object. */
	tok = handmade("{\"alg\":\"HS256\"}", "[1]", "c2lnbmF0dXJl");
	expect_fail("hs256", tok, "malformed token", "array payload");
	free(tok);
	tok = handmade("{\"alg\":\"HS256\"}", "{\"sub\":\"a\"} {}", "c2ln");
	expect_fail("hs256", tok, "malformed token", "two payload objects");
	free(tok);
	tok = handmade("{\"alg\":\"HS256\"}", "{\"sub\":\"\xff\"}", "c2ln");
	expect_fail("hs256", tok, "malformed token", "payload not UTF-8");
	free(tok);
}
END_TEST

/*
 * The reason for reading the header first: libjwt alone verifies an
 * HS256 token with the RS256 public key's PEM text as the HMAC secret.
 */
START_TEST(t_key_confusion)
{
	unsigned char *pem;
	jwt_t *jwt = NULL;
	char *tok;
	int len;

	tok = sign(JWT_ALG_HS256, "rs256.pub.pem", C(""));
	pem = load_key("rs256.pub.pem", &len);
	ck_assert_int_eq(jwt_decode(&jwt, tok, pem, len), 0);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
	jwt_free(jwt);
	expect_fail("rs256", tok, "algorithm not allowed", "confusion");
	free(pem);
	free(tok);
}
END_TEST

/* Escapes json-c takes and libjwt's parser refuses: malformed. */
START_TEST(t_escapes)
{
	static const struct {
		const char	*claims;
		const char	*why;	/* NULL: accepted */
	} cases[] = {
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"a\\u00e9\"}", NULL },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"a\\ud83d\\ude00\"}",
		    NULL },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"\\\\u0000\"}", NULL },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"a\\u0000\"}",
		    "malformed token" },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"a\\ud800\"}",
		    "malformed token" },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"a\\ud800\\n\"}",
		    "malformed token" },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"a\\udc00b\"}",
		    "malformed token" },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"x\\u0000\":1}",
		    "malformed token" },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"\xed\xa0\x80\"}",
		    "malformed token" },
		{ "{\"sub\":\"alice\",\"exp\":NOW,\"name\":\"a\x01\"}",
		    "malformed token" },
	};
	const char *msg;
	char *tok;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tok = hs_handmade("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		    cases[i].claims);
		msg = outcome("hs256", tok, cases[i].why,
		    cases[i].why == NULL ? "alice" : NULL);
		ck_assert_msg(msg == NULL, "%s: %s", cases[i].claims, msg);
		free(tok);
	}
}
END_TEST

/* ---- tokens from PyJWT ---- */

START_TEST(t_pyjwt)
{
	char path[PATH_MAX], *line = NULL, *f[5], *s;
	char failures[4096] = "";
	const char *msg;
	size_t cap = 0, off = 0;
	ssize_t n;
	FILE *fp;
	int i, rows = 0, bad = 0, lineno = 0;

	snprintf(path, sizeof(path), "%s/tests/unit/auth_tokens.tsv",
	    srcdir());
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		s = line;
		for (i = 0; i < 5; i++)
			f[i] = strsep(&s, "\t");
		ck_assert_msg(f[4] != NULL && s == NULL, "%s:%d: want 5 fields",
		    path, lineno);
		ck_assert_msg(strcmp(f[2], "ok") == 0 ||
		    strcmp(f[2], "fail") == 0, "%s:%d: ok or fail", path,
		    lineno);
		rows++;
		if (strcmp(f[2], "ok") == 0)
			msg = outcome(f[1], f[4], NULL, f[3]);
		else
			msg = outcome(f[1], f[4], f[3], NULL);
		if (msg == NULL)
			continue;
		bad++;
		if (off < sizeof(failures))
			off += (size_t)snprintf(failures + off,
			    sizeof(failures) - off, "\n  %s (line %d): %s",
			    f[0], lineno, msg);
	}
	free(line);
	fclose(fp);
	ck_assert_int_gt(rows, 50);
	ck_assert_msg(bad == 0, "%d of %d PyJWT tokens wrong:%s", bad, rows,
	    failures);
}
END_TEST

/* ---- configuration ---- */

static char *
tmp_file(const char *content, size_t len)
{
	char *path = xstrdup("/tmp/check_auth.XXXXXX");
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
expect_cfg_error(const struct parley_config *cfg, const char *want,
    const char *what)
{
	struct auth_verifier *v;
	char err[256] = "";

	v = auth_verifier_new(cfg, err, sizeof(err));
	ck_assert_msg(v == NULL, "%s: accepted", what);
	ck_assert_msg(strstr(err, want) != NULL, "%s: error \"%s\", want "
	    "\"%s\"", what, err, want);
}

START_TEST(t_cfg_errors)
{
	struct test_cfg t;
	char *empty, *nl;

	cfg_init(&t, "none");
	snprintf(t.tc_secret, sizeof(t.tc_secret), "x");
	t.tc_cfg.secret = t.tc_secret;
	expect_cfg_error(&t.tc_cfg, "not supported", "alg none");
	snprintf(t.tc_alg, sizeof(t.tc_alg), "hs256");
	expect_cfg_error(&t.tc_cfg, "not supported", "lower case");
	snprintf(t.tc_alg, sizeof(t.tc_alg), "RS384");
	expect_cfg_error(&t.tc_cfg, "not supported", "RS384");
	t.tc_cfg.algorithm = NULL;
	expect_cfg_error(&t.tc_cfg, "not supported", "NULL");

	cfg_init(&t, "HS256");
	expect_cfg_error(&t.tc_cfg, "needs secret_file", "no secret");
	t.tc_cfg.secret_file = t.tc_path;
	snprintf(t.tc_path, sizeof(t.tc_path), "/nonexistent/jwt.secret");
	expect_cfg_error(&t.tc_cfg, "/nonexistent/jwt.secret", "no file");
	empty = tmp_file("", 0);
	nl = tmp_file("\r\n", 2);
	t.tc_cfg.secret_file = empty;
	expect_cfg_error(&t.tc_cfg, "is empty", "empty file");
	t.tc_cfg.secret_file = nl;
	expect_cfg_error(&t.tc_cfg, "is empty", "only a newline");
	unlink(empty);
	unlink(nl);
	free(empty);
	free(nl);

	cfg_init(&t, "RS256");
	expect_cfg_error(&t.tc_cfg, "needs public_key_file", "no key");
	t.tc_cfg.public_key_file = t.tc_path;
	key_path("es256.pub.pem", t.tc_path, sizeof(t.tc_path));
	expect_cfg_error(&t.tc_cfg, "not an RSA key", "EC key for RS256");
	key_path("rs256.pem", t.tc_path, sizeof(t.tc_path));
	expect_cfg_error(&t.tc_cfg, "no PEM public key", "private key");
	key_path("hs.secret", t.tc_path, sizeof(t.tc_path));
	expect_cfg_error(&t.tc_cfg, "no PEM public key", "not PEM");
	snprintf(t.tc_alg, sizeof(t.tc_alg), "ES256");
	key_path("rs256.pub.pem", t.tc_path, sizeof(t.tc_path));
	expect_cfg_error(&t.tc_cfg, "not an EC key", "RSA key for ES256");
	key_path("p384.pub.pem", t.tc_path, sizeof(t.tc_path));
	expect_cfg_error(&t.tc_cfg, "P-256", "P-384 key for ES256");

	auth_verifier_free(NULL);
}
END_TEST

/* Which bytes are the secret: one newline dropped, inline secret. */
START_TEST(t_cfg_secret)
{
	static const char secret[] = "0123456789abcdef0123456789abcdef";
	struct auth_verifier *v;
	struct chat_identity id;
	struct test_cfg t;
	const char *why;
	char *path, buf[128], *tok, *tok_nl;
	jwt_t *jwt;

	/* Tokens signed with secret, and with secret + "\n". */
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grant(jwt, "sub", "alice"), 0);
	ck_assert_int_eq(jwt_add_grant_int(jwt, "exp",
	    (long)AUTH_TEST_NOW + 60), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS384,
	    (const unsigned char *)secret, sizeof(secret) - 1), 0);
	tok = jwt_encode_str(jwt);
	snprintf(buf, sizeof(buf), "%s\n", secret);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS384,
	    (const unsigned char *)buf, (int)strlen(buf)), 0);
	tok_nl = jwt_encode_str(jwt);
	jwt_free(jwt);

	cfg_init(&t, "HS384");
	snprintf(t.tc_secret, sizeof(t.tc_secret), "%s", secret);
	t.tc_cfg.secret = t.tc_secret;
	v = verifier_cfg(&t.tc_cfg);
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), 0);
	auth_verifier_free(v);

	snprintf(buf, sizeof(buf), "%s\r\n", secret);
	path = tmp_file(buf, strlen(buf));
	t.tc_cfg.secret_file = path;
	t.tc_cfg.secret = t.tc_empty;
	v = verifier_cfg(&t.tc_cfg);
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), 0);
	auth_verifier_free(v);
	unlink(path);
	free(path);

	/* Only one newline goes: the second one is part of the secret. */
	snprintf(buf, sizeof(buf), "%s\n\n", secret);
	path = tmp_file(buf, strlen(buf));
	t.tc_cfg.secret_file = path;
	v = verifier_cfg(&t.tc_cfg);
	ck_assert_int_eq(auth_verify(v, tok_nl, AUTH_TEST_NOW, &id, &why), 0);
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), -1);
	ck_assert_str_eq(why, "bad signature");
	auth_verifier_free(v);
	unlink(path);
	free(path);

	/* A lone "\r" is not a newline: it stays in the secret. */
	snprintf(buf, sizeof(buf), "%s\r", secret);
	path = tmp_file(buf, strlen(buf));
	t.tc_cfg.secret_file = path;
	v = verifier_cfg(&t.tc_cfg);
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), -1);
	ck_assert_str_eq(why, "bad signature");
	auth_verifier_free(v);
	unlink(path);
	free(path);

	/* secret_file wins over an inline secret. */
	path = tmp_file(secret, sizeof(secret) - 1);
	t.tc_cfg.secret_file = path;
	snprintf(t.tc_secret, sizeof(t.tc_secret), "something else");
	t.tc_cfg.secret = t.tc_secret;
	v = verifier_cfg(&t.tc_cfg);
	ck_assert_int_eq(auth_verify(v, tok, AUTH_TEST_NOW, &id, &why), 0);
	auth_verifier_free(v);
	unlink(path);
	free(path);

	free(tok);
	free(tok_nl);
}
END_TEST

/* ---- suite ---- */

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc;

	tc = tcase_create("libjwt");
	tcase_add_loop_test(tc, t_libjwt, 0,
	    sizeof(jwt_cases) / sizeof(jwt_cases[0]));
	tcase_add_test(tc, t_identity);
	suite_add_tcase(s, tc);

	tc = tcase_create("handmade");
	tcase_add_test(tc, t_shape);
	tcase_add_test(tc, t_tamper);
	tcase_add_test(tc, t_header);
	tcase_add_test(tc, t_key_confusion);
	tcase_add_test(tc, t_escapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("pyjwt");
	tcase_add_test(tc, t_pyjwt);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, t_cfg_errors);
	tcase_add_test(tc, t_cfg_secret);
	suite_add_tcase(s, tc);
	return s;
}
