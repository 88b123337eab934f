/* session_claims.h: what a chat session keeps of its verified token: a
 * compact struct chat_identity (a few pointers instead of fixed arrays). */
#ifndef PARLEY_SESSION_CLAIMS_H
#define PARLEY_SESSION_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include "chat.h"

/* The claims of a verified token; session_identity() rebuilds a struct
 * chat_identity from them to send. */
struct session_claims {
	char			*sc_user;	/* sub; owned */
	char			*sc_name;	/* owned; NULL: none */
	char			**sc_rooms;	/* rooms claim; owned */
	int64_t			 sc_exp;	/* seconds; 0: none */
	uint32_t		 sc_nrooms;
	bool			 sc_rooms_present;
	bool			 sc_moderator;
};

/* Keep id in sc (empty): id's rooms claim moves over, and id is freed. */
void	session_claims_take(struct session_claims *sc,
	    struct chat_identity *id);
/* Free it all; sc is empty after. */
void	session_claims_clear(struct session_claims *sc);
/* The claims as a struct chat_identity to encode; its rooms claim is
 * borrowed from sc (not to be freed). */
void	session_identity(const struct session_claims *sc,
	    struct chat_identity *id);

#endif
