/*
 * mbox - appending one message to a UNIX mailbox file the way mail
 * readers (mutt, mailx, Dovecot) expect it, for mailbox delivery and for
 * /file targets of aliases and .forward files.
 *
 * Format (Postfix's mail_copy with its mailbox flags): a "From SENDER
 * DATE" line (asctime date, MAILER-DAEMON for the null sender),
 * Return-Path:, X-Original-To:, Delivered-To:, the content with every
 * line that begins "From " written as ">From ", a final newline when the
 * content lacks one, and one empty line.
 *
 * Locking (in this order, all bounded by lock_wait_ms): a dot-lock
 * PATH.lock created O_EXCL (a lock older than MBOX_DOTLOCK_STALE seconds
 * is removed as stale), then an fcntl write lock on the whole file. The
 * file is opened O_APPEND|O_NOFOLLOW and checked (lstat == fstat, regular,
 * one link, right owner); a missing one is created O_EXCL with the given
 * owner and mode. A failed write truncates the file back to the size it
 * had, so a mailbox never holds half a message.
 *
 * Privileges: mbox_append() works in the calling process with its ids.
 * mbox_deliver() switches the effective ids of the calling process
 * (privs_call, no fork, as Postfix's local does): the dot-lock and the
 * creation of the file use lock_cred (root or the spool's group, as
 * Postfix's local delivery does for /var/mail), the append itself runs as
 * write_cred.
 *
 * Errors go into a privs_result: 4.2.0 locked (defer), 4.3.0 system
 * trouble (defer), 5.2.2 mailbox full (EFBIG/EDQUOT: bounce), 5.2.0 an
 * unsafe mailbox file (symlink, hard link, not a regular file: bounce),
 * 4.2.0 a mailbox not owned by the recipient (defer, as Postfix).
 */
#ifndef PETREL_MBOX_H
#define PETREL_MBOX_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "pbuf.h"
#include "privs.h"

#define MBOX_DOTLOCK_STALE	300	/* seconds: a dot-lock this old is removed */
/*
 * While a lock is held the wait between tries starts short and doubles up
 * to the longer one: deliveries into one busy mailbox take milliseconds,
 * a mail reader holding it may take minutes.
 */
#define MBOX_LOCK_POLL_MIN_MS	1
#define MBOX_LOCK_POLL_MS	100

/* What mbox_format writes around the content. */
#define MBOX_F_FROM		(1u << 0)	/* "From sender  date" line */
#define MBOX_F_QUOTE		(1u << 1)	/* ">From " quoting */
#define MBOX_F_RETURN_PATH	(1u << 2)	/* Return-Path: <sender> */
#define MBOX_F_ORIG_TO		(1u << 3)	/* X-Original-To: */
#define MBOX_F_DELIVERED	(1u << 4)	/* Delivered-To: */
#define MBOX_F_BLANK		(1u << 5)	/* empty line after the message */
#define MBOX_F_MBOX		(MBOX_F_FROM | MBOX_F_QUOTE | MBOX_F_RETURN_PATH \
				 | MBOX_F_ORIG_TO | MBOX_F_DELIVERED | MBOX_F_BLANK)

struct mbox_msg {
	const char *sender;		/* envelope sender; "" = null sender */
	const char *orig_to;		/* X-Original-To value or NULL */
	const char *delivered_to;	/* Delivered-To value or NULL */
	const char *content;		/* the message, LF line endings */
	size_t len;
	time_t when;			/* date of the From_ line; 0 = now */
};

/* Appends the message in the form flags ask for to out. */
void mbox_format(const struct mbox_msg *m, unsigned flags, struct pbuf *out);

#define MBOX_DOTLOCK_NONE	0
#define MBOX_DOTLOCK_REQUIRED	1	/* failing to create it defers */
#define MBOX_DOTLOCK_TRY	2	/* an unwritable directory is no error */

#define MBOX_NO_UID	((uid_t)-1)
#define MBOX_NO_GID	((gid_t)-1)

struct mbox_opts {
	const char *what;		/* "mailbox" or "file", for the texts */
	unsigned long lock_wait_ms;	/* total bound on the lock waits */
	int dotlock;			/* MBOX_DOTLOCK_* */
	off_t size_limit;		/* file size limit while appending; 0 = none */
	int create;			/* create a missing file */
	mode_t create_mode;
	uid_t create_uid;		/* owner of a created file, or MBOX_NO_UID */
	gid_t create_gid;		/* group of a created file, or MBOX_NO_GID */
	uid_t want_owner;		/* defer when not owned by it; MBOX_NO_UID = any */
	int follow_root_symlink;	/* a symlink owned by root may be followed */
	int allow_special;		/* character devices etc. (e.g. /dev/null) */
};

/* Defaults: "mailbox", 10 s lock wait, dot-lock required, create 0600. */
void mbox_opts_init(struct mbox_opts *o);

/* Locks, opens (or creates), appends data as is, fsyncs, unlocks; here. */
void mbox_append(const char *path, const char *data, size_t len,
    const struct mbox_opts *o, struct privs_result *res);

/*
 * mbox_append with the privilege split described above. Lock waits are
 * bounded by o->lock_wait_ms; timeout_ms is kept for callers and unused.
 */
void mbox_deliver(const char *path, const char *data, size_t len,
    const struct mbox_opts *o, const struct privs_cred *lock_cred,
    const struct privs_cred *write_cred, unsigned long timeout_ms,
    struct privs_result *res);

#endif
