/*
 * endpoint - connect to unix:/inet: service addresses; see endpoint.h.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "endpoint.h"
#include "xalloc.h"

#define ENDPOINT_MS		1000
#define ENDPOINT_NS_PER_MS	1000000L

long long
endpoint_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * ENDPOINT_MS + ts.tv_nsec / ENDPOINT_NS_PER_MS;
}

int
endpoint_wait(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p;
		long long left = deadline - endpoint_now_ms();
		int rc;

		if (left <= 0)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc > 0)
			return 1;
	}
}

/* Waits for a non-blocking connect to finish; fd or -1 (closed) with err. */
static int
endpoint_finish(int fd, int timeout_ms, char *err, size_t errlen)
{
	int rc = endpoint_wait(fd, POLLOUT, endpoint_now_ms() + timeout_ms);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (rc <= 0) {
		snprintf(err, errlen, "connect: %s", rc == 0 ? "time-out" : strerror(errno));
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
		snprintf(err, errlen, "connect: %s", strerror(soerr ? soerr : errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
endpoint_unix(const char *path, const char *base_dir, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd, rc, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (*path == '\0') {
		snprintf(err, errlen, "bad socket path");
		return -1;
	}
	if (*path != '/' && base_dir != NULL)
		n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", base_dir, path);
	else
		n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "bad socket path");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (rc == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		snprintf(err, errlen, "connect to %s: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return endpoint_finish(fd, timeout_ms, err, errlen);
}

int
endpoint_connect(const char *spec, const char *base_dir, int timeout_ms, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char *host = NULL, *port = NULL;
	const char *p;
	int fd = -1, rc, gai;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		return endpoint_unix(strchr(spec, ':') + 1, base_dir, timeout_ms, err, errlen);
	if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
		const char *rest = strchr(spec, ':') + 1, *at = strchr(rest, '@');

		if (at != NULL) {		/* Sendmail: inet:port@host */
			port = xstrndup(rest, (size_t)(at - rest));
			host = xstrdup(at + 1);
		} else if (rest[0] == '[' && (p = strchr(rest, ']')) != NULL && p[1] == ':') {
			host = xstrndup(rest + 1, (size_t)(p - rest - 1));
			port = xstrdup(p + 2);
		} else if ((p = strrchr(rest, ':')) != NULL) {	/* Postfix: inet:host:port */
			host = xstrndup(rest, (size_t)(p - rest));
			port = xstrdup(p + 1);
		}
	}
	if (host == NULL || port == NULL || *host == '\0' || *port == '\0') {
		snprintf(err, errlen, "not a service address (unix:/path, local:/path, "
		    "inet:host:port, inet:port@host)");
		free(host);
		free(port);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "%s port %s: %s", host, port, gai_strerror(gai));
		free(host);
		free(port);
		return -1;
	}
	snprintf(err, errlen, "no address for %s", host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc == 0 || errno == EINPROGRESS)
			break;
		snprintf(err, errlen, "connect to %s port %s: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	free(host);
	free(port);
	if (fd < 0)
		return -1;
	return endpoint_finish(fd, timeout_ms, err, errlen);
}

int
endpoint_write(int fd, const void *buf, size_t len, long long deadline, char *err,
    size_t errlen)
{
	const char *p = buf;
	size_t off = 0;

	while (off < len) {
		ssize_t n;
		int w = endpoint_wait(fd, POLLOUT, deadline);

		if (w == 0) {
			snprintf(err, errlen, "time-out while sending");
			return -1;
		}
		if (w < 0) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		n = send(fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}
