/*
 * bounce - builds delivery status notifications (RFC 3464); see bounce.h.
 *
 * API: bounce_build(), bounce_build_opts(). Neither fails: any bytes in
 * the envelope or the content give a well-formed notice.
 *
 * A notice, LF line endings:
 *   headers  Date, From: MAILER-DAEMON@$myhostname (Mail Delivery System),
 *            To, Subject, Message-Id, Auto-Submitted: auto-replied,
 *            MIME-Version, Content-Type: multipart/report;
 *            report-type=delivery-status; boundary="...",
 *            Content-Transfer-Encoding (7bit, or 8bit when any byte is);
 *   part 1   text/plain; charset=us-ascii (Content-Description:
 *            Notification): what happened and one "<addr>: reason" line
 *            per recipient (control and 8-bit bytes shown as '?');
 *   part 2   message/delivery-status (Content-Description: Delivery
 *            report): the per-message fields in RFC 3464's order
 *            (Original-Envelope-Id, Reporting-MTA, Arrival-Date, then the
 *            extension fields X-Petrel-Queue-ID, X-Petrel-Sender), then per
 *            recipient Original-Recipient (the ORCPT, xtext decoded, else
 *            the address), Final-Recipient, Action, Status, Diagnostic-Code
 *            (when known), Will-Retry-Until (delay notices);
 *   part 3   the original: message/rfc822 for a failure notice when the
 *            sender did not ask for RET=HDRS and the content is at most
 *            bounce_size_limit bytes, else text/rfc822-headers (delay
 *            notices, success reports and postmaster copies always carry
 *            the headers only).
 * The boundary is "QUEUEID.TIME/$myhostname"; should the content hold it,
 * a counter is appended until it does not.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "cleanup.h"
#include "conf.h"
#include "header.h"
#include "pbuf.h"
#include "qfile.h"
#include "xalloc.h"

#define BOUNCE_FROM_NAME	"Mail Delivery System"
#define BOUNCE_FROM_LOCAL	"MAILER-DAEMON"
#define BOUNCE_BOUNDARY_TRIES	1000
#define BOUNCE_STAMP_MAX	32
#define BOUNCE_SECONDS_HOUR	3600
#define BOUNCE_SECONDS_MINUTE	60

/* 1 when the bytes hold anything outside 7-bit ASCII. */
static int
bounce_has_8bit(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] & 0x80)
			return 1;
	return 0;
}

/* Text for a 7-bit part: control bytes become spaces, 8-bit bytes '?'. */
static void
bounce_put_text(struct pbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c & 0x80)
			pbuf_putc(b, '?');
		else if (c < 0x20 || c == 0x7f)
			pbuf_putc(b, ' ');
		else
			pbuf_putc(b, c);
	}
}

/* An address for a field: control bytes become spaces, 8-bit kept. */
static void
bounce_put_addr(struct pbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		pbuf_putc(b, c < 0x20 || c == 0x7f ? ' ' : c);
	}
}

/* "rfc822; addr", or "utf-8; addr" for an internationalized address. */
static void
bounce_put_typed_addr(struct pbuf *b, const char *addr)
{
	pbuf_puts(b, bounce_has_8bit(addr, strlen(addr)) ? "utf-8; " : "rfc822; ");
	bounce_put_addr(b, addr);
}

static int
bounce_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An ORCPT "type;xtext" as "type; decoded"; malformed xtext is shown as given. */
static void
bounce_put_orcpt(struct pbuf *b, const char *orcpt)
{
	const char *semi = strchr(orcpt, ';');
	struct pbuf dec = PBUF_INIT;
	const char *p;

	if (semi == NULL || semi == orcpt) {
		bounce_put_typed_addr(b, orcpt);
		return;
	}
	for (p = semi + 1; *p; p++) {
		if (*p == '+') {
			int hi = bounce_hexval((unsigned char)p[1]);
			int lo = hi < 0 ? -1 : bounce_hexval((unsigned char)p[2]);

			if (lo < 0)
				break;
			pbuf_putc(&dec, hi * 16 + lo);
			p += 2;
		} else {
			pbuf_putc(&dec, *p);
		}
	}
	pbuf_append(b, orcpt, (size_t)(semi - orcpt));
	pbuf_puts(b, "; ");
	bounce_put_addr(b, *p ? semi + 1 : pbuf_str(&dec));
	pbuf_free(&dec);
}

/* A DSN status "d.ddd.ddd" of the right class, else the class default. */
static const char *
bounce_status(const char *dsn, enum bounce_kind kind)
{
	const char *def = kind == BOUNCE_FAILED ? "5.0.0" : kind == BOUNCE_DELAYED ? "4.0.0"
	    : "2.0.0";
	const char *p = dsn;
	int part, digits;

	if (dsn == NULL || (*dsn != '2' && *dsn != '4' && *dsn != '5'))
		return def;
	for (part = 0; part < 3; part++) {
		if (part > 0 && *p++ != '.')
			return def;
		for (digits = 0; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (digits == 0 || digits > (part == 0 ? 1 : 3))
			return def;
	}
	return *p == '\0' ? dsn : def;
}

/* The readable reason of one recipient. */
static const char *
bounce_reason(const struct bounce_rcpt *r, enum bounce_kind kind)
{
	const char *semi;

	if (r->reason && *r->reason)
		return r->reason;
	if (r->diagnostic && *r->diagnostic) {
		semi = strchr(r->diagnostic, ';');
		if (semi == NULL)
			return r->diagnostic;
		for (semi++; *semi == ' '; semi++)
			;
		return semi;
	}
	return bounce_status(r->dsn, kind);
}

/* "2 hours", "5 minutes", "40 seconds": how long the mail has waited. */
static void
bounce_put_age(struct pbuf *b, time_t age)
{
	long v;
	const char *unit;

	if (age < 0)
		age = 0;
	if (age >= BOUNCE_SECONDS_HOUR) {
		v = (long)(age / BOUNCE_SECONDS_HOUR);
		unit = "hour";
	} else if (age >= BOUNCE_SECONDS_MINUTE) {
		v = (long)(age / BOUNCE_SECONDS_MINUTE);
		unit = "minute";
	} else {
		v = (long)age;
		unit = "second";
	}
	pbuf_printf(b, "%ld %s%s", v, unit, v == 1 ? "" : "s");
}

static void
bounce_put_date(struct pbuf *b, time_t t)
{
	cleanup_rfc5322_date(t, b);
}

/* The readable first part. */
static void
bounce_part_text(struct pbuf *b, const struct bounce_opts *o, const struct qenv *env,
    const struct bounce_rcpt *rcpts, size_t n)
{
	size_t i;

	pbuf_printf(b, "This is the %s mail system at host ", conf_str("mail_name"));
	bounce_put_text(b, conf_str("myhostname"));
	pbuf_puts(b, ".\n\n");
	if (o->postmaster_copy) {
		pbuf_puts(b, "This copy is for the postmaster. A delivery status notice\n"
		    "could not be delivered, or the mail system was told to report\n"
		    "this event. The headers of the message are attached.\n\n");
	}
	switch (o->kind) {
	case BOUNCE_FAILED:
		pbuf_puts(b, "Your message could not be delivered to one or more of its\n"
		    "recipients. They are listed below with the reason; the message\n"
		    "(or its headers) is attached.\n\n"
		    "If you need help, write to the postmaster of this host and\n"
		    "include this report. You may delete your own text from the\n"
		    "attached message.\n\n");
		break;
	case BOUNCE_DELAYED:
		pbuf_puts(b, "THIS IS A WARNING ONLY. You do not need to send your message\n"
		    "again.\n\nYour message has not been delivered to the recipients below "
		    "for\n");
		bounce_put_age(b, o->now - env->arrival.tv_sec);
		pbuf_puts(b, ". The mail system will keep trying");
		if (o->retry_until > 0) {
			pbuf_puts(b, " until\n");
			bounce_put_date(b, o->retry_until);
		}
		pbuf_puts(b, ";\nyou will be told if it has to give up.\n\n");
		break;
	case BOUNCE_DELIVERED:
		pbuf_puts(b, "Your message was delivered to the recipients below, as you\n"
		    "asked. The headers of the message are attached.\n\n");
		break;
	}
	for (i = 0; i < n; i++) {
		pbuf_putc(b, '<');
		bounce_put_text(b, rcpts[i].addr);
		pbuf_puts(b, ">: ");
		bounce_put_text(b, bounce_reason(&rcpts[i], o->kind));
		pbuf_putc(b, '\n');
	}
}

/* The message/delivery-status part (RFC 3464 section 2). */
static void
bounce_part_status(struct pbuf *b, const struct bounce_opts *o, const struct qenv *env,
    const char *queue_id, const struct bounce_rcpt *rcpts, size_t n)
{
	const char *action = o->kind == BOUNCE_FAILED ? "failed"
	    : o->kind == BOUNCE_DELAYED ? "delayed" : "delivered";
	size_t i;

	if (env->envid && *env->envid) {
		pbuf_puts(b, "Original-Envelope-Id: ");
		bounce_put_text(b, env->envid);
		pbuf_putc(b, '\n');
	}
	pbuf_puts(b, "Reporting-MTA: dns; ");
	bounce_put_text(b, conf_str("myhostname"));
	pbuf_puts(b, "\nArrival-Date: ");
	bounce_put_date(b, env->arrival.tv_sec);
	pbuf_puts(b, "\nX-Petrel-Queue-ID: ");
	bounce_put_text(b, queue_id);
	pbuf_puts(b, "\nX-Petrel-Sender: ");
	bounce_put_typed_addr(b, env->sender ? env->sender : "");
	pbuf_putc(b, '\n');
	for (i = 0; i < n; i++) {
		const struct bounce_rcpt *r = &rcpts[i];

		pbuf_puts(b, "\nOriginal-Recipient: ");
		if (r->orcpt && *r->orcpt)
			bounce_put_orcpt(b, r->orcpt);
		else
			bounce_put_typed_addr(b, r->addr);
		pbuf_puts(b, "\nFinal-Recipient: ");
		bounce_put_typed_addr(b, r->addr);
		pbuf_printf(b, "\nAction: %s\nStatus: %s\n", r->action ? r->action : action,
		    bounce_status(r->dsn, o->kind));
		if (r->remote_mta && *r->remote_mta) {
			pbuf_puts(b, "Remote-MTA: dns; ");
			bounce_put_text(b, r->remote_mta);
			pbuf_putc(b, '\n');
		}
		if (r->diagnostic && *r->diagnostic) {
			pbuf_puts(b, "Diagnostic-Code: ");
			bounce_put_text(b, r->diagnostic);
			pbuf_putc(b, '\n');
		}
		if (o->kind == BOUNCE_DELAYED && o->retry_until > 0) {
			pbuf_puts(b, "Will-Retry-Until: ");
			bounce_put_date(b, o->retry_until);
			pbuf_putc(b, '\n');
		}
	}
}

/* Length of the header block of content, without the blank separator line. */
static size_t
bounce_header_len(const char *content, size_t len)
{
	struct headers h;
	size_t end = 0;

	headers_init(&h);
	headers_parse(content, len, &h);
	if (h.n > 0)
		end = (size_t)(h.v[h.n - 1].raw + h.v[h.n - 1].raw_len - content);
	headers_free(&h);
	return end;
}

/* 1 when the boundary occurs anywhere in the content (stricter than "--boundary"). */
static int
bounce_boundary_used(const char *content, size_t len, const char *boundary)
{
	size_t blen = strlen(boundary);

	return memmem(content, len, boundary, blen) != NULL;
}

void
bounce_message_id(time_t now, const char *notice_id, struct pbuf *out)
{
	char stamp[BOUNCE_STAMP_MAX];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	pbuf_printf(out, "%s.%s@", stamp, notice_id);
	bounce_put_text(out, conf_str("myhostname"));
}

int
bounce_build_opts(const struct bounce_opts *o, const struct qenv *env,
    const char *queue_id, const char *content, size_t len,
    const struct bounce_rcpt *rcpts, size_t n, struct pbuf *out)
{
	struct bounce_opts opt = *o;
	struct pbuf body = PBUF_INIT, boundary = PBUF_INIT;
	const char *host = conf_str("myhostname");
	const char *subject, *desc, *type;
	size_t ret_len, limit = (size_t)conf_int("bounce_size_limit");
	int full, tries;

	if (content == NULL)
		len = 0;
	if (opt.now == 0)
		opt.now = time(NULL);
	if (opt.to == NULL)
		opt.to = env->sender ? env->sender : "";
	if (opt.notice_id == NULL)
		opt.notice_id = queue_id;

	pbuf_printf(&boundary, "%s.%lld/%s", queue_id, (long long)opt.now, host);
	for (tries = 1; tries < BOUNCE_BOUNDARY_TRIES
	    && bounce_boundary_used(content ? content : "", len, pbuf_str(&boundary)); tries++) {
		pbuf_reset(&boundary);
		pbuf_printf(&boundary, "%s.%lld.%d/%s", queue_id, (long long)opt.now, tries, host);
	}

	if (opt.postmaster_copy)
		subject = opt.kind == BOUNCE_DELAYED ? BOUNCE_SUBJECT_PM_DELAYED
		    : BOUNCE_SUBJECT_PM_FAILED;
	else
		subject = opt.kind == BOUNCE_FAILED ? BOUNCE_SUBJECT_FAILED
		    : opt.kind == BOUNCE_DELAYED ? BOUNCE_SUBJECT_DELAYED
		    : BOUNCE_SUBJECT_DELIVERED;
	full = opt.kind == BOUNCE_FAILED && !opt.postmaster_copy && env->ret != QRET_HDRS
	    && (limit == 0 || len <= limit);
	if (full) {
		ret_len = len;
		type = "message/rfc822";
		desc = "Undelivered Message";
	} else {
		ret_len = bounce_header_len(content ? content : "", len);
		type = "text/rfc822-headers";
		desc = opt.kind == BOUNCE_FAILED ? "Undelivered Message Headers"
		    : opt.kind == BOUNCE_DELAYED ? "Delayed Message Headers" : "Message Headers";
	}

	/* The MIME body first: the top-level encoding depends on its bytes. */
	pbuf_puts(&body, "This is a MIME-encapsulated message.\n\n");
	pbuf_printf(&body, "--%s\nContent-Description: Notification\n"
	    "Content-Type: text/plain; charset=us-ascii\n\n", pbuf_str(&boundary));
	bounce_part_text(&body, &opt, env, rcpts, n);
	pbuf_printf(&body, "\n--%s\nContent-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n", pbuf_str(&boundary));
	bounce_part_status(&body, &opt, env, queue_id, rcpts, n);
	pbuf_printf(&body, "\n--%s\nContent-Description: %s\nContent-Type: %s\n", pbuf_str(&boundary),
	    desc, type);
	if (bounce_has_8bit(content ? content : "", ret_len))
		pbuf_puts(&body, "Content-Transfer-Encoding: 8bit\n");
	pbuf_putc(&body, '\n');
	if (ret_len > 0) {
		pbuf_append(&body, content, ret_len);
		if (content[ret_len - 1] != '\n')
			pbuf_putc(&body, '\n');
	}
	pbuf_printf(&body, "\n--%s--\n", pbuf_str(&boundary));

	pbuf_puts(out, "Date: ");
	bounce_put_date(out, opt.now);
	pbuf_printf(out, "\nFrom: %s@", BOUNCE_FROM_LOCAL);
	bounce_put_text(out, host);
	pbuf_printf(out, " (%s)\nTo: ", BOUNCE_FROM_NAME);
	bounce_put_addr(out, opt.to);
	pbuf_printf(out, "\nSubject: %s\n", subject);
	pbuf_puts(out, "Message-Id: <");
	bounce_message_id(opt.now, opt.notice_id, out);
	pbuf_printf(out, ">\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\nContent-Transfer-Encoding: %s\n\n", pbuf_str(&boundary),
	    bounce_has_8bit(body.data, body.len) ? "8bit" : "7bit");
	pbuf_append(out, body.data, body.len);
	pbuf_free(&body);
	pbuf_free(&boundary);
	return 0;
}

int
bounce_build(enum bounce_kind kind, const struct qenv *env, const char *queue_id,
    const char *content, size_t len, const struct bounce_rcpt *rcpts, size_t n,
    struct pbuf *out)
{
	struct bounce_opts o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	return bounce_build_opts(&o, env, queue_id, content, len, rcpts, n, out);
}
