#!/bin/bash
# lmtp.t - LMTP delivery (RFC 2033) to a real Dovecot LMTP server.
# Covered: a virtual mailbox domain (virtual_mailbox_domains = example.net,
# virtual_mailbox_maps, virtual_transport = lmtp:unix:private/...):
# one SMTP transaction to two users puts one message in each Dovecot
# Maildir; an address not in virtual_mailbox_maps is refused 550 5.1.1 at
# RCPT, another domain 454 4.7.1 (no open relay; Postfix's default
# smtpd_relay_restrictions end in defer_unauth_destination); a user that Dovecot
# does not know bounces with Dovecot's RCPT reply as Diagnostic-Code; one
# message to a user Dovecot takes and one over quota gets one LMTP reply
# each after the dot (delivered + bounced 5.2.2), and one to a user whose
# home Dovecot cannot make (delivered + deferred with Dovecot's 4xx, then
# delivered once after petrel flush); transport_maps
# lmtp:inet:127.0.0.1:PORT over TCP; Dovecot down: deferred with the
# reason in mailq, and after it is back petrel flush delivers it once;
# mailbox_transport = lmtp:unix:... for a local user (alice; bob, whom
# Dovecot does not know, bounces with Dovecot's reply), fallback_transport
# = lmtp:inet:[127.0.0.1]:PORT for an unknown local user, sendmail -bv;
# petrel check
# does not call the parameters unsupported. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

LPORT=2424
instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.1/32" \
	"virtual_mailbox_domains = example.net" "virtual_mailbox_maps = hash:\$config_directory/vmailbox" \
	"virtual_transport = lmtp:unix:private/dovecot-lmtp" \
	"transport_maps = hash:\$config_directory/transport" \
	"minimal_backoff_time = 300s" "maximal_backoff_time = 600s"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
cat >"$CONF/vmailbox" <<'EOF'
alice@example.net    anything
bob@example.net      anything
ghost@example.net    anything
full@example.net     anything
locked@example.net   anything
EOF
printf 'tcp.example  lmtp:inet:127.0.0.1:%s\n' "$LPORT" >"$CONF/transport"
"$PETREL" map "hash:$CONF/vmailbox" && "$PETREL" map "hash:$CONF/transport"
ok $? "vmailbox and transport tables built with petrel map"

"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

# ---- Dovecot: LMTP on $QDIR/private/dovecot-lmtp and 127.0.0.1:$LPORT ----
DV=$T/dovecot
VM=$T/vmail
mkdir -p "$DV/run" "$DV/state" "$VM"
chown 2001:2001 "$VM"
# userdb: the users Dovecot knows (ghost@example.net is not one); full@ has a 1-byte quota.
cat >"$DV/users" <<EOF
alice@example.net::2001:2001::$VM/alice@example.net::
bob@example.net::2001:2001::$VM/bob@example.net::
full@example.net::2001:2001::$VM/full@example.net::userdb_quota_rule=*:bytes=1
dave@tcp.example::2001:2001::$VM/dave@tcp.example::
alice@host.example.com::2001:2001::$VM/alice@host.example.com::
zed@host.example.com::2001:2001::$VM/zed@host.example.com::
locked@example.net::2001:2001::$T/locked/home::
EOF
# locked@'s home cannot be made (root's 0755 directory) until the test allows it: Dovecot says 4xx.
mkdir -p "$T/locked"
chmod 0755 "$T/locked"
cat >"$DV/dovecot.conf" <<EOF
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV/dovecot.log
protocols = lmtp
ssl = no
mail_location = maildir:~/Maildir
mail_plugins = quota
plugin {
  quota = maildir:User quota
}
passdb {
  driver = passwd-file
  args = username_format=%u $DV/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DV/users
}
service lmtp {
  unix_listener $QDIR/private/dovecot-lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LPORT
  }
}
EOF
dovecot_up() { [ -S "$QDIR/private/dovecot-lmtp" ] && ss -Hltn "src 127.0.0.1:$LPORT" | grep -q .; }
dovecot -c "$DV/dovecot.conf" && wait_for 10 dovecot_up
ok $? "Dovecot LMTP listens" || diag "$(cat "$DV/dovecot.log" 2>/dev/null)"

SPOOL=$T/spool
# mails USER: messages Dovecot put in USER's Maildir
mails() { find "$VM/$1/Maildir/new" "$VM/$1/Maildir/cur" -type f 2>/dev/null | wc -l; }
has_mails() { [ "$(mails "$1")" -ge "$2" ]; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }
smtp() {	# smtp SUBJECT RCPT...: one transaction from 127.0.0.2; RCPT replies, then the DATA reply
	timeout 30 $PY - "$@" <<'PY'
import smtplib, sys
s = smtplib.SMTP(timeout=10, source_address=('127.0.0.2', 0))
s.connect('127.0.0.1', 25)
s.ehlo('mail.client.example')
s.mail('alice@host.example.com')
ok = 0
for a in sys.argv[2:]:
    code, text = s.rcpt(a)
    print(code, text.decode())
    ok += code == 250
if ok:
    code, text = s.data(('Subject: %s\r\n\r\nbody\r\n' % sys.argv[1]).encode())
    print(code, text.decode())
s.quit()
PY
}
stop_dovecot() {
	kill "$(cat "$DV/run/master.pid" 2>/dev/null)" 2>/dev/null
	wait_for 10 eval '! pgrep -F "$DV/run/master.pid" >/dev/null 2>&1 && ! ss -Hltn "src 127.0.0.1:$LPORT" | grep -q .'
}
trap 'stop_dovecot; instance_teardown' EXIT

# ---- a virtual mailbox domain over SMTP, delivered by LMTP on a UNIX socket ----
out=$(smtp two alice@example.net bob@example.net)
like "$out" '^250 2\.1\.5 Ok' "SMTP: virtual mailbox domain accepted from outside mynetworks"
like "$out" '^250 2\.0\.0 Ok: queued as' "SMTP: the message is queued"
wait_for 15 eval 'has_mails alice@example.net 1 && has_mails bob@example.net 1'
ok $? "both users got the message in Dovecot's store" || diag "$(tail -5 "$MAILLOG")"
is "$(mails alice@example.net) $(mails bob@example.net)" "1 1" "exactly one copy each"
grep -q '^Subject: two' "$(find "$VM/alice@example.net/Maildir/new" -type f | head -1)"
ok $? "the message Dovecot stored is the one sent"
like "$(cat "$MAILLOG")" "to=<alice@example\.net>, relay=host\.example\.com\[$QDIR/private/dovecot-lmtp\], .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 <alice@example\.net> " \
	"logged: relay=host.example.com[socket path], status=sent with Dovecot's reply"
wait_for 10 queue_empty
ok $? "the queue is empty"

out=$(smtp unknown nobody@example.net)
like "$out" '^550 5\.1\.1 <nobody@example\.net>: Recipient address rejected: User unknown in virtual mailbox table' \
	"SMTP: an address not in virtual_mailbox_maps is refused 550 5.1.1"
out=$(smtp relay someone@other.example)
like "$out" '^454 4\.7\.1 <someone@other\.example>: Relay access denied' "SMTP: another domain is refused 454 4.7.1 (no open relay)"

# ---- Dovecot refuses: a bounce with Dovecot's words ----
out=$(smtp ghost ghost@example.net)
like "$out" '^250 2\.0\.0 Ok: queued as' "SMTP: ghost@example.net (in vmailbox, unknown to Dovecot) is queued"
wait_for 15 log_has 'to=<ghost@example\.net>, relay=host\.example\.com\[.*status=bounced \(host host\.example\.com\[[^]]*\] said: 550 5\.1\.1 '
ok $? "ghost@example.net bounced with Dovecot's 550 5.1.1 reply" || diag "$(tail -5 "$MAILLOG")"
wait_for 15 grep -q '^Diagnostic-Code: smtp; 550 5\.1\.1 ' "$SPOOL/alice"
ok $? "the bounce to the sender has Diagnostic-Code: smtp; 550 5.1.1 (Dovecot's reply)"
like "$(cat "$SPOOL/alice" 2>/dev/null)" 'Final-Recipient: rfc822; ghost@example\.net' "... for ghost@example.net"

# ---- one message, two LMTP replies after the dot: delivered and over quota ----
: >"$SPOOL/alice"
out=$(smtp mixed alice@example.net full@example.net)
like "$out" '^250 2\.0\.0 Ok: queued as' "SMTP: alice@ and full@ in one message"
wait_for 15 eval 'has_mails alice@example.net 2 && log_has "to=<full@example\.net>.*status=bounced"'
ok $? "alice@example.net delivered, full@example.net bounced" || diag "$(tail -5 "$MAILLOG")"
like "$(cat "$MAILLOG")" 'to=<full@example\.net>, relay=host\.example\.com\[[^]]*\], .*dsn=5\.2\.2, status=bounced \(host host\.example\.com\[[^]]*\] said: 552 5\.2\.2 .*\(in reply to end of DATA command\)' \
	"full@example.net: Dovecot's own 552 5.2.2 after the dot"
is "$(mails full@example.net)" "0" "nothing stored for full@example.net"
wait_for 15 grep -q '^Diagnostic-Code: smtp; 552 5\.2\.2 ' "$SPOOL/alice"
ok $? "the bounce says Diagnostic-Code: smtp; 552 5.2.2"
unlike "$(cat "$SPOOL/alice" 2>/dev/null)" 'Final-Recipient: rfc822; alice@example\.net' "... and only for full@example.net"

# ---- one message, delivered for one recipient and deferred (Dovecot's 4xx) for the other ----
before=$(mails alice@example.net)
out=$(smtp tempfail alice@example.net locked@example.net)
like "$out" '^250 2\.0\.0 Ok: queued as' "SMTP: alice@ and locked@ in one message"
wait_for 15 eval '[ "$(queue_count deferred)" -eq 1 ]'
ok $? "the message waits in deferred/ for locked@example.net" || diag "$(tail -4 "$MAILLOG")"
is "$(mails alice@example.net)" "$((before + 1))" "alice@example.net got it"
like "$(cat "$MAILLOG")" 'to=<locked@example\.net>, relay=host\.example\.com\[[^]]*\], .*dsn=4\.[0-9.]+, status=deferred \(host host\.example\.com\[[^]]*\] said: 4[0-9][0-9] 4\.' \
	"locked@example.net deferred with Dovecot's own 4xx reply"
chown 2001:2001 "$T/locked"
"$PETREL" flush >/dev/null 2>&1
wait_for 15 eval '[ -d "$T/locked/home/Maildir/new" ] && [ "$(find "$T/locked/home/Maildir/new" -type f | wc -l)" -eq 1 ]'
ok $? "after petrel flush locked@example.net gets it"
wait_for 10 queue_empty
ok $? "the queue is empty"
is "$(mails alice@example.net)" "$((before + 1))" "alice@example.net did not get it twice"

# ---- transport_maps: lmtp:inet:127.0.0.1:PORT ----
printf 'Subject: tcp\n\nbody\n' | "$SENDMAIL" -f alice@host.example.com dave@tcp.example
wait_for 15 has_mails dave@tcp.example 1
ok $? "transport_maps lmtp:inet:127.0.0.1:$LPORT: delivered over TCP" || diag "$(tail -3 "$MAILLOG")"
like "$(cat "$MAILLOG")" "to=<dave@tcp\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$LPORT, .*status=sent" \
	"logged relay=127.0.0.1[127.0.0.1]:$LPORT"

# ---- Dovecot down: deferred, then delivered once after petrel flush ----
stop_dovecot
ok $? "Dovecot stopped"
before=$(mails bob@example.net)
out=$(smtp down bob@example.net)
like "$out" '^250 2\.0\.0 Ok: queued as' "SMTP: bob@example.net queued while Dovecot is down"
wait_for 15 eval '[ "$(queue_count deferred)" -eq 1 ]'
ok $? "deferred"
"$SENDMAIL" -bp >"$T/mailq" 2>&1
like "$(cat "$T/mailq")" "\(Deferred: connect to host\.example\.com\[/" "mailq says why (the LMTP socket)"
like "$(cat "$MAILLOG")" "to=<bob@example\.net>, relay=none, .*dsn=4\.4\.1, status=deferred \(connect to host\.example\.com\[$QDIR/private/dovecot-lmtp\]: (No such file or directory|Connection refused)\)" \
	"the log has the whole reason: connect to the socket failed"
dovecot -c "$DV/dovecot.conf" && wait_for 10 dovecot_up
ok $? "Dovecot started again"
"$PETREL" flush >/dev/null 2>&1
wait_for 15 has_mails bob@example.net $((before + 1))
ok $? "after petrel flush the message is delivered"
wait_for 10 queue_empty
ok $? "the queue is empty"
is "$(mails bob@example.net)" "$((before + 1))" "delivered exactly once"

# ---- mailbox_transport and fallback_transport: local users over LMTP ----
printf 'mailbox_transport = lmtp:unix:private/dovecot-lmtp\nfallback_transport = lmtp:inet:[127.0.0.1]:%s\n' "$LPORT" >>"$CONF/main.cf"
"$PETREL" reload >/dev/null 2>&1
ok $? "petrel reload with mailbox_transport and fallback_transport"
: >"$SPOOL/alice"
printf 'Subject: local\n\nbody\n' | "$SENDMAIL" -f bob@host.example.com alice
wait_for 15 has_mails alice@host.example.com 1
ok $? "mailbox_transport: alice's mail is in Dovecot's store" || diag "$(tail -3 "$MAILLOG")"
like "$(cat "$MAILLOG")" "to=<alice@host\.example\.com>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered via mailbox_transport host\.example\.com\[$QDIR/private/dovecot-lmtp\]: 250 2\.0\.0 <alice@host\.example\.com> " \
	"logged: delivered via mailbox_transport with Dovecot's reply (RCPT TO:<alice@host.example.com>)"
is "$(wc -c <"$SPOOL/alice")" "0" "nothing went to the mbox in the spool"
grep -q '^Subject: local' "$(find "$VM/alice@host.example.com/Maildir/new" -type f | head -1)"
ok $? "the stored message is the one sent"
# bob is a system user Dovecot does not know: Dovecot's 550 bounces it; the notice goes to alice over LMTP too.
printf 'Subject: nobob\n\nbody\n' | "$SENDMAIL" -f alice@host.example.com bob
wait_for 15 log_has 'to=<bob@host\.example\.com>, relay=local, .*dsn=5\.1\.1, status=bounced \(host host\.example\.com\[[^]]*\] said: 550 5\.1\.1 .*\(in reply to RCPT TO command\)'
ok $? "mailbox_transport: Dovecot's 550 5.1.1 for bob bounces" || diag "$(tail -3 "$MAILLOG")"
wait_for 15 has_mails alice@host.example.com 2
ok $? "the bounce reached alice through mailbox_transport"
grep -lq 'said: 550 5\.1\.1' $(find "$VM/alice@host.example.com/Maildir/new" -type f)
ok $? "... and says what Dovecot said"
# zed is no system user: fallback_transport (TCP) takes him.
printf 'Subject: zed\n\nbody\n' | "$SENDMAIL" -f alice@host.example.com zed
wait_for 15 has_mails zed@host.example.com 1
ok $? "fallback_transport: the unknown local user zed goes to Dovecot over TCP" || diag "$(tail -3 "$MAILLOG")"
like "$(cat "$MAILLOG")" "to=<zed@host\.example\.com>, relay=local, .*status=sent \(delivered via fallback_transport 127\.0\.0\.1\[127\.0\.0\.1\]: 250 " \
	"logged: delivered via fallback_transport"
out=$("$SENDMAIL" -bv alice 2>&1)
like "$out" "^alice\.\.\. deliverable: mailer lmtp, host unix:$QDIR/private/dovecot-lmtp, user alice@host\.example\.com" \
	"sendmail -bv shows the LMTP mailer"

out=$("$SENDMAIL" -bv alice@example.net dave@tcp.example 2>&1)
like "$out" "^alice@example\.net\.\.\. deliverable: mailer lmtp, host unix:$QDIR/private/dovecot-lmtp, user alice@example\.net" \
	"sendmail -bv: a virtual mailbox domain address goes by LMTP"
like "$out" "^dave@tcp\.example\.\.\. deliverable: mailer lmtp, host inet:127\.0\.0\.1:$LPORT, user dave@tcp\.example" \
	"sendmail -bv: so does a transport_maps lmtp: one"

# ---- the configuration is known ----
"$PETREL" check >"$T/check" 2>&1
unlike "$(cat "$T/check")" 'virtual_mailbox|virtual_transport|transport_maps|mailbox_transport|fallback_transport' "petrel check: no complaint about the LMTP parameters"

done_testing
