/* fuzz_jwt.c: a client's token through the worker's verifier (auth.c):
 * header, segments, base64url, JSON, signature and claims, against an
 * HS256 verifier (issuer and audience pinned) and an RS256 one.  An
 * accepted token must name a valid user; a refused one leaves nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "chat.h"
#include "config.h"
#include "fuzz.h"

static const char fuzz_rs256_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1J7I4ISnlkIpNdo9WCtw\n"
    "S8ScpJQ2GU+zJstpwySapiLHTjIKJwmy8U84YpQuvUJUHwaCqx3X6orsavoXn4sT\n"
    "5b9+1du8N7O2c6n1QriIh+Xty4cvrbbQS+wQ1huJZuildcr3rWVUjE+p4QR3Nrci\n"
    "m4a1ADdrDk1YnMkQO+uykD52HPcUnlAPgWwOYFyCM/9E0TVrRQvGJRNWy9OC9D5f\n"
    "wjHMiBAK9Q3MAtEm2ei+SRnY/UT0uOSkO9pnK5mk3vNlbihuOxT/AaEAcINnd2fu\n"
    "1C0bXsJPi3BVkPy5xJOOYZZg546iPfcx/pgUazvRpKwwuvxO3iwiDFXoBqBEWVA8\n"
    "kwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

#define FUZZ_USER_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789_.@-"

static struct auth_verifier	*fuzz_hs, *fuzz_rs;

static struct auth_verifier *
fuzz_verifier(const char *alg, const char *secret, const char *pubfile,
    const char *iss, const char *aud)
{
	struct parley_config	 cfg;
	struct auth_verifier	*v;
	char			 err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.algorithm = (char *)(uintptr_t)alg;
	cfg.secret = (char *)(uintptr_t)secret;
	cfg.secret_file = (char *)(uintptr_t)"";
	cfg.public_key_file = (char *)(uintptr_t)pubfile;
	cfg.issuer = (char *)(uintptr_t)iss;
	cfg.audience = (char *)(uintptr_t)aud;
	cfg.leeway = 30;
	cfg.require_exp = true;
	if ((v = auth_verifier_new(&cfg, err, sizeof(err))) == NULL)
		abort();	/* a setup bug, not a finding */
	return v;
}

static void
fuzz_jwt_init(void)
{
	char	path[] = "/tmp/parley-fuzz-jwt-XXXXXX";
	int	fd;

	if (fuzz_hs != NULL)
		return;
	fuzz_hs = fuzz_verifier("HS256", FUZZ_JWT_SECRET, "", FUZZ_JWT_ISS,
	    FUZZ_JWT_AUD);
	/* The verifier reads the PEM from a file, once. */
	if ((fd = mkstemp(path)) == -1 ||
	    write(fd, fuzz_rs256_pub, sizeof(fuzz_rs256_pub) - 1) !=
	    (ssize_t)(sizeof(fuzz_rs256_pub) - 1))
		abort();
	close(fd);
	fuzz_rs = fuzz_verifier("RS256", "", path, "", "");
	unlink(path);
}

static int
fuzz_jwt_one(const struct auth_verifier *v, const char *token)
{
	struct chat_identity	 id;
	const char		*why = NULL;
	size_t			 n;
	int			 bad = 0;

	if (auth_verify(v, token, FUZZ_JWT_NOW, &id, &why) == 0) {
		n = strnlen(id.ci_user, sizeof(id.ci_user));
		if (n == 0 || n > CHAT_MAX_USER ||
		    strspn(id.ci_user, FUZZ_USER_CHARS) != n)
			bad = 1;
		if (id.ci_exp != 0 && id.ci_exp + 30 <= FUZZ_JWT_NOW)
			bad = 1;
		chat_identity_free(&id);
	} else if (why == NULL || id.ci_user[0] != '\0' ||
	    id.ci_rooms != NULL)
		bad = 1;
	return bad;
}

int
fuzz_jwt(const uint8_t *data, size_t len)
{
	char	*token;
	int	 bad;

	fuzz_jwt_init();
	/* A token is a C string to the verifier: cut at the first NUL. */
	if ((token = malloc(len + 1)) == NULL)
		abort();
	memcpy(token, data, len);
	token[len] = '\0';
	bad = fuzz_jwt_one(fuzz_hs, token) | fuzz_jwt_one(fuzz_rs, token);
	free(token);
	return bad;
}

#ifdef PARLEY_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (fuzz_jwt(d, n) != 0)
		abort();
	return 0;
}
#endif
