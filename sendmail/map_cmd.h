/*
 * map_cmd - the `petrel map` command (Postfix's postmap); see map_cmd.c.
 */
#ifndef PETREL_MAP_CMD_H
#define PETREL_MAP_CMD_H

/*
 * argv[0] is "map"; config is petrel's -c argument (NULL when none).
 * Returns the exit status: 0, or 1 (not found, usage, a map error).
 */
int map_cmd_main(int argc, char **argv, const char *config);

#endif
