/*
 * maps - lookup tables of "type:path" (transport_maps,
 * smtp_sasl_password_maps, ...) in Berkeley DB, as Postfix's postmap
 * builds and reads them, on lib/dict_db.
 *
 * Types (Postfix's names and syntax; "proxy:" in front is ignored):
 *   hash:PATH, btree:PATH  Berkeley DB PATH.db built by `petrel map`; a
 *                  bare path takes default_database_type.
 *   texthash:PATH  the text file maps_build reads, looked up as it is (no
 *                  .db); same format, warnings and case folding.
 *   regexp:PATH    POSIX extended regular expressions (regexp_table(5)),
 *   pcre:PATH      PCRE2 (pcre_table(5)): one rule per logical line,
 *                    /pattern/flags result      first match wins
 *                    !/pattern/flags result     matches when it does not
 *                    if /pattern/flags ... endif   (nests; "if !/p/" too)
 *                  any non-space delimiter; "\" in the pattern escapes
 *                  it; result $1..$N, ${N}, $(N) (empty when the group
 *                  did not match), $$ for "$". regexp flags toggle:
 *                  i (case-insensitive, on), x (extended syntax, on),
 *                  m (REG_NEWLINE, off). pcre flags toggle: i (on),
 *                  m (multiline, off), s (dotall, on), x (extended, off),
 *                  A (anchored), E (dollar_endonly), U (ungreedy), X (a
 *                  no-op). Keys are matched as given (not lowercased).
 *                  Any syntax error makes every lookup fail with
 *                  "regexp:FILE, line N: reason" (Postfix skips the rule;
 *                  Petrel defers the mail instead of passing it
 *                  unchecked).
 *   inline:{ k=v, { k = v with spaces } }  the table itself; keys are
 *                  lowercased; a duplicate key or a missing "=" is an
 *                  error.
 *   static:VALUE, static:{ VALUE with spaces }  every key gives VALUE.
 * regexp:, pcre: and texthash: files are read at the first lookup and
 * read again when they change (stat: inode, size, mtime, ctime), like the
 * databases. Other types are errors ("unsupported dictionary type"), never
 * "not found", so a map Petrel cannot read defers mail.
 *
 * Building (maps_build, `petrel map`): the text file has Postfix's table
 * format: "key whitespace value" lines; empty, white-space-only and '#'
 * lines are ignored (also inside an entry); a line that starts with white
 * space continues the entry (its text, leading white space included, is
 * appended); key and value lose their surrounding white space; keys are
 * lowercased unless fold is 0. Each entry is stored with its terminating
 * NUL, as postmap does on Linux. A line without a value, a continuation
 * without an entry, a NUL byte or a duplicate key (the first one is kept)
 * is a warning naming the file and line, and the rest is still built (as
 * postmap does). The database is written under a temporary name and
 * renamed over path.db while the source holds an exclusive flock; it gets
 * the source's owner and group and mode (source & 0644) | 0600, so a
 * 0600 sasl_passwd gives a 0600 sasl_passwd.db.
 *
 * Lookups (maps_lookup): keys are lowercased; open databases are cached
 * per process and reopened when the file on disk was replaced
 * (dict_db_changed), so a rebuilt map is used without a restart.
 *
 * Errors: -1 with a message in err naming the map and the reason
 * ("open database /etc/petrel/transport.db: No such file or directory").
 */
#ifndef PETREL_MAPS_H
#define PETREL_MAPS_H

#include <stddef.h>

#include "dict_db.h"

#define MAPS_DB_SUFFIX	".db"

/*
 * Splits spec ("hash:/etc/petrel/transport", "btree:...", or a bare path)
 * into its type and the path of the text file (malloc'd). -1 with err for
 * an unsupported type or an empty path.
 */
int maps_split(const char *spec, enum dict_db_type *type, char **path,
    char *err, size_t errlen);

/*
 * Builds the database of spec from its text file (postmap). *entries gets
 * the number of keys stored. Warnings are logged (log_warn). Returns 0,
 * or -1 with err when the source cannot be read or the database cannot
 * be written (the old database is then untouched).
 */
int maps_build(const char *spec, int fold, size_t *entries, char *err, size_t errlen);

/*
 * Looks key up in the map spec: 1 and *value (malloc'd) when found, 0
 * when not, -1 with err when the map cannot be read. maps_lookup folds the
 * key to lowercase; maps_query does so only when fold is 1.
 */
int maps_lookup(const char *spec, const char *key, char **value, char *err, size_t errlen);
int maps_query(const char *spec, const char *key, int fold, char **value,
    char *err, size_t errlen);

/*
 * Looks key up in each map of the list parameter param (transport_maps):
 * the first one that has it wins. 1/0/-1 as maps_lookup; an error in one
 * map stops the search (a broken map must not let a later one answer).
 */
int maps_lookup_list(const char *param, const char *key, char **value,
    char *err, size_t errlen);

/*
 * 1 when a database of the list parameter param that this process has
 * open was replaced on disk since (a worker that opened it with privileges
 * it has dropped must then restart), else 0.
 */
int maps_changed_list(const char *param);

/*
 * Splits a list of maps ("hash:/a, inline:{ a=b, c=d }") at white space
 * and commas outside { } into out (conf_list would cut inline: tables).
 * maps_list does it for the value of the parameter param.
 */
struct strv;
void maps_list_split(const char *text, struct strv *out);
void maps_list(const char *param, struct strv *out);

/* Closes every cached database. */
void maps_close_all(void);

#endif
