/*
 * maps_regexp - regexp:/pcre: pattern tables, inline:, static: and
 * texthash: tables for the maps module; see maps_regexp.h for the API and
 * maps.h for the syntax users write.
 *
 * Pattern tables are compiled once (maps.c re-reads the file when it
 * changes). A rule is one logical line (a line that starts with white
 * space continues the previous one; '#' and blank lines are ignored):
 *   [!]/pattern/flags result
 *   if [!]/pattern/flags
 *   endif
 * Any non-space character may be the delimiter; a backslash in the
 * pattern keeps the next character in the pattern, so "\/" does not end
 * it. Matching runs the rules in order; an "if" whose test fails skips to
 * its matching "endif"; the first matching rule gives the result, with
 * $1..$N, ${N}, $(N) replaced by capture N (empty when that group did not
 * take part) and $$ by "$".
 *
 * Decisions:
 *   - Every syntax error (unknown flag, a pattern that does not compile,
 *     a missing result, $N beyond the pattern's groups or with "!", text
 *     after an if pattern, endif without if, if without endif, a stray
 *     continuation line, a NUL byte) rejects the whole table with
 *     "FILE, line N: reason". Postfix skips such a rule with a warning;
 *     Petrel then fails the lookup instead, so mail defers and the
 *     administrator sees the error, rather than mail passing a check
 *     that silently lost a rule.
 *   - A PCRE match that hits the match limit (a runaway pattern) is a
 *     lookup error, not "no match".
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "log.h"
#include "maps_regexp.h"
#include "pbuf.h"
#include "xalloc.h"

#define MAPS_R_NSUB_MAX		99	/* highest $N a result may name */
#define MAPS_R_PCRE_MATCH_LIMIT	1000000	/* backtracking steps per pattern and key */
#define MAPS_R_SHOW_MAX		60	/* octets of a pattern quoted in an error */
#define MAPS_KV_MIN_SLOTS	16	/* initial hash size (a power of 2) */
#define MAPS_R_IF_MIN		8	/* initial depth of the open-if stack */
#define MAPS_R_MSG_MAX		256	/* a regerror/PCRE2 message */
#define MAPS_R_WHY_MAX		512	/* a parse error before "NAME, line N: " */
#define MAPS_KV_FNV_OFFSET	2166136261u
#define MAPS_KV_FNV_PRIME	16777619u

enum rule_op { RULE_MATCH, RULE_IF, RULE_ENDIF };

struct rule {
	enum rule_op op;
	int negate;
	long line;
	size_t nsub;		/* capture groups of the pattern */
	size_t skip;		/* RULE_IF: index after its endif */
	int have_re;
	regex_t re;
	pcre2_code *pc;
	char *result;		/* RULE_MATCH: the text with $N references */
};

struct maps_rtable {
	enum maps_rkind kind;
	struct rule *v;
	size_t n;
	pcre2_match_context *mctx;
};

static int
r_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void
r_fold(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * The next logical line of text into out (without its line break, CR of
 * CRLF removed): 1 with *start its first line number, 2 when a line
 * starts with white space but no logical line precedes it (out holds it),
 * 0 at the end.
 */
struct text_iter {
	const char *p, *end;
	long line;
};

static int
text_next(struct text_iter *it, struct pbuf *out, long *start)
{
	int have = 0;

	pbuf_reset(out);
	while (it->p < it->end) {
		const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
		const char *eol = nl ? nl : it->end, *q;
		const char *le = (eol > it->p && eol[-1] == '\r') ? eol - 1 : eol;

		for (q = it->p; q < le && (*q == ' ' || *q == '\t'); q++)
			;
		if (q == le || *q == '#') {
			/* blank or comment: ignored, even inside a logical line */
		} else if (q != it->p) {
			if (!have) {
				*start = it->line + 1;
				pbuf_append(out, it->p, (size_t)(le - it->p));
				it->line++;
				it->p = nl ? nl + 1 : it->end;
				return 2;
			}
			pbuf_append(out, it->p, (size_t)(le - it->p));
		} else {
			if (have)
				return 1;	/* this line starts the next one: not consumed */
			have = 1;
			*start = it->line + 1;
			pbuf_append(out, it->p, (size_t)(le - it->p));
		}
		it->line++;
		it->p = nl ? nl + 1 : it->end;
	}
	return have;
}

static void
r_show(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 1 < outlen && i < MAPS_R_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[j] = '\0';
}

/*
 * Checks the $ references of result against nsub: 0, or -1 with a reason
 * in why. With negate, no $N at all.
 */
static int
r_check_result(const char *result, size_t nsub, int negate, char *why, size_t whylen)
{
	const char *p;

	for (p = result; (p = strchr(p, '$')) != NULL;) {
		const char *s = p + 1, *e;
		char close = 0;
		unsigned long n = 0;

		if (*s == '$') {
			p = s + 1;
			continue;
		}
		if (*s == '{' || *s == '(') {
			close = *s == '{' ? '}' : ')';
			s++;
		}
		for (e = s; (*e >= '0' && *e <= '9') || (*e >= 'a' && *e <= 'z') ||
		    (*e >= 'A' && *e <= 'Z') || *e == '_'; e++)
			;
		if (e == s || (close && *e != close)) {
			snprintf(why, whylen, "bad $ reference in the result (write $$ for a $)");
			return -1;
		}
		for (p = s; p < e; p++) {
			if (*p < '0' || *p > '9') {
				snprintf(why, whylen, "non-numeric replacement index \"$%.*s\"",
				    (int)(e - s) > MAPS_R_SHOW_MAX ? MAPS_R_SHOW_MAX : (int)(e - s), s);
				return -1;
			}
			if (n <= MAPS_R_NSUB_MAX)
				n = n * 10 + (unsigned long)(*p - '0');
		}
		if (negate) {
			snprintf(why, whylen, "$%lu in the result of a !/pattern/ rule", n);
			return -1;
		}
		if (n == 0 || n > nsub) {
			snprintf(why, whylen, "out-of-range replacement index $%lu (the pattern has %zu "
			    "group%s)", n, nsub, nsub == 1 ? "" : "s");
			return -1;
		}
		p = close ? e + 1 : e;
	}
	return 0;
}

/*
 * 1 when an extended POSIX pattern puts one duplication symbol ("+", "*",
 * "?", "{...}") right after another, outside brackets and escapes. POSIX
 * leaves its meaning undefined, and glibc's regcomp copies the repeated
 * subtree for each one: "x" and 100 "+" took more than 4 GB. Refused as a
 * syntax error instead of taking a worker's memory.
 */
static int
r_stacked_repetition(const char *pat, size_t len)
{
	size_t i;
	int prev_dup = 0;

	for (i = 0; i < len; i++) {
		char c = pat[i];

		if (c == '\\') {
			i++;
			prev_dup = 0;
		} else if (c == '[') {
			/* A bracket expression: "]" first is a literal, then up to the next "]". */
			i++;
			if (i < len && pat[i] == '^')
				i++;
			if (i < len && pat[i] == ']')
				i++;
			while (i < len && pat[i] != ']')
				i++;
			prev_dup = 0;
		} else if (c == '+' || c == '*' || c == '?' || c == '{') {
			if (prev_dup)
				return 1;
			if (c == '{')
				while (i + 1 < len && pat[i] != '}')
					i++;
			prev_dup = 1;
		} else {
			prev_dup = 0;
		}
	}
	return 0;
}

/* Compiles pattern (pat, patlen) with flags into r: 0, or -1 with why. */
static int
r_compile(struct maps_rtable *t, struct rule *r, const char *pat, size_t patlen,
    const char *flags, size_t flen, char *why, size_t whylen)
{
	char *cpat = xstrndup(pat, patlen);
	size_t i;
	int rc = -1;

	if (t->kind == MAPS_R_REGEXP) {
		int cflags = REG_EXTENDED | REG_ICASE, e;

		for (i = 0; i < flen; i++) {
			switch (flags[i]) {
			case 'i': cflags ^= REG_ICASE; break;
			case 'x': cflags ^= REG_EXTENDED; break;
			case 'm': cflags ^= REG_NEWLINE; break;
			default:
				snprintf(why, whylen, "unknown regexp flag \"%c\"",
				    (flags[i] > 0x20 && flags[i] < 0x7f) ? flags[i] : '?');
				goto out;
			}
		}
		if ((cflags & REG_EXTENDED) && r_stacked_repetition(pat, patlen)) {
			char shown[MAPS_R_SHOW_MAX + 1];

			r_show(pat, patlen, shown, sizeof(shown));
			snprintf(why, whylen, "regexp \"%s\": repetition operators one after another "
			    "(undefined in POSIX; write one, or group with parentheses)", shown);
			goto out;
		}
		if ((e = regcomp(&r->re, cpat, cflags)) != 0) {
			char msg[MAPS_R_MSG_MAX], shown[MAPS_R_SHOW_MAX + 1];

			regerror(e, &r->re, msg, sizeof(msg));
			regfree(&r->re);
			r_show(pat, patlen, shown, sizeof(shown));
			snprintf(why, whylen, "regexp \"%s\": %s", shown, msg);
			goto out;
		}
		r->have_re = 1;
		r->nsub = r->re.re_nsub;
	} else {
		uint32_t opts = PCRE2_CASELESS | PCRE2_DOTALL, cap = 0;
		int e;
		PCRE2_SIZE off;

		for (i = 0; i < flen; i++) {
			switch (flags[i]) {
			case 'i': opts ^= PCRE2_CASELESS; break;
			case 'm': opts ^= PCRE2_MULTILINE; break;
			case 's': opts ^= PCRE2_DOTALL; break;
			case 'x': opts ^= PCRE2_EXTENDED; break;
			case 'A': opts ^= PCRE2_ANCHORED; break;
			case 'E': opts ^= PCRE2_DOLLAR_ENDONLY; break;
			case 'U': opts ^= PCRE2_UNGREEDY; break;
			case 'X': break;	/* PCRE1's EXTRA: PCRE2 always behaves so */
			default:
				snprintf(why, whylen, "unknown pcre flag \"%c\"",
				    (flags[i] > 0x20 && flags[i] < 0x7f) ? flags[i] : '?');
				goto out;
			}
		}
		r->pc = pcre2_compile((PCRE2_SPTR)pat, patlen, opts, &e, &off, NULL);
		if (r->pc == NULL) {
			PCRE2_UCHAR msg[MAPS_R_MSG_MAX];
			char shown[MAPS_R_SHOW_MAX + 1];

			pcre2_get_error_message(e, msg, sizeof(msg));
			r_show(pat, patlen, shown, sizeof(shown));
			snprintf(why, whylen, "pcre \"%s\": %s at offset %zu", shown, (char *)msg,
			    (size_t)off);
			goto out;
		}
		pcre2_pattern_info(r->pc, PCRE2_INFO_CAPTURECOUNT, &cap);
		r->nsub = cap;
	}
	rc = 0;
out:
	free(cpat);
	return rc;
}

/*
 * Parses "[!]DpatternDflags" at *pp into r; *pp moves past the flags.
 * 0, or -1 with why.
 */
static int
r_parse_pattern(struct maps_rtable *t, struct rule *r, const char **pp, char *why, size_t whylen)
{
	const char *p = *pp, *pat, *flags;
	char delim;

	if (*p == '!') {
		r->negate = 1;
		p++;
	}
	if (*p == '\0' || r_is_space((unsigned char)*p)) {
		snprintf(why, whylen, "expected /pattern/");
		return -1;
	}
	delim = *p++;
	for (pat = p; *p && *p != delim; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	if (*p != delim) {
		snprintf(why, whylen, "no closing \"%c\" after the pattern",
		    ((unsigned char)delim > 0x20 && (unsigned char)delim < 0x7f) ? delim : '?');
		return -1;
	}
	if (p == pat) {
		snprintf(why, whylen, "empty pattern");
		return -1;
	}
	flags = p + 1;
	for (p = flags; *p && !r_is_space((unsigned char)*p); p++)
		;
	if (r_compile(t, r, pat, (size_t)(flags - 1 - pat), flags, (size_t)(p - flags), why,
	    whylen) < 0)
		return -1;
	*pp = p;
	return 0;
}

static void
r_rule_free(struct rule *r)
{
	if (r->have_re)
		regfree(&r->re);
	if (r->pc)
		pcre2_code_free(r->pc);
	free(r->result);
}

static int
r_word(const char *p, const char *w)
{
	size_t n = strlen(w);

	return strncasecmp(p, w, n) == 0 && (p[n] == '\0' || r_is_space((unsigned char)p[n]));
}

struct maps_rtable *
maps_rtable_parse(const char *name, const char *text, size_t len, enum maps_rkind kind,
    char *err, size_t errlen)
{
	struct maps_rtable *t = xcalloc(1, sizeof(*t));
	struct text_iter it = { text, text + len, 0 };
	struct pbuf lbuf = PBUF_INIT;
	size_t *open = NULL, nopen = 0, cap = 0;
	char why[MAPS_R_WHY_MAX];
	long start = 0;
	int k;

	t->kind = kind;
	if (kind == MAPS_R_PCRE) {
		t->mctx = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(t->mctx, MAPS_R_PCRE_MATCH_LIMIT);
	}
	while ((k = text_next(&it, &lbuf, &start)) != 0) {
		const char *p = pbuf_str(&lbuf), *e;
		struct rule r;

		memset(&r, 0, sizeof(r));
		r.line = start;
		if (k == 2) {
			snprintf(why, sizeof(why), "a logical line must not start with white space");
			goto bad;
		}
		if (memchr(lbuf.data, '\0', lbuf.len) != NULL) {
			snprintf(why, sizeof(why), "NUL byte in the line");
			goto bad;
		}
		if (r_word(p, "endif")) {
			for (p += strlen("endif"); *p && r_is_space((unsigned char)*p); p++)
				;
			if (*p) {
				snprintf(why, sizeof(why), "text after endif");
				goto bad;
			}
			if (nopen == 0) {
				snprintf(why, sizeof(why), "endif without if");
				goto bad;
			}
			r.op = RULE_ENDIF;
			t->v[open[--nopen]].skip = t->n + 1;
		} else if (r_word(p, "if")) {
			for (p += strlen("if"); *p && r_is_space((unsigned char)*p); p++)
				;
			r.op = RULE_IF;
			if (r_parse_pattern(t, &r, &p, why, sizeof(why)) < 0)
				goto bad;
			while (*p && r_is_space((unsigned char)*p))
				p++;
			if (*p) {
				snprintf(why, sizeof(why), "text after the if pattern");
				goto bad;
			}
			if (nopen == cap) {
				cap = cap ? cap * 2 : MAPS_R_IF_MIN;
				open = xreallocarray(open, cap, sizeof(*open));
			}
			open[nopen++] = t->n;
		} else {
			r.op = RULE_MATCH;
			if (r_parse_pattern(t, &r, &p, why, sizeof(why)) < 0)
				goto bad;
			while (*p && r_is_space((unsigned char)*p))
				p++;
			for (e = p + strlen(p); e > p && r_is_space((unsigned char)e[-1]); e--)
				;
			if (e == p) {
				snprintf(why, sizeof(why), "no result after the pattern");
				goto bad;
			}
			r.result = xstrndup(p, (size_t)(e - p));
			if (r_check_result(r.result, r.nsub, r.negate, why, sizeof(why)) < 0)
				goto bad;
		}
		t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
		t->v[t->n++] = r;
		continue;
bad:
		snprintf(err, errlen, "%s, line %ld: %s", name, start, why);
		r_rule_free(&r);
		goto fail;
	}
	if (nopen > 0) {
		snprintf(err, errlen, "%s, line %ld: if without endif", name, t->v[open[nopen - 1]].line);
		goto fail;
	}
	free(open);
	pbuf_free(&lbuf);
	return t;
fail:
	free(open);
	pbuf_free(&lbuf);
	maps_rtable_free(t);
	return NULL;
}

size_t
maps_rtable_count(const struct maps_rtable *t)
{
	return t->n;
}

void
maps_rtable_free(struct maps_rtable *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		r_rule_free(&t->v[i]);
	free(t->v);
	if (t->mctx)
		pcre2_match_context_free(t->mctx);
	free(t);
}

/* Captures of one match: offsets of group i, -1 when it did not take part. */
struct r_caps {
	size_t n;
	long so[MAPS_R_NSUB_MAX + 1], eo[MAPS_R_NSUB_MAX + 1];
};

/* 1 match (caps filled when caps != NULL), 0 no match, -1 error. */
static int
r_match(const struct maps_rtable *t, const struct rule *r, const char *key, struct r_caps *caps,
    char *err, size_t errlen)
{
	size_t i;

	if (t->kind == MAPS_R_REGEXP) {
		regmatch_t m[MAPS_R_NSUB_MAX + 1];
		size_t nm = r->nsub + 1 > MAPS_R_NSUB_MAX + 1 ? MAPS_R_NSUB_MAX + 1 : r->nsub + 1;

		if (regexec(&r->re, key, nm, m, 0) != 0)
			return 0;
		if (caps) {
			caps->n = nm;
			for (i = 0; i < nm; i++) {
				caps->so[i] = (long)m[i].rm_so;
				caps->eo[i] = (long)m[i].rm_eo;
			}
		}
		return 1;
	} else {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->pc, NULL);
		int rc = pcre2_match(r->pc, (PCRE2_SPTR)key, strlen(key), 0, 0, md, t->mctx);

		if (rc == PCRE2_ERROR_NOMATCH) {
			pcre2_match_data_free(md);
			return 0;
		}
		if (rc < 0) {
			PCRE2_UCHAR msg[MAPS_R_MSG_MAX];

			pcre2_get_error_message(rc, msg, sizeof(msg));
			snprintf(err, errlen, "pcre match (rule of line %ld): %s", r->line, (char *)msg);
			pcre2_match_data_free(md);
			return -1;
		}
		if (caps) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			size_t nm = pcre2_get_ovector_count(md);

			if (nm > MAPS_R_NSUB_MAX + 1)
				nm = MAPS_R_NSUB_MAX + 1;
			caps->n = nm;
			for (i = 0; i < nm; i++) {
				if ((int)i >= rc || ov[2 * i] == PCRE2_UNSET) {
					caps->so[i] = caps->eo[i] = -1;
				} else {
					caps->so[i] = (long)ov[2 * i];
					caps->eo[i] = (long)ov[2 * i + 1];
				}
			}
		}
		pcre2_match_data_free(md);
		return 1;
	}
}

/* The result of r with its references replaced (checked at parse time). */
static char *
r_expand(const char *result, const char *key, const struct r_caps *caps)
{
	struct pbuf out = PBUF_INIT;
	const char *p = result;

	while (*p) {
		const char *d = strchr(p, '$'), *s;
		unsigned long n = 0;
		int close = 0;

		if (d == NULL) {
			pbuf_puts(&out, p);
			break;
		}
		pbuf_append(&out, p, (size_t)(d - p));
		s = d + 1;
		if (*s == '$') {
			pbuf_putc(&out, '$');
			p = s + 1;
			continue;
		}
		if (*s == '{' || *s == '(') {
			close = 1;
			s++;
		}
		for (; *s >= '0' && *s <= '9'; s++)
			if (n <= MAPS_R_NSUB_MAX)
				n = n * 10 + (unsigned long)(*s - '0');
		if (close && *s)
			s++;
		if (caps && n < caps->n && caps->so[n] >= 0 && caps->eo[n] >= caps->so[n])
			pbuf_append(&out, key + caps->so[n], (size_t)(caps->eo[n] - caps->so[n]));
		p = s;
	}
	if (out.data == NULL)
		return xstrdup("");
	return pbuf_detach(&out);
}

int
maps_rtable_lookup(const struct maps_rtable *t, const char *key, char **value, char *err,
    size_t errlen)
{
	struct r_caps caps;
	size_t i = 0;
	int m;

	*value = NULL;
	while (i < t->n) {
		const struct rule *r = &t->v[i];

		if (r->op == RULE_ENDIF) {
			i++;
			continue;
		}
		m = r_match(t, r, key, (r->op == RULE_MATCH && !r->negate) ? &caps : NULL, err, errlen);
		if (m < 0)
			return -1;
		if (r->negate)
			m = !m;
		if (r->op == RULE_IF) {
			i = m ? i + 1 : r->skip;
			continue;
		}
		if (m) {
			*value = r_expand(r->result, key, r->negate ? NULL : &caps);
			return 1;
		}
		i++;
	}
	return 0;
}

/* ---- key/value tables: inline:, texthash: ---- */

struct maps_kv {
	char **keys, **values;
	size_t n, slots;	/* slots: a power of 2, at least 2n */
};

static uint32_t
kv_hash(const char *s)
{
	uint32_t h = MAPS_KV_FNV_OFFSET;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * MAPS_KV_FNV_PRIME;
	return h;
}

static struct maps_kv *
kv_new(void)
{
	struct maps_kv *kv = xcalloc(1, sizeof(*kv));

	kv->slots = MAPS_KV_MIN_SLOTS;
	kv->keys = xcalloc(kv->slots, sizeof(char *));
	kv->values = xcalloc(kv->slots, sizeof(char *));
	return kv;
}

static size_t
kv_slot(const struct maps_kv *kv, const char *key)
{
	size_t i = kv_hash(key) & (kv->slots - 1);

	while (kv->keys[i] != NULL && strcmp(kv->keys[i], key) != 0)
		i = (i + 1) & (kv->slots - 1);
	return i;
}

/* 1 added, 0 already there (kept). */
static int
kv_put(struct maps_kv *kv, const char *key, const char *value)
{
	size_t i;

	if (2 * (kv->n + 1) > kv->slots) {
		char **ok = kv->keys, **ov = kv->values;
		size_t os = kv->slots, j;

		kv->slots *= 2;
		kv->keys = xcalloc(kv->slots, sizeof(char *));
		kv->values = xcalloc(kv->slots, sizeof(char *));
		for (j = 0; j < os; j++)
			if (ok[j] != NULL) {
				i = kv_slot(kv, ok[j]);
				kv->keys[i] = ok[j];
				kv->values[i] = ov[j];
			}
		free(ok);
		free(ov);
	}
	i = kv_slot(kv, key);
	if (kv->keys[i] != NULL)
		return 0;
	kv->keys[i] = xstrdup(key);
	kv->values[i] = xstrdup(value);
	kv->n++;
	return 1;
}

int
maps_kv_get(const struct maps_kv *kv, const char *key, char **value)
{
	size_t i = kv_slot(kv, key);

	*value = NULL;
	if (kv->keys[i] == NULL)
		return 0;
	*value = xstrdup(kv->values[i]);
	return 1;
}

size_t
maps_kv_count(const struct maps_kv *kv)
{
	return kv->n;
}

void
maps_kv_free(struct maps_kv *kv)
{
	size_t i;

	if (kv == NULL)
		return;
	for (i = 0; i < kv->slots; i++) {
		free(kv->keys[i]);
		free(kv->values[i]);
	}
	free(kv->keys);
	free(kv->values);
	free(kv);
}

/* s..e with white space trimmed on both sides, malloc'd. */
static char *
r_trimmed(const char *s, const char *e)
{
	while (s < e && r_is_space((unsigned char)*s))
		s++;
	while (e > s && r_is_space((unsigned char)e[-1]))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

/* The end of the { } group starting at p ('{'): the matching '}', or NULL. */
static const char *
r_brace_end(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			return p;
	}
	return NULL;
}

struct maps_kv *
maps_kv_parse_inline(const char *body, char *err, size_t errlen)
{
	struct maps_kv *kv;
	const char *p = body, *end;

	while (*p && r_is_space((unsigned char)*p))
		p++;
	if (*p != '{' || (end = r_brace_end(p)) == NULL) {
		snprintf(err, errlen, "inline: the table must be written as inline:{ key=value, ... }");
		return NULL;
	}
	for (const char *q = end + 1; *q; q++)
		if (!r_is_space((unsigned char)*q)) {
			snprintf(err, errlen, "inline: text after the closing \"}\"");
			return NULL;
		}
	kv = kv_new();
	for (p++; p < end;) {
		const char *s, *e, *eq;
		char *key, *value;

		while (p < end && (r_is_space((unsigned char)*p) || *p == ','))
			p++;
		if (p >= end)
			break;
		if (*p == '{') {
			const char *b = r_brace_end(p);

			if (b == NULL || b > end) {
				snprintf(err, errlen, "inline: unbalanced \"{\"");
				goto fail;
			}
			s = p + 1;
			e = b;
			p = b + 1;
		} else {
			s = p;
			while (p < end && !r_is_space((unsigned char)*p) && *p != ',')
				p++;
			e = p;
			if (memchr(s, '{', (size_t)(e - s)) || memchr(s, '}', (size_t)(e - s))) {
				snprintf(err, errlen, "inline: \"{\" or \"}\" inside \"%.*s\"",
				    (int)(e - s) > MAPS_R_SHOW_MAX ? MAPS_R_SHOW_MAX : (int)(e - s), s);
				goto fail;
			}
		}
		if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL) {
			snprintf(err, errlen, "inline: missing \"=\" in \"%.*s\"",
			    (int)(e - s) > MAPS_R_SHOW_MAX ? MAPS_R_SHOW_MAX : (int)(e - s), s);
			goto fail;
		}
		key = r_trimmed(s, eq);
		value = r_trimmed(eq + 1, e);
		if (*key == '\0') {
			snprintf(err, errlen, "inline: empty key in \"%.*s\"",
			    (int)(e - s) > MAPS_R_SHOW_MAX ? MAPS_R_SHOW_MAX : (int)(e - s), s);
			free(key);
			free(value);
			goto fail;
		}
		r_fold(key);
		if (!kv_put(kv, key, value)) {
			snprintf(err, errlen, "inline: duplicate key \"%.*s\"", MAPS_R_SHOW_MAX, key);
			free(key);
			free(value);
			goto fail;
		}
		free(key);
		free(value);
	}
	return kv;
fail:
	maps_kv_free(kv);
	return NULL;
}

char *
maps_static_value(const char *body)
{
	const char *p = body, *b;

	while (*p && r_is_space((unsigned char)*p))
		p++;
	if (*p == '{' && (b = r_brace_end(p)) != NULL && b[1] == '\0')
		return r_trimmed(p + 1, b);
	return xstrdup(body);
}

long
maps_text_entries(const char *name, const char *text, size_t len, int fold,
    int (*put)(void *ctx, const char *key, const char *value, long line), void *ctx)
{
	struct text_iter it = { text, text + len, 0 };
	struct pbuf lbuf = PBUF_INIT;
	char shown[MAPS_R_SHOW_MAX + 1];
	long start = 0, stored = 0;
	int k, r;

	while ((k = text_next(&it, &lbuf, &start)) != 0) {
		char *key, *value, *end;

		if (k == 2) {
			r_show(lbuf.data, lbuf.len, shown, sizeof(shown));
			log_warn("%s, line %ld: logical line must not start with whitespace: \"%s\"",
			    name, start, shown);
			continue;
		}
		if (memchr(lbuf.data, '\0', lbuf.len) != NULL) {
			log_warn("%s, line %ld: NUL byte in the entry, ignored", name, start);
			continue;
		}
		key = lbuf.data;
		for (value = key; *value && !r_is_space((unsigned char)*value); value++)
			;
		if (*value)
			*value++ = '\0';
		while (*value && r_is_space((unsigned char)*value))
			value++;
		end = value + strlen(value);
		while (end > value && r_is_space((unsigned char)end[-1]))
			*--end = '\0';
		if (*value == '\0') {
			log_warn("%s, line %ld: expected format: key whitespace value", name, start);
			continue;
		}
		if (fold)
			r_fold(key);
		if ((r = put(ctx, key, value, start)) < 0) {
			pbuf_free(&lbuf);
			return -1;
		}
		if (r == 0)
			log_warn("%s, line %ld: duplicate entry: \"%s\" (the first one is kept)", name,
			    start, key);
		stored += r;
	}
	pbuf_free(&lbuf);
	return stored;
}

static int
kv_put_cb(void *ctx, const char *key, const char *value, long line)
{
	(void)line;
	return kv_put(ctx, key, value);
}

struct maps_kv *
maps_kv_parse_text(const char *name, const char *text, size_t len, int fold)
{
	struct maps_kv *kv = kv_new();

	(void)maps_text_entries(name, text, len, fold, kv_put_cb, kv);
	return kv;
}
