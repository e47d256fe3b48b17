/*
 * maps_regexp_test - sendmail/maps_regexp.c and its dispatch in maps.c:
 * regexp: and pcre: tables (flags, negation, if/endif nesting, $N, $$,
 * comments and continuation lines, first match wins, every syntax error
 * naming the file and line, a 1000-rule table), inline:, static:,
 * texthash:, maps_list_split, and a table file re-read when it changes.
 *
 * Works in a temporary directory under $TMPDIR (or /tmp), removed at the end.
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
#include "maps_regexp.h"
#include "pbuf.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define ERRLEN		512
#define BIG_RULES	1000

static char *tmpdir;

static void
write_str(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || fileio_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		perror(path);
		exit(2);
	}
}

/* Parses text as kind, looks key up: the value, "(none)", or "ERR: message". */
static char *
rlook(enum maps_rkind kind, const char *text, const char *key)
{
	static char out[1024];
	char err[ERRLEN], *value;
	struct maps_rtable *t = maps_rtable_parse("T", text, strlen(text), kind, err, sizeof(err));
	int rc;

	if (t == NULL) {
		snprintf(out, sizeof(out), "ERR: %s", err);
		return out;
	}
	rc = maps_rtable_lookup(t, key, &value, err, sizeof(err));
	if (rc < 0)
		snprintf(out, sizeof(out), "ERR: %s", err);
	else if (rc == 0)
		snprintf(out, sizeof(out), "(none)");
	else
		snprintf(out, sizeof(out), "%s", value);
	free(value);
	maps_rtable_free(t);
	return out;
}

static void
both(const char *text, const char *key, const char *want, const char *what)
{
	is_str(rlook(MAPS_R_REGEXP, text, key), want, "regexp: %s", what);
	is_str(rlook(MAPS_R_PCRE, text, key), want, "pcre: %s", what);
}

static void
test_rules(void)
{
	both("/^Subject: .*viagra/ REJECT no spam\n", "Subject: buy VIAGRA now", "REJECT no spam",
	    "case-insensitive by default");
	both("/^Subject: .*viagra/i REJECT\n", "Subject: buy VIAGRA now", "(none)",
	    "flag i turns case-sensitivity on");
	both("/^Subject: .*viagra/i REJECT\n", "Subject: buy viagra now", "REJECT",
	    "flag i: exact case still matches");
	both("/a/ first\n/a/ second\n", "xax", "first", "first match wins");
	both("/b/ B\n", "xax", "(none)", "no rule matches");
	both("!/^From:/ not-from\n", "Subject: x", "not-from", "!/pattern/ matches a non-match");
	both("!/^From:/ not-from\n", "From: x", "(none)", "!/pattern/ does not match a match");
	both("/^(\\w+)@(\\w+)\\.com$/ $2 $1 ${1} $(2) $$ cost\n", "joe@example.com",
	    "example joe joe example $ cost", "$N, ${N}, $(N) and $$");
	both("/^(a)|(b)$/ [$2]\n", "a", "[]", "an unmatched group gives empty text");
	both("#c\n\n   \n/^x/ X\n# more\n/^y/\n  Y1\n\tY2\n", "yes", "Y1\tY2",
	    "comments, blank lines, continuation lines");
	both("/^x/ X\r\n/^y/ Y\r\n", "y", "Y", "CRLF lines");
	both("if /^Subject:/\n/spam/ S\nendif\n/spam/ OTHER\n", "Subject: spam", "S",
	    "if: inside when the test matches");
	both("if /^Subject:/\n/spam/ S\nendif\n/spam/ OTHER\n", "From: spam", "OTHER",
	    "if: skipped when the test fails");
	both("if /a/\nif /b/\n/c/ ABC\nendif\n/c/ AC\nendif\n/c/ C\n", "a c", "AC",
	    "nested if: inner false");
	both("if /a/\nif /b/\n/c/ ABC\nendif\n/c/ AC\nendif\n/c/ C\n", "a b c", "ABC",
	    "nested if: both true");
	both("if /a/\nif /b/\n/c/ ABC\nendif\n/c/ AC\nendif\n/c/ C\n", "c", "C",
	    "nested if: outer false");
	both("if !/a/\n/c/ NOT-A\nendif\n", "c", "NOT-A", "if !/pattern/");
	both("|a/b| SLASH\n", "xa/by", "SLASH", "another delimiter");
	both("/a\\/b/ ESC\n", "a/b", "ESC", "\\/ inside the pattern");
	both("/^Subject: x.y/ DOT\n", "Subject: x\ny", "DOT", "'.' matches a newline by default");
	is_str(rlook(MAPS_R_REGEXP, "/^y/m M\n", "x\ny"), "M", "regexp: flag m: ^ after a newline");
	is_str(rlook(MAPS_R_REGEXP, "/^y/ M\n", "x\ny"), "(none)", "regexp: no flag m");
	is_str(rlook(MAPS_R_PCRE, "/^y/m M\n", "x\ny"), "M", "pcre: flag m: ^ after a newline");
	is_str(rlook(MAPS_R_PCRE, "/a b/x X\n", "ab"), "X", "pcre: flag x ignores spaces");
	is_str(rlook(MAPS_R_PCRE, "/a.b/s X\n", "a\nb"), "(none)", "pcre: flag s turns dotall off");
	is_str(rlook(MAPS_R_PCRE, "/(?<n>\\d+)x/ $1\n", "12x"), "12", "pcre: named group is $1");
	is_str(rlook(MAPS_R_REGEXP, "/a+/x X\n", "aa"), "(none)",
	    "regexp: flag x turns extended syntax off (+ is literal)");
	is_str(rlook(MAPS_R_REGEXP, "/a+/x X\n", "a+"), "X", "regexp: basic syntax");
}

static void
want_err(const char *text, const char *want, const char *what)
{
	const char *r = rlook(MAPS_R_REGEXP, text, "x");
	const char *p = rlook(MAPS_R_PCRE, text, "x");

	ok(strncmp(r, "ERR: ", 5) == 0 && strstr(r, want) != NULL, "regexp error: %s", what);
	if (strstr(r, want) == NULL)
		printf("#   got: %s\n#   want: %s\n", r, want);
	ok(strncmp(p, "ERR: ", 5) == 0 && strstr(p, want) != NULL, "pcre error: %s", what);
	if (strstr(p, want) == NULL)
		printf("#   got: %s\n#   want: %s\n", p, want);
}

static void
test_errors2(void)
{
	want_err("/x/ X\n\n/[/ Y\n", "T, line 3: ", "a bad pattern names line 3");
	want_err("/x/q X\n", "T, line 1: unknown", "unknown flag");
	want_err("/x/\n", "T, line 1: no result", "missing result");
	want_err("/x\n", "T, line 1: no closing", "no closing delimiter");
	want_err("/(x)/ $2\n", "T, line 1: out-of-range replacement index $2", "$2 with one group");
	want_err("/x/ $a\n", "T, line 1: non-numeric", "$name");
	want_err("/x/ cost $\n", "T, line 1: bad $ reference", "lone $");
	want_err("!/(x)/ $1\n", "T, line 1: $1 in the result of a !/pattern/", "$1 with !");
	want_err("/x/ X\nendif\n", "T, line 2: endif without if", "endif without if");
	want_err("/x/ X\nif /a/\n/b/ B\n", "T, line 2: if without endif", "if without endif");
	want_err("if /a/ X\nendif\n", "T, line 1: text after the if pattern", "text after if");
	want_err("  /x/ X\n", "T, line 1: a logical line must not start", "stray continuation");
	want_err("// X\n", "T, line 1: empty pattern", "empty pattern");
	/* Stacked repetitions: undefined in POSIX, gigabytes in glibc's regcomp. */
	ok(strstr(rlook(MAPS_R_REGEXP, "/x++++++++++++++++++++++++++++++/ X\n", "x"),
	    "T, line 1: regexp \"x+++") != NULL, "regexp: x+++...: refused, naming the line");
	ok(strstr(rlook(MAPS_R_REGEXP, "/a{2}{3}/ X\n", "aaaaaa"), "repetition operators one after "
	    "another") != NULL, "regexp: a{2}{3}: refused");
	ok(strstr(rlook(MAPS_R_REGEXP, "/a*?/ X\n", "a"), "repetition operators") != NULL,
	    "regexp: a*?: refused");
	is_str(rlook(MAPS_R_REGEXP, "/a\\++/ X\n", "a++"), "X", "regexp: an escaped + then + is fine");
	is_str(rlook(MAPS_R_REGEXP, "/[+*]+/ X\n", "+*"), "X", "regexp: [+*]+ is fine");
	is_str(rlook(MAPS_R_REGEXP, "/(a+)+b/ X\n", "aab"), "X", "regexp: (a+)+ is fine (grouped)");
	is_str(rlook(MAPS_R_REGEXP, "/a{1,3}b?/ X\n", "aab"), "X", "regexp: a count then another atom");
	is_str(rlook(MAPS_R_REGEXP, "/a++/x X\n", "a++"), "X", "regexp: basic syntax (x): + is literal");
}

static void
test_big(void)
{
	struct pbuf text = PBUF_INIT;
	struct maps_rtable *t;
	char err[ERRLEN], *value = NULL, key[64];
	int i, rc;

	for (i = 0; i < BIG_RULES; i++)
		pbuf_printf(&text, "/^key%d$/ value%d\n", i, i);
	t = maps_rtable_parse("big", text.data, text.len, MAPS_R_REGEXP, err, sizeof(err));
	ok(t != NULL, "a 1000-rule table compiles");
	if (t == NULL)
		return;
	is_int(maps_rtable_count(t), BIG_RULES, "1000 rules");
	snprintf(key, sizeof(key), "KEY%d", BIG_RULES - 1);
	rc = maps_rtable_lookup(t, key, &value, err, sizeof(err));
	is_int(rc, 1, "the last rule matches");
	is_str(value, "value999", "its value");
	free(value);
	rc = maps_rtable_lookup(t, "key1000", &value, err, sizeof(err));
	is_int(rc, 0, "a key past the table matches nothing");
	maps_rtable_free(t);
	pbuf_free(&text);
}

/* maps_query on spec: the value, "(none)" or "ERR: ...". */
static char *
q(const char *spec, const char *key)
{
	static char out[1024];
	char err[ERRLEN], *value;
	int rc = maps_lookup(spec, key, &value, err, sizeof(err));

	if (rc < 0)
		snprintf(out, sizeof(out), "ERR: %s", err);
	else if (rc == 0)
		snprintf(out, sizeof(out), "(none)");
	else
		snprintf(out, sizeof(out), "%s", value);
	free(value);
	return out;
}

static void
test_maps(void)
{
	char *re = xasprintf("%s/checks", tmpdir), *th = xasprintf("%s/th", tmpdir);
	char *spec = xasprintf("regexp:%s", re), *pspec = xasprintf("pcre:%s", re);
	char *tspec = xasprintf("texthash:%s", th), *want;
	struct strv l = STRV_INIT;

	write_str(re, "/^Subject: (.*)/ REJECT bad $1\n");
	is_str(q(spec, "Subject: Hello"), "REJECT bad Hello", "regexp: file, key case kept");
	is_str(q(pspec, "Subject: Hello"), "REJECT bad Hello", "pcre: file");
	/* Rewritten in place (a new size), and replaced by a rename (a new inode). */
	write_str(re, "/^Subject: (.*)/ DISCARD $1\n");
	is_str(q(spec, "Subject: Hello"), "DISCARD Hello", "regexp: the changed file is re-read");
	want = xasprintf("%s.new", re);
	write_str(want, "/^Subject: (.*)/ DISCARD b $1\n");
	ok(rename(want, re) == 0, "rename a new table in");
	free(want);
	is_str(q(spec, "Subject: Hello"), "DISCARD b Hello", "regexp: the renamed file is read");
	write_str(re, "/ok/ OK\n/[/ X\n");
	want = xasprintf("ERR: regexp:%s, line 2: ", re);
	ok(strncmp(q(spec, "ok"), want, strlen(want)) == 0, "a broken file fails the lookup, "
	    "naming file and line");
	ok(strncmp(q(spec, "ok"), want, strlen(want)) == 0, "and again on the next lookup");
	free(want);
	write_str(re, "/ok/ FIXED\n");
	is_str(q(spec, "ok"), "FIXED", "the repaired file is used");
	unlink(re);
	ok(strncmp(q(spec, "ok"), "ERR: open ", 10) == 0, "a missing file is an error");

	is_str(q("inline:{ a=1, b=2 ,{ c = three and four }, {d=x,y}}", "A"), "1", "inline: a");
	ok(strncmp(q("inline:{ a=1, B = 2 }", "b"), "ERR: inline: missing \"=\" in \"B\"", 34) == 0,
	    "inline: spaces around \"=\" need braces");
	is_str(q("inline:{ a=1, b=2 ,{ c = three and four }, {d=x,y}}", "B"), "2",
	    "inline: keys are folded");
	is_str(q("inline:{ a=1, b=2 ,{ c = three and four }, {d=x,y}}", "c"), "three and four",
	    "inline: braced value with spaces");
	is_str(q("inline:{ a=1, b=2 ,{ c = three and four }, {d=x,y}}", "d"), "x,y",
	    "inline: braced value with a comma");
	is_str(q("inline:{ a=1, b=2 ,{ c = three and four }, {d=x,y}}", "e"), "(none)",
	    "inline: not found");
	ok(strncmp(q("inline:{ a=1, a=2 }", "a"), "ERR: inline: duplicate", 22) == 0,
	    "inline: duplicate key is an error");
	ok(strncmp(q("inline:a=1", "a"), "ERR: inline: the table must", 27) == 0,
	    "inline: without braces is an error");
	is_str(q("static:relay:[mx.example]", "anything"), "relay:[mx.example]", "static:");
	is_str(q("static:{ REJECT go away }", "x"), "REJECT go away", "static:{ with spaces }");

	write_str(th, "# comment\nExample.COM smtp:[a]\n  continued\nb.org x\nb.org y\n");
	is_str(q(tspec, "example.com"), "smtp:[a]  continued", "texthash: folded key, continuation");
	is_str(q(tspec, "B.ORG"), "x", "texthash: the first duplicate is kept");
	want = xasprintf("%s.db", th);
	ok(access(want, F_OK) != 0, "texthash: no .db made");
	free(want);

	maps_list_split("hash:/a, inline:{ a=b, { c = d e } },static:{x y}  regexp:/r", &l);
	is_int(l.n, 4, "maps_list_split: 4 maps");
	if (l.n == 4) {
		is_str(l.v[1], "inline:{ a=b, { c = d e } }", "maps_list_split keeps inline:{}");
		is_str(l.v[2], "static:{x y}", "maps_list_split keeps static:{}");
	}
	strv_free(&l);
	maps_close_all();
	free(re);
	free(th);
	free(spec);
	free(pspec);
	free(tspec);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	tmpdir = xasprintf("%s/maps_regexp_test.XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	log_init("maps_regexp_test");
	log_to_stderr("maps_regexp_test");
	log_stderr_quiet(1);
	conf_load_defaults(tmpdir);
	test_rules();
	test_errors2();
	test_big();
	test_maps();
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(tmpdir);
	return done_testing();
}
