/* config_int.h: what config.c, config_parse.c and config_check.c share. */
#ifndef PARLEY_CONFIG_INT_H
#define PARLEY_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Only pointers to it here, so no config.h: config.c including this
 * header and this header including config.h would be a circle. */
struct parley_config;

enum cfg_type { CFG_STR, CFG_INT, CFG_U64, CFG_SIZE, CFG_BOOL, CFG_ENUM };

/* PLANNED: accepted and stored, with one warning; flip to BUILT when done. */
enum cfg_state { BUILT, PLANNED };

struct cfg_enum {
	const char	*ce_name;
	int		 ce_value;
};

struct cfg_key {
	const char		*ck_section;
	const char		*ck_key;
	enum cfg_type		 ck_type;
	size_t			 ck_off;	/* into struct parley_config */
	const char		*ck_dflt;
	enum cfg_state		 ck_state;
	int64_t			 ck_min;	/* CFG_INT, CFG_U64, CFG_SIZE */
	uint64_t		 ck_max;
	const struct cfg_enum	*ck_names;	/* CFG_ENUM, NULL-terminated */
	const char		*(*ck_check)(const char *); /* CFG_STR: NULL if ok */
};

/* Keys in cfg_keys (config.c checks the count when it compiles). */
#define CFG_NKEYS	63

/* Every key of PROTOCOL.md Appendix A, with its default (config.c). */
extern const struct cfg_key cfg_keys[CFG_NKEYS];

#define KB	1024ULL
#define MB	(1024ULL * 1024)
#define GB	(1024ULL * 1024 * 1024)

/* One load in progress. */
struct cfg_parse {
	struct parley_config	*cfp_cfg;
	const char		*cfp_path;
	FILE			*cfp_fp;
	char			*cfp_line;	/* whole current line */
	size_t			 cfp_linecap;
	int			 cfp_lineno;
	int			 cfp_set[CFG_NKEYS];	/* line set on, or 0 */
	char			*cfp_err;
	size_t			 cfp_errlen;
	int			 cfp_errline;	/* first error, 0: none */
	int			 cfp_failed;
	void			(*cfp_warn)(const char *);
};

/* config.c: the key table. */
const struct cfg_key *cfg_find(const char *section, const char *key);

static inline void *
cfg_field(struct parley_config *cfg, const struct cfg_key *k)
{
	return (char *)cfg + k->ck_off;
}

/* config_parse.c: values and the file. */
void	cfg_error(struct cfg_parse *cp, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	cfg_set(struct parley_config *cfg, const struct cfg_key *k,
	    const char *v, char *why, size_t whylen);
/* Read fp (NULL: path could not be opened, errno says why) into *cfg;
 * fp is closed.  Returns 0, or -1 with err written and *cfg zeroed. */
int	cfg_parse_file(const char *path, FILE *fp, struct parley_config *cfg,
	    char *err, size_t errlen, void (*warn)(const char *msg));

/* config_check.c: single string values (NULL if fine, else why not)... */
const char	*cfg_check_hostport(const char *);
const char	*cfg_check_hostport_opt(const char *);
const char	*cfg_check_nonempty(const char *);
const char	*cfg_check_path(const char *);
const char	*cfg_check_path_opt(const char *);
const char	*cfg_check_algorithm(const char *);
const char	*cfg_check_origins(const char *);
/* ...and the keys together, once the whole file is read. */
int	cfg_validate(struct cfg_parse *cp);

#endif
