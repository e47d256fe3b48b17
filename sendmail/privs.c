/*
 * privs - fork, drop to a uid/gid, do one piece of work, report back;
 * see privs.h.
 *
 * The child: own process group (so a time limit can kill everything it
 * started), default signal dispositions and an empty signal mask, no
 * fatal hook of the parent's, then privs_drop(). Its result travels as
 * one fixed-size struct over a close-on-exec pipe (smaller than PIPE_BUF,
 * so it arrives whole or not at all). The parent polls the pipe against
 * a deadline, kills the group when it passes, and always reaps the child.
 *
 * Errors: every failure becomes a deferral (4.3.0) in the result, with
 * the system error: never a lost outcome, never an exit of the caller.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "pbuf.h"
#include "privs.h"

#define PRIVS_READ_TIMEOUT_MS	30000	/* reading a .forward or :include: file */
#define PRIVS_DSN_TEMP		"4.3.0"
#define PRIVS_EXIT_OK		0
#define PRIVS_EXIT_FAIL		1
#define PRIVS_MS_PER_SEC	1000L
#define PRIVS_NS_PER_MS		1000000L

int
privs_is_root(void)
{
	return geteuid() == 0;
}

void
privs_cred_keep(struct privs_cred *c)
{
	c->uid = geteuid();
	c->gid = getegid();
	c->keep = 1;
}

void
privs_cred_set(struct privs_cred *c, uid_t uid, gid_t gid)
{
	c->uid = uid;
	c->gid = gid;
	c->keep = !privs_is_root();
}

void
privs_result_set(struct privs_result *res, int status, const char *dsn,
    const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

static void
privs_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
privs_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = saved;
}

int
privs_drop(const struct privs_cred *c, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (c->keep || !privs_is_root())
		return 0;
	if (setgroups(1, &c->gid) < 0) {
		privs_seterr(err, errlen, "setgroups(%lu): %s",
		    (unsigned long)c->gid, strerror(errno));
		return -1;
	}
	if (setresgid(c->gid, c->gid, c->gid) < 0) {
		privs_seterr(err, errlen, "setresgid(%lu): %s",
		    (unsigned long)c->gid, strerror(errno));
		return -1;
	}
	if (setresuid(c->uid, c->uid, c->uid) < 0) {
		privs_seterr(err, errlen, "setresuid(%lu): %s",
		    (unsigned long)c->uid, strerror(errno));
		return -1;
	}
	/* Verify: every id changed, and root cannot be had back. */
	if (getresuid(&ru, &eu, &su) < 0 || ru != c->uid || eu != c->uid
	    || su != c->uid || getresgid(&rg, &eg, &sg) < 0 || rg != c->gid
	    || eg != c->gid || sg != c->gid) {
		privs_seterr(err, errlen, "ids did not change to %lu:%lu",
		    (unsigned long)c->uid, (unsigned long)c->gid);
		return -1;
	}
	n = getgroups(2, groups);
	if (n != 1 || groups[0] != c->gid) {
		privs_seterr(err, errlen, "supplementary groups did not change");
		return -1;
	}
	if (c->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		privs_seterr(err, errlen, "root privileges could be regained");
		return -1;
	}
#ifdef PETREL_SANITIZERS
	/* A uid change makes the process non-dumpable, which stops LeakSanitizer. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 0;
}

int
privs_set_effective(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (!privs_is_root())
		return 0;
	if (setgroups(1, &gid) < 0 || setegid(gid) < 0) {
		privs_seterr(err, errlen, "setegid(%lu): %s",
		    (unsigned long)gid, strerror(errno));
		return -1;
	}
	if (seteuid(uid) < 0) {
		privs_seterr(err, errlen, "seteuid(%lu): %s",
		    (unsigned long)uid, strerror(errno));
		return -1;
	}
	return 0;
}

int
privs_restore_effective(char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t root_gid = 0;

	if (getresuid(&ru, &eu, &su) < 0 || (ru != 0 && su != 0))
		return 0;	/* never was root: nothing to restore */
	if (seteuid(0) < 0 || setegid(0) < 0 || setgroups(1, &root_gid) < 0) {
		privs_seterr(err, errlen, "cannot restore root ids: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Child side, first thing after fork(). */
static void
privs_child_setup(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	(void)setpgid(0, 0);
	log_set_fatal_hook(NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		(void)sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static long long
privs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * PRIVS_MS_PER_SEC + ts.tv_nsec / PRIVS_NS_PER_MS;
}

/*
 * Reads up to want bytes from fd before deadline_ms (0 = none). Returns
 * the bytes read (less at EOF), or -1 with errno ETIMEDOUT or the read
 * error.
 */
static ssize_t
privs_read_until(int fd, void *buf, size_t want, long long deadline_ms)
{
	size_t got = 0;
	struct pollfd p;
	ssize_t n;
	long long left;
	int rc;

	while (got < want) {
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		if (deadline_ms) {
			left = deadline_ms - privs_now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		} else {
			left = -1;
		}
		rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (rc == 0)
			continue;	/* the deadline check above ends it */
		n = read(fd, (char *)buf + got, want - got);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int
privs_reap(pid_t pid, int *wstatus)
{
	while (waitpid(pid, wstatus, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static void
privs_kill_group(pid_t pid)
{
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}

static void
privs_describe_death(int wstatus, struct privs_result *res)
{
	if (WIFSIGNALED(wstatus))
		privs_result_set(res, PRIVS_DEFER, PRIVS_DSN_TEMP,
		    "delivery process died on signal %d", WTERMSIG(wstatus));
	else
		privs_result_set(res, PRIVS_DEFER, PRIVS_DSN_TEMP,
		    "delivery process exited with status %d and no result",
		    WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
}

void
privs_call(const struct privs_cred *c, privs_fn fn, void *ctx,
    struct privs_result *res)
{
	char err[256];

	memset(res, 0, sizeof(*res));
	if (c->keep || !privs_is_root()) {
		fn(ctx, res);
		return;
	}
	if (privs_set_effective(c->uid, c->gid, err, sizeof(err)) < 0) {
		if (privs_restore_effective(err, sizeof(err)) < 0)
			log_fatal("cannot take back root's ids: %s", err);
		privs_result_set(res, PRIVS_DEFER, "4.3.0", "cannot switch to uid %lu: %s",
		    (unsigned long)c->uid, err);
		return;
	}
	fn(ctx, res);
	if (privs_restore_effective(err, sizeof(err)) < 0)
		log_fatal("cannot take back root's ids: %s", err);
}

void
privs_run(const struct privs_cred *c, unsigned long timeout_ms, privs_fn fn,
    void *ctx, struct privs_result *res)
{
	struct privs_result r;
	char err[256];
	int pfd[2], wstatus = 0;
	long long deadline = 0;
	ssize_t n;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		privs_result_set(res, PRIVS_DEFER, PRIVS_DSN_TEMP,
		    "cannot create a pipe: %s", strerror(errno));
		return;
	}
	if ((pid = fork()) < 0) {
		privs_result_set(res, PRIVS_DEFER, PRIVS_DSN_TEMP,
		    "cannot fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		privs_child_setup();
		memset(&r, 0, sizeof(r));
		if (privs_drop(c, err, sizeof(err)) < 0) {
			privs_result_set(&r, PRIVS_DEFER, PRIVS_DSN_TEMP,
			    "cannot drop privileges to uid %lu: %s",
			    (unsigned long)c->uid, err);
		} else {
			privs_result_set(&r, PRIVS_DEFER, PRIVS_DSN_TEMP,
			    "delivery process returned no result");
			fn(ctx, &r);
		}
		_exit(fileio_write_all(pfd[1], &r, sizeof(r)) < 0
		    ? PRIVS_EXIT_FAIL : PRIVS_EXIT_OK);
	}
	(void)setpgid(pid, pid);	/* either side may win the race */
	close(pfd[1]);
	if (timeout_ms)
		deadline = privs_now_ms() + (long long)timeout_ms;
	memset(&r, 0, sizeof(r));
	n = privs_read_until(pfd[0], &r, sizeof(r), deadline);
	close(pfd[0]);
	if (n < 0 && errno == ETIMEDOUT) {
		privs_kill_group(pid);
		(void)privs_reap(pid, &wstatus);
		privs_result_set(res, PRIVS_DEFER, PRIVS_DSN_TEMP,
		    "delivery process timed out after %lu s (killed)",
		    (timeout_ms + PRIVS_MS_PER_SEC - 1) / PRIVS_MS_PER_SEC);
		return;
	}
	if (n == (ssize_t)sizeof(r)) {
		(void)privs_reap(pid, &wstatus);
		r.dsn[sizeof(r.dsn) - 1] = '\0';
		r.text[sizeof(r.text) - 1] = '\0';
		if (r.status != PRIVS_SENT && r.status != PRIVS_DEFER
		    && r.status != PRIVS_BOUNCE) {
			privs_result_set(res, PRIVS_DEFER, PRIVS_DSN_TEMP,
			    "delivery process returned a bad status %d", r.status);
			return;
		}
		*res = r;
		return;
	}
	/* Short or failed read: the child died before reporting. */
	privs_kill_group(pid);
	if (privs_reap(pid, &wstatus) < 0) {
		privs_result_set(res, PRIVS_DEFER, PRIVS_DSN_TEMP,
		    "cannot wait for the delivery process: %s", strerror(errno));
		return;
	}
	privs_describe_death(wstatus, res);
}

/* The reading itself, in whatever process runs it. */
static int
privs_read_here(const char *path, size_t limit, struct pbuf *out,
    struct stat *st, int *errnum)
{
	char buf[8192];
	ssize_t n;
	size_t total = 0;
	int fd, fl;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0) {
		*errnum = errno;
		return -1;
	}
	if (fstat(fd, st) < 0) {
		*errnum = errno;
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		*errnum = EINVAL;
		close(fd);
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*errnum = errno;
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		if (total + (size_t)n > limit) {
			*errnum = EFBIG;
			close(fd);
			return -1;
		}
		pbuf_append(out, buf, (size_t)n);
		total += (size_t)n;
	}
	close(fd);
	return 0;
}

/* What the reading child sends ahead of the data. */
struct privs_read_head {
	int errnum;		/* 0 = ok */
	struct stat st;
	size_t len;
};

static void
privs_read_seterr(char *err, size_t errlen, const char *path, int errnum)
{
	switch (errnum) {
	case EINVAL:
		privs_seterr(err, errlen, "%s: not a regular file", path);
		break;
	case EFBIG:
		privs_seterr(err, errlen, "%s: file too large", path);
		break;
	default:
		privs_seterr(err, errlen, "%s: %s", path, strerror(errnum));
		break;
	}
}

int
privs_read_file(const struct privs_cred *c, const char *path, size_t limit,
    struct pbuf *out, struct stat *st, int *errnum, char *err, size_t errlen)
{
	struct privs_read_head h;
	struct pbuf data = PBUF_INIT;
	char derr[256];
	int pfd[2], wstatus;
	long long deadline;
	ssize_t n;
	pid_t pid;

	memset(st, 0, sizeof(*st));
	if (c->keep || !privs_is_root()) {
		if (privs_read_here(path, limit, out, st, errnum) < 0) {
			privs_read_seterr(err, errlen, path, *errnum);
			return -1;
		}
		return 0;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		*errnum = errno;
		privs_seterr(err, errlen, "%s: cannot create a pipe: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		*errnum = errno;
		privs_seterr(err, errlen, "%s: cannot fork: %s", path, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		privs_child_setup();
		memset(&h, 0, sizeof(h));
		if (privs_drop(c, derr, sizeof(derr)) < 0)
			h.errnum = EPERM;
		else if (privs_read_here(path, limit, &data, &h.st, &h.errnum) == 0)
			h.len = data.len;
		if (fileio_write_all(pfd[1], &h, sizeof(h)) < 0
		    || (h.len && fileio_write_all(pfd[1], data.data, data.len) < 0))
			_exit(PRIVS_EXIT_FAIL);
		_exit(PRIVS_EXIT_OK);
	}
	(void)setpgid(pid, pid);
	close(pfd[1]);
	deadline = privs_now_ms() + PRIVS_READ_TIMEOUT_MS;
	memset(&h, 0, sizeof(h));
	n = privs_read_until(pfd[0], &h, sizeof(h), deadline);
	if (n == (ssize_t)sizeof(h) && h.errnum == 0 && h.len <= limit) {
		pbuf_reserve(&data, h.len);
		n = privs_read_until(pfd[0], data.data, h.len, deadline);
		if (n == (ssize_t)h.len) {
			data.len = h.len;
			data.data[data.len] = '\0';
		} else {
			h.errnum = n < 0 && errno == ETIMEDOUT ? ETIMEDOUT : EIO;
		}
	} else if (n != (ssize_t)sizeof(h)) {
		h.errnum = n < 0 && errno == ETIMEDOUT ? ETIMEDOUT : EIO;
	} else if (h.errnum == 0) {
		h.errnum = EFBIG;
	}
	close(pfd[0]);
	if (h.errnum == ETIMEDOUT || h.errnum == EIO)
		privs_kill_group(pid);
	(void)privs_reap(pid, &wstatus);
	if (h.errnum) {
		*errnum = h.errnum;
		privs_read_seterr(err, errlen, path, h.errnum);
		pbuf_free(&data);
		return -1;
	}
	*st = h.st;
	pbuf_append(out, pbuf_str(&data), data.len);
	pbuf_free(&data);
	return 0;
}
