/*
 * fuzz_smtp_reply - libFuzzer target for sendmail/smtp_reply.c.
 *
 * Feeds the input to smtp_reply_parse() as the bytes an SMTP server sent,
 * reply after reply, and checks what must always hold (abort() otherwise):
 * a whole reply uses at least one byte and no more than it was given, its
 * code is 200-599, each of its lines is shorter than SMTP_REPLY_LINE_MAX,
 * there are at most SMTP_REPLY_LINES_MAX of them, its text starts with the
 * code, an enhanced code belongs to the code's class; a reason is given
 * for bad input. Also parses every prefix of the input once, which must
 * never claim more bytes than the prefix holds.
 *
 * Build: see t/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

#define FUZZ_PREFIX_STEP	7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const struct smtp_reply *r, size_t used, size_t len)
{
	char code[4];
	size_t i;

	if (used == 0 || used > len)
		abort();
	if (r->code < 200 || r->code > 599)
		abort();
	if (r->lines.n == 0 || r->lines.n > SMTP_REPLY_LINES_MAX)
		abort();
	for (i = 0; i < r->lines.n; i++)
		if (strlen(r->lines.v[i]) >= SMTP_REPLY_LINE_MAX)
			abort();
	snprintf(code, sizeof(code), "%d", r->code);
	if (r->text.len < 3 || memcmp(r->text.data, code, 3) != 0)
		abort();
	if (r->dsn[0] && r->dsn[0] != code[0])
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct smtp_reply r;
	size_t off = 0, cut;
	char why[128];

	smtp_reply_init(&r);
	for (;;) {
		size_t used = 0;
		enum smtp_reply_status st;

		why[0] = '\0';
		st = smtp_reply_parse(buf + off, size - off, &r, &used, why, sizeof(why));
		if (st == SMTP_REPLY_BAD) {
			if (why[0] == '\0')
				abort();
			break;
		}
		if (st == SMTP_REPLY_MORE)
			break;
		check_reply(&r, used, size - off);
		off += used;
	}
	for (cut = 0; cut < size; cut += FUZZ_PREFIX_STEP) {
		size_t used = 0;

		if (smtp_reply_parse(buf, cut, &r, &used, why, sizeof(why)) == SMTP_REPLY_DONE)
			check_reply(&r, used, cut);
	}
	smtp_reply_free(&r);
	return 0;
}
