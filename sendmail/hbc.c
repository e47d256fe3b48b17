/*
 * hbc - header_checks, mime_header_checks, nested_header_checks and
 * body_checks on a message about to be queued; see hbc.h for what is
 * matched, the actions, the API and the errors.
 *
 * The message is walked line by line once. A small MIME reader follows
 * the structure: the Content-Type of each header block gives a
 * multipart boundary (pushed on a stack of at most mime_nesting_limit)
 * or message/rfc822 (the next header block is a nested one); a body line
 * "--boundary" of any boundary on the stack starts a part's headers
 * (inner boundaries are dropped), "--boundary--" ends that multipart.
 * Malformed MIME never fails: what is not recognised is body.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hbc.h"
#include "smtp_reply.h"
#include "log.h"
#include "maps.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define HBC_SHOW_MAX		200	/* octets of a header or line in a log entry */
#define HBC_DEFAULT_REJECT	"Message content rejected"
#define HBC_DEFAULT_DSN		"5.7.1"
#define HBC_DSN_MAX		16	/* "5.123.123" and its NUL, with room */
#define HBC_REPLY_PERM		550
#define HBC_REPLY_TEMP		450
#define HBC_ERR_MAX		1024	/* a table's error message */
#define HBC_ACTION_MAX		16	/* the action word kept ("REPLACE", ...) */

enum hbc_class { HBC_C_HEADER, HBC_C_MIME, HBC_C_NESTED, HBC_C_BODY, HBC_NCLASS };

static const char *const hbc_params[HBC_NCLASS] = {
	"header_checks", "mime_header_checks", "nested_header_checks", "body_checks"
};

struct hbc_state {
	const struct hbc_ctx *ctx;
	struct hbc_result *r;
	struct pbuf *out;
	int stop;			/* REJECT, DISCARD or a table error */
	int have[HBC_NCLASS];		/* the parameter names a table */
	size_t hdr_limit;		/* 0: none */
	size_t body_limit, body_seen;
	size_t depth_max;
	struct strv bounds;		/* open multipart boundaries, innermost last */
	/* The header block being read. */
	char *boundary;			/* its Content-Type: multipart's boundary */
	int message;			/* its Content-Type is message/rfc822 */
};

int
hbc_enabled(void)
{
	int i;

	for (i = 0; i < HBC_NCLASS; i++)
		if (*conf_str(hbc_params[i]) != '\0')
			return 1;
	return 0;
}

void
hbc_result_free(struct hbc_result *r)
{
	free(r->reply);
	free(r->text);
	free(r->hold);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

/* s (len octets) for a log line: one line, printable, bounded. */
static void
hbc_show(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 1 < outlen && i < HBC_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			continue;
		out[j++] = (c == '\t' || (c >= 0x20 && c != 0x7f)) ? (char)c : '?';
	}
	out[j] = '\0';
}

static void
hbc_log(const struct hbc_state *st, const char *what, enum hbc_class c, const char *key,
    const char *text)
{
	char shown[HBC_SHOW_MAX + 1];

	hbc_show(key, strlen(key), shown, sizeof(shown));
	log_info("%s: %s: %s %s %s%s%s", st->ctx->qid, what, c == HBC_C_BODY ? "body" : "header",
	    shown, st->ctx->where, text && *text ? ": " : "", text ? text : "");
}

/* 1 when s is "Name: ..." with a printable name, no control bytes (tab aside). */
static int
hbc_is_header(const char *s)
{
	const char *p;

	for (p = s; *p > 0x20 && *p < 0x7f && *p != ':'; p++)
		;
	if (p == s || *p != ':')
		return 0;
	for (; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

/* The first word of s in word (bounded), *rest the text after it (white space skipped). */
static void
hbc_split_action(const char *s, char *word, size_t wlen, const char **rest)
{
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s && *s != ' ' && *s != '\t') {
		if (n + 1 < wlen)
			word[n++] = *s;
		s++;
	}
	word[n] = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	*rest = s;
}

/* A leading "4.x.x " or "5.x.x " enhanced status code: its length, else 0. */
static size_t
hbc_dsn_len(const char *s)
{
	size_t n = 0, len = strlen(s);

	if (smtp_reply_is_dsn(s, len, '4', &n) || smtp_reply_is_dsn(s, len, '5', &n))
		return n;
	return 0;
}

static void
hbc_reject(struct hbc_state *st, const char *text)
{
	char dsn[HBC_DSN_MAX];
	size_t n = hbc_dsn_len(text);

	snprintf(dsn, sizeof(dsn), "%.*s", n ? (int)n : (int)strlen(HBC_DEFAULT_DSN),
	    n ? text : HBC_DEFAULT_DSN);
	text += n;
	while (*text == ' ')
		text++;
	if (*text == '\0')
		text = HBC_DEFAULT_REJECT;
	st->r->verdict = HBC_REJECT;
	st->r->text = xstrdup(text);
	st->r->reply = xasprintf("%d %s %s", dsn[0] == '4' ? HBC_REPLY_TEMP : HBC_REPLY_PERM, dsn,
	    text);
	st->stop = 1;
}

/*
 * Inspects one line or logical header (raw, rawlen octets with its final
 * newline when it had one) of class c and writes what stays to out.
 */
static void
hbc_check(struct hbc_state *st, enum hbc_class c, const char *raw, size_t rawlen)
{
	size_t klen = rawlen;
	char *key, *value = NULL, err[HBC_ERR_MAX], word[HBC_ACTION_MAX];
	const char *text;
	int rc;

	if (st->stop || !st->have[c] ||
	    (c == HBC_C_BODY && st->body_limit > 0 && st->body_seen >= st->body_limit)) {
		pbuf_append(st->out, raw, rawlen);
		return;
	}
	if (c == HBC_C_BODY)
		st->body_seen += rawlen;
	if (klen > 0 && raw[klen - 1] == '\n')
		klen--;
	if (c != HBC_C_BODY && st->hdr_limit > 0 && klen > st->hdr_limit)
		klen = st->hdr_limit;
	key = xstrndup(raw, klen);
	rc = maps_lookup_list(hbc_params[c], key, &value, err, sizeof(err));
	if (rc < 0) {
		log_warn("%s: %s lookup error: %s", st->ctx->qid, hbc_params[c], err);
		st->r->verdict = HBC_DEFER;
		st->r->error = xasprintf("%s: %s", hbc_params[c], err);
		st->stop = 1;
		pbuf_append(st->out, raw, rawlen);
		free(key);
		return;
	}
	if (rc == 0) {
		pbuf_append(st->out, raw, rawlen);
		free(key);
		return;
	}
	hbc_split_action(value, word, sizeof(word), &text);
	if (strcasecmp(word, "REJECT") == 0) {
		hbc_reject(st, text);
		hbc_log(st, "reject", c, key, st->r->reply + strlen("550 "));
		pbuf_append(st->out, raw, rawlen);
	} else if (strcasecmp(word, "DISCARD") == 0) {
		st->r->verdict = HBC_DISCARD;
		st->r->text = xstrdup(text);
		st->stop = 1;
		hbc_log(st, "discard", c, key, text);
		pbuf_append(st->out, raw, rawlen);
	} else if (strcasecmp(word, "HOLD") == 0) {
		if (st->r->hold == NULL)
			st->r->hold = xstrdup(*text ? text : "header or body checks");
		hbc_log(st, "hold", c, key, text);
		pbuf_append(st->out, raw, rawlen);
	} else if (strcasecmp(word, "WARN") == 0 || strcasecmp(word, "INFO") == 0) {
		hbc_log(st, strcasecmp(word, "WARN") == 0 ? "warning" : "info", c, key, text);
		pbuf_append(st->out, raw, rawlen);
	} else if (strcasecmp(word, "IGNORE") == 0) {
		hbc_log(st, "ignore", c, key, NULL);
	} else if (strcasecmp(word, "PREPEND") == 0 || strcasecmp(word, "REPLACE") == 0) {
		int replace = strcasecmp(word, "REPLACE") == 0;

		if (*text == '\0' || (c != HBC_C_BODY && !hbc_is_header(text)) ||
		    strchr(text, '\n') != NULL) {
			log_warn("%s: %s: %s action without a valid %s: \"%.*s\"; ignored",
			    st->ctx->qid, hbc_params[c], word, c == HBC_C_BODY ? "line" : "header",
			    HBC_SHOW_MAX, text);
			pbuf_append(st->out, raw, rawlen);
		} else {
			hbc_log(st, replace ? "replace" : "prepend", c, key, text);
			pbuf_printf(st->out, "%s\n", text);
			if (!replace)
				pbuf_append(st->out, raw, rawlen);
		}
	} else if (strcasecmp(word, "DUNNO") == 0 || strcasecmp(word, "OK") == 0) {
		pbuf_append(st->out, raw, rawlen);
	} else {
		log_warn("%s: %s: %s action \"%s\" in the answer \"%.*s\"; ignored",
		    st->ctx->qid, hbc_params[c],
		    (strcasecmp(word, "FILTER") == 0 || strcasecmp(word, "REDIRECT") == 0 ||
		    strcasecmp(word, "BCC") == 0 || strcasecmp(word, "DELAY") == 0 ||
		    strcasecmp(word, "STRIP") == 0) ? "unsupported" : "unknown", word,
		    HBC_SHOW_MAX, value);
		pbuf_append(st->out, raw, rawlen);
	}
	free(value);
	free(key);
}

/* Notes what a Content-Type header (raw) says about the block's MIME structure. */
static void
hbc_content_type(struct hbc_state *st, const char *raw, size_t len)
{
	struct pbuf v = PBUF_INIT;
	const char *p, *b;
	size_t i;

	if (len < strlen("content-type:") || strncasecmp(raw, "content-type:",
	    strlen("content-type:")) != 0)
		return;
	/* The value, unfolded. */
	for (i = strlen("content-type:"); i < len; i++)
		if (raw[i] != '\n' && raw[i] != '\r')
			pbuf_putc(&v, raw[i]);
	p = pbuf_str(&v);
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "message/rfc822", strlen("message/rfc822")) == 0) {
		st->message = 1;
	} else if (strncasecmp(p, "multipart/", strlen("multipart/")) == 0) {
		for (b = p; (b = strchr(b, '=')) != NULL; b++) {
			const char *n = b;
			size_t blen;

			while (n > p && (n[-1] == ' ' || n[-1] == '\t'))
				n--;
			if ((size_t)(n - p) < strlen("boundary") || strncasecmp(n - strlen("boundary"),
			    "boundary", strlen("boundary")) != 0)
				continue;
			b++;
			while (*b == ' ' || *b == '\t')
				b++;
			if (*b == '"') {
				b++;
				blen = strcspn(b, "\"");
			} else {
				blen = strcspn(b, " \t;");
			}
			if (blen > 0) {
				free(st->boundary);
				st->boundary = xstrndup(b, blen);
			}
			break;
		}
	}
	pbuf_free(&v);
}

/* A header of class c is complete: inspect it and note its MIME meaning. */
static void
hbc_header_done(struct hbc_state *st, enum hbc_class c, const char *raw, size_t len)
{
	hbc_content_type(st, raw, len);
	hbc_check(st, c, raw, len);
}

/* The header block ended: what comes next. 1 when a nested header block follows. */
static int
hbc_block_done(struct hbc_state *st)
{
	int nested = 0;

	if (st->bounds.n < st->depth_max) {
		if (st->boundary != NULL)
			strv_add(&st->bounds, st->boundary);
		else if (st->message)
			nested = 1;
	}
	free(st->boundary);
	st->boundary = NULL;
	st->message = 0;
	return nested;
}

/* A body line that is a boundary: 1 starts a part (inner boundaries dropped), 2 ends one, else 0. */
static int
hbc_boundary(struct hbc_state *st, const char *line, size_t len)
{
	size_t i, blen;

	if (len < 2 || line[0] != '-' || line[1] != '-')
		return 0;
	while (len > 2 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	for (i = st->bounds.n; i-- > 0;) {
		blen = strlen(st->bounds.v[i]);
		if (len - 2 < blen || memcmp(line + 2, st->bounds.v[i], blen) != 0)
			continue;
		if (len - 2 == blen) {
			while (st->bounds.n > i + 1)
				free(st->bounds.v[--st->bounds.n]);
			return 1;
		}
		if (len - 2 == blen + 2 && line[len - 2] == '-' && line[len - 1] == '-') {
			while (st->bounds.n > i)
				free(st->bounds.v[--st->bounds.n]);
			return 2;
		}
	}
	return 0;
}

void
hbc_apply(const struct hbc_ctx *ctx, const char *content, size_t len, struct pbuf *out,
    struct hbc_result *r)
{
	struct hbc_state st;
	const char *p = content, *end = content + len, *hdr = NULL;
	enum hbc_class cls = HBC_C_HEADER;
	int in_headers = 1, i;
	long long depth;

	memset(r, 0, sizeof(*r));
	memset(&st, 0, sizeof(st));
	st.ctx = ctx;
	st.r = r;
	st.out = out;
	for (i = 0; i < HBC_NCLASS; i++)
		st.have[i] = *conf_str(hbc_params[i]) != '\0';
	st.hdr_limit = (size_t)conf_int("header_size_limit");
	st.body_limit = (size_t)conf_int("body_checks_size_limit");
	depth = conf_int("mime_nesting_limit");
	st.depth_max = depth > 0 ? (size_t)depth : 0;
	strv_init(&st.bounds);

	while (p < end && !st.stop) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		size_t llen = (size_t)(next - p);

		if (in_headers) {
			if (hdr != NULL && (*p == ' ' || *p == '\t')) {
				p = next;		/* a continuation: part of hdr */
				continue;
			}
			if (hdr != NULL) {
				hbc_header_done(&st, cls, hdr, (size_t)(p - hdr));
				hdr = NULL;
				if (st.stop)
					break;
			}
			if (*p == '\n' || (*p == '\r' && llen == 2 && p[1] == '\n')) {
				pbuf_append(out, p, llen);
				p = next;
				if (hbc_block_done(&st)) {
					cls = HBC_C_NESTED;
				} else {
					in_headers = 0;
				}
				continue;
			}
			{
				const char *q = p;

				while (q < next && *q > 0x20 && *q < 0x7f && *q != ':')
					q++;
				if (q > p && q < next && *q == ':') {
					hdr = p;
					p = next;
					continue;
				}
			}
			/* Neither header nor blank line: the body starts here. */
			if (hbc_block_done(&st))
				cls = HBC_C_NESTED;	/* no headers there either: body */
			in_headers = 0;
		}
		switch (hbc_boundary(&st, p, llen)) {
		case 1:
			hbc_check(&st, HBC_C_BODY, p, llen);
			in_headers = 1;
			cls = HBC_C_MIME;
			break;
		default:
			hbc_check(&st, HBC_C_BODY, p, llen);
			break;
		}
		p = next;
	}
	if (hdr != NULL && !st.stop)
		hbc_header_done(&st, cls, hdr, (size_t)(p - hdr));
	else if (hdr != NULL)
		p = hdr;
	if (p < end)
		pbuf_append(out, p, (size_t)(end - p));
	free(st.boundary);
	strv_free(&st.bounds);
}
