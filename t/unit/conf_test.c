/*
 * conf_test - lib/conf.c and the parameter table of sendmail/params.c.
 *
 * Every syntax rule of spec/config.md §1, each expansion form, loop
 * detection, lists with /file inclusion, time units, booleans, myorigin
 * from a file, overrides and the configuration-directory search. Files go
 * into a mkdtemp() directory that is removed at the end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"
#include "tap.h"

#define ERRLEN	512

static char tmpdir[] = "/tmp/conf_test.XXXXXX";
static char err[ERRLEN];
static struct strv created = STRV_INIT;

static char *
path_of(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *name, const char *text)
{
	char *path = path_of(name);
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
	if (strv_find(&created, path, 0) < 0)
		strv_add(&created, path);
	free(path);
}

/* Writes main.cf and loads it; returns conf_load()'s result. */
static int
load(const char *text)
{
	write_file("main.cf", text);
	err[0] = '\0';
	return conf_load(tmpdir, err, sizeof(err));
}

static int
list_is(const char *name, const char *const *want, size_t nwant)
{
	struct strv got = STRV_INIT;
	size_t i;
	int same;

	conf_list(name, &got);
	same = got.n == nwant;
	for (i = 0; same && i < nwant; i++)
		same = strcmp(got.v[i], want[i]) == 0;
	if (!same) {
		printf("#   list %s:", name);
		for (i = 0; i < got.n; i++)
			printf(" [%s]", got.v[i]);
		printf("\n");
	}
	strv_free(&got);
	return same;
}

static void
test_table(void)
{
	const struct conf_param *p;
	int sorted = 1, found = 1, units = 1, n = 0;

	for (p = conf_params; p->name; p++, n++) {
		if (p != conf_params && strcmp(p[-1].name, p->name) >= 0) {
			sorted = 0;
			printf("# out of order: %s, %s\n", p[-1].name, p->name);
		}
		if (conf_param_find(p->name) != p)
			found = 0;
		if (p->type == CONF_TIME) {
			size_t len = strlen(p->def);

			if (len == 0 || p->def[len - 1] != p->time_unit) {
				units = 0;
				printf("# time unit of %s\n", p->name);
			}
		}
	}
	ok(sorted, "parameter table sorted by name, no duplicates");
	ok(found, "conf_param_find finds every entry");
	ok(units, "time parameters: bare-number unit is the default's unit");
	ok(n > 200, "table holds %d parameters", n);
	ok(conf_param_find("no_such_parameter") == NULL, "unknown name not found");
	ok(conf_param_find("") == NULL && conf_param_find("zzzz") == NULL,
	    "bisection edges");

	is_str(conf_param_find("mail_owner")->def, "petrel", "mail_owner default");
	is_str(conf_param_find("setgid_group")->def, "petreldrop", "setgid_group default");
	is_str(conf_param_find("mail_name")->def, "Petrel", "mail_name default");
	is_str(conf_param_find("message_size_limit")->def, "10240000",
	    "message_size_limit default");
	is_str(conf_param_find("compatibility_level")->def, "3.6",
	    "compatibility_level default");
	is_str(conf_param_find("mailq_output_format")->def, "sendmail",
	    "mailq_output_format default");
	is_str(conf_param_find("mynetworks")->def, "127.0.0.0/8 [::1]/128",
	    "mynetworks default");
	is_str(conf_param_find("alias_maps")->def, "hash:/etc/aliases",
	    "alias_maps default");
	is_str(conf_param_find("queue_directory")->def, PETREL_QUEUE_DIR_DEFAULT,
	    "queue_directory default");
	is_str(conf_param_find("config_directory")->def, PETREL_CONFIG_DIR_DEFAULT,
	    "config_directory default");
	is_str(conf_param_find("smtpd_relay_restrictions")->def,
	    "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
	    "smtpd_relay_restrictions default");
	is_str(conf_param_find("mydestination")->def,
	    "$myhostname, localhost.$mydomain, localhost", "mydestination default");
	is_int(conf_param_find("maximal_queue_lifetime")->time_unit, 'd',
	    "maximal_queue_lifetime unit is days");
	is_int(conf_param_find("delay_warning_time")->time_unit, 'h',
	    "delay_warning_time unit is hours");
	ok(conf_param_find("myhostname")->flags & CONF_F_COMPUTED, "myhostname computed");
	ok(conf_param_find("mynetworks")->flags & CONF_F_MATCHLIST, "mynetworks is a match list");
	ok(conf_param_find("relocated_maps")->flags & CONF_F_UNSUPPORTED,
	    "relocated_maps marked unsupported");
	ok(!(conf_param_find("smtpd_tls_session_cache_database")->flags
	    & CONF_F_UNSUPPORTED), "session cache accepted quietly");
}

static void
test_syntax(void)
{
	struct strv names = STRV_INIT;
	char *want;

	ok(load("myhostname = mx.example.org\n"
	    "relayhost=   [smart.example.net]:587   \n"
	    "mydestination = a,\n"
	    "  b,\n"
	    "\tc\n") == 0, "basic file loads");
	is_str(conf_raw("relayhost"), "[smart.example.net]:587",
	    "blanks around '=' and at the end ignored");
	is_str(conf_raw("mydestination"), "a,  b,\tc",
	    "continuation lines joined, leading blanks kept");
	{
		static const char *const w[] = { "a", "b", "c" };

		ok(list_is("mydestination", w, 3), "continued list splits to 3");
	}

	ok(load("x = a\n# a comment\n  b\n\n   \n  c\n") == 0,
	    "comment and blank lines inside a continued value");
	is_str(conf_raw("x"), "a  b  c", "comment lines skipped inside a value");

	ok(load("mydestination = a, b  # note\n") == 0, "trailing # loads");
	is_str(conf_raw("mydestination"), "a, b  # note", "no trailing comments");
	{
		static const char *const w[] = { "a", "b", "#", "note" };

		ok(list_is("mydestination", w, 4), "'#' and 'note' become list elements");
	}

	ok(load("x = 1\ny = 0\nx = 2\n") == 0, "duplicate loads");
	is_str(conf_str("x"), "2", "last definition wins");
	conf_names_set(&names);
	ok(names.n == 2 && strcmp(names.v[0], "x") == 0
	    && strcmp(names.v[1], "y") == 0, "names set: file order, once each");
	strv_free(&names);

	ok(load("relayhost =\nmessage_size_limit =\n") == 0, "empty values load");
	ok(conf_is_set("relayhost"), "empty value counts as set");
	is_str(conf_raw("message_size_limit"), "", "empty value is not the default");
	ok(!conf_is_set("mail_owner"), "unset parameter not set");
	is_str(conf_raw("mail_owner"), "petrel", "unset parameter: raw is the default");

	ok(load("a = 1\n\nfoo bar\nb = 2\n") < 0, "missing '=' refused");
	want = xasprintf("%s/main.cf, line 3: missing '=' after attribute name: "
	    "\"foo bar\"", tmpdir);
	is_str(err, want, "missing '=' message names file and line");
	free(want);

	ok(load("a = 1\nfoo\n  bar\n") < 0, "missing '=' in a continued line");
	want = xasprintf("%s/main.cf, line 2: missing '=' after attribute name: "
	    "\"foo  bar\"", tmpdir);
	is_str(err, want, "error reports the first line of the logical line");
	free(want);

	ok(load("= value\n") < 0, "empty name refused");
	want = xasprintf("%s/main.cf, line 1: missing attribute name: \"= value\"",
	    tmpdir);
	is_str(err, want, "missing attribute name message");
	free(want);

	ok(load("  x = 1\ny = 2\n") == 0, "leading continuation line tolerated");
	ok(!conf_is_set("x"), "continuation without preceding text ignored");
	is_str(conf_str("y"), "2", "following line still read");

	ok(load("my_own_var = hello\nbanner2 = $my_own_var world\n") == 0,
	    "user-defined names load");
	is_str(conf_raw("my_own_var"), "hello", "unknown name kept");
	is_str(conf_str("banner2"), "hello world", "unknown name usable as $name");
	ok(conf_raw("never_defined_anywhere") == NULL, "conf_raw: NULL for unknown");
	is_str(conf_str("never_defined_anywhere"), "", "conf_str: \"\" for unknown");

	/* A failed load leaves the previous configuration in force. */
	ok(load("keepme = old\n") == 0, "good file");
	ok(load("keepme = new\nbroken line\n") < 0, "bad file");
	is_str(conf_str("keepme"), "old", "failed load keeps the old configuration");

	{
		char *d = path_of("empty-dir");

		mkdir(d, 0700);
		ok(conf_load(d, err, sizeof(err)) < 0, "missing main.cf refused");
		want = xasprintf("open %s/main.cf: No such file or directory", d);
		is_str(err, want, "missing main.cf message");
		free(want);
		rmdir(d);
		free(d);
	}
	ok(load("crlf = value\r\nnext = 2\r\n") == 0, "CRLF file loads");
	is_str(conf_raw("crlf"), "value", "trailing CR trimmed");
}

static void
test_expansion(void)
{
	char *s;

	ok(load("b = B\n"
	    "plain = x$b\n"
	    "curly = x${b}y\n"
	    "paren = x$(b)y\n"
	    "dollar = a$$b\n"
	    "undef = [$nothing_here]\n"
	    "lazy = $later\n"
	    "later = L\n"
	    "empty =\n"
	    "indirect_empty = $empty\n"
	    "q1 = ${b?yes}\n"
	    "q2 = ${empty?yes}\n"
	    "q3 = ${b?{yes}}\n"
	    "q4 = ${b?{y}:{n}}\n"
	    "q5 = ${empty?{y}:{n}}\n"
	    "q6 = ${b?$later}\n"
	    "q7 = ${indirect_empty?raw}\n"
	    "c1 = ${b:no}\n"
	    "c2 = ${empty:no}\n"
	    "c3 = ${empty:{no}}\n"
	    "c4 = ${nothing_here:$b}\n"
	    "odd = 5$-x\n"
	    "end = cost $\n"
	    "n = 9\n"
	    "r1 = ${{$n} == {9}?{eq}:{ne}}\n"
	    "r2 = ${{$n} < {10}?{lt}:{ge}}\n"
	    "r3 = ${{abc} < {abd}?{lt}:{ge}}\n"
	    "r4 = ${{$compatibility_level} <level {3.10} ? {old} : {new}}\n"
	    "r5 = ${{x} != {x}?{ne}}\n"
	    "nested = ${b?{${empty:{deep}}}}\n") == 0, "expansion file loads");
	is_str(conf_str("plain"), "xB", "$name");
	is_str(conf_str("curly"), "xBy", "${name}");
	is_str(conf_str("paren"), "xBy", "$(name)");
	is_str(conf_str("dollar"), "a$b", "$$ is a literal $");
	is_str(conf_str("undef"), "[]", "undefined name expands to empty");
	is_str(conf_str("lazy"), "L", "expansion is lazy: order does not matter");
	is_str(conf_str("q1"), "yes", "${name?value} with non-empty name");
	is_str(conf_str("q2"), "", "${name?value} with empty name");
	is_str(conf_str("q3"), "yes", "${name?{value}}");
	is_str(conf_str("q4"), "y", "${name?{v1}:{v2}} true");
	is_str(conf_str("q5"), "n", "${name?{v1}:{v2}} false");
	is_str(conf_str("q6"), "L", "the chosen value is expanded");
	is_str(conf_str("q7"), "raw", "?-test looks at the unexpanded value");
	is_str(conf_str("c1"), "", "${name:value} with non-empty name");
	is_str(conf_str("c2"), "no", "${name:value} with empty name");
	is_str(conf_str("c3"), "no", "${name:{value}}");
	is_str(conf_str("c4"), "B", "${undefined:$b}");
	is_str(conf_str("odd"), "5$-x", "$ before a non-name character kept");
	is_str(conf_str("end"), "cost $", "trailing $ kept");
	is_str(conf_str("r1"), "eq", "${{a} == {b}?...}");
	is_str(conf_str("r2"), "lt", "numeric comparison of digits");
	is_str(conf_str("r3"), "lt", "string comparison otherwise");
	is_str(conf_str("r4"), "old", "<level compares dotted levels (3.6 < 3.10)");
	is_str(conf_str("r5"), "", "false relation without :{} gives empty");
	is_str(conf_str("nested"), "deep", "nested braces");

	is_str(conf_str("smtpd_timeout"), "300s", "default ${stress?{10}:{300}}s");
	is_int(conf_time("smtpd_timeout"), 300, "smtpd_timeout seconds");
	is_int(conf_int("smtpd_hard_error_limit"), 20, "smtpd_hard_error_limit 20");
	is_int(conf_int("smtp_destination_concurrency_limit"), 20,
	    "default via $default_destination_concurrency_limit");

	s = conf_expand("$mail_name/${b}");
	is_str(s, "Petrel/B", "conf_expand on free text");
	free(s);
}

static void
test_loops(void)
{
	ok(load("a = $b\nb = $a\n") < 0, "a = $b, b = $a refused");
	ok(strstr(err, "parameter a: expansion loop: a -> b -> a") != NULL,
	    "loop message names the parameter and the chain");
	diag(err);

	ok(load("self = x${self}\n") < 0, "self reference refused");
	ok(strstr(err, "self -> self") != NULL, "self loop chain");

	ok(load("myhostname = $smtp_helo_name\nsmtp_helo_name = $myhostname\n") < 0,
	    "loop through a parameter's default refused");

	ok(load("mydomain = $myhostname\n") == 0,
	    "mydomain = $myhostname is no loop at load time");
	ok(load("myhostname = h.example.com\nmydomain = $myhostname\n") == 0,
	    "... nor with myhostname set");
	is_str(conf_str("mydomain"), "h.example.com", "mydomain = $myhostname");

	ok(load("x = ${never?{$x}:{ok}}\n") == 0,
	    "reference in an untaken branch is no loop");
	is_str(conf_str("x"), "ok", "untaken branch");

	ok(load("a = ${b\n") < 0, "unmatched brace refused");
	ok(strstr(err, "parameter a") && strstr(err, "unmatched"), "unmatched message");

	ok(load("a = ${{1} ~~ {2}?{x}}\n") < 0, "unknown operator refused");

}

static void
test_lists(void)
{
	char *file = path_of("networks");
	char *text;

	ok(load("mydestination = a b,c ,, d\n") == 0, "list file");
	{
		static const char *const w[] = { "a", "b", "c", "d" };

		ok(list_is("mydestination", w, 4), "\"a b,c ,, d\" is four items");
	}
	ok(load("myhostname = host.example.com\n"
	    "mydestination = $myhostname, host.example.com, "
	    "localhost.example.com, , localhost\n") == 0, "Debian list");
	{
		static const char *const w[] = { "host.example.com", "host.example.com",
			"localhost.example.com", "localhost" };

		ok(list_is("mydestination", w, 4), "Debian's empty element vanishes");
	}

	write_file("networks", "# trusted\n192.168.0.0/16 172.16.0.0/12,\n\n"
	    "  [::1]/128\n");
	text = xasprintf("mynetworks = 10.0.0.0/8 %s\n"
	    "alternate_config_directories = %s\n"
	    "alias_maps = hash:/etc/aliases\n"
	    "relay_domains = %s/missing-file example.net\n", file, file, tmpdir);
	ok(load(text) == 0, "lists with files");
	free(text);
	{
		static const char *const w[] = { "10.0.0.0/8", "192.168.0.0/16",
			"172.16.0.0/12", "[::1]/128" };

		ok(list_is("mynetworks", w, 4), "/file element replaced by its words");
	}
	{
		const char *w[] = { file };

		ok(list_is("alternate_config_directories", w, 1),
		    "/path kept in a list that is not a pattern list");
	}
	{
		static const char *const w[] = { "hash:/etc/aliases" };

		ok(list_is("alias_maps", w, 1), "type:table kept");
	}
	{
		static const char *const w[] = { "example.net" };

		ok(list_is("relay_domains", w, 1), "unreadable file adds nothing");
	}
	{
		static const char *const w[] = { "permit_mynetworks",
			"permit_sasl_authenticated", "defer_unauth_destination" };

		ok(list_is("smtpd_relay_restrictions", w, 3), "default restriction list");
	}
	free(file);
}

static void
test_time_bool_int(void)
{
	is_int(conf_parse_time("10", 's'), 10, "bare number, unit s");
	is_int(conf_parse_time("5", 'd'), 5 * 86400, "bare number, unit d");
	is_int(conf_parse_time("5m", 'd'), 300, "m suffix");
	is_int(conf_parse_time("2h", 's'), 7200, "h suffix");
	is_int(conf_parse_time("1d", 's'), 86400, "d suffix");
	is_int(conf_parse_time("1w", 's'), 604800, "w suffix");
	is_int(conf_parse_time("0", 0), 0, "zero, no unit given");
	is_int(conf_parse_time("abc", 's'), -1, "letters refused");
	is_int(conf_parse_time("5x", 's'), -1, "bad unit refused");
	is_int(conf_parse_time("5mm", 's'), -1, "two units refused");
	is_int(conf_parse_time("", 's'), -1, "empty refused");
	is_int(conf_parse_time("-5", 's'), -1, "negative refused");
	is_int(conf_parse_time("99999999999999999999", 's'), -1, "overflow refused");
	is_int(conf_parse_time("9999999999999999", 'w'), -1, "overflow by unit refused");

	is_int(conf_parse_bool("yes"), 1, "yes");
	is_int(conf_parse_bool("YES"), 1, "YES");
	is_int(conf_parse_bool("True"), 1, "True");
	is_int(conf_parse_bool("no"), 0, "no");
	is_int(conf_parse_bool("FALSE"), 0, "FALSE");
	is_int(conf_parse_bool("1"), -1, "1 is not a boolean");
	is_int(conf_parse_bool(""), -1, "empty is not a boolean");

	ok(load("maximal_queue_lifetime = 5\n"
	    "bounce_queue_lifetime = 2\n"
	    "delay_warning_time = 4\n"
	    "queue_run_delay = 60\n"
	    "minimal_backoff_time = soon\n"
	    "biff = NO\n"
	    "soft_bounce = True\n"
	    "disable_vrfy_command = maybe\n"
	    "message_size_limit = 0\n"
	    "hopcount_limit = many\n") == 0, "typed values load");
	is_int(conf_time("maximal_queue_lifetime"), 5 * 86400,
	    "maximal_queue_lifetime = 5 is 5 days");
	is_int(conf_time("bounce_queue_lifetime"), 2 * 86400, "bounce_queue_lifetime in days");
	is_int(conf_time("delay_warning_time"), 4 * 3600, "delay_warning_time in hours");
	is_int(conf_time("queue_run_delay"), 60, "queue_run_delay in seconds");
	is_int(conf_time("minimal_backoff_time"), 300, "malformed time: default used");
	is_int(conf_time("maximal_backoff_time"), 4000, "default time");
	is_int(conf_bool("biff"), 0, "biff = NO");
	is_int(conf_bool("soft_bounce"), 1, "soft_bounce = True");
	is_int(conf_bool("disable_vrfy_command"), 0, "malformed boolean: default");
	is_int(conf_bool("append_at_myorigin"), 1, "default boolean");
	is_int(conf_int("message_size_limit"), 0, "message_size_limit = 0");
	is_int(conf_int("mailbox_size_limit"), 51200000, "default size");
	is_int(conf_int("hopcount_limit"), 50, "malformed number: default");
	is_int(conf_time("no_such_time_param"), 0, "unknown time parameter: 0");
}

static void
test_computed(void)
{
	char *mailname = path_of("mailname");
	char *text;
	const char *host, *dot;

	ok(load("myhostname = mx.example.org\n") == 0, "myhostname set");
	is_str(conf_str("mydomain"), "example.org", "mydomain from myhostname");
	is_str(conf_str("myorigin"), "mx.example.org", "myorigin default $myhostname");
	is_str(conf_str("mydestination"), "mx.example.org, localhost.example.org, localhost",
	    "mydestination default expanded");
	is_str(conf_str("smtpd_banner"), "mx.example.org ESMTP Petrel", "banner default");

	ok(load("myhostname = localhost\n") == 0, "dotless myhostname");
	is_str(conf_str("mydomain"), "localdomain", "mydomain localdomain without dot");

	ok(load("unrelated = 1\n") == 0, "myhostname unset");
	host = conf_str("myhostname");
	ok(host[0] != '\0' && strchr(host, '.') != NULL, "computed myhostname has a dot: %s",
	    host);
	dot = strchr(host, '.');
	is_str(conf_str("mydomain"), dot ? dot + 1 : "", "computed mydomain");
	ok(conf_raw("myhostname") != NULL, "conf_raw of computed parameter");
	is_str(conf_str("config_directory"), tmpdir, "config_directory is the directory read");
	ok(!conf_is_set("config_directory"), "... but not set");

	write_file("mailname", "  mail.example.net  \nsecond line\n");
	text = xasprintf("myhostname = mx.example.org\nmyorigin = %s\n"
	    "from_line = root@$myorigin\n", mailname);
	ok(load(text) == 0, "myorigin from a file");
	free(text);
	is_str(conf_raw("myorigin"), mailname, "raw myorigin is the path");
	is_str(conf_str("myorigin"), "mail.example.net", "first line of the file, trimmed");
	is_str(conf_str("from_line"), "root@mail.example.net", "$myorigin resolved too");

	text = xasprintf("myhostname = mx.example.org\nmyorigin = %s/no-mailname\n",
	    tmpdir);
	ok(load(text) == 0, "myorigin names a missing file");
	free(text);
	is_str(conf_str("myorigin"), "mx.example.org", "missing file: $myhostname");
	free(mailname);

	conf_load_defaults("/nonexistent/petrel");
	is_str(conf_dir(), "/nonexistent/petrel", "conf_load_defaults directory");
	is_str(conf_main_cf_path(), "/nonexistent/petrel/main.cf", "main.cf path");
	is_str(conf_raw("relayhost"), "", "defaults only");
	is_str(conf_str("config_directory"), PETREL_CONFIG_DIR_DEFAULT,
	    "defaults: config_directory is the built-in one");
}

static void
test_find_dir(void)
{
	char *s, *main_cf = path_of("main.cf"), *with_slash;

	write_file("main.cf", "x = 1\n");
	s = conf_find_dir(tmpdir);
	is_str(s, tmpdir, "argument directory");
	free(s);
	with_slash = xasprintf("%s//", tmpdir);
	s = conf_find_dir(with_slash);
	is_str(s, tmpdir, "trailing slashes dropped");
	free(s);
	free(with_slash);
	s = conf_find_dir(main_cf);
	is_str(s, tmpdir, "argument main.cf path: its directory");
	free(s);
	s = conf_find_dir("/nonexistent/dir/main.cf");
	is_str(s, "/nonexistent/dir", "missing main.cf path: its directory");
	free(s);
	setenv("PETREL_CONFIG_DIR", "/env/petrel", 1);
	s = conf_find_dir(tmpdir);
	is_str(s, tmpdir, "argument wins over the environment");
	free(s);
	s = conf_find_dir(NULL);
	is_str(s, "/env/petrel", "environment when no argument");
	free(s);
	s = conf_find_dir("");
	is_str(s, "/env/petrel", "empty argument counts as none");
	free(s);
	unsetenv("PETREL_CONFIG_DIR");
	s = conf_find_dir(NULL);
	is_str(s, PETREL_CONFIG_DIR_DEFAULT, "compiled-in default last");
	free(s);
	is_str(conf_default_dir(), PETREL_CONFIG_DIR_DEFAULT, "conf_default_dir");
	free(main_cf);
}

/* Last: overrides belong to the process and outlive conf_load(). */
static void
test_overrides(void)
{
	const char *before;
	char *copy;

	ok(load("ovb = B\novplain = x$ovb\n") == 0, "file for dependents");
	before = conf_str("ovplain");
	copy = xstrdup(before);
	conf_override("ovb", "O");
	is_str(conf_str("ovplain"), "xO", "override seen by dependents");
	is_str(before, copy, "pointer from before the override still valid");
	free(copy);

	ok(load("smtpd_tls_security_level = may\nrelay_helper = $smtpd_tls_security_level\n")
	    == 0, "file for overrides");
	conf_override("smtpd_tls_security_level", "encrypt");
	is_str(conf_str("smtpd_tls_security_level"), "encrypt", "override wins over main.cf");
	is_str(conf_str("relay_helper"), "encrypt", "override seen through $name");
	conf_override("ov_only_name", "v");
	ok(conf_is_set("ov_only_name"), "override counts as set");
	ok(load("smtpd_tls_security_level = none\n") == 0, "reload");
	is_str(conf_str("smtpd_tls_security_level"), "encrypt", "override survives conf_load");
	ok(load("a = $ov_loop\n") == 0, "override names are validated too");
	conf_override("ov_loop", "$a");
	is_str(conf_str("a"), "", "run-time loop yields \"\", no hang");
	ok(load("a = x$ov_loop\n") < 0, "a load that loops through an override is refused");
}

static void
cleanup(void)
{
	size_t i;

	for (i = 0; i < created.n; i++)
		unlink(created.v[i]);
	strv_free(&created);
	rmdir(tmpdir);
}

int
main(void)
{
	log_disable_sinks();
	log_to_stderr("conf_test");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_table();
	test_syntax();
	test_expansion();
	test_loops();
	test_lists();
	test_time_bool_int();
	test_computed();
	test_find_dir();
	test_overrides();
	cleanup();
	return done_testing();
}
