/*
 * localsvc - the queue manager's line to local delivery.
 *
 * Local delivery needs root (it becomes each recipient), the queue
 * manager must not have it. So local_deliver() runs in "local" worker
 * processes that the master keeps as root, and the queue manager (as
 * mail_owner) asks them over a stream socket: $queue_directory/private/local
 * in the daemon (owned by mail_owner, mode 0600, in private/ of mode 0700:
 * only the queue manager reaches it), a socketpair in a foreground queue
 * run (sendmail -q with no daemon).
 *
 * The protocol: ASCII lines ending in LF.
 *
 *   request  "deliver" SP id SP subdir 1*(SP index) LF
 *            id is a queue ID, subdir must be "active", each index is a
 *            decimal position (0 = first) among the file's R records, at
 *            most LOCALSVC_MAX_RCPTS of them, the line at most
 *            LOCALSVC_LINE_MAX bytes.
 *   answers  one line per index, in the order asked, each sent as soon as
 *            that delivery is over:
 *              index SP status SP dsn SP text LF
 *            status 0 (delivered), 4 (try again later) or 5 (failed for
 *            good, return to the sender); dsn "d.d.d"; text local
 *            delivery's words (control bytes sent as spaces).
 *            Then the line "end".
 *   refusal  "error" SP text LF, and the server closes the connection
 *            (a malformed request: a bug in the client).
 *
 * A connection carries any number of requests, one after the other (the
 * client waits for "end" before it sends the next). The server reads the
 * queue file itself (queue_read) and never changes it: marking recipients
 * done, defer reasons, bounces and moving the file are the queue manager's
 * job. When the server dies before "end", the client treats every
 * unanswered index as deferred; the recipients are tried again later (at
 * least once delivery: a mailbox may get a message twice, never zero
 * times).
 */
#ifndef PETREL_LOCALSVC_H
#define PETREL_LOCALSVC_H

#include <stddef.h>

#define LOCALSVC_DIR		"private"
#define LOCALSVC_SOCKET		"private/local"
#define LOCALSVC_SOCKET_MODE	0600
#define LOCALSVC_LINE_MAX	8192
#define LOCALSVC_MAX_RCPTS	500
#define LOCALSVC_TEXT_MAX	512
#define LOCALSVC_DSN_MAX	16

/* Server side. */

/*
 * The master's "local" worker: accepts connections on listen_fd (a
 * non-blocking listener shared by several workers), serves each to its
 * end, and returns after max_use connections (0 = no limit) or once
 * SIGTERM arrived (after finishing the request at hand). Returns 0.
 */
int localsvc_loop(int listen_fd, long max_use);

/*
 * Serves the requests on one connection until the client closes it.
 * Returns 0, or -1 after a refusal or an I/O error.
 */
int localsvc_serve(int fd);

/* Client side (the queue manager). */

/* Connects to the daemon's local service; -1 with errno when none listens. */
int localsvc_connect(void);

/* Sends one request (blocking). Returns 0, or -1 with errno. */
int localsvc_send(int fd, const char *id, const char *subdir, const size_t *index,
    size_t n);

struct localsvc_reply {
	size_t index;
	int status;			/* 0, 4 or 5 */
	char dsn[LOCALSVC_DSN_MAX];
	char text[LOCALSVC_TEXT_MAX];
};

enum localsvc_line { LOCALSVC_REPLY, LOCALSVC_END, LOCALSVC_ERROR, LOCALSVC_BAD };

/*
 * Parses one answer line (without its LF). LOCALSVC_REPLY fills r;
 * LOCALSVC_ERROR puts the server's text in r->text; LOCALSVC_BAD is a
 * line that is none of these.
 */
enum localsvc_line localsvc_parse(const char *line, struct localsvc_reply *r);

#endif
