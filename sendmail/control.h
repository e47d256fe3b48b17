/*
 * control - the verbs of the petrel command that act on a running
 * instance, with postfix(1)'s meaning and messages (spec/config.md §3):
 * start, start-fg, stop, abort, reload, flush, status, check.
 * Each returns the exit status of the command.
 */
#ifndef PETREL_CONTROL_H
#define PETREL_CONTROL_H

/* Seconds petrel stop waits for the master before it uses force. */
#define CONTROL_STOP_WAIT	10
/* Seconds petrel start waits for the master to say it is ready. */
#define CONTROL_START_WAIT	30

int control_start(int foreground);
int control_stop(void);
int control_abort(void);
int control_reload(void);
int control_flush(void);
int control_status(void);
int control_check(void);

#endif
