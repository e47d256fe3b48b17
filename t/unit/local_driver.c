/*
 * local_driver - test driver for local delivery (not a TAP test).
 *
 * Usage: local_driver QUEUEFILE...
 * Loads the configuration ($PETREL_CONFIG_DIR, as every Petrel command),
 * reads each queue file by path and calls local_deliver() for every
 * recipient still to do, printing one line per recipient:
 *   ADDRESS<TAB>sent|deferred|bounced<TAB>DSN<TAB>TEXT
 * Exit status: 0, or 1 when a file cannot be read, 2 on usage errors.
 * The queue file is not changed (the queue manager marks recipients).
 *
 * t/e2e/local.t runs it as root, the way the queue manager's local
 * delivery runs, until the queue manager calls local_deliver itself.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "instance.h"
#include "local.h"
#include "log.h"
#include "pbuf.h"
#include "qfile.h"
#include "qmgr.h"

/* The real one lives with the queue manager; the driver has none to wake. */
__attribute__((weak)) void
qmgr_wake(char what)
{
	(void)what;
}

static const char *
status_word(enum local_status s)
{
	switch (s) {
	case LOCAL_SENT:
		return "sent";
	case LOCAL_BOUNCE:
		return "bounced";
	default:
		return "deferred";
	}
}

int
main(int argc, char **argv)
{
	char err[512];
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: local_driver QUEUEFILE...\n");
		return 2;
	}
	log_init("local");
	if (instance_load(NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "local_driver: %s\n", err);
		return 1;
	}
	(void)aliases_check_fresh();
	for (i = 1; i < argc; i++) {
		struct qenv env;
		struct pbuf content = PBUF_INIT;
		enum qfile_status st;
		size_t r;
		int fd;

		qenv_init(&env);
		if ((fd = open(argv[i], O_RDONLY)) < 0) {
			perror(argv[i]);
			rc = 1;
			continue;
		}
		st = qfile_read_fd(fd, &env, &content, err, sizeof(err));
		close(fd);
		if (st != QFILE_OK) {
			fprintf(stderr, "local_driver: %s: %s\n", argv[i], err);
			rc = 1;
			qenv_free(&env);
			pbuf_free(&content);
			continue;
		}
		for (r = 0; r < env.nrcpt; r++) {
			struct local_result res;

			if (env.rcpt[r].state != QR_TODO)
				continue;
			local_deliver(&env, pbuf_str(&content), content.len,
			    &env.rcpt[r], &res);
			printf("%s\t%s\t%s\t%s\n", env.rcpt[r].addr, status_word(res.status),
			    res.dsn, res.text);
			fflush(stdout);
		}
		qenv_free(&env);
		pbuf_free(&content);
	}
	return rc;
}
