/* ctl_cmds.c: the parleyctl commands, one handler each, in one table. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "chatstate.h"
#include "control.h"
#include "deliver.h"
#include "registry.h"
#include "room.h"
#include "state.h"
#include "util.h"
#include "ws_close.h"

struct ctl_cmd {
	const char	*cmd_name;
	int		 cmd_min_args, cmd_max_args;	/* after the name */
	const char	*cmd_usage;
	int		(*cmd_exec)(struct broker *, int, char **,
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
	for (int i = 1; i <= CFG_MAX_WORKERS; i++) {
		const struct bworker *bw = &b->b_workers[i];

		if (bw->bw_peer == NULL)
			continue;
		evbuffer_add_printf(out, "worker %d pid=%d uptime=%ld "
		    "connections=%zu\n", i, (int)bw->bw_pid,
		    uptime_s(bw->bw_start_ms), registry_count(bw));
		total += registry_count(bw);
	}
	evbuffer_add_printf(out, "total connections=%zu\n", total);
	return 0;
}

#define CTL_MAX_REASON	100

/* Close every connection of a user with 4403. */
static int
ctl_cmd_kick(struct broker *b, int argc, char **argv, struct evbuffer *out)
{
	const char *user = argv[1];
	const char *reason = argc > 2 ? argv[2] : "kicked by the operator";
	struct registry_iter it = { 0 };
	struct bconn *bc;
	size_t n = 0;

	/* It travels in a close frame: short, valid UTF-8, no controls. */
	if (strlen(reason) > CTL_MAX_REASON ||
	    chat_text_count(reason, strlen(reason), CHAT_TEXT_NOCTL) < 0) {
		evbuffer_add_printf(out, "the reason must be at most %d bytes "
		    "of UTF-8 text\n", CTL_MAX_REASON);
		return 1;
	}
	while (registry_next(b, &it, &bc)) {
		struct chat_conn *cc = bc->bc_chat;

		if (cc == NULL || !cc->cc_authed || bc->bc_kicked ||
		    strcmp(cc->cc_id.ci_user, user) != 0)
			continue;
		deliver_close(b, bc, WS_CLOSE_FORBIDDEN, reason);
		n++;
	}
	if (n == 0) {
		evbuffer_add_printf(out, "no connection of user '%s'\n", user);
		return 1;
	}
	evbuffer_add_printf(out, "kicked %zu connections of user '%s'\n", n,
	    user);
	return 0;
}

static void
ctl_room_line(const char *name, void *val, void *arg)
{
	const struct room *r = val;

	evbuffer_add_printf(arg, "room %s connections=%zu users=%zu\n", name,
	    r->r_nmembers, room_user_count(r));
}

/* The rooms with live members, in no particular order. */
static int
ctl_cmd_rooms(struct broker *b, int argc, char **argv, struct evbuffer *out)
{
	struct chat_state *cs = b->b_chat;

	strmap_each(&cs->cs_rooms.rtb_rooms, ctl_room_line, out);
	evbuffer_add_printf(out, "total rooms=%zu\n",
	    cs->cs_rooms.rtb_rooms.smap_count);
	return 0;
}

static int ctl_cmd_help(struct broker *, int, char **, struct evbuffer *);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", 0, 0, "status", ctl_cmd_status },
	{ "rooms", 0, 0, "rooms", ctl_cmd_rooms },
	{ "kick", 1, 2, "kick USER [REASON]", ctl_cmd_kick },
	{ "help", 0, 0, "help", ctl_cmd_help },
};

static int
ctl_cmd_help(struct broker *b, int argc, char **argv, struct evbuffer *out)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		evbuffer_add_printf(out, "%s\n", ctl_cmds[i].cmd_usage);
	return 0;
}

int
ctl_dispatch(struct broker *b, int argc, char **argv, struct evbuffer *out)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		const struct ctl_cmd *cmd = &ctl_cmds[i];

		if (strcmp(argv[0], cmd->cmd_name) != 0)
			continue;
		if (argc - 1 < cmd->cmd_min_args ||
		    argc - 1 > cmd->cmd_max_args) {
			evbuffer_add_printf(out, "usage: %s\n", cmd->cmd_usage);
			return 1;
		}
		return cmd->cmd_exec(b, argc, argv, out);
	}
	evbuffer_add_printf(out, "unknown command '%s' (try 'help')\n",
	    argv[0]);
	return 1;
}
