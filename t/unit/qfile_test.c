/*
 * qfile_test - the queue file format (qfile.c), the queue directory
 * (queue.c) and the mailq listing (mailq.c).
 *
 * Works in temporary queue directories under $TMPDIR (or /tmp) and
 * removes them at the end. Times are pinned with TZ=UTC.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mailq.h"
#include "pbuf.h"
#include "qfile.h"
#include "queue.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define ERRLEN	512

static const char *const all_dirs[] = {
	QDIR_MAILDROP, QDIR_INCOMING, QDIR_ACTIVE, QDIR_DEFERRED, QDIR_HOLD,
	QDIR_CORRUPT, QDIR_DEFER,
};

/* ---- helpers ---- */

static char *
mkqueue(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/qfile_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	size_t i;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	for (i = 0; i < sizeof(all_dirs) / sizeof(all_dirs[0]); i++) {
		char *p = xasprintf("%s/%s", dir, all_dirs[i]);

		if (mkdir(p, 0700) < 0) {
			perror(p);
			exit(2);
		}
		free(p);
	}
	return dir;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Names in queue_dir/sub, sorted, joined with spaces ("" when empty). */
static char *
listdir(const char *queue_dir, const char *sub)
{
	char *path = xasprintf("%s/%s", queue_dir, sub);
	struct pbuf out = PBUF_INIT;
	struct dirent **names;
	int n, i;

	n = scandir(path, &names, NULL, alphasort);
	free(path);
	if (n < 0)
		return xstrdup("(error)");
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			if (out.len)
				pbuf_putc(&out, ' ');
			pbuf_puts(&out, names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	return pbuf_detach(&out);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static void
full_env(struct qenv *e)
{
	qenv_init(e);
	memcpy(e->id, "0A1B2C3D4E5F60", QID_LEN + 1);
	e->arrival.tv_sec = 1732770840;
	e->arrival.tv_usec = 5;
	e->flags = QF_EXTRACT_RCPT | QF_RAW | QF_8BITMIME | QF_SMTPUTF8
	    | QF_FULLNAME_SET | QF_SENDER_SET;
	qenv_set_sender(e, "root@host.example.com");
	e->uid = 1000;
	e->fullname = xstrdup("Charlie \"Chuck\" Root\tJr.");
	e->envid = xstrdup("envid+2Bxyz");
	e->ret = QRET_HDRS;
	qenv_set_attr(e, "client_address", "192.0.2.1");
	qenv_set_attr(e, "empty", "");
	qenv_set_attr(e, "x.future-attr_9", "a=b=c");
	qenv_add_rcpt(e, "alice@example.org", QN_SUCCESS | QN_FAILURE | QN_DELAY,
	    "rfc822;alice@example.org");
	qenv_add_rcpt(e, "\"bob smith\"@example.org", QN_NEVER, NULL);
	qenv_add_rcpt(e, "carol@example.org", 0, "");
	e->rcpt[2].state = QR_DONE;
	qenv_add_rcpt(e, "dave@example.org", QN_DELAY | QN_FAILURE, NULL);
}

static const char full_expected_head[] =
    "PETREL-QUEUE 1\n"
    "I 0A1B2C3D4E5F60\n"
    "T 1732770840.000005\n"
    "F tr8uns\n"
    "S root@host.example.com\n"
    "U 1000\n"
    "N Charlie \"Chuck\" Root\tJr.\n"
    "E envid+2Bxyz\n"
    "Y HDRS\n"
    "A client_address=192.0.2.1\n"
    "A empty=\n"
    "A x.future-attr_9=a=b=c\n"
    "RT SUCCESS,FAILURE,DELAY rfc822;alice@example.org alice@example.org\n"
    "RT NEVER - \"bob smith\"@example.org\n"
    "RD - - carol@example.org\n"
    "RT FAILURE,DELAY - dave@example.org\n"
    "L 00000000000000000012\n"
    "D\n";

/* Parses buf and expects CORRUPT; returns the error text. */
static const char *
expect_corrupt(const char *buf, size_t len, const char *name)
{
	static char err[ERRLEN];
	struct qenv e;
	enum qfile_status st;

	err[0] = '\0';
	st = qfile_parse(buf, len, &e, err, sizeof(err));
	is_int(st, QFILE_CORRUPT, "%s: CORRUPT", name);
	if (st == QFILE_OK)
		qenv_free(&e);
	return err;
}

/* Replaces the first occurrence of from by to in a valid file and parses. */
static const char *
corrupt_variant(const char *good, const char *from, const char *to, const char *name)
{
	struct pbuf b = PBUF_INIT;
	const char *at = strstr(good, from), *err;

	if (at == NULL) {
		ok(0, "%s: pattern found", name);
		return "";
	}
	pbuf_append(&b, good, (size_t)(at - good));
	pbuf_puts(&b, to);
	pbuf_puts(&b, at + strlen(from));
	err = expect_corrupt(b.data, b.len, name);
	pbuf_free(&b);
	return err;
}

/* ---- format and parse ---- */

static void
test_round_trip(void)
{
	struct pbuf out = PBUF_INIT, exp = PBUF_INIT;
	char err[ERRLEN];
	struct qenv e, p;

	full_env(&e);
	is_int(qfile_format(&e, "Subject: x\n\nhi\n", 15 - 3, &out, err, sizeof(err)), 0,
	    "format: full envelope");
	pbuf_puts(&exp, full_expected_head);
	pbuf_puts(&exp, "Subject: x\n\nEND\n");
	is_str(out.data, exp.data, "format: exact bytes");
	is_int(memcmp(out.data + QFILE_ID_OFFSET, e.id, QID_LEN), 0,
	    "format: ID at QFILE_ID_OFFSET");

	is_int(qfile_parse(out.data, out.len, &p, err, sizeof(err)), QFILE_OK,
	    "parse: full envelope");
	is_str(p.id, "0A1B2C3D4E5F60", "parse: id");
	is_int(p.arrival.tv_sec, 1732770840, "parse: arrival sec");
	is_int(p.arrival.tv_usec, 5, "parse: arrival usec");
	is_int(p.flags, e.flags, "parse: flags");
	is_str(p.sender, "root@host.example.com", "parse: sender");
	is_int(p.uid, 1000, "parse: uid");
	is_str(p.fullname, "Charlie \"Chuck\" Root\tJr.", "parse: full name");
	is_str(p.envid, "envid+2Bxyz", "parse: envid");
	is_int(p.ret, QRET_HDRS, "parse: ret");
	is_int(p.nattr, 3, "parse: attribute count");
	is_str(qenv_attr(&p, "client_address"), "192.0.2.1", "parse: attr 1");
	is_str(qenv_attr(&p, "empty"), "", "parse: empty attr");
	is_str(p.attr[2].name, "x.future-attr_9", "parse: unknown attr kept, in order");
	is_str(p.attr[2].value, "a=b=c", "parse: attr value with '='");
	is_int(p.nrcpt, 4, "parse: recipients");
	is_str(p.rcpt[0].addr, "alice@example.org", "parse: rcpt 1");
	is_int(p.rcpt[0].notify, QN_SUCCESS | QN_FAILURE | QN_DELAY, "parse: notify 1");
	is_str(p.rcpt[0].orcpt, "rfc822;alice@example.org", "parse: orcpt 1");
	is_str(p.rcpt[1].addr, "\"bob smith\"@example.org", "parse: address with space");
	is_int(p.rcpt[1].notify, QN_NEVER, "parse: NEVER");
	ok(p.rcpt[1].orcpt == NULL, "parse: no orcpt");
	is_int(p.rcpt[2].state, QR_DONE, "parse: done state");
	ok(p.rcpt[2].orcpt == NULL, "parse: empty orcpt stored as none");
	is_int(p.rcpt[2].notify, 0, "parse: notify not given");
	is_int(p.rcpt[3].state, QR_TODO, "parse: todo state");
	is_int(out.data[p.rcpt[2].state_off], 'D', "parse: state_off points at the state byte");
	is_int(out.data[p.rcpt[3].state_off], 'T', "parse: state_off of rcpt 4");
	is_int(p.data_len, 12, "parse: data_len");
	is_int(memcmp(out.data + p.data_off, "Subject: x\n\n", 12), 0, "parse: data_off");

	/* Re-formatting the parsed envelope gives the same bytes. */
	pbuf_reset(&exp);
	qfile_format(&p, out.data + p.data_off, p.data_len, &exp, err, sizeof(err));
	is_int(exp.len == out.len && memcmp(exp.data, out.data, out.len) == 0, 1,
	    "format(parse(x)) == x");
	qenv_free(&p);
	qenv_free(&e);
	pbuf_free(&out);
	pbuf_free(&exp);
}

static void
test_senders_and_content(void)
{
	struct pbuf out = PBUF_INIT;
	char err[ERRLEN], name[64];
	static const char bin[] = "8bit \xff\xfe NUL\0 inside\nEND\nno final LF";
	struct qenv e, p;
	size_t i;

	/* Null sender. */
	qenv_init(&e);
	qenv_set_sender(&e, "");
	qenv_add_rcpt(&e, "a@b", 0, NULL);
	qfile_format(&e, "", 0, &out, err, sizeof(err));
	is_str(out.data, "PETREL-QUEUE 1\nT 0.000000\nS \nRT - - a@b\n"
	    "L 00000000000000000000\nD\nEND\n", "null sender, no id, empty content: exact bytes");
	is_int(qfile_parse(out.data, out.len, &p, err, sizeof(err)), QFILE_OK, "null sender parses");
	is_str(p.sender, "", "null sender is \"\"");
	is_str(p.id, "", "no I record: id empty");
	is_int(p.uid, -1, "no U record: uid -1");
	is_int(p.data_len, 0, "empty content");
	qenv_free(&p);

	/* Absent sender. */
	qenv_set_sender(&e, NULL);
	pbuf_reset(&out);
	qfile_format(&e, "x\n", 2, &out, err, sizeof(err));
	ok(strstr(out.data, "\nS") == NULL, "absent sender: no S record");
	is_int(qfile_parse(out.data, out.len, &p, err, sizeof(err)), QFILE_OK, "absent sender parses");
	ok(p.sender == NULL, "absent sender is NULL");
	qenv_free(&p);
	qenv_free(&e);

	/* Many recipients, binary content with NUL and an END line inside. */
	qenv_init(&e);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "user%zu@example.com", i);
		qenv_add_rcpt(&e, name, QN_DELAY, NULL);
	}
	pbuf_reset(&out);
	is_int(qfile_format(&e, bin, sizeof(bin) - 1, &out, err, sizeof(err)), 0,
	    "format: 1000 recipients, binary content");
	is_int(qfile_parse(out.data, out.len, &p, err, sizeof(err)), QFILE_OK,
	    "parse: 1000 recipients, binary content");
	is_int(p.nrcpt, 1000, "1000 recipients back");
	is_str(p.rcpt[999].addr, "user999@example.com", "last recipient");
	is_int(p.data_len, sizeof(bin) - 1, "binary content length");
	ok(memcmp(out.data + p.data_off, bin, sizeof(bin) - 1) == 0, "binary content intact");
	qenv_free(&p);
	qenv_free(&e);
	pbuf_free(&out);
}

static void
test_format_refusals(void)
{
	struct pbuf out = PBUF_INIT;
	char err[ERRLEN];
	struct qenv e;

	pbuf_puts(&out, "keep");
	qenv_init(&e);
	qenv_set_sender(&e, "evil@x\r\nBcc: victim@y");
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "CR/LF in sender refused");
	is_str(err, "sender contains a line break", "sender error text");
	is_str(out.data, "keep", "out unchanged after a refusal");
	qenv_set_sender(&e, "ok@x");
	qenv_add_rcpt(&e, "a@b", 0, NULL);
	qenv_add_rcpt(&e, "b@c\nR injected", 0, NULL);
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "LF in recipient refused");
	is_str(err, "recipient 2: address contains a line break", "recipient error text");
	qenv_free(&e);

	qenv_init(&e);
	e.fullname = xstrdup("Name\rX");
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "CR in full name refused");
	is_str(err, "full name contains a line break", "full name error text");
	qenv_free(&e);

	qenv_init(&e);
	qenv_set_attr(&e, "bad name", "v");
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "bad attribute name refused");
	qenv_free(&e);

	qenv_init(&e);
	qenv_set_attr(&e, "n", "v\nA x=y");
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "LF in attribute value refused");
	qenv_free(&e);

	qenv_init(&e);
	qenv_add_rcpt(&e, "a@b", 0, "rfc822;has space");
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "space in ORCPT refused");
	qenv_free(&e);

	qenv_init(&e);
	qenv_add_rcpt(&e, "a@b", QN_NEVER | QN_DELAY, NULL);
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "NEVER with DELAY refused");
	qenv_free(&e);

	qenv_init(&e);
	memcpy(e.id, "abcdef12345678", QID_LEN + 1);
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "lowercase ID refused");
	qenv_free(&e);

	qenv_init(&e);
	e.flags = 1u << 20;
	is_int(qfile_format(&e, "", 0, &out, err, sizeof(err)), -1, "unknown flag bit refused");
	qenv_free(&e);
	is_str(out.data, "keep", "out still unchanged");
	pbuf_free(&out);
}

static void
test_corruption(void)
{
	struct pbuf good = PBUF_INIT;
	char err[ERRLEN];
	const char *msg;
	struct qenv e;
	size_t n, bad = 0, noerr = 0;

	full_env(&e);
	qfile_format(&e, "Subject: x\n\nbody\n", 17, &good, err, sizeof(err));
	qenv_free(&e);

	/* Every proper prefix is CORRUPT, with a message. */
	for (n = 0; n < good.len; n++) {
		char *copy = xmalloc(n + 1);	/* exact size: ASan sees overreads */

		memcpy(copy, good.data, n);
		err[0] = '\0';
		if (qfile_parse(copy, n, &e, err, sizeof(err)) != QFILE_CORRUPT)
			bad++;
		else if (err[0] == '\0')
			noerr++;
		free(copy);
	}
	is_int(bad, 0, "all %zu truncations are CORRUPT", good.len);
	is_int(noerr, 0, "all truncations explain why");
	msg = expect_corrupt(good.data, 0, "empty file");
	is_str(msg, "line 1, offset 0: empty file", "empty file message");
	msg = expect_corrupt(good.data, good.len - 1, "last byte missing");
	is_str(msg, "offset 406: missing END marker after the 17 bytes of content "
	    "(L record at line 17)", "truncated END message");

	msg = corrupt_variant(good.data, "PETREL-QUEUE 1", "PETREL-QUEUE 2", "version 2");
	is_str(msg, "line 1, offset 0: unsupported format version \"2\"", "version message");
	corrupt_variant(good.data, "PETREL-QUEUE 1", "PETREL-QUEUE", "no version number");
	corrupt_variant(good.data, "PETREL-QUEUE 1\n", "From root Thu Nov 28\n", "mbox file");
	msg = corrupt_variant(good.data, "L 00000000000000000017",
	    "L 00000000000000000022", "L too large");
	is_str(msg, "line 17, offset 364: L record: content length 22, but only 21 bytes "
	    "follow the D line", "L too large message");
	corrupt_variant(good.data, "L 00000000000000000017", "L 00000000000000000018",
	    "L one too large");
	msg = corrupt_variant(good.data, "L 00000000000000000017",
	    "L 00000000000000000016", "L too small");
	is_str(msg, "offset 405: missing END marker after the 16 bytes of content "
	    "(L record at line 17)", "L too small message");
	corrupt_variant(good.data, "L 00000000000000000017", "L 0000000000000000017",
	    "L with 19 digits");
	corrupt_variant(good.data, "L 00000000000000000017", "L 99999999999999999999",
	    "L beyond SIZE_MAX");
	corrupt_variant(good.data, "L 00000000000000000017", "L -0000000000000000017",
	    "L negative");
	corrupt_variant(good.data, "L 00000000000000000017", "L 0000000000000000001x",
	    "L not digits");
	corrupt_variant(good.data, "body\nEND\n", "body\nEND", "missing END LF");
	corrupt_variant(good.data, "body\nEND\n", "body\nEXD\n", "END misspelt");
	msg = corrupt_variant(good.data, "body\nEND\n", "body\nEND\nEND\n", "garbage after END");
	is_str(msg, "offset 410: 4 bytes after the END marker", "garbage message");
	msg = corrupt_variant(good.data, "Y HDRS\n", "X whatever\n", "unknown record letter");
	is_str(msg, "line 9, offset 133: unknown record type 'X'", "unknown record message");
	corrupt_variant(good.data, "Y HDRS\n", "y HDRS\n", "lowercase record letter");
	corrupt_variant(good.data, "Y HDRS\n", "Y SOME\n", "bad RET");
	corrupt_variant(good.data, "U 1000\n", "U 1000\nU 1000\n", "repeated U");
	corrupt_variant(good.data, "U 1000\n", "U -1\n", "negative uid");
	corrupt_variant(good.data, "U 1000\n", "U 4294967295\n", "uid -1 as unsigned");
	corrupt_variant(good.data, "S root@host.example.com\n",
	    "S root@host.example.com\nS other@x\n", "repeated S");
	corrupt_variant(good.data, "S root", "Sroot", "no space after type");
	corrupt_variant(good.data, "I 0A1B2C3D4E5F60\nT 1732770840.000005\n",
	    "T 1732770840.000005\nI 0A1B2C3D4E5F60\n", "I not first");
	corrupt_variant(good.data, "I 0A1B2C3D4E5F60", "I 0A1B2C3D4E5F6", "short ID");
	corrupt_variant(good.data, "T 1732770840.000005\n", "", "missing T");
	corrupt_variant(good.data, "T 1732770840.000005", "T 1732770840.5", "short usec");
	corrupt_variant(good.data, "T 1732770840.000005", "T 1732770840", "no usec");
	corrupt_variant(good.data, "T 1732770840.000005", "T 99999999999999999999.000000",
	    "time overflow");
	corrupt_variant(good.data, "F tr8uns", "F tr8unsx", "unknown flag letter");
	corrupt_variant(good.data, "F tr8uns", "F tt", "repeated flag letter");
	corrupt_variant(good.data, "F tr8uns", "F ", "empty flags");
	corrupt_variant(good.data, "A empty=\n", "A empty\n", "attribute without '='");
	corrupt_variant(good.data, "A empty=\n", "A client_address=x\n", "repeated attribute");
	msg = corrupt_variant(good.data, "RT NEVER", "RT SOMETIMES", "bad notify");
	is_str(msg, "line 14, offset 268: R record: bad notify \"SOMETIMES\"", "notify message");
	corrupt_variant(good.data, "RT NEVER", "RT NEVER,DELAY", "NEVER with others");
	corrupt_variant(good.data, "RT SUCCESS,FAILURE,DELAY", "RT SUCCESS,SUCCESS",
	    "repeated notify");
	corrupt_variant(good.data, "RT SUCCESS,FAILURE,DELAY", "RT SUCCESS,", "empty notify item");
	corrupt_variant(good.data, "RD - -", "RX - -", "bad state byte");
	corrupt_variant(good.data, "RD - - carol@example.org\n", "RD - - \n", "empty address");
	corrupt_variant(good.data, "RD - - carol@example.org\n", "RD - carol\n", "missing field");
	corrupt_variant(good.data, "RD - - carol", "RD - \x01 carol", "control char in ORCPT");
	corrupt_variant(good.data, "S root@host", "S root\r@host", "CR in a record");
	{
		struct pbuf nul = PBUF_INIT;

		pbuf_append(&nul, good.data, good.len);
		nul.data[strstr(nul.data, "N Charlie") - nul.data + 4] = '\0';
		expect_corrupt(nul.data, nul.len, "NUL in a record");
		pbuf_free(&nul);
	}
	corrupt_variant(good.data, "Y HDRS\n", "Y HDRS\n\n", "empty line");
	corrupt_variant(good.data, "L 00000000000000000017\nD\n",
	    "L 00000000000000000017\nU 5\nD\n", "record between L and D");
	corrupt_variant(good.data, "L 00000000000000000017\n", "", "missing L");
	corrupt_variant(good.data, "\nD\n", "\n", "missing D");
	corrupt_variant(good.data, "\nD\n", "\nD \n", "text after D");
	{
		/* A line longer than QFILE_LINE_MAX. */
		struct pbuf big = PBUF_INIT;

		pbuf_puts(&big, "PETREL-QUEUE 1\nT 0.000000\nN ");
		while (big.len < QFILE_LINE_MAX + 100)
			pbuf_putc(&big, 'x');
		pbuf_puts(&big, "\nL 00000000000000000000\nD\nEND\n");
		msg = expect_corrupt(big.data, big.len, "overlong line");
		is_str(msg, "line 3, offset 26: line longer than 65536 bytes", "overlong message");
		pbuf_free(&big);
	}
	pbuf_free(&good);
}

/* ---- queue directory ---- */

static int
scan_collect(const char *subdir, const char *id, void *ctx)
{
	(void)subdir;
	strv_add(ctx, id);
	return 0;
}

static void
simple_env(struct qenv *e, time_t when, const char *sender)
{
	qenv_init(e);
	e->arrival.tv_sec = when;
	e->uid = 0;
	if (sender)
		qenv_set_sender(e, sender);
}

static void
test_queue_write(void)
{
	char *q = mkqueue(), *names, *path;
	char err[ERRLEN], hexino[16];
	struct pbuf content = PBUF_INIT;
	struct qenv e, r;
	struct stat st;
	struct rlimit old, lim;
	int fd;

	simple_env(&e, 1732770840, "root@example.com");
	qenv_add_rcpt(&e, "a@example.com", 0, NULL);
	qenv_add_rcpt(&e, "b@example.com", 0, NULL);
	is_int(queue_write(q, QDIR_INCOMING, &e, "Subject: t\n\nbody\n", 17, 0600,
	    err, sizeof(err)), 0, "queue_write: ok");
	ok(queue_id_valid(e.id), "queue_write: assigned a valid ID (%s)", e.id);
	names = listdir(q, QDIR_INCOMING);
	is_str(names, e.id, "queue_write: the directory holds exactly the ID, no temp");
	free(names);
	path = xasprintf("%s/%s/%s", q, QDIR_INCOMING, e.id);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "queue_write: mode 0600");
	snprintf(hexino, sizeof(hexino), "%09llX", (unsigned long long)st.st_ino & 0xFFFFFFFFFULL);
	is_str(e.id + 5, hexino, "queue_write: ID ends with the inode");
	is_int(queue_read(q, QDIR_INCOMING, e.id, &r, &content, err, sizeof(err)), QFILE_OK,
	    "queue_read: parses back");
	is_str(r.id, e.id, "queue_read: I record matches");
	is_str(content.data, "Subject: t\n\nbody\n", "queue_read: content");
	is_str(r.sender, "root@example.com", "queue_read: sender");
	is_str(queue_locate(q, e.id), QDIR_INCOMING, "queue_locate: incoming");

	/* Mark a recipient done in place. */
	fd = open(path, O_RDWR);
	is_int(qfile_mark_rcpt(fd, &r.rcpt[1], QR_DONE), 0, "qfile_mark_rcpt: ok");
	is_int(qfile_mark_rcpt(fd, &r.rcpt[1], 'X'), -1, "qfile_mark_rcpt: bad state refused");
	{
		struct qrcpt wrong = r.rcpt[1];

		wrong.state_off += 3;
		is_int(qfile_mark_rcpt(fd, &wrong, QR_DONE), -1,
		    "qfile_mark_rcpt: offset not at an R state byte refused");
		is_int(errno, EINVAL, "qfile_mark_rcpt: EINVAL");
	}
	close(fd);
	qenv_free(&r);
	pbuf_reset(&content);
	is_int(queue_read(q, QDIR_INCOMING, e.id, &r, &content, err, sizeof(err)), QFILE_OK,
	    "re-read after mark");
	is_int(r.rcpt[0].state, QR_TODO, "rcpt 1 still to do");
	is_int(r.rcpt[1].state, QR_DONE, "rcpt 2 now done");
	is_str(content.data, "Subject: t\n\nbody\n", "content unchanged by the mark");
	qenv_free(&r);

	/* Envelope-only read through queue_read_stat. */
	is_int(queue_read_stat(q, QDIR_INCOMING, e.id, &r, NULL, &st, err, sizeof(err)),
	    QFILE_OK, "queue_read_stat: envelope only");
	is_int(r.data_len, 17, "envelope only: data_len from L");
	is_int(st.st_uid, getuid(), "queue_read_stat: owner uid");
	qenv_free(&r);

	/* Envelope-only reads of a big envelope, then of truncated copies. */
	{
		struct qenv big;
		char addr[64];
		char *bp;
		size_t i;

		simple_env(&big, 3, "big@x");
		for (i = 0; i < 1000; i++) {
			snprintf(addr, sizeof(addr), "recipient-number-%zu@example.com", i);
			qenv_add_rcpt(&big, addr, 0, NULL);
		}
		queue_write(q, QDIR_DEFERRED, &big, "abc\n", 4, 0600, err, sizeof(err));
		is_int(queue_read(q, QDIR_DEFERRED, big.id, &r, NULL, err, sizeof(err)),
		    QFILE_OK, "envelope only: 1000 recipients (several reads)");
		is_int(r.nrcpt, 1000, "envelope only: all recipients");
		is_str(r.rcpt[999].addr, "recipient-number-999@example.com",
		    "envelope only: last recipient");
		is_int(r.data_len, 4, "envelope only: data_len");
		qenv_free(&r);
		bp = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, big.id);
		stat(bp, &st);
		ok(truncate(bp, st.st_size - 1) == 0, "truncate");
		is_int(queue_read(q, QDIR_DEFERRED, big.id, &r, NULL, err, sizeof(err)),
		    QFILE_CORRUPT, "envelope only: truncated END is CORRUPT");
		ok(strstr(err, "missing END marker") != NULL, "envelope only: says why (%s)", err);
		ok(truncate(bp, st.st_size - 6) == 0, "truncate");
		is_int(queue_read(q, QDIR_DEFERRED, big.id, &r, NULL, err, sizeof(err)),
		    QFILE_CORRUPT, "envelope only: truncated content is CORRUPT");
		ok(strstr(err, "L record: content length 4, but only 2 bytes") != NULL,
		    "envelope only: names the L record (%s)", err);
		ok(truncate(bp, 5000) == 0, "truncate");
		is_int(queue_read(q, QDIR_DEFERRED, big.id, &r, NULL, err, sizeof(err)),
		    QFILE_CORRUPT, "envelope only: truncated envelope is CORRUPT");
		ok(truncate(bp, st.st_size + 3) == 0, "truncate");
		is_int(queue_read(q, QDIR_DEFERRED, big.id, &r, NULL, err, sizeof(err)),
		    QFILE_CORRUPT, "envelope only: bytes after END are CORRUPT");
		unlink(bp);
		free(bp);
		qenv_free(&big);
	}

	/* Maildrop mode. */
	{
		struct qenv m;

		simple_env(&m, 1, NULL);
		is_int(queue_write(q, QDIR_MAILDROP, &m, "x\n", 2, 0444, err, sizeof(err)), 0,
		    "queue_write: maildrop 0444");
		free(path);
		path = xasprintf("%s/%s/%s", q, QDIR_MAILDROP, m.id);
		ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0444, "maildrop file is 0444");
		qenv_free(&m);
	}

	/* queue_move + locate. */
	is_int(queue_move(q, QDIR_INCOMING, QDIR_ACTIVE, e.id), 0, "queue_move: incoming -> active");
	is_str(queue_locate(q, e.id), QDIR_ACTIVE, "queue_locate: active");
	is_int(queue_move(q, QDIR_INCOMING, QDIR_ACTIVE, e.id), -1, "queue_move: gone file fails");
	ok(queue_locate(q, "00000000000000") == NULL, "queue_locate: unknown ID");
	ok(queue_locate(q, "../x") == NULL, "queue_locate: bad ID");

	/* Failures leave nothing behind. */
	{
		struct qenv f;
		char saved[QID_LEN + 1];

		simple_env(&f, 1, "a@b");
		is_int(queue_write(q, "nosuchdir", &f, "x", 1, 0600, err, sizeof(err)), -1,
		    "queue_write: missing subdir fails");
		is_int(errno, ENOENT, "queue_write: errno ENOENT");
		ok(strncmp(err, "create ", 7) == 0 && strstr(err, "/nosuchdir/.") != NULL
		    && strstr(err, ".tmp: No such file or directory") != NULL,
		    "queue_write: error names the step and path (%s)", err);
		is_str(f.id, "", "queue_write: id unchanged on failure");

		qenv_add_rcpt(&f, "x@y\nz", 0, NULL);
		memcpy(saved, f.id, sizeof(saved));
		is_int(queue_write(q, QDIR_HOLD, &f, "x", 1, 0600, err, sizeof(err)), -1,
		    "queue_write: bad envelope fails");
		is_int(errno, EINVAL, "queue_write: errno EINVAL");
		names = listdir(q, QDIR_HOLD);
		is_str(names, "", "queue_write: bad envelope left nothing");
		free(names);
		qenv_free(&f);

		/* A write that fails half-way (file size limit = EFBIG). */
		simple_env(&f, 1, "a@b");
		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &old);
		lim = old;
		lim.rlim_cur = 200;
		setrlimit(RLIMIT_FSIZE, &lim);
		{
			char *bigc = xmalloc(5000);
			int rc, saved_errno;

			memset(bigc, 'x', 5000);
			rc = queue_write(q, QDIR_HOLD, &f, bigc, 5000, 0600, err, sizeof(err));
			saved_errno = errno;
			/* The limit also holds for our own TAP output: report after lifting it. */
			setrlimit(RLIMIT_FSIZE, &old);
			is_int(rc, -1, "queue_write: short write fails");
			free(bigc);
			errno = saved_errno;
		}
		is_int(errno, EFBIG, "queue_write: errno EFBIG kept");
		ok(strncmp(err, "write ", 6) == 0 && strstr(err, ".tmp: File too large"),
		    "queue_write: write error text (%s)", err);
		names = listdir(q, QDIR_HOLD);
		is_str(names, "", "queue_write: failed write left no temp file");
		free(names);
		qenv_free(&f);
	}

	/* queue_tx: the ID before the content. */
	{
		struct queue_tx tx;
		struct qenv t;
		char id[QID_LEN + 1];

		is_int(queue_tx_begin(q, QDIR_INCOMING, &tx, err, sizeof(err)), 0, "queue_tx_begin");
		ok(queue_id_valid(tx.id), "queue_tx_begin: ID assigned");
		memcpy(id, tx.id, sizeof(id));
		simple_env(&t, 2, "s@x");
		is_int(queue_tx_commit(&tx, &t, "c\n", 2, 0600, err, sizeof(err)), 0,
		    "queue_tx_commit");
		is_str(t.id, id, "queue_tx_commit: same ID");
		names = listdir(q, QDIR_INCOMING);
		is_str(names, id, "queue_tx_commit: file under its ID, no temp");
		free(names);
		qenv_free(&t);

		is_int(queue_tx_begin(q, QDIR_HOLD, &tx, err, sizeof(err)), 0, "queue_tx_begin 2");
		queue_tx_abort(&tx);
		names = listdir(q, QDIR_HOLD);
		is_str(names, "", "queue_tx_abort: nothing left");
		free(names);
	}

	free(path);
	pbuf_free(&content);
	qenv_free(&e);
	rm_rf(q);
	free(q);
}

static void
test_scan_stale_quarantine(void)
{
	char *q = mkqueue(), *p, *names;
	char err[ERRLEN];
	struct strv seen = STRV_INIT;
	struct timespec times[2];
	struct qenv e;
	long n;

	simple_env(&e, 5, "a@b");
	queue_write(q, QDIR_DEFERRED, &e, "x\n", 2, 0600, err, sizeof(err));
	p = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, ".123.tmp");
	write_file(p, "junk", 4);
	free(p);
	p = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, "README");
	write_file(p, "junk", 4);
	free(p);
	p = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, "0123456789ABCDE");
	write_file(p, "junk", 4);
	free(p);
	p = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, "0123456789abcd");
	write_file(p, "junk", 4);
	free(p);
	p = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, "0123456789ABCD");
	write_file(p, "not a queue file\n", 17);
	free(p);
	n = queue_scan(q, QDIR_DEFERRED, scan_collect, &seen);
	is_int(n, 2, "queue_scan: only valid names");
	ok(seen.n == 2 && (strv_find(&seen, e.id, 0) >= 0)
	    && strv_find(&seen, "0123456789ABCD", 0) >= 0, "queue_scan: the two IDs");
	is_int(queue_scan(q, "nosuchdir", scan_collect, &seen), -1, "queue_scan: missing dir");
	ok(queue_id_valid("0123456789ABCD") && !queue_id_valid("0123456789ABC")
	    && !queue_id_valid("0123456789ABCDE") && !queue_id_valid("0123456789abcd")
	    && !queue_id_valid(".23456789ABCDE") && !queue_id_valid(""),
	    "queue_id_valid");

	/* Stale temp files. */
	p = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, ".old.tmp");
	write_file(p, "x", 1);
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[0].tv_sec -= 7200;
	times[1] = times[0];
	utimensat(AT_FDCWD, p, times, 0);
	free(p);
	is_int(queue_remove_stale(q, QDIR_DEFERRED, QUEUE_STALE_TEMP_SECONDS), 1,
	    "queue_remove_stale: one old temp file");
	names = listdir(q, QDIR_DEFERRED);
	p = xasprintf(".123.tmp 0123456789ABCD 0123456789ABCDE 0123456789abcd %s README", e.id);
	is_str(names, p, "queue_remove_stale: fresh temp and other files kept");
	free(p);
	free(names);

	/* The bad file reads as CORRUPT and goes to corrupt/. */
	{
		struct qenv r;

		is_int(queue_read(q, QDIR_DEFERRED, "0123456789ABCD", &r, NULL, err, sizeof(err)),
		    QFILE_CORRUPT, "queue_read: junk is CORRUPT");
		ok(strstr(err, "/deferred/0123456789ABCD: line 1, offset 0: not a Petrel queue file")
		    != NULL, "queue_read: error names the path and line (%s)", err);
	}
	is_int(queue_quarantine(q, QDIR_DEFERRED, "0123456789ABCD", "test"), 0,
	    "queue_quarantine: ok");
	p = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, "0123456789ABCD");
	write_file(p, "again", 5);
	free(p);
	is_int(queue_quarantine(q, QDIR_DEFERRED, "0123456789ABCD", "test"), 0,
	    "queue_quarantine: name taken");
	names = listdir(q, QDIR_CORRUPT);
	is_str(names, "0123456789ABCD 0123456789ABCD.1", "queue_quarantine: NAME and NAME.1");
	free(names);
	is_int(queue_quarantine(q, QDIR_DEFERRED, "../x", "test"), -1,
	    "queue_quarantine: refuses a path");

	/* A file whose I record is not its name. */
	{
		struct qenv r;
		char *from = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, e.id);
		char *to = xasprintf("%s/%s/%s", q, QDIR_DEFERRED, "FFFFFFFFFFFFFF");

		rename(from, to);
		is_int(queue_read(q, QDIR_DEFERRED, "FFFFFFFFFFFFFF", &r, NULL, err, sizeof(err)),
		    QFILE_CORRUPT, "queue_read: I record must match the name");
		/* Hard links are refused (retry later), symlinks are CORRUPT. */
		ok(link(to, from) == 0, "link");
		is_int(queue_read(q, QDIR_DEFERRED, "FFFFFFFFFFFFFF", &r, NULL, err, sizeof(err)),
		    QFILE_IOERR, "queue_read: two hard links refused");
		is_int(errno, EMLINK, "queue_read: EMLINK");
		unlink(to);
		ok(symlink(from, to) == 0, "symlink");
		is_int(queue_read(q, QDIR_DEFERRED, "FFFFFFFFFFFFFF", &r, NULL, err, sizeof(err)),
		    QFILE_CORRUPT, "queue_read: symlink is CORRUPT");
		is_int(queue_read(q, QDIR_DEFERRED, "EEEEEEEEEEEEEE", &r, NULL, err, sizeof(err)),
		    QFILE_IOERR, "queue_read: missing file is IOERR");
		is_int(errno, ENOENT, "queue_read: ENOENT");
		free(from);
		free(to);
	}
	strv_free(&seen);
	qenv_free(&e);
	rm_rf(q);
	free(q);
}

static void
test_defer_file(void)
{
	char *q = mkqueue(), *p;
	char err[ERRLEN];
	struct queue_defer d, r;
	struct pbuf b = PBUF_INIT;

	queue_defer_init(&d);
	queue_defer_add(&d, "a@x", "4.4.1", "connect to x: refused");
	queue_defer_add(&d, "b@x", "4.2.2", "mailbox full");
	queue_defer_add(&d, "a@x", "4.4.2", "lost connection");
	is_int(queue_defer_write(q, "0123456789ABCD", &d, err, sizeof(err)), 0,
	    "queue_defer_write");
	p = xasprintf("%s/%s/0123456789ABCD", q, QDIR_DEFER);
	{
		int fd = open(p, O_RDONLY);

		pbuf_read_fd(&b, fd, 0);
		close(fd);
	}
	is_str(b.data, "a@x\t4.4.2\tlost connection\nb@x\t4.2.2\tmailbox full\n",
	    "defer file: exact bytes");
	/* Malformed lines are skipped. */
	{
		static const char lines[] = "a@x\t4.4.1\treason one\nno tabs\n"
		    "\t4.4.1\tno address\nc@x\t5.1.1\t\nd@x\t4.0.0\tlast, no LF";

		write_file(p, lines, sizeof(lines) - 1);
	}
	queue_defer_init(&r);
	is_int(queue_defer_read(q, "0123456789ABCD", &r), 0, "queue_defer_read");
	is_int(r.n, 2, "queue_defer_read: two good lines");
	ok(queue_defer_find(&r, "a@x") && strcmp(queue_defer_find(&r, "a@x")->reason,
	    "reason one") == 0, "queue_defer_find: reason");
	ok(queue_defer_find(&r, "c@x") && queue_defer_find(&r, "c@x")->reason[0] == '\0',
	    "empty reason kept");
	ok(queue_defer_find(&r, "d@x") == NULL, "line without LF ignored");
	queue_defer_free(&r);
	queue_defer_init(&r);
	is_int(queue_defer_read(q, "00000000000000", &r), 0, "missing defer file: no entries");
	is_int(r.n, 0, "missing defer file: zero");
	queue_defer_free(&d);
	queue_defer_add(&d, "a@x", "4.4.1", "bad\nreason");
	is_int(queue_defer_write(q, "0123456789ABCD", &d, err, sizeof(err)), -1,
	    "queue_defer_write: LF refused");
	queue_defer_free(&d);
	is_int(queue_defer_write(q, "0123456789ABCD", &d, err, sizeof(err)), 0,
	    "queue_defer_write: empty list removes");
	ok(access(p, F_OK) < 0, "defer file removed");
	free(p);
	pbuf_free(&b);
	rm_rf(q);
	free(q);
}

/* ---- mailq ---- */

static char *
capture(const char *q, enum mailq_format fmt, int verbose)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (mailq_print(f, q, fmt, verbose) < 0)
		fputs("(mailq_print failed)", f);
	fclose(f);
	return buf;
}

static char *
spaces(int n)
{
	char *s = xmalloc((size_t)n + 1);

	memset(s, ' ', (size_t)n);
	s[n] = '\0';
	return s;
}

static void
put_msg(const char *q, const char *dir, time_t when, long usec, const char *sender,
    unsigned flags, size_t size, char *id_out, const char *const *rcpts)
{
	char err[ERRLEN];
	struct qenv e;
	char *c = xmalloc(size + 1);
	size_t i;

	memset(c, 'm', size);
	qenv_init(&e);
	e.arrival.tv_sec = when;
	e.arrival.tv_usec = usec;
	e.uid = 0;
	e.flags = flags;
	if (sender)
		qenv_set_sender(&e, sender);
	for (i = 0; rcpts[i]; i++) {
		qenv_add_rcpt(&e, rcpts[i] + 1, 0, NULL);
		if (rcpts[i][0] == 'D')
			e.rcpt[e.nrcpt - 1].state = QR_DONE;
	}
	if (queue_write(q, dir, &e, c, size, 0600, err, sizeof(err)) < 0) {
		fprintf(stderr, "put_msg: %s\n", err);
		exit(2);
	}
	memcpy(id_out, e.id, QID_LEN + 1);
	qenv_free(&e);
	free(c);
}

#define REASON_A "connect to mx.example.org[192.0.2.1]:25: Connection refused"

static void
test_mailq(void)
{
	char *q = mkqueue(), *got, *exp, *junk, *s47, *padA, *padU;
	char a[QID_LEN + 1], b[QID_LEN + 1], c[QID_LEN + 1], d[QID_LEN + 1];
	char err[ERRLEN];
	static const char *const ra[] = { "Talice@example.org", "Dbob@example.org",
		"Tcarol@example.org", NULL };
	static const char *const rb[] = { "Tbob@example.net", "Tcarol@example.net", NULL };
	static const char *const rc[] = { "Tdave@example.com", NULL };
	static const char *const rd[] = { "Twe\\ird\001@x.org", NULL };
	struct queue_defer def;

	setenv("TZ", "UTC", 1);
	tzset();

	/* Empty queue, all three layouts. */
	got = capture(q, MAILQ_SENDMAIL, 0);
	exp = xasprintf("%s/mqueue is empty\n\t\tTotal requests: 0\n", q);
	is_str(got, exp, "mailq sendmail: empty");
	free(got);
	free(exp);
	got = capture(q, MAILQ_POSTFIX, 0);
	is_str(got, "Mail queue is empty\n", "mailq postfix: empty");
	free(got);
	got = capture(q, MAILQ_JSON, 0);
	is_str(got, "", "mailq json: empty");
	free(got);

	put_msg(q, QDIR_DEFERRED, 1732770840, 500000, "root@host.example.com", 0, 1530, a, ra);
	put_msg(q, QDIR_ACTIVE, 1732770960, 0, "www-data-with-a-very-long-name@host.example.com",
	    QF_8BITMIME, 812, b, rb);
	put_msg(q, QDIR_HOLD, 1732770000, 0, "", 0, 100, c, rc);
	put_msg(q, QDIR_MAILDROP, 1733200000, 0, NULL, QF_RAW, 50, d, rd);
	queue_defer_init(&def);
	queue_defer_add(&def, "alice@example.org", "4.4.1", REASON_A);
	queue_defer_write(q, a, &def, err, sizeof(err));
	queue_defer_free(&def);
	/* A corrupt file is skipped, never moved. */
	junk = xasprintf("%s/%s/%s", q, QDIR_INCOMING, "0000000000000A");
	write_file(junk, "PETREL-QUEUE 1\nT 1.000000\n", 26);

	got = capture(q, MAILQ_SENDMAIL, 0);
	exp = xasprintf(
	    "\t\t%s/mqueue (4 requests)\n"
	    "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n"
	    "%s      100 Thu Nov 28 05:00 <>\n"
	    "     QUARANTINE: held\n"
	    "\t\t\t\t\t <dave@example.com>\n"
	    "%s     1530 Thu Nov 28 05:14 <root@host.example.com>\n"
	    "                 (Deferred: connect to mx.example.org[192.0.2.1]:25: Connectio)\n"
	    "\t\t\t\t\t <alice@example.org>\n"
	    "\t\t\t\t\t <carol@example.org>\n"
	    "%s*     812 Thu Nov 28 05:16 <www-data-with-a-very-long-name@host.ex\n"
	    "      8BITMIME\n"
	    "\t\t\t\t\t <bob@example.net>\n"
	    "\t\t\t\t\t <carol@example.net>\n"
	    "%s       50 Tue Dec  3 04:26 <root>\n"
	    "\t\t\t\t\t <we\\\\ird\\001@x.org>\n"
	    "\t\tTotal requests: 4\n", q, c, a, b, d);
	is_str(got, exp, "mailq sendmail: four messages");
	free(got);
	free(exp);

	s47 = spaces(47);
	padA = spaces(76 - (int)strlen(REASON_A));
	padU = spaces(76 - (int)strlen("reason unavailable"));
	got = capture(q, MAILQ_POSTFIX, 0);
	exp = xasprintf(
	    "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n"
	    "%s!        100 Thu Nov 28 05:00:00 MAILER-DAEMON\n"
	    "%sdave@example.com\n"
	    "\n"
	    "%s        1530 Thu Nov 28 05:14:00 root@host.example.com\n"
	    "%s(" REASON_A ")\n"
	    "%salice@example.org\n"
	    "%s(reason unavailable)\n"
	    "%scarol@example.org\n"
	    "\n"
	    "%s*        812 Thu Nov 28 05:16:00 www-data-with-a-very-long-name@host.example.com\n"
	    "%sbob@example.net\n"
	    "%scarol@example.net\n"
	    "\n"
	    "%s          50 Tue Dec  3 04:26:40 root\n"
	    "%swe\\ird?@x.org\n"
	    "\n"
	    "-- 2 Kbytes in 4 Requests.\n",
	    c, s47, a, padA, s47, padU, s47, b, s47, s47, d, s47);
	is_str(got, exp, "mailq postfix: four messages");
	free(got);
	free(exp);

	got = capture(q, MAILQ_JSON, 0);
	exp = xasprintf(
	    "{\"queue_name\": \"hold\", \"queue_id\": \"%s\", \"arrival_time\": 1732770000, "
	    "\"message_size\": 100, \"forced_expire\": false, \"sender\": \"MAILER-DAEMON\", "
	    "\"recipients\": [{\"address\": \"dave@example.com\"}]}\n"
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"%s\", \"arrival_time\": 1732770840, "
	    "\"message_size\": 1530, \"forced_expire\": false, \"sender\": \"root@host.example.com\", "
	    "\"recipients\": [{\"address\": \"alice@example.org\", \"delay_reason\": \""
	    REASON_A "\"}, {\"address\": \"carol@example.org\"}]}\n"
	    "{\"queue_name\": \"active\", \"queue_id\": \"%s\", \"arrival_time\": 1732770960, "
	    "\"message_size\": 812, \"forced_expire\": false, \"sender\": "
	    "\"www-data-with-a-very-long-name@host.example.com\", "
	    "\"recipients\": [{\"address\": \"bob@example.net\"}, {\"address\": \"carol@example.net\"}]}\n"
	    "{\"queue_name\": \"maildrop\", \"queue_id\": \"%s\", \"arrival_time\": 1733200000, "
	    "\"message_size\": 50, \"forced_expire\": false, \"sender\": \"root\", "
	    "\"recipients\": [{\"address\": \"we\\\\ird\\u0001@x.org\"}]}\n",
	    c, a, b, d);
	is_str(got, exp, "mailq json: four messages");
	free(got);
	free(exp);
	ok(access(junk, F_OK) == 0, "mailq left the corrupt file where it was");

	/* Verbose layout, on a queue with the deferred message only. */
	{
		char *q2 = mkqueue();
		char a2[QID_LEN + 1];

		put_msg(q2, QDIR_DEFERRED, 1732770840, 0, "root@host.example.com", 0, 1530, a2, ra);
		queue_defer_init(&def);
		queue_defer_add(&def, "carol@example.org", "4.4.1", REASON_A);
		queue_defer_write(q2, a2, &def, err, sizeof(err));
		queue_defer_free(&def);
		got = capture(q2, MAILQ_SENDMAIL, 1);
		exp = xasprintf(
		    "\t\t%s/mqueue (1 request)\n"
		    "-----Q-ID----- --Size-- -Priority- ---Q-Time--- --------Sender/Recipient--------\n"
		    "%s     1530      91530 Nov 28 05:14 <root@host.example.com>\n"
		    "                 (Deferred: " REASON_A ")\n"
		    "\t\t\t\t\t\t<alice@example.org>\n"
		    "\t\t\t\t\t\t<carol@example.org>\n"
		    "\t\tTotal requests: 1\n", q2, a2);
		is_str(got, exp, "mailq sendmail -v: one message");
		free(got);
		free(exp);
		got = capture(q2, MAILQ_POSTFIX, 0);
		exp = xasprintf(
		    "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n"
		    "%s        1530 Thu Nov 28 05:14:00 root@host.example.com\n"
		    "%salice@example.org\n"
		    "%s(" REASON_A ")\n"
		    "%scarol@example.org\n"
		    "\n"
		    "-- 1 Kbytes in 1 Request.\n", a2, s47, padA, s47);
		is_str(got, exp, "mailq postfix: reason only for the second recipient");
		free(got);
		free(exp);
		rm_rf(q2);
		free(q2);
	}
	{
		char *missing = xasprintf("%s/none", q);

		got = capture(missing, MAILQ_SENDMAIL, 0);
		is_str(got, "(mailq_print failed)", "mailq: missing queue directory fails");
		free(got);
		free(missing);
	}
	is_int(mailq_format_parse("sendmail"), MAILQ_SENDMAIL, "format_parse sendmail");
	is_int(mailq_format_parse("postfix"), MAILQ_POSTFIX, "format_parse postfix");
	is_int(mailq_format_parse("exim"), -1, "format_parse unknown");
	free(s47);
	free(padA);
	free(padU);
	free(junk);
	rm_rf(q);
	free(q);
}

int
main(void)
{
	log_disable_sinks();
	diag("qfile: format and parse");
	test_round_trip();
	test_senders_and_content();
	test_format_refusals();
	test_corruption();
	diag("queue: directories");
	test_queue_write();
	test_scan_stale_quarantine();
	test_defer_file();
	diag("mailq: listings");
	test_mailq();
	return done_testing();
}
