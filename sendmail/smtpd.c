/*
 * smtpd - one SMTP server session; see smtpd.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "addr.h"
#include "conf.h"
#include "hbc.h"
#include "log.h"
#include "local.h"
#include "milter.h"
#include "pbuf.h"
#include "qfile.h"
#include "qmgr.h"
#include "queue.h"
#include "smtpd.h"
#include "smtpd_check.h"
#include "smtpd_sasl.h"
#include "strv.h"
#include "tls.h"
#include "tls_policy.h"
#include "xalloc.h"

#define SMTPD_IBUF		8192	/* input buffer */
#define SMTPD_CMD_MIN		512	/* RFC 5321 4.5.3.1.4 command line */
#define SMTPD_PATH_MAX		512	/* longest address accepted */
#define SMTPD_QUEUE_MODE	0600
#define SMTPD_MS		1000
#define SMTPD_REPLY_MAX		1024
#define SMTPD_BDAT_MAX_DIGITS	18
#define SMTPD_DISCARD_MAX	(1024 * 1024)	/* bytes of one over-long line read and dropped */
#define SMTPD_LINGER_MS		100	/* per read while closing */
#define SMTPD_LINGER_ROUNDS	50
#define SMTPD_LINGER_MAX	(4 * 1024 * 1024)
#define SMTPD_SASL_RESP_MAX	12288	/* Postfix's smtpd_sasl_resp_limit */
#define SMTPD_SASL_OUT_MAX	16384	/* a challenge, user name or reason from Dovecot */
#define SMTPD_TLS_INFO_MAX	256
/* Free queue space wanted per byte of message: Postfix's smtpd_space_multf (1.5). */
#define SMTPD_SPACE_MULT_NUM	3
#define SMTPD_SPACE_MULT_DEN	2

/* smtpd_tls_security_level */
enum smtpd_tls_level { TLS_LEVEL_NONE, TLS_LEVEL_MAY, TLS_LEVEL_ENCRYPT };
#define SMTPD_INSTANCE_MAX	64	/* the policy "instance" attribute */
#define SMTPD_V4MAPPED		"::ffff:"	/* prefix of an IPv4 address on an IPv6 socket */

enum smtpd_state {
	ST_INIT,	/* no HELO/EHLO yet */
	ST_GREETED,	/* HELO/EHLO done, no transaction */
	ST_MAIL,	/* MAIL accepted */
	ST_RCPT,	/* one or more RCPT accepted */
	ST_BDAT,	/* in a BDAT sequence */
};

enum cmd_result { CMD_GO_ON = 0, CMD_CLOSE = -1 };

struct session {
	int in, out;
	const struct smtpd_client *c;
	char ibuf[SMTPD_IBUF];
	size_t ipos, ilen;
	int eof;
	struct pbuf obuf;
	int timeout_ms;
	const char *where;	/* the last command, for timeout/lost-connection logs */

	enum smtpd_state state;
	char *helo;
	int esmtp;
	struct qenv env;	/* sender, recipients, DSN data of the transaction */
	struct pbuf msg;	/* the message, LF line endings */
	int too_big;		/* the message passed message_size_limit */
	int bdat_error;		/* reply code that answers the rest of a failed BDAT sequence */
	size_t size_limit;
	long rcpt_limit;
	long nrcpt;		/* RCPTs accepted in the transaction, duplicates too */
	struct strv prepend;	/* headers from access tables and policy servers (PREPEND) */
	unsigned long tx_serial;	/* counts transactions: the policy "instance" */
	time_t tx_time;		/* when the transaction state was last reset */

	struct milters *milters;	/* smtpd_milters, NULL when none */
	char *milter_deny;	/* a milter's reply to the connection, given to MAIL */
	int milter_discard;	/* a milter discards this message */

	long errors, soft_limit, hard_limit;
	long long error_sleep;
	int close_after;

	struct tls_conn *tls;	/* after STARTTLS or in wrapper mode */
	char tls_info[SMTPD_TLS_INFO_MAX];	/* "TLSv1.3 with cipher X (256/256 bits)" */
	struct smtpd_sasl *sasl;	/* the Dovecot connection, once asked for */
	int sasl_tried;
	char *sasl_user, *sasl_method;	/* after a successful AUTH */
	char local_addr[SMTPD_NAME_MAX];
};

struct smtpd_cmd {
	const char *name;
	enum cmd_result (*fn)(struct session *, char *);
	unsigned flags;
	long ok, total;
};
#define CMD_F_NEED_HELO	(1u << 0)	/* refused before HELO when smtpd_helo_required */
#define CMD_F_HIDDEN	(1u << 1)	/* not counted in the disconnect line */
#define CMD_F_PRE_TLS	(1u << 2)	/* allowed before STARTTLS at level encrypt */

static volatile sig_atomic_t smtpd_stop;
static smtpd_queue_fn smtpd_queue_hook;
static void (*smtpd_done_hook)(void);

static void smtpd_local_addr(int fd, char *out, size_t outlen);

/* Set by smtpd_prepare() (daemon sessions only; sendmail -bs has neither). */
static int smtpd_prepared;
static enum smtpd_tls_level smtpd_tls_level;
static struct tls_ctx *smtpd_tls_ctx;

/* What smtpd_preload() made for main.cf's own files (in the master), and which files. */
static struct tls_ctx *smtpd_pre_ctx;
static char *smtpd_pre_files, *smtpd_pre_err;

/*
 * The files the server's TLS context comes from, as one string (to tell
 * whether the master's copy fits a service's -o overrides); NULL when no
 * certificate is configured. smtpd_tls_chain_files, when set, wins over
 * smtpd_tls_cert_file and smtpd_tls_key_file (Postfix 3.4's rule).
 */
static char *
smtpd_tls_files(void)
{
	const char *chain = conf_str("smtpd_tls_chain_files");
	const char *cert = conf_str("smtpd_tls_cert_file");

	if (*chain == '\0' && *cert == '\0')
		return NULL;
	return xasprintf("%s\n%s\n%s\n%s", chain, *chain ? "" : cert,
	    *chain ? "" : conf_str("smtpd_tls_key_file"), conf_str("smtpd_tls_dh1024_param_file"));
}

/*
 * The server context from main.cf's (or the service's) files, with the DH
 * parameters of smtpd_tls_dh1024_param_file when set. DH parameters that
 * cannot be used are a warning, not the end of TLS: the built-in group
 * stays (as Postfix does).
 */
static struct tls_ctx *
smtpd_tls_ctx_make(char *err, size_t errlen)
{
	const char *dh = conf_str("smtpd_tls_dh1024_param_file");
	char dherr[2 * TLS_ERR_MAX];
	struct tls_ctx *ctx;
	struct strv chain = STRV_INIT;

	conf_list("smtpd_tls_chain_files", &chain);
	if (chain.n > 0)
		ctx = tls_server_ctx_chains((const char *const *)chain.v, chain.n, err, errlen);
	else
		ctx = tls_server_ctx(conf_str("smtpd_tls_cert_file"), conf_str("smtpd_tls_key_file"),
		    err, errlen);
	strv_free(&chain);
	if (ctx != NULL && *dh != '\0' && tls_server_dh_file(ctx, dh, dherr, sizeof(dherr)) < 0)
		log_warn("smtpd_tls_dh1024_param_file: %s: using the built-in DH group", dherr);
	return ctx;
}

void
smtpd_preload(void)
{
	char err[2 * TLS_ERR_MAX];

	tls_ctx_free(smtpd_pre_ctx);
	free(smtpd_pre_files);
	free(smtpd_pre_err);
	smtpd_pre_ctx = NULL;
	smtpd_pre_err = NULL;
	smtpd_pre_files = smtpd_tls_files();
	if (smtpd_pre_files == NULL)
		return;
	smtpd_pre_ctx = smtpd_tls_ctx_make(err, sizeof(err));
	if (smtpd_pre_ctx == NULL)
		smtpd_pre_err = xstrdup(err);
}

void
smtpd_prepare(void)
{
	const char *level = conf_str("smtpd_tls_security_level");
	char err[2 * TLS_ERR_MAX];
	char *files;

	smtpd_prepared = 1;
	/* Postfix 2.2's booleans count only while smtpd_tls_security_level is empty. */
	if (*level == '\0')
		level = conf_bool("smtpd_enforce_tls") ? "encrypt" : conf_bool("smtpd_use_tls") ? "may" : "";
	if (*level == '\0' || strcasecmp(level, "none") == 0) {
		smtpd_tls_level = TLS_LEVEL_NONE;
	} else if (strcasecmp(level, "may") == 0) {
		smtpd_tls_level = TLS_LEVEL_MAY;
	} else if (strcasecmp(level, "encrypt") == 0) {
		smtpd_tls_level = TLS_LEVEL_ENCRYPT;
	} else {
		/* Fail closed: a misspelt "encrypt" must not mean plain text. */
		log_warn("invalid smtpd_tls_security_level value \"%s\": using encrypt", level);
		smtpd_tls_level = TLS_LEVEL_ENCRYPT;
	}
	if (smtpd_tls_level == TLS_LEVEL_NONE && !conf_bool("smtpd_tls_wrappermode"))
		return;
	files = smtpd_tls_files();
	if (files == NULL) {
		log_warn("No server certs available (smtpd_tls_cert_file and smtpd_tls_chain_files "
		    "are empty): TLS won't be enabled");
		return;
	}
	if (smtpd_pre_files && strcmp(files, smtpd_pre_files) == 0) {
		/* The master's copy: main.cf's files, loaded once. */
		smtpd_tls_ctx = smtpd_pre_ctx;
		smtpd_pre_ctx = NULL;
		snprintf(err, sizeof(err), "%s", smtpd_pre_err ? smtpd_pre_err : "");
	} else {
		smtpd_tls_ctx = smtpd_tls_ctx_make(err, sizeof(err));
	}
	free(files);
	/* Wrapper mode and level encrypt use the mandatory protocols and ciphers (Postfix). */
	if (smtpd_tls_ctx != NULL && tls_policy_apply(smtpd_tls_ctx, "smtpd",
	    smtpd_tls_level == TLS_LEVEL_ENCRYPT || conf_bool("smtpd_tls_wrappermode"), err,
	    sizeof(err)) < 0) {
		tls_ctx_free(smtpd_tls_ctx);
		smtpd_tls_ctx = NULL;
	}
	if (smtpd_tls_ctx == NULL)
		log_warn("%s: disabling TLS support", err);
	else
		tls_ctx_loglevel(smtpd_tls_ctx, atoi(conf_str("smtpd_tls_loglevel")));
}

/* Seconds for a TLS call: the session's time-out. */
static int
smtpd_tls_timeout(const struct session *s)
{
	int t = s->timeout_ms / SMTPD_MS;

	return t > 0 ? t : 1;
}

void
smtpd_set_queue_fn(smtpd_queue_fn fn)
{
	smtpd_queue_hook = fn;
}

void
smtpd_set_done_fn(void (*fn)(void))
{
	smtpd_done_hook = fn;
}

int
smtpd_stopping(void)
{
	return smtpd_stop != 0;
}

static void
smtpd_on_term(int sig)
{
	smtpd_stop = 1;
}

/* ---- output ---- */

static int
smtpd_flush(struct session *s)
{
	size_t off = 0;

	if (s->tls && s->obuf.len > 0) {
		if (tls_write(s->tls, s->obuf.data, s->obuf.len, smtpd_tls_timeout(s)) < 0) {
			if (errno == ETIMEDOUT)
				log_warn("timeout after %s from %s[%s] (writing)", s->where,
				    s->c->name, s->c->addr);
			return -1;
		}
		pbuf_reset(&s->obuf);
		return 0;
	}
	while (off < s->obuf.len) {
		struct pollfd p = { s->out, POLLOUT, 0 };
		ssize_t n;
		int rc = poll(&p, 1, s->timeout_ms);

		if (rc == 0) {
			log_warn("timeout after %s from %s[%s] (writing)", s->where, s->c->name, s->c->addr);
			return -1;
		}
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		n = write(s->out, s->obuf.data + off, s->obuf.len - off);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	pbuf_reset(&s->obuf);
	return 0;
}

/* Queues one reply line (CRLF added); counts 4xx/5xx against the error limits. */
__attribute__((format(printf, 2, 3)))
static void
smtpd_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	size_t start = s->obuf.len;

	size_t i;

	va_start(ap, fmt);
	pbuf_vprintf(&s->obuf, fmt, ap);
	va_end(ap);
	/*
	 * Replies echo client text (addresses, parameters): a control byte in
	 * it (a bare CR, say) must not break the reply's line structure.
	 * Shown as '?', as Postfix does.
	 */
	for (i = start; i < s->obuf.len; i++)
		if ((unsigned char)s->obuf.data[i] < 0x20 || s->obuf.data[i] == 0x7f)
			s->obuf.data[i] = '?';
	pbuf_puts(&s->obuf, "\r\n");
	if (s->obuf.data[start] == '4' || s->obuf.data[start] == '5') {
		s->errors++;
		if (s->errors > s->soft_limit && s->error_sleep > 0) {
			(void)smtpd_flush(s);
			sleep((unsigned)s->error_sleep);
		}
	}
}

/* ---- input ---- */

/*
 * Makes input available: flushes pending replies first when the buffer
 * is empty (the pipelining rule), then waits up to smtpd_timeout.
 * Returns 1 with data in ibuf, 0 on EOF, -1 on timeout, error or stop.
 */
static int
smtpd_fill(struct session *s)
{
	ssize_t n;

	if (s->ipos < s->ilen)
		return 1;
	if (s->eof)
		return 0;
	if (smtpd_flush(s) < 0)
		return -1;
	s->ipos = s->ilen = 0;
	for (;;) {
		struct pollfd p = { s->in, POLLIN, 0 };
		int rc;

		/* Data OpenSSL already holds would not wake poll(). */
		if (s->tls && tls_pending(s->tls))
			goto readit;

		if (smtpd_stop) {
			log_info("stopped after %s from %s[%s]", s->where, s->c->name, s->c->addr);
			smtpd_reply(s, "421 4.3.2 %s Service shutting down", conf_str("myhostname"));
			return -1;
		}
		rc = poll(&p, 1, s->timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			log_info("timeout after %s from %s[%s]", s->where, s->c->name, s->c->addr);
			smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", conf_str("myhostname"));
			return -1;
		}
		if (rc < 0)
			return -1;
readit:
		if (s->tls) {
			n = tls_read(s->tls, s->ibuf, sizeof(s->ibuf), smtpd_tls_timeout(s));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == ETIMEDOUT) {
				log_info("timeout after %s from %s[%s]", s->where, s->c->name, s->c->addr);
				smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded",
				    conf_str("myhostname"));
				return -1;
			}
		} else {
			n = read(s->in, s->ibuf, sizeof(s->ibuf));
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			s->eof = 1;
			return 0;
		}
		s->ilen = (size_t)n;
		return 1;
	}
}

/*
 * Reads one line into line (CR LF or LF removed). At most limit bytes are
 * kept; the rest of a longer line is read and dropped, and *toolong set.
 * Returns 1, 0 on EOF (a partial last line is dropped), -1 on error.
 */
static int
smtpd_getline(struct session *s, struct pbuf *line, size_t limit, int *toolong)
{
	size_t dropped = 0;

	pbuf_reset(line);
	*toolong = 0;
	for (;;) {
		char *nl;
		size_t take, avail;
		int rc = smtpd_fill(s);

		if (rc <= 0)
			return rc;
		avail = s->ilen - s->ipos;
		nl = memchr(s->ibuf + s->ipos, '\n', avail);
		take = nl ? (size_t)(nl - (s->ibuf + s->ipos)) : avail;
		if (!*toolong) {
			if (line->len + take > limit) {
				*toolong = 1;
				dropped = line->len;
				pbuf_reset(line);
			} else {
				pbuf_append(line, s->ibuf + s->ipos, take);
			}
		}
		if (*toolong) {
			dropped += take;
			/* A line that never ends is an attack, not a long line. */
			if (dropped > limit + SMTPD_DISCARD_MAX) {
				log_warn("%s[%s]: line without end (more than %zu bytes): disconnecting",
				    s->c->name, s->c->addr, dropped);
				smtpd_reply(s, "500 5.5.0 Line too long");
				smtpd_reply(s, "421 4.7.0 %s Error: closing the connection",
				    conf_str("myhostname"));
				return -1;
			}
		}
		s->ipos += take;
		if (nl) {
			s->ipos++;
			if (line->len > 0 && line->data[line->len - 1] == '\r')
				pbuf_truncate(line, line->len - 1);
			if (line->data == NULL)
				pbuf_puts(line, "");
			return 1;
		}
	}
}

/* Reads exactly n bytes; appends them to out unless out is NULL. 1, 0 on EOF, -1. */
static int
smtpd_read_bytes(struct session *s, unsigned long long n, struct pbuf *out)
{
	while (n > 0) {
		size_t avail, take;
		int rc = smtpd_fill(s);

		if (rc <= 0)
			return rc;
		avail = s->ilen - s->ipos;
		take = avail < n ? avail : (size_t)n;
		if (out)
			pbuf_append(out, s->ibuf + s->ipos, take);
		s->ipos += take;
		n -= take;
	}
	return 1;
}

/* ---- state ---- */

static void
smtpd_enter(struct session *s, enum smtpd_state st)
{
	if (st == ST_INIT || st == ST_GREETED) {
		milters_abort(s->milters);
		s->milter_discard = 0;
		qenv_free(&s->env);
		qenv_init(&s->env);
		pbuf_free(&s->msg);
		s->too_big = 0;
		s->bdat_error = 0;
		s->nrcpt = 0;
		strv_free(&s->prepend);
		s->tx_serial++;
		s->tx_time = time(NULL);
	}
	s->state = st;
}

static const char *smtpd_proto(const struct session *s);

/*
 * Answers a milter's verdict at a command. Returns 1 when the command is
 * refused (the reply is given and logged), 0 when it goes on.
 */
static int
smtpd_milter_verdict(struct session *s, enum milter_verdict v, const char *reply,
    const char *where)
{
	if (v == MILTER_DISCARD) {
		s->milter_discard = 1;
		return 0;
	}
	if (v != MILTER_REJECT && v != MILTER_TEMPFAIL)
		return 0;
	log_info("NOQUEUE: milter-reject: %s from %s[%s]: %s; from=<%s> proto=%s helo=<%s>",
	    where, s->c->name, s->c->addr, reply, s->env.sender ? s->env.sender : "",
	    smtpd_proto(s), s->helo ? s->helo : "");
	smtpd_reply(s, "%s", reply);
	return 1;
}

/* An unknown command to the milters; 1 when one of them answered it. */
static int
smtpd_milter_unknown(struct session *s, const char *verb, const char *args)
{
	char reply[MILTER_REPLY_MAX];
	char *whole = *args ? xasprintf("%s %s", verb, args) : xstrdup(verb);
	int answered = smtpd_milter_verdict(s, milters_unknown(s->milters, whole, reply,
	    sizeof(reply)), reply, "UNKNOWN");

	free(whole);
	return answered;
}

/* {tls_version}, {cipher}, {cipher_bits} for the milters, once TLS is up. */
static void
smtpd_milter_tls_macros(struct session *s)
{
	char bits[16];

	if (s->milters == NULL || s->tls == NULL)
		return;
	snprintf(bits, sizeof(bits), "%d", tls_cipher_bits(s->tls));
	milters_macro(s->milters, "tls_version", tls_version(s->tls));
	milters_macro(s->milters, "cipher", tls_cipher(s->tls));
	milters_macro(s->milters, "cipher_bits", bits);
}

/* Connect event and the macros of the client; a refusal is kept for MAIL. */
static void
smtpd_milter_connect(struct session *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char reply[MILTER_REPLY_MAX], host[SMTPD_NAME_MAX], serv[SMTPD_NAME_MAX / 8];
	char *underscore;
	unsigned port = (unsigned)strtoul(s->c->port, NULL, 10);
	char family = strchr(s->c->addr, ':') ? '6' : '4';
	enum milter_verdict v;

	if (s->c->addr[0] == '\0')
		family = 'U';
	underscore = xasprintf("%s [%s]", s->c->name, s->c->addr);
	milters_macro(s->milters, "_", underscore);
	free(underscore);
	smtpd_milter_tls_macros(s);
	milters_macro(s->milters, "client_addr", s->c->addr);
	milters_macro(s->milters, "client_name", s->c->name);
	milters_macro(s->milters, "client_ptr", s->c->name);
	milters_macro(s->milters, "client_port", s->c->port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0
	    && getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		const char *h = strncmp(host, SMTPD_V4MAPPED, strlen(SMTPD_V4MAPPED)) == 0
		    ? host + strlen(SMTPD_V4MAPPED) : host;

		milters_macro(s->milters, "daemon_addr", h);
		milters_macro(s->milters, "daemon_port", serv);
		milters_macro(s->milters, "if_addr", h);
		milters_macro(s->milters, "if_name", conf_str("myhostname"));
	}
	v = milters_connect(s->milters, s->c->name, family, s->c->addr, port, reply, sizeof(reply));
	if (v == MILTER_REJECT || v == MILTER_TEMPFAIL) {
		log_info("NOQUEUE: milter-reject: CONNECT from %s[%s]: %s", s->c->name, s->c->addr,
		    reply);
		s->milter_deny = xstrdup(reply);
	}
}

/* ---- parsing ---- */

/* 1 when the text holds a byte above 0x7f. */
static int
smtpd_has_8bit(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p > 0x7f)
			return 1;
	return 0;
}

/*
 * Parses "FROM:<addr> params" (kw "FROM:") into a malloc'd address and
 * a pointer to the parameters. -1 on a syntax error.
 */
static int
smtpd_parse_path(char *args, const char *kw, char **addr, char **params)
{
	size_t kl = strlen(kw);
	char *p, *start, *end;
	int quoted = 0;

	if (strncasecmp(args, kw, kl) != 0)
		return -1;
	p = args + kl;
	while (*p == ' ')
		p++;
	if (*p == '<') {
		start = ++p;
		for (; *p; p++) {
			if (*p == '\\' && quoted && p[1]) {
				p++;
				continue;
			}
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '>' && !quoted)
				break;
		}
		if (*p != '>')
			return -1;
		end = p++;
	} else {
		start = p;
		while (*p && *p != ' ')
			p++;
		end = p;
		if (start == end)
			return -1;
	}
	if (*p && *p != ' ')
		return -1;
	while (*p == ' ')
		p++;
	*params = p;
	/* A source route (@a,@b:user@c) is dropped (RFC 5321 C). */
	if (start < end && *start == '@') {
		char *colon = memchr(start, ':', (size_t)(end - start));

		if (colon == NULL)
			return -1;
		start = colon + 1;
	}
	if ((size_t)(end - start) > SMTPD_PATH_MAX)
		return -1;
	for (char *q = start; q < end; q++)
		if ((unsigned char)*q < ' ' || *q == 0x7f || (*q == ' ' && !memchr(start, '"', (size_t)(end - start))))
			return -1;
	*addr = xstrndup(start, (size_t)(end - start));
	return 0;
}

/* Decodes RFC 3461 xtext; -1 when malformed. */
static int
smtpd_xtext_decode(const char *in, struct pbuf *out)
{
	for (; *in; in++) {
		unsigned v;

		if ((unsigned char)*in < '!' || (unsigned char)*in > '~' || *in == '=')
			return -1;
		if (*in != '+') {
			pbuf_putc(out, *in);
			continue;
		}
		if (!isxdigit((unsigned char)in[1]) || !isxdigit((unsigned char)in[2]))
			return -1;
		if (sscanf(in + 1, "%2x", &v) != 1)
			return -1;
		pbuf_putc(out, (int)v);
		in += 2;
	}
	return 0;
}

static int
smtpd_xtext_valid(const char *in)
{
	struct pbuf tmp = PBUF_INIT;
	int rc = smtpd_xtext_decode(in, &tmp);

	pbuf_free(&tmp);
	return rc;
}

/* ---- TLS and AUTH state ---- */

/* 1 when EHLO offers STARTTLS. At level encrypt it is offered even without a certificate. */
static int
smtpd_offer_starttls(const struct session *s)
{
	if (!smtpd_prepared || s->tls)
		return 0;
	return smtpd_tls_level == TLS_LEVEL_ENCRYPT
	    || (smtpd_tls_level == TLS_LEVEL_MAY && smtpd_tls_ctx != NULL);
}

/*
 * The Dovecot connection when AUTH may be offered now: enabled, over TLS
 * unless smtpd_tls_auth_only = no, and the auth server reachable with
 * PLAIN or LOGIN. NULL otherwise (a failure is logged once).
 */
static struct smtpd_sasl *
smtpd_sasl_usable(struct session *s)
{
	char err[512];
	const char *type = conf_str("smtpd_sasl_type");

	if (!smtpd_prepared || !conf_bool("smtpd_sasl_auth_enable"))
		return NULL;
	if (!s->tls && conf_bool("smtpd_tls_auth_only"))
		return NULL;
	if (!s->sasl_tried) {
		s->sasl_tried = 1;
		if (strcmp(type, "dovecot") != 0) {
			log_warn("smtpd_sasl_type = %s is not supported (only dovecot): "
			    "AUTH not offered", type);
		} else if ((s->sasl = smtpd_sasl_open(conf_str("smtpd_sasl_path"), err,
		    sizeof(err))) == NULL) {
			log_warn("%s: AUTH not offered", err);
		} else if (*smtpd_sasl_mechs(s->sasl) == '\0') {
			log_warn("SASL: the authentication server offers neither PLAIN nor LOGIN: "
			    "AUTH not offered");
			smtpd_sasl_close(s->sasl);
			s->sasl = NULL;
		}
	}
	return s->sasl;
}

static void
smtpd_sasl_logout(struct session *s)
{
	free(s->sasl_user);
	free(s->sasl_method);
	s->sasl_user = s->sasl_method = NULL;
}

/* ---- commands ---- */

static enum cmd_result
smtpd_greet(struct session *s, char *args, int esmtp)
{
	if (*args == '\0') {
		smtpd_reply(s, "501 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		return CMD_GO_ON;
	}
	if (s->milters) {
		char reply[MILTER_REPLY_MAX];

		if (smtpd_milter_verdict(s, milters_helo(s->milters, args, reply, sizeof(reply)),
		    reply, esmtp ? "EHLO" : "HELO"))
			return CMD_GO_ON;
	}
	free(s->helo);
	s->helo = xstrdup(args);
	s->esmtp = esmtp;
	smtpd_enter(s, ST_GREETED);
	if (!esmtp) {
		smtpd_reply(s, "250 %s", conf_str("myhostname"));
		return CMD_GO_ON;
	}
	smtpd_reply(s, "250-%s", conf_str("myhostname"));
	smtpd_reply(s, "250-PIPELINING");
	if (s->size_limit > 0)
		smtpd_reply(s, "250-SIZE %zu", s->size_limit);
	else
		smtpd_reply(s, "250-SIZE");
	if (smtpd_offer_starttls(s))
		smtpd_reply(s, "250-STARTTLS");
	if (smtpd_sasl_usable(s)) {
		smtpd_reply(s, "250-AUTH %s", smtpd_sasl_mechs(s->sasl));
		if (conf_bool("broken_sasl_auth_clients"))
			smtpd_reply(s, "250-AUTH=%s", smtpd_sasl_mechs(s->sasl));
	}
	smtpd_reply(s, "250-8BITMIME");
	smtpd_reply(s, "250-ENHANCEDSTATUSCODES");
	smtpd_reply(s, "250-DSN");
	if (conf_bool("smtputf8_enable"))
		smtpd_reply(s, "250-SMTPUTF8");
	smtpd_reply(s, "250 CHUNKING");
	return CMD_GO_ON;
}

static enum cmd_result
cmd_helo(struct session *s, char *args)
{
	return smtpd_greet(s, args, 0);
}

static enum cmd_result
cmd_ehlo(struct session *s, char *args)
{
	return smtpd_greet(s, args, 1);
}

/*
 * Postfix's smtpd_check_queue: 0 when the queue file system has room for
 * a message of size bytes (0: not announced), else -1 after a warning and
 * a 452 4.3.1 reply. The room is what statvfs() gives unprivileged users
 * (f_bavail): less than the root reserve, as for Postfix. Comparisons are
 * in bytes with 1.5 as 3/2, in unsigned long long; a size is multiplied
 * only once it is known to be below the free space, so nothing overflows
 * for any file system smaller than 2^62 bytes. A
 * statvfs() failure is logged and lets the mail in: the commit still
 * catches a full disk.
 */
static int
smtpd_check_queue(struct session *s, unsigned long long size)
{
	const char *qdir = conf_str("queue_directory");
	unsigned long long minfree = (unsigned long long)conf_int("queue_minfree");
	unsigned long long limit = (unsigned long long)conf_int("message_size_limit");
	unsigned long long avail;
	struct statvfs fs;
	char why[SMTPD_REPLY_MAX];

	if (smtpd_queue_hook != NULL)
		return 0;	/* sendmail -bs: its mail goes to maildrop/, as Postfix's stand-alone mode */
	if (statvfs(qdir, &fs) < 0) {
		log_warn("cannot get the free space of %s: %m", qdir);
		return 0;
	}
	avail = (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_frsize;
	if (avail <= minfree)
		snprintf(why, sizeof(why), "%llu bytes <= queue_minfree %llu", avail, minfree);
	else if (limit > 0 && (limit >= avail
	    || limit * SMTPD_SPACE_MULT_NUM >= avail * SMTPD_SPACE_MULT_DEN))
		snprintf(why, sizeof(why), "%llu bytes <= 1.5 * message_size_limit %llu",
		    avail, limit);
	else if (size > 0 && (size >= avail - minfree
	    || size * SMTPD_SPACE_MULT_NUM >= (avail - minfree) * SMTPD_SPACE_MULT_DEN))
		snprintf(why, sizeof(why), "%llu bytes less queue_minfree %llu <= 1.5 * SIZE %llu",
		    avail, minfree, size);
	else
		return 0;
	log_warn("not enough free space in mail queue %s: %s", qdir, why);
	log_info("NOQUEUE: reject: MAIL from %s[%s]: 452 4.3.1 Insufficient system storage",
	    s->c->name, s->c->addr);
	smtpd_reply(s, "452 4.3.1 Insufficient system storage");
	return -1;
}

static enum cmd_result
cmd_mail(struct session *s, char *args)
{
	struct strv params = STRV_INIT;
	char *addr = NULL, *rest;
	unsigned long long size = 0;
	size_t i;
	int bad = 0;

	if (s->state == ST_MAIL || s->state == ST_RCPT) {
		smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
		return CMD_GO_ON;
	}
	if (s->state == ST_BDAT) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL after BDAT");
		return CMD_GO_ON;
	}
	if (smtpd_parse_path(args, "FROM:", &addr, &rest) < 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return CMD_GO_ON;
	}
	smtpd_enter(s, s->state == ST_INIT ? ST_INIT : ST_GREETED);
	if (s->milter_deny) {
		log_info("NOQUEUE: milter-reject: MAIL from %s[%s]: %s; from=<%s>", s->c->name,
		    s->c->addr, s->milter_deny, addr);
		smtpd_reply(s, "%s", s->milter_deny);
		free(addr);
		return CMD_GO_ON;
	}
	strv_split(&params, rest, " ");
	for (i = 0; i < params.n && !bad; i++) {
		char *p = params.v[i], *eq = strchr(p, '=');
		const char *v = eq ? eq + 1 : "";

		if (eq)
			*eq = '\0';
		if (strcasecmp(p, "SIZE") == 0) {
			char *end;
			unsigned long long n = strtoull(v, &end, 10);

			if (*v == '\0' || *end != '\0' || !isdigit((unsigned char)*v)) {
				smtpd_reply(s, "501 5.5.4 Bad message size syntax");
				bad = 1;
			} else if (s->size_limit > 0 && n > s->size_limit) {
				smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
				bad = 1;
			} else {
				size = n;
			}
		} else if (strcasecmp(p, "BODY") == 0) {
			if (strcasecmp(v, "8BITMIME") == 0)
				s->env.flags |= QF_8BITMIME;
			else if (strcasecmp(v, "7BIT") != 0) {
				smtpd_reply(s, "501 5.5.4 Unsupported BODY parameter value");
				bad = 1;
			}
		} else if (strcasecmp(p, "SMTPUTF8") == 0 && !eq && conf_bool("smtputf8_enable")) {
			s->env.flags |= QF_SMTPUTF8;
		} else if (strcasecmp(p, "RET") == 0) {
			if (strcasecmp(v, "FULL") == 0)
				s->env.ret = QRET_FULL;
			else if (strcasecmp(v, "HDRS") == 0)
				s->env.ret = QRET_HDRS;
			else {
				smtpd_reply(s, "501 5.5.4 Bad RET parameter syntax");
				bad = 1;
			}
		} else if (strcasecmp(p, "ENVID") == 0) {
			struct pbuf dec = PBUF_INIT;

			if (*v == '\0' || smtpd_xtext_decode(v, &dec) < 0) {
				smtpd_reply(s, "501 5.5.4 Bad ENVID parameter syntax");
				bad = 1;
			} else {
				free(s->env.envid);
				s->env.envid = pbuf_detach(&dec);
			}
			pbuf_free(&dec);
		} else if (strcasecmp(p, "AUTH") == 0) {
			/* RFC 4954 5: accepted; Petrel does not forward it. */
		} else {
			smtpd_reply(s, "555 5.5.4 Unsupported option: %s", p);
			bad = 1;
		}
	}
	strv_free(&params);
	if (!bad && smtpd_has_8bit(addr) && !(s->env.flags & QF_SMTPUTF8)) {
		smtpd_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		bad = 1;
	}
	if (!bad && smtpd_check_queue(s, size) < 0)
		bad = 1;
	if (bad) {
		smtpd_enter(s, s->state);
		free(addr);
		return CMD_GO_ON;
	}
	qenv_set_sender(&s->env, addr);
	if (s->milters) {
		char reply[MILTER_REPLY_MAX];

		strv_split(&params, rest, " ");
		if (smtpd_milter_verdict(s, milters_mail(s->milters, addr, params.v, reply,
		    sizeof(reply)), reply, "MAIL")) {
			strv_free(&params);
			free(addr);
			smtpd_enter(s, ST_GREETED);
			return CMD_GO_ON;
		}
		strv_free(&params);
	}
	free(addr);
	smtpd_enter(s, ST_MAIL);
	smtpd_reply(s, "250 2.1.0 Ok");
	return CMD_GO_ON;
}

/* Parses NOTIFY=; 0 with the bits, -1 on bad syntax. */
static int
smtpd_notify(const char *v, unsigned *bits)
{
	struct strv words = STRV_INIT;
	size_t i;
	int rc = 0;

	*bits = 0;
	strv_split(&words, v, ",");
	for (i = 0; i < words.n; i++) {
		if (strcasecmp(words.v[i], "NEVER") == 0)
			*bits |= QN_NEVER;
		else if (strcasecmp(words.v[i], "SUCCESS") == 0)
			*bits |= QN_SUCCESS;
		else if (strcasecmp(words.v[i], "FAILURE") == 0)
			*bits |= QN_FAILURE;
		else if (strcasecmp(words.v[i], "DELAY") == 0)
			*bits |= QN_DELAY;
		else
			rc = -1;
	}
	if (words.n == 0 || ((*bits & QN_NEVER) && *bits != QN_NEVER))
		rc = -1;
	strv_free(&words);
	return rc;
}

static const char *
smtpd_proto(const struct session *s)
{
	if (!s->esmtp)
		return "SMTP";
	return (s->env.flags & QF_SMTPUTF8) ? "UTF8SMTP" : "ESMTP";
}

/* The protocol for Received:, with RFC 3848's S (TLS) and A (AUTH): "ESMTPSA". */
static void
smtpd_proto_received(const struct session *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", smtpd_proto(s), s->tls ? "S" : "", s->sasl_user ? "A" : "");
}

/* What the restriction lists look at (rcpt NULL at DATA); instance: its buffer. */
static void
smtpd_check_facts(struct session *s, const char *rcpt, struct smtpd_check_info *ci,
    char *instance, size_t instlen)
{
	memset(ci, 0, sizeof(*ci));
	ci->addr = s->c->addr;
	ci->name = s->c->name;
	ci->helo = s->helo;
	ci->sender = s->env.sender;
	ci->rcpt = rcpt;
	ci->sasl_auth = s->sasl_user != NULL;
	ci->protocol = s->esmtp ? "ESMTP" : "SMTP";
	snprintf(instance, instlen, "%lx.%lx.%lu", (unsigned long)getpid(),
	    (unsigned long)s->tx_time, s->tx_serial);
	ci->instance = instance;
	ci->rcpt_count = (size_t)s->nrcpt;
	ci->sasl_method = s->sasl_method;
	ci->sasl_username = s->sasl_user;
	if (s->tls) {
		ci->tls_protocol = tls_version(s->tls);
		ci->tls_cipher = tls_cipher(s->tls);
		ci->tls_keysize = tls_cipher_bits(s->tls);
	}
	ci->prepend = &s->prepend;
}

/* 1 when the client sent more after the command just read (pipelining). */
static int
smtpd_input_pending(struct session *s)
{
	struct pollfd p;

	if (s->ipos < s->ilen || (s->tls && tls_pending(s->tls)))
		return 1;
	p.fd = s->in;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static enum cmd_result
cmd_rcpt(struct session *s, char *args)
{
	struct strv params = STRV_INIT;
	char reply[SMTPD_CHECK_REPLY_MAX];
	char *addr = NULL, *rest, *orcpt = NULL;
	unsigned notify = 0;
	size_t i;
	int bad = 0, code = 0;

	if (s->state == ST_BDAT) {
		smtpd_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return CMD_GO_ON;
	}
	if (s->state != ST_MAIL && s->state != ST_RCPT) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return CMD_GO_ON;
	}
	if (smtpd_parse_path(args, "TO:", &addr, &rest) < 0 || *addr == '\0') {
		free(addr);
		smtpd_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return CMD_GO_ON;
	}
	if (s->rcpt_limit > 0 && s->nrcpt >= s->rcpt_limit) {
		log_info("too many recipients from %s[%s] (limit %ld)", s->c->name, s->c->addr,
		    s->rcpt_limit);
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		free(addr);
		return CMD_GO_ON;
	}
	strv_split(&params, rest, " ");
	for (i = 0; i < params.n && !bad; i++) {
		char *p = params.v[i], *eq = strchr(p, '=');
		const char *v = eq ? eq + 1 : "";

		if (eq)
			*eq = '\0';
		if (strcasecmp(p, "NOTIFY") == 0) {
			if (smtpd_notify(v, &notify) < 0) {
				smtpd_reply(s, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
				bad = 1;
			}
		} else if (strcasecmp(p, "ORCPT") == 0) {
			const char *semi = strchr(v, ';');

			if (semi == NULL || semi == v || strlen(v) > QFILE_ORCPT_MAX
			    || smtpd_xtext_valid(semi + 1) < 0) {
				smtpd_reply(s, "501 5.5.4 Error: Bad ORCPT parameter syntax");
				bad = 1;
			} else {
				free(orcpt);
				orcpt = xstrdup(v);
			}
		} else {
			smtpd_reply(s, "555 5.5.4 Unsupported option: %s", p);
			bad = 1;
		}
	}
	strv_free(&params);
	if (!bad && smtpd_has_8bit(addr) && !(s->env.flags & QF_SMTPUTF8)) {
		smtpd_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		bad = 1;
	}
	if (!bad) {
		struct smtpd_check_info ci;
		char instance[SMTPD_INSTANCE_MAX];

		smtpd_check_facts(s, addr, &ci, instance, sizeof(instance));
		code = smtpd_check_rcpt(&ci, reply, sizeof(reply));
	}
	if (!bad && code != 0) {
		log_info("NOQUEUE: reject: RCPT from %s[%s]: %s; from=<%s> to=<%s> proto=%s helo=<%s>",
		    s->c->name, s->c->addr, reply, s->env.sender, addr, smtpd_proto(s),
		    s->helo ? s->helo : "");
		smtpd_reply(s, "%s", reply);
		bad = 1;
	}
	if (!bad && s->milters) {
		char mreply[MILTER_REPLY_MAX];

		strv_split(&params, rest, " ");
		bad = smtpd_milter_verdict(s, milters_rcpt(s->milters, addr, params.v, mreply,
		    sizeof(mreply)), mreply, "RCPT");
		strv_free(&params);
	}
	if (!bad) {
		int dup = 0;

		for (i = 0; i < s->env.nrcpt; i++)
			if (strcasecmp(s->env.rcpt[i].addr, addr) == 0)
				dup = 1;
		if (!dup)
			qenv_add_rcpt(&s->env, addr, notify, orcpt);
		s->nrcpt++;
		smtpd_enter(s, ST_RCPT);
		smtpd_reply(s, "250 2.1.5 Ok");
	}
	free(orcpt);
	free(addr);
	return CMD_GO_ON;
}

/*
 * The milters at the end of the message: content (with our Received:
 * header, as it will be queued) and envelope take their changes. Returns
 * 0 to queue, -1 when the message was answered and must not be queued
 * (the transaction is aborted).
 */
static int
smtpd_milter_message(struct session *s, struct queue_tx *tx, struct pbuf *content)
{
	struct milter_msg m;
	char reply[MILTER_REPLY_MAX];
	enum milter_verdict v;
	int rc = 0;

	milters_macro(s->milters, "i", tx->id);
	milter_msg_init(&m, &s->env, content->data ? content->data : "", content->len,
	    s->size_limit);
	v = milters_message(s->milters, &m, reply, sizeof(reply));
	if (v == MILTER_REJECT || v == MILTER_TEMPFAIL) {
		log_info("%s: milter-reject: END-OF-MESSAGE from %s[%s]: %s; from=<%s> proto=%s"
		    " helo=<%s>", tx->id, s->c->name, s->c->addr, reply, s->env.sender,
		    smtpd_proto(s), s->helo ? s->helo : "");
		smtpd_reply(s, "%s", reply);
		rc = -1;
	} else if (v == MILTER_DISCARD || s->milter_discard || s->env.nrcpt == 0) {
		log_info("%s: milter-discard: END-OF-MESSAGE from %s[%s]: %s; from=<%s>", tx->id,
		    s->c->name, s->c->addr, s->env.nrcpt == 0 ? "no recipients left" : "milter triggers"
		    " DISCARD action", s->env.sender);
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", tx->id);
		rc = -1;
	} else {
		pbuf_reset(content);
		milter_msg_content(&m, content);
		if (m.quarantine) {
			log_info("%s: milter-hold: END-OF-MESSAGE from %s[%s]: %s; from=<%s>", tx->id,
			    s->c->name, s->c->addr, m.quarantine, s->env.sender);
			qenv_set_attr(&s->env, "quarantine", m.quarantine);
			queue_tx_set_dir(tx, conf_str("queue_directory"), QDIR_HOLD);
		}
	}
	if (rc < 0)
		queue_tx_abort(tx);
	milter_msg_free(&m);
	return rc;
}

/*
 * smtpd_end_of_data_restrictions, once the whole message is in: 1 when
 * they refuse it (answered and logged as Postfix does), else 0.
 */
static int
smtpd_eod_refused(struct session *s)
{
	struct smtpd_check_info ci;
	char instance[SMTPD_INSTANCE_MAX], reply[SMTPD_CHECK_REPLY_MAX];

	if (conf_str("smtpd_end_of_data_restrictions")[0] == '\0')
		return 0;
	smtpd_check_facts(s, NULL, &ci, instance, sizeof(instance));
	ci.eod = 1;
	ci.size = s->msg.len;
	if (smtpd_check_eod(&ci, reply, sizeof(reply)) == 0)
		return 0;
	log_info("NOQUEUE: reject: END-OF-MESSAGE from %s[%s]: %s; from=<%s> proto=%s helo=<%s>",
	    s->c->name, s->c->addr, reply, s->env.sender, smtpd_proto(s), s->helo ? s->helo : "");
	smtpd_reply(s, "%s", reply);
	return 1;
}

/*
 * header_checks/body_checks (hbc.h) on the message with its Received:
 * header, before the milters (Postfix's cleanup order). 0 to go on
 * (content rewritten, tx moved to hold/ for HOLD); -1 when answered
 * (REJECT, DISCARD, a table error: 451) and tx aborted.
 */
static int
smtpd_hbc(struct session *s, struct queue_tx *tx, struct pbuf *content)
{
	struct hbc_ctx ctx;
	struct hbc_result r;
	struct pbuf out = PBUF_INIT, old;
	char *where;
	int rc = -1;

	where = xasprintf("from %s[%s]; from=<%s> to=<%s> proto=%s helo=<%s>", s->c->name,
	    s->c->addr, s->env.sender, s->env.nrcpt ? s->env.rcpt[0].addr : "", smtpd_proto(s),
	    s->helo ? s->helo : "");
	ctx.qid = tx->id;
	ctx.where = where;
	hbc_apply(&ctx, content->data ? content->data : "", content->len, &out, &r);
	switch (r.verdict) {
	case HBC_REJECT:
		smtpd_reply(s, "%s", r.reply);
		break;
	case HBC_DISCARD:
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", tx->id);
		break;
	case HBC_DEFER:
		smtpd_reply(s, "451 4.3.0 Error: table lookup problem");
		break;
	case HBC_PASS:
		old = *content;
		*content = out;
		out = old;
		if (r.hold) {
			qenv_set_attr(&s->env, "quarantine", r.hold);
			queue_tx_set_dir(tx, conf_str("queue_directory"), QDIR_HOLD);
		}
		rc = 0;
		break;
	}
	if (rc < 0)
		queue_tx_abort(tx);
	pbuf_free(&out);
	hbc_result_free(&r);
	free(where);
	return rc;
}

/*
 * Writes the message of the transaction into incoming/ and answers.
 * Returns 0; the transaction ends either way.
 */
static void
smtpd_queue(struct session *s)
{
	struct cleanup_smtp_info info;
	struct pbuf content = PBUF_INIT;
	struct queue_tx tx;
	char err[512], proto[SMTPD_NAME_MAX / 8];
	const char *qdir = conf_str("queue_directory");

	if (s->msg.len > 0 && s->msg.data[s->msg.len - 1] != '\n')
		pbuf_putc(&s->msg, '\n');
	if (smtpd_eod_refused(s)) {
		smtpd_enter(s, ST_GREETED);
		return;
	}
	if (smtpd_queue_hook) {
		char qid[QID_LEN + 1], reply[SMTPD_REPLY_MAX];

		gettimeofday(&s->env.arrival, NULL);
		if (smtpd_queue_hook(&s->env, s->msg.data ? s->msg.data : "", s->msg.len,
		    qid, reply, sizeof(reply)) == 0)
			smtpd_reply(s, "250 2.0.0 Ok: queued as %s", qid);
		else
			smtpd_reply(s, "%s", reply);
		smtpd_enter(s, ST_GREETED);
		return;
	}
	if (queue_tx_begin(qdir, QDIR_INCOMING, &tx, err, sizeof(err)) < 0) {
		log_warn("NOQUEUE: cannot queue mail from %s[%s]: %s", s->c->name, s->c->addr, err);
		smtpd_reply(s, "452 4.3.1 Insufficient system storage");
		smtpd_enter(s, ST_GREETED);
		return;
	}
	gettimeofday(&s->env.arrival, NULL);
	memset(&info, 0, sizeof(info));
	info.helo = s->helo;
	info.client_name = s->c->name;
	info.client_addr = s->c->addr;
	info.myhostname = conf_str("myhostname");
	info.mail_name = conf_str("mail_name");
	smtpd_proto_received(s, proto, sizeof(proto));
	info.protocol = proto;
	info.queue_id = tx.id;
	if (s->tls && conf_bool("smtpd_tls_received_header"))
		info.tls = s->tls_info;
	if (s->sasl_user && conf_bool("smtpd_sasl_authenticated_header"))
		info.auth_sender = s->sasl_user;
	info.rcpt = s->env.nrcpt == 1 ? s->env.rcpt[0].addr : NULL;
	info.prepend = &s->prepend;
	info.arrival = s->env.arrival.tv_sec;
	cleanup_smtp_message(&info, s->msg.data ? s->msg.data : "", s->msg.len, &content);
	if (hbc_enabled() && smtpd_hbc(s, &tx, &content) < 0) {
		pbuf_free(&content);
		smtpd_enter(s, ST_GREETED);
		return;
	}
	if (s->milters && smtpd_milter_message(s, &tx, &content) < 0) {
		pbuf_free(&content);
		smtpd_enter(s, ST_GREETED);
		return;
	}
	s->env.uid = (long)getuid();
	qenv_set_attr(&s->env, "origin", "smtpd");
	qenv_set_attr(&s->env, "client_name", s->c->name);
	qenv_set_attr(&s->env, "client_address", s->c->addr);
	if (s->helo)
		qenv_set_attr(&s->env, "helo_name", s->helo);
	qenv_set_attr(&s->env, "protocol", info.protocol);
	if (s->sasl_user) {
		qenv_set_attr(&s->env, "sasl_method", s->sasl_method);
		qenv_set_attr(&s->env, "sasl_username", s->sasl_user);
	}
	if (queue_tx_commit(&tx, &s->env, content.data, content.len, SMTPD_QUEUE_MODE,
	    err, sizeof(err)) < 0) {
		int lookup = errno == EAGAIN;	/* the envelope hook: a table lookup failed */

		log_warn("%s: cannot queue mail from %s[%s]: %s", tx.id, s->c->name, s->c->addr, err);
		if (lookup)
			smtpd_reply(s, "451 4.3.0 Error: table lookup problem");
		else
			smtpd_reply(s, "452 4.3.1 Insufficient system storage");
	} else {
		if (s->sasl_user)
			log_info("%s: client=%s[%s], sasl_method=%s, sasl_username=%s", s->env.id,
			    s->c->name, s->c->addr, s->sasl_method, s->sasl_user);
		else
			log_info("%s: client=%s[%s]", s->env.id, s->c->name, s->c->addr);
		log_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue %s)", s->env.id,
		    s->env.sender, content.len, s->env.nrcpt,
		    qenv_attr(&s->env, "quarantine") ? QDIR_HOLD : QDIR_INCOMING);
		qmgr_wake('W');
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->env.id);
	}
	pbuf_free(&content);
	smtpd_enter(s, ST_GREETED);
}

/* 0 when the header block of the message fits header_size_limit. */
static int
smtpd_header_ok(const struct pbuf *msg)
{
	size_t limit = (size_t)conf_int("header_size_limit");
	const char *end;

	if (limit == 0 || msg->len <= limit)
		return 0;
	end = memmem(msg->data, msg->len, "\n\n", 2);
	if (msg->len > 0 && msg->data[0] == '\n')
		return 0;
	return end && (size_t)(end - msg->data) <= limit ? 0 : -1;
}

static enum cmd_result
cmd_data(struct session *s, char *args)
{
	struct pbuf line = PBUF_INIT;
	size_t total = 0;
	int toolong, rc;

	if (s->state == ST_BDAT) {
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return CMD_GO_ON;
	}
	if (s->state != ST_MAIL && s->state != ST_RCPT) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return CMD_GO_ON;
	}
	if (s->state != ST_RCPT) {
		smtpd_reply(s, "503 5.5.1 Error: need RCPT command");
		return CMD_GO_ON;
	}
	if (*args) {
		smtpd_reply(s, "501 5.5.4 Syntax: DATA");
		return CMD_GO_ON;
	}
	{
		struct smtpd_check_info ci;
		char instance[SMTPD_INSTANCE_MAX], reply[SMTPD_CHECK_REPLY_MAX];
		int code;

		smtpd_check_facts(s, NULL, &ci, instance, sizeof(instance));
		code = smtpd_check_data(&ci, smtpd_input_pending(s), reply, sizeof(reply));
		if (code != 0) {
			log_info("NOQUEUE: reject: DATA from %s[%s]: %s; from=<%s> proto=%s helo=<%s>",
			    s->c->name, s->c->addr, reply, s->env.sender, smtpd_proto(s),
			    s->helo ? s->helo : "");
			smtpd_reply(s, "%s", reply);
			return CMD_GO_ON;
		}
	}
	if (s->milters) {
		char reply[MILTER_REPLY_MAX];

		if (smtpd_milter_verdict(s, milters_data(s->milters, reply, sizeof(reply)), reply,
		    "DATA")) {
			smtpd_enter(s, ST_GREETED);
			return CMD_GO_ON;
		}
	}
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	s->where = "DATA";
	for (;;) {
		const char *p;
		size_t n;

		/* A body line may be as long as what is left of the size limit. */
		rc = smtpd_getline(s, &line, s->size_limit > 0 ? s->size_limit + 2 : (size_t)-1 / 2,
		    &toolong);
		if (rc <= 0) {
			log_info("lost connection after DATA (%zu bytes) from %s[%s]", total,
			    s->c->name, s->c->addr);
			pbuf_free(&line);
			return CMD_CLOSE;
		}
		p = line.data;
		n = line.len;
		if (!toolong && n == 1 && p[0] == '.')
			break;
		if (!toolong && n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		total += n + 2;
		if (toolong || (s->size_limit > 0 && total > s->size_limit))
			s->too_big = 1;
		if (!s->too_big) {
			pbuf_append(&s->msg, p, n);
			pbuf_putc(&s->msg, '\n');
		}
	}
	pbuf_free(&line);
	s->where = "END-OF-MESSAGE";
	if (s->too_big) {
		log_info("NOQUEUE: reject: message from %s[%s] exceeds message_size_limit %zu",
		    s->c->name, s->c->addr, s->size_limit);
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		smtpd_enter(s, ST_GREETED);
	} else if (smtpd_header_ok(&s->msg) < 0) {
		log_info("NOQUEUE: reject: message header from %s[%s] exceeds header_size_limit",
		    s->c->name, s->c->addr);
		smtpd_reply(s, "552 5.3.4 Message header size exceeds limit");
		smtpd_enter(s, ST_GREETED);
	} else {
		smtpd_queue(s);
	}
	return CMD_GO_ON;
}

/* CRLF to LF, in place. */
static void
smtpd_crlf_to_lf(struct pbuf *b)
{
	size_t i, o = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 1 < b->len && b->data[i + 1] == '\n')
			continue;
		b->data[o++] = b->data[i];
	}
	pbuf_truncate(b, o);
}

static enum cmd_result
cmd_bdat(struct session *s, char *args)
{
	unsigned long long n = 0;
	char *p = args;
	int last = 0, digits = 0, rc, code = 0;

	while (isdigit((unsigned char)*p) && digits <= SMTPD_BDAT_MAX_DIGITS) {
		n = n * 10 + (unsigned)(*p++ - '0');
		digits++;
	}
	if (*p == ' ') {
		while (*p == ' ')
			p++;
		if (strcasecmp(p, "LAST") == 0) {
			last = 1;
			p += strlen(p);
		}
	}
	if (digits == 0 || digits > SMTPD_BDAT_MAX_DIGITS || *p != '\0') {
		/* The chunk cannot be found in the stream any more: end the session. */
		smtpd_reply(s, "501 5.5.4 Syntax: BDAT count [LAST]");
		smtpd_reply(s, "421 4.5.0 %s Error: BDAT stream out of sync", conf_str("myhostname"));
		return CMD_CLOSE;
	}
	s->where = "BDAT";
	if (s->state != ST_RCPT && s->state != ST_BDAT)
		code = s->state == ST_MAIL ? 1 : 2;
	if (code == 0 && !s->bdat_error && !s->too_big && s->size_limit > 0
	    && s->msg.len + n > s->size_limit)
		s->too_big = 1;
	rc = smtpd_read_bytes(s, n, code == 0 && !s->bdat_error && !s->too_big ? &s->msg : NULL);
	if (rc <= 0) {
		log_info("lost connection after BDAT from %s[%s]", s->c->name, s->c->addr);
		return CMD_CLOSE;
	}
	if (code == 1) {
		smtpd_reply(s, "503 5.5.1 Error: need RCPT command");
		return CMD_GO_ON;
	}
	if (code == 2) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return CMD_GO_ON;
	}
	s->state = ST_BDAT;
	if (!last) {
		if (s->too_big)
			smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		else
			smtpd_reply(s, "250 2.0.0 Ok: %llu bytes", n);
		return CMD_GO_ON;
	}
	s->where = "END-OF-MESSAGE";
	smtpd_crlf_to_lf(&s->msg);
	if (s->too_big) {
		log_info("NOQUEUE: reject: message from %s[%s] exceeds message_size_limit %zu",
		    s->c->name, s->c->addr, s->size_limit);
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		smtpd_enter(s, ST_GREETED);
	} else if (smtpd_header_ok(&s->msg) < 0) {
		smtpd_reply(s, "552 5.3.4 Message header size exceeds limit");
		smtpd_enter(s, ST_GREETED);
	} else {
		smtpd_queue(s);
	}
	return CMD_GO_ON;
}

static enum cmd_result
cmd_rset(struct session *s, char *args)
{
	if (*args) {
		smtpd_reply(s, "501 5.5.4 Syntax: RSET");
		return CMD_GO_ON;
	}
	smtpd_enter(s, s->state == ST_INIT ? ST_INIT : ST_GREETED);
	smtpd_reply(s, "250 2.0.0 Ok");
	return CMD_GO_ON;
}

static enum cmd_result
cmd_noop(struct session *s, char *args)
{
	smtpd_reply(s, "250 2.0.0 Ok");
	return CMD_GO_ON;
}

static enum cmd_result
cmd_quit(struct session *s, char *args)
{
	smtpd_reply(s, "221 2.0.0 Bye");
	return CMD_CLOSE;
}

static enum cmd_result
cmd_vrfy(struct session *s, char *args)
{
	char *addr;

	if (conf_bool("disable_vrfy_command")) {
		smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
		return CMD_GO_ON;
	}
	if (*args == '\0') {
		smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
		return CMD_GO_ON;
	}
	addr = addr_strip_brackets(args);
	if (local_is_local(addr) && smtpd_check_local_recipient(addr) == 0)
		smtpd_reply(s, "550 5.1.1 <%s>: Recipient address rejected: "
		    "User unknown in local recipient table", addr);
	else
		smtpd_reply(s, "252 2.0.0 %s", addr);
	free(addr);
	return CMD_GO_ON;
}

/*
 * The TLS handshake as server, then the summary line (smtpd_tls_loglevel
 * >= 1). 0, or -1 when the session must end (logged).
 */
static int
smtpd_tls_start(struct session *s)
{
	char err[2 * TLS_ERR_MAX];
	long long starttls = conf_time("smtpd_starttls_timeout");
	int timeout = smtpd_tls_timeout(s);

	/* The handshake ends at the shorter of smtpd_starttls_timeout and smtpd_timeout. */
	if (starttls > 0 && starttls < timeout)
		timeout = (int)starttls;
	s->tls = tls_accept(smtpd_tls_ctx, s->in, timeout, err, sizeof(err));
	if (s->tls == NULL) {
		if (errno == ETIMEDOUT)
			log_info("timeout after %s from %s[%s] (TLS handshake)", s->where,
			    s->c->name, s->c->addr);
		else
			log_info("SSL_accept error from %s[%s]: %s", s->c->name, s->c->addr, err);
		return -1;
	}
	snprintf(s->tls_info, sizeof(s->tls_info), "%s with cipher %s (%d/%d bits)",
	    tls_version(s->tls), tls_cipher(s->tls), tls_cipher_bits(s->tls),
	    tls_cipher_alg_bits(s->tls));
	if (atoi(conf_str("smtpd_tls_loglevel")) >= 1)
		log_info("Anonymous TLS connection established from %s[%s]: %s",
		    s->c->name, s->c->addr, s->tls_info);
	smtpd_milter_tls_macros(s);
	return 0;
}

static enum cmd_result
cmd_starttls(struct session *s, char *args)
{
	size_t pipelined;

	if (*args) {
		smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return CMD_GO_ON;
	}
	if (s->tls) {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return CMD_GO_ON;
	}
	if (!smtpd_offer_starttls(s)) {
		smtpd_reply(s, "502 5.5.1 Error: command not implemented");
		return CMD_GO_ON;
	}
	if (smtpd_tls_ctx == NULL) {
		smtpd_reply(s, "454 4.7.0 TLS not available due to local problem");
		return CMD_GO_ON;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	if (smtpd_flush(s) < 0)
		return CMD_CLOSE;
	/*
	 * Whatever the client sent after STARTTLS in plain text is dropped
	 * unread: it must not run as if it came over TLS (CVE-2011-0411).
	 */
	pipelined = s->ilen - s->ipos;
	if (pipelined > 0)
		log_warn("%s[%s]: %zu bytes pipelined after STARTTLS discarded", s->c->name,
		    s->c->addr, pipelined);
	s->ipos = s->ilen = 0;
	if (smtpd_tls_start(s) < 0)
		return CMD_CLOSE;
	/* RFC 3207 4.2: forget everything learnt before; EHLO comes again. */
	free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	smtpd_sasl_logout(s);
	smtpd_enter(s, ST_INIT);
	return CMD_GO_ON;
}

/*
 * Reads the client's next AUTH response into line. 1, 0 when the
 * exchange ended with a reply already given, -1 when the session ends.
 */
static int
smtpd_auth_response(struct session *s, struct pbuf *line, const char *mech)
{
	int toolong, rc = smtpd_getline(s, line, SMTPD_SASL_RESP_MAX, &toolong);

	if (rc <= 0) {
		if (rc == 0)
			log_info("lost connection after AUTH from %s[%s]", s->c->name, s->c->addr);
		return -1;
	}
	if (toolong) {
		smtpd_reply(s, "500 5.5.6 SASL response limit exceeded");
		return 0;
	}
	if (strcmp(pbuf_str(line), "*") == 0) {
		log_warn("%s[%s]: SASL %s authentication aborted", s->c->name, s->c->addr, mech);
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		return 0;
	}
	if (!smtpd_sasl_valid_base64(pbuf_str(line))) {
		smtpd_reply(s, "501 5.5.2 Error: authentication failed: "
		    "Invalid base64 data in continued response");
		return 0;
	}
	return 1;
}

static enum cmd_result
cmd_auth(struct session *s, char *args)
{
	struct strv argv = STRV_INIT;
	struct pbuf line = PBUF_INIT;
	enum smtpd_sasl_status st;
	enum cmd_result result = CMD_GO_ON;
	char *out = xmalloc(SMTPD_SASL_OUT_MAX);
	const char *mech, *resp = NULL;

	strv_split(&argv, args, " ");
	if (smtpd_sasl_usable(s) == NULL) {
		if (smtpd_prepared && conf_bool("smtpd_sasl_auth_enable") && !s->tls
		    && conf_bool("smtpd_tls_auth_only"))
			smtpd_reply(s, "504 5.5.4 Encryption required for requested "
			    "authentication mechanism");
		else
			smtpd_reply(s, "503 5.5.1 Error: authentication not enabled");
		goto done;
	}
	if (s->helo == NULL || !s->esmtp) {
		smtpd_reply(s, "503 5.5.1 Error: send EHLO first");
		goto done;
	}
	if (s->state != ST_INIT && s->state != ST_GREETED) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		goto done;
	}
	if (s->sasl_user) {
		smtpd_reply(s, "503 5.5.1 Error: already authenticated");
		goto done;
	}
	if (argv.n < 1 || argv.n > 2) {
		smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		goto done;
	}
	mech = argv.v[0];
	if (!smtpd_sasl_has_mech(s->sasl, mech)) {
		smtpd_reply(s, "535 5.7.8 Error: authentication failed: "
		    "Invalid authentication mechanism");
		goto done;
	}
	for (char *m = argv.v[0]; *m; m++)
		*m = (char)toupper((unsigned char)*m);
	if (argv.n == 2) {
		resp = strcmp(argv.v[1], "=") == 0 ? "" : argv.v[1];
		if (!smtpd_sasl_valid_base64(resp)) {
			smtpd_reply(s, "501 5.5.2 Error: authentication failed: "
			    "Invalid base64 data in initial response");
			goto done;
		}
	}
	st = smtpd_sasl_start(s->sasl, mech, resp, s->local_addr, s->c->addr, s->tls != NULL,
	    out, SMTPD_SASL_OUT_MAX);
	while (st == SMTPD_SASL_CONT) {
		int rc;

		smtpd_reply(s, "334 %s", out);
		rc = smtpd_auth_response(s, &line, mech);
		if (rc < 0)
			result = CMD_CLOSE;
		if (rc <= 0) {
			/* Dovecot forgets a half-done exchange; a new AUTH gets a new id. */
			goto done;
		}
		st = smtpd_sasl_next(s->sasl, pbuf_str(&line), out, SMTPD_SASL_OUT_MAX);
	}
	if (st == SMTPD_SASL_OK) {
		s->sasl_user = xstrdup(out);
		s->sasl_method = xstrdup(mech);
		milters_macro(s->milters, "auth_type", mech);
		milters_macro(s->milters, "auth_authen", out);
		smtpd_reply(s, "235 2.7.0 Authentication successful");
		goto done;
	}
	log_warn("%s[%s]: SASL %s authentication failed: %s, sasl_username=%s", s->c->name,
	    s->c->addr, mech, *out ? out : "(reason unavailable)",
	    smtpd_sasl_user(s->sasl) ? smtpd_sasl_user(s->sasl) : "(unavailable)");
	if (st == SMTPD_SASL_TEMP)
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure: %s", out);
	else if (*out)
		smtpd_reply(s, "535 5.7.8 Error: authentication failed: %s", out);
	else
		smtpd_reply(s, "535 5.7.8 Error: authentication failed");
done:
	free(out);
	pbuf_free(&line);
	strv_free(&argv);
	return result;
}

static enum cmd_result
cmd_not_implemented(struct session *s, char *args)
{
	smtpd_reply(s, "502 5.5.1 Error: command not implemented");
	return CMD_GO_ON;
}

/* An HTTP request sent to the SMTP port: a browser or a proxy abuse. */
static enum cmd_result
cmd_forbidden(struct session *s, char *args)
{
	log_warn("non-SMTP command from %s[%s]", s->c->name, s->c->addr);
	smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
	return CMD_CLOSE;
}

static struct smtpd_cmd smtpd_cmds[] = {
	{ "helo", cmd_helo, CMD_F_PRE_TLS, 0, 0 },
	{ "ehlo", cmd_ehlo, CMD_F_PRE_TLS, 0, 0 },
	{ "mail", cmd_mail, CMD_F_NEED_HELO, 0, 0 },
	{ "rcpt", cmd_rcpt, CMD_F_NEED_HELO, 0, 0 },
	{ "data", cmd_data, CMD_F_NEED_HELO, 0, 0 },
	{ "bdat", cmd_bdat, CMD_F_NEED_HELO, 0, 0 },
	{ "rset", cmd_rset, CMD_F_PRE_TLS, 0, 0 },
	{ "noop", cmd_noop, CMD_F_PRE_TLS, 0, 0 },
	{ "quit", cmd_quit, CMD_F_PRE_TLS, 0, 0 },
	{ "vrfy", cmd_vrfy, CMD_F_NEED_HELO, 0, 0 },
	{ "starttls", cmd_starttls, CMD_F_PRE_TLS, 0, 0 },
	{ "auth", cmd_auth, 0, 0, 0 },
	{ "etrn", cmd_not_implemented, 0, 0, 0 },
	{ "get", cmd_forbidden, CMD_F_HIDDEN | CMD_F_PRE_TLS, 0, 0 },
	{ "post", cmd_forbidden, CMD_F_HIDDEN | CMD_F_PRE_TLS, 0, 0 },
	{ "connect", cmd_forbidden, CMD_F_HIDDEN | CMD_F_PRE_TLS, 0, 0 },
	{ NULL, NULL, 0, 0, 0 },
};

/* "ehlo=1 mail=1 rcpt=0/1 ... commands=N" as Postfix logs it. */
static void
smtpd_log_disconnect(struct session *s, long unknown)
{
	struct pbuf line = PBUF_INIT;
	long ok = 0, total = unknown;
	int i;

	for (i = 0; smtpd_cmds[i].name; i++) {
		const struct smtpd_cmd *c = &smtpd_cmds[i];

		if (c->total == 0)
			continue;
		ok += c->ok;
		total += c->total;
		if (c->ok == c->total)
			pbuf_printf(&line, " %s=%ld", c->name, c->ok);
		else
			pbuf_printf(&line, " %s=%ld/%ld", c->name, c->ok, c->total);
	}
	if (unknown)
		pbuf_printf(&line, " unknown=0/%ld", unknown);
	if (ok == total)
		pbuf_printf(&line, " commands=%ld", ok);
	else
		pbuf_printf(&line, " commands=%ld/%ld", ok, total);
	log_info("disconnect from %s[%s]%s", s->c->name, s->c->addr, pbuf_str(&line));
	pbuf_free(&line);
}

/*
 * Closes our side and reads what the client still sends for a moment, so
 * that the last replies are not lost to a TCP reset (a client that
 * pipelined past the point where we hang up).
 */
static void
smtpd_linger(struct session *s)
{
	char buf[SMTPD_IBUF];
	size_t total = 0;
	int i;

	if (s->tls) {
		tls_close(s->tls);
		s->tls = NULL;
	}
	if (shutdown(s->out, SHUT_WR) < 0)
		return;
	for (i = 0; i < SMTPD_LINGER_ROUNDS && total < SMTPD_LINGER_MAX; i++) {
		struct pollfd p = { s->in, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, SMTPD_LINGER_MS) <= 0)
			return;
		n = read(s->in, buf, sizeof(buf));
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

static struct smtpd_cmd *
smtpd_lookup(const char *verb)
{
	int i;

	for (i = 0; smtpd_cmds[i].name; i++)
		if (strcasecmp(smtpd_cmds[i].name, verb) == 0)
			return &smtpd_cmds[i];
	return NULL;
}

int
smtpd_session(int in_fd, int out_fd, const struct smtpd_client *c)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct pbuf line = PBUF_INIT;
	struct sigaction sa;
	size_t cmd_limit = (size_t)conf_int("line_length_limit");
	long unknown = 0;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = smtpd_on_term;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cmd_limit < SMTPD_CMD_MIN)
		cmd_limit = SMTPD_CMD_MIN;
	s->in = in_fd;
	s->out = out_fd;
	s->c = c;
	s->timeout_ms = (int)(conf_time("smtpd_timeout") * SMTPD_MS);
	if (s->timeout_ms <= 0)
		s->timeout_ms = SMTPD_MS;
	s->where = "CONNECT";
	s->size_limit = (size_t)conf_int("message_size_limit");
	s->rcpt_limit = (long)conf_int("smtpd_recipient_limit");
	s->soft_limit = (long)conf_int("smtpd_soft_error_limit");
	s->hard_limit = (long)conf_int("smtpd_hard_error_limit");
	s->error_sleep = conf_time("smtpd_error_sleep_time");
	qenv_init(&s->env);
	for (i = 0; smtpd_cmds[i].name; i++)
		smtpd_cmds[i].ok = smtpd_cmds[i].total = 0;
	log_info("connect from %s[%s]", c->name, c->addr);
	if (smtpd_prepared)
		smtpd_local_addr(in_fd, s->local_addr, sizeof(s->local_addr));
	if (smtpd_prepared && conf_bool("smtpd_tls_wrappermode")) {
		/* smtps: TLS first; nothing is said in plain text. */
		if (smtpd_tls_ctx == NULL) {
			log_warn("%s[%s]: TLS wrapper mode without a usable certificate: "
			    "closing the connection", c->name, c->addr);
			s->close_after = 1;
		} else if (smtpd_tls_start(s) < 0) {
			s->close_after = 1;
		}
	}
	if (!s->close_after && smtpd_queue_hook == NULL
	    && (s->milters = milters_create("smtpd_milters")) != NULL)
		smtpd_milter_connect(s, in_fd);
	if (!s->close_after)
		smtpd_reply(s, "220 %s", conf_str("smtpd_banner"));

	while (!s->close_after) {
		struct smtpd_cmd *cmd;
		char *args, *sp;
		long before;
		int toolong, rc;

		if (s->hard_limit > 0 && s->errors >= s->hard_limit) {
			log_warn("too many errors after %s from %s[%s]", s->where, c->name, c->addr);
			smtpd_reply(s, "421 4.7.0 %s Error: too many errors", conf_str("myhostname"));
			break;
		}
		rc = smtpd_getline(s, &line, cmd_limit, &toolong);
		if (rc == 0) {
			log_info("lost connection after %s from %s[%s]", s->where, c->name, c->addr);
			break;
		}
		if (rc < 0)
			break;
		if (toolong) {
			log_warn("%s[%s]: command line too long (limit %zu)", c->name, c->addr, cmd_limit);
			smtpd_reply(s, "500 5.5.0 Line too long");
			continue;
		}
		if (memchr(line.data, '\0', line.len) != NULL) {
			log_warn("%s[%s]: NUL character in command", c->name, c->addr);
			unknown++;
			smtpd_reply(s, "500 5.5.2 Error: bad syntax (NUL character)");
			continue;
		}
		args = line.data;
		sp = strchr(args, ' ');
		if (sp) {
			*sp = '\0';
			args = sp + 1;
			while (*args == ' ')
				args++;
		} else {
			args = line.data + line.len;
		}
		cmd = smtpd_lookup(line.data);
		if (cmd == NULL) {
			unknown++;
			if (s->milters && smtpd_milter_unknown(s, line.data, args))
				continue;
			smtpd_reply(s, "500 5.5.2 Error: command not recognized");
			continue;
		}
		/* Trailing blanks are not part of the arguments. */
		for (sp = args + strlen(args); sp > args && (sp[-1] == ' ' || sp[-1] == '\t'); sp--)
			sp[-1] = '\0';
		s->where = cmd->name;
		cmd->total++;
		before = s->errors;
		if ((cmd->flags & CMD_F_NEED_HELO) && s->state == ST_INIT
		    && conf_bool("smtpd_helo_required")) {
			smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
			continue;
		}
		if (smtpd_prepared && smtpd_tls_level == TLS_LEVEL_ENCRYPT && !s->tls
		    && !(cmd->flags & CMD_F_PRE_TLS)) {
			smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
			continue;
		}
		if (cmd->fn(s, args) == CMD_CLOSE) {
			if (s->errors == before)
				cmd->ok++;
			break;
		}
		if (s->errors == before)
			cmd->ok++;
	}
	(void)smtpd_flush(s);
	smtpd_linger(s);
	/* The client is gone: a persistent process may take the next one now. */
	if (smtpd_done_hook != NULL)
		smtpd_done_hook();
	smtpd_log_disconnect(s, unknown);
	smtpd_sasl_logout(s);
	smtpd_sasl_close(s->sasl);
	pbuf_free(&line);
	pbuf_free(&s->obuf);
	strv_free(&s->prepend);
	pbuf_free(&s->msg);
	qenv_free(&s->env);
	milters_abort(s->milters);
	milters_free(s->milters);
	free(s->milter_deny);
	free(s->helo);
	free(s);
	return 0;
}

/* The numeric address of our end of fd ("" when not an inet socket). */
static void
smtpd_local_addr(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	out[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0
	    || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
	    || getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)outlen, NULL, 0,
	    NI_NUMERICHOST) != 0)
		out[0] = '\0';
	if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.') != NULL)
		memmove(out, out + 7, strlen(out + 7) + 1);
}

int
smtpd_client_from_fd(int fd, struct smtpd_client *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo hints, *res = NULL, *ai;
	char name[SMTPD_NAME_MAX];
	int ok = 0;

	snprintf(c->addr, sizeof(c->addr), "127.0.0.1");
	snprintf(c->name, sizeof(c->name), "unknown");
	c->port[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0
	    || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return -1;
	if (ss.ss_family == AF_INET6
	    && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
		struct sockaddr_in6 v6 = *(struct sockaddr_in6 *)&ss;
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;

		memset(v4, 0, sizeof(*v4));
		v4->sin_family = AF_INET;
		v4->sin_port = v6.sin6_port;
		memcpy(&v4->sin_addr, &v6.sin6_addr.s6_addr[12], 4);
		sl = sizeof(*v4);
	}
	if (getnameinfo((struct sockaddr *)&ss, sl, c->addr, sizeof(c->addr), c->port,
	    sizeof(c->port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -1;
	if (getnameinfo((struct sockaddr *)&ss, sl, name, sizeof(name), NULL, 0, NI_NAMEREQD) != 0)
		return 0;
	/* The PTR name counts only when it resolves back to the address. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = ss.ss_family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai && !ok; ai = ai->ai_next) {
		char a[NI_MAXHOST];

		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a), NULL, 0,
		    NI_NUMERICHOST) == 0 && strcmp(a, c->addr) == 0)
			ok = 1;
	}
	freeaddrinfo(res);
	if (ok)
		snprintf(c->name, sizeof(c->name), "%s", name);
	return 0;
}
