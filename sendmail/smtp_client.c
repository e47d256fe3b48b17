/*
 * smtp_client - one SMTP session on an open connection; see smtp_client.h.
 *
 * Errors: nothing here exits; every failure becomes a per-recipient
 * result (smtp_result) whose text names the server.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "pbuf.h"
#include "smtp_client.h"
#include "xalloc.h"

#define SMTP_CODE_CLASS(c)	((c) / 100)
#define SMTP_DATA_GO		354
#define SMTP_CLOSING		421
#define SMTP_IO_FAIL_DSN	"4.4.2"
#define SMTP_CLIENT_PARAM_MAX	64	/* "lmtp_connection_cache_time_limit" and the like */

void
smtp_result_set(struct smtp_result *r, int status, const char *dsn, const char *text,
    int remote, const char *cmd)
{
	r->status = status;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	free(r->text);
	r->text = xstrdup(text);
	r->remote = remote;
	r->cmd = cmd;
}

void
smtp_result_free(struct smtp_result *r)
{
	free(r->text);
	r->text = NULL;
}

void
smtp_result_reply(struct smtp_result *r, const struct smtp_reply *rp, const char *cmd)
{
	int cls = SMTP_CODE_CLASS(rp->code);
	char dsn[SMTP_REPLY_DSN_MAX];

	if (rp->dsn[0])
		snprintf(dsn, sizeof(dsn), "%s", rp->dsn);
	else
		snprintf(dsn, sizeof(dsn), "%d.0.0", cls == 3 ? 5 : cls);
	smtp_result_set(r, cls == 2 ? 0 : cls == 4 ? 4 : 5, dsn, pbuf_str(&rp->text), 1, cmd);
}

long long
smtp_client_time(const struct smtp_client *c, const char *name)
{
	char param[SMTP_CLIENT_PARAM_MAX];

	snprintf(param, sizeof(param), "%s_%s", c->lmtp ? "lmtp" : "smtp",
	    c->lmtp && strcmp(name, "helo_timeout") == 0 ? "lhlo_timeout" : name);
	return conf_time(param);
}

/* A result from an I/O failure: deferred, 4.4.2, the reason. */
static void
smtp_result_io(struct smtp_result *r, const char *why, const char *stage)
{
	char text[SMTP_IO_WHY_MAX + 64];

	snprintf(text, sizeof(text), "%s%s%s", why, stage ? " while " : "", stage ? stage : "");
	smtp_result_set(r, 4, SMTP_IO_FAIL_DSN, text, 0, NULL);
}

/* The EHLO keywords that matter. */
static void
smtp_client_ehlo_ext(struct smtp_client *c, const struct smtp_reply *rp)
{
	size_t i;

	c->ext = 0;
	c->size_max = 0;
	c->auth_mechs[0] = '\0';
	for (i = 1; i < rp->lines.n; i++) {
		const char *l = rp->lines.v[i];
		size_t kl = strcspn(l, " =");

		if (kl == 10 && strncasecmp(l, "PIPELINING", kl) == 0)
			c->ext |= SMTP_EXT_PIPELINING;
		else if (kl == 8 && strncasecmp(l, "8BITMIME", kl) == 0)
			c->ext |= SMTP_EXT_8BITMIME;
		else if (kl == 3 && strncasecmp(l, "DSN", kl) == 0)
			c->ext |= SMTP_EXT_DSN;
		else if (kl == 8 && strncasecmp(l, "SMTPUTF8", kl) == 0)
			c->ext |= SMTP_EXT_SMTPUTF8;
		else if (kl == 8 && strncasecmp(l, "STARTTLS", kl) == 0)
			c->ext |= SMTP_EXT_STARTTLS;
		else if (kl == 4 && strncasecmp(l, "AUTH", kl) == 0) {
			/* "AUTH PLAIN LOGIN" (and the old "AUTH=PLAIN LOGIN"): the first one wins. */
			if (!(c->ext & SMTP_EXT_AUTH))
				snprintf(c->auth_mechs, sizeof(c->auth_mechs), "%s",
				    l[kl] ? l + kl + 1 : "");
			c->ext |= SMTP_EXT_AUTH;
		}
		else if (kl == 4 && strncasecmp(l, "SIZE", kl) == 0) {
			c->ext |= SMTP_EXT_SIZE;
			if (l[kl] == ' ' && isdigit((unsigned char)l[kl + 1]))
				c->size_max = strtoull(l + kl + 1, NULL, 10);
		}
	}
}

int
smtp_client_command(struct smtp_client *c, const char *cmd, struct smtp_reply *rp,
    long long timeout, const char *stage, struct smtp_result *fail)
{
	char why[SMTP_IO_WHY_MAX];
	struct pbuf b = PBUF_INIT;
	enum smtp_io_status st;

	pbuf_printf(&b, "%s\r\n", cmd);
	st = smtp_io_write(&c->io, b.data, b.len, timeout, why, sizeof(why));
	pbuf_free(&b);
	if (st == SMTP_IO_OK)
		st = smtp_io_reply(&c->io, rp, timeout, why, sizeof(why));
	if (st != SMTP_IO_OK) {
		smtp_result_io(fail, why, stage);
		return -1;
	}
	return 0;
}

/* The name we give in EHLO/HELO (LHLO): smtp_helo_name (lmtp_lhlo_name), else $myhostname. */
static const char *
smtp_client_helo_name(const struct smtp_client *c)
{
	const char *helo = conf_str(c->lmtp ? "lmtp_lhlo_name" : "smtp_helo_name");

	return *helo ? helo : conf_str("myhostname");
}

int
smtp_client_hello(struct smtp_client *c, struct smtp_result *fail)
{
	long long t = smtp_client_time(c, "helo_timeout");
	const char *helo = smtp_client_helo_name(c);
	char why[SMTP_IO_WHY_MAX];
	struct smtp_reply rp;
	struct pbuf cmd = PBUF_INIT;
	int rc = -1;

	smtp_reply_init(&rp);
	if (smtp_io_reply(&c->io, &rp, t, why, sizeof(why)) != SMTP_IO_OK) {
		smtp_result_io(fail, why, "receiving the initial server greeting");
		goto out;
	}
	if (SMTP_CODE_CLASS(rp.code) != 2) {
		smtp_result_reply(fail, &rp, "the initial greeting");
		goto out;
	}
	pbuf_printf(&cmd, "%s %s", c->lmtp ? "LHLO" : "EHLO", helo);
	if (smtp_client_command(c, cmd.data, &rp, t, c->lmtp ? "sending LHLO" : "sending EHLO",
	    fail) < 0)
		goto out;
	if (SMTP_CODE_CLASS(rp.code) == 2) {
		smtp_client_ehlo_ext(c, &rp);
		rc = 0;
		goto out;
	}
	if (c->lmtp) {
		/* LMTP has no HELO (RFC 2033 §4.1). */
		smtp_result_reply(fail, &rp, "LHLO");
		goto out;
	}
	if (rp.code == SMTP_CLOSING) {
		/* 421: the server is closing the channel; no HELO after it. */
		smtp_result_reply(fail, &rp, "EHLO");
		goto out;
	}
	c->ext = 0;
	pbuf_reset(&cmd);
	pbuf_printf(&cmd, "HELO %s", helo);
	if (smtp_client_command(c, cmd.data, &rp, t, "sending HELO", fail) < 0)
		goto out;
	if (SMTP_CODE_CLASS(rp.code) != 2) {
		smtp_result_reply(fail, &rp, "HELO");
		goto out;
	}
	rc = 0;
out:
	pbuf_free(&cmd);
	smtp_reply_free(&rp);
	return rc;
}

/* 1 when result r means the session is over (lost line, time-out, 421). */
static int
smtp_client_ends(const struct smtp_result *r)
{
	char code[8];

	if (r->status == SMTP_RESULT_NONE || r->text == NULL)
		return 0;
	if (!r->remote)
		return r->status == 4 && strcmp(r->dsn, SMTP_IO_FAIL_DSN) == 0;
	snprintf(code, sizeof(code), "%d", SMTP_CLOSING);
	return strncmp(r->text, code, 3) == 0;
}

static int
smtp_client_has_8bit(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s & 0x80)
			return 1;
	return 0;
}

static void
smtp_client_mail_cmd(const struct smtp_client *c, const struct qenv *env, size_t len,
    int utf8, struct pbuf *b)
{
	pbuf_printf(b, "MAIL FROM:<%s>", env->sender ? env->sender : "");
	if (c->ext & SMTP_EXT_SIZE)
		pbuf_printf(b, " SIZE=%zu", len);
	if ((env->flags & QF_8BITMIME) && (c->ext & SMTP_EXT_8BITMIME))
		pbuf_puts(b, " BODY=8BITMIME");
	if (utf8)
		pbuf_puts(b, " SMTPUTF8");
	if (c->ext & SMTP_EXT_DSN) {
		if (env->ret == QRET_FULL)
			pbuf_puts(b, " RET=FULL");
		else if (env->ret == QRET_HDRS)
			pbuf_puts(b, " RET=HDRS");
		if (env->envid != NULL)
			pbuf_printf(b, " ENVID=%s", env->envid);
	}
	pbuf_puts(b, "\r\n");
}

static void
smtp_client_rcpt_cmd(const struct smtp_client *c, const struct qrcpt *r, struct pbuf *b)
{
	pbuf_printf(b, "RCPT TO:<%s>", r->addr);
	if (c->ext & SMTP_EXT_DSN) {
		if (r->notify & QN_NEVER) {
			pbuf_puts(b, " NOTIFY=NEVER");
		} else if (r->notify != 0) {
			const char *sep = " NOTIFY=";

			if (r->notify & QN_SUCCESS) {
				pbuf_printf(b, "%sSUCCESS", sep);
				sep = ",";
			}
			if (r->notify & QN_FAILURE) {
				pbuf_printf(b, "%sFAILURE", sep);
				sep = ",";
			}
			if (r->notify & QN_DELAY)
				pbuf_printf(b, "%sDELAY", sep);
		}
		if (r->orcpt != NULL)
			pbuf_printf(b, " ORCPT=%s", r->orcpt);
	}
	pbuf_puts(b, "\r\n");
}

/* The content with CRLF line ends and dot-stuffing, then ".". */
static void
smtp_client_body(const char *content, size_t len, struct pbuf *b)
{
	size_t i, start = 0;

	pbuf_reserve(b, len + len / 32 + 8);
	for (i = 0; i < len; i++) {
		if (content[i] != '\n')
			continue;
		if (content[start] == '.')
			pbuf_putc(b, '.');
		pbuf_append(b, content + start, i - start);
		if (i > start && content[i - 1] == '\r')
			pbuf_truncate(b, b->len - 1);
		pbuf_puts(b, "\r\n");
		start = i + 1;
	}
	if (start < len) {
		if (content[start] == '.')
			pbuf_putc(b, '.');
		pbuf_append(b, content + start, len - start);
		pbuf_puts(b, "\r\n");
	}
	pbuf_puts(b, ".\r\n");
}

/* Every recipient without a result gets r's. */
static void
smtp_client_rest(struct smtp_result *res, size_t n, const struct smtp_result *r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (res[i].status == SMTP_RESULT_NONE)
			smtp_result_set(&res[i], r->status, r->dsn, r->text, r->remote, r->cmd);
}

/*
 * LMTP after the dot (RFC 2033 §4.2): one reply for each accepted
 * recipient, in the order of the RCPT commands. Each settles its
 * recipient (res[i].cmd set to "end of DATA"); when the line fails
 * midway, fail holds why and the rest share it.
 */
static void
smtp_client_lmtp_done(struct smtp_client *c, struct smtp_result *res, size_t n,
    struct smtp_result *fail)
{
	char why[SMTP_IO_WHY_MAX];
	struct smtp_reply rp;
	size_t i;

	smtp_reply_init(&rp);
	for (i = 0; i < n; i++) {
		if (res[i].status != 0 || res[i].cmd != NULL)
			continue;
		if (smtp_io_reply(&c->io, &rp, smtp_client_time(c, "data_done_timeout"), why,
		    sizeof(why)) != SMTP_IO_OK) {
			smtp_result_io(fail, why,
			    "sending end of data -- message may be sent more than once");
			break;
		}
		smtp_result_reply(&res[i], &rp, "end of DATA");
	}
	smtp_reply_free(&rp);
}

void
smtp_client_transaction(struct smtp_client *c, const struct qenv *env, const char *content,
    size_t len, const size_t *idx, size_t n, struct smtp_result *res)
{
	long long tmail = smtp_client_time(c, "mail_timeout");
	long long trcpt = smtp_client_time(c, "rcpt_timeout");
	struct smtp_result fail = { SMTP_RESULT_NONE, "", NULL, 0, NULL };
	struct smtp_reply rp;
	struct pbuf b = PBUF_INIT;
	char why[SMTP_IO_WHY_MAX];
	enum smtp_io_status st;
	size_t i, accepted = 0;
	int utf8 = smtp_client_has_8bit(env->sender);

	smtp_reply_init(&rp);
	for (i = 0; i < n; i++)
		utf8 |= smtp_client_has_8bit(env->rcpt[idx[i]].addr);
	if ((c->ext & SMTP_EXT_SIZE) && c->size_max > 0 && len > c->size_max) {
		snprintf(why, sizeof(why), "message size %zu exceeds size limit %llu of server %s",
		    len, c->size_max, c->io.peer);
		smtp_result_set(&fail, 5, "5.3.4", why, 0, NULL);
		goto settle;
	}
	if (utf8 && !(c->ext & SMTP_EXT_SMTPUTF8)) {
		snprintf(why, sizeof(why), "SMTPUTF8 is required, but was not offered by host %s",
		    c->io.peer);
		smtp_result_set(&fail, 5, "5.6.7", why, 0, NULL);
		goto settle;
	}
	utf8 = (c->ext & SMTP_EXT_SMTPUTF8) && (utf8 || (env->flags & QF_SMTPUTF8));
	/* MAIL, then the RCPTs: in one write with PIPELINING, else one by one. */
	smtp_client_mail_cmd(c, env, len, utf8, &b);
	if (!(c->ext & SMTP_EXT_PIPELINING)) {
		st = smtp_io_write(&c->io, b.data, b.len, tmail, why, sizeof(why));
		if (st == SMTP_IO_OK)
			st = smtp_io_reply(&c->io, &rp, tmail, why, sizeof(why));
		if (st != SMTP_IO_OK) {
			smtp_result_io(&fail, why, "sending MAIL FROM");
			goto settle;
		}
		if (SMTP_CODE_CLASS(rp.code) != 2) {
			smtp_result_reply(&fail, &rp, "MAIL FROM");
			goto settle;
		}
		for (i = 0; i < n; i++) {
			pbuf_reset(&b);
			smtp_client_rcpt_cmd(c, &env->rcpt[idx[i]], &b);
			st = smtp_io_write(&c->io, b.data, b.len, trcpt, why, sizeof(why));
			if (st == SMTP_IO_OK)
				st = smtp_io_reply(&c->io, &rp, trcpt, why, sizeof(why));
			if (st != SMTP_IO_OK) {
				smtp_result_io(&fail, why, "sending RCPT TO");
				goto settle;
			}
			smtp_result_reply(&res[i], &rp, "RCPT TO");
			if (res[i].status == 0) {
				res[i].cmd = NULL;
				accepted++;
			}
		}
	} else {
		int mail_ok;

		for (i = 0; i < n; i++)
			smtp_client_rcpt_cmd(c, &env->rcpt[idx[i]], &b);
		st = smtp_io_write(&c->io, b.data, b.len, tmail, why, sizeof(why));
		if (st == SMTP_IO_OK)
			st = smtp_io_reply(&c->io, &rp, tmail, why, sizeof(why));
		if (st != SMTP_IO_OK) {
			smtp_result_io(&fail, why, "sending MAIL FROM");
			goto settle;
		}
		mail_ok = SMTP_CODE_CLASS(rp.code) == 2;
		if (!mail_ok)
			smtp_result_reply(&fail, &rp, "MAIL FROM");
		for (i = 0; i < n; i++) {
			st = smtp_io_reply(&c->io, &rp, trcpt, why, sizeof(why));
			if (st != SMTP_IO_OK) {
				if (mail_ok)
					smtp_result_io(&fail, why, "sending RCPT TO");
				goto settle;
			}
			if (!mail_ok)
				continue;
			smtp_result_reply(&res[i], &rp, "RCPT TO");
			if (res[i].status == 0) {
				res[i].cmd = NULL;
				accepted++;
			}
		}
		if (!mail_ok)
			goto settle;
	}
	if (accepted == 0)
		goto out;
	/* DATA, the content, the dot. */
	if (smtp_client_command(c, "DATA", &rp, smtp_client_time(c, "data_init_timeout"),
	    "sending DATA command", &fail) < 0)
		goto accepted;
	if (rp.code != SMTP_DATA_GO) {
		smtp_result_reply(&fail, &rp, "DATA");
		goto accepted;
	}
	pbuf_reset(&b);
	smtp_client_body(content, len, &b);
	st = smtp_io_write(&c->io, b.data, b.len, smtp_client_time(c, "data_xfer_timeout"), why,
	    sizeof(why));
	if (st != SMTP_IO_OK) {
		smtp_result_io(&fail, why, "sending message body");
		goto accepted;
	}
	if (c->lmtp) {
		smtp_client_lmtp_done(c, res, n, &fail);
		goto accepted;
	}
	st = smtp_io_reply(&c->io, &rp, smtp_client_time(c, "data_done_timeout"), why,
	    sizeof(why));
	if (st != SMTP_IO_OK) {
		smtp_result_io(&fail, why, "sending end of data -- message may be sent more than once");
		goto accepted;
	}
	smtp_result_reply(&fail, &rp, "end of DATA");
accepted:
	/* The accepted recipients share the fate of DATA. */
	for (i = 0; i < n; i++)
		if (res[i].status == 0 && res[i].cmd == NULL)
			smtp_result_set(&res[i], fail.status, fail.dsn, fail.text, fail.remote,
			    fail.cmd);
	goto out;
settle:
	/* Accepted ones too: without DATA, nothing was delivered. */
	for (i = 0; i < n; i++)
		if (res[i].status == 0)
			res[i].status = SMTP_RESULT_NONE;
	smtp_client_rest(res, n, &fail);
out:
	/* An I/O failure (4.4.2 of our own) or a 421 anywhere ends the session. */
	c->broken |= smtp_client_ends(&fail);
	for (i = 0; i < n; i++)
		c->broken |= smtp_client_ends(&res[i]);
	smtp_result_free(&fail);
	smtp_reply_free(&rp);
	pbuf_free(&b);
}

int
smtp_client_ehlo(struct smtp_client *c, struct smtp_result *fail)
{
	const char *helo = smtp_client_helo_name(c);
	struct smtp_reply rp;
	struct pbuf cmd = PBUF_INIT;
	int rc = -1;

	smtp_reply_init(&rp);
	pbuf_printf(&cmd, "EHLO %s", helo);
	if (smtp_client_command(c, cmd.data, &rp, smtp_client_time(c, "helo_timeout"), "sending EHLO",
	    fail) < 0)
		goto out;
	if (SMTP_CODE_CLASS(rp.code) != 2) {
		smtp_result_reply(fail, &rp, "EHLO");
		goto out;
	}
	smtp_client_ehlo_ext(c, &rp);
	rc = 0;
out:
	pbuf_free(&cmd);
	smtp_reply_free(&rp);
	return rc;
}

int
smtp_client_rset(struct smtp_client *c)
{
	struct smtp_result fail = { SMTP_RESULT_NONE, "", NULL, 0, NULL };
	struct smtp_reply rp;
	int rc = -1;

	smtp_reply_init(&rp);
	if (!c->broken && c->io.fd >= 0 && smtp_client_command(c, "RSET", &rp,
	    smtp_client_time(c, "rset_timeout"), "sending RSET", &fail) == 0
	    && SMTP_CODE_CLASS(rp.code) == 2)
		rc = 0;
	if (rc < 0)
		c->broken = 1;
	smtp_result_free(&fail);
	smtp_reply_free(&rp);
	return rc;
}

void
smtp_client_quit(struct smtp_client *c)
{
	char why[SMTP_IO_WHY_MAX];
	long long t = smtp_client_time(c, "quit_timeout");
	struct smtp_reply rp;

	smtp_reply_init(&rp);
	if (c->io.fd >= 0 && smtp_io_write(&c->io, "QUIT\r\n", sizeof("QUIT\r\n") - 1, t, why,
	    sizeof(why)) == SMTP_IO_OK)
		(void)smtp_io_reply(&c->io, &rp, t, why, sizeof(why));
	smtp_reply_free(&rp);
	smtp_io_close(&c->io);
}
