/*
 * local - final delivery of one envelope recipient; see local.h.
 *
 * Resolution, in Postfix local(8)'s order, for each local address met
 * (the envelope recipient, then every local address an expansion yields):
 *   1. a Delivered-To: header equal to the address: forwarding loop,
 *      bounce 5.4.6;
 *   2. aliases (alias_maps): the whole local part, then without its
 *      recipient_delimiter extension; the right-hand side's elements are
 *      expanded again with the alias database owner's rights
 *      (default_privs when root owns it); owner-NAME, when it exists,
 *      becomes the envelope sender of the expansion (owner-NAME@$myorigin);
 *   3. the user (getpwnam of the local part without extension; unknown:
 *      postmaster and MAILER-DAEMON go to root, else luser_relay, else
 *      bounce 5.1.1);
 *   4. the first forward_path file that exists (read as the user; ignored
 *      when not owned by the user or root, or writable by group/others, or
 *      in such a directory), expanded with the user's rights;
 *   5. the mailbox: mailbox_transport, else mailbox_command, else
 *      home_mailbox (Maildir when it ends in '/', else an mbox file in the
 *      home), else mail_spool_directory/USER.
 * An unknown user (step 3) goes to fallback_transport when it is set,
 * before luser_relay. mailbox_transport and fallback_transport take an
 * "lmtp:" destination (resolve.h; "error:" too): this process speaks LMTP
 * itself with mail_owner's ids (smtp_deliver_direct), RCPT TO the local
 * address at hand (user@domain as qualified here, with its extension:
 * what Postfix's local(8) passes on), and the LMTP server's per-recipient
 * answer is this address's result ("delivered via mailbox_transport
 * name[/path]: 250 ...", or "host name[/path] said: 550 ...").
 * "\user" skips 2 and 4; an alias or .forward already expanded for this
 * recipient is not expanded again (so "root: root, admin" reaches root's
 * mailbox), and every final destination is used once.
 *
 * Elements of an expansion: local or remote addresses, "|command" and
 * "/file" (allowed by allow_mail_to_commands / allow_mail_to_files for the
 * source: alias, forward or include; refused 5.7.1 otherwise, and always
 * from an :include: or .forward reached through a group/world-writable
 * file or directory), "/dir/" (a Maildir), ":include:/path" (read at
 * delivery time with the rights of its context, then expanded with its
 * owner's), "error:code text". Remote addresses are collected and written
 * as one new queue file per envelope sender into incoming/ (as
 * mail_owner), with a Delivered-To: header, then the queue manager is
 * woken.
 *
 * Outcome of the envelope recipient: deferred when any destination
 * deferred (the others may then be repeated on retry: a duplicate beats
 * a loss), bounced when all destinations bounced, otherwise sent (each
 * destination's outcome is logged). Destinations that bounced inside a
 * list that was otherwise delivered go back to the sender of their
 * expansion (owner-LIST, or the envelope sender) in one RFC 3464 notice
 * per sender, queued here as mail_owner (local_return_failed).
 *
 * Every destination gets a log line "ID: to=<...>, orig_to=<...>,
 * relay=local, delay=..., delays=a/b/c/d, dsn=..., status=... (...)".
 *
 * Privileges: all writes and commands run in children (privs.c); this
 * process only reads configuration, the alias maps and passwd.
 *
 * Verify mode (local_verify, sendmail -bv) runs the same walk
 * (local_resolve) with run->verify set: the checks, the loop detection
 * and the once-only rules are the same, and only the leaves differ. A
 * mailbox, command, file or remote address that delivery would write,
 * run or queue becomes a "deliverable: mailer ..." line instead, and a
 * failure becomes its line; nothing is logged as delivered. Reading
 * .forward and :include: files (in children, with the rights delivery
 * uses) still happens: the answer depends on them.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "alias_parse.h"
#include "aliases.h"
#include "bounce.h"
#include "conf.h"
#include "instance.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "mbox.h"
#include "pbuf.h"
#include "pipe.h"
#include "privs.h"
#include "qfile.h"
#include "qmgr.h"
#include "queue.h"
#include "resolve.h"
#include "smtp_client.h"
#include "smtp_deliver.h"
#include "strv.h"
#include "xalloc.h"

#define LOCAL_MAX_DEPTH		20	/* nested aliases / .forward / :include: */
#define LOCAL_MAX_TARGETS	1000	/* destinations of one envelope recipient */
#define LOCAL_MBOX_LOCK_WAIT_MS	10000	/* dot-lock + fcntl wait before 4.2.0 */
#define LOCAL_READ_LIMIT	(1024 * 1024)	/* .forward and :include: files */
#define LOCAL_SPOOL_MODE_GROUP	0660	/* new spool mbox, group-writable spool */
#define LOCAL_SPOOL_MODE_OWN	0600	/* new mbox otherwise */
#define LOCAL_FILE_MODE		0600	/* new /file target */
#define LOCAL_QUEUE_MODE	0600	/* forwarded copy in incoming/ */
#define LOCAL_ENV_PATH		"PATH=/usr/bin:/bin"
#define LOCAL_SHELL_DEFAULT	"/bin/sh"
#define LOCAL_INCLUDE_PREFIX	":include:"
#define LOCAL_ERROR_PREFIX	"error:"
#define LOCAL_OWNER_PREFIX	"owner-"
#define LOCAL_REQUEST_SUFFIX	"-request"
#define LOCAL_DEV_NULL		"/dev/null"
#define LOCAL_MS_PER_SEC	1000UL
#define LOCAL_US_PER_SEC	1000000.0
#define LOCAL_MAX_VAR		64	/* longest $name in a template */

enum local_src_kind { SRC_RCPT, SRC_ALIAS, SRC_FORWARD, SRC_INCLUDE };

/* Names as allow_mail_to_commands / allow_mail_to_files spell them. */
static const char *const local_src_names[] = { "recipient", "alias", "forward", "include" };

struct local_user {
	char *name;
	uid_t uid;
	gid_t gid;
	char *home;
	char *shell;
};

/* Where the elements being expanded came from. */
struct local_src {
	enum local_src_kind kind;
	struct privs_cred cred;		/* rights for |command and /file */
	const struct local_user *who;	/* HOME, USER... of commands; may be NULL */
	int unsafe;			/* |command and /file refused */
	const char *sender;		/* envelope sender for this expansion */
	const char *parent;		/* the (qualified) address expanded */
	const char *origin;		/* for messages: "alias list", a path */
	int depth;
};

/* A destination that failed for good, to be returned to err_sender. */
struct local_bounced {
	char *addr;
	char *sender;
	struct privs_result res;
};

/* Remote addresses to forward, per envelope sender. */
struct local_fwd {
	char *sender;
	struct strv addrs;
	struct strv parents;	/* the address each came from (Delivered-To) */
};

struct local_run {
	const struct qenv *env;
	const char *content;
	size_t len;
	const struct qrcpt *rcpt;
	const char *qid;
	char *top;			/* the envelope recipient, lowercase */
	char *orig_to;			/* its original form (ORCPT) */
	const char *myorigin;
	struct strv delivered;		/* Delivered-To: values in the message */
	struct strv visited;
	struct timeval start;
	int ntargets;
	int nsent, ndefer, nbounce;
	struct local_result first_sent, first_defer, first_bounce;
	struct local_fwd *fwd;
	size_t nfwd;
	/* Destinations that bounced, and the sender each failure goes back to. */
	struct local_bounced *bounced;
	size_t nbounced;
	const char *err_sender;		/* the sender of the expansion at hand */
	int root;			/* may change uids */
	struct local_user nobody;	/* default_privs */
	int nobody_ok;
	char nobody_err[256];
	uid_t mail_owner;
	gid_t mail_group;
	int have_mail_owner;
	/* local_verify (sendmail -bv): nothing is written, lines are made. */
	int verify;
	struct strv *lines;		/* "addr... deliverable: ..." */
	const char *shown;		/* the envelope recipient as the user typed it */
};

/* The $name variables of forward_path, mailbox_command and luser_relay. */
struct local_vars {
	const char *user, *home, *shell, *recipient, *extension, *domain, *local;
	const char *delim;
};

/* ------------------------------------------------------------------ */
/* Small helpers */

static char *
local_lower(const char *s)
{
	char *d = xstrdup(s), *p;

	for (p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static double
local_elapsed(const struct timeval *from, const struct timeval *to)
{
	double d = (double)(to->tv_sec - from->tv_sec)
	    + (double)(to->tv_usec - from->tv_usec) / LOCAL_US_PER_SEC;

	return d < 0 ? 0 : d;
}

static void
local_result_copy(struct local_result *dst, const struct privs_result *src)
{
	dst->status = src->status == PRIVS_SENT ? LOCAL_SENT
	    : src->status == PRIVS_BOUNCE ? LOCAL_BOUNCE : LOCAL_DEFER;
	snprintf(dst->dsn, sizeof(dst->dsn), "%s", src->dsn);
	snprintf(dst->text, sizeof(dst->text), "%s", src->text);
}

/*
 * The line of one failed destination in verify mode, Sendmail's -bv
 * shape: "to... User unknown", "to... <reason>", or "to... Deferred:
 * <reason>" for a temporary failure. The envelope recipient itself is
 * shown as the user typed it.
 */
static void
local_verify_line(struct local_run *run, const char *to, const struct privs_result *r)
{
	const char *shown = strcasecmp(to, run->top) == 0 ? run->shown : to;

	switch (r->status) {
	case PRIVS_SENT:
		/* Not met: local_verify_ok makes the lines of deliverable targets. */
		strv_add_owned(run->lines, xasprintf("%s... deliverable: %s", shown, r->text));
		break;
	case PRIVS_BOUNCE:
		strv_add_owned(run->lines, xasprintf("%s... %s", shown, r->text));
		break;
	default:
		strv_add_owned(run->lines, xasprintf("%s... Deferred: %s", shown, r->text));
		break;
	}
}

/* Logs one destination's outcome (verify: makes its line) and counts it. */
static void
local_record(struct local_run *run, const char *to, const struct privs_result *r)
{
	struct pbuf line = PBUF_INIT;
	struct timeval now;
	const char *status;
	struct local_result *slot;
	int *count;

	gettimeofday(&now, NULL);
	switch (r->status) {
	case PRIVS_SENT:
		status = "sent";
		count = &run->nsent;
		slot = &run->first_sent;
		break;
	case PRIVS_BOUNCE:
		status = "bounced";
		count = &run->nbounce;
		slot = &run->first_bounce;
		break;
	default:
		status = "deferred";
		count = &run->ndefer;
		slot = &run->first_defer;
		break;
	}
	if ((*count)++ == 0)
		local_result_copy(slot, r);
	if (run->verify) {
		local_verify_line(run, to, r);
		return;
	}
	if (r->status == PRIVS_BOUNCE) {
		struct local_bounced *b;

		run->bounced = xreallocarray(run->bounced, run->nbounced + 1, sizeof(*run->bounced));
		b = &run->bounced[run->nbounced++];
		b->addr = xstrdup(to);
		b->sender = xstrdup(run->err_sender ? run->err_sender : "");
		b->res = *r;
	}
	pbuf_printf(&line, "%s: to=<%s>", run->qid, to);
	if (strcasecmp(to, run->orig_to) != 0)
		pbuf_printf(&line, ", orig_to=<%s>", run->orig_to);
	pbuf_puts(&line, ", relay=local, delay=");
	log_fmt_delay(&line, local_elapsed(&run->env->arrival, &now));
	pbuf_puts(&line, ", delays=");
	log_fmt_delay(&line, local_elapsed(&run->env->arrival, &run->start));
	pbuf_puts(&line, "/0/0/");
	log_fmt_delay(&line, local_elapsed(&run->start, &now));
	pbuf_printf(&line, ", dsn=%s, status=%s (%s)", r->dsn, status, r->text);
	log_info("%s", pbuf_str(&line));
	pbuf_free(&line);
}

static void
local_fail(struct local_run *run, const char *to, int status, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
local_fail(struct local_run *run, const char *to, int status, const char *dsn,
    const char *fmt, ...)
{
	struct privs_result r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.status = status;
	snprintf(r.dsn, sizeof(r.dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(r.text, sizeof(r.text), fmt, ap);
	va_end(ap);
	local_record(run, to, &r);
}

static void
local_verify_ok(struct local_run *run, const char *to, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Verify mode: to would be delivered as the text says ("mailer local,
 * user alice"). Built apart from struct privs_result, whose text is
 * bounded: a long command must not be cut.
 */
static void
local_verify_ok(struct local_run *run, const char *to, const char *fmt, ...)
{
	struct pbuf b = PBUF_INIT;
	va_list ap;

	run->nsent++;
	pbuf_printf(&b, "%s... deliverable: ",
	    strcasecmp(to, run->top) == 0 ? run->shown : to);
	va_start(ap, fmt);
	pbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	strv_add_owned(run->lines, pbuf_detach(&b));
}

/* 1 the first time key is seen in this delivery. */
static int
local_first_visit(struct local_run *run, const char *kind, const char *what)
{
	char *key = xasprintf("%s:%s", kind, what);

	if (strv_find(&run->visited, key, 0) >= 0) {
		free(key);
		return 0;
	}
	strv_add_owned(&run->visited, key);
	return 1;
}

static void
local_user_free(struct local_user *u)
{
	free(u->name);
	free(u->home);
	free(u->shell);
	memset(u, 0, sizeof(*u));
}

static void
local_user_from_pw(struct local_user *u, const struct passwd *pw)
{
	u->name = xstrdup(pw->pw_name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->home = xstrdup(pw->pw_dir ? pw->pw_dir : "/");
	u->shell = xstrdup(pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell
	    : LOCAL_SHELL_DEFAULT);
}

/* getpwnam into u; 1 found, 0 unknown, -1 lookup error (errno). */
static int
local_user_by_name(const char *name, struct local_user *u)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL)
		return (errno == 0 || errno == ENOENT || errno == ESRCH
		    || errno == EBADF || errno == EPERM) ? 0 : -1;
	local_user_from_pw(u, pw);
	return 1;
}

static int
local_user_by_uid(uid_t uid, struct local_user *u)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if ((pw = getpwuid(uid)) == NULL)
		return 0;
	local_user_from_pw(u, pw);
	return 1;
}

/*
 * The rights for commands and files on behalf of uid (an alias database
 * or :include: owner, a .forward's user): never root, never mail_owner:
 * default_privs instead. who (may be NULL) receives the user whose HOME
 * etc. the command gets; it must be freed. -1 when default_privs is
 * needed and unusable.
 */
static int
local_cred_for(struct local_run *run, uid_t uid, struct privs_cred *c,
    struct local_user *who)
{
	struct local_user u;

	if (!run->root) {
		privs_cred_keep(c);
		if (who && !local_user_by_uid(geteuid(), who))
			memset(who, 0, sizeof(*who));
		return 0;
	}
	if (uid != 0 && !(run->have_mail_owner && uid == run->mail_owner)
	    && local_user_by_uid(uid, &u)) {
		privs_cred_set(c, u.uid, u.gid);
		if (who)
			*who = u;
		else
			local_user_free(&u);
		return 0;
	}
	if (!run->nobody_ok)
		return -1;
	privs_cred_set(c, run->nobody.uid, run->nobody.gid);
	if (who) {
		memset(who, 0, sizeof(*who));
		who->name = xstrdup(run->nobody.name);
		who->uid = run->nobody.uid;
		who->gid = run->nobody.gid;
		who->home = xstrdup(run->nobody.home);
		who->shell = xstrdup(run->nobody.shell);
	}
	return 0;
}

/* The local part and domain of addr (domain NULL when none); malloc'd. */
static void
local_split_addr(const char *addr, char **localpart, char **domain)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL) {
		*localpart = addr_unquote_local(addr);
		*domain = NULL;
		return;
	}
	{
		char *lp = xstrndup(addr, (size_t)(at - addr));

		*localpart = addr_unquote_local(lp);
		free(lp);
	}
	*domain = local_lower(at + 1);
}

/*
 * Splits the extension off a local part: *base and *ext (NULL when none)
 * malloc'd, *delim the delimiter used ("" when none).
 */
static void
local_split_ext(const char *lp, char **base, char **ext, char *delim)
{
	const char *delims = conf_str("recipient_delimiter");
	size_t n = strlen(lp), i;

	*ext = NULL;
	delim[0] = '\0';
	if (delims[0] != '\0') {
		/* owner_request_special: owner-list and list-request stay whole. */
		if (conf_bool("owner_request_special") && strchr(delims, '-')
		    && (strncmp(lp, LOCAL_OWNER_PREFIX, strlen(LOCAL_OWNER_PREFIX)) == 0
		    || (n > strlen(LOCAL_REQUEST_SUFFIX)
		    && strcmp(lp + n - strlen(LOCAL_REQUEST_SUFFIX), LOCAL_REQUEST_SUFFIX) == 0))) {
			*base = xstrdup(lp);
			return;
		}
		for (i = 1; i < n; i++) {
			if (strchr(delims, lp[i]) != NULL) {
				*base = xstrndup(lp, i);
				*ext = xstrdup(lp + i + 1);
				delim[0] = lp[i];
				delim[1] = '\0';
				return;
			}
		}
	}
	*base = xstrdup(lp);
}

/* "local@domain" with the domain of the address, or $myorigin. */
static char *
local_qualify(struct local_run *run, const char *lp, const char *domain)
{
	return xasprintf("%s@%s", lp, domain ? domain : run->myorigin);
}

/* Lowercase Delivered-To: values of the message header. */
static void
local_scan_delivered(const char *content, size_t len, struct strv *out)
{
	const char *p = content, *end = content + len, *nl, *v, *ve;
	static const char hdr[] = "delivered-to:";
	size_t hl = sizeof(hdr) - 1;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl == p)
			break;	/* the empty line ends the header */
		if ((size_t)(nl - p) > hl && strncasecmp(p, hdr, hl) == 0) {
			v = p + hl;
			ve = nl;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
				ve--;
			if (ve > v) {
				char *s = xstrndup(v, (size_t)(ve - v)), *l = local_lower(s);

				strv_add_owned(out, l);
				free(s);
			}
		}
		p = nl + 1;
	}
}

/* Decodes the address of an ORCPT "rfc822;xtext" (NULL when another type). */
static char *
local_orcpt_addr(const char *orcpt)
{
	const char *semi, *p;
	struct pbuf b = PBUF_INIT;
	unsigned v;

	if (orcpt == NULL || (semi = strchr(orcpt, ';')) == NULL
	    || (size_t)(semi - orcpt) != strlen("rfc822")
	    || strncasecmp(orcpt, "rfc822", strlen("rfc822")) != 0)
		return NULL;
	for (p = semi + 1; *p; p++) {
		if (*p == '+' && isxdigit((unsigned char)p[1])
		    && isxdigit((unsigned char)p[2]) && sscanf(p + 1, "%2x", &v) == 1) {
			pbuf_putc(&b, (char)v);
			p += 2;
		} else {
			pbuf_putc(&b, *p);
		}
	}
	if (b.len == 0) {
		pbuf_free(&b);
		return NULL;
	}
	return pbuf_detach(&b);
}

/* ------------------------------------------------------------------ */
/* $name expansion of forward_path, mailbox_command, luser_relay */

static const char *
local_var(const struct local_vars *v, const char *name, int *known)
{
	static const struct {
		const char *name;
		size_t off;
	} names[] = {
		{ "user", offsetof(struct local_vars, user) },
		{ "home", offsetof(struct local_vars, home) },
		{ "shell", offsetof(struct local_vars, shell) },
		{ "recipient", offsetof(struct local_vars, recipient) },
		{ "extension", offsetof(struct local_vars, extension) },
		{ "domain", offsetof(struct local_vars, domain) },
		{ "local", offsetof(struct local_vars, local) },
		{ "recipient_delimiter", offsetof(struct local_vars, delim) },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, name) == 0) {
			const char *val = *(const char *const *)((const char *)v + names[i].off);

			*known = 1;
			return val ? val : "";
		}
	}
	*known = 0;
	return NULL;
}

static void local_expand_into(const char *s, size_t len, const struct local_vars *v,
    const char *filter, struct pbuf *out, int depth);

/*
 * The variables mailbox_command and forward_path may use, for user u and
 * recipient addr (ext: its extension or NULL). delim must hold 2 bytes.
 */
static void
local_user_vars(struct local_vars *v, char delim[2], const struct local_user *u,
    const char *addr, const char *ext)
{
	memset(v, 0, sizeof(*v));
	v->user = u->name;
	v->home = u->home;
	v->shell = u->shell;
	v->recipient = addr;
	v->extension = ext;
	delim[0] = ext ? conf_str("recipient_delimiter")[0] : '\0';
	delim[1] = '\0';
	v->delim = delim;
}

/* Appends the value of one variable, filtered. */
static void
local_expand_name(const char *name, const struct local_vars *v, const char *filter,
    struct pbuf *out)
{
	const char *val;
	char *clean;
	int known;

	val = local_var(v, name, &known);
	if (!known) {
		pbuf_puts(out, conf_str(name));
		return;
	}
	clean = pipe_filter(val, filter);
	pbuf_puts(out, clean);
	free(clean);
}

/* $name, ${name}, ${name?text}, ${name:text}; text is expanded in turn. */
static void
local_expand_into(const char *s, size_t len, const struct local_vars *v,
    const char *filter, struct pbuf *out, int depth)
{
	const char *p = s, *end = s + len, *q, *close;
	char name[LOCAL_MAX_VAR + 1];
	size_t n;
	int nest, known;

	while (p < end) {
		if (*p != '$' || p + 1 >= end) {
			pbuf_putc(out, *p++);
			continue;
		}
		p++;
		if (*p == '$') {
			pbuf_putc(out, *p++);
			continue;
		}
		if (*p == '{' || *p == '(') {
			char open = *p, shut = open == '{' ? '}' : ')';

			q = ++p;
			while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
				q++;
			n = (size_t)(q - p);
			if (n == 0 || n > LOCAL_MAX_VAR)
				continue;
			memcpy(name, p, n);
			name[n] = '\0';
			for (close = q, nest = 1; close < end; close++) {
				if (*close == open)
					nest++;
				else if (*close == shut && --nest == 0)
					break;
			}
			if (close >= end) {
				p = end;
				continue;
			}
			if (q < close && (*q == '?' || *q == ':') && depth < LOCAL_MAX_DEPTH) {
				const char *val = local_var(v, name, &known);
				int set = known ? (val && val[0]) : conf_str(name)[0] != '\0';

				if ((*q == '?' && set) || (*q == ':' && !set))
					local_expand_into(q + 1, (size_t)(close - q - 1), v,
					    filter, out, depth + 1);
			} else {
				local_expand_name(name, v, filter, out);
			}
			p = close + 1;
			continue;
		}
		q = p;
		while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
			q++;
		n = (size_t)(q - p);
		if (n == 0 || n > LOCAL_MAX_VAR) {
			pbuf_putc(out, '$');
			continue;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		local_expand_name(name, v, filter, out);
		p = q;
	}
}

static char *
local_expand(const char *tmpl, const struct local_vars *v)
{
	struct pbuf out = PBUF_INIT;

	local_expand_into(tmpl, strlen(tmpl), v, conf_str("command_expansion_filter"),
	    &out, 0);
	if (out.data == NULL)
		return xstrdup("");
	return pbuf_detach(&out);
}

/* ------------------------------------------------------------------ */
/* Paths: who may have written them */

/*
 * 1 when a directory on the way to path (its parent and every ancestor)
 * may be written by group or others without the sticky bit.
 */
static int
local_unsafe_dirs(const char *path)
{
	char *dir = xstrdup(path), *slash;
	struct stat sb;
	int unsafe = 0;

	while ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &sb) == 0 && (sb.st_mode & (S_IWGRP | S_IWOTH))
		    && !(sb.st_mode & S_ISVTX)) {
			unsafe = 1;
			break;
		}
		if (strcmp(dir, "/") == 0)
			break;
	}
	free(dir);
	return unsafe;
}

/* ------------------------------------------------------------------ */
/* Destinations */

static void local_addr(struct local_run *run, const struct local_src *src,
    const char *addr);

static int
local_allowed(const char *param, enum local_src_kind kind)
{
	struct strv list = STRV_INIT;
	int ok;

	if (kind == SRC_RCPT)
		return 0;
	conf_list(param, &list);
	ok = strv_find(&list, local_src_names[kind], 1) >= 0;
	strv_free(&list);
	return ok;
}

static int
local_count_target(struct local_run *run, const char *to)
{
	if (++run->ntargets > LOCAL_MAX_TARGETS) {
		if (run->ntargets == LOCAL_MAX_TARGETS + 1)
			local_fail(run, to, PRIVS_BOUNCE, "5.3.0",
			    "alias expansion has more than %d destinations",
			    LOCAL_MAX_TARGETS);
		return 0;
	}
	return 1;
}

/* Environment of a command: Postfix's variables, filtered values. */
static void
local_command_env(struct local_run *run, const struct local_src *src,
    const struct local_user *who, const char *addr, struct strv *env)
{
	const char *filter = conf_str("command_expansion_filter");
	char *lp, *domain, *base, *ext, delim[2];
	struct {
		const char *name;
		const char *value;
	} vars[11];
	size_t i, n = 0;

	local_split_addr(addr, &lp, &domain);
	local_split_ext(lp, &base, &ext, delim);
	vars[n].name = "HOME";
	vars[n++].value = who && who->home ? who->home : "/";
	vars[n].name = "USER";
	vars[n++].value = who && who->name ? who->name : "";
	vars[n].name = "LOGNAME";
	vars[n++].value = who && who->name ? who->name : "";
	vars[n].name = "SHELL";
	vars[n++].value = who && who->shell ? who->shell : LOCAL_SHELL_DEFAULT;
	vars[n].name = "SENDER";
	vars[n++].value = src->sender;
	vars[n].name = "RECIPIENT";
	vars[n++].value = addr;
	vars[n].name = "LOCAL";
	vars[n++].value = lp;
	vars[n].name = "DOMAIN";
	vars[n++].value = domain ? domain : run->myorigin;
	vars[n].name = "EXTENSION";
	vars[n++].value = ext ? ext : "";
	vars[n].name = "ORIGINAL_RECIPIENT";
	vars[n++].value = run->orig_to;
	strv_add(env, LOCAL_ENV_PATH);
	for (i = 0; i < n; i++) {
		char *clean = pipe_filter(vars[i].value, filter);

		strv_add_owned(env, xasprintf("%s=%s", vars[i].name, clean));
		free(clean);
	}
	free(lp);
	free(domain);
	free(base);
	free(ext);
}

/* Runs a command with the message (From_ line, Return-Path...). */
static void
local_run_command(struct local_run *run, const struct local_src *src,
    const struct privs_cred *cred, const struct local_user *who, const char *command,
    const char *addr, const char *to, int is_mailbox_command)
{
	struct strv env = STRV_INIT;
	struct pbuf data = PBUF_INIT;
	struct mbox_msg m;
	struct pipe_req r;
	struct privs_result res;
	const char *cwd_conf = conf_str("command_execution_directory");
	char *cwd = NULL;
	struct local_vars v;

	local_command_env(run, src, who, addr, &env);
	memset(&m, 0, sizeof(m));
	m.sender = src->sender;
	m.orig_to = run->orig_to;
	m.delivered_to = addr;
	m.content = run->content;
	m.len = run->len;
	mbox_format(&m, MBOX_F_FROM | MBOX_F_RETURN_PATH | MBOX_F_ORIG_TO
	    | MBOX_F_DELIVERED, &data);
	if (cwd_conf[0]) {
		memset(&v, 0, sizeof(v));
		v.user = who ? who->name : NULL;
		v.home = who ? who->home : NULL;
		v.recipient = addr;
		cwd = local_expand(cwd_conf, &v);
	}
	memset(&r, 0, sizeof(r));
	r.command = command;
	r.env = env.v;
	r.cwd = cwd ? cwd : (who ? who->home : "/");
	r.data = data.data;
	r.len = data.len;
	r.time_limit_ms = (unsigned long)conf_time("command_time_limit") * LOCAL_MS_PER_SEC;
	pipe_deliver(cred, &r, &res);
	if (res.status == PRIVS_SENT && is_mailbox_command)
		privs_result_set(&res, PRIVS_SENT, "2.0.0", "delivered to command: %s",
		    command);
	local_record(run, to, &res);
	free(cwd);
	strv_free(&env);
	pbuf_free(&data);
}

static void
local_command(struct local_run *run, const struct local_src *src, const char *cmd)
{
	const char *to = src->parent;
	char key[64];

	if (!local_allowed("allow_mail_to_commands", src->kind) || src->unsafe) {
		if (run->verify) {
			char *shown = xasprintf("|%s", cmd);

			local_fail(run, shown, PRIVS_BOUNCE, "5.7.1",
			    "mail to command is restricted (%s%s)", src->origin,
			    src->unsafe ? ": writable by others" : "");
			free(shown);
			return;
		}
		local_fail(run, to, PRIVS_BOUNCE, "5.7.1",
		    "mail to command is restricted (%s%s)", src->origin,
		    src->unsafe ? ": writable by others" : "");
		log_warn("%s: refusing delivery to command \"%s\" from %s: %s",
		    run->qid, cmd, src->origin, src->unsafe
		    ? "the file or its directory is writable by group or others"
		    : "not allowed by allow_mail_to_commands");
		return;
	}
	snprintf(key, sizeof(key), "%lu", (unsigned long)src->cred.uid);
	{
		char *k = xasprintf("%s:%s", key, cmd);
		int first = local_first_visit(run, "cmd", k);

		free(k);
		if (!first || !local_count_target(run, to))
			return;
	}
	if (run->verify) {
		char *shown = xasprintf("|%s", cmd);

		local_verify_ok(run, shown, "mailer prog, user %s", shown);
		free(shown);
		return;
	}
	local_run_command(run, src, &src->cred, src->who, cmd, src->parent, to, 0);
}

/* The mbox options every file or mailbox shares. */
static void
local_mbox_opts(struct mbox_opts *o, const char *what)
{
	mbox_opts_init(o);
	o->what = what;
	o->lock_wait_ms = LOCAL_MBOX_LOCK_WAIT_MS;
	o->size_limit = (off_t)conf_int("mailbox_size_limit");
}

static unsigned long
local_write_timeout(void)
{
	return LOCAL_MBOX_LOCK_WAIT_MS
	    + (unsigned long)conf_time("command_time_limit") * LOCAL_MS_PER_SEC;
}

struct local_maildir_job {
	const char *dir;
	const char *data;
	size_t len;
	off_t limit;
};

static void
local_maildir_job(void *ctx, struct privs_result *res)
{
	struct local_maildir_job *j = ctx;

	maildir_deliver(j->dir, j->data, j->len, j->limit, res);
}

static void
local_maildir(struct local_run *run, const struct privs_cred *cred,
    const char *sender, const char *dir, const char *delivered_to, const char *to)
{
	struct pbuf data = PBUF_INIT;
	struct local_maildir_job j;
	struct privs_result res;
	struct mbox_msg m;

	memset(&m, 0, sizeof(m));
	m.sender = sender;
	m.orig_to = run->orig_to;
	m.delivered_to = delivered_to;
	m.content = run->content;
	m.len = run->len;
	mbox_format(&m, MBOX_F_RETURN_PATH | MBOX_F_ORIG_TO | MBOX_F_DELIVERED, &data);
	j.dir = dir;
	j.data = data.data;
	j.len = data.len;
	j.limit = (off_t)conf_int("mailbox_size_limit");
	/* Like an mbox append: the ids switched in this process, no fork. */
	privs_call(cred, local_maildir_job, &j, &res);
	local_record(run, to, &res);
	pbuf_free(&data);
}

static void
local_file(struct local_run *run, const struct local_src *src, const char *path)
{
	const char *to = src->parent;
	struct pbuf data = PBUF_INIT;
	struct privs_result res;
	struct mbox_opts o;
	struct mbox_msg m;
	char *k;
	int first;

	if (!local_allowed("allow_mail_to_files", src->kind) || src->unsafe) {
		local_fail(run, run->verify ? path : to, PRIVS_BOUNCE, "5.7.1",
		    "mail to file is restricted (%s%s)", src->origin,
		    src->unsafe ? ": writable by others" : "");
		if (run->verify)
			return;
		log_warn("%s: refusing delivery to file \"%s\" from %s: %s",
		    run->qid, path, src->origin, src->unsafe
		    ? "the file or its directory is writable by group or others"
		    : "not allowed by allow_mail_to_files");
		return;
	}
	k = xasprintf("%lu:%s", (unsigned long)src->cred.uid, path);
	first = local_first_visit(run, "file", k);
	free(k);
	if (!first || !local_count_target(run, to))
		return;
	if (run->verify) {
		/* A Maildir ("/dir/") and /dev/null are files to Sendmail too. */
		local_verify_ok(run, path, "mailer *file*, user %s", path);
		return;
	}
	if (path[strlen(path) - 1] == '/') {
		local_maildir(run, &src->cred, src->sender, path, src->parent, to);
		return;
	}
	if (strcmp(path, LOCAL_DEV_NULL) == 0) {
		privs_result_set(&res, PRIVS_SENT, "2.0.0", "delivered to file: %s", path);
		local_record(run, to, &res);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.sender = src->sender;
	m.orig_to = run->orig_to;
	m.delivered_to = src->parent;
	m.content = run->content;
	m.len = run->len;
	mbox_format(&m, MBOX_F_MBOX, &data);
	local_mbox_opts(&o, "file");
	o.dotlock = MBOX_DOTLOCK_TRY;
	o.create_mode = LOCAL_FILE_MODE;
	o.follow_root_symlink = 1;
	o.allow_special = 1;
	mbox_deliver(path, data.data, data.len, &o, &src->cred, &src->cred,
	    local_write_timeout(), &res);
	if (res.status == PRIVS_SENT)
		privs_result_set(&res, PRIVS_SENT, "2.0.0", "delivered to file: %s", path);
	local_record(run, to, &res);
	pbuf_free(&data);
}

static void local_expand_elements(struct local_run *run, const struct local_src *src,
    const struct strv *elems);

static void
local_include(struct local_run *run, const struct local_src *src, const char *path)
{
	const char *to = src->parent;
	struct pbuf text = PBUF_INIT;
	struct strv elems = STRV_INIT;
	struct local_user who;
	struct local_src sub;
	struct stat st;
	char err[512], *origin;
	int errnum = 0;

	if (path[0] != '/') {
		local_fail(run, to, PRIVS_BOUNCE, "5.3.5",
		    ":include: path is not absolute: \"%s\" (%s)", path, src->origin);
		log_warn("%s: %s: :include: path is not absolute: \"%s\"", run->qid,
		    src->origin, path);
		return;
	}
	if (!local_first_visit(run, "include", path))
		return;
	if (privs_read_file(&src->cred, path, LOCAL_READ_LIMIT, &text, &st, &errnum,
	    err, sizeof(err)) < 0) {
		/* Missing or unreadable: the administrator must fix it; mail waits. */
		log_warn("%s: cannot open include file (from %s): %s", run->qid,
		    src->origin, err);
		local_fail(run, to, PRIVS_DEFER, "4.3.0",
		    "cannot open include file %s", err);
		pbuf_free(&text);
		return;
	}
	memset(&sub, 0, sizeof(sub));
	memset(&who, 0, sizeof(who));
	sub.kind = SRC_INCLUDE;
	sub.sender = src->sender;
	sub.parent = src->parent;
	sub.depth = src->depth + 1;
	origin = xasprintf("%s%s", LOCAL_INCLUDE_PREFIX, path);
	sub.origin = origin;
	sub.unsafe = src->unsafe;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) || local_unsafe_dirs(path)) {
		sub.unsafe = 1;
		log_warn("%s: include file %s is writable by group or others "
		    "(or lies in such a directory): its commands and files are refused",
		    run->qid, path);
	}
	if (local_cred_for(run, st.st_uid, &sub.cred, &who) < 0) {
		local_fail(run, to, PRIVS_DEFER, "4.3.5",
		    "cannot deliver for include file %s: %s", path, run->nobody_err);
	} else {
		sub.who = &who;
		alias_split_include(pbuf_str(&text), text.len, &elems);
		if (elems.n == 0)
			log_warn("%s: include file %s has no addresses", run->qid, path);
		local_expand_elements(run, &sub, &elems);
	}
	local_user_free(&who);
	strv_free(&elems);
	pbuf_free(&text);
	free(origin);
}

/* error:CODE text (Sendmail's error mailer). */
static void
local_error_target(struct local_run *run, const struct local_src *src, const char *spec)
{
	const char *p = spec + strlen(LOCAL_ERROR_PREFIX), *q;
	char dsn[PRIVS_DSN_MAX];
	size_t n;

	snprintf(dsn, sizeof(dsn), "5.0.0");
	while (*p == ' ')
		p++;
	for (q = p; isdigit((unsigned char)*q) || *q == '.'; q++)
		;
	n = (size_t)(q - p);
	if (n >= 5 && n < sizeof(dsn) && (*p == '4' || *p == '5') && p[1] == '.') {
		memcpy(dsn, p, n);
		dsn[n] = '\0';
		p = q;
		if (*p == ':')
			p++;
		for (q = p; isdigit((unsigned char)*q); q++)
			;
		if (q - p == 3 && (*q == ' ' || *q == ':'))
			p = q + 1;
	} else if (n == 3 && (*p == '4' || *p == '5')) {
		dsn[0] = *p;
		p = q + (*q == ' ' || *q == ':');
	} else if (strncasecmp(p, "nouser", 6) == 0) {
		snprintf(dsn, sizeof(dsn), "5.1.1");
		p += 6;
	} else if (strncasecmp(p, "tempfail", 8) == 0) {
		snprintf(dsn, sizeof(dsn), "4.0.0");
		p += 8;
	}
	while (*p == ' ' || *p == ':')
		p++;
	if (!local_count_target(run, src->parent))
		return;
	local_fail(run, src->parent, dsn[0] == '4' ? PRIVS_DEFER : PRIVS_BOUNCE, dsn,
	    "%s", *p ? p : "delivery refused by an error: alias");
}

/*
 * Verify mode, a remote address. Petrel has no SMTP client yet (it comes
 * with the relay issue): the line says where the message would go by
 * the configuration, relayhost when set, else the domain itself, in
 * Sendmail's shape "mailer smtp, host DOMAIN, user ADDR".
 */
static void
local_verify_remote(struct local_run *run, const char *addr)
{
	const char *relayhost = conf_str("relayhost");
	const char *at = strrchr(addr, '@');
	char *domain;
	struct resolve_result rr;

	/* An LMTP destination (transport_maps, a virtual mailbox domain) says so. */
	resolve_rcpt(NULL, addr, &rr);
	if (rr.transport == RESOLVE_LMTP) {
		local_verify_ok(run, addr, "mailer lmtp, host %s, user %s",
		    rr.nexthop + strlen(RESOLVE_LMTP_PREFIX),
		    strcmp(addr, run->top) == 0 ? run->rcpt->addr : addr);
		return;
	}
	domain = local_lower(at ? at + 1 : run->myorigin);
	/* The envelope recipient keeps the case of its local part. */
	local_verify_ok(run, addr, "mailer smtp, host %s, user %s",
	    relayhost[0] ? relayhost : domain,
	    strcmp(addr, run->top) == 0 ? run->rcpt->addr : addr);
	free(domain);
}

/* Queues addr (remote) to be forwarded with src's sender. */
static void
local_queue_forward(struct local_run *run, const struct local_src *src,
    const char *addr)
{
	size_t i;
	char *lower = local_lower(addr);
	int first = local_first_visit(run, "fwd", lower);

	free(lower);
	if (!first || !local_count_target(run, addr))
		return;
	if (run->verify) {
		local_verify_remote(run, addr);
		return;
	}
	for (i = 0; i < run->nfwd; i++)
		if (strcmp(run->fwd[i].sender, src->sender) == 0)
			break;
	if (i == run->nfwd) {
		run->fwd = xreallocarray(run->fwd, run->nfwd + 1, sizeof(*run->fwd));
		memset(&run->fwd[i], 0, sizeof(run->fwd[i]));
		run->fwd[i].sender = xstrdup(src->sender);
		run->nfwd++;
	}
	strv_add(&run->fwd[i].addrs, addr);
	strv_add(&run->fwd[i].parents, src->parent);
}

/* One element of an alias value, .forward or :include: file. */
static void
local_element(struct local_run *run, const struct local_src *src, const char *e)
{
	if (e[0] == '|') {
		local_command(run, src, e + 1);
	} else if (e[0] == '/') {
		local_file(run, src, e);
	} else if (strncasecmp(e, LOCAL_INCLUDE_PREFIX, strlen(LOCAL_INCLUDE_PREFIX)) == 0) {
		const char *p = e + strlen(LOCAL_INCLUDE_PREFIX);

		while (*p == ' ' || *p == '\t')
			p++;
		local_include(run, src, p);
	} else if (strncasecmp(e, LOCAL_ERROR_PREFIX, strlen(LOCAL_ERROR_PREFIX)) == 0) {
		local_error_target(run, src, e);
	} else {
		local_addr(run, src, e);
	}
}

static void
local_expand_elements(struct local_run *run, const struct local_src *src,
    const struct strv *elems)
{
	size_t i;

	if (src->depth > LOCAL_MAX_DEPTH) {
		local_fail(run, src->parent, PRIVS_BOUNCE, "5.4.6",
		    "mail forwarding loop for %s (more than %d nested expansions)",
		    src->parent, LOCAL_MAX_DEPTH);
		return;
	}
	for (i = 0; i < elems->n; i++)
		local_element(run, src, elems->v[i]);
}

struct local_lmtp_job {
	const char *qid;
	const char *nexthop;
	struct qenv *env;
	const char *content;
	size_t len;
	const char *what;		/* the parameter: "mailbox_transport" */
};

/* The LMTP transaction, with mail_owner's ids (privs_call): its one recipient's result. */
static void
local_lmtp_job(void *ctx, struct privs_result *res)
{
	struct local_lmtp_job *j = ctx;
	struct smtp_result r;
	char mta[LOCALSVC_MTA_MAX];
	size_t idx = 0;

	smtp_deliver_direct(j->qid, j->nexthop, j->env, j->content, j->len, &idx, 1, &r, mta,
	    sizeof(mta));
	res->status = r.status == 0 ? PRIVS_SENT : r.status == 5 ? PRIVS_BOUNCE : PRIVS_DEFER;
	snprintf(res->dsn, sizeof(res->dsn), "%s", r.dsn);
	if (r.status == 0)
		snprintf(res->text, sizeof(res->text), "delivered via %s %s: %s", j->what,
		    mta, r.text ? r.text : "");
	else if (r.remote)
		snprintf(res->text, sizeof(res->text), "host %s said: %s%s%s%s", mta,
		    r.text ? r.text : "", r.cmd ? " (in reply to " : "", r.cmd ? r.cmd : "",
		    r.cmd ? " command)" : "");
	else
		snprintf(res->text, sizeof(res->text), "%s", r.text ? r.text : "");
	smtp_result_free(&r);
}

/*
 * mailbox_transport or fallback_transport (what = its value): addr
 * goes over LMTP, RCPT TO:<addr> (the local address at hand, qualified,
 * as Postfix's local(8) passes it on), MAIL FROM the sender of the
 * expansion; error: bounces (or defers) with its text; anything else
 * defers 4.3.5 with a warning (Petrel has no other transport to hand
 * mail to from here).
 */
static void
local_transport(struct local_run *run, const struct local_src *src, const char *what,
    const char *value, const char *addr)
{
	struct resolve_result rr;
	struct local_lmtp_job j;
	struct privs_result res;
	struct privs_cred cred;
	struct qenv env;
	struct qrcpt one;

	resolve_transport(what, addr, value, &rr);
	switch (rr.transport) {
	case RESOLVE_LMTP:
		break;
	case RESOLVE_ERROR:
		local_fail(run, addr, PRIVS_BOUNCE, rr.dsn, "%s", rr.text);
		return;
	case RESOLVE_DEFER:
		if (!run->verify)
			log_warn("%s: %s", run->qid, rr.text);
		local_fail(run, addr, PRIVS_DEFER, rr.dsn, "%s", rr.text);
		return;
	default:
		if (!run->verify)
			log_warn("%s: %s = %s: the local delivery agent hands mail only to "
			    "lmtp: (or error:) transports", run->qid, what, value);
		local_fail(run, addr, PRIVS_DEFER, "4.3.5", "%s = %.64s: only lmtp: and error: "
		    "transports are supported", what, value);
		return;
	}
	if (run->verify) {
		local_verify_ok(run, addr, "mailer lmtp, host %s, user %s",
		    rr.nexthop + strlen(RESOLVE_LMTP_PREFIX), addr);
		return;
	}
	env = *run->env;
	memset(&one, 0, sizeof(one));
	one.addr = (char *)addr;
	one.orcpt = run->rcpt->orcpt;
	one.notify = run->rcpt->notify;
	one.state = QR_TODO;
	env.sender = (char *)src->sender;
	env.rcpt = &one;
	env.nrcpt = 1;
	j.qid = run->qid;
	j.nexthop = rr.nexthop;
	j.env = &env;
	j.content = run->content;
	j.len = run->len;
	j.what = what;
	/* As mail_owner, as Postfix's lmtp runs: never root on a socket. */
	if (run->root && run->have_mail_owner)
		privs_cred_set(&cred, run->mail_owner, run->mail_group);
	else
		privs_cred_keep(&cred);
	privs_call(&cred, local_lmtp_job, &j, &res);
	local_record(run, addr, &res);
}

/* The mailbox of user (resolution step 5). */
static void
local_mailbox(struct local_run *run, const struct local_src *src,
    const struct local_user *u, const char *addr, const char *ext)
{
	struct privs_cred user_cred, lock_cred;
	struct pbuf data = PBUF_INIT;
	struct privs_result res;
	struct mbox_opts o;
	struct mbox_msg m;
	struct local_vars v;
	struct stat sb;
	const char *hm = conf_str("home_mailbox");
	const char *mcmd = conf_str("mailbox_command");
	const char *mtr = conf_str("mailbox_transport");
	const char *spool = conf_str("mail_spool_directory");
	char *path = NULL, *command;
	char delim[2] = { '\0', '\0' };
	size_t hl;

	if (!local_first_visit(run, "mailbox", u->name) || !local_count_target(run, addr))
		return;
	if (mtr[0]) {
		/* mailbox_transport comes before mailbox_command (Postfix's order). */
		local_transport(run, src, "mailbox_transport", mtr, addr);
		return;
	}
	if (run->verify) {
		/*
		 * mailbox_command, home_mailbox and the spool alike: the local
		 * mailer. Whether the mailbox can be written is delivery's
		 * business (Sendmail's -bv does not look either).
		 */
		local_verify_ok(run, addr, "mailer local, user %s", u->name);
		return;
	}
	privs_cred_set(&user_cred, u->uid, u->gid);
	if (mcmd[0]) {
		struct privs_cred cmd_cred = user_cred;

		local_user_vars(&v, delim, u, addr, ext);
		command = local_expand(mcmd, &v);
		if (run->root && (u->uid == 0
		    || (run->have_mail_owner && u->uid == run->mail_owner))) {
			/* Never a command as root or mail_owner: default_privs. */
			if (local_cred_for(run, 0, &cmd_cred, NULL) < 0) {
				local_fail(run, addr, PRIVS_DEFER, "4.3.5",
				    "cannot run mailbox_command for %s: %s", u->name,
				    run->nobody_err);
				free(command);
				return;
			}
		}
		local_run_command(run, src, &cmd_cred, u, command, addr, addr, 1);
		free(command);
		return;
	}
	if (hm[0]) {
		if (stat(u->home, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
			local_fail(run, addr, PRIVS_DEFER, "4.3.0",
			    "cannot access home directory %s of user %s: %s", u->home,
			    u->name, errno ? strerror(errno) : "not a directory");
			log_warn("%s: user %s: home directory %s is missing or not a "
			    "directory: mail deferred", run->qid, u->name, u->home);
			return;
		}
		hl = strlen(u->home);
		path = xasprintf("%s%s%s", u->home,
		    hl && u->home[hl - 1] == '/' ? "" : "/", hm);
		if (hm[strlen(hm) - 1] == '/') {
			local_maildir(run, &user_cred, src->sender, path, addr, addr);
			free(path);
			return;
		}
		local_mbox_opts(&o, "mailbox");
		if (run->root) {
			o.want_owner = u->uid;
			o.create_uid = u->uid;
			o.create_gid = u->gid;
		}
		lock_cred = user_cred;
	} else {
		if (stat(spool, &sb) < 0) {
			local_fail(run, addr, PRIVS_DEFER, "4.3.0",
			    "cannot access mail spool directory %s: %s", spool,
			    strerror(errno));
			log_warn("%s: mail_spool_directory %s: %m", run->qid, spool);
			return;
		}
		path = xasprintf("%s/%s", spool, u->name);
		local_mbox_opts(&o, "mailbox");
		lock_cred = user_cred;
		if (run->root) {
			o.want_owner = u->uid;
			o.create_uid = u->uid;
			o.create_gid = u->gid;
			if (u->uid == 0) {
				/* root's own mailbox: written as root */
			} else if (sb.st_mode & S_IWOTH) {
				/* 1777 spool: the recipient does it all */
			} else if (sb.st_mode & S_IWGRP) {
				/* Debian root:mail 2775: lock and create with group mail */
				privs_cred_set(&lock_cred, u->uid, sb.st_gid);
				o.create_gid = sb.st_gid;
				o.create_mode = LOCAL_SPOOL_MODE_GROUP;
			} else {
				privs_cred_set(&lock_cred, 0, 0);
			}
		}
	}
	memset(&m, 0, sizeof(m));
	m.sender = src->sender;
	m.orig_to = run->orig_to;
	m.delivered_to = addr;
	m.content = run->content;
	m.len = run->len;
	mbox_format(&m, MBOX_F_MBOX, &data);
	mbox_deliver(path, data.data, data.len, &o, &lock_cred, &user_cred,
	    local_write_timeout(), &res);
	if (res.status != PRIVS_SENT && strstr(res.text, u->name) == NULL) {
		size_t tl = strlen(res.text);

		snprintf(res.text + tl, sizeof(res.text) - tl, " (user %s)", u->name);
	}
	local_record(run, addr, &res);
	pbuf_free(&data);
	free(path);
}

/* Reads and expands the user's .forward; 1 when one was used. */
static int
local_dotforward(struct local_run *run, const struct local_src *src,
    const struct local_user *u, const char *addr, const char *ext)
{
	struct strv paths = STRV_INIT, elems = STRV_INIT;
	struct pbuf text = PBUF_INIT;
	struct privs_cred cred;
	struct local_src sub;
	struct local_vars v;
	struct stat st, hs;
	char delim[2] = { '\0', '\0' }, err[512], *expanded, *fwdpath = NULL;
	const char *raw = conf_raw("forward_path");
	int used = 0, errnum;
	size_t i;

	if (raw == NULL || raw[0] == '\0')
		return 0;
	if (stat(u->home, &hs) < 0) {
		log_warn("%s: user %s: home directory %s: %m: no .forward file read",
		    run->qid, u->name, u->home);
		return 0;
	}
	local_user_vars(&v, delim, u, addr, ext);
	expanded = local_expand(raw, &v);
	strv_split(&paths, expanded, ", \t\r\n");
	free(expanded);
	privs_cred_set(&cred, u->uid, u->gid);
	for (i = 0; i < paths.n && !used; i++) {
		struct stat pre;
		size_t k;

		if (paths.v[i][0] != '/')
			continue;
		for (k = 0; k < i; k++)
			if (strcmp(paths.v[k], paths.v[i]) == 0)
				break;
		if (k < i)
			continue;	/* "$home/.forward" twice without an extension */
		/* Root sees every file: spare the fork when there is none. */
		if (run->root && lstat(paths.v[i], &pre) < 0
		    && (errno == ENOENT || errno == ENOTDIR))
			continue;
		pbuf_reset(&text);
		if (privs_read_file(&cred, paths.v[i], LOCAL_READ_LIMIT, &text, &st,
		    &errnum, err, sizeof(err)) < 0) {
			if (errnum == ENOENT || errnum == ENOTDIR)
				continue;
			if (errnum == EACCES && run->verify && !run->root) {
				/* Delivery reads it as the user: this answer may differ. */
				log_warn("%s is not readable with your rights (not "
				    "root): the result is shown as if it did not exist",
				    paths.v[i]);
				continue;
			}
			if (errnum == EACCES || errnum == EINVAL || errnum == EFBIG) {
				log_warn("%s: user %s: cannot use forward file: %s",
				    run->qid, u->name, err);
				continue;
			}
			/* Trouble we cannot judge (I/O, timeout): try again later. */
			local_fail(run, addr, PRIVS_DEFER, "4.3.0",
			    "cannot read forward file %s", err);
			log_warn("%s: user %s: cannot read forward file: %s", run->qid,
			    u->name, err);
			used = 1;
			break;
		}
		if (st.st_uid != u->uid && st.st_uid != 0) {
			log_warn("%s: user %s: ignoring %s: owned by uid %lu, not by the "
			    "user or root", run->qid, u->name, paths.v[i],
			    (unsigned long)st.st_uid);
			continue;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) || local_unsafe_dirs(paths.v[i])) {
			log_warn("%s: user %s: ignoring %s: the file or its directory is "
			    "writable by group or others", run->qid, u->name, paths.v[i]);
			continue;
		}
		strv_free(&elems);
		alias_split_include(pbuf_str(&text), text.len, &elems);
		if (elems.n == 0)
			continue;
		fwdpath = xstrdup(paths.v[i]);
		used = 1;
	}
	if (fwdpath) {
		struct local_user who;

		memset(&sub, 0, sizeof(sub));
		memset(&who, 0, sizeof(who));
		sub.kind = SRC_FORWARD;
		sub.sender = src->sender;
		sub.parent = addr;
		sub.origin = fwdpath;
		sub.depth = src->depth + 1;
		if (local_cred_for(run, u->uid, &sub.cred, &who) < 0) {
			local_fail(run, addr, PRIVS_DEFER, "4.3.5",
			    "cannot deliver for %s: %s", fwdpath, run->nobody_err);
		} else {
			/* Commands of a .forward see the user's HOME etc. */
			sub.who = u;
			local_expand_elements(run, &sub, &elems);
		}
		local_user_free(&who);
		free(fwdpath);
	}
	strv_free(&paths);
	strv_free(&elems);
	pbuf_free(&text);
	return used;
}

/* Alias expansion (step 2); 1 when name was an alias. */
static int
local_alias(struct local_run *run, const struct local_src *src, const char *name,
    const char *addr)
{
	char err[512], *value = NULL, *ovalue = NULL, *owner_name, *origin;
	char *sender = NULL;
	struct strv elems = STRV_INIT;
	struct local_user who;
	struct local_src sub;
	uid_t owner = 0, oowner;
	int rc;

	if (!local_first_visit(run, "alias", name))
		return 0;
	err[0] = '\0';
	rc = aliases_lookup(name, &value, &owner, err, sizeof(err));
	if (rc < 0) {
		local_fail(run, addr, PRIVS_DEFER, "4.3.0",
		    "alias database unavailable: %s", err[0] ? err : "lookup error");
		return 1;
	}
	if (rc == 0)
		return 0;
	memset(&sub, 0, sizeof(sub));
	memset(&who, 0, sizeof(who));
	sub.kind = SRC_ALIAS;
	sub.sender = src->sender;
	sub.parent = addr;
	sub.depth = src->depth + 1;
	origin = xasprintf("alias %s", name);
	sub.origin = origin;
	/* owner-NAME: the envelope sender for the expansion's errors. */
	owner_name = xasprintf("%s%s", LOCAL_OWNER_PREFIX, name);
	if (src->sender[0] != '\0' && aliases_lookup(owner_name, &ovalue, &oowner, err,
	    sizeof(err)) == 1) {
		sender = xasprintf("%s@%s", owner_name, run->myorigin);
		sub.sender = sender;
	}
	free(ovalue);
	free(owner_name);
	if (local_cred_for(run, owner, &sub.cred, &who) < 0) {
		local_fail(run, addr, PRIVS_DEFER, "4.3.5",
		    "cannot deliver for alias %s: %s", name, run->nobody_err);
	} else {
		sub.who = &who;
		alias_split_targets(value, &elems);
		if (elems.n == 0)
			log_warn("%s: alias %s expands to nothing", run->qid, name);
		local_expand_elements(run, &sub, &elems);
	}
	local_user_free(&who);
	strv_free(&elems);
	free(value);
	free(sender);
	free(origin);
	return 1;
}

/* One address met during resolution. */
static void
local_addr(struct local_run *run, const struct local_src *src, const char *addr_in)
{
	char *lp = NULL, *domain = NULL, *base = NULL, *ext = NULL, *lbase = NULL;
	char *llp = NULL, *qaddr = NULL, *relay = NULL;
	char delim[2];
	const char *addr = addr_in;
	struct local_user u;
	struct local_vars v;
	const char *outer_sender = run->err_sender;
	int noalias = 0, found;

	memset(&u, 0, sizeof(u));
	if (src->kind != SRC_RCPT && addr[0] == '\\') {
		noalias = 1;
		addr++;
	}
	if (addr[0] == '\0')
		return;
	if (src->kind != SRC_RCPT && strchr(addr, '@') && !local_is_local(addr)) {
		local_queue_forward(run, src, addr);
		return;
	}
	run->err_sender = src->sender;
	local_split_addr(addr, &lp, &domain);
	llp = local_lower(lp);
	qaddr = local_qualify(run, llp, domain);
	if (strv_find(&run->delivered, qaddr, 1) >= 0) {
		local_fail(run, qaddr, PRIVS_BOUNCE, "5.4.6",
		    "mail forwarding loop for %s", qaddr);
		log_warn("%s: mail forwarding loop for %s (Delivered-To: header)",
		    run->qid, qaddr);
		goto out;
	}
	if (src->depth > LOCAL_MAX_DEPTH) {
		local_fail(run, qaddr, PRIVS_BOUNCE, "5.4.6",
		    "mail forwarding loop for %s (more than %d nested expansions)",
		    qaddr, LOCAL_MAX_DEPTH);
		goto out;
	}
	local_split_ext(llp, &base, &ext, delim);
	lbase = xstrdup(base);
	/* Step 2: aliases, the whole local part then without extension. */
	if (!noalias) {
		if (local_alias(run, src, llp, qaddr))
			goto out;
		if (ext && local_alias(run, src, lbase, qaddr))
			goto out;
	}
	/* Step 3: the user. */
	found = local_user_by_name(lbase, &u);
	if (found < 0) {
		local_fail(run, qaddr, PRIVS_DEFER, "4.3.0",
		    "cannot look up user \"%s\": %s", lbase, strerror(errno));
		goto out;
	}
	if (found == 0) {
		const char *lr = conf_str("luser_relay");

		if (strcmp(lbase, "postmaster") == 0 || strcmp(lbase, "mailer-daemon") == 0) {
			/* Always deliverable: to root when nothing else takes it. */
			struct local_src sub = *src;

			sub.depth = src->depth + 1;
			sub.parent = qaddr;
			local_addr(run, &sub, "root");
			goto out;
		}
		if (conf_str("fallback_transport")[0] != '\0') {
			/* Unknown here: fallback_transport, before luser_relay (Postfix's order). */
			if (local_first_visit(run, "fallback", qaddr) && local_count_target(run, qaddr))
				local_transport(run, src, "fallback_transport",
				    conf_str("fallback_transport"), qaddr);
			goto out;
		}
		if (lr[0] && local_first_visit(run, "luser_relay", qaddr)) {
			struct local_src sub = *src;

			memset(&v, 0, sizeof(v));
			v.user = lbase;
			v.recipient = qaddr;
			v.extension = ext;
			v.domain = domain ? domain : run->myorigin;
			v.local = llp;
			v.delim = delim;
			relay = local_expand(conf_raw("luser_relay"), &v);
			sub.kind = SRC_ALIAS;	/* addresses only: no new rights */
			privs_cred_keep(&sub.cred);
			sub.unsafe = 1;
			sub.depth = src->depth + 1;
			sub.parent = qaddr;
			sub.origin = "luser_relay";
			if (!run->verify)
				log_info("%s: unknown user %s: sent to luser_relay %s",
				    run->qid, qaddr, relay);
			local_addr(run, &sub, relay);
			goto out;
		}
		if (!local_count_target(run, qaddr))
			goto out;
		if (run->verify)	/* Sendmail's words */
			local_fail(run, qaddr, PRIVS_BOUNCE, "5.1.1", "User unknown");
		else
			local_fail(run, qaddr, PRIVS_BOUNCE, "5.1.1",
			    "unknown user: \"%s\"", lbase);
		goto out;
	}
	/* Step 4: .forward. */
	if (!noalias && local_first_visit(run, "forward", u.name)
	    && local_dotforward(run, src, &u, qaddr, ext))
		goto out;
	/* Step 5: the mailbox. */
	local_mailbox(run, src, &u, qaddr, ext);
out:
	run->err_sender = outer_sender;
	local_user_free(&u);
	free(lp);
	free(llp);
	free(domain);
	free(base);
	free(lbase);
	free(ext);
	free(qaddr);
	free(relay);
}

/* ------------------------------------------------------------------ */
/* Forwarded copies */

struct local_fwd_job {
	struct qenv *e;
	const char *qdir;
	const char *content;
	size_t len;
};

static void
local_fwd_write(void *ctx, struct privs_result *res)
{
	struct local_fwd_job *j = ctx;
	char err[512];

	if (queue_write(j->qdir, QDIR_INCOMING, j->e, j->content, j->len,
	    LOCAL_QUEUE_MODE, err, sizeof(err)) < 0) {
		privs_result_set(res, PRIVS_DEFER, "4.3.0",
		    "cannot queue the forwarded message: %s", err);
		return;
	}
	privs_result_set(res, PRIVS_SENT, "2.0.0", "%s", j->e->id);
}

/* Writes one queue file per sender group; records each address. */
static void
local_write_forwards(struct local_run *run)
{
	struct privs_cred cred;
	struct privs_result res;
	struct local_fwd_job j;
	struct pbuf content = PBUF_INIT;
	struct qenv e;
	char *orcpt;
	size_t g, i;
	int woke = 0;

	for (g = 0; g < run->nfwd; g++) {
		struct local_fwd *f = &run->fwd[g];

		run->err_sender = f->sender;
		if (run->root) {
			if (!run->have_mail_owner) {
				privs_result_set(&res, PRIVS_DEFER, "4.3.5",
				    "cannot forward: mail_owner \"%s\" does not exist",
				    conf_str("mail_owner"));
				for (i = 0; i < f->addrs.n; i++)
					local_record(run, f->addrs.v[i], &res);
				continue;
			}
			privs_cred_set(&cred, run->mail_owner, run->mail_group);
		} else {
			privs_cred_keep(&cred);
		}
		qenv_init(&e);
		gettimeofday(&e.arrival, NULL);
		e.flags = run->env->flags & (QF_8BITMIME | QF_SMTPUTF8);
		qenv_set_sender(&e, f->sender);
		e.uid = run->env->uid;
		e.ret = run->env->ret;
		if (run->env->envid)
			e.envid = xstrdup(run->env->envid);
		orcpt = run->rcpt->orcpt ? xstrdup(run->rcpt->orcpt)
		    : qenv_orcpt_make(run->top);
		for (i = 0; i < f->addrs.n; i++)
			qenv_add_rcpt(&e, f->addrs.v[i], run->rcpt->notify, orcpt);
		free(orcpt);
		/* Delivered-To: lets a copy that comes back be seen as a loop. */
		pbuf_reset(&content);
		pbuf_printf(&content, "Delivered-To: %s\n", f->parents.v[0]);
		pbuf_append(&content, run->content, run->len);
		j.e = &e;
		j.qdir = conf_str("queue_directory");
		j.content = content.data;
		j.len = content.len;
		privs_run(&cred, (unsigned long)conf_time("command_time_limit")
		    * LOCAL_MS_PER_SEC, local_fwd_write, &j, &res);
		if (res.status == PRIVS_SENT) {
			char id[QID_LEN + 1];

			memcpy(id, res.text, QID_LEN);
			id[QID_LEN] = '\0';
			privs_result_set(&res, PRIVS_SENT, "2.0.0", "forwarded as %s", id);
			woke = 1;
		}
		for (i = 0; i < f->addrs.n; i++)
			local_record(run, f->addrs.v[i], &res);
		qenv_free(&e);
	}
	pbuf_free(&content);
	if (woke)
		qmgr_wake('W');
}

/* ------------------------------------------------------------------ */
/* Returning the destinations of a delivered list that failed */

struct local_notice_job {
	const struct local_run *run;
	const char *to;			/* the notice's recipient */
	const struct bounce_rcpt *br;
	size_t n;
};

/* In a child as mail_owner: builds the notice and queues it in incoming/. */
static void
local_notice_write(void *ctx, struct privs_result *res)
{
	struct local_notice_job *j = ctx;
	const struct local_run *run = j->run;
	struct bounce_opts o;
	struct queue_tx tx;
	struct pbuf msg = PBUF_INIT;
	struct qenv e;
	char err[512];
	size_t i;
	int rc;

	if (queue_tx_begin(conf_str("queue_directory"), QDIR_INCOMING, &tx, err,
	    sizeof(err)) < 0) {
		privs_result_set(res, PRIVS_DEFER, "4.3.0", "%s", err);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.kind = BOUNCE_FAILED;
	o.to = j->to;
	o.notice_id = tx.id;
	o.now = time(NULL);
	bounce_build_opts(&o, run->env, run->qid, run->content, run->len, j->br, j->n, &msg);
	qenv_init(&e);
	gettimeofday(&e.arrival, NULL);
	qenv_set_sender(&e, "");
	for (i = 0; i < msg.len; i++)
		if ((unsigned char)msg.data[i] & 0x80) {
			e.flags |= QF_8BITMIME;
			break;
		}
	qenv_set_attr(&e, "origin", "bounce");
	qenv_add_rcpt(&e, j->to, 0, NULL);
	rc = queue_tx_commit(&tx, &e, msg.data, msg.len, LOCAL_QUEUE_MODE, err, sizeof(err));
	if (rc < 0)
		privs_result_set(res, PRIVS_DEFER, "4.3.0", "%s", err);
	else
		privs_result_set(res, PRIVS_SENT, "2.0.0", "%s", e.id);
	qenv_free(&e);
	pbuf_free(&msg);
}

/*
 * The envelope recipient was delivered, but some destinations of its
 * expansion failed for good: like Postfix, each failure goes back to the
 * sender of its expansion (owner-LIST for a list that has one, else the
 * envelope sender), one notice per sender, honouring the recipient's
 * NOTIFY. Mail from <> gets no notice (logged). A notice that cannot be
 * queued is logged: the delivered destinations must not be repeated for it.
 */
static void
local_return_failed(struct local_run *run)
{
	struct privs_cred cred;
	struct privs_result res;
	struct local_notice_job j;
	struct bounce_rcpt *br;
	struct strv keep = STRV_INIT;
	size_t g, i, n;
	int woke = 0;

	if (run->rcpt->notify & QN_NEVER
	    || (run->rcpt->notify != 0 && !(run->rcpt->notify & QN_FAILURE)))
		return;
	if (run->root) {
		if (!run->have_mail_owner) {
			log_warn("%s: cannot return failed destinations of <%s>: mail_owner "
			    "\"%s\" does not exist", run->qid, run->top, conf_str("mail_owner"));
			return;
		}
		privs_cred_set(&cred, run->mail_owner, run->mail_group);
	} else {
		privs_cred_keep(&cred);
	}
	br = xcalloc(run->nbounced, sizeof(*br));
	for (g = 0; g < run->nbounced; g++) {
		const char *to = run->bounced[g].sender;

		/* The first failure of each sender gathers that sender's others. */
		for (i = 0; i < g; i++)
			if (strcmp(run->bounced[i].sender, to) == 0)
				break;
		if (i < g)
			continue;
		if (*to == '\0') {
			log_info("%s: failed destinations of <%s> not returned: the sender is <>",
			    run->qid, run->top);
			continue;
		}
		for (n = 0, i = g; i < run->nbounced; i++) {
			struct local_bounced *b = &run->bounced[i];
			char *diag;

			if (strcmp(b->sender, to) != 0)
				continue;
			memset(&br[n], 0, sizeof(br[n]));
			br[n].addr = b->addr;
			br[n].orcpt = run->rcpt->orcpt;
			br[n].dsn = b->res.dsn;
			br[n].reason = b->res.text;
			diag = xasprintf("x-unix; %s", b->res.text);
			strv_add_owned(&keep, diag);
			br[n].diagnostic = diag;
			n++;
		}
		j.run = run;
		j.to = to;
		j.br = br;
		j.n = n;
		privs_run(&cred, (unsigned long)conf_time("command_time_limit")
		    * LOCAL_MS_PER_SEC, local_notice_write, &j, &res);
		if (res.status == PRIVS_SENT) {
			log_info("%s: sender non-delivery notification: %.*s", run->qid,
			    QID_LEN, res.text);
			woke = 1;
		} else {
			log_warn("%s: cannot return failed destinations of <%s> to <%s>: %s",
			    run->qid, run->top, to, res.text);
		}
	}
	strv_free(&keep);
	free(br);
	if (woke)
		qmgr_wake('W');
}

/* ------------------------------------------------------------------ */
/* Entry points */

int
local_is_local(const char *addr)
{
	const char *at = strrchr(addr, '@');
	struct strv dests = STRV_INIT;
	size_t i, dl;
	int local = 0;

	if (at == NULL)
		return 1;
	at++;
	dl = strlen(at);
	while (dl > 0 && at[dl - 1] == '.')
		dl--;
	if (dl == 0)
		return 1;
	conf_list("mydestination", &dests);
	for (i = 0; i < dests.n && !local; i++) {
		const char *d = dests.v[i];
		size_t n = strlen(d);

		if (strchr(d, ':') || d[0] == '/')
			continue;	/* a map type: not supported here */
		while (n > 0 && d[n - 1] == '.')
			n--;
		if (n == dl && strncasecmp(d, at, dl) == 0)
			local = 1;
	}
	strv_free(&dests);
	return local;
}

static void
local_run_init(struct local_run *run, const struct qenv *env, const char *content,
    size_t len, const struct qrcpt *rcpt)
{
	char err[256];
	const char *dp;

	memset(run, 0, sizeof(*run));
	gettimeofday(&run->start, NULL);
	run->env = env;
	run->content = content;
	run->len = len;
	run->rcpt = rcpt;
	run->qid = env->id[0] ? env->id : "NOQUEUE";
	run->top = local_lower(rcpt->addr);
	run->orig_to = local_orcpt_addr(rcpt->orcpt);
	if (run->orig_to == NULL)
		run->orig_to = xstrdup(rcpt->addr);
	run->myorigin = conf_str("myorigin");
	run->root = privs_is_root();
	local_scan_delivered(content, len, &run->delivered);
	if (run->root) {
		if (instance_mail_owner(&run->mail_owner, &run->mail_group, err,
		    sizeof(err)) == 0)
			run->have_mail_owner = 1;
		dp = conf_str("default_privs");
		if (local_user_by_name(dp, &run->nobody) != 1) {
			snprintf(run->nobody_err, sizeof(run->nobody_err),
			    "default_privs user \"%s\" does not exist", dp);
		} else if (run->nobody.uid == 0 || (run->have_mail_owner
		    && run->nobody.uid == run->mail_owner)) {
			snprintf(run->nobody_err, sizeof(run->nobody_err),
			    "default_privs \"%s\" must not be root or mail_owner", dp);
		} else {
			run->nobody_ok = 1;
		}
		if (!run->nobody_ok)
			log_warn("%s", run->nobody_err);
	}
}

static void
local_run_free(struct local_run *run)
{
	size_t i;

	for (i = 0; i < run->nfwd; i++) {
		free(run->fwd[i].sender);
		strv_free(&run->fwd[i].addrs);
		strv_free(&run->fwd[i].parents);
	}
	free(run->fwd);
	for (i = 0; i < run->nbounced; i++) {
		free(run->bounced[i].addr);
		free(run->bounced[i].sender);
	}
	free(run->bounced);
	free(run->top);
	free(run->orig_to);
	strv_free(&run->delivered);
	strv_free(&run->visited);
	local_user_free(&run->nobody);
}

/*
 * The walk that delivery and verification share: the envelope recipient
 * through aliases, .forward, :include: ... down to each destination. The
 * caller blocks SIGCHLD: a handler of its own must not reap our children.
 */
static void
local_resolve(struct local_run *run, const char *sender)
{
	struct local_src src;

	memset(&src, 0, sizeof(src));
	src.kind = SRC_RCPT;
	privs_cred_keep(&src.cred);
	src.unsafe = 1;
	src.sender = sender;
	src.parent = run->top;
	src.origin = "the envelope";
	if (!local_is_local(run->top)) {
		if (run->verify)
			local_queue_forward(run, &src, run->top);
		else
			local_fail(run, run->top, PRIVS_DEFER, "4.3.5",
			    "recipient domain is not local (mydestination): %s", run->top);
		return;
	}
	local_addr(run, &src, run->top);
	if (run->nfwd)
		local_write_forwards(run);
}

void
local_deliver(const struct qenv *env, const char *content, size_t len,
    const struct qrcpt *rcpt, struct local_result *res)
{
	struct local_run run;
	sigset_t chld, saved;

	memset(res, 0, sizeof(*res));
	/* A SIGCHLD handler of the caller must not reap our children. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &saved);
	local_run_init(&run, env, content, len, rcpt);
	local_resolve(&run, env->sender ? env->sender : "");
	if (run.ndefer) {
		*res = run.first_defer;
	} else if (run.nsent) {
		*res = run.first_sent;
		if (run.nbounced)
			local_return_failed(&run);
	} else if (run.nbounce) {
		*res = run.first_bounce;
	} else {
		/* An expansion to nothing (an empty list): nothing to deliver. */
		res->status = LOCAL_SENT;
		snprintf(res->dsn, sizeof(res->dsn), "2.0.0");
		snprintf(res->text, sizeof(res->text), "alias expansion is empty");
		log_info("%s: to=<%s>, relay=local, dsn=2.0.0, status=sent (%s)",
		    run.qid, run.top, res->text);
	}
	local_run_free(&run);
	sigprocmask(SIG_SETMASK, &saved, NULL);
}

enum local_status
local_verify(const char *addr, const char *shown, struct strv *lines)
{
	struct local_run run;
	struct qenv env;
	struct qrcpt rcpt;
	sigset_t chld, saved;
	enum local_status status;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &saved);
	/* A message with no content, from <>, to addr: what delivery would see. */
	qenv_init(&env);
	gettimeofday(&env.arrival, NULL);
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.addr = xstrdup(addr);
	local_run_init(&run, &env, "", 0, &rcpt);
	run.verify = 1;
	run.lines = lines;
	run.shown = shown ? shown : addr;
	local_resolve(&run, "");
	if (run.nbounce)
		status = LOCAL_BOUNCE;
	else if (run.ndefer)
		status = LOCAL_DEFER;
	else
		status = LOCAL_SENT;
	if (run.nsent + run.nbounce + run.ndefer == 0)
		strv_add_owned(lines, xasprintf("%s... deliverable: the alias expands to "
		    "nothing (the message would be discarded)", run.shown));
	local_run_free(&run);
	free(rcpt.addr);
	qenv_free(&env);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return status;
}
