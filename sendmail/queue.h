/*
 * queue - the queue directory: its layout, queue IDs, durable commits,
 * scanning, and quarantine of corrupt files.
 *
 * Layout under queue_directory (modes as petrel check wants them; see
 * doc/queue-format.md):
 *   maildrop/  raw submissions written by the front end (setgid petreldrop)
 *   incoming/  messages after cleanup, not yet seen by the queue manager
 *   active/    messages the queue manager is working on
 *   deferred/  messages waiting for a retry
 *   hold/      messages held by the administrator or a milter
 *   corrupt/   files that failed to parse, kept for inspection
 *   public/    the sockets local users may reach (submit, showq)
 *   pid/       master.pid and the instance lock
 *
 * Queue IDs are exactly QID_LEN characters of [0-9A-F]: five hex digits of
 * the microseconds at creation and nine of the file's inode number. The
 * inode makes the ID unique among live queue files of one file system
 * without any lock or counter.
 *
 * A file under construction has a name starting with '.'
 * (".<pid>.<time>.<n>.tmp", see doc/queue-format.md) and is never
 * listed, picked up or delivered. queue_write() is the only
 * way a complete file appears: temp name (O_EXCL), write, fsync, rename
 * into place, fsync of the directory.
 */
#ifndef PETREL_QUEUE_H
#define PETREL_QUEUE_H

#include <stddef.h>
#include <sys/types.h>

#include "qfile.h"

#define QDIR_MAILDROP	"maildrop"
#define QDIR_INCOMING	"incoming"
#define QDIR_ACTIVE	"active"
#define QDIR_DEFERRED	"deferred"
#define QDIR_HOLD	"hold"
#define QDIR_CORRUPT	"corrupt"
#define QDIR_PUBLIC	"public"
#define QDIR_PID	"pid"

#define QUEUE_SUBMIT_SOCKET	"public/submit"
#define QUEUE_SHOWQ_SOCKET	"public/showq"

/* Temp files older than this are leftovers of a crash and are removed. */
#define QUEUE_STALE_TEMP_SECONDS	3600

/* 1 when name is a well-formed queue ID. */
int queue_id_valid(const char *name);

/*
 * Writes e (whose id is assigned here) and content as a new file in
 * queue_dir/subdir, durably. mode is the final file mode. On success the
 * id is in e->id and 0 is returned. On failure -1, errno kept from the
 * failing call (ENOSPC, EACCES, ...), err says which step, and nothing is
 * left behind.
 *
 * Cost: one writev() of envelope + content + end marker, one fsync of the
 * file, one rename, one fsync of the directory. A caller that may write
 * but not read the directory (an unprivileged sendmail writing maildrop/,
 * mode 1730) cannot open it to fsync it (EACCES); the directory entry is
 * then made durable with syncfs() on the still open file instead.
 */
int queue_write(const char *queue_dir, const char *subdir, struct qenv *e,
    const char *content, size_t len, mode_t mode, char *err, size_t errlen);

/* Callback for queue_scan: return non-zero to stop the scan. */
typedef int (*queue_scan_fn)(const char *subdir, const char *id, void *ctx);

/*
 * Calls fn for every queue file (complete, valid ID name) in subdir, in
 * no particular order. Returns the number visited, or -1 if the directory
 * cannot be read.
 */
long queue_scan(const char *queue_dir, const char *subdir, queue_scan_fn fn, void *ctx);

/* Removes temp files in subdir older than max_age seconds; returns count. */
int queue_remove_stale(const char *queue_dir, const char *subdir, long max_age);

/*
 * Reads queue_dir/subdir/id. On QFILE_CORRUPT the caller should call
 * queue_quarantine().
 */
enum qfile_status queue_read(const char *queue_dir, const char *subdir,
    const char *id, struct qenv *e, struct pbuf *content, char *err, size_t errlen);

/*
 * Moves queue_dir/subdir/name to corrupt/ (keeping the name; a suffix is
 * added if taken) and logs why. Returns 0 or -1.
 */
int queue_quarantine(const char *queue_dir, const char *subdir, const char *name,
    const char *why);

/* Moves a queue file between state directories (a rename, not synced: see queue.c). */
int queue_move(const char *queue_dir, const char *from, const char *to, const char *id);

/*
 * Finds the subdirectory that holds id (maildrop, incoming, active,
 * deferred, hold); returns its name or NULL.
 */
const char *queue_locate(const char *queue_dir, const char *id);

/*
 * Additions (doc/queue-format.md).
 */
struct stat;

/* Per-message delay reasons: QDIR_DEFER/<ID>, section 6 of the format doc. */
#define QDIR_DEFER	"defer"
/* A reader of a defer file looks at no more than this many bytes. */
#define QUEUE_DEFER_MAX	(1024 * 1024)

/*
 * queue_read, plus: when st is non-NULL it receives the fstat() of the
 * file that was read. For a maildrop/ file st->st_uid is the submitter's
 * trusted identity (the U record is only a claim). When content is NULL
 * only the envelope is read (the content is checked, not read).
 * Refusals: a symbolic link or a non-regular file is QFILE_CORRUPT; a file
 * with more than one hard link is QFILE_IOERR (errno EMLINK: retry later;
 * the link()+unlink() rename fallback passes through that state); an I
 * record that differs from the file name is QFILE_CORRUPT.
 */
enum qfile_status queue_read_stat(const char *queue_dir, const char *subdir,
    const char *id, struct qenv *e, struct pbuf *content, struct stat *st,
    char *err, size_t errlen);

/*
 * Two-step creation, for writers that need the ID before they have the
 * content (cleanup puts it in Received: and Message-Id:). queue_tx_begin
 * creates the temp file in queue_dir/subdir and assigns tx->id;
 * queue_tx_commit sets e->id = tx->id, writes, syncs and renames exactly
 * as queue_write does, and always ends the transaction; queue_tx_abort
 * removes the temp file. queue_write() is begin + commit.
 */
struct queue_tx {
	int fd;
	char *dir;		/* queue_dir/subdir */
	char *tmp;		/* the temp file's path */
	char id[QID_LEN + 1];
	mode_t mode;		/* the temp file's mode as created */
};

/*
 * A rewrite of every envelope committed into incoming/ or hold/ (Postfix's
 * cleanup does virtual aliasing for all new mail; the daemon's processes
 * set virtual_expand here). -1 with err refuses the commit (errno EAGAIN:
 * try again later); the temp file is removed.
 */
typedef int (*queue_envelope_fn)(struct qenv *e, char *err, size_t errlen);
void queue_set_envelope_hook(queue_envelope_fn fn);

/*
 * A rewrite of envelope and content, run before the envelope hook on the
 * same files (Postfix's canonical mapping and masquerading, canonical.c).
 * It returns 1 with the new content in out, 0 when the content stays, or
 * -1 with err to refuse the commit (errno EAGAIN). When the commit is
 * refused by either hook, the envelope is put back as it was given.
 */
struct pbuf;
typedef int (*queue_message_fn)(struct qenv *e, const char *content, size_t len,
    struct pbuf *out, char *err, size_t errlen);
void queue_set_message_hook(queue_message_fn fn);

int queue_tx_begin(const char *queue_dir, const char *subdir, struct queue_tx *tx,
    char *err, size_t errlen);
int queue_tx_commit(struct queue_tx *tx, struct qenv *e, const char *content,
    size_t len, mode_t mode, char *err, size_t errlen);
void queue_tx_abort(struct queue_tx *tx);
/*
 * Makes queue_tx_commit rename the file into queue_dir/subdir instead
 * (same file system, same ID): a message a milter quarantines goes to
 * hold/ although its transaction began in incoming/.
 */
void queue_tx_set_dir(struct queue_tx *tx, const char *queue_dir, const char *subdir);

/* One line of a defer file: address, DSN status, reason. */
struct queue_defer_entry {
	char *addr;
	char *status;
	char *reason;
};

struct queue_defer {
	struct queue_defer_entry *v;
	size_t n;
};

void queue_defer_init(struct queue_defer *d);
void queue_defer_free(struct queue_defer *d);
/* Appends an entry (copies); a later entry for the same address replaces it. */
void queue_defer_add(struct queue_defer *d, const char *addr, const char *status,
    const char *reason);
/* The entry for addr (exact match), or NULL. */
const struct queue_defer_entry *queue_defer_find(const struct queue_defer *d,
    const char *addr);
/*
 * Reads queue_dir/defer/<id> into d (appending). A missing file gives no
 * entries; malformed lines are skipped. Returns 0, or -1 with errno.
 */
int queue_defer_read(const char *queue_dir, const char *id, struct queue_defer *d);
/*
 * Replaces queue_dir/defer/<id> atomically (temp, fsync, rename, fsync of
 * the directory); with no entries the file is removed. Returns 0, or -1
 * with errno and err set (a field with a line break or an address/status
 * with a TAB is EINVAL).
 */
int queue_defer_write(const char *queue_dir, const char *id,
    const struct queue_defer *d, char *err, size_t errlen);
/* Removes the defer file of id (none is fine). Returns 0 or -1. */
int queue_defer_remove(const char *queue_dir, const char *id);

#endif
