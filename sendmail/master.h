/*
 * master - the supervisor of a running instance.
 *
 * The master holds the instance lock (pid/master.pid), opens the local
 * sockets, and forks the worker processes, restarting any that exit:
 *   pickup  - watches maildrop/ (inotify, plus a scan every
 *             MASTER_PICKUP_RESCAN seconds) and queues what appears there;
 *   submit  - MASTER_SUBMIT_WORKERS processes that serve public/submit and
 *             public/showq, each handling one connection at a time and
 *             exiting after max_use connections;
 *   qmgr    - the queue manager (qmgr.c), woken through the datagram
 *             socket public/qmgr that the master binds (so no wake-up is
 *             lost while it restarts);
 *   local   - local_destination_concurrency_limit processes (counted when
 *             the master starts) serving private/local (localsvc.h, mode
 *             0600, mail_owner's: only qmgr connects); they keep root,
 *             since local delivery becomes each recipient;
 *   smtp    - up to the smtp service's process limit (master.cf's "smtp
 *             unix" maxproc, else default_process_limit: localsvc_workers)
 *             serving private/smtp with the SMTP client (smtp_deliver.h),
 *             as mail_owner; one runs from the start, another starts
 *             whenever a connection to private/smtp has waited
 *             MASTER_SMTP_GROW_MS (all busy); one that had no request for
 *             max_idle (or served max_use) ends and is not replaced until
 *             demand says so (at least one runs).
 *   smtpd   - per inet service of master.cf, up to its maxproc processes
 *             (mail_owner, with the service's -o overrides) that serve one
 *             SMTP client after another: the master accepts and hands
 *             each connection to an idle one (forking one only when none
 *             is idle), which exits after max_use clients or max_idle
 *             seconds without one (see master.c).
 * Workers other than local drop to mail_owner when the master is root, and die with it
 * (PR_SET_PDEATHSIG). Signals: SIGTERM stops gracefully (workers finish
 * what they are doing), SIGQUIT aborts at once, SIGHUP re-reads main.cf
 * (a broken main.cf leaves the old configuration running) and master.cf
 * (new listeners open, removed ones close, kept ones keep their socket;
 * a broken master.cf leaves the listeners as they were), reloads the TLS
 * certificate and restarts the workers; SMTP sessions under way finish
 * with the configuration they started with, then their smtpd exits (idle
 * ones exit at once), so every new client meets the new configuration.
 */
#ifndef PETREL_MASTER_H
#define PETREL_MASTER_H

#define MASTER_SUBMIT_WORKERS	2
#define MASTER_PICKUP_RESCAN	60
#define MASTER_STOP_GRACE	5	/* seconds workers get to finish on SIGTERM */
#define MASTER_RESPAWN_DELAY	1	/* seconds between restarts of a failing worker */

/*
 * Runs the master until it is told to stop. ready_fd, when >= 0, gets one
 * byte once the sockets are open and the workers started, and is closed.
 * Returns the process exit status.
 */
int master_run(int ready_fd);

#endif
