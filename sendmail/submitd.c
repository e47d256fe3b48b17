/*
 * submitd - serves the submission and showq sockets; see submitd.h.
 *
 * The caller's uid comes from SO_PEERCRED, never from the request. The
 * answer to a submission is sent only after pickup_message() has made the
 * queue file durable, so an "OK" can never precede a loss.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "instance.h"
#include "log.h"
#include "pbuf.h"
#include "pickup.h"
#include "qfile.h"
#include "showq.h"
#include "submit.h"
#include "submitd.h"

static volatile sig_atomic_t submitd_stop;

static void
submitd_on_term(int sig)
{
	submitd_stop = 1;
}

/*
 * Reads the request to EOF within the deadline. Returns 0, 1 when over
 * limit, -1 on error or timeout.
 */
static int
submitd_read(int fd, struct pbuf *req, size_t limit)
{
	time_t deadline = time(NULL) + SUBMITD_READ_TIMEOUT;
	char buf[65536];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		time_t left = deadline - time(NULL);
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left * 1000) <= 0) {
			if (errno == EINTR && !submitd_stop)
				continue;
			return -1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (limit && req->len + (size_t)n > limit)
			return 1;
		pbuf_append(req, buf, (size_t)n);
	}
}

static void
submitd_submission(int fd)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct pbuf req = PBUF_INIT;
	struct qenv raw;
	char err[1024], qid[QID_LEN + 1];
	size_t limit = (size_t)conf_int("message_size_limit");
	int rc, status;

	qenv_init(&raw);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		log_warn("submit: SO_PEERCRED: %m");
		submit_reply_error(fd, EX_TEMPFAIL, "cannot identify the caller");
		goto out;
	}
	rc = submitd_read(fd, &req, limit ? limit + SUBMIT_ENVELOPE_SLACK : 0);
	if (rc == 1) {
		submit_reply_error(fd, EX_UNAVAILABLE, "message file too big");
		log_warn("submit: uid=%ld: message file too big", (long)cred.uid);
		goto out;
	}
	if (rc < 0) {
		/* The client went away or stalled: it will fall back to maildrop. */
		log_warn("submit: uid=%ld: request not received in full", (long)cred.uid);
		goto out;
	}
	if (qfile_parse(pbuf_str(&req), req.len, &raw, err, sizeof(err)) != QFILE_OK
	    || !(raw.flags & QF_RAW)) {
		log_warn("submit: uid=%ld: malformed request: %s", (long)cred.uid,
		    raw.flags & QF_RAW ? err : "not a raw submission");
		submit_reply_error(fd, EX_DATAERR, "malformed submission request");
		goto out;
	}
	status = pickup_message(&raw, req.data + raw.data_off, raw.data_len, (long)cred.uid,
	    "submit", qid, err, sizeof(err));
	if (status == 0)
		submit_reply_ok(fd, qid);
	else
		submit_reply_error(fd, status, err);
out:
	qenv_free(&raw);
	pbuf_free(&req);
}

int
submitd_loop(int submit_fd, int showq_fd, long max_use)
{
	struct sigaction sa;
	struct timeval send_timeout = { SUBMITD_READ_TIMEOUT, 0 };
	long served = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = submitd_on_term;
	sigaction(SIGTERM, &sa, NULL);
	while (!submitd_stop && !instance_parent_gone() && (max_use <= 0 || served < max_use)) {
		struct pollfd p[2] = { { submit_fd, POLLIN, 0 }, { showq_fd, POLLIN, 0 } };
		int i, n;

		n = poll(p, 2, SUBMITD_POLL_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %m");
		}
		if (n == 0)
			continue;
		for (i = 0; i < 2 && !submitd_stop; i++) {
			int fd;

			if (!(p[i].revents & POLLIN))
				continue;
			/* Another worker may have taken it first: the listener is non-blocking. */
			fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
			if (i == 0)
				submitd_submission(fd);
			else
				showq_serve(fd);
			close(fd);
			served++;
		}
	}
	return 0;
}
