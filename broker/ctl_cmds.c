/* ctl_cmds.c: the parleyctl commands, one handler each, in one table. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "broker.h"
#include "control.h"
#include "util.h"

struct ctl_cmd {
	const char	*cc_name;
	int		 cc_min_args, cc_max_args;	/* after the name */
	const char	*cc_usage;
	int		(*cc_exec)(struct broker *, int, char **,
			    struct evbuffer *);
};

static long
uptime_s(int64_t start_ms)
{
	return (long)((now_wall_ms() - start_ms) / 1000);
}

static int
ctl_cmd_status(struct broker *b, int argc, char **argv, struct evbuffer *out)
{
	size_t total = 0;

	evbuffer_add_printf(out, "supervisor pid=%d uptime=%ld\n",
	    (int)b->b_sup_pid, uptime_s(b->b_sup_start_ms));
	evbuffer_add_printf(out, "broker pid=%d uptime=%ld\n", (int)b->b_pid,
	    uptime_s(b->b_start_ms));
	for (int i = 1; i <= BROKER_MAX_WORKERS; i++) {
		const struct bworker *bw = &b->b_workers[i];

		if (bw->bw_peer == NULL)
			continue;
		evbuffer_add_printf(out, "worker %d pid=%d uptime=%ld "
		    "connections=%zu\n", i, (int)bw->bw_pid,
		    uptime_s(bw->bw_start_ms), broker_conn_count(bw));
		total += broker_conn_count(bw);
	}
	evbuffer_add_printf(out, "total connections=%zu\n", total);
	return 0;
}

static int ctl_cmd_help(struct broker *, int, char **, struct evbuffer *);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", 0, 0, "status", ctl_cmd_status },
	{ "help", 0, 0, "help", ctl_cmd_help },
};

static int
ctl_cmd_help(struct broker *b, int argc, char **argv, struct evbuffer *out)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		evbuffer_add_printf(out, "%s\n", ctl_cmds[i].cc_usage);
	return 0;
}

int
ctl_dispatch(struct broker *b, int argc, char **argv, struct evbuffer *out)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		const struct ctl_cmd *cmd = &ctl_cmds[i];

		if (strcmp(argv[0], cmd->cc_name) != 0)
			continue;
		if (argc - 1 < cmd->cc_min_args || argc - 1 > cmd->cc_max_args) {
			evbuffer_add_printf(out, "usage: %s\n", cmd->cc_usage);
			return 1;
		}
		return cmd->cc_exec(b, argc, argv, out);
	}
	evbuffer_add_printf(out, "unknown command '%s' (try 'help')\n",
	    argv[0]);
	return 1;
}
