/* service.h: the broker's chat service: one handler per client request
 * kind (PROTOCOL.md section 4), identities, personal rooms, publishing. */
#ifndef PARLEY_SERVICE_H
#define PARLEY_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct bconn;
struct ipc_reader;

/* Set up and tear down the service's state (rooms, users, the batch). */
int	service_init(struct broker *b);
void	service_free(struct broker *b);
/* Commit what is pending and send what waited for it (drain, shutdown). */
void	service_flush(struct broker *b);

/* Worker events for one registered chat connection. */
int	service_on_auth(struct broker *b, struct bconn *bc,
	    struct ipc_reader *r);
int	service_on_rooms(struct broker *b, struct bconn *bc,
	    struct ipc_reader *r);
int	service_on_request(struct broker *b, struct bconn *bc,
	    struct ipc_reader *r);
/* A connection closed while the broker was away (IPC_CONN_GONE). */
int	service_on_gone(struct broker *b, struct ipc_reader *r);
/* A worker finished re-registering, or was lost: once every linked worker
 * is in sync, announce the leaves that are still true. */
void	service_resynced(struct broker *b);
/* The connection is gone (closed, or its worker died). */
void	service_on_close(struct broker *b, struct bconn *bc);

/* publish.c */

/* POST /api/publish.  Validated by the caller; committed before return. */
struct publish_req {
	const char	*pr_room;
	const char	*pr_user;	/* "system" if NULL */
	const char	*pr_name;	/* "" if NULL */
	const char	*pr_text;	/* a message, or */
	const char	*pr_event;	/* a custom event with */
	const char	*pr_data;	/* its data as JSON text ("null" if NULL) */
	bool		 pr_persist;	/* false: live only, no seq */
};
struct publish_result {
	int64_t		 pu_seq;	/* 0 when not persisted */
	char		 pu_msg_id[33];	/* "" for events */
	int64_t		 pu_ts;
	uint64_t	 pu_delivered;	/* connections it was sent to */
};
/* 0, -1 when the database failed (answer 503), or PUBLISH_LIMIT when the
 * room is new and max_rooms rooms exist (answer 403, nothing stored). */
#define PUBLISH_LIMIT	1
int	service_publish(struct broker *b, const struct publish_req *p,
	    struct publish_result *out);
/* 0 when the database answers. */
int	service_health(struct broker *b);

#endif
