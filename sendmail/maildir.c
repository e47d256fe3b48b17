/*
 * maildir - tmp/ -> new/ delivery with unique names and fsync; see
 * maildir.h.
 *
 * Errors: every outcome is a privs_result; a failed delivery leaves no
 * file in tmp/ or new/.
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
#include <sys/time.h>
#include <unistd.h>

#include "fileio.h"
#include "maildir.h"
#include "pbuf.h"
#include "privs.h"

#define MAILDIR_HOST_MAX	256
#define MAILDIR_NAME_TRIES	16
#define MAILDIR_DSN_FULL	"5.2.2"
#define MAILDIR_DSN_NOSPACE	"4.3.0"
#define MAILDIR_DSN_OTHER	"4.2.0"

static unsigned maildir_counter;

void
maildir_unique_name(struct pbuf *out)
{
	char host[MAILDIR_HOST_MAX + 1];
	struct timeval tv;
	const char *h;

	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	pbuf_printf(out, "%lld.M%06ldP%ldQ%u.", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++maildir_counter);
	for (h = host; *h; h++) {
		if (*h == '/')
			pbuf_puts(out, "\\057");
		else if (*h == ':')
			pbuf_puts(out, "\\072");
		else
			pbuf_putc(out, *h);
	}
}

static void
maildir_fail(struct privs_result *res, int err, const char *what, const char *path)
{
	int status = PRIVS_DEFER;
	const char *dsn = MAILDIR_DSN_OTHER;

	if (err == EFBIG || err == EDQUOT) {
		status = PRIVS_BOUNCE;
		dsn = MAILDIR_DSN_FULL;
	} else if (err == ENOSPC) {
		dsn = MAILDIR_DSN_NOSPACE;
	}
	privs_result_set(res, status, dsn, "cannot update maildir: %s %s: %s%s",
	    what, path, strerror(err), err == EFBIG ? " (mailbox full)" : "");
}

/* mkdir that accepts an existing directory; 0 or -1 with errno. */
static int
maildir_mkdir(const char *path)
{
	struct stat sb;

	if (mkdir(path, MAILDIR_DIR_MODE) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (lstat(path, &sb) < 0)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* Writes data to fd with the size limit; 0 or -1 with errno. */
static int
maildir_write(int fd, const char *data, size_t len, off_t size_limit)
{
	struct sigaction ign, old_xfsz;
	struct rlimit old_lim, lim;
	int have_lim = 0, rc, saved;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	if (size_limit > 0 && getrlimit(RLIMIT_FSIZE, &old_lim) == 0) {
		lim = old_lim;
		if (lim.rlim_max == RLIM_INFINITY || (rlim_t)size_limit < lim.rlim_max)
			lim.rlim_cur = (rlim_t)size_limit;
		if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
			have_lim = 1;
			(void)sigaction(SIGXFSZ, &ign, &old_xfsz);
		}
	}
	rc = fileio_write_all(fd, data, len);
	if (rc == 0)
		rc = fsync(fd);
	saved = errno;
	if (have_lim) {
		(void)setrlimit(RLIMIT_FSIZE, &old_lim);
		(void)sigaction(SIGXFSZ, &old_xfsz, NULL);
	}
	errno = saved;
	return rc;
}

void
maildir_deliver(const char *dir, const char *data, size_t len, off_t size_limit,
    struct privs_result *res)
{
	struct pbuf base = PBUF_INIT, tmp = PBUF_INIT, dst = PBUF_INIT;
	struct pbuf sub = PBUF_INIT;
	static const char *const subs[] = { "tmp", "new", "cur" };
	size_t dlen = strlen(dir), i;
	int fd = -1, tries, err;

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	pbuf_append(&base, dir, dlen);
	if (maildir_mkdir(pbuf_str(&base)) < 0) {
		maildir_fail(res, errno, "create directory", pbuf_str(&base));
		goto out;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		pbuf_reset(&sub);
		pbuf_printf(&sub, "%s/%s", pbuf_str(&base), subs[i]);
		if (maildir_mkdir(pbuf_str(&sub)) < 0) {
			maildir_fail(res, errno, "create directory", pbuf_str(&sub));
			goto out;
		}
	}
	for (tries = 0; tries < MAILDIR_NAME_TRIES; tries++) {
		pbuf_reset(&sub);
		maildir_unique_name(&sub);
		pbuf_reset(&tmp);
		pbuf_printf(&tmp, "%s/tmp/%s", pbuf_str(&base), pbuf_str(&sub));
		fd = open(pbuf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
		    | O_CLOEXEC, MAILDIR_FILE_MODE);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		maildir_fail(res, errno, "create file", pbuf_str(&tmp));
		goto out;
	}
	if (maildir_write(fd, data, len, size_limit) < 0) {
		err = errno;
		close(fd);
		(void)unlink(pbuf_str(&tmp));
		maildir_fail(res, err, "write file", pbuf_str(&tmp));
		goto out;
	}
	if (close(fd) < 0) {
		err = errno;
		(void)unlink(pbuf_str(&tmp));
		maildir_fail(res, err, "write file", pbuf_str(&tmp));
		goto out;
	}
	pbuf_printf(&dst, "%s/new/%s,S=%zu", pbuf_str(&base), pbuf_str(&sub), len);
	if (fileio_rename_noreplace(pbuf_str(&tmp), pbuf_str(&dst)) < 0) {
		err = errno;
		(void)unlink(pbuf_str(&tmp));
		maildir_fail(res, err, "rename to", pbuf_str(&dst));
		goto out;
	}
	pbuf_reset(&sub);
	pbuf_printf(&sub, "%s/new", pbuf_str(&base));
	if (fileio_fsync_dir(pbuf_str(&sub)) < 0) {
		/* Not durable: retry later (a duplicate beats a loss). */
		maildir_fail(res, errno, "fsync directory", pbuf_str(&sub));
		goto out;
	}
	privs_result_set(res, PRIVS_SENT, "2.0.0", "delivered to maildir");
out:
	pbuf_free(&base);
	pbuf_free(&tmp);
	pbuf_free(&dst);
	pbuf_free(&sub);
}
