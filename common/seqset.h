/* seqset.h: a small set of names, each with a sequence number (a
 * connection's joined rooms and the last seq delivered in each).  The
 * common case, a room or two, lives inline with no allocation; past that
 * an array, and past SEQSET_INDEX_MIN names a strmap index as well, so a
 * lookup stays cheap however many rooms a connection joins. */
#ifndef PARLEY_SEQSET_H
#define PARLEY_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strmap.h"

#define SEQSET_INLINE		2
#define SEQSET_INDEX_MIN	16

struct seqset_ent {
	char		*se_name;	/* owned */
	int64_t		 se_seq;
};

struct seqset {
	uint32_t		 ss_n, ss_cap;	/* ss_cap 0: inline */
	union {
		struct seqset_ent  ss_inline[SEQSET_INLINE];
		struct {
			struct seqset_ent *ss_ents;
			struct strmap	  *ss_index; /* name -> index + 1 */
		};
	};
};

void	 seqset_init(struct seqset *s);
void	 seqset_free(struct seqset *s);
size_t	 seqset_count(const struct seqset *s);
/* The i-th entry (0 <= i < count), in no particular order. */
const struct seqset_ent *seqset_at(const struct seqset *s, size_t i);
/* The seq kept for name, to read or raise in place; NULL if absent.
 * Allocates nothing. */
int64_t	*seqset_find(const struct seqset *s, const char *name);
/* Add name with seq, or raise its seq to seq if it is there. */
void	 seqset_add(struct seqset *s, const char *name, int64_t seq);
void	 seqset_del(struct seqset *s, const char *name);
/* Hand the names over (an array of count owned strings, NULL when
 * empty): the set is empty after. */
char	**seqset_take_names(struct seqset *s, size_t *n);

#endif
