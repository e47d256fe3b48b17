/*
 * cleanup - the one place where a locally submitted message is fixed up
 * before it enters the queue proper (DESIGN.md, "Header fix-up").
 *
 * API (cleanup.h): cleanup_output_init/free; cleanup_message(params,
 * input, output) fills output->content (the message to queue),
 * output->rcpts and output->sender and returns output->status;
 * cleanup_rfc5322_date() formats a Date: value as Postfix's mail_date().
 *
 * What cleanup_message() does, in this order (spec/sendmail-cli.md §6-§8,
 * modelled on Postfix's cleanup(8)):
 *   - primary header block split by header.c; headers of MIME parts and
 *     the body are never looked at, body bytes (8-bit, NUL, CR, lines of
 *     any length) pass through untouched;
 *   - envelope sender: in->sender with one pair of <> stripped, or the
 *     login name when NULL; "" (or "<>") stays the null sender; completed
 *     with @myorigin under append_at_myorigin;
 *   - recipients: every command-line argument is an address list ("a, b
 *     <c@d>, Name <e>"); under -t the To/Cc/Bcc of the primary block are
 *     added, or only Resent-To/Resent-Cc/Resent-Bcc when any of those
 *     exists. Each is completed with @myorigin, then de-duplicated
 *     case-insensitively (ASCII case; first spelling kept, command line
 *     first, then header order; a hash keeps this linear). Malformed list
 *     elements are logged and skipped;
 *   - Received: first, "by HOST (MAIL_NAME, from userid UID)\n\tid QID;
 *     DATE"; the original headers in their order with Bcc:/Resent-Bcc:
 *     removed and the address headers completed with @myorigin (only the
 *     bare names change: display names, comments, groups, folding and the
 *     spelling of the header name stay as written); then, when missing,
 *     Message-Id: <YYYYMMDDhhmmss.QID@HOST> (UTC time), Date:, From: and
 *     To: undisclosed-recipients:;, in that order (Postfix's order);
 *   - the header/body boundary as given: a blank separator only when the
 *     input had one, when the body is empty (headers-only or empty input
 *     becomes headers + blank line), or when the first body line starts
 *     with white space (possible only when the input had no header at
 *     all: without the blank line it would fold into our last header);
 *   - a final partial line gets its LF.
 *
 * Decisions where the specifications were silent or in conflict:
 *   - The headers message_drop_headers names (Postfix's default: Bcc,
 *     Content-Length, Resent-Bcc, Return-Path) are removed from every
 *     message, from sendmail and from SMTP clients, not only under -t, as
 *     Postfix's cleanup does; on the SMTP path before header_checks sees
 *     the message (Postfix: after), so no check matches a dropped header.
 *   - "To: undisclosed-recipients:;" is added when there is no To:, Cc:,
 *     Resent-To: or Resent-Cc: (Postfix's VISIBLE_RCPT test); a Bcc: does
 *     not count, so a message whose only recipient header was Bcc: gets
 *     it (callers.md requirement 11). cleanup.h's comment says "no To, Cc
 *     or Bcc"; this follows Postfix and callers.md instead.
 *   - The added From: holds the envelope sender, as in Postfix and
 *     Sendmail: login@myorigin when there is no -f; the -f address when
 *     there is one; MAILER-DAEMON (@myorigin) for the null sender, with no
 *     full-name comment then. The full name goes in a comment with "(",
 *     ")" and "\" escaped and control bytes turned into spaces (no header
 *     injection through -F or $NAME); it is left out when empty.
 *   - Besides the headers listed in the brief, Resent-Reply-To: and
 *     Apparently-To: are qualified too (Postfix rewrites them as well).
 *   - header_size_limit (when non-zero) applies to each header field with
 *     its continuation lines, as in Postfix. Under -t a longer field is an
 *     error, EX_DATAERR "unable to extract recipients: message header
 *     length exceeds safety limit" (Postfix's sendmail -t exits 65 with
 *     this text); otherwise the field is cut to the limit (whole lines
 *     when possible), a warning is logged, and the message goes on.
 *   - hopcount_limit (when > 0): as many Received: headers as the limit or
 *     more fail with EX_UNAVAILABLE "too many hops" (Postfix bounces these;
 *     a local submitter gets the status instead).
 *   - message_size_limit (when non-zero) counts the content after cleanup:
 *     over it, EX_UNAVAILABLE "message file too big".
 *   - A command line whose recipient arguments are all malformed, with no
 *     -t: EX_USAGE "Bad recipient address syntax: ARG" (spec §9 row
 *     "every command-line recipient is syntactically invalid").
 *   - Resent- mode changes only which headers give recipients; the added
 *     headers are always Message-Id/Date/From (the contract), never their
 *     Resent- forms.
 *
 * Errors: status is 0 or a sysexits code, with error set to the message
 * (no "sender(uid): " prefix; the caller adds it). On error, content and
 * rcpts are left empty; sender is still set.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "addr.h"
#include "cleanup.h"
#include "header.h"
#include "log.h"
#include "pbuf.h"
#include "conf.h"
#include "strv.h"
#include "xalloc.h"

#define CLEANUP_MAIL_NAME	"Petrel"
#define CLEANUP_NO_QUEUE_ID	"NOQUEUE"
#define CLEANUP_NO_LOGIN	"nobody"
#define CLEANUP_NULL_FROM	"MAILER-DAEMON"
#define CLEANUP_LOCALHOST	"localhost"
#define CLEANUP_UNDISCLOSED	"To: undisclosed-recipients:;\n"

#define ERR_NO_RCPT_T	"No recipient addresses found in message header"
#define ERR_NO_RCPT	"Recipient addresses must be specified on the command line or via the -t option"
#define ERR_BAD_RCPT	"Bad recipient address syntax: "
#define ERR_TOO_BIG	"message file too big"
#define ERR_HOPS	"too many hops"
#define ERR_HDR_LONG	"unable to extract recipients: message header length exceeds safety limit"

#define ECHO_MAX	100	/* bytes of user text quoted in an error */
#define ADDED_HEADERS_ROOM	1024	/* bytes reserved for the headers we add */
#define SEC_PER_MIN	60
#define MIN_PER_HOUR	60
#define TM_YEAR_BASE	1900
#define STAMP_MAX	32
#define ZONE_MAX	64
#define ASCII_DEL	127
#define ASCII_FIRST_PRINT 32
#define RSET_MIN_CAP	64
#define FNV_OFFSET	UINT64_C(14695981039346656037)
#define FNV_PRIME	UINT64_C(1099511628211)

static const char *const cleanup_rcpt_headers[] = { "To", "Cc", "Bcc", NULL };
static const char *const cleanup_resent_headers[] = {
	"Resent-To", "Resent-Cc", "Resent-Bcc", NULL
};
static const char *const cleanup_visible_headers[] = {
	"To", "Cc", "Resent-To", "Resent-Cc", NULL
};

static const char *const cleanup_wday[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const cleanup_month[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

void
cleanup_output_init(struct cleanup_output *o)
{
	pbuf_init(&o->content);
	strv_init(&o->rcpts);
	o->sender = NULL;
	o->status = 0;
	o->error = NULL;
}

void
cleanup_output_free(struct cleanup_output *o)
{
	pbuf_free(&o->content);
	strv_free(&o->rcpts);
	free(o->sender);
	free(o->error);
	cleanup_output_init(o);
}

void
cleanup_rfc5322_date(time_t t, struct pbuf *out)
{
	struct tm tm;
	long off, aoff;
	char zone[ZONE_MAX];

	tzset();
	if (localtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	off = tm.tm_gmtoff / SEC_PER_MIN;
	aoff = off < 0 ? -off : off;
	pbuf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    cleanup_wday[tm.tm_wday % 7], tm.tm_mday, cleanup_month[tm.tm_mon % 12],
	    tm.tm_year + TM_YEAR_BASE, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', aoff / MIN_PER_HOUR, aoff % MIN_PER_HOUR);
	if (strftime(zone, sizeof(zone), "%Z", &tm) > 0)
		pbuf_printf(out, " (%s)", zone);
}

/* 1 when h is one of the names in list (message_drop_headers). */
static int
cleanup_listed(const struct header *h, const struct strv *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (header_is(h, list->v[i]))
			return 1;
	return 0;
}

/*
 * Appends content to out without the primary-block headers that
 * message_drop_headers names; everything else byte for byte.
 */
static void
cleanup_append_kept(const char *content, size_t len, struct pbuf *out)
{
	struct strv drop = STRV_INIT;
	struct headers h;
	size_t i, pos = 0;

	conf_list("message_drop_headers", &drop);
	if (drop.n == 0) {
		pbuf_append(out, content, len);
		return;
	}
	headers_init(&h);
	headers_parse(content, len, &h);
	for (i = 0; i < h.n; i++) {
		size_t at = (size_t)(h.v[i].raw - content);

		if (!cleanup_listed(&h.v[i], &drop))
			continue;
		pbuf_append(out, content + pos, at - pos);
		pos = at + h.v[i].raw_len;
	}
	pbuf_append(out, content + pos, len - pos);
	headers_free(&h);
	strv_free(&drop);
}

void
cleanup_smtp_message(const struct cleanup_smtp_info *info, const char *content,
    size_t len, struct pbuf *out)
{
	size_t i;

	/* Postfix's smtpd writes PREPEND headers first, then its Received:. */
	for (i = 0; info->prepend != NULL && i < info->prepend->n; i++)
		pbuf_printf(out, "%s\n", info->prepend->v[i]);
	pbuf_printf(out, "Received: from %s (%s [%s])\n",
	    info->helo && *info->helo ? info->helo : info->client_name, info->client_name,
	    info->client_addr);
	if (info->tls)
		pbuf_printf(out, "\t(using %s)\n\t(No client certificate requested)\n", info->tls);
	if (info->auth_sender)
		pbuf_printf(out, "\t(Authenticated sender: %s)\n", info->auth_sender);
	pbuf_printf(out, "\tby %s (%s) with %s id %s", info->myhostname, info->mail_name,
	    info->protocol, info->queue_id);
	if (info->rcpt)
		pbuf_printf(out, "\n\tfor <%s>", info->rcpt);
	pbuf_puts(out, "; ");
	cleanup_rfc5322_date(info->arrival, out);
	pbuf_putc(out, '\n');
	cleanup_append_kept(content, len, out);
}

static int
name_in(const struct header *h, const char *const *names)
{
	for (; *names; names++)
		if (header_is(h, *names))
			return 1;
	return 0;
}

static int
have_any(const struct headers *h, const char *const *names)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (name_in(&h->v[i], names))
			return 1;
	return 0;
}

static void
fail(struct cleanup_output *o, int status, const char *msg)
{
	o->status = status;
	free(o->error);
	o->error = xstrdup(msg);
	pbuf_reset(&o->content);
	strv_free(&o->rcpts);
}

/* RFC 5322 atext without the dot (plus 8-bit bytes). */
static int
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if (c <= ' ' || c == ASCII_DEL)
		return 0;
	return strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/* A login name as an SMTP local part: as is when a dot-atom, else quoted. */
static char *
quote_local(const char *s)
{
	struct pbuf b = PBUF_INIT;
	size_t i, len = strlen(s);
	int plain = len > 0 && s[0] != '.' && s[len - 1] != '.';

	for (i = 0; plain && i < len; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			plain = 0;
	if (plain)
		return xstrdup(s);
	pbuf_putc(&b, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			pbuf_putc(&b, '\\');
		pbuf_putc(&b, s[i]);
	}
	pbuf_putc(&b, '"');
	return pbuf_detach(&b);
}

/*
 * The recipients seen so far, as an open-addressing hash of indexes into
 * o->rcpts keyed by the ASCII-case-folded address, so that de-duplicating
 * a header with many thousands of addresses stays linear.
 */
struct rcpt_set {
	size_t *slot;		/* index + 1 into rcpts; 0 = free */
	size_t cap;		/* a power of two */
	size_t used;
};

static uint64_t
fold_hash(const char *s)
{
	uint64_t h = FNV_OFFSET;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * FNV_PRIME;
	}
	return h;
}

static int
fold_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return *a == *b;
}

static void
rset_place(struct rcpt_set *set, const struct strv *v, size_t idx)
{
	size_t i = (size_t)fold_hash(v->v[idx]) & (set->cap - 1);

	while (set->slot[i])
		i = (i + 1) & (set->cap - 1);
	set->slot[i] = idx + 1;
}

/* Adds q to v (taking it) unless an equal address is there. */
static void
rset_add(struct rcpt_set *set, struct strv *v, char *q)
{
	size_t i, k;

	if ((set->used + 1) * 2 > set->cap) {
		free(set->slot);
		set->cap = set->cap ? set->cap * 2 : RSET_MIN_CAP;
		set->slot = xcalloc(set->cap, sizeof(*set->slot));
		for (k = 0; k < v->n; k++)
			rset_place(set, v, k);
	}
	for (i = (size_t)fold_hash(q) & (set->cap - 1); set->slot[i];
	    i = (i + 1) & (set->cap - 1)) {
		if (fold_equal(v->v[set->slot[i] - 1], q)) {
			free(q);
			return;
		}
	}
	strv_add_owned(v, q);
	set->slot[i] = v->n;
	set->used++;
}

/* Parses one address list into the recipients; returns the bad count. */
static size_t
add_rcpt_list(const struct cleanup_params *p, struct cleanup_output *o,
    struct rcpt_set *set, const char *text, size_t len)
{
	struct strv found = STRV_INIT;
	size_t bad = 0, i;

	addr_parse_list(text, len, &found, &bad);
	for (i = 0; i < found.n; i++)
		rset_add(set, &o->rcpts, p->append_at_myorigin ?
		    addr_qualify(found.v[i], p->myorigin) : xstrdup(found.v[i]));
	strv_free(&found);
	return bad;
}

/* Copies s into out for an error or log text: at most ECHO_MAX bytes, controls as '?'. */
static void
echo_text(struct pbuf *out, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < ECHO_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		pbuf_putc(out, c < ASCII_FIRST_PRINT || c == ASCII_DEL ? '?' : c);
	}
}

static void
make_sender(const struct cleanup_params *p, const struct cleanup_input *in,
    struct cleanup_output *o)
{
	char *s, *q;

	if (in->sender == NULL)
		s = quote_local(in->login && *in->login ? in->login : CLEANUP_NO_LOGIN);
	else if (strcmp(in->sender, "<>") == 0)
		s = xstrdup("");
	else
		s = addr_strip_brackets(in->sender);
	if (*s && p->append_at_myorigin) {
		q = addr_qualify(s, p->myorigin);
		free(s);
		s = q;
	}
	free(o->sender);
	o->sender = s;
}

/* Collects the envelope recipients; 0, or -1 after fail(). */
static int
make_rcpts(const struct cleanup_params *p, const struct cleanup_input *in,
    const struct headers *h, const char *qid, struct cleanup_output *o)
{
	struct pbuf val = PBUF_INIT;
	struct rcpt_set set = { NULL, 0, 0 };
	const char *const *names;
	const char *first_bad = NULL;
	size_t i, bad;

	for (i = 0; in->rcpts && i < in->rcpts->n; i++) {
		const char *arg = in->rcpts->v[i];

		bad = add_rcpt_list(p, o, &set, arg, strlen(arg));
		if (bad > 0) {
			pbuf_reset(&val);
			echo_text(&val, arg);
			log_warn("%s: ignoring %zu malformed address(es) in recipient argument \"%s\"",
			    qid, bad, pbuf_str(&val));
			if (first_bad == NULL)
				first_bad = arg;
		}
	}
	if (in->extract_recipients) {
		names = have_any(h, cleanup_resent_headers) ?
		    cleanup_resent_headers : cleanup_rcpt_headers;
		for (i = 0; i < h->n; i++) {
			if (!name_in(&h->v[i], names))
				continue;
			header_value(&h->v[i], &val);
			bad = add_rcpt_list(p, o, &set, pbuf_str(&val), val.len);
			if (bad > 0)
				log_warn("%s: ignoring %zu malformed address(es) in %.*s: header",
				    qid, bad, (int)h->v[i].name_len, h->v[i].raw);
		}
	}
	free(set.slot);
	if (o->rcpts.n == 0) {
		if (in->extract_recipients)
			fail(o, EX_USAGE, ERR_NO_RCPT_T);
		else if (first_bad != NULL) {
			pbuf_reset(&val);
			pbuf_puts(&val, ERR_BAD_RCPT);
			echo_text(&val, first_bad);
			fail(o, EX_USAGE, pbuf_str(&val));
		} else
			fail(o, EX_USAGE, ERR_NO_RCPT);
		pbuf_free(&val);
		return -1;
	}
	pbuf_free(&val);
	return 0;
}

/* How much of header hd to keep under header_size_limit. */
static size_t
kept_len(const struct cleanup_params *p, const struct header *hd, const char *qid)
{
	const char *colon;
	size_t keep, i, min;

	if (p->header_size_limit == 0 || hd->raw_len <= p->header_size_limit)
		return hd->raw_len;
	keep = 0;
	for (i = 0; i < p->header_size_limit; i++)
		if (hd->raw[i] == '\n')
			keep = i + 1;
	if (keep == 0)
		keep = p->header_size_limit;
	colon = memchr(hd->raw, ':', hd->raw_len);
	min = colon ? (size_t)(colon - hd->raw) + 1 : hd->raw_len;
	if (keep < min)
		keep = min;
	log_warn("%s: header %.*s: cut from %zu to %zu bytes (header_size_limit = %zu)",
	    qid, (int)hd->name_len, hd->raw, hd->raw_len, keep, p->header_size_limit);
	return keep;
}

/* Writes one original header, completed with @myorigin when it holds addresses. */
static void
put_header(const struct cleanup_params *p, const struct header *hd, size_t len,
    struct pbuf *out)
{
	const char *colon = memchr(hd->raw, ':', len);
	size_t name_end, vlen;

	if (p->append_at_myorigin && colon != NULL &&
	    header_has_addresses(hd)) {
		name_end = (size_t)(colon - hd->raw) + 1;
		vlen = len - name_end;
		if (vlen > 0 && hd->raw[len - 1] == '\n')
			vlen--;
		pbuf_append(out, hd->raw, name_end);
		addr_qualify_header(hd->raw + name_end, vlen, p->myorigin, out);
		pbuf_putc(out, '\n');
		return;
	}
	pbuf_append(out, hd->raw, len);
	if (len == 0 || hd->raw[len - 1] != '\n')
		pbuf_putc(out, '\n');
}

/* The full name as a comment body: controls to spaces, ( ) \ escaped, trimmed. */
static void
put_fullname(const char *name, struct pbuf *out)
{
	size_t start = 0, end = strlen(name), i;

	while (start < end && ((unsigned char)name[start] <= ' ' ||
	    name[start] == ASCII_DEL))
		start++;
	while (end > start && ((unsigned char)name[end - 1] <= ' ' ||
	    name[end - 1] == ASCII_DEL))
		end--;
	if (start == end)
		return;
	pbuf_puts(out, " (");
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < ASCII_FIRST_PRINT || c == ASCII_DEL)
			c = ' ';
		else if (c == '(' || c == ')' || c == '\\')
			pbuf_putc(out, '\\');
		pbuf_putc(out, c);
	}
	pbuf_putc(out, ')');
}

static void
put_added_headers(const struct cleanup_params *p, const struct cleanup_input *in,
    const struct headers *h, const char *qid, const char *host, time_t when,
    struct cleanup_output *o)
{
	struct tm tm;
	char stamp[STAMP_MAX];

	if (headers_find(h, "Message-Id", 0) < 0) {
		gmtime_r(&when, &tm);
		if (strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
			stamp[0] = '\0';
		pbuf_printf(&o->content, "Message-Id: <%s.%s@%s>\n", stamp, qid, host);
	}
	if (headers_find(h, "Date", 0) < 0) {
		pbuf_puts(&o->content, "Date: ");
		cleanup_rfc5322_date(when, &o->content);
		pbuf_putc(&o->content, '\n');
	}
	if (headers_find(h, "From", 0) < 0) {
		pbuf_puts(&o->content, "From: ");
		if (*o->sender) {
			pbuf_puts(&o->content, o->sender);
			if (in->fullname)
				put_fullname(in->fullname, &o->content);
		} else {
			pbuf_puts(&o->content, CLEANUP_NULL_FROM);
			if (p->append_at_myorigin && p->myorigin && *p->myorigin)
				pbuf_printf(&o->content, "@%s", p->myorigin);
		}
		pbuf_putc(&o->content, '\n');
	}
	if (!have_any(h, cleanup_visible_headers))
		pbuf_puts(&o->content, CLEANUP_UNDISCLOSED);
}

int
cleanup_message(const struct cleanup_params *p, const struct cleanup_input *in,
    struct cleanup_output *o)
{
	struct headers h;
	const char *qid = in->queue_id ? in->queue_id : CLEANUP_NO_QUEUE_ID;
	const char *host = p->myhostname && *p->myhostname ?
	    p->myhostname : CLEANUP_LOCALHOST;
	const char *content = in->content ? in->content : "";
	const char *body;
	time_t when = in->arrival.tv_sec ? in->arrival.tv_sec : time(NULL);
	struct strv drop = STRV_INIT;
	size_t i, blen, hops = 0;

	pbuf_reset(&o->content);
	strv_free(&o->rcpts);
	free(o->error);
	o->error = NULL;
	o->status = 0;
	headers_init(&h);
	headers_parse(content, in->len, &h);

	make_sender(p, in, o);

	for (i = 0; i < h.n; i++)
		if (header_is(&h.v[i], "Received"))
			hops++;
	if (p->hopcount_limit > 0 && hops >= (size_t)p->hopcount_limit) {
		fail(o, EX_UNAVAILABLE, ERR_HOPS);
		goto out;
	}
	if (in->extract_recipients && p->header_size_limit > 0) {
		for (i = 0; i < h.n; i++) {
			if (h.v[i].raw_len > p->header_size_limit) {
				fail(o, EX_DATAERR, ERR_HDR_LONG);
				goto out;
			}
		}
	}
	if (make_rcpts(p, in, &h, qid, o) < 0)
		goto out;

	pbuf_reserve(&o->content, in->len + ADDED_HEADERS_ROOM);
	pbuf_printf(&o->content, "Received: by %s (%s, from userid %ld)\n\tid %s; ",
	    host, p->mail_name ? p->mail_name : CLEANUP_MAIL_NAME, in->uid, qid);
	cleanup_rfc5322_date(when, &o->content);
	pbuf_putc(&o->content, '\n');

	conf_list("message_drop_headers", &drop);
	for (i = 0; i < h.n; i++) {
		if (cleanup_listed(&h.v[i], &drop))
			continue;
		put_header(p, &h.v[i], kept_len(p, &h.v[i], qid), &o->content);
	}
	strv_free(&drop);
	put_added_headers(p, in, &h, qid, host, when, o);

	body = content + h.body_off;
	blen = in->len - h.body_off;
	if (h.has_blank || blen == 0 || body[0] == ' ' || body[0] == '\t')
		pbuf_putc(&o->content, '\n');
	pbuf_append(&o->content, body, blen);
	if (blen > 0 && body[blen - 1] != '\n')
		pbuf_putc(&o->content, '\n');

	if (p->message_size_limit > 0 && o->content.len > p->message_size_limit)
		fail(o, EX_UNAVAILABLE, ERR_TOO_BIG);
out:
	headers_free(&h);
	return o->status;
}
