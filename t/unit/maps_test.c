/*
 * maps_test - sendmail/maps.c: the postmap text format (comments,
 * continuation lines, folding, missing values, duplicates, CRLF), lookups
 * with their NUL conventions, the handle cache reopening a rebuilt map,
 * maps_lookup_list over a list parameter, and the errors (missing source,
 * missing database, unsupported type).
 *
 * Works in a temporary directory under $TMPDIR (or /tmp), removed at the
 * end; log lines go to a file there, which the tests read back.
 */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "log.h"
#include "maps.h"
#include "tap.h"
#include "xalloc.h"

#define ERRLEN	512

static char *tmpdir;
static char *logpath;

static void
write_str(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || fileio_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		perror(path);
		exit(2);
	}
}

static char *
path_in(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* path_in in a static buffer, for one-off uses. */
static const char *
tmp_path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

/* 1 when the log holds text. */
static int
log_has(const char *text)
{
	char *data = NULL;
	size_t len;
	int found;

	if (fileio_read_file(logpath, &data, &len, 0) < 0)
		return 0;
	found = strstr(data, text) != NULL;
	free(data);
	return found;
}

/* The value of key in spec, or "(none)" / "(error)" (static buffer). */
static const char *
get(const char *spec, const char *key)
{
	static char buf[1024];
	char err[ERRLEN], *value;
	int rc = maps_lookup(spec, key, &value, err, sizeof(err));

	if (rc < 0)
		return "(error)";
	if (rc == 0)
		return "(none)";
	snprintf(buf, sizeof(buf), "%s", value);
	free(value);
	return buf;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
test_build(void)
{
	char *src = path_in("transport"), *spec = xasprintf("hash:%s", src);
	char *warn, err[ERRLEN];
	size_t n = 0;
	struct stat st;

	write_str(src,
	    "# transport map\n"
	    "Example.COM   smtp:[mx.example.com]:2525  \n"
	    "\n"
	    "   \n"
	    "multi smtp:a\n"
	    "# a comment inside the entry\n"
	    "  continued\r\n"
	    "\tagain\n"
	    "novalue\n"
	    "example.com smtp:second\n"
	    "  orphan? no: continues example.com's duplicate\n"
	    "error.test error:5.1.1 no such domain\n"
	    "crlf.test local:\r\n");
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "build: 0");
	is_int(n, 4, "4 entries stored (no value and duplicate skipped)");
	ok(stat(tmp_path("transport.db"), &st) == 0 && (st.st_mode & 07777) == 0644,
	    "transport.db made, mode 0644 from the source");
	is_str(get(spec, "example.com"), "smtp:[mx.example.com]:2525", "key folded, value trimmed");
	is_str(get(spec, "EXAMPLE.com"), "smtp:[mx.example.com]:2525", "lookups fold the key");
	is_str(get(spec, "multi"), "smtp:a  continued\tagain",
	    "continuation lines joined with their white space, comment dropped, CR dropped");
	is_str(get(spec, "novalue"), "(none)", "a key without a value is not stored");
	is_str(get(spec, "error.test"), "error:5.1.1 no such domain", "inner white space kept");
	is_str(get(spec, "crlf.test"), "local:", "CRLF line");
	warn = xasprintf("%s, line 9: expected format: key whitespace value", src);
	ok(log_has(warn), "warning names file and line of the key without value");
	free(warn);
	warn = xasprintf("%s, line 10: duplicate entry: \"example.com\" (the first one is kept)", src);
	ok(log_has(warn), "warning names file and line of the duplicate");
	free(warn);

	/* The same source without folding. */
	maps_close_all();
	is_int(maps_build(spec, 0, &n, err, sizeof(err)), 0, "build without folding");
	is_int(maps_query(spec, "Example.COM", 0, &warn, err, sizeof(err)), 1,
	    "-f: the key as written is found");
	free(warn);
	is_int(maps_query(spec, "example.com", 0, &warn, err, sizeof(err)), 1,
	    "-f: the second definition is now another key");
	free(warn);

	/* A rebuilt database is reopened without restart. */
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "build again");
	is_str(get(spec, "example.com"), "smtp:[mx.example.com]:2525", "looked up (handle cached)");
	write_str(src, "example.com smtp:[new.example.com]\n");
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "rebuild with a new value");
	is_str(get(spec, "example.com"), "smtp:[new.example.com]", "the rebuilt map is reopened");
	is_str(get(spec, "multi"), "(none)", "old keys are gone");

	/* Mode of a private source. */
	chmod(src, 0600);
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "build from a 0600 source");
	ok(stat(tmp_path("transport.db"), &st) == 0 && (st.st_mode & 07777) == 0600,
	    "a 0600 source gives a 0600 database (sasl_passwd)");
	free(src);
	free(spec);
}

static void
test_types_errors(void)
{
	char *src = path_in("bt"), *spec = xasprintf("btree:%s", src), *bare;
	char err[ERRLEN], *value, *missing;
	enum dict_db_type type;
	size_t n;

	write_str(src, "k1 v1\nk2 v2\n");
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "btree: build");
	is_str(get(spec, "k2"), "v2", "btree: lookup");

	bare = path_in("bare");
	write_str(bare, "bare value\n");
	is_int(maps_build(bare, 1, &n, err, sizeof(err)), 0, "a bare path: default_database_type");
	free(spec);
	spec = xasprintf("hash:%s", bare);
	is_str(get(spec, "bare"), "value", "... which is hash");

	is_int(maps_split("proxy:hash:/x", &type, &value, err, sizeof(err)), 0, "proxy: prefix ignored");
	ok(type == DICT_DB_HASH && strcmp(value, "/x") == 0, "proxy:hash:/x is hash, /x");
	free(value);
	is_int(maps_split("cdb:/x", &type, &value, err, sizeof(err)), -1, "cdb: unsupported");
	is_str(err, "unsupported dictionary type: cdb", "... with the reason");
	is_int(maps_split("hash:", &type, &value, err, sizeof(err)), -1, "hash: without a path");

	missing = path_in("nosuch");
	free(spec);
	spec = xasprintf("hash:%s", missing);
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), -1, "missing source: -1");
	value = xasprintf("open %s: No such file or directory", missing);
	is_str(err, value, "... naming the file");
	free(value);
	is_int(access(tmp_path("nosuch.db"), F_OK), -1, "... and no database made");
	is_int(maps_lookup(spec, "x", &value, err, sizeof(err)), -1, "missing database: -1, not \"not found\"");
	value = xasprintf("open database %s.db: No such file or directory", missing);
	is_str(err, value, "... naming the file");
	free(value);

	/* maps_lookup_list over transport_maps. */
	free(spec);
	spec = xasprintf("hash:%s, btree:%s", bare, src);
	conf_override("transport_maps", spec);
	is_int(maps_lookup_list("transport_maps", "k1", &value, err, sizeof(err)), 1,
	    "list: found in the second map");
	is_str(value, "v1", "list: its value");
	free(value);
	is_int(maps_lookup_list("transport_maps", "none", &value, err, sizeof(err)), 0,
	    "list: not found anywhere");
	free(spec);
	spec = xasprintf("hash:%s, btree:%s", missing, src);
	conf_override("transport_maps", spec);
	is_int(maps_lookup_list("transport_maps", "k1", &value, err, sizeof(err)), -1,
	    "list: a broken first map is an error, the second is not asked");
	conf_override("transport_maps", "");
	is_int(maps_lookup_list("transport_maps", "k1", &value, err, sizeof(err)), 0,
	    "list: empty parameter, nothing found");
	maps_close_all();
	free(spec);
	free(src);
	free(bare);
	free(missing);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	tmpdir = xasprintf("%s/maps_test.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	logpath = path_in("maillog");
	conf_load_defaults(tmpdir);
	log_init("maps_test");
	if (log_set_file(logpath, "localhost") < 0) {
		perror(logpath);
		return 2;
	}
	test_build();
	test_types_errors();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmpdir);
	free(logpath);
	return done_testing();
}
