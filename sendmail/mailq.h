/*
 * mailq - the queue listing of mailq / sendmail -bp / petrel queue list.
 *
 * Three layouts (spec/mailq-format.md): Sendmail's (the default; header
 * "\t\t<queue_directory>/mqueue (N requests)", always a "Total requests:"
 * line), Postfix's (mailq_output_format = postfix), and JSON lines with
 * postqueue -j's keys. Every state directory is listed: maildrop (raw
 * submissions), incoming, active (status '*'), deferred, hold ('!' in the
 * Postfix layout, "QUARANTINE" in Sendmail's). Delay reasons come from
 * the defer/ sidecar files (doc/queue-format.md). A file that cannot be
 * parsed is skipped and counted, never fatal.
 */
#ifndef PETREL_MAILQ_H
#define PETREL_MAILQ_H

#include <stdio.h>

enum mailq_format {
	MAILQ_SENDMAIL,
	MAILQ_POSTFIX,
	MAILQ_JSON,
};

/* Parses "sendmail"/"postfix"; -1 when unknown. */
int mailq_format_parse(const char *name);

/*
 * Writes the listing to out. verbose selects Sendmail's -v layout.
 * Returns 0, or -1 when the queue directory cannot be read (errno kept).
 */
int mailq_print(FILE *out, const char *queue_dir, enum mailq_format fmt, int verbose);

#endif
