/*
 * pipe - run a delivery command with the message on its standard input;
 * see pipe.h.
 *
 * pipe_run forks /bin/sh -c COMMAND in its own process group, feeds the
 * message through a non-blocking pipe while collecting the output (so a
 * command that writes much before reading cannot deadlock us), stops
 * feeding when the command closes its input (EPIPE is not an error: a
 * command may ignore the message), and kills the group at the time limit.
 *
 * Errors: every outcome is a privs_result.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "pbuf.h"
#include "pipe.h"
#include "privs.h"
#include "xalloc.h"

#define PIPE_POLL_MS		200	/* re-check the child this often */
#define PIPE_DRAIN_MS		1000	/* output wait after the command exited */
#define PIPE_CHUNK		65536
#define PIPE_FD_SCAN_MAX	1024	/* close_range fallback */
#define PIPE_CMD_SHOW		120	/* command text kept in messages */
#define PIPE_MS_PER_SEC		1000L
#define PIPE_NS_PER_MS		1000000L

/* Postfix's sysexits table (global/sys_exits.c): code, dsn, meaning. */
static const struct pipe_exit {
	int code;
	const char *dsn;
	const char *text;
} pipe_exits[] = {
	{ EX_USAGE, "5.3.0", "command line usage error" },
	{ EX_DATAERR, "5.6.0", "data format error" },
	{ EX_NOINPUT, "5.3.0", "cannot open input" },
	{ EX_NOUSER, "5.1.1", "user unknown" },
	{ EX_NOHOST, "5.1.2", "host name unknown" },
	{ EX_UNAVAILABLE, "5.3.0", "service unavailable" },
	{ EX_SOFTWARE, "5.3.0", "internal software error" },
	{ EX_OSERR, "4.3.0", "system resource problem" },
	{ EX_OSFILE, "5.3.0", "critical OS file missing" },
	{ EX_CANTCREAT, "5.2.0", "can't create user output file" },
	{ EX_IOERR, "5.3.0", "input/output error" },
	{ EX_TEMPFAIL, "4.3.0", "temporary failure" },
	{ EX_PROTOCOL, "5.5.0", "remote error in protocol" },
	{ EX_NOPERM, "5.7.0", "permission denied" },
	{ EX_CONFIG, "5.3.5", "local configuration error" },
};
#define PIPE_NEXITS	(sizeof(pipe_exits) / sizeof(pipe_exits[0]))

char *
pipe_filter(const char *value, const char *allowed)
{
	char *out = xstrdup(value), *p;

	for (p = out; *p; p++)
		if (strchr(allowed, *p) == NULL)
			*p = '_';
	return out;
}

/* The command as shown in messages: shortened, one line. */
static void
pipe_show(struct pbuf *b, const char *s)
{
	size_t n;

	for (n = 0; s[n] && n < PIPE_CMD_SHOW; n++)
		pbuf_putc(b, (unsigned char)s[n] < ' ' ? ' ' : s[n]);
	if (s[n])
		pbuf_puts(b, "...");
}

/* "d.d.d" at the start of s (class 4 or 5); its length, or 0. */
static size_t
pipe_dsn_prefix(const char *s)
{
	const char *p = s;
	int part, digits;

	if (*p != '4' && *p != '5')
		return 0;
	p++;
	for (part = 0; part < 2; part++) {
		if (*p++ != '.')
			return 0;
		for (digits = 0; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (digits < 1 || digits > 3)
			return 0;
	}
	if (*p != ' ' && *p != '\0' && *p != '\t')
		return 0;
	return (size_t)(p - s);
}

void
pipe_exit_result(int code, const char *command, const char *output,
    struct privs_result *res)
{
	struct pbuf cmd = PBUF_INIT;
	const char *dsn = "5.3.0", *meaning = "unknown mail system error";
	char odsn[PRIVS_DSN_MAX];
	size_t i, n;
	int status;

	pipe_show(&cmd, command);
	if (code == 0) {
		privs_result_set(res, PRIVS_SENT, "2.0.0", "delivered to command: %s",
		    pbuf_str(&cmd));
		pbuf_free(&cmd);
		return;
	}
	for (i = 0; i < PIPE_NEXITS; i++) {
		if (pipe_exits[i].code == code) {
			dsn = pipe_exits[i].dsn;
			meaning = pipe_exits[i].text;
			break;
		}
	}
	if (output && (n = pipe_dsn_prefix(output)) > 0 && n < sizeof(odsn)) {
		memcpy(odsn, output, n);
		odsn[n] = '\0';
		dsn = odsn;
	}
	status = dsn[0] == '4' ? PRIVS_DEFER : PRIVS_BOUNCE;
	privs_result_set(res, status, dsn,
	    "command \"%s\" exited with status %d (%s)%s%s", pbuf_str(&cmd), code,
	    meaning, output && output[0] ? ". Command output: " : "",
	    output ? output : "");
	pbuf_free(&cmd);
}

static long long
pipe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * PIPE_MS_PER_SEC + ts.tv_nsec / PIPE_NS_PER_MS;
}

static void
pipe_close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (; lowfd < PIPE_FD_SCAN_MAX; lowfd++)
		(void)close(lowfd);
}

static void
pipe_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Child side: becomes /bin/sh -c command. Never returns. */
static void
pipe_exec(const struct pipe_req *r, int in_fd, int out_fd)
{
	static const char cant[] = "cannot execute " PIPE_SHELL "\n";
	char *argv[4];
	struct sigaction dfl;

	(void)setpgid(0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	(void)sigaction(SIGPIPE, &dfl, NULL);
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0
	    || dup2(out_fd, STDERR_FILENO) < 0)
		_exit(EX_OSERR);
	pipe_close_from(STDERR_FILENO + 1);
	if (r->cwd == NULL || chdir(r->cwd) < 0)
		(void)chdir("/");
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)r->command;
	argv[3] = NULL;
	execve(PIPE_SHELL, argv, r->env);
	(void)!write(STDERR_FILENO, cant, sizeof(cant) - 1);
	_exit(EX_OSERR);
}

/* Output kept for the result: printable, one line, bounded. */
static void
pipe_keep_output(struct pbuf *out, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n && out->len < PIPE_OUTPUT_MAX; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < ' ' || c == 0x7f)
			c = '?';
		if (c == ' ' && (out->len == 0 || out->data[out->len - 1] == ' '))
			continue;
		pbuf_putc(out, (char)c);
	}
}

void
pipe_run(const struct pipe_req *r, struct privs_result *res)
{
	struct sigaction ign, old_pipe;
	struct pbuf output = PBUF_INIT, cmd = PBUF_INIT;
	struct pollfd pfd[2];
	char buf[PIPE_CHUNK];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int wstatus = 0, reaped = 0, timed_out = 0, nfd, rc;
	size_t sent = 0;
	long long deadline = 0, drain_until = 0, now, wait_ms;
	ssize_t n;
	pid_t pid;

	pipe_show(&cmd, r->command);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	(void)sigaction(SIGPIPE, &ign, &old_pipe);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		privs_result_set(res, PRIVS_DEFER, "4.3.0",
		    "cannot run command \"%s\": pipe: %s", pbuf_str(&cmd), strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		privs_result_set(res, PRIVS_DEFER, "4.3.0",
		    "cannot run command \"%s\": fork: %s", pbuf_str(&cmd), strerror(errno));
		goto out;
	}
	if (pid == 0)
		pipe_exec(r, in[0], out[1]);
	(void)setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	pipe_set_nonblock(in[1]);
	pipe_set_nonblock(out[0]);
	if (r->len == 0) {
		close(in[1]);
		in[1] = -1;
	}
	if (r->time_limit_ms)
		deadline = pipe_now_ms() + (long long)r->time_limit_ms;
	while (in[1] >= 0 || out[0] >= 0 || !reaped) {
		now = pipe_now_ms();
		if (deadline && now >= deadline) {
			timed_out = !reaped;
			break;
		}
		if (drain_until && now >= drain_until)
			break;	/* exited; something it left holds the output */
		nfd = 0;
		if (out[0] >= 0) {
			pfd[nfd].fd = out[0];
			pfd[nfd].events = POLLIN;
			pfd[nfd++].revents = 0;
		}
		if (in[1] >= 0) {
			pfd[nfd].fd = in[1];
			pfd[nfd].events = POLLOUT;
			pfd[nfd++].revents = 0;
		}
		wait_ms = PIPE_POLL_MS;
		if (deadline && deadline - now < wait_ms)
			wait_ms = deadline - now;
		rc = poll(pfd, (nfds_t)nfd, (int)wait_ms);
		if (rc < 0 && errno != EINTR)
			break;
		for (int i = 0; rc > 0 && i < nfd; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == out[0]) {
				n = read(out[0], buf, sizeof(buf));
				if (n > 0) {
					pipe_keep_output(&output, buf, (size_t)n);
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					close(out[0]);
					out[0] = -1;
				}
			} else if (pfd[i].fd == in[1]) {
				size_t chunk = r->len - sent;

				if (chunk > PIPE_CHUNK)
					chunk = PIPE_CHUNK;
				n = write(in[1], r->data + sent, chunk);
				if (n > 0)
					sent += (size_t)n;
				if ((n < 0 && errno != EAGAIN && errno != EINTR)
				    || sent >= r->len) {
					/* Done, or the command stopped reading. */
					close(in[1]);
					in[1] = -1;
				}
			}
		}
		if (!reaped) {
			pid_t w = waitpid(pid, &wstatus, WNOHANG);

			if (w == pid) {
				reaped = 1;
				drain_until = pipe_now_ms() + PIPE_DRAIN_MS;
				if (in[1] >= 0) {
					close(in[1]);
					in[1] = -1;
				}
			}
		}
	}
	if (!reaped) {
		/* Over the time limit (or poll failed): kill all it started. */
		(void)kill(-pid, SIGKILL);
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	}
	if (timed_out) {
		privs_result_set(res, PRIVS_BOUNCE, "5.3.0",
		    "command time limit exceeded (%lu s): \"%s\"",
		    (r->time_limit_ms + PIPE_MS_PER_SEC - 1) / PIPE_MS_PER_SEC,
		    pbuf_str(&cmd));
	} else if (WIFSIGNALED(wstatus)) {
		privs_result_set(res, PRIVS_DEFER, "4.3.0",
		    "command \"%s\" was killed by signal %d", pbuf_str(&cmd),
		    WTERMSIG(wstatus));
	} else {
		while (output.len > 0 && output.data[output.len - 1] == ' ')
			pbuf_truncate(&output, output.len - 1);
		pipe_exit_result(WEXITSTATUS(wstatus), r->command, pbuf_str(&output), res);
	}
out:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	(void)sigaction(SIGPIPE, &old_pipe, NULL);
	pbuf_free(&output);
	pbuf_free(&cmd);
}

struct pipe_job {
	const struct pipe_req *r;
};

static void
pipe_job_run(void *ctx, struct privs_result *res)
{
	struct pipe_job *j = ctx;

	pipe_run(j->r, res);
}

void
pipe_deliver(const struct privs_cred *c, const struct pipe_req *r,
    struct privs_result *res)
{
	struct pipe_job j;

	j.r = r;
	privs_run(c, r->time_limit_ms ? r->time_limit_ms + PIPE_GRACE_MS : 0,
	    pipe_job_run, &j, res);
}
