/*
 * strv - a growable NULL-terminated vector of owned strings.
 */
#ifndef PETREL_STRV_H
#define PETREL_STRV_H

#include <stddef.h>

struct strv {
	char **v;	/* v[n] == NULL whenever v != NULL */
	size_t n;
	size_t cap;
};

#define STRV_INIT { NULL, 0, 0 }

void strv_init(struct strv *s);
void strv_free(struct strv *s);
void strv_add(struct strv *s, const char *str);		/* copies */
void strv_add_owned(struct strv *s, char *str);		/* takes ownership */
void strv_addn(struct strv *s, const char *str, size_t len);
/* Index of an element equal to str (case-insensitive when nocase), or -1. */
long strv_find(const struct strv *s, const char *str, int nocase);
/* Splits str on any of the bytes in seps, dropping empty elements. */
void strv_split(struct strv *s, const char *str, const char *seps);

#endif
