/*
 * strv - a growable vector of strings; see strv.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strv.h"
#include "xalloc.h"

void
strv_init(struct strv *s)
{
	s->v = NULL;
	s->n = 0;
	s->cap = 0;
}

void
strv_free(struct strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	strv_init(s);
}

void
strv_add_owned(struct strv *s, char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void
strv_add(struct strv *s, const char *str)
{
	strv_add_owned(s, xstrdup(str));
}

void
strv_addn(struct strv *s, const char *str, size_t len)
{
	strv_add_owned(s, xstrndup(str, len));
}

long
strv_find(const struct strv *s, const char *str, int nocase)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if ((nocase ? strcasecmp(s->v[i], str) : strcmp(s->v[i], str)) == 0)
			return (long)i;
	return -1;
}

void
strv_split(struct strv *s, const char *str, const char *seps)
{
	const char *p = str;

	while (*p) {
		size_t skip = strspn(p, seps), len;

		p += skip;
		len = strcspn(p, seps);
		if (len)
			strv_addn(s, p, len);
		p += len;
	}
}
