/*
 * bcc - Postfix's automatic blind copies for every new message:
 * always_bcc, sender_bcc_maps and recipient_bcc_maps (mail archiving,
 * a supervisor's copy of one user's mail).
 *
 * Which mail: new mail from SMTP clients, sendmail and the submission
 * socket (qenv attribute origin "smtpd", "maildrop", "submit"); never the
 * notices Petrel makes (origin "bounce") or copies forwarded by local
 * delivery, as Postfix gives its cleanup the bcc flag only for new mail.
 *
 * Lookups: sender_bcc_maps with the envelope sender, recipient_bcc_maps
 * with each recipient still to deliver, with canonical(5)'s keys
 * (canonical_lookup: user+ext@domain, user@domain, user for this host's
 * domains, @domain). The null sender is not looked up. always_bcc, the
 * sender's copy and each recipient's copy are added in that order, each
 * once, never when the address already is a recipient; a copy has DSN
 * NOTIFY=NEVER (Postfix: no notices for bcc copies) and no ORCPT. They
 * are added after canonical mapping and before virtual alias expansion,
 * as Postfix's cleanup does.
 *
 * Errors: a table that cannot be read fails the message (-1 with err):
 * the client or sendmail gets a temporary error and nothing is queued.
 */
#ifndef PETREL_BCC_H
#define PETREL_BCC_H

#include <stddef.h>

struct qenv;

/* Adds the copies to e. 0, or -1 with err (e may then hold some: the caller restores it). */
int bcc_add(struct qenv *e, char *err, size_t errlen);

#endif
