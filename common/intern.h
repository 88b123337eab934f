/* intern.h: one shared, refcounted copy of each string (user ids, display
 * names), so that many holders cost one copy. */
#ifndef PARLEY_INTERN_H
#define PARLEY_INTERN_H

#include <stddef.h>

#include "strmap.h"

struct intern {
	struct strmap	 in_strs;	/* string -> its refcount */
};

void	 intern_init(struct intern *t);
/* Every reference must have been dropped by now. */
void	 intern_free(struct intern *t);
/* The one copy of s, with one more reference: valid until that reference
 * is dropped.  Two holders of equal strings hold the same pointer. */
const char *intern_ref(struct intern *t, const char *s);
/* Drop a reference that intern_ref gave (s is its pointer; NULL: none);
 * the last one frees the copy. */
void	 intern_unref(struct intern *t, const char *s);
/* The copy of s if it is interned (no reference taken), or NULL. */
const char *intern_find(const struct intern *t, const char *s);
/* Distinct strings held. */
size_t	 intern_count(const struct intern *t);

#endif
