/*
 * header_test - splitting the primary header block (sendmail/header.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "header.h"
#include "log.h"
#include "pbuf.h"
#include "tap.h"

static struct headers h;

static void
parse(const char *msg)
{
	headers_parse(msg, strlen(msg), &h);
}

/* Header i's raw text as a string (static buffer). */
static const char *
raw(size_t i)
{
	static struct pbuf b;

	pbuf_reset(&b);
	pbuf_puts(&b, "");
	if (i < h.n)
		pbuf_append(&b, h.v[i].raw, h.v[i].raw_len);
	return pbuf_str(&b);
}

static const char *
value(size_t i)
{
	static struct pbuf b;

	pbuf_puts(&b, "stale");		/* header_value replaces, never appends */
	if (i < h.n)
		header_value(&h.v[i], &b);
	return pbuf_str(&b);
}

static void
test_blank_separator(void)
{
	const char *m = "From: a@b\nTo: c@d\nSubject: hi\n\nbody\nline 2\n";

	parse(m);
	is_int(h.n, 3, "three headers");
	is_str(raw(0), "From: a@b\n", "raw 0");
	is_str(raw(2), "Subject: hi\n", "raw 2");
	is_int(h.v[0].name_len, 4, "name_len From");
	is_int(h.v[2].name_len, 7, "name_len Subject");
	is_int(h.has_blank, 1, "has_blank");
	is_int(h.body_off, strlen("From: a@b\nTo: c@d\nSubject: hi\n\n"), "body_off after blank");
	is_str(m + h.body_off, "body\nline 2\n", "body text");
	ok(h.v[0].raw == m, "raw points into the message");
}

static void
test_continuations(void)
{
	const char *m = "To: a@b,\n\tc@d,\n  e@f\nX-Long: one\n two\n\nbody\n";

	parse(m);
	is_int(h.n, 2, "folded: two headers");
	is_str(raw(0), "To: a@b,\n\tc@d,\n  e@f\n", "folded raw keeps folding");
	is_str(value(0), "a@b,\tc@d,  e@f", "value unfolded");
	is_str(value(1), "one two", "value 2");
	is_str(m + h.body_off, "body\n", "body after folded");

	parse("Subject:\n\tonly continued\n\n");
	is_str(value(0), "only continued", "value on continuation line only");
	parse("Subject:\n\n");
	is_str(value(0), "", "empty value");
	parse("Subject:   spaced  \n\n");
	is_str(value(0), "spaced  ", "leading blanks trimmed, trailing kept");
	parse("Subject: a\n \n\nb\n");
	is_int(h.n, 1, "blank-ish continuation belongs to the header");
	is_str(raw(0), "Subject: a\n \n", "  raw");
	is_int(h.has_blank, 1, "  then the blank line");
}

static void
test_no_blank_line(void)
{
	const char *m = "From: a@b\nSubject: x\nThis is the body, no blank line\nmore\n";

	parse(m);
	is_int(h.n, 2, "no blank: two headers");
	is_int(h.has_blank, 0, "no blank: has_blank 0");
	is_str(m + h.body_off, "This is the body, no blank line\nmore\n", "body starts at first non-header");

	m = "From: a@b\n>From x\n";
	parse(m);
	is_int(h.n, 1, ">From ends headers");
	is_str(m + h.body_off, ">From x\n", "  body");

	m = "From: a@b\nFrom someone Sat Nov 28\n";
	parse(m);
	is_int(h.n, 1, "mbox From line is no header");
	is_str(m + h.body_off, "From someone Sat Nov 28\n", "  body");

	m = "Subject: x\n: no name\n";
	parse(m);
	is_int(h.n, 1, "empty name is no header");
	is_str(m + h.body_off, ": no name\n", "  body");

	m = "Subject: x\nBad Name: y\n";
	parse(m);
	is_int(h.n, 1, "space inside name is no header");

	m = "Subject: x\nN\xc3\xa4me: y\n";
	parse(m);
	is_int(h.n, 1, "8-bit name is no header");

	m = "Subject: x\nNoColonHere\n";
	parse(m);
	is_int(h.n, 1, "word without colon is no header");
	is_str(m + h.body_off, "NoColonHere\n", "  body");
}

static void
test_edge_messages(void)
{
	const char *m;

	parse("");
	is_int(h.n, 0, "empty: no headers");
	is_int(h.body_off, 0, "empty: body_off 0");
	is_int(h.has_blank, 0, "empty: no blank");

	m = "Subject: x\nTo: y";
	parse(m);
	is_int(h.n, 2, "headers only, no final LF");
	is_str(raw(1), "To: y", "  last raw without LF");
	is_int(h.v[1].raw_len, 5, "  raw_len");
	is_int(h.body_off, strlen(m), "  body_off at end");
	is_int(h.has_blank, 0, "  no blank");

	m = "Subject: x\n";
	parse(m);
	is_int(h.n, 1, "headers only with LF");
	is_int(h.body_off, strlen(m), "  body_off at end");
	is_int(h.has_blank, 0, "  no blank");

	m = "Subject: x\n\n";
	parse(m);
	is_int(h.has_blank, 1, "headers and blank, empty body");
	is_int(h.body_off, strlen(m), "  body_off at end");

	m = "\nbody\n";
	parse(m);
	is_int(h.n, 0, "leading blank: no headers");
	is_int(h.has_blank, 1, "  has_blank");
	is_int(h.body_off, 1, "  body_off 1");

	m = "just text\n";
	parse(m);
	is_int(h.n, 0, "text only: no headers");
	is_int(h.has_blank, 0, "  no blank");
	is_int(h.body_off, 0, "  body_off 0");

	m = " indented\nSubject: x\n";
	parse(m);
	is_int(h.n, 0, "leading continuation: no headers");
	is_int(h.body_off, 0, "  body_off 0");

	m = "Subject: x\r\n\r\nbody\r\n";
	parse(m);
	is_int(h.n, 1, "CR-only line is a blank line");
	is_int(h.has_blank, 1, "  has_blank");
	is_str(m + h.body_off, "body\r\n", "  body");

	m = "Subject: x\n\nFrom: not a header\n\nmore";
	parse(m);
	is_int(h.n, 1, "headers after the blank line belong to the body");

	{
		static const char bin[] = "Subject: a\0b\n\nbo\0dy";

		headers_parse(bin, sizeof(bin) - 1, &h);
		is_int(h.n, 1, "NUL in value");
		is_int(h.v[0].raw_len, 13, "  raw_len counts past NUL");
		is_int(h.body_off, 14, "  body_off");
	}
}

static void
test_names(void)
{
	const char *m = "Message-ID: <x@y>\nSubject : spaced colon\nX-A\t: tab\nRESENT-TO: r@s\n"
	    "To: a\nCc: b\nTo: c\n\n";

	parse(m);
	is_int(h.n, 7, "names: count");
	ok(header_is(&h.v[0], "Message-Id"), "header_is case-insensitive");
	ok(!header_is(&h.v[0], "Message"), "header_is whole name only");
	ok(!header_is(&h.v[0], "Message-IDs"), "header_is no prefix match");
	is_int(h.v[1].name_len, 7, "\"Subject :\" name_len excludes blank");
	ok(header_is(&h.v[1], "subject"), "\"Subject :\" is Subject");
	is_str(value(1), "spaced colon", "value after spaced colon");
	ok(header_is(&h.v[2], "X-A"), "tab before colon");
	ok(header_is(&h.v[3], "Resent-To"), "RESENT-TO");
	is_int(headers_find(&h, "to", 0), 4, "find first To");
	is_int(headers_find(&h, "To", 5), 6, "find next To");
	is_int(headers_find(&h, "To", 7), -1, "find past the end");
	is_int(headers_find(&h, "Bcc", 0), -1, "find missing");
	is_int(headers_find(&h, "message-id", 0), 0, "find at 0");

	/* A name may hold any printable ASCII but ':' */
	parse("X-!#$%&'*+/=?^_`{|}~\"(),.;<>@[]: v\n\n");
	is_int(h.n, 1, "name with punctuation");
	is_int(h.v[0].name_len, 31, "  name_len");
}

static void
test_reuse(void)
{
	struct headers h2;

	headers_init(&h2);
	headers_parse("A: 1\nB: 2\n\n", 11, &h2);
	is_int(h2.n, 2, "reuse: first parse");
	headers_parse("C: 3\n", 5, &h2);
	is_int(h2.n, 1, "reuse: second parse resets");
	is_int(h2.has_blank, 0, "reuse: has_blank reset");
	is_int(h2.body_off, 5, "reuse: body_off");
	headers_free(&h2);
	is_int(h2.n, 0, "free resets");
	ok(h2.v == NULL, "free releases");

	{
		/* Many headers: growth. */
		struct pbuf m = PBUF_INIT;
		int i;

		for (i = 0; i < 1000; i++)
			pbuf_printf(&m, "X-N%d: %d\n", i, i);
		pbuf_puts(&m, "\nbody");
		headers_parse(m.data, m.len, &h);
		is_int(h.n, 1000, "1000 headers");
		is_str(m.data + h.body_off, "body", "  body");
		pbuf_free(&m);
	}
}

int
main(void)
{
	log_disable_sinks();
	headers_init(&h);
	diag("blank separator");
	test_blank_separator();
	diag("continuations");
	test_continuations();
	diag("no blank line");
	test_no_blank_line();
	diag("edge messages");
	test_edge_messages();
	diag("names");
	test_names();
	diag("reuse");
	test_reuse();
	headers_free(&h);
	return done_testing();
}
