/*
 * fileio - the durable-write primitives every writer of mail uses.
 *
 * The order that makes a file durable: write to a temporary name opened
 * O_EXCL, fsync the file, rename it into place (the commit point), fsync
 * the directory. fileio_* give each step with full error reporting.
 */
#ifndef PETREL_FILEIO_H
#define PETREL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* write() all of buf, retrying on EINTR and short writes; -1 with errno. */
int fileio_write_all(int fd, const void *buf, size_t len);
/* fsync the directory that holds path (or path itself if it is a dir). */
int fileio_fsync_dir(const char *dirpath);
/* rename that refuses to replace an existing target (EEXIST). */
int fileio_rename_noreplace(const char *from, const char *to);
/*
 * Atomically replaces path with data: temp file in the same directory,
 * fsync, rename, fsync of the directory. The mode is applied to the new
 * file. -1 with errno on failure; the old file is then untouched.
 */
int fileio_replace(const char *path, const void *data, size_t len, mode_t mode);
/* The directory part of path: "." when none, "/" for the root (malloc'd). */
char *fileio_dirname(const char *path);
/* Reads a whole file (at most limit bytes, 0 = no limit) into *out (malloc'd). */
int fileio_read_file(const char *path, char **out, size_t *len, size_t limit);

#endif
