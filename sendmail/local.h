/*
 * local - final delivery of one envelope recipient on this host
 * (spec/aliases.md, issue "Local delivery").
 *
 * For a recipient whose domain is local (mydestination, or none) it
 * resolves, in Postfix local(8)'s order: recipient_delimiter extension,
 * aliases (recursively, with loop detection, owner-NAME as the sender of
 * a list's errors), ~/.forward (forward_path), then the mailbox:
 * home_mailbox (Maildir when it ends in '/', else an mbox in the home),
 * mailbox_command, or mail_spool_directory/USER (mbox, fcntl + dot-lock,
 * From_ line, >From quoting, Return-Path:, Delivered-To:; truncated back
 * on a failed write), luser_relay for unknown users. Targets /file and
 * |command come only from aliases, .forward or :include: (never from the
 * envelope), subject to allow_mail_to_files/commands, and run with the
 * rights spec/aliases.md §5 gives (never root). Addresses that are not
 * local are forwarded: a new queue file with the same content goes into
 * incoming/ for the queue manager. local_verify (sendmail -bv) walks
 * the same resolution and reports it without delivering.
 *
 * Runs as root (or as the user of an unprivileged instance); every write
 * to a mailbox, file or command happens in a child that has dropped to
 * the right uid first.
 */
#ifndef PETREL_LOCAL_H
#define PETREL_LOCAL_H

#include <stddef.h>

#include "qfile.h"
#include "strv.h"

enum local_status {
	LOCAL_SENT = 0,		/* delivered (or forwarded), recipient done */
	LOCAL_DEFER = 4,	/* temporary: retry later */
	LOCAL_BOUNCE = 5,	/* permanent: return to the sender */
};

struct local_result {
	enum local_status status;
	char dsn[16];		/* "2.0.0", "4.2.0", "5.1.1", ... */
	char text[512];		/* "delivered to mailbox", "delivered to command: ...",
				   "unknown user: \"x\"", "cannot update mailbox ...: ..." */
};

/*
 * Delivers the message (env + content, LF line endings) to one envelope
 * recipient. queue_id is for the log lines, which are written here in
 * Postfix's shape ("ID: to=<...>, orig_to=<...>, relay=local, delay=...,
 * delays=..., dsn=2.0.0, status=sent (delivered to mailbox)"). Never
 * exits the process.
 */
void local_deliver(const struct qenv *env, const char *content, size_t len,
    const struct qrcpt *rcpt, struct local_result *res);

/*
 * sendmail -bv: resolves addr (qualified; see addr_qualify) the way
 * local_deliver would, by the same code, but delivers, queues and logs
 * nothing. Appends one line per final destination to lines, in
 * Sendmail's -bv shape:
 *   "alice@host... deliverable: mailer local, user alice"
 *   "|/usr/bin/foo... deliverable: mailer prog, user |/usr/bin/foo"
 *   "/var/log/x... deliverable: mailer *file*, user /var/log/x"
 *   "bob@example.org... deliverable: mailer smtp, host example.org, user bob@example.org"
 *   "nosuch... User unknown", "list... <reason>", "x... Deferred: <reason>"
 * The envelope recipient itself is shown as shown (the address as typed;
 * NULL: addr). .forward and :include: files are read as delivery reads
 * them when the process is root; otherwise with the caller's rights, and
 * a .forward the caller may not read is skipped with a note on stderr.
 * Returns LOCAL_SENT when every destination is deliverable, LOCAL_BOUNCE
 * when one is not, else LOCAL_DEFER when one could not be checked now.
 */
enum local_status local_verify(const char *addr, const char *shown, struct strv *lines);

/* 1 when addr's domain is delivered on this host (none, or in mydestination). */
int local_is_local(const char *addr);

#endif
