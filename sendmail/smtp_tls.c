/*
 * smtp_tls - STARTTLS for the SMTP client; see smtp_tls.h.
 *
 * The TLS layer replaces the plain byte layer of smtp_io (io->ops,
 * io->ctx = the struct tls_conn); smtp_io_close() ends it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "smtp_tls.h"
#include "tls.h"
#include "tls_policy.h"
#include "xalloc.h"

#define SMTP_TLS_READY		220	/* "220 Ready to start TLS" */
#define SMTP_CODE_CLASS(c)	((c) / 100)
#define SMTP_TLS_NOTE_MAX	1024	/* room for a policy's note in a reason */
#define SMTP_TLS_NOTE(p)	((p)->note != NULL ? (p)->note : "")

/* The byte layer over TLS (smtp_io_ops). */
static ssize_t
smtp_tls_read(struct smtp_io *io, void *buf, size_t len)
{
	ssize_t n = tls_read(io->ctx, buf, len, (int)io->timeout);

	if (n < 0 && errno == ETIMEDOUT)
		errno = EAGAIN;	/* smtp_io_reply sees the deadline passed and says so */
	return n;
}

static ssize_t
smtp_tls_write(struct smtp_io *io, const void *buf, size_t len)
{
	if (tls_write(io->ctx, buf, len, (int)io->timeout) < 0)
		return -1;
	return (ssize_t)len;
}

static void
smtp_tls_close(struct smtp_io *io)
{
	if (io->ctx != NULL)
		tls_close(io->ctx);
	io->ctx = NULL;
}

static const struct smtp_io_ops smtp_tls_ops = { smtp_tls_read, smtp_tls_write, smtp_tls_close };

/*
 * The process's client context, made again when the CA parameters or the
 * policy's protocols, cipher grade or exclusions change.
 */
static struct tls_ctx *smtp_tls_ctx;
static char *smtp_tls_ctx_key;

static struct tls_ctx *
smtp_tls_context(const struct smtp_tls_policy *pol, char *err, size_t errlen)
{
	const char *file = conf_str("smtp_tls_CAfile"), *path = conf_str("smtp_tls_CApath");
	char *key = xasprintf("%s\n%s\n%s\n%s\n%s", file, path, pol->protocols, pol->grade,
	    pol->exclude);

	if (smtp_tls_ctx != NULL && strcmp(key, smtp_tls_ctx_key) == 0) {
		free(key);
		return smtp_tls_ctx;
	}
	tls_ctx_free(smtp_tls_ctx);
	free(smtp_tls_ctx_key);
	smtp_tls_ctx_key = NULL;
	smtp_tls_ctx = tls_client_ctx(file, path, err, errlen);
	if (smtp_tls_ctx != NULL && tls_policy_set(smtp_tls_ctx, pol->protocols, pol->pname,
	    pol->grade, pol->gname, pol->exclude, 0, err, errlen) < 0) {
		tls_ctx_free(smtp_tls_ctx);
		smtp_tls_ctx = NULL;
	}
	if (smtp_tls_ctx == NULL) {
		free(key);
		return NULL;
	}
	smtp_tls_ctx_key = key;
	return smtp_tls_ctx;
}

static void smtp_tls_fail(struct smtp_result *fail, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Defers with dsn and the reason. */
static void
smtp_tls_fail(struct smtp_result *fail, const char *dsn, const char *fmt, ...)
{
	char text[SMTP_IO_WHY_MAX + SMTP_IO_NAME_MAX + SMTP_TLS_NOTE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_result_set(fail, 4, dsn, text, 0, NULL);
}

/*
 * The context for the policy, or NULL when it cannot be made (logged):
 * *rc is then SMTP_TLS_GO under "may" (plain text) and SMTP_TLS_FAIL
 * otherwise. Asked before STARTTLS is sent, since after its 220 there is
 * no way back.
 */
static struct tls_ctx *
smtp_tls_ready(const struct smtp_tls_policy *pol, struct smtp_result *fail,
    enum smtp_tls_result *rc)
{
	char err[2 * TLS_ERR_MAX];
	struct tls_ctx *ctx = smtp_tls_context(pol, err, sizeof(err));

	if (ctx != NULL) {
		tls_ctx_loglevel(ctx, atoi(conf_str("smtp_tls_loglevel")));
		return ctx;
	}
	log_warn("TLS client initialization failed: %s", err);
	if (pol->level == SMTP_TLS_MAY) {
		*rc = SMTP_TLS_GO;
	} else {
		smtp_tls_fail(fail, "4.7.5", "TLS client initialization failed: %s%s", err,
		    SMTP_TLS_NOTE(pol));
		*rc = SMTP_TLS_FAIL;
	}
	return NULL;
}

/* 1 when name (hex bytes, ':' between them optional) is fp ("AB:CD:..."). */
static int
smtp_tls_fpt_equal(const char *name, const char *fp)
{
	for (;;) {
		while (*name == ':')
			name++;
		while (*fp == ':')
			fp++;
		if (*name == '\0' || *fp == '\0')
			return *name == *fp;
		if (toupper((unsigned char)*name) != toupper((unsigned char)*fp))
			return 0;
		name++;
		fp++;
	}
}

/* fingerprint: 1 when the certificate's or its public key's fingerprint is listed. */
static int
smtp_tls_fpt_match(struct tls_conn *conn, const struct smtp_tls_policy *pol)
{
	const char *digest = conf_str("smtp_tls_fingerprint_digest");
	char fp[2][TLS_FPT_MAX];
	size_t i, k;

	for (k = 0; k < 2; k++) {
		if (tls_peer_fingerprint(conn, digest, (int)k, fp[k], sizeof(fp[k])) < 0) {
			log_warn("smtp_tls_fingerprint_digest = %s: no fingerprint of the server "
			    "certificate (unknown digest?)", digest);
			return 0;
		}
	}
	for (i = 0; i < pol->match.n; i++)
		for (k = 0; k < 2; k++)
			if (smtp_tls_fpt_equal(pol->match.v[i], fp[k]))
				return 1;
	if (atoi(conf_str("smtp_tls_loglevel")) >= 1)
		log_info("certificate fingerprint %s, public key fingerprint %s: not listed",
		    fp[0], fp[1]);
	return 0;
}

/* verify, secure: 1 when the certificate matches one of the policy's names. */
static int
smtp_tls_name_match(struct tls_conn *conn, const struct smtp_tls_policy *pol,
    const char *host, const char *nexthop)
{
	size_t i;

	for (i = 0; i < pol->match.n; i++) {
		const char *m = pol->match.v[i];
		int hit;

		if (strcasecmp(m, "hostname") == 0) {
			hit = tls_peer_match(conn, host);
		} else if (strcasecmp(m, "nexthop") == 0) {
			hit = tls_peer_match(conn, nexthop);
		} else if (strcasecmp(m, "dot-nexthop") == 0) {
			char *dot = xasprintf(".%s", nexthop);

			hit = tls_peer_match(conn, dot);
			free(dot);
		} else {
			hit = tls_peer_match(conn, m);
		}
		if (hit)
			return 1;
	}
	return 0;
}

/*
 * The handshake on c's connection, and the checks after it: the TLS
 * line in the log, the certificate at levels fingerprint, verify and
 * secure. A failed handshake leaves the connection unusable: it is
 * closed (no QUIT).
 */
static enum smtp_tls_result
smtp_tls_handshake(struct smtp_client *c, struct tls_ctx *ctx,
    const struct smtp_tls_policy *pol, const char *host, const char *nexthop, unsigned port,
    struct smtp_result *fail)
{
	char err[TLS_ERR_MAX];
	struct tls_conn *conn;
	const char *trust;
	int matched = 0;

	conn = tls_connect_sni(ctx, c->io.fd, host, (int)conf_time("smtp_starttls_timeout"), err,
	    sizeof(err));
	if (conn == NULL) {
		log_info("SSL_connect error to %s:%u: %s", c->io.peer, port, err);
		smtp_tls_fail(fail, "4.7.5", "Cannot start TLS: handshake failure%s", SMTP_TLS_NOTE(pol));
		smtp_io_close(&c->io);
		return pol->level == SMTP_TLS_MAY ? SMTP_TLS_RETRY_PLAIN : SMTP_TLS_FAIL;
	}
	c->io.ops = &smtp_tls_ops;
	c->io.ctx = conn;
	c->tls = 1;
	if (pol->level == SMTP_TLS_FINGERPRINT) {
		matched = smtp_tls_fpt_match(conn, pol);
		trust = matched ? "Verified" : "Untrusted";
	} else if (pol->level >= SMTP_TLS_VERIFY) {
		matched = tls_peer_verified(conn) && smtp_tls_name_match(conn, pol, host, nexthop);
		trust = matched ? "Verified" : "Untrusted";
	} else {
		trust = tls_peer_verified(conn) && tls_peer_match(conn, host) ? "Trusted" :
		    "Untrusted";
	}
	if (atoi(conf_str("smtp_tls_loglevel")) >= 1)
		log_info("%s TLS connection established to %s:%u: %s with cipher %s (%d/%d bits)",
		    trust, c->io.peer, port, tls_version(conn), tls_cipher(conn),
		    tls_cipher_bits(conn), tls_cipher_alg_bits(conn));
	if (pol->level >= SMTP_TLS_FINGERPRINT && !matched) {
		smtp_tls_fail(fail, "4.7.5", "Server certificate not verified%s", SMTP_TLS_NOTE(pol));
		return SMTP_TLS_FAIL;
	}
	return SMTP_TLS_GO;
}

enum smtp_tls_result
smtp_tls_wrap(struct smtp_client *c, const struct smtp_tls_policy *pol, const char *host,
    const char *nexthop, unsigned port, struct smtp_result *fail)
{
	enum smtp_tls_result rc = SMTP_TLS_FAIL;
	struct tls_ctx *ctx = smtp_tls_ready(pol, fail, &rc);

	if (ctx == NULL)
		return rc;
	rc = smtp_tls_handshake(c, ctx, pol, host, nexthop, port, fail);
	/* Nothing to fall back to: a failed handshake fails the server. */
	return rc == SMTP_TLS_RETRY_PLAIN ? SMTP_TLS_FAIL : rc;
}

enum smtp_tls_result
smtp_tls_start(struct smtp_client *c, const struct smtp_tls_policy *pol, const char *host,
    const char *nexthop, unsigned port, struct smtp_result *fail)
{
	struct smtp_reply rp;
	struct tls_ctx *ctx;
	enum smtp_tls_result rc = SMTP_TLS_FAIL;

	if (pol->level == SMTP_TLS_NONE || c->tls)
		return SMTP_TLS_GO;
	if (!(c->ext & SMTP_EXT_STARTTLS)) {
		if (pol->level == SMTP_TLS_MAY)
			return SMTP_TLS_GO;
		smtp_tls_fail(fail, "4.7.4", "TLS is required, but was not offered by host %s%s",
		    c->io.peer, SMTP_TLS_NOTE(pol));
		return SMTP_TLS_FAIL;
	}
	ctx = smtp_tls_ready(pol, fail, &rc);
	if (ctx == NULL)
		return rc;
	smtp_reply_init(&rp);
	if (smtp_client_command(c, "STARTTLS", &rp, conf_time("smtp_starttls_timeout"),
	    "sending STARTTLS", fail) < 0)
		goto out;
	if (rp.code != SMTP_TLS_READY) {
		if (pol->level == SMTP_TLS_MAY && SMTP_CODE_CLASS(rp.code) != 2) {
			/* Refused: go on in plain text on this connection. */
			rc = SMTP_TLS_GO;
			goto out;
		}
		smtp_tls_fail(fail, "4.7.5", "TLS is required, but host %s refused to start TLS: "
		    "%s%s", c->io.peer, pbuf_str(&rp.text), SMTP_TLS_NOTE(pol));
		goto out;
	}
	if (c->io.in.len > 0) {
		/* RFC 3207 §4.2: bytes after the 220 are not to be trusted. */
		smtp_tls_fail(fail, "4.7.5", "Cannot start TLS: host %s sent data after its "
		    "STARTTLS reply%s", c->io.peer, SMTP_TLS_NOTE(pol));
		goto out;
	}
	rc = smtp_tls_handshake(c, ctx, pol, host, nexthop, port, fail);
	if (rc == SMTP_TLS_GO && smtp_client_ehlo(c, fail) < 0)
		rc = SMTP_TLS_FAIL;
out:
	smtp_reply_free(&rp);
	return rc;
}
