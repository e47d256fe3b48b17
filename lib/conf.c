/*
 * conf - main.cf: reading, $name expansion and typed access; see conf.h.
 *
 * Syntax (spec/config.md §1, Postfix's readllines() + split_nameval()):
 *   - a logical line starts at a physical line whose first byte is not
 *     white space; a line that starts with white space continues it (the
 *     newline goes, the leading white space stays);
 *   - a line that is empty, all white space, or whose first non-blank is
 *     '#' is a comment, also in the middle of a continued value; there
 *     are no trailing comments;
 *   - "name = value", white space around '=' and at the end ignored; an
 *     empty value is the empty string, not the default; the last
 *     definition of a name wins; names Petrel does not know are kept.
 *   Errors: "/dir/main.cf, line N: missing '=' after attribute name:
 *   \"text\"" and "... missing attribute name ..."; N is the first
 *   physical line of the logical line.
 *
 * Expansion happens when a value is used and is cached until the next
 * conf_load() or conf_override(): $name ${name} $(name) $$
 * ${name?value} ${name?{value}} ${name:value} ${name:{value}}
 * ${name?{v1}:{v2}} and ${{a} OP {b}?{x}:{y}} with OP one of
 * == != < <= > >= (numeric when both sides are all digits) or their
 * "level" forms (==level, <level, ... comparing dotted versions such as
 * compatibility levels). The ?/: tests look at the *unexpanded* value, as
 * Postfix does. An undefined name expands to "". A loop (a = $b, b = $a)
 * is an error naming the chain; conf_load() expands every parameter once
 * and refuses a configuration with a loop or a malformed ${...}, leaving
 * the previous configuration in force.
 *
 * Computed defaults (the decisions where Postfix and the spec differ):
 *   myhostname  gethostname(); if that has no dot, getaddrinfo()'s
 *               canonical name (so /etc/hosts "127.0.1.1 h.example.org h"
 *               works, as the spec's table says); if still no dot, Postfix's
 *               rule: append ".$mydomain" when main.cf sets mydomain, else
 *               ".localdomain".
 *               Worked out once per process, when first used (conf_load()'s
 *               check does not query the resolver).
 *   mydomain    $myhostname minus its first label; "localdomain" when
 *               myhostname has no dot.
 *   myorigin    when the expanded value is an absolute path, the first line
 *               of that file, trimmed (Debian's /etc/mailname); if the file
 *               is unreadable or empty, a warning and $myhostname.
 *   config_directory  after conf_load(), the directory actually read
 *               (Postfix sets it from MAIL_CONFIG the same way); not
 *               reported by conf_is_set().
 *
 * Overrides (conf_override) belong to the process: they survive
 * conf_load() and win over main.cf.
 *
 * Typed getters: a malformed value in main.cf draws a warning naming the
 * parameter and the default is used instead (conf_parse_* report -1).
 * Lists split on ", \t\r\n"; in a CONF_F_MATCHLIST parameter an element
 * that is an absolute path is replaced by the words of that file ('#'
 * comment lines skipped; an unreadable file draws a warning and adds
 * nothing).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#ifndef PETREL_CONFIG_DIR_DEFAULT
#define PETREL_CONFIG_DIR_DEFAULT	"/etc/petrel"
#endif

#define CONF_MAIN_CF		"main.cf"
#define CONF_ENV_DIR		"PETREL_CONFIG_DIR"
#define CONF_FILE_MAX		(16 * 1024 * 1024)	/* main.cf, list files */
#define CONF_SMALL_FILE_MAX	(64 * 1024)		/* /etc/mailname */
#define CONF_HASH_SIZE		512
#define CONF_NEST_MAX		100	/* expansion depth: "unreasonable nesting" */
#define CONF_LIST_DEPTH_MAX	8	/* /file named inside a list file */
#define CONF_LIST_SEPS		", \t\r\n"
#define CONF_BLANKS		" \t\r\n\v\f"
#define CONF_DEFAULT_DOMAIN	"localdomain"
#define CONF_HOSTNAME_MAX	1025	/* NI_MAXHOST */
#define CONF_TIME_UNIT_DEFAULT	's'
#define CONF_FNV_OFFSET		2166136261u
#define CONF_FNV_PRIME		16777619u
#define CONF_CHECK_HOSTNAME	"localhost.localdomain" /* check pass: no resolver */

#define SEC_PER_MIN		60LL
#define SEC_PER_HOUR		(60LL * SEC_PER_MIN)
#define SEC_PER_DAY		(24LL * SEC_PER_HOUR)
#define SEC_PER_WEEK		(7LL * SEC_PER_DAY)

#define P_MYHOSTNAME		"myhostname"
#define P_MYDOMAIN		"mydomain"
#define P_MYORIGIN		"myorigin"
#define P_CONFIG_DIR		"config_directory"

struct conf_var {
	char *name;
	char *file_val;		/* last main.cf definition, or NULL */
	int file_line;
	char *ov_val;		/* conf_override(), or NULL */
	char *exp;		/* cached expansion */
	char *computed;		/* cached computed default */
	int busy;		/* being expanded: loop detection */
	struct conf_var *next;	/* hash chain */
};

struct conf_state {
	char *dir;
	char *main_cf;
	int from_file;		/* conf_load() read main.cf */
	int checking;		/* conf_load()'s validation pass */
	struct conf_var *hash[CONF_HASH_SIZE];
	struct strv order;	/* names defined in main.cf, first-seen order */
	struct strv graveyard;	/* handed-out strings kept until the next load */
};

/* One expansion: the chain of names being expanded, and the first error. */
struct conf_exp {
	struct conf_var *stack[CONF_NEST_MAX];
	int depth;
	int failed;
	struct pbuf err;
};

static struct conf_state *conf_cur;

static int conf_expand_text(struct conf_exp *, const char *, size_t, struct pbuf *);

/* Hash table of variables. */

static unsigned
conf_hash(const char *name)
{
	unsigned h = CONF_FNV_OFFSET;	/* FNV-1a */

	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= CONF_FNV_PRIME;
	}
	return h % CONF_HASH_SIZE;
}

static struct conf_var *
conf_var_find(struct conf_state *st, const char *name, size_t len, int create)
{
	struct conf_var *v;
	char *key = xstrndup(name, len);
	unsigned h = conf_hash(key);

	for (v = st->hash[h]; v; v = v->next)
		if (strcmp(v->name, key) == 0)
			break;
	if (v == NULL && create) {
		v = xcalloc(1, sizeof(*v));
		v->name = key;
		v->next = st->hash[h];
		st->hash[h] = v;
		return v;
	}
	free(key);
	return v;
}

static struct conf_state *
conf_state_new(const char *dir)
{
	struct conf_state *st = xcalloc(1, sizeof(*st));

	st->dir = xstrdup(dir ? dir : conf_default_dir());
	st->main_cf = xasprintf("%s/%s", st->dir, CONF_MAIN_CF);
	strv_init(&st->order);
	strv_init(&st->graveyard);
	return st;
}

static void
conf_state_free(struct conf_state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < CONF_HASH_SIZE; i++) {
		struct conf_var *v, *next;

		for (v = st->hash[i]; v; v = next) {
			next = v->next;
			free(v->name);
			free(v->file_val);
			free(v->ov_val);
			free(v->exp);
			free(v->computed);
			free(v);
		}
	}
	strv_free(&st->order);
	strv_free(&st->graveyard);
	free(st->dir);
	free(st->main_cf);
	free(st);
}

/* The overrides of the process move from one configuration to the next. */
static void
conf_copy_overrides(struct conf_state *to, const struct conf_state *from)
{
	size_t i;

	if (from == NULL)
		return;
	for (i = 0; i < CONF_HASH_SIZE; i++) {
		const struct conf_var *v;

		for (v = from->hash[i]; v; v = v->next)
			if (v->ov_val) {
				struct conf_var *n = conf_var_find(to, v->name,
				    strlen(v->name), 1);

				n->ov_val = xstrdup(v->ov_val);
			}
	}
}

static struct conf_state *
conf_state(void)
{
	if (conf_cur == NULL)
		conf_cur = conf_state_new(NULL);
	return conf_cur;
}

/* Forgets every cached value; strings already handed out stay valid. */
static void
conf_invalidate(struct conf_state *st)
{
	size_t i;

	for (i = 0; i < CONF_HASH_SIZE; i++) {
		struct conf_var *v;

		for (v = st->hash[i]; v; v = v->next) {
			if (v->exp)
				strv_add_owned(&st->graveyard, v->exp);
			if (v->computed)
				strv_add_owned(&st->graveyard, v->computed);
			v->exp = NULL;
			v->computed = NULL;
		}
	}
}

/* Directories. */

const char *
conf_default_dir(void)
{
	return PETREL_CONFIG_DIR_DEFAULT;
}

static char *
conf_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static char *
conf_strip_slashes(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return xstrndup(path, len);
}

char *
conf_find_dir(const char *arg)
{
	const char *env;

	if (arg && *arg) {
		struct stat st;
		const char *base = strrchr(arg, '/');

		base = base ? base + 1 : arg;
		if (stat(arg, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				return conf_strip_slashes(arg);
			return conf_dirname(arg);
		}
		/* A main.cf that does not exist: its directory gets the blame. */
		if (strcmp(base, CONF_MAIN_CF) == 0)
			return conf_dirname(arg);
		return conf_strip_slashes(arg);
	}
	env = getenv(CONF_ENV_DIR);
	if (env && *env)
		return conf_strip_slashes(env);
	return xstrdup(conf_default_dir());
}

const char *
conf_dir(void)
{
	return conf_state()->dir;
}

const char *
conf_main_cf_path(void)
{
	return conf_state()->main_cf;
}

/* Reading main.cf. */

static int
conf_is_blank(int c)
{
	return c != '\0' && strchr(CONF_BLANKS, c) != NULL;
}

static int
conf_is_name_char(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * Splits one logical line into name and value (Postfix's split_nameval)
 * and records it. Returns 0, or -1 with the error in err.
 */
static int
conf_parse_logical(struct conf_state *st, char *text, int line,
    char *err, size_t errlen)
{
	char *name = text, *name_end, *value, *end;
	const char *why = NULL;
	struct conf_var *v;

	end = text + strlen(text);
	while (end > text && conf_is_blank((unsigned char)end[-1]))
		*--end = '\0';
	while (conf_is_blank((unsigned char)*name))
		name++;
	if (*name == '\0' || *name == '=') {
		why = "missing attribute name";
	} else {
		name_end = name;
		while (*name_end && !conf_is_blank((unsigned char)*name_end)
		    && *name_end != '=')
			name_end++;
		value = name_end;
		while (conf_is_blank((unsigned char)*value))
			value++;
		if (*value != '=')
			why = "missing '=' after attribute name";
	}
	if (why) {
		snprintf(err, errlen, "%s, line %d: %s: \"%s\"", st->main_cf,
		    line, why, text);
		return -1;
	}
	value++;
	while (conf_is_blank((unsigned char)*value))
		value++;
	v = conf_var_find(st, name, (size_t)(name_end - name), 1);
	if (v->file_val == NULL)
		strv_add(&st->order, v->name);
	free(v->file_val);
	v->file_val = xstrdup(value);
	v->file_line = line;
	return 0;
}

static int
conf_parse_file(struct conf_state *st, const char *data, size_t len,
    char *err, size_t errlen)
{
	struct pbuf logical = PBUF_INIT;
	const char *p = data, *end = data + len;
	int lineno = 0, first_line = 0, have = 0, rc = 0;

	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *q = p;

		lineno++;
		while (q < eol && conf_is_blank((unsigned char)*q))
			q++;
		if (q == eol || *q == '#') {
			/* Comment or blank line: skipped, even inside a value. */
		} else if (q != p) {
			if (have)
				pbuf_append(&logical, p, (size_t)(eol - p));
			else
				log_warn("%s, line %d: a continuation line that "
				    "does not continue preceding text; ignored",
				    st->main_cf, lineno);
		} else {
			if (have)
				rc = conf_parse_logical(st, logical.data,
				    first_line, err, errlen);
			pbuf_reset(&logical);
			pbuf_append(&logical, p, (size_t)(eol - p));
			have = 1;
			first_line = lineno;
		}
		p = nl ? nl + 1 : end;
	}
	if (rc == 0 && have)
		rc = conf_parse_logical(st, logical.data, first_line, err, errlen);
	pbuf_free(&logical);
	return rc;
}

/* Raw values and computed defaults. */

static void
conf_exp_error(struct conf_exp *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
conf_exp_error(struct conf_exp *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	pbuf_vprintf(&x->err, fmt, ap);
	va_end(ap);
}

static void
conf_exp_init(struct conf_exp *x)
{
	memset(x, 0, sizeof(*x));
	pbuf_init(&x->err);
}

/* The machine's name: gethostname(), else the resolver's canonical name. */
static const char *
conf_system_hostname(void)
{
	static char *cached;
	char name[CONF_HOSTNAME_MAX];

	if (cached)
		return cached;
	if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	if (strchr(name, '.') == NULL) {
		struct addrinfo hints, *res = NULL;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(name, NULL, &hints, &res) == 0 && res) {
			if (res->ai_canonname && strchr(res->ai_canonname, '.'))
				snprintf(name, sizeof(name), "%s", res->ai_canonname);
		}
		if (res)
			freeaddrinfo(res);
	}
	cached = xstrdup(name);
	return cached;
}

static int conf_expand_var(struct conf_exp *, struct conf_var *, struct pbuf *);

static const char *
conf_computed(struct conf_exp *x, struct conf_var *v)
{
	struct conf_state *st = conf_state();
	struct pbuf b = PBUF_INIT;

	if (v->computed)
		return v->computed;
	if (strcmp(v->name, P_MYHOSTNAME) == 0) {
		/* conf_load()'s check needs the references, not the resolver. */
		const char *host = st->checking ? CONF_CHECK_HOSTNAME
		    : conf_system_hostname();
		struct conf_var *dom;

		pbuf_puts(&b, host);
		if (strchr(host, '.') == NULL) {
			pbuf_putc(&b, '.');
			dom = conf_var_find(st, P_MYDOMAIN, strlen(P_MYDOMAIN), 1);
			if (dom->ov_val || dom->file_val) {
				size_t mark = b.len;

				if (conf_expand_var(x, dom, &b) < 0)
					pbuf_truncate(&b, mark);
			} else {
				pbuf_puts(&b, CONF_DEFAULT_DOMAIN);
			}
		}
	} else if (strcmp(v->name, P_MYDOMAIN) == 0) {
		struct pbuf host = PBUF_INIT;
		struct conf_var *hv = conf_var_find(st, P_MYHOSTNAME,
		    strlen(P_MYHOSTNAME), 1);
		const char *dot;

		if (conf_expand_var(x, hv, &host) == 0
		    && (dot = strchr(pbuf_str(&host), '.')) != NULL && dot[1])
			pbuf_puts(&b, dot + 1);
		else
			pbuf_puts(&b, CONF_DEFAULT_DOMAIN);
		pbuf_free(&host);
	}
	if (x->failed) {
		pbuf_free(&b);
		return "";
	}
	if (st->checking) {
		/* A stand-in value: kept only until the state goes. */
		strv_add_owned(&st->graveyard, pbuf_detach(&b));
		return st->graveyard.v[st->graveyard.n - 1];
	}
	v->computed = pbuf_detach(&b);
	return v->computed;
}

/* The value as written or the default; NULL for an unknown name. */
static const char *
conf_raw_var(struct conf_exp *x, struct conf_var *v)
{
	struct conf_state *st = conf_state();
	const struct conf_param *p;

	if (v->ov_val)
		return v->ov_val;
	if (v->file_val)
		return v->file_val;
	if (st->from_file && strcmp(v->name, P_CONFIG_DIR) == 0)
		return st->dir;
	if ((p = conf_param_find(v->name)) == NULL)
		return NULL;
	if (p->flags & CONF_F_COMPUTED)
		return conf_computed(x, v);
	return p->def;
}

/* Expansion. */

/* Replaces a path value of myorigin with the first line of that file. */
static void
conf_myorigin_file(struct conf_exp *x, struct pbuf *val)
{
	char *path = xstrdup(pbuf_str(val)), *data = NULL;
	size_t len = 0, start = 0, stop;
	struct conf_var *hv;

	if (fileio_read_file(path, &data, &len, CONF_SMALL_FILE_MAX) == 0) {
		while (start < len && conf_is_blank((unsigned char)data[start]))
			start++;
		stop = start;
		while (stop < len && data[stop] != '\n' && data[stop] != '\0')
			stop++;
		while (stop > start && conf_is_blank((unsigned char)data[stop - 1]))
			stop--;
		if (stop > start) {
			pbuf_reset(val);
			pbuf_append(val, data + start, stop - start);
			free(data);
			free(path);
			return;
		}
		log_warn("%s: %s is empty; using $%s", P_MYORIGIN, path, P_MYHOSTNAME);
	} else {
		log_warn("%s: cannot read %s: %m; using $%s", P_MYORIGIN, path,
		    P_MYHOSTNAME);
	}
	free(data);
	free(path);
	pbuf_reset(val);
	hv = conf_var_find(conf_state(), P_MYHOSTNAME, strlen(P_MYHOSTNAME), 1);
	(void)conf_expand_var(x, hv, val);
}

static void
conf_loop_error(struct conf_exp *x, struct conf_var *v)
{
	struct pbuf chain = PBUF_INIT;
	int i, start = 0;

	for (i = 0; i < x->depth; i++)
		if (x->stack[i] == v) {
			start = i;
			break;
		}
	for (i = start; i < x->depth; i++)
		pbuf_printf(&chain, "%s -> ", x->stack[i]->name);
	pbuf_puts(&chain, v->name);
	conf_exp_error(x, "expansion loop: %s", pbuf_str(&chain));
	pbuf_free(&chain);
}

/* Appends the expansion of one variable; -1 on a loop or a syntax error. */
static int
conf_expand_var(struct conf_exp *x, struct conf_var *v, struct pbuf *out)
{
	struct conf_state *st = conf_state();
	struct pbuf val = PBUF_INIT;
	const char *raw;
	int rc;

	if (x->failed)
		return -1;
	if (v->exp) {
		pbuf_puts(out, v->exp);
		return 0;
	}
	if (v->busy) {
		conf_loop_error(x, v);
		return -1;
	}
	if (x->depth >= CONF_NEST_MAX) {
		conf_exp_error(x, "unreasonable macro call nesting: \"%s\"", v->name);
		return -1;
	}
	v->busy = 1;
	x->stack[x->depth++] = v;
	raw = conf_raw_var(x, v);
	rc = x->failed ? -1 : 0;
	if (rc == 0 && raw)
		rc = conf_expand_text(x, raw, strlen(raw), &val);
	if (rc == 0 && !st->checking && strcmp(v->name, P_MYORIGIN) == 0
	    && pbuf_str(&val)[0] == '/')
		conf_myorigin_file(x, &val);
	x->depth--;
	v->busy = 0;
	if (rc == 0 && !x->failed) {
		v->exp = xstrdup(pbuf_str(&val));
		pbuf_puts(out, v->exp);
	} else {
		rc = -1;
	}
	pbuf_free(&val);
	return rc;
}

static int
conf_expand_name(struct conf_exp *x, const char *name, size_t len,
    struct pbuf *out)
{
	return conf_expand_var(x, conf_var_find(conf_state(), name, len, 1), out);
}

/*
 * Finds the '}' that closes the '{' at *p (nesting counted); returns a
 * pointer to it, or NULL.
 */
static const char *
conf_match_brace(const char *p, const char *end)
{
	int level = 0;

	for (; p < end; p++) {
		if (*p == '{')
			level++;
		else if (*p == '}' && --level == 0)
			return p;
	}
	return NULL;
}

static const char *
conf_skip_blanks(const char *p, const char *end)
{
	while (p < end && conf_is_blank((unsigned char)*p))
		p++;
	return p;
}

/* Parses "{text}" at *pp: sets *text and *len to the inside, moves *pp past it. */
static int
conf_take_braced(const char **pp, const char *end, const char **text,
    size_t *len)
{
	const char *p = *pp, *close;

	if (p >= end || *p != '{' || (close = conf_match_brace(p, end)) == NULL)
		return -1;
	*text = p + 1;
	*len = (size_t)(close - p - 1);
	*pp = close + 1;
	return 0;
}

static int
conf_all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Compares dotted numbers ("3.6" < "3.10"); missing parts count as 0. */
static int
conf_level_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long long na = 0, nb = 0;

		while (isdigit((unsigned char)*a) && na < ULLONG_MAX / 10)
			na = na * 10 + (unsigned)(*a++ - '0');
		while (isdigit((unsigned char)*b) && nb < ULLONG_MAX / 10)
			nb = nb * 10 + (unsigned)(*b++ - '0');
		if (na != nb)
			return na < nb ? -1 : 1;
		if (*a == '.')
			a++;
		else if (*a)
			return strcmp(a, b);
		if (*b == '.')
			b++;
		else if (*b)
			return strcmp(a, b);
	}
	return 0;
}

static int
conf_compare(const char *a, const char *b, int level)
{
	if (level)
		return conf_level_cmp(a, b);
	if (conf_all_digits(a) && conf_all_digits(b)) {
		size_t la, lb;

		while (*a == '0' && a[1])
			a++;
		while (*b == '0' && b[1])
			b++;
		la = strlen(a);
		lb = strlen(b);
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	return strcmp(a, b);
}

/* ${{a} OP {b}?{x}:{y}}: body is what lies between "${" and "}". */
static int
conf_expand_relop(struct conf_exp *x, const char *body, size_t blen,
    struct pbuf *out)
{
	static const struct { const char *name; int lt, eq, gt; } ops[] = {
		{ "==", 0, 1, 0 }, { "!=", 1, 0, 1 }, { "<", 1, 0, 0 },
		{ "<=", 1, 1, 0 }, { ">", 0, 0, 1 }, { ">=", 0, 1, 1 },
	};
	const char *p = body, *end = body + blen, *a, *b, *t, *f = NULL, *op;
	size_t alen, bn, tlen, flen = 0, oplen, i;
	struct pbuf va = PBUF_INIT, vb = PBUF_INIT;
	int level = 0, cmp, truth = 0, rc = 0, found = 0;

	if (conf_take_braced(&p, end, &a, &alen) < 0)
		goto syntax;
	p = conf_skip_blanks(p, end);
	op = p;
	while (p < end && !conf_is_blank((unsigned char)*p) && *p != '{')
		p++;
	oplen = (size_t)(p - op);
	if (oplen > strlen("level") && strncmp(p - strlen("level"), "level",
	    strlen("level")) == 0) {
		level = 1;
		oplen -= strlen("level");
	}
	p = conf_skip_blanks(p, end);
	if (conf_take_braced(&p, end, &b, &bn) < 0)
		goto syntax;
	p = conf_skip_blanks(p, end);
	if (p >= end || *p != '?')
		goto syntax;
	p = conf_skip_blanks(p + 1, end);
	if (conf_take_braced(&p, end, &t, &tlen) < 0)
		goto syntax;
	p = conf_skip_blanks(p, end);
	if (p < end && *p == ':') {
		p = conf_skip_blanks(p + 1, end);
		if (conf_take_braced(&p, end, &f, &flen) < 0)
			goto syntax;
		p = conf_skip_blanks(p, end);
	}
	if (p != end)
		goto syntax;
	if (conf_expand_text(x, a, alen, &va) < 0
	    || conf_expand_text(x, b, bn, &vb) < 0) {
		rc = -1;
		goto done;
	}
	cmp = conf_compare(pbuf_str(&va), pbuf_str(&vb), level);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == oplen
		    && strncmp(ops[i].name, op, oplen) == 0) {
			truth = cmp < 0 ? ops[i].lt : cmp == 0 ? ops[i].eq : ops[i].gt;
			found = 1;
		}
	if (!found) {
		conf_exp_error(x, "unknown operator \"%.*s\" in \"${%.*s}\"",
		    (int)oplen, op, (int)blen, body);
		rc = -1;
		goto done;
	}
	if (truth)
		rc = conf_expand_text(x, t, tlen, out);
	else if (f)
		rc = conf_expand_text(x, f, flen, out);
	goto done;
syntax:
	conf_exp_error(x, "malformed expression \"${%.*s}\"", (int)blen, body);
	rc = -1;
done:
	pbuf_free(&va);
	pbuf_free(&vb);
	return rc;
}

/* ${name}, ${name?value}, ${name:value} and the braced forms. */
static int
conf_expand_ref(struct conf_exp *x, const char *body, size_t blen,
    struct pbuf *out)
{
	const char *end = body + blen, *q = body, *val, *v1, *v2 = NULL, *p;
	size_t vlen, l1, l2 = 0;
	struct conf_var *v;
	const char *raw;
	int op, nonempty;

	if (blen > 0 && body[0] == '{')
		return conf_expand_relop(x, body, blen, out);
	while (q < end && conf_is_name_char(*q))
		q++;
	if (q == body) {
		conf_exp_error(x, "empty macro name in \"%.*s\"", (int)blen, body);
		return -1;
	}
	if (q == end)
		return conf_expand_name(x, body, (size_t)(q - body), out);
	if (*q != '?' && *q != ':') {
		conf_exp_error(x, "unexpected character '%c' after name in \"%.*s\"",
		    *q, (int)blen, body);
		return -1;
	}
	op = *q;
	v = conf_var_find(conf_state(), body, (size_t)(q - body), 1);
	raw = conf_raw_var(x, v);
	if (x->failed)
		return -1;
	nonempty = raw && *raw;

	/* The value: plain text up to the end, or {v1} with ?'s optional :{v2}. */
	val = q + 1;
	vlen = (size_t)(end - val);
	p = conf_skip_blanks(val, end);
	if (p < end && *p == '{' && conf_take_braced(&p, end, &v1, &l1) == 0) {
		const char *r = conf_skip_blanks(p, end);
		int braced = 0;

		if (r == end) {
			braced = 1;
		} else if (op == '?' && *r == ':') {
			r = conf_skip_blanks(r + 1, end);
			if (conf_take_braced(&r, end, &v2, &l2) == 0
			    && conf_skip_blanks(r, end) == end)
				braced = 1;
			else
				v2 = NULL;
		}
		if (braced) {
			val = v1;
			vlen = l1;
		}
	}
	if (op == '?') {
		if (nonempty)
			return conf_expand_text(x, val, vlen, out);
		if (v2)
			return conf_expand_text(x, v2, l2, out);
		return 0;
	}
	if (!nonempty)
		return conf_expand_text(x, val, vlen, out);
	return 0;
}

static int
conf_expand_text(struct conf_exp *x, const char *s, size_t len, struct pbuf *out)
{
	const char *p = s, *end = s + len;

	while (p < end) {
		const char *dollar = memchr(p, '$', (size_t)(end - p));

		if (dollar == NULL) {
			pbuf_append(out, p, (size_t)(end - p));
			break;
		}
		pbuf_append(out, p, (size_t)(dollar - p));
		p = dollar + 1;
		if (p == end) {
			pbuf_putc(out, '$');
			break;
		}
		if (*p == '$') {
			pbuf_putc(out, '$');
			p++;
		} else if (*p == '{' || *p == '(') {
			char open = *p, close = *p == '{' ? '}' : ')';
			const char *q;
			int level = 1;

			for (q = p + 1; q < end; q++) {
				if (*q == open)
					level++;
				else if (*q == close && --level == 0)
					break;
			}
			if (q >= end) {
				conf_exp_error(x, "unmatched '%c' in \"%.*s\"", open,
				    (int)len, s);
				return -1;
			}
			if (conf_expand_ref(x, p + 1, (size_t)(q - p - 1), out) < 0)
				return -1;
			p = q + 1;
		} else if (conf_is_name_char(*p)) {
			const char *q = p;

			while (q < end && conf_is_name_char(*q))
				q++;
			if (conf_expand_name(x, p, (size_t)(q - p), out) < 0)
				return -1;
			p = q;
		} else {
			/* "$" before anything else stays as it is. */
			pbuf_putc(out, '$');
		}
	}
	return x->failed ? -1 : 0;
}

/* Loading. */

/* Expands every parameter once: a loop or a bad ${...} refuses the file. */
static int
conf_validate(struct conf_state *st, char *err, size_t errlen)
{
	const struct conf_param *p;
	struct strv names = STRV_INIT;
	size_t i;
	int rc = 0;

	/* main.cf's names first, in file order, so the error is predictable. */
	for (i = 0; i < st->order.n; i++)
		strv_add(&names, st->order.v[i]);
	for (i = 0; i < CONF_HASH_SIZE; i++) {
		struct conf_var *v;

		for (v = st->hash[i]; v; v = v->next)
			if (v->ov_val && !v->file_val)
				strv_add(&names, v->name);
	}
	for (p = conf_params; p->name; p++)
		strv_add(&names, p->name);
	st->checking = 1;
	for (i = 0; i < names.n && rc == 0; i++) {
		struct conf_exp x;
		struct pbuf out = PBUF_INIT;

		conf_exp_init(&x);
		if (conf_expand_name(&x, names.v[i], strlen(names.v[i]), &out) < 0) {
			snprintf(err, errlen, "%s: parameter %s: %s", st->main_cf,
			    names.v[i], pbuf_str(&x.err));
			rc = -1;
		}
		pbuf_free(&out);
		pbuf_free(&x.err);
	}
	st->checking = 0;
	/* The pass skipped myorigin's file: forget what it cached. */
	for (i = 0; i < CONF_HASH_SIZE; i++) {
		struct conf_var *v;

		for (v = st->hash[i]; v; v = v->next) {
			free(v->exp);
			v->exp = NULL;
		}
	}
	strv_free(&names);
	return rc;
}

int
conf_load(const char *dir, char *err, size_t errlen)
{
	struct conf_state *old = conf_cur, *st;
	char *data = NULL;
	size_t len = 0;

	st = conf_state_new(dir);
	conf_copy_overrides(st, old);
	if (fileio_read_file(st->main_cf, &data, &len, CONF_FILE_MAX) < 0) {
		snprintf(err, errlen, "open %s: %s", st->main_cf, strerror(errno));
		conf_state_free(st);
		return -1;
	}
	st->from_file = 1;
	conf_cur = st;
	if (conf_parse_file(st, data, len, err, errlen) < 0
	    || conf_validate(st, err, errlen) < 0) {
		free(data);
		conf_cur = old;
		conf_state_free(st);
		return -1;
	}
	free(data);
	conf_state_free(old);
	return 0;
}

void
conf_load_defaults(const char *dir)
{
	struct conf_state *st = conf_state_new(dir);

	conf_copy_overrides(st, conf_cur);
	conf_state_free(conf_cur);
	conf_cur = st;
}

void
conf_override(const char *name, const char *value)
{
	struct conf_state *st = conf_state();
	struct conf_var *v = conf_var_find(st, name, strlen(name), 1);

	if (v->ov_val)
		strv_add_owned(&st->graveyard, v->ov_val);
	v->ov_val = xstrdup(value ? value : "");
	conf_invalidate(st);
}

/* Access. */

int
conf_is_set(const char *name)
{
	struct conf_var *v = conf_var_find(conf_state(), name, strlen(name), 0);

	return v != NULL && (v->ov_val != NULL || v->file_val != NULL);
}

const char *
conf_raw(const char *name)
{
	struct conf_var *v = conf_var_find(conf_state(), name, strlen(name), 1);
	struct conf_exp x;
	const char *raw;

	conf_exp_init(&x);
	raw = conf_raw_var(&x, v);
	if (x.failed) {
		log_error("%s: parameter %s: %s", conf_main_cf_path(), name,
		    pbuf_str(&x.err));
		raw = "";
	}
	pbuf_free(&x.err);
	return raw;
}

const char *
conf_str(const char *name)
{
	struct conf_var *v = conf_var_find(conf_state(), name, strlen(name), 1);
	struct conf_exp x;
	struct pbuf out = PBUF_INIT;

	if (v->exp)
		return v->exp;
	conf_exp_init(&x);
	if (conf_expand_var(&x, v, &out) < 0) {
		log_error("%s: parameter %s: %s", conf_main_cf_path(), name,
		    pbuf_str(&x.err));
		free(v->exp);
		v->exp = xstrdup("");
	}
	pbuf_free(&out);
	pbuf_free(&x.err);
	return v->exp;
}

char *
conf_expand(const char *text)
{
	struct conf_exp x;
	struct pbuf out = PBUF_INIT;

	conf_exp_init(&x);
	if (conf_expand_text(&x, text, strlen(text), &out) < 0) {
		log_error("cannot expand \"%s\": %s", text, pbuf_str(&x.err));
		pbuf_reset(&out);
	}
	pbuf_free(&x.err);
	if (out.data == NULL)
		return xstrdup("");
	return pbuf_detach(&out);
}

/* The expanded default of a parameter, for the typed getters' fallback. */
static char *
conf_expanded_default(const struct conf_param *p)
{
	return p ? conf_expand(p->def) : xstrdup("");
}

int
conf_bool(const char *name)
{
	const char *s = conf_str(name);
	const struct conf_param *p;
	char *def;
	int r;

	if ((r = conf_parse_bool(s)) >= 0)
		return r;
	p = conf_param_find(name);
	def = conf_expanded_default(p);
	r = conf_parse_bool(def);
	if (r < 0)
		r = 0;
	log_warn("%s: invalid boolean value for parameter %s: \"%s\"; using %s",
	    conf_main_cf_path(), name, s, r ? "yes" : "no");
	free(def);
	return r;
}

static int
conf_parse_int(const char *s, long long *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

long long
conf_int(const char *name)
{
	const char *s = conf_str(name);
	char *def;
	long long v = 0;

	if (conf_parse_int(s, &v) == 0)
		return v;
	def = conf_expanded_default(conf_param_find(name));
	if (conf_parse_int(def, &v) < 0)
		v = 0;
	log_warn("%s: invalid numerical value for parameter %s: \"%s\"; using %lld",
	    conf_main_cf_path(), name, s, v);
	free(def);
	return v;
}

long long
conf_time(const char *name)
{
	const struct conf_param *p = conf_param_find(name);
	const char *s = conf_str(name);
	char unit = CONF_TIME_UNIT_DEFAULT;
	char *def;
	long long v;

	if (p && p->type == CONF_TIME && p->time_unit)
		unit = p->time_unit;
	if ((v = conf_parse_time(s, unit)) >= 0)
		return v;
	def = conf_expanded_default(p);
	if ((v = conf_parse_time(def, unit)) < 0)
		v = 0;
	log_warn("%s: invalid time value for parameter %s: \"%s\"; using %lld seconds",
	    conf_main_cf_path(), name, s, v);
	free(def);
	return v;
}

/* Adds the words of a list file; '#' lines are comments. */
static void
conf_list_file(const char *path, struct strv *out, int depth)
{
	char *data = NULL;
	size_t len = 0;
	const char *p, *end;

	if (depth >= CONF_LIST_DEPTH_MAX) {
		log_warn("%s: files nested too deeply in a list; ignored", path);
		return;
	}
	if (fileio_read_file(path, &data, &len, CONF_FILE_MAX) < 0) {
		log_warn("open %s: %m; list element ignored", path);
		return;
	}
	for (p = data, end = data + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *q = p;

		while (q < eol && conf_is_blank((unsigned char)*q))
			q++;
		if (q < eol && *q != '#') {
			char *line = xstrndup(q, (size_t)(eol - q));
			struct strv words = STRV_INIT;
			size_t i;

			strv_split(&words, line, CONF_LIST_SEPS);
			for (i = 0; i < words.n; i++) {
				if (words.v[i][0] == '/')
					conf_list_file(words.v[i], out, depth + 1);
				else
					strv_add(out, words.v[i]);
			}
			strv_free(&words);
			free(line);
		}
		p = nl ? nl + 1 : end;
	}
	free(data);
}

void
conf_list(const char *name, struct strv *out)
{
	const struct conf_param *p = conf_param_find(name);
	struct strv words = STRV_INIT;
	size_t i;

	strv_split(&words, conf_str(name), CONF_LIST_SEPS);
	for (i = 0; i < words.n; i++) {
		if (p && (p->flags & CONF_F_MATCHLIST) && words.v[i][0] == '/')
			conf_list_file(words.v[i], out, 0);
		else
			strv_add(out, words.v[i]);
	}
	strv_free(&words);
}

void
conf_names_set(struct strv *out)
{
	struct conf_state *st = conf_state();
	size_t i;

	for (i = 0; i < st->order.n; i++)
		strv_add(out, st->order.v[i]);
}

long long
conf_parse_time(const char *text, char unit)
{
	char *end;
	long long v, mult;
	int u;

	if (text == NULL || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || v < 0)
		return -1;
	if (*end == '\0')
		u = unit ? unit : CONF_TIME_UNIT_DEFAULT;
	else if (end[1] == '\0')
		u = *end;
	else
		return -1;
	switch (tolower((unsigned char)u)) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = SEC_PER_MIN;
		break;
	case 'h':
		mult = SEC_PER_HOUR;
		break;
	case 'd':
		mult = SEC_PER_DAY;
		break;
	case 'w':
		mult = SEC_PER_WEEK;
		break;
	default:
		return -1;
	}
	if (v > LLONG_MAX / mult)
		return -1;
	return v * mult;
}

int
conf_parse_bool(const char *text)
{
	if (text == NULL)
		return -1;
	if (strcasecmp(text, "yes") == 0 || strcasecmp(text, "true") == 0)
		return 1;
	if (strcasecmp(text, "no") == 0 || strcasecmp(text, "false") == 0)
		return 0;
	return -1;
}
