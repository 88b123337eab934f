/* fuzz_config.c: any bytes as parley.conf through the config reader
 * (config.c and libinih).  A file it accepts satisfies the cross-key
 * checks; a refusal names the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define FUZZ_CONF_NAME	"fuzz.conf"

int
fuzz_config(const uint8_t *data, size_t len)
{
	struct parley_config	cfg;
	char			err[1024];
	int			bad = 0;

	if (cfg_load_mem(FUZZ_CONF_NAME, data, len, &cfg, err, sizeof(err),
	    NULL) == -1)
		return strncmp(err, FUZZ_CONF_NAME ":",
		    strlen(FUZZ_CONF_NAME) + 1) != 0;
	if (cfg.listen == NULL || cfg.secret == NULL ||
	    cfg.tls_ciphers == NULL || cfg.ping_interval >= cfg.idle_timeout ||
	    cfg.workers < 0 || cfg.workers > 64 ||
	    strcmp(cfg.ws_path, cfg.echo_path) == 0 || cfg.ws_path[0] != '/' ||
	    (*cfg.tls_listen != '\0' && (*cfg.tls_cert_file == '\0' ||
	    *cfg.tls_key_file == '\0')))
		bad = 1;
	cfg_free(&cfg);
	return bad;
}

#ifdef PARLEY_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (fuzz_config(d, n) != 0)
		abort();
	return 0;
}
#endif
