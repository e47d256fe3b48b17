/*
 * postconf - `petrel conf`: show and edit main.cf the way postconf(1) does.
 *
 * postconf_main() runs the subcommand: argv[0] is "conf", the rest its
 * options and arguments (spec/config.md §4); config_dir_arg is the -c DIR
 * given to `petrel` before the verb, or NULL. It returns the exit status
 * (0, or 1 after a message on stderr).
 *
 * postconf_warn_unused() prints, for the configuration already loaded
 * (conf_load), one stderr line per main.cf setting Petrel will not use:
 *   PROG: warning: /etc/petrel/main.cf: unused parameter: name=value
 *   PROG: warning: /etc/petrel/main.cf: parameter not supported by Petrel: name=value
 * A name that is not in the parameter table counts as used when main.cf
 * or master.cf refers to it as $name (a user's own variable), when
 * smtpd_restriction_classes lists it, or when it is a per-transport
 * setting (SERVICE_destination_concurrency_limit, ...) of a master.cf
 * service. `petrel check` calls it with PROG "petrel check".
 */
#ifndef PETREL_POSTCONF_H
#define PETREL_POSTCONF_H

int postconf_main(int argc, char **argv, const char *config_dir_arg);
void postconf_warn_unused(const char *prog);

#endif
