/* control.c: the admin control socket.  A client connects to the Unix
 * socket under run_dir (mode 0660), is checked by peer credentials, sends
 * one IPC_CTL_REQ and gets one IPC_CTL_REPLY.  At most control_max_clients
 * at once (one more gets an error reply and is closed), each closed
 * control_timeout seconds after it connected. */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "control.h"
#include "ipc.h"
#include "log.h"
#include "peer.h"
#include "state.h"
#include "util.h"

#define CTL_MAX_ARGS		32
#define CTL_MAX_ARG_LEN		1024

static void
ctl_client_free(struct ctl_client *cc)
{
	LIST_REMOVE(cc, cli_entry);
	if (cc->cli_timeout != NULL)
		event_free(cc->cli_timeout);
	peer_free(cc->cli_peer);
	free(cc);
}

static void
ctl_client_lost(struct peer *p, void *ctx)
{
	ctl_client_free(ctx);
}

/* Held past control_timeout: an idle or stuck client must not keep a
 * place that parleyctl needs. */
static void
ctl_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_client *cc = arg;

	log_info("ctl_timeout", "control client closed after %d s",
	    cc->cli_broker->b_cfg->control_timeout);
	ctl_client_free(cc);
}

/* One more than control_max_clients: an error answer, as parleyctl reads
 * it, written straight to the new socket (it is empty, so a short reply
 * fits), then closed. */
static void
ctl_refuse(struct broker *b, int fd)
{
	struct ipc_msg m;
	char text[128];

	snprintf(text, sizeof(text), "too many control clients (%d "
	    "connected, control_max_clients); try again later\n",
	    b->b_cfg->control_max_clients);
	ipc_msg_init(&m, IPC_CTL_REPLY, 0);
	ipc_add_u32(&m, 1);
	ipc_add_str(&m, text);
	if (ipc_msg_finish(&m) == 0 &&
	    send(fd, m.im_buf, m.im_len, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)m.im_len)
		log_warn("ctl_refused", "could not send the refusal");
	ipc_msg_free(&m);
	close(fd);
}

static int
ctl_on_req(void *ctx, const struct ipc_hdr *h, struct ipc_reader *r, int *fdp)
{
	struct ctl_client *cc = ctx;
	char *argv[CTL_MAX_ARGS + 1] = { NULL };
	struct evbuffer *out = evbuffer_new();
	struct ipc_msg m;
	uint32_t argc;
	int rc = -1, status;

	if (ipc_get_u32(r, &argc) == -1 || argc == 0 || argc > CTL_MAX_ARGS)
		goto done;
	for (uint32_t i = 0; i < argc; i++)
		if (ipc_get_strdup(r, &argv[i], CTL_MAX_ARG_LEN) == -1)
			goto done;
	if (ipc_end(r) == -1)
		goto done;
	log_info("ctl_command", "%s", argv[0]);
	status = ctl_dispatch(cc->cli_broker, (int)argc, argv, out);
	ipc_msg_init(&m, IPC_CTL_REPLY, 0);
	ipc_add_u32(&m, (uint32_t)status);
	ipc_add_strn(&m, (const char *)evbuffer_pullup(out, -1),
	    evbuffer_get_length(out));
	peer_send(cc->cli_peer, &m);
	peer_close_when_flushed(cc->cli_peer);
	rc = 0;
done:
	for (uint32_t i = 0; i < CTL_MAX_ARGS; i++)
		free(argv[i]);
	evbuffer_free(out);
	return rc;
}

static const struct ipc_handler ctl_from_client[] = {
	{ IPC_CTL_REQ,	ctl_on_req },
	{ 0, NULL }
};

static size_t
ctl_nclients(struct broker *b)
{
	struct ctl_client *cc;
	size_t n = 0;

	LIST_FOREACH(cc, &b->b_ctl_clients, cli_entry)
		n++;
	return n;
}

static void
ctl_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct broker *b = arg;
	struct ctl_client *cc;
	struct timeval tv = { 0, 0 };
	struct ucred cred;
	socklen_t len = sizeof(cred);

	/* Only root and parley's own user may administer it. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warnx("ctl_refused", "uid %d may not use the control "
		    "socket", len == sizeof(cred) ? (int)cred.uid : -1);
		close(fd);
		return;
	}
	if (ctl_nclients(b) >= (size_t)b->b_cfg->control_max_clients) {
		log_warnx("ctl_refused", "too many control clients (%d)",
		    b->b_cfg->control_max_clients);
		ctl_refuse(b, fd);
		return;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->cli_broker = b;
	if ((cc->cli_peer = peer_new(b->b_base, fd, "control client",
	    ctl_from_client, cc, ctl_client_lost)) == NULL) {
		free(cc);
		return;
	}
	LIST_INSERT_HEAD(&b->b_ctl_clients, cc, cli_entry);
	if ((cc->cli_timeout = evtimer_new(b->b_base, ctl_timeout_cb, cc)) ==
	    NULL) {
		ctl_client_free(cc);
		return;
	}
	tv.tv_sec = b->b_cfg->control_timeout;
	evtimer_add(cc->cli_timeout, &tv);
}

int
control_start(struct broker *b, int fd)
{
	b->b_ctl = evconnlistener_new(b->b_base, ctl_accept, b,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	return b->b_ctl == NULL ? -1 : 0;
}

void
control_stop(struct broker *b)
{
	struct ctl_client *cc;

	while ((cc = LIST_FIRST(&b->b_ctl_clients)) != NULL)
		ctl_client_free(cc);
	if (b->b_ctl != NULL)
		evconnlistener_free(b->b_ctl);
	b->b_ctl = NULL;
}
