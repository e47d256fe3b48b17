/*
 * dict_db - Berkeley DB maps; see dict_db.h.
 *
 * Reading: one DB handle per map, opened DB_RDONLY without an environment
 * (a private cache, no region files). A lookup takes a shared flock on the
 * file (waiting up to DICT_DB_LOCK_WAIT_MS for a writer that locks), then
 * checks whether the path still names the open file; if not it reopens
 * first, so a map rebuilt by rename or rewritten in place is never read
 * from a stale cache. Keys are tried with their NUL, then without; the
 * form that matched is kept for later lookups, as Postfix's dict_db does
 * with DICT_FLAG_TRY1NULL / DICT_FLAG_TRY0NULL.
 *
 * Building: the temp file "PATH.PID.SEQ.tmp" is created O_EXCL|O_NOFOLLOW
 * by us first, then handed to libdb (which treats an empty file as a new
 * database); the inode libdb opened is checked to be ours. Commit order:
 * DB->sync, DB->close, fchown, fchmod, fsync, rename, fsync(dir).
 *
 * libdb's own messages are captured through an error callback and added
 * to the caller's err text ("/etc/aliases.db: unexpected file type or
 * format"); nothing is printed by libdb itself.
 */
#include "config.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dict_db.h"
#include "fileio.h"
#include "xalloc.h"

#define DICT_DB_TRY1NULL	(1u << 0)	/* try the key with its NUL */
#define DICT_DB_TRY0NULL	(1u << 1)	/* try the key without */
#define DICT_DB_LOCK_WAIT_MS	10000		/* give up on a writer's lock after this */
#define DICT_DB_LOCK_STEP_MS	50
#define DICT_DB_REOPEN_TRIES	3		/* the file changing under us again and again */
#define DICT_DB_TMP_TRIES	100		/* O_EXCL name collisions before giving up */
#define DICT_DB_MSG_MAX		512
#define DICT_DB_FILE_MODE	0600		/* the temp file until commit */
#define NSEC_PER_MSEC		1000000L

struct dict_db {
	DB *db;
	char *path;
	enum dict_db_type type;
	unsigned flags;		/* DICT_DB_TRY*NULL */
	int fd;			/* libdb's descriptor (owned by db) */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	uid_t owner;
};

struct dict_db_writer {
	DB *db;
	char *path;
	char *tmp;
	int fd;			/* our descriptor of the temp file */
};

/* The last message libdb reported through the error callback. */
static char dict_db_msg[DICT_DB_MSG_MAX];

static void
dict_db_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	snprintf(dict_db_msg, sizeof(dict_db_msg), "%s", msg ? msg : "");
}

/* err = "PATH: WHAT: reason", reason from libdb's message or its code. */
static void
dict_db_error(char *err, size_t errlen, const char *path, const char *what, int ret)
{
	const char *reason = dict_db_msg[0] ? dict_db_msg : db_strerror(ret);

	if (err == NULL || errlen == 0)
		return;
	if (what && *what)
		snprintf(err, errlen, "%s: %s: %s", path, what, reason);
	else
		snprintf(err, errlen, "%s: %s", path, reason);
}

static DBTYPE
dict_db_dbtype(enum dict_db_type type)
{
	return type == DICT_DB_BTREE ? DB_BTREE : DB_HASH;
}

int
dict_db_type_from_name(const char *name)
{
	if (strcmp(name, "hash") == 0)
		return DICT_DB_HASH;
	if (strcmp(name, "btree") == 0)
		return DICT_DB_BTREE;
	return -1;
}

const char *
dict_db_type_name(enum dict_db_type type)
{
	return type == DICT_DB_BTREE ? "btree" : "hash";
}

/* Opens the libdb handle of d (d->path, d->type); 0 or -1 with errno and err. */
static int
dict_db_attach(struct dict_db *d, char *err, size_t errlen)
{
	struct stat st;
	DB *db;
	int ret, fd;

	dict_db_msg[0] = '\0';
	if ((ret = db_create(&db, NULL, 0)) != 0) {
		dict_db_error(err, errlen, d->path, "db_create", ret);
		errno = ret > 0 ? ret : EINVAL;
		return -1;
	}
	db->set_errcall(db, dict_db_errcall);
	ret = db->open(db, NULL, d->path, NULL, dict_db_dbtype(d->type), DB_RDONLY, 0);
	if (ret != 0) {
		dict_db_error(err, errlen, d->path, "", ret);
		db->close(db, 0);
		errno = ret > 0 ? ret : EINVAL;
		return -1;
	}
	if ((ret = db->fd(db, &fd)) != 0 || fstat(fd, &st) < 0) {
		int saved = ret ? (ret > 0 ? ret : EINVAL) : errno;

		if (ret == 0)
			dict_db_msg[0] = '\0';
		dict_db_error(err, errlen, d->path, "fstat", ret ? ret : saved);
		db->close(db, 0);
		errno = saved;
		return -1;
	}
	d->db = db;
	d->fd = fd;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->mtime = st.st_mtim;
	d->size = st.st_size;
	d->owner = st.st_uid;
	d->flags = DICT_DB_TRY1NULL | DICT_DB_TRY0NULL;
	return 0;
}

static void
dict_db_detach(struct dict_db *d)
{
	if (d->db != NULL)
		d->db->close(d->db, 0);
	d->db = NULL;
	d->fd = -1;
}

struct dict_db *
dict_db_open(const char *path, enum dict_db_type type, char *err, size_t errlen)
{
	struct dict_db *d = xcalloc(1, sizeof(*d));
	int saved;

	d->path = xstrdup(path);
	d->type = type;
	d->fd = -1;
	if (dict_db_attach(d, err, errlen) < 0) {
		saved = errno;
		free(d->path);
		free(d);
		errno = saved;
		return NULL;
	}
	return d;
}

void
dict_db_close(struct dict_db *d)
{
	if (d == NULL)
		return;
	dict_db_detach(d);
	free(d->path);
	free(d);
}

int
dict_db_changed(const struct dict_db *d)
{
	struct stat st;

	if (stat(d->path, &st) < 0)
		return 1;
	return st.st_dev != d->dev || st.st_ino != d->ino || st.st_size != d->size
	    || st.st_mtim.tv_sec != d->mtime.tv_sec
	    || st.st_mtim.tv_nsec != d->mtime.tv_nsec;
}

const char *
dict_db_path(const struct dict_db *d)
{
	return d->path;
}

uid_t
dict_db_owner(const struct dict_db *d)
{
	return d->owner;
}

/* Shared flock on the open file, waiting for a writer; 0 or -1 with err. */
static int
dict_db_lock(struct dict_db *d, char *err, size_t errlen)
{
	struct timespec step = { 0, DICT_DB_LOCK_STEP_MS * NSEC_PER_MSEC };
	long waited = 0;

	for (;;) {
		if (flock(d->fd, LOCK_SH | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return 0;	/* no locking here (NFS...): read anyway */
		if (waited >= DICT_DB_LOCK_WAIT_MS) {
			snprintf(err, errlen, "%s: database is locked by another process",
			    d->path);
			return -1;
		}
		nanosleep(&step, NULL);
		waited += DICT_DB_LOCK_STEP_MS;
	}
}

static void
dict_db_unlock(struct dict_db *d)
{
	if (d->fd >= 0)
		(void)flock(d->fd, LOCK_UN);
}

/* Locks d and makes sure it is the file the path names now; 0 or -1. */
static int
dict_db_lock_current(struct dict_db *d, char *err, size_t errlen)
{
	int tries;

	for (tries = 0; tries < DICT_DB_REOPEN_TRIES; tries++) {
		if (d->db == NULL && dict_db_attach(d, err, errlen) < 0)
			return -1;
		if (dict_db_lock(d, err, errlen) < 0)
			return -1;
		if (!dict_db_changed(d))
			return 0;
		dict_db_unlock(d);
		dict_db_detach(d);
	}
	/* Still changing: use what we have, it is a complete file. */
	if (d->db == NULL && dict_db_attach(d, err, errlen) < 0)
		return -1;
	return dict_db_lock(d, err, errlen);
}

/* One DB->get; 1 found, 0 not, -1 error. */
static int
dict_db_get(struct dict_db *d, const void *key, size_t klen, char **value,
    size_t *vlen, char *err, size_t errlen)
{
	DBT k, v;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	dict_db_msg[0] = '\0';
	ret = d->db->get(d->db, NULL, &k, &v, 0);
	if (ret == DB_NOTFOUND || ret == DB_KEYEMPTY)
		return 0;
	if (ret != 0) {
		dict_db_error(err, errlen, d->path, "lookup", ret);
		return -1;
	}
	*value = xmalloc((size_t)v.size + 1);
	if (v.size > 0)
		memcpy(*value, v.data, v.size);
	(*value)[v.size] = '\0';
	if (vlen)
		*vlen = v.size;
	return 1;
}

int
dict_db_lookup_raw(struct dict_db *d, const void *key, size_t klen, char **value,
    size_t *vlen, char *err, size_t errlen)
{
	int rc;

	if (klen > UINT32_MAX)
		return 0;
	if (dict_db_lock_current(d, err, errlen) < 0)
		return -1;
	rc = dict_db_get(d, key, klen, value, vlen, err, errlen);
	dict_db_unlock(d);
	return rc;
}

int
dict_db_lookup(struct dict_db *d, const char *key, char **value, char *err,
    size_t errlen)
{
	size_t klen = strlen(key), vlen = 0;
	int rc = 0;

	if (klen >= UINT32_MAX)
		return 0;
	if (dict_db_lock_current(d, err, errlen) < 0)
		return -1;
	if (d->flags & DICT_DB_TRY1NULL) {
		rc = dict_db_get(d, key, klen + 1, value, &vlen, err, errlen);
		if (rc == 1)
			d->flags &= ~DICT_DB_TRY0NULL;
	}
	if (rc == 0 && (d->flags & DICT_DB_TRY0NULL)) {
		rc = dict_db_get(d, key, klen, value, &vlen, err, errlen);
		if (rc == 1)
			d->flags &= ~DICT_DB_TRY1NULL;
	}
	dict_db_unlock(d);
	return rc;
}

static void
dict_db_writer_free(struct dict_db_writer *w)
{
	free(w->path);
	free(w->tmp);
	free(w);
}

struct dict_db_writer *
dict_db_create(const char *path, enum dict_db_type type, char *err, size_t errlen)
{
	static unsigned long seq;
	struct dict_db_writer *w = xcalloc(1, sizeof(*w));
	struct stat ours, theirs;
	struct timespec now;
	int tries, ret, dbfd, saved;

	w->path = xstrdup(path);
	w->fd = -1;
	clock_gettime(CLOCK_REALTIME, &now);
	for (tries = 0; tries < DICT_DB_TMP_TRIES; tries++) {
		free(w->tmp);
		w->tmp = xasprintf("%s.%ld.%lx%lx.tmp", path, (long)getpid(),
		    (unsigned long)now.tv_nsec, ++seq);
		w->fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    DICT_DB_FILE_MODE);
		if (w->fd >= 0 || errno != EEXIST)
			break;
	}
	if (w->fd < 0) {
		saved = errno;
		snprintf(err, errlen, "cannot create %s: %s", w->tmp, strerror(saved));
		dict_db_writer_free(w);
		errno = saved;
		return NULL;
	}
	dict_db_msg[0] = '\0';
	if ((ret = db_create(&w->db, NULL, 0)) != 0) {
		w->db = NULL;
		dict_db_error(err, errlen, w->tmp, "db_create", ret);
		goto fail;
	}
	w->db->set_errcall(w->db, dict_db_errcall);
	ret = w->db->open(w->db, NULL, w->tmp, NULL, dict_db_dbtype(type), DB_CREATE,
	    DICT_DB_FILE_MODE);
	if (ret != 0) {
		dict_db_error(err, errlen, w->tmp, "open", ret);
		goto fail;
	}
	/* The file libdb writes must be the one we created. */
	if (w->db->fd(w->db, &dbfd) != 0 || fstat(dbfd, &theirs) < 0
	    || fstat(w->fd, &ours) < 0 || ours.st_dev != theirs.st_dev
	    || ours.st_ino != theirs.st_ino) {
		snprintf(err, errlen, "%s: temporary file replaced while in use", w->tmp);
		ret = EEXIST;
		goto fail;
	}
	return w;
fail:
	if (w->db != NULL)
		w->db->close(w->db, 0);
	close(w->fd);
	unlink(w->tmp);
	dict_db_writer_free(w);
	errno = ret > 0 ? ret : EINVAL;
	return NULL;
}

int
dict_db_put(struct dict_db_writer *w, const void *key, size_t klen,
    const void *value, size_t vlen, int overwrite, char *err, size_t errlen)
{
	DBT k, v;
	int ret;

	if (klen > UINT32_MAX || vlen > UINT32_MAX) {
		snprintf(err, errlen, "%s: key or value too long", w->path);
		return -1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	v.data = (void *)value;
	v.size = (u_int32_t)vlen;
	dict_db_msg[0] = '\0';
	ret = w->db->put(w->db, NULL, &k, &v, overwrite ? 0 : DB_NOOVERWRITE);
	if (ret == DB_KEYEXIST)
		return 1;
	if (ret != 0) {
		dict_db_error(err, errlen, w->tmp, "write", ret);
		return -1;
	}
	return 0;
}

int
dict_db_put_str(struct dict_db_writer *w, const char *key, const char *value,
    int with_nul, int overwrite, char *err, size_t errlen)
{
	size_t extra = with_nul ? 1 : 0;

	return dict_db_put(w, key, strlen(key) + extra, value, strlen(value) + extra,
	    overwrite, err, errlen);
}

int
dict_db_commit(struct dict_db_writer *w, mode_t mode, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
	char *dir = NULL;
	int ret, saved;
	DB *db = w->db;

	w->db = NULL;
	dict_db_msg[0] = '\0';
	ret = db->sync(db, 0);
	if (ret != 0) {
		dict_db_error(err, errlen, w->tmp, "sync", ret);
		db->close(db, 0);
		errno = ret > 0 ? ret : EIO;
		goto fail;
	}
	if ((ret = db->close(db, 0)) != 0) {
		dict_db_error(err, errlen, w->tmp, "close", ret);
		errno = ret > 0 ? ret : EIO;
		goto fail;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(w->fd, uid, gid) < 0) {
		if (geteuid() == 0) {
			snprintf(err, errlen, "cannot change owner of %s: %s", w->tmp,
			    strerror(errno));
			goto fail;
		}
		/* Not root: a group we belong to is still possible. */
		if (gid != (gid_t)-1)
			(void)fchown(w->fd, (uid_t)-1, gid);
	}
	if (fchmod(w->fd, mode) < 0 || fsync(w->fd) < 0) {
		snprintf(err, errlen, "cannot finish %s: %s", w->tmp, strerror(errno));
		goto fail;
	}
	if (close(w->fd) < 0) {
		w->fd = -1;
		snprintf(err, errlen, "cannot finish %s: %s", w->tmp, strerror(errno));
		goto fail;
	}
	w->fd = -1;
	if (rename(w->tmp, w->path) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", w->tmp, w->path,
		    strerror(errno));
		goto fail;
	}
	dir = fileio_dirname(w->path);
	if (fileio_fsync_dir(dir) < 0) {
		/* The file is in place; only its durability is in doubt. */
		saved = errno;
		snprintf(err, errlen, "cannot sync directory %s: %s", dir, strerror(saved));
		free(dir);
		dict_db_writer_free(w);
		errno = saved;
		return -1;
	}
	free(dir);
	dict_db_writer_free(w);
	return 0;
fail:
	saved = errno;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	dict_db_writer_free(w);
	errno = saved;
	return -1;
}

void
dict_db_abort(struct dict_db_writer *w)
{
	if (w == NULL)
		return;
	if (w->db != NULL)
		w->db->close(w->db, DB_NOSYNC);
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	dict_db_writer_free(w);
}
