/*
 * fuzz_qfile - libFuzzer target for the queue file reader (qfile.c).
 *
 * Checks, for any input:
 *   - qfile_parse never crashes, never reads outside the input (the input
 *     is copied into a buffer of exactly its size), never leaks;
 *   - a parsed file obeys the format: content + "END\n" end the file;
 *   - what parses can be written back (qfile_format accepts every value the
 *     reader accepted), the result parses again, and a second round trip
 *     gives the same bytes;
 *   - the envelope-only reader (qfile_read_fd with no content buffer, on a
 *     memfd) reaches the same verdict as qfile_parse.
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -I<dir with config.h> -Ilib -Isendmail t/fuzz/fuzz_qfile.c \
 *     sendmail/qfile.c lib/pbuf.c lib/xalloc.c lib/log.c -o fuzz_qfile
 *   ./fuzz_qfile -max_total_time=60 t/fuzz/corpus/qfile
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pbuf.h"
#include "qfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_qfile: %s: %s\n", what, err);
	abort();
}

/* Verdict of the envelope-only reader on the same bytes. */
static enum qfile_status
fuzz_read_fd(const uint8_t *data, size_t size, struct qenv *e)
{
	static int fd = -1;
	char err[256];

	if (fd < 0 && (fd = memfd_create("fuzz_qfile", MFD_CLOEXEC)) < 0)
		return QFILE_IOERR;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return QFILE_IOERR;
	return qfile_read_fd(fd, e, NULL, err, sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pbuf out = PBUF_INIT, again = PBUF_INIT;
	char err[256];
	struct qenv e, e2, e3;
	enum qfile_status st, st_fd;
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	st = qfile_parse(buf, size, &e, err, sizeof(err));
	st_fd = fuzz_read_fd(data, size, &e2);
	if (st_fd != QFILE_IOERR) {
		if (st_fd != st)
			fuzz_fail("envelope-only reader disagrees", err);
		if (st_fd == QFILE_OK) {
			if (e2.data_off != e.data_off || e2.data_len != e.data_len
			    || e2.nrcpt != e.nrcpt || e2.nattr != e.nattr)
				fuzz_fail("envelope-only reader differs", "");
			qenv_free(&e2);
		}
	}
	if (st == QFILE_CORRUPT && err[0] == '\0')
		fuzz_fail("CORRUPT without a message", "");
	if (st == QFILE_OK) {
		if ((size_t)e.data_off + e.data_len + QFILE_END_LEN != size
		    || memcmp(buf + e.data_off + e.data_len, QFILE_END_MARK,
		    QFILE_END_LEN) != 0)
			fuzz_fail("content/END not at the end", "");
		if (qfile_format(&e, buf + e.data_off, e.data_len, &out, err,
		    sizeof(err)) < 0)
			fuzz_fail("cannot write back what was read", err);
		if (qfile_parse(out.data, out.len, &e3, err, sizeof(err)) != QFILE_OK)
			fuzz_fail("written-back file does not parse", err);
		if (qfile_format(&e3, out.data + e3.data_off, e3.data_len, &again,
		    err, sizeof(err)) < 0)
			fuzz_fail("second write-back failed", err);
		if (again.len != out.len || memcmp(again.data, out.data, out.len) != 0)
			fuzz_fail("round trip is not stable", "");
		qenv_free(&e3);
		qenv_free(&e);
	}
	pbuf_free(&out);
	pbuf_free(&again);
	free(buf);
	return 0;
}
