/* preflight.c: load each key and certificate once, the way the children
 * will, and throw it away; refuse secrets others can read. */
#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "auth.h"
#include "config.h"
#include "preflight.h"
#include "tls.h"
#include "util.h"

/* Bits that let group or others read or change a secret. */
#define PREFLIGHT_OPEN_BITS	(S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)

int
preflight_mode_ok(const char *what, const char *path, mode_t mode,
    char *err, size_t errlen)
{
	if ((mode & PREFLIGHT_OPEN_BITS) == 0)
		return 0;
	snprintf(err, errlen, "%s %s has mode %04o; it must not be readable "
	    "or writable by group or others (chmod 600)", what, path,
	    (unsigned)(mode & 07777));
	return -1;
}

int
preflight_secret_ok(const char *alg, size_t len, char *err, size_t errlen)
{
	if (strncmp(alg, "HS", 2) != 0 || len >= PREFLIGHT_MIN_SECRET)
		return 0;
	snprintf(err, errlen, "the %s secret is %zu bytes; it must be at "
	    "least %d (e.g. 32 random bytes, hex-encoded)", alg, len,
	    PREFLIGHT_MIN_SECRET);
	return -1;
}

/* A missing file is left to the loader, which says so in its words. */
static int
preflight_file_mode(const char *section, const char *what, const char *path,
    char *err, size_t errlen)
{
	struct stat	st;
	char		why[512];

	if (path == NULL || *path == '\0' || stat(path, &st) == -1)
		return 0;
	if (preflight_mode_ok(what, path, st.st_mode, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "[%s] %s", section, why);
	return -1;
}

int
preflight_check(const struct parley_config *cfg, char *err, size_t errlen,
    void (*warn)(const char *msg))
{
	struct auth_verifier *v;
	char why[512];
	bool hs = strncmp(cfg->algorithm, "HS", 2) == 0;

	if (hs && preflight_file_mode("auth", "secret_file", cfg->secret_file,
	    err, errlen) == -1)
		return -1;
	/* An inline secret makes the config file itself a secret file. */
	if (hs && *cfg->secret_file == '\0' && *cfg->secret != '\0' &&
	    preflight_file_mode("auth", "secret is inline: the configuration",
	    cfg->cfg_path, err, errlen) == -1)
		return -1;
	if (cfg->api_listen[0] != '\0' && preflight_file_mode("api",
	    "key_file", cfg->api_key_file, err, errlen) == -1)
		return -1;
	if (cfg->tls_listen[0] != '\0' && preflight_file_mode("tls",
	    "key_file", cfg->tls_key_file, err, errlen) == -1)
		return -1;

	if ((v = auth_verifier_new(cfg, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "[auth] %s", why);
		return -1;
	}
	if (hs && preflight_secret_ok(cfg->algorithm, auth_verifier_keylen(v),
	    why, sizeof(why)) == -1) {
		auth_verifier_free(v);
		if (*cfg->secret_file != '\0')
			snprintf(err, errlen, "[auth] secret_file %s: %s",
			    cfg->secret_file, why);
		else
			snprintf(err, errlen, "[auth] secret: %s", why);
		return -1;
	}
	auth_verifier_free(v);
	if (cfg->tls_listen[0] != '\0') {
		SSL_CTX *ctx = tls_ctx_new(cfg, why, sizeof(why));

		if (ctx == NULL) {
			snprintf(err, errlen, "[tls] %s", why);
			return -1;
		}
		SSL_CTX_free(ctx);
	}
	if (cfg->api_listen[0] != '\0') {
		size_t len = 0, full;
		char *key = read_small_file(cfg->api_key_file, 4096, &len);
		int saved = errno, missing = key == NULL;

		full = len;
		while (key != NULL && len > 0 &&
		    (key[len - 1] == '\n' || key[len - 1] == '\r'))
			len--;
		if (key != NULL)
			explicit_bzero(key, full);
		free(key);
		/* Not fatal: the API then refuses every publish (401). */
		if ((missing || len == 0) && warn != NULL) {
			snprintf(why, sizeof(why), "[api] key_file %s: %s; POST "
			    "/api/publish will answer 401", cfg->api_key_file,
			    missing ? strerror(saved) : "empty");
			warn(why);
		}
	}
	return 0;
}
