/*
 * localsvc - the delivery services (local and smtp) and their client;
 * see localsvc.h for the protocol.
 *
 * Server: localsvc_loop() (the master's "local" role as root, its "smtp"
 * role as mail_owner) and localsvc_serve() (one connection; also the body
 * of the children of a foreground queue run). Each reads the request and
 * the queue file, checks the indexes and hands the rest to its agent:
 * localsvc_local_agent() (here) or smtp_deliver_agent() (smtp_deliver.c),
 * which answer with localsvc_answer(). Client: localsvc_connect(),
 * localsvc_send(), localsvc_parse() (the queue manager, mail_owner).
 *
 * Before each request the local agent calls aliases_check_fresh() (as
 * root: it may rebuild a missing or stale aliases.db, DESIGN.md).
 *
 * Errors: a malformed request gets "error TEXT" and the connection is
 * closed; a queue file that cannot be read defers every recipient asked
 * for (status 4, 4.3.0) with the reason; a client that went away stops the
 * request at once (what was not answered is tried again later anyway).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "conf.h"
#include "fileio.h"
#include "inet.h"
#include "instance.h"
#include "local.h"
#include "localsvc.h"
#include "log.h"
#include "pbuf.h"
#include "qfile.h"
#include "queue.h"
#include "xalloc.h"

#define LOCALSVC_POLL_MS	1000
#define LOCALSVC_READ_CHUNK	4096
#define LOCALSVC_INDEX_MAX	1000000000UL

static volatile sig_atomic_t localsvc_stop;
static int (*localsvc_idle_check)(void);
static void (*localsvc_idle)(int final);
static long long localsvc_max_idle;	/* seconds; 0: no limit */

void
localsvc_set_idle_check(int (*check)(void))
{
	localsvc_idle_check = check;
}

void
localsvc_set_idle(void (*idle)(int final))
{
	localsvc_idle = idle;
}

void
localsvc_set_max_idle(long long seconds)
{
	localsvc_max_idle = seconds;
}

static void
localsvc_on_term(int sig)
{
	localsvc_stop = 1;
}

struct localsvc_conn {
	int fd;
	struct pbuf in;
};

/*
 * Reads one line (LF removed) into line. Returns 1 for a line, 0 at EOF
 * (or when told to stop between requests), -1 on an error, a partial
 * line at EOF or an over-long line.
 */
static int
localsvc_getline(struct localsvc_conn *c, struct pbuf *line)
{
	char buf[LOCALSVC_READ_CHUNK];

	for (;;) {
		char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
		struct pollfd p = { c->fd, POLLIN, 0 };
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - c->in.data), rest = c->in.len - len - 1;

			pbuf_reset(line);
			pbuf_append(line, c->in.data, len);
			memmove(c->in.data, nl + 1, rest);
			pbuf_truncate(&c->in, rest);
			return 1;
		}
		if (c->in.len > LOCALSVC_LINE_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		if (localsvc_stop && c->in.len == 0)
			return 0;
		n = poll(&p, 1, LOCALSVC_POLL_MS);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n == 0 && c->in.len == 0 && localsvc_idle != NULL)
			localsvc_idle(0);
		if (n <= 0)
			continue;
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			if (c->in.len == 0)
				return 0;
			errno = EPROTO;
			return -1;
		}
		pbuf_append(&c->in, buf, (size_t)n);
	}
}

/* A DSN code fit for the wire: "d.d.d" with no space, else the class default. */
static const char *
localsvc_dsn(const char *dsn, int status)
{
	size_t i;

	if (dsn == NULL || dsn[0] == '\0' || strlen(dsn) >= LOCALSVC_DSN_MAX)
		goto def;
	for (i = 0; dsn[i]; i++)
		if (!((dsn[i] >= '0' && dsn[i] <= '9') || dsn[i] == '.'))
			goto def;
	return dsn;
def:
	return status == LOCAL_SENT || status == LOCALSVC_RELAYED ? "2.0.0"
	    : status == LOCAL_DEFER ? "4.0.0" : "5.0.0";
}

static int
localsvc_reply(int fd, size_t idx, int status, const char *dsn, const char *mta,
    const char *text)
{
	struct pbuf b = PBUF_INIT;
	const char *p;
	int rc;

	if (status != LOCAL_SENT && status != LOCALSVC_RELAYED && status != LOCAL_DEFER
	    && status != LOCAL_BOUNCE) {
		status = LOCAL_DEFER;
		dsn = "4.3.0";
	}
	pbuf_printf(&b, "%zu %d %s ", idx, status, localsvc_dsn(dsn, status));
	if (mta == NULL || *mta == '\0' || strlen(mta) >= LOCALSVC_MTA_MAX
	    || strpbrk(mta, " \t\r\n") != NULL)
		mta = "-";
	pbuf_printf(&b, "%s ", mta);
	for (p = text; *p && b.len < LOCALSVC_LINE_MAX - 1; p++) {
		unsigned char ch = (unsigned char)*p;

		pbuf_putc(&b, ch < 0x20 || ch == 0x7f ? ' ' : ch);
	}
	pbuf_putc(&b, '\n');
	rc = fileio_write_all(fd, b.data, b.len);
	pbuf_free(&b);
	return rc;
}

void
localsvc_answer(struct localsvc_job *job, size_t idx, int status, const char *dsn,
    const char *mta, const char *text)
{
	if (idx >= job->env->nrcpt || job->answered[idx])
		return;
	job->answered[idx] = 1;
	if (job->rc == 0 && localsvc_reply(job->fd, idx, status, dsn, mta, text ? text : "") < 0)
		job->rc = -1;
}

void
localsvc_local_agent(struct localsvc_job *job)
{
	size_t i;

	/* DESIGN.md: a missing or stale aliases.db is rebuilt before local delivery. */
	(void)aliases_check_fresh();
	for (i = 0; i < job->n && job->rc == 0; i++) {
		struct local_result res;

		memset(&res, 0, sizeof(res));
		res.status = LOCAL_DEFER;
		local_deliver(job->env, job->content, job->len, &job->env->rcpt[job->idx[i]], &res);
		res.dsn[sizeof(res.dsn) - 1] = '\0';
		res.text[sizeof(res.text) - 1] = '\0';
		localsvc_answer(job, job->idx[i], (int)res.status, res.dsn, NULL, res.text);
	}
}

/* The smtp service's process limit: master.cf's "smtp unix" maxproc, else default_process_limit. */
static long long
localsvc_smtp_maxproc(void)
{
	struct inet_services svcs;
	char err[512];
	char *path = xasprintf("%s/%s", conf_dir(), INET_MASTER_CF);
	long long n = conf_int("default_process_limit");

	/* A broken master.cf is the master's to report; the default applies here. */
	if (inet_load(path, &svcs, err, sizeof(err)) == 0) {
		long mp = inet_unix_maxproc(&svcs, LOCALSVC_SMTP_SERVICE);

		if (mp >= 0)
			n = mp;
		inet_free(&svcs);
	}
	free(path);
	return n;
}

size_t
localsvc_workers(const char *service)
{
	long long n;

	if (strcmp(service, LOCALSVC_SMTP_SERVICE) == 0) {
		n = localsvc_smtp_maxproc();
		if (n == 0)	/* maxproc 0: no limit */
			n = LOCALSVC_WORKERS_MAX;
	} else {
		long long pl = conf_int("default_process_limit");

		n = conf_int("local_destination_concurrency_limit");
		if (pl > 0 && n > pl)
			n = pl;
	}
	if (n < 1)
		n = 1;
	if (n > LOCALSVC_WORKERS_MAX)
		n = LOCALSVC_WORKERS_MAX;
	return (size_t)n;
}

static int
localsvc_refuse(int fd, const char *why)
{
	char line[LOCALSVC_TEXT_MAX];
	int n = snprintf(line, sizeof(line), "error %s\n", why);

	log_warn("local service: refused request: %s", why);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)fileio_write_all(fd, line, (size_t)n);
	return -1;
}

/* Parses "deliver ID SUBDIR [nexthop=H] IDX..."; fills the fields; NULL or the complaint. */
static const char *
localsvc_parse_request(char *line, char **id, char **subdir, char **nexthop, size_t *idx,
    size_t *n)
{
	char *save = NULL, *tok;

	tok = strtok_r(line, " ", &save);
	if (tok == NULL || strcmp(tok, "deliver") != 0)
		return "unknown request";
	*id = strtok_r(NULL, " ", &save);
	*subdir = strtok_r(NULL, " ", &save);
	if (*id == NULL || !queue_id_valid(*id))
		return "bad queue ID";
	if (*subdir == NULL || strcmp(*subdir, QDIR_ACTIVE) != 0)
		return "bad queue directory";
	*n = 0;
	*nexthop = NULL;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		if (*n == 0 && *nexthop == NULL
		    && strncmp(tok, LOCALSVC_NEXTHOP_KEY, sizeof(LOCALSVC_NEXTHOP_KEY) - 1) == 0) {
			*nexthop = tok + sizeof(LOCALSVC_NEXTHOP_KEY) - 1;
			if (**nexthop == '\0' || strlen(*nexthop) > LOCALSVC_NEXTHOP_MAX)
				return "bad nexthop";
			continue;
		}
		unsigned long v;
		char *end;

		if (*n >= LOCALSVC_MAX_RCPTS)
			return "too many recipients";
		if (tok[0] < '0' || tok[0] > '9')
			return "bad recipient index";
		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno || *end || v >= LOCALSVC_INDEX_MAX)
			return "bad recipient index";
		idx[(*n)++] = (size_t)v;
	}
	return *n ? NULL : "no recipient index";
}

/* One request; 0 when done, -1 when the connection must end. */
static int
localsvc_request(int fd, char *line, localsvc_agent agent)
{
	static size_t idx[LOCALSVC_MAX_RCPTS], todo[LOCALSVC_MAX_RCPTS];
	const char *qdir = conf_str("queue_directory");
	const char *why;
	char *id = NULL, *subdir = NULL, *nexthop = NULL;
	char err[LOCALSVC_TEXT_MAX];
	struct pbuf content = PBUF_INIT;
	struct localsvc_job job;
	struct qenv env;
	size_t n = 0, i, ntodo = 0;
	int rc = 0;

	why = localsvc_parse_request(line, &id, &subdir, &nexthop, idx, &n);
	if (why != NULL)
		return localsvc_refuse(fd, why);
	if (queue_read(qdir, subdir, id, &env, &content, err, sizeof(err)) != QFILE_OK) {
		char text[LOCALSVC_TEXT_MAX + 32];

		log_warn("%s: cannot read the queue file: %s", id, err);
		snprintf(text, sizeof(text), "cannot read the queue file: %s", err);
		for (i = 0; i < n && rc == 0; i++)
			rc = localsvc_reply(fd, idx[i], LOCAL_DEFER, "4.3.0", NULL, text);
		goto end;
	}
	memset(&job, 0, sizeof(job));
	job.fd = fd;
	job.id = id;
	job.nexthop = nexthop;
	job.env = &env;
	job.content = content.data ? content.data : "";
	job.len = content.len;
	job.answered = xcalloc(env.nrcpt + 1, 1);
	for (i = 0; i < n; i++) {
		if (idx[i] >= env.nrcpt) {
			if (rc == 0)
				rc = localsvc_reply(fd, idx[i], LOCAL_DEFER, "4.3.0", NULL,
				    "no such recipient in the queue file");
		} else if (job.answered[idx[i]]) {
			continue;	/* asked twice: answered once */
		} else if (env.rcpt[idx[i]].state != QR_TODO) {
			localsvc_answer(&job, idx[i], LOCAL_SENT, "2.0.0", NULL,
			    "recipient was already done");
		} else {
			todo[ntodo++] = idx[i];
			job.answered[idx[i]] = 2;	/* handed to the agent */
		}
	}
	for (i = 0; i < ntodo; i++)
		job.answered[todo[i]] = 0;
	job.idx = todo;
	job.n = ntodo;
	job.rc = rc;
	if (ntodo > 0 && rc == 0)
		agent(&job);
	for (i = 0; i < ntodo; i++)
		localsvc_answer(&job, todo[i], LOCAL_DEFER, "4.3.0", NULL,
		    "the delivery agent gave no answer");
	rc = job.rc;
	free(job.answered);
	qenv_free(&env);
end:
	pbuf_free(&content);
	if (rc == 0)
		rc = fileio_write_all(fd, "end\n", sizeof("end\n") - 1);
	return rc < 0 ? -1 : 0;
}

int
localsvc_serve(int fd, localsvc_agent agent)
{
	struct localsvc_conn c = { fd, PBUF_INIT };
	struct pbuf line = PBUF_INIT;
	int rc;

	while ((rc = localsvc_getline(&c, &line)) > 0) {
		if (localsvc_request(fd, line.data, agent) < 0) {
			rc = -1;
			break;
		}
		if (localsvc_stop)
			break;
	}
	if (rc < 0 && errno == EMSGSIZE)
		(void)localsvc_refuse(fd, "request line too long");
	if (localsvc_idle != NULL)
		localsvc_idle(1);
	pbuf_free(&line);
	pbuf_free(&c.in);
	return rc < 0 ? -1 : 0;
}

int
localsvc_loop(int listen_fd, long max_use, localsvc_agent agent)
{
	struct sigaction sa;
	struct timespec last;
	long served = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = localsvc_on_term;
	/* Local delivery's own waits go on; poll() still returns to look at the flag. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!localsvc_stop && !instance_parent_gone() && (max_use <= 0 || served < max_use)) {
		struct pollfd p = { listen_fd, POLLIN, 0 };
		struct timespec now;
		int fd, n;

		if (localsvc_idle_check != NULL && localsvc_idle_check())
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (localsvc_max_idle > 0 && (long long)(now.tv_sec - last.tv_sec) >= localsvc_max_idle)
			break;
		n = poll(&p, 1, LOCALSVC_POLL_MS);
		if (n < 0 && errno != EINTR)
			log_fatal("poll: %m");
		if (n <= 0 || !(p.revents & POLLIN))
			continue;
		/* Another worker may have taken it first: the listener is non-blocking. */
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		(void)localsvc_serve(fd, agent);
		close(fd);
		served++;
		clock_gettime(CLOCK_MONOTONIC, &last);
		/* Deliveries switched effective ids, which cleared the watch. */
		instance_rearm_parent_watch();
	}
	return 0;
}

/* ---- client ---- */

int
localsvc_connect(const char *socket)
{
	return instance_connect(socket);
}

int
localsvc_send(int fd, const char *id, const char *subdir, const char *nexthop,
    const size_t *index, size_t n)
{
	struct pbuf b = PBUF_INIT;
	size_t i;
	int rc;

	if (n == 0 || n > LOCALSVC_MAX_RCPTS) {
		errno = EINVAL;
		return -1;
	}
	if (nexthop != NULL && (*nexthop == '\0' || strlen(nexthop) > LOCALSVC_NEXTHOP_MAX
	    || strpbrk(nexthop, " \t\r\n") != NULL)) {
		pbuf_free(&b);
		errno = EINVAL;
		return -1;
	}
	pbuf_printf(&b, "deliver %s %s", id, subdir);
	if (nexthop != NULL)
		pbuf_printf(&b, " %s%s", LOCALSVC_NEXTHOP_KEY, nexthop);
	for (i = 0; i < n; i++)
		pbuf_printf(&b, " %zu", index[i]);
	pbuf_putc(&b, '\n');
	if (b.len > LOCALSVC_LINE_MAX) {
		pbuf_free(&b);
		errno = EMSGSIZE;
		return -1;
	}
	rc = fileio_write_all(fd, b.data, b.len);
	pbuf_free(&b);
	return rc;
}

enum localsvc_line
localsvc_parse(const char *line, struct localsvc_reply *r)
{
	const char *p = line, *dsn;
	unsigned long v;
	char *end;
	size_t dlen;

	memset(r, 0, sizeof(*r));
	if (strcmp(line, "end") == 0)
		return LOCALSVC_END;
	if (strncmp(line, "error ", sizeof("error ") - 1) == 0) {
		snprintf(r->text, sizeof(r->text), "%s", line + sizeof("error ") - 1);
		return LOCALSVC_ERROR;
	}
	if (*p < '0' || *p > '9')
		return LOCALSVC_BAD;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || *end != ' ' || v >= LOCALSVC_INDEX_MAX)
		return LOCALSVC_BAD;
	r->index = (size_t)v;
	p = end + 1;
	if ((p[0] != '0' && p[0] != LOCALSVC_RELAYED_CHAR && p[0] != '4' && p[0] != '5')
	    || p[1] != ' ')
		return LOCALSVC_BAD;
	r->status = p[0] - '0';
	dsn = p + 2;
	dlen = strcspn(dsn, " ");
	if (dlen == 0 || dlen >= sizeof(r->dsn))
		return LOCALSVC_BAD;
	memcpy(r->dsn, dsn, dlen);
	r->dsn[dlen] = '\0';
	p = dsn + dlen;
	if (*p++ != ' ')
		return LOCALSVC_BAD;
	dlen = strcspn(p, " ");
	if (dlen == 0 || dlen >= sizeof(r->mta))
		return LOCALSVC_BAD;
	if (!(dlen == 1 && *p == '-')) {
		memcpy(r->mta, p, dlen);
		r->mta[dlen] = '\0';
	}
	p += dlen;
	if (*p == ' ')
		p++;
	snprintf(r->text, sizeof(r->text), "%s", p);
	return LOCALSVC_REPLY;
}
