/*
 * smtp_io - the SMTP client's connection: a non-blocking connect bounded
 * by a time-out, timed writes, and timed reads of whole replies (parsed
 * by smtp_reply.c).
 *
 * Every byte goes through io->ops (plain socket reads and writes today).
 * STARTTLS slots in here: after "220 Ready to start TLS" a TLS layer
 * (lib/tls.h) replaces io->ops and io->ctx, and nothing above this
 * layer changes. The input buffer must be empty at that moment (RFC 3207
 * §4.2: anything the server pipelined before the handshake is an attack).
 *
 * API: smtp_io_connect(), smtp_io_write(), smtp_io_reply(),
 * smtp_io_close().
 *
 * Errors: each returns a status (below) and fills why with a one-line
 * reason that names the peer ("connect to mx.example[192.0.2.1]:25:
 * Connection refused", "lost connection with mx.example[192.0.2.1]",
 * "conversation with mx.example[192.0.2.1] timed out",
 * "malformed reply from mx.example[192.0.2.1]: reply line longer than
 * 512 bytes").
 */
#ifndef PETREL_SMTP_IO_H
#define PETREL_SMTP_IO_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "pbuf.h"
#include "smtp_reply.h"

#define SMTP_IO_NAME_MAX	336	/* "name[address]": 255 + 2 + 64, and the NUL */
#define SMTP_IO_WHY_MAX		1024

enum smtp_io_status {
	SMTP_IO_OK = 0,
	SMTP_IO_TIMEOUT,	/* no progress within the time-out */
	SMTP_IO_LOST,		/* the peer closed the connection, or an I/O error */
	SMTP_IO_BAD,		/* bytes that are no SMTP reply */
};

struct smtp_io;

/* The byte layer: plain socket now, TLS after STARTTLS. Like read(2)/write(2). */
struct smtp_io_ops {
	ssize_t (*read)(struct smtp_io *io, void *buf, size_t len);
	ssize_t (*write)(struct smtp_io *io, const void *buf, size_t len);
	void (*close)(struct smtp_io *io);	/* ends the layer (not the socket); may be NULL */
};

struct smtp_io {
	int fd;
	struct pbuf in;			/* received, not yet parsed */
	const struct smtp_io_ops *ops;
	void *ctx;			/* the layer's state (TLS), NULL for plain */
	long long timeout;		/* seconds: the time-out of the current read or write */
	char peer[SMTP_IO_NAME_MAX];	/* "name[address]", for reasons and logs */
};

/*
 * Connects to sa (an IPv4, IPv6 or UNIX-domain address) within timeout
 * seconds; peer names the other end in messages, with ":port" after it
 * unless port is 0 (a UNIX-domain socket). SMTP_IO_OK, or SMTP_IO_LOST/SMTP_IO_TIMEOUT with why.
 */
enum smtp_io_status smtp_io_connect(struct smtp_io *io, const struct sockaddr *sa,
    socklen_t salen, const char *peer, unsigned port, long long timeout,
    char *why, size_t whylen);

/* Writes all of buf; the time-out bounds each wait for progress. */
enum smtp_io_status smtp_io_write(struct smtp_io *io, const void *buf, size_t len,
    long long timeout, char *why, size_t whylen);

/* Reads one whole reply into r within timeout seconds. */
enum smtp_io_status smtp_io_reply(struct smtp_io *io, struct smtp_reply *r,
    long long timeout, char *why, size_t whylen);

void smtp_io_close(struct smtp_io *io);

#endif
