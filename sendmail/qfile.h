/*
 * qfile - the one module that reads and writes queue files.
 *
 * A queue file holds one message: a version line, envelope records, the
 * content, and an end marker. The exact layout is doc/queue-format.md.
 * The same byte format serves three places:
 *   - maildrop/ files written by the sendmail front end (raw: the message
 *     as the caller gave it, not yet through cleanup),
 *   - the stream the front end sends over the submission socket,
 *   - incoming/, active/, deferred/, hold/ files (after cleanup).
 * A reader never trusts a file: every record is checked, a file without
 * its end marker or with a bad length is CORRUPT, never a crash.
 */
#ifndef PETREL_QFILE_H
#define PETREL_QFILE_H

#include <stddef.h>
#include <sys/time.h>
#include <sys/types.h>

#include "pbuf.h"

#define QFILE_VERSION	1
#define QID_LEN		14	/* [0-9A-F]{14}, see queue.h */

/* Envelope flags (qenv.flags). */
#define QF_EXTRACT_RCPT	(1u << 0)	/* sendmail -t: cleanup takes recipients from headers */
#define QF_RAW		(1u << 1)	/* content not yet through cleanup (maildrop, socket) */
#define QF_8BITMIME	(1u << 2)	/* body declared 8BITMIME (-B8BITMIME, BODY=) */
#define QF_SMTPUTF8	(1u << 3)
#define QF_FULLNAME_SET	(1u << 4)	/* fullname came from -F or $NAME */
#define QF_SENDER_SET	(1u << 5)	/* sender given with -f/-r (possibly empty: <>) */

/* DSN NOTIFY bits (qrcpt.notify); 0 = not given. */
#define QN_NEVER	(1u << 0)
#define QN_SUCCESS	(1u << 1)
#define QN_FAILURE	(1u << 2)
#define QN_DELAY	(1u << 3)

/* DSN RET (qenv.ret). */
#define QRET_NONE	0
#define QRET_FULL	1
#define QRET_HDRS	2

/* Recipient states (qrcpt.state), stored as one byte so it can change in place. */
#define QR_TODO		'T'
#define QR_DONE		'D'

struct qrcpt {
	char *addr;		/* address, "" never valid here */
	char *orcpt;		/* ORCPT (addr-type;xtext) or NULL */
	unsigned notify;	/* QN_* */
	char state;		/* QR_TODO / QR_DONE */
	off_t state_off;	/* file offset of the state byte (set by the reader) */
};

struct qattr {
	char *name;
	char *value;
};

struct qenv {
	char id[QID_LEN + 1];	/* "" while unassigned */
	struct timeval arrival;
	unsigned flags;		/* QF_* */
	char *sender;		/* envelope sender; "" = null sender <>; NULL = not given */
	long uid;		/* submitting uid (trusted only when set by the daemon) */
	char *fullname;		/* -F / $NAME, or NULL */
	int ret;		/* QRET_* */
	char *envid;		/* DSN ENVID or NULL */
	struct qrcpt *rcpt;
	size_t nrcpt;
	struct qattr *attr;	/* other named attributes, kept in order */
	size_t nattr;
	/* Set by the readers: where the content lies in the file or buffer. */
	off_t data_off;
	size_t data_len;
};

void qenv_init(struct qenv *e);
void qenv_free(struct qenv *e);
void qenv_set_sender(struct qenv *e, const char *sender);	/* NULL clears */
void qenv_add_rcpt(struct qenv *e, const char *addr, unsigned notify, const char *orcpt);
/* "rfc822;" + the xtext of addr (RFC 3461 section 4), malloc'd: an ORCPT value. */
char *qenv_orcpt_make(const char *addr);
/* Attributes: a later set of the same name replaces the value. */
void qenv_set_attr(struct qenv *e, const char *name, const char *value);
const char *qenv_attr(const struct qenv *e, const char *name);

/*
 * Error classes of the readers. QFILE_CORRUPT means the bytes are not a
 * valid queue file (quarantine it); QFILE_IOERR means the read failed.
 */
enum qfile_status { QFILE_OK = 0, QFILE_CORRUPT = -1, QFILE_IOERR = -2 };

/*
 * Serializes envelope + content into out (appending). Content must use LF
 * line endings. Returns 0, or -1 when a field cannot be stored (e.g. an
 * address with a newline in it), with err filled.
 */
int qfile_format(const struct qenv *e, const char *content, size_t len,
    struct pbuf *out, char *err, size_t errlen);

/*
 * Parses a whole queue file held in memory. On success env is filled and
 * env->data_off/data_len locate the content inside buf. On failure err
 * names the record and the problem.
 */
enum qfile_status qfile_parse(const char *buf, size_t len, struct qenv *env,
    char *err, size_t errlen);

/*
 * Reads and parses the queue file open on fd. When content is non-NULL the
 * content is appended to it. Never trusts the file's contents.
 */
enum qfile_status qfile_read_fd(int fd, struct qenv *env, struct pbuf *content,
    char *err, size_t errlen);

/*
 * Marks one recipient done in place (one byte), not synced: the page
 * cache outlives a crash of any process, and after a power loss a lost mark
 * only repeats that delivery (at least once, never lost). Postfix's qmgr
 * does the same.
 */
int qfile_mark_rcpt(int fd, const struct qrcpt *r, char state);

/*
 * Additions (doc/queue-format.md). The first line of every file, the
 * longest envelope line (LF included), the end marker after the content,
 * and where the ID lies when the envelope has one: the I record is always
 * written first, so a writer may patch the ID in place.
 */
#define QFILE_MAGIC		"PETREL-QUEUE 1"
#define QFILE_LINE_MAX		65536
#define QFILE_END_MARK		"END\n"
#define QFILE_END_LEN		4
#define QFILE_ID_OFFSET		(sizeof(QFILE_MAGIC "\nI ") - 1)
#define QFILE_ORCPT_MAX		500
#define QFILE_ATTR_NAME_MAX	64

/*
 * The part of qfile_format() before the content: everything through the
 * D line, for a content of len bytes. A complete file is this, the
 * content, then QFILE_END_MARK (queue_write uses writev on the three).
 */
int qfile_format_head(const struct qenv *e, size_t len, struct pbuf *out,
    char *err, size_t errlen);

/*
 * Note on qfile_read_fd: a regular file is read from offset 0 (pread), so
 * data_off and state_off are file offsets whatever the fd's position. When
 * content is NULL only the envelope is read; the content is then checked
 * against L and the end marker through fstat and one pread of 4 bytes, not
 * read. Otherwise the whole file is held in memory once (no extra copy):
 * fine for messages up to message_size_limit, not for unbounded ones.
 */

#endif
