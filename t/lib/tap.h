/*
 * tap.h - a minimal TAP producer for the C unit tests.
 *
 * ok(cond, name...) prints "ok N - name" or "not ok N - name"; is_str and
 * is_int print what was expected and got on failure; done_testing()
 * prints the plan and returns the exit status (non-zero when any failed).
 */
#ifndef PETREL_TAP_H
#define PETREL_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3)))
static int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define is_str(got, want, ...) do {					\
	const char *tap_g_ = (got), *tap_w_ = (want);			\
	if (!ok(tap_g_ && tap_w_ ? strcmp(tap_g_, tap_w_) == 0 : tap_g_ == tap_w_, __VA_ARGS__)) \
		printf("#   got:      \"%s\"\n#   expected: \"%s\"\n",	\
		    tap_g_ ? tap_g_ : "(null)", tap_w_ ? tap_w_ : "(null)");	\
} while (0)

#define is_int(got, want, ...) do {					\
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);	\
	if (!ok(tap_g_ == tap_w_, __VA_ARGS__))				\
		printf("#   got:      %lld\n#   expected: %lld\n", tap_g_, tap_w_); \
} while (0)

__attribute__((unused))
static void
diag(const char *msg)
{
	printf("# %s\n", msg);
}

static int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
