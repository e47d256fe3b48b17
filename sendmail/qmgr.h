/*
 * qmgr - the queue manager: moves incoming/ mail to active/, delivers it
 * (local recipients through local delivery, remote ones through the SMTP
 * client in the smtp delivery processes, see resolve.h), defers
 * with exponential backoff between minimal_backoff_time and
 * maximal_backoff_time (deferred/, the file's mtime is its next retry
 * time, reasons in defer/ID), returns mail older than
 * maximal_queue_lifetime (bounce_queue_lifetime for bounces) with an
 * RFC 3464 bounce, sends a delay notice after delay_warning_time when set.
 *
 * Woken by the writers (public/qmgr trigger) within a second of a commit;
 * scans deferred/ every queue_run_delay; a flush retries everything.
 */
#ifndef PETREL_QMGR_H
#define PETREL_QMGR_H

#define QMGR_TRIGGER_SOCKET	"public/qmgr"	/* one byte: 'W' wake, 'F' flush */

/* The daemon's queue manager worker (runs as mail_owner). Returns the exit status. */
int qmgr_loop(void);

/*
 * One foreground run for sendmail -q / -qf with no daemon (as root):
 * picks up maildrop/, delivers everything due (all deferred mail when
 * flush is set), returns 0.
 */
int qmgr_run_once(int flush);

/* Nudges a running queue manager (no-op when none runs). */
void qmgr_wake(char what);

/*
 * Additions. qmgr_trigger is qmgr_wake with an answer: 0 when the
 * trigger was delivered to a bound socket, -1 with errno when no queue
 * manager listens. qmgr_set_trigger_fd hands qmgr_loop the datagram
 * socket the master bound on QMGR_TRIGGER_SOCKET (so no wake-up is lost
 * while the queue manager restarts); without it qmgr_loop binds its own.
 */
int qmgr_trigger(char what);
void qmgr_set_trigger_fd(int fd);

#endif
