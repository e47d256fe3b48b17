/*
 * fuzz_regexp_table - libFuzzer target for sendmail/maps_regexp.c: the
 * regexp:/pcre: table parser and its lookups, the inline:{} parser and
 * static:{} values (tables are files an administrator writes, and
 * header_checks keys are headers a remote client sends).
 *
 * Input: one byte that picks the parser (bit 0: regexp or pcre; bit 1:
 * also run the text through the inline: and static: parsers), then the
 * table text, a NUL, and lookup keys separated by LF. Checks what must
 * always hold (abort() otherwise): a table that does not compile has an
 * error naming the table and a line; a lookup gives 1 with a value, 0
 * without, or -1 with a message; the first key looked up twice gives the
 * same answer.
 *
 * POSIX-mode inputs with a back-reference, a repetition count above
 * FUZZ_REPEAT_MAX, or repetition operators stacked on each other ("x++",
 * "a{2}{3}", more than FUZZ_QUANT_RUN_MAX in a row) or groups nested deeper
 * than FUZZ_DEPTH_MAX ("((((x+)+)+)+)...": 16 levels took 760 MB) are
 * skipped: glibc's
 * regcomp/regexec are exponential or huge on those by design (regcomp
 * copies the repeated subtree for each operator: "x" followed by 100 "+"
 * took more than 4 GB), the cost an administrator's own pattern asks for,
 * which is not what this target looks for.
 *
 * Build: see t/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "maps_regexp.h"

#define FUZZ_INPUT_MAX	8192	/* octets of table and keys */
#define FUZZ_REPEAT_MAX	16	/* largest {n} count kept in POSIX mode */
#define FUZZ_DEPTH_MAX	3	/* parentheses within each other kept in POSIX mode */
#define FUZZ_QUANT_RUN_MAX	1	/* repetition operators in a row kept in POSIX mode */
#define FUZZ_ERR_MAX	1024
#define FUZZ_TABLE_NAME	"fuzz"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	conf_load_defaults("/nonexistent");
	log_init("fuzz");
	log_disable_sinks();
	return 0;
}

/*
 * 1 when text has a back-reference, a large {n} or stacked repetitions
 * (see above). Looks at the whole text, delimiters and results too: it
 * only has to be cautious.
 */
static int
posix_costly(const char *text, size_t len)
{
	size_t i, j, run = 0, depth = 0;

	for (i = 0; i < len; i++) {
		char c = text[i];

		if (c == '(' && ++depth > FUZZ_DEPTH_MAX)
			return 1;
		if (c == ')' && depth > 0)
			depth--;

		if (c == '\\' && i + 1 < len && text[i + 1] >= '1' && text[i + 1] <= '9')
			return 1;
		if (c == '{') {
			unsigned long n = 0;

			for (j = i + 1; j < len && strchr("0123456789,", text[j]) != NULL && text[j]; j++) {
				if (text[j] == ',')
					n = 0;
				else if ((n = n * 10 + (unsigned long)(text[j] - '0')) > FUZZ_REPEAT_MAX)
					return 1;
			}
		}
		if (c == '+' || c == '*' || c == '?' || c == '{') {
			if (++run > FUZZ_QUANT_RUN_MAX)
				return 1;
		} else if (c == '}') {
			run = 1;	/* a count just ended: an operator after it stacks */
		} else {
			run = 0;
		}
	}
	return 0;
}

static void
lookup_all(const struct maps_rtable *t, char *keys)
{
	char err[FUZZ_ERR_MAX], *value, *again, *key = keys, *nl;
	int first = 1, rc, rc2;

	for (;;) {
		nl = strchr(key, '\n');
		if (nl)
			*nl = '\0';
		err[0] = '\0';
		rc = maps_rtable_lookup(t, key, &value, err, sizeof(err));
		if (rc < -1 || rc > 1 || (rc == 1) != (value != NULL) || (rc < 0 && err[0] == '\0'))
			abort();
		if (first) {
			rc2 = maps_rtable_lookup(t, key, &again, err, sizeof(err));
			if (rc2 != rc || (rc == 1 && strcmp(value, again) != 0))
				abort();
			free(again);
			first = 0;
		}
		free(value);
		if (nl == NULL)
			break;
		key = nl + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FUZZ_ERR_MAX], *buf, *keys, *value;
	struct maps_rtable *t;
	struct maps_kv *kv;
	enum maps_rkind kind;
	size_t tlen;
	int extra;

	if (size < 1 || size > FUZZ_INPUT_MAX)
		return 0;
	kind = (data[0] & 1) ? MAPS_R_PCRE : MAPS_R_REGEXP;
	extra = (data[0] & 2) != 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	buf[size] = '\0';
	tlen = strlen(buf);
	keys = buf + tlen + (tlen < size - 1 ? 1 : 0);
	if (kind == MAPS_R_REGEXP && posix_costly(buf, tlen)) {
		free(buf);
		return 0;
	}
	err[0] = '\0';
	t = maps_rtable_parse(FUZZ_TABLE_NAME, buf, tlen, kind, err, sizeof(err));
	if (t == NULL) {
		if (strncmp(err, FUZZ_TABLE_NAME ", line ", strlen(FUZZ_TABLE_NAME ", line ")) != 0)
			abort();
	} else {
		lookup_all(t, keys);
		maps_rtable_free(t);
	}
	if (extra) {
		kv = maps_kv_parse_inline(buf, err, sizeof(err));
		if (kv != NULL) {
			if (maps_kv_get(kv, keys, &value) == 1)
				free(value);
			maps_kv_free(kv);
		}
		kv = maps_kv_parse_text(FUZZ_TABLE_NAME, buf, tlen, 1);
		if (maps_kv_get(kv, keys, &value) == 1)
			free(value);
		maps_kv_free(kv);
		free(maps_static_value(buf));
	}
	free(buf);
	return 0;
}
