/*
 * fuzz_aliases - libFuzzer target for aliases/alias_parse.c.
 *
 * Feeds the input as an alias file to alias_parse(), splits every value
 * with alias_split_targets() and the whole input with
 * alias_split_include(), and checks what must always hold (abort()
 * otherwise, so the fuzzer reports it): every entry has a non-empty
 * lowercase name and a non-empty value without white space at either
 * end; names are unique and the index finds each one; every warning
 * names the file and a line within the input; every split element is
 * non-empty and trimmed.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Ilib -Ialiases
 *   t/fuzz/fuzz_aliases.c aliases/alias_parse.c lib/pbuf.c lib/strv.c
 *   lib/xalloc.c lib/log.c
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alias_parse.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

#define FUZZ_FILE	"fuzz"
#define FUZZ_PREFIX	FUZZ_FILE ", line "

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_space(int c)
{
	return isspace((unsigned char)c) != 0;
}

static void
check_elements(const struct strv *v, size_t from)
{
	size_t i, len;

	for (i = from; i < v->n; i++) {
		len = strlen(v->v[i]);
		if (len == 0 || is_space(v->v[i][0]) || is_space(v->v[i][len - 1]))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	const char *text = (const char *)data;
	struct alias_table t;
	struct strv v = STRV_INIT;
	size_t i, lines = 1, n, before;
	const char *p;
	char *end;
	long line;

	if (!inited) {
		log_disable_sinks();
		inited = 1;
	}
	for (i = 0; i < size; i++)
		if (text[i] == '\n')
			lines++;

	alias_table_init(&t);
	n = alias_parse(FUZZ_FILE, text, size, &t);
	if (n != t.n)
		abort();
	for (i = 0; i < t.n; i++) {
		const struct alias_entry *e = &t.v[i];
		size_t vlen = strlen(e->value);

		if (e->name[0] == '\0' || vlen == 0 || is_space(e->value[0])
		    || is_space(e->value[vlen - 1]) || strcmp(e->name, "@") == 0)
			abort();
		for (p = e->name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
		if (e->line < 1 || (size_t)e->line > lines)
			abort();
		if (alias_table_find(&t, e->name) != e)
			abort();
		before = v.n;
		if (alias_split_targets(e->value, &v) != v.n - before)
			abort();
		check_elements(&v, before);
	}
	for (i = 0; i < t.warnings.n; i++) {
		if (strncmp(t.warnings.v[i], FUZZ_PREFIX, sizeof(FUZZ_PREFIX) - 1) != 0)
			abort();
		line = strtol(t.warnings.v[i] + sizeof(FUZZ_PREFIX) - 1, &end, 10);
		if (line < 1 || (size_t)line > lines || strncmp(end, ": ", 2) != 0)
			abort();
	}
	alias_table_free(&t);

	strv_free(&v);
	before = alias_split_include(text, size, &v);
	if (before != v.n)
		abort();
	check_elements(&v, 0);
	strv_free(&v);
	return 0;
}
