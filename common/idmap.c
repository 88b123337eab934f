/* idmap.c: open addressing with linear probing and tombstones. */
#include <stdlib.h>

#include "idmap.h"
#include "util.h"

#define IDMAP_TOMB	UINT64_MAX

static size_t
idmap_slot(uint64_t key, size_t cap)
{
	/* splitmix64 finaliser: conn ids are sequential, spread them. */
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebULL;
	key ^= key >> 31;
	return (size_t)key & (cap - 1);
}

void
idmap_init(struct idmap *m)
{
	m->im_cap = 16;
	m->im_keys = xcalloc(m->im_cap, sizeof(*m->im_keys));
	m->im_vals = xcalloc(m->im_cap, sizeof(*m->im_vals));
	m->im_count = m->im_used = 0;
}

void
idmap_free(struct idmap *m)
{
	free(m->im_keys);
	free(m->im_vals);
	m->im_keys = NULL;
	m->im_vals = NULL;
	m->im_cap = m->im_count = m->im_used = 0;
}

static void
idmap_rehash(struct idmap *m, size_t cap)
{
	uint64_t *okeys = m->im_keys;
	void **ovals = m->im_vals;
	size_t ocap = m->im_cap;

	m->im_cap = cap;
	m->im_keys = xcalloc(cap, sizeof(*m->im_keys));
	m->im_vals = xcalloc(cap, sizeof(*m->im_vals));
	m->im_count = m->im_used = 0;
	for (size_t i = 0; i < ocap; i++)
		if (okeys[i] != 0 && okeys[i] != IDMAP_TOMB)
			idmap_put(m, okeys[i], ovals[i]);
	free(okeys);
	free(ovals);
}

void
idmap_put(struct idmap *m, uint64_t key, void *val)
{
	size_t i, tomb = SIZE_MAX;

	if ((m->im_used + 1) * 4 >= m->im_cap * 3)
		idmap_rehash(m, m->im_count * 2 >= m->im_cap / 2 ?
		    m->im_cap * 2 : m->im_cap);
	for (i = idmap_slot(key, m->im_cap);; i = (i + 1) & (m->im_cap - 1)) {
		if (m->im_keys[i] == key) {
			m->im_vals[i] = val;
			return;
		}
		if (m->im_keys[i] == IDMAP_TOMB && tomb == SIZE_MAX)
			tomb = i;
		if (m->im_keys[i] == 0)
			break;
	}
	if (tomb != SIZE_MAX)
		i = tomb;
	else
		m->im_used++;
	m->im_keys[i] = key;
	m->im_vals[i] = val;
	m->im_count++;
}

static size_t
idmap_find(const struct idmap *m, uint64_t key)
{
	/* The markers are never keys: a lookup of 0 would "find" an empty
	 * slot (and a delete turn it into a tombstone), one of UINT64_MAX a
	 * tombstone. */
	if (key == 0 || key == IDMAP_TOMB)
		return SIZE_MAX;
	for (size_t i = idmap_slot(key, m->im_cap);;
	    i = (i + 1) & (m->im_cap - 1)) {
		if (m->im_keys[i] == key)
			return i;
		if (m->im_keys[i] == 0)
			return SIZE_MAX;
	}
}

void *
idmap_get(const struct idmap *m, uint64_t key)
{
	size_t i = idmap_find(m, key);

	return i == SIZE_MAX ? NULL : m->im_vals[i];
}

void *
idmap_del(struct idmap *m, uint64_t key)
{
	size_t i = idmap_find(m, key);
	void *val;

	if (i == SIZE_MAX)
		return NULL;
	val = m->im_vals[i];
	m->im_keys[i] = IDMAP_TOMB;
	m->im_vals[i] = NULL;
	m->im_count--;
	return val;
}
