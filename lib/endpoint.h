/*
 * endpoint - client connections to the local services Postfix names by
 * address strings: milters (smtpd_milters) and policy servers
 * (check_policy_service). Forms:
 *   unix:/path, local:/path   a UNIX-domain stream socket; a relative
 *                             path is taken under base_dir (Postfix:
 *                             unix:private/policy is in the queue
 *                             directory) when base_dir is not NULL
 *   inet:host:port, inet:[v6]:port, inet6:...   TCP (Postfix)
 *   inet:port@host            TCP (Sendmail)
 *
 * Sockets are non-blocking and close-on-exec; endpoint_wait() waits for
 * them with a deadline on the monotonic clock (endpoint_now_ms()).
 *
 * Errors: endpoint_connect() returns -1 with a one-line reason in err
 * (a malformed address, the name not resolved, refused, the time-out).
 */
#ifndef PETREL_ENDPOINT_H
#define PETREL_ENDPOINT_H

#include <stddef.h>

/* A connected socket, or -1 with err. timeout_ms bounds the connect. */
int endpoint_connect(const char *spec, const char *base_dir, int timeout_ms,
    char *err, size_t errlen);

/* Milliseconds of the monotonic clock. */
long long endpoint_now_ms(void);

/* Waits for events (POLLIN/POLLOUT) on fd until deadline: 1 ready, 0 time-out, -1 error. */
int endpoint_wait(int fd, short events, long long deadline);

/* Sends all of buf on a stream socket before deadline; 0, or -1 with err. */
int endpoint_write(int fd, const void *buf, size_t len, long long deadline,
    char *err, size_t errlen);

#endif
