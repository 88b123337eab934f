/* idmap.h: a hash map from 64-bit ids (connection ids) to pointers. */
#ifndef PARLEY_IDMAP_H
#define PARLEY_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint64_t	*idm_keys;	/* 0: empty, IDMAP_TOMB: deleted */
	void		**idm_vals;
	uint32_t	 idm_cap;	/* power of two; 0: no memory */
	uint32_t	 idm_count;	/* live entries */
	uint32_t	 idm_used;	/* live + tombstones */
};

void	 idmap_init(struct idmap *m);
void	 idmap_free(struct idmap *m);
/* Keys must not be 0 or UINT64_MAX (get and del of those find nothing).
 * Replaces an existing value. */
void	 idmap_put(struct idmap *m, uint64_t key, void *val);
void	*idmap_get(const struct idmap *m, uint64_t key);
void	*idmap_del(struct idmap *m, uint64_t key);	/* returns the value */
size_t	 idmap_count(const struct idmap *m);
/*
 * The live entries, in no order:
 *	for (size_t pos = 0; idmap_next(m, &pos, &key, &val);)
 * Put and del (of other keys) during the walk may move entries: detach
 * the map first (struct copy plus idmap_init) to change it while walking.
 */
bool	 idmap_next(const struct idmap *m, size_t *pos, uint64_t *key,
	    void **val);

#endif
