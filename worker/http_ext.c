/* http_ext.c: the Sec-WebSocket-Extensions header of an upgrade: its
 * permessage-deflate offers (RFC 7692 7.1), for deflate_negotiate. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "http_upgrade.h"
#include "http_upgrade_int.h"

/* One permessage-deflate offer while its parameters are read. */
struct hu_pmd {
	bool	pm_ok;
	bool	pm_cnct;	/* client_no_context_takeover */
	bool	pm_snct;	/* server_no_context_takeover */
	bool	pm_cmwb_seen;
	bool	pm_smwb_seen;
	int	pm_cmwb;
	int	pm_smwb;
};

/* "8".."15", no sign, no leading zero. */
static int
hu_window_bits(const char *s)
{
	if (s[0] >= '8' && s[0] <= '9' && s[1] == '\0')
		return s[0] - '0';
	if (s[0] == '1' && s[1] >= '0' && s[1] <= '5' && s[2] == '\0')
		return 10 + (s[1] - '0');
	return -1;
}

static void
hu_pmd_param(struct hu_pmd *pm, const char *name, const char *val)
{
	int	bits;

	if (strcasecmp(name, "client_no_context_takeover") == 0) {
		if (val != NULL || pm->pm_cnct)
			pm->pm_ok = false;
		pm->pm_cnct = true;
	} else if (strcasecmp(name, "server_no_context_takeover") == 0) {
		if (val != NULL || pm->pm_snct)
			pm->pm_ok = false;
		pm->pm_snct = true;
	} else if (strcasecmp(name, "client_max_window_bits") == 0) {
		if (pm->pm_cmwb_seen)
			pm->pm_ok = false;
		pm->pm_cmwb_seen = true;
		if (val == NULL)
			pm->pm_cmwb = -1;
		else if ((bits = hu_window_bits(val)) > 0)
			pm->pm_cmwb = bits;
		else
			pm->pm_ok = false;
	} else if (strcasecmp(name, "server_max_window_bits") == 0) {
		if (pm->pm_smwb_seen)
			pm->pm_ok = false;
		pm->pm_smwb_seen = true;
		if (val != NULL && (bits = hu_window_bits(val)) > 0)
			pm->pm_smwb = bits;
		else
			pm->pm_ok = false;
	} else
		pm->pm_ok = false;	/* RFC 7692 7.1: decline unknown */
}

/* Copy a token at *pp into out (bounded); NULL when there is none. */
static const char *
hu_token(const char **pp, char *out, size_t outlen, bool *longp)
{
	const char	*p = *pp;
	size_t		 n = 0;

	if (!hu_is_tchar(*p))
		return NULL;
	for (; hu_is_tchar(*p); p++) {
		if (n + 1 < outlen)
			out[n++] = *p;
		else
			*longp = true;
	}
	out[n] = '\0';
	*pp = p;
	return out;
}

/* A quoted-string at *pp (after the quote), unescaped into out. */
static const char *
hu_quoted(const char **pp, char *out, size_t outlen, bool *longp)
{
	const char	*p = *pp;
	size_t		 n = 0;

	for (;;) {
		if (*p == '\0')
			return NULL;
		if (*p == '"')
			break;
		if (*p == '\\' && *++p == '\0')
			return NULL;
		if (n + 1 < outlen)
			out[n++] = *p;
		else
			*longp = true;
		p++;
	}
	out[n] = '\0';
	*pp = p + 1;
	return out;
}

/*
 * Sec-WebSocket-Extensions: offers separated by commas, each a token with
 * ";"-separated params.  Every well-formed permessage-deflate offer is
 * kept, in order, for deflate_negotiate to choose from (RFC 7692 5: an
 * offer the server cannot honour is declined and the next one considered);
 * other extensions are skipped; a syntax error ends this header's list
 * (the offer in progress is declined), it is not a reason for a 400.
 */
void
http_ext_offers(struct http_upgrade_req *req, const char *p)
{
	char		 name[HU_NAME_MAX + 1], pname[HU_NAME_MAX + 1];
	char		 val[8];
	const char	*v;
	struct hu_pmd	 pm;
	bool		 is_pmd, tlong;

	while (req->hu_npmd < HTTP_MAX_PMD_OFFERS) {
		while (hu_is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			return;
		tlong = false;
		if (hu_token(&p, name, sizeof(name), &tlong) == NULL)
			return;
		is_pmd = !tlong && strcasecmp(name, "permessage-deflate") == 0;
		memset(&pm, 0, sizeof(pm));
		pm.pm_ok = true;
		for (;;) {
			while (hu_is_ows(*p))
				p++;
			if (*p != ';')
				break;
			p++;
			while (hu_is_ows(*p))
				p++;
			tlong = false;
			if (hu_token(&p, pname, sizeof(pname), &tlong) == NULL)
				return;
			while (hu_is_ows(*p))
				p++;
			v = NULL;
			if (*p == '=') {
				p++;
				while (hu_is_ows(*p))
					p++;
				if (*p == '"') {
					p++;
					v = hu_quoted(&p, val, sizeof(val),
					    &tlong);
				} else
					v = hu_token(&p, val, sizeof(val),
					    &tlong);
				if (v == NULL)
					return;
			}
			if (tlong)
				pm.pm_ok = false;
			if (is_pmd)
				hu_pmd_param(&pm, pname, v);
		}
		if (*p != ',' && *p != '\0')
			return;
		if (is_pmd && pm.pm_ok) {
			struct http_pmd_offer *po = &req->hu_pmd[req->hu_npmd++];

			po->po_client_no_context_takeover = pm.pm_cnct;
			po->po_server_no_context_takeover = pm.pm_snct;
			po->po_client_max_window_bits = pm.pm_cmwb;
			po->po_server_max_window_bits = pm.pm_smwb;
		}
	}
}
