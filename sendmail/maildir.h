/*
 * maildir - delivery of one message into a Maildir (home_mailbox ending
 * in '/', and Maildir targets), the way Dovecot, mutt and Courier read
 * it: the file is written under tmp/ with a unique name, fsynced, then
 * renamed (never replacing anything) into new/, and new/ is fsynced.
 *
 * Unique names: "SECONDS.MUSECPPIDQN.HOST" (Dovecot's style: the time,
 * microseconds, process id and a per-process counter; '/' and ':' in the
 * host name written as \057 and \072); the final name in new/ adds the
 * size as ",S=BYTES".
 *
 * The directory and its tmp/, new/, cur/ are created (mode 0700) when
 * missing; the parent must exist. maildir_deliver() works in the calling
 * process, which the caller has already dropped to the recipient.
 *
 * Errors (in the privs_result): 5.2.2 over the size limit or quota
 * (bounce), 4.3.0 no space, 4.2.0 anything else (defer: a missing or
 * unwritable home is an administrator's fix, the mail waits for it).
 */
#ifndef PETREL_MAILDIR_H
#define PETREL_MAILDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "pbuf.h"
#include "privs.h"

#define MAILDIR_DIR_MODE	0700
#define MAILDIR_FILE_MODE	0600

/* Appends a fresh unique base name to out. */
void maildir_unique_name(struct pbuf *out);

/*
 * Writes data as one new message of the Maildir dir. size_limit > 0 caps
 * the file size (RLIMIT_FSIZE while writing). On success res->text is
 * "delivered to maildir".
 */
void maildir_deliver(const char *dir, const char *data, size_t len, off_t size_limit,
    struct privs_result *res);

#endif
