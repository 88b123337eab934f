/*
 * supervisor.c: parleyd's master.  It binds every listening socket, forks
 * one broker and N workers, wires each worker to the broker with a fresh
 * socketpair passed over the children's SOCK_SEQPACKET channels, restarts a
 * child that dies (exponential back-off), and runs the graceful stop:
 * workers drain first (clients get 1001), then the broker flushes.
 * Signals reach it through libevent, in the loop, never in signal context.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/unistd.h>
#include <event2/event.h>

#include "broker.h"
#include "config.h"
#include "fdlimit.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "peer.h"
#include "preflight.h"
#include "runfile.h"
#include "supervisor.h"
#include "util.h"
#include "worker.h"

#define SUP_BACKOFF_MIN_MS	100
#define SUP_BACKOFF_MAX_MS	10000
#define SUP_STABLE_MS		10000	/* a child up this long resets back-off */
#define SUP_STOP_DEADLINE_S	10	/* then SIGKILL what is left */
#define SUP_RETRY_S		1	/* after a failed socketpair or fork */

struct child {
	enum ipc_role	 ch_role;
	int		 ch_slot;	/* worker 1..N; 0 for the broker */
	char		 ch_name[24];
	pid_t		 ch_pid;	/* 0 when not running */
	struct chan	*ch_chan;
	int64_t		 ch_start_ms;	/* wall clock, for uptime */
	uint64_t	 ch_start_mono;
	unsigned	 ch_backoff_ms;
	struct event	*ch_restart;	/* pending respawn */
	bool		 ch_ready;	/* said IPC_HELLO */
	bool		 ch_replacing;	/* drained for a reload: respawn at once */
};

struct supervisor {
	struct event_base	*s_base;
	struct parley_config	*s_cfg;
	int			 s_nworkers;
	int			*s_ws_fds;	/* one SO_REUSEPORT socket per worker */
	int			*s_tls_fds;
	int			 s_api_fd;
	int			 s_ctl_fd;
	int			 s_ws_port, s_tls_port, s_api_port;
	struct child		 s_broker;
	struct child		*s_workers;
	bool			 s_stopping;
	int			 s_reload_next;	/* -1: no reload; 0 broker, i worker i */
	bool			 s_ports_written;
	struct event		*s_kill_timer;
	struct event		*s_signals[6];
	int64_t			 s_start_ms;
	char			 s_pidfile[4096];
	char			 s_portsfile[4096];
	char			 s_sockpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* The supervisor's whole state.  Children inherit it and never touch it. */
static struct supervisor sup;

static const int sup_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1 };

static void	child_spawn(struct child *ch);
static void	reload_step(void);

/* The process title ps shows ("parleyd: worker 1").  libbsd marks the end
 * of the original argv[0] with a '.' when the title is shorter, so pad it
 * with blanks to that length. */
static void
set_title(const char *fmt, ...)
{
	char title[128];
	size_t len, min = strlen(program_invocation_name) + 1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	for (len = strlen(title); len < min && len + 1 < sizeof(title); len++)
		title[len] = ' ';
	title[len] = '\0';
	setproctitle("-%s", title);
}

/* Child side of fork(). */

/* Drop what the supervisor holds that this child must not: other
 * children's channels and listeners, and the supervisor's signal setup. */
static void
child_detach(const struct child *self, int keep1, int keep2)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(sup_signals) / sizeof(sup_signals[0]); i++)
		sigaction(sup_signals[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Frees libevent's process-wide signal state along with the base, so
	 * the child's own base can take signals over. */
	event_base_free(sup.s_base);
	sup.s_base = NULL;
	/* Ctrl-C in a foreground terminal reaches the whole group: only the
	 * supervisor decides when children stop. */
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	if (sup.s_broker.ch_chan != NULL && self != &sup.s_broker)
		close(sup.s_broker.ch_chan->c_fd);
	for (int i = 0; i < sup.s_nworkers; i++) {
		const struct child *w = &sup.s_workers[i];

		if (w->ch_chan != NULL && w != self)
			close(w->ch_chan->c_fd);
		if (sup.s_ws_fds[i] != keep1)
			close(sup.s_ws_fds[i]);
		if (sup.s_tls_fds != NULL && sup.s_tls_fds[i] != keep2)
			close(sup.s_tls_fds[i]);
	}
	if (sup.s_api_fd != -1 && sup.s_api_fd != keep1)
		close(sup.s_api_fd);
	if (sup.s_ctl_fd != keep2)
		close(sup.s_ctl_fd);
}

/* Wiring. */

static void
send_peer_setup(struct child *to, int fd, const struct child *other)
{
	struct ipc_msg m;

	ipc_msg_init(&m, IPC_PEER_SETUP, 0);
	ipc_add_u32(&m, (uint32_t)other->ch_slot);
	ipc_add_u32(&m, (uint32_t)other->ch_pid);
	ipc_add_i64(&m, other->ch_start_ms);
	chan_send(to->ch_chan, &m, fd);
}

/* A fresh socketpair between the broker and one worker. */
static void
link_worker(struct child *w)
{
	int sv[2];

	/* Both ends need a live channel; a child whose channel is gone is
	 * about to be reaped and linked again when it comes back. */
	if (sup.s_broker.ch_pid == 0 || w->ch_pid == 0 || sup.s_stopping ||
	    sup.s_broker.ch_chan == NULL || w->ch_chan == NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("link", "socketpair for %s", w->ch_name);
		return;
	}
	send_peer_setup(&sup.s_broker, sv[0], w);
	send_peer_setup(w, sv[1], &sup.s_broker);
	close(sv[0]);
	close(sv[1]);
}

static void
send_sup_info(void)
{
	struct ipc_msg m;

	if (sup.s_broker.ch_chan == NULL)
		return;
	ipc_msg_init(&m, IPC_SUP_INFO, 0);
	ipc_add_u32(&m, (uint32_t)getpid());
	ipc_add_i64(&m, sup.s_start_ms);
	chan_send(sup.s_broker.ch_chan, &m, -1);
}

static void
write_ports_when_ready(void)
{
	char text[128];

	if (sup.s_ports_written || !sup.s_broker.ch_ready)
		return;
	for (int i = 0; i < sup.s_nworkers; i++)
		if (!sup.s_workers[i].ch_ready)
			return;
	snprintf(text, sizeof(text), "{\"ws\": %d, \"api\": %d, \"tls\": %d}\n",
	    sup.s_ws_port, sup.s_api_port, sup.s_tls_port);
	runfile_write(sup.s_portsfile, text);
	sup.s_ports_written = true;
	log_info("ready", "ws port %d, api port %d, tls port %d, %d workers",
	    sup.s_ws_port, sup.s_api_port, sup.s_tls_port, sup.s_nworkers);
}

/* Messages from children. */

static struct child *
reload_child(int i)
{
	return i == 0 ? &sup.s_broker : &sup.s_workers[i - 1];
}

static int
sup_on_hello(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r,
    int *fdp)
{
	struct child *ch = ctx;
	uint32_t version, slot, pid;
	uint8_t role;

	if (ipc_get_u32(r, &version) == -1 || ipc_get_u8(r, &role) == -1 ||
	    ipc_get_u32(r, &slot) == -1 || ipc_get_u32(r, &pid) == -1 ||
	    ipc_end(r) == -1)
		return -1;
	if (ipc_version_check(version, ch->ch_name) == -1 ||
	    role != ch->ch_role || (pid_t)pid != ch->ch_pid)
		return -1;
	ch->ch_ready = true;
	log_debug("child_ready", "%s pid %d", ch->ch_name, ch->ch_pid);
	write_ports_when_ready();
	/* A reload replaces one process at a time: the next once this one
	 * is up, so clients always have somewhere to reconnect. */
	if (sup.s_reload_next >= 0 && ch == reload_child(sup.s_reload_next)) {
		sup.s_reload_next++;
		reload_step();
	}
	return 0;
}

static const struct ipc_handler sup_from_child[] = {
	{ IPC_HELLO,	sup_on_hello },
	{ 0, NULL }
};

static void
sup_chan_lost(struct chan *c, void *ctx)
{
	struct child *ch = ctx;

	/* The exit itself comes through SIGCHLD; just forget the channel. */
	chan_free(ch->ch_chan);
	ch->ch_chan = NULL;
}

/* Process life cycle. */

static void
restart_cb(evutil_socket_t fd, short what, void *arg)
{
	child_spawn(arg);
}

static void
child_spawn(struct child *ch)
{
	int sv[2];
	pid_t pid;

	/* Out of descriptors or processes is no reason to give up on a
	 * respawn: try again in a second, like a failed fork. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("spawn", "socketpair for %s", ch->ch_name);
		event_add(ch->ch_restart,
		    &(struct timeval){ SUP_RETRY_S, 0 });
		return;
	}
	ch->ch_start_ms = now_wall_ms();
	ch->ch_start_mono = now_mono_ms();
	ch->ch_ready = false;
	switch ((pid = fork())) {
	case -1:
		log_warn("spawn", "fork %s", ch->ch_name);
		close(sv[0]);
		close(sv[1]);
		event_add(ch->ch_restart,
		    &(struct timeval){ SUP_RETRY_S, 0 });
		return;
	case 0:
		close(sv[0]);
		if (ch->ch_role == IPC_ROLE_BROKER) {
			child_detach(ch, sup.s_api_fd, sup.s_ctl_fd);
			set_title("parleyd: broker");
			log_init("broker", -1, sup.s_cfg->log_debug);
			exit(broker_main(sup.s_cfg, sv[1], sup.s_api_fd,
			    sup.s_ctl_fd));
		}
		{
			int i = ch->ch_slot - 1;
			int tls = sup.s_tls_fds ? sup.s_tls_fds[i] : -1;

			child_detach(ch, sup.s_ws_fds[i], tls);
			set_title("parleyd: worker %d", ch->ch_slot);
			log_init("worker", ch->ch_slot, sup.s_cfg->log_debug);
			exit(worker_main(sup.s_cfg, ch->ch_slot, sv[1],
			    sup.s_ws_fds[i], tls));
		}
	}
	close(sv[1]);
	ch->ch_pid = pid;
	ch->ch_chan = chan_new(sup.s_base, sv[0], ch->ch_name, sup_from_child,
	    ch, sup_chan_lost);
	log_info("child_started", "%s pid %d", ch->ch_name, (int)pid);
	if (ch->ch_role == IPC_ROLE_BROKER) {
		send_sup_info();
		for (int i = 0; i < sup.s_nworkers; i++)
			link_worker(&sup.s_workers[i]);
	} else
		link_worker(ch);
}

static void
stop_finish_if_done(void)
{
	for (int i = 0; i < sup.s_nworkers; i++)
		if (sup.s_workers[i].ch_pid != 0)
			return;
	if (sup.s_broker.ch_pid != 0) {
		/* Workers are gone: now the broker may flush and exit. */
		if (sup.s_broker.ch_chan != NULL) {
			struct ipc_msg m;

			ipc_msg_init(&m, IPC_DRAIN, 0);
			chan_send(sup.s_broker.ch_chan, &m, -1);
		}
		return;
	}
	event_base_loopexit(sup.s_base, NULL);
}

static void
child_exited(struct child *ch, int status)
{
	uint64_t lived = now_mono_ms() - ch->ch_start_mono;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && sup.s_stopping)
		log_info("child_exit", "%s pid %d exited", ch->ch_name,
		    ch->ch_pid);
	else if (WIFEXITED(status))
		log_warnx("child_exit", "%s pid %d exited with status %d",
		    ch->ch_name, ch->ch_pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("child_exit", "%s pid %d killed by signal %d (%s)%s",
		    ch->ch_name, ch->ch_pid, WTERMSIG(status),
		    strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	ch->ch_pid = 0;
	ch->ch_ready = false;
	if (ch->ch_chan != NULL) {
		chan_free(ch->ch_chan);
		ch->ch_chan = NULL;
	}
	if (sup.s_stopping) {
		stop_finish_if_done();
		return;
	}
	if (ch->ch_replacing && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ch->ch_replacing = false;
		child_spawn(ch);
		return;
	}
	ch->ch_replacing = false;
	if (lived >= SUP_STABLE_MS)
		ch->ch_backoff_ms = SUP_BACKOFF_MIN_MS;
	log_info("child_restart", "restarting %s in %u ms", ch->ch_name,
	    ch->ch_backoff_ms);
	event_add(ch->ch_restart, &(struct timeval){
	    ch->ch_backoff_ms / 1000, (ch->ch_backoff_ms % 1000) * 1000 });
	ch->ch_backoff_ms *= 2;
	if (ch->ch_backoff_ms > SUP_BACKOFF_MAX_MS)
		ch->ch_backoff_ms = SUP_BACKOFF_MAX_MS;
}

static struct child *
child_by_pid(pid_t pid)
{
	if (sup.s_broker.ch_pid == pid)
		return &sup.s_broker;
	for (int i = 0; i < sup.s_nworkers; i++)
		if (sup.s_workers[i].ch_pid == pid)
			return &sup.s_workers[i];
	return NULL;
}

static void
reap_children(void)
{
	struct child *ch;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((ch = child_by_pid(pid)) != NULL)
			child_exited(ch, status);
}

static void
kill_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("stop_deadline", "children still running after %d s: "
	    "sending SIGKILL", SUP_STOP_DEADLINE_S);
	if (sup.s_broker.ch_pid != 0)
		kill(sup.s_broker.ch_pid, SIGKILL);
	for (int i = 0; i < sup.s_nworkers; i++)
		if (sup.s_workers[i].ch_pid != 0)
			kill(sup.s_workers[i].ch_pid, SIGKILL);
}

static void
begin_stop(const char *why)
{
	struct ipc_msg m;

	if (sup.s_stopping)
		return;
	sup.s_stopping = true;
	log_info("stopping", "%s: draining workers", why);
	event_del(sup.s_broker.ch_restart);
	for (int i = 0; i < sup.s_nworkers; i++) {
		struct child *w = &sup.s_workers[i];

		event_del(w->ch_restart);
		if (w->ch_chan != NULL) {
			ipc_msg_init(&m, IPC_DRAIN, 0);
			chan_send(w->ch_chan, &m, -1);
		} else if (w->ch_pid != 0)
			kill(w->ch_pid, SIGTERM);
	}
	event_add(sup.s_kill_timer,
	    &(struct timeval){ SUP_STOP_DEADLINE_S, 0 });
	stop_finish_if_done();
}

/* Reload: SIGHUP. */

/* Drain the next process of the reload, or finish. */
static void
reload_step(void)
{
	struct ipc_msg m;
	struct child *ch;

	for (; sup.s_reload_next <= sup.s_nworkers; sup.s_reload_next++) {
		ch = reload_child(sup.s_reload_next);
		if (ch->ch_pid == 0 || ch->ch_chan == NULL)
			continue;	/* down: its respawn uses the new config */
		ch->ch_replacing = true;
		log_info("reload_replace", "replacing %s pid %d", ch->ch_name,
		    ch->ch_pid);
		ipc_msg_init(&m, IPC_DRAIN, 0);
		chan_send(ch->ch_chan, &m, -1);
		return;
	}
	sup.s_reload_next = -1;
	log_info("reload_done", "every process runs the new configuration");
}

static void
config_warning(const char *msg)
{
	log_warnx("config", "%s", msg);
}

/* Keep a setting that needs a restart; say so if it changed. */
static void
keep_fixed(char **newv, char *oldv, const char *name)
{
	if (strcmp(*newv, oldv) != 0)
		log_warnx("reload", "%s changed: restart parleyd to apply it",
		    name);
	free(*newv);
	*newv = xstrdup(oldv);
}

/*
 * Read the configuration again; if it is whole and its keys load, swap it
 * in and replace the broker, then each worker, one at a time (workers
 * close their clients with 1001, which reconnect to the others).  A bad
 * file changes nothing (httpd's parent_reload).
 */
static void
reload(void)
{
	struct parley_config next, *cur = sup.s_cfg;
	char err[1024];

	if (sup.s_stopping)
		return;
	/* A reload that is stuck (a replacement that cannot start) must not
	 * block the fix: a new SIGHUP starts over with the new file. */
	if (sup.s_reload_next >= 0) {
		log_warnx("reload", "a reload was under way; starting over");
		sup.s_reload_next = -1;
		sup.s_broker.ch_replacing = false;
		for (int i = 0; i < sup.s_nworkers; i++)
			sup.s_workers[i].ch_replacing = false;
	}
	if (cur->cfg_path == NULL) {
		log_warnx("reload", "no configuration file to read again");
		return;
	}
	if (cfg_load(cur->cfg_path, &next, err, sizeof(err),
	    config_warning) == -1) {
		log_warnx("reload_failed", "%s; keeping the running "
		    "configuration", err);
		return;
	}
	if (mkdir_p(next.data_dir, 0700) == -1) {
		log_warn("reload_failed", "%s: data_dir %s; keeping the running "
		    "configuration", cur->cfg_path, next.data_dir);
		cfg_free(&next);
		return;
	}
	if (preflight_check(&next, err, sizeof(err), config_warning) == -1) {
		log_warnx("reload_failed", "%s: %s; keeping the running "
		    "configuration", cur->cfg_path, err);
		cfg_free(&next);
		return;
	}
	/* Sockets and the process count belong to this supervisor. */
	keep_fixed(&next.listen, cur->listen, "[server] listen");
	keep_fixed(&next.tls_listen, cur->tls_listen, "[tls] listen");
	keep_fixed(&next.api_listen, cur->api_listen, "[api] listen");
	keep_fixed(&next.run_dir, cur->run_dir, "[server] run_dir");
	keep_fixed(&next.log_file, cur->log_file, "[server] log_file");
	if (next.workers != 0 && next.workers != sup.s_nworkers)
		log_warnx("reload", "[server] workers changed: restart parleyd "
		    "to apply it");
	next.workers = sup.s_nworkers;
	next.log_debug = next.log_debug || cur->log_debug;
	cfg_free(cur);
	*cur = next;
	log_info("reload", "configuration %s read again; replacing the "
	    "processes", cur->cfg_path);
	sup.s_reload_next = 0;
	reload_step();
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		begin_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGCHLD:
		reap_children();
		break;
	case SIGHUP:
		reload();
		break;
	case SIGUSR1:
		/* logrotate signals the pidfile's process: pass it on, so
		 * every process reopens the file. */
		if (log_reopen() == -1)
			log_warn("log_reopen", "%s", sup.s_cfg->log_file);
		if (sup.s_broker.ch_pid != 0)
			kill(sup.s_broker.ch_pid, SIGUSR1);
		for (int i = 0; i < sup.s_nworkers; i++)
			if (sup.s_workers[i].ch_pid != 0)
				kill(sup.s_workers[i].ch_pid, SIGUSR1);
		break;
	}
}

static void
child_init(struct child *ch, enum ipc_role role, int slot)
{
	ch->ch_role = role;
	ch->ch_slot = slot;
	if (role == IPC_ROLE_BROKER)
		snprintf(ch->ch_name, sizeof(ch->ch_name), "broker");
	else
		snprintf(ch->ch_name, sizeof(ch->ch_name), "worker %d", slot);
	ch->ch_backoff_ms = SUP_BACKOFF_MIN_MS;
	ch->ch_restart = evtimer_new(sup.s_base, restart_cb, ch);
}

int
supervisor_main(struct parley_config *cfg)
{
	struct event_config *evcfg;
	char pidtext[32];
	long ncpu;

	sup.s_cfg = cfg;
	sup.s_start_ms = now_wall_ms();
	sup.s_reload_next = -1;
	sup.s_api_fd = sup.s_ctl_fd = -1;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	sup.s_nworkers = cfg->workers > 0 ? cfg->workers : (ncpu > 0 ? (int)ncpu : 1);
	/* One per CPU, but no more than the broker has slots for. */
	if (sup.s_nworkers > CFG_MAX_WORKERS)
		sup.s_nworkers = CFG_MAX_WORKERS;
	/* Children read the resolved count (their share of the limits). */
	cfg->workers = sup.s_nworkers;
	fdlimit_raise(fdlimit_wanted(cfg->max_connections, sup.s_nworkers));

	if (mkdir_p(cfg->run_dir, 0700) == -1)
		fatal("run_dir", "%s", cfg->run_dir);
	if (mkdir_p(cfg->data_dir, 0700) == -1)
		fatal("data_dir", "%s", cfg->data_dir);
	snprintf(sup.s_pidfile, sizeof(sup.s_pidfile), "%s/%s", cfg->run_dir,
	    PARLEY_PIDFILE);
	snprintf(sup.s_portsfile, sizeof(sup.s_portsfile), "%s/%s",
	    cfg->run_dir, PARLEY_PORTSFILE);
	if ((size_t)snprintf(sup.s_sockpath, sizeof(sup.s_sockpath), "%s/%s",
	    cfg->run_dir, PARLEY_CTLSOCK) >= sizeof(sup.s_sockpath))
		fatalx("run_dir", "run_dir too long for a socket path: %s",
		    cfg->run_dir);
	unlink(sup.s_portsfile);

	sup.s_ctl_fd = listen_control(sup.s_sockpath);
	sup.s_ws_fds = listen_reuseport(cfg->listen, sup.s_nworkers,
	    &sup.s_ws_port);
	if (cfg->tls_listen[0] != '\0')
		sup.s_tls_fds = listen_reuseport(cfg->tls_listen,
		    sup.s_nworkers, &sup.s_tls_port);
	if (cfg->api_listen[0] != '\0') {
		sup.s_api_fd = listen_tcp(cfg->api_listen, 0, false);
		sup.s_api_port = listen_port(sup.s_api_fd);
	}
	snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	runfile_write(sup.s_pidfile, pidtext);

	/* poll, not epoll: an epoll set would be shared with the children
	 * after fork, and they must be able to drop the supervisor's base. */
	if ((evcfg = event_config_new()) == NULL ||
	    event_config_avoid_method(evcfg, "epoll") == -1 ||
	    (sup.s_base = event_base_new_with_config(evcfg)) == NULL)
		fatalx("libevent", "cannot create the event base");
	event_config_free(evcfg);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sup_signals) / sizeof(sup_signals[0]); i++) {
		sup.s_signals[i] = evsignal_new(sup.s_base, sup_signals[i],
		    signal_cb, NULL);
		evsignal_add(sup.s_signals[i], NULL);
	}
	sup.s_kill_timer = evtimer_new(sup.s_base, kill_timer_cb, NULL);

	child_init(&sup.s_broker, IPC_ROLE_BROKER, 0);
	sup.s_workers = xcalloc((size_t)sup.s_nworkers, sizeof(struct child));
	for (int i = 0; i < sup.s_nworkers; i++)
		child_init(&sup.s_workers[i], IPC_ROLE_WORKER, i + 1);
	set_title("parleyd: supervisor");
	log_info("starting", "parleyd %s, %d workers", PACKAGE_VERSION,
	    sup.s_nworkers);
	child_spawn(&sup.s_broker);
	for (int i = 0; i < sup.s_nworkers; i++)
		child_spawn(&sup.s_workers[i]);

	event_base_dispatch(sup.s_base);

	unlink(sup.s_portsfile);
	unlink(sup.s_pidfile);
	unlink(sup.s_sockpath);
	log_info("stopped", "all children exited");
	for (size_t i = 0; i < sizeof(sup_signals) / sizeof(sup_signals[0]); i++)
		event_free(sup.s_signals[i]);
	event_free(sup.s_kill_timer);
	event_free(sup.s_broker.ch_restart);
	for (int i = 0; i < sup.s_nworkers; i++) {
		event_free(sup.s_workers[i].ch_restart);
		close(sup.s_ws_fds[i]);
		if (sup.s_tls_fds != NULL)
			close(sup.s_tls_fds[i]);
	}
	if (sup.s_api_fd != -1)
		close(sup.s_api_fd);
	close(sup.s_ctl_fd);
	free(sup.s_workers);
	free(sup.s_ws_fds);
	free(sup.s_tls_fds);
	event_base_free(sup.s_base);
	return 0;
}
