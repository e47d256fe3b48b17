/*
 * xalloc - allocation that never returns NULL.
 *
 * Every wrapper ends the process with a log line on out-of-memory, so
 * callers never test the result (Postfix's mymalloc, OpenSMTPD's xmalloc).
 */
#ifndef PETREL_XALLOC_H
#define PETREL_XALLOC_H

#include <stddef.h>
#include <stdarg.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray fails (fatally) on nmemb*size overflow instead of wrapping. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
