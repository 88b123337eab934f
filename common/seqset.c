/* seqset.c: inline entries, then a doubling array; deletes move the last
 * entry into the hole (and fix its index entry). */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "seqset.h"
#include "util.h"

void
seqset_init(struct seqset *s)
{
	memset(s, 0, sizeof(*s));
}

static struct seqset_ent *
seqset_ents(const struct seqset *s)
{
	return s->ss_cap == 0 ? (struct seqset_ent *)(uintptr_t)s->ss_inline :
	    s->ss_ents;
}

void
seqset_free(struct seqset *s)
{
	struct seqset_ent *e = seqset_ents(s);

	for (uint32_t i = 0; i < s->ss_n; i++)
		free(e[i].se_name);
	if (s->ss_cap != 0) {
		free(s->ss_ents);
		if (s->ss_index != NULL) {
			strmap_free(s->ss_index);
			free(s->ss_index);
		}
	}
	seqset_init(s);
}

size_t
seqset_count(const struct seqset *s)
{
	return s->ss_n;
}

const struct seqset_ent *
seqset_at(const struct seqset *s, size_t i)
{
	return &seqset_ents(s)[i];
}

static ssize_t
seqset_pos(const struct seqset *s, const char *name)
{
	const struct seqset_ent *e = seqset_ents(s);

	if (s->ss_cap != 0 && s->ss_index != NULL) {
		uintptr_t v = (uintptr_t)strmap_get(s->ss_index, name);

		return v == 0 ? -1 : (ssize_t)(v - 1);
	}
	for (uint32_t i = 0; i < s->ss_n; i++)
		if (strcmp(e[i].se_name, name) == 0)
			return (ssize_t)i;
	return -1;
}

int64_t *
seqset_find(const struct seqset *s, const char *name)
{
	ssize_t i = seqset_pos(s, name);

	return i == -1 ? NULL : &seqset_ents(s)[i].se_seq;
}

static void
seqset_index_put(struct seqset *s, const char *name, uint32_t i)
{
	strmap_put(s->ss_index, name, (void *)((uintptr_t)i + 1));
}

void
seqset_add(struct seqset *s, const char *name, int64_t seq)
{
	int64_t *have = seqset_find(s, name);
	struct seqset_ent *e;

	if (have != NULL) {
		if (seq > *have)
			*have = seq;
		return;
	}
	if (s->ss_cap == 0 && s->ss_n == SEQSET_INLINE) {
		struct seqset_ent *a = xcalloc(SEQSET_INLINE * 2, sizeof(*a));

		memcpy(a, s->ss_inline, sizeof(s->ss_inline));
		s->ss_ents = a;
		s->ss_index = NULL;
		s->ss_cap = SEQSET_INLINE * 2;
	} else if (s->ss_cap != 0 && s->ss_n == s->ss_cap) {
		s->ss_ents = xreallocarray(s->ss_ents, s->ss_cap * 2,
		    sizeof(*s->ss_ents));
		s->ss_cap *= 2;
	}
	e = &seqset_ents(s)[s->ss_n];
	e->se_name = xstrdup(name);
	e->se_seq = seq;
	if (s->ss_cap != 0 && s->ss_index == NULL &&
	    s->ss_n + 1 >= SEQSET_INDEX_MIN) {
		s->ss_index = xcalloc(1, sizeof(*s->ss_index));
		strmap_init(s->ss_index);
		for (uint32_t i = 0; i < s->ss_n; i++)
			seqset_index_put(s, s->ss_ents[i].se_name, i);
	}
	if (s->ss_cap != 0 && s->ss_index != NULL)
		seqset_index_put(s, name, s->ss_n);
	s->ss_n++;
}

void
seqset_del(struct seqset *s, const char *name)
{
	ssize_t i = seqset_pos(s, name);
	struct seqset_ent *e = seqset_ents(s);

	if (i == -1)
		return;
	if (s->ss_cap != 0 && s->ss_index != NULL)
		strmap_del(s->ss_index, name);
	free(e[i].se_name);
	s->ss_n--;
	if ((uint32_t)i != s->ss_n) {
		e[i] = e[s->ss_n];
		if (s->ss_cap != 0 && s->ss_index != NULL)
			seqset_index_put(s, e[i].se_name, (uint32_t)i);
	}
	memset(&e[s->ss_n], 0, sizeof(e[s->ss_n]));
}

char **
seqset_take_names(struct seqset *s, size_t *n)
{
	struct seqset_ent *e = seqset_ents(s);
	char **names = NULL;

	*n = s->ss_n;
	if (s->ss_n > 0) {
		names = xcalloc(s->ss_n, sizeof(*names));
		for (uint32_t i = 0; i < s->ss_n; i++) {
			names[i] = e[i].se_name;
			e[i].se_name = NULL;
		}
	}
	s->ss_n = 0;
	seqset_free(s);
	return names;
}
