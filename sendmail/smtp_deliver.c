/*
 * smtp_deliver - the "smtp" delivery agent; see smtp_deliver.h.
 *
 * Runs in the master's "smtp" workers (as mail_owner) or in a child of a
 * foreground queue run. It never changes the queue file: it answers the
 * queue manager per recipient (localsvc_answer) and logs.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "conf.h"
#include "dns.h"
#include "log.h"
#include "generic.h"
#include "mime_qp.h"
#include "pbuf.h"
#include "resolve.h"
#include "smtp_client.h"
#include "smtp_deliver.h"
#include "smtp_sasl.h"
#include "smtp_tls.h"
#include "xalloc.h"

#define SMTP_PORT_MAX	65535
#define SMTP_DELIVER_TLS_WHY_MAX	2048	/* a TLS policy's reason, map and key named */
#define SMTP_RELAY_MAX	(SMTP_IO_NAME_MAX + 16)	/* "name[addr]:port" as logged */
#define SMTP_LMTP_PORT	24	/* when lmtp_tcp_port is out of range */
#define SMTP_PARAM_MAX	64	/* "lmtp_connection_cache_time_limit" and the like */
/* lmtp_connect_timeout = 0 (Postfix's default): the system's own limit, about this long. */
#define SMTP_CONNECT_SYSTEM_LIMIT	130

/*
 * The connection cache: one session per process, kept after a
 * transaction for the next request to the same nexthop (see
 * smtp_deliver.h). Postfix's smtp_connection_cache_time_limit and
 * smtp_connection_reuse_time_limit bound it.
 */
static struct {
	int open;
	struct smtp_client c;
	char nexthop[LOCALSVC_NEXTHOP_MAX + 1];
	char relay[SMTP_RELAY_MAX];	/* as logged: "name[addr]:port" */
	char mta[SMTP_IO_NAME_MAX];
	struct timeval born, used;
	unsigned long uses;			/* transactions so far */
} smtp_cache;

/* Parameter "smtp_NAME", or "lmtp_NAME" for an LMTP session: its time in seconds. */
static long long
smtp_ptime(int lmtp, const char *name)
{
	char param[SMTP_PARAM_MAX];

	snprintf(param, sizeof(param), "%s_%s", lmtp ? "lmtp" : "smtp", name);
	return conf_time(param);
}

int
smtp_nexthop_parse(const char *s, struct smtp_nexthop *nh, char *why, size_t whylen)
{
	const char *host = s, *end, *colon;
	size_t hl;

	memset(nh, 0, sizeof(*nh));
	nh->port = SMTP_DELIVER_PORT;
	if (*s == '[') {
		host = s + 1;
		end = strchr(host, ']');
		if (end == NULL) {
			snprintf(why, whylen, "bad nexthop \"%s\": no closing bracket", s);
			return -1;
		}
		nh->no_mx = 1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			snprintf(why, whylen, "bad nexthop \"%s\": text after the bracket", s);
			return -1;
		}
		if (strncasecmp(host, "ipv6:", 5) == 0)
			host += 5;
	} else {
		colon = strrchr(s, ':');
		end = colon ? colon : s + strlen(s);
	}
	hl = (size_t)(end - host);
	if (hl == 0 || hl >= sizeof(nh->host)) {
		snprintf(why, whylen, "bad nexthop \"%s\": empty or over-long host", s);
		return -1;
	}
	memcpy(nh->host, host, hl);
	nh->host[hl] = '\0';
	if (colon != NULL) {
		char *e;
		unsigned long p = strtoul(colon + 1, &e, 10);

		if (strcmp(colon + 1, "smtp") == 0)
			p = SMTP_DELIVER_PORT;
		else if (colon[1] < '0' || colon[1] > '9' || *e || p == 0 || p > SMTP_PORT_MAX) {
			snprintf(why, whylen, "bad nexthop \"%s\": bad port", s);
			return -1;
		}
		nh->port = (unsigned)p;
	}
	return 0;
}

static double
smtp_elapsed(const struct timeval *from, const struct timeval *to)
{
	double d = (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_usec - from->tv_usec) / 1e6;

	return d < 0 ? 0 : d;
}

struct smtp_run {
	struct localsvc_job *job;
	struct smtp_nexthop nh;
	struct timeval got, connected;
	char relay[SMTP_RELAY_MAX];	/* "name[addr]:port" or "none" */
	char mta[SMTP_IO_NAME_MAX];		/* "name[addr]" of the server that answered */
	int dsn_offered;			/* that server offered DSN */
	struct smtp_tls_policy tls;		/* the nexthop's TLS policy */
	unsigned long conn_use;			/* 2 and up: a cached session's Nth transaction */
	int lmtp;				/* an "lmtp:" nexthop: LMTP, no TLS, no AUTH */
};

/*
 * smtp_deliver_direct(): where the results go instead of the log and the
 * queue manager (NULL: a normal request).
 */
static struct {
	struct smtp_result *res;
	char *mta;
	size_t mtalen;
} smtp_direct;

/* Logs and answers recipient idx with r. */
static void
smtp_settle(struct smtp_run *run, size_t idx, const struct smtp_result *r)
{
	struct localsvc_job *job = run->job;
	const char *status = r->status == 0 ? "sent" : r->status == 4 ? "deferred" : "bounced";
	struct pbuf line = PBUF_INIT, text = PBUF_INIT;
	struct timeval now;
	int st = r->status;
	char dsn[SMTP_REPLY_DSN_MAX];

	if (smtp_direct.res != NULL) {
		size_t k;

		for (k = 0; k < job->n; k++)
			if (job->idx[k] == idx)
				smtp_result_set(&smtp_direct.res[k], r->status, r->dsn,
				    r->text ? r->text : "", r->remote, r->cmd);
		snprintf(smtp_direct.mta, smtp_direct.mtalen, "%s", run->mta);
		return;
	}
	snprintf(dsn, sizeof(dsn), "%s", r->dsn);
	if (st == 5 && conf_bool("soft_bounce")) {
		st = 4;
		dsn[0] = '4';
		status = "SOFTBOUNCE";
	}
	gettimeofday(&now, NULL);
	if (r->remote && r->status != 0) {
		pbuf_printf(&text, "host %s said: %s", run->mta, r->text);
		if (r->cmd)
			pbuf_printf(&text, " (in reply to %s command)", r->cmd);
	} else {
		pbuf_puts(&text, r->text ? r->text : "");
	}
	pbuf_printf(&line, "%s: to=<%s>, relay=%s, ", job->id, job->env->rcpt[idx].addr,
	    run->relay);
	if (run->conn_use > 1)
		pbuf_printf(&line, "conn_use=%lu, ", run->conn_use);
	pbuf_puts(&line, "delay=");
	log_fmt_delay(&line, smtp_elapsed(&job->env->arrival, &now));
	pbuf_puts(&line, ", delays=");
	log_fmt_delay(&line, smtp_elapsed(&job->env->arrival, &run->got));
	pbuf_puts(&line, "/0/");
	if (run->connected.tv_sec) {
		log_fmt_delay(&line, smtp_elapsed(&run->got, &run->connected));
		pbuf_puts(&line, "/");
		log_fmt_delay(&line, smtp_elapsed(&run->connected, &now));
	} else {
		log_fmt_delay(&line, smtp_elapsed(&run->got, &now));
		pbuf_puts(&line, "/0");
	}
	pbuf_printf(&line, ", dsn=%s, status=%s (%s)", dsn, status, pbuf_str(&text));
	log_info("%s", pbuf_str(&line));
	/* Sent to a DSN server: success notices are its business now (LOCALSVC_RELAYED). */
	localsvc_answer(job, idx, st == 0 && run->dsn_offered ? LOCALSVC_RELAYED : st, dsn,
	    r->remote ? run->mta : NULL, r->text);
	pbuf_free(&line);
	pbuf_free(&text);
}

/* Every recipient of the job gets r. */
static void
smtp_settle_all(struct smtp_run *run, const struct smtp_result *r)
{
	size_t i;

	for (i = 0; i < run->job->n; i++)
		smtp_settle(run, run->job->idx[i], r);
}

/* An address literal becomes its one address without DNS; 1 when it was one. */
static int
smtp_literal_addr(const char *host, struct dns_addr_list *l)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		l->v = xcalloc(1, sizeof(*l->v));
		memcpy(&l->v[0].sa, &sin, sizeof(sin));
		l->v[0].salen = sizeof(sin);
	} else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		l->v = xcalloc(1, sizeof(*l->v));
		memcpy(&l->v[0].sa, &sin6, sizeof(sin6));
		l->v[0].salen = sizeof(sin6);
	} else {
		return 0;
	}
	l->n = 1;
	/* An address that inet_pton took is far shorter than text. */
	memcpy(l->v[0].text, host, strnlen(host, sizeof(l->v[0].text) - 1));
	return 1;
}

static void
smtp_set_port(struct dns_addr *a, unsigned port)
{
	if (a->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port = htons((uint16_t)port);
	else if (a->sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons((uint16_t)port);
}

/* Closes the cached session, if any (QUIT first). */
static void
smtp_cache_drop(void)
{
	if (!smtp_cache.open)
		return;
	smtp_client_quit(&smtp_cache.c);
	smtp_cache.open = 0;
}

/*
 * A copy of env for the wire with smtp_generic_maps applied to the sender
 * and recipients: it shares everything with env but the strings in
 * *owned (nrcpt + 1 of them, the sender last) and its rcpt array.
 */
static int
smtp_generic_envelope(const struct qenv *env, struct qenv *out, char ***owned, char *why,
    size_t whylen)
{
	char **mine = xcalloc(env->nrcpt + 1, sizeof(*mine));
	size_t i;
	int rc = 0;

	*out = *env;
	out->rcpt = xcalloc(env->nrcpt ? env->nrcpt : 1, sizeof(*out->rcpt));
	for (i = 0; i < env->nrcpt && rc >= 0; i++) {
		out->rcpt[i] = env->rcpt[i];
		rc = generic_address(env->rcpt[i].addr, &mine[i], why, whylen);
		if (rc > 0)
			out->rcpt[i].addr = mine[i];
	}
	if (rc >= 0 && env->sender != NULL) {
		rc = generic_address(env->sender, &mine[env->nrcpt], why, whylen);
		if (rc > 0)
			out->sender = mine[env->nrcpt];
	}
	*owned = mine;
	return rc < 0 ? -1 : 0;
}

/*
 * One transaction on c, an open session (smtp_cache.born set): settles
 * every recipient of the job, then keeps the session in the cache when
 * it still works and caching is on, or ends it.
 */
static void
smtp_transact(struct smtp_run *run, struct smtp_client *c)
{
	struct localsvc_job *job = run->job;
	struct smtp_result *res = xcalloc(job->n, sizeof(*res));
	size_t i;

	struct pbuf conv = PBUF_INIT, gen = PBUF_INIT;
	const char *content = job->content;
	size_t len = job->len;
	struct qenv genv;
	char **owned = NULL;
	char why[SMTP_IO_WHY_MAX];
	const struct qenv *env = job->env;

	/* LMTP puts the mail in the mailbox: "delivered", whatever the server offers. */
	run->dsn_offered = !run->lmtp && (c->ext & SMTP_EXT_DSN) != 0;
	run->conn_use = ++smtp_cache.uses;
	for (i = 0; i < job->n; i++)
		res[i].status = SMTP_RESULT_NONE;
	if (!run->lmtp && generic_active()) {
		/* smtp_generic_maps: the envelope and the address headers as they leave. */
		if (smtp_generic_envelope(job->env, &genv, &owned, why, sizeof(why)) < 0
		    || generic_message(content, len, &gen, why, sizeof(why)) < 0) {
			char *text = xasprintf("smtp_generic_maps lookup error: %s", why);

			log_warn("%s: %s", job->id, text);
			for (i = 0; i < job->n; i++)
				smtp_result_set(&res[i], 4, "4.3.0", text, 0, NULL);
			free(text);
			goto settle;
		}
		env = &genv;
		content = gen.data ? gen.data : "";
		len = gen.len;
	}
	/* No 8BITMIME: parts declared 8bit go as quoted-printable (mime_qp.h). */
	if (!(c->ext & SMTP_EXT_8BITMIME) && !conf_bool("disable_mime_output_conversion")
	    && mime_qp_convert(content, len, &conv)) {
		content = conv.data;
		len = conv.len;
	}
	smtp_client_transaction(c, env, content, len, job->idx, job->n, res);
settle:
	pbuf_free(&conv);
	pbuf_free(&gen);
	if (owned != NULL) {
		for (i = 0; i <= job->env->nrcpt; i++)
			free(owned[i]);
		free(owned);
		free(genv.rcpt);
	}
	for (i = 0; i < job->n; i++) {
		if (res[i].status == SMTP_RESULT_NONE)
			smtp_result_set(&res[i], 4, "4.3.0", "no result for this recipient", 0, NULL);
		smtp_settle(run, job->idx[i], &res[i]);
		smtp_result_free(&res[i]);
	}
	free(res);
	if (c->broken || smtp_ptime(run->lmtp, "connection_cache_time_limit") <= 0
	    || !conf_bool(run->lmtp ? "lmtp_connection_cache_on_demand"
	    : "smtp_connection_cache_on_demand")
	    || strlen(job->nexthop) >= sizeof(smtp_cache.nexthop)) {
		smtp_client_quit(c);
		return;
	}
	if (c != &smtp_cache.c)
		smtp_cache.c = *c;
	smtp_cache.open = 1;
	snprintf(smtp_cache.nexthop, sizeof(smtp_cache.nexthop), "%s", job->nexthop);
	snprintf(smtp_cache.relay, sizeof(smtp_cache.relay), "%s", run->relay);
	snprintf(smtp_cache.mta, sizeof(smtp_cache.mta), "%s", run->mta);
	gettimeofday(&smtp_cache.used, NULL);
}

/*
 * The cached session for the job's nexthop, checked with RSET: 1 when
 * it carried the job, 0 when there is none fit (a cached session for
 * another nexthop, or past its time limits, is closed).
 */
static int
smtp_cache_use(struct smtp_run *run)
{
	struct timeval now;

	if (!smtp_cache.open)
		return 0;
	gettimeofday(&now, NULL);
	if (strcasecmp(smtp_cache.nexthop, run->job->nexthop) != 0
	    || smtp_elapsed(&smtp_cache.used, &now)
	    > (double)smtp_ptime(run->lmtp, "connection_cache_time_limit")
	    || smtp_elapsed(&smtp_cache.born, &now)
	    > (double)smtp_ptime(run->lmtp, "connection_reuse_time_limit")
	    || smtp_client_rset(&smtp_cache.c) < 0) {
		smtp_cache_drop();
		return 0;
	}
	smtp_cache.open = 0;		/* in use; smtp_transact puts it back */
	snprintf(run->relay, sizeof(run->relay), "%s", smtp_cache.relay);
	snprintf(run->mta, sizeof(run->mta), "%s", smtp_cache.mta);
	gettimeofday(&run->connected, NULL);
	smtp_transact(run, &smtp_cache.c);
	return 1;
}

void
smtp_deliver_idle(int final)
{
	struct timeval now;

	if (!smtp_cache.open)
		return;
	gettimeofday(&now, NULL);
	if (final || smtp_elapsed(&smtp_cache.used, &now)
	    > (double)smtp_ptime(smtp_cache.c.lmtp, "connection_cache_time_limit"))
		smtp_cache_drop();
}

/*
 * Tries one address: 1 when this server settled every recipient, 0 when
 * the next one should be tried (last holds why).
 */
static int
smtp_try_addr(struct smtp_run *run, const char *host, const char *addr_text,
    struct dns_addr *a, struct smtp_result *last)
{
	struct smtp_client c;
	char peer[SMTP_IO_NAME_MAX], why[SMTP_IO_WHY_MAX];
	struct localsvc_job *job = run->job;
	struct smtp_tls_policy none;
	long long tconn = smtp_ptime(run->lmtp, "connect_timeout");
	int plain = 0;

	smtp_tls_policy_init(&none);
	if (tconn <= 0)
		tconn = SMTP_CONNECT_SYSTEM_LIMIT;
again:
	memset(&c, 0, sizeof(c));
	c.lmtp = run->lmtp;
	snprintf(peer, sizeof(peer), "%s[%s]", host, addr_text);
	smtp_set_port(a, run->nh.port);
	if (smtp_io_connect(&c.io, (struct sockaddr *)&a->sa, a->salen, peer, run->nh.port,
	    tconn, why, sizeof(why)) != SMTP_IO_OK) {
		smtp_result_set(last, 4, "4.4.1", why, 0, NULL);
		return 0;
	}
	snprintf(run->mta, sizeof(run->mta), "%s", peer);
	if (run->lmtp)
		goto ready;
	if (conf_bool("smtp_tls_wrappermode")
	    && smtp_tls_wrap(&c, &run->tls, host, run->nh.host, run->nh.port, last)
	    != SMTP_TLS_GO) {
		smtp_io_close(&c.io);
		return 0;
	}
	if (smtp_client_hello(&c, last) < 0) {
		if (!last->remote) {
			/* Timed out or lost: no QUIT to wait smtp_quit_timeout for. */
			smtp_io_close(&c.io);
			return 0;
		}
		if (last->remote) {
			/* The server's words, with its name: this is only the last try's. */
			char *t = xasprintf("host %s said: %s", peer, last->text);

			smtp_result_set(last, last->status, last->dsn, t, 0, NULL);
			free(t);
		}
		smtp_client_quit(&c);
		return 0;
	}
	/* STARTTLS (once: plain text after a failed handshake under "may"), then AUTH. */
	switch (smtp_tls_start(&c, plain ? &none : &run->tls, host, run->nh.host, run->nh.port,
	    last)) {
	case SMTP_TLS_GO:
		break;
	case SMTP_TLS_RETRY_PLAIN:
		log_info("%s: %s:%u: %s; trying again without TLS", job->id, peer, run->nh.port,
		    last->text);
		smtp_io_close(&c.io);
		plain = 1;
		goto again;
	case SMTP_TLS_FAIL:
	default:
		smtp_client_quit(&c);
		return 0;
	}
	if (smtp_sasl_auth(&c, job->nexthop, host, last) < 0) {
		smtp_client_quit(&c);
		return 0;
	}
	goto go;
ready:
	/* LMTP: the greeting and LHLO only (no TLS, no AUTH: a local socket or a trusted host). */
	if (smtp_client_hello(&c, last) < 0) {
		if (last->remote) {
			char *t = xasprintf("host %s said: %s", peer, last->text);

			smtp_result_set(last, last->status, last->dsn, t, 0, NULL);
			free(t);
			smtp_client_quit(&c);
		} else {
			smtp_io_close(&c.io);
		}
		return 0;
	}
go:
	gettimeofday(&run->connected, NULL);
	if (run->nh.port != 0)
		snprintf(run->relay, sizeof(run->relay), "%s:%u", peer, run->nh.port);
	else
		snprintf(run->relay, sizeof(run->relay), "%s", peer);
	smtp_cache.born = run->connected;
	smtp_cache.uses = 0;
	smtp_transact(run, &c);
	return 1;
}

/* A request with an "lmtp:unix:/path" or "lmtp:inet:host[:port]" nexthop (resolve.h). */
static void
smtp_lmtp_agent(struct smtp_run *run)
{
	struct localsvc_job *job = run->job;
	const char *nh = job->nexthop + strlen(RESOLVE_LMTP_PREFIX);
	struct smtp_result last = { 4, "4.4.1", NULL, 0, NULL };
	struct dns_addr_list al = { NULL, 0 };
	char why[SMTP_IO_WHY_MAX];
	size_t a;
	int done = 0, literal = 0;

	run->lmtp = 1;
	smtp_result_set(&last, 4, "4.4.1", "no address to try", 0, NULL);
	if (strncmp(nh, RESOLVE_LMTP_UNIX, strlen(RESOLVE_LMTP_UNIX)) == 0) {
		const char *path = nh + strlen(RESOLVE_LMTP_UNIX);
		struct sockaddr_un sun;
		struct dns_addr ua;

		memset(&sun, 0, sizeof(sun));
		memset(&ua, 0, sizeof(ua));
		if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
			snprintf(why, sizeof(why), "bad LMTP socket path \"%.64s\": empty or longer "
			    "than %zu bytes", path, sizeof(sun.sun_path) - 1);
			smtp_result_set(&last, 4, "4.3.5", why, 0, NULL);
			smtp_settle_all(run, &last);
			goto out;
		}
		if (smtp_cache_use(run))
			goto out;
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, strlen(path) + 1);
		memcpy(&ua.sa, &sun, sizeof(sun));
		ua.salen = (socklen_t)sizeof(sun);
		run->nh.port = 0;
		/* Logged as Postfix does: relay=$myhostname[/path]. */
		done = smtp_try_addr(run, conf_str("myhostname"), path, &ua, &last);
		goto settle;
	}
	if (strncmp(nh, RESOLVE_LMTP_INET, strlen(RESOLVE_LMTP_INET)) == 0)
		nh += strlen(RESOLVE_LMTP_INET);
	if (smtp_nexthop_parse(nh, &run->nh, why, sizeof(why)) < 0) {
		smtp_result_set(&last, 4, "4.3.5", why, 0, NULL);
		smtp_settle_all(run, &last);
		goto out;
	}
	/* No port given: lmtp_tcp_port; never an MX lookup. */
	if (strchr(nh, ']') ? strstr(nh, "]:") == NULL : strchr(nh, ':') == NULL) {
		long long port = conf_int("lmtp_tcp_port");

		run->nh.port = port > 0 && port <= SMTP_PORT_MAX ? (unsigned)port : SMTP_LMTP_PORT;
	}
	if (smtp_cache_use(run))
		goto out;
	literal = smtp_literal_addr(run->nh.host, &al);
	if (!literal) {
		enum dns_status st = dns_host_addrs(run->nh.host, &al, why, sizeof(why));

		if (st != DNS_OK) {
			smtp_result_set(&last, 4, st == DNS_TEMPFAIL ? "4.4.3" : "4.4.4", why, 0,
			    NULL);
			goto settle;
		}
	}
	for (a = 0; a < al.n && !done && a < SMTP_DELIVER_ADDRS_MAX; a++)
		done = smtp_try_addr(run, run->nh.host, al.v[a].text, &al.v[a], &last);
settle:
	if (!done) {
		snprintf(run->relay, sizeof(run->relay), "none");
		run->connected.tv_sec = 0;
		smtp_settle_all(run, &last);
	}
out:
	if (literal)
		free(al.v);
	else
		dns_addr_list_free(&al);
	smtp_result_free(&last);
}

void
smtp_deliver_direct(const char *id, const char *nexthop, struct qenv *env, const char *content,
    size_t len, const size_t *idx, size_t n, struct smtp_result *res, char *mta, size_t mtalen)
{
	struct localsvc_job job;
	size_t i;

	memset(&job, 0, sizeof(job));
	job.fd = -1;
	job.id = id;
	job.nexthop = nexthop;
	job.env = env;
	job.content = content;
	job.len = len;
	job.idx = idx;
	job.n = n;
	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		smtp_result_set(&res[i], 4, "4.3.0", "no result for this recipient", 0, NULL);
	}
	mta[0] = '\0';
	smtp_direct.res = res;
	smtp_direct.mta = mta;
	smtp_direct.mtalen = mtalen;
	smtp_deliver_agent(&job);
	smtp_direct.res = NULL;
	/* No session stays open in a process that is not an smtp worker. */
	smtp_cache_drop();
}

void
smtp_deliver_agent(struct localsvc_job *job)
{
	struct smtp_run run;
	struct smtp_result last = { 4, "4.4.1", NULL, 0, NULL };
	struct dns_mx_list mx = { NULL, 0 };
	char why[DNS_WHY_MAX], twhy[SMTP_DELIVER_TLS_WHY_MAX], dsn[SMTP_REPLY_DSN_MAX];
	size_t h, tries = 0;
	int done = 0;

	memset(&run, 0, sizeof(run));
	smtp_tls_policy_init(&run.tls);
	run.job = job;
	gettimeofday(&run.got, NULL);
	snprintf(run.relay, sizeof(run.relay), "none");
	if (job->nexthop != NULL && strncmp(job->nexthop, RESOLVE_LMTP_PREFIX,
	    strlen(RESOLVE_LMTP_PREFIX)) == 0) {
		smtp_lmtp_agent(&run);
		return;
	}
	if (job->nexthop == NULL || smtp_nexthop_parse(job->nexthop, &run.nh, why,
	    sizeof(why)) < 0) {
		smtp_result_set(&last, 4, "4.3.5", job->nexthop ? why : "no nexthop in the request",
		    0, NULL);
		smtp_settle_all(&run, &last);
		goto out;
	}
	if (smtp_tls_policy_find(job->nexthop, &run.tls, dsn, sizeof(dsn), twhy,
	    sizeof(twhy)) < 0) {
		/* Never without the TLS the destination asked for: deferred. */
		smtp_result_set(&last, 4, dsn, twhy, 0, NULL);
		smtp_settle_all(&run, &last);
		goto out;
	}
	if (smtp_cache_use(&run))
		goto out;
	if (run.nh.no_mx) {
		mx.v = xcalloc(1, sizeof(*mx.v));
		mx.n = 1;
		snprintf(mx.v[0].host, sizeof(mx.v[0].host), "%s", run.nh.host);
	} else {
		enum dns_status st = dns_mx_hosts(run.nh.host, &mx, why, sizeof(why));

		if (st != DNS_OK) {
			smtp_result_set(&last, st == DNS_TEMPFAIL ? 4 : 5, dns_status_dsn(st), why, 0,
			    NULL);
			smtp_settle_all(&run, &last);
			goto out;
		}
	}
	smtp_result_set(&last, 4, "4.4.1", "no address to try", 0, NULL);
	for (h = 0; h < mx.n && !done && tries < SMTP_DELIVER_ADDRS_MAX; h++) {
		struct dns_addr_list al = { NULL, 0 };
		size_t a;
		int literal = smtp_literal_addr(mx.v[h].host, &al);

		if (!literal) {
			enum dns_status st = dns_host_addrs(mx.v[h].host, &al, why, sizeof(why));

			if (st != DNS_OK) {
				smtp_result_set(&last, 4, st == DNS_TEMPFAIL ? "4.4.3" : "4.4.4", why,
				    0, NULL);
				continue;
			}
		}
		for (a = 0; a < al.n && !done && tries < SMTP_DELIVER_ADDRS_MAX; a++, tries++)
			done = smtp_try_addr(&run, mx.v[h].host, al.v[a].text, &al.v[a], &last);
		if (literal)
			free(al.v);
		else
			dns_addr_list_free(&al);
	}
	if (!done) {
		snprintf(run.relay, sizeof(run.relay), "none");
		run.connected.tv_sec = 0;
		smtp_settle_all(&run, &last);
	}
out:
	smtp_tls_policy_free(&run.tls);
	if (run.nh.no_mx)
		free(mx.v);
	else
		dns_mx_list_free(&mx);
	smtp_result_free(&last);
}

int
smtp_deliver_maps_changed(void)
{
	/* Both are asked: each logs what changed. */
	int sasl = smtp_sasl_maps_changed(), tls = smtp_tls_policy_maps_changed();

	return sasl || tls;
}
