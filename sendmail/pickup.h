/*
 * pickup - turns raw submissions into queue files.
 *
 * Both ways a local submission arrives end here: a request on the
 * submission socket (the caller's uid from SO_PEERCRED) and a file in
 * maildrop/ (the caller's uid is the file's owner, since the front end is
 * only set-gid). pickup_message runs cleanup and commits the result to
 * incoming/ durably; it is the only path from raw to queued.
 * non_smtpd_milters (milter.h) run there, on the cleaned-up message,
 * after a fake connection from localhost [127.0.0.1] as Postfix does; a
 * rejection becomes a bounce to the sender, a quarantine commits the
 * message into hold/, a milter's temporary failure is EX_TEMPFAIL.
 *
 * A maildrop file that does not parse goes to corrupt/; one that cleanup
 * refuses for good (no recipients, too big) is logged and removed, since
 * the front end already told its caller; a temporary failure (disk full,
 * unwritable queue) leaves it for the next scan.
 */
#ifndef PETREL_PICKUP_H
#define PETREL_PICKUP_H

#include <stddef.h>

#include "qfile.h"

/*
 * authorized_submit_users: "static:anyone", login names, "!name" to
 * refuse; the first match decides, no match refuses. 1 when allowed.
 */
int pickup_submit_allowed(const char *login);

/*
 * Cleans up raw and commits it to incoming/. Returns 0 with qid filled, or
 * an EX_* code with err filled. how says where it came from ("submit",
 * "maildrop") for the log.
 */
int pickup_message(const struct qenv *raw, const char *content, size_t len,
    long uid, const char *how, char *qid, char *err, size_t errlen);

/* Processes one maildrop file by name; returns 0 when it is gone from maildrop. */
int pickup_maildrop_file(const char *name);

/* Processes every file in maildrop/; returns the number queued. */
int pickup_scan_maildrop(void);

/*
 * The pickup worker: scans maildrop/ at start, whenever a file is renamed
 * into it (inotify), and every rescan seconds as a safety net. Returns
 * when SIGTERM arrives (exit status 0).
 */
int pickup_watch_loop(int rescan);

#endif
