/* config.c: the table of keys with their defaults, and the public API. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

/* offsetof, and a compile error if the field is not of type T. */
#define CFG_OFF(f, T)							\
	(offsetof(struct parley_config, f) + 0 * sizeof(char[		\
	    _Generic(((struct parley_config *)0)->f, T: 1, default: -1)]))
/* Enums are stored through an int. */
#define CFG_OFF_ENUM(f)							\
	(offsetof(struct parley_config, f) + 0 * sizeof(char[		\
	    sizeof(((struct parley_config *)0)->f) == sizeof(int) ? 1 : -1]))

#define K_STR(s, k, f, d, st, chk)					\
	{ s, k, CFG_STR, CFG_OFF(f, char *), d, st, 0, 0, NULL, chk }
#define K_INT(s, k, f, d, st, lo, hi)					\
	{ s, k, CFG_INT, CFG_OFF(f, int), d, st, lo, hi, NULL, NULL }
#define K_U64(s, k, f, d, st, lo, hi)					\
	{ s, k, CFG_U64, CFG_OFF(f, uint64_t), d, st, lo, hi, NULL, NULL }
#define K_SIZE(s, k, f, d, st, lo, hi)					\
	{ s, k, CFG_SIZE, CFG_OFF(f, uint64_t), d, st, lo, hi, NULL, NULL }
#define K_BOOL(s, k, f, d, st)						\
	{ s, k, CFG_BOOL, CFG_OFF(f, bool), d, st, 0, 0, NULL, NULL }
#define K_ENUM(s, k, f, d, st, names)					\
	{ s, k, CFG_ENUM, CFG_OFF_ENUM(f), d, st, 0, 0, names, NULL }

static const struct cfg_enum room_policies[] = {
	{ "open", CFG_ROOMS_OPEN }, { "closed", CFG_ROOMS_CLOSED }, { NULL, 0 }
};
static const struct cfg_enum tls_versions[] = {
	{ "TLSv1.2", CFG_TLS_1_2 }, { "TLSv1.3", CFG_TLS_1_3 }, { NULL, 0 }
};
static const struct cfg_enum sync_modes[] = {
	{ "normal", CFG_SYNC_NORMAL }, { "full", CFG_SYNC_FULL }, { NULL, 0 }
};

#define CFG_TLS_CIPHERS							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CFG_TLS_CIPHERSUITES						\
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"		\
	"TLS_CHACHA20_POLY1305_SHA256"

#define DAY	86400

/* Every key of PROTOCOL.md Appendix A, with its default, and our extras. */
const struct cfg_key cfg_keys[] = {
	K_STR("server", "listen", listen, "127.0.0.1:8080", BUILT,
	    cfg_check_hostport),
	K_INT("server", "workers", workers, "0", BUILT, 0, CFG_MAX_WORKERS),
	K_STR("server", "data_dir", data_dir, "./var/lib", BUILT,
	    cfg_check_nonempty),
	K_STR("server", "run_dir", run_dir, "./var/run", BUILT,
	    cfg_check_nonempty),
	K_STR("server", "log_file", log_file, "", BUILT, NULL),
	K_BOOL("server", "debug", log_debug, "no", BUILT),
	K_INT("server", "control_max_clients", control_max_clients, "8", BUILT,
	    1, 1024),
	K_INT("server", "control_timeout", control_timeout, "10", BUILT,
	    1, 3600),

	K_STR("websocket", "path", ws_path, "/ws", BUILT, cfg_check_path),
	K_STR("websocket", "echo_path", echo_path, "", BUILT,
	    cfg_check_path_opt),
	K_SIZE("websocket", "max_message_bytes", max_message_bytes, "65536",
	    BUILT, 125, GB),
	K_INT("websocket", "ping_interval", ping_interval, "25", BUILT, 1, DAY),
	K_INT("websocket", "idle_timeout", idle_timeout, "60", BUILT, 1, DAY),
	K_INT("websocket", "handshake_timeout", handshake_timeout, "10",
	    BUILT, 1, 3600),
	K_SIZE("websocket", "max_output_bytes", max_output_bytes, "1048576",
	    BUILT, KB, 4 * GB),
	K_STR("websocket", "allowed_origins", allowed_origins, "", BUILT,
	    cfg_check_origins),
	K_BOOL("websocket", "permessage_deflate", permessage_deflate, "yes",
	    BUILT),

	K_STR("auth", "algorithm", algorithm, "HS256", BUILT,
	    cfg_check_algorithm),
	K_STR("auth", "secret_file", secret_file, "./var/jwt.secret", BUILT,
	    NULL),
	K_STR("auth", "secret", secret, "", BUILT, NULL),
	K_STR("auth", "public_key_file", public_key_file, "", BUILT, NULL),
	K_STR("auth", "issuer", issuer, "", BUILT, NULL),
	K_STR("auth", "audience", audience, "", BUILT, NULL),
	K_INT("auth", "auth_timeout", auth_timeout, "10", BUILT, 1, 3600),
	K_INT("auth", "leeway", leeway, "30", BUILT, 0, 3600),
	K_BOOL("auth", "require_exp", require_exp, "yes", BUILT),
	K_ENUM("auth", "default_room_policy", default_room_policy, "open",
	    BUILT, room_policies),

	K_U64("limits", "max_connections", max_connections, "100000", BUILT,
	    1, 10000000),
	K_INT("limits", "max_conns_per_user", max_conns_per_user, "5",
	    BUILT, 1, 1000000),
	K_INT("limits", "max_conns_per_ip", max_conns_per_ip, "200",
	    BUILT, 1, 10000000),
	K_INT("limits", "conn_rate_per_ip", conn_rate_per_ip, "20",
	    BUILT, 1, 1000000),
	K_INT("limits", "conn_burst_per_ip", conn_burst_per_ip, "50",
	    BUILT, 1, 1000000),
	K_INT("limits", "send_rate", send_rate, "20", BUILT, 1, 1000000),
	K_INT("limits", "send_burst", send_burst, "20", BUILT, 1, 1000000),
	K_INT("limits", "typing_rate", typing_rate, "5", BUILT, 1, 1000000),
	K_INT("limits", "join_rate", join_rate, "10", BUILT, 1, 1000000),
	K_INT("limits", "query_rate", query_rate, "5", BUILT, 1, 1000000),
	K_INT("limits", "abuse_threshold", abuse_threshold, "50", BUILT,
	    1, 1000000),
	K_INT("limits", "max_text", max_text, "4000", BUILT, 1, 1000000),
	K_INT("limits", "recovery_limit", recovery_limit, "1000", BUILT,
	    1, 1000000),
	K_INT("limits", "list_rate", list_rate, "2", BUILT, 1, 1000000),
	K_INT("limits", "list_burst", list_burst, "5", BUILT, 1, 1000000),
	K_INT("limits", "read_rate", read_rate, "10", BUILT, 1, 1000000),
	K_INT("limits", "read_burst", read_burst, "20", BUILT, 1, 1000000),
	K_INT("limits", "max_rooms_per_user", max_rooms_per_user, "1000",
	    BUILT, 1, 1000000),
	K_INT("limits", "max_rooms", max_rooms, "1000000", BUILT,
	    1, 1000000000),
	/* At most STORE_SEARCH_MAX_TERMS (broker/store.h). */
	K_INT("limits", "max_search_terms", max_search_terms, "8", BUILT,
	    1, 32),

	K_ENUM("store", "synchronous", synchronous, "full", BUILT, sync_modes),
	K_INT("store", "commit_batch", commit_batch, "256", BUILT, 1, 100000),
	K_INT("store", "commit_delay_ms", commit_delay_ms, "2", BUILT,
	    0, 10000),
	K_INT("store", "reader_threads", reader_threads, "2", BUILT, 1, 64),
	K_INT("store", "reader_queue", reader_queue, "64", BUILT, 1, 100000),
	K_INT("store", "query_timeout_ms", query_timeout_ms, "1000", BUILT,
	    1, 600000),

	K_STR("api", "listen", api_listen, "127.0.0.1:8081", BUILT,
	    cfg_check_hostport_opt),
	K_STR("api", "key_file", api_key_file, "./var/api.key", BUILT, NULL),
	K_INT("api", "max_connections", max_api_connections, "64", BUILT,
	    1, 100000),
	K_INT("api", "timeout", api_timeout, "10", BUILT, 1, 3600),

	K_STR("tls", "listen", tls_listen, "", BUILT, cfg_check_hostport_opt),
	K_STR("tls", "cert_file", tls_cert_file, "", BUILT, NULL),
	K_STR("tls", "key_file", tls_key_file, "", BUILT, NULL),
	/* Forward-secret AEAD only: ECDHE with AES-GCM or ChaCha20-Poly1305. */
	K_STR("tls", "ciphers", tls_ciphers, CFG_TLS_CIPHERS, BUILT,
	    cfg_check_nonempty),
	K_STR("tls", "ciphersuites", tls_ciphersuites, CFG_TLS_CIPHERSUITES,
	    BUILT, cfg_check_nonempty),
	K_ENUM("tls", "min_version", tls_min_version, "TLSv1.2", BUILT,
	    tls_versions),
};
/* A key added or removed: change CFG_NKEYS in config_int.h to match. */
_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) == CFG_NKEYS,
    "CFG_NKEYS is not the number of keys in cfg_keys");

const struct cfg_key *
cfg_find(const char *section, const char *key)
{
	size_t	i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].ck_section, section) == 0 &&
		    strcmp(cfg_keys[i].ck_key, key) == 0)
			return &cfg_keys[i];
	return NULL;
}

void
cfg_defaults(struct parley_config *cfg)
{
	char	why[128];
	size_t	i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < CFG_NKEYS; i++)
		if (cfg_set(cfg, &cfg_keys[i], cfg_keys[i].ck_dflt, why,
		    sizeof(why)) == -1) {
			/* A bad built-in default is a bug of this file. */
			fprintf(stderr, "config: default of [%s] %s: %s\n",
			    cfg_keys[i].ck_section, cfg_keys[i].ck_key, why);
			abort();
		}
}

void
cfg_free(struct parley_config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	if (cfg->secret != NULL)
		explicit_bzero(cfg->secret, strlen(cfg->secret));
	for (i = 0; i < CFG_NKEYS; i++)
		if (cfg_keys[i].ck_type == CFG_STR)
			free(*(char **)cfg_field(cfg, &cfg_keys[i]));
	free(cfg->cfg_path);
	memset(cfg, 0, sizeof(*cfg));
}

int
cfg_load(const char *path, struct parley_config *cfg, char *err,
    size_t errlen, void (*warn)(const char *msg))
{
	return cfg_parse_file(path, fopen(path, "r"), cfg, err, errlen, warn);
}

int
cfg_load_mem(const char *name, const void *buf, size_t len,
    struct parley_config *cfg, char *err, size_t errlen,
    void (*warn)(const char *msg))
{
	FILE	*fp = NULL;

	/* fmemopen refuses a size of 0; an empty file is "\n"-less text. */
	if (len > 0)
		fp = fmemopen((void *)(uintptr_t)buf, len, "r");
	else
		fp = fopen("/dev/null", "r");
	return cfg_parse_file(name, fp, cfg, err, errlen, warn);
}

uint64_t
cfg_output_limit(const struct parley_config *cfg)
{
	/* A message's JSON is about its request's size plus the fields the
	 * server adds; a published event's data is held to the same. */
	uint64_t one = 2 * cfg->max_message_bytes + 4096;

	return cfg->max_output_bytes > one ? cfg->max_output_bytes : one;
}

size_t
cfg_reply_budget(const struct parley_config *cfg)
{
	return (size_t)(cfg->max_output_bytes / 2);
}
