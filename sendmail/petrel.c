/*
 * petrel - the control command: what postfix(1) and postconf(1) do.
 *
 *   petrel [-c DIR] [-v] start | start-fg | stop | abort | reload | flush |
 *                        status | check
 *   petrel [-c DIR] conf [postconf options] ...
 *   petrel [-c DIR] queue show ID | list [-j|-p] | delete|hold|release|requeue ID...|-|ALL [QUEUE...]
 *   petrel [-c DIR] map [-f] [-q KEY|-] [type:]file ...   (postmap)
 *
 * Messages go to stderr and syslog as "petrel/petrel-script: ...", with
 * "fatal:" / "warning:" where Postfix has them. The verbs that change the
 * instance are for root or the owner of queue_directory (an unprivileged
 * instance); anyone may ask status, flush or conf.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "control.h"
#include "instance.h"
#include "log.h"
#include "map_cmd.h"
#include "postconf.h"
#include "queue_cmd.h"

#define PETREL_SCRIPT	"petrel-script"

static void
petrel_usage(void)
{
	log_stderr_only("usage: petrel [-c config_dir] [-v] command\n"
	    "commands: start start-fg stop abort reload flush status check\n"
	    "          conf [postconf options] [name[=value] ...]\n"
	    "          queue show ID | list [-j|-p] | delete|hold|release|requeue ID...|ALL\n"
	    "          map [-f] [-q key|-] [type:]file ...\n");
	exit(1);
}

static int
petrel_admin_only(const char *verb)
{
	if (!instance_is_admin()) {
		log_fatal("the petrel %s command is reserved for the superuser", verb);
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	const char *config = NULL, *verb;
	char err[1024];
	int i = 1;

	log_init(PETREL_SCRIPT);
	log_to_stderr("petrel/" PETREL_SCRIPT);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2]) {
			config = argv[i] + 2;
			i++;
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-D") == 0) {
			i++;
		} else {
			petrel_usage();
		}
	}
	if (i >= argc)
		petrel_usage();
	verb = argv[i];

	if (strcmp(verb, "conf") == 0)
		return postconf_main(argc - i, argv + i, config);
	if (strcmp(verb, "map") == 0)
		return map_cmd_main(argc - i, argv + i, config);

	if (instance_load(config, err, sizeof(err)) < 0)
		log_fatal("%s", err);

	if (strcmp(verb, "status") == 0)
		return control_status();
	if (strcmp(verb, "flush") == 0)
		return control_flush();
	if (strcmp(verb, "queue") == 0)
		return petrel_admin_only(verb) ? queue_cmd_main(argc - i, argv + i,
		    instance_queue_dir()) : 1;
	if (!petrel_admin_only(verb))
		return 1;
	if (strcmp(verb, "start") == 0)
		return control_start(0);
	if (strcmp(verb, "start-fg") == 0)
		return control_start(1);
	if (strcmp(verb, "stop") == 0)
		return control_stop();
	if (strcmp(verb, "abort") == 0)
		return control_abort();
	if (strcmp(verb, "reload") == 0)
		return control_reload();
	if (strcmp(verb, "check") == 0)
		return control_check();
	log_fatal("unknown command: \"%s\"", verb);
	petrel_usage();
	return 1;
}
