/*
 * fuzz_tls_policy - libFuzzer target for sendmail/smtp_tls_policy.c.
 *
 * Feeds the input (up to its first NUL) to smtp_tls_policy_parse() as a
 * value of smtp_tls_policy_maps and checks what must always hold (abort()
 * otherwise): a value that parses has a known level, match= entries only
 * at fingerprint, verify and secure, and none of them empty; one that does
 * not gives a reason and leaves level none with nothing allocated; the
 * warning and the reason are NUL-terminated within their buffers.
 *
 * Build: see t/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_tls_policy.h"
#include "xalloc.h"

#define FUZZ_MSG_MAX	256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = xmalloc(size + 1);
	char warn[FUZZ_MSG_MAX], err[FUZZ_MSG_MAX];
	struct smtp_tls_policy p;
	size_t i;

	memcpy(value, data, size);
	value[size] = '\0';
	err[0] = '\0';
	if (smtp_tls_policy_parse(value, &p, warn, sizeof(warn), err, sizeof(err)) == 0) {
		if (p.level > SMTP_TLS_SECURE)
			abort();
		if (p.match.n > 0 && p.level != SMTP_TLS_FINGERPRINT && p.level != SMTP_TLS_VERIFY
		    && p.level != SMTP_TLS_SECURE)
			abort();
		for (i = 0; i < p.match.n; i++)
			if (p.match.v[i][0] == '\0')
				abort();
		if (p.grade != NULL && p.grade[0] == '\0')
			abort();
	} else {
		if (err[0] == '\0' || p.level != SMTP_TLS_NONE || p.match.n != 0 || p.grade != NULL
		    || p.protocols != NULL || p.exclude != NULL)
			abort();
	}
	if (memchr(warn, '\0', sizeof(warn)) == NULL || memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	smtp_tls_policy_free(&p);
	free(value);
	return 0;
}
