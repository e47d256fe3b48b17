/*
 * alias_test - the alias file parser (alias_parse.c), the split of a
 * right-hand side, Berkeley DB maps (dict_db.c) and aliases.c end to end:
 * newaliases, lookups, the freshness rules (alias_auto_rebuild) and the
 * errors (corrupt database, missing files).
 *
 * Works in a temporary directory under $TMPDIR (or /tmp), removed at the
 * end. Log lines go to a file in it, which the tests read back.
 */
#include "config.h"

#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alias_parse.h"
#include "aliases.h"
#include "conf.h"
#include "dict_db.h"
#include "fileio.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define ERRLEN		512
#define F		"/etc/aliases"	/* file name used in parser warnings */
#define EX_TEMPFAIL_	75

static char *tmpdir;
static char *logpath;

/* ---- helpers ---- */

static void
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || fileio_write_all(fd, text, len) < 0 || close(fd) < 0) {
		perror(path);
		exit(2);
	}
}

static void
write_str(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* Sets path's mtime to now + delta seconds. */
static void
set_mtime(const char *path, long delta)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += delta;
	ts[1] = ts[0];
	if (utimensat(AT_FDCWD, path, ts, 0) < 0) {
		perror(path);
		exit(2);
	}
}

static char *
path_in(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* The elements of a split, joined with '|' for comparison. */
static char *
split_str(const char *rhs)
{
	struct strv v = STRV_INIT;
	struct pbuf b = PBUF_INIT;
	size_t i, n;

	n = alias_split_targets(rhs, &v);
	if (n != v.n)
		pbuf_puts(&b, "COUNT MISMATCH ");
	for (i = 0; i < v.n; i++) {
		if (i)
			pbuf_putc(&b, '|');
		pbuf_puts(&b, v.v[i]);
	}
	strv_free(&v);
	return pbuf_detach(&b);
}

/* Parses text; returns the warnings joined with '\n'. */
static char *
parse(const char *text, size_t len, struct alias_table *t)
{
	struct pbuf b = PBUF_INIT;
	size_t i;

	alias_table_init(t);
	alias_parse(F, text, len, t);
	for (i = 0; i < t->warnings.n; i++) {
		if (i)
			pbuf_putc(&b, '\n');
		pbuf_puts(&b, t->warnings.v[i]);
	}
	return pbuf_detach(&b);
}

static const char *
value_of(const struct alias_table *t, const char *name)
{
	const struct alias_entry *e = alias_table_find(t, name);

	return e ? e->value : NULL;
}

static int
log_contains(const char *needle)
{
	char *text = NULL;
	size_t len;
	int found;

	if (fileio_read_file(logpath, &text, &len, 0) < 0)
		return 0;
	found = len > 0 && memmem(text, len, needle, strlen(needle)) != NULL;
	free(text);
	return found;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Number of files in tmpdir whose name ends in ".tmp" (writers' leftovers). */
static int
tmp_leftovers(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* ---- the parser ---- */

static void
test_parse_basic(void)
{
	struct alias_table t;
	char *w;
	static const char text[] =
	    "# Debian's default\n"
	    "   # an indented comment (Postfix)\n"
	    "\n"
	    "   \t\n"
	    "root: admin@example.com\n"
	    "Postmaster: root\n"
	    "MAILER-DAEMON : postmaster\n"
	    "trail:   bob   # not a comment\n"
	    "list: a,\n"
	    "  b,\n"
	    "\tc\n"
	    "bs: one, \\\n"
	    "two\n"
	    "mid: x,\n"
	    "# a comment inside\n"
	    "\n"
	    "  y\n"
	    "crlf: z\r\n"
	    "\"Foo Bar\": quoted\n"
	    "\"a\\\"b\": escaped\n"
	    "\"x@y\" : at\n"
	    "cmd: \"|/usr/bin/foo -x\", root\n"
	    "last:end";

	w = parse(text, sizeof(text) - 1, &t);
	is_str(w, "", "clean file: no warnings");
	is_int(t.n, 13, "clean file: 13 entries");
	is_str(value_of(&t, "root"), "admin@example.com", "simple entry");
	is_str(t.v[0].name, "root", "first entry in file order");
	is_int(t.v[0].line, 5, "its line number");
	is_str(t.v[1].name, "postmaster", "name folded to lowercase");
	is_str(value_of(&t, "mailer-daemon"), "postmaster", "white space before the colon");
	is_str(value_of(&t, "trail"), "bob   # not a comment", "no trailing comments, value trimmed");
	is_str(value_of(&t, "list"), "a,  b,\tc", "continuation lines: newline dropped, blanks kept");
	is_int(alias_table_find(&t, "list")->line, 9, "continued entry: line of its start");
	is_str(value_of(&t, "bs"), "one, two", "backslash-newline continuation");
	is_str(value_of(&t, "mid"), "x,  y", "comment and empty lines inside a continued entry");
	is_str(value_of(&t, "crlf"), "z", "CR LF line end");
	is_str(value_of(&t, "foo bar"), "quoted", "quoted name with a blank, folded");
	is_str(value_of(&t, "a\"b"), "escaped", "backslash escape in a quoted name");
	is_str(value_of(&t, "x@y"), "at", "quoted name may hold '@'");
	is_str(value_of(&t, "cmd"), "\"|/usr/bin/foo -x\", root", "value stored as written, quotes kept");
	is_str(value_of(&t, "last"), "end", "last line without a newline");
	is_str(value_of(&t, "ROOT") ? "found" : "none", "found", "find is case-insensitive");
	free(w);
	alias_table_free(&t);
}

static void
test_parse_warnings(void)
{
	struct alias_table t;
	char *w;
	static const char text[] =
	    "  orphan one\n"				/* 1 */
	    "  orphan two\n"				/* 2 */
	    "nocolon here\n"				/* 3 */
	    "  its continuation\n"			/* 4 */
	    "empty:\n"					/* 5 */
	    "blank:   \t \n"				/* 6 */
	    "first: 1\n"				/* 7 */
	    "FIRST: 2\n"				/* 8 */
	    "user@example.com: x\n"			/* 9 */
	    "two words: x\n"				/* 10 */
	    ": noname\n"				/* 11 */
	    "\"\": emptyquoted\n"			/* 12 */
	    "\"q\" extra: y\n"				/* 13 */
	    "\"@\": sentinel\n"				/* 14 */
	    "nul: a\0b\n"				/* 15 */
	    "good: survives\n"				/* 16 */
	    "\"open: never closed\n";			/* 17 */
	const char *want =
	    F ", line 1: continuation line without an alias before it, ignored\n"
	    F ", line 3: missing colon\n"
	    F ", line 5: missing value for alias \"empty\"\n"
	    F ", line 6: missing value for alias \"blank\"\n"
	    F ", line 8: duplicate entry \"first\" ignored (first defined at line 7)\n"
	    F ", line 9: cannot alias non-local name \"user@example.com\"\n"
	    F ", line 10: white space in alias name \"two words\" (quote the name)\n"
	    F ", line 11: empty alias name\n"
	    F ", line 12: empty alias name\n"
	    F ", line 13: text between quoted alias name and colon\n"
	    F ", line 14: reserved alias name \"@\"\n"
	    F ", line 15: NUL byte in entry\n"
	    F ", line 17: unterminated quoted alias name";

	w = parse(text, sizeof(text) - 1, &t);
	is_str(w, want, "every warning, with file and line");
	is_int(t.n, 2, "bad entries skipped, the good ones kept");
	is_str(value_of(&t, "first"), "1", "duplicate: the first definition wins");
	is_str(value_of(&t, "good"), "survives", "entries after errors are read");
	free(w);
	alias_table_free(&t);

	w = parse("a: 1\n\\\n\nb: 2\\", sizeof("a: 1\n\\\n\nb: 2\\") - 1, &t);
	is_str(w, "", "lone backslash lines: nothing, no warning");
	is_int(t.n, 2, "... and both entries");
	is_str(value_of(&t, "b"), "2", "backslash at the end of the file");
	free(w);
	alias_table_free(&t);

	w = parse("", 0, &t);
	is_int(t.n + t.warnings.n, 0, "empty file: nothing");
	free(w);
	alias_table_free(&t);
}

static void
test_parse_many(void)
{
	struct alias_table t;
	struct pbuf b = PBUF_INIT;
	char *w, name[32];
	int i, okall = 1;

	for (i = 0; i < 5000; i++)
		pbuf_printf(&b, "User%d: u%d@example.com\n", i, i);
	pbuf_puts(&b, "user17: dup\n");
	w = parse(b.data, b.len, &t);
	is_int(t.n, 5000, "5000 entries");
	for (i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "user%d", i);
		if (alias_table_find(&t, name) == NULL)
			okall = 0;
	}
	ok(okall, "index finds them all");
	is_str(w, F ", line 5001: duplicate entry \"user17\" ignored (first defined at line 18)",
	    "duplicate found through the index");
	free(w);
	pbuf_free(&b);
	alias_table_free(&t);
}

static void
test_split(void)
{
	static const char inc[] = "# list\na, b\n\n  \"|c d\"\n   # indented\ne";
	struct strv v = STRV_INIT;
	char *s;
	static const struct {
		const char *rhs, *want, *name;
	} cases[] = {
		{ "a, b,c", "a|b|c", "commas" },
		{ "  root  ", "root", "trimmed" },
		{ "\"|/usr/bin/foo -x\", root", "|/usr/bin/foo -x|root", "quoted command" },
		{ "|/usr/bin/procmail -a foo", "|/usr/bin/procmail -a foo", "unquoted command kept" },
		{ "\"|/bin/echo \\\"a, b\\\"\"", "|/bin/echo \"a, b\"", "escaped quotes in a command" },
		{ "/var/mail/archive, \"/var/log/mail archive\"",
		  "/var/mail/archive|/var/log/mail archive", "files" },
		{ ":include:/etc/mail/list", ":include:/etc/mail/list", ":include:" },
		{ ":include: /etc/mail/list", ":include:/etc/mail/list", ":include: with a space" },
		{ ":INCLUDE:/x", ":include:/x", ":include: keyword in any case" },
		{ "\":include: /x y\"", ":include:/x y", "quoted :include:" },
		{ "\\root, admin@example.com", "\\root|admin@example.com", "\\user kept" },
		{ "error:5.1.1:550 This user has left", "error:5.1.1:550 This user has left",
		  "error: kept whole" },
		{ "error:nouser No such user (really)", "error:nouser No such user (really)",
		  "error: text keeps parentheses" },
		{ "John Doe <jd@example.com>, x (a comment)", "jd@example.com|x",
		  "angle address and comment" },
		{ "\"Doe, John\" <jd@example.com>", "jd@example.com", "comma in a display name" },
		{ "\"foo bar\"@example.com", "\"foo bar\"@example.com", "quoted local part kept" },
		{ "\"a,b\"", "a,b", "quoted comma" },
		{ ", ,a,,", "a", "empty elements dropped" },
		{ "(only a comment)", "", "comment only" },
		{ "\"unterminated, x", "\"unterminated, x", "unterminated quote: one element" },
		{ "", "", "empty" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = split_str(cases[i].rhs);
		is_str(s, cases[i].want, "split: %s", cases[i].name);
		free(s);
	}
	is_int(alias_split_include(inc, sizeof(inc) - 1, &v), 4, "include file: 4 elements");
	s = v.n == 4 ? xasprintf("%s|%s|%s|%s", v.v[0], v.v[1], v.v[2], v.v[3]) : xstrdup("");
	is_str(s, "a|b||c d|e", "include file elements");
	free(s);
	strv_free(&v);
}

/* ---- dict_db ---- */

static void
test_dict_db(void)
{
	char err[ERRLEN] = "", *val = NULL, *dbp = path_in("t.db"), *bt = path_in("bt.db");
	char *raw = path_in("raw.db"), *bad = path_in("bad.db");
	struct dict_db_writer *w;
	struct dict_db *d;
	struct stat st;
	DB *db;
	DBT k, v;
	size_t vlen;
	int rc;

	w = dict_db_create(dbp, DICT_DB_HASH, err, sizeof(err));
	ok(w != NULL, "writer created (%s)", err);
	if (w == NULL)
		return;
	is_int(tmp_leftovers(), 1, "temp file while building");
	is_int(dict_db_put_str(w, "key", "value", 1, 0, err, sizeof(err)), 0, "put");
	is_int(dict_db_put_str(w, "key", "other", 1, 0, err, sizeof(err)), 1,
	    "put without overwrite: key exists");
	is_int(dict_db_put_str(w, "raw", "v", 0, 1, err, sizeof(err)), 0, "put without NUL");
	ok(access(dbp, F_OK) < 0, "target does not exist before commit");
	is_int(dict_db_commit(w, 0640, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0, "commit");
	is_int(tmp_leftovers(), 0, "no temp file after commit");
	ok(stat(dbp, &st) == 0 && (st.st_mode & 07777) == 0640, "mode applied");

	d = dict_db_open(dbp, DICT_DB_HASH, err, sizeof(err));
	ok(d != NULL, "open (%s)", err);
	if (d == NULL)
		return;
	is_int(dict_db_lookup(d, "key", &val, err, sizeof(err)), 1, "lookup finds key");
	is_str(val, "value", "value without its NUL");
	free(val);
	is_int(dict_db_lookup(d, "nope", &val, err, sizeof(err)), 0, "not found is 0");
	is_int(dict_db_lookup_raw(d, "raw", 3, &val, &vlen, err, sizeof(err)), 1, "raw lookup");
	is_int(vlen, 1, "raw value length");
	free(val);
	is_int(dict_db_changed(d), 0, "unchanged");
	ok(dict_db_owner(d) == geteuid(), "owner");

	/* A rebuild: the reader notices and reads the new file. */
	w = dict_db_create(dbp, DICT_DB_HASH, err, sizeof(err));
	dict_db_put_str(w, "key", "new value", 1, 0, err, sizeof(err));
	is_int(dict_db_commit(w, 0644, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0, "rebuild");
	is_int(dict_db_changed(d), 1, "change detected after a rebuild");
	is_int(dict_db_lookup(d, "key", &val, err, sizeof(err)), 1, "lookup after the rebuild");
	is_str(val, "new value", "... reads the new file");
	free(val);
	is_int(dict_db_changed(d), 0, "reopened: unchanged again");

	/* A database garbled in place after it was opened: an error, not "not found". */
	write_str(dbp, "this is not a Berkeley DB file, just text...........\n");
	err[0] = '\0';
	is_int(dict_db_lookup(d, "key", &val, err, sizeof(err)), -1, "garbled file: lookup error");
	ok(strstr(err, dbp) != NULL, "error names the file: %s", err);
	dict_db_close(d);

	/* Abort leaves nothing. */
	w = dict_db_create(dbp, DICT_DB_HASH, err, sizeof(err));
	dict_db_put_str(w, "x", "y", 1, 0, err, sizeof(err));
	dict_db_abort(w);
	is_int(tmp_leftovers(), 0, "abort removes the temp file");

	/* A database written without NULs (as postalias -n, makemap -N off). */
	if (db_create(&db, NULL, 0) == 0 && db->open(db, NULL, raw, NULL, DB_HASH, DB_CREATE,
	    0644) == 0) {
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = "nonul";
		k.size = 5;
		v.data = "plain";
		v.size = 5;
		db->put(db, NULL, &k, &v, 0);
		db->close(db, 0);
	}
	d = dict_db_open(raw, DICT_DB_HASH, err, sizeof(err));
	ok(d != NULL, "open a foreign database (%s)", err);
	if (d != NULL) {
		is_int(dict_db_lookup(d, "nonul", &val, err, sizeof(err)), 1,
		    "key without NUL found by the fallback");
		is_str(val, "plain", "... its value");
		free(val);
		is_int(dict_db_lookup(d, "nonul", &val, err, sizeof(err)), 1, "found again");
		free(val);
		is_int(dict_db_lookup(d, "other", &val, err, sizeof(err)), 0, "other key: not found");
		dict_db_close(d);
	}

	/* btree. */
	w = dict_db_create(bt, DICT_DB_BTREE, err, sizeof(err));
	dict_db_put_str(w, "b", "tree", 1, 0, err, sizeof(err));
	is_int(dict_db_commit(w, 0644, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0, "btree commit");
	d = dict_db_open(bt, DICT_DB_BTREE, err, sizeof(err));
	rc = d ? dict_db_lookup(d, "b", &val, err, sizeof(err)) : -1;
	is_int(rc, 1, "btree lookup");
	if (rc == 1)
		is_str(val, "tree", "btree value");
	free(rc == 1 ? val : NULL);
	dict_db_close(d);
	err[0] = '\0';
	d = dict_db_open(bt, DICT_DB_HASH, err, sizeof(err));
	ok(d == NULL && err[0], "a btree opened as hash is an error: %s", err);
	dict_db_close(d);

	/* Garbage and missing files. */
	write_str(bad, "garbage garbage garbage garbage garbage garbage garbage\n");
	err[0] = '\0';
	errno = 0;
	d = dict_db_open(bad, DICT_DB_HASH, err, sizeof(err));
	ok(d == NULL && errno != ENOENT, "garbage file: error (errno %d)", errno);
	ok(strstr(err, bad) != NULL, "message names the file: %s", err);
	dict_db_close(d);
	d = dict_db_open(dbp, DICT_DB_HASH, err, sizeof(err));
	dict_db_close(d);
	unlink(dbp);
	errno = 0;
	d = dict_db_open(dbp, DICT_DB_HASH, err, sizeof(err));
	ok(d == NULL && errno == ENOENT, "missing file: ENOENT");
	dict_db_close(d);
	is_int(dict_db_type_from_name("hash"), DICT_DB_HASH, "type hash");
	is_int(dict_db_type_from_name("btree"), DICT_DB_BTREE, "type btree");
	is_int(dict_db_type_from_name("dbm"), -1, "type dbm unknown");
	free(dbp);
	free(bt);
	free(raw);
	free(bad);
}

/* ---- aliases.c ---- */

/* Runs aliases_newaliases with stdout captured; returns the status. */
static int
run_newaliases(const char *opt, int verbose, char **out)
{
	char *cap = path_in("stdout.txt"), *text;
	size_t len;
	int saved, fd, rc;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	rc = aliases_newaliases(opt, verbose);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	if (fileio_read_file(cap, &text, &len, 0) < 0) {
		*out = xstrdup("(unreadable)");
	} else {
		*out = xstrndup(text, len);	/* fileio does not terminate an empty file */
		free(text);
	}
	free(cap);
	return rc;
}

/* Looks key up in path with dict_db, "" when missing. */
static char *
db_get(const char *path, const char *key, int with_nul)
{
	char err[ERRLEN], *val = NULL;
	struct dict_db *d = dict_db_open(path, DICT_DB_HASH, err, sizeof(err));
	size_t vlen;
	int rc;

	if (d == NULL)
		return xstrdup("(no db)");
	rc = dict_db_lookup_raw(d, key, strlen(key) + (with_nul ? 1 : 0), &val, &vlen, err,
	    sizeof(err));
	dict_db_close(d);
	if (rc != 1)
		return xstrdup("");
	if (with_nul && (vlen == 0 || val[vlen - 1] != '\0')) {
		free(val);
		return xstrdup("(no NUL)");
	}
	return val;
}

static void
test_newaliases(void)
{
	char *src = path_in("aliases"), *dbp = path_in("aliases.db"), *other = path_in("other");
	char *spec = xasprintf("hash:%s", src), *out = NULL, *s, *want, *val, *q;
	char err[ERRLEN];
	struct stat st;
	uid_t owner = (uid_t)-1;
	int rc;
	static const char text[] =
	    "# test\n"
	    "Root: admin@example.com, \\root\n"		/* 4 + 24 */
	    "postmaster: root\n"				/* 10 + 4 */
	    "bad line\n"
	    "list: \"|/usr/bin/foo -x\",\n"
	    "  /var/log/archive\n";				/* 4 + 37 */

	conf_override("alias_database", spec);
	conf_override("alias_maps", spec);
	conf_override("myhostname", "host.example.com");
	write_str(src, text);
	chmod(src, 0640);
	set_mtime(src, -100);

	rc = run_newaliases(NULL, 0, &out);
	is_int(rc, 0, "newaliases: exit 0 despite a bad line");
	is_str(out, "", "newaliases: silent when stdout is not a tty");
	free(out);
	ok(log_contains(", line 4: missing colon"), "bad line logged with file and line");
	ok(stat(dbp, &st) == 0, "aliases.db written");
	is_int(st.st_mode & 07777, 0640, ".db mode follows the source's read bits");
	is_int(tmp_leftovers(), 0, "no temp file left");

	rc = run_newaliases(NULL, 1, &out);
	want = xasprintf("%s: 3 aliases, longest 37 bytes, 83 bytes total\n", src);
	is_str(out, want, "-v: the statistics line");
	free(want);
	free(out);

	s = db_get(dbp, "root", 1);
	is_str(s, "admin@example.com, \\root", "key lowercase with NUL, value with NUL");
	free(s);
	s = db_get(dbp, "Root", 1);
	is_str(s, "", "no mixed-case key stored");
	free(s);
	s = db_get(dbp, "@", 1);
	is_str(s, "@", "\"@\" -> \"@\" sentinel with NULs");
	free(s);
	s = db_get(dbp, "YP_MASTER_NAME", 0);
	is_str(s, "host.example.com", "YP_MASTER_NAME without NUL");
	free(s);
	s = db_get(dbp, "YP_LAST_MODIFIED", 0);
	ok(strlen(s) == 10 && strspn(s, "0123456789") == 10, "YP_LAST_MODIFIED: 10 digits (%s)", s);
	free(s);

	rc = aliases_lookup("ROOT", &val, &owner, err, sizeof(err));
	is_int(rc, 1, "aliases_lookup folds the name");
	is_str(rc == 1 ? val : NULL, "admin@example.com, \\root", "aliases_lookup value");
	ok(owner == geteuid(), "owner of the map");
	free(rc == 1 ? val : NULL);
	is_int(aliases_lookup("nobody-here", &val, &owner, err, sizeof(err)), 0, "unknown: 0");

	/* -oA builds only that one. */
	write_str(other, "o: p\n");
	rc = run_newaliases(other, 1, &out);
	is_int(rc, 0, "-oA path");
	want = xasprintf("%s: 1 aliases, longest 1 bytes, 2 bytes total\n", other);
	is_str(out, want, "-oA: its statistics only");
	free(want);
	free(out);
	q = xasprintf("%s.db", other);
	ok(access(q, F_OK) == 0, "-oA: other.db built");
	free(q);

	/* Missing source and unsupported type. */
	q = xasprintf("hash:%s/nothere", tmpdir);
	rc = run_newaliases(q, 0, &out);
	is_int(rc, EX_TEMPFAIL_, "missing source: 75");
	ok(log_contains("cannot open alias file"), "missing source: message");
	free(q);
	free(out);
	rc = run_newaliases("dbm:/nonexistent/x", 0, &out);
	is_int(rc, 1, "unsupported type: 1");
	free(out);
	free(spec);
	free(src);
	free(dbp);
	free(other);
}

static void
test_freshness(void)
{
	char *src = path_in("aliases"), *dbp = path_in("aliases.db"), *val = NULL;
	char *none = xasprintf("hash:%s/none", tmpdir);
	char *badsrc = path_in("corrupt"), *baddb = path_in("corrupt.db");
	char *spec, err[ERRLEN];
	uid_t owner;
	int rc;

	/* Source newer than the .db: rebuilt before the lookup (default yes). */
	write_str(src, "root: first\nnew: entry\n");
	set_mtime(src, 5);
	rc = aliases_lookup("new", &val, &owner, err, sizeof(err));
	is_int(rc, 1, "stale .db rebuilt on lookup");
	is_str(rc == 1 ? val : NULL, "entry", "... with the new entry");
	free(rc == 1 ? val : NULL);
	ok(log_contains("rebuilt ") && log_contains("(alias_auto_rebuild = yes)"),
	    "the rebuild is logged");

	/* Missing .db, source present: built. */
	unlink(dbp);
	rc = aliases_lookup("root", &val, &owner, err, sizeof(err));
	is_int(rc, 1, "missing .db built on lookup");
	free(rc == 1 ? val : NULL);
	ok(access(dbp, F_OK) == 0, ".db exists again");

	/* alias_auto_rebuild = no: warn, keep using the old .db. */
	conf_override("alias_auto_rebuild", "no");
	write_str(src, "root: second\n");
	set_mtime(src, 20);
	rc = aliases_lookup("root", &val, &owner, err, sizeof(err));
	is_int(rc, 1, "auto rebuild off: old .db still used");
	is_str(rc == 1 ? val : NULL, "first", "... with the old value");
	free(rc == 1 ? val : NULL);
	ok(log_contains("is older than source file") && log_contains("run newaliases"),
	    "warning to run newaliases");
	unlink(dbp);
	is_int(aliases_lookup("root", &val, &owner, err, sizeof(err)), 0,
	    "auto rebuild off, .db missing: no entry");
	ok(log_contains("is missing: run newaliases"), "missing .db warned");
	conf_override("alias_auto_rebuild", "yes");
	is_int(aliases_check_fresh(), 0, "aliases_check_fresh rebuilds");
	ok(access(dbp, F_OK) == 0, "... the .db");

	/* Neither file: no aliases, a warning. */
	conf_override("alias_maps", none);
	is_int(aliases_lookup("root", &val, &owner, err, sizeof(err)), 0, "no files: no entry");
	ok(log_contains("no alias database"), "no files: warned");

	/* Corrupt .db (no source to rebuild it from): an error, not "not found". */
	write_str(baddb, "GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE\n");
	spec = xasprintf("hash:%s, hash:%s", badsrc, src);
	conf_override("alias_maps", spec);
	err[0] = '\0';
	is_int(aliases_lookup("root", &val, &owner, err, sizeof(err)), -1, "corrupt .db: -1");
	ok(strstr(err, baddb) != NULL, "message names the file: %s", err);
	ok(log_contains("cannot open alias database"), "corrupt .db logged");
	free(spec);

	/* texthash: the source read directly. */
	spec = xasprintf("texthash:%s", src);
	conf_override("alias_maps", spec);
	rc = aliases_lookup("Root", &val, &owner, err, sizeof(err));
	is_int(rc, 1, "texthash lookup");
	is_str(rc == 1 ? val : NULL, "second", "texthash value");
	free(rc == 1 ? val : NULL);
	write_str(src, "root: third\n");
	set_mtime(src, 40);
	rc = aliases_lookup("root", &val, &owner, err, sizeof(err));
	is_str(rc == 1 ? val : NULL, "third", "texthash reloaded after a change");
	free(rc == 1 ? val : NULL);
	free(spec);

	conf_override("alias_maps", "ldap:/etc/x.cf");
	is_int(aliases_lookup("root", &val, &owner, err, sizeof(err)), -1,
	    "unsupported map type: -1");
	free(src);
	free(dbp);
	free(none);
	free(badsrc);
	free(baddb);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	tmpdir = xasprintf("%s/alias_test.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	logpath = path_in("maillog");
	conf_load_defaults(tmpdir);
	log_init("alias_test");
	if (log_set_file(logpath, "localhost") < 0) {
		perror(logpath);
		return 2;
	}

	test_parse_basic();
	test_parse_warnings();
	test_parse_many();
	test_split();
	test_dict_db();
	test_newaliases();
	test_freshness();

	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmpdir);
	free(logpath);
	return done_testing();
}
