/*
 * map_cmd - `petrel map`: what Postfix's postmap does, on sendmail/maps.
 *
 *   petrel [-c DIR] map [-f] [type:]file ...        build file.db from file
 *   petrel [-c DIR] map [-f] -q KEY [type:]file ...  print KEY's value
 *   petrel [-c DIR] map [-f] -q - [type:]file ...    keys from stdin
 * (-c DIR is also accepted after "map", where postmap has it.)
 *
 * Types are hash and btree; a bare file name takes default_database_type.
 * -q also reads the other types of maps.h (regexp:, pcre:, texthash:,
 * inline:{...}, static:...), which have nothing to build.
 * -f keeps the case of keys (building and querying); by default they are
 * lowercased, as postmap does. With -q KEY the maps are searched in turn
 * and the first value found is printed; with -q - every line of the
 * standard input is a key, and "key<TAB>value" is printed for each one
 * found. Building prints nothing; warnings (a line without a value, a
 * duplicate key: the first is kept) name the file and line, as postmap's.
 *
 * Exit status, as postmap's: 0 when every map was built, or when the key
 * (at least one key with -q -) was found; 1 when not found, on a usage
 * error, or when a map cannot be read or built (the message says which:
 * "open database /etc/petrel/transport.db: No such file or directory").
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "map_cmd.h"
#include "maps.h"
#include "pbuf.h"
#include "xalloc.h"

#define MAP_EX_OK	0
#define MAP_EX_FAIL	1
#define MAP_KEY_MAX	(64 * 1024)	/* a key line read from stdin */

static int
map_usage(void)
{
	log_stderr_only("usage: petrel [-c config_dir] map [-f] [-c config_dir] [-q key|-] [type:]file ...\n");
	return MAP_EX_FAIL;
}

/* Looks key up in the maps in turn: 1 found (value printed), 0 not, -1 error (logged). */
static int
map_query_one(char **maps, int nmaps, const char *key, int fold, int with_key)
{
	char err[1024], *value;
	int i, rc;

	for (i = 0; i < nmaps; i++) {
		rc = maps_query(maps[i], key, fold, &value, err, sizeof(err));
		if (rc < 0) {
			log_error("%s", err);
			return -1;
		}
		if (rc == 1) {
			if (with_key)
				printf("%s\t%s\n", key, value);
			else
				printf("%s\n", value);
			free(value);
			return 1;
		}
	}
	return 0;
}

/* -q -: one key per line of stdin. */
static int
map_query_stdin(char **maps, int nmaps, int fold)
{
	struct pbuf line = PBUF_INIT;
	int c, found = 0, rc, failed = 0, toolong = 0;

	for (;;) {
		c = getchar();
		if (c == EOF && line.len == 0)
			break;
		if (c != EOF && c != '\n') {
			if (line.len < MAP_KEY_MAX)
				pbuf_putc(&line, c);
			else
				toolong = 1;
			continue;
		}
		if (toolong) {
			log_warn("standard input: key longer than %d bytes, ignored", MAP_KEY_MAX);
		} else if (memchr(pbuf_str(&line), '\0', line.len) == NULL) {
			rc = map_query_one(maps, nmaps, pbuf_str(&line), fold, 1);
			if (rc < 0) {
				failed = 1;
				break;
			}
			found |= rc;
		}
		pbuf_reset(&line);
		toolong = 0;
		if (c == EOF)
			break;
	}
	pbuf_free(&line);
	fflush(stdout);
	return failed || !found ? MAP_EX_FAIL : MAP_EX_OK;
}

int
map_cmd_main(int argc, char **argv, const char *config)
{
	const char *query = NULL;
	char err[1024], *dir, *cf;
	size_t n;
	int i = 1, fold = 1, rc = MAP_EX_OK;

	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "-q") == 0 && i + 1 < argc) {
			query = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-f") == 0) {
			fold = 0;
			i++;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[i + 1];	/* postmap -c config_dir */
			i += 2;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			return map_usage();
		}
	}
	if (i >= argc)
		return map_usage();

	/* Only default_database_type is read: a missing main.cf means defaults. */
	dir = conf_find_dir(config);
	cf = xasprintf("%s/main.cf", dir);
	if (access(cf, F_OK) < 0 && errno == ENOENT) {
		conf_load_defaults(dir);
	} else if (conf_load(dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		free(cf);
		free(dir);
		return MAP_EX_FAIL;
	}
	free(cf);
	free(dir);

	if (query != NULL && strcmp(query, "-") == 0) {
		rc = map_query_stdin(argv + i, argc - i, fold);
	} else if (query != NULL) {
		rc = map_query_one(argv + i, argc - i, query, fold, 0) == 1 ? MAP_EX_OK : MAP_EX_FAIL;
		fflush(stdout);
	} else {
		for (; i < argc; i++) {
			if (maps_build(argv[i], fold, &n, err, sizeof(err)) < 0) {
				log_error("%s", err);
				rc = MAP_EX_FAIL;
			}
		}
	}
	maps_close_all();
	return rc;
}
