/*
 * control - start, stop, abort, reload, flush, status, check; see control.h.
 *
 * "Running" is decided by the master's lock (instance_master_pid), never
 * by a pid file alone. start returns 0 only after the master has opened
 * its sockets and started its workers (it reports through a pipe).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "control.h"
#include "instance.h"
#include "log.h"
#include "master.h"
#include "queue.h"
#include "user.h"

#define CONTROL_POLL_MS	50

static int
control_integrity(void)
{
	if (check_run() != 0) {
		log_fatal("Petrel integrity check failed!");
		return -1;
	}
	return 0;
}

int
control_start(int foreground)
{
	int pfd[2];
	pid_t pid;
	char c;

	if (instance_master_pid() != 0) {
		log_fatal("the Petrel mail system is already running");
		return 1;
	}
	if (control_integrity() < 0)
		return 1;
	log_info("starting the Petrel mail system");
	if (foreground)
		return master_run(-1);

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		log_fatal("pipe: %m");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		log_fatal("fork: %m");
		return 1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		close(pfd[0]);
		setsid();
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			/* stderr stays until ready so startup errors reach the caller. */
		}
		/* Fork again so the master is no session leader (it can never get a
		 * controlling terminal); lead its own process group so that stop
		 * can reach every worker with one signal. */
		if (fork() > 0)
			_exit(0);
		setpgid(0, 0);
		log_to_stderr("petrel/master");
		{
			int rc = master_run(pfd[1]);

			_exit(rc);
		}
	}
	close(pfd[1]);
	waitpid(pid, NULL, 0);
	{
		struct pollfd p = { pfd[0], POLLIN, 0 };

		if (poll(&p, 1, CONTROL_START_WAIT * 1000) <= 0 || read(pfd[0], &c, 1) != 1) {
			close(pfd[0]);
			log_fatal("mail system startup failed");
			return 1;
		}
	}
	close(pfd[0]);
	return 0;
}

static pid_t
control_running_or_fail(void)
{
	pid_t pid = instance_master_pid();

	if (pid == 0)
		log_fatal("the Petrel mail system is not running");
	return pid;
}

int
control_stop(void)
{
	pid_t pid = control_running_or_fail();
	time_t deadline;

	if (pid == 0)
		return 1;
	log_info("stopping the Petrel mail system");
	if (kill(pid, SIGTERM) < 0) {
		log_fatal("cannot signal the master (pid %ld): %m", (long)pid);
		return 1;
	}
	deadline = time(NULL) + CONTROL_STOP_WAIT;
	while (instance_master_pid() != 0) {
		if (time(NULL) >= deadline) {
			log_warn("stopping the Petrel mail system with force");
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			deadline = time(NULL) + CONTROL_STOP_WAIT;
		}
		usleep(CONTROL_POLL_MS * 1000);
	}
	return 0;
}

int
control_abort(void)
{
	pid_t pid = control_running_or_fail();

	if (pid == 0)
		return 1;
	log_info("aborting the Petrel mail system");
	return kill(pid, SIGQUIT) < 0 ? 1 : 0;
}

int
control_reload(void)
{
	pid_t pid = control_running_or_fail();

	if (pid == 0)
		return 1;
	log_info("refreshing the Petrel mail system");
	return kill(pid, SIGHUP) < 0 ? 1 : 0;
}

int
control_flush(void)
{
	char buf[256], who[USER_WHO_MAX];
	int fd;

	if (!user_self_queue_authorized("authorized_flush_users", who, sizeof(who))) {
		log_set_fatal_status(EX_NOPERM);
		log_fatal("User %s is not allowed to flush the mail queue", who);
	}
	fd = instance_connect(QUEUE_SHOWQ_SOCKET);
	if (fd < 0) {
		log_set_fatal_status(EX_UNAVAILABLE);
		log_fatal("Cannot flush mail queue - mail system is down");
		return EX_UNAVAILABLE;
	}
	if (write(fd, "flush\n", 6) != 6) {
		close(fd);
		log_set_fatal_status(EX_UNAVAILABLE);
		log_fatal("Cannot flush mail queue - mail system is down");
		return EX_UNAVAILABLE;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}

int
control_status(void)
{
	pid_t pid = instance_master_pid();

	if (pid == 0) {
		log_info("the Petrel mail system is not running");
		return 1;
	}
	log_info("the Petrel mail system is running: PID: %ld", (long)pid);
	return 0;
}

int
control_check(void)
{
	return check_run() == 0 ? 0 : 1;
}
