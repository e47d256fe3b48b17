/*
 * submitd - the worker that serves the local sockets: public/submit (one
 * message per connection, see submit.h) and public/showq (see showq.h).
 * One connection at a time; several such workers run side by side.
 */
#ifndef PETREL_SUBMITD_H
#define PETREL_SUBMITD_H

/* Seconds a client may take to send its request before it is dropped. */
#define SUBMITD_READ_TIMEOUT	60
#define SUBMITD_POLL_MS		1000	/* the longest wait before looking at the master */

/* Serves until SIGTERM or max_use connections; returns the exit status. */
int submitd_loop(int submit_fd, int showq_fd, long max_use);

#endif
