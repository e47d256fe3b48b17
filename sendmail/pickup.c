/*
 * pickup - raw submissions to queue files; see pickup.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "cleanup.h"
#include "conf.h"
#include "hbc.h"
#include "header.h"
#include "instance.h"
#include "log.h"
#include "milter.h"
#include "pbuf.h"
#include "pickup.h"
#include "qmgr.h"
#include "queue.h"
#include "strv.h"
#include "user.h"
#include "xalloc.h"

#define PICKUP_QUEUE_FILE_MODE	0600
#define PICKUP_POLL_MS		1000	/* the longest wait before looking at the master */
#define PICKUP_ERR_MAX		512
#define PICKUP_REPLY_CODE_LEN	4	/* "550 " */

static void
pickup_params(struct cleanup_params *p)
{
	p->myhostname = conf_str("myhostname");
	p->myorigin = conf_str("myorigin");
	p->mail_name = conf_str("mail_name");
	p->append_at_myorigin = conf_bool("append_at_myorigin");
	p->message_size_limit = (size_t)conf_int("message_size_limit");
	p->header_size_limit = (size_t)conf_int("header_size_limit");
	p->hopcount_limit = (int)conf_int("hopcount_limit");
}

/* The Message-Id of the cleaned message, for the log line; "" when none. */
static void
pickup_message_id(const struct pbuf *content, struct pbuf *out)
{
	struct headers h;
	long i;

	headers_init(&h);
	headers_parse(content->data ? content->data : "", content->len, &h);
	i = headers_find(&h, "Message-Id", 0);
	if (i >= 0)
		header_value(&h.v[i], out);
	headers_free(&h);
}

int
pickup_submit_allowed(const char *login)
{
	return user_authorized("authorized_submit_users", login);
}

/*
 * A milter (or header_checks/body_checks, for a maildrop file) rejected a
 * message from sendmail: as Postfix does, the
 * sender gets a bounce (DESIGN.md), queued in incoming/ with the null
 * sender. Nothing is sent for a message from <>. Returns 0 when the
 * notice is queued (or none is due), -1 (logged) when it could not be.
 */
static int
pickup_milter_bounce(const struct qenv *env, const char *id, const char *content, size_t len,
    const char *reply)
{
	struct bounce_opts o;
	struct bounce_rcpt *br;
	struct queue_tx tx;
	struct qenv orig, e;
	struct pbuf msg = PBUF_INIT, dsn = PBUF_INIT;
	char err[PICKUP_ERR_MAX];
	const char *p = reply + (strlen(reply) > PICKUP_REPLY_CODE_LEN ? PICKUP_REPLY_CODE_LEN : 0);
	size_t i;
	int rc;

	if (env->sender == NULL || env->sender[0] == '\0') {
		log_info("%s: rejected a message from <>: no bounce", id);
		return 0;
	}
	/* The enhanced status code of the reply, when it has one. */
	if (p != reply && (p[0] == '4' || p[0] == '5') && p[1] == '.')
		pbuf_append(&dsn, p, strcspn(p, " "));
	else
		pbuf_puts(&dsn, "5.7.1");
	if (queue_tx_begin(conf_str("queue_directory"), QDIR_INCOMING, &tx, err, sizeof(err)) < 0) {
		log_warn("%s: cannot queue the bounce of a rejected message: %s", id, err);
		pbuf_free(&dsn);
		return -1;
	}
	qenv_init(&orig);
	orig.arrival = env->arrival;
	snprintf(orig.id, sizeof(orig.id), "%s", id);
	qenv_set_sender(&orig, env->sender);
	br = xcalloc(env->nrcpt ? env->nrcpt : 1, sizeof(*br));
	for (i = 0; i < env->nrcpt; i++) {
		qenv_add_rcpt(&orig, env->rcpt[i].addr, env->rcpt[i].notify, env->rcpt[i].orcpt);
		br[i].addr = env->rcpt[i].addr;
		/* A rejection is final here, whatever class the filter gave. */
		br[i].dsn = pbuf_str(&dsn)[0] == '5' ? pbuf_str(&dsn) : "5.7.1";
		br[i].reason = reply;
	}
	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_FAILED;
	o.notice_id = tx.id;
	o.now = time(NULL);
	bounce_build_opts(&o, &orig, id, content, len, br, env->nrcpt, &msg);
	qenv_init(&e);
	gettimeofday(&e.arrival, NULL);
	qenv_set_sender(&e, "");
	qenv_set_attr(&e, "origin", "bounce");
	qenv_add_rcpt(&e, env->sender, 0, NULL);
	for (i = 0; i < msg.len; i++)
		if ((unsigned char)msg.data[i] & 0x80) {
			e.flags |= QF_8BITMIME;
			break;
		}
	rc = queue_tx_commit(&tx, &e, msg.data, msg.len, PICKUP_QUEUE_FILE_MODE, err, sizeof(err));
	if (rc < 0)
		log_warn("%s: cannot queue the bounce of a rejected message: %s", id, err);
	else {
		log_info("%s: sender non-delivery notification: %s", id, e.id);
		qmgr_wake('W');
	}
	qenv_free(&e);
	qenv_free(&orig);
	free(br);
	pbuf_free(&msg);
	pbuf_free(&dsn);
	return rc < 0 ? -1 : 0;
}

/*
 * non_smtpd_milters on a cleaned-up message, as Postfix runs them: a
 * connection from localhost [127.0.0.1], no HELO, the envelope, the
 * message. Their changes land in env and content. Returns 0 to queue (tx
 * redirected to hold/ for a quarantine), 1 when the message was taken
 * but is not to be queued (a discard, or a rejection turned into a
 * bounce; tx aborted), or EX_TEMPFAIL with err (tx aborted, the caller
 * may retry; also when the bounce cannot be queued).
 */
static int
pickup_milters(struct qenv *env, struct pbuf *content, struct queue_tx *tx, char *err,
    size_t errlen)
{
	struct milters *ms = milters_create("non_smtpd_milters");
	struct milter_msg m;
	char reply[MILTER_REPLY_MAX];
	enum milter_verdict v;
	size_t i;
	int rc = 0;

	if (ms == NULL)
		return 0;
	milters_macro(ms, "_", "localhost [127.0.0.1]");
	milters_macro(ms, "client_addr", "127.0.0.1");
	milters_macro(ms, "client_name", "localhost");
	milters_macro(ms, "i", tx->id);
	v = milters_connect(ms, "localhost", '4', "127.0.0.1", 0, reply, sizeof(reply));
	if (v == MILTER_CONTINUE || v == MILTER_ACCEPT)
		v = milters_mail(ms, env->sender, NULL, reply, sizeof(reply));
	for (i = 0; i < env->nrcpt && (v == MILTER_CONTINUE || v == MILTER_ACCEPT); i++)
		v = milters_rcpt(ms, env->rcpt[i].addr, NULL, reply, sizeof(reply));
	if (v == MILTER_CONTINUE || v == MILTER_ACCEPT)
		v = milters_data(ms, reply, sizeof(reply));
	milter_msg_init(&m, env, content->data ? content->data : "", content->len,
	    (size_t)conf_int("message_size_limit"));
	if (v == MILTER_CONTINUE || v == MILTER_ACCEPT)
		v = milters_message(ms, &m, reply, sizeof(reply));
	if (v == MILTER_REJECT || v == MILTER_TEMPFAIL) {
		log_info("%s: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: %s; from=<%s>",
		    tx->id, reply, env->sender);
		snprintf(err, errlen, "message refused by a milter: %s", reply);
		rc = EX_TEMPFAIL;
		if (v == MILTER_REJECT && pickup_milter_bounce(env, tx->id, content->data ?
		    content->data : "", content->len, reply) == 0)
			rc = 1;
	} else if (v == MILTER_DISCARD || env->nrcpt == 0) {
		log_info("%s: milter-discard: END-OF-MESSAGE from localhost[127.0.0.1]: %s; from=<%s>",
		    tx->id, env->nrcpt == 0 ? "no recipients left" : "milter triggers DISCARD action",
		    env->sender);
		rc = 1;
	} else {
		pbuf_reset(content);
		milter_msg_content(&m, content);
		if (m.quarantine) {
			log_info("%s: milter-hold: END-OF-MESSAGE from localhost[127.0.0.1]: %s;"
			    " from=<%s>", tx->id, m.quarantine, env->sender);
			qenv_set_attr(env, "quarantine", m.quarantine);
			queue_tx_set_dir(tx, conf_str("queue_directory"), QDIR_HOLD);
		}
	}
	if (rc != 0)
		queue_tx_abort(tx);
	milter_msg_free(&m);
	milters_abort(ms);
	milters_free(ms);
	return rc;
}

/*
 * header_checks/body_checks (hbc.h) on a cleaned-up local submission,
 * before the milters. 0 to go on (content rewritten, tx moved to hold/
 * for HOLD); 1 when taken but not to be queued (DISCARD, or a REJECT of
 * a maildrop file turned into a bounce, as Postfix's pickup does); else
 * tx is aborted and the status is returned with err: EX_DATAERR for a
 * REJECT of a synchronous submission (the sendmail command prints the
 * text and exits 65, nothing queued: its user is there to read it),
 * EX_TEMPFAIL for a table error (the maildrop file is retried, the
 * submitter falls back to maildrop/).
 */
static int
pickup_hbc(struct qenv *env, struct pbuf *content, struct queue_tx *tx, const char *how,
    char *err, size_t errlen)
{
	struct hbc_ctx ctx;
	struct hbc_result r;
	struct pbuf out = PBUF_INIT, old;
	char *where;
	int rc = 0;

	where = xasprintf("from local; from=<%s> to=<%s>", env->sender,
	    env->nrcpt ? env->rcpt[0].addr : "");
	ctx.qid = tx->id;
	ctx.where = where;
	hbc_apply(&ctx, content->data ? content->data : "", content->len, &out, &r);
	switch (r.verdict) {
	case HBC_REJECT:
		if (strcmp(how, "maildrop") == 0) {
			rc = pickup_milter_bounce(env, tx->id, content->data ? content->data : "",
			    content->len, r.reply) == 0 ? 1 : EX_TEMPFAIL;
			snprintf(err, errlen, "cannot queue the bounce of a rejected message");
		} else {
			rc = EX_DATAERR;
			snprintf(err, errlen, "%s", r.text);
		}
		break;
	case HBC_DISCARD:
		rc = 1;
		break;
	case HBC_DEFER:
		rc = EX_TEMPFAIL;
		snprintf(err, errlen, "%s", r.error);
		break;
	case HBC_PASS:
		old = *content;
		*content = out;
		out = old;
		if (r.hold) {
			qenv_set_attr(env, "quarantine", r.hold);
			queue_tx_set_dir(tx, conf_str("queue_directory"), QDIR_HOLD);
		}
		break;
	}
	if (rc != 0)
		queue_tx_abort(tx);
	pbuf_free(&out);
	hbc_result_free(&r);
	free(where);
	return rc;
}

int
pickup_message(const struct qenv *raw, const char *content, size_t len,
    long uid, const char *how, char *qid, char *err, size_t errlen)
{
	struct cleanup_params params;
	struct cleanup_input in;
	struct cleanup_output out;
	struct user_info user;
	struct strv rcpts = STRV_INIT;
	struct queue_tx txn;
	struct qenv env;
	struct pbuf msgid = PBUF_INIT;
	unsigned notify = raw->nrcpt ? raw->rcpt[0].notify : 0;
	size_t i;
	int status;

	user_lookup_uid(uid, &user);
	/* The front end checks too, but only this check cannot be bypassed. */
	if (!pickup_submit_allowed(user.login)) {
		snprintf(err, errlen, "User %s(%ld) is not allowed to submit mail", user.login, uid);
		log_warn("%s: %s", how, err);
		user_info_free(&user);
		return EX_NOPERM;
	}
	if (queue_tx_begin(conf_str("queue_directory"), QDIR_INCOMING, &txn, err, errlen) < 0) {
		user_info_free(&user);
		return EX_TEMPFAIL;
	}
	for (i = 0; i < raw->nrcpt; i++)
		strv_add(&rcpts, raw->rcpt[i].addr);
	pickup_params(&params);
	memset(&in, 0, sizeof(in));
	in.content = content;
	in.len = len;
	in.extract_recipients = (raw->flags & QF_EXTRACT_RCPT) != 0;
	in.rcpts = &rcpts;
	in.sender = (raw->flags & QF_SENDER_SET) ? raw->sender : NULL;
	in.login = user.login;
	in.uid = uid;
	in.fullname = (raw->flags & QF_FULLNAME_SET) ? raw->fullname : user.full_name;
	in.queue_id = txn.id;
	gettimeofday(&in.arrival, NULL);

	cleanup_output_init(&out);
	status = cleanup_message(&params, &in, &out);
	if (status != 0) {
		snprintf(err, errlen, "%s", out.error ? out.error : "message refused");
		queue_tx_abort(&txn);
		goto done;
	}

	qenv_init(&env);
	env.arrival = in.arrival;
	env.flags = raw->flags & ~(QF_RAW | QF_EXTRACT_RCPT | QF_SENDER_SET | QF_FULLNAME_SET);
	qenv_set_sender(&env, out.sender);
	env.uid = uid;
	env.ret = raw->ret;
	if (raw->envid)
		env.envid = xstrdup(raw->envid);
	for (i = 0; i < raw->nattr; i++)
		qenv_set_attr(&env, raw->attr[i].name, raw->attr[i].value);
	qenv_set_attr(&env, "origin", how);
	for (i = 0; i < out.rcpts.n; i++)
		qenv_add_rcpt(&env, out.rcpts.v[i], notify, NULL);
	status = hbc_enabled() ? pickup_hbc(&env, &out.content, &txn, how, err, errlen) : 0;
	if (status == 0)
		status = pickup_milters(&env, &out.content, &txn, err, errlen);
	if (status != 0) {
		if (status == 1) {	/* discarded or bounced: taken, as far as the caller knows */
			snprintf(qid, QID_LEN + 1, "%s", txn.id);
			status = 0;
		}
		qenv_free(&env);
		goto done;
	}
	if (queue_tx_commit(&txn, &env, out.content.data, out.content.len,
	    PICKUP_QUEUE_FILE_MODE, err, errlen) < 0) {
		status = EX_TEMPFAIL;
		log_warn("%s: cannot queue message from uid %ld: %s", how, uid, err);
	} else {
		snprintf(qid, QID_LEN + 1, "%s", env.id);
		pickup_message_id(&out.content, &msgid);
		log_info("%s: uid=%ld from=<%s>", env.id, uid, out.sender);
		log_info("%s: message-id=%s", env.id, pbuf_str(&msgid));
		log_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue %s)", env.id,
		    env.sender, out.content.len, env.nrcpt,
		    qenv_attr(&env, "quarantine") ? QDIR_HOLD : QDIR_INCOMING);
		qmgr_wake('W');
	}
	qenv_free(&env);
done:
	pbuf_free(&msgid);
	cleanup_output_free(&out);
	strv_free(&rcpts);
	user_info_free(&user);
	return status;
}

int
pickup_maildrop_file(const char *name)
{
	const char *qdir = conf_str("queue_directory");
	char *path = xasprintf("%s/%s/%s", qdir, QDIR_MAILDROP, name);
	char err[512], qid[QID_LEN + 1];
	struct pbuf content = PBUF_INIT;
	struct qenv raw;
	struct stat st;
	enum qfile_status qs;
	int status, gone = -1;

	qenv_init(&raw);
	qs = queue_read_stat(qdir, QDIR_MAILDROP, name, &raw, &content, &st, err, sizeof(err));
	if (qs == QFILE_IOERR) {
		if (errno != ENOENT)
			log_warn("maildrop: %s: %s; will retry", name, err);
		goto out;
	}
	if (qs == QFILE_CORRUPT) {
		queue_quarantine(qdir, QDIR_MAILDROP, name, err);
		goto out;
	}
	if (!(raw.flags & QF_RAW)) {
		queue_quarantine(qdir, QDIR_MAILDROP, name, "maildrop file is not a raw submission");
		goto out;
	}
	/* The owner is who wrote it: the front end is set-gid, never set-uid. */
	status = pickup_message(&raw, content.data ? content.data : "", content.len,
	    (long)st.st_uid, "maildrop", qid, err, sizeof(err));
	if (status == EX_TEMPFAIL) {
		log_warn("maildrop: %s: %s; will retry", name, err);
		goto out;
	}
	if (status != 0)
		log_warn("maildrop: %s from uid %ld discarded: %s", name, (long)st.st_uid, err);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("maildrop: remove %s: %m", path);
	else
		gone = 0;
out:
	qenv_free(&raw);
	pbuf_free(&content);
	free(path);
	return gone;
}

struct pickup_scan {
	struct strv names;
};

static int
pickup_collect(const char *subdir, const char *id, void *ctx)
{
	struct pickup_scan *s = ctx;

	strv_add(&s->names, id);
	return 0;
}

int
pickup_scan_maildrop(void)
{
	const char *qdir = conf_str("queue_directory");
	struct pickup_scan s = { STRV_INIT };
	size_t i;
	int done = 0;

	queue_remove_stale(qdir, QDIR_MAILDROP, QUEUE_STALE_TEMP_SECONDS);
	if (queue_scan(qdir, QDIR_MAILDROP, pickup_collect, &s) < 0)
		log_warn("maildrop: cannot read %s/%s: %m", qdir, QDIR_MAILDROP);
	for (i = 0; i < s.names.n; i++)
		if (pickup_maildrop_file(s.names.v[i]) == 0)
			done++;
	strv_free(&s.names);
	return done;
}

static volatile sig_atomic_t pickup_stop;

static void
pickup_on_term(int sig)
{
	pickup_stop = 1;
}

int
pickup_watch_loop(int rescan)
{
	char *dir = xasprintf("%s/%s", conf_str("queue_directory"), QDIR_MAILDROP);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct sigaction sa;
	time_t next_scan = 0;
	int ifd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pickup_on_term;
	sigaction(SIGTERM, &sa, NULL);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0 || inotify_add_watch(ifd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		log_warn("inotify on %s: %m; scanning every %d seconds only", dir, rescan);
	while (!pickup_stop && !instance_parent_gone()) {
		struct pollfd p = { ifd, POLLIN, 0 };
		time_t now = time(NULL);
		int rc;

		if (now >= next_scan) {
			pickup_scan_maildrop();
			next_scan = now + rescan;
		}
		/* At least once a second: a gone master ends the loop. */
		rc = poll(&p, ifd >= 0 ? 1 : 0,
		    next_scan - now > 1 ? PICKUP_POLL_MS : (int)(next_scan - now) * 1000);
		if (rc > 0) {
			/* Drain the events; one scan covers them all. */
			while (read(ifd, buf, sizeof(buf)) > 0)
				;
			next_scan = 0;
		}
	}
	if (ifd >= 0)
		close(ifd);
	free(dir);
	return 0;
}
