/*
 * qmgr - the queue manager; see qmgr.h.
 *
 * API: qmgr_loop() (the daemon's worker, as mail_owner), qmgr_run_once()
 * (sendmail -q / -qf with no daemon, started as root), qmgr_wake() and
 * qmgr_trigger() (any writer), qmgr_set_trigger_fd() (the master).
 *
 * Each message goes through these steps (Postfix's qmgr, cut down to
 * two transports, local and smtp):
 *   1. It enters active/ (renamed from incoming/ or deferred/; what is in
 *      active/ when a queue manager starts is left from a previous run and
 *      is due at once). Logged "ID: from=<S>, size=N, nrcpt=N (queue
 *      active)".
 *   2. Each recipient still to do (state T) is routed (resolve.h): local,
 *      smtp with a nexthop, or settled at once (transport_maps error: is
 *      bounced, a broken map defers; logged "ID: to=<A>, relay=none, ...,
 *      status=bounced (TEXT)"). The recipients are grouped by (transport,
 *      nexthop); each group waits for a slot of its service and goes to a
 *      delivery process over the localsvc protocol (at most
 *      LOCALSVC_MAX_RCPTS per request, for smtp also at most
 *      smtp_destination_recipient_limit: one SMTP transaction each). The
 *      agents log their own lines ("relay=local", "relay=mx[addr]:25").
 *   3. Answers: delivered recipients are marked done at once
 *      (qfile_mark_rcpt); failed ones are marked done only after their
 *      bounce is durably queued; deferred ones stay to do.
 *      An answer from the SMTP client that carries the remote server's
 *      reply (mta "name[addr]") is kept as "host name[addr] said: REPLY"
 *      for mailq and notices, with Remote-MTA: dns; name and
 *      Diagnostic-Code: smtp; REPLY in a bounce.
 *   4. When every group of the message has answered: a message with
 *      deferred recipients older than
 *      maximal_queue_lifetime (bounce_queue_lifetime for mail from <> or
 *      from double_bounce_sender) expires: "ID: from=<S>, status=expired,
 *      returned to sender", and its deferred recipients fail. One
 *      non-delivery notice per message and run goes to the sender
 *      ("ID: sender non-delivery notification: NEWID"); a success report
 *      for NOTIFY=SUCCESS recipients ("ID: sender delivery status
 *      notification: NEWID"). Nothing left to do: the file and its defer/
 *      sidecar are removed ("ID: removed"). Otherwise the reasons go to
 *      defer/ID, a delay notice is sent once when delay_warning_time is
 *      set and passed ("ID: sender delay notification: NEWID"), the file's
 *      mtime is set to the next retry time and it moves to deferred/.
 * Notices are new queue files in incoming/ with the null sender, picked up
 * like any mail. A notice is never sent to <>: when mail from <> fails,
 * the failure is logged, and when notify_classes has 2bounce a postmaster
 * copy goes to 2bounce_notice_recipient with the envelope sender
 * double_bounce_sender ("ID: postmaster non-delivery notification:
 * NEWID"); when that fails too it is dropped with a warning ("ID:
 * undeliverable postmaster notification discarded"). No loop is possible.
 *
 * Retry times follow Postfix: the next try waits as long as the message
 * is old, at least minimal_backoff_time and at most maximal_backoff_time
 * (so the wait doubles with each try). A pending delay notice brings the
 * next try forward to its time.
 *
 * The delay notice is remembered in the message's defer/ sidecar as an
 * entry with the address QMGR_WARNED_ADDR ("<delay-warned>", which no
 * recipient record can hold), status "-", and the time it was sent.
 *
 * Concurrency: a slot is one request line to one delivery process. There
 * are localsvc_workers("local") local slots (local_destination_
 * concurrency_limit, capped by default_process_limit) and
 * localsvc_workers("smtp") smtp slots: the smtp service's process limit
 * (master.cf's "smtp unix" maxproc, else default_process_limit, 100),
 * as Postfix's 100 smtp processes; each smtp destination is kept within
 * its window of at most smtp_destination_concurrency_limit (20) of them
 * (see "Destinations"), so one slow but alive destination holds at most
 * that many and mail for the others goes on beside it.
 *
 * Waiting groups sit in one queue per destination (each smtp nexthop;
 * local delivery as a whole), in the order they came. Local groups take
 * free local slots in order. The smtp destinations with groups waiting
 * form a ring and take turns (round-robin, as Postfix's nqmgr): when
 * smtp slots are free, each turn starts the oldest group of one
 * destination below its window, then the next destination has its turn;
 * one at its window is passed over. So new mail for an idle destination
 * leaves at once, however long another destination's backlog.
 *
 * Loading (bounded, and fair): messages are loaded while a slot of some
 * service is free and fewer than QMGR_WAIT_MAX groups wait in all; a new
 * message's groups that are first in their queue start at once. A
 * message whose every destination already has QMGR_DEST_WAIT_MAX groups
 * waiting is not kept: its ID is parked at one of them (it stays in
 * active/, its file closed, nothing logged) and comes back, before the
 * run queue, each time that destination starts one of its groups. So a
 * backlog of 10,000 messages for one destination keeps at most its
 * window in flight and QMGR_DEST_WAIT_MAX waiting (and open), while the
 * loading of newer mail for other destinations goes on; the IDs known
 * (run queue, parked, loaded) stay within QMGR_ACTIVE_LIMIT (Postfix's
 * qmgr_message_active_limit, 20000). Local delivery is left as it was:
 * its destination is the whole local transport (Postfix counts per
 * recipient), since mailbox locking makes more than a few deliveries at
 * once to one mailbox useless and local mail is quick.
 *
 * In the daemon each group goes over a connection to private/local or
 * private/smtp (the master's workers, started on demand up to the
 * process limit; an idle smtp worker ends after max_idle); a delivery
 * process that dies defers its unanswered recipients (at least once:
 * they are tried again). Remote delivery never blocks this loop: the
 * SMTP conversation runs in the smtp processes.
 *
 * Destinations (smtp, one per nexthop, Postfix's scheduler cut down):
 * each has a concurrency window, starting at
 * smtp_initial_destination_concurrency and kept within
 * [1, smtp_destination_concurrency_limit]; a request answered with a
 * success widens it by 1/window, a site failure (every recipient of the
 * request deferred with no server's reply: connection refused or timed
 * out, greeting or EHLO timed out, DNS failure) narrows it by 1/window
 * and counts 1/window of a failed cohort. After
 * smtp_destination_concurrency_failed_cohort_limit failed cohorts with
 * no success between them the destination is dead for
 * minimal_backoff_time (logged "NEXTHOP: delivery temporarily suspended:
 * REASON (for Ns)"): its waiting groups and every new one are deferred at
 * once, without a connection, with "delivery temporarily suspended:
 * REASON" (logged relay=none) and the DSN of that failure. When its time
 * is over, or on petrel flush, it lives again with the initial window.
 * So a destination that never answers holds a few slots for a few
 * time-outs, and the mail for every other destination goes on.
 *
 * LMTP (resolve.h RESOLVE_LMTP) is scheduled exactly as smtp: the
 * same slots and workers (the smtp delivery process speaks LMTP when the
 * request's nexthop starts with "lmtp:", smtp_deliver.h), one destination
 * per LMTP nexthop with the same window rules, but capped by
 * lmtp_destination_concurrency_limit and chunked by
 * lmtp_destination_recipient_limit (the other window parameters are the
 * smtp_ ones). No separate lmtp service or process limit: Dovecot on the
 * same host is one more destination in the ring.
 *
 * Connection reuse: a line to private/smtp whose request ended is kept
 * open when a group for the same destination waits
 * (smtp_connection_cache_on_demand), and the smtp process keeps its SMTP
 * session (smtp_deliver.h); a group prefers the slot whose last request
 * went to its nexthop, then a slot with no line, then one kept for
 * another nexthop (that line is closed first). A kept line idle for
 * smtp_connection_cache_time_limit is closed; the process then ends its
 * session. In a foreground run the lines are the workers' socketpairs:
 * the preference is the same, and each process ends an idle session
 * itself.
 *
 * Only one queue manager owns active/: it holds an flock on the active/
 * directory. A foreground run that finds it held (sendmail -qf while the
 * daemon runs) leaves active/ alone and only moves incoming/ and deferred/
 * messages, which rename makes exclusive.
 *
 * Foreground runs (qmgr_run_once): the process forks the delivery
 * processes first, as root, each serving a socketpair (the local ones
 * keep root, the smtp ones, at most QMGR_FG_SMTP_MAX, drop to mail_owner
 * at once); then it drops to mail_owner and does everything else itself,
 * so every queue file and notice it writes belongs to mail_owner. Remote
 * mail goes out in a foreground run as in the daemon.
 *
 * Errors: a corrupt file is quarantined; a file that cannot be read or
 * opened is logged and waits in active/ (daemon) for the next start; a
 * notice that cannot be queued leaves its recipients to do, so they are
 * tried (and reported) again. Nothing here exits the process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bounce.h"
#include "conf.h"
#include "fileio.h"
#include "instance.h"
#include "local.h"
#include "localsvc.h"
#include "log.h"
#include "pbuf.h"
#include "pickup.h"
#include "qfile.h"
#include "qmgr.h"
#include "virtual.h"
#include "queue.h"
#include "resolve.h"
#include "smtp_deliver.h"
#include "smtp_sasl.h"
#include "smtp_tls_policy.h"
#include "strv.h"
#include "xalloc.h"

#define QMGR_DIED_DSN		"4.3.0"
/* Essential part first: Sendmail's mailq layout cuts reasons at 60 bytes. */
#define QMGR_DIED_REASON	"delivery was interrupted (the delivery process" \
				" ended before it answered)"
#define QMGR_NOSVC_REASON	"delivery service is not available"
#define QMGR_WARNED_ADDR	"<delay-warned>"
#define QMGR_WARNED_STATUS	"-"
#define QMGR_FILE_MODE		0600
#define QMGR_POLL_MS		1000
#define QMGR_ACTIVE_LIMIT	20000	/* Postfix's qmgr_message_active_limit */
#define QMGR_FG_SMTP_MAX	8	/* foreground: SMTP client processes */
#define QMGR_FG_ROUNDS_MAX	100	/* foreground: rescans of incoming/ for new mail */
#define QMGR_READ_CHUNK		4096
#define QMGR_TRIGGER_MODE	0666
#define QMGR_TRIGGER_DRAIN	64
#define QMGR_WAIT_MAX		500	/* groups waiting for a slot: load no more beyond */
#define QMGR_DEST_WAIT_MAX	50	/* groups waiting per destination: park messages beyond */
#define QMGR_LOAD_BURST		256	/* messages loaded (or parked) between two looks at the answers */
#define QMGR_DEST_BUCKETS	1024	/* hash table of the smtp destinations */
#define QMGR_SUSPENDED		"delivery temporarily suspended: "

/* The delivery services (localsvc.h), indexes of qmgr_tr_name[]. */
enum qmgr_tr { QT_LOCAL = 0, QT_SMTP };

static const char *const qmgr_tr_name[] = { "local", "smtp" };
static const char *const qmgr_tr_socket[] = { LOCALSVC_SOCKET, SMTPSVC_SOCKET };

/* Result of one recipient in this run. */
enum qmgr_rstate {
	RS_NONE = 0,		/* not tried this run (already done, or not handed out) */
	RS_PENDING,		/* at local delivery */
	RS_SENT,
	RS_DEFER,
	RS_BOUNCE,
};

struct qmgr_result {
	enum qmgr_rstate state;
	char dsn[LOCALSVC_DSN_MAX];
	char *text;
	char *diag;			/* the remote server's reply, or NULL */
	int dsn_passed;			/* sent to a server that reports success itself */
	char *mta;			/* "name[address]" of that server, or NULL */
};

struct qmgr_msg;
struct qmgr_group;
struct qmgr_dest;

/* A FIFO of queue IDs: the run queue, a destination's parked messages. */
struct qmgr_idq {
	char (*id)[QID_LEN + 1];
	size_t head, tail, cap;
};

/*
 * The groups waiting for a slot of one destination (an smtp nexthop, or
 * local delivery as a whole), in the order they came, and the messages
 * in active/ put aside while QMGR_DEST_WAIT_MAX of its groups wait.
 */
struct qmgr_queue {
	struct qmgr_group *head, *tail;
	size_t n;
	struct qmgr_dest *dest;		/* NULL: local */
	struct qmgr_idq parked;
};

/*
 * One smtp destination (a nexthop, without case): its concurrency
 * window and whether it is dead (see "Destinations" at the top).
 */
struct qmgr_dest {
	struct qmgr_dest *next;		/* hash chain */
	char *name;
	size_t ref;			/* groups that point here */
	size_t busy;			/* requests in flight */
	double window;			/* requests allowed at once */
	double failed;			/* failed cohorts since the last success */
	time_t dead_until;		/* 0: alive */
	char dsn[LOCALSVC_DSN_MAX];	/* of the failure that made it dead */
	char *reason;			/* "delivery temporarily suspended: ..." */
	struct qmgr_queue q;		/* its waiting groups */
	struct qmgr_dest *rnext, *rprev;	/* the round-robin ring, while groups wait */
	int in_ring;
};

/* The recipients of one message that go one way: a transport and a nexthop. */
struct qmgr_group {
	struct qmgr_msg *msg;
	enum qmgr_tr tr;
	char *nexthop;			/* QT_SMTP: where to (resolve.h); NULL for local */
	struct qmgr_dest *dest;		/* QT_SMTP: its destination */
	struct qmgr_queue *q;		/* where it waits: dest->q, or the local queue */
	struct qmgr_group *wnext;	/* next in that queue */
	size_t *idx;			/* recipient indexes */
	size_t n;
	size_t next;			/* idx[next...] not yet sent */
};

struct qmgr_msg {
	char id[QID_LEN + 1];
	struct qenv env;
	int fd;				/* O_RDWR on active/ID, for qfile_mark_rcpt */
	struct timeval entered;		/* when it entered active/ (delays=) */
	struct qmgr_result *res;	/* env.nrcpt entries */
	struct qmgr_group *grp;
	size_t ngrp;
	size_t open;			/* groups not yet finished */
};

struct qmgr_slot {
	enum qmgr_tr tr;
	int fd;				/* -1: no connection */
	int persistent;			/* foreground socketpair (1) or per-request connection */
	int dead;			/* persistent peer gone */
	pid_t pid;			/* foreground child */
	struct qmgr_group *grp;		/* in flight, or NULL */
	struct pbuf in;
	char *last;			/* QT_SMTP: the nexthop of its last request, or NULL */
	struct timeval idle_since;	/* when its last request ended */
	size_t answers, site_fail;	/* of the request at hand: answers, site failures */
	char fail_dsn[LOCALSVC_DSN_MAX];	/* the last site failure's */
	char *fail_text;
};

static struct {
	const char *qdir;
	int foreground;
	struct qmgr_slot *slot;
	size_t nslot;
	size_t nwait;			/* groups waiting for a slot, in all queues */
	struct qmgr_queue localq;	/* local groups waiting */
	struct qmgr_dest *ring;		/* smtp destinations with groups waiting: whose turn */
	size_t nring;
	size_t nmsg;			/* messages loaded and not finished */
	struct qmgr_idq runq;
	struct qmgr_idq unpark;		/* parked IDs whose destination has room again */
	size_t nparked;			/* IDs parked at destinations */
	int own_active;			/* holds the active/ lock */
	int lock_fd;
	int trigger_fd;
	int new_incoming;		/* a notice was queued: scan incoming/ */
	int more_load;			/* qmgr_dispatch stopped at QMGR_LOAD_BURST */
	int more_incoming, more_deferred, more_deferred_all;	/* scans cut at the limit */
} qm = { .lock_fd = -1, .trigger_fd = -1 };

static struct qmgr_dest *qmgr_dests[QMGR_DEST_BUCKETS];
static int qmgr_preset_trigger = -1;
static volatile sig_atomic_t qmgr_stop;

static void
qmgr_on_term(int sig)
{
	qmgr_stop = 1;
}

/* ---- small helpers ---- */

static double
qmgr_tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(a->tv_sec - b->tv_sec) + (double)(a->tv_usec - b->tv_usec) / 1e6;
}

static const char *
qmgr_sender(const struct qenv *e)
{
	return e->sender ? e->sender : "";
}

static int
qmgr_notify_class(const char *cls)
{
	struct strv v = STRV_INIT;
	int found;

	conf_list("notify_classes", &v);
	found = strv_find(&v, cls, 1) >= 0;
	strv_free(&v);
	return found;
}

/* double_bounce_sender@$myorigin, malloc'd. */
static char *
qmgr_double_bounce(void)
{
	return addr_qualify(conf_str("double_bounce_sender"), conf_str("myorigin"));
}

static int
qmgr_is_double_bounce(const char *sender)
{
	char *db = qmgr_double_bounce();
	int is = *sender && strcasecmp(sender, db) == 0;

	free(db);
	return is;
}

static long long
qmgr_lifetime(const struct qenv *e)
{
	const char *s = qmgr_sender(e);

	return conf_time(*s == '\0' || qmgr_is_double_bounce(s) ? "bounce_queue_lifetime"
	    : "maximal_queue_lifetime");
}

/* ---- smtp destinations: concurrency windows, dead destinations ---- */

static size_t
qmgr_dest_hash(const char *name)
{
	size_t h = 5381;

	for (; *name; name++)
		h = h * 33 + (unsigned char)(*name >= 'A' && *name <= 'Z' ? *name + 32 : *name);
	return h % QMGR_DEST_BUCKETS;
}

/* 1 when an smtp-slot nexthop is an LMTP one (resolve.h). */
static int
qmgr_is_lmtp(const char *nexthop)
{
	return nexthop != NULL
	    && strncmp(nexthop, RESOLVE_LMTP_PREFIX, strlen(RESOLVE_LMTP_PREFIX)) == 0;
}

/* The concurrency limit of d: smtp_ or lmtp_destination_concurrency_limit. */
static long long
qmgr_dest_max(const struct qmgr_dest *d)
{
	return conf_int(qmgr_is_lmtp(d->name) ? "lmtp_destination_concurrency_limit"
	    : "smtp_destination_concurrency_limit");
}

/* The most requests a destination may have at once (never 0). */
static size_t
qmgr_dest_limit(const struct qmgr_dest *d)
{
	long long limit = qmgr_dest_max(d);
	size_t w = d->window < 1 ? 1 : (size_t)d->window;

	if (limit > 0 && (long long)w > limit)
		w = (size_t)limit;
	return w;
}

static void
qmgr_dest_revive(struct qmgr_dest *d)
{
	long long init = conf_int("smtp_initial_destination_concurrency");

	d->dead_until = 0;
	d->failed = 0;
	d->window = init < 1 ? 1 : (double)init;
	free(d->reason);
	d->reason = NULL;
}

/* The destination named name, made when missing; one more reference. */
static struct qmgr_dest *
qmgr_dest_get(const char *name)
{
	struct qmgr_dest **b = &qmgr_dests[qmgr_dest_hash(name)], *d;

	for (d = *b; d != NULL; d = d->next)
		if (strcasecmp(d->name, name) == 0)
			break;
	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->name = xstrdup(name);
		d->q.dest = d;
		qmgr_dest_revive(d);
		d->next = *b;
		*b = d;
	}
	d->ref++;
	return d;
}

/* Frees d when nothing needs it: no group, no request, not dead. */
static void
qmgr_dest_gc(struct qmgr_dest *d)
{
	struct qmgr_dest **p;

	if (d->ref > 0 || d->busy > 0 || d->dead_until != 0 || d->q.parked.tail > d->q.parked.head)
		return;
	for (p = &qmgr_dests[qmgr_dest_hash(d->name)]; *p != NULL; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	free(d->name);
	free(d->reason);
	free(d->q.parked.id);
	free(d);
}

static void
qmgr_dest_put(struct qmgr_dest *d)
{
	if (d == NULL)
		return;
	d->ref--;
	qmgr_dest_gc(d);
}

/* A dead destination whose time is over lives again (also all of them: flush). */
static void
qmgr_dest_expire(int all)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < QMGR_DEST_BUCKETS; i++) {
		struct qmgr_dest *d = qmgr_dests[i], *next;

		for (; d != NULL; d = next) {
			next = d->next;
			if (d->dead_until != 0 && (all || now >= d->dead_until)) {
				qmgr_dest_revive(d);
				qmgr_dest_gc(d);
			}
		}
	}
}

/*
 * The feedback of one request to d (Postfix's, in units of 1/window): a
 * success widens the window and forgets failures; a site failure (no
 * server took a session) narrows it and counts 1/window of a failed
 * cohort; at smtp_destination_concurrency_failed_cohort_limit cohorts
 * the destination is dead for minimal_backoff_time.
 */
static void
qmgr_dest_feedback(struct qmgr_dest *d, int failed, const char *dsn, const char *why)
{
	long long limit = qmgr_dest_max(d);
	long long cohorts = conf_int("smtp_destination_concurrency_failed_cohort_limit");
	double w = d->window < 1 ? 1 : d->window;

	if (!failed) {
		d->failed = 0;
		d->window = w + 1 / w;
		if (limit > 0 && d->window > (double)limit)
			d->window = (double)limit;
		return;
	}
	d->failed += 1 / w;
	d->window = w - 1 / w < 1 ? 1 : w - 1 / w;
	if (d->dead_until != 0 || cohorts <= 0 || d->failed + 1e-9 < (double)cohorts)
		return;
	d->dead_until = time(NULL) + (time_t)conf_time("minimal_backoff_time");
	snprintf(d->dsn, sizeof(d->dsn), "%s", dsn && *dsn ? dsn : "4.4.1");
	free(d->reason);
	d->reason = xasprintf(QMGR_SUSPENDED "%s", why && *why ? why : "no server answered");
	log_info("%s: %s (for %llds)", d->name, d->reason,
	    conf_time("minimal_backoff_time"));
}

/* ---- ID queues: the run queue (IDs in active/, in arrival order of the scans) ---- */

static void
qmgr_idq_push(struct qmgr_idq *q, const char *id)
{
	if (q->tail == q->cap) {
		if (q->head > 0) {
			memmove(q->id, q->id + q->head, (q->tail - q->head) * sizeof(*q->id));
			q->tail -= q->head;
			q->head = 0;
		} else {
			q->cap = q->cap ? q->cap * 2 : 64;
			q->id = xreallocarray(q->id, q->cap, sizeof(*q->id));
		}
	}
	snprintf(q->id[q->tail++], QID_LEN + 1, "%s", id);
}

static size_t
qmgr_idq_len(const struct qmgr_idq *q)
{
	return q->tail - q->head;
}

/* Takes the first ID of q (not empty) into id. */
static void
qmgr_idq_pop(struct qmgr_idq *q, char id[QID_LEN + 1])
{
	snprintf(id, QID_LEN + 1, "%s", q->id[q->head++]);
}

static void
qmgr_idq_free(struct qmgr_idq *q)
{
	free(q->id);
	memset(q, 0, sizeof(*q));
}

static void
qmgr_runq_push(const char *id)
{
	qmgr_idq_push(&qm.runq, id);
}

/* IDs in active/ not loaded: to load, parked, and unparked. */
static size_t
qmgr_runq_len(void)
{
	return qmgr_idq_len(&qm.runq) + qmgr_idq_len(&qm.unpark) + qm.nparked;
}

static size_t
qmgr_inflight(void)
{
	return qm.nmsg;
}

/* ---- scanning ---- */

struct qmgr_scan {
	const char *subdir;
	time_t due;		/* deferred/: only files with mtime <= due; 0 = all */
	int cut;		/* stopped at the limit */
};

static int
qmgr_scan_one(const char *subdir, const char *id, void *ctx)
{
	struct qmgr_scan *s = ctx;

	if (qmgr_runq_len() + qmgr_inflight() >= QMGR_ACTIVE_LIMIT) {
		s->cut = 1;
		return 1;
	}
	if (s->due) {
		char *path = xasprintf("%s/%s/%s", qm.qdir, subdir, id);
		struct stat st;
		int later = stat(path, &st) < 0 || st.st_mtime > s->due;

		free(path);
		if (later)
			return 0;
	}
	if (strcmp(subdir, QDIR_ACTIVE) != 0
	    && queue_move(qm.qdir, subdir, QDIR_ACTIVE, id) < 0) {
		if (errno != ENOENT)
			log_warn("%s: cannot move from %s/ to %s/: %m", id, subdir, QDIR_ACTIVE);
		return 0;
	}
	qmgr_runq_push(id);
	return 0;
}

static void
qmgr_scan(const char *subdir, int all)
{
	struct qmgr_scan s = { subdir, 0, 0 };

	if (strcmp(subdir, QDIR_DEFERRED) == 0 && !all)
		s.due = time(NULL);
	if (queue_scan(qm.qdir, subdir, qmgr_scan_one, &s) < 0)
		log_warn("cannot read %s/%s: %m", qm.qdir, subdir);
	if (strcmp(subdir, QDIR_INCOMING) == 0) {
		qm.more_incoming = s.cut;
	} else if (strcmp(subdir, QDIR_DEFERRED) == 0 && (s.cut || !qm.more_deferred)) {
		qm.more_deferred = s.cut;
		qm.more_deferred_all = s.cut && all;
	}
}

/* ---- notices ---- */

/*
 * Queues a notice: envelope sender env_sender, one recipient rcpt, the
 * body built by bounce_build_opts. newid gets the notice's ID. -1 when it
 * could not be queued (logged).
 */
static int
qmgr_queue_notice(struct bounce_opts *o, const char *env_sender, const char *rcpt,
    const struct qenv *orig, const char *content, size_t len,
    const struct bounce_rcpt *br, size_t n, char *newid)
{
	struct queue_tx tx;
	struct qenv e;
	struct pbuf msg = PBUF_INIT;
	char err[512];
	size_t i;
	int rc;

	if (queue_tx_begin(qm.qdir, QDIR_INCOMING, &tx, err, sizeof(err)) < 0) {
		log_warn("%s: cannot queue a notice: %s", orig->id, err);
		return -1;
	}
	o->notice_id = tx.id;
	o->to = rcpt;
	if (o->now == 0)
		o->now = time(NULL);
	bounce_build_opts(o, orig, orig->id, content, len, br, n, &msg);
	qenv_init(&e);
	gettimeofday(&e.arrival, NULL);
	qenv_set_sender(&e, env_sender);
	for (i = 0; i < msg.len; i++)
		if ((unsigned char)msg.data[i] & 0x80) {
			e.flags |= QF_8BITMIME;
			break;
		}
	qenv_set_attr(&e, "origin", "bounce");
	qenv_add_rcpt(&e, rcpt, 0, NULL);
	rc = queue_tx_commit(&tx, &e, msg.data, msg.len, QMGR_FILE_MODE, err, sizeof(err));
	if (rc < 0) {
		log_warn("%s: cannot queue a notice: %s", orig->id, err);
	} else {
		snprintf(newid, QID_LEN + 1, "%s", e.id);
		struct pbuf mid = PBUF_INIT;

		bounce_message_id(o->now, e.id, &mid);
		log_info("%s: message-id=<%s>", e.id, pbuf_str(&mid));
		pbuf_free(&mid);
		qm.new_incoming = 1;
	}
	qenv_free(&e);
	pbuf_free(&msg);
	return rc < 0 ? -1 : 0;
}

/* 1 when the recipient's NOTIFY asks for this kind of notice. */
static int
qmgr_wants(const struct qrcpt *r, enum bounce_kind kind)
{
	if (r->notify & QN_NEVER)
		return 0;
	switch (kind) {
	case BOUNCE_FAILED:
		return r->notify == 0 || (r->notify & QN_FAILURE);
	case BOUNCE_DELAYED:
		return r->notify == 0 || (r->notify & QN_DELAY);
	case BOUNCE_DELIVERED:
		return (r->notify & QN_SUCCESS) != 0;
	}
	return 0;
}

static void
qmgr_bounce_rcpt(const struct qmgr_msg *m, size_t i, enum bounce_kind kind,
    struct bounce_rcpt *br, struct strv *keep)
{
	const struct qmgr_result *r = &m->res[i];
	const char *text = r->text ? r->text : "";

	memset(br, 0, sizeof(*br));
	br->addr = m->env.rcpt[i].addr;
	br->orcpt = m->env.rcpt[i].orcpt;
	br->dsn = r->dsn[0] ? r->dsn : NULL;
	br->reason = text;
	if (r->mta != NULL) {
		/* Remote-MTA: dns; the server's name (without [address]). */
		char *name = xstrdup(r->mta), *b = strchr(name, '[');

		if (b != NULL)
			*b = '\0';
		strv_add_owned(keep, name);
		br->remote_mta = name;
	}
	if (kind == BOUNCE_DELIVERED && r->mta != NULL)
		br->action = "relayed";	/* to a server without DSN: its fate is unknown */
	if (r->diag != NULL) {
		char *diag = xasprintf("smtp; %s", r->diag);

		strv_add_owned(keep, diag);
		br->diagnostic = diag;
	} else if (kind != BOUNCE_DELIVERED && r->mta == NULL && local_is_local(br->addr)
	    && *text) {
		/* local(8)'s words, in the Diagnostic-Code form Postfix gives them. */
		char *diag = xasprintf("x-unix; %s", text);

		strv_add_owned(keep, diag);
		br->diagnostic = diag;
	}
}

/*
 * Sends the notice of kind for the recipients in idx (n of them) of m.
 * Returns 0 when it was queued or is not due (NOTIFY, null sender), -1
 * when it could not be queued.
 */
static int
qmgr_notify(struct qmgr_msg *m, enum bounce_kind kind, const size_t *idx, size_t n,
    time_t now)
{
	const char *sender = qmgr_sender(&m->env);
	struct bounce_rcpt *br = xcalloc(n ? n : 1, sizeof(*br));
	struct strv keep = STRV_INIT;
	struct pbuf content = PBUF_INIT;
	struct bounce_opts o;
	struct qenv full;
	char err[512], newid[QID_LEN + 1];
	size_t i, nb = 0;
	int rc = 0, is_db = qmgr_is_double_bounce(sender);

	for (i = 0; i < n; i++) {
		/* Mail from <> has no NOTIFY to honour: only the postmaster may hear. */
		if (*sender && !is_db && !qmgr_wants(&m->env.rcpt[idx[i]], kind))
			continue;
		qmgr_bounce_rcpt(m, idx[i], kind, &br[nb++], &keep);
	}
	if (nb == 0)
		goto out;
	if (kind != BOUNCE_FAILED && (*sender == '\0' || is_db))
		goto out;
	if (is_db) {
		log_warn("%s: undeliverable postmaster notification discarded", m->id);
		goto out;
	}
	if (*sender == '\0' && !qmgr_notify_class("2bounce")) {
		log_info("%s: from=<>, undeliverable notice discarded (a notice is never "
		    "returned; notify_classes has no 2bounce)", m->id);
		goto out;
	}
	qenv_init(&full);
	if (queue_read(qm.qdir, QDIR_ACTIVE, m->id, &full, &content, err, sizeof(err))
	    != QFILE_OK) {
		log_warn("%s: cannot read the message for its notice: %s", m->id, err);
		rc = -1;
		goto out;
	}
	qenv_free(&full);
	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.now = now;
	if (kind == BOUNCE_DELAYED)
		o.retry_until = m->env.arrival.tv_sec + (time_t)qmgr_lifetime(&m->env);
	if (*sender == '\0') {
		/* A failed notice: one postmaster copy (2bounce), from double-bounce. */
		char *pm = addr_qualify(conf_str("2bounce_notice_recipient"), conf_str("myorigin"));
		char *db = qmgr_double_bounce();

		o.postmaster_copy = 1;
		rc = qmgr_queue_notice(&o, db, pm, &m->env, pbuf_str(&content), content.len,
		    br, nb, newid);
		if (rc == 0)
			log_info("%s: postmaster non-delivery notification: %s", m->id, newid);
		free(pm);
		free(db);
		goto out;
	}
	rc = qmgr_queue_notice(&o, "", sender, &m->env, pbuf_str(&content), content.len,
	    br, nb, newid);
	if (rc == 0)
		log_info("%s: sender %s notification: %s", m->id,
		    kind == BOUNCE_FAILED ? "non-delivery" : kind == BOUNCE_DELAYED ? "delay"
		    : "delivery status", newid);
	if (rc == 0 && kind == BOUNCE_FAILED && qmgr_notify_class("bounce")) {
		/* notify_classes = bounce: the postmaster gets the headers too. */
		char *pm = addr_qualify(conf_str("bounce_notice_recipient"), conf_str("myorigin"));
		char *db = qmgr_double_bounce();

		memset(&o, 0, sizeof(o));
		o.kind = kind;
		o.now = now;
		o.postmaster_copy = 1;
		if (qmgr_queue_notice(&o, db, pm, &m->env, pbuf_str(&content), content.len,
		    br, nb, newid) == 0)
			log_info("%s: postmaster non-delivery notification: %s", m->id, newid);
		free(pm);
		free(db);
	}
out:
	pbuf_free(&content);
	strv_free(&keep);
	free(br);
	return rc;
}

/* ---- one message ---- */

static void
qmgr_msg_free(struct qmgr_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; m->res != NULL && i < m->env.nrcpt; i++) {
		free(m->res[i].text);
		free(m->res[i].diag);
		free(m->res[i].mta);
	}
	free(m->res);
	for (i = 0; i < m->ngrp; i++) {
		free(m->grp[i].idx);
		free(m->grp[i].nexthop);
		qmgr_dest_put(m->grp[i].dest);
	}
	free(m->grp);
	if (m->fd >= 0)
		close(m->fd);
	qenv_free(&m->env);
	free(m);
}

static void
qmgr_set_result(struct qmgr_msg *m, size_t i, enum qmgr_rstate st, const char *dsn,
    const char *text)
{
	struct qmgr_result *r = &m->res[i];

	r->state = st;
	r->dsn_passed = 0;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn ? dsn : "");
	free(r->text);
	r->text = xstrdup(text ? text : "");
	free(r->diag);
	r->diag = NULL;
	free(r->mta);
	r->mta = NULL;
}

/* 1 when text starts like an SMTP reply ("550 ...", "421-..."). */
static int
qmgr_is_reply(const char *text)
{
	return text[0] >= '2' && text[0] <= '5' && text[1] >= '0' && text[1] <= '9'
	    && text[2] >= '0' && text[2] <= '9' && (text[3] == ' ' || text[3] == '-'
	    || text[3] == '\0');
}

/* Records one answer of a delivery agent. */
static void
qmgr_record(struct qmgr_msg *m, const struct localsvc_reply *rp)
{
	char dsn[LOCALSVC_DSN_MAX];
	int status = rp->status;
	char *said = NULL;
	const char *text = rp->text;

	if (rp->index >= m->env.nrcpt || m->res[rp->index].state != RS_PENDING) {
		log_warn("%s: delivery agent answered for recipient %zu, which was not asked for",
		    m->id, rp->index);
		return;
	}
	if (rp->mta[0] && qmgr_is_reply(rp->text)) {
		/* The server's own words: "host NAME[ADDR] said: 550 ..." (Postfix's form). */
		said = xasprintf("host %s said: %s", rp->mta, rp->text);
		text = said;
	}
	snprintf(dsn, sizeof(dsn), "%s", rp->dsn);
	if (status == LOCAL_BOUNCE && conf_bool("soft_bounce")) {
		status = LOCAL_DEFER;
		dsn[0] = '4';
	}
	switch (status) {
	case LOCALSVC_RELAYED:
	case LOCAL_SENT:
		qmgr_set_result(m, rp->index, RS_SENT, dsn, text);
		m->res[rp->index].dsn_passed = status == LOCALSVC_RELAYED;
		if (qfile_mark_rcpt(m->fd, &m->env.rcpt[rp->index], QR_DONE) < 0)
			log_warn("%s: cannot mark recipient %s done: %m (it may get the "
			    "message again)", m->id, m->env.rcpt[rp->index].addr);
		else
			m->env.rcpt[rp->index].state = QR_DONE;
		break;
	case LOCAL_BOUNCE:
		qmgr_set_result(m, rp->index, RS_BOUNCE, dsn, text);
		break;
	default:
		qmgr_set_result(m, rp->index, RS_DEFER, dsn, text);
		break;
	}
	if (rp->mta[0]) {
		m->res[rp->index].mta = xstrdup(rp->mta);
		if (said != NULL)
			m->res[rp->index].diag = xstrdup(rp->text);
	}
	free(said);
}

/* Defers everything of g still pending or not yet sent (the delivery process went away). */
static void
qmgr_abandon(struct qmgr_group *g, const char *reason)
{
	struct qmgr_msg *m = g->msg;
	/* "local delivery was interrupted ...", "smtp delivery agent refused ..." */
	char *why = xasprintf("%s %s", qmgr_tr_name[g->tr], reason);
	size_t i, n = 0;

	for (i = 0; i < g->n; i++) {
		size_t k = g->idx[i];

		if (m->res[k].state == RS_PENDING || (i >= g->next && m->res[k].state == RS_NONE)) {
			qmgr_set_result(m, k, RS_DEFER, QMGR_DIED_DSN, why);
			n++;
		}
	}
	g->next = g->n;
	if (n)
		log_warn("%s: %s; %zu recipient%s deferred", m->id, why, n, n == 1 ? "" : "s");
	free(why);
}

static void
qmgr_remove(struct qmgr_msg *m)
{
	char *dir = xasprintf("%s/%s", qm.qdir, QDIR_ACTIVE);
	char *path = xasprintf("%s/%s", dir, m->id);

	/* Not synced: a removal lost in a power loss repeats deliveries, loses none. */
	if (unlink(path) < 0 && errno != ENOENT) {
		log_warn("%s: cannot remove %s: %m", m->id, path);
	} else {
		if (queue_defer_remove(qm.qdir, m->id) < 0)
			log_warn("%s: cannot remove its defer/ file: %m", m->id);
		log_info("%s: removed", m->id);
	}
	free(path);
	free(dir);
}

/* The message goes to deferred/ with its reasons; mtime = the next try. */
static void
qmgr_defer(struct qmgr_msg *m, const size_t *idx, size_t n, time_t now, double age)
{
	struct queue_defer old, d;
	const struct queue_defer_entry *w;
	long long warn = conf_time("delay_warning_time");
	long long minb = conf_time("minimal_backoff_time"), maxb = conf_time("maximal_backoff_time");
	long long delay = (long long)age;
	struct timespec ts[2];
	char err[512], stamp[32];
	time_t next;
	size_t i;
	int warned;

	queue_defer_init(&old);
	queue_defer_init(&d);
	if (queue_defer_read(qm.qdir, m->id, &old) < 0)
		log_warn("%s: cannot read its defer/ file: %m", m->id);
	w = queue_defer_find(&old, QMGR_WARNED_ADDR);
	warned = w != NULL;
	for (i = 0; i < n; i++) {
		const struct qmgr_result *r = &m->res[idx[i]];

		queue_defer_add(&d, m->env.rcpt[idx[i]].addr, r->dsn[0] ? r->dsn : "4.0.0",
		    r->text && *r->text ? r->text : "temporary failure");
	}
	if (warned)
		queue_defer_add(&d, QMGR_WARNED_ADDR, QMGR_WARNED_STATUS, w->reason);

	if (warn > 0 && !warned && age >= (double)warn) {
		if (qmgr_notify(m, BOUNCE_DELAYED, idx, n, now) == 0) {
			snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
			queue_defer_add(&d, QMGR_WARNED_ADDR, QMGR_WARNED_STATUS, stamp);
			warned = 1;
		}
	}
	if (queue_defer_write(qm.qdir, m->id, &d, err, sizeof(err)) < 0)
		log_warn("%s: cannot write the delay reasons: %s", m->id, err);

	if (delay > maxb)
		delay = maxb;
	if (delay < minb)
		delay = minb;
	next = now + (time_t)delay;
	if (warn > 0 && !warned) {
		time_t at = m->env.arrival.tv_sec + (time_t)warn;

		if (at > now && at < next)
			next = at;
	}
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = next;
	ts[1].tv_nsec = 0;
	if (futimens(m->fd, ts) < 0)
		log_warn("%s: cannot set the retry time: %m", m->id);
	if (queue_move(qm.qdir, QDIR_ACTIVE, QDIR_DEFERRED, m->id) < 0)
		log_warn("%s: cannot move to %s/: %m (it stays in %s/)", m->id, QDIR_DEFERRED,
		    QDIR_ACTIVE);
	queue_defer_free(&old);
	queue_defer_free(&d);
}

/*
 * 1 when the message's file was deleted ("petrel queue delete") while it
 * was loaded: it is then dropped without notices, and nothing is written
 * for it (no defer/ file without a queue file).
 */
static int
qmgr_deleted(struct qmgr_msg *m)
{
	struct stat st;

	if (m->fd < 0 || fstat(m->fd, &st) < 0 || st.st_nlink > 0)
		return 0;
	(void)queue_defer_remove(qm.qdir, m->id);
	log_info("%s: removed (deleted from the queue during delivery)", m->id);
	qmgr_msg_free(m);
	return 1;
}

/* Step 4: notices, then remove or defer the message; frees m. */
static void
qmgr_finish(struct qmgr_msg *m)
{
	struct timeval tv;
	size_t *failed, *deferred, *sent;
	size_t i, nf = 0, nd = 0, ns = 0, todo = 0;
	double age;

	if (qmgr_deleted(m))
		return;
	failed = xcalloc(m->env.nrcpt + 1, sizeof(size_t));
	deferred = xcalloc(m->env.nrcpt + 1, sizeof(size_t));
	sent = xcalloc(m->env.nrcpt + 1, sizeof(size_t));
	gettimeofday(&tv, NULL);
	age = qmgr_tv_diff(&tv, &m->env.arrival);
	for (i = 0; i < m->env.nrcpt; i++) {
		switch (m->res[i].state) {
		case RS_BOUNCE:
			failed[nf++] = i;
			break;
		case RS_DEFER:
		case RS_PENDING:
			deferred[nd++] = i;
			break;
		case RS_SENT:
			/* RFC 3461 §6.2.2: a DSN-capable next hop reports success itself. */
			if (!m->res[i].dsn_passed)
				sent[ns++] = i;
			break;
		case RS_NONE:
			if (m->env.rcpt[i].state == QR_TODO)
				deferred[nd++] = i;
			break;
		}
	}
	if (nd > 0 && age >= (double)qmgr_lifetime(&m->env)) {
		log_info("%s: from=<%s>, status=expired, returned to sender", m->id,
		    qmgr_sender(&m->env));
		for (i = 0; i < nd; i++) {
			struct qmgr_result *r = &m->res[deferred[i]];

			if (r->state != RS_DEFER)
				qmgr_set_result(m, deferred[i], RS_DEFER, "4.0.0",
				    "delivery was not tried before the message expired");
			r->state = RS_BOUNCE;
			failed[nf++] = deferred[i];
		}
		nd = 0;
	}
	if (nf > 0) {
		if (qmgr_notify(m, BOUNCE_FAILED, failed, nf, tv.tv_sec) == 0) {
			for (i = 0; i < nf; i++) {
				struct qrcpt *r = &m->env.rcpt[failed[i]];

				if (qfile_mark_rcpt(m->fd, r, QR_DONE) < 0)
					log_warn("%s: cannot mark recipient %s done: %m", m->id,
					    r->addr);
				else
					r->state = QR_DONE;
			}
		} else {
			/* No notice: keep them to do, they are tried and reported again. */
			for (i = 0; i < nf; i++)
				deferred[nd++] = failed[i];
		}
	}
	if (ns > 0)
		(void)qmgr_notify(m, BOUNCE_DELIVERED, sent, ns, tv.tv_sec);
	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpt[i].state == QR_TODO)
			todo++;
	if (todo == 0)
		qmgr_remove(m);
	else
		qmgr_defer(m, deferred, nd, tv.tv_sec, age);
	free(failed);
	free(deferred);
	free(sent);
	qmgr_msg_free(m);
}

/* Logs a recipient that routing settled at once (transport_maps error:, a broken map). */
static void
qmgr_log_routed(const struct qmgr_msg *m, size_t i, const char *status)
{
	const struct qmgr_result *r = &m->res[i];
	struct pbuf line = PBUF_INIT;
	struct timeval now;

	gettimeofday(&now, NULL);
	pbuf_printf(&line, "%s: to=<%s>, relay=none, delay=", m->id, m->env.rcpt[i].addr);
	log_fmt_delay(&line, qmgr_tv_diff(&now, &m->env.arrival));
	pbuf_puts(&line, ", delays=");
	log_fmt_delay(&line, qmgr_tv_diff(&m->entered, &m->env.arrival));
	pbuf_putc(&line, '/');
	log_fmt_delay(&line, qmgr_tv_diff(&now, &m->entered));
	pbuf_printf(&line, "/0/0, dsn=%s, status=%s (%s)", r->dsn, status, r->text);
	log_info("%s", pbuf_str(&line));
	pbuf_free(&line);
}

/* The group of m for (tr, nexthop), made when missing. */
static struct qmgr_group *
qmgr_group_for(struct qmgr_msg *m, enum qmgr_tr tr, const char *nexthop)
{
	size_t i;
	struct qmgr_group *g;

	for (i = 0; i < m->ngrp; i++) {
		g = &m->grp[i];
		if (g->tr == tr && (tr == QT_LOCAL || strcasecmp(g->nexthop, nexthop) == 0))
			return g;
	}
	g = &m->grp[m->ngrp++];
	memset(g, 0, sizeof(*g));
	g->msg = m;
	g->tr = tr;
	g->nexthop = tr == QT_SMTP ? xstrdup(nexthop) : NULL;
	g->dest = tr == QT_SMTP ? qmgr_dest_get(nexthop) : NULL;
	g->q = g->dest != NULL ? &g->dest->q : &qm.localq;
	g->idx = xcalloc(m->env.nrcpt + 1, sizeof(*g->idx));
	return g;
}

/* ---- waiting groups: a queue per destination, a ring of smtp destinations ---- */

/* d joins the ring just before the one whose turn it is (it comes last in this round). */
static void
qmgr_ring_add(struct qmgr_dest *d)
{
	if (d->in_ring)
		return;
	if (qm.ring == NULL) {
		d->rnext = d->rprev = d;
		qm.ring = d;
	} else {
		d->rnext = qm.ring;
		d->rprev = qm.ring->rprev;
		qm.ring->rprev->rnext = d;
		qm.ring->rprev = d;
	}
	d->in_ring = 1;
	qm.nring++;
}

static void
qmgr_ring_del(struct qmgr_dest *d)
{
	if (!d->in_ring)
		return;
	if (d->rnext == d) {
		qm.ring = NULL;
	} else {
		d->rprev->rnext = d->rnext;
		d->rnext->rprev = d->rprev;
		if (qm.ring == d)
			qm.ring = d->rnext;
	}
	d->rnext = d->rprev = NULL;
	d->in_ring = 0;
	qm.nring--;
}

static void
qmgr_wait_push(struct qmgr_group *g)
{
	struct qmgr_queue *q = g->q;

	g->wnext = NULL;
	if (q->tail != NULL)
		q->tail->wnext = g;
	else
		q->head = g;
	q->tail = g;
	q->n++;
	qm.nwait++;
	if (q->dest != NULL)
		qmgr_ring_add(q->dest);
}

/*
 * Takes the first group of q off it. A destination with no group left
 * leaves the ring; one with room again gives back a parked message (to
 * qm.unpark, loaded before the run queue).
 */
static struct qmgr_group *
qmgr_wait_pop(struct qmgr_queue *q)
{
	struct qmgr_group *g = q->head;
	size_t unparked = 0;

	q->head = g->wnext;
	if (q->head == NULL)
		q->tail = NULL;
	g->wnext = NULL;
	q->n--;
	qm.nwait--;
	if (q->n == 0 && q->dest != NULL)
		qmgr_ring_del(q->dest);
	/*
	 * Up to the room there is: usually one, more when the messages given
	 * back went elsewhere (then none is left behind with nothing waiting).
	 */
	while (q->n + unparked < QMGR_DEST_WAIT_MAX && qmgr_idq_len(&q->parked) > 0) {
		char id[QID_LEN + 1];

		qmgr_idq_pop(&q->parked, id);
		qm.nparked--;
		qmgr_idq_push(&qm.unpark, id);
		unparked++;
	}
	return g;
}

/* The smtp destination named name when it exists (no reference taken). */
static struct qmgr_dest *
qmgr_dest_find(const char *name)
{
	struct qmgr_dest *d;

	for (d = qmgr_dests[qmgr_dest_hash(name)]; d != NULL; d = d->next)
		if (strcasecmp(d->name, name) == 0)
			return d;
	return NULL;
}

/*
 * Where a message whose recipients still to do resolved to rr[] is
 * parked instead of loaded: the queue of one of its destinations when
 * every one of them already has QMGR_DEST_WAIT_MAX groups waiting; NULL
 * when it is loaded (something of it can go now, or settles at once).
 */
static struct qmgr_queue *
qmgr_park_queue(const struct qenv *e, const struct resolve_result *rr)
{
	struct qmgr_queue *full = NULL;
	size_t i;

	for (i = 0; i < e->nrcpt; i++) {
		struct qmgr_queue *q;

		if (e->rcpt[i].state != QR_TODO)
			continue;
		if (rr[i].transport == RESOLVE_LOCAL) {
			q = &qm.localq;
		} else if (rr[i].transport == RESOLVE_SMTP || rr[i].transport == RESOLVE_LMTP) {
			struct qmgr_dest *d = qmgr_dest_find(rr[i].nexthop);

			q = d != NULL ? &d->q : NULL;
		} else {
			return NULL;
		}
		if (q == NULL || q->n < QMGR_DEST_WAIT_MAX)
			return NULL;
		full = q;
	}
	return full;
}

/*
 * Step 1 and 2 for one ID in active/: returns the message when it needs
 * a delivery agent (its groups are then waiting for slots), NULL when it
 * is finished (or gone, or quarantined), or parked (qmgr_park_queue; not
 * when force: a message given back is always loaded).
 */
static struct qmgr_msg *
qmgr_load(const char *id, int force)
{
	struct qmgr_msg *m = xcalloc(1, sizeof(*m));
	struct resolve_result *rr = NULL;
	struct qmgr_queue *park;
	char err[512], *path;
	enum qfile_status st;
	size_t i;

	snprintf(m->id, sizeof(m->id), "%s", id);
	m->fd = -1;
	gettimeofday(&m->entered, NULL);
	st = queue_read(qm.qdir, QDIR_ACTIVE, id, &m->env, NULL, err, sizeof(err));
	if (st == QFILE_CORRUPT) {
		queue_quarantine(qm.qdir, QDIR_ACTIVE, id, err);
		goto gone;
	}
	if (st != QFILE_OK) {
		if (errno != ENOENT)
			log_warn("%s: %s; it waits in %s/", id, err, QDIR_ACTIVE);
		goto gone;
	}
	rr = xcalloc(m->env.nrcpt + 1, sizeof(*rr));
	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpt[i].state == QR_TODO)
			resolve_rcpt(m->env.sender ? m->env.sender : "", m->env.rcpt[i].addr, &rr[i]);
	/* Its destinations have enough waiting: it stays in active/ for later. */
	park = force ? NULL : qmgr_park_queue(&m->env, rr);
	if (park != NULL) {
		qmgr_idq_push(&park->parked, id);
		qm.nparked++;
		goto gone;
	}
	path = xasprintf("%s/%s/%s", qm.qdir, QDIR_ACTIVE, id);
	m->fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (m->fd < 0) {
		if (errno != ENOENT)
			log_warn("%s: open %s: %m; it waits in %s/", id, path, QDIR_ACTIVE);
		free(path);
		goto gone;
	}
	free(path);
	m->res = xcalloc(m->env.nrcpt + 1, sizeof(*m->res));
	m->grp = xcalloc(m->env.nrcpt + 1, sizeof(*m->grp));
	log_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue active)", id,
	    qmgr_sender(&m->env), m->env.data_len, m->env.nrcpt);
	for (i = 0; i < m->env.nrcpt; i++) {
		struct resolve_result *r = &rr[i];
		struct qmgr_group *g;

		if (m->env.rcpt[i].state != QR_TODO)
			continue;
		switch (r->transport) {
		case RESOLVE_LOCAL:
		case RESOLVE_SMTP:
		case RESOLVE_LMTP:
			g = qmgr_group_for(m, r->transport == RESOLVE_LOCAL ? QT_LOCAL : QT_SMTP,
			    r->nexthop);
			g->idx[g->n++] = i;
			break;
		case RESOLVE_ERROR:
			if (conf_bool("soft_bounce"))
				r->dsn[0] = '4';
			qmgr_set_result(m, i, conf_bool("soft_bounce") ? RS_DEFER : RS_BOUNCE,
			    r->dsn, r->text);
			qmgr_log_routed(m, i, conf_bool("soft_bounce") ? "SOFTBOUNCE" : "bounced");
			break;
		case RESOLVE_DEFER:
			qmgr_set_result(m, i, RS_DEFER, r->dsn, r->text);
			qmgr_log_routed(m, i, "deferred");
			break;
		}
	}
	free(rr);
	if (m->ngrp == 0) {
		qmgr_finish(m);
		return NULL;
	}
	m->open = m->ngrp;
	qm.nmsg++;
	for (i = 0; i < m->ngrp; i++)
		qmgr_wait_push(&m->grp[i]);
	return m;
gone:
	free(rr);
	qmgr_msg_free(m);
	return NULL;
}

/* ---- slots: the lines to the delivery agents ---- */

static void
qmgr_slot_close(struct qmgr_slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	pbuf_reset(&s->in);
	free(s->last);
	s->last = NULL;
	if (s->persistent)
		s->dead = 1;
}

/*
 * Recipients per request: LOCALSVC_MAX_RCPTS, for SMTP also
 * smtp_destination_recipient_limit (LMTP: lmtp_destination_recipient_limit).
 */
static size_t
qmgr_chunk(const struct qmgr_group *g)
{
	long long lim = g->tr != QT_SMTP ? 0 : conf_int(qmgr_is_lmtp(g->nexthop)
	    ? "lmtp_destination_recipient_limit" : "smtp_destination_recipient_limit");

	if (lim <= 0 || lim > LOCALSVC_MAX_RCPTS)
		lim = LOCALSVC_MAX_RCPTS;
	return (size_t)lim;
}

/* Sends the next chunk of s->grp's recipients. -1 when the line broke. */
static int
qmgr_slot_send(struct qmgr_slot *s)
{
	struct qmgr_group *g = s->grp;
	struct qmgr_msg *m = g->msg;
	size_t n = g->n - g->next, i, chunk = qmgr_chunk(g);

	if (n > chunk)
		n = chunk;
	if (localsvc_send(s->fd, m->id, QDIR_ACTIVE, g->nexthop, g->idx + g->next, n) < 0)
		return -1;
	s->answers = s->site_fail = 0;
	for (i = 0; i < n; i++)
		m->res[g->idx[g->next + i]].state = RS_PENDING;
	g->next += n;
	return 0;
}

/* One group is over; the message is finished when it was its last. */
static void
qmgr_group_done(struct qmgr_group *g)
{
	struct qmgr_msg *m = g->msg;

	if (--m->open == 0) {
		qm.nmsg--;
		qmgr_finish(m);
	}
}

/*
 * The request at hand on s was answered: feedback to its destination (a
 * site failure when every recipient was deferred with no server's reply).
 */
static void
qmgr_slot_feedback(struct qmgr_slot *s)
{
	struct qmgr_dest *d = s->grp->dest;

	if (d == NULL || s->answers == 0)
		return;
	qmgr_dest_feedback(d, s->site_fail == s->answers, s->fail_dsn, s->fail_text);
}

/* 1 when a group for destination d waits for a slot (Postfix's "on demand"). */
static int
qmgr_backlog(const struct qmgr_dest *d)
{
	return d != NULL && d->q.n > 0;
}

/*
 * The group on s is over (answered, or the line broke). A line to the
 * smtp service stays open when more mail for the same nexthop waits
 * (smtp_connection_cache_on_demand): the process keeps its SMTP session
 * and the next request for that nexthop goes to it (connection reuse,
 * smtp_deliver.h); an idle line is ended after
 * smtp_connection_cache_time_limit.
 */
static void
qmgr_slot_done(struct qmgr_slot *s, const char *why)
{
	struct qmgr_group *g = s->grp;

	if (g->dest != NULL && g->dest->busy > 0)
		g->dest->busy--;
	if (why != NULL) {
		qmgr_abandon(g, why);
		qmgr_slot_close(s);
	} else if (!s->persistent && (s->tr != QT_SMTP
	    || conf_time("smtp_connection_cache_time_limit") <= 0
	    || !conf_bool("smtp_connection_cache_on_demand") || !qmgr_backlog(g->dest))) {
		qmgr_slot_close(s);
	}
	gettimeofday(&s->idle_since, NULL);
	s->grp = NULL;
	qmgr_group_done(g);
}

static void
qmgr_slot_start(struct qmgr_slot *s, struct qmgr_group *g)
{
	s->grp = g;
	if (g->dest != NULL)
		g->dest->busy++;
	if (s->tr == QT_SMTP) {
		/* A line kept for another nexthop is ended; the process ends its session. */
		if (!s->persistent && s->fd >= 0 && (s->last == NULL
		    || strcasecmp(s->last, g->nexthop) != 0))
			qmgr_slot_close(s);
		free(s->last);
		s->last = xstrdup(g->nexthop);
	}
	if (!s->persistent && s->fd < 0) {
		s->fd = localsvc_connect(qmgr_tr_socket[s->tr]);
		if (s->fd < 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s (connect to %s: %s)", QMGR_NOSVC_REASON,
			    qmgr_tr_socket[s->tr], strerror(errno));
			qmgr_slot_done(s, why);
			return;
		}
	}
	if (qmgr_slot_send(s) < 0)
		qmgr_slot_done(s, QMGR_DIED_REASON);
}

/* Reads what the delivery process said; handles complete lines. */
static void
qmgr_slot_input(struct qmgr_slot *s)
{
	char buf[QMGR_READ_CHUNK];
	ssize_t n;

	n = read(s->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || s->grp == NULL) {
		/* Closed, or talking out of turn while idle: the line is ended. */
		if (s->grp)
			qmgr_slot_done(s, QMGR_DIED_REASON);
		else
			qmgr_slot_close(s);
		return;
	}
	pbuf_append(&s->in, buf, (size_t)n);
	while (s->grp) {
		char *nl = memchr(s->in.data, '\n', s->in.len);
		struct qmgr_group *g = s->grp;
		struct localsvc_reply rp;
		enum localsvc_line t;
		size_t len, rest;

		if (nl == NULL) {
			if (s->in.len > LOCALSVC_LINE_MAX)
				qmgr_slot_done(s, "delivery agent sent an over-long line");
			return;
		}
		*nl = '\0';
		len = (size_t)(nl - s->in.data);
		t = localsvc_parse(s->in.data, &rp);
		rest = s->in.len - len - 1;
		memmove(s->in.data, nl + 1, rest);
		pbuf_truncate(&s->in, rest);
		switch (t) {
		case LOCALSVC_REPLY:
			s->answers++;
			if (rp.status == LOCAL_DEFER && rp.mta[0] == '\0') {
				s->site_fail++;
				snprintf(s->fail_dsn, sizeof(s->fail_dsn), "%s", rp.dsn);
				free(s->fail_text);
				s->fail_text = xstrdup(rp.text);
			}
			qmgr_record(g->msg, &rp);
			break;
		case LOCALSVC_END:
			qmgr_slot_feedback(s);
			if (g->next < g->n) {
				if (qmgr_slot_send(s) < 0)
					qmgr_slot_done(s, QMGR_DIED_REASON);
			} else {
				qmgr_slot_done(s, NULL);
			}
			break;
		case LOCALSVC_ERROR:
			log_warn("%s: %s delivery refused the request: %s", g->msg->id,
			    qmgr_tr_name[s->tr], rp.text);
			qmgr_slot_done(s, "delivery agent refused the request");
			break;
		case LOCALSVC_BAD:
			log_warn("%s: %s delivery sent a malformed line", g->msg->id,
			    qmgr_tr_name[s->tr]);
			qmgr_slot_done(s, "delivery agent sent a malformed answer");
			break;
		}
	}
}

/*
 * A free slot for g, or NULL (none free, or g's destination is at its
 * limit). For smtp the best is a slot whose last request went to g's
 * nexthop (its process may still hold the session), then one with no
 * line open, then one kept for another nexthop.
 */
static struct qmgr_slot *
qmgr_free_slot(const struct qmgr_group *g)
{
	struct qmgr_slot *best = NULL;
	int best_rank = 0;
	size_t i;

	if (g->dest != NULL && g->dest->busy >= qmgr_dest_limit(g->dest))
		return NULL;
	for (i = 0; i < qm.nslot; i++) {
		struct qmgr_slot *s = &qm.slot[i];
		int rank;

		if (s->tr != g->tr || s->grp != NULL || s->dead)
			continue;
		if (g->tr != QT_SMTP)
			return s;
		if (s->last != NULL && strcasecmp(s->last, g->nexthop) == 0)
			return s;
		rank = s->last == NULL || (!s->persistent && s->fd < 0) ? 2 : 1;
		if (rank > best_rank) {
			best = s;
			best_rank = rank;
		}
	}
	return best;
}

/* How many slots of service tr are free. */
static size_t
qmgr_free_count(enum qmgr_tr tr)
{
	size_t i, n = 0;

	for (i = 0; i < qm.nslot; i++)
		if (qm.slot[i].tr == tr && qm.slot[i].grp == NULL && !qm.slot[i].dead)
			n++;
	return n;
}

/* 1 when some slot of any service is free. */
static int
qmgr_any_free_slot(void)
{
	size_t i;

	for (i = 0; i < qm.nslot; i++)
		if (qm.slot[i].grp == NULL && !qm.slot[i].dead)
			return 1;
	return 0;
}

/* Defers g at once: its destination is dead (Postfix's "temporarily suspended"). */
static void
qmgr_suspend(struct qmgr_group *g)
{
	struct qmgr_msg *m = g->msg;
	size_t i;

	for (i = g->next; i < g->n; i++) {
		size_t k = g->idx[i];

		if (m->res[k].state != RS_NONE)
			continue;
		qmgr_set_result(m, k, RS_DEFER, g->dest->dsn, g->dest->reason);
		qmgr_log_routed(m, k, "deferred");
	}
	g->next = g->n;
	qmgr_group_done(g);
}

static int
qmgr_all_dead(enum qmgr_tr tr)
{
	size_t i;

	for (i = 0; i < qm.nslot; i++)
		if (qm.slot[i].tr == tr && !qm.slot[i].dead)
			return 0;
	return 1;
}

/*
 * The first group of q goes on when it can: to a free slot (when its
 * destination is below its window), deferred at once when its
 * destination is dead, abandoned when every process of its service is
 * gone (foreground). free_slots: 0 when no slot of its service is free
 * (then only the last two apply, without a look at the slots). Returns
 * 1 when the group left q, 0 when it waits.
 */
static int
qmgr_try_head(struct qmgr_queue *q, int free_slots)
{
	struct qmgr_group *g = q->head;
	struct qmgr_dest *d = q->dest;
	struct qmgr_slot *s = NULL;

	if (g == NULL)
		return 0;
	if (d != NULL && d->dead_until != 0 && time(NULL) >= d->dead_until)
		qmgr_dest_revive(d);
	if (d != NULL && d->dead_until != 0) {
		qmgr_wait_pop(q);
		qmgr_suspend(g);
		return 1;
	}
	if (free_slots)
		s = qmgr_free_slot(g);
	if (s != NULL) {
		qmgr_wait_pop(q);
		qmgr_slot_start(s, g);
		return 1;
	}
	if (!free_slots && qmgr_all_dead(g->tr)) {
		/* Foreground with every process of that service gone. */
		qmgr_wait_pop(q);
		qmgr_abandon(g, QMGR_DIED_REASON);
		qmgr_group_done(g);
		return 1;
	}
	return 0;
}

/*
 * Hands waiting groups to free slots. Local groups go in the order they
 * came. The smtp destinations take turns (round-robin over the ring):
 * each turn starts the oldest group of one destination below its window,
 * then the next destination has its turn; a destination at its window is
 * passed over. A dead destination's groups are deferred at once, even
 * while every slot is busy. Ends when a whole round started nothing.
 */
static void
qmgr_assign(void)
{
	size_t passed = 0, nfree;
	int all_dead;

	while (qm.localq.head != NULL && qmgr_try_head(&qm.localq, qmgr_free_count(QT_LOCAL) > 0))
		;
	nfree = qmgr_free_count(QT_SMTP);
	all_dead = qmgr_all_dead(QT_SMTP);
	while (qm.ring != NULL && passed < qm.nring) {
		struct qmgr_dest *d = qm.ring;

		if (!nfree && d->dead_until == 0 && !all_dead) {
			/* No slot: only dead destinations can move; look at each once. */
			qm.ring = d->rnext;
			passed++;
			continue;
		}
		if (qmgr_try_head(&d->q, nfree > 0)) {
			/* d's turn is over (a destination left the ring has moved it already). */
			if (d->in_ring && qm.ring == d)
				qm.ring = d->rnext;
			passed = 0;
			nfree = qmgr_free_count(QT_SMTP);
			all_dead = qmgr_all_dead(QT_SMTP);
		} else {
			qm.ring = d->rnext;
			passed++;
		}
	}
}

/*
 * The groups of m, just loaded: each that is first in its queue starts
 * at once when it can (the ones behind older groups wait their turn).
 */
static void
qmgr_assign_msg(struct qmgr_msg *m)
{
	size_t i;

	for (i = 0; i < m->ngrp; i++) {
		struct qmgr_group *g = &m->grp[i];
		/* The last open group may finish m (and free it) at once. */
		int last = m->open == 1;

		if (g->q->head == g && qmgr_try_head(g->q, qmgr_free_count(g->tr) > 0) && last)
			return;
	}
}

/*
 * Loads messages and hands out their groups while there is room: some
 * slot is free and fewer than QMGR_WAIT_MAX groups wait. A message whose
 * every destination has QMGR_DEST_WAIT_MAX groups waiting is parked at
 * one of them (qmgr_load) and comes back when that one has room, before
 * the run queue; so a backlog for one destination never stops the
 * loading of mail for the others.
 */
static void
qmgr_dispatch(void)
{
	size_t loaded;

	qm.more_load = 0;
	qmgr_assign();
	for (loaded = 0;; loaded++) {
		char id[QID_LEN + 1];
		struct qmgr_msg *m;
		int force = 0;

		if (!qmgr_any_free_slot() || qm.nwait >= QMGR_WAIT_MAX)
			return;
		/* A long run queue (mostly parked) does not keep the answers waiting. */
		if (loaded >= QMGR_LOAD_BURST) {
			qm.more_load = 1;
			return;
		}
		if (qmgr_idq_len(&qm.unpark) > 0) {
			qmgr_idq_pop(&qm.unpark, id);
			force = 1;
		} else {
			if (qmgr_idq_len(&qm.runq) == 0) {
				if (qm.more_incoming)
					qmgr_scan(QDIR_INCOMING, 0);
				else if (qm.more_deferred)
					qmgr_scan(QDIR_DEFERRED, qm.more_deferred_all);
				if (qmgr_idq_len(&qm.runq) == 0)
					return;
			}
			qmgr_idq_pop(&qm.runq, id);
		}
		m = qmgr_load(id, force);
		if (m != NULL)
			qmgr_assign_msg(m);
	}
}

/*
 * Ends lines to the smtp service idle for longer than
 * smtp_connection_cache_time_limit; revives dead destinations whose time
 * is over.
 */
static void
qmgr_slots_expire(void)
{
	double limit = (double)conf_time("smtp_connection_cache_time_limit");
	struct timeval now;
	size_t i;

	gettimeofday(&now, NULL);
	for (i = 0; i < qm.nslot; i++) {
		struct qmgr_slot *s = &qm.slot[i];

		if (s->grp == NULL && !s->persistent && s->fd >= 0
		    && qmgr_tv_diff(&now, &s->idle_since) >= limit)
			qmgr_slot_close(s);
	}
	qmgr_dest_expire(0);
}

/* Waits up to ms for answers or a trigger; returns the trigger bytes seen. */
static void
qmgr_wait(int ms, int *wake, int *flush)
{
	struct pollfd *p = xcalloc(qm.nslot + 1, sizeof(*p));
	struct qmgr_slot **who = xcalloc(qm.nslot + 1, sizeof(*who));
	size_t i, n = 0;

	if (qm.trigger_fd >= 0 && !qmgr_stop) {
		p[n].fd = qm.trigger_fd;
		p[n].events = POLLIN;
		who[n++] = NULL;
	}
	for (i = 0; i < qm.nslot; i++) {
		/* Idle kept lines too: a process that ends one is noticed. */
		if ((qm.slot[i].grp || !qm.slot[i].persistent) && qm.slot[i].fd >= 0) {
			p[n].fd = qm.slot[i].fd;
			p[n].events = POLLIN;
			who[n++] = &qm.slot[i];
		}
	}
	if (poll(p, n, ms) > 0) {
		for (i = 0; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (who[i] == NULL) {
				char buf[QMGR_TRIGGER_DRAIN];
				ssize_t r, k;

				while ((r = recv(qm.trigger_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
					for (k = 0; k < r; k++)
						*(buf[k] == 'F' ? flush : wake) = 1;
			} else if (who[i]->fd >= 0) {
				qmgr_slot_input(who[i]);
			}
		}
	}
	free(p);
	free(who);
	qmgr_slots_expire();
}

/* ---- setup shared by the daemon and the foreground run ---- */

/* nlocal slots for local delivery, then nsmtp for the SMTP client. */
static void
qmgr_slots_init(size_t nlocal, size_t nsmtp)
{
	size_t i;

	qm.nslot = nlocal + nsmtp;
	qm.slot = xcalloc(qm.nslot, sizeof(*qm.slot));
	for (i = 0; i < qm.nslot; i++) {
		qm.slot[i].tr = i < nlocal ? QT_LOCAL : QT_SMTP;
		qm.slot[i].fd = -1;
		pbuf_init(&qm.slot[i].in);
	}
}

static void
qmgr_slots_free(void)
{
	size_t i;

	for (i = 0; i < qm.nslot; i++) {
		if (qm.slot[i].fd >= 0)
			close(qm.slot[i].fd);
		pbuf_free(&qm.slot[i].in);
		free(qm.slot[i].last);
		free(qm.slot[i].fail_text);
	}
	free(qm.slot);
	qm.slot = NULL;
	qm.nslot = 0;
	qmgr_idq_free(&qm.runq);
	qmgr_idq_free(&qm.unpark);
	qmgr_idq_free(&qm.localq.parked);
	/* What was parked stays in active/ for the next run. */
	for (i = 0; i < QMGR_DEST_BUCKETS; i++) {
		struct qmgr_dest *d = qmgr_dests[i], *next;

		for (; d != NULL; d = next) {
			next = d->next;
			qmgr_idq_free(&d->q.parked);
			qmgr_dest_gc(d);
		}
	}
	qm.nparked = 0;
}

/*
 * Takes the active/ lock: the one queue manager that owns active/.
 * wait: block until it is free. Returns 1 when held, 0 when not.
 */
static int
qmgr_lock_active(int wait)
{
	char *dir = xasprintf("%s/%s", qm.qdir, QDIR_ACTIVE);

	qm.lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qm.lock_fd < 0) {
		log_warn("open %s: %m", dir);
		free(dir);
		return 0;
	}
	free(dir);
	if (flock(qm.lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	if (!wait || errno != EWOULDBLOCK)
		return 0;
	log_info("another queue manager is running (sendmail -q?): waiting for it");
	while (flock(qm.lock_fd, LOCK_EX) < 0)
		if (errno != EINTR || qmgr_stop)
			return 0;
	return 1;
}

static void
qmgr_unlock_active(void)
{
	if (qm.lock_fd >= 0)
		close(qm.lock_fd);
	qm.lock_fd = -1;
}

static void
qmgr_remove_stale(void)
{
	queue_remove_stale(qm.qdir, QDIR_INCOMING, QUEUE_STALE_TEMP_SECONDS);
	queue_remove_stale(qm.qdir, QDIR_DEFER, QUEUE_STALE_TEMP_SECONDS);
}

/* ---- the daemon ---- */

void
qmgr_set_trigger_fd(int fd)
{
	qmgr_preset_trigger = fd;
}

/* Binds public/qmgr when the master did not hand one over. */
static int
qmgr_bind_trigger(void)
{
	struct sockaddr_un sun;
	int fd;

	if (instance_sockaddr(QMGR_TRIGGER_SOCKET, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	(void)unlink(sun.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0
	    || chmod(sun.sun_path, QMGR_TRIGGER_MODE) < 0) {
		log_warn("cannot bind %s: %m; scanning every queue_run_delay only", sun.sun_path);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	return fd;
}

int
qmgr_loop(void)
{
	struct sigaction sa;
	time_t next_scan;
	long long delay;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_on_term;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	qm.qdir = conf_str("queue_directory");
	qm.foreground = 0;
	qm.trigger_fd = qmgr_preset_trigger >= 0 ? qmgr_preset_trigger : qmgr_bind_trigger();
	if (!qmgr_lock_active(1))
		return qmgr_stop ? 0 : 1;
	qm.own_active = 1;
	qmgr_slots_init(localsvc_workers("local"), localsvc_workers("smtp"));
	qmgr_remove_stale();
	qmgr_scan(QDIR_ACTIVE, 1);
	qmgr_scan(QDIR_INCOMING, 0);
	qmgr_scan(QDIR_DEFERRED, 0);
	delay = conf_time("queue_run_delay");
	if (delay < 1)
		delay = 1;
	next_scan = time(NULL) + (time_t)delay;
	while (!qmgr_stop || qmgr_inflight() > 0) {
		int wake = 0, flush = 0;

		/* Stopping: what was loaded still goes out; nothing new is loaded. */
		if (!qmgr_stop)
			qmgr_dispatch();
		else
			qmgr_assign();
		/* A notice just queued goes out now, not after the poll timeout. */
		qmgr_wait((qm.new_incoming || qm.more_load) && !qmgr_stop ? 0 : QMGR_POLL_MS,
		    &wake, &flush);
		if (instance_parent_gone())
			qmgr_stop = 1;
		if (qmgr_stop)
			continue;
		if (wake || flush || qm.new_incoming) {
			qm.new_incoming = 0;
			qmgr_scan(QDIR_INCOMING, 0);
		}
		if (flush) {
			log_info("flush: retrying all deferred mail");
			qmgr_dest_expire(1);
			qmgr_scan(QDIR_DEFERRED, 1);
		}
		if (time(NULL) >= next_scan) {
			qmgr_remove_stale();
			qmgr_scan(QDIR_INCOMING, 0);
			qmgr_scan(QDIR_DEFERRED, 0);
			next_scan = time(NULL) + (time_t)delay;
		}
	}
	qmgr_slots_free();
	qmgr_unlock_active();
	return 0;
}

/* ---- the foreground run ---- */

/*
 * Forks the delivery processes (still root); each serves one socketpair.
 * Local ones keep root (they become each recipient), SMTP ones drop to
 * mail_owner at once.
 */
static void
qmgr_fg_fork(void)
{
	size_t i, j;

	for (i = 0; i < qm.nslot; i++) {
		int sv[2];
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			log_warn("socketpair: %m");
			qm.slot[i].dead = 1;
			continue;
		}
		pid = fork();
		if (pid < 0) {
			log_warn("fork: %m");
			close(sv[0]);
			close(sv[1]);
			qm.slot[i].dead = 1;
			continue;
		}
		if (pid == 0) {
			close(sv[0]);
			for (j = 0; j < i; j++)
				if (qm.slot[j].fd >= 0)
					close(qm.slot[j].fd);
			signal(SIGPIPE, SIG_IGN);
			log_init(qmgr_tr_name[qm.slot[i].tr]);
			if (qm.slot[i].tr == QT_SMTP) {
				smtp_sasl_preopen();
				smtp_tls_policy_preopen();
				instance_drop_privileges();
				localsvc_set_idle(smtp_deliver_idle);
				_exit(localsvc_serve(sv[1], smtp_deliver_agent) < 0 ? 1 : 0);
			}
			_exit(localsvc_serve(sv[1], localsvc_local_agent) < 0 ? 1 : 0);
		}
		close(sv[1]);
		qm.slot[i].fd = sv[0];
		qm.slot[i].persistent = 1;
		qm.slot[i].pid = pid;
	}
}

static void
qmgr_fg_reap(void)
{
	size_t i;

	for (i = 0; i < qm.nslot; i++) {
		if (qm.slot[i].fd >= 0)
			close(qm.slot[i].fd);
		qm.slot[i].fd = -1;
	}
	for (i = 0; i < qm.nslot; i++)
		if (qm.slot[i].pid > 0)
			while (waitpid(qm.slot[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
}

int
qmgr_run_once(int flush)
{
	size_t nsmtp;
	int rounds = 0;

	queue_set_envelope_hook(virtual_expand);
	qm.qdir = conf_str("queue_directory");
	qm.foreground = 1;
	qm.trigger_fd = -1;
	signal(SIGPIPE, SIG_IGN);
	/* A cron job's output is mailed: say only what went wrong. */
	log_stderr_quiet(1);
	nsmtp = localsvc_workers("smtp");
	if (nsmtp > QMGR_FG_SMTP_MAX)
		nsmtp = QMGR_FG_SMTP_MAX;
	qmgr_slots_init(localsvc_workers("local"), nsmtp);
	qmgr_fg_fork();
	instance_drop_privileges();

	log_init("pickup");
	pickup_scan_maildrop();
	log_init("qmgr");
	qm.own_active = qmgr_lock_active(0);
	qmgr_remove_stale();
	if (qm.own_active)
		qmgr_scan(QDIR_ACTIVE, 1);
	qmgr_scan(QDIR_INCOMING, 0);
	qmgr_scan(QDIR_DEFERRED, flush);
	for (;;) {
		int wake = 0, fl = 0;

		qmgr_dispatch();
		if (qmgr_inflight() == 0 && qmgr_runq_len() == 0) {
			/* Notices and forwards written during the run go out in it too. */
			if (++rounds > QMGR_FG_ROUNDS_MAX)
				break;
			qm.new_incoming = 0;
			qmgr_scan(QDIR_INCOMING, 0);
			if (qmgr_runq_len() == 0)
				break;
			continue;
		}
		qmgr_wait(qm.more_load ? 0 : QMGR_POLL_MS, &wake, &fl);
	}
	qmgr_fg_reap();
	qmgr_slots_free();
	qmgr_unlock_active();
	return 0;
}

/* ---- wake-ups ---- */

int
qmgr_trigger(char what)
{
	struct sockaddr_un sun;
	int fd, rc = -1, saved;

	if (instance_sockaddr(QMGR_TRIGGER_SOCKET, &sun) == 0) {
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			rc = sendto(fd, &what, 1, MSG_DONTWAIT, (struct sockaddr *)&sun,
			    sizeof(sun)) == 1 ? 0 : -1;
			saved = errno;
			close(fd);
			errno = saved;
		}
	}
	/* A full trigger buffer means a wake-up is pending anyway. */
	if (rc < 0 && errno == EAGAIN)
		rc = 0;
	return rc;
}

void
qmgr_wake(char what)
{
	(void)qmgr_trigger(what);
}
