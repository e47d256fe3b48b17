/*
 * mbox - UNIX mailbox append with dot-lock + fcntl, From_ line, >From
 * quoting and truncate-back; see mbox.h.
 *
 * The work is split in three steps so that mbox_deliver() can run the
 * first and last under the spool's rights and the middle one as the
 * recipient: mbox_lock_open (dot-lock, open or create, checks),
 * mbox_write (fcntl lock, append, fsync, truncate back on failure) and
 * mbox_unlock (remove the dot-lock).
 *
 * Errors: every outcome is a privs_result (see mbox.h for the classes).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "mbox.h"
#include "pbuf.h"
#include "privs.h"
#include "xalloc.h"

#define MBOX_LOCK_WAIT_DEFAULT_MS	10000
#define MBOX_MODE_DEFAULT		0600
#define MBOX_DATE_LEN			24	/* "Thu Nov 24 18:22:48 1986" */
#define MBOX_NULL_SENDER		"MAILER-DAEMON"
#define MBOX_LOCK_SUFFIX		".lock"
#define MBOX_MS_PER_SEC			1000L
#define MBOX_NS_PER_MS			1000000L
#define MBOX_DSN_LOCKED			"4.2.0"
#define MBOX_DSN_TEMP			"4.3.0"
#define MBOX_DSN_FULL			"5.2.2"
#define MBOX_DSN_UNSAFE			"5.2.0"

void
mbox_format(const struct mbox_msg *m, unsigned flags, struct pbuf *out)
{
	const char *p = m->content, *end = m->content + m->len, *nl;
	char date[MBOX_DATE_LEN + 8];
	struct tm tm;
	time_t when = m->when ? m->when : time(NULL);
	const char *s;

	if (flags & MBOX_F_FROM) {
		localtime_r(&when, &tm);
		if (strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
			date[0] = '\0';
		pbuf_puts(out, "From ");
		if (m->sender[0] == '\0') {
			pbuf_puts(out, MBOX_NULL_SENDER);
		} else {
			/* One word: a blank or control byte would break the line. */
			for (s = m->sender; *s; s++)
				pbuf_putc(out, (unsigned char)*s <= ' ' ? '_' : *s);
		}
		pbuf_printf(out, "  %s\n", date);
	}
	if (flags & MBOX_F_RETURN_PATH)
		pbuf_printf(out, "Return-Path: <%s>\n", m->sender);
	if ((flags & MBOX_F_ORIG_TO) && m->orig_to && m->orig_to[0])
		pbuf_printf(out, "X-Original-To: %s\n", m->orig_to);
	if ((flags & MBOX_F_DELIVERED) && m->delivered_to && m->delivered_to[0])
		pbuf_printf(out, "Delivered-To: %s\n", m->delivered_to);
	pbuf_reserve(out, m->len + 2);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((flags & MBOX_F_QUOTE) && end - p >= 5 && memcmp(p, "From ", 5) == 0)
			pbuf_putc(out, '>');
		if (nl == NULL) {
			pbuf_append(out, p, (size_t)(end - p));
			pbuf_putc(out, '\n');
			break;
		}
		pbuf_append(out, p, (size_t)(nl - p) + 1);
		p = nl + 1;
	}
	if (flags & MBOX_F_BLANK)
		pbuf_putc(out, '\n');
}

void
mbox_opts_init(struct mbox_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->what = "mailbox";
	o->lock_wait_ms = MBOX_LOCK_WAIT_DEFAULT_MS;
	o->dotlock = MBOX_DOTLOCK_REQUIRED;
	o->create = 1;
	o->create_mode = MBOX_MODE_DEFAULT;
	o->create_uid = MBOX_NO_UID;
	o->create_gid = MBOX_NO_GID;
	o->want_owner = MBOX_NO_UID;
}

static long long
mbox_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * MBOX_MS_PER_SEC + ts.tv_nsec / MBOX_NS_PER_MS;
}

static void
mbox_sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / MBOX_MS_PER_SEC;
	ts.tv_nsec = (ms % MBOX_MS_PER_SEC) * MBOX_NS_PER_MS;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Sleeps one poll interval (*poll_ms, then doubled up to MBOX_LOCK_POLL_MS)
 * unless that passes the deadline; 0 when out of time.
 */
static int
mbox_wait_more(long long deadline, long *poll_ms)
{
	long long left = deadline - mbox_now_ms();

	if (left <= 0)
		return 0;
	mbox_sleep_ms(left < *poll_ms ? (long)left : *poll_ms);
	if (*poll_ms < MBOX_LOCK_POLL_MS)
		*poll_ms = *poll_ms * 2 > MBOX_LOCK_POLL_MS ? MBOX_LOCK_POLL_MS : *poll_ms * 2;
	return 1;
}

/* The state shared by the three steps. */
struct mbox_state {
	const char *path;
	const struct mbox_opts *o;
	long long deadline;	/* monotonic ms */
	char *lockpath;		/* set while we hold the dot-lock */
	int fd;
	int regular;		/* the file is a regular file (lock, truncate) */
};

static void
mbox_state_init(struct mbox_state *st, const char *path, const struct mbox_opts *o)
{
	memset(st, 0, sizeof(*st));
	st->path = path;
	st->o = o;
	st->fd = -1;
	st->deadline = mbox_now_ms() + (long long)o->lock_wait_ms;
}

static void
mbox_locked(struct mbox_state *st, struct privs_result *res, const char *how)
{
	privs_result_set(res, PRIVS_DEFER, MBOX_DSN_LOCKED,
	    "cannot update %s %s: %s locked by another program (%s, gave up after %lu s)",
	    st->o->what, st->path, st->o->what, how,
	    (st->o->lock_wait_ms + MBOX_MS_PER_SEC - 1) / MBOX_MS_PER_SEC);
}

/* Takes PATH.lock; 0, or -1 with res filled. */
static int
mbox_dotlock(struct mbox_state *st, struct privs_result *res)
{
	char *lock = xasprintf("%s%s", st->path, MBOX_LOCK_SUFFIX);
	struct stat sb;
	long poll_ms = MBOX_LOCK_POLL_MIN_MS;
	int fd;

	for (;;) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0);
		if (fd >= 0) {
			close(fd);
			st->lockpath = lock;
			return 0;
		}
		if (errno != EEXIST) {
			if (st->o->dotlock == MBOX_DOTLOCK_TRY) {
				free(lock);
				return 0;
			}
			privs_result_set(res, PRIVS_DEFER, MBOX_DSN_LOCKED,
			    "cannot update %s %s: cannot create lock file %s: %s",
			    st->o->what, st->path, lock, strerror(errno));
			free(lock);
			return -1;
		}
		if (lstat(lock, &sb) == 0
		    && time(NULL) - sb.st_mtime > MBOX_DOTLOCK_STALE) {
			if (unlink(lock) == 0) {
				log_warn("removed stale lock file %s", lock);
				continue;
			}
		}
		if (!mbox_wait_more(st->deadline, &poll_ms)) {
			mbox_locked(st, res, "dot-lock");
			free(lock);
			return -1;
		}
	}
}

static void
mbox_unlock(struct mbox_state *st)
{
	if (st->lockpath) {
		if (unlink(st->lockpath) < 0 && errno != ENOENT)
			log_warn("cannot remove lock file %s: %m", st->lockpath);
		free(st->lockpath);
		st->lockpath = NULL;
	}
}

/* Classifies a write error the way Postfix's mbox_dsn does. */
static const char *
mbox_write_dsn(int err, int *status)
{
	switch (err) {
	case EFBIG:
	case EDQUOT:
		*status = PRIVS_BOUNCE;
		return MBOX_DSN_FULL;
	case EAGAIN:
	case ESTALE:
		*status = PRIVS_DEFER;
		return MBOX_DSN_LOCKED;
	default:
		*status = PRIVS_DEFER;
		return MBOX_DSN_TEMP;
	}
}

static void
mbox_unsafe(struct mbox_state *st, struct privs_result *res, const char *why)
{
	privs_result_set(res, PRIVS_BOUNCE, MBOX_DSN_UNSAFE,
	    "cannot update %s %s: %s", st->o->what, st->path, why);
	log_warn("refusing to deliver to %s %s: %s", st->o->what, st->path, why);
}

/* Creates the missing file; the fd or -1 (errno). */
static int
mbox_create(struct mbox_state *st, int flags)
{
	const struct mbox_opts *o = st->o;
	int fd;

	fd = open(st->path, flags | O_CREAT | O_EXCL | O_NOFOLLOW, o->create_mode);
	if (fd < 0)
		return -1;
	/* Only root must succeed; a user may at most set a group of its own. */
	if ((o->create_uid != MBOX_NO_UID || o->create_gid != MBOX_NO_GID)
	    && fchown(fd, o->create_uid, o->create_gid) < 0 && privs_is_root()) {
		int saved = errno;

		(void)unlink(st->path);
		close(fd);
		errno = saved;
		return -1;
	}
	/* The umask may have narrowed the mode. */
	(void)fchmod(fd, o->create_mode);
	return fd;
}

/* Dot-lock, then open or create the file and check it. */
static int
mbox_lock_open(struct mbox_state *st, struct privs_result *res)
{
	const struct mbox_opts *o = st->o;
	struct stat lst, fst;
	int flags = O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
	int fd = -1, followed = 0, tries, fl, status;
	const char *dsn;

	if (o->dotlock != MBOX_DOTLOCK_NONE && mbox_dotlock(st, res) < 0)
		return -1;
	for (tries = 0; tries < 2 && fd < 0; tries++) {
		if (lstat(st->path, &lst) < 0) {
			if (errno != ENOENT || !o->create)
				goto syserr;
			if ((fd = mbox_create(st, flags)) < 0) {
				if (errno == EEXIST)
					continue;	/* raced with a creator */
				goto syserr;
			}
			if (fstat(fd, &lst) < 0)
				goto syserr;
			break;
		}
		if (S_ISLNK(lst.st_mode)) {
			if (!o->follow_root_symlink || lst.st_uid != 0) {
				mbox_unsafe(st, res, "file is a symbolic link");
				goto fail;
			}
			if (stat(st->path, &lst) < 0)
				goto syserr;
			followed = 1;
		}
		fd = open(st->path, flags | (followed ? 0 : O_NOFOLLOW));
		if (fd < 0 && errno == ENOENT && o->create)
			continue;
		if (fd < 0 && errno == EISDIR) {
			mbox_unsafe(st, res, "not a regular file");
			goto fail;
		}
		if (fd < 0)
			goto syserr;
	}
	if (fd < 0) {
		errno = EAGAIN;
		goto syserr;
	}
	if (fstat(fd, &fst) < 0)
		goto syserr;
	if (fst.st_dev != lst.st_dev || fst.st_ino != lst.st_ino) {
		mbox_unsafe(st, res, "file changed while it was opened");
		goto fail;
	}
	if (S_ISREG(fst.st_mode)) {
		if (fst.st_nlink != 1) {
			mbox_unsafe(st, res, "file has more than one hard link");
			goto fail;
		}
		if (o->allow_special && (fst.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
			mbox_unsafe(st, res, "file is executable");
			goto fail;
		}
		st->regular = 1;
	} else if (!o->allow_special || S_ISDIR(fst.st_mode)) {
		mbox_unsafe(st, res, "not a regular file");
		goto fail;
	}
	if (o->want_owner != MBOX_NO_UID && st->regular && fst.st_uid != o->want_owner) {
		privs_result_set(res, PRIVS_DEFER, MBOX_DSN_LOCKED,
		    "cannot update %s %s: file is not owned by the recipient (uid %lu)",
		    o->what, st->path, (unsigned long)o->want_owner);
		log_warn("%s %s is owned by uid %lu, not by the recipient uid %lu",
		    o->what, st->path, (unsigned long)fst.st_uid,
		    (unsigned long)o->want_owner);
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	st->fd = fd;
	return 0;
syserr:
	dsn = mbox_write_dsn(errno, &status);
	privs_result_set(res, status, dsn, "cannot update %s %s: cannot open file: %s",
	    o->what, st->path, strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	mbox_unlock(st);
	return -1;
}

/* fcntl lock, append, fsync; truncate back on any failure. */
static void
mbox_write(struct mbox_state *st, const char *data, size_t len,
    struct privs_result *res)
{
	const struct mbox_opts *o = st->o;
	struct sigaction ign, old_xfsz;
	struct rlimit old_lim, lim;
	struct flock fl;
	int have_lim = 0, err = 0, status;
	long poll_ms = MBOX_LOCK_POLL_MIN_MS;
	off_t orig = 0;
	const char *dsn;

	if (st->regular) {
		for (;;) {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			if (fcntl(st->fd, F_SETLK, &fl) == 0)
				break;
			if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
				privs_result_set(res, PRIVS_DEFER, MBOX_DSN_LOCKED,
				    "cannot update %s %s: cannot lock: %s",
				    o->what, st->path, strerror(errno));
				return;
			}
			if (!mbox_wait_more(st->deadline, &poll_ms)) {
				mbox_locked(st, res, "fcntl lock");
				return;
			}
		}
		if ((orig = lseek(st->fd, 0, SEEK_END)) < 0) {
			err = errno;
			goto out;
		}
	}
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	if (o->size_limit > 0 && st->regular && getrlimit(RLIMIT_FSIZE, &old_lim) == 0) {
		lim = old_lim;
		if (lim.rlim_max == RLIM_INFINITY || (rlim_t)o->size_limit < lim.rlim_max)
			lim.rlim_cur = (rlim_t)o->size_limit;
		if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
			have_lim = 1;
			(void)sigaction(SIGXFSZ, &ign, &old_xfsz);
		}
	}
	if (fileio_write_all(st->fd, data, len) < 0)
		err = errno;
	else if (st->regular && fsync(st->fd) < 0)
		err = errno;
	if (have_lim) {
		(void)setrlimit(RLIMIT_FSIZE, &old_lim);
		(void)sigaction(SIGXFSZ, &old_xfsz, NULL);
	}
out:
	if (err && st->regular && ftruncate(st->fd, orig) < 0)
		log_error("cannot truncate %s %s back to %lld bytes: %m", o->what,
		    st->path, (long long)orig);
	if (st->regular) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_UNLCK;
		fl.l_whence = SEEK_SET;
		(void)fcntl(st->fd, F_SETLK, &fl);
	}
	if (err) {
		dsn = mbox_write_dsn(err, &status);
		privs_result_set(res, status, dsn,
		    "cannot update %s %s: error writing message: %s%s", o->what,
		    st->path, strerror(err), err == EFBIG ? " (mailbox full)" : "");
		return;
	}
	privs_result_set(res, PRIVS_SENT, "2.0.0", "delivered to %s", o->what);
}

void
mbox_append(const char *path, const char *data, size_t len,
    const struct mbox_opts *o, struct privs_result *res)
{
	struct mbox_state st;

	mbox_state_init(&st, path, o);
	if (mbox_lock_open(&st, res) < 0)
		return;
	mbox_write(&st, data, len, res);
	close(st.fd);
	mbox_unlock(&st);
}

/* The context of the children of mbox_deliver. */
struct mbox_job {
	const char *path;
	const char *data;
	size_t len;
	const struct mbox_opts *o;
	const struct privs_cred *lock_cred;
	const struct privs_cred *write_cred;
	unsigned long timeout_ms;
	struct mbox_state *st;	/* the writer's view (grandchild) */
};

static void
mbox_job_append(void *ctx, struct privs_result *res)
{
	struct mbox_job *j = ctx;

	mbox_append(j->path, j->data, j->len, j->o, res);
}

static void
mbox_job_write(void *ctx, struct privs_result *res)
{
	struct mbox_job *j = ctx;

	mbox_write(j->st, j->data, j->len, res);
}

/* As root: lock and open under lock_cred, write as write_cred, unlock. */
static void
mbox_deliver_split(struct mbox_job *j, struct privs_result *res)
{
	struct mbox_state st;
	char err[256];

	mbox_state_init(&st, j->path, j->o);
	if (privs_set_effective(j->lock_cred->uid, j->lock_cred->gid, err,
	    sizeof(err)) < 0) {
		privs_result_set(res, PRIVS_DEFER, MBOX_DSN_TEMP,
		    "cannot update %s %s: %s", j->o->what, j->path, err);
		if (privs_restore_effective(err, sizeof(err)) < 0)
			log_fatal("cannot take back root's ids: %s", err);
		return;
	}
	if (mbox_lock_open(&st, res) < 0) {
		if (privs_restore_effective(err, sizeof(err)) < 0)
			log_fatal("cannot take back root's ids: %s", err);
		return;
	}
	if (privs_restore_effective(err, sizeof(err)) < 0)
		log_fatal("cannot take back root's ids: %s", err);
	j->st = &st;
	privs_call(j->write_cred, mbox_job_write, j, res);
	close(st.fd);
	if (privs_set_effective(j->lock_cred->uid, j->lock_cred->gid, err,
	    sizeof(err)) < 0)
		log_warn("cannot remove lock file of %s: %s", j->path, err);
	mbox_unlock(&st);
	if (privs_restore_effective(err, sizeof(err)) < 0)
		log_fatal("cannot take back root's ids: %s", err);
}

/*
 * No fork: the ids are switched in this process (privs_call), as Postfix's
 * local does; waiting for locks is bounded by o->lock_wait_ms, and
 * timeout_ms is not used (an append to a local file does not hang).
 */
void
mbox_deliver(const char *path, const char *data, size_t len,
    const struct mbox_opts *o, const struct privs_cred *lock_cred,
    const struct privs_cred *write_cred, unsigned long timeout_ms,
    struct privs_result *res)
{
	struct mbox_job j;

	memset(&j, 0, sizeof(j));
	memset(res, 0, sizeof(*res));
	j.path = path;
	j.data = data;
	j.len = len;
	j.o = o;
	j.lock_cred = lock_cred;
	j.write_cred = write_cred;
	j.timeout_ms = timeout_ms;
	if (!privs_is_root() || lock_cred->keep
	    || (lock_cred->uid == write_cred->uid && lock_cred->gid == write_cred->gid)) {
		privs_call(write_cred, mbox_job_append, &j, res);
		return;
	}
	mbox_deliver_split(&j, res);
}
