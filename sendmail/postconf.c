/*
 * postconf - `petrel conf`, Postfix's postconf(1) for Petrel; see postconf.h.
 *
 * Display (spec/config.md §4): "name = value" lines ("name =" when the
 * value is empty) sorted by name.
 *   (none)   every parameter Petrel knows, plus the user's own variables,
 *            with current values, unexpanded
 *   NAME...  those only; an unknown NAME draws
 *            "petrel conf: warning: NAME: unknown parameter"
 *   -n       only what main.cf sets     -d  built-in defaults
 *   -h       values only                -H  names only
 *   -x       expand $name               -f  fold lines longer than 80
 *   -o n=v   override for this run      -c  configuration directory
 *   -m       lookup table types         -l  mailbox locking methods
 *   -M [service[/type]...]  master.cf entries, one per line (-f folds)
 *   -p, -v   accepted
 * The display modes other than -d, -m, -l and -M end with the unused /
 * unsupported parameter warnings of postconf_warn_unused().
 *
 * Editing, in place, keeping comments and order (Postfix's algorithm):
 *   -e name=value...  replace each definition of name (its continuation
 *                     lines included) with "name = value", or append it;
 *                     implied when an argument holds '=' and no other
 *                     mode is given
 *   -# name...        comment the definitions out
 *   -X name...        remove them
 * Comment and blank lines are copied untouched. The new file is written
 * to a temporary name and renamed over main.cf (fileio_replace), with the
 * mode of the old file; a missing main.cf is created (0644).
 *
 * Errors: a syntax error in main.cf, an unreadable file or bad usage
 * prints "petrel conf: fatal: ..." and returns 1.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "log.h"
#include "pbuf.h"
#include "postconf.h"
#include "strv.h"
#include "xalloc.h"

#define PC_PROG			"petrel conf"
#define PC_OPTIONS		"#c:defhHlmMno:pvxX"
#define PC_FOLD_WIDTH		80
#define PC_INDENT		"    "
#define PC_INDENT_LEN		4
#define PC_ERRLEN		1024
#define PC_MAIN_CF		"main.cf"
#define PC_MASTER_CF		"master.cf"
#define PC_NEW_FILE_MODE	0644
#define PC_FILE_MAX		(16 * 1024 * 1024)
#define PC_MODE_BITS		07777
#define PC_BLANKS		" \t\r\n\v\f"
#define PC_WORD_SEPS		" \t\r\n"
#define PC_LIST_SEPS		", \t\r\n"
#define PC_RESTRICTION_CLASSES	"smtpd_restriction_classes"

/* master.cf: service type private unpriv chroot wakeup maxproc command. */
#define PC_MASTER_STD_FIELDS	8

/* Command modes. */
#define PC_SHOW_NONDEF		(1 << 0)	/* -n */
#define PC_SHOW_DEFS		(1 << 1)	/* -d */
#define PC_HIDE_NAME		(1 << 2)	/* -h */
#define PC_HIDE_VALUE		(1 << 3)	/* -H */
#define PC_SHOW_EVAL		(1 << 4)	/* -x */
#define PC_FOLD			(1 << 5)	/* -f */
#define PC_EDIT			(1 << 6)	/* -e */
#define PC_COMMENT_OUT		(1 << 7)	/* -# */
#define PC_EXCLUDE		(1 << 8)	/* -X */
#define PC_MAPS			(1 << 9)	/* -m */
#define PC_LOCKS		(1 << 10)	/* -l */
#define PC_MASTER		(1 << 11)	/* -M */

#define PC_EDIT_MODES		(PC_EDIT | PC_COMMENT_OUT | PC_EXCLUDE)
#define PC_OTHER_MODES		(PC_MAPS | PC_LOCKS | PC_MASTER)

/* What `-m` and `-l` list: what Petrel implements. */
static const char *const pc_map_types[] = {
	"btree", "hash", "inline", "pcre", "regexp", "static", "texthash", NULL
};
static const char *const pc_lock_types[] = { "flock", "fcntl", "dotlock", NULL };

/* Per-transport parameter suffixes (Postfix's SERVICE_xxx names). */
static const char *const pc_service_suffixes[] = {
	"_destination_concurrency_limit",
	"_destination_recipient_limit",
	"_initial_destination_concurrency",
	"_destination_rate_delay",
	"_destination_concurrency_failed_cohort_limit",
	"_destination_concurrency_positive_feedback",
	"_destination_concurrency_negative_feedback",
	"_recipient_limit",
	"_extra_recipient_limit",
	"_recipient_refill_limit",
	"_recipient_refill_delay",
	"_delivery_slot_cost",
	"_delivery_slot_loan",
	"_delivery_slot_discount",
	"_minimum_delivery_slots",
	"_time_limit",
	"_transport_rate_delay",
	NULL,
};

/* Column where each standard master.cf field starts (postconf -M). */
static const int pc_master_columns[PC_MASTER_STD_FIELDS] = {
	0, 11, 17, 25, 33, 41, 49, 57,
};

/* One master.cf entry: its fields. */
struct pc_master {
	struct strv *entries;
	size_t n;
};

struct pc_edit {
	char *name;
	char *value;
	int found;
};

static void
pc_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
pc_fatal(const char *fmt, ...)
{
	struct pbuf b = PBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	log_stderr_only("%s: fatal: %s\n", PC_PROG, pbuf_str(&b));
	pbuf_free(&b);
}

static int
pc_usage(void)
{
	pc_fatal("usage: petrel conf [-c dir] [-dfhHnpvx] [-o name=value] "
	    "[name ...] | -e name=value ... | -# name ... | -X name ... | "
	    "-M [service[/type] ...] | -m | -l");
	return 1;
}

static int
pc_is_blank(int c)
{
	return c != '\0' && strchr(PC_BLANKS, c) != NULL;
}

static int
pc_is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_';
}

static int
pc_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
pc_sort(struct strv *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(s->v[0]), pc_strcmp);
}

static void
pc_add_unique(struct strv *s, const char *str)
{
	if (strv_find(s, str, 0) < 0)
		strv_add(s, str);
}

/* master.cf. */

static void
pc_master_free(struct pc_master *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		strv_free(&m->entries[i]);
	free(m->entries);
	m->entries = NULL;
	m->n = 0;
}

static void
pc_master_add(struct pc_master *m, const char *logical)
{
	m->entries = xreallocarray(m->entries, m->n + 1, sizeof(*m->entries));
	strv_init(&m->entries[m->n]);
	strv_split(&m->entries[m->n], logical, PC_WORD_SEPS);
	if (m->entries[m->n].n == 0)
		strv_free(&m->entries[m->n]);
	else
		m->n++;
}

/* Reads DIR/master.cf into entries; a missing file gives none. */
static void
pc_master_read(const char *dir, struct pc_master *m)
{
	char *path = xasprintf("%s/%s", dir, PC_MASTER_CF), *data = NULL;
	struct pbuf logical = PBUF_INIT;
	const char *p, *end;
	size_t len = 0;
	int have = 0;

	m->entries = NULL;
	m->n = 0;
	if (fileio_read_file(path, &data, &len, PC_FILE_MAX) < 0) {
		if (errno != ENOENT)
			log_warn("open %s: %m", path);
		free(path);
		return;
	}
	for (p = data, end = data + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *q = p;

		while (q < eol && pc_is_blank((unsigned char)*q))
			q++;
		if (q == eol || *q == '#') {
			/* comment */
		} else if (q != p) {
			if (have) {
				pbuf_putc(&logical, ' ');
				pbuf_append(&logical, p, (size_t)(eol - p));
			}
		} else {
			if (have)
				pc_master_add(m, pbuf_str(&logical));
			pbuf_reset(&logical);
			pbuf_append(&logical, p, (size_t)(eol - p));
			have = 1;
		}
		p = nl ? nl + 1 : end;
	}
	if (have)
		pc_master_add(m, pbuf_str(&logical));
	pbuf_free(&logical);
	free(data);
	free(path);
}

/* Adds every name that text refers to as $name, ${name...} or $(name...). */
static void
pc_scan_refs(const char *text, struct strv *refs)
{
	const char *p = text;

	while ((p = strchr(p, '$')) != NULL) {
		const char *q;

		p++;
		if (*p == '$') {
			p++;
			continue;
		}
		if (*p == '{' || *p == '(')
			p++;
		for (q = p; pc_is_name_char((unsigned char)*q); q++)
			;
		if (q > p) {
			char *name = xstrndup(p, (size_t)(q - p));

			pc_add_unique(refs, name);
			free(name);
		}
		p = q;
	}
}

/* SERVICE_destination_concurrency_limit and the like, for a master.cf SERVICE. */
static int
pc_is_service_param(const char *name, const struct pc_master *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const char *svc = m->entries[i].v[0];
		size_t len = strlen(svc);
		int k;

		if (strncmp(name, svc, len) != 0 || name[len] != '_')
			continue;
		for (k = 0; pc_service_suffixes[k]; k++)
			if (strcmp(name + len, pc_service_suffixes[k]) == 0)
				return 1;
	}
	return 0;
}

/*
 * The names main.cf sets that are not in the table but count as used:
 * referred to as $name from master.cf or from a used main.cf value (to a
 * fixed point), listed in smtpd_restriction_classes, or per-transport.
 */
static void
pc_user_params(const struct pc_master *m, struct strv *valid)
{
	struct strv names = STRV_INIT, refs = STRV_INIT, classes = STRV_INIT;
	size_t i, j;
	int changed = 1;

	conf_names_set(&names);
	for (i = 0; i < m->n; i++)
		for (j = 0; j < m->entries[i].n; j++)
			pc_scan_refs(m->entries[i].v[j], &refs);
	if (conf_raw(PC_RESTRICTION_CLASSES))
		strv_split(&classes, conf_raw(PC_RESTRICTION_CLASSES), PC_LIST_SEPS);
	for (i = 0; i < classes.n; i++)
		pc_add_unique(&refs, classes.v[i]);
	while (changed) {
		changed = 0;
		for (i = 0; i < names.n; i++) {
			const char *raw;

			if (conf_param_find(names.v[i]) == NULL
			    && strv_find(valid, names.v[i], 0) < 0)
				continue;
			if ((raw = conf_raw(names.v[i])) != NULL)
				pc_scan_refs(raw, &refs);
		}
		for (i = 0; i < names.n; i++) {
			const char *n = names.v[i];

			if (conf_param_find(n) || strv_find(valid, n, 0) >= 0)
				continue;
			if (strv_find(&refs, n, 0) >= 0 || pc_is_service_param(n, m)) {
				strv_add(valid, n);
				changed = 1;
			}
		}
	}
	strv_free(&names);
	strv_free(&refs);
	strv_free(&classes);
}

void
postconf_warn_unused(const char *prog)
{
	struct pc_master m;
	struct strv names = STRV_INIT, valid = STRV_INIT;
	size_t i;

	pc_master_read(conf_dir(), &m);
	pc_user_params(&m, &valid);
	conf_names_set(&names);
	for (i = 0; i < names.n; i++) {
		const struct conf_param *p = conf_param_find(names.v[i]);
		const char *raw = conf_raw(names.v[i]);

		if (raw == NULL)
			raw = "";
		if (p && (p->flags & CONF_F_UNSUPPORTED))
			log_stderr_only("%s: warning: %s: parameter not supported by "
			    "Petrel: %s=%s\n", prog, conf_main_cf_path(),
			    names.v[i], raw);
		else if (p == NULL && strv_find(&valid, names.v[i], 0) < 0)
			log_stderr_only("%s: warning: %s: unused parameter: %s=%s\n",
			    prog, conf_main_cf_path(), names.v[i], raw);
	}
	strv_free(&names);
	strv_free(&valid);
	pc_master_free(&m);
}

/* Output. */

/* Writes line, folded at white space before column PC_FOLD_WIDTH. */
static void
pc_fold(const char *line, struct pbuf *out)
{
	struct strv words = STRV_INIT;
	size_t i, col = 0;

	strv_split(&words, line, PC_WORD_SEPS);
	for (i = 0; i < words.n; i++) {
		size_t wlen = strlen(words.v[i]);

		if (i > 0) {
			if (col + 1 + wlen > PC_FOLD_WIDTH) {
				pbuf_puts(out, "\n" PC_INDENT);
				col = PC_INDENT_LEN;
			} else {
				pbuf_putc(out, ' ');
				col++;
			}
		}
		pbuf_puts(out, words.v[i]);
		col += wlen;
	}
	strv_free(&words);
}

static void
pc_print(int mode, const char *name, const char *value)
{
	struct pbuf line = PBUF_INIT, out = PBUF_INIT;

	if (mode & PC_HIDE_NAME)
		pbuf_puts(&line, value);
	else if (mode & PC_HIDE_VALUE)
		pbuf_puts(&line, name);
	else if (*value)
		pbuf_printf(&line, "%s = %s", name, value);
	else
		pbuf_printf(&line, "%s =", name);
	if (mode & PC_FOLD)
		pc_fold(pbuf_str(&line), &out);
	else
		pbuf_puts(&out, pbuf_str(&line));
	printf("%s\n", pbuf_str(&out));
	pbuf_free(&line);
	pbuf_free(&out);
}

static void
pc_print_list(const char *const *list)
{
	for (; *list; list++)
		printf("%s\n", *list);
}

static void
pc_add_text(struct pbuf *out, size_t *col, const char *text)
{
	pbuf_puts(out, text);
	*col += strlen(text);
}

/* One master.cf entry the way postconf -M lays it out. */
static void
pc_print_master_entry(int mode, const struct strv *f)
{
	struct pbuf out = PBUF_INIT;
	size_t col = 0, i;
	int in_options = 1;

	for (i = 0; i < f->n && i < PC_MASTER_STD_FIELDS; i++) {
		if (col > 0)
			do {
				pc_add_text(&out, &col, " ");
			} while (col < (size_t)pc_master_columns[i]);
		pc_add_text(&out, &col, f->v[i]);
	}
	for (; i < f->n; i++) {
		const char *arg = f->v[i];
		char *aval = NULL;
		size_t arg_len = strlen(arg);

		if (in_options) {
			if (arg[0] != '-' || strcmp(arg, "--") == 0) {
				in_options = 0;
			} else if (arg[1] == 'o' && i + 1 < f->n) {
				col = PC_FOLD_WIDTH;	/* break before -o name=value */
				aval = (mode & PC_SHOW_EVAL) ? conf_expand(f->v[i + 1])
				    : xstrdup(f->v[i + 1]);
				arg_len += strlen(aval) + 1;
			}
		}
		if (col > PC_INDENT_LEN) {
			if (!(mode & PC_FOLD) || col + 1 + arg_len < PC_FOLD_WIDTH) {
				pc_add_text(&out, &col, " ");
			} else {
				pbuf_puts(&out, "\n" PC_INDENT);
				col = PC_INDENT_LEN;
			}
		}
		pc_add_text(&out, &col, arg);
		if (aval) {
			pc_add_text(&out, &col, " ");
			pc_add_text(&out, &col, aval);
			free(aval);
			i++;
			col = PC_FOLD_WIDTH;	/* and after it */
		}
	}
	printf("%s\n", pbuf_str(&out));
	pbuf_free(&out);
}

static int
pc_master_matches(const struct strv *f, char **filters, int nfilters)
{
	int i;

	if (nfilters == 0)
		return 1;
	for (i = 0; i < nfilters; i++) {
		const char *slash = strchr(filters[i], '/');
		size_t len = slash ? (size_t)(slash - filters[i]) : strlen(filters[i]);

		if (strlen(f->v[0]) != len || strncmp(f->v[0], filters[i], len) != 0)
			continue;
		if (slash == NULL || (f->n > 1 && strcmp(f->v[1], slash + 1) == 0))
			return 1;
	}
	return 0;
}

static int
pc_show_master(const char *dir, int mode, char **filters, int nfilters)
{
	struct pc_master m;
	size_t i;

	pc_master_read(dir, &m);
	for (i = 0; i < m.n; i++)
		if (pc_master_matches(&m.entries[i], filters, nfilters))
			pc_print_master_entry(mode, &m.entries[i]);
	pc_master_free(&m);
	return 0;
}

/* Editing. */

static char *
pc_trim(const char *s, size_t len)
{
	while (len > 0 && pc_is_blank((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && pc_is_blank((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/* The parameter a logical line starts to define, or NULL. */
static char *
pc_line_name(const char *line, size_t len)
{
	const char *end = line + len, *p = line, *q;

	while (p < end && !pc_is_blank((unsigned char)*p) && *p != '=')
		p++;
	if (p == line)
		return NULL;
	q = p;
	while (q < end && pc_is_blank((unsigned char)*q))
		q++;
	if (q >= end || *q != '=')
		return NULL;
	return xstrndup(line, (size_t)(p - line));
}

static struct pc_edit *
pc_find_edit(struct pc_edit *edits, int n, const char *name)
{
	int i;

	for (i = n - 1; i >= 0; i--)
		if (strcmp(edits[i].name, name) == 0)
			return &edits[i];
	return NULL;
}

static int
pc_edit_main(const char *dir, int mode, char **args, int nargs)
{
	char *path = xasprintf("%s/%s", dir, PC_MAIN_CF), *data = NULL;
	struct pc_edit *edits = xcalloc((size_t)nargs, sizeof(*edits));
	struct pbuf out = PBUF_INIT;
	mode_t fmode = PC_NEW_FILE_MODE;
	const char *p, *end;
	struct stat st;
	size_t len = 0;
	int i, rc = 1, interesting = 0;

	for (i = 0; i < nargs; i++) {
		const char *eq = strchr(args[i], '=');

		if (mode & PC_EDIT) {
			if (eq == NULL || (edits[i].name = pc_trim(args[i],
			    (size_t)(eq - args[i])))[0] == '\0') {
				pc_fatal("-e requires name=value input: \"%s\"", args[i]);
				goto done;
			}
			edits[i].value = pc_trim(eq + 1, strlen(eq + 1));
		} else {
			if (eq != NULL || args[i][0] == '\0') {
				pc_fatal("-%c option requires parameter name only: \"%s\"",
				    (mode & PC_EXCLUDE) ? 'X' : '#', args[i]);
				goto done;
			}
			edits[i].name = pc_trim(args[i], strlen(args[i]));
		}
	}

	if (fileio_read_file(path, &data, &len, PC_FILE_MAX) < 0) {
		if (errno != ENOENT) {
			pc_fatal("open %s: %s", path, strerror(errno));
			goto done;
		}
		data = xstrdup("");
		len = 0;
	} else if (stat(path, &st) == 0) {
		fmode = st.st_mode & PC_MODE_BITS;
	}

	for (p = data, end = data + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		const char *eol = nl ? nl : end;
		const char *q = p;

		while (q < eol && pc_is_blank((unsigned char)*q))
			q++;
		if (q == eol || *q == '#') {
			pbuf_append(&out, p, (size_t)(next - p));
		} else if (q != p) {
			/* Continuation line: goes with its logical line. */
			if (!interesting)
				pbuf_append(&out, p, (size_t)(next - p));
			else if (mode & PC_COMMENT_OUT) {
				pbuf_putc(&out, '#');
				pbuf_append(&out, p, (size_t)(next - p));
			}
		} else {
			char *name = pc_line_name(p, (size_t)(eol - p));
			struct pc_edit *e = name ? pc_find_edit(edits, nargs, name) : NULL;

			if (e) {
				if (mode & PC_EDIT)
					pbuf_printf(&out, "%s = %s\n", e->name, e->value);
				else if (mode & PC_COMMENT_OUT) {
					pbuf_putc(&out, '#');
					pbuf_append(&out, p, (size_t)(next - p));
				}
				e->found = 1;
				interesting = 1;
			} else {
				pbuf_append(&out, p, (size_t)(next - p));
				interesting = 0;
			}
			free(name);
		}
		p = next;
	}
	if (mode & PC_EDIT) {
		for (i = 0; i < nargs; i++) {
			if (edits[i].found || pc_find_edit(edits, nargs, edits[i].name)
			    != &edits[i])
				continue;
			if (out.len && out.data[out.len - 1] != '\n')
				pbuf_putc(&out, '\n');
			pbuf_printf(&out, "%s = %s\n", edits[i].name, edits[i].value);
		}
	}
	if (fileio_replace(path, pbuf_str(&out), out.len, fmode) < 0) {
		pc_fatal("write %s: %s", path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	for (i = 0; i < nargs; i++) {
		free(edits[i].name);
		free(edits[i].value);
	}
	free(edits);
	free(data);
	free(path);
	pbuf_free(&out);
	return rc;
}

/* Display. */

static int
pc_show(const char *dir, int mode, char **args, int nargs,
    const struct strv *overrides)
{
	struct pc_master m;
	struct strv names = STRV_INIT, valid = STRV_INIT;
	char err[PC_ERRLEN];
	size_t i;
	int k;

	if (mode & PC_SHOW_DEFS) {
		conf_load_defaults(dir);
	} else {
		if (conf_load(dir, err, sizeof(err)) < 0) {
			pc_fatal("%s", err);
			return 1;
		}
		for (i = 0; i < overrides->n; i += 2)
			conf_override(overrides->v[i], overrides->v[i + 1]);
	}
	pc_master_read(dir, &m);
	if (!(mode & PC_SHOW_DEFS))
		pc_user_params(&m, &valid);

	if (nargs > 0) {
		for (k = 0; k < nargs; k++) {
			const char *n = args[k];

			if ((mode & PC_SHOW_NONDEF) && !conf_is_set(n))
				continue;
			if (conf_param_find(n) || strv_find(&valid, n, 0) >= 0
			    || ((mode & PC_SHOW_NONDEF) && conf_is_set(n)))
				pc_add_unique(&names, n);
			else
				log_warn("%s: unknown parameter", n);
		}
	} else if (mode & PC_SHOW_NONDEF) {
		conf_names_set(&names);
		pc_sort(&names);
	} else {
		const struct conf_param *p;

		for (p = conf_params; p->name; p++)
			strv_add(&names, p->name);
		for (i = 0; i < valid.n; i++)
			pc_add_unique(&names, valid.v[i]);
		pc_sort(&names);
	}
	for (i = 0; i < names.n; i++) {
		const char *value;

		if (mode & PC_SHOW_EVAL)
			value = conf_str(names.v[i]);
		else if ((value = conf_raw(names.v[i])) == NULL)
			value = "";
		pc_print(mode, names.v[i], value);
	}
	fflush(stdout);
	if (!(mode & PC_SHOW_DEFS))
		postconf_warn_unused(PC_PROG);
	strv_free(&names);
	strv_free(&valid);
	pc_master_free(&m);
	return 0;
}

static int
pc_count_bits(int v)
{
	int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

int
postconf_main(int argc, char **argv, const char *config_dir_arg)
{
	struct strv overrides = STRV_INIT;
	const char *cdir = config_dir_arg;
	char *dir = NULL, **args;
	int c, mode = 0, nargs, i, rc = 1;

	log_to_stderr(PC_PROG);
	log_disable_sinks();
	optind = 0;		/* glibc: start afresh, argv[0] is the verb */
	opterr = 0;
	while ((c = getopt(argc, argv, PC_OPTIONS)) != -1) {
		switch (c) {
		case '#':
			mode |= PC_COMMENT_OUT;
			break;
		case 'c':
			cdir = optarg;
			break;
		case 'd':
			mode |= PC_SHOW_DEFS;
			break;
		case 'e':
			mode |= PC_EDIT;
			break;
		case 'f':
			mode |= PC_FOLD;
			break;
		case 'h':
			mode |= PC_HIDE_NAME;
			break;
		case 'H':
			mode |= PC_HIDE_VALUE;
			break;
		case 'l':
			mode |= PC_LOCKS;
			break;
		case 'm':
			mode |= PC_MAPS;
			break;
		case 'M':
			mode |= PC_MASTER;
			break;
		case 'n':
			mode |= PC_SHOW_NONDEF;
			break;
		case 'o': {
			const char *eq = strchr(optarg, '=');
			char *name;

			if (eq == NULL || eq == optarg) {
				pc_fatal("-o option requires parameter=value: \"%s\"",
				    optarg);
				goto out;
			}
			name = pc_trim(optarg, (size_t)(eq - optarg));
			strv_add_owned(&overrides, name);
			strv_add_owned(&overrides, pc_trim(eq + 1, strlen(eq + 1)));
			break;
		}
		case 'p':
		case 'v':
			break;
		case 'x':
			mode |= PC_SHOW_EVAL;
			break;
		case 'X':
			mode |= PC_EXCLUDE;
			break;
		default:
			if (optopt)
				pc_fatal("invalid option -- '%c'", optopt);
			rc = pc_usage();
			goto out;
		}
	}
	args = argv + optind;
	nargs = argc - optind;

	/* postconf name=value means postconf -e name=value. */
	if (!(mode & (PC_EDIT_MODES | PC_OTHER_MODES | PC_SHOW_DEFS | PC_SHOW_NONDEF)))
		for (i = 0; i < nargs; i++)
			if (strchr(args[i], '=')) {
				mode |= PC_EDIT;
				break;
			}
	if (pc_count_bits(mode & (PC_EDIT_MODES | PC_OTHER_MODES)) > 1
	    || ((mode & (PC_EDIT_MODES | PC_OTHER_MODES))
		&& (mode & (PC_SHOW_DEFS | PC_SHOW_NONDEF)))
	    || (mode & PC_SHOW_DEFS && mode & PC_SHOW_NONDEF)
	    || (mode & PC_HIDE_NAME && mode & PC_HIDE_VALUE)) {
		rc = pc_usage();
		goto out;
	}

	dir = conf_find_dir(cdir);
	if (mode & PC_MAPS) {
		pc_print_list(pc_map_types);
		rc = 0;
	} else if (mode & PC_LOCKS) {
		pc_print_list(pc_lock_types);
		rc = 0;
	} else if (mode & PC_EDIT_MODES) {
		if (nargs == 0) {
			rc = pc_usage();
			goto out;
		}
		rc = pc_edit_main(dir, mode, args, nargs);
	} else if (mode & PC_MASTER) {
		if (mode & PC_SHOW_EVAL) {
			char err[PC_ERRLEN];

			if (conf_load(dir, err, sizeof(err)) < 0) {
				pc_fatal("%s", err);
				goto out;
			}
			for (i = 0; (size_t)i < overrides.n; i += 2)
				conf_override(overrides.v[i], overrides.v[i + 1]);
		}
		rc = pc_show_master(dir, mode, args, nargs);
	} else {
		rc = pc_show(dir, mode, args, nargs, &overrides);
	}
out:
	fflush(stdout);
	strv_free(&overrides);
	free(dir);
	return rc;
}
