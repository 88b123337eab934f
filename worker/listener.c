/* listener.c: accept on this worker's own SO_REUSEPORT sockets, with a
 * one-second back-off when out of descriptors (tmux's server_accept). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "config.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "state.h"

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->w_draining)
		return;
	evconnlistener_enable(w->w_listener);
	if (w->w_tls_listener != NULL)
		evconnlistener_enable(w->w_tls_listener);
}

static void
listener_errorcb(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;
	int err = EVUTIL_SOCKET_ERROR();

	log_warnx("accept", "%s", evutil_socket_error_to_string(err));
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		evconnlistener_disable(w->w_listener);
		if (w->w_tls_listener != NULL)
			evconnlistener_disable(w->w_tls_listener);
		event_add(w->w_accept_retry, &(struct timeval){ 1, 0 });
	}
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker *w = arg;
	SSL *ssl = NULL;

	if (w->w_draining) {
		close(fd);
		return;
	}
	/* Each worker takes its share of max_connections. */
	if (w->w_nconns >= (w->w_cfg->max_connections +
	    (uint64_t)w->w_cfg->workers - 1) / (uint64_t)w->w_cfg->workers) {
		log_warnx("accept_refused", "max_connections reached");
		close(fd);
		return;
	}
	if (l == w->w_tls_listener && (ssl = SSL_new(w->w_ssl_ctx)) == NULL) {
		log_warnx("tls", "SSL_new failed");
		close(fd);
		return;
	}
	conn_new(w, fd, sa, salen, ssl);
}

static struct evconnlistener *
listener_on(struct worker *w, int fd)
{
	struct evconnlistener *l;

	l = evconnlistener_new(w->w_base, accept_cb, w,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l != NULL)
		evconnlistener_set_error_cb(l, listener_errorcb);
	return l;
}

int
listener_start(struct worker *w, int ws_fd, int tls_fd)
{
	w->w_accept_retry = evtimer_new(w->w_base, listener_resume, w);
	if ((w->w_listener = listener_on(w, ws_fd)) == NULL)
		return -1;
	if (tls_fd != -1 && w->w_ssl_ctx != NULL &&
	    (w->w_tls_listener = listener_on(w, tls_fd)) == NULL)
		return -1;
	return 0;
}

void
listener_stop(struct worker *w)
{
	if (w->w_listener != NULL)
		evconnlistener_free(w->w_listener);
	if (w->w_tls_listener != NULL)
		evconnlistener_free(w->w_tls_listener);
	w->w_listener = w->w_tls_listener = NULL;
	if (w->w_accept_retry != NULL) {
		event_free(w->w_accept_retry);
		w->w_accept_retry = NULL;
	}
}
