/* strmap.c: separate chaining, FNV-1a, doubling at load factor 1 and
 * halving under 1/4; no buckets until the first put. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

#define STRMAP_MIN_BUCKETS	4

struct strmap_entry {
	struct strmap_entry	*sme_next;
	void			*sme_val;
	char			 sme_key[];
};

static size_t
strmap_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

void
strmap_init(struct strmap *m)
{
	m->smap_buckets = NULL;
	m->smap_nbuckets = m->smap_count = 0;
}

void
strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->smap_nbuckets; i++) {
		struct strmap_entry *e = m->smap_buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->sme_next;
			free(e);
		}
	}
	free(m->smap_buckets);
	m->smap_buckets = NULL;
	m->smap_nbuckets = m->smap_count = 0;
}

static struct strmap_entry **
strmap_slot(const struct strmap *m, const char *key)
{
	struct strmap_entry **pp;

	if (m->smap_nbuckets == 0)
		return NULL;
	pp = &m->smap_buckets[strmap_hash(key) & (m->smap_nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->sme_next)
		if (strcmp((*pp)->sme_key, key) == 0)
			break;
	return pp;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry **pp = strmap_slot(m, key);

	return pp != NULL && *pp != NULL ? (*pp)->sme_val : NULL;
}

const char *
strmap_find(const struct strmap *m, const char *key, void **val)
{
	struct strmap_entry **pp = strmap_slot(m, key);

	if (pp == NULL || *pp == NULL)
		return NULL;
	if (val != NULL)
		*val = (*pp)->sme_val;
	return (*pp)->sme_key;
}

static void
strmap_resize(struct strmap *m, size_t n)
{
	struct strmap_entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < m->smap_nbuckets; i++) {
		struct strmap_entry *e = m->smap_buckets[i], *next;

		for (; e != NULL; e = next) {
			size_t j = strmap_hash(e->sme_key) & (n - 1);

			next = e->sme_next;
			e->sme_next = b[j];
			b[j] = e;
		}
	}
	free(m->smap_buckets);
	m->smap_buckets = b;
	m->smap_nbuckets = n;
}

const char *
strmap_put(struct strmap *m, const char *key, void *val)
{
	struct strmap_entry **pp, *e;
	size_t len;

	if (m->smap_nbuckets == 0)
		strmap_resize(m, STRMAP_MIN_BUCKETS);
	pp = strmap_slot(m, key);
	if (*pp != NULL) {
		(*pp)->sme_val = val;
		return (*pp)->sme_key;
	}
	len = strlen(key);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->sme_key, key, len + 1);
	e->sme_val = val;
	e->sme_next = NULL;
	*pp = e;
	if (++m->smap_count > m->smap_nbuckets)
		strmap_resize(m, m->smap_nbuckets * 2);
	return e->sme_key;	/* entries never move: the pointer stays */
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry **pp = strmap_slot(m, key), *e;
	void *val;

	if (pp == NULL || (e = *pp) == NULL)
		return NULL;
	*pp = e->sme_next;
	val = e->sme_val;
	free(e);
	m->smap_count--;
	/* Sized to the load: a map that emptied gives its buckets back. */
	if (m->smap_count == 0) {
		free(m->smap_buckets);
		m->smap_buckets = NULL;
		m->smap_nbuckets = 0;
	} else if (m->smap_nbuckets > STRMAP_MIN_BUCKETS &&
	    m->smap_count * 4 < m->smap_nbuckets)
		strmap_resize(m, m->smap_nbuckets / 2);
	return val;
}

void
strmap_each(const struct strmap *m,
    void (*fn)(const char *key, void *val, void *arg), void *arg)
{
	for (size_t i = 0; i < m->smap_nbuckets; i++)
		for (struct strmap_entry *e = m->smap_buckets[i]; e != NULL;
		    e = e->sme_next)
			fn(e->sme_key, e->sme_val, arg);
}
