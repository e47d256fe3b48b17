/*
 * cleanup_test - header fix-up of locally submitted mail (sendmail/cleanup.c).
 *
 * Runs with TZ=UTC and a fixed arrival time, so every added header is
 * compared byte for byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"
#include "tap.h"

#define T_ARRIVAL	1795851601	/* Sat, 28 Nov 2026 07:40:01 UTC */
#define T_QID		"0123456789ABCD"
#define T_DATE		"Sat, 28 Nov 2026 07:40:01 +0000 (UTC)"
#define T_RCVD(uid)	"Received: by mail.example.com (Petrel, from userid " uid ")\n" \
			"\tid " T_QID "; " T_DATE "\n"
#define T_MID		"Message-Id: <20261128074001." T_QID "@mail.example.com>\n"
#define T_DATEHDR	"Date: " T_DATE "\n"
#define T_UNDISCL	"To: undisclosed-recipients:;\n"

static struct cleanup_params params;
static struct cleanup_input in;
static struct cleanup_output out;
static struct strv argv_rcpts;

static void
reset(void)
{
	params.myhostname = "mail.example.com";
	params.myorigin = "example.com";
	params.mail_name = "Petrel";
	params.append_at_myorigin = 1;
	params.message_size_limit = 0;
	params.header_size_limit = 102400;
	params.hopcount_limit = 50;

	strv_free(&argv_rcpts);
	memset(&in, 0, sizeof(in));
	in.rcpts = &argv_rcpts;
	in.login = "alice";
	in.uid = 1000;
	in.queue_id = T_QID;
	in.arrival.tv_sec = T_ARRIVAL;
}

static int
run(const char *content)
{
	in.content = content;
	in.len = strlen(content);
	return cleanup_message(&params, &in, &out);
}

static const char *
rcpts(void)
{
	static struct pbuf b;
	size_t i;

	pbuf_reset(&b);
	pbuf_puts(&b, "");
	for (i = 0; i < out.rcpts.n; i++) {
		if (i)
			pbuf_putc(&b, '|');
		pbuf_puts(&b, out.rcpts.v[i]);
	}
	return pbuf_str(&b);
}

static const char *
content(void)
{
	return pbuf_str(&out.content);
}

static void
test_cron(void)
{
	reset();
	strv_add(&argv_rcpts, "root");
	in.login = "root";
	in.uid = 0;
	in.fullname = "CronDaemon";
	is_int(run("From: root (Cron Daemon)\n"
	    "To: root\n"
	    "Subject: Cron <root@host> /usr/local/bin/backup\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "X-Cron-Env: <SHELL=/bin/sh>\n"
	    "X-Cron-Env: <HOME=/root>\n"
	    "X-Cron-Env: <PATH=/usr/bin:/bin>\n"
	    "X-Cron-Env: <LOGNAME=root>\n"
	    "\n"
	    "backup done: 3 files, caf\xc3\xa9\n"), 0, "cron: status 0");
	is_str(content(),
	    T_RCVD("0")
	    "From: root@example.com (Cron Daemon)\n"
	    "To: root@example.com\n"
	    "Subject: Cron <root@host> /usr/local/bin/backup\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "X-Cron-Env: <SHELL=/bin/sh>\n"
	    "X-Cron-Env: <HOME=/root>\n"
	    "X-Cron-Env: <PATH=/usr/bin:/bin>\n"
	    "X-Cron-Env: <LOGNAME=root>\n"
	    T_MID
	    T_DATEHDR
	    "\n"
	    "backup done: 3 files, caf\xc3\xa9\n", "cron: content");
	is_str(rcpts(), "root@example.com", "cron: recipient qualified");
	is_str(out.sender, "root@example.com", "cron: sender login@myorigin");
	ok(out.error == NULL, "cron: no error");

	/* cron's MAILTO with several addresses in one argument */
	reset();
	strv_add(&argv_rcpts, "root,admin@example.org");
	is_int(run("To: root,admin@example.org\nSubject: s\n\nb\n"), 0, "cron MAILTO list: status");
	is_str(rcpts(), "root@example.com|admin@example.org", "cron MAILTO list: recipients");
}

static void
test_php(void)
{
	/* PHP mail(): CRLF headers already turned into LF by the caller. */
	reset();
	in.extract_recipients = 1;
	in.login = "www-data";
	in.uid = 33;
	is_int(run("To: user@example.org\n"
	    "Subject: Test\n"
	    "From: webmaster@example.com\n"
	    "Reply-To: webmaster@example.com\n"
	    "X-Mailer: PHP/8.2.7\n"
	    "\n"
	    "Hello\nsecond line\n"), 0, "php: status");
	is_str(content(),
	    T_RCVD("33")
	    "To: user@example.org\n"
	    "Subject: Test\n"
	    "From: webmaster@example.com\n"
	    "Reply-To: webmaster@example.com\n"
	    "X-Mailer: PHP/8.2.7\n"
	    T_MID
	    T_DATEHDR
	    "\n"
	    "Hello\nsecond line\n", "php: content");
	is_str(rcpts(), "user@example.org", "php: recipient from To");
	is_str(out.sender, "www-data@example.com", "php: sender www-data@myorigin");
}

static void
test_phpmailer_bcc(void)
{
	reset();
	in.extract_recipients = 1;
	in.sender = "noreply@example.org";
	is_int(run("Date: Fri, 27 Nov 2026 10:00:00 +0100\n"
	    "To: Alice <alice@example.org>\n"
	    "Cc: Bob <bob@example.org>\n"
	    "Bcc: secret@example.net, Hidden Two <hidden2@example.net>\n"
	    "From: Shop <noreply@example.org>\n"
	    "Subject: Your order\n"
	    "Message-ID: <abc@example.org>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "Thanks\n"), 0, "phpmailer: status");
	is_str(content(),
	    T_RCVD("1000")
	    "Date: Fri, 27 Nov 2026 10:00:00 +0100\n"
	    "To: Alice <alice@example.org>\n"
	    "Cc: Bob <bob@example.org>\n"
	    "From: Shop <noreply@example.org>\n"
	    "Subject: Your order\n"
	    "Message-ID: <abc@example.org>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "Thanks\n", "phpmailer: Bcc removed, nothing added");
	is_str(rcpts(), "alice@example.org|bob@example.org|secret@example.net|hidden2@example.net",
	    "phpmailer: To, Cc and Bcc recipients");
	is_str(out.sender, "noreply@example.org", "phpmailer: -f sender");

	/* Bcc removed without -t too (Postfix drops it always). */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("To: x@example.org\nBcc: y@example.org\nbcc: z\nSubject: s\n\nb\n"), 0,
	    "bcc without -t: status");
	ok(strstr(content(), "y@example.org") == NULL && strstr(content(), "bcc") == NULL,
	    "bcc without -t: removed");
	is_str(rcpts(), "x@example.org", "bcc without -t: not a recipient");
}

static void
test_resent(void)
{
	reset();
	in.extract_recipients = 1;
	is_int(run("From: orig@example.org\n"
	    "To: first@example.org\n"
	    "Cc: second@example.org\n"
	    "Date: Fri, 27 Nov 2026 10:00:00 +0000\n"
	    "Message-Id: <m@example.org>\n"
	    "Resent-From: alice\n"
	    "Resent-To: new@example.net, bob\n"
	    "Resent-Bcc: hidden@example.net\n"
	    "\n"
	    "body\n"), 0, "resent: status");
	is_str(rcpts(), "new@example.net|bob@example.com|hidden@example.net",
	    "resent: only Resent- recipients");
	is_str(content(),
	    T_RCVD("1000")
	    "From: orig@example.org\n"
	    "To: first@example.org\n"
	    "Cc: second@example.org\n"
	    "Date: Fri, 27 Nov 2026 10:00:00 +0000\n"
	    "Message-Id: <m@example.org>\n"
	    "Resent-From: alice@example.com\n"
	    "Resent-To: new@example.net, bob@example.com\n"
	    "\n"
	    "body\n", "resent: Resent-Bcc removed, Resent- headers qualified");

	/* Resent-From alone does not switch extraction to Resent- headers. */
	reset();
	in.extract_recipients = 1;
	is_int(run("To: a@example.org\nResent-From: b@example.org\n\nx\n"), 0, "resent-from only: status");
	is_str(rcpts(), "a@example.org", "resent-from only: To used");

	/* Resent-To alone counts as a visible recipient header. */
	reset();
	in.extract_recipients = 1;
	is_int(run("Resent-To: r@example.org\nFrom: f@example.org\n\nx\n"), 0, "resent-to only: status");
	ok(strstr(content(), "undisclosed") == NULL, "resent-to only: no undisclosed-recipients");
}

static void
test_only_bcc(void)
{
	reset();
	in.extract_recipients = 1;
	is_int(run("From: alice@example.com\nBcc: hidden@example.org\nSubject: s\n\nbody\n"), 0,
	    "only bcc: status");
	is_str(content(),
	    T_RCVD("1000")
	    "From: alice@example.com\n"
	    "Subject: s\n"
	    T_MID
	    T_DATEHDR
	    T_UNDISCL
	    "\n"
	    "body\n", "only bcc: To: undisclosed-recipients:; added, Bcc gone");
	is_str(rcpts(), "hidden@example.org", "only bcc: delivered to the Bcc recipient");

	/* Cc alone: no undisclosed header. */
	reset();
	in.extract_recipients = 1;
	is_int(run("Cc: c@example.org\nFrom: f@example.org\n\nx\n"), 0, "cc only: status");
	ok(strstr(content(), "undisclosed") == NULL, "cc only: no undisclosed-recipients");
}

static void
test_argv_lists(void)
{
	reset();
	strv_add(&argv_rcpts, "a, b <c@d.example>, Name <e>");
	strv_add(&argv_rcpts, "\"john doe\"@example.org");
	strv_add(&argv_rcpts, "Friends: f1@example.org, f2;");
	strv_add(&argv_rcpts, "<>");
	strv_add(&argv_rcpts, "g (comment)");
	is_int(run("Subject: s\n\nb\n"), 0, "argv lists: status");
	is_str(rcpts(),
	    "a@example.com|c@d.example|e@example.com|\"john doe\"@example.org|"
	    "f1@example.org|f2@example.com|g@example.com",
	    "argv lists: all forms");

	/* Some bad elements: the good ones still go. */
	reset();
	strv_add(&argv_rcpts, "John Doe john, ok@example.org");
	strv_add(&argv_rcpts, "a@");
	is_int(run("Subject: s\n\nb\n"), 0, "partly bad argv: status 0");
	is_str(rcpts(), "ok@example.org", "partly bad argv: good kept");

	/* All bad: usage error. */
	reset();
	strv_add(&argv_rcpts, "John Doe john");
	strv_add(&argv_rcpts, "a@\n");
	is_int(run("Subject: s\n\nb\n"), EX_USAGE, "all bad argv: 64");
	is_str(out.error, "Bad recipient address syntax: John Doe john", "all bad argv: message");
	is_int(out.content.len, 0, "all bad argv: no content");
}

static void
test_header_forms(void)
{
	reset();
	in.extract_recipients = 1;
	is_int(run("From: Root User <root>\n"
	    "TO: Friends: a@example.org, b;,\n"
	    "\t\"Quoted, Name\" <q>, (just a comment) c (C)\n"
	    "cc: J\xc3\xb6rg M\xc3\xbcller <joerg>, John Doe john\n"
	    "Sender: \"john doe\"\n"
	    "Reply-To: undisclosed-recipients:;\n"
	    "Errors-To: <>\n"
	    "Mail-Followup-To: list@lists.example.org\n"
	    "Disposition-Notification-To: alice\n"
	    "Return-Receipt-To: alice\n"
	    "Mail-Reply-To: alice\n"
	    "Resent-Sender: alice\n"
	    "X-Not-Address: root\n"
	    "Subject: root\n"
	    "\n"
	    "To: root\n"), 0, "forms: status");
	is_str(content(),
	    T_RCVD("1000")
	    "From: Root User <root@example.com>\n"
	    "TO: Friends: a@example.org, b@example.com;,\n"
	    "\t\"Quoted, Name\" <q@example.com>, (just a comment) c@example.com (C)\n"
	    "cc: J\xc3\xb6rg M\xc3\xbcller <joerg@example.com>, John Doe john\n"
	    "Sender: \"john doe\"@example.com\n"
	    "Reply-To: undisclosed-recipients:;\n"
	    "Errors-To: <>\n"
	    "Mail-Followup-To: list@lists.example.org\n"
	    "Disposition-Notification-To: alice@example.com\n"
	    "Return-Receipt-To: alice@example.com\n"
	    "Mail-Reply-To: alice@example.com\n"
	    "Resent-Sender: alice@example.com\n"
	    "X-Not-Address: root\n"
	    "Subject: root\n"
	    T_MID
	    T_DATEHDR
	    "\n"
	    "To: root\n", "forms: bare names completed, all else as written");
	is_str(rcpts(),
	    "a@example.org|b@example.com|q@example.com|c@example.com|joerg@example.com",
	    "forms: recipients, the garbage element skipped");

	/* "Name :" with a blank before the colon keeps its spelling. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("To : root\n\nb\n"), 0, "spaced colon: status");
	is_str(content(), T_RCVD("1000") "To : root@example.com\n" T_MID T_DATEHDR
	    "From: alice@example.com\n" "\nb\n", "spaced colon: qualified, no undisclosed");
}

static void
test_boundaries(void)
{
	/* No trailing newline. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: f@example.org\nTo: x@example.org\n\nlast line without LF"), 0,
	    "no final LF: status");
	is_str(content(), T_RCVD("1000") "From: f@example.org\nTo: x@example.org\n" T_MID T_DATEHDR
	    "\nlast line without LF\n", "no final LF: LF added");

	/* Headers only, no final LF: blank line and empty body. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: f@example.org\nTo: root"), 0, "headers only: status");
	is_str(content(), T_RCVD("1000") "From: f@example.org\nTo: root@example.com\n" T_MID T_DATEHDR
	    "\n", "headers only: completed, blank line added");

	/* Empty message. */
	reset();
	strv_add(&argv_rcpts, "root");
	is_int(run(""), 0, "empty: status");
	is_str(content(), T_RCVD("1000") T_MID T_DATEHDR "From: alice@example.com\n" T_UNDISCL "\n",
	    "empty: headers and a blank line");
	is_str(rcpts(), "root@example.com", "empty: recipient");

	/* NULL content with length 0 is an empty message too. */
	reset();
	strv_add(&argv_rcpts, "root");
	in.content = NULL;
	in.len = 0;
	is_int(cleanup_message(&params, &in, &out), 0, "NULL content: status");
	is_str(content(), T_RCVD("1000") T_MID T_DATEHDR "From: alice@example.com\n" T_UNDISCL "\n",
	    "NULL content: same as empty");

	/* Body with no blank separator: none inserted. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("Subject: report\nThis line starts the body\nsecond\n"), 0, "no separator: status");
	is_str(content(), T_RCVD("1000") "Subject: report\n" T_MID T_DATEHDR
	    "From: alice@example.com\n" T_UNDISCL
	    "This line starts the body\nsecond\n", "no separator: no blank line inserted");

	/* Message starting with a blank line: no headers. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("\nbody only\n"), 0, "leading blank: status");
	is_str(content(), T_RCVD("1000") T_MID T_DATEHDR "From: alice@example.com\n" T_UNDISCL
	    "\nbody only\n", "leading blank: kept");

	/* Text only, no headers, no blank. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("hello world\n"), 0, "text only: status");
	is_str(content(), T_RCVD("1000") T_MID T_DATEHDR "From: alice@example.com\n" T_UNDISCL
	    "hello world\n", "text only: body right after the headers");

	/* A first body line with leading white space must not fold into our headers. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("  indented\n"), 0, "indented body: status");
	is_str(content(), T_RCVD("1000") T_MID T_DATEHDR "From: alice@example.com\n" T_UNDISCL
	    "\n  indented\n", "indented body: blank line inserted");

	/* Body bytes pass through untouched: NUL, bare CR, 8-bit, a 2000-byte line. */
	{
		struct pbuf m = PBUF_INIT, want = PBUF_INIT;
		static const char odd[] = "a\0b\rc\xff\xfe\n\r\n.\n..\n";
		int i;

		reset();
		strv_add(&argv_rcpts, "x@example.org");
		pbuf_puts(&m, "From: f@example.org\nTo: x@example.org\n\n");
		pbuf_append(&m, odd, sizeof(odd) - 1);
		for (i = 0; i < 2000; i++)
			pbuf_putc(&m, 'L');
		pbuf_puts(&m, "\nFrom the end\n");
		in.content = m.data;
		in.len = m.len;
		is_int(cleanup_message(&params, &in, &out), 0, "binary body: status");
		pbuf_puts(&want, T_RCVD("1000") "From: f@example.org\nTo: x@example.org\n" T_MID T_DATEHDR "\n");
		pbuf_append(&want, odd, sizeof(odd) - 1);
		for (i = 0; i < 2000; i++)
			pbuf_putc(&want, 'L');
		pbuf_puts(&want, "\nFrom the end\n");
		is_int(out.content.len, want.len, "binary body: length");
		ok(out.content.len == want.len &&
		    memcmp(out.content.data, want.data, want.len) == 0, "binary body: identical bytes");
		pbuf_free(&m);
		pbuf_free(&want);
	}
}

static void
test_sender(void)
{
	/* -f "" : null sender, From: MAILER-DAEMON. */
	reset();
	in.sender = "";
	in.fullname = "Ignored Name";
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("Subject: bounce\n\nb\n"), 0, "null sender: status");
	is_str(out.sender, "", "null sender stays null");
	is_str(content(), T_RCVD("1000") "Subject: bounce\n" T_MID T_DATEHDR
	    "From: MAILER-DAEMON@example.com\n" T_UNDISCL "\nb\n", "null sender: From MAILER-DAEMON");

	reset();
	in.sender = "<>";
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: a@example.org\n\nb\n"), 0, "<> sender: status");
	is_str(out.sender, "", "<> sender is null");

	reset();
	in.sender = "<bounces@example.org>";
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: a@example.org\n\nb\n"), 0, "bracketed sender: status");
	is_str(out.sender, "bounces@example.org", "bracketed sender stripped");

	reset();
	in.sender = "bob";
	in.fullname = "Bob Builder";
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("Subject: s\n\nb\n"), 0, "-f bare: status");
	is_str(out.sender, "bob@example.com", "-f bare qualified");
	ok(strstr(content(), "\nFrom: bob@example.com (Bob Builder)\n") != NULL,
	    "-f sender in the added From:");

	/* Full names needing escapes; control bytes never reach the header. */
	reset();
	in.fullname = " A (B) \\ C\r\nBcc: evil@x ";
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("Subject: s\n\nb\n"), 0, "odd full name: status");
	ok(strstr(content(), "\nFrom: alice@example.com (A \\(B\\) \\\\ C  Bcc: evil@x)\n") != NULL,
	    "odd full name: escaped, one line");
	ok(strstr(content(), "\nBcc:") == NULL, "odd full name: no injected header");

	reset();
	in.fullname = "   ";
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("Subject: s\n\nb\n"), 0, "blank full name: status");
	ok(strstr(content(), "\nFrom: alice@example.com\n") != NULL, "blank full name: no comment");

	reset();
	in.login = "odd user";
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: x@example.org\n\nb\n"), 0, "odd login: status");
	is_str(out.sender, "\"odd user\"@example.com", "odd login quoted");

	reset();
	in.login = NULL;
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: x@example.org\n\nb\n"), 0, "no login: status");
	is_str(out.sender, "nobody@example.com", "no login: nobody");
}

static void
test_no_append(void)
{
	reset();
	params.append_at_myorigin = 0;
	in.extract_recipients = 1;
	strv_add(&argv_rcpts, "admin");
	is_int(run("From: root\nTo: root, Root <root>\n\nb\n"), 0, "no append: status");
	is_str(content(), T_RCVD("1000") "From: root\nTo: root, Root <root>\n" T_MID T_DATEHDR "\nb\n",
	    "no append: headers untouched");
	is_str(rcpts(), "admin|root", "no append: bare recipients, deduplicated");
	is_str(out.sender, "alice", "no append: bare sender");
}

static void
test_dedup(void)
{
	reset();
	in.extract_recipients = 1;
	strv_add(&argv_rcpts, "Root@Example.com");
	strv_add(&argv_rcpts, "root@example.com, root");
	strv_add(&argv_rcpts, "other@example.org");
	is_int(run("To: ROOT, Other@Example.ORG\nCc: root@EXAMPLE.com\nBcc: new@example.org, NEW@example.org\n\nb\n"),
	    0, "dedup: status");
	is_str(rcpts(), "Root@Example.com|other@example.org|new@example.org",
	    "dedup: case-insensitive, first spelling kept, after qualification");

	/* Many recipients (the hash grows): 3000 distinct, each given twice. */
	{
		struct pbuf m = PBUF_INIT;
		int i, dups = 0;

		reset();
		in.extract_recipients = 1;
		params.header_size_limit = 0;
		pbuf_puts(&m, "To: ");
		for (i = 0; i < 3000; i++)
			pbuf_printf(&m, "u%d, U%d@EXAMPLE.COM,\n ", i, i);
		pbuf_puts(&m, "last\n\nb\n");
		is_int(run(m.data), 0, "dedup many: status");
		is_int(out.rcpts.n, 3001, "dedup many: 3001 distinct");
		for (i = 0; i < 3000; i++)
			if (strcmp(out.rcpts.v[i], "u0@example.com") == 0)
				dups++;
		is_int(dups, 1, "dedup many: once each");
		is_str(out.rcpts.v[2999], "u2999@example.com", "dedup many: order kept");
		pbuf_free(&m);
	}
}

static void
test_existing_headers(void)
{
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("MESSAGE-ID: <keep@example.org>\nDATE: Mon, 02 Mar 2026 10:00:00 +0000\n"
	    "from: someone@example.org\nCC: x@example.org\n\nb\n"), 0, "existing: status");
	is_str(content(), T_RCVD("1000") "MESSAGE-ID: <keep@example.org>\n"
	    "DATE: Mon, 02 Mar 2026 10:00:00 +0000\nfrom: someone@example.org\nCC: x@example.org\n\nb\n",
	    "existing: nothing added, case-insensitive");

	/* Other options of the params. */
	reset();
	params.mail_name = NULL;
	params.myhostname = "h.example";
	in.uid = 42;
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: a@example.org\nTo: x@example.org\n\nb\n"), 0, "params: status");
	is_str(content(), "Received: by h.example (Petrel, from userid 42)\n\tid " T_QID "; " T_DATE "\n"
	    "From: a@example.org\nTo: x@example.org\n"
	    "Message-Id: <20261128074001." T_QID "@h.example>\n" T_DATEHDR "\nb\n",
	    "params: hostname in Received and Message-Id, default mail_name");
}

static void
test_limits(void)
{
	struct pbuf m = PBUF_INIT;
	const char *msg = "From: a@example.org\nTo: x@example.org\n\n0123456789\n";
	size_t full;
	int i;

	/* message_size_limit counts the content after cleanup. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run(msg), 0, "size: unlimited");
	full = out.content.len;
	params.message_size_limit = full;
	is_int(run(msg), 0, "size: exactly at the limit");
	params.message_size_limit = full - 1;
	is_int(run(msg), EX_UNAVAILABLE, "size: one over gives 69");
	is_str(out.error, "message file too big", "size: message");
	is_int(out.content.len, 0, "size: no content");
	is_int(out.rcpts.n, 0, "size: no recipients");

	/* hopcount_limit */
	reset();
	params.hopcount_limit = 3;
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("Received: a\nReceived: b\nTo: x@example.org\n\nb\n"), 0, "hops: 2 of 3 fine");
	is_int(run("Received: a\nReceived: b\nreceived: c\nTo: x@example.org\n\nb\n"), EX_UNAVAILABLE,
	    "hops: 3 of 3 gives 69");
	is_str(out.error, "too many hops", "hops: message");
	params.hopcount_limit = 0;
	is_int(run("Received: a\nReceived: b\nreceived: c\nTo: x@example.org\n\nb\n"), 0,
	    "hops: limit 0 is none");

	/* header_size_limit: under -t an error, else the field is cut. */
	reset();
	params.header_size_limit = 40;
	in.extract_recipients = 1;
	pbuf_puts(&m, "To: a@example.org,\n b@example.org,\n c@example.org\nSubject: s\n\nb\n");
	is_int(run(m.data), EX_DATAERR, "header limit with -t: 65");
	is_str(out.error, "unable to extract recipients: message header length exceeds safety limit",
	    "header limit with -t: message");
	in.extract_recipients = 0;
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run(m.data), 0, "header limit without -t: accepted");
	is_str(content(), T_RCVD("1000") "To: a@example.org,\n b@example.org,\nSubject: s\n"
	    T_MID T_DATEHDR "From: alice@example.com\n\nb\n", "header limit: cut at a line end");
	pbuf_reset(&m);
	pbuf_puts(&m, "Subject: ");
	for (i = 0; i < 100; i++)
		pbuf_putc(&m, 'x');
	pbuf_puts(&m, "\nTo: x@example.org\n\nb\n");
	is_int(run(m.data), 0, "header limit, one long line: accepted");
	ok(strncmp(content() + strlen(T_RCVD("1000")), "Subject: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nTo:", 44) == 0,
	    "header limit, one long line: cut to 40 bytes");
	params.header_size_limit = 0;
	is_int(run(m.data), 0, "header limit 0 is none");
	ok(strstr(content(), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n") != NULL,
	    "header limit 0: whole header");
	pbuf_free(&m);
}

static void
test_no_recipients(void)
{
	reset();
	is_int(run("Subject: s\n\nb\n"), EX_USAGE, "no rcpt: 64");
	is_str(out.error, "Recipient addresses must be specified on the command line or via the -t option",
	    "no rcpt: message");
	is_int(out.content.len, 0, "no rcpt: no content");
	is_str(out.sender, "alice@example.com", "no rcpt: sender still set");

	reset();
	in.extract_recipients = 1;
	is_int(run("Subject: s\nTo: undisclosed-recipients:;\n\nb\n"), EX_USAGE, "-t no rcpt: 64");
	is_str(out.error, "No recipient addresses found in message header", "-t no rcpt: message");

	reset();
	in.extract_recipients = 1;
	in.rcpts = NULL;
	is_int(run("To: John Doe john\n\nb\n"), EX_USAGE, "-t only garbage, NULL rcpts: 64");
	is_str(out.error, "No recipient addresses found in message header", "-t only garbage: message");

	reset();
	strv_add(&argv_rcpts, "<>");
	is_int(run("To: x@example.org\n\nb\n"), EX_USAGE, "only <> without -t: 64");
	is_str(out.error, "Recipient addresses must be specified on the command line or via the -t option",
	    "only <>: message");

	/* Recovery after an error: the same output object is reusable. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("Subject: s\n\nb\n"), 0, "reuse after error: status 0");
	ok(out.error == NULL, "reuse after error: error cleared");
	is_str(rcpts(), "x@example.org", "reuse after error: recipients");
}

static void
test_date(void)
{
	struct pbuf b = PBUF_INIT;

	cleanup_rfc5322_date(T_ARRIVAL, &b);
	is_str(pbuf_str(&b), "Sat, 28 Nov 2026 07:40:01 +0000 (UTC)", "date UTC");
	pbuf_reset(&b);
	pbuf_puts(&b, "Date: ");
	cleanup_rfc5322_date(1772676000, &b);	/* 2026-03-05 02:00:00 UTC */
	is_str(pbuf_str(&b), "Date: Thu, 05 Mar 2026 02:00:00 +0000 (UTC)", "date appends, two-digit day");

	setenv("TZ", "IST-5:30", 1);
	tzset();
	pbuf_reset(&b);
	cleanup_rfc5322_date(T_ARRIVAL, &b);
	is_str(pbuf_str(&b), "Sat, 28 Nov 2026 13:10:01 +0530 (IST)", "date +0530");
	setenv("TZ", "NST+3:30", 1);
	tzset();
	pbuf_reset(&b);
	cleanup_rfc5322_date(T_ARRIVAL, &b);
	is_str(pbuf_str(&b), "Sat, 28 Nov 2026 04:10:01 -0330 (NST)", "date -0330");

	/* Added headers use the local zone, Message-Id UTC. */
	reset();
	strv_add(&argv_rcpts, "x@example.org");
	is_int(run("From: a@example.org\nTo: x@example.org\n\nb\n"), 0, "zone: status");
	ok(strstr(content(), "\tid " T_QID "; Sat, 28 Nov 2026 04:10:01 -0330 (NST)\n") != NULL,
	    "zone: Received date local");
	ok(strstr(content(), T_MID) != NULL, "zone: Message-Id in UTC");
	ok(strstr(content(), "\nDate: Sat, 28 Nov 2026 04:10:01 -0330 (NST)\n") != NULL,
	    "zone: Date local");
	setenv("TZ", "UTC", 1);
	tzset();
	pbuf_free(&b);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	log_disable_sinks();
	cleanup_output_init(&out);
	diag("cron");
	test_cron();
	diag("php");
	test_php();
	diag("phpmailer, bcc");
	test_phpmailer_bcc();
	diag("resent");
	test_resent();
	diag("only bcc");
	test_only_bcc();
	diag("argv lists");
	test_argv_lists();
	diag("header forms");
	test_header_forms();
	diag("boundaries");
	test_boundaries();
	diag("sender");
	test_sender();
	diag("no append");
	test_no_append();
	diag("dedup");
	test_dedup();
	diag("existing headers");
	test_existing_headers();
	diag("limits");
	test_limits();
	diag("no recipients");
	test_no_recipients();
	diag("date");
	test_date();
	cleanup_output_free(&out);
	strv_free(&argv_rcpts);
	return done_testing();
}
