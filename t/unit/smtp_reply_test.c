/*
 * smtp_reply_test - unit tests of sendmail/smtp_reply.c (the SMTP client's
 * reply parser) and smtp_nexthop_parse (sendmail/smtp_deliver.c).
 */
#include "config.h"

#include <string.h>

#include "smtp_deliver.h"
#include "smtp_reply.h"
#include "tap.h"

static enum smtp_reply_status
parse(const char *s, struct smtp_reply *r, size_t *used, char *why, size_t whylen)
{
	*used = 0;
	why[0] = '\0';
	return smtp_reply_parse(s, strlen(s), r, used, why, whylen);
}

int
main(void)
{
	struct smtp_reply r;
	struct smtp_nexthop nh;
	char why[128], big[700];
	size_t used;

	smtp_reply_init(&r);
	is_int(parse("220 mx.example ESMTP\r\n", &r, &used, why, sizeof(why)), SMTP_REPLY_DONE,
	    "greeting: whole");
	is_int(r.code, 220, "greeting: code");
	is_str(r.text.data, "220 mx.example ESMTP", "greeting: text");
	is_int(used, 22, "greeting: all bytes used");

	is_int(parse("250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n354 next", &r, &used, why,
	    sizeof(why)), SMTP_REPLY_DONE, "multiline: whole");
	is_int(r.lines.n, 3, "multiline: three lines");
	is_str(r.lines.v[2], "SIZE 100", "multiline: last line's text");
	is_int(used, 38, "multiline: stops at the end of the reply");
	is_str(r.text.data, "250 mx PIPELINING SIZE 100", "multiline: text joined");

	is_int(parse("550 5.1.1 <a@b>: no such user\n", &r, &used, why, sizeof(why)),
	    SMTP_REPLY_DONE, "bare LF taken");
	is_str(r.dsn, "5.1.1", "enhanced status code");
	parse("550 2.1.1 mismatched class\r\n", &r, &used, why, sizeof(why));
	is_str(r.dsn, "", "an enhanced code of another class is not one");
	is_int(parse("354\r\n", &r, &used, why, sizeof(why)), SMTP_REPLY_DONE, "bare code");
	is_int(r.code, 354, "bare code: 354");

	is_int(parse("250-first\r\n250 sec", &r, &used, why, sizeof(why)), SMTP_REPLY_MORE,
	    "incomplete: more");
	is_int(parse("", &r, &used, why, sizeof(why)), SMTP_REPLY_MORE, "empty: more");
	is_int(parse("garbage\r\n", &r, &used, why, sizeof(why)), SMTP_REPLY_BAD, "garbage: bad");
	is_str(why, "malformed reply line (no reply code)", "garbage: reason");
	is_int(parse("250-first\r\n550 second\r\n", &r, &used, why, sizeof(why)), SMTP_REPLY_BAD,
	    "mismatched codes: bad");
	is_str(why, "reply codes differ between lines", "mismatched codes: reason");
	is_int(parse("25\r\n", &r, &used, why, sizeof(why)), SMTP_REPLY_BAD, "short code: bad");
	is_int(parse("250x\r\n", &r, &used, why, sizeof(why)), SMTP_REPLY_BAD,
	    "code not followed by space or dash: bad");
	is_int(parse("650 six\r\n", &r, &used, why, sizeof(why)), SMTP_REPLY_BAD, "650: bad");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "550 ", 4);
	is_int(parse(big, &r, &used, why, sizeof(why)), SMTP_REPLY_BAD,
	    "over-long line without its end: bad at once");
	is_str(why, "reply line longer than 512 bytes", "over-long: reason");
	is_int(smtp_reply_parse("250 a\0b\r\n", 9, &r, &used, why, sizeof(why)), SMTP_REPLY_BAD,
	    "NUL in a reply: bad");

	is_int(smtp_nexthop_parse("[127.0.0.1]:2525", &nh, why, sizeof(why)), 0, "[ip]:port");
	ok(strcmp(nh.host, "127.0.0.1") == 0 && nh.port == 2525 && nh.no_mx, "[ip]:port: fields");
	is_int(smtp_nexthop_parse("mail.example", &nh, why, sizeof(why)), 0, "host");
	ok(strcmp(nh.host, "mail.example") == 0 && nh.port == 25 && !nh.no_mx, "host: MX, port 25");
	is_int(smtp_nexthop_parse("[ipv6:::1]", &nh, why, sizeof(why)), 0, "[ipv6:::1]");
	is_str(nh.host, "::1", "[ipv6:::1]: host");
	is_int(smtp_nexthop_parse("[x]:0", &nh, why, sizeof(why)), -1, "port 0 refused");
	is_int(smtp_nexthop_parse("[x", &nh, why, sizeof(why)), -1, "no closing bracket refused");
	is_int(smtp_nexthop_parse("host:smtp", &nh, why, sizeof(why)), 0, "host:smtp");
	smtp_reply_free(&r);
	return done_testing();
}
