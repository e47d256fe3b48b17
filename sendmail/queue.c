/*
 * queue - the queue directory: IDs, durable commits, scans, moves,
 * quarantine, and the defer/ sidecar files (doc/queue-format.md).
 *
 * API (queue.h): queue_id_valid, queue_write (= queue_tx_begin +
 * queue_tx_commit), queue_tx_abort, queue_scan, queue_remove_stale,
 * queue_read, queue_read_stat, queue_quarantine, queue_move, queue_locate,
 * queue_defer_*.
 *
 * Errors: functions return -1 (or QFILE_IOERR/QFILE_CORRUPT) with errno
 * kept from the failing system call; those with an err buffer name the
 * step and the path there ("fsync /var/spool/petrel/incoming/.1a.tmp:
 * Input/output error"). A failed write leaves no file behind.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "pbuf.h"
#include "qfile.h"
#include "queue.h"
#include "xalloc.h"

#define QUEUE_TEMP_TRIES	16	/* O_EXCL retries for a temp name */
#define QUEUE_QUARANTINE_TRIES	100	/* corrupt/NAME, NAME.1 ... NAME.99 */
#define QUEUE_LOCATE_PASSES	2	/* a file may move while we look */
#define QUEUE_USEC_MASK		0xFFFFFUL	/* 5 hex digits */
#define QUEUE_INO_MASK		0xFFFFFFFFFULL	/* 9 hex digits = 36 bits */
#define QUEUE_ID_PLACEHOLDER	"00000000000000"
#define QUEUE_TEMP_SUFFIX	".tmp"
#define QUEUE_FILE_MODE_TEMP	0600

/* The state directories that hold live messages, in locate order. */
static const char *const queue_live_dirs[] = {
	QDIR_MAILDROP, QDIR_INCOMING, QDIR_ACTIVE, QDIR_DEFERRED, QDIR_HOLD,
};
#define QUEUE_NLIVE	(sizeof(queue_live_dirs) / sizeof(queue_live_dirs[0]))

static void
queue_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
queue_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

int
queue_id_valid(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < QID_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F')))
			return 0;
	return name[QID_LEN] == '\0';
}

/* A plain file name: no slash, not empty, not "." or "..". */
static int
queue_name_ok(const char *name)
{
	return name && *name && strchr(name, '/') == NULL
	    && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int
queue_is_temp_name(const char *name)
{
	size_t n = strlen(name), sl = sizeof(QUEUE_TEMP_SUFFIX) - 1;

	return name[0] == '.' && n > sl + 1
	    && strcmp(name + n - sl, QUEUE_TEMP_SUFFIX) == 0;
}

/* Makes a directory entry durable; falls back to syncfs(fd) on EACCES. */
static int
queue_sync_dir(const char *dir, int fd)
{
	if (fileio_fsync_dir(dir) == 0)
		return 0;
	if (errno == EACCES && fd >= 0)
		return syncfs(fd);
	return -1;
}

/* ---- writing ---- */

int
queue_tx_begin(const char *queue_dir, const char *subdir, struct queue_tx *tx,
    char *err, size_t errlen)
{
	struct timespec ts;
	struct stat st;
	unsigned n;
	int saved;

	tx->fd = -1;
	tx->dir = xasprintf("%s/%s", queue_dir, subdir);
	tx->tmp = NULL;
	tx->id[0] = '\0';
	for (n = 0; n < QUEUE_TEMP_TRIES; n++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		free(tx->tmp);
		tx->tmp = xasprintf("%s/.%lx.%llx%05lx.%x%s", tx->dir, (long)getpid(),
		    (unsigned long long)ts.tv_sec, (unsigned long)(ts.tv_nsec / 1000),
		    n, QUEUE_TEMP_SUFFIX);
		tx->fd = open(tx->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
		    | O_NOFOLLOW | O_NOCTTY, QUEUE_FILE_MODE_TEMP);
		if (tx->fd >= 0 || errno != EEXIST)
			break;
	}
	if (tx->fd < 0) {
		queue_seterr(err, errlen, "create %s: %s", tx->tmp, strerror(errno));
		goto fail;
	}
	if (fstat(tx->fd, &st) < 0) {
		queue_seterr(err, errlen, "fstat %s: %s", tx->tmp, strerror(errno));
		saved = errno;
		(void)unlink(tx->tmp);
		close(tx->fd);
		tx->fd = -1;
		errno = saved;
		goto fail;
	}
	tx->mode = st.st_mode & 07777;
	/* 5 hex digits of the microseconds, 9 of the inode (low 36 bits). */
	snprintf(tx->id, sizeof(tx->id), "%05lX%09llX",
	    (unsigned long)(ts.tv_nsec / 1000) & QUEUE_USEC_MASK,
	    (unsigned long long)st.st_ino & QUEUE_INO_MASK);
	return 0;
fail:
	saved = errno;
	free(tx->dir);
	free(tx->tmp);
	tx->dir = tx->tmp = NULL;
	errno = saved;
	return -1;
}

void
queue_tx_abort(struct queue_tx *tx)
{
	int saved = errno;

	if (tx->fd >= 0) {
		close(tx->fd);
		if (tx->tmp)
			(void)unlink(tx->tmp);
	}
	free(tx->dir);
	free(tx->tmp);
	tx->dir = tx->tmp = NULL;
	tx->fd = -1;
	errno = saved;
}

/* writev() all of iov, resuming after short writes. */
static int
queue_writev_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t w = writev(fd, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Writes head + content + END, syncs, renames to tx->id; always ends tx. */
static int
queue_tx_finish(struct queue_tx *tx, const struct pbuf *head, const char *content,
    size_t len, mode_t mode, char *err, size_t errlen)
{
	struct iovec iov[3];
	char *final = NULL;
	int cnt = 0, saved;

	iov[cnt].iov_base = head->data;
	iov[cnt++].iov_len = head->len;
	if (len > 0) {
		iov[cnt].iov_base = (void *)(uintptr_t)content;
		iov[cnt++].iov_len = len;
	}
	iov[cnt].iov_base = (void *)(uintptr_t)QFILE_END_MARK;
	iov[cnt++].iov_len = QFILE_END_LEN;
	if (queue_writev_all(tx->fd, iov, cnt) < 0) {
		queue_seterr(err, errlen, "write %s: %s", tx->tmp, strerror(errno));
		goto fail;
	}
	/* The mode first, so that it is durable together with the data. */
	if (tx->mode != (mode & 07777) && fchmod(tx->fd, mode) < 0) {
		queue_seterr(err, errlen, "fchmod %s: %s", tx->tmp, strerror(errno));
		goto fail;
	}
	if (fsync(tx->fd) < 0) {
		queue_seterr(err, errlen, "fsync %s: %s", tx->tmp, strerror(errno));
		goto fail;
	}
	final = xasprintf("%s/%s", tx->dir, tx->id);
	if (fileio_rename_noreplace(tx->tmp, final) < 0) {
		queue_seterr(err, errlen, "rename %s to %s: %s", tx->tmp, final,
		    strerror(errno));
		goto fail;
	}
	if (queue_sync_dir(tx->dir, tx->fd) < 0) {
		queue_seterr(err, errlen, "fsync directory %s: %s", tx->dir,
		    strerror(errno));
		/* Not acknowledged, so not kept: the caller reports failure. */
		saved = errno;
		(void)unlink(final);
		close(tx->fd);
		tx->fd = -1;
		errno = saved;
		goto fail;
	}
	close(tx->fd);
	tx->fd = -1;
	free(final);
	queue_tx_abort(tx);
	return 0;
fail:
	saved = errno;
	free(final);
	queue_tx_abort(tx);
	errno = saved;
	return -1;
}

static queue_envelope_fn queue_envelope_hook;
static queue_message_fn queue_message_hook;

void
queue_set_envelope_hook(queue_envelope_fn fn)
{
	queue_envelope_hook = fn;
}

void
queue_set_message_hook(queue_message_fn fn)
{
	queue_message_hook = fn;
}

/* A copy of the sender and recipients of an envelope, to put back after a refused commit. */
struct queue_env_save {
	char *sender;
	struct qrcpt *rcpt;
	size_t nrcpt;
};

static void
queue_env_save(const struct qenv *e, struct queue_env_save *s)
{
	size_t i;

	s->sender = e->sender ? xstrdup(e->sender) : NULL;
	s->nrcpt = e->nrcpt;
	s->rcpt = e->nrcpt ? xcalloc(e->nrcpt, sizeof(*s->rcpt)) : NULL;
	for (i = 0; i < e->nrcpt; i++) {
		s->rcpt[i] = e->rcpt[i];
		s->rcpt[i].addr = xstrdup(e->rcpt[i].addr);
		s->rcpt[i].orcpt = e->rcpt[i].orcpt ? xstrdup(e->rcpt[i].orcpt) : NULL;
	}
}

/* Frees what e holds now and gives it the saved copy (restore) or frees the copy. */
static void
queue_env_done(struct qenv *e, struct queue_env_save *s, int restore)
{
	struct qrcpt *drop = restore ? e->rcpt : s->rcpt;
	size_t i, ndrop = restore ? e->nrcpt : s->nrcpt;

	for (i = 0; i < ndrop; i++) {
		free(drop[i].addr);
		free(drop[i].orcpt);
	}
	free(drop);
	if (restore) {
		free(e->sender);
		e->sender = s->sender;
		e->rcpt = s->rcpt;
		e->nrcpt = s->nrcpt;
	} else {
		free(s->sender);
	}
}

/*
 * The hooks, for a file that goes to incoming/ or hold/ (dir ends so):
 * the message hook (which may put new content in *out and set *content
 * and *len to it), then the envelope hook. When either refuses, e is put
 * back as it came.
 */
static int
queue_run_hook(const char *dir, struct qenv *e, const char **content, size_t *len,
    struct pbuf *out, char *err, size_t errlen)
{
	const char *base = strrchr(dir, '/');
	struct queue_env_save saved;
	int rc = 0;

	base = base ? base + 1 : dir;
	if (strcmp(base, QDIR_INCOMING) != 0 && strcmp(base, QDIR_HOLD) != 0)
		return 0;
	if (queue_message_hook == NULL)
		return queue_envelope_hook ? queue_envelope_hook(e, err, errlen) : 0;
	queue_env_save(e, &saved);
	rc = queue_message_hook(e, *content, *len, out, err, errlen);
	if (rc > 0) {
		*content = out->data ? out->data : "";
		*len = out->len;
	}
	if (rc >= 0 && queue_envelope_hook != NULL)
		rc = queue_envelope_hook(e, err, errlen);
	queue_env_done(e, &saved, rc < 0);
	return rc < 0 ? -1 : 0;
}

int
queue_tx_commit(struct queue_tx *tx, struct qenv *e, const char *content,
    size_t len, mode_t mode, char *err, size_t errlen)
{
	struct pbuf head = PBUF_INIT, rewritten = PBUF_INIT;
	int rc;

	if (queue_run_hook(tx->dir, e, &content, &len, &rewritten, err, errlen) < 0) {
		queue_tx_abort(tx);
		pbuf_free(&rewritten);
		errno = EAGAIN;
		return -1;
	}
	memcpy(e->id, tx->id, sizeof(e->id));
	if (qfile_format_head(e, len, &head, err, errlen) < 0) {
		queue_tx_abort(tx);
		pbuf_free(&head);
		pbuf_free(&rewritten);
		errno = EINVAL;
		return -1;
	}
	rc = queue_tx_finish(tx, &head, content, len, mode, err, errlen);
	pbuf_free(&head);
	pbuf_free(&rewritten);
	return rc;
}

void
queue_tx_set_dir(struct queue_tx *tx, const char *queue_dir, const char *subdir)
{
	free(tx->dir);
	tx->dir = xasprintf("%s/%s", queue_dir, subdir);
}

int
queue_write(const char *queue_dir, const char *subdir, struct qenv *e,
    const char *content, size_t len, mode_t mode, char *err, size_t errlen)
{
	struct pbuf head = PBUF_INIT, rewritten = PBUF_INIT;
	struct queue_tx tx;
	char saved_id[QID_LEN + 1];
	int saved;

	/* Format first, so that a bad envelope never touches the disk. */
	memcpy(saved_id, e->id, sizeof(saved_id));
	if (queue_run_hook(subdir, e, &content, &len, &rewritten, err, errlen) < 0) {
		pbuf_free(&rewritten);
		errno = EAGAIN;
		return -1;
	}
	memcpy(e->id, QUEUE_ID_PLACEHOLDER, sizeof(e->id));
	if (qfile_format_head(e, len, &head, err, errlen) < 0)
		goto fail;
	if (queue_tx_begin(queue_dir, subdir, &tx, err, errlen) < 0)
		goto fail;
	memcpy(head.data + QFILE_ID_OFFSET, tx.id, QID_LEN);
	memcpy(e->id, tx.id, sizeof(e->id));
	if (queue_tx_finish(&tx, &head, content, len, mode, err, errlen) < 0)
		goto fail;
	pbuf_free(&head);
	pbuf_free(&rewritten);
	return 0;
fail:
	saved = errno;
	memcpy(e->id, saved_id, sizeof(e->id));
	pbuf_free(&head);
	pbuf_free(&rewritten);
	errno = saved;
	return -1;
}

/* ---- scanning ---- */

long
queue_scan(const char *queue_dir, const char *subdir, queue_scan_fn fn, void *ctx)
{
	char *path = xasprintf("%s/%s", queue_dir, subdir);
	struct dirent *de;
	long count = 0;
	DIR *d;
	int saved;

	d = opendir(path);
	free(path);
	if (d == NULL)
		return -1;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (!queue_id_valid(de->d_name))
			continue;
		count++;
		if (fn(subdir, de->d_name, ctx) != 0) {
			errno = 0;
			break;
		}
	}
	saved = errno;
	closedir(d);
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	return count;
}

int
queue_remove_stale(const char *queue_dir, const char *subdir, long max_age)
{
	char *path = xasprintf("%s/%s", queue_dir, subdir);
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	int count = 0;
	DIR *d;

	d = opendir(path);
	free(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!queue_is_temp_name(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
		    || S_ISDIR(st.st_mode))
			continue;
		if (now - st.st_mtime <= max_age)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/* ---- reading ---- */

enum qfile_status
queue_read_stat(const char *queue_dir, const char *subdir, const char *id,
    struct qenv *e, struct pbuf *content, struct stat *stp, char *err, size_t errlen)
{
	char qerr[256];
	struct stat st;
	enum qfile_status rc;
	char *path;
	int fd, saved;

	qenv_init(e);
	if (!queue_id_valid(id)) {
		errno = EINVAL;
		queue_seterr(err, errlen, "bad queue ID");
		return QFILE_IOERR;
	}
	path = xasprintf("%s/%s/%s", queue_dir, subdir, id);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		saved = errno;
		queue_seterr(err, errlen, saved == ELOOP ? "%s: is a symbolic link"
		    : "open %s: %s", path, strerror(saved));
		free(path);
		errno = saved;
		return saved == ELOOP ? QFILE_CORRUPT : QFILE_IOERR;
	}
	if (fstat(fd, &st) < 0) {
		queue_seterr(err, errlen, "fstat %s: %s", path, strerror(errno));
		rc = QFILE_IOERR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		queue_seterr(err, errlen, "%s: not a regular file", path);
		rc = QFILE_CORRUPT;
		goto out;
	}
	if (st.st_nlink != 1) {
		errno = EMLINK;
		queue_seterr(err, errlen, "%s: has %lu hard links", path,
		    (unsigned long)st.st_nlink);
		rc = QFILE_IOERR;
		goto out;
	}
	rc = qfile_read_fd(fd, e, content, qerr, sizeof(qerr));
	if (rc != QFILE_OK) {
		queue_seterr(err, errlen, "%s: %s", path, qerr);
		goto out;
	}
	if (e->id[0] != '\0' && strcmp(e->id, id) != 0) {
		queue_seterr(err, errlen, "%s: I record %s does not match the file name",
		    path, e->id);
		qenv_free(e);
		rc = QFILE_CORRUPT;
		goto out;
	}
	memcpy(e->id, id, QID_LEN + 1);
	if (stp != NULL)
		*stp = st;
out:
	saved = errno;
	close(fd);
	free(path);
	errno = saved;
	return rc;
}

enum qfile_status
queue_read(const char *queue_dir, const char *subdir, const char *id,
    struct qenv *e, struct pbuf *content, char *err, size_t errlen)
{
	return queue_read_stat(queue_dir, subdir, id, e, content, NULL, err, errlen);
}

/* ---- moving ---- */

int
queue_quarantine(const char *queue_dir, const char *subdir, const char *name,
    const char *why)
{
	char *from, *to = NULL, *cdir, *sdir;
	int i, saved;

	if (!queue_name_ok(name) || !queue_name_ok(subdir)) {
		errno = EINVAL;
		return -1;
	}
	from = xasprintf("%s/%s/%s", queue_dir, subdir, name);
	cdir = xasprintf("%s/%s", queue_dir, QDIR_CORRUPT);
	sdir = xasprintf("%s/%s", queue_dir, subdir);
	for (i = 0; i < QUEUE_QUARANTINE_TRIES; i++) {
		free(to);
		to = i == 0 ? xasprintf("%s/%s", cdir, name)
		    : xasprintf("%s/%s.%d", cdir, name, i);
		if (fileio_rename_noreplace(from, to) == 0)
			break;
		if (errno != EEXIST)
			goto fail;
	}
	if (i == QUEUE_QUARANTINE_TRIES)
		goto fail;
	if (fileio_fsync_dir(cdir) < 0 || fileio_fsync_dir(sdir) < 0)
		log_warn("%s: fsync after the move to %s/: %m", name, QDIR_CORRUPT);
	log_warn("%s: moved to %s/: %s", name, QDIR_CORRUPT, why ? why : "corrupt");
	free(from);
	free(to);
	free(cdir);
	free(sdir);
	return 0;
fail:
	saved = errno;
	free(from);
	free(to);
	free(cdir);
	free(sdir);
	errno = saved;
	return -1;
}

int
queue_move(const char *queue_dir, const char *from, const char *to, const char *id)
{
	char *src, *dst, *sdir, *ddir;
	int rc = 0, saved;

	if (!queue_id_valid(id) || !queue_name_ok(from) || !queue_name_ok(to)
	    || strcmp(from, to) == 0) {
		errno = EINVAL;
		return -1;
	}
	sdir = xasprintf("%s/%s", queue_dir, from);
	ddir = xasprintf("%s/%s", queue_dir, to);
	src = xasprintf("%s/%s", sdir, id);
	dst = xasprintf("%s/%s", ddir, id);
	/*
	 * Not synced: losing the move in a power loss only puts the file back
	 * in its old state directory, which loses no mail (the file's own
	 * content was synced when it was queued).
	 */
	if (fileio_rename_noreplace(src, dst) < 0)
		rc = -1;
	saved = errno;
	free(src);
	free(dst);
	free(sdir);
	free(ddir);
	errno = saved;
	return rc;
}

const char *
queue_locate(const char *queue_dir, const char *id)
{
	struct stat st;
	size_t i;
	int pass;

	if (!queue_id_valid(id))
		return NULL;
	for (pass = 0; pass < QUEUE_LOCATE_PASSES; pass++) {
		for (i = 0; i < QUEUE_NLIVE; i++) {
			char *path = xasprintf("%s/%s/%s", queue_dir, queue_live_dirs[i], id);
			int found = lstat(path, &st) == 0;

			free(path);
			if (found)
				return queue_live_dirs[i];
		}
	}
	return NULL;
}

/* ---- defer/ sidecar files ---- */

void
queue_defer_init(struct queue_defer *d)
{
	d->v = NULL;
	d->n = 0;
}

void
queue_defer_free(struct queue_defer *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].addr);
		free(d->v[i].status);
		free(d->v[i].reason);
	}
	free(d->v);
	queue_defer_init(d);
}

static void
queue_defer_addn(struct queue_defer *d, const char *addr, size_t naddr,
    const char *status, size_t nstatus, const char *reason, size_t nreason)
{
	struct queue_defer_entry *ent = NULL;
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (strlen(d->v[i].addr) == naddr && memcmp(d->v[i].addr, addr, naddr) == 0) {
			ent = &d->v[i];
			free(ent->addr);
			free(ent->status);
			free(ent->reason);
			break;
		}
	}
	if (ent == NULL) {
		d->v = xreallocarray(d->v, d->n + 1, sizeof(*d->v));
		ent = &d->v[d->n++];
	}
	ent->addr = xstrndup(addr, naddr);
	ent->status = xstrndup(status, nstatus);
	ent->reason = xstrndup(reason, nreason);
}

void
queue_defer_add(struct queue_defer *d, const char *addr, const char *status,
    const char *reason)
{
	queue_defer_addn(d, addr, strlen(addr), status, strlen(status), reason,
	    strlen(reason));
}

const struct queue_defer_entry *
queue_defer_find(const struct queue_defer *d, const char *addr)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].addr, addr) == 0)
			return &d->v[i];
	return NULL;
}

int
queue_defer_read(const char *queue_dir, const char *id, struct queue_defer *d)
{
	struct pbuf b = PBUF_INIT;
	struct stat st;
	const char *p, *end, *lf, *t1, *t2;
	size_t want;
	char *path;
	int fd, saved;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	path = xasprintf("%s/%s/%s", queue_dir, QDIR_DEFER, id);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		saved = fstat(fd, &st) < 0 ? errno : EINVAL;
		close(fd);
		errno = saved;
		return -1;
	}
	want = st.st_size < QUEUE_DEFER_MAX ? (size_t)st.st_size : QUEUE_DEFER_MAX;
	pbuf_reserve(&b, want);
	while (b.len < want) {
		ssize_t r = read(fd, b.data + b.len, want - b.len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			saved = errno;
			close(fd);
			pbuf_free(&b);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
	}
	close(fd);
	/* Complete lines only: "addr TAB status TAB reason LF". */
	for (p = b.data, end = b.data + b.len; p < end; p = lf + 1) {
		lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL)
			break;
		if (memchr(p, '\0', (size_t)(lf - p)) || memchr(p, '\r', (size_t)(lf - p)))
			continue;
		t1 = memchr(p, '\t', (size_t)(lf - p));
		if (t1 == NULL || t1 == p)
			continue;
		t2 = memchr(t1 + 1, '\t', (size_t)(lf - t1 - 1));
		if (t2 == NULL || t2 == t1 + 1)
			continue;
		queue_defer_addn(d, p, (size_t)(t1 - p), t1 + 1, (size_t)(t2 - t1 - 1),
		    t2 + 1, (size_t)(lf - t2 - 1));
	}
	pbuf_free(&b);
	return 0;
}

int
queue_defer_remove(const char *queue_dir, const char *id)
{
	char *path;
	int rc;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	path = xasprintf("%s/%s/%s", queue_dir, QDIR_DEFER, id);
	rc = unlink(path);
	free(path);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

int
queue_defer_write(const char *queue_dir, const char *id,
    const struct queue_defer *d, char *err, size_t errlen)
{
	struct pbuf b = PBUF_INIT;
	struct queue_tx tx;
	char *final = NULL;
	size_t i;
	int saved;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		queue_seterr(err, errlen, "bad queue ID");
		return -1;
	}
	if (d->n == 0)
		return queue_defer_remove(queue_dir, id);
	for (i = 0; i < d->n; i++) {
		const struct queue_defer_entry *ent = &d->v[i];

		if (ent->addr[0] == '\0' || ent->status[0] == '\0'
		    || strpbrk(ent->addr, "\t\r\n") || strpbrk(ent->status, "\t\r\n")
		    || strpbrk(ent->reason, "\r\n")) {
			pbuf_free(&b);
			errno = EINVAL;
			queue_seterr(err, errlen, "defer entry %zu: empty field, TAB "
			    "or line break", i + 1);
			return -1;
		}
		pbuf_printf(&b, "%s\t%s\t%s\n", ent->addr, ent->status, ent->reason);
	}
	if (queue_tx_begin(queue_dir, QDIR_DEFER, &tx, err, errlen) < 0) {
		saved = errno;
		pbuf_free(&b);
		errno = saved;
		return -1;
	}
	final = xasprintf("%s/%s", tx.dir, id);
	if (fileio_write_all(tx.fd, b.data, b.len) < 0) {
		queue_seterr(err, errlen, "write %s: %s", tx.tmp, strerror(errno));
		goto fail;
	}
	if (fsync(tx.fd) < 0) {
		queue_seterr(err, errlen, "fsync %s: %s", tx.tmp, strerror(errno));
		goto fail;
	}
	if (rename(tx.tmp, final) < 0) {
		queue_seterr(err, errlen, "rename %s to %s: %s", tx.tmp, final,
		    strerror(errno));
		goto fail;
	}
	if (queue_sync_dir(tx.dir, tx.fd) < 0)
		log_warn("%s: fsync of %s: %m", id, tx.dir);
	close(tx.fd);
	tx.fd = -1;
	queue_tx_abort(&tx);
	free(final);
	pbuf_free(&b);
	return 0;
fail:
	saved = errno;
	queue_tx_abort(&tx);
	free(final);
	pbuf_free(&b);
	errno = saved;
	return -1;
}
