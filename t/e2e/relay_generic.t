#!/bin/bash
# relay_generic.t - smtp_generic_maps (Postfix's generic(5)): a Linux box
# relaying cron mail through its provider rewrites root@host and the like
# as the mail leaves by SMTP. The receiving server is Python's aiosmtpd
# (t/lib/smtpsink.py) at relayhost = [127.0.0.1]:10025. Covered: the
# envelope sender and a recipient replaced, header addresses replaced
# with display names and comments kept (a full address, a bare local part
# that the cleanup completed with @$myorigin, an @domain rule), the body
# untouched, the log and queue keeping the original addresses; a broken
# table defers with 4.3.0 (never sends the unmapped address) and petrel
# flush delivers once it is mended. Bounded waits.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

SINKPORT=10025
instance_setup "relayhost = [127.0.0.1]:$SINKPORT" "mynetworks = 127.0.0.0/8" \
	"smtp_generic_maps = hash:\$config_directory/generic"
export LC_ALL=C.UTF-8
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop; instance_teardown' EXIT
cat >"$CONF/generic" <<'EOF'
root@host.example.com     admin@provider.example
alice                     alice.liddell@provider.example
@host.example.com         @mail.provider.example
someone@remote.test       someone.else@remote.test
EOF
"$PETREL" map "hash:$CONF/generic"
ok $? "generic table built with petrel map"
SINK=$T/sink
sink_start
ok $? "aiosmtpd sink on 127.0.0.1:$SINKPORT"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }

# cron's way: sendmail -t as root, bare local parts in the headers.
printf 'From: root (Cron Daemon)\nTo: someone@remote.test\nCc: "Alice L." <alice@host.example.com>, bob\nSubject: cron output\n\nroot@host.example.com said hello\n' |
	"$SENDMAIL" -t -i
wait_for 10 sink_has 1
ok $? "relayed to the smarthost"
is "$(sink_get 1 "r['mail_from']")" "admin@provider.example" "MAIL FROM: root@host.example.com -> admin@provider.example"
is "$(sink_get 1 "' '.join(r['rcpt_tos'])")" "someone.else@remote.test" "RCPT TO: someone@remote.test -> someone.else@remote.test"
DATA=$(sink_get 1 "r['data']")
like "$DATA" $'\nFrom: admin@provider\\.example \\(Cron Daemon\\)\r?\n' "From: rewritten, the comment kept"
like "$DATA" $'\nTo: someone\\.else@remote\\.test\r?\n' "To: rewritten"
like "$DATA" $'\nCc: "Alice L\\." <alice\\.liddell@provider\\.example>, bob@mail\\.provider\\.example\r?\n' \
	"Cc: a display name kept; a bare local part completed then mapped by @host.example.com"
like "$DATA" $'\r?\n\r?\nroot@host\\.example\\.com said hello' "the body untouched"
wait_for 10 queue_empty
ok $? "the queue is empty"
like "$(cat "$MAILLOG")" ': from=<root@host\.example\.com>, size=' "the queue file kept the original sender"
like "$(cat "$MAILLOG")" 'to=<someone@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:10025, .*status=sent' \
	"the log names the original recipient"

# A table that cannot be read (a broken database put in its place): deferred, not sent unmapped.
cp "$CONF/generic.db" "$T/generic.db.good"
printf 'this is not a Berkeley DB file\n' >"$T/broken.db"
mv "$T/broken.db" "$CONF/generic.db"
printf 'Subject: second\n\nbody\n' | "$SENDMAIL" -f root@host.example.com someone@remote.test
wait_for 15 log_has 'to=<someone@remote\.test>, .*dsn=4\.3\.0, status=deferred \(smtp_generic_maps lookup error: '
ok $? "a broken generic table: deferred 4.3.0 with the reason"
is "$(sink_count)" 1 "... nothing sent"
mv "$T/generic.db.good" "$CONF/generic.db"
"$PETREL" flush >/dev/null
wait_for 15 sink_has 2
ok $? "readable again: delivered after petrel flush"
is "$(sink_get 2 "r['mail_from']")" "admin@provider.example" "... mapped"

done_testing
