/* preflight.c: load each key and certificate once, the way the children
 * will, and throw it away. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "auth.h"
#include "config.h"
#include "preflight.h"
#include "tls.h"
#include "util.h"

int
preflight_check(const struct parley_config *cfg, char *err, size_t errlen,
    void (*warn)(const char *msg))
{
	struct auth_verifier *v;
	char why[512];

	if ((v = auth_verifier_new(cfg, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "[auth] %s", why);
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
		size_t len = 0;
		char *key = read_small_file(cfg->api_key_file, 4096, &len);
		int saved = errno;

		while (key != NULL && len > 0 &&
		    (key[len - 1] == '\n' || key[len - 1] == '\r'))
			len--;
		free(key);
		/* Not fatal: the API then refuses every publish (401). */
		if ((key == NULL || len == 0) && warn != NULL) {
			snprintf(why, sizeof(why), "[api] key_file %s: %s; POST "
			    "/api/publish will answer 401", cfg->api_key_file,
			    key == NULL ? strerror(saved) : "empty");
			warn(why);
		}
	}
	return 0;
}
