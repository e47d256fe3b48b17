/*
 * addr - RFC 5322 address lists: parsing, and qualifying bare names.
 *
 * API (addr.h): addr_parse_list() turns a header value or a command-line
 * argument into SMTP-form addresses; addr_qualify_header() appends
 * "@domain" to the bare local parts of a header value and leaves every
 * other byte as written; addr_qualify(), addr_unquote_local() and
 * addr_strip_brackets() work on single addresses.
 *
 * How: the text is cut into tokens (atoms, quoted strings, domain
 * literals, specials; comments and white space are dropped, each token
 * remembers where it lies in the text), then a recursive-descent parser
 * walks the list. The grammar is RFC 5322's with the obsolete forms real
 * mail still carries: route addresses (<@a,@b:u@d> gives u@d), local parts
 * with odd dots (kept as written), "." and "@" in display names, a ';'
 * between top-level addresses (Outlook habit) taken as a ','. Group
 * syntax yields the members; a missing final ';' is tolerated; groups do
 * not nest. "<>" is skipped without counting as bad.
 *
 * Errors: nothing fails as a whole. An element (a list member) that does
 * not parse, holds a control byte in its local part, or gives an address
 * longer than ADDR_MAX_LEN is counted in *bad and skipped; parsing goes on
 * at the next ',' or ';' outside angle brackets (see recover()). An
 * unterminated quoted string, comment or domain literal swallows the rest
 * of the text, which therefore counts as one bad element.
 *
 * SMTP form: local part as written when it was written unquoted (so
 * "john..doe" stays as it is), otherwise unquoted when the content is a
 * plain dot-atom and quoted (with \" and \\ escapes) when it is not; the
 * domain as written, without white space or comments (also none inside a
 * domain literal; a literal holding another control byte is bad).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define ADDR_SPECIALS	"()<>[]:;@\\,.\""
#define ASCII_DEL	127
#define ASCII_FIRST_PRINT 32
#define TOKS_MIN_CAP	16

enum tok_type {
	TK_ATOM,		/* run of atext (8-bit bytes included) */
	TK_QSTR,		/* "quoted string", quotes included */
	TK_DLIT,		/* [domain literal], brackets included */
	TK_SPECIAL,		/* one special byte, in ch */
	TK_BAD			/* control byte, stray backslash, unterminated */
};

struct tok {
	enum tok_type type;
	int ch;			/* the byte for TK_SPECIAL */
	size_t start, end;	/* [start, end) in the text */
};

/* One parsed list element. */
struct elem {
	int has_addr;		/* 0 for "<>" and for groups */
	int need_domain;	/* no "@domain" was written */
	int is_group;		/* members already committed: never re-scan */
	size_t ins_off;		/* where "@domain" goes (end of the local part) */
	size_t span_start, span_end;	/* the addr-spec as written, [start, end) */
	struct pbuf addr;	/* SMTP form */
};

/* A committed address and where it was written. */
struct span {
	size_t start, end;
	char *addr;
};

struct parser {
	const char *text;
	size_t len;
	struct tok *t;
	size_t n, cap, pos;
	/* results */
	struct strv *out;	/* list mode: addresses found (or NULL) */
	size_t added, bad;
	size_t *ins;		/* qualify mode: insertion offsets (or unused) */
	size_t nins, capins;
	struct span *spans;	/* map mode: every address with its place (or NULL) */
	size_t nspans;
	int want_spans;
	struct elem cur;
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_ctl(unsigned char c)
{
	return c < ASCII_FIRST_PRINT || c == ASCII_DEL;
}

/* RFC 5322 atext, widened to every 8-bit byte (RFC 6532). */
static int
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if (is_ctl(c) || c == ' ')
		return 0;
	return strchr(ADDR_SPECIALS, c) == NULL;
}

static void
tok_add(struct parser *p, enum tok_type type, int ch, size_t start, size_t end)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : TOKS_MIN_CAP;
		p->t = xreallocarray(p->t, p->cap, sizeof(*p->t));
	}
	p->t[p->n].type = type;
	p->t[p->n].ch = ch;
	p->t[p->n].start = start;
	p->t[p->n].end = end;
	p->n++;
}

/* Returns the offset after a comment starting at i, or len if unterminated. */
static size_t
skip_comment(const char *s, size_t len, size_t i, int *closed)
{
	size_t depth = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' && i + 1 < len) {
			i += 2;
			continue;
		}
		i++;
		if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0) {
			*closed = 1;
			return i;
		}
	}
	*closed = 0;
	return len;
}

static void
tokenize(struct parser *p)
{
	const char *s = p->text;
	size_t len = p->len, i = 0, j;
	int closed;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (is_wsp(c)) {
			i++;
		} else if (c == '(') {
			j = skip_comment(s, len, i, &closed);
			if (!closed)
				tok_add(p, TK_BAD, 0, i, len);
			i = j;
		} else if (c == '"') {
			for (j = i + 1; j < len && s[j] != '"'; j++)
				if (s[j] == '\\' && j + 1 < len)
					j++;
			if (j >= len) {
				tok_add(p, TK_BAD, 0, i, len);
				i = len;
			} else {
				tok_add(p, TK_QSTR, 0, i, j + 1);
				i = j + 1;
			}
		} else if (c == '[') {
			for (j = i + 1; j < len && s[j] != ']' && s[j] != '['; j++)
				if (s[j] == '\\' && j + 1 < len)
					j++;
			if (j >= len || s[j] == '[') {
				tok_add(p, TK_BAD, 0, i, j);
				i = j;
			} else {
				tok_add(p, TK_DLIT, 0, i, j + 1);
				i = j + 1;
			}
		} else if (c == '\\' || is_ctl(c)) {
			tok_add(p, TK_BAD, c, i, i + 1);
			i++;
		} else if (strchr(ADDR_SPECIALS, c) != NULL) {
			tok_add(p, TK_SPECIAL, c, i, i + 1);
			i++;
		} else {
			for (j = i; j < len && is_atext((unsigned char)s[j]); j++)
				;
			tok_add(p, TK_ATOM, 0, i, j);
			i = j;
		}
	}
}

static int
tk_is(const struct parser *p, int ch)
{
	return p->pos < p->n && p->t[p->pos].type == TK_SPECIAL &&
	    p->t[p->pos].ch == ch;
}

static int
tk_type(const struct parser *p, enum tok_type type)
{
	return p->pos < p->n && p->t[p->pos].type == type;
}

/*
 * Appends a domain literal without its white space (FWS is allowed there
 * and means nothing). -1 when it holds another control byte.
 */
static int
append_literal(struct pbuf *b, const char *s, size_t start, size_t end)
{
	size_t i;

	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)s[i];

		/* A quoted pair stays whole, even "\ ": dropping the space would
		 * leave "\]" and change where the literal ends (found by fuzz_addr). */
		if (c == '\\' && i + 1 < end) {
			unsigned char n = (unsigned char)s[i + 1];

			if (is_ctl(n) && n != '\t')
				return -1;	/* CR, LF and other controls: never in an address */
			pbuf_putc(b, c);
			pbuf_putc(b, n);
			i++;
			continue;
		}
		if (is_wsp(c))
			continue;
		if (is_ctl(c))
			return -1;
		pbuf_putc(b, c);
	}
	return 0;
}

/* Appends the content of a quoted string token, quotes and escapes removed. */
static void
append_unquoted(struct pbuf *b, const char *s, size_t start, size_t end)
{
	size_t i;

	for (i = start + 1; i + 1 < end; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '\\' && i + 2 < end)
			i++;
		pbuf_putc(b, s[i]);
	}
}

/* 1 when s is a dot-atom: atext runs separated by single dots. */
static int
is_dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* domain: dot-separated atoms (a trailing dot kept) or a domain literal. */
static int
parse_domain(struct parser *p, struct pbuf *b)
{
	if (tk_type(p, TK_DLIT)) {
		if (append_literal(b, p->text, p->t[p->pos].start, p->t[p->pos].end) < 0)
			return -1;
		p->pos++;
		return 0;
	}
	if (!tk_type(p, TK_ATOM))
		return -1;
	for (;;) {
		pbuf_append(b, p->text + p->t[p->pos].start,
		    p->t[p->pos].end - p->t[p->pos].start);
		p->pos++;
		if (!tk_is(p, '.'))
			break;
		pbuf_putc(b, '.');
		p->pos++;
		if (!tk_type(p, TK_ATOM))
			break;
	}
	return 0;
}

/* addr-spec: local part, then "@" domain unless it is a bare name. */
static int
parse_addr_spec(struct parser *p)
{
	struct pbuf plain = PBUF_INIT;
	int prev_word = 0, quoted = 0, rc = -1;
	size_t words = 0, i;

	if (p->pos < p->n)
		p->cur.span_start = p->t[p->pos].start;
	while (p->pos < p->n) {
		const struct tok *t = &p->t[p->pos];

		if (t->type == TK_ATOM || t->type == TK_QSTR) {
			if (prev_word)
				goto out;	/* "john doe@x": not an address */
			if (t->type == TK_QSTR) {
				quoted = 1;
				append_unquoted(&plain, p->text, t->start, t->end);
			} else
				pbuf_append(&plain, p->text + t->start, t->end - t->start);
			prev_word = 1;
			words++;
		} else if (t->type == TK_SPECIAL && t->ch == '.') {
			pbuf_putc(&plain, '.');
			prev_word = 0;
		} else
			break;
		p->pos++;
	}
	if (words == 0)
		goto out;
	p->cur.ins_off = p->t[p->pos - 1].end;

	if (!quoted || is_dot_atom(pbuf_str(&plain), plain.len)) {
		pbuf_append(&p->cur.addr, pbuf_str(&plain), plain.len);
	} else {
		pbuf_putc(&p->cur.addr, '"');
		for (i = 0; i < plain.len; i++) {
			unsigned char c = (unsigned char)plain.data[i];

			if (is_ctl(c))
				goto out;	/* not expressible in SMTP */
			if (c == '"' || c == '\\')
				pbuf_putc(&p->cur.addr, '\\');
			pbuf_putc(&p->cur.addr, c);
		}
		pbuf_putc(&p->cur.addr, '"');
	}
	if (tk_is(p, '@')) {
		p->pos++;
		pbuf_putc(&p->cur.addr, '@');
		if (parse_domain(p, &p->cur.addr) < 0)
			goto out;
	} else
		p->cur.need_domain = 1;
	p->cur.span_end = p->t[p->pos - 1].end;
	p->cur.has_addr = 1;
	rc = 0;
out:
	pbuf_free(&plain);
	return rc;
}

/* Obsolete source route "@a,@b:" before the address in <>; thrown away. */
static int
parse_route(struct parser *p)
{
	struct pbuf scratch = PBUF_INIT;
	int rc = -1;

	for (;;) {
		if (!tk_is(p, '@'))
			goto out;
		p->pos++;
		if (parse_domain(p, &scratch) < 0)
			goto out;
		if (!tk_is(p, ','))
			break;
		while (tk_is(p, ','))
			p->pos++;
	}
	if (!tk_is(p, ':'))
		goto out;
	p->pos++;
	rc = 0;
out:
	pbuf_free(&scratch);
	return rc;
}

/* A display name: words, plus the "." and "@" that real mail puts there. */
static int
phrase_ok(const struct parser *p, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++) {
		const struct tok *t = &p->t[i];

		if (t->type == TK_ATOM || t->type == TK_QSTR)
			continue;
		if (t->type == TK_SPECIAL && (t->ch == '.' || t->ch == '@'))
			continue;
		return 0;
	}
	return 1;
}

static void parse_list(struct parser *, int);

/* One element: group, [phrase] <angle-addr>, or addr-spec. */
static int
parse_element(struct parser *p, int in_group)
{
	size_t j;

	for (j = p->pos; j < p->n; j++) {
		const struct tok *t = &p->t[j];

		if (t->type != TK_SPECIAL)
			continue;
		if (t->ch == '<' || t->ch == ':' || t->ch == ',' ||
		    t->ch == ';' || t->ch == '>')
			break;
	}
	if (j < p->n && p->t[j].ch == '<') {
		if (!phrase_ok(p, p->pos, j))
			return -1;
		p->pos = j + 1;
		if (tk_is(p, '>')) {		/* <>: nothing */
			p->pos++;
			return 0;
		}
		if (tk_is(p, '@') && parse_route(p) < 0)
			return -1;
		if (parse_addr_spec(p) < 0 || !tk_is(p, '>'))
			return -1;
		p->pos++;
		return 0;
	}
	if (j < p->n && p->t[j].ch == ':' && !in_group) {
		if (!phrase_ok(p, p->pos, j))
			return -1;
		p->pos = j + 1;
		parse_list(p, 1);
		if (tk_is(p, ';'))
			p->pos++;
		p->cur.has_addr = 0;	/* the members were committed one by one */
		p->cur.is_group = 1;
		return 0;
	}
	return parse_addr_spec(p);
}

/*
 * Skips a bad element: to the next ',' or ';' outside <>. Angle brackets
 * never nest, so a second '<' (or the end) while one is open means it was
 * never closed: then the element ends at the next ',' or ';' anywhere.
 * The first scan stops at the next '<' at the latest, which keeps the
 * work linear over the whole list.
 */
static void
recover(struct parser *p, size_t start)
{
	size_t j;
	int open = 0;

	for (j = start; j < p->n; j++) {
		const struct tok *t = &p->t[j];

		if (t->type != TK_SPECIAL)
			continue;
		if (t->ch == '<') {
			if (open)
				break;
			open = 1;
		} else if (t->ch == '>')
			open = 0;
		else if ((t->ch == ',' || t->ch == ';') && !open)
			break;
	}
	if (open) {
		for (j = start; j < p->n; j++)
			if (p->t[j].type == TK_SPECIAL &&
			    (p->t[j].ch == ',' || p->t[j].ch == ';'))
				break;
	}
	p->pos = j;
}

static void
commit(struct parser *p)
{
	if (!p->cur.has_addr)
		return;
	if (p->cur.addr.len > ADDR_MAX_LEN) {
		p->bad++;
		return;
	}
	p->added++;
	if (p->out)
		strv_addn(p->out, pbuf_str(&p->cur.addr), p->cur.addr.len);
	if (p->want_spans) {
		p->spans = xreallocarray(p->spans, p->nspans + 1, sizeof(*p->spans));
		p->spans[p->nspans].start = p->cur.span_start;
		p->spans[p->nspans].end = p->cur.span_end;
		p->spans[p->nspans].addr = xstrndup(pbuf_str(&p->cur.addr), p->cur.addr.len);
		p->nspans++;
	}
	if (p->cur.need_domain) {
		if (p->nins == p->capins) {
			p->capins = p->capins ? p->capins * 2 : TOKS_MIN_CAP;
			p->ins = xreallocarray(p->ins, p->capins, sizeof(*p->ins));
		}
		p->ins[p->nins++] = p->cur.ins_off;
	}
}

/* Both levels end an element at ',' or ';' (a group's end, or a stray ';'). */
static int
at_separator(const struct parser *p)
{
	return p->pos >= p->n || tk_is(p, ',') || tk_is(p, ';');
}

static void
parse_list(struct parser *p, int in_group)
{
	for (;;) {
		size_t start;
		int rc;

		while (tk_is(p, ',') || (!in_group && tk_is(p, ';')))
			p->pos++;
		if (p->pos >= p->n || (in_group && tk_is(p, ';')))
			return;
		start = p->pos;
		pbuf_reset(&p->cur.addr);
		p->cur.has_addr = 0;
		p->cur.need_domain = 0;
		p->cur.is_group = 0;
		rc = parse_element(p, in_group);
		if (rc == 0 && at_separator(p)) {
			commit(p);
		} else {
			/* Junk after a group: skip from there, its members stand. */
			p->bad++;
			recover(p, p->cur.is_group ? p->pos : start);
		}
	}
}

static void
parser_start(struct parser *p, const char *text, size_t len, struct strv *out)
{
	memset(p, 0, sizeof(*p));
	p->text = text;
	p->len = len;
	p->out = out;
	pbuf_init(&p->cur.addr);
}

static void
parser_run(struct parser *p, const char *text, size_t len, struct strv *out)
{
	parser_start(p, text, len, out);
	tokenize(p);
	parse_list(p, 0);
}

static void
parser_free(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->nspans; i++)
		free(p->spans[i].addr);
	free(p->spans);
	free(p->t);
	free(p->ins);
	pbuf_free(&p->cur.addr);
}

size_t
addr_map_header(const char *value, size_t len, addr_map_fn fn, void *ctx, struct pbuf *out)
{
	struct parser p;
	size_t i, prev = 0, changed = 0;

	parser_start(&p, value, len, NULL);
	p.want_spans = 1;
	tokenize(&p);
	parse_list(&p, 0);
	for (i = 0; i < p.nspans; i++) {
		const struct span *sp = &p.spans[i];
		char *repl;

		if (sp->start < prev || sp->end > len || sp->start >= sp->end)
			continue;	/* cannot happen: spans come in text order */
		repl = fn(sp->addr, ctx);
		if (repl == NULL)
			continue;
		pbuf_append(out, value + prev, sp->start - prev);
		pbuf_puts(out, repl);
		free(repl);
		prev = sp->end;
		changed++;
	}
	pbuf_append(out, value + prev, len - prev);
	parser_free(&p);
	return changed;
}

size_t
addr_parse_list(const char *text, size_t len, struct strv *out, size_t *bad)
{
	struct parser p;
	size_t added;

	parser_run(&p, text, len, out);
	added = p.added;
	if (bad)
		*bad = p.bad;
	parser_free(&p);
	return added;
}

size_t
addr_qualify_header(const char *value, size_t len, const char *domain,
    struct pbuf *out)
{
	struct parser p;
	size_t i, prev = 0, changed;

	if (domain == NULL || *domain == '\0') {
		pbuf_append(out, value, len);
		return 0;
	}
	parser_run(&p, value, len, NULL);
	changed = 0;
	for (i = 0; i < p.nins; i++) {
		if (p.ins[i] < prev || p.ins[i] > len)
			continue;	/* cannot happen: offsets come in text order */
		pbuf_append(out, value + prev, p.ins[i] - prev);
		pbuf_putc(out, '@');
		pbuf_puts(out, domain);
		prev = p.ins[i];
		changed++;
	}
	pbuf_append(out, value + prev, len - prev);
	parser_free(&p);
	return changed;
}

/* Offset of the '@' that starts the domain (the last one outside quotes), or -1. */
static long
domain_at(const char *addr)
{
	long at = -1;
	int inq = 0;
	size_t i;

	for (i = 0; addr[i]; i++) {
		if (inq && addr[i] == '\\' && addr[i + 1]) {
			i++;
			continue;
		}
		if (addr[i] == '"')
			inq = !inq;
		else if (addr[i] == '@' && !inq)
			at = (long)i;
	}
	return at;
}

char *
addr_qualify(const char *addr, const char *domain)
{
	if (*addr == '\0' || domain == NULL || *domain == '\0' ||
	    domain_at(addr) >= 0)
		return xstrdup(addr);
	return xasprintf("%s@%s", addr, domain);
}

char *
addr_unquote_local(const char *addr)
{
	struct pbuf b = PBUF_INIT;
	long at = domain_at(addr);
	size_t end = at >= 0 ? (size_t)at : strlen(addr), i;

	pbuf_reserve(&b, end);
	for (i = 0; i < end; i++) {
		if (addr[i] == '"')
			continue;
		if (addr[i] == '\\' && i + 1 < end)
			i++;
		pbuf_putc(&b, addr[i]);
	}
	return pbuf_detach(&b);
}

char *
addr_strip_brackets(const char *addr)
{
	size_t start = 0, end = strlen(addr);

	while (start < end && (addr[start] == ' ' || addr[start] == '\t'))
		start++;
	while (end > start && (addr[end - 1] == ' ' || addr[end - 1] == '\t'))
		end--;
	if (end - start >= 2 && addr[start] == '<' && addr[end - 1] == '>') {
		start++;
		end--;
	}
	return xstrndup(addr + start, end - start);
}
