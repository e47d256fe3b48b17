/*
 * user - who a uid is, for the envelope sender and the From: full name.
 *
 * Only the uid counts (never $USER or $LOGNAME: spec/sendmail-cli.md §2.6).
 * A uid without a passwd entry (containers run with arbitrary uids) is
 * "nobody", so submission never fails for want of a login name; the uid
 * itself is logged with every submission.
 */
#ifndef PETREL_USER_H
#define PETREL_USER_H

#include <sys/types.h>

#define USER_UNKNOWN_LOGIN	"nobody"
#define USER_WHO_MAX		320	/* "login(uid)" */

struct user_info {
	long uid;
	char *login;
	char *full_name;	/* GECOS up to the first comma, '&' = capitalised login; may be NULL */
	char *home;		/* NULL when unknown */
	int known;		/* 1 when the uid has a passwd entry */
};

void user_lookup_uid(long uid, struct user_info *u);
void user_info_free(struct user_info *u);

/*
 * Whether login may do what the list parameter param allows
 * (authorized_submit_users, authorized_mailq_users,
 * authorized_flush_users): "static:anyone", login names, "!name" to
 * refuse; the first match decides, no match refuses. 1 when allowed.
 */
int user_authorized(const char *param, const char *login);

/*
 * The same for the queue commands (mailq, flush): the superuser and
 * mail_owner are always allowed, as Postfix's postqueue does.
 */
int user_queue_authorized(const char *param, long uid, const char *login);

/*
 * user_queue_authorized() for the calling process's real uid; who gets
 * "login(uid)" for the refusal message.
 */
int user_self_queue_authorized(const char *param, char *who, size_t wholen);

#endif
