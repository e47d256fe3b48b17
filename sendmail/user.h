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

struct user_info {
	long uid;
	char *login;
	char *full_name;	/* GECOS up to the first comma, '&' = capitalised login; may be NULL */
	char *home;		/* NULL when unknown */
	int known;		/* 1 when the uid has a passwd entry */
};

void user_lookup_uid(long uid, struct user_info *u);
void user_info_free(struct user_info *u);

#endif
