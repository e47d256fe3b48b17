/*
 * alias_parse - the alias file syntax; see alias_parse.h.
 *
 * Reading (spec/aliases.md §1, the union of Sendmail's readaliases() and
 * Postfix's readllines() where they do not conflict):
 *   - a physical line ends at LF; a CR before the LF is dropped;
 *   - a line that is empty, all white space, or whose first non-blank is
 *     '#' is a comment; this also holds in the middle of a continued
 *     entry (Postfix), and a comment line never continues with '\';
 *   - other lines ending in a backslash are joined with the next
 *     physical line, the backslash and newline removed (Sendmail's
 *     contline());
 *   - a line starting with a blank or tab continues the entry above it:
 *     the newline goes, the leading white space stays (both MTAs); with no
 *     entry above it, it is ignored with a warning;
 *   - "name: value": the first ':' outside a quoted name ends the name;
 *     "\"foo bar\": x" names "foo bar" (backslash escapes inside quotes);
 *     the value is the rest, trimmed, kept as written.
 * Warnings (entry skipped): "missing colon", "empty alias name",
 * "unterminated quoted alias name", "text between quoted alias name and
 * colon", "white space in alias name \"a b\" (quote the name)", "cannot
 * alias non-local name \"a@b\"", "reserved alias name \"@\"",
 * "NUL byte in entry", "missing value for alias \"name\"",
 * "duplicate entry \"name\" ignored (first defined at line N)",
 * "continuation line without an alias before it, ignored".
 * N in "line N" is the first line of the entry.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alias_parse.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define ALIAS_WARN_NAME_MAX	100	/* a name is cut to this in warnings */
#define ALIAS_INDEX_MIN		64
#define FNV_OFFSET		14695981039346656037ULL
#define FNV_PRIME		1099511628211ULL
#define INCLUDE_KEYWORD		":include:"
#define INCLUDE_KEYWORD_LEN	(sizeof(INCLUDE_KEYWORD) - 1)
#define ERROR_KEYWORD		"error:"
#define ERROR_KEYWORD_LEN	(sizeof(ERROR_KEYWORD) - 1)

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(int c)
{
	return isspace((unsigned char)c) != 0;
}

void
alias_table_init(struct alias_table *t)
{
	memset(t, 0, sizeof(*t));
	strv_init(&t->warnings);
}

void
alias_table_free(struct alias_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].value);
	}
	free(t->v);
	free(t->index);
	strv_free(&t->warnings);
	alias_table_init(t);
}

char *
alias_fold_name(const char *name)
{
	char *s = xstrdup(name), *p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static uint64_t
alias_hash(const char *s)
{
	uint64_t h = FNV_OFFSET;

	for (; *s; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= FNV_PRIME;
	}
	return h;
}

/* Slot of name in the index: the one holding it, or the free one to use. */
static size_t
alias_slot(const struct alias_table *t, const char *name)
{
	size_t mask = t->index_cap - 1;
	size_t i = (size_t)alias_hash(name) & mask;

	while (t->index[i] != 0 && strcasecmp(t->v[t->index[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return i;
}

static void
alias_index_grow(struct alias_table *t)
{
	size_t i;

	free(t->index);
	t->index_cap = t->index_cap ? t->index_cap * 2 : ALIAS_INDEX_MIN;
	t->index = xcalloc(t->index_cap, sizeof(*t->index));
	for (i = 0; i < t->n; i++)
		t->index[alias_slot(t, t->v[i].name)] = i + 1;
}

const struct alias_entry *
alias_table_find(const struct alias_table *t, const char *name)
{
	size_t slot;

	if (t->index_cap == 0)
		return NULL;
	slot = alias_slot(t, name);
	return t->index[slot] ? &t->v[t->index[slot] - 1] : NULL;
}

static void
alias_add(struct alias_table *t, char *name, char *value, int line)
{
	/* Keep the index at most half full. */
	if ((t->n + 1) * 2 > t->index_cap)
		alias_index_grow(t);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : ALIAS_INDEX_MIN;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n].name = name;
	t->v[t->n].value = value;
	t->v[t->n].line = line;
	t->n++;
	t->index[alias_slot(t, name)] = t->n;
}

__attribute__((format(printf, 4, 5)))
static void
alias_warn(struct alias_table *t, const char *path, int line, const char *fmt, ...)
{
	struct pbuf b = PBUF_INIT;
	va_list ap;

	pbuf_printf(&b, "%s, line %d: ", path, line);
	va_start(ap, fmt);
	pbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	strv_add_owned(&t->warnings, pbuf_detach(&b));
}

/* The name part of an entry: sets *name (malloc'd, as written) and *rest. */
static const char *
alias_parse_name(const char *s, const char *end, char **name, const char **rest)
{
	struct pbuf b = PBUF_INIT;
	const char *p, *colon;

	*name = NULL;
	if (*s == '"') {
		for (p = s + 1; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			pbuf_putc(&b, *p);
		}
		if (p >= end) {
			pbuf_free(&b);
			return "unterminated quoted alias name";
		}
		for (p++; p < end && is_space(*p); p++)
			;
		if (p >= end || *p != ':') {
			pbuf_free(&b);
			return memchr(p, ':', (size_t)(end - p)) ? "text between quoted alias"
			    " name and colon" : "missing colon";
		}
		if (b.len == 0) {
			pbuf_free(&b);
			return "empty alias name";
		}
		*name = pbuf_detach(&b);
		*rest = p + 1;
		return NULL;
	}
	colon = memchr(s, ':', (size_t)(end - s));
	if (colon == NULL)
		return "missing colon";
	for (p = colon; p > s && is_space(p[-1]); p--)
		;
	if (p == s)
		return "empty alias name";
	*name = xstrndup(s, (size_t)(p - s));
	*rest = colon + 1;
	return NULL;
}

/* One logical entry (text, len) starting at line; adds it or warns. */
static void
alias_entry_done(struct alias_table *t, const char *path, const char *text,
    size_t len, int line)
{
	const char *end = text + len, *rest = NULL, *why, *p, *vend;
	const struct alias_entry *dup;
	char *raw, *name;
	int quoted = text[0] == '"';

	if (memchr(text, '\0', len) != NULL) {
		alias_warn(t, path, line, "NUL byte in entry");
		return;
	}
	if ((why = alias_parse_name(text, end, &raw, &rest)) != NULL) {
		alias_warn(t, path, line, "%s", why);
		return;
	}
	if (!quoted) {
		for (p = raw; *p && !is_space(*p); p++)
			;
		if (*p) {
			alias_warn(t, path, line, "white space in alias name \"%.*s\" (quote "
			    "the name)", ALIAS_WARN_NAME_MAX, raw);
			free(raw);
			return;
		}
		if (strchr(raw, '@') != NULL) {
			alias_warn(t, path, line, "cannot alias non-local name \"%.*s\"",
			    ALIAS_WARN_NAME_MAX, raw);
			free(raw);
			return;
		}
	}
	name = alias_fold_name(raw);
	free(raw);
	if (strcmp(name, "@") == 0) {
		/* The key "@" marks a complete database (Sendmail's aliaswait). */
		alias_warn(t, path, line, "reserved alias name \"@\"");
		free(name);
		return;
	}
	for (p = rest; p < end && is_space(*p); p++)
		;
	for (vend = end; vend > p && is_space(vend[-1]); vend--)
		;
	if (vend == p) {
		alias_warn(t, path, line, "missing value for alias \"%.*s\"",
		    ALIAS_WARN_NAME_MAX, name);
		free(name);
		return;
	}
	if ((dup = alias_table_find(t, name)) != NULL) {
		alias_warn(t, path, line, "duplicate entry \"%.*s\" ignored (first defined"
		    " at line %d)", ALIAS_WARN_NAME_MAX, name, dup->line);
		free(name);
		return;
	}
	alias_add(t, name, xstrndup(p, (size_t)(vend - p)), line);
}

/* 1 when [s, e) is empty, all white space, or a '#' comment. */
static int
alias_is_comment(const char *s, const char *e)
{
	while (s < e && is_space(*s))
		s++;
	return s == e || *s == '#';
}

/*
 * The next physical line at *pos: sets [*s, *e) (CR LF's CR and the LF
 * excluded) and advances *pos and *lineno. 0 at the end of the text.
 */
static int
alias_next_line(const char *text, size_t len, size_t *pos, const char **s,
    const char **e, int *lineno)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	*s = text + *pos;
	nl = memchr(*s, '\n', len - *pos);
	*e = nl ? nl : text + len;
	*pos = nl ? (size_t)(nl - text) + 1 : len;
	if (nl && *e > *s && (*e)[-1] == '\r')
		(*e)--;
	(*lineno)++;
	return 1;
}

size_t
alias_parse(const char *path, const char *text, size_t len, struct alias_table *t)
{
	struct pbuf cur = PBUF_INIT, phys = PBUF_INIT;
	size_t pos = 0, before = t->n;
	const char *s, *e;
	int lineno = 0, start, cur_line = 0, have_cur = 0, orphan_run = 0;

	while (alias_next_line(text, len, &pos, &s, &e, &lineno)) {
		start = lineno;
		if (alias_is_comment(s, e)) {
			orphan_run = 0;
			continue;
		}
		/* Join backslash-newline continuations into one physical line. */
		pbuf_reset(&phys);
		for (;;) {
			if (e > s && e[-1] == '\\') {
				pbuf_append(&phys, s, (size_t)(e - s - 1));
				if (alias_next_line(text, len, &pos, &s, &e, &lineno))
					continue;
				break;
			}
			pbuf_append(&phys, s, (size_t)(e - s));
			break;
		}
		/* "\\" then an empty line, and the like: nothing left. */
		if (alias_is_comment(pbuf_str(&phys), pbuf_str(&phys) + phys.len))
			continue;
		if (phys.len > 0 && is_blank(phys.data[0])) {
			if (have_cur) {
				pbuf_append(&cur, phys.data, phys.len);
			} else if (!orphan_run) {
				alias_warn(t, path, start,
				    "continuation line without an alias before it, ignored");
				orphan_run = 1;
			}
			continue;
		}
		orphan_run = 0;
		if (have_cur)
			alias_entry_done(t, path, cur.data, cur.len, cur_line);
		pbuf_reset(&cur);
		pbuf_append(&cur, phys.data, phys.len);
		cur_line = start;
		have_cur = 1;
	}
	if (have_cur)
		alias_entry_done(t, path, cur.data, cur.len, cur_line);
	pbuf_free(&cur);
	pbuf_free(&phys);
	return t->n - before;
}

/* Copy of [s, e) without (comments) outside quotes; malloc'd. */
static char *
alias_strip_comments(const char *s, const char *e)
{
	struct pbuf b = PBUF_INIT;
	int inq = 0, depth = 0;

	for (; s < e; s++) {
		if (depth > 0) {
			if (*s == '\\' && s + 1 < e)
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')')
				depth--;
			continue;
		}
		if (inq) {
			if (*s == '\\' && s + 1 < e) {
				pbuf_putc(&b, *s++);
			} else if (*s == '"') {
				inq = 0;
			}
		} else if (*s == '"') {
			inq = 1;
		} else if (*s == '(') {
			depth = 1;
			pbuf_putc(&b, ' ');
			continue;
		} else if (*s == '\\' && s + 1 < e) {
			pbuf_putc(&b, *s++);
		}
		pbuf_putc(&b, *s);
	}
	return pbuf_detach(&b);
}

/* Trims white space off both ends of [*s, *e). */
static void
alias_trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

/* When s is "<...>" somewhere outside quotes, narrows [*s, *e) to the inside. */
static void
alias_angle(const char **s, const char **e)
{
	const char *p, *open = NULL;
	int inq = 0;

	for (p = *s; p < *e; p++) {
		if (inq && *p == '\\' && p + 1 < *e) {
			p++;
		} else if (*p == '"') {
			inq = !inq;
		} else if (!inq && *p == '<' && open == NULL) {
			open = p;
		} else if (!inq && *p == '>' && open != NULL) {
			*s = open + 1;
			*e = p;
			return;
		}
	}
}

/* 1 when [s, e) is exactly one quoted string. */
static int
alias_is_quoted(const char *s, const char *e)
{
	const char *p;

	if (e - s < 2 || *s != '"')
		return 0;
	for (p = s + 1; p < e; p++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		else if (*p == '"')
			return p == e - 1;
	}
	return 0;
}

static int
alias_has_prefix(const char *s, const char *e, const char *prefix, size_t plen)
{
	return (size_t)(e - s) >= plen && strncasecmp(s, prefix, plen) == 0;
}

/* Adds one element [s, e) of a right-hand side, cleaned up. */
static size_t
alias_add_target(const char *s, const char *e, struct strv *out)
{
	struct pbuf b = PBUF_INIT;
	char *clean = NULL;
	const char *p;
	size_t added = 0;

	alias_trim(&s, &e);
	if (s == e)
		return 0;
	if (*s != '|' && *s != '/' && !alias_has_prefix(s, e, INCLUDE_KEYWORD,
	    INCLUDE_KEYWORD_LEN) && !alias_has_prefix(s, e, ERROR_KEYWORD,
	    ERROR_KEYWORD_LEN)) {
		clean = alias_strip_comments(s, e);
		s = clean;
		e = clean + strlen(clean);
		alias_angle(&s, &e);
		alias_trim(&s, &e);
		if (alias_is_quoted(s, e)) {
			for (p = s + 1; p < e - 1; p++) {
				if (*p == '\\' && p + 1 < e - 1)
					p++;
				pbuf_putc(&b, *p);
			}
			s = pbuf_str(&b);
			e = s + b.len;
			alias_trim(&s, &e);
		}
	}
	if (alias_has_prefix(s, e, INCLUDE_KEYWORD, INCLUDE_KEYWORD_LEN)) {
		s += INCLUDE_KEYWORD_LEN;
		alias_trim(&s, &e);
		if (s < e) {
			struct pbuf inc = PBUF_INIT;

			pbuf_puts(&inc, INCLUDE_KEYWORD);
			pbuf_append(&inc, s, (size_t)(e - s));
			strv_add_owned(out, pbuf_detach(&inc));
			added = 1;
		}
	} else if (s < e) {
		strv_addn(out, s, (size_t)(e - s));
		added = 1;
	}
	pbuf_free(&b);
	free(clean);
	return added;
}

size_t
alias_split_targets(const char *rhs, struct strv *out)
{
	const char *p, *start = rhs;
	int inq = 0, depth = 0, angle = 0;
	size_t n = 0;

	for (p = rhs; *p; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
		} else if (inq) {
			if (*p == '"')
				inq = 0;
		} else if (depth > 0) {
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '"') {
			inq = 1;
		} else if (*p == '(') {
			depth = 1;
		} else if (*p == '<') {
			angle = 1;
		} else if (*p == '>') {
			angle = 0;
		} else if (*p == ',' && !angle) {
			n += alias_add_target(start, p, out);
			start = p + 1;
		}
	}
	n += alias_add_target(start, p, out);
	return n;
}

size_t
alias_split_include(const char *text, size_t len, struct strv *out)
{
	size_t pos = 0, n = 0;
	const char *s, *e;
	int lineno = 0;
	char *line;

	while (alias_next_line(text, len, &pos, &s, &e, &lineno)) {
		if (alias_is_comment(s, e))
			continue;
		line = xstrndup(s, (size_t)(e - s));	/* stops at a NUL byte */
		n += alias_split_targets(line, out);
		free(line);
	}
	return n;
}
