/*
 * submit - the local submission socket (queue_directory/public/submit).
 *
 * The front end sends one raw queue file (qfile format, QF_RAW set) and
 * half-closes; the daemon reads it to EOF, takes the caller's uid from
 * the kernel (SO_PEERCRED, never from the stream), runs cleanup, commits
 * the queue file durably, and only then answers one line:
 *     OK <QUEUEID>\n
 *     ERR <sysexits code> <text>\n
 * Anything else, or a connection that breaks before the answer, makes the
 * front end fall back to maildrop/ with the copy it holds: a duplicate is
 * better than a loss.
 */
#ifndef PETREL_SUBMIT_H
#define PETREL_SUBMIT_H

#include <stddef.h>

#include "qfile.h"

/* How long the front end waits for the daemon's answer before falling back. */
#define SUBMIT_REPLY_TIMEOUT_MS	(120 * 1000)
/* Longest answer line. */
#define SUBMIT_REPLY_MAX	1024
/* Envelope allowance on top of message_size_limit for a request. */
#define SUBMIT_ENVELOPE_SLACK	(1024 * 1024)

enum submit_result {
	SUBMIT_QUEUED,		/* qid filled */
	SUBMIT_REFUSED,		/* daemon said ERR: status and msg filled */
	SUBMIT_UNAVAILABLE,	/* no daemon, or it broke before answering */
};

/* Client side: sends payload (a formatted raw queue file). */
enum submit_result submit_send(const char *payload, size_t len, char *qid,
    int *status, char *msg, size_t msglen);

/* Server side: writes the answer line. */
int submit_reply_ok(int fd, const char *qid);
int submit_reply_error(int fd, int status, const char *text);

#endif
