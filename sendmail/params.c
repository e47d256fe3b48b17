/*
 * params - the table of every main.cf parameter Petrel knows.
 *
 * One entry per parameter, sorted by name (conf_param_find() searches it
 * by bisection; t/unit/conf_test checks the order). The default is
 * Postfix 3.7's as `postconf -d` prints it, taken at
 * compatibility_level = 3.6: where Postfix writes a
 * ${{$compatibility_level} <level {N} ? ...} expression, the table holds
 * the value that expression gives at 3.6 (append_dot_mydomain = no,
 * relay_domains empty, mynetworks_style = host, smtputf8_enable = yes,
 * smtpd_relay_restrictions = permit_mynetworks, ...). Paths come from the
 * build (PETREL_*_DEFAULT, set by the Makefile from ./configure).
 *
 * Entries marked [Petrel] deviate from Postfix on purpose, or exist only
 * in Petrel:
 *   mailq_output_format   sendmail | postfix: the mailq layout
 *   alias_auto_rebuild    build a missing aliases.db before local delivery
 *   dns_nameservers       resolvers that replace /etc/resolv.conf's
 *   undisclosed_recipients_header  on by default (Postfix >= 2.8: off)
 *   smtpd_tls_received_header  on by default (Postfix: off)
 *   smtpd_tls_auth_only   on by default (Postfix: off): no passwords in clear
 * (maillog_file is Postfix's own, 3.4 and later.)
 *
 * CONF_F_COMPUTED: the default is worked out at run time by lib/conf.c
 * (myhostname, mydomain); `def` is then unused.
 * CONF_F_UNSUPPORTED: a Postfix parameter Petrel knows and ignores;
 * `petrel conf` and `petrel check` say "parameter not supported by
 * Petrel" when main.cf sets it, instead of "unused parameter".
 * CONF_F_MATCHLIST: a pattern list (mydestination, mynetworks, ...): a
 * /file/name element is replaced by the words of that file.
 * CONF_TIME entries carry the unit of a bare number, which is the unit
 * of the default as in Postfix (maximal_queue_lifetime = 5 means 5 days).
 *
 * API: conf_params[] (NULL-terminated), conf_param_find(name) -> entry or
 * NULL.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "conf.h"

#ifdef PACKAGE_VERSION
#define PETREL_MAIL_VERSION	PACKAGE_VERSION
#else
#define PETREL_MAIL_VERSION	"0.1.0"
#endif

const struct conf_param conf_params[] = {
	{ "2bounce_notice_recipient", "postmaster", CONF_STR, 0, 0 },
	{ "access_map_defer_code", "450", CONF_INT, 0, 0 },
	{ "access_map_reject_code", "554", CONF_INT, 0, 0 },
	{ "address_verify_map", "btree:$data_directory/verify_cache", CONF_STR, 0, CONF_F_UNSUPPORTED },
	/* [Petrel] Petrel only: build a missing aliases.db before local delivery (DESIGN.md) */
	{ "alias_auto_rebuild", "yes", CONF_BOOL, 0, 0 },
	{ "alias_database", "hash:/etc/aliases", CONF_LIST, 0, 0 },
	/* [Petrel] Postfix (Linux, NIS): hash:/etc/aliases, nis:mail.aliases */
	{ "alias_maps", "hash:/etc/aliases", CONF_LIST, 0, 0 },
	{ "allow_mail_to_commands", "alias, forward", CONF_LIST, 0, 0 },
	{ "allow_mail_to_files", "alias, forward", CONF_LIST, 0, 0 },
	{ "alternate_config_directories", "", CONF_LIST, 0, 0 },
	{ "always_add_missing_headers", "no", CONF_BOOL, 0, CONF_F_UNSUPPORTED },
	{ "always_bcc", "", CONF_STR, 0, 0 },
	{ "append_at_myorigin", "yes", CONF_BOOL, 0, 0 },
	{ "append_dot_mydomain", "no", CONF_BOOL, 0, 0 },
	{ "authorized_flush_users", "static:anyone", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "authorized_mailq_users", "static:anyone", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "authorized_submit_users", "static:anyone", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "biff", "yes", CONF_BOOL, 0, 0 },
	{ "body_checks", "", CONF_LIST, 0, 0 },
	{ "body_checks_size_limit", "51200", CONF_INT, 0, 0 },
	{ "bounce_notice_recipient", "postmaster", CONF_STR, 0, 0 },
	{ "bounce_queue_lifetime", "5d", CONF_TIME, 'd', 0 },
	{ "bounce_size_limit", "50000", CONF_INT, 0, 0 },
	{ "broken_sasl_auth_clients", "no", CONF_BOOL, 0, 0 },
	{ "canonical_classes", "envelope_sender, envelope_recipient, header_sender, header_recipient", CONF_LIST, 0, 0 },
	{ "canonical_maps", "", CONF_LIST, 0, 0 },
	/* [Petrel] Postfix: /usr/sbin */
	{ "command_directory", PETREL_COMMAND_DIR_DEFAULT, CONF_STR, 0, 0 },
	{ "command_execution_directory", "", CONF_STR, 0, 0 },
	{ "command_expansion_filter", "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", CONF_STR, 0, 0 },
	{ "command_time_limit", "1000s", CONF_TIME, 's', 0 },
	/* [Petrel] Postfix 3.7: 0 */
	{ "compatibility_level", "3.6", CONF_STR, 0, 0 },
	/* [Petrel] Postfix: /etc/postfix */
	{ "config_directory", PETREL_CONFIG_DIR_DEFAULT, CONF_STR, 0, 0 },
	{ "content_filter", "", CONF_STR, 0, CONF_F_UNSUPPORTED },
	/* [Petrel] Postfix (Debian): /usr/lib/postfix/sbin */
	{ "daemon_directory", PETREL_DAEMON_DIR_DEFAULT, CONF_STR, 0, 0 },
	/* [Petrel] Postfix: /var/lib/postfix */
	{ "data_directory", PETREL_DATA_DIR_DEFAULT, CONF_STR, 0, 0 },
	{ "debug_peer_level", "2", CONF_INT, 0, 0 },
	{ "debug_peer_list", "", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "default_database_type", "hash", CONF_STR, 0, 0 },
	{ "default_destination_concurrency_failed_cohort_limit", "1", CONF_INT, 0, 0 },
	{ "default_destination_concurrency_limit", "20", CONF_INT, 0, 0 },
	{ "default_destination_recipient_limit", "50", CONF_INT, 0, 0 },
	{ "default_privs", "nobody", CONF_STR, 0, 0 },
	{ "default_process_limit", "100", CONF_INT, 0, 0 },
	{ "default_transport", "smtp", CONF_STR, 0, 0 },
	{ "delay_notice_recipient", "postmaster", CONF_STR, 0, 0 },
	{ "delay_warning_time", "0h", CONF_TIME, 'h', 0 },
	{ "disable_dns_lookups", "no", CONF_BOOL, 0, CONF_F_UNSUPPORTED },
	{ "disable_mime_output_conversion", "no", CONF_BOOL, 0, 0 },
	{ "disable_vrfy_command", "no", CONF_BOOL, 0, 0 },
	/* [Petrel] Petrel only: name servers that replace those of /etc/resolv.conf
	 * (a.b.c.d[:port], IPv6 or [IPv6][:port], at most 3; sendmail/dns.c) */
	{ "dns_nameservers", "", CONF_LIST, 0, 0 },
	{ "double_bounce_sender", "double-bounce", CONF_STR, 0, 0 },
	{ "empty_address_recipient", "MAILER-DAEMON", CONF_STR, 0, 0 },
	{ "empty_address_relayhost_maps_lookup_key", "<>", CONF_STR, 0, 0 },
	{ "enable_long_queue_ids", "no", CONF_BOOL, 0, CONF_F_UNSUPPORTED },
	{ "enable_original_recipient", "yes", CONF_BOOL, 0, 0 },
	{ "error_notice_recipient", "postmaster", CONF_STR, 0, 0 },
	{ "expand_owner_alias", "no", CONF_BOOL, 0, 0 },
	{ "fallback_transport", "", CONF_STR, 0, 0 },
	{ "fast_flush_domains", "$relay_domains", CONF_LIST, 0, CONF_F_UNSUPPORTED | CONF_F_MATCHLIST },
	{ "forward_path", "$home/.forward${recipient_delimiter}${extension}, $home/.forward", CONF_LIST, 0, 0 },
	{ "header_checks", "", CONF_LIST, 0, 0 },
	{ "header_size_limit", "102400", CONF_SIZE, 0, 0 },
	{ "home_mailbox", "", CONF_STR, 0, 0 },
	{ "hopcount_limit", "50", CONF_INT, 0, 0 },
	{ "html_directory", "no", CONF_STR, 0, 0 },
	{ "inet_interfaces", "all", CONF_LIST, 0, 0 },
	{ "inet_protocols", "all", CONF_LIST, 0, 0 },
	{ "initial_destination_concurrency", "5", CONF_INT, 0, 0 },
	{ "invalid_hostname_reject_code", "501", CONF_INT, 0, 0 },
	{ "line_length_limit", "2048", CONF_INT, 0, 0 },
	{ "lmtp_connect_timeout", "0s", CONF_TIME, 's', 0 },
	{ "lmtp_connection_cache_on_demand", "yes", CONF_BOOL, 0, 0 },
	{ "lmtp_connection_cache_time_limit", "2s", CONF_TIME, 's', 0 },
	{ "lmtp_connection_reuse_time_limit", "300s", CONF_TIME, 's', 0 },
	{ "lmtp_data_done_timeout", "600s", CONF_TIME, 's', 0 },
	{ "lmtp_data_init_timeout", "120s", CONF_TIME, 's', 0 },
	{ "lmtp_data_xfer_timeout", "180s", CONF_TIME, 's', 0 },
	{ "lmtp_destination_concurrency_limit", "$default_destination_concurrency_limit", CONF_INT, 0, 0 },
	{ "lmtp_destination_recipient_limit", "$default_destination_recipient_limit", CONF_INT, 0, 0 },
	{ "lmtp_lhlo_name", "$myhostname", CONF_STR, 0, 0 },
	{ "lmtp_lhlo_timeout", "300s", CONF_TIME, 's', 0 },
	{ "lmtp_mail_timeout", "300s", CONF_TIME, 's', 0 },
	{ "lmtp_quit_timeout", "300s", CONF_TIME, 's', 0 },
	{ "lmtp_rcpt_timeout", "300s", CONF_TIME, 's', 0 },
	{ "lmtp_rset_timeout", "20s", CONF_TIME, 's', 0 },
	{ "lmtp_sasl_auth_enable", "no", CONF_BOOL, 0, CONF_F_UNSUPPORTED },
	{ "lmtp_tcp_port", "24", CONF_INT, 0, 0 },
	{ "lmtp_tls_security_level", "", CONF_STR, 0, CONF_F_UNSUPPORTED },
	{ "local_destination_concurrency_limit", "2", CONF_INT, 0, 0 },
	{ "local_destination_recipient_limit", "1", CONF_INT, 0, 0 },
	{ "local_header_rewrite_clients", "permit_inet_interfaces", CONF_LIST, 0, 0 },
	{ "local_recipient_maps", "proxy:unix:passwd.byname $alias_maps", CONF_LIST, 0, 0 },
	{ "luser_relay", "", CONF_STR, 0, 0 },
	/* [Petrel] Postfix: Postfix */
	{ "mail_name", "Petrel", CONF_STR, 0, 0 },
	/* [Petrel] Postfix: postfix */
	{ "mail_owner", "petrel", CONF_STR, 0, 0 },
	{ "mail_spool_directory", "/var/mail", CONF_STR, 0, 0 },
	/* [Petrel] Petrel's own version */
	{ "mail_version", PETREL_MAIL_VERSION, CONF_STR, 0, 0 },
	{ "mailbox_command", "", CONF_STR, 0, 0 },
	{ "mailbox_command_maps", "", CONF_LIST, 0, CONF_F_UNSUPPORTED },
	{ "mailbox_size_limit", "51200000", CONF_SIZE, 0, 0 },
	{ "mailbox_transport", "", CONF_STR, 0, 0 },
	{ "maillog_file", "", CONF_STR, 0, 0 },
	{ "maillog_file_prefixes", "/var, /dev/stdout", CONF_LIST, 0, 0 },
	/* [Petrel] Petrel only: mailq layout, sendmail or postfix (spec/mailq-format.md) */
	{ "mailq_output_format", "sendmail", CONF_STR, 0, 0 },
	{ "mailq_path", "/usr/bin/mailq", CONF_STR, 0, 0 },
	{ "manpage_directory", "/usr/local/man", CONF_STR, 0, 0 },
	{ "maps_rbl_reject_code", "554", CONF_INT, 0, 0 },
	{ "masquerade_classes", "envelope_sender, header_sender, header_recipient", CONF_LIST, 0, 0 },
	{ "masquerade_domains", "", CONF_LIST, 0, 0 },
	{ "masquerade_exceptions", "", CONF_LIST, 0, 0 },
	{ "master_service_disable", "", CONF_LIST, 0, 0 },
	{ "max_idle", "100s", CONF_TIME, 's', 0 },
	{ "max_use", "100", CONF_INT, 0, 0 },
	{ "maximal_backoff_time", "4000s", CONF_TIME, 's', 0 },
	{ "maximal_queue_lifetime", "5d", CONF_TIME, 'd', 0 },
	{ "message_drop_headers", "bcc, content-length, resent-bcc, return-path", CONF_LIST, 0, 0 },
	{ "message_size_limit", "10240000", CONF_SIZE, 0, 0 },
	{ "meta_directory", PETREL_CONFIG_DIR_DEFAULT, CONF_STR, 0, CONF_F_UNSUPPORTED },
	{ "milter_command_timeout", "30s", CONF_TIME, 's', 0 },
	{ "milter_connect_macros", "j {daemon_name} {daemon_addr} v", CONF_STR, 0, 0 },
	{ "milter_connect_timeout", "30s", CONF_TIME, 's', 0 },
	{ "milter_content_timeout", "300s", CONF_TIME, 's', 0 },
	{ "milter_data_macros", "i", CONF_STR, 0, 0 },
	{ "milter_default_action", "tempfail", CONF_STR, 0, 0 },
	{ "milter_end_of_data_macros", "i", CONF_STR, 0, 0 },
	{ "milter_end_of_header_macros", "i", CONF_STR, 0, 0 },
	{ "milter_helo_macros", "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}", CONF_STR, 0, 0 },
	{ "milter_macro_daemon_name", "$myhostname", CONF_STR, 0, 0 },
	{ "milter_macro_v", "$mail_name $mail_version", CONF_STR, 0, 0 },
	{ "milter_mail_macros", "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}", CONF_STR, 0, 0 },
	{ "milter_protocol", "6", CONF_STR, 0, 0 },
	{ "milter_rcpt_macros", "i {rcpt_addr} {rcpt_host} {rcpt_mailer}", CONF_STR, 0, 0 },
	{ "milter_unknown_command_macros", "", CONF_STR, 0, 0 },
	{ "mime_header_checks", "$header_checks", CONF_LIST, 0, 0 },
	{ "mime_nesting_limit", "100", CONF_INT, 0, 0 },
	{ "minimal_backoff_time", "300s", CONF_TIME, 's', 0 },
	{ "multi_instance_directories", "", CONF_LIST, 0, CONF_F_UNSUPPORTED },
	{ "multi_instance_enable", "no", CONF_BOOL, 0, CONF_F_UNSUPPORTED },
	{ "multi_instance_group", "", CONF_STR, 0, CONF_F_UNSUPPORTED },
	{ "multi_instance_name", "", CONF_STR, 0, CONF_F_UNSUPPORTED },
	{ "multi_instance_wrapper", "", CONF_STR, 0, CONF_F_UNSUPPORTED },
	{ "mydestination", "$myhostname, localhost.$mydomain, localhost", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "mydomain", "", CONF_STR, 0, CONF_F_COMPUTED },
	{ "myhostname", "", CONF_STR, 0, CONF_F_COMPUTED },
	/* [Petrel] Postfix: computed from mynetworks_style */
	{ "mynetworks", "127.0.0.0/8 [::1]/128", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "mynetworks_style", "host", CONF_STR, 0, 0 },
	{ "myorigin", "$myhostname", CONF_STR, 0, 0 },
	{ "nested_header_checks", "$header_checks", CONF_LIST, 0, 0 },
	{ "newaliases_path", "/usr/bin/newaliases", CONF_STR, 0, 0 },
	{ "non_fqdn_reject_code", "504", CONF_INT, 0, 0 },
	{ "non_smtpd_milters", "", CONF_LIST, 0, 0 },
	{ "notify_classes", "resource, software", CONF_LIST, 0, 0 },
	{ "owner_request_special", "yes", CONF_BOOL, 0, 0 },
	{ "parent_domain_matches_subdomains", "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps", CONF_LIST, 0, 0 },
	{ "postscreen_access_list", "permit_mynetworks", CONF_LIST, 0, CONF_F_UNSUPPORTED },
	{ "postscreen_dnsbl_sites", "", CONF_LIST, 0, CONF_F_UNSUPPORTED },
	{ "propagate_unmatched_extensions", "canonical, virtual", CONF_LIST, 0, 0 },
	{ "proxy_interfaces", "", CONF_LIST, 0, CONF_F_UNSUPPORTED },
	/* [Petrel] Postfix: /var/spool/postfix */
	{ "queue_directory", PETREL_QUEUE_DIR_DEFAULT, CONF_STR, 0, 0 },
	/*
	 * smtpd refuses MAIL with 452 4.3.1 when the queue file system has
	 * less free space than this, or less than 1.5 * message_size_limit
	 * (Postfix's smtpd_check_queue); see smtpd.c (smtpd_check_queue).
	 */
	{ "queue_minfree", "0", CONF_SIZE, 0, 0 },
	{ "queue_run_delay", "300s", CONF_TIME, 's', 0 },
	{ "readme_directory", "no", CONF_STR, 0, 0 },
	{ "recipient_bcc_maps", "", CONF_LIST, 0, 0 },
	{ "recipient_canonical_classes", "envelope_recipient, header_recipient", CONF_LIST, 0, 0 },
	{ "recipient_canonical_maps", "", CONF_LIST, 0, 0 },
	{ "recipient_delimiter", "", CONF_STR, 0, 0 },
	{ "relay_domains", "", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "relay_transport", "relay", CONF_STR, 0, 0 },
	{ "relayhost", "", CONF_STR, 0, 0 },
	{ "relocated_maps", "", CONF_LIST, 0, CONF_F_UNSUPPORTED },
	{ "reset_owner_alias", "no", CONF_BOOL, 0, 0 },
	/* [Petrel] Postfix: /etc/postfix */
	{ "sample_directory", PETREL_CONFIG_DIR_DEFAULT, CONF_STR, 0, 0 },
	{ "sender_bcc_maps", "", CONF_LIST, 0, 0 },
	{ "sender_canonical_classes", "envelope_sender, header_sender", CONF_LIST, 0, 0 },
	{ "sender_canonical_maps", "", CONF_LIST, 0, 0 },
	{ "sender_dependent_relayhost_maps", "", CONF_LIST, 0, 0 },
	{ "sendmail_fix_line_endings", "always", CONF_STR, 0, 0 },
	{ "sendmail_path", "/usr/sbin/sendmail", CONF_STR, 0, 0 },
	/* [Petrel] Postfix: postdrop */
	{ "setgid_group", "petreldrop", CONF_STR, 0, 0 },
	{ "shlib_directory", "no", CONF_STR, 0, CONF_F_UNSUPPORTED },
	/* [Petrel] "any" keeps IPv4 first (Postfix picks at random); "ipv6" puts IPv6 first */
	{ "smtp_address_preference", "any", CONF_STR, 0, 0 },
	{ "smtp_connect_timeout", "30s", CONF_TIME, 's', 0 },
	{ "smtp_connection_cache_on_demand", "yes", CONF_BOOL, 0, 0 },
	{ "smtp_connection_cache_time_limit", "2s", CONF_TIME, 's', 0 },
	{ "smtp_connection_reuse_time_limit", "300s", CONF_TIME, 's', 0 },
	{ "smtp_data_done_timeout", "600s", CONF_TIME, 's', 0 },
	{ "smtp_data_init_timeout", "120s", CONF_TIME, 's', 0 },
	{ "smtp_data_xfer_timeout", "180s", CONF_TIME, 's', 0 },
	{ "smtp_destination_concurrency_failed_cohort_limit", "$default_destination_concurrency_failed_cohort_limit", CONF_INT, 0, 0 },
	{ "smtp_destination_concurrency_limit", "$default_destination_concurrency_limit", CONF_INT, 0, 0 },
	{ "smtp_destination_recipient_limit", "$default_destination_recipient_limit", CONF_INT, 0, 0 },
	{ "smtp_enforce_tls", "no", CONF_BOOL, 0, 0 },
	{ "smtp_generic_maps", "", CONF_LIST, 0, 0 },
	{ "smtp_helo_name", "$myhostname", CONF_STR, 0, 0 },
	{ "smtp_helo_timeout", "300s", CONF_TIME, 's', 0 },
	{ "smtp_initial_destination_concurrency", "$initial_destination_concurrency", CONF_INT, 0, 0 },
	{ "smtp_mail_timeout", "300s", CONF_TIME, 's', 0 },
	{ "smtp_quit_timeout", "300s", CONF_TIME, 's', 0 },
	{ "smtp_rcpt_timeout", "300s", CONF_TIME, 's', 0 },
	{ "smtp_rset_timeout", "20s", CONF_TIME, 's', 0 },
	{ "smtp_sasl_auth_enable", "no", CONF_BOOL, 0, 0 },
	{ "smtp_sasl_auth_soft_bounce", "yes", CONF_BOOL, 0, 0 },
	{ "smtp_sasl_mechanism_filter", "", CONF_LIST, 0, 0 },
	{ "smtp_sasl_password_maps", "", CONF_LIST, 0, 0 },
	{ "smtp_sasl_path", "", CONF_STR, 0, 0 },
	{ "smtp_sasl_security_options", "noplaintext, noanonymous", CONF_LIST, 0, 0 },
	{ "smtp_sasl_tls_security_options", "$smtp_sasl_security_options", CONF_LIST, 0, 0 },
	{ "smtp_sasl_type", "cyrus", CONF_STR, 0, 0 },
	{ "smtp_starttls_timeout", "300s", CONF_TIME, 's', 0 },
	{ "smtp_tls_CAfile", "", CONF_STR, 0, 0 },
	{ "smtp_tls_CApath", "", CONF_STR, 0, 0 },
	{ "smtp_tls_cert_file", "", CONF_STR, 0, 0 },
	{ "smtp_tls_ciphers", "medium", CONF_STR, 0, 0 },
	{ "smtp_tls_enforce_peername", "yes", CONF_BOOL, 0, 0 },
	{ "smtp_tls_exclude_ciphers", "", CONF_LIST, 0, 0 },
	{ "smtp_tls_fingerprint_cert_match", "", CONF_LIST, 0, 0 },
	{ "smtp_tls_fingerprint_digest", "sha256", CONF_STR, 0, 0 },
	{ "smtp_tls_key_file", "$smtp_tls_cert_file", CONF_STR, 0, 0 },
	{ "smtp_tls_loglevel", "0", CONF_STR, 0, 0 },
	{ "smtp_tls_mandatory_ciphers", "medium", CONF_STR, 0, 0 },
	{ "smtp_tls_mandatory_exclude_ciphers", "", CONF_LIST, 0, 0 },
	{ "smtp_tls_mandatory_protocols", ">=TLSv1", CONF_LIST, 0, 0 },
	{ "smtp_tls_note_starttls_offer", "no", CONF_BOOL, 0, 0 },
	{ "smtp_tls_policy_maps", "", CONF_LIST, 0, 0 },
	{ "smtp_tls_protocols", ">=TLSv1", CONF_LIST, 0, 0 },
	{ "smtp_tls_secure_cert_match", "nexthop, dot-nexthop", CONF_LIST, 0, 0 },
	{ "smtp_tls_security_level", "", CONF_STR, 0, 0 },
	{ "smtp_tls_session_cache_database", "", CONF_STR, 0, 0 },
	{ "smtp_tls_verify_cert_match", "hostname", CONF_LIST, 0, 0 },
	{ "smtp_tls_wrappermode", "no", CONF_BOOL, 0, 0 },
	{ "smtp_use_tls", "no", CONF_BOOL, 0, 0 },
	{ "smtpd_banner", "$myhostname ESMTP $mail_name", CONF_STR, 0, 0 },
	{ "smtpd_client_connection_count_limit", "50", CONF_INT, 0, 0 },
	{ "smtpd_client_restrictions", "", CONF_LIST, 0, 0 },
	{ "smtpd_data_restrictions", "", CONF_LIST, 0, 0 },
	{ "smtpd_delay_reject", "yes", CONF_BOOL, 0, 0 },
	{ "smtpd_end_of_data_restrictions", "", CONF_LIST, 0, 0 },
	{ "smtpd_enforce_tls", "no", CONF_BOOL, 0, 0 },
	{ "smtpd_error_sleep_time", "1s", CONF_TIME, 's', 0 },
	{ "smtpd_hard_error_limit", "${stress?{1}:{20}}", CONF_INT, 0, 0 },
	{ "smtpd_helo_required", "no", CONF_BOOL, 0, 0 },
	{ "smtpd_helo_restrictions", "", CONF_LIST, 0, 0 },
	{ "smtpd_milters", "", CONF_LIST, 0, 0 },
	{ "smtpd_null_access_lookup_key", "<>", CONF_STR, 0, 0 },
	{ "smtpd_policy_service_default_action", "451 4.3.5 Server configuration problem", CONF_STR, 0, 0 },
	{ "smtpd_policy_service_timeout", "100s", CONF_TIME, 's', 0 },
	{ "smtpd_policy_service_try_limit", "2", CONF_INT, 0, 0 },
	{ "smtpd_proxy_filter", "", CONF_STR, 0, CONF_F_UNSUPPORTED },
	{ "smtpd_recipient_limit", "1000", CONF_INT, 0, 0 },
	{ "smtpd_recipient_restrictions", "", CONF_LIST, 0, 0 },
	{ "smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination", CONF_LIST, 0, 0 },
	{ "smtpd_restriction_classes", "", CONF_LIST, 0, 0 },
	{ "smtpd_sasl_auth_enable", "no", CONF_BOOL, 0, 0 },
	{ "smtpd_sasl_authenticated_header", "no", CONF_BOOL, 0, 0 },
	{ "smtpd_sasl_local_domain", "", CONF_STR, 0, 0 },
	{ "smtpd_sasl_path", "smtpd", CONF_STR, 0, 0 },
	{ "smtpd_sasl_security_options", "noanonymous", CONF_LIST, 0, 0 },
	{ "smtpd_sasl_tls_security_options", "$smtpd_sasl_security_options", CONF_LIST, 0, 0 },
	{ "smtpd_sasl_type", "cyrus", CONF_STR, 0, 0 },
	{ "smtpd_sender_restrictions", "", CONF_LIST, 0, 0 },
	{ "smtpd_soft_error_limit", "10", CONF_INT, 0, 0 },
	{ "smtpd_starttls_timeout", "${stress?{10}:{300}}s", CONF_TIME, 's', 0 },
	{ "smtpd_timeout", "${stress?{10}:{300}}s", CONF_TIME, 's', 0 },
	{ "smtpd_tls_CAfile", "", CONF_STR, 0, 0 },
	{ "smtpd_tls_CApath", "", CONF_STR, 0, 0 },
	/* [Petrel] Postfix: no; AUTH is offered only under TLS (issue 4) */
	{ "smtpd_tls_auth_only", "yes", CONF_BOOL, 0, 0 },
	{ "smtpd_tls_cert_file", "", CONF_STR, 0, 0 },
	{ "smtpd_tls_chain_files", "", CONF_LIST, 0, 0 },
	{ "smtpd_tls_ciphers", "medium", CONF_STR, 0, 0 },
	{ "smtpd_tls_dh1024_param_file", "", CONF_STR, 0, 0 },
	{ "smtpd_tls_exclude_ciphers", "", CONF_LIST, 0, 0 },
	{ "smtpd_tls_key_file", "$smtpd_tls_cert_file", CONF_STR, 0, 0 },
	{ "smtpd_tls_loglevel", "0", CONF_STR, 0, 0 },
	{ "smtpd_tls_mandatory_ciphers", "medium", CONF_STR, 0, 0 },
	{ "smtpd_tls_mandatory_exclude_ciphers", "", CONF_LIST, 0, 0 },
	{ "smtpd_tls_mandatory_protocols", ">=TLSv1", CONF_LIST, 0, 0 },
	{ "smtpd_tls_protocols", ">=TLSv1", CONF_LIST, 0, 0 },
	/* [Petrel] Postfix: no */
	{ "smtpd_tls_received_header", "yes", CONF_BOOL, 0, 0 },
	{ "smtpd_tls_security_level", "", CONF_STR, 0, 0 },
	{ "smtpd_tls_session_cache_database", "", CONF_STR, 0, 0 },
	{ "smtpd_tls_wrappermode", "no", CONF_BOOL, 0, 0 },
	{ "smtpd_use_tls", "no", CONF_BOOL, 0, 0 },
	{ "smtputf8_enable", "yes", CONF_BOOL, 0, 0 },
	{ "soft_bounce", "no", CONF_BOOL, 0, 0 },
	{ "stress", "", CONF_STR, 0, 0 },
	{ "syslog_facility", "mail", CONF_STR, 0, 0 },
	/* [Petrel] Postfix: ${multi_instance_name?{$multi_instance_name}:{postfix}} */
	{ "syslog_name", "petrel", CONF_STR, 0, 0 },
	{ "tls_export_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH", CONF_STR, 0, 0 },
	{ "tls_high_cipherlist", "aNULL:-aNULL:HIGH:@STRENGTH", CONF_STR, 0, 0 },
	{ "tls_low_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH", CONF_STR, 0, 0 },
	{ "tls_medium_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH", CONF_STR, 0, 0 },
	{ "tls_null_cipherlist", "eNULL:!aNULL", CONF_STR, 0, 0 },
	{ "tls_preempt_cipherlist", "no", CONF_BOOL, 0, 0 },
	{ "transport_maps", "", CONF_LIST, 0, 0 },
	/* [Petrel] Postfix >= 2.8: empty; Petrel adds the header by default (spec/sendmail-cli.md section 8) */
	{ "undisclosed_recipients_header", "To: undisclosed-recipients:;", CONF_STR, 0, 0 },
	{ "unknown_address_reject_code", "450", CONF_INT, 0, 0 },
	{ "unknown_client_reject_code", "450", CONF_INT, 0, 0 },
	{ "unknown_local_recipient_reject_code", "550", CONF_INT, 0, 0 },
	{ "virtual_alias_domains", "$virtual_alias_maps", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "virtual_alias_expansion_limit", "1000", CONF_INT, 0, 0 },
	{ "virtual_alias_maps", "$virtual_maps", CONF_LIST, 0, 0 },
	{ "virtual_alias_recursion_limit", "1000", CONF_INT, 0, 0 },
	{ "virtual_mailbox_base", "", CONF_STR, 0, CONF_F_UNSUPPORTED },
	{ "virtual_mailbox_domains", "$virtual_mailbox_maps", CONF_LIST, 0, CONF_F_MATCHLIST },
	{ "virtual_mailbox_maps", "", CONF_LIST, 0, 0 },
	{ "virtual_transport", "virtual", CONF_STR, 0, 0 },
	{ NULL, NULL, CONF_STR, 0, 0 },
};

const struct conf_param *
conf_param_find(const char *name)
{
	static size_t count;
	size_t lo = 0, hi;

	if (name == NULL)
		return NULL;
	if (count == 0)
		while (conf_params[count].name != NULL)
			count++;
	hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(name, conf_params[mid].name);

		if (cmp == 0)
			return &conf_params[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
