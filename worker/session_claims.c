/* session_claims.c: a verified token's claims, kept compact by the chat
 * session (session.c), and rebuilt as a struct chat_identity to send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session_claims.h"
#include "util.h"

void
session_claims_take(struct session_claims *sc, struct chat_identity *id)
{
	sc->sc_user = xstrdup(id->ci_user);
	sc->sc_name = id->ci_name[0] != '\0' ? xstrdup(id->ci_name) : NULL;
	sc->sc_rooms = id->ci_rooms;
	sc->sc_nrooms = (uint32_t)id->ci_nrooms;
	sc->sc_rooms_present = id->ci_rooms_present;
	sc->sc_moderator = id->ci_moderator;
	sc->sc_exp = id->ci_exp;
	id->ci_rooms = NULL;
	id->ci_nrooms = 0;
	chat_identity_free(id);
}

void
session_claims_clear(struct session_claims *sc)
{
	free(sc->sc_user);
	free(sc->sc_name);
	for (uint32_t i = 0; i < sc->sc_nrooms; i++)
		free(sc->sc_rooms[i]);
	free(sc->sc_rooms);
	memset(sc, 0, sizeof(*sc));
}

void
session_identity(const struct session_claims *sc, struct chat_identity *id)
{
	memset(id, 0, sizeof(*id));
	snprintf(id->ci_user, sizeof(id->ci_user), "%s", sc->sc_user);
	snprintf(id->ci_name, sizeof(id->ci_name), "%s",
	    sc->sc_name != NULL ? sc->sc_name : "");
	id->ci_moderator = sc->sc_moderator;
	id->ci_exp = sc->sc_exp;
	id->ci_rooms_present = sc->sc_rooms_present;
	id->ci_nrooms = sc->sc_nrooms;
	id->ci_rooms = sc->sc_rooms;
}
