/*
 * submit - both ends of the submission socket protocol; see submit.h.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fileio.h"
#include "instance.h"
#include "log.h"
#include "queue.h"
#include "submit.h"

static int
submit_read_reply(int fd, char *buf, size_t size)
{
	size_t have = 0;

	while (have + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		int rc = poll(&p, 1, SUBMIT_REPLY_TIMEOUT_MS);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return -1;
		n = read(fd, buf + have, size - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if (memchr(buf, '\n', have))
			return 0;
	}
	return -1;
}

enum submit_result
submit_send(const char *payload, size_t len, char *qid, int *status, char *msg,
    size_t msglen)
{
	char reply[SUBMIT_REPLY_MAX];
	struct sigaction ign, old;
	enum submit_result res = SUBMIT_UNAVAILABLE;
	int fd;

	fd = instance_connect(QUEUE_SUBMIT_SOCKET);
	if (fd < 0)
		return SUBMIT_UNAVAILABLE;
	/* A daemon that dies mid-request must not kill us with SIGPIPE. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	if (fileio_write_all(fd, payload, len) < 0 || shutdown(fd, SHUT_WR) < 0
	    || submit_read_reply(fd, reply, sizeof(reply)) < 0)
		goto out;
	reply[strcspn(reply, "\n")] = '\0';
	if (strncmp(reply, "OK ", 3) == 0 && queue_id_valid(reply + 3)) {
		memcpy(qid, reply + 3, QID_LEN);
		qid[QID_LEN] = '\0';
		res = SUBMIT_QUEUED;
	} else if (strncmp(reply, "ERR ", 4) == 0) {
		char *end;
		long code = strtol(reply + 4, &end, 10);

		if (end != reply + 4 && code > 0 && code < 256 && *end == ' ') {
			*status = (int)code;
			snprintf(msg, msglen, "%s", end + 1);
			res = SUBMIT_REFUSED;
		}
	}
out:
	sigaction(SIGPIPE, &old, NULL);
	close(fd);
	return res;
}

int
submit_reply_ok(int fd, const char *qid)
{
	char line[SUBMIT_REPLY_MAX];
	int n = snprintf(line, sizeof(line), "OK %s\n", qid);

	return fileio_write_all(fd, line, (size_t)n);
}

int
submit_reply_error(int fd, int status, const char *text)
{
	char line[SUBMIT_REPLY_MAX];
	int n = snprintf(line, sizeof(line), "ERR %d %s", status, text);

	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[strcspn(line, "\r\n")] = '\0';	/* one line, whatever text holds */
	n = (int)strlen(line);
	line[n++] = '\n';
	return fileio_write_all(fd, line, (size_t)n);
}
