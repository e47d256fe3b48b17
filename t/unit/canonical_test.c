/*
 * canonical_test - sendmail/canonical.c: the canonical(5) key order
 * (user+ext@domain, user@domain, user only for a local domain, @domain),
 * address extensions and propagate_unmatched_extensions, "@domain" and
 * unqualified results, nesting, the three tables and their classes,
 * masquerading with "!" exceptions and masquerade_exceptions, header
 * rewriting (display names kept; SMTP clients' headers only per
 * local_header_rewrite_clients), and a broken table leaving the envelope
 * untouched; through queue_write(): the rewritten envelope and content
 * are what is stored, and a refusal by the envelope hook that runs after
 * canonical mapping (virtual aliasing) gives the envelope back as it came.
 *
 * Works in a temporary directory under $TMPDIR (or /tmp), removed at the
 * end; log lines go to a file there, which the tests read back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonical.h"
#include "conf.h"
#include "fileio.h"
#include "header.h"
#include "log.h"
#include "maps.h"
#include "pbuf.h"
#include "qfile.h"
#include "queue.h"
#include "tap.h"
#include "xalloc.h"

#define ERRLEN	512

static char *tmpdir;
static char *logpath;

static void
write_str(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || fileio_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		perror(path);
		exit(2);
	}
}

/* Writes the table NAME in tmpdir, builds it, and returns its "hash:" spec (static). */
static const char *
make_map(const char *name, const char *text)
{
	static char spec[4096];
	char err[ERRLEN], *src = xasprintf("%s/%s", tmpdir, name);
	size_t n;

	write_str(src, text);
	snprintf(spec, sizeof(spec), "hash:%s", src);
	if (maps_build(spec, 1, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	free(src);
	return spec;
}

static int
log_has(const char *text)
{
	char *data = NULL;
	size_t len;
	int found;

	if (fileio_read_file(logpath, &data, &len, 0) < 0)
		return 0;
	found = strstr(data, text) != NULL;
	free(data);
	return found;
}

/* Results in a static buffer: the new address, "(same)", or "(error)". */
static const char *
show(int rc, char *out)
{
	static char buf[1024];

	if (rc < 0)
		snprintf(buf, sizeof(buf), "(error)");
	else if (rc == 0)
		snprintf(buf, sizeof(buf), "(same)");
	else
		snprintf(buf, sizeof(buf), "%s", out ? out : "(null)");
	free(out);
	return buf;
}

static const char *
lookup(const char *addr)
{
	char err[ERRLEN], *out = NULL;

	int rc = canonical_lookup("canonical_maps", addr, "canonical", &out, err, sizeof(err));

	return show(rc, out);
}

static const char *
mapped(const char *addr)
{
	char err[ERRLEN], *out = NULL;

	int rc = canonical_address("canonical_maps", addr, &out, err, sizeof(err));

	return show(rc, out);
}

static const char *
rewrite(unsigned class, const char *addr)
{
	char err[ERRLEN], *out = NULL;

	int rc = canonical_rewrite(class, addr, &out, err, sizeof(err));

	return show(rc, out);
}

static const char *
masq(const char *addr)
{
	char err[ERRLEN], *out = NULL;

	int rc = canonical_masquerade(addr, &out, err, sizeof(err));

	return show(rc, out);
}

static void
reset_params(void)
{
	conf_override("myorigin", "box.example");
	conf_override("mydestination", "box.example, localhost");
	conf_override("recipient_delimiter", "+");
	conf_override("propagate_unmatched_extensions", "canonical, virtual");
	conf_override("canonical_maps", "");
	conf_override("sender_canonical_maps", "");
	conf_override("recipient_canonical_maps", "");
	conf_override("canonical_classes", "envelope_sender, envelope_recipient, header_sender, header_recipient");
	conf_override("sender_canonical_classes", "envelope_sender, header_sender");
	conf_override("recipient_canonical_classes", "envelope_recipient, header_recipient");
	conf_override("masquerade_domains", "");
	conf_override("masquerade_exceptions", "");
	conf_override("masquerade_classes", "envelope_sender, header_sender, header_recipient");
	conf_override("local_header_rewrite_clients", "permit_inet_interfaces");
}

static void
test_lookup(void)
{
	reset_params();
	conf_override("canonical_maps", make_map("canonical",
	    "full@box.example      f@out.example\n"
	    "ext+tag@box.example   tagged@out.example\n"
	    "ext@box.example       plain@out.example\n"
	    "user                  localpart@out.example\n"
	    "@other.example        @new.example\n"
	    "bob@other.example     bob-special@out.example\n"
	    "@whole.example        catchall@out.example\n"
	    "bare@box.example      justname\n"
	    "multi@box.example     first@out.example, second@out.example\n"
	    "dom@box.example       @elsewhere.example\n"
	    "chain@box.example     chain2@box.example\n"
	    "chain2@box.example    chain3@out.example\n"
	    "self@box.example      self@box.example\n"
	    "loop1@box.example     loop2@box.example\n"
	    "loop2@box.example     loop1@box.example\n"));

	is_str(lookup("full@box.example"), "f@out.example", "user@domain key");
	is_str(lookup("FULL@Box.Example"), "f@out.example", "keys are looked up in lower case");
	is_str(lookup("nobody@box.example"), "(same)", "no key: unchanged");
	is_str(lookup("ext+tag@box.example"), "tagged@out.example",
	    "user+ext@domain is tried before user@domain");
	is_str(lookup("ext+other@box.example"), "plain+other@out.example",
	    "user@domain matched without the extension: the extension is propagated");
	is_str(lookup("user@box.example"), "localpart@out.example", "user key for $myorigin");
	is_str(lookup("user+x@localhost"), "localpart+x@out.example",
	    "user key for a mydestination domain, extension propagated");
	is_str(lookup("user@far.example"), "(same)", "no user key for a remote domain");
	is_str(lookup("bob@other.example"), "bob-special@out.example",
	    "user@domain is tried before @domain");
	is_str(lookup("carol@other.example"), "carol@new.example",
	    "@domain key with an @domain result: only the domain changes");
	is_str(lookup("carol+x@other.example"), "carol+x@new.example",
	    "@domain key: the whole local part is kept");
	is_str(lookup("x@whole.example"), "catchall@out.example", "@domain key, address result");
	is_str(lookup("bare@box.example"), "justname@box.example",
	    "a result without a domain gets @$myorigin");
	is_str(lookup("multi@box.example"), "first@out.example", "only the first value counts");
	is_str(lookup("dom+e@box.example"), "dom+e@elsewhere.example",
	    "an @domain result after the extension was cut: the extension goes back once");
	is_str(lookup(""), "(same)", "the null address is never looked up");

	conf_override("propagate_unmatched_extensions", "virtual");
	is_str(lookup("ext+other@box.example"), "plain@out.example",
	    "without canonical in propagate_unmatched_extensions the extension is dropped");
	is_str(lookup("dom+e@box.example"), "dom@elsewhere.example",
	    "@domain result without propagation: the extension is dropped");
	conf_override("propagate_unmatched_extensions", "canonical, virtual");
	conf_override("recipient_delimiter", "");
	is_str(lookup("ext+other@box.example"), "(same)",
	    "no recipient_delimiter: no extension is cut off");
	conf_override("recipient_delimiter", "+");

	is_str(mapped("chain@box.example"), "chain3@out.example", "a result is looked up again");
	is_str(mapped("self@box.example"), "(same)", "an address mapping onto itself stays");
	is_str(mapped("loop1@box.example"), "loop1@box.example",
	    "a loop stops after 10 rounds with the last result");
	ok(log_has("canonical_maps: unreasonable nesting for loop1@box.example"),
	    "the loop is logged");
}

static void
test_errors(void)
{
	char err[ERRLEN], *out = NULL;
	char *missing = xasprintf("hash:%s/nosuch", tmpdir);

	reset_params();
	conf_override("canonical_maps", missing);
	is_int(canonical_lookup("canonical_maps", "a@box.example", "canonical", &out, err,
	    sizeof(err)), -1, "a missing database: -1");
	ok(strstr(err, "canonical_maps lookup of a@box.example: ") == err,
	    "the error names the parameter and the key: %s", err);
	ok(strstr(err, "nosuch.db") != NULL, "and the database");
	is_str(rewrite(CANONICAL_ENV_RCPT, "a@box.example"), "(error)", "canonical_rewrite: -1");
	free(missing);
}

static void
test_classes(void)
{
	reset_params();
	is_int(canonical_classes("canonical_classes"), CANONICAL_ENV_SENDER | CANONICAL_ENV_RCPT
	    | CANONICAL_HDR_SENDER | CANONICAL_HDR_RCPT, "canonical_classes default: all four");
	is_int(canonical_classes("sender_canonical_classes"),
	    CANONICAL_ENV_SENDER | CANONICAL_HDR_SENDER, "sender_canonical_classes default");
	is_int(canonical_classes("masquerade_classes"), CANONICAL_ENV_SENDER | CANONICAL_HDR_SENDER
	    | CANONICAL_HDR_RCPT, "masquerade_classes default: no envelope recipients");
	conf_override("canonical_classes", "envelope_sender, header_senders");
	is_int(canonical_classes("canonical_classes"), CANONICAL_ENV_SENDER,
	    "an unknown class is skipped");
	ok(log_has("canonical_classes: unknown address class \"header_senders\" ignored"),
	    "and logged with the parameter name");

	reset_params();
	conf_override("sender_canonical_maps", make_map("sender",
	    "root@box.example   admin@box.example\n"));
	conf_override("recipient_canonical_maps", make_map("recipient",
	    "root@box.example   postmaster@box.example\n"));
	conf_override("canonical_maps", make_map("common",
	    "admin@box.example  admin@example.com\n"
	    "postmaster@box.example  pm@example.com\n"));
	is_str(rewrite(CANONICAL_ENV_SENDER, "root@box.example"), "admin@example.com",
	    "sender: sender_canonical_maps, then canonical_maps");
	is_str(rewrite(CANONICAL_HDR_SENDER, "root@box.example"), "admin@example.com",
	    "header sender: the same");
	is_str(rewrite(CANONICAL_ENV_RCPT, "root@box.example"), "pm@example.com",
	    "recipient: recipient_canonical_maps, then canonical_maps");
	is_str(rewrite(CANONICAL_ENV_SENDER, ""), "(same)", "the null sender stays");
	conf_override("sender_canonical_classes", "header_sender");
	is_str(rewrite(CANONICAL_ENV_SENDER, "root@box.example"), "(same)",
	    "sender_canonical_classes without envelope_sender: the envelope sender stays");
	is_str(rewrite(CANONICAL_HDR_SENDER, "root@box.example"), "admin@example.com",
	    "while the header sender is rewritten");
	conf_override("canonical_classes", "envelope_recipient");
	is_str(rewrite(CANONICAL_HDR_SENDER, "root@box.example"), "admin@box.example",
	    "canonical_classes without header_sender: only sender_canonical_maps applies");
	conf_override("recipient_canonical_classes", "envelope_recipient");
	is_str(rewrite(CANONICAL_HDR_RCPT, "root@box.example"), "(same)",
	    "recipient_canonical_classes without header_recipient: To: stays");
}

static void
test_masquerade(void)
{
	char *exc;

	reset_params();
	conf_override("masquerade_domains", "!sub.example.com, example.com");
	is_str(masq("u@host.example.com"), "u@example.com", "a subdomain is stripped");
	is_str(masq("u@a.b.example.com"), "u@example.com", "any depth");
	is_str(masq("u@example.com"), "(same)", "the domain itself stays");
	is_str(masq("u@x.sub.example.com"), "(same)", "\"!sub.example.com\" keeps its subdomains");
	is_str(masq("u@sub.example.com"), "(same)", "and itself");
	is_str(masq("u@notexample.com"), "(same)", "only at a label boundary");
	is_str(masq("u@HOST.Example.COM"), "u@example.com", "case-insensitive");
	is_str(masq("unqualified"), "(same)", "no domain: nothing to do");
	conf_override("masquerade_domains", "example.com, !sub.example.com");
	is_str(masq("u@x.sub.example.com"), "u@example.com",
	    "the first element that matches decides (order matters)");
	conf_override("masquerade_domains", "!sub.example.com, example.com");
	conf_override("masquerade_exceptions", "root, mailer-daemon");
	is_str(masq("root@host.example.com"), "(same)", "masquerade_exceptions: root stays");
	is_str(masq("Root@host.example.com"), "(same)", "compared in lower case");
	is_str(masq("alice@host.example.com"), "alice@example.com", "others are masqueraded");
	exc = xasprintf("%s", make_map("except", "bob x\n"));
	conf_override("masquerade_exceptions", exc);
	is_str(masq("bob@host.example.com"), "(same)", "masquerade_exceptions as a table");
	is_str(masq("carol@host.example.com"), "carol@example.com", "not in that table");
	free(exc);
	conf_override("masquerade_exceptions", "");

	is_str(rewrite(CANONICAL_ENV_SENDER, "u@host.example.com"), "u@example.com",
	    "masquerade_classes: envelope sender");
	is_str(rewrite(CANONICAL_HDR_RCPT, "u@host.example.com"), "u@example.com",
	    "masquerade_classes: header recipient");
	is_str(rewrite(CANONICAL_ENV_RCPT, "u@host.example.com"), "(same)",
	    "masquerade_classes default leaves envelope recipients");
	conf_override("canonical_maps", make_map("before_masq",
	    "old@box.example  new@host.example.com\n"));
	is_str(rewrite(CANONICAL_ENV_SENDER, "old@box.example"), "new@example.com",
	    "masquerading comes after canonical mapping");
}

static void
test_message(void)
{
	static const char msg[] =
	    "From: Root User <root@box.example>\n"
	    "To: \"Bob\" <bob@host.example.com>, carol@box.example (Carol)\n"
	    "Cc: undisclosed:;\n"
	    "Subject: root@box.example stays\n"
	    "\n"
	    "From: root@box.example in the body stays\n";
	static const char want[] =
	    "From: Root User <admin@example.com>\n"
	    "To: \"Bob\" <bob@example.com>, carol@box.example (Carol)\n"
	    "Cc: undisclosed:;\n"
	    "Subject: root@box.example stays\n"
	    "\n"
	    "From: root@box.example in the body stays\n";
	struct pbuf out = PBUF_INIT;
	struct qenv e;
	char err[ERRLEN], *missing;

	reset_params();
	conf_override("sender_canonical_maps", make_map("sender2",
	    "root@box.example   admin@example.com\n"));
	conf_override("recipient_canonical_maps", make_map("recipient2",
	    "dave@box.example   carol@box.example\n"
	    "erin@box.example   erin@elsewhere.example\n"));
	conf_override("masquerade_domains", "example.com");
	qenv_init(&e);
	qenv_set_sender(&e, "root@box.example");
	qenv_add_rcpt(&e, "carol@box.example", 0, NULL);
	qenv_add_rcpt(&e, "dave@box.example", 0, NULL);
	qenv_add_rcpt(&e, "erin@box.example", 0, "rfc822;erin-orig@box.example");
	qenv_add_rcpt(&e, "bob@host.example.com", 0, NULL);
	qenv_set_attr(&e, "origin", "sendmail");

	is_int(canonical_message(&e, msg, strlen(msg), &out, err, sizeof(err)), 1,
	    "local mail: the headers changed");
	is_str(pbuf_str(&out), want, "sender and recipient headers rewritten, names kept, body not");
	is_str(e.sender, "admin@example.com", "envelope sender rewritten");
	is_int(e.nrcpt, 3, "dave became carol, who was there already: one copy");
	is_str(e.rcpt[0].addr, "carol@box.example", "first recipient kept");
	ok(e.rcpt[0].orcpt == NULL, "unchanged recipient: no ORCPT added");
	is_str(e.rcpt[1].addr, "erin@elsewhere.example", "recipient rewritten");
	is_str(e.rcpt[1].orcpt, "rfc822;erin-orig@box.example", "an ORCPT given is kept");
	is_str(e.rcpt[2].addr, "bob@host.example.com", "envelope recipients are not masqueraded");
	qenv_free(&e);

	/* The same from a remote SMTP client: envelope only. */
	pbuf_reset(&out);
	qenv_init(&e);
	qenv_set_sender(&e, "root@box.example");
	qenv_add_rcpt(&e, "dave@box.example", 0, NULL);
	qenv_set_attr(&e, "origin", "smtpd");
	qenv_set_attr(&e, "client_address", "192.0.2.1");
	is_int(canonical_message(&e, msg, strlen(msg), &out, err, sizeof(err)), 0,
	    "remote SMTP client: headers stay (local_header_rewrite_clients)");
	is_str(e.sender, "admin@example.com", "its envelope sender is rewritten");
	is_str(e.rcpt[0].addr, "carol@box.example", "and its recipients");
	is_str(e.rcpt[0].orcpt, "rfc822;dave@box.example", "with an ORCPT naming the old address");
	qenv_free(&e);

	pbuf_reset(&out);
	qenv_init(&e);
	qenv_set_sender(&e, "root@box.example");
	qenv_add_rcpt(&e, "dave@box.example", 0, NULL);
	qenv_set_attr(&e, "origin", "smtpd");
	qenv_set_attr(&e, "client_address", "127.0.0.1");
	is_int(canonical_local_headers(&e), 1, "a client on 127.0.0.1 is permit_inet_interfaces");
	conf_override("local_header_rewrite_clients", "permit_mynetworks");
	conf_override("mynetworks", "192.0.2.0/24");
	qenv_set_attr(&e, "client_address", "192.0.2.1");
	is_int(canonical_local_headers(&e), 1, "permit_mynetworks");
	conf_override("local_header_rewrite_clients", "permit_sasl_authenticated");
	is_int(canonical_local_headers(&e), 0, "permit_sasl_authenticated: not logged in");
	qenv_set_attr(&e, "sasl_username", "someone");
	is_int(canonical_local_headers(&e), 1, "permit_sasl_authenticated: logged in");
	conf_override("local_header_rewrite_clients", "static:all");
	qenv_free(&e);

	/* A broken table: nothing changes. */
	missing = xasprintf("hash:%s/missing", tmpdir);
	conf_override("canonical_maps", missing);
	pbuf_reset(&out);
	qenv_init(&e);
	qenv_set_sender(&e, "root@box.example");
	qenv_add_rcpt(&e, "dave@box.example", 0, NULL);
	qenv_set_attr(&e, "origin", "pickup");
	is_int(canonical_message(&e, msg, strlen(msg), &out, err, sizeof(err)), -1,
	    "a table that cannot be read: -1");
	ok(strstr(err, "canonical_maps lookup of") != NULL, "with a reason: %s", err);
	is_str(e.sender, "root@box.example", "the envelope sender is untouched");
	is_str(e.rcpt[0].addr, "dave@box.example", "the recipients are untouched");
	ok(e.rcpt[0].orcpt == NULL, "no ORCPT was added");
	qenv_free(&e);
	free(missing);

	/* Nothing configured: nothing done. */
	reset_params();
	pbuf_reset(&out);
	qenv_init(&e);
	qenv_set_sender(&e, "root@box.example");
	is_int(canonical_message(&e, msg, strlen(msg), &out, err, sizeof(err)), 0,
	    "no tables, no masquerade_domains: 0");
	is_int(out.len, 0, "and no copy of the content");
	qenv_free(&e);
	pbuf_free(&out);
}

static int
refuse(struct qenv *e, char *err, size_t errlen)
{
	(void)e;
	snprintf(err, errlen, "refused by the envelope hook");
	return -1;
}

static void
test_queue_hook(void)
{
	static const char msg[] = "From: root@box.example\nSubject: q\n\nbody\n";
	char *qdir = xasprintf("%s/queue", tmpdir), *inc = xasprintf("%s/incoming", qdir);
	char err[ERRLEN];
	struct qenv e, back;
	struct pbuf content = PBUF_INIT;
	int rc;

	reset_params();
	conf_override("sender_canonical_maps", make_map("sender3",
	    "root@box.example   admin@example.com\n"));
	if (mkdir(qdir, 0700) < 0 || mkdir(inc, 0700) < 0) {
		perror(inc);
		exit(2);
	}
	queue_set_message_hook(canonical_message);
	qenv_init(&e);
	qenv_set_sender(&e, "root@box.example");
	qenv_add_rcpt(&e, "bob@box.example", 0, NULL);
	qenv_set_attr(&e, "origin", "pickup");
	rc = queue_write(qdir, QDIR_INCOMING, &e, msg, strlen(msg), 0600, err, sizeof(err));
	is_int(rc, 0, "queue_write with the message hook: 0 (%s)", rc < 0 ? err : "ok");
	is_str(e.sender, "admin@example.com", "the caller's envelope is the rewritten one");
	qenv_init(&back);
	is_int(queue_read(qdir, QDIR_INCOMING, e.id, &back, &content, err, sizeof(err)), QFILE_OK,
	    "the queue file reads back");
	is_str(back.sender, "admin@example.com", "the stored sender is rewritten");
	is_str(pbuf_str(&content), "From: admin@example.com\nSubject: q\n\nbody\n",
	    "the stored content has the rewritten From:");
	qenv_free(&back);
	qenv_free(&e);

	queue_set_envelope_hook(refuse);
	qenv_init(&e);
	qenv_set_sender(&e, "root@box.example");
	qenv_add_rcpt(&e, "bob@box.example", 0, NULL);
	qenv_set_attr(&e, "origin", "pickup");
	errno = 0;
	rc = queue_write(qdir, QDIR_INCOMING, &e, msg, strlen(msg), 0600, err, sizeof(err));
	is_int(rc, -1, "the envelope hook refuses: -1");
	is_int(errno, EAGAIN, "errno EAGAIN");
	is_str(err, "refused by the envelope hook", "its reason");
	is_str(e.sender, "root@box.example", "the sender is given back as it came");
	is_int(e.nrcpt, 1, "the recipients too");
	qenv_free(&e);
	queue_set_envelope_hook(NULL);
	queue_set_message_hook(NULL);
	pbuf_free(&content);
	free(inc);
	free(qdir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	tmpdir = xasprintf("%s/canonical_test.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	logpath = xasprintf("%s/maillog", tmpdir);
	conf_load_defaults(tmpdir);
	log_init("canonical_test");
	if (log_set_file(logpath, "localhost") < 0) {
		perror(logpath);
		return 2;
	}
	test_lookup();
	test_errors();
	test_classes();
	test_masquerade();
	test_message();
	test_queue_hook();
	maps_close_all();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmpdir);
	free(logpath);
	return done_testing();
}
