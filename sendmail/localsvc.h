/*
 * localsvc - the queue manager's line to its delivery agents: local
 * delivery and the SMTP client (one protocol, one module, both services).
 *
 * Local delivery needs root (it becomes each recipient), the queue
 * manager must not have it; remote delivery blocks on the network for
 * minutes, the queue manager must not. So both run in worker processes
 * that the master keeps: "local" as root on $queue_directory/private/local,
 * "smtp" as mail_owner on private/smtp (both owned by mail_owner, mode
 * 0600, in private/ of mode 0700: only the queue manager reaches them),
 * and the queue manager (as mail_owner) asks them over a stream socket; in
 * a foreground queue run (sendmail -q with no daemon) each worker serves a
 * socketpair instead.
 *
 * The protocol: ASCII lines ending in LF.
 *
 *   request  "deliver" SP id SP subdir [SP "nexthop=" nexthop] 1*(SP index) LF
 *            id is a queue ID, subdir must be "active", nexthop (SMTP
 *            only, no spaces) where the recipients go ("[host]:port",
 *            "host", see smtp_deliver.h), each index is a decimal
 *            position (0 = first) among the file's R records, at most
 *            LOCALSVC_MAX_RCPTS of them, the line at most
 *            LOCALSVC_LINE_MAX bytes.
 *   answers  one line per index, each sent as soon as that recipient's
 *            fate is known (local: in the order asked; SMTP: in the order
 *            the transaction settles them):
 *              index SP status SP dsn SP mta SP text LF
 *            status 0 (delivered), 2 (relayed to a server that offered
 *            DSN: it reports success, if asked, from there on), 4 (try
 *            again later) or 5 (failed for good, return to the sender);
 *            dsn "d.d.d"; mta "-", or the
 *            remote server that gave the answer as "name[address]" (then
 *            a text starting with a 3-digit code is that server's reply,
 *            for Diagnostic-Code: smtp; and "host ... said:"); text the
 *            agent's words (control bytes sent as spaces).
 *            Then the line "end".
 *   refusal  "error" SP text LF, and the server closes the connection
 *            (a malformed request: a bug in the client).
 *
 * A connection carries any number of requests, one after the other (the
 * client waits for "end" before it sends the next). The server reads the
 * queue file itself (queue_read) and never changes it: marking recipients
 * done, defer reasons, bounces and moving the file are the queue manager's
 * job. When the server dies before "end", the client treats every
 * unanswered index as deferred; the recipients are tried again later (at
 * least once delivery: a mailbox may get a message twice, never zero
 * times).
 */
#ifndef PETREL_LOCALSVC_H
#define PETREL_LOCALSVC_H

#include <stddef.h>

#include "qfile.h"

#define LOCALSVC_DIR		"private"
#define LOCALSVC_SOCKET		"private/local"
#define LOCALSVC_SOCKET_MODE	0600
#define LOCALSVC_LINE_MAX	8192
#define LOCALSVC_MAX_RCPTS	500
#define LOCALSVC_TEXT_MAX	512
#define LOCALSVC_DSN_MAX	16
#define LOCALSVC_RELAYED	2	/* status: sent, DSN passed on to the next server */
#define LOCALSVC_RELAYED_CHAR	'2'
#define LOCALSVC_MTA_MAX	340	/* name[address] (SMTP_IO_NAME_MAX fits) */
#define SMTPSVC_SOCKET		"private/smtp"
#define LOCALSVC_NEXTHOP_KEY	"nexthop="
#define LOCALSVC_NEXTHOP_MAX	300
/*
 * Worker processes per service, at most. The queue manager holds a line
 * to each and an open file for each message it has loaded (at most
 * QMGR_WAIT_MAX waiting plus one per line): 500 + 2 x 200 + the local
 * ones stays well within the usual limit of 1024 descriptors.
 */
#define LOCALSVC_WORKERS_MAX	200
#define LOCALSVC_SMTP_SERVICE	"smtp"	/* its master.cf "unix" line */

/*
 * One request as a server's agent gets it: the queue file is read, the
 * indexes are checked (in range, still to do); the agent must answer each
 * of idx[0..n-1] once with localsvc_answer() (what it leaves unanswered is
 * deferred for it).
 */
struct localsvc_job {
	int fd;
	const char *id;
	const char *nexthop;		/* NULL: none given (local) */
	struct qenv *env;
	const char *content;
	size_t len;
	const size_t *idx;
	size_t n;
	unsigned char *answered;	/* per env recipient */
	int rc;				/* -1 once an answer could not be written */
};

typedef void (*localsvc_agent)(struct localsvc_job *job);

/* Answers one recipient of the job; mta NULL or "" for none. */
void localsvc_answer(struct localsvc_job *job, size_t idx, int status, const char *dsn,
    const char *mta, const char *text);

/* The agent of the "local" service (local_deliver for each recipient). */
void localsvc_local_agent(struct localsvc_job *job);

/*
 * How many worker processes a service gets, and how many requests the
 * queue manager has at it at once (its slots). "smtp": the process limit
 * of the smtp service, the maxproc of master.cf's "smtp unix" line when
 * there is one ("-": default_process_limit, 0: LOCALSVC_WORKERS_MAX),
 * else default_process_limit (Postfix: 100 smtp processes in all; the
 * queue manager keeps each destination within
 * smtp_destination_concurrency_limit of them). "local":
 * local_destination_concurrency_limit capped by default_process_limit
 * (every local recipient is one destination here). Both within
 * [1, LOCALSVC_WORKERS_MAX].
 */
size_t localsvc_workers(const char *service);

/* Server side. */

/*
 * The master's "local" or "smtp" worker: accepts connections on listen_fd
 * (a non-blocking listener shared by several workers), serves each to its
 * end with agent, and returns after max_use connections (0 = no limit) or
 * once SIGTERM arrived (after finishing the request at hand). Returns 0.
 */
int localsvc_loop(int listen_fd, long max_use, localsvc_agent agent);

/*
 * check is called by localsvc_loop between requests, at least once a
 * second while idle; when it returns 1 the loop returns (the master starts
 * a fresh worker on demand). NULL: no check.
 */
void localsvc_set_idle_check(int (*check)(void));

/*
 * A function the server calls while it waits for the next request (final
 * = 0, about every second) and after each connection ends (final = 1):
 * the smtp agent ends cached SMTP sessions there. NULL for none.
 */
void localsvc_set_idle(void (*idle)(int final));

/*
 * localsvc_loop returns once no connection came for seconds (the
 * master's max_idle for smtp workers, which it starts again on demand).
 * 0 (the default): no limit.
 */
void localsvc_set_max_idle(long long seconds);

/*
 * Serves the requests on one connection until the client closes it.
 * Returns 0, or -1 after a refusal or an I/O error.
 */
int localsvc_serve(int fd, localsvc_agent agent);

/* Client side (the queue manager). */

/*
 * Connects to the daemon's service socket (LOCALSVC_SOCKET or
 * SMTPSVC_SOCKET); -1 with errno when none listens.
 */
int localsvc_connect(const char *socket);

/* Sends one request (blocking); nexthop NULL for none. Returns 0, or -1 with errno. */
int localsvc_send(int fd, const char *id, const char *subdir, const char *nexthop,
    const size_t *index, size_t n);

struct localsvc_reply {
	size_t index;
	int status;			/* 0, 2, 4 or 5 */
	char dsn[LOCALSVC_DSN_MAX];
	char mta[LOCALSVC_MTA_MAX];	/* "" when none */
	char text[LOCALSVC_TEXT_MAX];
};

enum localsvc_line { LOCALSVC_REPLY, LOCALSVC_END, LOCALSVC_ERROR, LOCALSVC_BAD };

/*
 * Parses one answer line (without its LF). LOCALSVC_REPLY fills r;
 * LOCALSVC_ERROR puts the server's text in r->text; LOCALSVC_BAD is a
 * line that is none of these.
 */
enum localsvc_line localsvc_parse(const char *line, struct localsvc_reply *r);

#endif
