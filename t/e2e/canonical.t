#!/bin/bash
# canonical.t - canonical(5) mapping and address masquerading on new mail
# (sender_canonical_maps, recipient_canonical_maps, canonical_maps,
# masquerade_domains/exceptions), through sendmail and SMTP, tables built
# with petrel map. The relay host is Python's aiosmtpd (t/lib/smtpsink.py)
# at relayhost = [127.0.0.1]:10025; local mail lands in mboxes. Covered:
# cron mail from root leaves as admin@example.com (MAIL FROM and From:,
# comment kept, body untouched); a recipient table sends sales to bob with
# orig_to= logged and To: rewritten; canonical_maps with an extension
# propagated and an @domain rule; masquerading of the envelope sender and
# header addresses, not envelope recipients, with an exception; an SMTP
# client on a local interface gets its headers rewritten, one on
# 127.0.0.2 only its envelope; mailq shows the rewritten sender; a broken
# table: 451 4.3.0 over SMTP and sendmail exits 75, nothing queued, and
# mail flows again once it is mended. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

SINKPORT=10025
instance_setup "relayhost = [127.0.0.1]:$SINKPORT" "mynetworks = 127.0.0.0/8" \
	"smtpd_error_sleep_time = 0" "recipient_delimiter = +" \
	"sender_canonical_maps = hash:\$config_directory/sender_canonical" \
	"recipient_canonical_maps = hash:\$config_directory/recipient_canonical" \
	"canonical_maps = hash:\$config_directory/canonical" \
	"masquerade_domains = !keep.example.com, example.com" \
	"masquerade_exceptions = operator"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
export LC_ALL=C.UTF-8
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop; instance_teardown' EXIT
cat >"$CONF/sender_canonical" <<'EOF'
root@host.example.com     admin@example.com
EOF
cat >"$CONF/recipient_canonical" <<'EOF'
sales@host.example.com    bob@host.example.com
EOF
cat >"$CONF/canonical" <<'EOF'
dave@host.example.com     alice@host.example.com
@old.example              @host.example.com
EOF
for m in sender_canonical recipient_canonical canonical; do
	"$PETREL" map "hash:$CONF/$m" || fail=1
done
ok "${fail:-0}" "three tables built with petrel map"
SINK=$T/sink
sink_start
ok $? "aiosmtpd sink on 127.0.0.1:$SINKPORT"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

SPOOL=$T/spool
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }
mbox_has() { grep -q "^Subject: $2\$" "$SPOOL/$1" 2>/dev/null; }
# The header block of the message with Subject: $2 in mbox $1.
mbox_headers() {
	$PY - "$SPOOL/$1" "$2" <<'PY'
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    if m['Subject'] == sys.argv[2]:
        sys.stdout.write(m.as_string().split('\n\n', 1)[0] + '\n')
PY
}

# ---- cron mail from root: sender_canonical_maps ----
printf 'From: root (Cron Daemon)\nTo: someone@remote.test\nSubject: cron\n\nroot@host.example.com said hello\n' |
	"$SENDMAIL" -t -i
wait_for 10 sink_has 1
ok $? "cron mail relayed to the smarthost"
is "$(sink_get 1 "r['mail_from']")" "admin@example.com" "MAIL FROM: root@host.example.com -> admin@example.com"
is "$(sink_get 1 "' '.join(r['rcpt_tos'])")" "someone@remote.test" "RCPT TO: not in any table, unchanged"
DATA=$(sink_get 1 "r['data']")
like "$DATA" $'\nFrom: admin@example\\.com \\(Cron Daemon\\)\r?\n' "From: rewritten, the comment kept"
like "$DATA" $'\nTo: someone@remote\\.test\r?\n' "To: unchanged"
like "$DATA" $'\r?\n\r?\nroot@host\\.example\\.com said hello' "the body untouched"
like "$(cat "$MAILLOG")" ': from=<admin@example\.com>, size=' "the log shows the rewritten sender"

# ---- recipient_canonical_maps, masquerading, an exception ----
printf 'From: carol@host.example.com\nTo: sales@host.example.com\nCc: "Op" <operator@host.example.com>\nReply-To: carol@keep.example.com\nSubject: sales\n\nbody\n' |
	"$SENDMAIL" -f carol@host.example.com sales@host.example.com
wait_for 10 mbox_has bob sales
ok $? "sales@host.example.com -> bob (recipient_canonical_maps)"
H=$(mbox_headers bob sales)
like "$H" $'(^|\n)Return-Path: <carol@example\\.com>\n' "envelope sender masqueraded: carol@example.com"
like "$H" $'\nFrom: carol@example\\.com\n' "From: masqueraded"
like "$H" $'\nTo: bob@example\\.com\n' "To: recipient table, then masqueraded"
like "$H" $'\nCc: "Op" <operator@host\\.example\\.com>\n' "Cc: operator is in masquerade_exceptions"
like "$H" $'\nReply-To: carol@keep\\.example\\.com\n' "Reply-To: !keep.example.com is not masqueraded"
wait_for 10 log_has 'to=<bob@host\.example\.com>, orig_to=<sales@host\.example\.com>, relay=local, .*status=sent'
ok $? "delivered to bob@host.example.com (an envelope recipient is not masqueraded), orig_to= logged"

# ---- canonical_maps: an extension and an @domain rule ----
printf 'Subject: ext\n\nbody\n' | "$SENDMAIL" -f carol@host.example.com dave+news@host.example.com
printf 'Subject: olddomain\n\nbody\n' | "$SENDMAIL" -f carol@host.example.com alice@old.example
wait_for 10 eval 'mbox_has alice ext && mbox_has alice olddomain'
ok $? "dave+news@host.example.com and alice@old.example both reach alice"
like "$(cat "$MAILLOG")" 'to=<alice\+news@host\.example\.com>, orig_to=<dave\+news@host\.example\.com>, relay=local' \
	"the extension is propagated (alice+news), orig_to= the address given"
like "$(cat "$MAILLOG")" 'to=<alice@host\.example\.com>, orig_to=<alice@old\.example>, relay=local' \
	"@old.example -> @host.example.com"

# ---- SMTP ----
smtp() {	# smtp SOURCE SUBJECT: root@host.example.com to sales@host.example.com; the DATA reply
	timeout 30 $PY - "$@" <<'PY'
import smtplib, sys
s = smtplib.SMTP(timeout=10, source_address=(sys.argv[1], 0))
s.connect('127.0.0.1', 25)
s.ehlo('client.example')
try:
    s.sendmail('root@host.example.com', ['sales@host.example.com'],
        ('From: Root <root@host.example.com>\r\nTo: sales@host.example.com\r\n'
         'Subject: %s\r\n\r\nbody\r\n' % sys.argv[2]).encode())
    print('250 queued')
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
PY
}
is "$(smtp 127.0.0.1 smtplocal)" "250 queued" "SMTP from 127.0.0.1 accepted"
wait_for 10 mbox_has bob smtplocal
ok $? "... delivered to bob"
H=$(mbox_headers bob smtplocal)
like "$H" $'(^|\n)Return-Path: <admin@example\\.com>\n' "... envelope sender rewritten"
like "$H" $'\nFrom: Root <admin@example\\.com>\n' "... a client on a local interface: From: rewritten"
like "$H" $'\nTo: bob@example\\.com\n' "... and To:"
is "$(smtp 127.0.0.2 smtpremote)" "250 queued" "SMTP from 127.0.0.2 accepted"
wait_for 10 mbox_has bob smtpremote
ok $? "... delivered to bob"
H=$(mbox_headers bob smtpremote)
like "$H" $'(^|\n)Return-Path: <admin@example\\.com>\n' "... its envelope sender is rewritten"
like "$H" $'\nFrom: Root <root@host\\.example\\.com>\n' \
	"... but not its headers (not in local_header_rewrite_clients)"
like "$H" $'\nTo: sales@host\\.example\\.com\n' "... To: as sent"

# ---- mailq shows the rewritten envelope ----
wait_for 10 queue_empty
sink_stop
printf 'Subject: deferred\n\nbody\n' | "$SENDMAIL" -i someone@remote.test
wait_for 20 log_has 'to=<someone@remote\.test>, relay=.*status=deferred'
ok $? "with the smarthost down the mail is deferred"
like "$("$SENDMAIL" -bp 2>&1)" 'admin@example\.com' "mailq shows the rewritten sender admin@example.com"

# ---- a broken table ----
cp "$CONF/canonical.db" "$T/canonical.db.good"
printf 'this is not a Berkeley DB file\n' >"$T/broken.db"
mv "$T/broken.db" "$CONF/canonical.db"
before=$(grep -c ': from=<' "$MAILLOG")
like "$(smtp 127.0.0.1 broken)" '^451 4\.3\.0 Error: table lookup problem' "SMTP with a broken table: 451 4.3.0"
out=$(printf 'Subject: broken2\n\nbody\n' | "$SENDMAIL" -f carol@host.example.com alice@host.example.com 2>&1)
is "$?" 75 "sendmail with a broken table: exit 75 (EX_TEMPFAIL)"
like "$out" 'canonical_maps lookup of .*canonical\.db' "... the error names the table: $out"
is "$(grep -c ': from=<' "$MAILLOG")" "$before" "nothing was queued"
like "$(cat "$MAILLOG")" 'canonical_maps lookup of ' "the log says why"
mv "$T/canonical.db.good" "$CONF/canonical.db"
printf 'Subject: mended\n\nbody\n' | "$SENDMAIL" -f carol@host.example.com dave@host.example.com
is "$?" 0 "the table mended: sendmail accepts again"
wait_for 10 mbox_has alice mended
ok $? "... and dave's mail reaches alice"

# ---- petrel check knows the parameters ----
unlike "$("$PETREL" check 2>&1)" 'canonical|masquerade' "petrel check: no warning about the canonical parameters"

done_testing
