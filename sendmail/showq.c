/*
 * showq - serves queue listings and flush requests; see showq.h.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "conf.h"
#include "log.h"
#include "mailq.h"
#include "pickup.h"
#include "qmgr.h"
#include "queue.h"
#include "showq.h"
#include "user.h"

#define SHOWQ_READ_TIMEOUT_MS	(10 * 1000)

static int
showq_read_line(int fd, char *buf, size_t size)
{
	size_t have = 0;

	while (have + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, SHOWQ_READ_TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, buf + have, size - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (memchr(buf, '\n', have))
			break;
	}
	buf[have] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return have ? 0 : -1;
}

static int
showq_count_one(const char *subdir, const char *id, void *ctx)
{
	(*(long *)ctx)++;
	return 0;
}

static void
showq_count(FILE *out)
{
	static const char *const dirs[] = { QDIR_MAILDROP, QDIR_INCOMING, QDIR_ACTIVE,
		QDIR_DEFERRED, QDIR_HOLD, NULL };
	const char *qdir = conf_str("queue_directory");
	long n = 0;
	int i;

	for (i = 0; dirs[i]; i++)
		(void)queue_scan(qdir, dirs[i], showq_count_one, &n);
	fprintf(out, "%s/mqueue: entries=%ld\n", qdir, n);
	fprintf(out, "Total requests: %ld\n", n);
}

/*
 * Whether the client on fd (its uid from SO_PEERCRED, never from the
 * request) may do what param allows: sendmail checks first and says why;
 * this is for a client that talks to the socket itself.
 */
static int
showq_peer_allowed(int fd, const char *param)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct user_info u;
	int ok;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		log_warn("showq: SO_PEERCRED: %m");
		return 0;
	}
	user_lookup_uid((long)cred.uid, &u);
	ok = user_queue_authorized(param, u.uid, u.login);
	if (!ok)
		log_warn("showq: %s(%ld) refused by %s", u.login, u.uid, param);
	user_info_free(&u);
	return ok;
}

void
showq_serve(int fd)
{
	char line[SHOWQ_REQUEST_MAX];
	FILE *out;
	int fmt, verbose, dupfd;

	if (showq_read_line(fd, line, sizeof(line)) < 0)
		return;
	if (strcmp(line, "flush") == 0) {
		if (!showq_peer_allowed(fd, "authorized_flush_users"))
			return;
		pickup_scan_maildrop();
		log_info("flush requested");
		qmgr_wake('F');
		return;
	}
	dupfd = dup(fd);
	if (dupfd < 0 || (out = fdopen(dupfd, "w")) == NULL) {
		log_warn("showq: %m");
		if (dupfd >= 0)
			close(dupfd);
		return;
	}
	if (sscanf(line, "mailq %d %d", &fmt, &verbose) == 2
	    && fmt >= MAILQ_SENDMAIL && fmt <= MAILQ_JSON) {
		if (!showq_peer_allowed(fd, "authorized_mailq_users")) {
			fclose(out);
			return;
		}
		if (mailq_print(out, conf_str("queue_directory"), (enum mailq_format)fmt,
		    verbose) < 0)
			log_warn("showq: cannot read the queue: %m");
	} else if (strcmp(line, "count") == 0) {
		showq_count(out);
	} else {
		log_warn("showq: unknown request \"%.40s\"", line);
	}
	fclose(out);
}
