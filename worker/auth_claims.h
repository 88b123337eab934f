/* auth_claims.h: the JWT claim checks (sub, exp, nbf, iat, iss, aud,
 * name, role, rooms), apart from the signature work in auth.c. */
#ifndef PARLEY_AUTH_CLAIMS_H
#define PARLEY_AUTH_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

struct chat_identity;

/* What the [auth] section asks of the claims; the strings are borrowed. */
struct auth_claim_rules {
	const char	*acr_issuer;	/* NULL: not checked */
	const char	*acr_audience;	/* NULL: not checked */
	int64_t		 acr_leeway;	/* seconds, >= 0 */
	bool		 acr_require_exp;
};

/*
 * Check claims at now (seconds) and fill id (sub, name, role, exp,
 * rooms).  -1 with *why naming the failed check ("token expired",
 * "invalid rooms", ...); id may then hold a partial identity, which the
 * caller clears.
 */
int	auth_claims_check(const struct auth_claim_rules *r,
	    json_object *claims, int64_t now, struct chat_identity *id,
	    const char **why);

#endif
