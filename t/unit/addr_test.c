/*
 * addr_test - address-list parsing and header qualification (sendmail/addr.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "xalloc.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"
#include "tap.h"

/* A printable copy of s for test names (CR, LF, TAB and 8-bit escaped). */
static const char *
vis(const char *s)
{
	static struct pbuf bufs[4];
	static unsigned next;
	struct pbuf *b = &bufs[next++ % 4];

	pbuf_reset(b);
	pbuf_puts(b, "");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 32 || c >= 127)
			pbuf_printf(b, "\\x%02x", c);
		else
			pbuf_putc(b, c);
	}
	return pbuf_str(b);
}

/* Parses text; returns the addresses joined by '|' (static buffer) and *bad. */
static const char *
plist(const char *text, size_t *bad)
{
	static struct pbuf res;
	struct strv v = STRV_INIT;
	size_t i, n;

	pbuf_reset(&res);
	pbuf_puts(&res, "");
	n = addr_parse_list(text, strlen(text), &v, bad);
	for (i = 0; i < v.n; i++) {
		if (i)
			pbuf_putc(&res, '|');
		pbuf_puts(&res, v.v[i]);
	}
	if (n != v.n)
		pbuf_puts(&res, "<count mismatch>");
	strv_free(&v);
	return pbuf_str(&res);
}

#define LIST(text, want, wantbad) do {					\
	size_t bad_ = 99;						\
	is_str(plist(text, &bad_), want, "list: %s", vis(text));		\
	is_int(bad_, wantbad, "list bad count: %s", vis(text));		\
} while (0)

static const char *
qhdr(const char *value, size_t *changed)
{
	static struct pbuf res;

	pbuf_reset(&res);
	pbuf_puts(&res, "");
	*changed = addr_qualify_header(value, strlen(value), "example.com", &res);
	return pbuf_str(&res);
}

#define QUAL(value, want, wantn) do {					\
	size_t n_ = 99;							\
	is_str(qhdr(value, &n_), want, "qualify: %s", vis(value));		\
	is_int(n_, wantn, "qualify count: %s", vis(value));			\
} while (0)

static void
test_simple(void)
{
	LIST("root", "root", 0);
	LIST("a@b.c", "a@b.c", 0);
	LIST("  a@b.c  ", "a@b.c", 0);
	LIST("", "", 0);
	LIST("   ", "", 0);
	LIST("a, b <c@d>, Name <e>", "a|c@d|e", 0);
	LIST("a,,b, ,c,", "a|b|c", 0);
	LIST(",", "", 0);
	LIST("a@b.c; d@e.f", "a@b.c|d@e.f", 0);
	LIST("john.doe@example.com", "john.doe@example.com", 0);
	LIST("john . doe @ example . com", "john.doe@example.com", 0);
	LIST("user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk", 0);
	LIST("a@[192.0.2.1]", "a@[192.0.2.1]", 0);
	LIST("a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]", 0);
	LIST("a@[ 192.0.2.1\r\n\t]", "a@[192.0.2.1]", 0);
	LIST("a@[192.0.2.\x01" "1], b@c", "b@c", 1);
	LIST("<a@b>", "a@b", 0);
	LIST("< a @ b >", "a@b", 0);
	LIST("root.", "root.", 0);
	LIST("john..doe@docomo.ne.jp", "john..doe@docomo.ne.jp", 0);
	LIST("a@example.com.", "a@example.com.", 0);
	LIST("!#$%&'*+-/=?^_`{|}~@x", "!#$%&'*+-/=?^_`{|}~@x", 0);
}

static void
test_display_names(void)
{
	LIST("Root User <root>", "root", 0);
	LIST("\"Doe, John\" <john@x.org>", "john@x.org", 0);
	LIST("\"Doe, John\" <john@x.org>, b@c", "john@x.org|b@c", 0);
	LIST("\"a \\\"quoted\\\" name\" <q@x>", "q@x", 0);
	LIST("J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>", "joerg@example.de", 0);
	LIST("\"J\xc3\xb6rg\" <joerg@example.de>", "joerg@example.de", 0);
	LIST("=?UTF-8?B?SsO2cmc=?= <j@x>", "j@x", 0);
	LIST("Dr. Who <who@tardis>", "who@tardis", 0);
	LIST("who@tardis <who@tardis>", "who@tardis", 0);
	LIST("\"(Cron Daemon)\" <root@host>", "root@host", 0);
	LIST("Name\r\n\t<folded@x>", "folded@x", 0);
}

static void
test_comments(void)
{
	LIST("root (Cron Daemon)", "root", 0);
	LIST("(c1) a (c2) @ (c3) b (c4)", "a@b", 0);
	LIST("a@b (nested (comment) here)", "a@b", 0);
	LIST("a@b (escaped \\) paren)", "a@b", 0);
	LIST("a@b (comment, with comma), c@d", "a@b|c@d", 0);
	LIST("a@b (unterminated, c@d", "", 1);
	LIST("x@y, a@b (unterminated, c@d", "x@y", 1);
}

static void
test_quoted(void)
{
	LIST("\"john doe\"@example.com", "\"john doe\"@example.com", 0);
	LIST("\"john\"@example.com", "john@example.com", 0);
	LIST("\"john\".\"doe\"@example.com", "john.doe@example.com", 0);
	LIST("\"a\\\"b\"@x", "\"a\\\"b\"@x", 0);
	LIST("\"a\\\\b\"@x", "\"a\\\\b\"@x", 0);
	LIST("\"a\\b\"@x", "ab@x", 0);
	LIST("\"a,b\"@x, c@d", "\"a,b\"@x|c@d", 0);
	LIST("\"a..b\"@x", "\"a..b\"@x", 0);
	LIST("\"\"@x", "\"\"@x", 0);
	LIST("\"john doe\"", "\"john doe\"", 0);
	LIST("\"unterminated@x, c@d", "", 1);
	LIST("\"a\tb\"@x, c@d", "c@d", 1);
}

static void
test_groups(void)
{
	LIST("undisclosed-recipients:;", "", 0);
	LIST("undisclosed-recipients: ;", "", 0);
	LIST("Friends: a@b, \"C D\" <c@d>;", "a@b|c@d", 0);
	LIST("Friends: a@b, c@d;, e@f", "a@b|c@d|e@f", 0);
	LIST("x@y, Friends: a@b;", "x@y|a@b", 0);
	LIST("Friends: a@b, c@d", "a@b|c@d", 0);	/* no ';' tolerated */
	LIST("G: a@b, bad bad, c@d;", "a@b|c@d", 1);
	LIST("G: a@b, H: c@d;;", "a@b", 1);		/* no nesting */
	LIST("\"Quoted Group\": a;", "a", 0);
	LIST(":;", "", 0);
	LIST("G: a, b; junk, c", "a|b|c", 1);	/* junk after a group */
	LIST("Friendw:, ea,+.; @e", "ea|+.", 1);
}

static void
test_obsolete(void)
{
	LIST("<@a,@b:u@d>", "u@d", 0);
	LIST("Name <@relay.example:user@final.example>", "user@final.example", 0);
	LIST("<@a,,@b:u@d>, x@y", "u@d|x@y", 0);
	LIST("<>", "", 0);
	LIST("<>, a@b", "a@b", 0);
	LIST("Name <>", "", 0);
}

static void
test_garbage(void)
{
	size_t bad;
	char big[ADDR_MAX_LEN + 64];

	LIST("John Doe john@x, a@b", "a@b", 1);
	LIST("a@, b@c", "b@c", 1);
	LIST("@b, c@d", "c@d", 1);
	LIST("a@b@c, d@e", "d@e", 1);
	LIST("<a@b, c@d", "c@d", 1);	/* unclosed <: retry at the next comma */
	LIST("a <b@c, d@e>", "", 1);
	LIST("a@b>, c@d", "c@d", 1);
	LIST("a@b c, d@e, f g, h@i", "d@e|h@i", 2);
	LIST("\\root, b@c", "b@c", 1);
	LIST("a\x01" "b@c, d@e", "d@e", 1);
	LIST("a@[1.2.3.4, b@c", "", 1);
	LIST("a@[1.[2]", "", 1);
	LIST("(only a comment)", "", 0);
	LIST(")", "", 1);
	LIST("Name <a@b> trailing, c@d", "c@d", 1);
	LIST(".", "", 1);
	LIST("a@b <c@d> <e@f>, g@h", "g@h", 1);

	/* Longest address accepted, one byte more is bad. */
	memset(big, 'x', sizeof(big));
	big[ADDR_MAX_LEN - 2] = '@';
	big[ADDR_MAX_LEN] = '\0';
	is_str(plist(big, &bad), big, "address of ADDR_MAX_LEN bytes");
	is_int(bad, 0, "  not bad");
	big[ADDR_MAX_LEN] = 'x';
	big[ADDR_MAX_LEN + 1] = '\0';
	is_str(plist(big, &bad), "", "address over ADDR_MAX_LEN");
	is_int(bad, 1, "  counted bad");

	/* NUL inside the text: bad, the rest still parses. */
	{
		static const char nul[] = "a\0b@c, d@e";
		struct strv v = STRV_INIT;

		is_int(addr_parse_list(nul, sizeof(nul) - 1, &v, &bad), 1, "NUL element skipped");
		is_int(bad, 1, "  counted bad");
		is_str(v.v[0], "d@e", "  next element kept");
		strv_free(&v);
	}
	/* bad may be NULL; text is len-bounded. */
	{
		struct strv v = STRV_INIT;

		is_int(addr_parse_list("a@b, c@d", 3, &v, NULL), 1, "len bound respected");
		is_str(v.v[0], "a@b", "  only first");
		strv_free(&v);
	}
}

static void
test_qualify_header(void)
{
	QUAL(" root", " root@example.com", 1);
	QUAL("root", "root@example.com", 1);
	QUAL(" Root User <root>", " Root User <root@example.com>", 1);
	QUAL(" root (Cron Daemon)", " root@example.com (Cron Daemon)", 1);
	QUAL(" undisclosed-recipients:;", " undisclosed-recipients:;", 0);
	QUAL(" a@b.c", " a@b.c", 0);
	QUAL(" a@b.c, root", " a@b.c, root@example.com", 1);
	QUAL(" root,\n\tadmin (The Admin),\n \"Joe Q. Public\" <joe>",
	    " root@example.com,\n\tadmin@example.com (The Admin),\n \"Joe Q. Public\" <joe@example.com>", 3);
	QUAL(" Team: alice, bob@x.org, \"C\" <carol>;",
	    " Team: alice@example.com, bob@x.org, \"C\" <carol@example.com>;", 2);
	QUAL(" \"john doe\"", " \"john doe\"@example.com", 1);
	QUAL(" <>", " <>", 0);
	QUAL(" John Doe john, root", " John Doe john, root@example.com", 1);
	QUAL(" J\xc3\xb6rg <joerg>", " J\xc3\xb6rg <joerg@example.com>", 1);
	QUAL(" (c) root (d)", " (c) root@example.com (d)", 1);
	QUAL(" <@a,@b:u>", " <@a,@b:u@example.com>", 1);
	QUAL("", "", 0);
	QUAL("  ", "  ", 0);
	QUAL(" \"unterminated", " \"unterminated", 0);
	QUAL(" root\t", " root@example.com\t", 1);
	QUAL(" G: a, b; junk, c", " G: a@example.com, b@example.com; junk, c@example.com", 3);

	{
		struct pbuf b = PBUF_INIT;

		is_int(addr_qualify_header(" root", 5, NULL, &b), 0, "no domain: unchanged");
		is_str(pbuf_str(&b), " root", "  copied");
		pbuf_reset(&b);
		pbuf_puts(&b, "To:");
		addr_qualify_header(" root", 5, "x.org", &b);
		is_str(pbuf_str(&b), "To: root@x.org", "  appends to out");
		pbuf_free(&b);
	}
}

static void
test_single(void)
{
	char *s;

	s = addr_qualify("root", "example.com");
	is_str(s, "root@example.com", "qualify bare");
	free(s);
	s = addr_qualify("root@x", "example.com");
	is_str(s, "root@x", "qualify keeps domain");
	free(s);
	s = addr_qualify("\"a@b\"", "example.com");
	is_str(s, "\"a@b\"@example.com", "qualify: @ inside quotes is no domain");
	free(s);
	s = addr_qualify("", "example.com");
	is_str(s, "", "qualify: null sender stays null");
	free(s);
	s = addr_qualify("root", "");
	is_str(s, "root", "qualify: empty domain");
	free(s);

	s = addr_unquote_local("\"john doe\"@example.com");
	is_str(s, "john doe", "unquote local");
	free(s);
	s = addr_unquote_local("\"a\\\"b\"@x");
	is_str(s, "a\"b", "unquote escapes");
	free(s);
	s = addr_unquote_local("root");
	is_str(s, "root", "unquote bare");
	free(s);
	s = addr_unquote_local("Root@Example.COM");
	is_str(s, "Root", "unquote keeps case");
	free(s);
	s = addr_unquote_local("\"a@b\"@c");
	is_str(s, "a@b", "unquote: @ in quotes");
	free(s);

	s = addr_strip_brackets("<user@x>");
	is_str(s, "user@x", "strip brackets");
	free(s);
	s = addr_strip_brackets("<>");
	is_str(s, "", "strip <> gives empty");
	free(s);
	s = addr_strip_brackets("user@x");
	is_str(s, "user@x", "no brackets");
	free(s);
	s = addr_strip_brackets(" <user@x> ");
	is_str(s, "user@x", "brackets with blanks");
	free(s);
	s = addr_strip_brackets("<<a>>");
	is_str(s, "<a>", "only one pair");
	free(s);
	s = addr_strip_brackets("<");
	is_str(s, "<", "lone <");
	free(s);
}

/* addr_map_header's test mapping: a@x.org and c@z.org change, the rest stays. */
static char *
map_some(const char *addr, void *ctx)
{
	(*(int *)ctx)++;
	if (strcmp(addr, "a@x.org") == 0)
		return xstrdup("new.a@y.org");
	if (strcmp(addr, "c@z.org") == 0)
		return xstrdup("c@w.org");
	return NULL;
}

static const char *
mapped(const char *value, int *seen, size_t *changed)
{
	static char out[512];
	struct pbuf b = PBUF_INIT;

	*seen = 0;
	*changed = addr_map_header(value, strlen(value), map_some, seen, &b);
	snprintf(out, sizeof(out), "%s", pbuf_str(&b));
	pbuf_free(&b);
	return out;
}

static void
map_headers(void)
{
	int seen;
	size_t changed;

	is_str(mapped(" \"Ann A.\" <a@x.org>, b@y.org (Bob), team: c@z.org;", &seen, &changed),
	    " \"Ann A.\" <new.a@y.org>, b@y.org (Bob), team: c@w.org;",
	    "addr_map_header: angle address, comment and group kept around the replacements");
	is_int((long)changed, 2, "two replaced");
	is_int(seen, 3, "every address offered to the map");
	is_str(mapped(" a@x.org (x),\n\tjunk <<, c@z.org", &seen, &changed),
	    " new.a@y.org (x),\n\tjunk <<, c@w.org", "folding kept, junk left as written");
	is_str(mapped(" undisclosed-recipients:;", &seen, &changed), " undisclosed-recipients:;",
	    "an empty group: unchanged");
	is_int(seen, 0, "... nothing offered");
}

int
main(void)
{
	log_disable_sinks();
	diag("simple");
	test_simple();
	diag("display_names");
	test_display_names();
	diag("comments");
	test_comments();
	diag("quoted");
	test_quoted();
	diag("groups");
	test_groups();
	diag("obsolete");
	test_obsolete();
	diag("garbage");
	test_garbage();
	diag("qualify_header");
	test_qualify_header();
	diag("single");
	test_single();
	/* Regression (fuzz_addr): a quoted space in a domain literal stays quoted. */
	{
		struct strv r = STRV_INIT, r2 = STRV_INIT;
		size_t b1 = 0, b2 = 0;

		is_int(addr_parse_list("<, c@[;92\\%\\ ]", 14, &r, &b1), 1,
		    "domain literal with a quoted space parses");
		if (r.n == 1) {
			is_str(r.v[0], "c@[;92\\%\\ ]", "the quoted pair is kept whole");
			is_int(addr_parse_list(r.v[0], strlen(r.v[0]), &r2, &b2), 1,
			    "and the result parses to itself");
			is_int(b2, 0, "with nothing bad");
		}
		strv_free(&r);
		strv_free(&r2);
		is_int(addr_parse_list("a@[1.2\\\r3]", 10, &r, &b1), 0,
		    "a quoted CR in a domain literal is refused");
		strv_free(&r);
	}
	map_headers();
	return done_testing();
}
