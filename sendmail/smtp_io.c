/*
 * smtp_io - the SMTP client's connection layer; see smtp_io.h.
 *
 * The socket is non-blocking from the start; every wait is a poll()
 * bounded by what is left of the time-out, measured on CLOCK_MONOTONIC.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smtp_io.h"

#define SMTP_IO_READ_CHUNK	4096
#define SMTP_IO_MS		1000

static ssize_t
smtp_io_plain_read(struct smtp_io *io, void *buf, size_t len)
{
	return read(io->fd, buf, len);
}

static ssize_t
smtp_io_plain_write(struct smtp_io *io, const void *buf, size_t len)
{
	return send(io->fd, buf, len, MSG_NOSIGNAL);
}

static const struct smtp_io_ops smtp_io_plain = {
	smtp_io_plain_read, smtp_io_plain_write, NULL
};

static long long
smtp_io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * SMTP_IO_MS + ts.tv_nsec / 1000000;
}

/* Waits for events on io->fd until deadline (ms). 1 ready, 0 timed out, -1 error. */
static int
smtp_io_wait(struct smtp_io *io, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { io->fd, events, 0 };
		long long left = deadline - smtp_io_now_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0)
			return 1;
	}
}

enum smtp_io_status
smtp_io_connect(struct smtp_io *io, const struct sockaddr *sa, socklen_t salen,
    const char *peer, unsigned port, long long timeout, char *why, size_t whylen)
{
	long long deadline = smtp_io_now_ms() + timeout * SMTP_IO_MS;
	int err = 0, w;
	socklen_t elen = sizeof(err);
	char where[SMTP_IO_NAME_MAX + 8];

	/* "name[addr]:port"; a UNIX-domain socket (port 0) is named by its path alone. */
	if (port != 0)
		snprintf(where, sizeof(where), "%s:%u", peer, port);
	else
		snprintf(where, sizeof(where), "%s", peer);

	memset(io, 0, sizeof(*io));
	pbuf_init(&io->in);
	io->ops = &smtp_io_plain;
	snprintf(io->peer, sizeof(io->peer), "%s", peer);
	io->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (io->fd < 0) {
		snprintf(why, whylen, "connect to %s: socket: %s", where, strerror(errno));
		return SMTP_IO_LOST;
	}
	if (connect(io->fd, sa, salen) == 0)
		return SMTP_IO_OK;
	if (errno != EINPROGRESS) {
		snprintf(why, whylen, "connect to %s: %s", where, strerror(errno));
		goto fail;
	}
	w = smtp_io_wait(io, POLLOUT, deadline);
	if (w == 0) {
		snprintf(why, whylen, "connect to %s: Connection timed out", where);
		close(io->fd);
		io->fd = -1;
		return SMTP_IO_TIMEOUT;
	}
	if (w < 0 || getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
		snprintf(why, whylen, "connect to %s: %s", where, strerror(errno));
		goto fail;
	}
	if (err != 0) {
		snprintf(why, whylen, "connect to %s: %s", where, strerror(err));
		goto fail;
	}
	return SMTP_IO_OK;
fail:
	close(io->fd);
	io->fd = -1;
	return SMTP_IO_LOST;
}

enum smtp_io_status
smtp_io_write(struct smtp_io *io, const void *buf, size_t len, long long timeout,
    char *why, size_t whylen)
{
	const char *p = buf;

	io->timeout = timeout;
	while (len > 0) {
		ssize_t n = io->ops->write(io, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = smtp_io_wait(io, POLLOUT, smtp_io_now_ms() + timeout * SMTP_IO_MS);

			if (w == 0) {
				snprintf(why, whylen, "conversation with %s timed out", io->peer);
				return SMTP_IO_TIMEOUT;
			}
			if (w > 0)
				continue;
		}
		snprintf(why, whylen, "lost connection with %s (%s)", io->peer,
		    n < 0 ? strerror(errno) : "write returned 0");
		return SMTP_IO_LOST;
	}
	return SMTP_IO_OK;
}

enum smtp_io_status
smtp_io_reply(struct smtp_io *io, struct smtp_reply *r, long long timeout, char *why,
    size_t whylen)
{
	long long deadline = smtp_io_now_ms() + timeout * SMTP_IO_MS;
	char buf[SMTP_IO_READ_CHUNK];

	io->timeout = timeout;
	for (;;) {
		char bad[128];
		size_t used = 0;
		enum smtp_reply_status st;
		ssize_t n;
		int w;

		st = smtp_reply_parse(io->in.data ? io->in.data : "", io->in.len, r, &used, bad,
		    sizeof(bad));
		if (st == SMTP_REPLY_DONE) {
			memmove(io->in.data, io->in.data + used, io->in.len - used);
			pbuf_truncate(&io->in, io->in.len - used);
			return SMTP_IO_OK;
		}
		if (st == SMTP_REPLY_BAD) {
			snprintf(why, whylen, "malformed reply from %s: %s", io->peer, bad);
			return SMTP_IO_BAD;
		}
		n = io->ops->read(io, buf, sizeof(buf));
		if (n > 0) {
			pbuf_append(&io->in, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			snprintf(why, whylen, "lost connection with %s%s", io->peer,
			    io->in.len ? " in the middle of a reply" : "");
			return SMTP_IO_LOST;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(why, whylen, "lost connection with %s (%s)", io->peer,
			    strerror(errno));
			return SMTP_IO_LOST;
		}
		w = smtp_io_wait(io, POLLIN, deadline);
		if (w == 0) {
			snprintf(why, whylen, "conversation with %s timed out", io->peer);
			return SMTP_IO_TIMEOUT;
		}
		if (w < 0) {
			snprintf(why, whylen, "lost connection with %s (%s)", io->peer,
			    strerror(errno));
			return SMTP_IO_LOST;
		}
	}
}

void
smtp_io_close(struct smtp_io *io)
{
	if (io->ops != NULL && io->ops->close != NULL)
		io->ops->close(io);
	io->ops = &smtp_io_plain;
	io->ctx = NULL;
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	pbuf_free(&io->in);
}
