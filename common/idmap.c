/* idmap.c: open addressing with linear probing and tombstones; the keys
 * and values share one allocation, made on the first put and sized to the
 * load at every rehash (an empty map holds no memory). */
#include <stdlib.h>

#include "idmap.h"
#include "log.h"
#include "util.h"

#define IDMAP_TOMB	UINT64_MAX
#define IDMAP_MIN_CAP	4

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
	m->idm_keys = NULL;
	m->idm_vals = NULL;
	m->idm_cap = m->idm_count = m->idm_used = 0;
}

void
idmap_free(struct idmap *m)
{
	free(m->idm_keys);	/* the values share this block */
	idmap_init(m);
}

static void
idmap_rehash(struct idmap *m, size_t cap)
{
	uint64_t *okeys = m->idm_keys;
	void **ovals = m->idm_vals;
	size_t ocap = m->idm_cap;

	if (cap > UINT32_MAX / 2)
		fatalx("idmap", "more than 2^30 entries");
	/* One block: cap keys, then cap values (both 8 bytes wide). */
	m->idm_cap = (uint32_t)cap;
	m->idm_keys = xcalloc(cap, sizeof(*m->idm_keys) + sizeof(*m->idm_vals));
	m->idm_vals = (void **)(void *)(m->idm_keys + cap);
	m->idm_count = m->idm_used = 0;
	for (size_t i = 0; i < ocap; i++)
		if (okeys[i] != 0 && okeys[i] != IDMAP_TOMB)
			idmap_put(m, okeys[i], ovals[i]);
	free(okeys);
}

/* The capacity for n live entries: at most half full after a rehash, so
 * a table that only grows doubles, and one whose entries mostly went
 * (tombstones) shrinks back to its load. */
static size_t
idmap_cap_for(size_t n)
{
	size_t cap = IDMAP_MIN_CAP;

	while (cap < n * 2)
		cap *= 2;
	return cap;
}

void
idmap_put(struct idmap *m, uint64_t key, void *val)
{
	size_t i, tomb = SIZE_MAX;

	/* Live keys plus tombstones under 3/4 (a replace of a live key
	 * may rehash one put early, never wrongly). */
	if ((m->idm_used + 1) * 4 >= m->idm_cap * 3)
		idmap_rehash(m, idmap_cap_for(m->idm_count + 1));
	for (i = idmap_slot(key, m->idm_cap);; i = (i + 1) & (m->idm_cap - 1)) {
		if (m->idm_keys[i] == key) {
			m->idm_vals[i] = val;
			return;
		}
		if (m->idm_keys[i] == IDMAP_TOMB && tomb == SIZE_MAX)
			tomb = i;
		if (m->idm_keys[i] == 0)
			break;
	}
	if (tomb != SIZE_MAX)
		i = tomb;
	else
		m->idm_used++;
	m->idm_keys[i] = key;
	m->idm_vals[i] = val;
	m->idm_count++;
}

static size_t
idmap_find(const struct idmap *m, uint64_t key)
{
	/* The markers are never keys: a lookup of 0 would "find" an empty
	 * slot (and a delete turn it into a tombstone), one of UINT64_MAX a
	 * tombstone. */
	if (key == 0 || key == IDMAP_TOMB || m->idm_cap == 0)
		return SIZE_MAX;
	for (size_t i = idmap_slot(key, m->idm_cap);;
	    i = (i + 1) & (m->idm_cap - 1)) {
		if (m->idm_keys[i] == key)
			return i;
		if (m->idm_keys[i] == 0)
			return SIZE_MAX;
	}
}

void *
idmap_get(const struct idmap *m, uint64_t key)
{
	size_t i = idmap_find(m, key);

	return i == SIZE_MAX ? NULL : m->idm_vals[i];
}

void *
idmap_del(struct idmap *m, uint64_t key)
{
	size_t i = idmap_find(m, key);
	void *val;

	if (i == SIZE_MAX)
		return NULL;
	val = m->idm_vals[i];
	m->idm_keys[i] = IDMAP_TOMB;
	m->idm_vals[i] = NULL;
	m->idm_count--;
	return val;
}

size_t
idmap_count(const struct idmap *m)
{
	return m->idm_count;
}

bool
idmap_next(const struct idmap *m, size_t *pos, uint64_t *key, void **val)
{
	for (; *pos < m->idm_cap; (*pos)++) {
		uint64_t k = m->idm_keys[*pos];

		if (k == 0 || k == UINT64_MAX)
			continue;
		if (key != NULL)
			*key = k;
		if (val != NULL)
			*val = m->idm_vals[*pos];
		(*pos)++;
		return true;
	}
	return false;
}
