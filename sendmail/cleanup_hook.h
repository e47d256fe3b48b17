/*
 * cleanup_hook - what every new queue file goes through as it is
 * committed (queue_set_message_hook), in Postfix's cleanup order:
 *   1. canonical mapping and masquerading of envelope and headers
 *      (canonical.c),
 *   2. automatic blind copies: always_bcc, sender_bcc_maps,
 *      recipient_bcc_maps (bcc.c),
 * then queue.c's envelope hook expands virtual aliases (virtual.c).
 * Set by the master for its children and by sendmail for a foreground
 * queue run.
 *
 * The hook's contract is queue.h's queue_message_fn: 1 with new content
 * in out, 0 when the content stays, -1 with err when a table failed
 * (queue.c then restores the envelope and queues nothing).
 */
#ifndef PETREL_CLEANUP_HOOK_H
#define PETREL_CLEANUP_HOOK_H

#include <stddef.h>

#include "pbuf.h"

struct qenv;

int cleanup_hook_message(struct qenv *e, const char *content, size_t len, struct pbuf *out,
    char *err, size_t errlen);

#endif
