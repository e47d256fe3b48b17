/*
 * milter_proto - milter packets and the message model; see milter.h.
 *
 * API: milter_packet_split, milter_reply_decode, milter_packet_put,
 * milter_msg_init/free/content/apply/end_replbody.
 *
 * Errors: the decoders return -1 and say in err what is wrong with the
 * packet ("ADDHEADER: 3 strings where 2 belong", "packet length 0");
 * they never read past the data they are given.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"
#include "milter.h"
#include "pbuf.h"
#include "qfile.h"
#include "xalloc.h"

#define MILTER_LEN_BYTES	4
#define MILTER_OPTNEG_LEN	(3 * MILTER_LEN_BYTES)
#define MILTER_STRINGS_MAX	2
#define MILTER_HDR_NAME_MAX	256	/* longest header name accepted from a filter */
#define MILTER_SMTP_CODE_LEN	3

static void
mp_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
mp_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint32_t
mp_get32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return ntohl(v);
}

/* The printable name of a reply code, for messages. */
static const char *
mp_code_name(char code)
{
	switch (code) {
	case MILTER_R_ADDRCPT: return "ADDRCPT";
	case MILTER_R_DELRCPT: return "DELRCPT";
	case MILTER_R_ADDRCPT_PAR: return "ADDRCPT_PAR";
	case MILTER_R_SHUTDOWN: return "SHUTDOWN";
	case MILTER_R_ACCEPT: return "ACCEPT";
	case MILTER_R_REPLBODY: return "REPLBODY";
	case MILTER_R_CONTINUE: return "CONTINUE";
	case MILTER_R_DISCARD: return "DISCARD";
	case MILTER_R_CHGFROM: return "CHGFROM";
	case MILTER_R_CONN_FAIL: return "CONN_FAIL";
	case MILTER_R_ADDHEADER: return "ADDHEADER";
	case MILTER_R_INSHEADER: return "INSHEADER";
	case MILTER_R_SETSYMLIST: return "SETSYMLIST";
	case MILTER_R_CHGHEADER: return "CHGHEADER";
	case MILTER_R_PROGRESS: return "PROGRESS";
	case MILTER_R_QUARANTINE: return "QUARANTINE";
	case MILTER_R_REJECT: return "REJECT";
	case MILTER_R_SKIP: return "SKIP";
	case MILTER_R_TEMPFAIL: return "TEMPFAIL";
	case MILTER_R_REPLYCODE: return "REPLYCODE";
	case MILTER_C_OPTNEG: return "OPTNEG";
	default: return NULL;
	}
}

long
milter_packet_split(const char *buf, size_t len, char *code, const char **data, size_t *dlen,
    char *err, size_t errlen)
{
	uint32_t n;

	if (len < MILTER_LEN_BYTES)
		return 0;
	n = mp_get32(buf);
	if (n == 0 || n > MILTER_PACKET_MAX) {
		mp_err(err, errlen, "packet length %lu (allowed 1 to %d)", (unsigned long)n,
		    MILTER_PACKET_MAX);
		return -1;
	}
	if (len - MILTER_LEN_BYTES < n)
		return 0;
	*code = buf[MILTER_LEN_BYTES];
	*data = buf + MILTER_LEN_BYTES + 1;
	*dlen = n - 1;
	return (long)(MILTER_LEN_BYTES + n);
}

/*
 * Splits data into NUL-terminated strings: at least min, at most max; the
 * data must end with a NUL. Returns the count, or -1.
 */
static int
mp_strings(const char *name, const char *data, size_t len, int min, int max, const char **out,
    char *err, size_t errlen)
{
	size_t pos = 0;
	int n = 0;

	if (len == 0 || data[len - 1] != '\0') {
		mp_err(err, errlen, "%s: data does not end with a NUL byte", name);
		return -1;
	}
	while (pos < len) {
		const char *s = data + pos;
		size_t l = strlen(s);	/* stops at the final NUL at the latest */

		if (n >= max) {
			mp_err(err, errlen, "%s: more than %d string%s (a NUL inside a value?)", name,
			    max, max == 1 ? "" : "s");
			return -1;
		}
		out[n++] = s;
		pos += l + 1;
	}
	if (n < min) {
		mp_err(err, errlen, "%s: %d string%s where %d belong", name, n, n == 1 ? "" : "s",
		    min);
		return -1;
	}
	return n;
}

/*
 * A reply text: one line, or several joined by CRLF (libmilter's
 * smfi_setmlreply), each starting with the same 4xx or 5xx code, followed
 * by '-' on all but the last line; no other control bytes than TAB.
 */
static int
mp_reply_text_ok(const char *s)
{
	const char *line = s;
	int i;

	if (s[0] != '4' && s[0] != '5')
		return 0;
	for (;;) {
		const char *end = strstr(line, "\r\n");
		const char *p;

		for (i = 0; i < MILTER_SMTP_CODE_LEN; i++)
			if (!isdigit((unsigned char)line[i]) || line[i] != s[i])
				return 0;
		if (end != NULL && line[MILTER_SMTP_CODE_LEN] != '-')
			return 0;
		if (end == NULL && line[MILTER_SMTP_CODE_LEN] != '\0'
		    && line[MILTER_SMTP_CODE_LEN] != ' ')
			return 0;
		for (p = line; *p && p != end; p++)
			if ((unsigned char)*p < ' ' && *p != '\t')
				return 0;
		if (end == NULL)
			return 1;
		line = end + 2;
	}
}

static int
mp_optneg(const char *data, size_t len, struct milter_reply *r, char *err, size_t errlen)
{
	size_t pos = MILTER_OPTNEG_LEN;

	if (len < MILTER_OPTNEG_LEN) {
		mp_err(err, errlen, "OPTNEG: %zu bytes, at least %d needed", len, MILTER_OPTNEG_LEN);
		return -1;
	}
	r->version = mp_get32(data);
	r->actions = mp_get32(data + MILTER_LEN_BYTES);
	r->protocol = mp_get32(data + 2 * MILTER_LEN_BYTES);
	/* Then (version 6) any number of: stage number, NUL-terminated macro list. */
	while (pos < len) {
		uint32_t where;
		const char *s;
		const char *nul;

		if (len - pos < MILTER_LEN_BYTES + 1) {
			mp_err(err, errlen, "OPTNEG: truncated macro list at byte %zu", pos);
			return -1;
		}
		where = mp_get32(data + pos);
		pos += MILTER_LEN_BYTES;
		s = data + pos;
		nul = memchr(s, '\0', len - pos);
		if (nul == NULL) {
			mp_err(err, errlen, "OPTNEG: macro list for stage %lu not NUL-terminated",
			    (unsigned long)where);
			return -1;
		}
		if (where >= MILTER_M_COUNT) {
			mp_err(err, errlen, "OPTNEG: macro list for unknown stage %lu",
			    (unsigned long)where);
			return -1;
		}
		r->symlist[where] = s;
		pos += (size_t)(nul - s) + 1;
	}
	return 0;
}

int
milter_reply_decode(char code, const char *data, size_t len, struct milter_reply *r,
    char *err, size_t errlen)
{
	const char *name = mp_code_name(code);
	const char *s[MILTER_STRINGS_MAX] = { NULL, NULL };
	int n;

	memset(r, 0, sizeof(*r));
	r->code = code;
	if (name == NULL) {
		if (isprint((unsigned char)code))
			mp_err(err, errlen, "unknown reply code '%c'", code);
		else
			mp_err(err, errlen, "unknown reply code 0x%02x", (unsigned char)code);
		return -1;
	}
	switch (code) {
	case MILTER_R_ACCEPT:
	case MILTER_R_CONTINUE:
	case MILTER_R_DISCARD:
	case MILTER_R_REJECT:
	case MILTER_R_TEMPFAIL:
	case MILTER_R_PROGRESS:
	case MILTER_R_SKIP:
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		if (len != 0) {
			mp_err(err, errlen, "%s: %zu unexpected data bytes", name, len);
			return -1;
		}
		return 0;
	case MILTER_C_OPTNEG:
		return mp_optneg(data, len, r, err, errlen);
	case MILTER_R_SETSYMLIST:
		mp_err(err, errlen, "SETSYMLIST outside option negotiation");
		return -1;
	case MILTER_R_REPLBODY:
		r->data = data;
		r->len = len;
		return 0;
	case MILTER_R_REPLYCODE:
		if (mp_strings(name, data, len, 1, 1, s, err, errlen) < 0)
			return -1;
		if (!mp_reply_text_ok(s[0])) {
			mp_err(err, errlen, "REPLYCODE: \"%.40s\" is not a 4xx or 5xx reply", s[0]);
			return -1;
		}
		r->s1 = s[0];
		return 0;
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
		if (len < MILTER_LEN_BYTES) {
			mp_err(err, errlen, "%s: no index", name);
			return -1;
		}
		r->index = mp_get32(data);
		data += MILTER_LEN_BYTES;
		len -= MILTER_LEN_BYTES;
		/* fall through */
	case MILTER_R_ADDHEADER:
		if (mp_strings(name, data, len, 2, 2, s, err, errlen) < 0)
			return -1;
		r->s1 = s[0];
		r->s2 = s[1];
		return 0;
	case MILTER_R_ADDRCPT:
	case MILTER_R_DELRCPT:
	case MILTER_R_QUARANTINE:
		if (mp_strings(name, data, len, 1, 1, s, err, errlen) < 0)
			return -1;
		r->s1 = s[0];
		return 0;
	case MILTER_R_ADDRCPT_PAR:
	case MILTER_R_CHGFROM:
		n = mp_strings(name, data, len, 1, 2, s, err, errlen);
		if (n < 0)
			return -1;
		r->s1 = s[0];
		r->s2 = n > 1 ? s[1] : NULL;
		return 0;
	default:
		mp_err(err, errlen, "unknown reply code '%c'", code);
		return -1;
	}
}

void
milter_packet_put(struct pbuf *out, char code, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)(len + 1));

	pbuf_append(out, &n, sizeof(n));
	pbuf_putc(out, code);
	if (len > 0)
		pbuf_append(out, data, len);
}

/* ---- the message ---- */

static void
mm_add(struct milter_msg *m, size_t at, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	if (m->nhdr == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->hdr = xreallocarray(m->hdr, m->cap, sizeof(*m->hdr));
	}
	if (at > m->nhdr)
		at = m->nhdr;
	memmove(&m->hdr[at + 1], &m->hdr[at], (m->nhdr - at) * sizeof(*m->hdr));
	m->hdr[at].name = xstrndup(name, nlen);
	m->hdr[at].value = xstrndup(value, vlen);
	m->nhdr++;
	m->hdr_bytes += nlen + vlen;
}

static void
mm_del(struct milter_msg *m, size_t at)
{
	m->hdr_bytes -= strlen(m->hdr[at].name) + strlen(m->hdr[at].value);
	free(m->hdr[at].name);
	free(m->hdr[at].value);
	memmove(&m->hdr[at], &m->hdr[at + 1], (m->nhdr - at - 1) * sizeof(*m->hdr));
	m->nhdr--;
}

void
milter_msg_init(struct milter_msg *m, struct qenv *env, const char *content, size_t len,
    size_t size_limit)
{
	struct headers h;
	size_t i;

	memset(m, 0, sizeof(*m));
	pbuf_init(&m->body);
	pbuf_init(&m->newbody);
	m->env = env;
	m->size_limit = size_limit;
	headers_init(&h);
	headers_parse(content, len, &h);
	for (i = 0; i < h.n; i++) {
		const struct header *x = &h.v[i];
		size_t vlen = x->raw_len - x->name_len - 1;
		const char *v = x->raw + x->name_len + 1;
		size_t nlen = x->name_len;

		if (vlen > 0 && v[vlen - 1] == '\n')
			vlen--;
		while (nlen > 0 && (x->raw[nlen - 1] == ' ' || x->raw[nlen - 1] == '\t'))
			nlen--;
		mm_add(m, m->nhdr, x->raw, nlen, v, vlen);
	}
	if (h.body_off < len)
		pbuf_append(&m->body, content + h.body_off, len - h.body_off);
	headers_free(&h);
}

void
milter_msg_free(struct milter_msg *m)
{
	while (m->nhdr > 0)
		mm_del(m, m->nhdr - 1);
	free(m->hdr);
	pbuf_free(&m->body);
	pbuf_free(&m->newbody);
	free(m->quarantine);
	memset(m, 0, sizeof(*m));
}

void
milter_msg_content(const struct milter_msg *m, struct pbuf *out)
{
	size_t i;

	for (i = 0; i < m->nhdr; i++) {
		pbuf_puts(out, m->hdr[i].name);
		pbuf_putc(out, ':');
		pbuf_puts(out, m->hdr[i].value);
		pbuf_putc(out, '\n');
	}
	pbuf_putc(out, '\n');
	if (m->body.len > 0)
		pbuf_append(out, m->body.data, m->body.len);
}

/* 0 when a filter's header name is printable ASCII without ':' and not too long. */
static int
mm_name_ok(const char *name, char *err, size_t errlen)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > MILTER_HDR_NAME_MAX) {
		mp_err(err, errlen, "header name of %zu bytes", n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c > '~' || c == ':') {
			mp_err(err, errlen, "header name \"%.40s\" holds byte 0x%02x", name, c);
			return -1;
		}
	}
	return 0;
}

/*
 * The stored form of a filter's header value: CRLF to LF, every line
 * break followed by white space, no other control bytes than TAB; one
 * space after the colon unless the filter speaks with leading spaces.
 */
static int
mm_value(const char *v, int leadspc, struct pbuf *out, char *err, size_t errlen)
{
	size_t i, n = strlen(v);

	pbuf_reset(out);
	if (!leadspc)
		pbuf_putc(out, ' ');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\r' && i + 1 < n && v[i + 1] == '\n')
			continue;
		if (c == '\n') {
			if (i + 1 >= n || (v[i + 1] != ' ' && v[i + 1] != '\t')) {
				mp_err(err, errlen, "header value line break not followed by white space");
				return -1;
			}
		} else if (c < ' ' && c != '\t') {
			mp_err(err, errlen, "header value holds control byte 0x%02x", c);
			return -1;
		}
		pbuf_putc(out, (int)c);
	}
	return 0;
}

static void
mm_del_rcpt(struct qenv *e, const char *addr)
{
	size_t i = 0;
	struct pbuf bare = PBUF_INIT;
	size_t n = strlen(addr);

	/* Filters pass recipients with or without angle brackets. */
	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>')
		pbuf_append(&bare, addr + 1, n - 2);
	else
		pbuf_puts(&bare, addr);
	while (i < e->nrcpt) {
		if (strcasecmp(e->rcpt[i].addr, pbuf_str(&bare)) == 0) {
			free(e->rcpt[i].addr);
			free(e->rcpt[i].orcpt);
			memmove(&e->rcpt[i], &e->rcpt[i + 1], (e->nrcpt - i - 1) * sizeof(e->rcpt[0]));
			e->nrcpt--;
		} else {
			i++;
		}
	}
	pbuf_free(&bare);
}

/* The address without angle brackets; -1 when empty or holding white space or controls. */
static int
mm_addr(const char *in, struct pbuf *out, int empty_ok, char *err, size_t errlen)
{
	size_t n = strlen(in), i;

	pbuf_reset(out);
	if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
		in++;
		n -= 2;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)in[i] <= ' ' || in[i] == '<' || in[i] == '>') {
			mp_err(err, errlen, "address \"%.60s\" holds byte 0x%02x", in,
			    (unsigned char)in[i]);
			return -1;
		}
	if (n == 0 && !empty_ok) {
		mp_err(err, errlen, "empty address");
		return -1;
	}
	pbuf_append(out, in, n);
	return 0;
}

/* NOTIFY= and ORCPT= of ADDRCPT_PAR arguments; other arguments are ignored. */
static void
mm_rcpt_args(const char *args, unsigned *notify, char **orcpt)
{
	char *copy = xstrdup(args ? args : ""), *save = NULL, *w;

	*notify = 0;
	*orcpt = NULL;
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (strncasecmp(w, "NOTIFY=", 7) == 0) {
			char *save2 = NULL, *k;

			for (k = strtok_r(w + 7, ",", &save2); k; k = strtok_r(NULL, ",", &save2)) {
				if (strcasecmp(k, "NEVER") == 0)
					*notify |= QN_NEVER;
				else if (strcasecmp(k, "SUCCESS") == 0)
					*notify |= QN_SUCCESS;
				else if (strcasecmp(k, "FAILURE") == 0)
					*notify |= QN_FAILURE;
				else if (strcasecmp(k, "DELAY") == 0)
					*notify |= QN_DELAY;
			}
		} else if (strncasecmp(w, "ORCPT=", 6) == 0 && strchr(w + 6, ';') != NULL
		    && strlen(w + 6) <= QFILE_ORCPT_MAX) {
			free(*orcpt);
			*orcpt = xstrdup(w + 6);
		}
	}
	free(copy);
}

int
milter_msg_apply(struct milter_msg *m, const struct milter_reply *r, int leadspc, char *err,
    size_t errlen)
{
	struct pbuf v = PBUF_INIT;
	size_t i, seen;
	int rc = -1;

	if ((r->code == MILTER_R_ADDHEADER || r->code == MILTER_R_INSHEADER
	    || r->code == MILTER_R_CHGHEADER) && m->size_limit > 0
	    && m->hdr_bytes + strlen(r->s1) + strlen(r->s2) > m->size_limit) {
		mp_err(err, errlen, "headers grow over message_size_limit %zu", m->size_limit);
		return -1;
	}
	if ((r->code == MILTER_R_ADDRCPT || r->code == MILTER_R_ADDRCPT_PAR)
	    && m->added_rcpts >= MILTER_ADDRCPT_MAX) {
		mp_err(err, errlen, "more than %d recipients added", MILTER_ADDRCPT_MAX);
		return -1;
	}
	switch (r->code) {
	case MILTER_R_ADDHEADER:
	case MILTER_R_INSHEADER:
		if (mm_name_ok(r->s1, err, errlen) < 0 || mm_value(r->s2, leadspc, &v, err, errlen) < 0)
			break;
		mm_add(m, r->code == MILTER_R_ADDHEADER ? m->nhdr : (size_t)r->index, r->s1,
		    strlen(r->s1), pbuf_str(&v), v.len);
		rc = 0;
		break;
	case MILTER_R_CHGHEADER:
		if (mm_name_ok(r->s1, err, errlen) < 0)
			break;
		if (*r->s2 != '\0' && mm_value(r->s2, leadspc, &v, err, errlen) < 0)
			break;
		/* The index-th header of that name (counting from 1; 0 is taken as 1). */
		for (i = 0, seen = 0; i < m->nhdr; i++) {
			if (strcasecmp(m->hdr[i].name, r->s1) == 0 && ++seen >= (r->index ? r->index : 1))
				break;
		}
		if (i < m->nhdr && *r->s2 == '\0') {
			mm_del(m, i);
		} else if (i < m->nhdr) {
			m->hdr_bytes += v.len - strlen(m->hdr[i].value);
			free(m->hdr[i].value);
			m->hdr[i].value = xstrndup(pbuf_str(&v), v.len);
		} else if (*r->s2 != '\0') {
			mm_add(m, m->nhdr, r->s1, strlen(r->s1), pbuf_str(&v), v.len);
		}
		rc = 0;
		break;
	case MILTER_R_ADDRCPT:
	case MILTER_R_ADDRCPT_PAR: {
		unsigned notify;
		char *orcpt;

		if (mm_addr(r->s1, &v, 0, err, errlen) < 0)
			break;
		for (i = 0; i < m->env->nrcpt; i++)
			if (strcasecmp(m->env->rcpt[i].addr, pbuf_str(&v)) == 0)
				break;
		if (i == m->env->nrcpt) {
			mm_rcpt_args(r->s2, &notify, &orcpt);
			qenv_add_rcpt(m->env, pbuf_str(&v), notify, orcpt);
			m->added_rcpts++;
			free(orcpt);
		}
		rc = 0;
		break;
	}
	case MILTER_R_DELRCPT:
		mm_del_rcpt(m->env, r->s1);
		rc = 0;
		break;
	case MILTER_R_CHGFROM:
		if (mm_addr(r->s1, &v, 1, err, errlen) < 0)
			break;
		qenv_set_sender(m->env, pbuf_str(&v));
		rc = 0;
		break;
	case MILTER_R_QUARANTINE:
		free(m->quarantine);
		m->quarantine = xstrdup(r->s1);
		rc = 0;
		break;
	case MILTER_R_REPLBODY:
		if (m->size_limit > 0 && m->newbody.len + r->len > m->size_limit) {
			mp_err(err, errlen, "body replacement over message_size_limit %zu",
			    m->size_limit);
			break;
		}
		pbuf_append(&m->newbody, r->data, r->len);
		m->replbody = 1;
		rc = 0;
		break;
	default:
		mp_err(err, errlen, "%s is no modification", mp_code_name(r->code) ?
		    mp_code_name(r->code) : "code");
		break;
	}
	pbuf_free(&v);
	return rc;
}

void
milter_msg_end_replbody(struct milter_msg *m)
{
	size_t i;

	if (!m->replbody)
		return;
	pbuf_reset(&m->body);
	for (i = 0; i < m->newbody.len; i++) {
		if (m->newbody.data[i] == '\r' && i + 1 < m->newbody.len
		    && m->newbody.data[i + 1] == '\n')
			continue;
		pbuf_putc(&m->body, m->newbody.data[i]);
	}
	if (m->body.len > 0 && m->body.data[m->body.len - 1] != '\n')
		pbuf_putc(&m->body, '\n');
	pbuf_reset(&m->newbody);
	m->replbody = 0;
}
