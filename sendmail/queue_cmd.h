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
 *   petrel queue release ID    moves a message held in hold/ (by a milter's
 *                              quarantine) to incoming/ for delivery; exit 1
 *                              when it is not held.
 *   petrel queue help          usage on stdout, exit 0.
 *
 * argv[0] is "queue". Returns the exit status (64 for a usage error).
 */
#ifndef PETREL_QUEUE_CMD_H
#define PETREL_QUEUE_CMD_H

int queue_cmd_main(int argc, char **argv, const char *queue_dir);

#endif
