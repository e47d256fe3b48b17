/*
 * instance - configuration, queue location, master lock and privileges of
 * one instance; see instance.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "instance.h"
#include "log.h"
#include "xalloc.h"

int
instance_load(const char *config_arg, char *err, size_t errlen)
{
	char *dir = conf_find_dir(config_arg);
	const char *logfile;
	int rc;

	rc = conf_load(dir, err, errlen);
	free(dir);
	if (rc < 0)
		return -1;
	if (log_set_syslog(conf_str("syslog_name"), conf_str("syslog_facility")) < 0)
		log_warn("syslog_name \"%s\" or syslog_facility \"%s\" is unusable: it is ignored",
		    conf_str("syslog_name"), conf_str("syslog_facility"));
	logfile = conf_str("maillog_file");
	if (*logfile && log_set_file(logfile, conf_str("myhostname")) < 0) {
		/* An unprivileged submitter may not write the log: syslog still works. */
		log_set_file(NULL, NULL);
	}
	return 0;
}

const char *
instance_queue_dir(void)
{
	return conf_str("queue_directory");
}

char *
instance_path(const char *rel)
{
	return xasprintf("%s/%s", instance_queue_dir(), rel);
}

pid_t
instance_master_pid(void)
{
	char *path = instance_path(INSTANCE_PID_FILE);
	struct flock fl;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	close(fd);
	return fl.l_pid;
}

int
instance_mail_owner(uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	const char *name = conf_str("mail_owner");
	struct passwd *pw = getpwnam(name);

	if (pw == NULL) {
		snprintf(err, errlen, "mail_owner user \"%s\" does not exist"
		    " (create it: useradd --system --no-create-home --shell /usr/sbin/nologin %s)",
		    name, name);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "mail_owner \"%s\" has uid 0: it must be an unprivileged user",
		    name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
instance_setgid_group(gid_t *gid, char *err, size_t errlen)
{
	const char *name = conf_str("setgid_group");
	struct group *gr = getgrnam(name);

	if (gr == NULL) {
		snprintf(err, errlen, "setgid_group \"%s\" does not exist"
		    " (create it: groupadd --system %s)", name, name);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

int
instance_is_admin(void)
{
	struct stat st;

	if (geteuid() == 0)
		return 1;
	if (stat(instance_queue_dir(), &st) == 0 && st.st_uid == geteuid())
		return 1;
	return 0;
}

static pid_t instance_parent;

void
instance_watch_parent(pid_t parent)
{
	instance_parent = parent;
	instance_rearm_parent_watch();
}

void
instance_rearm_parent_watch(void)
{
	if (instance_parent > 0)
		prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
}

int
instance_parent_gone(void)
{
	return instance_parent > 0 && getppid() != instance_parent;
}

void
instance_drop_privileges(void)
{
	char err[256];
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return;
	if (instance_mail_owner(&uid, &gid, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0
	    || setresuid(uid, uid, uid) < 0)
		log_fatal("cannot drop privileges to mail_owner %s: %m", conf_str("mail_owner"));
	if (geteuid() != uid || getuid() != uid || getegid() != gid
	    || setresuid(0, 0, 0) == 0)
		log_fatal("privileges were not dropped to mail_owner %s", conf_str("mail_owner"));
	instance_rearm_parent_watch();
#ifdef PETREL_SANITIZERS
	/* Changing uid makes a process non-dumpable, which stops LeakSanitizer. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
}

int
instance_sockaddr(const char *rel, struct sockaddr_un *sun)
{
	char *path = instance_path(rel);
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len >= sizeof(sun->sun_path)) {
		log_warn("socket path too long: %s", path);
		free(path);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, len + 1);
	free(path);
	return 0;
}

int
instance_connect(const char *rel_socket)
{
	struct sockaddr_un sun;
	int fd;

	if (instance_sockaddr(rel_socket, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
