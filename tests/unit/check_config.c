/* check_config.c: unit tests of common/config.c (key table, parsing, checks). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "config.h"
#include "preflight.h"

/* ---- helpers ---- */

static char	tmp_path[64];
static char	warns[8][512];
static int	nwarns;

static void
capture_warn(const char *msg)
{
	if (nwarns < 8)
		snprintf(warns[nwarns], sizeof(warns[0]), "%s", msg);
	nwarns++;
}

/* Write text to a fresh temp file and load it. */
static int
load_text(const char *text, struct parley_config *cfg, char *err,
    size_t errlen)
{
	FILE	*fp;
	int	 fd, rc;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/check_config.XXXXXX");
	fd = mkstemp(tmp_path);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	nwarns = 0;
	rc = cfg_load(tmp_path, cfg, err, errlen, capture_warn);
	unlink(tmp_path);
	return rc;
}

/* "PATH:LINE: " of the last temp file. */
static void
where(char *buf, size_t len, int line)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d: ", tmp_path, line);
	else
		snprintf(buf, len, "%s: ", tmp_path);
}

/* Every field, to compare configs and check values by name. */
enum fkind { F_STR, F_INT, F_U64, F_BOOL, F_ENUM };
struct field {
	const char	*name;
	size_t		 off;
	enum fkind	 kind;
};
#define FS(f)	{ #f, offsetof(struct parley_config, f), F_STR }
#define FI(f)	{ #f, offsetof(struct parley_config, f), F_INT }
#define FU(f)	{ #f, offsetof(struct parley_config, f), F_U64 }
#define FB(f)	{ #f, offsetof(struct parley_config, f), F_BOOL }
#define FE(f)	{ #f, offsetof(struct parley_config, f), F_ENUM }
static const struct field fields[] = {
	FS(listen), FI(workers), FS(data_dir), FS(run_dir), FS(log_file),
	FB(log_debug),
	FS(ws_path), FS(echo_path), FU(max_message_bytes), FI(ping_interval),
	FI(idle_timeout), FI(handshake_timeout), FU(max_output_bytes),
	FS(allowed_origins), FB(permessage_deflate),
	FS(algorithm), FS(secret_file), FS(secret), FS(public_key_file),
	FS(issuer), FS(audience), FI(auth_timeout), FI(leeway),
	FB(require_exp), FE(default_room_policy),
	FU(max_connections), FI(max_conns_per_user), FI(max_conns_per_ip),
	FI(conn_rate_per_ip), FI(conn_burst_per_ip), FI(send_rate),
	FI(send_burst), FI(typing_rate), FI(join_rate), FI(query_rate),
	FI(abuse_threshold), FI(max_text), FI(recovery_limit),
	FI(max_search_terms),
	FE(synchronous), FI(commit_batch), FI(commit_delay_ms),
	FS(api_listen), FS(api_key_file),
	FI(list_rate), FI(list_burst), FI(read_rate), FI(read_burst),
	FI(max_rooms_per_user), FI(max_rooms), FI(control_max_clients),
	FI(control_timeout), FI(max_api_connections), FI(api_timeout),
	FI(reader_threads), FI(reader_queue), FI(query_timeout_ms),
	FS(tls_listen), FS(tls_cert_file), FS(tls_key_file),
	FS(tls_ciphers), FS(tls_ciphersuites), FE(tls_min_version),
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static const struct field *
field_by_name(const char *name)
{
	size_t	i;

	for (i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	ck_abort_msg("no field %s", name);
	return NULL;
}

/* The field's value as text, for comparisons and messages. */
static void
field_text(const struct parley_config *c, const struct field *f, char *buf,
    size_t len)
{
	const char	*p = (const char *)c + f->off;

	switch (f->kind) {
	case F_STR:
		snprintf(buf, len, "%s", *(char *const *)p);
		break;
	case F_INT:
	case F_ENUM:
		snprintf(buf, len, "%d", *(const int *)p);
		break;
	case F_U64:
		snprintf(buf, len, "%llu",
		    (unsigned long long)*(const uint64_t *)p);
		break;
	case F_BOOL:
		snprintf(buf, len, "%d", *(const bool *)p ? 1 : 0);
		break;
	}
}

static void
assert_field(const struct parley_config *c, const char *name,
    const char *want, const char *ctx)
{
	char	got[1024];

	field_text(c, field_by_name(name), got, sizeof(got));
	ck_assert_msg(strcmp(got, want) == 0, "%s: %s is '%s', want '%s'",
	    ctx, name, got, want);
}

static void
assert_same(const struct parley_config *a, const struct parley_config *b,
    const char *ctx)
{
	char	ta[1024], tb[1024];
	size_t	i;

	for (i = 0; i < NFIELDS; i++) {
		field_text(a, &fields[i], ta, sizeof(ta));
		field_text(b, &fields[i], tb, sizeof(tb));
		ck_assert_msg(strcmp(ta, tb) == 0, "%s: %s '%s' != '%s'",
		    ctx, fields[i].name, ta, tb);
	}
}

/* [tls] defaults: forward-secret AEAD suites only. */
#define TLS_CIPHERS							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_SUITES							\
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"		\
	"TLS_CHACHA20_POLY1305_SHA256"

/* PROTOCOL.md Appendix A (workers: ours is 0) plus our extras. */
static const struct {
	const char	*section, *key, *dflt, *field, *value;
} appendix_a[] = {
	{ "server", "listen", "127.0.0.1:8080", "listen", "127.0.0.1:8080" },
	{ "server", "workers", "0", "workers", "0" },
	{ "server", "data_dir", "./var/lib", "data_dir", "./var/lib" },
	{ "server", "run_dir", "./var/run", "run_dir", "./var/run" },
	{ "server", "log_file", "", "log_file", "" },
	{ "server", "debug", "no", "log_debug", "0" },
	{ "websocket", "path", "/ws", "ws_path", "/ws" },
	{ "websocket", "echo_path", "", "echo_path", "" },
	{ "websocket", "max_message_bytes", "65536", "max_message_bytes",
	    "65536" },
	{ "websocket", "ping_interval", "25", "ping_interval", "25" },
	{ "websocket", "idle_timeout", "60", "idle_timeout", "60" },
	{ "websocket", "handshake_timeout", "10", "handshake_timeout", "10" },
	{ "websocket", "max_output_bytes", "1048576", "max_output_bytes",
	    "1048576" },
	{ "websocket", "allowed_origins", "", "allowed_origins", "" },
	{ "websocket", "permessage_deflate", "yes", "permessage_deflate", "1" },
	{ "auth", "algorithm", "HS256", "algorithm", "HS256" },
	{ "auth", "secret_file", "./var/jwt.secret", "secret_file",
	    "./var/jwt.secret" },
	{ "auth", "secret", "", "secret", "" },
	{ "auth", "public_key_file", "", "public_key_file", "" },
	{ "auth", "issuer", "", "issuer", "" },
	{ "auth", "audience", "", "audience", "" },
	{ "auth", "auth_timeout", "10", "auth_timeout", "10" },
	{ "auth", "leeway", "30", "leeway", "30" },
	{ "auth", "require_exp", "yes", "require_exp", "1" },
	{ "auth", "default_room_policy", "open", "default_room_policy", "0" },
	{ "limits", "max_connections", "100000", "max_connections", "100000" },
	{ "limits", "max_conns_per_user", "5", "max_conns_per_user", "5" },
	{ "limits", "max_conns_per_ip", "200", "max_conns_per_ip", "200" },
	{ "limits", "conn_rate_per_ip", "20", "conn_rate_per_ip", "20" },
	{ "limits", "conn_burst_per_ip", "50", "conn_burst_per_ip", "50" },
	{ "limits", "send_rate", "20", "send_rate", "20" },
	{ "limits", "send_burst", "20", "send_burst", "20" },
	{ "limits", "typing_rate", "5", "typing_rate", "5" },
	{ "limits", "join_rate", "10", "join_rate", "10" },
	{ "limits", "query_rate", "5", "query_rate", "5" },
	{ "limits", "abuse_threshold", "50", "abuse_threshold", "50" },
	{ "limits", "max_text", "4000", "max_text", "4000" },
	{ "limits", "recovery_limit", "1000", "recovery_limit", "1000" },
	{ "store", "synchronous", "full", "synchronous", "1" },
	{ "store", "commit_batch", "256", "commit_batch", "256" },
	{ "store", "commit_delay_ms", "2", "commit_delay_ms", "2" },
	{ "api", "listen", "127.0.0.1:8081", "api_listen", "127.0.0.1:8081" },
	{ "api", "key_file", "./var/api.key", "api_key_file", "./var/api.key" },
	{ "tls", "listen", "", "tls_listen", "" },
	{ "tls", "cert_file", "", "tls_cert_file", "" },
	{ "tls", "key_file", "", "tls_key_file", "" },
	{ "tls", "ciphers", TLS_CIPHERS, "tls_ciphers", TLS_CIPHERS },
	{ "tls", "ciphersuites", TLS_SUITES, "tls_ciphersuites", TLS_SUITES },
	{ "tls", "min_version", "TLSv1.2", "tls_min_version", "0" },
};
#define NAPPA	(sizeof(appendix_a) / sizeof(appendix_a[0]))

/* ---- defaults ---- */

/* The example of PROTOCOL.md Appendix A, verbatim. */
static const char appendix_a_text[] =
	"[server]\n"
	"listen = 127.0.0.1:8080          ; host:port, plain WebSocket\n"
	"workers = 2\n"
	"data_dir = ./var/lib              ; the SQLite database lives here\n"
	"run_dir = ./var/run               ; control socket, pidfile\n"
	"[websocket]\n"
	"path = /ws\n"
	"echo_path =                       ; empty: off\n"
	"max_message_bytes = 65536\n"
	"ping_interval = 25\n"
	"idle_timeout = 60\n"
	"handshake_timeout = 10            ; the HTTP request head must be complete by then\n"
	"max_output_bytes = 1048576        ; per-connection output queue; past it: close 1013\n"
	"allowed_origins =                 ; space-separated; empty: any Origin\n"
	"permessage_deflate = yes\n"
	"[auth]\n"
	"algorithm = HS256\n"
	"secret_file = ./var/jwt.secret    ; raw secret bytes (trailing newline ignored)\n"
	"public_key_file =                 ; PEM, for RS256/ES256\n"
	"issuer =                          ; empty: not checked\n"
	"audience =                        ; empty: not checked\n"
	"auth_timeout = 10\n"
	"leeway = 30\n"
	"require_exp = yes\n"
	"default_room_policy = open        ; open | closed\n"
	"[limits]\n"
	"max_connections = 100000\n"
	"max_conns_per_user = 5\n"
	"max_conns_per_ip = 200\n"
	"conn_rate_per_ip = 20             ; new connections per second, per address\n"
	"conn_burst_per_ip = 50\n"
	"send_rate = 20                    ; tokens per second, per user\n"
	"send_burst = 20\n"
	"typing_rate = 5\n"
	"join_rate = 10\n"
	"query_rate = 5                    ; history and search\n"
	"abuse_threshold = 50\n"
	"max_text = 4000\n"
	"recovery_limit = 1000\n"
	"[api]\n"
	"listen = 127.0.0.1:8081\n"
	"key_file = ./var/api.key\n"
	"[tls]\n"
	"listen =                          ; host:port for wss; empty: off\n"
	"cert_file =\n"
	"key_file =\n"
;

START_TEST(test_appendix_a_example)
{
	struct parley_config	c, d;
	char			err[512];

	ck_assert_msg(load_text(appendix_a_text, &c, err, sizeof(err)) == 0,
	    "%s", err);
	cfg_defaults(&d);
	ck_assert_int_eq(c.workers, 2);
	c.workers = d.workers;
	assert_same(&c, &d, "appendix A");
	/* Every Appendix A key is built now: no "not implemented" warning. */
	ck_assert_int_eq(nwarns, 0);
	cfg_free(&c);
	cfg_free(&d);
}
END_TEST


START_TEST(test_defaults)
{
	struct parley_config	c;
	size_t			i;

	cfg_defaults(&c);
	ck_assert_ptr_null(c.cfg_path);
	for (i = 0; i < NAPPA; i++)
		assert_field(&c, appendix_a[i].field, appendix_a[i].value,
		    "defaults");
	ck_assert_int_eq(c.default_room_policy, CFG_ROOMS_OPEN);
	ck_assert_int_eq(c.synchronous, CFG_SYNC_FULL);
	/* issue 7's keys, documented in etc/parley.conf and docs/ */
	ck_assert_int_eq(c.list_rate, 2);
	ck_assert_int_eq(c.list_burst, 5);
	ck_assert_int_eq(c.read_rate, 10);
	ck_assert_int_eq(c.read_burst, 20);
	ck_assert_int_eq(c.max_rooms_per_user, 1000);
	ck_assert_int_eq(c.max_rooms, 1000000);
	ck_assert_int_eq(c.control_max_clients, 8);
	ck_assert_int_eq(c.control_timeout, 10);
	ck_assert_int_eq(c.max_api_connections, 64);
	ck_assert_int_eq(c.api_timeout, 10);
	ck_assert_int_eq(c.max_search_terms, 8);	/* not in Appendix A */
	ck_assert_int_eq(c.reader_threads, 2);
	ck_assert_int_eq(c.reader_queue, 64);
	ck_assert_int_eq(c.query_timeout_ms, 1000);
	cfg_free(&c);
	cfg_free(&c);		/* a freed config is zeroed: harmless */
}
END_TEST

/* Each Appendix A key, given with its default, is known and changes nothing. */
START_TEST(test_appendix_a_key)
{
	struct parley_config	c, d;
	char			text[256], err[512];

	snprintf(text, sizeof(text), "[%s]\n%s = %s\n",
	    appendix_a[_i].section, appendix_a[_i].key, appendix_a[_i].dflt);
	ck_assert_msg(load_text(text, &c, err, sizeof(err)) == 0, "%s: %s",
	    text, err);
	cfg_defaults(&d);
	assert_same(&c, &d, text);
	ck_assert_str_eq(c.cfg_path, tmp_path);
	cfg_free(&c);
	cfg_free(&d);
}
END_TEST

START_TEST(test_empty_file)
{
	struct parley_config	c, d;
	char			err[512];

	ck_assert_int_eq(load_text("; nothing\n\n# at all\n", &c, err,
	    sizeof(err)), 0);
	cfg_defaults(&d);
	assert_same(&c, &d, "empty");
	ck_assert_int_eq(nwarns, 0);
	cfg_free(&c);
	cfg_free(&d);
}
END_TEST

/* ---- values that parse ---- */

static const struct {
	const char	*text, *field, *want;
} good[] = {
	/* STR */
	{ "[server]\nlisten = [::1]:9000\n", "listen", "[::1]:9000" },
	{ "[server]\nlisten = localhost:0\n", "listen", "localhost:0" },
	{ "[server]\nlog_file = /var/log/parley.log\n", "log_file",
	    "/var/log/parley.log" },
	{ "[auth]\nissuer = https://id.example.com/\n", "issuer",
	    "https://id.example.com/" },
	{ "[websocket]\necho_path = /echo\n", "echo_path", "/echo" },
	{ "[tls]\nciphers = ECDHE-RSA-AES256-GCM-SHA384\n", "tls_ciphers",
	    "ECDHE-RSA-AES256-GCM-SHA384" },
	{ "[tls]\nmin_version = TLSv1.3\n", "tls_min_version", "1" },
	{ "[websocket]\nallowed_origins = https://a.example http://b:8080\n",
	    "allowed_origins", "https://a.example http://b:8080" },
	/* INT */
	{ "[server]\nworkers = 0\n", "workers", "0" },
	{ "[server]\nworkers = 64\n", "workers", "64" },
	{ "[server]\nworkers=7\n", "workers", "7" },
	{ "[auth]\nleeway = 0\n", "leeway", "0" },
	{ "[store]\ncommit_delay_ms = 0\n", "commit_delay_ms", "0" },
	{ "[limits]\nmax_text = 1000000\n", "max_text", "1000000" },
	/* issue 7: rate classes and bounds on growth */
	{ "[limits]\nlist_rate = 1\n", "list_rate", "1" },
	{ "[limits]\nread_burst = 50\n", "read_burst", "50" },
	{ "[limits]\nmax_rooms_per_user = 1\n", "max_rooms_per_user", "1" },
	{ "[limits]\nmax_rooms = 1000000000\n", "max_rooms", "1000000000" },
	{ "[server]\ncontrol_max_clients = 1\n", "control_max_clients",
	    "1" },
	{ "[server]\ncontrol_timeout = 3600\n", "control_timeout", "3600" },
	{ "[api]\nmax_connections = 1\n", "max_api_connections", "1" },
	{ "[api]\ntimeout = 1\n", "api_timeout", "1" },
	/* U64 */
	{ "[limits]\nmax_connections = 1\n", "max_connections", "1" },
	{ "[limits]\nmax_connections = 10000000\n", "max_connections",
	    "10000000" },
	/* SIZE */
	{ "[websocket]\nmax_message_bytes = 125\n", "max_message_bytes",
	    "125" },
	{ "[websocket]\nmax_message_bytes = 1073741824\n",
	    "max_message_bytes", "1073741824" },
	{ "[websocket]\nmax_message_bytes = 64k\n", "max_message_bytes",
	    "65536" },
	{ "[websocket]\nmax_message_bytes = 1G\n", "max_message_bytes",
	    "1073741824" },
	{ "[websocket]\nmax_output_bytes = 4M\n", "max_output_bytes",
	    "4194304" },
	/* BOOL */
	{ "[server]\ndebug = yes\n", "log_debug", "1" },
	{ "[server]\ndebug = true\n", "log_debug", "1" },
	{ "[server]\ndebug = on\n", "log_debug", "1" },
	{ "[server]\ndebug = 1\n", "log_debug", "1" },
	{ "[server]\ndebug = YES\n", "log_debug", "1" },
	{ "[auth]\nrequire_exp = no\n", "require_exp", "0" },
	{ "[auth]\nrequire_exp = false\n", "require_exp", "0" },
	{ "[auth]\nrequire_exp = off\n", "require_exp", "0" },
	{ "[auth]\nrequire_exp = 0\n", "require_exp", "0" },
	/* ENUM */
	{ "[auth]\ndefault_room_policy = closed\n", "default_room_policy",
	    "1" },
	{ "[auth]\ndefault_room_policy = open\n", "default_room_policy", "0" },
	{ "[store]\nsynchronous = normal\n", "synchronous", "0" },
	{ "[store]\nsynchronous = full\n", "synchronous", "1" },
	/* algorithm check */
	{ "[auth]\nalgorithm = HS512\n", "algorithm", "HS512" },
	{ "[auth]\nalgorithm = ES256\npublic_key_file = k.pem\n",
	    "algorithm", "ES256" },
	/* inline comments, both styles, and what is not a comment */
	{ "[auth]\nissuer = abc ; comment\n", "issuer", "abc" },
	{ "[auth]\nissuer = abc # comment\n", "issuer", "abc" },
	{ "[auth]\nissuer = abc\t# tab first\n", "issuer", "abc" },
	{ "[auth]\nissuer = a#b;c\n", "issuer", "a#b;c" },
	{ "[auth]\nissuer =    ; empty\n", "issuer", "" },
	{ "[auth]\nissuer = # empty\n", "issuer", "" },
	{ "[auth]\nissuer = two words  \n", "issuer", "two words" },
	{ "[server]\nworkers = 3 # three\n", "workers", "3" },
	{ "[server]\nworkers = 3 ; three\n", "workers", "3" },
	{ "[server] ; section comment\nworkers = 5\n", "workers", "5" },
	{ "[server] # section comment\nworkers = 5\n", "workers", "5" },
	/* layout */
	{ "[server]\r\nworkers = 6\r\n", "workers", "6" },
	{ "[server]\nlisten = 1.2.3.4:5\n    workers = 9\n", "workers", "9" },
	{ "[limits]\nmax_search_terms = 32\n", "max_search_terms", "32" },
	{ "[limits]\nmax_search_terms = 1\n", "max_search_terms", "1" },
	{ "[store]\nreader_threads = 64\n", "reader_threads", "64" },
	{ "[store]\nreader_queue = 1\n", "reader_queue", "1" },
	{ "[store]\nquery_timeout_ms = 600000\n", "query_timeout_ms",
	    "600000" },
	{ "[server]\nlisten = 1.2.3.4:5\n    workers = 9\n", "listen",
	    "1.2.3.4:5" },
	{ "\xEF\xBB\xBF[server]\nworkers = 4\n", "workers", "4" },
	{ "[server]\nworkers: 8\n", "workers", "8" },
	{ "[server]\nworkers = 1\n[auth]\nleeway = 5\n[server]\ndebug = 1\n",
	    "workers", "1" },
};

START_TEST(test_good_value)
{
	struct parley_config	c;
	char			err[512];

	ck_assert_msg(load_text(good[_i].text, &c, err, sizeof(err)) == 0,
	    "'%s': %s", good[_i].text, err);
	assert_field(&c, good[_i].field, good[_i].want, good[_i].text);
	cfg_free(&c);
}
END_TEST

/* ---- errors: text must contain want, after "FILE:LINE: " ---- */

static const struct {
	const char	*text;
	int		 line;		/* 0: no line in the message */
	const char	*want;
} bad[] = {
	/* types */
	{ "[websocket]\nmax_message_bytes = 124\n", 2,
	    "[websocket] max_message_bytes: not a number between 125 and "
	    "1073741824" },
	{ "[websocket]\nmax_message_bytes = 1073741825\n", 2,
	    "not a number between 125 and 1073741824" },
	{ "[websocket]\nmax_message_bytes = 2G\n", 2, "not a number" },
	{ "[websocket]\nmax_message_bytes = 64kb\n", 2, "not a number" },
	{ "[websocket]\nmax_message_bytes = k\n", 2, "not a number" },
	{ "[websocket]\nmax_message_bytes = -1\n", 2, "not a number" },
	{ "[websocket]\nmax_message_bytes = 99999999999999999999999\n", 2,
	    "not a number" },
	{ "[server]\nworkers = 65\n", 2,
	    "[server] workers: not a number between 0 and 64" },
	{ "[server]\nworkers = -1\n", 2, "not a number between 0 and 64" },
	{ "[server]\nworkers = 2x\n", 2, "not a number" },
	{ "[server]\nworkers =\n", 2, "not a number" },
	{ "[server]\nworkers = 0x10\n", 2, "not a number" },
	{ "[server]\nworkers = 99999999999999999999\n", 2, "not a number" },
	{ "[limits]\nmax_connections = 0\n", 2,
	    "[limits] max_connections: not a number between 1 and 10000000" },
	{ "[limits]\nmax_connections = +5\n", 2, "not a number" },
	{ "[limits]\nmax_search_terms = 33\n", 2,
	    "[limits] max_search_terms: not a number between 1 and 32" },
	{ "[limits]\nmax_search_terms = 0\n", 2, "between 1 and 32" },
	{ "[store]\nreader_threads = 0\n", 2,
	    "[store] reader_threads: not a number between 1 and 64" },
	{ "[store]\nreader_queue = 100001\n", 2, "between 1 and 100000" },
	{ "[store]\nquery_timeout_ms = 0\n", 2, "between 1 and 600000" },
	{ "[store]\nquery_timeout_ms = fast\n", 2, "not a number" },
	{ "[limits]\nmax_connections = 1e6\n", 2, "not a number" },
	{ "[limits]\nlist_rate = 0\n", 2,
	    "[limits] list_rate: not a number between 1 and 1000000" },
	{ "[limits]\nmax_rooms_per_user = 0\n", 2,
	    "[limits] max_rooms_per_user: not a number between 1 and 1000000" },
	{ "[limits]\nmax_rooms = 0\n", 2,
	    "[limits] max_rooms: not a number between 1 and 1000000000" },
	{ "[server]\ncontrol_max_clients = 0\n", 2,
	    "[server] control_max_clients: not a number between 1 and 1024" },
	{ "[server]\ncontrol_timeout = 0\n", 2,
	    "[server] control_timeout: not a number between 1 and 3600" },
	{ "[api]\nmax_connections = 0\n", 2,
	    "[api] max_connections: not a number between 1 and 100000" },
	{ "[api]\ntimeout = 0\n", 2,
	    "[api] timeout: not a number between 1 and 3600" },
	{ "[websocket]\nping_interval = 0\n", 2,
	    "[websocket] ping_interval: not a number between 1 and 86400" },
	{ "[server]\ndebug = maybe\n", 2, "[server] debug: not a boolean" },
	{ "[server]\ndebug =\n", 2, "not a boolean" },
	{ "[auth]\ndefault_room_policy = Open\n", 2,
	    "[auth] default_room_policy: must be one of: open, closed" },
	{ "[store]\nsynchronous = off\n", 2,
	    "[store] synchronous: must be one of: normal, full" },
	{ "[tls]\nmin_version = TLSv1.1\n", 2,
	    "[tls] min_version: must be one of: TLSv1.2, TLSv1.3" },
	{ "[tls]\nciphers =\n", 2, "[tls] ciphers: must not be empty" },
	{ "[tls]\nciphersuites = ; none\n", 2,
	    "[tls] ciphersuites: must not be empty" },
	/* names */
	{ "[server]\nlisten = 1.2.3.4:1\nbogus = 1\n", 3,
	    "unknown key 'bogus' in section [server]" },
	{ "[server]\nListen = 1.2.3.4:1\n", 2,
	    "unknown key 'Listen' in section [server]" },
	{ "[nope]\nx = 1\n", 2, "unknown key 'x' in section [nope]" },
	{ "[websocket]\nws_path = /x\n", 2,
	    "unknown key 'ws_path' in section [websocket]" },
	{ "workers = 2\n", 1, "key 'workers' is outside any [section]" },
	{ "[server]\nworkers = 1\n\nworkers = 2\n", 4,
	    "[server] workers: duplicate key (first set on line 2)" },
	{ "[server]\nworkers = 1\n[auth]\n[server]\nworkers = 2\n", 5,
	    "duplicate key (first set on line 2)" },
	/* syntax */
	{ "[server]\nlisten\n", 2, "syntax error" },
	{ "[server]\n= 5\n", 2, "syntax error: no key name" },
	{ "[server\nworkers = 1\n", 1, "syntax error" },
	{ "[server]\nworkers = 1\nbogus = 1\nnot a pair\n", 3,
	    "unknown key 'bogus'" },
	{ "[server]\nnot a pair\nbogus = 1\n", 2, "syntax error" },
	/* single-value checks */
	{ "[server]\nlisten = 8080\n", 2, "[server] listen: not host:port" },
	{ "[server]\nlisten = 127.0.0.1:65536\n", 2, "not host:port" },
	{ "[server]\nlisten = ::1:8080\n", 2, "not host:port" },
	{ "[server]\nlisten =\n", 2, "not host:port" },
	{ "[api]\nlisten = nohost\n", 2, "[api] listen: not host:port" },
	{ "[tls]\nlisten = x:y\ncert_file = c\nkey_file = k\n", 2,
	    "[tls] listen: not host:port" },
	{ "[server]\ndata_dir =\n", 2, "[server] data_dir: must not be empty" },
	{ "[websocket]\npath = ws\n", 2,
	    "[websocket] path: must start with '/'" },
	{ "[websocket]\npath =\n", 2, "[websocket] path: must start with '/'" },
	{ "[websocket]\npath = /a?b\n", 2, "[websocket] path: must not" },
	{ "[websocket]\necho_path = echo\n", 2,
	    "[websocket] echo_path: must start with '/'" },
	{ "[auth]\nalgorithm = hs256\n", 2,
	    "[auth] algorithm: must be one of: HS256, HS384, HS512, RS256, "
	    "ES256" },
	{ "[auth]\nalgorithm = none\n", 2, "[auth] algorithm: must be one" },
	{ "[websocket]\nallowed_origins = example.com\n", 2,
	    "[websocket] allowed_origins: each origin" },
	{ "[websocket]\nallowed_origins = https://a.example/\n", 2,
	    "[websocket] allowed_origins: an origin has no path" },
	/* cross-field */
	{ "[websocket]\nping_interval = 60\n", 2,
	    "[websocket] ping_interval: must be less than idle_timeout (60)" },
	{ "[websocket]\nidle_timeout = 20\n", 0,
	    "[websocket] ping_interval: must be less than idle_timeout (20)" },
	{ "[websocket]\npath = /chat\necho_path = /chat\n", 3,
	    "[websocket] echo_path: must differ from path" },
	{ "[auth]\nalgorithm = RS256\n", 0,
	    "[auth] public_key_file: required for RS256" },
	{ "[auth]\nalgorithm = ES256\npublic_key_file =\n", 3,
	    "[auth] public_key_file: required for ES256" },
	{ "[auth]\nsecret_file =\n", 2,
	    "[auth] secret_file: HS256 needs secret_file or secret" },
	{ "[auth]\nsecret = s3cr3t\nsecret_file = ./x\n", 2,
	    "[auth] secret: set secret or secret_file, not both" },
	{ "[api]\nkey_file =\n", 2,
	    "[api] key_file: required when [api] listen is set" },
	{ "[tls]\nlisten = 0.0.0.0:8443\n", 0,
	    "[tls] cert_file: required when [tls] listen is set" },
	{ "[tls]\nlisten = 0.0.0.0:8443\ncert_file = c.pem\n", 0,
	    "[tls] key_file: required when [tls] listen is set" },
	{ "[api]\nlisten = 127.0.0.1:8080\n", 2,
	    "[api] listen: same address as [server] listen" },
	{ "[server]\nlisten = [::1]:9\n[tls]\nlisten = [::1]:9\n"
	    "cert_file = c\nkey_file = k\n", 4,
	    "[tls] listen: same address as [server] listen" },
};

START_TEST(test_bad_value)
{
	struct parley_config	c;
	char			err[512], pre[128];

	memset(&c, 0xa5, sizeof(c));
	ck_assert_msg(load_text(bad[_i].text, &c, err, sizeof(err)) == -1,
	    "'%s' loaded", bad[_i].text);
	where(pre, sizeof(pre), bad[_i].line);
	ck_assert_msg(strncmp(err, pre, strlen(pre)) == 0,
	    "'%s': '%s' does not start with '%s'", bad[_i].text, err, pre);
	ck_assert_msg(strstr(err, bad[_i].want) != NULL,
	    "'%s': '%s' lacks '%s'", bad[_i].text, err, bad[_i].want);
	/* *cfg is zeroed on failure, so freeing it again is harmless. */
	ck_assert_ptr_null(c.listen);
	ck_assert_ptr_null(c.cfg_path);
	cfg_free(&c);
}
END_TEST

/* ---- details ---- */

START_TEST(test_unknown_key_exact)
{
	struct parley_config	c;
	char			err[512], want[256];

	ck_assert_int_eq(load_text("[server]\nlisten = 1.2.3.4:1\nbogus = 1\n",
	    &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: unknown key 'bogus' in section "
	    "[server]", tmp_path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_planned_warns)
{
	struct parley_config	c;
	char			err[512];

	/* The [limits] rate keys are BUILT: set, and no warning. */
	ck_assert_int_eq(load_text("[server]\nworkers = 2\n[limits]\n"
	    "send_rate = 7\nmax_text = 100\n", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(nwarns, 0);
	ck_assert_int_eq(c.send_rate, 7);
	ck_assert_int_eq(c.max_text, 100);
	cfg_free(&c);

	/* permessage_deflate is BUILT: set, and no warning. */
	ck_assert_int_eq(load_text("[tls]\nlisten = [::]:8443\n"
	    "cert_file = c.pem\nkey_file = k.pem\n[websocket]\n"
	    "permessage_deflate = no\n", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(nwarns, 0);
	ck_assert_str_eq(c.tls_listen, "[::]:8443");
	ck_assert(!c.permessage_deflate);
	cfg_free(&c);

	/* warn may be NULL */
	snprintf(tmp_path, sizeof(tmp_path), "/tmp/check_config.XXXXXX");
	{
		int	fd = mkstemp(tmp_path);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "[limits]\nsend_rate = 3\n", 23), 23);
		close(fd);
	}
	ck_assert_int_eq(cfg_load(tmp_path, &c, err, sizeof(err), NULL), 0);
	unlink(tmp_path);
	ck_assert_int_eq(c.send_rate, 3);
	cfg_free(&c);
}
END_TEST

START_TEST(test_inline_secret)
{
	struct parley_config	c;
	char			err[512];

	/* An inline secret replaces the default secret_file. */
	ck_assert_int_eq(load_text("[auth]\nsecret = s3cr3t ; inline\n", &c,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(c.secret, "s3cr3t");
	ck_assert_str_eq(c.secret_file, "");
	cfg_free(&c);
	ck_assert_int_eq(load_text("[auth]\nalgorithm = RS256\n"
	    "public_key_file = pub.pem\n", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.public_key_file, "pub.pem");
	cfg_free(&c);
}
END_TEST

/* Lines past libinih's 200-byte buffer keep their values and line count. */
START_TEST(test_long_line)
{
	struct parley_config	c;
	char			text[4096], origins[2048], err[512], pre[64];
	size_t			n = 0;
	int			i;

	origins[0] = '\0';
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(origins + n, sizeof(origins) - n,
		    "%shttps://app%d.example.com", i ? " " : "", i);
	snprintf(text, sizeof(text), "[websocket]\nallowed_origins = %s\n"
	    "path = /chat\n", origins);
	ck_assert_msg(load_text(text, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.allowed_origins, origins);
	ck_assert_str_eq(c.ws_path, "/chat");
	cfg_free(&c);

	snprintf(text, sizeof(text), "[websocket]\nallowed_origins = %s\n"
	    "bogus = 1\n", origins);
	ck_assert_int_eq(load_text(text, &c, err, sizeof(err)), -1);
	where(pre, sizeof(pre), 3);
	ck_assert_msg(strncmp(err, pre, strlen(pre)) == 0, "%s", err);
}
END_TEST

START_TEST(test_open_error)
{
	struct parley_config	c;
	char			err[512];

	ck_assert_int_eq(cfg_load("/nonexistent/parley.conf", &c, err,
	    sizeof(err), NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/parley.conf: cannot "
	    "open: "));
	ck_assert_ptr_null(c.listen);
	/* err may be NULL */
	ck_assert_int_eq(cfg_load("/nonexistent/parley.conf", &c, NULL, 0,
	    NULL), -1);
}
END_TEST

/* ---- host:port ---- */

static const struct {
	const char	*in;
	int		 rc;
	const char	*host, *port;
} hostports[] = {
	{ "127.0.0.1:8080", 0, "127.0.0.1", "8080" },
	{ "localhost:0", 0, "localhost", "0" },
	{ "0.0.0.0:65535", 0, "0.0.0.0", "65535" },
	{ "[::1]:8080", 0, "::1", "8080" },
	{ "[::]:443", 0, "::", "443" },
	{ "[fe80::1%eth0]:80", 0, "fe80::1%eth0", "80" },
	{ "example.com:00080", 0, "example.com", "00080" },
	{ "127.0.0.1", -1, NULL, NULL },		/* no port */
	{ "127.0.0.1:", -1, NULL, NULL },
	{ "[::1]", -1, NULL, NULL },
	{ "[::1]:", -1, NULL, NULL },
	{ "::1:8080", -1, NULL, NULL },			/* v6 needs [] */
	{ ":8080", -1, NULL, NULL },			/* no host */
	{ "[]:8080", -1, NULL, NULL },
	{ "host:65536", -1, NULL, NULL },		/* bad ports */
	{ "host:123456", -1, NULL, NULL },
	{ "host:-1", -1, NULL, NULL },
	{ "host:80x", -1, NULL, NULL },
	{ "host:+80", -1, NULL, NULL },
	{ "host: 80", -1, NULL, NULL },
	{ "ho st:80", -1, NULL, NULL },
	{ "[::1]x:80", -1, NULL, NULL },
	{ "", -1, NULL, NULL },
};

START_TEST(test_hostport)
{
	char	host[64], port[8];
	int	rc;

	rc = cfg_split_hostport(hostports[_i].in, host, sizeof(host), port,
	    sizeof(port));
	ck_assert_msg(rc == hostports[_i].rc, "'%s': rc %d", hostports[_i].in,
	    rc);
	if (rc == 0) {
		ck_assert_str_eq(host, hostports[_i].host);
		ck_assert_str_eq(port, hostports[_i].port);
	}
	/* validation only */
	ck_assert_int_eq(cfg_split_hostport(hostports[_i].in, NULL, 0, NULL,
	    0), hostports[_i].rc);
}
END_TEST

START_TEST(test_hostport_short_buffers)
{
	char	host[4], port[3];

	ck_assert_int_eq(cfg_split_hostport("localhost:80", host,
	    sizeof(host), port, sizeof(port)), -1);
	ck_assert_int_eq(cfg_split_hostport("abc:8080", host, sizeof(host),
	    port, sizeof(port)), -1);
	ck_assert_int_eq(cfg_split_hostport("abc:80", host, sizeof(host),
	    port, sizeof(port)), 0);
	ck_assert_str_eq(host, "abc");
	ck_assert_int_eq(cfg_split_hostport(NULL, NULL, 0, NULL, 0), -1);
}
END_TEST

/* ---- the shipped etc/parley.conf ---- */

static void
shipped_path(char *buf, size_t len)
{
	const char	*dir;

	if ((dir = getenv("PARLEY_SRCDIR")) == NULL &&
	    (dir = getenv("srcdir")) == NULL)
		dir = ".";
	snprintf(buf, len, "%s/etc/parley.conf", dir);
}

START_TEST(test_shipped_loads)
{
	struct parley_config	c, d;
	char			path[1024], err[512];

	shipped_path(path, sizeof(path));
	nwarns = 0;
	ck_assert_msg(cfg_load(path, &c, err, sizeof(err), capture_warn) == 0,
	    "%s", err);
	cfg_defaults(&d);
	assert_same(&c, &d, path);
	cfg_free(&c);
	cfg_free(&d);
}
END_TEST

/* Every key is in the shipped file, in its section, with a comment above. */
START_TEST(test_shipped_lists_every_key)
{
	FILE	*fp;
	char	 path[1024], line[1024], section[64] = "", prev[1024] = "";
	char	 k[128], v[512];
	int	 found = 0;

	shipped_path(path, sizeof(path));
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '[')
			sscanf(line, "[%63[^]]", section);
		else if (line[0] != ';' && line[0] != '#' && line[0] != '\0') {
			k[0] = v[0] = '\0';
			sscanf(line, "%127s = %511[^\n]", k, v);
			if (strcmp(section, appendix_a[_i].section) == 0 &&
			    strcmp(k, appendix_a[_i].key) == 0) {
				found++;
				ck_assert_msg(strcmp(v, appendix_a[_i].dflt)
				    == 0, "[%s] %s = '%s', default '%s'",
				    section, k, v, appendix_a[_i].dflt);
				ck_assert_msg(prev[0] == ';' || prev[0] == '#',
				    "[%s] %s has no comment line", section, k);
			}
		}
		snprintf(prev, sizeof(prev), "%s", line);
	}
	fclose(fp);
	ck_assert_msg(found == 1, "[%s] %s found %d times",
	    appendix_a[_i].section, appendix_a[_i].key, found);
}
END_TEST

/* ---- suite ---- */

/* ---- preflight: the pure checks of daemon/preflight.c ---- */

START_TEST(test_preflight_mode)
{
	static const struct {
		unsigned	mode;
		int		ok;
	} modes[] = {
		{ 0600, 1 }, { 0400, 1 }, { 0700, 1 }, { 0610, 1 }, { 0601, 1 },
		{ 0644, 0 }, { 0640, 0 }, { 0604, 0 }, { 0620, 0 }, { 0602, 0 },
		{ 0666, 0 }, { 0100644, 0 },
	};
	char	err[256], want[256];
	size_t	i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(preflight_mode_ok("secret_file",
		    "./var/jwt.secret", modes[i].mode, err, sizeof(err)),
		    modes[i].ok ? 0 : -1);
		if (modes[i].ok)
			continue;
		snprintf(want, sizeof(want), "secret_file ./var/jwt.secret has "
		    "mode %04o; it must not be readable or writable by group "
		    "or others (chmod 600)", modes[i].mode & 07777);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

START_TEST(test_preflight_secret_length)
{
	char	err[256];

	ck_assert_int_eq(preflight_secret_ok("HS256", 32, err, sizeof(err)), 0);
	ck_assert_int_eq(preflight_secret_ok("HS512", 64, err, sizeof(err)), 0);
	ck_assert_int_eq(preflight_secret_ok("RS256", 0, err, sizeof(err)), 0);
	ck_assert_int_eq(preflight_secret_ok("HS256", 16, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "the HS256 secret is 16 bytes; it must be at "
	    "least 32 (e.g. 32 random bytes, hex-encoded)");
	ck_assert_int_eq(preflight_secret_ok("HS384", 31, err, sizeof(err)),
	    -1);
}
END_TEST

/* cfg_load_mem reads like cfg_load, errors named after the buffer. */
START_TEST(test_load_mem)
{
	static const char text[] = "[tls]\nmin_version = TLSv1.3\n"
	    "[auth]\nsecret = 0123456789abcdef0123456789abcdef ; inline\n";
	struct parley_config	c;
	char			err[512];

	ck_assert_int_eq(cfg_load_mem("mem.conf", text, sizeof(text) - 1, &c,
	    err, sizeof(err), NULL), 0);
	ck_assert_int_eq(c.tls_min_version, CFG_TLS_1_3);
	ck_assert_str_eq(c.secret, "0123456789abcdef0123456789abcdef");
	ck_assert_str_eq(c.cfg_path, "mem.conf");
	cfg_free(&c);
	ck_assert_int_eq(cfg_load_mem("mem.conf", "", 0, &c, err,
	    sizeof(err), NULL), 0);
	cfg_free(&c);
	ck_assert_int_eq(cfg_load_mem("mem.conf", "[x\n", 3, &c, err,
	    sizeof(err), NULL), -1);
	ck_assert_msg(strncmp(err, "mem.conf:1: ", 12) == 0, "%s", err);
}
END_TEST

/* A value with '=' and ':' in it survives the reader handing libinih
 * only the key part of a line. */
START_TEST(test_value_kept_from_line)
{
	struct parley_config	c;
	char			err[512];

	ck_assert_msg(load_text("[auth]\nsecret = a=b:c;d#e ; comment\n"
	    "issuer : https://x.example:8443/a=b\n", &c, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.secret, "a=b:c;d#e");
	ck_assert_str_eq(c.issuer, "https://x.example:8443/a=b");
	cfg_free(&c);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("defaults");
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_appendix_a_key, 0, NAPPA);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_appendix_a_example);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_good_value, 0,
	    sizeof(good) / sizeof(good[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad_value, 0,
	    sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_unknown_key_exact);
	tcase_add_test(tc, test_open_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("details");
	tcase_add_test(tc, test_planned_warns);
	tcase_add_test(tc, test_inline_secret);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostport");
	tcase_add_loop_test(tc, test_hostport, 0,
	    sizeof(hostports) / sizeof(hostports[0]));
	tcase_add_test(tc, test_hostport_short_buffers);
	suite_add_tcase(s, tc);

	tc = tcase_create("preflight");
	tcase_add_test(tc, test_preflight_mode);
	tcase_add_test(tc, test_preflight_secret_length);
	tcase_add_test(tc, test_load_mem);
	tcase_add_test(tc, test_value_kept_from_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("shipped");
	tcase_add_test(tc, test_shipped_loads);
	tcase_add_loop_test(tc, test_shipped_lists_every_key, 0, NAPPA);
	suite_add_tcase(s, tc);
	return s;
}
