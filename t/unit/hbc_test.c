/*
 * hbc_test - sendmail/hbc.c: which lines each of header_checks,
 * mime_header_checks, nested_header_checks and body_checks sees (MIME
 * parts, a message/rfc822 attachment, a closed multipart), the actions on
 * headers and body lines, header_size_limit and body_checks_size_limit,
 * the REJECT reply forms, ignored bad actions, a broken table, and an
 * untouched message coming out byte for byte.
 *
 * Tables are regexp: files in a temporary directory under $TMPDIR (or /tmp).
 */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "hbc.h"
#include "log.h"
#include "maps.h"
#include "pbuf.h"
#include "tap.h"
#include "xalloc.h"

static char *tmpdir;

static void
write_str(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || fileio_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		perror(path);
		exit(2);
	}
}

/* Writes table text to NAME and sets param to regexp:NAME ("" text: no table). */
static void
table(const char *param, const char *name, const char *text)
{
	static int serial;	/* a new file each time: no cached table can be stale */
	char *path = xasprintf("%s/%s.%d", tmpdir, name, ++serial);
	char *spec = xasprintf("regexp:%s", path);

	if (*text) {
		write_str(path, text);
		conf_override(param, spec);
	} else {
		conf_override(param, "");
	}
	free(path);
	free(spec);
}

static struct pbuf out;
static struct hbc_result res;

/* Runs the checks on msg; the verdict (out and res hold the rest). */
static enum hbc_verdict
run(const char *msg)
{
	struct hbc_ctx ctx = { "QID", "from test" };

	hbc_result_free(&res);
	pbuf_reset(&out);
	hbc_apply(&ctx, msg, strlen(msg), &out, &res);
	return res.verdict;
}

static const char mime_msg[] =
    "From: a@example.org\n"
    "Subject: outer\n"
    "Content-Type: multipart/mixed;\n"
    "\tboundary=\"=_b1\"\n"
    "\n"
    "preamble: Subject: inner\n"
    "--=_b1\n"
    "Content-Type: text/plain\n"
    "X-Part: one\n"
    "\n"
    "X-Part: not a header here\n"
    "--=_b1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "X-Part: nested\n"
    "\n"
    "inner body\n"
    "--=_b1--\n"
    "X-Part: epilogue\n";

static void
test_classes(void)
{
	table("header_checks", "hc", "/^Subject: inner/ REJECT primary saw it\n");
	table("mime_header_checks", "mc", "/^X-Part: (.*)/ REJECT mime $1\n");
	table("nested_header_checks", "nc", "/^Subject: inner/ REJECT nested saw it\n");
	table("body_checks", "bc", "");
	is_int(run(mime_msg), HBC_REJECT, "a MIME part header is rejected");
	is_str(res.reply, "550 5.7.1 mime one", "... by mime_header_checks, first part's X-Part");

	table("mime_header_checks", "mc", "/^X-Part: nested/ REJECT mime saw nested\n");
	is_int(run(mime_msg), HBC_REJECT, "the attached message's header is rejected");
	is_str(res.reply, "550 5.7.1 nested saw it", "... by nested_header_checks, not header_checks");

	table("nested_header_checks", "nc", "/^X-Part: nested/ WARN\n");
	table("body_checks", "bc", "/^X-Part: (.*)/ REJECT body $1\n/^preamble: (.*)/ REJECT body $1\n");
	table("mime_header_checks", "mc", "");
	is_int(run(mime_msg), HBC_REJECT, "body_checks see body lines");
	is_str(res.reply, "550 5.7.1 body Subject: inner", "... the preamble is body");
	table("body_checks", "bc", "/^X-Part: (.*)/ REJECT body $1\n");
	run(mime_msg);
	is_str(res.reply, "550 5.7.1 body not a header here", "... a part's body line, not its headers");
	table("body_checks", "bc", "/^X-Part: e(.*)/ REJECT body $1\n");
	run(mime_msg);
	is_str(res.reply, "550 5.7.1 body pilogue", "after --boundary-- the epilogue is body");
	table("body_checks", "bc", "/^--=_b1--$/ WARN\n/^inner body$/ REPLACE inner REPLACED\n");
	is_int(run(mime_msg), HBC_PASS, "WARN and REPLACE pass");
	ok(strstr(pbuf_str(&out), "\ninner REPLACED\n--=_b1--\n") != NULL, "body REPLACE");
	table("header_checks", "hc", "");
	table("nested_header_checks", "nc", "");
	table("body_checks", "bc", "");
}

static void
test_actions(void)
{
	const char *m = "Subject: hi\nX-A: 1\nX-B: 2\n  folded\nX-C: 3\n\nline 1\nline 2\n";

	table("mime_header_checks", "mc", "");
	table("nested_header_checks", "nc", "");
	table("header_checks", "hc",
	    "/^X-A:/ IGNORE\n/^X-B: 2[[:space:]]+folded$/ REPLACE X-B: new\n/^X-C:/ PREPEND X-Before-C: yes\n");
	table("body_checks", "bc", "/^line 1$/ PREPEND line 0\n/^line 2$/ IGNORE\n");
	is_int(run(m), HBC_PASS, "actions: pass");
	is_str(pbuf_str(&out), "Subject: hi\nX-B: new\nX-Before-C: yes\nX-C: 3\n\nline 0\nline 1\n",
	    "IGNORE, REPLACE of a folded header (its newline kept), PREPEND, on headers and body");

	table("header_checks", "hc", "/^X-A:/ PREPEND not a header\n/^X-B:/ FROBNICATE\n"
	    "/^X-C:/ REDIRECT x@y\n/^Subject:/ DUNNO\n");
	table("body_checks", "bc", "");
	is_int(run(m), HBC_PASS, "bad PREPEND, unknown and unsupported actions: pass");
	is_str(pbuf_str(&out), m, "... and change nothing");

	table("header_checks", "hc", "/^Subject:/ HOLD\n/^X-A:/ hold second\n/^X-C:/ discard bye now\n");
	is_int(run(m), HBC_DISCARD, "DISCARD (lower case)");
	is_str(res.text, "bye now", "DISCARD text");
	is_str(res.hold, "header or body checks", "HOLD without text: the first one kept");

	table("header_checks", "hc", "/^X-A:/ REJECT 4.7.1 try later\n");
	run(m);
	is_str(res.reply, "450 4.7.1 try later", "REJECT 4.x.x: a 450 reply");
	table("header_checks", "hc", "/^X-A:/ REJECT 5.7.0\n");
	run(m);
	is_str(res.reply, "550 5.7.0 Message content rejected", "REJECT with a code only");
	table("header_checks", "hc", "/^X-A:/ REJECT\n");
	run(m);
	is_str(res.reply, "550 5.7.1 Message content rejected", "REJECT alone");
	is_str(res.text, "Message content rejected", "... its text");

	table("header_checks", "hc", "/^X-A:/ OK\n/[/ x\n");
	is_int(run(m), HBC_DEFER, "a broken table defers");
	ok(res.error && strstr(res.error, "header_checks: regexp:") && strstr(res.error, "/hc.") &&
	    strstr(res.error, ", line 2: "),
	    "... naming the parameter, file and line");
	table("header_checks", "hc", "");
}

static void
test_limits(void)
{
	struct pbuf m = PBUF_INIT;
	int i;

	table("header_checks", "hc", "/^X-Long: a+b/ REJECT saw the end\n");
	pbuf_puts(&m, "X-Long: ");
	for (i = 0; i < 200; i++)
		pbuf_putc(&m, 'a');
	pbuf_puts(&m, "b\n\nbody\n");
	conf_override("header_size_limit", "100");
	is_int(run(pbuf_str(&m)), HBC_PASS, "header_size_limit: the key is cut");
	is_str(pbuf_str(&out), pbuf_str(&m), "... the header itself is not");
	conf_override("header_size_limit", "102400");
	is_int(run(pbuf_str(&m)), HBC_REJECT, "within the limit it matches");
	table("header_checks", "hc", "");

	pbuf_reset(&m);
	pbuf_puts(&m, "Subject: x\n\n");
	for (i = 0; i < 100; i++)
		pbuf_puts(&m, "0123456789\n");
	pbuf_puts(&m, "bad\n");
	table("body_checks", "bc", "/^bad$/ REJECT\n");
	conf_override("body_checks_size_limit", "500");
	is_int(run(pbuf_str(&m)), HBC_PASS, "body_checks_size_limit: a line past it is not looked at");
	conf_override("body_checks_size_limit", "51200");
	is_int(run(pbuf_str(&m)), HBC_REJECT, "within the limit it is");
	table("body_checks", "bc", "");
	pbuf_free(&m);
}

static void
test_passthrough(void)
{
	const char *cases[] = {
		"Subject: no final newline\n\nbody",
		"Subject: headers only",
		"no header at all\nSubject: x\n",
		"",
		"Subject: x\r\n\r\nCRLF body\r\n",
		"Content-Type: multipart/mixed; boundary=x\n\n--x\nA: b\n--x\n\n--x--\n",
	};
	size_t i;

	table("header_checks", "hc", "/^nothing-matches-this$/ REJECT\n");
	table("body_checks", "bc", "/^nothing-matches-this$/ REJECT\n");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		is_int(run(cases[i]), HBC_PASS, "case %zu passes", i);
		ok(out.len == strlen(cases[i]) && memcmp(out.data ? out.data : "", cases[i], out.len) == 0,
		    "case %zu: out is the message byte for byte", i);
	}
	table("header_checks", "hc", "");
	table("body_checks", "bc", "");
	ok(!hbc_enabled(), "no tables: hbc_enabled() is 0");
	conf_override("body_checks", "static:DUNNO");
	ok(hbc_enabled(), "one table: hbc_enabled() is 1");
	conf_override("body_checks", "");
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	tmpdir = xasprintf("%s/hbc_test.XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	log_init("hbc_test");
	log_disable_sinks();
	conf_load_defaults(tmpdir);
	test_classes();
	test_actions();
	test_limits();
	test_passthrough();
	hbc_result_free(&res);
	pbuf_free(&out);
	maps_close_all();
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(tmpdir);
	return done_testing();
}
