/* config.h: parley's configuration, one struct filled from an INI file.
 * Key names are fixed by PROTOCOL.md Appendix A; etc/parley.conf lists all. */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_room_policy { CFG_ROOMS_OPEN, CFG_ROOMS_CLOSED };
enum cfg_sync { CFG_SYNC_NORMAL, CFG_SYNC_FULL };

struct parley_config {
	char	*cfg_path;		/* file it was read from, or NULL */

	/* [server] */
	char	*listen;		/* host:port, plain ws; port 0: any free */
	int	 workers;		/* 0: number of CPUs */
	char	*data_dir;
	char	*run_dir;
	char	*log_file;		/* empty: stderr */
	bool	 log_debug;

	/* [websocket] */
	char	*ws_path;
	char	*echo_path;		/* empty: off */
	uint64_t max_message_bytes;
	int	 ping_interval;		/* seconds */
	int	 idle_timeout;		/* seconds */
	int	 handshake_timeout;	/* seconds */
	uint64_t max_output_bytes;
	char	*allowed_origins;	/* space-separated; empty: any */
	bool	 permessage_deflate;

	/* [auth] */
	char	*algorithm;		/* HS256 HS384 HS512 RS256 ES256 */
	char	*secret_file;
	char	*secret;		/* inline secret (discouraged) */
	char	*public_key_file;
	char	*issuer;
	char	*audience;
	int	 auth_timeout;
	int	 leeway;
	bool	 require_exp;
	enum cfg_room_policy default_room_policy;

	/* [limits] */
	uint64_t max_connections;
	int	 max_conns_per_user;
	int	 max_conns_per_ip;
	int	 conn_rate_per_ip;
	int	 conn_burst_per_ip;
	int	 send_rate;
	int	 send_burst;
	int	 typing_rate;
	int	 join_rate;
	int	 query_rate;
	int	 abuse_threshold;
	int	 max_text;
	int	 recovery_limit;
	int	 max_search_terms;	/* words in one search query */

	/* [store] */
	enum cfg_sync synchronous;	/* FULL: an ack survives power loss */
	int	 commit_batch;		/* most writes in one transaction */
	int	 commit_delay_ms;	/* longest a write waits for its batch */

	/* [api] */
	char	*api_listen;		/* empty: off */
	char	*api_key_file;

	/* [tls] */
	char	*tls_listen;		/* empty: off */
	char	*tls_cert_file;
	char	*tls_key_file;
};

/* Fill cfg with the built-in defaults (every string allocated). */
void	cfg_defaults(struct parley_config *cfg);

/*
 * Read path into a fresh *cfg (defaults first).  On error returns -1 and
 * writes "FILE:LINE: message" into err; *cfg is then freed.  Keys of
 * Appendix A whose feature is not built yet are accepted and reported
 * through warn() (may be NULL); any other unknown key is an error.
 */
int	cfg_load(const char *path, struct parley_config *cfg, char *err,
	    size_t errlen, void (*warn)(const char *msg));
void	cfg_free(struct parley_config *cfg);

/* Split "host:port" ("[v6]:port" too).  Returns 0 or -1. */
int	cfg_split_hostport(const char *s, char *host, size_t hostlen,
	    char *port, size_t portlen);

#endif
