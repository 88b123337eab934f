/* strmap.h: a hash map from strings to pointers (rooms, users).  Keys are
 * copied and owned by the map; an empty map holds no memory. */
#ifndef PARLEY_STRMAP_H
#define PARLEY_STRMAP_H

#include <stddef.h>

struct strmap_entry;

struct strmap {
	struct strmap_entry	**smap_buckets;
	size_t			  smap_nbuckets;	/* power of two */
	size_t			  smap_count;
};

void	 strmap_init(struct strmap *m);
/* Frees the map and its keys, not the values. */
void	 strmap_free(struct strmap *m);
void	*strmap_get(const struct strmap *m, const char *key);
/* Returns the map's own copy of key (it stays put until the key is
 * deleted): one copy of a string can serve its owners too. */
const char *strmap_put(struct strmap *m, const char *key, void *val);
/* The map's copy of key, and (val not NULL) its value; NULL if absent. */
const char *strmap_find(const struct strmap *m, const char *key, void **val);
void	*strmap_del(struct strmap *m, const char *key);
/* Call fn for every entry; fn must not change the map. */
void	 strmap_each(const struct strmap *m,
	    void (*fn)(const char *key, void *val, void *arg), void *arg);

#endif
