/*
 * check - petrel check: the configuration, the queue's directories and
 * files, their owners and modes. Missing directories are created (as
 * Postfix's check does); a wrong owner or mode is a fault, reported with
 * the command that fixes it.
 */
#ifndef PETREL_CHECK_H
#define PETREL_CHECK_H

/* Runs every check; returns the number of faults (0 = healthy). */
int check_run(void);

/* Creates the queue directories that are missing (used by petrel start). */
int check_create_dirs(void);

#endif
