/*
 * fuzz_conf - libFuzzer target for the main.cf parser and $name expansion
 * (lib/conf.c).
 *
 * Each input is written as main.cf into a private temp directory and
 * loaded; when it loads, every parameter it sets is expanded and split as
 * a list, and a few computed defaults are read. Nothing may crash, hang
 * (expansion loops must be refused) or leak.
 *
 * Built and run by `make fuzz` (t/fuzz/run.sh).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024], path[128];
	struct strv names = STRV_INIT;
	size_t i;

	if (fuzz_dir[0] == '\0') {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/fuzz_conf.XXXXXX");
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
		log_disable_sinks();
	}
	snprintf(path, sizeof(path), "%s/main.cf", fuzz_dir);
	{
		/* No fsync: durability does not matter here, speed does. */
		FILE *f = fopen(path, "w");

		if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
			abort();
	}
	if (conf_load(fuzz_dir, err, sizeof(err)) < 0)
		return 0;
	conf_names_set(&names);
	for (i = 0; i < names.n; i++) {
		struct strv list = STRV_INIT;
		char *x;

		(void)conf_str(names.v[i]);
		(void)conf_raw(names.v[i]);
		conf_list(names.v[i], &list);
		strv_free(&list);
		x = conf_expand(names.v[i]);
		free(x);
	}
	(void)conf_time("maximal_queue_lifetime");
	(void)conf_bool("append_at_myorigin");
	(void)conf_int("message_size_limit");
	(void)conf_str("myorigin");
	strv_free(&names);
	return 0;
}
