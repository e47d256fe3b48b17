/*
 * fuzz_header - libFuzzer target for sendmail/header.c and sendmail/cleanup.c.
 *
 * Splits the input with headers_parse() and runs cleanup_message() on it
 * with and without -t, then checks what must always hold (abort()
 * otherwise): headers lie inside the message, in order, and end at the
 * body (or at the blank line before it); a successful cleanup gives
 * content ending in LF, with no Bcc:/Resent-Bcc: left, and the same
 * body, byte for byte, as the input (plus a final LF when it had none);
 * a failure leaves no content and no recipients.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Ilib -Isendmail
 *   t/fuzz/fuzz_header.c sendmail/cleanup.c sendmail/header.c sendmail/addr.c
 *   lib/pbuf.c lib/strv.c lib/xalloc.c lib/log.c
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "header.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"

#define FUZZ_ARRIVAL		1795851601
#define FUZZ_HEADER_LIMIT	200	/* small, so that cutting gets exercised */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_split(const char *msg, size_t size, const struct headers *h)
{
	size_t i, pos = 0;

	if (h->body_off > size)
		abort();
	for (i = 0; i < h->n; i++) {
		const struct header *hd = &h->v[i];

		if (hd->raw != msg + pos || hd->raw_len == 0 ||
		    hd->name_len == 0 || hd->name_len >= hd->raw_len)
			abort();
		pos += hd->raw_len;
	}
	if (h->has_blank) {
		if (h->body_off != pos + 1 && h->body_off != pos + 2)
			abort();
	} else if (h->body_off != pos)
		abort();
}

static void
check_cleanup(const char *msg, size_t size, const struct headers *h,
    const struct cleanup_output *o)
{
	struct headers h2;
	const char *body = msg + h->body_off;
	size_t blen = size - h->body_off, want, i;

	if (o->status != 0) {
		if (o->content.len != 0 || o->rcpts.n != 0 || o->error == NULL)
			abort();
		return;
	}
	if (o->rcpts.n == 0 || o->sender == NULL || o->error != NULL)
		abort();
	if (o->content.len == 0 || o->content.data[o->content.len - 1] != '\n')
		abort();
	headers_init(&h2);
	headers_parse(o->content.data, o->content.len, &h2);
	if (h2.n == 0 || !header_is(&h2.v[0], "Received"))
		abort();
	for (i = 0; i < h2.n; i++)
		if (header_is(&h2.v[i], "Bcc") || header_is(&h2.v[i], "Resent-Bcc"))
			abort();
	want = blen + (blen > 0 && body[blen - 1] != '\n');
	if (o->content.len - h2.body_off != want ||
	    memcmp(o->content.data + h2.body_off, body, blen) != 0)
		abort();
	headers_free(&h2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	const char *msg = (const char *)data;
	struct headers h;
	struct cleanup_params p;
	struct cleanup_input in;
	struct cleanup_output o;
	struct strv rcpts = STRV_INIT;
	struct pbuf v = PBUF_INIT;
	size_t i;

	if (!inited) {
		log_disable_sinks();
		inited = 1;
	}
	headers_init(&h);
	headers_parse(msg, size, &h);
	check_split(msg, size, &h);
	for (i = 0; i < h.n; i++)
		header_value(&h.v[i], &v);
	(void)headers_find(&h, "To", 0);

	memset(&p, 0, sizeof(p));
	p.myhostname = "mail.example.com";
	p.myorigin = "example.com";
	p.mail_name = "Petrel";
	p.append_at_myorigin = 1;
	p.header_size_limit = FUZZ_HEADER_LIMIT;
	p.hopcount_limit = 5;
	memset(&in, 0, sizeof(in));
	in.content = msg;
	in.len = size;
	in.rcpts = &rcpts;
	in.login = "fuzz";
	in.uid = 1000;
	in.fullname = "Fuzz (Tester)";
	in.queue_id = "0123456789ABCD";
	in.arrival.tv_sec = FUZZ_ARRIVAL;
	cleanup_output_init(&o);

	/* -t, recipients from the headers only. */
	in.extract_recipients = 1;
	cleanup_message(&p, &in, &o);
	check_cleanup(msg, size, &h, &o);

	/* Without -t, with a command-line list; then the -t union. */
	strv_add(&rcpts, "root, Name <admin@example.org>");
	in.extract_recipients = 0;
	in.sender = "";
	cleanup_message(&p, &in, &o);
	check_cleanup(msg, size, &h, &o);
	in.extract_recipients = 1;
	in.sender = "<bounce@example.org>";
	p.append_at_myorigin = 0;
	cleanup_message(&p, &in, &o);
	check_cleanup(msg, size, &h, &o);

	cleanup_output_free(&o);
	strv_free(&rcpts);
	pbuf_free(&v);
	headers_free(&h);
	return 0;
}
