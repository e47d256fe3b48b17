/*
 * pipe - delivery to a command: |command targets of aliases, .forward
 * and :include: files, and mailbox_command (spec/aliases.md §5).
 *
 * The command runs as "/bin/sh -c COMMAND" with exactly the environment
 * the caller builds (never the delivery agent's own), standard input the
 * message, standard output and error captured (the first PIPE_OUTPUT_MAX
 * bytes go into the result text), in its own process group so the time
 * limit kills whatever it started. Envelope data reaches the command only
 * through environment values passed through pipe_filter().
 *
 * The outcome follows Postfix: exit 0 delivered; otherwise the sysexits
 * meaning (75 EX_TEMPFAIL and 71 EX_OSERR defer, 67 EX_NOUSER bounces
 * 5.1.1, unknown codes bounce 5.3.0), unless the output starts with an
 * enhanced status code ("4.2.1 ..." / "5.1.1 ..."), which then decides;
 * killed by a signal defers; over the time limit bounces 5.3.0.
 *
 * API: pipe_run (in a process already running as the right user),
 * pipe_deliver (privs_run + pipe_run), pipe_filter, pipe_exit_result.
 */
#ifndef PETREL_PIPE_H
#define PETREL_PIPE_H

#include <stddef.h>

#include "privs.h"

#define PIPE_SHELL		"/bin/sh"
#define PIPE_OUTPUT_MAX		1024	/* command output kept for the result */
#define PIPE_GRACE_MS		10000	/* privs_run's margin over the time limit */

struct pipe_req {
	const char *command;		/* given to /bin/sh -c */
	char *const *env;		/* the complete environment, NULL-terminated */
	const char *cwd;		/* working directory; "/" when NULL or unusable */
	const char *data;		/* standard input */
	size_t len;
	unsigned long time_limit_ms;	/* 0 = none */
};

/* Runs the command here and fills res. */
void pipe_run(const struct pipe_req *r, struct privs_result *res);

/* Runs it in a child dropped to c. */
void pipe_deliver(const struct privs_cred *c, const struct pipe_req *r,
    struct privs_result *res);

/*
 * A copy of value with every byte not in allowed replaced by '_'
 * (command_expansion_filter). malloc'd.
 */
char *pipe_filter(const char *value, const char *allowed);

/*
 * The result for an exit code of command (output may be NULL): sysexits
 * meaning, or the enhanced status code the output starts with.
 */
void pipe_exit_result(int code, const char *command, const char *output,
    struct privs_result *res);

#endif
