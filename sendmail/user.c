/*
 * user - uid to login name and full name; see user.h.
 */
#include "config.h"

#include <ctype.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "pbuf.h"
#include "strv.h"
#include "user.h"
#include "xalloc.h"

static char *
user_gecos_name(const char *gecos, const char *login)
{
	struct pbuf b = PBUF_INIT;
	const char *p;

	for (p = gecos; *p && *p != ','; p++) {
		if (*p == '&') {
			pbuf_putc(&b, toupper((unsigned char)login[0]));
			if (login[0])
				pbuf_puts(&b, login + 1);
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

void
user_lookup_uid(long uid, struct user_info *u)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	memset(u, 0, sizeof(*u));
	u->uid = uid;
	if (pw == NULL) {
		u->login = xstrdup(USER_UNKNOWN_LOGIN);
		return;
	}
	u->known = 1;
	u->login = xstrdup(pw->pw_name);
	u->home = pw->pw_dir ? xstrdup(pw->pw_dir) : NULL;
	if (pw->pw_gecos)
		u->full_name = user_gecos_name(pw->pw_gecos, pw->pw_name);
}

void
user_info_free(struct user_info *u)
{
	free(u->login);
	free(u->full_name);
	free(u->home);
	memset(u, 0, sizeof(*u));
}

int
user_authorized(const char *param, const char *login)
{
	struct strv list = STRV_INIT;
	size_t i;
	int allowed = 0;

	conf_list(param, &list);
	for (i = 0; i < list.n; i++) {
		const char *w = list.v[i];
		int neg = w[0] == '!';

		if (neg)
			w++;
		if (strcmp(w, "static:anyone") == 0 || strcmp(w, login) == 0) {
			allowed = !neg;
			break;
		}
	}
	strv_free(&list);
	return allowed;
}

int
user_queue_authorized(const char *param, long uid, const char *login)
{
	return uid == 0 || strcmp(login, conf_str("mail_owner")) == 0 || user_authorized(param, login);
}

int
user_self_queue_authorized(const char *param, char *who, size_t wholen)
{
	struct user_info u;
	int ok;

	user_lookup_uid((long)getuid(), &u);
	snprintf(who, wholen, "%s(%ld)", u.login, u.uid);
	ok = user_queue_authorized(param, u.uid, u.login);
	user_info_free(&u);
	return ok;
}
