/*
 * mbox_test - the mailbox writers of local delivery: mbox format
 * (From_ line, >From quoting, Return-Path, Delivered-To, trailing blank
 * line), locking (fcntl and dot-lock contention end in 4.2.0 after the
 * bound), truncate-back when the file size limit stops a write, unsafe
 * files refused, Maildir tmp/ -> new/ with unique names, and the privs
 * and pipe runners (results over the pipe, time limits, sysexits).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "maildir.h"
#include "mbox.h"
#include "pbuf.h"
#include "pipe.h"
#include "privs.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define FIXED_TIME	1700000000	/* Tue Nov 14 22:13:20 2023 UTC */
#define NOBODY_ID	65534

static char tmpdir[] = "/tmp/mbox_test.XXXXXX";

static char *
path_in(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *
slurp(const char *path, size_t *len)
{
	char *data = NULL;

	if (fileio_read_file(path, &data, len, 0) < 0)
		return NULL;
	return data;
}

static double
now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void
test_format(void)
{
	struct pbuf out = PBUF_INIT;
	struct mbox_msg m;
	static const char content[] =
	    "Subject: hi\n\nFrom here\n>From there\nFrom\nFromage\nlast";

	memset(&m, 0, sizeof(m));
	m.sender = "alice@example.com";
	m.orig_to = "Bob@example.com";
	m.delivered_to = "bob@example.com";
	m.content = content;
	m.len = strlen(content);
	m.when = FIXED_TIME;
	mbox_format(&m, MBOX_F_MBOX, &out);
	is_str(pbuf_str(&out),
	    "From alice@example.com  Tue Nov 14 22:13:20 2023\n"
	    "Return-Path: <alice@example.com>\n"
	    "X-Original-To: Bob@example.com\n"
	    "Delivered-To: bob@example.com\n"
	    "Subject: hi\n\n>From here\n>From there\nFrom\nFromage\nlast\n\n",
	    "mbox format: From_ line, headers, >From quoting, final newline, blank line");

	pbuf_reset(&out);
	m.sender = "";
	m.orig_to = NULL;
	m.content = "A: b\n\nbody\n";
	m.len = strlen(m.content);
	mbox_format(&m, MBOX_F_MBOX, &out);
	is_str(pbuf_str(&out),
	    "From MAILER-DAEMON  Tue Nov 14 22:13:20 2023\nReturn-Path: <>\n"
	    "Delivered-To: bob@example.com\nA: b\n\nbody\n\n",
	    "null sender: MAILER-DAEMON in the From_ line, Return-Path: <>");

	pbuf_reset(&out);
	m.sender = "\"a b\"@x";
	m.content = "From x\n";
	m.len = strlen(m.content);
	mbox_format(&m, MBOX_F_FROM | MBOX_F_RETURN_PATH | MBOX_F_DELIVERED, &out);
	is_str(pbuf_str(&out),
	    "From \"a_b\"@x  Tue Nov 14 22:13:20 2023\nReturn-Path: <\"a b\"@x>\n"
	    "Delivered-To: bob@example.com\nFrom x\n",
	    "command form: no quoting, no blank line; a blank in the sender is _");
	pbuf_free(&out);
}

static struct privs_result
append(const char *path, const char *data, const struct mbox_opts *o)
{
	struct privs_result r;

	memset(&r, 0, sizeof(r));
	mbox_append(path, data, strlen(data), o, &r);
	return r;
}

static void
test_append(void)
{
	char *path = path_in("box"), *lock = path_in("box.lock"), *data;
	struct mbox_opts o;
	struct privs_result r;
	struct stat sb;
	size_t len;

	mbox_opts_init(&o);
	o.create_mode = 0600;
	r = append(path, "From a  x\nmsg1\n\n", &o);
	is_int(r.status, PRIVS_SENT, "first append delivers");
	is_str(r.dsn, "2.0.0", "dsn 2.0.0");
	is_str(r.text, "delivered to mailbox", "text");
	r = append(path, "From b  y\nmsg2\n\n", &o);
	is_int(r.status, PRIVS_SENT, "second append delivers");
	data = slurp(path, &len);
	is_str(data, "From a  x\nmsg1\n\nFrom b  y\nmsg2\n\n", "both messages, in order");
	free(data);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600, "created with mode 0600");
	ok(access(lock, F_OK) < 0 && errno == ENOENT, "dot-lock removed afterwards");
	free(path);
	free(lock);
}

static void
test_truncate(void)
{
	char *path = path_in("full"), *data, *big;
	struct mbox_opts o;
	struct privs_result r;
	size_t len, n = 20000;

	mbox_opts_init(&o);
	r = append(path, "From a  x\nfirst\n\n", &o);
	is_int(r.status, PRIVS_SENT, "seed message");
	big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	o.size_limit = 4096;	/* a partial write happens, then EFBIG */
	r = append(path, big, &o);
	is_int(r.status, PRIVS_BOUNCE, "over mailbox_size_limit: bounce");
	is_str(r.dsn, "5.2.2", "dsn 5.2.2 (mailbox full)");
	ok(strstr(r.text, "File too large") != NULL, "text says why: %s", r.text);
	data = slurp(path, &len);
	is_str(data, "From a  x\nfirst\n\n", "truncated back: the mailbox is as before");
	is_int(len, strlen("From a  x\nfirst\n\n"), "size as before");
	free(data);
	o.size_limit = 0;
	r = append(path, "From b  y\nafter\n\n", &o);
	is_int(r.status, PRIVS_SENT, "the limit is gone again after the call");
	free(big);
	free(path);
}

static void
test_fcntl_contention(void)
{
	char *path = path_in("locked");
	struct mbox_opts o;
	struct privs_result r;
	struct flock fl;
	int p[2], fd, st;
	char c;
	pid_t pid;
	double t0, dt;

	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	if (pipe(p) < 0)
		return;
	if ((pid = fork()) == 0) {
		fd = open(path, O_WRONLY);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) < 0)
			_exit(1);
		(void)!write(p[1], "x", 1);
		sleep(30);
		_exit(0);
	}
	close(p[1]);
	(void)!read(p[0], &c, 1);
	close(p[0]);
	mbox_opts_init(&o);
	o.lock_wait_ms = 1000;
	t0 = now_s();
	r = append(path, "From a  x\nm\n\n", &o);
	dt = now_s() - t0;
	is_int(r.status, PRIVS_DEFER, "fcntl lock held by another process: defer");
	is_str(r.dsn, "4.2.0", "dsn 4.2.0");
	ok(strstr(r.text, "locked") != NULL, "text says locked: %s", r.text);
	ok(dt >= 0.9 && dt < 3.0, "gave up after the bound (%.2f s)", dt);
	{
		char *lock = xasprintf("%s.lock", path);

		ok(access(lock, F_OK) < 0, "its own dot-lock is removed");
		free(lock);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	r = append(path, "From a  x\nm\n\n", &o);
	is_int(r.status, PRIVS_SENT, "delivered once the lock is gone");
	free(path);
}

static void
test_dotlock(void)
{
	char *path = path_in("dl"), *lock = path_in("dl.lock");
	struct mbox_opts o;
	struct privs_result r;
	struct timespec old[2];
	int fd;
	double t0, dt;

	mbox_opts_init(&o);
	o.lock_wait_ms = 800;
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0);
	close(fd);
	t0 = now_s();
	r = append(path, "From a  x\nm\n\n", &o);
	dt = now_s() - t0;
	is_int(r.status, PRIVS_DEFER, "fresh dot-lock of another program: defer");
	is_str(r.dsn, "4.2.0", "dsn 4.2.0");
	ok(dt >= 0.7 && dt < 3.0, "after the bound (%.2f s)", dt);
	ok(access(lock, F_OK) == 0, "the other program's lock is left alone");
	old[0].tv_sec = old[1].tv_sec = time(NULL) - MBOX_DOTLOCK_STALE - 60;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	utimensat(AT_FDCWD, lock, old, 0);
	r = append(path, "From a  x\nm\n\n", &o);
	is_int(r.status, PRIVS_SENT, "a stale dot-lock is removed and delivery goes on");
	ok(access(lock, F_OK) < 0, "no lock left");
	free(path);
	free(lock);
}

static void
test_unsafe(void)
{
	char *target = path_in("target"), *link1 = path_in("symlink");
	char *hard = path_in("hard"), *dir = path_in("adir");
	char *dir_other = path_in("other");
	struct mbox_opts o;
	struct privs_result r;
	size_t len;
	char *data;
	int fd;

	fd = open(target, O_WRONLY | O_CREAT, 0600);
	close(fd);
	(void)!symlink(target, link1);
	(void)!link(target, hard);
	mkdir(dir, 0700);
	mbox_opts_init(&o);
	r = append(link1, "x\n", &o);
	is_int(r.status, PRIVS_BOUNCE, "symlinked mailbox refused");
	is_str(r.dsn, "5.2.0", "dsn 5.2.0");
	r = append(hard, "x\n", &o);
	is_int(r.status, PRIVS_BOUNCE, "hard-linked mailbox refused");
	ok(strstr(r.text, "hard link") != NULL, "text: %s", r.text);
	o.dotlock = MBOX_DOTLOCK_NONE;
	r = append(dir, "x\n", &o);
	is_int(r.status, PRIVS_BOUNCE, "a directory is refused");
	data = slurp(target, &len);
	is_int(len, 0, "target untouched");
	free(data);
	o.allow_special = 1;
	r = append("/dev/null", "x\n", &o);
	is_int(r.status, PRIVS_SENT, "/dev/null accepted as a special file");
	o.allow_special = 0;
	o.want_owner = getuid() + 1;
	r = append(dir_other, "x\n", &o);
	is_int(r.status, PRIVS_DEFER, "mailbox not owned by the recipient: defer");
	free(target);
	free(link1);
	free(hard);
	free(dir);
	free(dir_other);
}

static int
count_dir(const char *path, struct strv *names)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (names)
			strv_add(names, de->d_name);
	}
	closedir(d);
	return n;
}

static void
test_maildir(void)
{
	char *md = path_in("Maildir/"), *newd = path_in("Maildir/new");
	char *tmpd = path_in("Maildir/tmp"), *curd = path_in("Maildir/cur");
	struct strv names = STRV_INIT, uniq = STRV_INIT;
	struct privs_result r;
	struct pbuf b = PBUF_INIT;
	char *data, *p;
	size_t len, i;
	int good = 1;
	struct stat sb;

	for (i = 0; i < 3; i++) {
		pbuf_reset(&b);
		pbuf_printf(&b, "Subject: m%zu\n\nbody\n", i);
		maildir_deliver(md, b.data, b.len, 0, &r);
		if (r.status != PRIVS_SENT)
			good = 0;
	}
	ok(good, "three Maildir deliveries");
	is_str(r.text, "delivered to maildir", "text");
	is_int(count_dir(newd, &names), 3, "three files in new/");
	is_int(count_dir(tmpd, NULL), 0, "tmp/ is empty");
	is_int(count_dir(curd, NULL), 0, "cur/ exists and is empty");
	ok(names.n == 3 && strcmp(names.v[0], names.v[1]) && strcmp(names.v[1], names.v[2])
	    && strcmp(names.v[0], names.v[2]), "names differ");
	ok(names.n == 3 && strstr(names.v[0], ",S=") != NULL, "name carries the size");
	p = xasprintf("%s/%s", newd, names.v[0]);
	data = slurp(p, &len);
	ok(data && strncmp(data, "Subject: m", 10) == 0 && strstr(data, "\n\nbody\n"),
	    "content as given");
	ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == MAILDIR_FILE_MODE, "mode 0600");
	free(data);
	free(p);
	for (i = 0; i < 1000; i++) {
		pbuf_reset(&b);
		maildir_unique_name(&b);
		if (strv_find(&uniq, pbuf_str(&b), 0) >= 0)
			break;
		strv_add(&uniq, pbuf_str(&b));
	}
	is_int(uniq.n, 1000, "1000 unique names in one process");
	p = path_in("nodir/sub/Maildir/");
	maildir_deliver(p, "x\n", 2, 0, &r);
	free(p);
	is_int(r.status, PRIVS_DEFER, "missing parent directory: defer");
	pbuf_reset(&b);
	for (i = 0; i < 5000; i++)
		pbuf_puts(&b, "0123456789\n");
	maildir_deliver(md, b.data, b.len, 1000, &r);
	is_str(r.dsn, "5.2.2", "Maildir over the size limit: 5.2.2");
	is_int(count_dir(newd, NULL), 3, "nothing added to new/");
	is_int(count_dir(tmpd, NULL), 0, "nothing left in tmp/");
	strv_free(&names);
	strv_free(&uniq);
	pbuf_free(&b);
	free(md);
	free(newd);
	free(tmpd);
	free(curd);
}

static void
fn_ok(void *ctx, struct privs_result *res)
{
	privs_result_set(res, PRIVS_BOUNCE, "5.1.1", "from child %d", *(int *)ctx);
}

static void
fn_sleep(void *ctx, struct privs_result *res)
{
	(void)ctx;
	(void)res;
	sleep(30);
}

static void
fn_crash(void *ctx, struct privs_result *res)
{
	(void)ctx;
	(void)res;
	raise(SIGKILL);
}

static void
fn_whoami(void *ctx, struct privs_result *res)
{
	(void)ctx;
	privs_result_set(res, PRIVS_SENT, "2.0.0", "%lu:%lu:%d",
	    (unsigned long)getuid(), (unsigned long)getgid(), setuid(0) == 0);
}

static void
test_privs(void)
{
	struct privs_cred c;
	struct privs_result r;
	struct pbuf b = PBUF_INIT;
	struct stat st;
	char err[256], *p;
	int v = 42, en;
	double t0;

	privs_cred_keep(&c);
	privs_run(&c, 5000, fn_ok, &v, &r);
	is_int(r.status, PRIVS_BOUNCE, "privs_run: the child's status");
	is_str(r.text, "from child 42", "privs_run: the child's text");
	t0 = now_s();
	privs_run(&c, 500, fn_sleep, NULL, &r);
	is_int(r.status, PRIVS_DEFER, "privs_run: timeout defers");
	ok(now_s() - t0 < 3.0 && strstr(r.text, "timed out"), "killed on time: %s", r.text);
	privs_run(&c, 5000, fn_crash, NULL, &r);
	is_int(r.status, PRIVS_DEFER, "privs_run: a crash defers");
	ok(strstr(r.text, "signal 9") != NULL, "text: %s", r.text);
	if (privs_is_root()) {
		privs_cred_set(&c, NOBODY_ID, NOBODY_ID);
		privs_run(&c, 5000, fn_whoami, NULL, &r);
		is_str(r.text, "65534:65534:0", "dropped to nobody, root not regained");
	} else {
		ok(1, "# skip dropping privileges needs root");
	}
	p = path_in("readme");
	fileio_replace(p, "a, b\n", 5, 0644);
	privs_cred_keep(&c);
	ok(privs_read_file(&c, p, 100, &b, &st, &en, err, sizeof(err)) == 0
	    && strcmp(pbuf_str(&b), "a, b\n") == 0, "privs_read_file reads");
	ok(privs_read_file(&c, p, 2, &b, &st, &en, err, sizeof(err)) < 0 && en == EFBIG,
	    "privs_read_file limit");
	free(p);
	p = path_in("missing");
	ok(privs_read_file(&c, p, 100, &b, &st, &en, err, sizeof(err)) < 0 && en == ENOENT,
	    "privs_read_file ENOENT: %s", err);
	free(p);
	if (privs_is_root()) {
		privs_cred_set(&c, NOBODY_ID, NOBODY_ID);
		p = path_in("secret");
		fileio_replace(p, "x", 1, 0600);
		ok(privs_read_file(&c, p, 100, &b, &st, &en, err, sizeof(err)) < 0
		    && en == EACCES, "read as nobody: EACCES (%s)", err);
		pbuf_reset(&b);
		chmod(p, 0644);
		ok(privs_read_file(&c, p, 100, &b, &st, &en, err, sizeof(err)) == 0
		    && strcmp(pbuf_str(&b), "x") == 0, "read as nobody through the pipe");
		free(p);
	} else {
		ok(1, "# skip reading as another user needs root");
		ok(1, "# skip reading as another user needs root");
	}
	pbuf_free(&b);
}

static void
run_cmd(const char *cmd, unsigned long limit_ms, struct privs_result *r)
{
	static char *env[] = { (char *)"PATH=/usr/bin:/bin", (char *)"SENDER=a@b", NULL };
	struct pipe_req q;

	memset(&q, 0, sizeof(q));
	q.command = cmd;
	q.env = env;
	q.cwd = tmpdir;
	q.data = "Subject: x\n\nhello\n";
	q.len = strlen(q.data);
	q.time_limit_ms = limit_ms;
	pipe_run(&q, r);
}

static void
test_pipe(void)
{
	struct privs_result r;
	char *out = path_in("cmd.out"), *data, *cmd, *p;
	struct privs_cred c;
	struct pipe_req q;
	size_t len;
	double t0;

	cmd = xasprintf("cat > %s; echo \"$SENDER\" >> %s; pwd >> %s", out, out, out);
	run_cmd(cmd, 5000, &r);
	is_int(r.status, PRIVS_SENT, "command exit 0: sent");
	ok(strncmp(r.text, "delivered to command: ", 22) == 0, "text: %s", r.text);
	data = slurp(out, &len);
	p = xasprintf("Subject: x\n\nhello\na@b\n%s\n", tmpdir);
	is_str(data, p, "stdin is the message, env and cwd as given");
	free(p);
	free(data);
	free(cmd);
	run_cmd("exit 75", 5000, &r);
	is_int(r.status, PRIVS_DEFER, "exit 75: defer");
	is_str(r.dsn, "4.3.0", "dsn 4.3.0");
	run_cmd("echo no such user >&2; exit 67", 5000, &r);
	is_int(r.status, PRIVS_BOUNCE, "exit 67: bounce");
	is_str(r.dsn, "5.1.1", "dsn 5.1.1");
	ok(strstr(r.text, "no such user") != NULL, "output in the text: %s", r.text);
	run_cmd("echo 4.2.1 try later; exit 1", 5000, &r);
	is_int(r.status, PRIVS_DEFER, "enhanced status code in the output decides");
	is_str(r.dsn, "4.2.1", "dsn from the output");
	run_cmd("exit 1", 5000, &r);
	is_int(r.status, PRIVS_BOUNCE, "unknown exit code: bounce");
	is_str(r.dsn, "5.3.0", "dsn 5.3.0");
	run_cmd("exec 0<&-; exit 0", 5000, &r);
	is_int(r.status, PRIVS_SENT, "a command that does not read its input is fine");
	t0 = now_s();
	run_cmd("sleep 30", 500, &r);
	is_int(r.status, PRIVS_BOUNCE, "over the time limit: bounce");
	ok(now_s() - t0 < 3.0 && strstr(r.text, "time limit"), "killed on time: %s", r.text);
	t0 = now_s();
	run_cmd("sleep 30 & exit 0", 5000, &r);
	is_int(r.status, PRIVS_SENT, "a background child holding the output does not block");
	ok(now_s() - t0 < 4.0, "returned after the drain wait (%.2f s)", now_s() - t0);
	privs_cred_keep(&c);
	memset(&q, 0, sizeof(q));
	q.command = "kill -9 $$";
	q.env = (char *[]){ NULL };
	q.data = "";
	q.time_limit_ms = 5000;
	pipe_deliver(&c, &q, &r);
	is_int(r.status, PRIVS_DEFER, "killed by a signal: defer");
	data = pipe_filter("a;b`c$d e@f.g+h", "abcdefgh@.+");
	is_str(data, "a_b_c_d_e@f.g+h", "pipe_filter replaces other bytes by _");
	free(data);
	free(out);
}

static void
test_split(void)
{
	struct privs_cred lock, write;
	struct mbox_opts o;
	struct privs_result r;
	struct stat sb;
	char *dir = path_in("spool"), *path = path_in("spool/nobody"), *data;
	size_t len;

	if (!privs_is_root()) {
		ok(1, "# skip privilege split needs root");
		ok(1, "# skip privilege split needs root");
		ok(1, "# skip privilege split needs root");
		return;
	}
	mkdir(dir, 0755);	/* root-only spool: lock and create as root */
	privs_cred_set(&lock, 0, 0);
	privs_cred_set(&write, NOBODY_ID, NOBODY_ID);
	mbox_opts_init(&o);
	o.create_uid = NOBODY_ID;
	o.create_gid = NOBODY_ID;
	o.want_owner = NOBODY_ID;
	mbox_deliver(path, "From a  x\nm\n\n", 13, &o, &lock, &write, 10000, &r);
	is_int(r.status, PRIVS_SENT, "split delivery: %s", r.text);
	ok(stat(path, &sb) == 0 && sb.st_uid == NOBODY_ID && (sb.st_mode & 0777) == 0600,
	    "created for the recipient, mode 0600");
	data = slurp(path, &len);
	is_str(data, "From a  x\nm\n\n", "content");
	free(data);
	free(dir);
	free(path);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	log_disable_sinks();
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	chmod(tmpdir, 0755);
	test_format();
	test_append();
	test_truncate();
	test_fcntl_contention();
	test_dotlock();
	test_unsafe();
	test_maildir();
	test_privs();
	test_pipe();
	test_split();
	{
		char *cmd = xasprintf("rm -rf %s", tmpdir);

		(void)!system(cmd);
		free(cmd);
	}
	return done_testing();
}
