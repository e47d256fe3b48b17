/*
 * mailq - the queue listing (mailq, sendmail -bp, petrel queue list);
 * the layouts are spec/mailq-format.md, byte for byte.
 *
 * API (mailq.h): mailq_format_parse, mailq_print.
 *
 * How: the envelopes of maildrop/, incoming/, active/, deferred/ and
 * hold/ are read (never the content: the size is the L record) and the
 * delay reasons come from defer/<ID>. Messages are sorted by arrival time,
 * then ID, so the output is stable. Only recipients still to do (state T)
 * are shown. mailq is read-only: a file that vanishes or does not parse is
 * skipped (not listed, not counted), never moved.
 *
 * Decisions where the models leave a choice:
 *   - Sendmail layout: the header names "<queue_directory>/mqueue" (for
 *     check_mailq); status '*' for active/, ' ' otherwise; hold/ gets
 *     "QUARANTINE: <reason>" (a milter's, else "held"); the status line
 *     is "Deferred: <reason>" of the first listed recipient that has a
 *     reason (else the first reason of the defer file), cut at 60 bytes
 *     (100 with -v) like Sendmail's M record; "8BITMIME" is the body type
 *     when QF_8BITMIME is set. The -v priority is Sendmail's initial
 *     one: size + 30000 per recipient.
 *   - Postfix layout: our IDs are 14 characters, so the long-ID variant
 *     (enable_long_queue_ids = yes) is used: "%-17s %8s %-19s %s".
 *   - The null sender shows as "<>" (Sendmail) and MAILER-DAEMON (Postfix
 *     and JSON, as showq sends it). An envelope without a sender (a raw
 *     maildrop file: cleanup will use the submitting user) shows that
 *     user's login name, or "(unknown)".
 *   - Sendmail layout escapes non-printable bytes as \ooo and doubles a
 *     backslash (its prtstr); the Postfix layout shows '?' for control
 *     characters and bytes that are not valid UTF-8; JSON escapes control
 *     characters as \uXXXX (\b \f \n \r \t short) and every byte that is
 *     not part of valid UTF-8 as \u00XX of the byte value.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mailq.h"
#include "pbuf.h"
#include "qfile.h"
#include "queue.h"
#include "strv.h"
#include "xalloc.h"

#define MQ_MQUEUE		"mqueue"	/* path component check_mailq wants */
#define MQ_SM_HEADING		"-----Q-ID----- --Size-- -----Q-Time----- " \
				"------------Sender/Recipient-----------"
#define MQ_SM_HEADING_V		"-----Q-ID----- --Size-- -Priority- ---Q-Time--- " \
				"--------Sender/Recipient--------"
#define MQ_SM_SENDER_MAX	39
#define MQ_SM_SENDER_MAX_V	78
#define MQ_SM_RCPT_MAX		38
#define MQ_SM_RCPT_MAX_V	71
#define MQ_SM_MSG_MAX		60
#define MQ_SM_MSG_MAX_V		100
#define MQ_SM_BODY_8BIT		"8BITMIME"
#define MQ_SM_HOLD_TEXT		"held"
#define MQ_SM_DEFERRED		"Deferred: "
#define MQ_SM_RCPT_PRIO		30000L	/* Sendmail's default RecipientFactor */
#define MQ_PF_HEAD_FMT		"%-17s %8s %-19s %s\n"
#define MQ_PF_SENDER_FMT	"%-17s %8ld %19.19s %s\n"
#define MQ_PF_REASON_COL	76
#define MQ_PF_NO_REASON		"reason unavailable"
#define MQ_EMPTY_ADDR		"MAILER-DAEMON"
#define MQ_UNKNOWN_USER		"(unknown)"
#define MQ_KBYTE		1024UL
#define MQ_CTIME_LEN		64

static const char *const mq_dirs[] = {
	QDIR_MAILDROP, QDIR_INCOMING, QDIR_ACTIVE, QDIR_DEFERRED, QDIR_HOLD,
};
#define MQ_NDIRS	(sizeof(mq_dirs) / sizeof(mq_dirs[0]))

struct mq_msg {
	const char *qname;	/* one of mq_dirs */
	char id[QID_LEN + 1];
	struct timeval arrival;
	size_t size;
	unsigned flags;
	char *sender;		/* display form, never NULL */
	int null_sender;
	size_t nrcpt_all;
	struct strv rcpts;	/* still to do */
	struct strv reasons;	/* parallel to rcpts; "" = none */
	char *msg_reason;	/* Sendmail status line, or NULL */
	char *hold_reason;	/* a milter's quarantine reason, or NULL */
};

int
mailq_format_parse(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "sendmail") == 0)
		return MAILQ_SENDMAIL;
	if (strcmp(name, "postfix") == 0)
		return MAILQ_POSTFIX;
	if (strcmp(name, "json") == 0)
		return MAILQ_JSON;
	return -1;
}

/* ---- text helpers ---- */

/* Length of the valid UTF-8 sequence at s (of n bytes), 0 when invalid. */
static size_t
mq_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))
	    || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Postfix's printable(): control characters and invalid UTF-8 become '?'. */
static void
mq_printable(struct pbuf *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i = 0, k;

	while (i < n) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			pbuf_putc(out, '?');
			i++;
		} else if ((k = mq_utf8_len(s + i, n - i)) == 0) {
			pbuf_putc(out, '?');
			i++;
		} else {
			pbuf_append(out, s + i, k);
			i += k;
		}
	}
}

/* Cuts b to at most max bytes without splitting a UTF-8 sequence. */
static void
mq_cut(struct pbuf *b, size_t max)
{
	size_t n = max;

	if (b->len <= max)
		return;
	while (n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
		n--;
	pbuf_truncate(b, n);
}

/*
 * Sendmail's prtstr: at most ml output columns; a backslash costs two
 * and is doubled, a non-printable byte costs four and is shown as \ooo.
 */
static void
mq_prtstr(FILE *out, const char *text, int ml)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned c;

	while (ml-- > 0 && (c = *s++) != '\0') {
		if (c == '\\') {
			if (ml-- > 0)
				fputs("\\\\", out);
		} else if (c >= 0x20 && c < 0x7f) {
			fputc((int)c, out);
		} else {
			ml -= 3;
			if (ml > 0)
				fprintf(out, "\\%03o", c);
		}
	}
}

static void
mq_json_str(FILE *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i = 0, k;

	fputc('"', out);
	while (i < n) {
		unsigned c = s[i];

		switch (c) {
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(out, "\\u%04X", c);
			} else if ((k = mq_utf8_len(s + i, n - i)) == 0) {
				fprintf(out, "\\u%04X", c);
			} else {
				fwrite(s + i, 1, k, out);
				i += k;
				continue;
			}
		}
		i++;
	}
	fputc('"', out);
}

/* asctime()'s layout without the newline, in English whatever the locale. */
static void
mq_ctime(time_t t, char *buf, size_t size)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (tm.tm_wday < 0 || tm.tm_wday > 6)
		tm.tm_wday = 0;
	if (tm.tm_mon < 0 || tm.tm_mon > 11)
		tm.tm_mon = 0;
	snprintf(buf, size, "%.3s %.3s%3d %.2d:%.2d:%.2d %d", days + 3 * tm.tm_wday,
	    months + 3 * tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_year + 1900);
}

/* ---- collecting ---- */

static int
mq_add_id(const char *subdir, const char *id, void *ctx)
{
	(void)subdir;
	strv_add(ctx, id);
	return 0;
}

static char *
mq_login(long uid)
{
	struct passwd *pw;

	if (uid >= 0 && (pw = getpwuid((uid_t)uid)) != NULL && pw->pw_name)
		return xstrdup(pw->pw_name);
	return xstrdup(MQ_UNKNOWN_USER);
}

static struct mq_msg *
mq_load(const char *queue_dir, const char *qname, const char *id)
{
	struct queue_defer d;
	struct qenv e;
	struct mq_msg *m;
	char err[256];
	size_t i;

	if (queue_read(queue_dir, qname, id, &e, NULL, err, sizeof(err)) != QFILE_OK)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->qname = qname;
	memcpy(m->id, id, QID_LEN + 1);
	m->arrival = e.arrival;
	m->size = e.data_len;
	m->flags = e.flags;
	m->null_sender = e.sender != NULL && e.sender[0] == '\0';
	m->sender = e.sender ? xstrdup(e.sender) : mq_login(e.uid);
	m->nrcpt_all = e.nrcpt;
	if (qenv_attr(&e, "quarantine") != NULL)
		m->hold_reason = xstrdup(qenv_attr(&e, "quarantine"));
	strv_init(&m->rcpts);
	strv_init(&m->reasons);
	queue_defer_init(&d);
	if (queue_defer_read(queue_dir, id, &d) < 0)
		queue_defer_free(&d);
	for (i = 0; i < e.nrcpt; i++) {
		const struct queue_defer_entry *ent;

		if (e.rcpt[i].state != QR_TODO)
			continue;
		ent = queue_defer_find(&d, e.rcpt[i].addr);
		strv_add(&m->rcpts, e.rcpt[i].addr);
		strv_add(&m->reasons, ent ? ent->reason : "");
		if (ent && ent->reason[0] && m->msg_reason == NULL)
			m->msg_reason = xstrdup(ent->reason);
	}
	if (m->msg_reason == NULL && d.n > 0 && d.v[0].reason[0])
		m->msg_reason = xstrdup(d.v[0].reason);
	queue_defer_free(&d);
	qenv_free(&e);
	return m;
}

static void
mq_free(struct mq_msg *m)
{
	free(m->sender);
	free(m->msg_reason);
	free(m->hold_reason);
	strv_free(&m->rcpts);
	strv_free(&m->reasons);
	free(m);
}

static int
mq_cmp(const void *a, const void *b)
{
	const struct mq_msg *x = *(struct mq_msg *const *)a;
	const struct mq_msg *y = *(struct mq_msg *const *)b;

	if (x->arrival.tv_sec != y->arrival.tv_sec)
		return x->arrival.tv_sec < y->arrival.tv_sec ? -1 : 1;
	if (x->arrival.tv_usec != y->arrival.tv_usec)
		return x->arrival.tv_usec < y->arrival.tv_usec ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* ---- the three layouts ---- */

static void
mq_print_sendmail(FILE *out, const char *queue_dir, struct mq_msg **v, size_t n,
    int verbose)
{
	struct pbuf tmp = PBUF_INIT, dir = PBUF_INIT;
	char ct[MQ_CTIME_LEN];
	size_t i, k;

	pbuf_puts(&dir, queue_dir);
	while (dir.len > 1 && dir.data[dir.len - 1] == '/')
		pbuf_truncate(&dir, dir.len - 1);
	if (n == 0) {
		fprintf(out, "%s/%s is empty\n", pbuf_str(&dir), MQ_MQUEUE);
	} else {
		fprintf(out, "\t\t%s/%s (%zu request%s)\n%s\n", pbuf_str(&dir), MQ_MQUEUE,
		    n, n == 1 ? "" : "s", verbose ? MQ_SM_HEADING_V : MQ_SM_HEADING);
	}
	for (i = 0; i < n; i++) {
		const struct mq_msg *m = v[i];
		int msgmax = verbose ? MQ_SM_MSG_MAX_V : MQ_SM_MSG_MAX;

		mq_ctime(m->arrival.tv_sec, ct, sizeof(ct));
		fprintf(out, "%13s%c", m->id, strcmp(m->qname, QDIR_ACTIVE) == 0 ? '*' : ' ');
		pbuf_reset(&tmp);
		pbuf_printf(&tmp, "<%s>", m->null_sender ? "" : m->sender);
		if (verbose) {
			long prio = (long)m->size + MQ_SM_RCPT_PRIO * (long)m->nrcpt_all;

			fprintf(out, "%8ld %10ld%c%.12s ", (long)m->size, prio, ' ', ct + 4);
			mq_prtstr(out, pbuf_str(&tmp), MQ_SM_SENDER_MAX_V);
		} else {
			fprintf(out, "%8ld %.16s ", (long)m->size, ct);
			mq_prtstr(out, pbuf_str(&tmp), MQ_SM_SENDER_MAX);
		}
		if (strcmp(m->qname, QDIR_HOLD) == 0) {
			/* Sendmail shows the quarantine reason here. */
			pbuf_reset(&tmp);
			mq_printable(&tmp, m->hold_reason ? m->hold_reason : MQ_SM_HOLD_TEXT);
			fprintf(out, "\n     QUARANTINE: %.*s", msgmax, pbuf_str(&tmp));
		}
		if (m->msg_reason || (m->flags & QF_8BITMIME)) {
			fprintf(out, "\n    %10.10s",
			    (m->flags & QF_8BITMIME) ? MQ_SM_BODY_8BIT : "");
			if (m->msg_reason) {
				pbuf_reset(&tmp);
				pbuf_puts(&tmp, MQ_SM_DEFERRED);
				mq_printable(&tmp, m->msg_reason);
				mq_cut(&tmp, (size_t)msgmax);
				fprintf(out, "   (%s)", pbuf_str(&tmp));
			}
		}
		for (k = 0; k < m->rcpts.n; k++) {
			pbuf_reset(&tmp);
			pbuf_printf(&tmp, "<%s>", m->rcpts.v[k]);
			fputs(verbose ? "\n\t\t\t\t\t\t" : "\n\t\t\t\t\t ", out);
			mq_prtstr(out, pbuf_str(&tmp),
			    verbose ? MQ_SM_RCPT_MAX_V : MQ_SM_RCPT_MAX);
		}
		fputc('\n', out);
	}
	fprintf(out, "\t\tTotal requests: %zu\n", n);
	pbuf_free(&tmp);
	pbuf_free(&dir);
}

static void
mq_print_postfix(FILE *out, struct mq_msg **v, size_t n)
{
	struct pbuf a = PBUF_INIT, idst = PBUF_INIT;
	char ct[MQ_CTIME_LEN];
	unsigned long total = 0;
	size_t i, k;

	if (n == 0) {
		fputs("Mail queue is empty\n", out);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct mq_msg *m = v[i];
		const char *prev = "";

		if (i == 0)
			fprintf(out, MQ_PF_HEAD_FMT, "----Queue ID-----", "--Size--",
			    "---Arrival Time----", "--Sender/Recipient------");
		else
			fputc('\n', out);
		pbuf_reset(&idst);
		pbuf_puts(&idst, m->id);
		if (strcmp(m->qname, QDIR_ACTIVE) == 0)
			pbuf_putc(&idst, '*');
		else if (strcmp(m->qname, QDIR_HOLD) == 0)
			pbuf_putc(&idst, '!');
		pbuf_reset(&a);
		mq_printable(&a, m->null_sender ? MQ_EMPTY_ADDR : m->sender);
		mq_ctime(m->arrival.tv_sec, ct, sizeof(ct));
		fprintf(out, MQ_PF_SENDER_FMT, pbuf_str(&idst), (long)m->size, ct,
		    pbuf_str(&a));
		for (k = 0; k < m->rcpts.n; k++) {
			const char *why = m->reasons.v[k];

			if (strcmp(prev, why) != 0) {
				int pad;

				pbuf_reset(&a);
				mq_printable(&a, *why ? why : MQ_PF_NO_REASON);
				pad = a.len >= MQ_PF_REASON_COL ? 0
				    : MQ_PF_REASON_COL - (int)a.len;
				fprintf(out, "%*s(%s)\n", pad, "", pbuf_str(&a));
				prev = why;
			}
			pbuf_reset(&a);
			mq_printable(&a, m->rcpts.v[k]);
			fprintf(out, MQ_PF_HEAD_FMT, "", "", "", pbuf_str(&a));
		}
		total += (unsigned long)m->size;
	}
	fprintf(out, "\n-- %lu Kbytes in %lu Request%s.\n", total / MQ_KBYTE,
	    (unsigned long)n, n == 1 ? "" : "s");
	pbuf_free(&a);
	pbuf_free(&idst);
}

static void
mq_print_json(FILE *out, struct mq_msg **v, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct mq_msg *m = v[i];

		fputs("{\"queue_name\": ", out);
		mq_json_str(out, m->qname);
		fputs(", \"queue_id\": ", out);
		mq_json_str(out, m->id);
		fprintf(out, ", \"arrival_time\": %lld, \"message_size\": %zu, "
		    "\"forced_expire\": false, \"sender\": ",
		    (long long)m->arrival.tv_sec, m->size);
		mq_json_str(out, m->null_sender ? MQ_EMPTY_ADDR : m->sender);
		fputs(", \"recipients\": [", out);
		for (k = 0; k < m->rcpts.n; k++) {
			fputs(k ? ", {\"address\": " : "{\"address\": ", out);
			mq_json_str(out, m->rcpts.v[k]);
			if (m->reasons.v[k][0]) {
				fputs(", \"delay_reason\": ", out);
				mq_json_str(out, m->reasons.v[k]);
			}
			fputc('}', out);
		}
		fputs("]}\n", out);
	}
}

int
mailq_print(FILE *out, const char *queue_dir, enum mailq_format fmt, int verbose)
{
	struct mq_msg **v = NULL, *m;
	struct strv ids;
	struct stat st;
	size_t n = 0, i, d;
	int saved;

	if (stat(queue_dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	for (d = 0; d < MQ_NDIRS; d++) {
		strv_init(&ids);
		if (queue_scan(queue_dir, mq_dirs[d], mq_add_id, &ids) < 0) {
			saved = errno;
			strv_free(&ids);
			if (saved == ENOENT)
				continue;
			for (i = 0; i < n; i++)
				mq_free(v[i]);
			free(v);
			errno = saved;
			return -1;
		}
		for (i = 0; i < ids.n; i++) {
			if ((m = mq_load(queue_dir, mq_dirs[d], ids.v[i])) == NULL)
				continue;
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n++] = m;
		}
		strv_free(&ids);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), mq_cmp);
	switch (fmt) {
	case MAILQ_POSTFIX:
		mq_print_postfix(out, v, n);
		break;
	case MAILQ_JSON:
		mq_print_json(out, v, n);
		break;
	case MAILQ_SENDMAIL:
	default:
		mq_print_sendmail(out, queue_dir, v, n, verbose);
		break;
	}
	for (i = 0; i < n; i++)
		mq_free(v[i]);
	free(v);
	return 0;
}
