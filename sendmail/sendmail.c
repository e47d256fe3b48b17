/*
 * sendmail - the front end: /usr/sbin/sendmail, mailq, newaliases.
 *
 * The command-line contract is spec/sendmail-cli.md; the numbers in the
 * comments below are its sections. In short:
 *   - the mode comes from the basename of argv[0] (mailq = -bp,
 *     newaliases = -bi), options override it;
 *   - options are parsed the 4.3BSD getopt way: no permutation, parsing
 *     stops at the first non-option and at "--"; every letter any Sendmail
 *     accepted is accepted (most are ignored), others exit 64;
 *   - in delivery mode the message is read, then handed to the daemon
 *     over the submission socket or, when no daemon answers, written to
 *     maildrop/ through the set-gid bit; exit 0 only once it is durable.
 *
 * Exit codes are sysexits(3) per §9: 64 usage, 65 unreadable input, 69 too
 * big, 75 temporary (queue unwritable, configuration broken), 77 not
 * allowed. Diagnostics go to stderr; stdout stays silent when submitting.
 *
 * Privilege: the program may be set-gid setgid_group (never set-uid). A
 * non-default configuration from an unprivileged caller keeps that
 * privilege only when the default main.cf lists the directory in
 * alternate_config_directories; otherwise it is dropped before the
 * configuration is read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "cleanup_hook.h"
#include "conf.h"
#include "fileio.h"
#include "header.h"
#include "instance.h"
#include "local.h"
#include "log.h"
#include "mailq.h"
#include "msg_input.h"
#include "pbuf.h"
#include "pickup.h"
#include "qmgr.h"
#include "showq.h"
#include "qfile.h"
#include "queue.h"
#include "strv.h"
#include "smtpd.h"
#include "submit.h"
#include "user.h"
#include "xalloc.h"

#define SENDMAIL_PROG		"sendmail"
#define MAILDROP_FILE_MODE	0444
#define ENVID_MAX		100


/* Option letters that take a value (Sendmail's OPTIONS string, §2.2). */
#define OPTS_WITH_VALUE		"ABbCDdeFfhLMNOopQqRrVX"
/* Letters taken without a value, each accepted. */
#define OPTS_PLAIN		"cGIimnstUvxEJTj"

enum sm_mode {
	MODE_DELIVER,		/* -bm, the default */
	MODE_SMTP,		/* -bs */
	MODE_DAEMON,		/* -bd, -bl */
	MODE_DAEMON_FG,		/* -bD */
	MODE_PRINT,		/* -bp, mailq */
	MODE_COUNT,		/* -bP */
	MODE_NEWALIASES,	/* -bi, -I, newaliases */
	MODE_VERIFY,		/* -bv */
	MODE_TEST,		/* -bt */
	MODE_CHECK,		/* -bC */
	MODE_NOOP,		/* -bh, -bH */
};

enum sm_queue_run {
	QRUN_NONE,
	QRUN_ONCE,		/* -q, -qI..., -qR..., -qS... */
	QRUN_FOREGROUND,	/* -qf */
	QRUN_INTERVAL,		/* -q30m */
	QRUN_IGNORED,		/* -qG, -qp, -qQ, -qL */
};

struct sm_opts {
	enum sm_mode mode;
	int mode_given;
	enum sm_queue_run qrun;
	int extract;		/* -t */
	int ignore_dots;	/* -i, -oi */
	int verbose;
	int quiet;		/* -oeq */
	int always_ok;		/* -oee */
	int body_8bit;		/* -B8BITMIME */
	const char *sender;	/* -f/-r, NULL = not given */
	const char *fullname;	/* -F */
	const char *config;	/* -C */
	const char *alias_db;	/* -oA */
	const char *envid;	/* -V */
	int ret;		/* -R */
	unsigned notify;	/* -N */
	int json;		/* mailq -j */
	char **rcpt_args;
	int nrcpt_args;
};

static const char *sm_prog = SENDMAIL_PROG;

#ifdef PETREL_SANITIZERS
/*
 * LeakSanitizer cannot inspect a process whose real and effective ids
 * differ (the kernel refuses it ptrace): leak checks are off for a
 * set-gid run of the front end, and only for it.
 */
static int sm_started_setid;
int __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return sm_started_setid;
}
#endif

__attribute__((noreturn, format(printf, 2, 3)))
static void
sm_exit(int status, const char *fmt, ...)
{
	va_list ap;
	char text[1024];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_set_fatal_status(status);
	log_fatal("%s", text);
}

static void
sm_usage(const char *why)
{
	log_set_fatal_status(EX_USAGE);
	log_fatal("%s", why);
}

static void
sm_set_mode(struct sm_opts *o, enum sm_mode m)
{
	o->mode = m;
	o->mode_given = 1;
}

static void
sm_opt_b(struct sm_opts *o, const char *v)
{
	/* Like Sendmail, only the first letter counts. */
	switch (v[0]) {
	case 'm':
	case 'a':
		sm_set_mode(o, MODE_DELIVER);
		break;
	case 's':
		sm_set_mode(o, MODE_SMTP);
		break;
	case 'd':
	case 'l':
		sm_set_mode(o, MODE_DAEMON);
		break;
	case 'D':
		sm_set_mode(o, MODE_DAEMON_FG);
		break;
	case 'p':
		sm_set_mode(o, MODE_PRINT);
		break;
	case 'P':
		sm_set_mode(o, MODE_COUNT);
		break;
	case 'i':
		sm_set_mode(o, MODE_NEWALIASES);
		break;
	case 'v':
		sm_set_mode(o, MODE_VERIFY);
		break;
	case 't':
		sm_set_mode(o, MODE_TEST);
		break;
	case 'C':
		sm_set_mode(o, MODE_CHECK);
		break;
	case 'h':
	case 'H':
		sm_set_mode(o, MODE_NOOP);
		break;
	default:
		sm_usage(xasprintf("invalid operation mode %s", v));
	}
}

static unsigned
sm_parse_notify(const char *v)
{
	struct strv words = STRV_INIT;
	unsigned bits = 0;
	size_t i;

	strv_split(&words, v, ",");
	for (i = 0; i < words.n; i++) {
		if (strcasecmp(words.v[i], "never") == 0 && words.n == 1)
			bits |= QN_NEVER;
		else if (strcasecmp(words.v[i], "success") == 0)
			bits |= QN_SUCCESS;
		else if (strcasecmp(words.v[i], "failure") == 0)
			bits |= QN_FAILURE;
		else if (strcasecmp(words.v[i], "delay") == 0)
			bits |= QN_DELAY;
		else {
			bits = 0;
			break;
		}
	}
	strv_free(&words);
	if (bits == 0)
		log_warn("bad -N option value \"%s\" ignored: use never or success,failure,delay", v);
	return bits;
}

static int
sm_envid_ok(const char *v)
{
	const unsigned char *p;

	if (strlen(v) > ENVID_MAX || *v == '\0')
		return 0;
	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
			return 0;
	return 1;
}

static void
sm_opt_o(struct sm_opts *o, const char *v)
{
	switch (v[0]) {
	case 'i':
		o->ignore_dots = 1;
		break;
	case 'e':
		if (v[1] == 'q')
			o->quiet = 1;
		else if (v[1] == 'e')
			o->always_ok = 1;
		break;
	case 'A':
		if (v[1] == '\0')
			sm_usage("-oA requires pathname");
		o->alias_db = v + 1;
		break;
	default:
		/* -od*, -om, -o7, -o8, -oL, -or, -oQ (never honoured), ...: §5.1 */
		break;
	}
}

static void
sm_opt_q(struct sm_opts *o, const char *v)
{
	if (v == NULL || *v == '\0') {
		o->qrun = QRUN_ONCE;
		return;
	}
	switch (v[0]) {
	case 'f':
		o->qrun = QRUN_FOREGROUND;
		return;
	case 'I':
	case 'R':
	case 'S':
	case '!':
		o->qrun = QRUN_ONCE;
		return;
	case 'G':
	case 'p':
	case 'Q':
	case 'L':
		o->qrun = QRUN_IGNORED;
		return;
	default:
		if (conf_parse_time(v, 'm') < 0 && strspn(v, "0123456789smhdw") != strlen(v))
			sm_usage(xasprintf("bad queue run interval -q%s", v));
		o->qrun = v[0] == '0' && v[1] == '\0' ? QRUN_ONCE : QRUN_INTERVAL;
		return;
	}
}

/* One option letter with its value (NULL for plain letters). */
static void
sm_option(struct sm_opts *o, int c, const char *v)
{
	switch (c) {
	case 'b':
		sm_opt_b(o, v);
		break;
	case 'B':
		if (strcasecmp(v, "8BITMIME") == 0)
			o->body_8bit = 1;
		else if (strcasecmp(v, "7BIT") == 0)
			o->body_8bit = 0;
		else
			log_warn("-B option needs 8BITMIME or 7BIT; \"%s\" ignored", v);
		break;
	case 'C':
		o->config = v;
		break;
	case 'd':
		if (strncmp(v, "0.1", 3) == 0 || strcmp(v, "0") == 0)
			printf("Version Petrel %s\n", PACKAGE_VERSION);
		break;
	case 'F':
		o->fullname = v;
		break;
	case 'f':
	case 'r':
		o->sender = v;
		break;
	case 'I':
		sm_set_mode(o, MODE_NEWALIASES);
		break;
	case 'j':
		o->json = 1;	/* mailq -j / sendmail -bp -j: JSON lines */
		break;
	case 'i':
		o->ignore_dots = 1;
		break;
	case 'L':
		log_init(v);
		break;
	case 'N':
		o->notify = sm_parse_notify(v);
		break;
	case 'n':
		log_warn("-n option ignored: aliases are always expanded");
		break;
	case 'o':
		sm_opt_o(o, v);
		break;
	case 'q':
		sm_opt_q(o, v);
		break;
	case 'R':
		if (strcasecmp(v, "full") == 0)
			o->ret = QRET_FULL;
		else if (strcasecmp(v, "hdrs") == 0)
			o->ret = QRET_HDRS;
		else
			log_warn("bad -R option value \"%s\" ignored: use full or hdrs", v);
		break;
	case 't':
		o->extract = 1;
		break;
	case 'V':
		if (sm_envid_ok(v))
			o->envid = v;
		else
			log_warn("bad -V ENVID \"%s\" ignored", v);
		break;
	case 'v':
		o->verbose++;
		break;
	default:
		/* A D e h M O p Q X and c G m s U x E J T: accepted, no effect (§4). */
		break;
	}
}

/*
 * 4.3BSD-getopt parsing without permutation (§2). Returns the index of the
 * first recipient argument.
 */
static int
sm_parse_args(struct sm_opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t j;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		/* Bare -q means "run once", never "-q <next word>" (§2.3). */
		if (strcmp(a, "-q") == 0) {
			sm_opt_q(o, NULL);
			continue;
		}
		/* Sendmail's obsolete(): bare -C, -d, -Q before an option take no value. */
		if ((strcmp(a, "-C") == 0 || strcmp(a, "-d") == 0 || strcmp(a, "-Q") == 0)
		    && (i + 1 >= argc || argv[i + 1][0] == '-'))
			continue;
		for (j = 1; a[j]; j++) {
			int c = (unsigned char)a[j];

			if (strchr(OPTS_WITH_VALUE, c)) {
				const char *v;

				if (a[j + 1])
					v = a + j + 1;
				else if (i + 1 < argc)
					v = argv[++i];
				else
					sm_usage(xasprintf("option requires an argument -- %c", c));
				sm_option(o, c, v);
				break;
			}
			if (strchr(OPTS_PLAIN, c) == NULL)
				sm_usage(xasprintf("illegal option -- %c", c));
			sm_option(o, c, NULL);
		}
	}
	return i;
}

/*
 * A set-gid caller that names another configuration keeps the privilege
 * only when the default main.cf lists that directory (DESIGN.md).
 */
static void
sm_check_config_privilege(const char *config_arg)
{
	char *dir, *dflt, err[512];
	struct strv alt = STRV_INIT;
	int allowed = 0;

	if (getegid() == getgid() && geteuid() == getuid())
		return;
	dir = conf_find_dir(config_arg);
	dflt = xstrdup(conf_default_dir());
	if (strcmp(dir, dflt) != 0) {
		if (conf_load(dflt, err, sizeof(err)) == 0) {
			conf_list("alternate_config_directories", &alt);
			allowed = strv_find(&alt, dir, 0) >= 0;
		}
		if (!allowed && (setgid(getgid()) < 0 || setuid(getuid()) < 0))
			sm_exit(EX_TEMPFAIL, "cannot drop set-id privileges: %m");
	}
	strv_free(&alt);
	free(dir);
	free(dflt);
}

static void
sm_load_config(const char *config_arg)
{
	char err[1024];

	sm_check_config_privilege(config_arg);
	if (instance_load(config_arg, err, sizeof(err)) < 0) {
		log_set_fatal_status(EX_TEMPFAIL);
		log_fatal("%s", err);
	}
}

/* Counts -t recipients in the primary headers, honouring the Resent- rule (§7). */
static size_t
sm_count_header_rcpts(const struct pbuf *msg)
{
	static const char *const plain[] = { "To", "Cc", "Bcc", NULL };
	static const char *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc", NULL };
	const char *const *names = plain;
	struct headers h;
	struct strv addrs = STRV_INIT;
	struct pbuf val = PBUF_INIT;
	size_t i, k, n;

	headers_init(&h);
	headers_parse(pbuf_str(msg), msg->len, &h);
	for (i = 0; i < h.n; i++)
		for (k = 0; resent[k]; k++)
			if (header_is(&h.v[i], resent[k]))
				names = resent;
	for (i = 0; i < h.n; i++)
		for (k = 0; names[k]; k++)
			if (header_is(&h.v[i], names[k])) {
				pbuf_reset(&val);
				header_value(&h.v[i], &val);
				addr_parse_list(pbuf_str(&val), val.len, &addrs, NULL);
			}
	n = addrs.n;
	strv_free(&addrs);
	pbuf_free(&val);
	headers_free(&h);
	return n;
}

/* Writes the raw submission to maildrop/ (daemon down or unreachable). */
static void
sm_maildrop(struct qenv *env, const struct pbuf *msg, int verbose)
{
	char err[1024];

	if (queue_write(instance_queue_dir(), QDIR_MAILDROP, env, pbuf_str(msg), msg->len,
	    MAILDROP_FILE_MODE, err, sizeof(err)) < 0) {
		if (errno == ENOSPC || errno == EDQUOT)
			sm_exit(EX_TEMPFAIL, "queue file write error: %s", err);
		if (errno == EACCES || errno == EPERM)
			sm_exit(EX_TEMPFAIL, "cannot write the queue (the daemon is not"
			    " running and this program lacks its set-gid %s privilege): %s",
			    conf_str("setgid_group"), err);
		sm_exit(EX_TEMPFAIL, "queue file write error: %s", err);
	}
	if (verbose)
		log_info("Mail queued as %s (maildrop; the daemon is not running)", env->id);
}

/*
 * -bs: one message of the SMTP session on stdin/stdout, queued as a local
 * submission by the invoking user: through the daemon's socket, or into
 * maildrop/ when no daemon answers (cleanup fixes the headers later, as
 * for any local submission).
 */
static int
sm_smtp_queue(struct qenv *env, const char *content, size_t len, char *qid,
    char *reply, size_t replylen)
{
	struct pbuf payload = PBUF_INIT;
	char err[1024], refusal[SUBMIT_REPLY_MAX];
	int status = 0, code = 0;

	env->flags |= QF_RAW | QF_SENDER_SET;
	env->uid = (long)getuid();
	if (qfile_format(env, content, len, &payload, err, sizeof(err)) < 0) {
		snprintf(reply, replylen, "554 5.5.4 %s", err);
		pbuf_free(&payload);
		return 554;
	}
	switch (submit_send(payload.data, payload.len, qid, &status, refusal, sizeof(refusal))) {
	case SUBMIT_QUEUED:
		break;
	case SUBMIT_REFUSED:
		code = status == EX_TEMPFAIL ? 451 : 554;
		snprintf(reply, replylen, "%d %s %s", code, code == 451 ? "4.3.0" : "5.7.1", refusal);
		break;
	case SUBMIT_UNAVAILABLE:
		if (queue_write(instance_queue_dir(), QDIR_MAILDROP, env, content, len,
		    MAILDROP_FILE_MODE, err, sizeof(err)) < 0) {
			log_warn("-bs: cannot queue: %s", err);
			code = 452;
			snprintf(reply, replylen, "452 4.3.1 Insufficient system storage");
		} else {
			snprintf(qid, QID_LEN + 1, "%s", env->id);
		}
		break;
	}
	pbuf_free(&payload);
	return code;
}

static int
sm_smtp(void)
{
	struct smtpd_client client;
	struct user_info user;

	user_lookup_uid((long)getuid(), &user);
	if (!pickup_submit_allowed(user.login))
		sm_exit(EX_NOPERM, "User %s(%ld) is not allowed to submit mail",
		    user.login, user.uid);
	user_info_free(&user);
	memset(&client, 0, sizeof(client));
	snprintf(client.addr, sizeof(client.addr), "127.0.0.1");
	snprintf(client.name, sizeof(client.name), "localhost");
	/* The conversation owns stdout; diagnostics go to the log only. */
	log_to_stderr(NULL);
	log_init("sendmail");
	smtpd_set_queue_fn(sm_smtp_queue);
	return smtpd_session(STDIN_FILENO, STDOUT_FILENO, &client);
}

static int
sm_deliver(struct sm_opts *o, int argc, char **argv)
{
	struct msg_input in;
	struct pbuf msg = PBUF_INIT, payload = PBUF_INIT;
	struct strv rcpts = STRV_INIT;
	struct user_info user;
	struct qenv env;
	char err[1024], qid[QID_LEN + 1], refusal[SUBMIT_REPLY_MAX];
	const char *bad_arg = NULL;
	size_t limit = (size_t)conf_int("message_size_limit");
	int eol, status = 0, i;
	enum msg_input_status rs;

	user_lookup_uid((long)getuid(), &user);
	if (!pickup_submit_allowed(user.login))
		sm_exit(EX_NOPERM, "User %s(%ld) is not allowed to submit mail",
		    user.login, user.uid);
	eol = msg_input_eol_mode(conf_str("sendmail_fix_line_endings"));
	if (eol < 0) {
		log_warn("bad sendmail_fix_line_endings value \"%s\": using \"always\"",
		    conf_str("sendmail_fix_line_endings"));
		eol = MSG_EOL_ALWAYS;
	}
	msg_input_init(&in, o->ignore_dots, (enum msg_eol_mode)eol, limit);
	rs = msg_input_read_fd(&in, STDIN_FILENO, &msg);
	msg_input_free(&in);
	if (rs == MSG_INPUT_READ_ERROR)
		sm_exit(EX_DATAERR, "%s(%ld): error reading input: %m", user.login, user.uid);
	if (rs == MSG_INPUT_TOO_BIG)
		sm_exit(EX_UNAVAILABLE, "%s(%ld): message file too big",
		    user.login, user.uid);

	for (i = 0; i < argc; i++) {
		size_t bad = 0, got = addr_parse_list(argv[i], strlen(argv[i]), &rcpts, &bad);

		if (got == 0 || bad)
			bad_arg = argv[i];
	}
	if (bad_arg && rcpts.n == 0 && !o->extract)
		sm_exit(EX_USAGE, "bad recipient address: \"%s\"", bad_arg);
	if (bad_arg)
		log_warn("bad recipient address \"%s\" ignored", bad_arg);
	if (rcpts.n == 0 && !o->extract)
		sm_exit(EX_USAGE, "%s(%ld): Recipient addresses must be specified on"
		    " the command line or via the -t option", user.login, user.uid);
	if (rcpts.n == 0 && o->extract && sm_count_header_rcpts(&msg) == 0)
		sm_exit(EX_USAGE, "%s(%ld): No recipient addresses found in message header",
		    user.login, user.uid);

	qenv_init(&env);
	gettimeofday(&env.arrival, NULL);
	env.flags = QF_RAW;
	if (o->extract)
		env.flags |= QF_EXTRACT_RCPT;
	if (o->body_8bit)
		env.flags |= QF_8BITMIME;
	if (o->sender) {
		char *s = addr_strip_brackets(o->sender);

		env.flags |= QF_SENDER_SET;
		qenv_set_sender(&env, s);
		free(s);
	}
	if (o->fullname || getenv("NAME")) {
		env.flags |= QF_FULLNAME_SET;
		env.fullname = xstrdup(o->fullname ? o->fullname : getenv("NAME"));
	}
	env.uid = (long)getuid();
	env.ret = o->ret;
	if (o->envid)
		env.envid = xstrdup(o->envid);
	for (i = 0; i < (int)rcpts.n; i++)
		qenv_add_rcpt(&env, rcpts.v[i], o->notify, NULL);

	if (qfile_format(&env, pbuf_str(&msg), msg.len, &payload, err, sizeof(err)) < 0)
		sm_exit(EX_USAGE, "%s", err);
	switch (submit_send(payload.data, payload.len, qid, &status, refusal, sizeof(refusal))) {
	case SUBMIT_QUEUED:
		if (o->verbose)
			log_info("Mail queued as %s", qid);
		status = 0;
		break;
	case SUBMIT_REFUSED:
		if (!o->always_ok || status == EX_TEMPFAIL)
			sm_exit(status, "%s", refusal);
		log_error("%s", refusal);
		break;
	case SUBMIT_UNAVAILABLE:
		sm_maildrop(&env, &msg, o->verbose);
		status = 0;
		break;
	}
	qenv_free(&env);
	pbuf_free(&payload);
	pbuf_free(&msg);
	strv_free(&rcpts);
	user_info_free(&user);
	return status;
}

/*
 * -bv (§3): how each address resolves, one Sendmail-style line per final
 * destination on stdout ("root... deliverable: mailer local, user root",
 * "nosuch... User unknown"); no message is read, nothing is delivered or
 * queued. Exit 0 when every address is deliverable, EX_NOUSER when one is
 * not (an unparsable argument included), EX_TEMPFAIL when one could not
 * be checked now (an unreadable alias map) and none failed.
 *
 * Like Sendmail's PrivacyOptions=restrictexpand, a caller other than root
 * verifies with its own rights: the set-gid privilege is given up first,
 * so only .forward and :include: files it may read are looked into.
 */
static int
sm_verify(struct sm_opts *o)
{
	struct strv addrs = STRV_INIT, lines = STRV_INIT;
	const char *origin = conf_str("myorigin");
	const char *bad_arg = NULL;
	int i, nouser = 0, tempfail = 0;
	size_t k, first;

	if (getegid() != getgid() && setresgid(getgid(), getgid(), getgid()) < 0)
		sm_exit(EX_TEMPFAIL, "cannot drop the set-gid privilege: %m");
	for (i = 0; i < o->nrcpt_args; i++) {
		size_t bad = 0;

		if (addr_parse_list(o->rcpt_args[i], strlen(o->rcpt_args[i]), &addrs, &bad) == 0
		    || bad)
			bad_arg = o->rcpt_args[i];
	}
	if (addrs.n == 0)
		sm_exit(EX_USAGE, "bad recipient address: \"%s\"", bad_arg ? bad_arg : "");
	strv_free(&addrs);
	/* Argument by argument, so that the lines follow the command line. */
	for (i = 0; i < o->nrcpt_args; i++) {
		size_t bad = 0;

		first = addrs.n;
		addr_parse_list(o->rcpt_args[i], strlen(o->rcpt_args[i]), &addrs, &bad);
		if (addrs.n == first || bad) {
			printf("%s... bad address syntax\n", o->rcpt_args[i]);
			nouser = 1;
		}
		for (k = first; k < addrs.n; k++) {
			char *q = addr_qualify(addrs.v[k], origin);
			size_t l;

			switch (local_verify(q, addrs.v[k], &lines)) {
			case LOCAL_SENT:
				break;
			case LOCAL_BOUNCE:
				nouser = 1;
				break;
			case LOCAL_DEFER:
				tempfail = 1;
				break;
			}
			for (l = 0; l < lines.n; l++)
				printf("%s\n", lines.v[l]);
			strv_free(&lines);
			free(q);
		}
	}
	strv_free(&addrs);
	if (fflush(stdout) != 0 || ferror(stdout))
		sm_exit(EX_IOERR, "error writing the report: %m");
	return nouser ? EX_NOUSER : tempfail ? EX_TEMPFAIL : 0;
}

/*
 * Asks the daemon's showq service. Returns 0 when the daemon answered,
 * -1 when it is down.
 */
static int
sm_showq_request(const char *request)
{
	char buf[65536];
	ssize_t n;
	int fd = instance_connect(QUEUE_SHOWQ_SOCKET);

	if (fd < 0)
		return -1;
	if (fileio_write_all(fd, request, strlen(request)) < 0) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	fflush(stdout);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fileio_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			break;
	close(fd);
	return n < 0 ? -1 : 0;
}

static int
sm_mailq(struct sm_opts *o)
{
	char request[SHOWQ_REQUEST_MAX], who[USER_WHO_MAX];
	int fmt;

	if (!user_self_queue_authorized("authorized_mailq_users", who, sizeof(who)))
		sm_exit(EX_NOPERM, "User %s is not allowed to view the mail queue", who);
	if (o->json)
		fmt = MAILQ_JSON;
	else if ((fmt = mailq_format_parse(conf_str("mailq_output_format"))) < 0) {
		log_warn("bad mailq_output_format \"%s\": using sendmail",
		    conf_str("mailq_output_format"));
		fmt = MAILQ_SENDMAIL;
	}
	snprintf(request, sizeof(request), "mailq %d %d\n", fmt, o->verbose ? 1 : 0);
	if (sm_showq_request(request) == 0)
		return 0;
	if (!instance_is_admin())
		sm_exit(EX_UNAVAILABLE, "Queue report unavailable - mail system is down");
	log_warn("Mail system is down -- accessing queue directly");
	if (mailq_print(stdout, instance_queue_dir(), (enum mailq_format)fmt, o->verbose) < 0)
		sm_exit(EX_TEMPFAIL, "cannot read the queue %s: %m", instance_queue_dir());
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* The flush matrix of DESIGN.md. */
static int
sm_queue_run(struct sm_opts *o)
{
	char who[USER_WHO_MAX];

	if (!user_self_queue_authorized("authorized_flush_users", who, sizeof(who)))
		sm_exit(EX_NOPERM, "User %s is not allowed to flush the mail queue", who);
	if (o->qrun == QRUN_ONCE && sm_showq_request("flush\n") == 0)
		return 0;
	if (!instance_is_admin()) {
		if (o->qrun == QRUN_FOREGROUND)
			sm_exit(EX_NOPERM, "only the superuser may run the queue in the foreground");
		sm_exit(EX_UNAVAILABLE, "Cannot flush mail queue - mail system is down");
	}
	/* Delivers in the foreground (qmgr.c: root only for local delivery). */
	queue_set_message_hook(cleanup_hook_message);
	return qmgr_run_once(1);
}

/* -bd / -bD / smtpd: hand over to the control command. */
static int
sm_daemon(struct sm_opts *o)
{
	char *petrel = xasprintf("%s/petrel", conf_str("command_directory"));
	char *cdir = xstrdup(conf_dir());
	char *args[6];
	int n = 0;

	args[n++] = petrel;
	args[n++] = "-c";
	args[n++] = cdir;
	args[n++] = o->mode == MODE_DAEMON_FG ? "start-fg" : "start";
	args[n] = NULL;
	execv(petrel, args);
	sm_exit(EX_UNAVAILABLE, "cannot run %s: %m", petrel);
}

int
main(int argc, char **argv)
{
	struct sm_opts o;
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int first;

	memset(&o, 0, sizeof(o));
#ifdef PETREL_SANITIZERS
	sm_started_setid = getegid() != getgid() || geteuid() != getuid();
#endif
	log_init(SENDMAIL_PROG);
	if (strcmp(base, "mailq") == 0) {
		sm_prog = "mailq";
		o.mode = MODE_PRINT;
	} else if (strcmp(base, "newaliases") == 0) {
		sm_prog = "newaliases";
		o.mode = MODE_NEWALIASES;
	} else if (strcmp(base, "smtpd") == 0) {
		o.mode = MODE_DAEMON;
	} else if (strcmp(base, "hoststat") == 0 || strcmp(base, "purgestat") == 0) {
		return 0;
	}
	log_to_stderr(sm_prog);
	log_set_fatal_status(EX_USAGE);

	first = sm_parse_args(&o, argc, argv);
	if (o.quiet)
		log_stderr_quiet(1);
	o.rcpt_args = argv + first;
	o.nrcpt_args = argc - first;

	if (o.extract && o.mode != MODE_DELIVER)
		sm_usage("-t can be used only in delivery mode");
	if (o.mode == MODE_VERIFY && o.nrcpt_args == 0)
		sm_usage("-bv requires at least one recipient address");
	if (o.json && o.mode != MODE_PRINT)
		sm_usage("-j can be used only with -bp (mailq)");
	if (o.qrun == QRUN_INTERVAL && o.mode != MODE_DAEMON && o.mode != MODE_DAEMON_FG)
		return 0;	/* Postfix: -q30m alone does nothing (§5.2) */
	if (o.qrun == QRUN_IGNORED)
		return 0;
	if (o.mode == MODE_NOOP)
		return 0;
	if (o.qrun != QRUN_NONE && o.mode != MODE_DELIVER && o.mode != MODE_DAEMON
	    && o.mode != MODE_DAEMON_FG)
		o.qrun = QRUN_NONE;	/* mailq -qR...: the listing is not filtered */
	if (o.nrcpt_args > 0 && (o.qrun != QRUN_NONE || (o.mode != MODE_DELIVER
	    && o.mode != MODE_VERIFY && o.mode != MODE_TEST)))
		sm_usage(o.qrun != QRUN_NONE ? "flush queue mode requires no recipient"
		    : o.mode == MODE_DAEMON || o.mode == MODE_DAEMON_FG
		    ? "daemon mode requires no recipient"
		    : o.mode == MODE_NEWALIASES ? "alias rebuild mode requires no recipient"
		    : "display queue mode requires no recipient");

	sm_load_config(o.config);
	log_set_fatal_status(EX_TEMPFAIL);

	if (o.qrun != QRUN_NONE && o.mode != MODE_DAEMON && o.mode != MODE_DAEMON_FG)
		return sm_queue_run(&o);
	switch (o.mode) {
	case MODE_DELIVER: {
		int status = sm_deliver(&o, o.nrcpt_args, o.rcpt_args);

		/* -oee hides a rejection, never a message that was not queued. */
		return o.always_ok && status != EX_TEMPFAIL ? 0 : status;
	}
	case MODE_PRINT:
		return sm_mailq(&o);
	case MODE_COUNT:
		if (sm_showq_request("count\n") < 0)
			sm_exit(EX_UNAVAILABLE, "Queue report unavailable - mail system is down");
		return 0;
	case MODE_DAEMON:
	case MODE_DAEMON_FG:
		return sm_daemon(&o);
	case MODE_NEWALIASES:
		return aliases_newaliases(o.alias_db, o.verbose);
	case MODE_VERIFY:
		return sm_verify(&o);
	case MODE_SMTP:
		return sm_smtp();
	case MODE_TEST:
		sm_exit(EX_USAGE, "-bt: address test mode is not supported");
	case MODE_CHECK: {
		char *petrel = xasprintf("%s/petrel", conf_str("command_directory"));

		execl(petrel, petrel, "-c", conf_dir(), "check", (char *)NULL);
		sm_exit(EX_CONFIG, "cannot run %s: %m", petrel);
	}
	case MODE_NOOP:
		break;
	}
	return 0;
}
