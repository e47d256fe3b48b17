/*
 * instance - one Petrel instance as a program sees it: its configuration,
 * its queue directory, whether its master runs, and the privileges its
 * daemons take.
 *
 * An instance is its configuration directory: main.cf names the queue,
 * and the master holds an exclusive fcntl lock on
 * queue_directory/pid/master.pid while it runs, so "running" is a fact
 * the kernel keeps (a pid file alone can lie after a crash), and two
 * masters can never share one queue.
 *
 * Started by root, the daemons drop to mail_owner; started by anyone else
 * (a container, a test), every process stays that user.
 */
#ifndef PETREL_INSTANCE_H
#define PETREL_INSTANCE_H

#include <stddef.h>
#include <sys/types.h>

#define INSTANCE_PID_FILE	"pid/master.pid"

/*
 * Finds and loads the configuration (conf_find_dir(arg), conf_load) and
 * points logging at maillog_file when set (falling back to syslog when it
 * cannot be opened). -1 with err on failure.
 */
int instance_load(const char *config_arg, char *err, size_t errlen);

/* The expanded queue_directory. */
const char *instance_queue_dir(void);
/* queue_directory/rel, malloc'd. */
char *instance_path(const char *rel);

/* The pid of the running master, or 0 when none holds the lock. */
pid_t instance_master_pid(void);

/* The mail_owner's uid/gid; -1 with err when the user does not exist. */
int instance_mail_owner(uid_t *uid, gid_t *gid, char *err, size_t errlen);
/* The setgid_group's gid; -1 with err when the group does not exist. */
int instance_setgid_group(gid_t *gid, char *err, size_t errlen);

/*
 * 1 when this process may act as the instance's administrator: root, or
 * the owner of queue_directory (an unprivileged instance).
 */
int instance_is_admin(void);

/*
 * Drops to mail_owner when running as root (setgroups, setresgid,
 * setresuid, then verifies); does nothing for an unprivileged instance.
 * Fatal on failure: a daemon must never go on with the wrong rights.
 */
void instance_drop_privileges(void);

/*
 * The master's children die with it: instance_watch_parent() asks the
 * kernel for SIGTERM when parent dies (PR_SET_PDEATHSIG). The kernel
 * forgets that request whenever the process's ids change, so
 * instance_drop_privileges() and instance_rearm_parent_watch() (after a
 * delivery that switched effective ids) ask again, and the workers' loops
 * also look at instance_parent_gone() each time they wake (at least once
 * a second): a worker never outlives its master to hold locks and sockets
 * a new master's workers need.
 */
void instance_watch_parent(pid_t parent);
void instance_rearm_parent_watch(void);
int instance_parent_gone(void);

struct sockaddr_un;
/* Fills sun with queue_directory/rel; -1 with errno ENAMETOOLONG (logged) when too long. */
int instance_sockaddr(const char *rel, struct sockaddr_un *sun);

/* Connects to a unix socket under the queue directory; -1 when nobody listens. */
int instance_connect(const char *rel_socket);

#endif
