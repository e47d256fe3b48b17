/*
 * queue_cmd - "petrel queue show|list|delete|hold|release|requeue|help";
 * see queue_cmd.h.
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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mailq.h"
#include "pbuf.h"
#include "qfile.h"
#include "qmgr.h"
#include "queue.h"
#include "queue_cmd.h"
#include "xalloc.h"

#define QC_PROG		"petrel queue"
#define QC_ERRLEN	512
#define QC_TIME_LEN	64
#define QC_ARG_SHOW_MAX	64	/* of a bad ID echoed back */
#define QC_RACE_TRIES	5	/* looks for a message that moves while we act */
#define QC_LINE_MAX	256
#define QC_STDIN_MAX	10000000L	/* IDs read from stdin at most */

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
	    "       petrel queue delete|hold|release|requeue ID... | - | ALL [QUEUE...]\n"
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

/* ---- delete, hold, release, requeue (Postfix's postsuper -d, -h, -H, -r) ---- */

enum qc_op { QC_DELETE, QC_HOLD, QC_RELEASE, QC_REQUEUE };

static const struct qc_op_info {
	const char *verb;
	const char *done;	/* the summary, as postsuper words it */
	const char *logged;	/* the log line per message */
	const char *from[5];	/* the queues it takes messages from (ALL and named) */
	const char *to;		/* where they go (NULL: removed) */
} qc_ops[] = {
	[QC_DELETE] = { "delete", "Deleted", "removed",
		{ QDIR_HOLD, QDIR_INCOMING, QDIR_ACTIVE, QDIR_DEFERRED, NULL }, NULL },
	[QC_HOLD] = { "hold", "Placed on hold", "placed on hold",
		{ QDIR_INCOMING, QDIR_DEFERRED, NULL }, QDIR_HOLD },
	[QC_RELEASE] = { "release", "Released from hold", "released from hold",
		{ QDIR_HOLD, NULL }, QDIR_INCOMING },
	[QC_REQUEUE] = { "requeue", "Requeued", "requeued",
		{ QDIR_DEFERRED, NULL }, QDIR_INCOMING },
};

/* What one run did, for the summary and the exit status. */
struct qc_run {
	enum qc_op op;
	const char *qdir;
	long done;
	int failed;		/* a named message could not be handled */
};

static int
qc_op_takes_from(const struct qc_op_info *oi, const char *dir)
{
	size_t i;

	for (i = 0; oi->from[i] != NULL; i++)
		if (strcmp(oi->from[i], dir) == 0)
			return 1;
	return 0;
}

/*
 * Applies the run's operation to the message id found in dir: 1 done, 0
 * when it is gone from dir meanwhile (the queue manager moved it: look
 * again), -1 on an error (reported).
 */
static int
qc_apply_in(struct qc_run *r, const char *dir, const char *id)
{
	const struct qc_op_info *oi = &qc_ops[r->op];
	int rc;

	if (oi->to == NULL) {
		char *path = xasprintf("%s/%s/%s", r->qdir, dir, id);

		rc = unlink(path);
		free(path);
		if (rc == 0 && queue_defer_remove(r->qdir, id) < 0 && errno != ENOENT)
			fprintf(stderr, "%s: warning: %s: cannot remove its delay reasons: %s\n",
			    QC_PROG, id, strerror(errno));
	} else {
		rc = queue_move(r->qdir, dir, oi->to, id);
	}
	if (rc < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s: cannot %s it in %s/: %s\n", QC_PROG, id, oi->verb, dir,
		    strerror(errno));
		return -1;
	}
	/* A message held while in active/ would be written back there by the queue manager. */
	log_info("%s: %s", id, oi->logged);
	r->done++;
	return 1;
}

/*
 * One message by its ID: found wherever it is (it may move between a
 * look and the rename; bounded retries). A message being delivered
 * (active/) cannot be held or requeued: its delivery ends first, then
 * the command can be given again.
 */
static void
qc_apply_id(struct qc_run *r, const char *id)
{
	const struct qc_op_info *oi = &qc_ops[r->op];
	const char *where = NULL;
	int tries;

	if (!queue_id_valid(id)) {
		fprintf(stderr, "%s: \"", QC_PROG);
		qc_put_max(stderr, id, QC_ARG_SHOW_MAX);
		fputs("\" is not a queue ID\n", stderr);
		r->failed = 1;
		return;
	}
	for (tries = 0; tries < QC_RACE_TRIES; tries++) {
		int rc;

		where = queue_locate(r->qdir, id);
		if (where == NULL)
			break;
		if (!qc_op_takes_from(oi, where)) {
			fprintf(stderr, "%s: %s: %s\n", QC_PROG, id,
			    strcmp(where, QDIR_ACTIVE) == 0 ? "being delivered (active queue): "
			    "try again when it is deferred"
			    : r->op == QC_RELEASE ? "not in the hold queue"
			    : r->op == QC_HOLD && strcmp(where, QDIR_HOLD) == 0 ? "already on hold"
			    : "not in a queue this command handles");
			r->failed = 1;
			return;
		}
		rc = qc_apply_in(r, where, id);
		if (rc != 0) {
			if (rc < 0)
				r->failed = 1;
			return;
		}
	}
	fprintf(stderr, "%s: %s: no such message\n", QC_PROG, id);
	r->failed = 1;
}

static int
qc_apply_scanned(const char *subdir, const char *id, void *ctx)
{
	(void)qc_apply_in(ctx, subdir, id);
	return 0;
}

/* ALL, or ALL with queue names: every message in those queues. */
static int
qc_apply_all(struct qc_run *r, int argc, char **argv)
{
	const struct qc_op_info *oi = &qc_ops[r->op];
	int i;

	for (i = 0; i < argc; i++) {
		if (!qc_op_takes_from(oi, argv[i])) {
			fprintf(stderr, "%s: fatal: %s ALL: \"", QC_PROG, oi->verb);
			qc_put_max(stderr, argv[i], QC_ARG_SHOW_MAX);
			fputs("\" is not a queue it takes messages from\n", stderr);
			return EX_USAGE;
		}
	}
	for (i = 0; argc == 0 ? oi->from[i] != NULL : i < argc; i++) {
		const char *dir = argc == 0 ? oi->from[i] : argv[i];

		if (queue_scan(r->qdir, dir, qc_apply_scanned, r) < 0) {
			fprintf(stderr, "%s: cannot read %s/%s: %s\n", QC_PROG, r->qdir, dir,
			    strerror(errno));
			r->failed = 1;
		}
	}
	return 0;
}

/* IDs one per line on stdin (postsuper -d -): blank lines skipped. */
static void
qc_apply_stdin(struct qc_run *r)
{
	char line[QC_LINE_MAX];
	long n = 0;

	while (n++ < QC_STDIN_MAX && fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] != '\0')
			qc_apply_id(r, line);
	}
}

static int
qc_change(enum qc_op op, int argc, char **argv, const char *queue_dir)
{
	const struct qc_op_info *oi = &qc_ops[op];
	struct qc_run r = { op, queue_dir, 0, 0 };
	int i, rc = 0;

	if (argc < 3) {
		qc_usage(stderr);
		return EX_USAGE;
	}
	/* Each message is logged; the terminal gets the summary. */
	log_stderr_quiet(1);
	if (strcmp(argv[2], "ALL") == 0) {
		rc = qc_apply_all(&r, argc - 3, argv + 3);
	} else {
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "-") == 0)
				qc_apply_stdin(&r);
			else
				qc_apply_id(&r, argv[i]);
		}
	}
	if (rc != 0)
		return rc;
	if (r.done > 0 && oi->to != NULL && strcmp(oi->to, QDIR_INCOMING) == 0)
		qmgr_wake('W');
	fprintf(stderr, "%s: %s: %ld message%s\n", QC_PROG, oi->done, r.done, r.done == 1 ? "" : "s");
	return r.failed ? 1 : 0;
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
	for (size_t i = 0; i < sizeof(qc_ops) / sizeof(qc_ops[0]); i++)
		if (strcmp(argv[1], qc_ops[i].verb) == 0)
			return qc_change((enum qc_op)i, argc, argv, queue_dir);
	fprintf(stderr, "%s: fatal: unknown command \"", QC_PROG);
	qc_put_max(stderr, argv[1], QC_ARG_SHOW_MAX);
	fputs("\"\n", stderr);
	qc_usage(stderr);
	return EX_USAGE;
}
