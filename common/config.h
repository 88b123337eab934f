/* config.h: parley's configuration, one struct filled from an INI file.
 * Key names are fixed by PROTOCOL.md Appendix A; etc/parley.conf lists all. */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worker processes per server: slots 1..CFG_MAX_WORKERS. */
#define CFG_MAX_WORKERS		64

enum cfg_room_policy { CFG_ROOMS_OPEN, CFG_ROOMS_CLOSED };
enum cfg_sync { CFG_SYNC_NORMAL, CFG_SYNC_FULL };
enum cfg_tls_version { CFG_TLS_1_2, CFG_TLS_1_3 };

struct parley_config {
	char	*cfg_path;		/* file it was read from, or NULL */

	/* [server] */
	char	*listen;		/* host:port, plain ws; port 0: any free */
	int	 workers;		/* 0: number of CPUs */
	char	*data_dir;
	char	*run_dir;
	char	*log_file;		/* empty: stderr */
	bool	 log_debug;
	int	 control_max_clients;	/* concurrent parleyctl connections */
	int	 control_timeout;	/* seconds to send a whole command */

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
	int	 list_rate;		/* rooms, presence */
	int	 list_burst;
	int	 read_rate;		/* read markers */
	int	 read_burst;
	int	 max_rooms_per_user;	/* memberships listed by `rooms` */
	int	 max_rooms;		/* rooms in the database */
	int	 max_text;
	int	 recovery_limit;
	int	 max_search_terms;	/* words in one search query */

	/* [store] */
	enum cfg_sync synchronous;	/* FULL: an ack survives power loss */
	int	 commit_batch;		/* most writes in one transaction */
	int	 commit_delay_ms;	/* longest a write waits for its batch */
	int	 reader_threads;	/* read-only connections off the loop */
	int	 reader_queue;		/* reads waiting for one: then RATE_LIMIT */
	int	 query_timeout_ms;	/* a read's deadline: then TOO_EXPENSIVE */

	/* [api] */
	char	*api_listen;		/* empty: off */
	char	*api_key_file;
	int	 max_api_connections;	/* more wait in the listen backlog */
	int	 api_timeout;		/* seconds: idle, reading, writing */

	/* [tls] */
	char	*tls_listen;		/* empty: off */
	char	*tls_cert_file;
	char	*tls_key_file;
	char	*tls_ciphers;		/* TLS 1.2 cipher list (OpenSSL syntax) */
	char	*tls_ciphersuites;	/* TLS 1.3 suites */
	enum cfg_tls_version tls_min_version;
};

/* What a worker lets one connection queue: max_output_bytes, but never
 * less than one reply that carries a single largest message (PROTOCOL.md
 * 4: a page always holds at least one message). */
uint64_t cfg_output_limit(const struct parley_config *cfg);
/* The bytes of messages one reply may carry before it is cut (has_more):
 * half of max_output_bytes. */
size_t	cfg_reply_budget(const struct parley_config *cfg);

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
/* The same, from len bytes at buf; name stands for the file in errors. */
int	cfg_load_mem(const char *name, const void *buf, size_t len,
	    struct parley_config *cfg, char *err, size_t errlen,
	    void (*warn)(const char *msg));
/* Free every string (the inline secret wiped first). */
void	cfg_free(struct parley_config *cfg);

/* Split "host:port" ("[v6]:port" too).  Returns 0 or -1. */
int	cfg_split_hostport(const char *s, char *host, size_t hostlen,
	    char *port, size_t portlen);

#endif
