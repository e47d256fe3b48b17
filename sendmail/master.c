/*
 * master - supervisor, lock holder and worker factory; see master.h.
 *
 * The master never touches mail itself: it only keeps the lock, the
 * listening sockets and the workers alive, so a bug in message handling
 * can kill a worker but never the instance. Signals are blocked and read
 * from a signalfd in the same poll() that watches the inet listeners of
 * master.cf, so no handler races with the loop.
 *
 * SMTP: the master alone accepts, and hands each connection to an idle
 * smtpd process of that service over the process's own socketpair
 * (SOCK_SEQPACKET, one byte MASTER_CTL_CONN with the descriptor as
 * SCM_RIGHTS). An smtpd process applies the service's -o overrides,
 * loads TLS and drops to mail_owner once, then runs one session
 * (smtpd.h) after another, answering MASTER_CTL_IDLE each time its client
 * is gone. A new process is forked only when the service has no idle
 * one and fewer than maxproc processes (idle + busy; Postfix's model,
 * without its shared accept(): the master keeps every check in one
 * place). A process exits after max_use clients (its own count), when
 * the master closes its socketpair (idle for the service's max_idle; a
 * reload: idle ones at once, busy ones when their client is gone), on
 * SIGTERM (petrel stop; a session under way ends with 421), or with the
 * master (PR_SET_PDEATHSIG, and the socketpair's end of file). A process
 * that died while idle is noticed at the latest when a client cannot be
 * handed to it, and the client goes to another one. The master, not the
 * process, times max_idle out: a process never exits while a client is
 * on its way to it. A process says it is idle as soon as its client is
 * gone (before the "disconnect from" line), the master reads those words
 * before its listeners' news and again before it forks, and it picks the
 * process that went idle last: sequential clients meet the same process,
 * and surplus ones reach max_idle. When every one of the service's
 * maxproc (default_process_limit) processes is busy, or the client
 * already has smtpd_client_connection_count_limit sessions (busy
 * processes' clients; mynetworks exempt), the master itself answers 421
 * 4.7.0 and closes. The process limit is logged at most once per
 * MASTER_BUSY_LOG_SECONDS per
 * service, with the count of clients refused since the previous warning
 * (a flood of 1,000 connections gives one line, not 1,000; Postfix's
 * master warns at most once per 1,000 seconds); a refusal for the
 * per-client limit is logged every time, with the client's address.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netdb.h>
#include <time.h>
#include <unistd.h>

#include "cleanup_hook.h"
#include "conf.h"
#include "fileio.h"
#include "inet.h"
#include "instance.h"
#include "localsvc.h"
#include "smtp_deliver.h"
#include "smtp_sasl.h"
#include "smtp_tls_policy.h"
#include "log.h"
#include "master.h"
#include "queue.h"
#include "pickup.h"
#include "qmgr.h"
#include "smtpd.h"
#include "smtpd_check.h"
#include "submitd.h"
#include "virtual.h"
#include "strv.h"
#include "xalloc.h"

/*
 * The queue manager may connect once per slot before the smtp workers
 * have grown to take them (LOCALSVC_WORKERS_MAX): its connect() must not
 * block on a full queue (the kernel caps it at net.core.somaxconn).
 */
#define MASTER_LISTEN_BACKLOG	(2 * LOCALSVC_WORKERS_MAX)
#define MASTER_SOCKET_MODE	0666
#define MASTER_PID_MODE		0644
#define MASTER_BUSY_LOG_SECONDS	60	/* "all processes busy" at most this often per service */

enum worker_role { ROLE_PICKUP, ROLE_SUBMIT, ROLE_QMGR, ROLE_LOCAL, ROLE_SMTP };

struct worker {
	enum worker_role role;
	pid_t pid;		/* 0 when not running */
	time_t started;
	time_t next_start;	/* respawn not before this */
};

/* pickup, the submit workers, qmgr, the local workers, then the smtp workers. */
static struct worker *workers;
static int nworkers;
static int submit_fd = -1, showq_fd = -1, lock_fd = -1, qmgr_fd = -1, local_fd = -1;
static int smtp_fd = -1;

/*
 * smtp workers start on demand: one always runs; one more is started
 * whenever a connection to private/smtp is still waiting
 * MASTER_SMTP_GROW_MS after the master saw it, up to smtp_max (the smtp
 * service's process limit, localsvc_workers). A worker ends after
 * max_idle with no request, or after max_use; either way one fewer is
 * kept running (at least one), and demand starts them again.
 */
static int smtp_base = -1;	/* index of the first smtp worker */
static int smtp_max;		/* smtp workers at most */
static int smtp_want = 1;	/* smtp workers to keep running */
static time_t smtp_next_start;	/* after a failed smtp worker: none starts before */
static long long smtp_check_at;	/* monotonic ms of the pending check, 0: none */
static int signal_fd = -1;

/*
 * The inet services of master.cf and their smtpd processes. Each process
 * serves one client after another: the master hands it an accepted
 * connection over its own socketpair (MASTER_CTL_CONN with the descriptor
 * as SCM_RIGHTS) and the process answers MASTER_CTL_IDLE when that client
 * is gone. A process the master closes the socketpair on (max_idle, a
 * reload, its end of the pair gone) exits; so does one after max_use
 * clients, without going idle.
 */
static struct inet_services inet_svcs;
struct master_session {
	pid_t pid;
	size_t svc;		/* index in inet_svcs, SIZE_MAX once the service is gone */
	int ctl;		/* the master's end of the socketpair; -1: told to exit */
	int busy;		/* serving the client in addr */
	int retire;		/* a reload came: exit after this client instead of going idle */
	long long idle_since;	/* monotonic ms, while idle */
	long long max_idle_ms;	/* the service's max_idle when the process started */
	char addr[SMTPD_NAME_MAX];	/* the client's address while busy, else "" */
};
static struct master_session *sessions;
static size_t nsessions;

#define MASTER_CTL_CONN		'c'	/* master to smtpd: a client (its descriptor attached) */
#define MASTER_CTL_IDLE		'i'	/* smtpd to master: that client is gone, send the next */

/* In an smtpd process: its end of the socketpair, clients served, max_use. */
static int session_ctl = -1;
static long session_served, session_max_use;

#define MASTER_POLL_MS		1000
#define MASTER_ACCEPT_BURST	64	/* connections accepted per listener per round */
#define MASTER_SMTP_GROW_MS	100	/* a private/smtp connection waiting this long starts a worker */

static int
master_take_lock(void)
{
	char *path = instance_path(INSTANCE_PID_FILE);
	char line[32];
	struct flock fl;
	int n;

	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, MASTER_PID_MODE);
	if (lock_fd < 0) {
		log_error("open %s: %m", path);
		free(path);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(lock_fd, F_SETLK, &fl) < 0) {
		log_error("the Petrel mail system is already running (lock %s is held)", path);
		free(path);
		return -1;
	}
	/* Postfix's layout: the pid right-aligned in ten columns. */
	n = snprintf(line, sizeof(line), "%10ld\n", (long)getpid());
	if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, line, (size_t)n, 0) != n)
		log_warn("cannot write %s: %m", path);
	free(path);
	return 0;
}

/*
 * Binds a unix socket under the queue directory: type SOCK_STREAM (then
 * listens) or SOCK_DGRAM (the qmgr trigger), with that mode and owner.
 */
static int
master_listen(const char *rel, int type, mode_t mode, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun;
	char *path;
	int fd;

	if (instance_sockaddr(rel, &sun) < 0)
		return -1;
	path = sun.sun_path;
	/* Non-blocking: several workers poll one socket and only one wins accept(). */
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_error("socket: %m");
		return -1;
	}
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0
	    || chmod(path, mode) < 0
	    || (geteuid() == 0 && chown(path, uid, gid) < 0)
	    || (type == SOCK_STREAM && listen(fd, MASTER_LISTEN_BACKLOG) < 0)) {
		log_error("cannot listen on %s: %m", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
master_open_sockets(void)
{
	char err[512];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (geteuid() == 0 && instance_mail_owner(&uid, &gid, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	submit_fd = master_listen(QUEUE_SUBMIT_SOCKET, SOCK_STREAM, MASTER_SOCKET_MODE, uid, gid);
	showq_fd = master_listen(QUEUE_SHOWQ_SOCKET, SOCK_STREAM, MASTER_SOCKET_MODE, uid, gid);
	/* A wake-up is harmless: anyone may send one. Only qmgr may ask for delivery. */
	qmgr_fd = master_listen(QMGR_TRIGGER_SOCKET, SOCK_DGRAM, MASTER_SOCKET_MODE, uid, gid);
	local_fd = master_listen(LOCALSVC_SOCKET, SOCK_STREAM, LOCALSVC_SOCKET_MODE, uid, gid);
	smtp_fd = master_listen(SMTPSVC_SOCKET, SOCK_STREAM, LOCALSVC_SOCKET_MODE, uid, gid);
	return submit_fd < 0 || showq_fd < 0 || qmgr_fd < 0 || local_fd < 0 || smtp_fd < 0
	    ? -1 : 0;
}

/*
 * Opens the inet listeners of master.cf. Root must get them all; an
 * unprivileged instance (which cannot bind port 25) goes on without the
 * ones it cannot open, with a warning.
 */
static int
master_open_inet(void)
{
	char err[1024];
	char *path = xasprintf("%s/%s", conf_dir(), INET_MASTER_CF);
	int rc = 0;

	if (inet_load(path, &inet_svcs, err, sizeof(err)) < 0) {
		log_error("%s", err);
		rc = -1;
	} else if (inet_listen(&inet_svcs, err, sizeof(err)) < 0) {
		if (geteuid() == 0) {
			log_error("%s", err);
			rc = -1;
		} else {
			log_warn("%s; no SMTP service for this unprivileged instance", err);
			inet_free(&inet_svcs);
		}
	}
	free(path);
	return rc;
}

/*
 * In a child: the master's descriptors it must not keep (a child holding
 * another smtpd's socketpair end would keep that process from ever
 * seeing the master close it).
 */
static void
master_close_inet(void)
{
	size_t i, j;

	for (i = 0; i < inet_svcs.n; i++)
		for (j = 0; j < inet_svcs.v[i].nfds; j++)
			close(inet_svcs.v[i].fds[j]);
	for (i = 0; i < nsessions; i++)
		if (sessions[i].ctl >= 0)
			close(sessions[i].ctl);
	if (signal_fd >= 0)
		close(signal_fd);
}

/*
 * Tells smtpd process k to exit (closes the master's end of its
 * socketpair): it no longer counts against its service's maxproc and
 * gets no more clients; its record stays until it is reaped.
 */
static void
master_session_retire(size_t k)
{
	struct master_session *m = &sessions[k];

	if (m->ctl < 0)
		return;
	close(m->ctl);
	m->ctl = -1;
	m->busy = 0;
	m->addr[0] = '\0';
	if (m->svc < inet_svcs.n)
		inet_svcs.v[m->svc].nchildren--;
}

static const char *
master_role_name(enum worker_role r)
{
	switch (r) {
	case ROLE_PICKUP:
		return "pickup";
	case ROLE_SUBMIT:
		return "submit";
	case ROLE_QMGR:
		return "qmgr";
	case ROLE_LOCAL:
		return "local";
	case ROLE_SMTP:
		return "smtp";
	}
	return "worker";
}

/*
 * What every child of the master does first: default signals, death with
 * the master, none of the master's own descriptors, and the log as its
 * only voice (never the starter's terminal).
 */
static void
master_child_setup(pid_t master_pid, const char *service)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	instance_watch_parent(master_pid);
	/* ps and pgrep show what each process is for, as Postfix's do. */
	prctl(PR_SET_NAME, service, 0, 0, 0);
	if (getppid() != master_pid)
		_exit(0);
	if (lock_fd >= 0)
		close(lock_fd);
	master_close_inet();
	log_to_stderr(NULL);
	log_init(service);
	/*
	 * Every new message of this instance's processes goes through canonical
	 * mapping and masquerading, then virtual aliasing.
	 */
	queue_set_message_hook(cleanup_hook_message);
	queue_set_envelope_hook(virtual_expand);
}

__attribute__((noreturn))
static void
master_worker_main(struct worker *w, pid_t master_pid)
{
	master_child_setup(master_pid, master_role_name(w->role));
	if (w->role == ROLE_LOCAL) {
		/* Local delivery keeps root: it becomes each recipient (local.c). */
		close(submit_fd);
		close(showq_fd);
		close(qmgr_fd);
		close(smtp_fd);
		exit(localsvc_loop(local_fd, (long)conf_int("max_use"), localsvc_local_agent));
	}
	if (w->role == ROLE_SMTP) {
		smtp_sasl_preopen();
		smtp_tls_policy_preopen();
	}
	instance_drop_privileges();
	close(local_fd);
	if (w->role == ROLE_SMTP) {
		/* The SMTP client needs no privilege at all. */
		close(submit_fd);
		close(showq_fd);
		close(qmgr_fd);
		localsvc_set_idle_check(smtp_deliver_maps_changed);
		localsvc_set_idle(smtp_deliver_idle);
		localsvc_set_max_idle(conf_time("max_idle"));
		exit(localsvc_loop(smtp_fd, (long)conf_int("max_use"), smtp_deliver_agent));
	}
	close(smtp_fd);
	if (w->role == ROLE_QMGR) {
		close(submit_fd);
		close(showq_fd);
		qmgr_set_trigger_fd(qmgr_fd);
		exit(qmgr_loop());
	}
	close(qmgr_fd);
	if (w->role == ROLE_PICKUP) {
		close(submit_fd);
		close(showq_fd);
		exit(pickup_watch_loop(MASTER_PICKUP_RESCAN));
	}
	exit(submitd_loop(submit_fd, showq_fd, (long)conf_int("max_use")));
}

static void
master_spawn(struct worker *w)
{
	pid_t master_pid = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_warn("fork %s: %m", master_role_name(w->role));
		w->next_start = time(NULL) + MASTER_RESPAWN_DELAY;
		return;
	}
	if (pid == 0)
		master_worker_main(w, master_pid);
	w->pid = pid;
	w->started = time(NULL);
}

static void
master_reap(void)
{
	pid_t pid;
	int status, i, failed;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		size_t k;

		for (k = 0; k < nsessions; k++) {
			if (sessions[k].pid != pid)
				continue;
			if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
				log_warn("process petrel/smtpd pid %ld killed by signal %d",
				    (long)pid, WTERMSIG(status));
			master_session_retire(k);
			sessions[k] = sessions[--nsessions];
			break;
		}
		for (i = 0; i < nworkers; i++) {
			struct worker *w = &workers[i];

			if (w->pid != pid)
				continue;
			w->pid = 0;
			failed = 1;
			if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
				log_warn("process petrel/%s pid %ld killed by signal %d",
				    master_role_name(w->role), (long)pid, WTERMSIG(status));
			else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_warn("process petrel/%s pid %ld exit status %d",
				    master_role_name(w->role), (long)pid, WEXITSTATUS(status));
			else
				failed = 0;
			if (failed) {
				w->next_start = time(NULL) + MASTER_RESPAWN_DELAY;
				/* Any free smtp entry may take its place: the delay holds for all. */
				if (w->role == ROLE_SMTP)
					smtp_next_start = w->next_start;
			} else {
				w->next_start = 0;	/* a normal max_use or max_idle exit */
				if (w->role == ROLE_SMTP && smtp_want > 1)
					smtp_want--;
			}
		}
	}
}

static void
master_spawn_due(void)
{
	time_t now = time(NULL);
	int i, nsmtp = 0;

	for (i = 0; i < nworkers; i++)
		if (workers[i].role == ROLE_SMTP && workers[i].pid)
			nsmtp++;
	for (i = 0; i < nworkers; i++) {
		if (workers[i].pid || workers[i].next_start > now)
			continue;
		/* smtp: as many as wanted, in whichever entries are free. */
		if (workers[i].role == ROLE_SMTP && (nsmtp >= smtp_want || now < smtp_next_start))
			continue;
		master_spawn(&workers[i]);
		if (workers[i].role == ROLE_SMTP && workers[i].pid)
			nsmtp++;
	}
}

static long long
master_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection to private/smtp still waits: one more smtp worker. */
static void
master_smtp_check(void)
{
	struct pollfd p = { smtp_fd, POLLIN, 0 };

	if (smtp_check_at == 0 || master_now_ms() < smtp_check_at)
		return;
	smtp_check_at = 0;
	if (smtp_want < smtp_max && poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
		smtp_want++;
}

static int
master_children(void)
{
	int i, n = 0;

	for (i = 0; i < nworkers; i++)
		if (workers[i].pid)
			n++;
	return n + (int)nsessions;
}

static void
master_signal_workers(int sig)
{
	int i;

	size_t k;

	for (i = 0; i < nworkers; i++)
		if (workers[i].pid)
			kill(workers[i].pid, sig);
	for (k = 0; k < nsessions; k++)
		kill(sessions[k].pid, sig);
}

/* SIGTERM the workers, give them MASTER_STOP_GRACE seconds, then SIGKILL. */
static void
master_stop_workers(int grace)
{
	time_t deadline = time(NULL) + grace;

	master_signal_workers(grace ? SIGTERM : SIGKILL);
	while (master_children() > 0) {
		master_reap();
		if (master_children() == 0)
			break;
		if (time(NULL) >= deadline) {
			master_signal_workers(SIGKILL);
			deadline = time(NULL) + grace + 1;
		}
		usleep(20 * 1000);
	}
}

/*
 * What makes two listeners the same socket: the address (the service's
 * host, or inet_interfaces when it has none), inet_protocols and the
 * port, under the configuration in force when this is called.
 */
static char **
master_inet_keys(const struct inet_services *svcs)
{
	char **keys = xcalloc(svcs->n + 1, sizeof(*keys));
	size_t i;

	for (i = 0; i < svcs->n; i++) {
		const struct inet_service *svc = &svcs->v[i];

		keys[i] = xasprintf("%s|%s|%s", svc->host ? svc->host : conf_str("inet_interfaces"),
		    conf_str("inet_protocols"), svc->port);
	}
	return keys;
}

static void
master_free_keys(char **keys)
{
	size_t i;

	for (i = 0; keys && keys[i]; i++)
		free(keys[i]);
	free(keys);
}

/*
 * Re-reads master.cf (the new main.cf already loaded): a listener whose
 * address and port stay keeps its socket (no connection is refused
 * meanwhile), a new one is opened, a removed one closed; each service
 * takes its new -o overrides and maxproc. Running sessions go on and
 * are counted under their service's new entry. A master.cf that cannot
 * be read leaves the listeners as they were.
 */
static void
master_reload_inet(char **old_keys)
{
	char err[1024];
	char *path = xasprintf("%s/%s", conf_dir(), INET_MASTER_CF);
	struct inet_services next = { NULL, 0, NULL, 0 };
	char **new_keys, *matched;
	size_t *map, i, j, k;

	if (inet_load(path, &next, err, sizeof(err)) < 0) {
		log_warn("reload: %s: the listeners stay as they were", err);
		free(path);
		return;
	}
	free(path);
	new_keys = master_inet_keys(&next);
	map = xcalloc(inet_svcs.n + 1, sizeof(*map));
	for (j = 0; j < inet_svcs.n; j++)
		map[j] = SIZE_MAX;
	matched = xcalloc(next.n + 1, sizeof(*matched));
	for (i = 0; i < next.n; i++) {
		for (j = 0; j < inet_svcs.n; j++) {
			if (map[j] != SIZE_MAX || strcmp(new_keys[i], old_keys[j]) != 0)
				continue;
			next.v[i].fds = inet_svcs.v[j].fds;
			next.v[i].nfds = inet_svcs.v[j].nfds;
			next.v[i].nchildren = inet_svcs.v[j].nchildren;
			inet_svcs.v[j].fds = NULL;
			inet_svcs.v[j].nfds = 0;
			map[j] = i;
			matched[i] = 1;
			break;
		}
	}
	/* Removed ones first: a new listener may want the same port on another address. */
	for (j = 0; j < inet_svcs.n; j++) {
		struct inet_services one = { &inet_svcs.v[j], 1, NULL, 0 };

		if (map[j] != SIZE_MAX)
			continue;
		inet_close(&one);
		log_info("reload: service %s: closed", inet_svcs.v[j].name);
	}
	for (i = 0; i < next.n; i++) {
		struct inet_services one = { &next.v[i], 1, NULL, 0 };

		if (matched[i])
			continue;
		if (inet_listen(&one, err, sizeof(err)) < 0) {
			log_warn("reload: service %s: %s", next.v[i].name, err);
			inet_close(&one);
		} else {
			log_info("reload: service %s: listening", next.v[i].name);
		}
	}
	free(matched);
	for (k = 0; k < nsessions; k++)
		sessions[k].svc = sessions[k].svc < inet_svcs.n ? map[sessions[k].svc] : SIZE_MAX;
	inet_free(&inet_svcs);
	inet_svcs = next;
	/*
	 * The smtpd processes run the old configuration: the idle ones exit
	 * now, the busy ones once their client is gone; new clients get new
	 * processes.
	 */
	for (k = 0; k < nsessions; k++) {
		if (sessions[k].busy)
			sessions[k].retire = 1;
		else
			master_session_retire(k);
	}
	free(map);
	master_free_keys(new_keys);
}

/*
 * Re-reads main.cf in a child first, so a broken file changes nothing;
 * then master.cf. Workers restart with the new configuration; SMTP
 * sessions under way finish with the one they started with.
 */
static void
master_reload(void)
{
	char err[1024];
	char *dir = xstrdup(conf_dir());
	char **old_keys;
	pid_t pid;
	int status;
	int i;

	pid = fork();
	if (pid == 0) {
		if (conf_load(dir, err, sizeof(err)) < 0) {
			log_warn("reload refused, the old configuration stays: %s", err);
			_exit(1);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)
	    || WEXITSTATUS(status) != 0) {
		free(dir);
		return;
	}
	old_keys = master_inet_keys(&inet_svcs);
	if (conf_load(dir, err, sizeof(err)) < 0)
		log_warn("reload: %s", err);
	free(dir);
	master_reload_inet(old_keys);
	master_free_keys(old_keys);
	smtpd_preload();
	log_info("reload -- version %s, configuration %s", PACKAGE_VERSION, conf_dir());
	for (i = 0; i < nworkers; i++)
		if (workers[i].pid)
			kill(workers[i].pid, SIGTERM);
}

/* Answers and closes a connection the master will not serve; logs it when log is set. */
static void
master_refuse(int fd, const char *why, const char *addr, int log)
{
	char line[512];
	int n;

	if (log)
		log_warn("%s from [%s]: answered 421", why, addr);
	n = snprintf(line, sizeof(line), "421 4.7.0 %s Error: %s\r\n", conf_str("myhostname"), why);
	if (n > 0)
		(void)send(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/*
 * The smtpd process's done hook (smtpd_set_done_fn): the client is gone,
 * so the master may send the next one, unless this process stops here
 * (SIGTERM, or its max_use-th client) and exits instead.
 */
static void
master_session_done(void)
{
	char c = MASTER_CTL_IDLE;

	session_served++;
	if (smtpd_stopping() || (session_max_use > 0 && session_served >= session_max_use))
		return;
	(void)send(session_ctl, &c, 1, MSG_NOSIGNAL);
}

/* A one-byte control message with room for one descriptor (SCM_RIGHTS). */
static void
master_ctl_msg(struct msghdr *msg, struct iovec *iov, char *c, char *cbuf, size_t cbuflen)
{
	memset(msg, 0, sizeof(*msg));
	memset(cbuf, 0, cbuflen);
	iov->iov_base = c;
	iov->iov_len = 1;
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = cbuf;
	msg->msg_controllen = cbuflen;
}

/*
 * In the smtpd process: the next client's descriptor from the master;
 * -1 when the master closed the socketpair (or went away), or sent
 * something else.
 */
static int
master_session_recv(int ctl)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *h;
	char c = 0;
	ssize_t n;
	int fd = -1;

	master_ctl_msg(&msg, &iov, &c, cm.buf, sizeof(cm.buf));
	do
		n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (h = CMSG_FIRSTHDR(&msg); h != NULL; h = CMSG_NXTHDR(&msg, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS
		    && h->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(h), sizeof(int));
	if (c != MASTER_CTL_CONN || fd < 0 || (msg.msg_flags & MSG_CTRUNC)) {
		log_warn("unexpected message from the master (%d bytes, descriptor %d): exiting",
		    (int)n, fd);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * An smtpd process: set up once (the service's -o overrides, TLS, then
 * mail_owner), then one client after another from the master.
 */
__attribute__((noreturn))
static void
master_session_main(int ctl, size_t svc_idx, pid_t master_pid)
{
	const struct inet_service *svc = &inet_svcs.v[svc_idx];
	size_t i;

	master_child_setup(master_pid, "smtpd");
	close(submit_fd);
	close(showq_fd);
	close(qmgr_fd);
	close(local_fd);
	close(smtp_fd);
	for (i = 0; i < svc->overrides.n; i++) {
		const char *o = svc->overrides.v[i];
		const char *eq = strchr(o, '=');
		char *name = xstrndup(o, (size_t)(eq - o));

		conf_override(name, eq + 1);
		free(name);
	}
	/*
	 * The TLS key is usually readable by root alone (0600, or 0640 with
	 * Debian's ssl-cert group): the master loaded main.cf's pair as root
	 * (smtpd_preload, at start and on reload); a service whose -o
	 * overrides name other files loads them here, before the rights are
	 * dropped.
	 */
	smtpd_prepare();
	instance_drop_privileges();
	session_ctl = ctl;
	session_max_use = (long)conf_int("max_use");
	smtpd_set_done_fn(master_session_done);
	for (;;) {
		struct pollfd p = { ctl, POLLIN, 0 };
		struct smtpd_client client;
		int fd, n;

		/* Between clients SIGTERM simply ends the process: nothing is under way. */
		signal(SIGTERM, SIG_DFL);
		if (smtpd_stopping() || instance_parent_gone())
			break;
		n = poll(&p, 1, MASTER_POLL_MS);
		if (n < 0 && errno != EINTR) {
			log_warn("poll: %m");
			break;
		}
		if (n <= 0)
			continue;
		fd = master_session_recv(ctl);
		if (fd < 0)
			break;
		smtpd_client_from_fd(fd, &client);
		(void)smtpd_session(fd, fd, &client);
		close(fd);
		if (session_max_use > 0 && session_served >= session_max_use)
			break;
	}
	exit(0);
}

/* Numeric address of a connected socket's peer (IPv4-mapped shown as IPv4). */
static void
master_peer_addr(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *p;

	snprintf(out, outlen, "unknown");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0
	    || getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)outlen, NULL, 0,
	    NI_NUMERICHOST) != 0)
		return;
	p = out;
	if (strncmp(p, "::ffff:", 7) == 0 && strchr(p + 7, '.') != NULL)
		memmove(out, p + 7, strlen(p + 7) + 1);
}

/*
 * The service's max_idle in ms: its last -o max_idle=, else main.cf's. A
 * malformed override is a warning naming the service, and main.cf's
 * value applies.
 */
static long long
master_svc_max_idle_ms(const struct inet_service *svc)
{
	static const char key[] = "max_idle=";
	const char *v = NULL;
	long long t;
	size_t i;

	for (i = 0; i < svc->overrides.n; i++)
		if (strncmp(svc->overrides.v[i], key, sizeof(key) - 1) == 0)
			v = svc->overrides.v[i] + sizeof(key) - 1;
	t = v ? conf_parse_time(v, 's') : -1;
	if (v && t < 0)
		log_warn("service %s: invalid -o max_idle value \"%s\": using %lld s",
		    svc->name, v, conf_time("max_idle"));
	if (t < 0)
		t = conf_time("max_idle");
	return t < LLONG_MAX / 1000 ? t * 1000 : LLONG_MAX;
}

/*
 * Starts an smtpd process for the service; its index in sessions, or
 * SIZE_MAX. client_fd, the connection it is started for, is not
 * inherited: it comes over the socketpair like every other.
 */
static size_t
master_session_spawn(size_t svc_idx, int client_fd)
{
	struct inet_service *svc = &inet_svcs.v[svc_idx];
	struct master_session *m;
	pid_t master_pid = getpid();
	pid_t pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("service %s: socketpair: %m", svc->name);
		return SIZE_MAX;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("fork smtpd: %m");
		close(sv[0]);
		close(sv[1]);
		return SIZE_MAX;
	}
	if (pid == 0) {
		close(sv[0]);
		close(client_fd);
		master_session_main(sv[1], svc_idx, master_pid);
	}
	close(sv[1]);
	sessions = xreallocarray(sessions, nsessions + 1, sizeof(*sessions));
	m = &sessions[nsessions];
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->svc = svc_idx;
	m->ctl = sv[0];
	m->idle_since = master_now_ms();
	m->max_idle_ms = master_svc_max_idle_ms(svc);
	svc->nchildren++;
	return nsessions++;
}

/* Hands the client fd (from addr) to smtpd process k. 0, or -1 when that process is gone. */
static int
master_session_give(size_t k, int fd, const char *addr)
{
	struct master_session *m = &sessions[k];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *h;
	char c = MASTER_CTL_CONN;
	ssize_t n;

	master_ctl_msg(&msg, &iov, &c, cm.buf, sizeof(cm.buf));
	h = CMSG_FIRSTHDR(&msg);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	do
		n = sendmsg(m->ctl, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -1;
	m->busy = 1;
	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	return 0;
}

/*
 * Reads what smtpd process k said: MASTER_CTL_IDLE makes it idle (or,
 * after a reload, tells it to exit); end of file or an error means it
 * is exiting or gone.
 */
static void
master_session_read(size_t k)
{
	struct master_session *m = &sessions[k];
	char buf[16];
	ssize_t n;

	if (m->ctl < 0)
		return;
	n = recv(m->ctl, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0 || m->retire || m->svc >= inet_svcs.n) {
		master_session_retire(k);
		return;
	}
	m->busy = 0;
	m->addr[0] = '\0';
	m->idle_since = master_now_ms();
}

/* The idle smtpd process of the service that went idle last; SIZE_MAX when none. */
static size_t
master_session_idle(size_t svc_idx)
{
	size_t k, best = SIZE_MAX;

	for (k = 0; k < nsessions; k++) {
		const struct master_session *m = &sessions[k];

		if (m->svc != svc_idx || m->ctl < 0 || m->busy)
			continue;
		if (best == SIZE_MAX || m->idle_since >= sessions[best].idle_since)
			best = k;
	}
	return best;
}

/*
 * An idle process for a new client of the service: before concluding
 * there is none, the busy ones' news not yet read is read (one that has
 * just seen its client go must not cost a fork).
 */
static size_t
master_session_find(size_t svc_idx)
{
	size_t k = master_session_idle(svc_idx);

	if (k != SIZE_MAX)
		return k;
	for (k = 0; k < nsessions; k++)
		if (sessions[k].svc == svc_idx && sessions[k].busy)
			master_session_read(k);
	return master_session_idle(svc_idx);
}

/* Idle processes past their max_idle are told to exit. */
static void
master_session_expire(void)
{
	long long now = master_now_ms();
	size_t k;

	for (k = 0; k < nsessions; k++) {
		const struct master_session *m = &sessions[k];

		if (m->ctl >= 0 && !m->busy && now - m->idle_since >= m->max_idle_ms)
			master_session_retire(k);
	}
}

/* The service's maxproc is taken by busy processes: "all processes busy", logged sparingly. */
static void
master_busy(struct inet_service *svc, int fd, const char *addr)
{
	long long now = master_now_ms();

	svc->busy_refused++;
	if (svc->busy_logged == 0 || now - svc->busy_logged >= MASTER_BUSY_LOG_SECONDS * 1000LL) {
		if (svc->busy_logged == 0)
			log_warn("service %s: all %ld processes busy (default_process_limit"
			    " or master.cf maxproc): new clients are answered 421 4.7.0",
			    svc->name, svc->maxproc);
		else
			log_warn("service %s: all %ld processes busy (default_process_limit"
			    " or master.cf maxproc): %ld client%s answered 421 4.7.0 since"
			    " the previous warning", svc->name, svc->maxproc,
			    svc->busy_refused, svc->busy_refused == 1 ? "" : "s");
		svc->busy_logged = now;
		svc->busy_refused = 0;
	}
	master_refuse(fd, "too many connections", addr, 0);
}

static void
master_accept(size_t svc_idx, int lfd)
{
	struct inet_service *svc = &inet_svcs.v[svc_idx];
	long client_limit = (long)conf_int("smtpd_client_connection_count_limit");
	int burst;

	for (burst = 0; burst < MASTER_ACCEPT_BURST; burst++) {
		char addr[SMTPD_NAME_MAX];
		long same = 0;
		size_t k;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("service %s: accept: %m", svc->name);
			return;
		}
		master_peer_addr(fd, addr, sizeof(addr));
		k = master_session_find(svc_idx);
		if (k == SIZE_MAX && svc->maxproc > 0 && svc->nchildren >= svc->maxproc) {
			master_busy(svc, fd, addr);
			continue;
		}
		for (k = 0; k < nsessions; k++)
			if (sessions[k].busy && strcmp(sessions[k].addr, addr) == 0)
				same++;
		if (client_limit > 0 && same >= client_limit && !smtpd_check_mynetworks(addr)) {
			master_refuse(fd, "too many connections from this client", addr, 1);
			continue;
		}
		/*
		 * Each failure retires a process that has died meanwhile (killed
		 * while idle, not reaped yet), so this ends: with a fresh one at
		 * the latest.
		 */
		for (;;) {
			int fresh = 0;

			k = master_session_find(svc_idx);
			if (k == SIZE_MAX) {
				if (svc->maxproc > 0 && svc->nchildren >= svc->maxproc) {
					master_busy(svc, fd, addr);
					break;
				}
				k = master_session_spawn(svc_idx, fd);
				fresh = 1;
				if (k == SIZE_MAX) {
					master_refuse(fd, "server busy", addr, 1);
					break;
				}
			}
			if (master_session_give(k, fd, addr) == 0) {
				close(fd);
				break;
			}
			log_warn("service %s: smtpd pid %ld cannot take a client: %m",
			    svc->name, (long)sessions[k].pid);
			master_session_retire(k);
			if (fresh) {
				master_refuse(fd, "server busy", addr, 1);
				break;
			}
		}
	}
}

/* 1 when master_service_disable lists the service (as "name" or "name.type"). */
static int
master_service_disabled(const char *name)
{
	struct strv list = STRV_INIT;
	size_t i, n = strlen(name);
	int off = 0;

	conf_list("master_service_disable", &list);
	for (i = 0; i < list.n; i++)
		if (strncmp(list.v[i], name, n) == 0 && (list.v[i][n] == '\0' || list.v[i][n] == '.'))
			off = 1;
	strv_free(&list);
	return off;
}

int
master_run(int ready_fd)
{
	sigset_t set;
	long long nlocal, nsmtp;
	int i, stop = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_init("master");

	if (master_take_lock() < 0 || master_open_sockets() < 0 || master_open_inet() < 0)
		return 1;
	smtpd_preload();
	signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (signal_fd < 0) {
		log_error("signalfd: %m");
		return 1;
	}
	/* As many as the queue manager has requests at each service at once. */
	nlocal = (long long)localsvc_workers("local");
	nsmtp = (long long)localsvc_workers("smtp");
	/*
	 * master_service_disable (Postfix's parameter) naming qmgr leaves mail
	 * in incoming/ untouched: no queue manager, no local workers. Useful
	 * to inspect what was queued; sendmail -q still delivers by hand.
	 */
	if (master_service_disabled("qmgr")) {
		log_info("qmgr disabled by master_service_disable: mail stays queued");
		nlocal = -1;
		nsmtp = 0;
	}
	nworkers = 1 + MASTER_SUBMIT_WORKERS + 1 + (int)nlocal + (int)nsmtp;
	workers = xcalloc((size_t)nworkers, sizeof(*workers));
	for (i = 0; i < nworkers; i++) {
		workers[i].role = i == 0 ? ROLE_PICKUP : i <= MASTER_SUBMIT_WORKERS ? ROLE_SUBMIT
		    : i == MASTER_SUBMIT_WORKERS + 1 ? ROLE_QMGR
		    : i <= MASTER_SUBMIT_WORKERS + 1 + nlocal ? ROLE_LOCAL : ROLE_SMTP;
		workers[i].pid = 0;
		workers[i].next_start = 0;
		if (workers[i].role == ROLE_SMTP && smtp_base < 0)
			smtp_base = i;
	}
	smtp_max = (int)nsmtp;
	master_spawn_due();
	log_info("daemon started -- version %s, configuration %s", PACKAGE_VERSION, conf_dir());
	if (ready_fd >= 0) {
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

		(void)fileio_write_all(ready_fd, "1", 1);
		close(ready_fd);
		/* Detached from here on: the log is the only voice. */
		log_to_stderr(NULL);
		if (devnull >= 0) {
			dup2(devnull, STDERR_FILENO);
			close(devnull);
		}
	}

	while (!stop) {
		struct pollfd *pfd;
		size_t *owner, np = 1, k, j, smtp_idx, nctl;
		struct signalfd_siginfo si;

		for (k = 0; k < inet_svcs.n; k++)
			np += inet_svcs.v[k].nfds;
		np += nsessions;
		np++;	/* private/smtp, while more smtp workers may start */
		pfd = xcalloc(np, sizeof(*pfd));
		owner = xcalloc(np, sizeof(*owner));
		pfd[0].fd = signal_fd;
		pfd[0].events = POLLIN;
		np = 1;
		/* The smtpd processes first: one that went idle takes the next client. */
		for (k = 0; k < nsessions; k++)
			if (sessions[k].ctl >= 0) {
				pfd[np].fd = sessions[k].ctl;
				pfd[np].events = POLLIN;
				owner[np++] = k;
			}
		nctl = np;
		for (k = 0; k < inet_svcs.n; k++)
			for (j = 0; j < inet_svcs.v[k].nfds; j++) {
				pfd[np].fd = inet_svcs.v[k].fds[j];
				pfd[np].events = POLLIN;
				owner[np++] = k;
			}
		smtp_idx = 0;
		if (smtp_base >= 0 && smtp_want < smtp_max && smtp_check_at == 0) {
			smtp_idx = np;
			pfd[np].fd = smtp_fd;
			pfd[np++].events = POLLIN;
		}
		if (poll(pfd, np, smtp_check_at ? MASTER_SMTP_GROW_MS : MASTER_POLL_MS) > 0) {
			for (k = 1; k < np; k++) {
				if (k < nctl) {
					if (pfd[k].revents)
						master_session_read(owner[k]);
					continue;
				}
				if (!(pfd[k].revents & POLLIN))
					continue;
				if (k == smtp_idx)
					smtp_check_at = master_now_ms() + MASTER_SMTP_GROW_MS;
				else
					master_accept(owner[k], pfd[k].fd);
			}
		}
		master_smtp_check();
		master_session_expire();
		free(pfd);
		free(owner);
		while (!stop && read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			int sig = (int)si.ssi_signo;

			switch (sig) {
			case SIGTERM:
				log_info("terminating on signal %d", sig);
				/* No new connections while the sessions finish. */
				inet_close(&inet_svcs);
				master_stop_workers(MASTER_STOP_GRACE);
				stop = 1;
				break;
			case SIGINT:
			case SIGQUIT:
				log_info("aborting on signal %d", sig);
				inet_close(&inet_svcs);
				master_stop_workers(0);
				stop = 1;
				break;
			case SIGHUP:
				master_reload();
				break;
			default:
				break;
			}
		}
		master_reap();
		if (!stop)
			master_spawn_due();
	}
	close(submit_fd);
	close(showq_fd);
	close(qmgr_fd);
	close(local_fd);
	close(smtp_fd);
	close(signal_fd);
	signal_fd = -1;
	inet_free(&inet_svcs);
	free(sessions);
	sessions = NULL;
	nsessions = 0;
	free(workers);
	workers = NULL;
	nworkers = 0;
	return 0;
}
