/*
 * bounce_test - the delivery status notifications of sendmail/bounce.c
 * (RFC 3464), byte for byte.
 *
 * Runs with TZ=UTC, a fixed arrival time and a fixed "now", so the whole
 * notice is compared exactly; the other cases check the parts that change
 * (what is returned, the boundary, the per-recipient fields).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "conf.h"
#include "log.h"
#include "pbuf.h"
#include "qfile.h"
#include "tap.h"

#define T_QID		"4F1A20001234AB"
#define T_NID		"0123456789ABCD"
#define T_ARRIVAL	1795851601	/* Sat, 28 Nov 2026 07:40:01 UTC */
#define T_NOW		1795855261	/* Sat, 28 Nov 2026 08:41:01 UTC */
#define T_UNTIL		1796283601	/* Thu,  3 Dec 2026 07:40:01 UTC */
#define T_BOUNDARY	T_QID ".1795855261/host.example.com"
#define T_MSG		"From: bob@example.org\nTo: alice@host.example.com\n" \
			"Subject: hi\n\nhello\n"

static const char expect_failed[] =
	"Date: Sat, 28 Nov 2026 08:41:01 +0000 (UTC)\n"
	"From: MAILER-DAEMON@host.example.com (Mail Delivery System)\n"
	"To: bob@example.org\n"
	"Subject: Undelivered Mail Returned to Sender\n"
	"Message-Id: <20261128084101." T_NID "@host.example.com>\n"
	"Auto-Submitted: auto-replied\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/report; report-type=delivery-status;\n"
	"\tboundary=\"" T_BOUNDARY "\"\n"
	"Content-Transfer-Encoding: 7bit\n"
	"\n"
	"This is a MIME-encapsulated message.\n"
	"\n"
	"--" T_BOUNDARY "\n"
	"Content-Description: Notification\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"This is the Petrel mail system at host host.example.com.\n"
	"\n"
	"Your message could not be delivered to one or more of its\n"
	"recipients. They are listed below with the reason; the message\n"
	"(or its headers) is attached.\n"
	"\n"
	"If you need help, write to the postmaster of this host and\n"
	"include this report. You may delete your own text from the\n"
	"attached message.\n"
	"\n"
	"<alice@host.example.com>: unknown user: \"alice\"\n"
	"<carol@example.net>: delivery to remote domains is not available yet\n"
	"\n"
	"--" T_BOUNDARY "\n"
	"Content-Description: Delivery report\n"
	"Content-Type: message/delivery-status\n"
	"\n"
	"Reporting-MTA: dns; host.example.com\n"
	"Arrival-Date: Sat, 28 Nov 2026 07:40:01 +0000 (UTC)\n"
	"X-Petrel-Queue-ID: " T_QID "\n"
	"X-Petrel-Sender: rfc822; bob@example.org\n"
	"\n"
	"Original-Recipient: rfc822; alice@host.example.com\n"
	"Final-Recipient: rfc822; alice@host.example.com\n"
	"Action: failed\n"
	"Status: 5.1.1\n"
	"Diagnostic-Code: x-unix; unknown user: \"alice\"\n"
	"\n"
	"Original-Recipient: rfc822; Carol+Smith@example.net\n"
	"Final-Recipient: rfc822; carol@example.net\n"
	"Action: failed\n"
	"Status: 4.3.0\n"
	"\n"
	"--" T_BOUNDARY "\n"
	"Content-Description: Undelivered Message\n"
	"Content-Type: message/rfc822\n"
	"\n"
	T_MSG
	"\n"
	"--" T_BOUNDARY "--\n";

static struct qenv env;

static void
setup_env(void)
{
	qenv_init(&env);
	snprintf(env.id, sizeof(env.id), "%s", T_QID);
	env.arrival.tv_sec = T_ARRIVAL;
	env.arrival.tv_usec = 0;
	qenv_set_sender(&env, "bob@example.org");
}

static const struct bounce_rcpt rcpts[] = {
	{ "alice@host.example.com", NULL, "5.1.1", "x-unix; unknown user: \"alice\"", NULL,
	  NULL, NULL },
	{ "carol@example.net", "rfc822;Carol+2BSmith@example.net", "4.3.0", NULL,
	  "delivery to remote domains is not available yet", NULL, NULL },
};

static void
build(const struct bounce_opts *o, const char *content, size_t n, struct pbuf *out)
{
	pbuf_reset(out);
	bounce_build_opts(o, &env, T_QID, content, strlen(content), rcpts, n, out);
}

static int
has(const struct pbuf *b, const char *s)
{
	return strstr(pbuf_str(b), s) != NULL;
}

static void
test_failed_exact(void)
{
	struct bounce_opts o;
	struct pbuf out = PBUF_INIT;

	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_FAILED;
	o.now = T_NOW;
	o.notice_id = T_NID;
	build(&o, T_MSG, 2, &out);
	is_str(pbuf_str(&out), expect_failed, "failure notice, byte for byte");
	is_int(out.len, strlen(expect_failed), "no byte after the final boundary");
	pbuf_free(&out);
}

static void
test_returned_part(void)
{
	struct bounce_opts o;
	struct pbuf out = PBUF_INIT;
	char *big;
	size_t biglen = 60000;

	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_FAILED;
	o.now = T_NOW;

	env.ret = QRET_HDRS;
	build(&o, T_MSG, 1, &out);
	ok(has(&out, "Content-Description: Undelivered Message Headers\n"
	    "Content-Type: text/rfc822-headers\n\n"
	    "From: bob@example.org\nTo: alice@host.example.com\nSubject: hi\n\n--"),
	    "RET=HDRS: text/rfc822-headers with the header block only");
	ok(!has(&out, "hello"), "RET=HDRS: the body is not returned");
	env.ret = QRET_FULL;
	build(&o, T_MSG, 1, &out);
	ok(has(&out, "Content-Type: message/rfc822\n\n" T_MSG "\n--"),
	    "RET=FULL: message/rfc822 with the whole message");

	/* Larger than bounce_size_limit (50000): headers only. */
	big = malloc(biglen + 1);
	memcpy(big, "Subject: big\n\n", 14);
	memset(big + 14, 'x', biglen - 15);
	big[biglen - 1] = '\n';
	big[biglen] = '\0';
	build(&o, big, 1, &out);
	ok(has(&out, "Content-Type: text/rfc822-headers\n\nSubject: big\n\n--"),
	    "over bounce_size_limit: headers only");
	ok(out.len < 4000, "over bounce_size_limit: the body is left out (%zu bytes)", out.len);
	free(big);
	env.ret = QRET_NONE;

	/* No blank line after the headers, no final newline. */
	build(&o, "Subject: x\nbody without separator", 1, &out);
	ok(has(&out, "Content-Type: message/rfc822\n\nSubject: x\nbody without separator\n\n--"),
	    "a message without a final newline still ends its part with one");

	/* 8-bit content: declared, at the top and in the part. */
	build(&o, "Subject: caf\xc3\xa9\n\nna\xc3\xafve\n", 1, &out);
	ok(has(&out, "\nContent-Transfer-Encoding: 8bit\n\nThis is a MIME"),
	    "8-bit content: top-level Content-Transfer-Encoding: 8bit");
	ok(has(&out, "Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n"),
	    "8-bit content: the returned part says 8bit");
	pbuf_free(&out);
}

static void
test_boundary(void)
{
	struct bounce_opts o;
	struct pbuf out = PBUF_INIT;
	const char *msg = "Subject: trap\n\n--" T_BOUNDARY "\n";

	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_FAILED;
	o.now = T_NOW;
	build(&o, msg, 1, &out);
	ok(has(&out, "boundary=\"" T_QID ".1795855261.1/host.example.com\""),
	    "a boundary that occurs in the content is made unique");
	ok(has(&out, "\n--" T_QID ".1795855261.1/host.example.com--\n"),
	    "the closing delimiter uses the new boundary");
	pbuf_free(&out);
}

static void
test_delayed(void)
{
	struct bounce_opts o;
	struct pbuf out = PBUF_INIT;
	static const struct bounce_rcpt r[] = {
		{ "carol@example.net", NULL, "4.4.1", NULL, "connect to mx.example.net[192.0.2.1]:25: "
		  "Connection refused", NULL, NULL },
	};

	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_DELAYED;
	o.now = T_NOW;
	o.retry_until = T_UNTIL;
	bounce_build_opts(&o, &env, T_QID, T_MSG, strlen(T_MSG), r, 1, &out);
	ok(has(&out, "\nSubject: Delayed Mail (still being retried)\n"), "delay: subject");
	ok(has(&out, "for\n1 hour. The mail system will keep trying until\n"
	    "Thu, 03 Dec 2026 07:40:01 +0000 (UTC);\n"), "delay: how long, and until when");
	ok(has(&out, "\nOriginal-Recipient: rfc822; carol@example.net\n"
	    "Final-Recipient: rfc822; carol@example.net\nAction: delayed\nStatus: 4.4.1\n"
	    "Will-Retry-Until: Thu, 03 Dec 2026 07:40:01 +0000 (UTC)\n"),
	    "delay: per-recipient fields, Will-Retry-Until, no Diagnostic-Code");
	ok(has(&out, "<carol@example.net>: connect to mx.example.net[192.0.2.1]:25: "
	    "Connection refused\n"), "delay: the reason in the readable part");
	ok(has(&out, "Content-Description: Delayed Message Headers\n"
	    "Content-Type: text/rfc822-headers\n\n"), "delay: headers only");
	ok(!has(&out, "hello"), "delay: no body");
	pbuf_free(&out);
}

static void
test_other_kinds(void)
{
	struct bounce_opts o;
	struct pbuf out = PBUF_INIT;
	static const struct bounce_rcpt r[] = {
		{ "alice@host.example.com", NULL, "2.0.0", NULL, "delivered to mailbox", NULL, NULL },
	};
	static const struct bounce_rcpt bad[] = {
		{ "x@example.net", NULL, "5.1", NULL, NULL, NULL, NULL },
		{ "y@example.net", NULL, NULL, NULL, NULL, NULL, NULL },
	};

	env.envid = strdup("QQ314159");
	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_DELIVERED;
	o.now = T_NOW;
	bounce_build_opts(&o, &env, T_QID, T_MSG, strlen(T_MSG), r, 1, &out);
	ok(has(&out, "\nSubject: Successful Mail Delivery Report\n"), "success: subject");
	ok(has(&out, "Action: delivered\nStatus: 2.0.0\n"), "success: action and status");
	ok(has(&out, "Content-Type: message/delivery-status\n\n"
	    "Original-Envelope-Id: QQ314159\nReporting-MTA: dns; host.example.com\n"),
	    "ENVID comes first among the per-message fields (RFC 3464 order)");

	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_FAILED;
	o.now = T_NOW;
	o.postmaster_copy = 1;
	o.to = "postmaster@host.example.com";
	bounce_build_opts(&o, &env, T_QID, T_MSG, strlen(T_MSG), bad, 2, &out);
	ok(has(&out, "\nTo: postmaster@host.example.com\n"
	    "Subject: Postmaster Copy: Undelivered Mail\n"), "postmaster copy: To and Subject");
	ok(has(&out, "Content-Type: text/rfc822-headers\n"), "postmaster copy: headers only");
	ok(has(&out, "Final-Recipient: rfc822; x@example.net\nAction: failed\nStatus: 5.0.0\n"),
	    "a malformed status becomes the class default");
	ok(has(&out, "Final-Recipient: rfc822; y@example.net\nAction: failed\nStatus: 5.0.0\n"),
	    "a missing status becomes the class default");
	ok(has(&out, "<y@example.net>: 5.0.0\n"),
	    "a recipient without any reason gets its status as the reason");
	free(env.envid);
	env.envid = NULL;

	/* Header injection through an address: no new line can start. */
	{
		static const struct bounce_rcpt inj[] = {
			{ "a@b\nBcc: evil@example.net", NULL, "5.1.1", "x-unix; x\ny", NULL, NULL, NULL },
		};

		memset(&o, 0, sizeof(o));
		o.kind = BOUNCE_FAILED;
		o.now = T_NOW;
		bounce_build_opts(&o, &env, T_QID, T_MSG, strlen(T_MSG), inj, 1, &out);
		ok(!has(&out, "\nBcc:"), "a line break in an address cannot start a field");
		ok(has(&out, "Diagnostic-Code: x-unix; x y\n"), "nor in a diagnostic");
	}
	pbuf_free(&out);
}

/* A remote server's answer: Remote-MTA before Diagnostic-Code; Action relayed. */
static void
test_remote(void)
{
	struct bounce_opts o;
	struct pbuf out = PBUF_INIT;
	static const struct bounce_rcpt r[] = {
		{ "dan@example.net", NULL, "5.1.1", "smtp; 550 5.1.1 no such user",
		  "host mx.example.net[192.0.2.1] said: 550 5.1.1 no such user", "mx.example.net",
		  NULL },
		{ "eve@example.net", NULL, "2.0.0", "smtp; 250 2.0.0 Ok", "250 2.0.0 Ok",
		  "mx.example.net", "relayed" },
	};

	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_FAILED;
	o.now = T_NOW;
	bounce_build_opts(&o, &env, T_QID, T_MSG, strlen(T_MSG), r, 1, &out);
	ok(has(&out, "\nFinal-Recipient: rfc822; dan@example.net\nAction: failed\nStatus: 5.1.1\n"
	    "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n"),
	    "remote: Remote-MTA, then Diagnostic-Code: smtp;");
	pbuf_reset(&out);
	o.kind = BOUNCE_DELIVERED;
	bounce_build_opts(&o, &env, T_QID, T_MSG, strlen(T_MSG), r + 1, 1, &out);
	ok(has(&out, "\nAction: relayed\nStatus: 2.0.0\nRemote-MTA: dns; mx.example.net\n"),
	    "remote: Action relayed for a success notice about a server without DSN");
	pbuf_free(&out);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	log_disable_sinks();
	conf_load_defaults("/nonexistent");
	conf_override("myhostname", "host.example.com");
	setup_env();

	test_failed_exact();
	test_returned_part();
	test_boundary();
	test_delayed();
	test_other_kinds();
	test_remote();
	qenv_free(&env);
	return done_testing();
}
