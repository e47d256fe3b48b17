/*
 * queue_cmd - the "petrel queue" command: look at the queue by hand.
 *
 *   petrel queue show ID       the envelope in readable form, a blank line,
 *                              then the content as stored; exit 0. An
 *                              unknown ID: "petrel queue: fatal: no queue
 *                              file for ID", exit 1; a corrupt file says
 *                              why, exit 1.
 *   petrel queue list [-p|-j] [-v]
 *                              the mailq listing: Sendmail's layout, or
 *                              Postfix's (-p), or JSON lines (-j); -v is
 *                              Sendmail's verbose layout.
 *   petrel queue delete|hold|release|requeue ID... | - | ALL [QUEUE...]
 *                              Postfix's postsuper -d, -h, -H, -r: each
 *                              named message ("-": IDs one per line on
 *                              stdin), or ALL in the queues the command
 *                              takes from (or only those named):
 *                                delete   hold incoming active deferred
 *                                hold     incoming deferred -> hold
 *                                release  hold -> incoming
 *                                requeue  deferred -> incoming (tried now)
 *                              Each message is logged ("ID: removed",
 *                              "placed on hold", ...); stderr gets
 *                              "petrel queue: Deleted: N messages". Exit 1
 *                              when a named message is not found or not in
 *                              a queue the command takes from.
 *                              A message being delivered (active/) can be
 *                              deleted: the queue manager finishes the
 *                              attempt in progress, then drops it without
 *                              notices. It cannot be held or requeued
 *                              until that attempt ends (Petrel's choice:
 *                              the queue manager would move it back).
 *                              requeue does not rewrite addresses again
 *                              (postsuper -r does): it only retries now.
 *   petrel queue help          usage on stdout, exit 0.
 *
 * argv[0] is "queue". Returns the exit status (64 for a usage error).
 */
#ifndef PETREL_QUEUE_CMD_H
#define PETREL_QUEUE_CMD_H

int queue_cmd_main(int argc, char **argv, const char *queue_dir);

#endif
