/*
 * privs - run a piece of delivery work in a child process that has
 * dropped to a given uid/gid, with a time limit (spec/aliases.md §5,
 * DESIGN.md "Least privilege").
 *
 * The delivery agent runs as root (or as the user of an unprivileged
 * instance). It never writes a mailbox, a file or runs a command itself:
 * privs_run() forks, the child puts itself in its own process group,
 * resets signals, drops to the credentials (setgroups to the one gid,
 * setresgid, setresuid, then verifies that root cannot be regained), calls
 * the callback, and sends the callback's result back over a pipe. The
 * parent waits at most the time limit, then kills the child's whole
 * process group and reports a deferral. A child that dies without a
 * result is reported as a deferral too: no outcome is ever lost.
 *
 * When the process is not root every uid change is skipped: an
 * unprivileged instance delivers what its own user may write.
 *
 * API: privs_is_root, privs_cred_*, privs_drop, privs_set_effective,
 * privs_restore_effective, privs_run, privs_call, privs_read_file, privs_result_set.
 * Errors: privs_drop returns -1 with err; privs_run always fills the
 * result (status PRIVS_DEFER with dsn 4.3.0 when the child failed).
 */
#ifndef PETREL_PRIVS_H
#define PETREL_PRIVS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pbuf.h"

#define PRIVS_DSN_MAX		16
#define PRIVS_TEXT_MAX		512

/* The result classes; the values equal enum local_status. */
#define PRIVS_SENT		0
#define PRIVS_DEFER		4
#define PRIVS_BOUNCE		5

struct privs_result {
	int status;			/* PRIVS_SENT / PRIVS_DEFER / PRIVS_BOUNCE */
	char dsn[PRIVS_DSN_MAX];	/* "2.0.0", "4.2.0", ... */
	char text[PRIVS_TEXT_MAX];	/* what happened, for the log and the DSN */
};

struct privs_cred {
	uid_t uid;
	gid_t gid;
	int keep;		/* 1: change nothing (run with the current ids) */
};

/* 1 when the process has root's effective uid (so it may change ids). */
int privs_is_root(void);

/* A cred that keeps the current ids. */
void privs_cred_keep(struct privs_cred *c);
/* A cred for uid/gid; keep is set when the process cannot change ids. */
void privs_cred_set(struct privs_cred *c, uid_t uid, gid_t gid);

/* Fills res (text printf-style, always NUL-terminated, truncated to fit). */
void privs_result_set(struct privs_result *res, int status, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Drops this process to c for good (nothing when c->keep or not root):
 * setgroups(1, gid), setresgid, setresuid, then checks every id and that
 * setuid(0) now fails. -1 with err on any failure.
 */
int privs_drop(const struct privs_cred *c, char *err, size_t errlen);

/*
 * Switches only the effective ids to uid/gid (root only; keeps the real
 * and saved uid 0 so privs_restore_effective can come back). For short
 * steps such as creating a lock file in a group-writable spool. -1 with
 * err; nothing when not root.
 */
int privs_set_effective(uid_t uid, gid_t gid, char *err, size_t errlen);
int privs_restore_effective(char *err, size_t errlen);

/* The work done in the child; it fills res. */
typedef void (*privs_fn)(void *ctx, struct privs_result *res);

/*
 * Runs fn(ctx, res) in a child dropped to c, waiting at most timeout_ms
 * (0 = no limit). Always fills res: the child's own result, or a
 * deferral saying that the child timed out (its process group is killed),
 * died on a signal, or could not drop its privileges.
 */
void privs_run(const struct privs_cred *c, unsigned long timeout_ms, privs_fn fn,
    void *ctx, struct privs_result *res);

/*
 * Runs fn(ctx, res) in this process with only the effective ids switched
 * to c (setgroups to the one gid, setegid, seteuid; real and saved uid stay
 * 0), then switches back: Postfix's local does mailbox writes this way
 * (set_eugid), and it saves the fork of privs_run on every delivery. The
 * user cannot signal or trace the process meanwhile (its real and saved
 * uid are root's; the kernel clears "dumpable" on the id change). For
 * work that only opens and writes files, never for commands, and with no
 * time limit of its own: what fn waits for must be bounded by fn. When the
 * ids cannot be switched res is a deferral; when root's cannot be taken
 * back the process exits (log_fatal): it must not go on as the user.
 * Not root, or c->keep: fn is simply called.
 */
void privs_call(const struct privs_cred *c, privs_fn fn, void *ctx,
    struct privs_result *res);

/*
 * Reads a file as c (so a file the user cannot read stays unread):
 * appends at most limit bytes to out and fills *st with the fstat() of the
 * opened file. Only regular files are read. Returns 0, or -1 with *errnum
 * (ENOENT, EACCES, EFBIG for a file over the limit, EFTYPE-like EINVAL for
 * a non-regular file, ETIMEDOUT, EIO when the child failed) and err.
 */
int privs_read_file(const struct privs_cred *c, const char *path, size_t limit,
    struct pbuf *out, struct stat *st, int *errnum, char *err, size_t errlen);

#endif
