/*
 * qfile - the byte format of queue files (doc/queue-format.md, version 1).
 *
 * API (qfile.h):
 *   qenv_init/qenv_free/qenv_set_sender/qenv_add_rcpt/qenv_set_attr/
 *   qenv_attr	build and inspect an envelope;
 *   qfile_format, qfile_format_head	serialize (refusing CR/LF in values);
 *   qfile_parse	parse a whole file held in memory;
 *   qfile_read_fd	read + parse from a descriptor (envelope only when the
 *			content is not wanted);
 *   qfile_mark_rcpt	flip one recipient's state byte in place.
 *
 * Errors: the writers return -1 with err naming the field ("recipient 2:
 * address contains a line break"). The readers never trust their input:
 * every line is bounded (QFILE_LINE_MAX), every record checked, the L
 * record must match the bytes actually present, the END marker must
 * follow and nothing may come after it; anything else is QFILE_CORRUPT
 * with err naming the line, its byte offset and the record. A read error
 * is QFILE_IOERR with errno kept.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pbuf.h"
#include "qfile.h"
#include "xalloc.h"

#define QF_LEN_DIGITS	20		/* width of the L value */
#define QF_USEC_DIGITS	6		/* digits after the dot of T */
#define QF_USEC_MAX	999999L
#define QF_SEC_DIGITS	19		/* most digits of the seconds of T */
#define QF_UID_MAX	4294967294ULL	/* (uid_t)-1 is "no uid" */
#define QF_HEAD_CHUNK	8192		/* first read of an envelope-only read */
#define QF_TIME_MAX	(sizeof(time_t) >= sizeof(long long) ? \
			    (unsigned long long)LLONG_MAX : (unsigned long long)INT_MAX)

/* Internal parser status: more bytes are needed (envelope-only reads). */
#define QP_MORE		1

/* Flag letters, in the order writers emit them. */
static const struct {
	unsigned bit;
	char letter;
} qf_flag_letters[] = {
	{ QF_EXTRACT_RCPT, 't' },
	{ QF_RAW, 'r' },
	{ QF_8BITMIME, '8' },
	{ QF_SMTPUTF8, 'u' },
	{ QF_FULLNAME_SET, 'n' },
	{ QF_SENDER_SET, 's' },
};
#define QF_NFLAGS	(sizeof(qf_flag_letters) / sizeof(qf_flag_letters[0]))

/* NOTIFY keywords, in the order writers emit them. */
static const struct {
	unsigned bit;
	const char *word;
} qf_notify_words[] = {
	{ QN_SUCCESS, "SUCCESS" },
	{ QN_FAILURE, "FAILURE" },
	{ QN_DELAY, "DELAY" },
};
#define QF_NNOTIFY	(sizeof(qf_notify_words) / sizeof(qf_notify_words[0]))
#define QN_KNOWN	(QN_NEVER | QN_SUCCESS | QN_FAILURE | QN_DELAY)
#define QF_KNOWN	(QF_EXTRACT_RCPT | QF_RAW | QF_8BITMIME | QF_SMTPUTF8 | \
			    QF_FULLNAME_SET | QF_SENDER_SET)

#define QF_RET_FULL	"FULL"
#define QF_RET_HDRS	"HDRS"
#define QF_NONE_FIELD	"-"		/* absent notify / orcpt in R records */
#define QF_NEVER_WORD	"NEVER"

/* ---- envelope helpers ---- */

void
qenv_init(struct qenv *e)
{
	memset(e, 0, sizeof(*e));
	e->id[0] = '\0';
	e->uid = -1;
	e->ret = QRET_NONE;
}

void
qenv_free(struct qenv *e)
{
	size_t i;

	free(e->sender);
	free(e->fullname);
	free(e->envid);
	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr);
		free(e->rcpt[i].orcpt);
	}
	free(e->rcpt);
	for (i = 0; i < e->nattr; i++) {
		free(e->attr[i].name);
		free(e->attr[i].value);
	}
	free(e->attr);
	qenv_init(e);
}

void
qenv_set_sender(struct qenv *e, const char *sender)
{
	free(e->sender);
	e->sender = sender ? xstrdup(sender) : NULL;
}

void
qenv_add_rcpt(struct qenv *e, const char *addr, unsigned notify, const char *orcpt)
{
	struct qrcpt *r;

	e->rcpt = xreallocarray(e->rcpt, e->nrcpt + 1, sizeof(*e->rcpt));
	r = &e->rcpt[e->nrcpt++];
	r->addr = xstrdup(addr);
	r->orcpt = orcpt && *orcpt ? xstrdup(orcpt) : NULL;
	r->notify = notify;
	r->state = QR_TODO;
	r->state_off = 0;
}

void
qenv_set_attr(struct qenv *e, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < e->nattr; i++) {
		if (strcmp(e->attr[i].name, name) == 0) {
			free(e->attr[i].value);
			e->attr[i].value = xstrdup(value);
			return;
		}
	}
	e->attr = xreallocarray(e->attr, e->nattr + 1, sizeof(*e->attr));
	e->attr[e->nattr].name = xstrdup(name);
	e->attr[e->nattr].value = xstrdup(value);
	e->nattr++;
}

const char *
qenv_attr(const struct qenv *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nattr; i++)
		if (strcmp(e->attr[i].name, name) == 0)
			return e->attr[i].value;
	return NULL;
}

/* ---- shared checks ---- */

static int
qf_is_id(const char *s, size_t n)
{
	size_t i;

	if (n != QID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static int
qf_attr_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > QFILE_ATTR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		    || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* An ORCPT value: printable ASCII, no space, 1..QFILE_ORCPT_MAX, not "-". */
static int
qf_orcpt_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > QFILE_ORCPT_MAX || (n == 1 && s[0] == '-'))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static void
qf_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
qf_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- writer ---- */

/* 1 when a value cannot be stored (a line break in it). */
static int
qf_bad_value(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static int
qf_format_fail(struct pbuf *out, size_t orig, char *err, size_t errlen,
    const char *what, const char *why)
{
	pbuf_truncate(out, orig);
	qf_seterr(err, errlen, "%s %s", what, why);
	errno = EINVAL;
	return -1;
}

#define QF_LINE_BREAK	"contains a line break"

static int
qf_format_undo(struct pbuf *out, size_t orig)
{
	pbuf_truncate(out, orig);
	errno = EINVAL;
	return -1;
}

/* A free-text singleton record (S, N, E); nothing when value is NULL. */
static int
qf_put_text(struct pbuf *out, char type, const char *value, const char *name,
    char *err, size_t errlen)
{
	size_t line_start = out->len;

	if (value == NULL)
		return 0;
	if (qf_bad_value(value)) {
		qf_seterr(err, errlen, "%s %s", name, QF_LINE_BREAK);
		return -1;
	}
	pbuf_printf(out, "%c %s\n", type, value);
	if (out->len - line_start > QFILE_LINE_MAX) {
		qf_seterr(err, errlen, "%s is too long", name);
		return -1;
	}
	return 0;
}

int
qfile_format_head(const struct qenv *e, size_t len, struct pbuf *out,
    char *err, size_t errlen)
{
	size_t orig = out->len, line_start, i, k;
	char what[64];

	pbuf_puts(out, QFILE_MAGIC "\n");
	if (e->id[0] != '\0') {
		if (!qf_is_id(e->id, strnlen(e->id, sizeof(e->id))))
			return qf_format_fail(out, orig, err, errlen, "queue ID",
			    "is not 14 characters of [0-9A-F]");
		pbuf_printf(out, "I %s\n", e->id);
	}
	if (e->arrival.tv_sec < 0 || e->arrival.tv_usec < 0
	    || e->arrival.tv_usec > QF_USEC_MAX)
		return qf_format_fail(out, orig, err, errlen, "arrival time",
		    "is out of range");
	pbuf_printf(out, "T %lld.%06ld\n", (long long)e->arrival.tv_sec,
	    (long)e->arrival.tv_usec);
	if (e->flags & ~QF_KNOWN)
		return qf_format_fail(out, orig, err, errlen, "flags",
		    "hold an unknown bit");
	if (e->flags) {
		pbuf_puts(out, "F ");
		for (i = 0; i < QF_NFLAGS; i++)
			if (e->flags & qf_flag_letters[i].bit)
				pbuf_putc(out, qf_flag_letters[i].letter);
		pbuf_putc(out, '\n');
	}

	if (qf_put_text(out, 'S', e->sender, "sender", err, errlen) < 0)
		return qf_format_undo(out, orig);
	if (e->uid >= 0) {
		if ((unsigned long long)e->uid > QF_UID_MAX)
			return qf_format_fail(out, orig, err, errlen, "uid",
			    "is out of range");
		pbuf_printf(out, "U %ld\n", e->uid);
	}
	if (qf_put_text(out, 'N', e->fullname, "full name", err, errlen) < 0
	    || qf_put_text(out, 'E', e->envid, "ENVID", err, errlen) < 0)
		return qf_format_undo(out, orig);
	switch (e->ret) {
	case QRET_NONE:
		break;
	case QRET_FULL:
		pbuf_puts(out, "Y " QF_RET_FULL "\n");
		break;
	case QRET_HDRS:
		pbuf_puts(out, "Y " QF_RET_HDRS "\n");
		break;
	default:
		return qf_format_fail(out, orig, err, errlen, "RET", "is unknown");
	}
	for (i = 0; i < e->nattr; i++) {
		const struct qattr *a = &e->attr[i];

		snprintf(what, sizeof(what), "attribute %zu", i + 1);
		if (!qf_attr_name_ok(a->name, strlen(a->name)))
			return qf_format_fail(out, orig, err, errlen, what,
			    "has a bad name");
		for (k = 0; k < i; k++)
			if (strcmp(e->attr[k].name, a->name) == 0)
				return qf_format_fail(out, orig, err, errlen, what,
				    "repeats a name");
		if (qf_bad_value(a->value))
			return qf_format_fail(out, orig, err, errlen, what,
			    QF_LINE_BREAK);
		line_start = out->len;
		pbuf_printf(out, "A %s=%s\n", a->name, a->value);
		if (out->len - line_start > QFILE_LINE_MAX)
			return qf_format_fail(out, orig, err, errlen, what,
			    "is too long");
	}
	for (i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *r = &e->rcpt[i];
		int first = 1;

		snprintf(what, sizeof(what), "recipient %zu:", i + 1);
		if (r->addr == NULL || r->addr[0] == '\0')
			return qf_format_fail(out, orig, err, errlen, what,
			    "address is empty");
		if (qf_bad_value(r->addr))
			return qf_format_fail(out, orig, err, errlen, what,
			    "address " QF_LINE_BREAK);
		if (r->state != QR_TODO && r->state != QR_DONE)
			return qf_format_fail(out, orig, err, errlen, what,
			    "state is neither T nor D");
		if ((r->notify & ~QN_KNOWN)
		    || ((r->notify & QN_NEVER) && r->notify != QN_NEVER))
			return qf_format_fail(out, orig, err, errlen, what,
			    "NOTIFY is not valid");
		if (r->orcpt && !qf_orcpt_ok(r->orcpt, strlen(r->orcpt)))
			return qf_format_fail(out, orig, err, errlen, what,
			    "ORCPT is not valid (printable ASCII, no space)");
		line_start = out->len;
		pbuf_printf(out, "R%c ", r->state);
		if (r->notify == 0)
			pbuf_puts(out, QF_NONE_FIELD);
		else if (r->notify == QN_NEVER)
			pbuf_puts(out, QF_NEVER_WORD);
		else {
			for (k = 0; k < QF_NNOTIFY; k++) {
				if (!(r->notify & qf_notify_words[k].bit))
					continue;
				if (!first)
					pbuf_putc(out, ',');
				pbuf_puts(out, qf_notify_words[k].word);
				first = 0;
			}
		}
		pbuf_printf(out, " %s %s\n", r->orcpt ? r->orcpt : QF_NONE_FIELD,
		    r->addr);
		if (out->len - line_start > QFILE_LINE_MAX)
			return qf_format_fail(out, orig, err, errlen, what,
			    "address is too long");
	}
	pbuf_printf(out, "L %0*zu\nD\n", QF_LEN_DIGITS, len);
	return 0;
}

int
qfile_format(const struct qenv *e, const char *content, size_t len,
    struct pbuf *out, char *err, size_t errlen)
{
	if (qfile_format_head(e, len, out, err, errlen) < 0)
		return -1;
	pbuf_append(out, content, len);
	pbuf_append(out, QFILE_END_MARK, QFILE_END_LEN);
	return 0;
}

/* ---- reader ---- */

struct qp {
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	/* current line */
	size_t off;		/* offset of its first byte */
	unsigned lineno;
	/* results */
	size_t data_off;
	size_t data_len;
	size_t l_off;		/* where the L record is, for later errors */
	unsigned l_line;
};

static enum qfile_status
qp_corrupt(struct qp *p, char type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum qfile_status
qp_corrupt(struct qp *p, char type, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (type)
		qf_seterr(p->err, p->errlen, "line %u, offset %zu: %c record: %s",
		    p->lineno, p->off, type, msg);
	else
		qf_seterr(p->err, p->errlen, "line %u, offset %zu: %s",
		    p->lineno, p->off, msg);
	return QFILE_CORRUPT;
}

/* Parses n decimal digits (n >= 1) not above max. */
static int
qp_digits(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A short, printable excerpt of a bad value for error messages. */
static const char *
qp_excerpt(const char *s, size_t n, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[o++] = (c >= ' ' && c < 0x7f && c != '"') ? (char)c : '?';
	}
	if (i < n && o + 3 < size) {
		buf[o++] = '.';
		buf[o++] = '.';
		buf[o++] = '.';
	}
	buf[o] = '\0';
	return buf;
}

#define QP_EXCERPT	40

static enum qfile_status
qp_notify(struct qp *p, const char *s, size_t n, unsigned *out)
{
	char ex[QP_EXCERPT + 4];
	size_t start = 0, i, k;
	unsigned v = 0;

	if (n == 1 && s[0] == '-') {
		*out = 0;
		return QFILE_OK;
	}
	if (n == sizeof(QF_NEVER_WORD) - 1 && memcmp(s, QF_NEVER_WORD, n) == 0) {
		*out = QN_NEVER;
		return QFILE_OK;
	}
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		for (k = 0; k < QF_NNOTIFY; k++) {
			if (strlen(qf_notify_words[k].word) == i - start
			    && memcmp(qf_notify_words[k].word, s + start, i - start) == 0)
				break;
		}
		if (k == QF_NNOTIFY || (v & qf_notify_words[k].bit))
			return qp_corrupt(p, 'R', "bad notify \"%s\"",
			    qp_excerpt(s, n, ex, sizeof(ex)));
		v |= qf_notify_words[k].bit;
		start = i + 1;
	}
	*out = v;
	return QFILE_OK;
}

static enum qfile_status
qp_rcpt(struct qp *p, struct qenv *env, const char *line, size_t n)
{
	const char *notify, *orcpt, *addr, *sp1, *sp2;
	size_t nnotify, norcpt, naddr;
	unsigned nbits = 0;
	enum qfile_status st;
	char *orcpt_s = NULL, *addr_s;

	/* "R" state SP notify SP orcpt SP address */
	if (n < 3 || (line[1] != QR_TODO && line[1] != QR_DONE))
		return qp_corrupt(p, 'R', "state byte is neither T nor D");
	if (line[2] != ' ')
		return qp_corrupt(p, 'R', "expected a space after the state");
	notify = line + 3;
	sp1 = memchr(notify, ' ', n - 3);
	if (sp1 == NULL)
		return qp_corrupt(p, 'R', "missing ORCPT and address");
	nnotify = (size_t)(sp1 - notify);
	orcpt = sp1 + 1;
	sp2 = memchr(orcpt, ' ', (size_t)(line + n - orcpt));
	if (sp2 == NULL)
		return qp_corrupt(p, 'R', "missing address");
	norcpt = (size_t)(sp2 - orcpt);
	addr = sp2 + 1;
	naddr = (size_t)(line + n - addr);
	if ((st = qp_notify(p, notify, nnotify, &nbits)) != QFILE_OK)
		return st;
	if (!(norcpt == 1 && orcpt[0] == '-')) {
		if (!qf_orcpt_ok(orcpt, norcpt))
			return qp_corrupt(p, 'R', "bad ORCPT");
		orcpt_s = xstrndup(orcpt, norcpt);
	}
	if (naddr == 0)
		return (free(orcpt_s), qp_corrupt(p, 'R', "empty address"));
	addr_s = xstrndup(addr, naddr);
	qenv_add_rcpt(env, addr_s, nbits, orcpt_s);
	free(addr_s);
	free(orcpt_s);
	env->rcpt[env->nrcpt - 1].state = line[1];
	env->rcpt[env->nrcpt - 1].state_off = (off_t)(p->off + 1);
	return QFILE_OK;
}

/* Record-type bits for "seen once" checks. */
#define QP_SEEN(c)	(1u << ((c) - 'A'))

/*
 * Parses the version line and the envelope through the D line. With
 * partial set, running out of bytes gives QP_MORE instead of CORRUPT.
 */
static int
qp_envelope(struct qp *p, struct qenv *env, int partial)
{
	const char *line, *lf, *v;
	size_t n, vn, scan;
	unsigned seen = 0;
	char last = 0, ex[QP_EXCERPT + 4];
	unsigned long long num;

	p->off = 0;
	p->lineno = 1;
	if (p->len == 0 && !partial)
		return qp_corrupt(p, 0, "empty file");
	for (;;) {
		scan = p->len - p->off;
		if (scan > QFILE_LINE_MAX)
			scan = QFILE_LINE_MAX;
		lf = memchr(p->buf + p->off, '\n', scan);
		if (lf == NULL) {
			if (scan == QFILE_LINE_MAX)
				return qp_corrupt(p, 0, "line longer than %d bytes",
				    QFILE_LINE_MAX);
			if (partial)
				return QP_MORE;
			if (p->lineno == 1)
				return qp_corrupt(p, 0, "not a Petrel queue file "
				    "(no version line)");
			if (p->off == p->len)
				return qp_corrupt(p, 0, "end of file before the %s",
				    (seen & QP_SEEN('L')) ? "D record" : "L and D records");
			return qp_corrupt(p, 0, "end of file inside a line (no LF)");
		}
		line = p->buf + p->off;
		n = (size_t)(lf - line);
		if (p->lineno == 1) {
			if (n == sizeof(QFILE_MAGIC) - 1
			    && memcmp(line, QFILE_MAGIC, n) == 0)
				goto next;
			if (n > sizeof("PETREL-QUEUE ") - 1
			    && memcmp(line, "PETREL-QUEUE ", sizeof("PETREL-QUEUE ") - 1) == 0)
				return qp_corrupt(p, 0, "unsupported format version \"%s\"",
				    qp_excerpt(line + sizeof("PETREL-QUEUE ") - 1,
				    n - (sizeof("PETREL-QUEUE ") - 1), ex, sizeof(ex)));
			return qp_corrupt(p, 0, "not a Petrel queue file");
		}
		if (n == 0)
			return qp_corrupt(p, 0, "empty line");
		if (memchr(line, '\r', n) || memchr(line, '\0', n))
			return qp_corrupt(p, line[0] >= 'A' && line[0] <= 'Z'
			    ? line[0] : 0, "CR or NUL in an envelope line");
		if (last == 'L' && line[0] != 'D')
			return qp_corrupt(p, 0, "a record between L and D");
		if (line[0] == 'D') {
			if (n != 1)
				return qp_corrupt(p, 'D', "unexpected text after D");
			if (last != 'L')
				return qp_corrupt(p, 'D', "D without L just before it");
			if (!(seen & QP_SEEN('T')))
				return qp_corrupt(p, 'D', "missing T record");
			p->data_off = (size_t)(lf + 1 - p->buf);
			return QFILE_OK;
		}
		if (line[0] == 'R') {
			enum qfile_status st = qp_rcpt(p, env, line, n);

			if (st != QFILE_OK)
				return st;
			last = 'R';
			goto next;
		}
		if (strchr("ITFSUNEYAL", line[0]) == NULL || line[0] == '\0') {
			return qp_corrupt(p, 0, "unknown record type '%s'",
			    qp_excerpt(line, 1, ex, sizeof(ex)));
		}
		if (n < 2 || line[1] != ' ')
			return qp_corrupt(p, line[0], "expected a space after the type");
		v = line + 2;
		vn = n - 2;
		if (line[0] != 'A' && (seen & QP_SEEN(line[0])))
			return qp_corrupt(p, line[0], "repeated");
		seen |= QP_SEEN(line[0]);
		switch (line[0]) {
		case 'I':
			if (p->lineno != 2)
				return qp_corrupt(p, 'I', "not the first record");
			if (!qf_is_id(v, vn))
				return qp_corrupt(p, 'I', "bad queue ID \"%s\"",
				    qp_excerpt(v, vn, ex, sizeof(ex)));
			memcpy(env->id, v, QID_LEN);
			env->id[QID_LEN] = '\0';
			break;
		case 'T': {
			const char *dot = memchr(v, '.', vn);
			unsigned long long usec;

			if (dot == NULL || dot == v || (size_t)(dot - v) > QF_SEC_DIGITS
			    || qp_digits(v, (size_t)(dot - v), QF_TIME_MAX, &num) < 0
			    || (size_t)(v + vn - dot - 1) != QF_USEC_DIGITS
			    || qp_digits(dot + 1, QF_USEC_DIGITS, QF_USEC_MAX, &usec) < 0)
				return qp_corrupt(p, 'T', "bad arrival time \"%s\"",
				    qp_excerpt(v, vn, ex, sizeof(ex)));
			env->arrival.tv_sec = (time_t)num;
			env->arrival.tv_usec = (suseconds_t)usec;
			break;
		}
		case 'F': {
			size_t i, k;

			if (vn == 0)
				return qp_corrupt(p, 'F', "no flags");
			for (i = 0; i < vn; i++) {
				for (k = 0; k < QF_NFLAGS; k++)
					if (qf_flag_letters[k].letter == v[i])
						break;
				if (k == QF_NFLAGS || (env->flags & qf_flag_letters[k].bit))
					return qp_corrupt(p, 'F', "bad flags \"%s\"",
					    qp_excerpt(v, vn, ex, sizeof(ex)));
				env->flags |= qf_flag_letters[k].bit;
			}
			break;
		}
		case 'S':
			env->sender = xstrndup(v, vn);
			break;
		case 'U':
			if (qp_digits(v, vn, QF_UID_MAX, &num) < 0)
				return qp_corrupt(p, 'U', "bad uid \"%s\"",
				    qp_excerpt(v, vn, ex, sizeof(ex)));
			env->uid = (long)num;
			break;
		case 'N':
			env->fullname = xstrndup(v, vn);
			break;
		case 'E':
			env->envid = xstrndup(v, vn);
			break;
		case 'Y':
			if (vn == sizeof(QF_RET_FULL) - 1 && memcmp(v, QF_RET_FULL, vn) == 0)
				env->ret = QRET_FULL;
			else if (vn == sizeof(QF_RET_HDRS) - 1
			    && memcmp(v, QF_RET_HDRS, vn) == 0)
				env->ret = QRET_HDRS;
			else
				return qp_corrupt(p, 'Y', "bad RET \"%s\"",
				    qp_excerpt(v, vn, ex, sizeof(ex)));
			break;
		case 'A': {
			const char *eq = memchr(v, '=', vn);
			char *name, *value;
			size_t i;

			if (eq == NULL || !qf_attr_name_ok(v, (size_t)(eq - v)))
				return qp_corrupt(p, 'A', "bad attribute \"%s\"",
				    qp_excerpt(v, vn, ex, sizeof(ex)));
			name = xstrndup(v, (size_t)(eq - v));
			for (i = 0; i < env->nattr; i++) {
				if (strcmp(env->attr[i].name, name) == 0) {
					free(name);
					return qp_corrupt(p, 'A', "repeated attribute \"%s\"",
					    qp_excerpt(v, (size_t)(eq - v), ex, sizeof(ex)));
				}
			}
			value = xstrndup(eq + 1, (size_t)(v + vn - eq - 1));
			qenv_set_attr(env, name, value);
			free(name);
			free(value);
			break;
		}
		case 'L':
			if (vn != QF_LEN_DIGITS
			    || qp_digits(v, vn, SIZE_MAX, &num) < 0)
				return qp_corrupt(p, 'L', "bad length \"%s\"",
				    qp_excerpt(v, vn, ex, sizeof(ex)));
			p->data_len = (size_t)num;
			p->l_off = p->off;
			p->l_line = p->lineno;
			break;
		}
		last = line[0];
next:
		p->off = (size_t)(lf + 1 - p->buf);
		p->lineno++;
	}
}

/*
 * Checks what follows the envelope: total is the size of the whole file,
 * tail holds the (at most QFILE_END_LEN) bytes at data_off + data_len.
 */
static enum qfile_status
qp_tail(struct qp *p, size_t total, const char *tail, size_t ntail)
{
	size_t after, end;

	p->off = p->l_off;
	p->lineno = p->l_line;
	after = total - p->data_off;
	if (p->data_len > after)
		return qp_corrupt(p, 'L', "content length %zu, but only %zu bytes "
		    "follow the D line", p->data_len, after);
	end = p->data_off + p->data_len;
	if (after - p->data_len < QFILE_END_LEN || ntail < QFILE_END_LEN
	    || memcmp(tail, QFILE_END_MARK, QFILE_END_LEN) != 0) {
		qf_seterr(p->err, p->errlen, "offset %zu: missing END marker after "
		    "the %zu bytes of content (L record at line %u)", end,
		    p->data_len, p->l_line);
		return QFILE_CORRUPT;
	}
	if (after - p->data_len > QFILE_END_LEN) {
		qf_seterr(p->err, p->errlen, "offset %zu: %zu bytes after the END marker",
		    end + QFILE_END_LEN, after - p->data_len - QFILE_END_LEN);
		return QFILE_CORRUPT;
	}
	return QFILE_OK;
}

static void
qp_init(struct qp *p, const char *buf, size_t len, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->len = len;
	p->err = err;
	p->errlen = errlen;
}

enum qfile_status
qfile_parse(const char *buf, size_t len, struct qenv *env, char *err, size_t errlen)
{
	struct qp p;
	int st;

	qenv_init(env);
	qp_init(&p, buf, len, err, errlen);
	st = qp_envelope(&p, env, 0);
	if (st == QFILE_OK) {
		size_t end = p.data_off + (p.data_len <= len - p.data_off ? p.data_len : 0);

		st = qp_tail(&p, len, buf + end, len - end);
	}
	if (st != QFILE_OK) {
		qenv_free(env);
		return QFILE_CORRUPT;
	}
	env->data_off = (off_t)p.data_off;
	env->data_len = p.data_len;
	return QFILE_OK;
}

/* pread until n bytes or EOF; returns bytes read or -1. */
static ssize_t
qf_pread_full(int fd, char *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static enum qfile_status
qf_ioerr(char *err, size_t errlen, const char *what)
{
	int saved = errno;

	qf_seterr(err, errlen, "%s: %s", what, strerror(saved));
	errno = saved;
	return QFILE_IOERR;
}

/* Envelope only, from a regular file of size total. */
static enum qfile_status
qf_read_envelope(int fd, size_t total, struct qenv *env, char *err, size_t errlen)
{
	struct pbuf b = PBUF_INIT;
	size_t want = QF_HEAD_CHUNK;
	char tail[QFILE_END_LEN];
	struct qp p;
	ssize_t r;
	int st;

	for (;;) {
		if (want > total)
			want = total;
		pbuf_reserve(&b, want - b.len);
		r = qf_pread_full(fd, b.data + b.len, want - b.len, (off_t)b.len);
		if (r < 0) {
			pbuf_free(&b);
			return qf_ioerr(err, errlen, "read");
		}
		if ((size_t)r < want - b.len)
			total = b.len + (size_t)r;	/* shrank under us */
		b.len += (size_t)r;
		b.data[b.len] = '\0';
		qenv_init(env);
		qp_init(&p, b.data, b.len, err, errlen);
		st = qp_envelope(&p, env, b.len < total);
		if (st != QP_MORE)
			break;
		qenv_free(env);
		want = b.len * 2 > QF_HEAD_CHUNK ? b.len * 2 : QF_HEAD_CHUNK;
	}
	if (st == QFILE_OK) {
		size_t end = p.data_off + p.data_len, ntail = 0;

		if (p.data_len <= total - p.data_off) {
			r = qf_pread_full(fd, tail, sizeof(tail), (off_t)end);
			if (r < 0) {
				qenv_free(env);
				pbuf_free(&b);
				return qf_ioerr(err, errlen, "read");
			}
			ntail = (size_t)r;
		}
		st = qp_tail(&p, total, tail, ntail);
	}
	pbuf_free(&b);
	if (st != QFILE_OK) {
		qenv_free(env);
		return QFILE_CORRUPT;
	}
	env->data_off = (off_t)p.data_off;
	env->data_len = p.data_len;
	return QFILE_OK;
}

enum qfile_status
qfile_read_fd(int fd, struct qenv *env, struct pbuf *content, char *err, size_t errlen)
{
	struct pbuf b = PBUF_INIT;
	struct stat st;
	enum qfile_status rc;

	qenv_init(env);
	if (fstat(fd, &st) < 0)
		return qf_ioerr(err, errlen, "fstat");
	if (S_ISREG(st.st_mode)) {
		size_t total = (size_t)st.st_size;
		ssize_t r;

		if (st.st_size < 0 || (unsigned long long)st.st_size >= SIZE_MAX) {
			errno = EFBIG;
			return qf_ioerr(err, errlen, "read");
		}
		if (content == NULL)
			return qf_read_envelope(fd, total, env, err, errlen);
		pbuf_reserve(&b, total);
		r = qf_pread_full(fd, b.data, total, 0);
		if (r < 0) {
			pbuf_free(&b);
			return qf_ioerr(err, errlen, "read");
		}
		b.len = (size_t)r;
		b.data[b.len] = '\0';
	} else if (pbuf_read_fd(&b, fd, 0) < 0) {
		pbuf_free(&b);
		return qf_ioerr(err, errlen, "read");
	}
	rc = qfile_parse(b.data ? b.data : "", b.len, env, err, errlen);
	if (rc == QFILE_OK && content != NULL) {
		if (content->len == 0) {
			/* Hand the buffer over: slide the content to its start. */
			memmove(b.data, b.data + env->data_off, env->data_len);
			pbuf_truncate(&b, env->data_len);
			pbuf_free(content);
			*content = b;
			pbuf_init(&b);
		} else {
			pbuf_append(content, b.data + env->data_off, env->data_len);
		}
	}
	pbuf_free(&b);
	return rc;
}

int
qfile_mark_rcpt(int fd, const struct qrcpt *r, char state)
{
	char cur[2];

	if ((state != QR_TODO && state != QR_DONE) || r->state_off < 1) {
		errno = EINVAL;
		return -1;
	}
	/* Refuse to write anywhere but an R record's state byte. */
	switch (qf_pread_full(fd, cur, sizeof(cur), r->state_off - 1)) {
	case -1:
		return -1;
	case (ssize_t)sizeof(cur):
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (cur[0] != 'R' || (cur[1] != QR_TODO && cur[1] != QR_DONE)) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		ssize_t w = pwrite(fd, &state, 1, r->state_off);

		if (w == 1)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		if (w >= 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

char *
qenv_orcpt_make(const char *addr)
{
	struct pbuf b = PBUF_INIT;
	const unsigned char *p;

	pbuf_puts(&b, "rfc822;");
	for (p = (const unsigned char *)addr; *p; p++) {
		if (*p < '!' || *p > '~' || *p == '+' || *p == '=')
			pbuf_printf(&b, "+%02X", *p);
		else
			pbuf_putc(&b, (char)*p);
	}
	return pbuf_detach(&b);
}
