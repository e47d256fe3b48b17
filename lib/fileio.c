/*
 * fileio - durable writes; see fileio.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "pbuf.h"
#include "xalloc.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int
fileio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fileio_fsync_dir(const char *dirpath)
{
	int fd, rc, saved;

	fd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fileio_rename_noreplace(const char *from, const char *to)
{
	if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
	/* Filesystems without renameat2 flags: link() also refuses to replace. */
	if (link(from, to) < 0)
		return -1;
	return unlink(from);
}

char *
fileio_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
fileio_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp, *dir;
	int fd, saved;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	dir = fileio_dirname(path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, mode) < 0 || fileio_write_all(fd, data, len) < 0
	    || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (fileio_fsync_dir(dir) < 0)
		goto fail;
	free(tmp);
	free(dir);
	return 0;
fail:
	saved = errno;
	free(tmp);
	free(dir);
	errno = saved;
	return -1;
}

int
fileio_read_file(const char *path, char **out, size_t *len, size_t limit)
{
	struct pbuf b = PBUF_INIT;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (pbuf_read_fd(&b, fd, limit) < 0) {
		saved = errno;
		close(fd);
		pbuf_free(&b);
		errno = saved;
		return -1;
	}
	close(fd);
	*len = b.len;
	*out = pbuf_detach(&b);
	return 0;
}
