/*
 * showq - the daemon's side of mailq, sendmail -bP and flush requests on
 * public/showq, so that any local user can list the queue while the
 * daemon runs (the queue itself is readable by mail_owner only).
 *
 * Requests, one line each:
 *   mailq <format> <verbose>   the listing (mailq.h formats by number)
 *   count                      "<queue_directory>/mqueue: entries=N" and
 *                              "Total requests: N"
 *   flush                      retry deferred mail now, pick up maildrop/;
 *                              answered by closing the connection
 */
#ifndef PETREL_SHOWQ_H
#define PETREL_SHOWQ_H

#define SHOWQ_REQUEST_MAX	128

void showq_serve(int fd);

#endif
