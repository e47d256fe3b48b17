/*
 * aliases - /etc/aliases and its Berkeley DB map (spec/aliases.md).
 *
 * Three jobs:
 *   - newaliases / sendmail -bi / -I / -oA: compile each source of
 *     alias_database (type:path, "hash" by default) into path.db through a
 *     temp file and rename, with Sendmail's and Postfix's key/value layout
 *     (lowercase keys, key and value with their NUL, "@" -> "@" last, the
 *     YP_LAST_MODIFIED / YP_MASTER_NAME entries), so postalias -q,
 *     praliases and makemap read Petrel's file and Petrel reads theirs;
 *   - lookups for local delivery in alias_maps, reopening a map whose file
 *     changed, trying the key with its NUL then without;
 *   - alias_auto_rebuild: a missing or older-than-source .db is rebuilt
 *     before local delivery (when the process may write it), else a
 *     warning to run newaliases is logged.
 * A map that cannot be read is an error ("defer"), never "not found".
 */
#ifndef PETREL_ALIASES_H
#define PETREL_ALIASES_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Looks name (a local part; folded to lowercase here) up in alias_maps.
 * Returns 1 and *value (malloc'd raw right-hand side) and *owner (the uid
 * that owns the map file: delivery rights, spec/aliases.md §5) when found,
 * 0 when no map has it, -1 with err when a map cannot be read.
 */
int aliases_lookup(const char *name, char **value, uid_t *owner, char *err, size_t errlen);

/*
 * Rebuilds stale or missing .db files of alias_maps when alias_auto_rebuild
 * is yes (logging that it did), or warns when it is no. Called by the
 * queue manager's local delivery before a run. Returns 0, -1 on an error
 * (logged).
 */
int aliases_check_fresh(void);

/*
 * The newaliases command: builds every map of alias_database, or the one
 * given with -oA (path or type:path). Prints Sendmail's statistics line
 * ("/etc/aliases: N aliases, longest N bytes, N bytes total") on stdout
 * when verbose or stdout is a tty. Returns the exit status (0, or 75 when
 * a source cannot be read, 1 on a build error).
 */
int aliases_newaliases(const char *alias_db_opt, int verbose);

#endif
