/*
 * fuzz_milter - libFuzzer target for sendmail/milter_proto.c: the reply
 * packets a milter sends, as Petrel's client reads them.
 *
 * The input is a stream of packets (4-byte length, code, data).
 * milter_packet_split takes them off one by one, milter_reply_decode
 * decodes each, and every modification reply is applied with
 * milter_msg_apply to a small message (headers, body, envelope), both
 * with and without leading-space header values. Checks what must always
 * hold (abort() otherwise): split never claims more bytes than given; a
 * decoded string lies inside the packet; a refused modification leaves
 * the message as it was; the rebuilt message always has a header block
 * whose names hold no ':' or white space, values no NUL and no line
 * break that is not followed by white space.
 *
 * Build: t/fuzz/run.sh (make fuzz).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "milter.h"
#include "pbuf.h"
#include "qfile.h"

#define FUZZ_SIZE_LIMIT	4096	/* small, so that the REPLBODY limit is reached */
#define FUZZ_ERR	256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_msg[] =
    "Received: from x (localhost [127.0.0.1])\n\tby host\n"
    "Subject: hello\nTo: a@example.org\nX-Two: 1\nX-Two: 2\n\nbody line\n";

static void
check_inside(const char *s, const char *start, size_t len)
{
	if (s != NULL && (s < start || s + strlen(s) >= start + len))
		abort();
}

static void
check_msg(const struct milter_msg *m)
{
	struct pbuf out = PBUF_INIT;
	size_t i;

	for (i = 0; i < m->nhdr; i++) {
		const char *n = m->hdr[i].name, *v = m->hdr[i].value, *p;

		if (*n == '\0' || strpbrk(n, ": \t\r\n") != NULL)
			abort();
		for (p = strchr(v, '\n'); p; p = strchr(p + 1, '\n'))
			if (p[1] != ' ' && p[1] != '\t')
				abort();
	}
	milter_msg_content(m, &out);
	if (out.len == 0)
		abort();
	pbuf_free(&out);
}

static void
fuzz_run(const uint8_t *data, size_t size, int leadspc)
{
	struct qenv env;
	struct milter_msg m;
	size_t pos = 0;
	char err[FUZZ_ERR];

	qenv_init(&env);
	qenv_set_sender(&env, "s@example.org");
	qenv_add_rcpt(&env, "a@example.org", 0, NULL);
	milter_msg_init(&m, &env, fuzz_msg, sizeof(fuzz_msg) - 1, FUZZ_SIZE_LIMIT);
	for (;;) {
		struct milter_reply r;
		const char *d;
		size_t dlen, before;
		char code;
		long used = milter_packet_split((const char *)data + pos, size - pos, &code, &d,
		    &dlen, err, sizeof(err));

		if (used <= 0)
			break;
		if ((size_t)used > size - pos || d + dlen > (const char *)data + size)
			abort();
		/* The decoder wants the data in its own buffer, as the client has it. */
		{
			char *copy = malloc(dlen + 1);

			if (copy == NULL)
				abort();
			memcpy(copy, d, dlen);
			copy[dlen] = '\0';
			if (milter_reply_decode(code, copy, dlen, &r, err, sizeof(err)) == 0) {
				check_inside(r.s1, copy, dlen);
				check_inside(r.s2, copy, dlen);
				before = m.nhdr;
				if (milter_msg_apply(&m, &r, leadspc, err, sizeof(err)) < 0
				    && r.code != MILTER_R_REPLBODY && m.nhdr != before)
					abort();
				check_msg(&m);
			}
			free(copy);
		}
		pos += (size_t)used;
	}
	milter_msg_end_replbody(&m);
	check_msg(&m);
	milter_msg_free(&m);
	qenv_free(&env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;

	if (!quiet) {
		log_disable_sinks();
		log_to_stderr(NULL);
		quiet = 1;
	}
	fuzz_run(data, size, 0);
	fuzz_run(data, size, 1);
	return 0;
}
