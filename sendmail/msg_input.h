/*
 * msg_input - reads a message from the sendmail front end's standard input
 * and brings it into Petrel's internal form (spec/sendmail-cli.md §6).
 *
 *  - Lines end in LF. CRs before the LF are removed as
 *    sendmail_fix_line_endings says (always: every trailing CR; strict:
 *    only when the first line ends in CRLF; never: kept). A bare CR inside
 *    a line is data.
 *  - Without -i, a line that is exactly "." ends the input; nothing after
 *    it is read. Leading dots are never removed (Postfix, not Sendmail).
 *  - Leading mbox separator lines (^>*From ) before anything else are
 *    dropped and never used for the sender.
 *  - A last line without LF gets one. Empty input is a valid empty message.
 *  - Any byte, NUL included, is data.
 */
#ifndef PETREL_MSG_INPUT_H
#define PETREL_MSG_INPUT_H

#include <stddef.h>

#include "pbuf.h"

enum msg_eol_mode { MSG_EOL_ALWAYS, MSG_EOL_STRICT, MSG_EOL_NEVER };

struct msg_input {
	int ignore_dots;	/* -i / -oi */
	enum msg_eol_mode eol;
	size_t limit;		/* message_size_limit, 0 = none */
	/* private state */
	struct pbuf line;
	int first_line;		/* no line completed yet */
	int in_from_prefix;	/* still dropping leading From_ lines */
	int strict_crlf;	/* strict mode: decided by the first line */
	int done;		/* lone dot seen */
};

enum msg_input_status {
	MSG_INPUT_OK = 0,
	MSG_INPUT_TOO_BIG = 1,	/* over limit: EX_UNAVAILABLE (69) */
	MSG_INPUT_READ_ERROR = 2,	/* EX_DATAERR (65), errno kept */
};

void msg_input_init(struct msg_input *in, int ignore_dots, enum msg_eol_mode eol,
    size_t limit);
void msg_input_free(struct msg_input *in);
/* Parses the value of sendmail_fix_line_endings; -1 when unknown. */
int msg_input_eol_mode(const char *value);
/*
 * Feeds raw bytes; completed lines are appended to out. Returns 1 once the
 * message is complete (lone dot), else 0.
 */
int msg_input_feed(struct msg_input *in, const char *buf, size_t len, struct pbuf *out);
/* End of input: flushes a last partial line. */
void msg_input_finish(struct msg_input *in, struct pbuf *out);
/* Reads fd until EOF or a lone dot. */
enum msg_input_status msg_input_read_fd(struct msg_input *in, int fd, struct pbuf *out);

#endif
