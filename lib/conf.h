/*
 * conf - main.cf: reading, $name expansion and typed access.
 *
 * The syntax is Postfix's exactly (spec/config.md §1): logical lines made
 * of physical lines that begin with white space, '#' comment lines even
 * inside a continued value, no trailing comments, the last definition of
 * a name wins, unknown names kept. Values are expanded when used:
 * $name, ${name}, $(name), $$, ${name?value}, ${name:value},
 * ${name?{v1}:{v2}}; a loop such as a=$b, b=$a is an error, never a hang.
 *
 * Every parameter Petrel reads is declared once, with its default, in
 * the table of sendmail/params.c; conf_* look names up there.
 *
 * The process holds one configuration (a global, like Postfix's var_*).
 */
#ifndef PETREL_CONF_H
#define PETREL_CONF_H

#include <stddef.h>

#include "strv.h"

/* Parameter value types of the table (for conf -d display and checks). */
enum conf_type {
	CONF_STR,	/* free text */
	CONF_LIST,	/* split on commas and/or white space */
	CONF_BOOL,	/* yes/no/true/false, any case */
	CONF_INT,	/* plain integer */
	CONF_SIZE,	/* bytes */
	CONF_TIME,	/* number with optional s/m/h/d/w suffix */
};

/* Flags of a table entry. */
#define CONF_F_UNSUPPORTED	(1u << 0)	/* Postfix parameter Petrel knows but ignores */
#define CONF_F_COMPUTED		(1u << 1)	/* default computed at run time (myhostname...) */
#define CONF_F_MATCHLIST	(1u << 2)	/* pattern list: a /file element is replaced by its words */

struct conf_param {
	const char *name;
	const char *def;	/* default, as postconf -d shows it (unexpanded) */
	enum conf_type type;
	char time_unit;		/* CONF_TIME: the unit of a bare number ('s', 'd', ...) */
	unsigned flags;
};

/* The table, terminated by a NULL name (sendmail/params.c). */
extern const struct conf_param conf_params[];
const struct conf_param *conf_param_find(const char *name);

/*
 * Where the configuration lives: the -C/-c argument when given (a
 * directory, or a main.cf path whose directory is taken), else
 * $PETREL_CONFIG_DIR, else the compiled-in default. Returns malloc'd.
 */
char *conf_find_dir(const char *arg);
/* The compiled-in default configuration directory. */
const char *conf_default_dir(void);

/*
 * Reads DIR/main.cf. Returns 0, or -1 with err holding a message that
 * names the file and the line ("/etc/petrel/main.cf, line 3: missing '='
 * after attribute name: \"foo\"") or the system error. A configuration
 * whose values contain an expansion loop is also refused here.
 */
int conf_load(const char *dir, char *err, size_t errlen);
/* Loads no file: defaults only (for tests and conf -d). */
void conf_load_defaults(const char *dir);
const char *conf_dir(void);
const char *conf_main_cf_path(void);

/* Overrides a value for this process (-o name=value, master.cf -o). */
void conf_override(const char *name, const char *value);

/* 1 when main.cf (or an override) sets name. */
int conf_is_set(const char *name);
/* The value as written (main.cf or override), else the default; NULL when unknown. */
const char *conf_raw(const char *name);
/* The expanded value ("" for an unknown name). The pointer stays valid until the next conf_load. */
const char *conf_str(const char *name);
int conf_bool(const char *name);
long long conf_int(const char *name);
/* Seconds. */
long long conf_time(const char *name);
/* The expanded value split into a list; a /path element is replaced by the file's words. */
void conf_list(const char *name, struct strv *out);

/* Expands an arbitrary string against the configuration. */
char *conf_expand(const char *text);

/* Names set in main.cf, in file order (for conf -n and the unused-parameter warnings). */
void conf_names_set(struct strv *out);

/* Parses a time value with a default unit; -1 when malformed. */
long long conf_parse_time(const char *text, char unit);
/* Parses yes/no/true/false; -1 when malformed. */
int conf_parse_bool(const char *text);

#endif
