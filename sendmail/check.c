/*
 * check - the integrity check behind petrel check and petrel start.
 *
 * The expected layout is doc/queue-format.md's table. For an instance run
 * by root the owners are root, mail_owner and setgid_group; for an
 * unprivileged instance (started by another user) everything belongs to
 * that user and group.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "instance.h"
#include "log.h"
#include "postconf.h"
#include "queue.h"
#include "xalloc.h"

enum check_owner { OWN_ROOT, OWN_MAIL };
enum check_group { GRP_ROOT, GRP_MAIL, GRP_DROP };

struct check_dir {
	const char *name;	/* under queue_directory; "" = itself */
	enum check_owner owner;
	enum check_group group;
	mode_t mode;
	int has_queue_files;	/* files inside must belong to mail_owner */
};

static const struct check_dir check_dirs[] = {
	{ "", OWN_ROOT, GRP_ROOT, 0755, 0 },
	{ QDIR_MAILDROP, OWN_MAIL, GRP_DROP, 01730, 0 },
	{ QDIR_INCOMING, OWN_MAIL, GRP_MAIL, 0700, 1 },
	{ QDIR_ACTIVE, OWN_MAIL, GRP_MAIL, 0700, 1 },
	{ QDIR_DEFERRED, OWN_MAIL, GRP_MAIL, 0700, 1 },
	{ QDIR_HOLD, OWN_MAIL, GRP_MAIL, 0700, 1 },
	{ QDIR_CORRUPT, OWN_MAIL, GRP_MAIL, 0700, 0 },
	{ "defer", OWN_MAIL, GRP_MAIL, 0700, 1 },
	{ QDIR_PUBLIC, OWN_MAIL, GRP_MAIL, 0755, 0 },
	{ "private", OWN_MAIL, GRP_MAIL, 0700, 0 },
	{ QDIR_PID, OWN_ROOT, GRP_ROOT, 0755, 0 },
	{ NULL, 0, 0, 0, 0 },
};

struct check_ids {
	uid_t root_uid, mail_uid;
	gid_t root_gid, mail_gid, drop_gid;
};

static int
check_ids(struct check_ids *ids)
{
	char err[512];

	if (geteuid() != 0) {
		/* An unprivileged instance: one user owns everything. */
		ids->root_uid = ids->mail_uid = geteuid();
		ids->root_gid = ids->mail_gid = ids->drop_gid = getegid();
		return 0;
	}
	ids->root_uid = 0;
	ids->root_gid = 0;
	if (instance_mail_owner(&ids->mail_uid, &ids->mail_gid, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (instance_setgid_group(&ids->drop_gid, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static uid_t
check_uid(const struct check_ids *ids, enum check_owner o)
{
	return o == OWN_ROOT ? ids->root_uid : ids->mail_uid;
}

static gid_t
check_gid(const struct check_ids *ids, enum check_group g)
{
	return g == GRP_ROOT ? ids->root_gid : g == GRP_MAIL ? ids->mail_gid : ids->drop_gid;
}

/*
 * Names of uids and gids. getpwuid() and getgrgid() reuse one static
 * buffer, so each name is copied into a small ring: one message may name
 * up to CHECK_NAME_RING of them.
 */
#define CHECK_NAME_RING	8
#define CHECK_NAME_MAX	64

static const char *
check_name_copy(const char *name)
{
	static char ring[CHECK_NAME_RING][CHECK_NAME_MAX];
	static int next;
	char *slot = ring[next];

	next = (next + 1) % CHECK_NAME_RING;
	snprintf(slot, CHECK_NAME_MAX, "%s", name);
	return slot;
}

static const char *
check_user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	char num[32];

	if (pw)
		return check_name_copy(pw->pw_name);
	snprintf(num, sizeof(num), "%ld", (long)uid);
	return check_name_copy(num);
}

static const char *
check_group_name(gid_t gid)
{
	struct group *gr = getgrgid(gid);
	char num[32];

	if (gr)
		return check_name_copy(gr->gr_name);
	snprintf(num, sizeof(num), "%ld", (long)gid);
	return check_name_copy(num);
}

static char *
check_path(const char *name)
{
	return *name ? instance_path(name) : xstrdup(instance_queue_dir());
}

static int
check_make_dir(const struct check_dir *d, const struct check_ids *ids)
{
	char *path = check_path(d->name);
	int rc = 0;

	if (mkdir(path, 0700) < 0) {
		if (errno != EEXIST) {
			log_error("cannot create %s: %m", path);
			rc = -1;
		}
		goto out;
	}
	if (chown(path, check_uid(ids, d->owner), check_gid(ids, d->group)) < 0
	    || chmod(path, d->mode) < 0) {
		log_error("cannot set owner and mode of %s: %m", path);
		rc = -1;
		goto out;
	}
	log_info("created %s", path);
out:
	free(path);
	return rc;
}

int
check_create_dirs(void)
{
	struct check_ids ids;
	int i, rc = 0;

	if (check_ids(&ids) < 0)
		return -1;
	for (i = 0; check_dirs[i].name; i++)
		if (check_make_dir(&check_dirs[i], &ids) < 0)
			rc = -1;
	return rc;
}

/* Queue files must belong to mail_owner (root-owned ones could not be rewritten). */
static int
check_files(const char *dirpath, uid_t want_uid)
{
	DIR *dir = opendir(dirpath);
	struct dirent *de;
	int faults = 0;

	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dirpath, de->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid != want_uid) {
			log_error("%s is owned by %s, not %s: fix with: chown %s %s", p,
			    check_user_name(st.st_uid), check_user_name(want_uid),
			    check_user_name(want_uid), p);
			faults++;
		}
		free(p);
	}
	closedir(dir);
	return faults;
}

static int
check_dir(const struct check_dir *d, const struct check_ids *ids)
{
	char *path = check_path(d->name);
	uid_t uid = check_uid(ids, d->owner);
	gid_t gid = check_gid(ids, d->group);
	struct stat st;
	int faults = 0;

	if (lstat(path, &st) < 0) {
		log_error("%s: %m", path);
		free(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("%s is not a directory: remove it and run petrel check again", path);
		free(path);
		return 1;
	}
	if (st.st_uid != uid || st.st_gid != gid) {
		log_error("%s is owned by %s:%s, not %s:%s: fix with: chown %s:%s %s", path,
		    check_user_name(st.st_uid), check_group_name(st.st_gid),
		    check_user_name(uid), check_group_name(gid),
		    check_user_name(uid), check_group_name(gid), path);
		faults++;
	}
	if ((st.st_mode & 07777) != d->mode) {
		log_error("%s has mode %04o, not %04o: fix with: chmod %04o %s", path,
		    (unsigned)(st.st_mode & 07777), (unsigned)d->mode, (unsigned)d->mode, path);
		faults++;
	}
	if (d->has_queue_files)
		faults += check_files(path, ids->mail_uid);
	free(path);
	return faults;
}

/* main.cf and master.cf must not be writable by anyone but their owner. */
static int
check_config_files(void)
{
	static const char *const names[] = { "main.cf", "master.cf", NULL };
	int i, faults = 0;

	for (i = 0; names[i]; i++) {
		char *p = xasprintf("%s/%s", conf_dir(), names[i]);
		struct stat st;

		if (stat(p, &st) == 0 && (st.st_mode & 022)) {
			log_error("%s is writable by group or others: fix with: chmod go-w %s", p, p);
			faults++;
		}
		free(p);
	}
	return faults;
}

int
check_run(void)
{
	struct check_ids ids;
	int i, faults = 0;

	if (check_ids(&ids) < 0)
		return 1;
	if (check_create_dirs() < 0)
		faults++;
	for (i = 0; check_dirs[i].name; i++)
		faults += check_dir(&check_dirs[i], &ids);
	faults += check_config_files();
	postconf_warn_unused("petrel conf");
	return faults;
}
