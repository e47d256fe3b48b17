/*
 * dict_db - Berkeley DB (libdb 5.3) maps: reading and building, as used by
 * aliases.db and, later, by `petrel map` (transport_maps, sasl_passwd: the
 * postmap equivalent).
 *
 * Reading: dict_db_open() opens "hash" (DB_HASH) or "btree" (DB_BTREE)
 * files read-only; dict_db_lookup() tries the key with its terminating
 * NUL, then without (Postfix's TRY1NULL -> TRY0NULL), and remembers which
 * form the file uses. dict_db_changed() says whether the file on disk is
 * no longer the one that is open (dev, inode, mtime, size), so a caller
 * reopens a rebuilt map without a restart. Each lookup holds a shared
 * flock on the file, so a writer that updates in place and locks (Postfix
 * postmap/postalias, Sendmail makemap) is never read half-written.
 *
 * Building: dict_db_create() makes a new database under a temporary name
 * in the same directory (opened O_EXCL, never following a link), the
 * caller puts keys, dict_db_commit() syncs, applies mode/owner/group,
 * fsyncs, renames it over the target and fsyncs the directory. Until the
 * commit the old file is untouched; dict_db_abort() removes the temp file.
 *
 * Errors are reported apart from "not found": -1 and a message (naming the
 * file and libdb's reason) in err, so a corrupt map defers mail instead of
 * bouncing it.
 */
#ifndef PETREL_DICT_DB_H
#define PETREL_DICT_DB_H

#include <stddef.h>
#include <sys/types.h>

enum dict_db_type {
	DICT_DB_HASH,
	DICT_DB_BTREE,
};

/* "hash" or "btree" -> the type; -1 for another name. */
int dict_db_type_from_name(const char *name);
const char *dict_db_type_name(enum dict_db_type type);

struct dict_db;

/*
 * Opens path (the database file itself, e.g. /etc/aliases.db) read-only.
 * Returns NULL with errno set (ENOENT for a missing file) and a message in
 * err on failure; a file that is not a database of that type is an error
 * (EINVAL or libdb's code), not an empty map.
 */
struct dict_db *dict_db_open(const char *path, enum dict_db_type type,
    char *err, size_t errlen);
void dict_db_close(struct dict_db *d);

/*
 * Looks key up. Returns 1 and *value (malloc'd, NUL-terminated, any
 * stored trailing NUL removed), 0 when not found, -1 with err on error.
 */
int dict_db_lookup(struct dict_db *d, const char *key, char **value,
    char *err, size_t errlen);
/* The same for a key of klen bytes used exactly as given (no NUL games). */
int dict_db_lookup_raw(struct dict_db *d, const void *key, size_t klen,
    char **value, size_t *vlen, char *err, size_t errlen);

/* 1 when path now names another file than the open one, or is gone; 0 if not. */
int dict_db_changed(const struct dict_db *d);
const char *dict_db_path(const struct dict_db *d);
/* Owner of the open file (delivery rights of aliases, spec/aliases.md §5). */
uid_t dict_db_owner(const struct dict_db *d);

struct dict_db_writer;

/*
 * Starts a new database that will replace path on commit. Returns NULL
 * with errno and err on failure.
 */
struct dict_db_writer *dict_db_create(const char *path, enum dict_db_type type,
    char *err, size_t errlen);

/*
 * Stores key (klen bytes) -> value (vlen bytes) exactly as given. With
 * overwrite 0 an existing key is kept and 1 is returned; 0 when stored,
 * -1 with err on error.
 */
int dict_db_put(struct dict_db_writer *w, const void *key, size_t klen,
    const void *value, size_t vlen, int overwrite, char *err, size_t errlen);
/* dict_db_put of C strings, each with its terminating NUL when with_nul. */
int dict_db_put_str(struct dict_db_writer *w, const char *key, const char *value,
    int with_nul, int overwrite, char *err, size_t errlen);

/*
 * Finishes the database and renames it into place with the given mode.
 * uid/gid (-1 = leave as created) are applied with fchown; when the
 * process is not root a refused change of owner is not an error (the file
 * keeps the caller's ids). Frees w. Returns 0, or -1 with err (the temp
 * file is then removed and the old database is untouched).
 */
int dict_db_commit(struct dict_db_writer *w, mode_t mode, uid_t uid, gid_t gid,
    char *err, size_t errlen);
/* Drops the database under construction and frees w. */
void dict_db_abort(struct dict_db_writer *w);

#endif
