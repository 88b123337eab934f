/* idmap.h: a hash map from 64-bit ids (connection ids) to pointers. */
#ifndef PARLEY_IDMAP_H
#define PARLEY_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint64_t	*im_keys;	/* 0: empty, IDMAP_TOMB: deleted */
	void		**im_vals;
	size_t		 im_cap;	/* power of two */
	size_t		 im_count;	/* live entries */
	size_t		 im_used;	/* live + tombstones */
};

void	 idmap_init(struct idmap *m);
void	 idmap_free(struct idmap *m);
/* Keys must not be 0 or UINT64_MAX (get and del of those find nothing).
 * Replaces an existing value. */
void	 idmap_put(struct idmap *m, uint64_t key, void *val);
void	*idmap_get(const struct idmap *m, uint64_t key);
void	*idmap_del(struct idmap *m, uint64_t key);	/* returns the value */

#endif
