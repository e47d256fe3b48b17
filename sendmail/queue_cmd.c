/*
 * queue_cmd - "petrel queue show|list|release|help"; see queue_cmd.h.
 *
 * show reads the file read-only wherever it is (the live state
 * directories, then corrupt/) and never changes it. Envelope values are
 * printed with non-printable bytes as \ooo (a value may hold any byte but
 * CR, LF and NUL, and a terminal should not interpret them); the content
 * is written exactly as stored.
 *
 * Errors go to stderr as "petrel queue: fatal: ..." with exit status 1;
 * usage errors exit 64 (EX_USAGE).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "mailq.h"
#include "pbuf.h"
#include "qfile.h"
#include "qmgr.h"
#include "queue.h"
#include "queue_cmd.h"

#define QC_PROG		"petrel queue"
#define QC_ERRLEN	512
#define QC_TIME_LEN	64
#define QC_ARG_SHOW_MAX	64	/* of a bad ID echoed back */

static const struct {
	unsigned bit;
	const char *name;
} qc_flags[] = {
	{ QF_EXTRACT_RCPT, "extract_recipients" },
	{ QF_RAW, "raw" },
	{ QF_8BITMIME, "8bitmime" },
	{ QF_SMTPUTF8, "smtputf8" },
	{ QF_FULLNAME_SET, "fullname_set" },
	{ QF_SENDER_SET, "sender_set" },
};

static void
qc_usage(FILE *out)
{
	fprintf(out,
	    "usage: petrel queue show ID\n"
	    "       petrel queue list [-p | -j] [-v]\n"
	    "       petrel queue release ID\n"
	    "       petrel queue help\n");
}

/* Writes s (at most max bytes of it) with non-printables and '\\' escaped. */
static void
qc_put_max(FILE *out, const char *s, size_t max)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p && max > 0; p++, max--) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\%03o", *p);
		else
			fputc(*p, out);
	}
}

static void
qc_put(FILE *out, const char *s)
{
	qc_put_max(out, s, SIZE_MAX);
}

static void
qc_field(FILE *out, const char *name, const char *value)
{
	fprintf(out, "%s: ", name);
	qc_put(out, value);
	fputc('\n', out);
}

static void
qc_notify(FILE *out, unsigned notify)
{
	static const struct {
		unsigned bit;
		const char *word;
	} words[] = {
		{ QN_NEVER, "NEVER" },
		{ QN_SUCCESS, "SUCCESS" },
		{ QN_FAILURE, "FAILURE" },
		{ QN_DELAY, "DELAY" },
	};
	size_t i;
	int first = 1;

	if (notify == 0) {
		fputs("-", out);
		return;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (notify & words[i].bit) {
			fprintf(out, "%s%s", first ? "" : ",", words[i].word);
			first = 0;
		}
	}
}

static void
qc_show_env(FILE *out, const char *dir, const struct qenv *e,
    const struct queue_defer *d)
{
	char when[QC_TIME_LEN];
	struct tm tm;
	time_t t = e->arrival.tv_sec;
	size_t i;

	fprintf(out, "queue_id: %s\n", e->id);
	fprintf(out, "queue: %s\n", dir);
	if (localtime_r(&t, &tm) == NULL
	    || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		when[0] = '\0';
	fprintf(out, "arrival: %s (%lld.%06ld)\n", when, (long long)t,
	    (long)e->arrival.tv_usec);
	if (e->sender == NULL)
		fputs("sender: (not given)\n", out);
	else {
		fputs("sender: <", out);
		qc_put(out, e->sender);
		fputs(">\n", out);
	}
	if (e->uid >= 0)
		fprintf(out, "uid: %ld\n", e->uid);
	else
		fputs("uid: (not given)\n", out);
	if (e->fullname)
		qc_field(out, "full_name", e->fullname);
	fputs("flags:", out);
	if (e->flags == 0)
		fputs(" -", out);
	for (i = 0; i < sizeof(qc_flags) / sizeof(qc_flags[0]); i++)
		if (e->flags & qc_flags[i].bit)
			fprintf(out, " %s", qc_flags[i].name);
	fputc('\n', out);
	if (e->ret == QRET_FULL)
		fputs("ret: FULL\n", out);
	else if (e->ret == QRET_HDRS)
		fputs("ret: HDRS\n", out);
	if (e->envid)
		qc_field(out, "envid", e->envid);
	for (i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *r = &e->rcpt[i];
		const struct queue_defer_entry *ent = queue_defer_find(d, r->addr);

		fputs("recipient: <", out);
		qc_put(out, r->addr);
		fprintf(out, "> state=%s notify=", r->state == QR_DONE ? "done" : "todo");
		qc_notify(out, r->notify);
		fputs(" orcpt=", out);
		qc_put(out, r->orcpt ? r->orcpt : "-");
		fputc('\n', out);
		if (ent) {
			fputs("    delayed: ", out);
			qc_put(out, ent->status);
			fputc(' ', out);
			qc_put(out, ent->reason);
			fputc('\n', out);
		}
	}
	for (i = 0; i < e->nattr; i++) {
		fputs("attribute: ", out);
		qc_put(out, e->attr[i].name);
		fputc('=', out);
		qc_put(out, e->attr[i].value);
		fputc('\n', out);
	}
	fprintf(out, "size: %zu\n", e->data_len);
}

static int
qc_show(const char *queue_dir, const char *id)
{
	char err[QC_ERRLEN];
	struct pbuf content = PBUF_INIT;
	struct queue_defer d;
	struct qenv e;
	enum qfile_status rc;
	const char *dir;

	dir = queue_locate(queue_dir, id);
	if (dir == NULL && queue_id_valid(id)) {
		struct stat st;
		char path[QC_ERRLEN];

		snprintf(path, sizeof(path), "%s/%s/%s", queue_dir, QDIR_CORRUPT, id);
		if (lstat(path, &st) == 0)
			dir = QDIR_CORRUPT;
	}
	if (dir == NULL) {
		fprintf(stderr, "%s: fatal: no queue file for ", QC_PROG);
		qc_put_max(stderr, id, QC_ARG_SHOW_MAX);
		fputc('\n', stderr);
		return 1;
	}
	rc = queue_read(queue_dir, dir, id, &e, &content, err, sizeof(err));
	if (rc == QFILE_CORRUPT) {
		fprintf(stderr, "%s: fatal: %s: corrupt queue file: %s\n", QC_PROG, id, err);
		pbuf_free(&content);
		return 1;
	}
	if (rc != QFILE_OK) {
		fprintf(stderr, "%s: fatal: %s\n", QC_PROG, err);
		pbuf_free(&content);
		return 1;
	}
	queue_defer_init(&d);
	(void)queue_defer_read(queue_dir, id, &d);
	qc_show_env(stdout, dir, &e, &d);
	fputc('\n', stdout);
	fwrite(content.data ? content.data : "", 1, content.len, stdout);
	queue_defer_free(&d);
	qenv_free(&e);
	pbuf_free(&content);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s: fatal: write error: %s\n", QC_PROG, strerror(errno));
		return 1;
	}
	return 0;
}

static int
qc_list(int argc, char **argv, const char *queue_dir)
{
	enum mailq_format fmt = MAILQ_SENDMAIL;
	int verbose = 0, i;
	const char *p;

	for (i = 2; i < argc; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			qc_usage(stderr);
			return EX_USAGE;
		}
		for (p = argv[i] + 1; *p; p++) {
			switch (*p) {
			case 'p':
				fmt = MAILQ_POSTFIX;
				break;
			case 'j':
				fmt = MAILQ_JSON;
				break;
			case 'v':
				verbose = 1;
				break;
			default:
				qc_usage(stderr);
				return EX_USAGE;
			}
		}
	}
	if (mailq_print(stdout, queue_dir, fmt, verbose) < 0) {
		fprintf(stderr, "%s: fatal: cannot read the queue %s: %s\n", QC_PROG,
		    queue_dir, strerror(errno));
		return 1;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s: fatal: write error: %s\n", QC_PROG, strerror(errno));
		return 1;
	}
	return 0;
}

/* Moves a held message (hold/) to incoming/ and wakes the queue manager. */
static int
qc_release(const char *queue_dir, const char *id)
{
	const char *where;

	if (!queue_id_valid(id)) {
		fprintf(stderr, "%s: fatal: \"", QC_PROG);
		qc_put_max(stderr, id, QC_ARG_SHOW_MAX);
		fputs("\" is not a queue ID\n", stderr);
		return 1;
	}
	where = queue_locate(queue_dir, id);
	if (where == NULL || strcmp(where, QDIR_HOLD) != 0) {
		fprintf(stderr, "%s: fatal: %s: %s\n", QC_PROG, id,
		    where ? "not in the hold queue" : "no such message");
		return 1;
	}
	if (queue_move(queue_dir, QDIR_HOLD, QDIR_INCOMING, id) < 0) {
		fprintf(stderr, "%s: fatal: %s: cannot move to %s: %s\n", QC_PROG, id,
		    QDIR_INCOMING, strerror(errno));
		return 1;
	}
	qmgr_wake('W');
	printf("%s: released from hold\n", id);
	return 0;
}

int
queue_cmd_main(int argc, char **argv, const char *queue_dir)
{
	if (argc < 2) {
		qc_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "help") == 0) {
		qc_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "show") == 0) {
		if (argc != 3) {
			qc_usage(stderr);
			return EX_USAGE;
		}
		return qc_show(queue_dir, argv[2]);
	}
	if (strcmp(argv[1], "list") == 0)
		return qc_list(argc, argv, queue_dir);
	if (strcmp(argv[1], "release") == 0) {
		if (argc != 3) {
			qc_usage(stderr);
			return EX_USAGE;
		}
		return qc_release(queue_dir, argv[2]);
	}
	fprintf(stderr, "%s: fatal: unknown command \"", QC_PROG);
	qc_put_max(stderr, argv[1], QC_ARG_SHOW_MAX);
	fputs("\"\n", stderr);
	qc_usage(stderr);
	return EX_USAGE;
}
