/* intern.c: refcounted strings kept as the keys of one strmap; the count
 * is the entry's value, and the key copy is the string every holder
 * shares. */
#include <stdint.h>

#include "intern.h"
#include "log.h"

void
intern_init(struct intern *t)
{
	strmap_init(&t->in_strs);
}

void
intern_free(struct intern *t)
{
	strmap_free(&t->in_strs);
}

const char *
intern_ref(struct intern *t, const char *s)
{
	void *val;
	const char *k = strmap_find(&t->in_strs, s, &val);

	return strmap_put(&t->in_strs, k != NULL ? k : s,
	    (void *)((uintptr_t)(k != NULL ? val : NULL) + 1));
}

void
intern_unref(struct intern *t, const char *s)
{
	void *val;
	const char *k;

	if (s == NULL)
		return;
	if ((k = strmap_find(&t->in_strs, s, &val)) == NULL || k != s)
		fatalx("intern", "unref of a string not interned here");
	if ((uintptr_t)val > 1)
		strmap_put(&t->in_strs, k, (void *)((uintptr_t)val - 1));
	else
		strmap_del(&t->in_strs, s);
}

const char *
intern_find(const struct intern *t, const char *s)
{
	return strmap_find(&t->in_strs, s, NULL);
}

size_t
intern_count(const struct intern *t)
{
	return t->in_strs.smap_count;
}
