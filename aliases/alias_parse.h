/*
 * alias_parse - the /etc/aliases syntax (spec/aliases.md §1) and the
 * elements of a right-hand side.
 *
 * alias_parse() turns the text of an alias file into a table of entries:
 * name folded to lowercase (quotes removed), value as written (trimmed,
 * continuation lines joined). Problems become warnings
 * "FILE, line N: REASON" in the table (the caller prints them, e.g. as
 * "newaliases: warning: /etc/aliases, line 3: missing colon") and the
 * entry is skipped; the rest of the file is still read. Duplicate names:
 * the first definition is kept, later ones are warned about.
 *
 * alias_split_targets() splits a right-hand side (an RFC 822-style list)
 * into its elements for local delivery: "|command", "/file",
 * ":include:/path", "\user", "user", "user@domain", "error:code text".
 */
#ifndef PETREL_ALIAS_PARSE_H
#define PETREL_ALIAS_PARSE_H

#include <stddef.h>

#include "strv.h"

struct alias_entry {
	char *name;	/* lowercase, unquoted; never empty */
	char *value;	/* right-hand side as written, trimmed; never empty */
	int line;	/* line where the entry starts */
};

struct alias_table {
	struct alias_entry *v;
	size_t n;
	size_t cap;
	struct strv warnings;	/* "FILE, line N: REASON", in file order */
	/* private: open-addressing index of names (entry index + 1, 0 = free) */
	size_t *index;
	size_t index_cap;
};

void alias_table_init(struct alias_table *t);
void alias_table_free(struct alias_table *t);

/*
 * Parses len bytes of alias-file text (NUL bytes allowed: such an entry is
 * refused with a warning) and appends the entries to t; path is used only
 * in the warnings. Returns the number of entries added.
 */
size_t alias_parse(const char *path, const char *text, size_t len, struct alias_table *t);

/* The entry for name (compared as lowercase), or NULL. */
const struct alias_entry *alias_table_find(const struct alias_table *t, const char *name);

/* A lowercase copy of name (ASCII folding, as Sendmail and Postfix do); malloc'd. */
char *alias_fold_name(const char *name);

/*
 * Appends the elements of a right-hand side to out, in order. Elements are
 * separated by commas outside double quotes, <> and (comments). Each
 * element is trimmed; an element that is one quoted string as a whole is
 * unquoted ("|/usr/bin/foo -x" gives |/usr/bin/foo -x); ":include: /path"
 * becomes ":include:/path" (any case of the keyword); elements starting
 * with '|', '/', ":include:" or "error:" are otherwise kept verbatim;
 * for the others (comments) are dropped and "Name <addr>" gives addr.
 * "\user" keeps its backslash. Empty elements are dropped. Returns the
 * number of elements added.
 */
size_t alias_split_targets(const char *rhs, struct strv *out);

/*
 * The elements of an :include: file's text: each line that is not empty
 * and whose first non-blank is not '#' is split as a right-hand side.
 * Returns the number of elements added.
 */
size_t alias_split_include(const char *text, size_t len, struct strv *out);

#endif
