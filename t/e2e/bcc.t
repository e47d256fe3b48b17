#!/bin/bash
# bcc.t - automatic blind copies (always_bcc, sender_bcc_maps,
# recipient_bcc_maps) on new mail from sendmail and SMTP (Python smtplib),
# tables built with petrel map, delivered to local mboxes. Covered: the
# archive copy of every message; a sender's copy to a supervisor; a
# recipient's copy, found by @domain; a copy that is already a recipient
# is not added twice; copies carry no DSN (a copy to an unknown user
# bounces to nobody) and Petrel's own notices get no copy; a broken table:
# 451 4.3.0 over SMTP and sendmail exits 75, nothing queued;
# message_drop_headers removes Bcc:, Content-Length: and Return-Path: from
# SMTP mail. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup "mynetworks = 127.0.0.0/8" "smtpd_error_sleep_time = 0" \
	"always_bcc = archive@host.example.com" \
	"sender_bcc_maps = hash:\$config_directory/sender_bcc" \
	"recipient_bcc_maps = hash:\$config_directory/recipient_bcc"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
printf 'archive: alice\n' >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
cat >"$CONF/sender_bcc" <<'EOF'
carol@example.org        bob@host.example.com
dave@example.org         ghost@host.example.com
EOF
cat >"$CONF/recipient_bcc" <<'EOF'
@sales.example.com       bob@host.example.com
EOF
"$PETREL" map "hash:$CONF/sender_bcc" && "$PETREL" map "hash:$CONF/recipient_bcc"
ok $? "the bcc tables built with petrel map"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

SPOOL=$T/spool
count() { grep -c "^Subject: $2\$" "$SPOOL/$1" 2>/dev/null || true; }
has() { [ "$(count "$1" "$2")" -ge 1 ]; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }
smtp() {	# smtp FROM TO SUBJECT: one message by smtplib; prints the reply to the dot
	timeout 30 $PY - "$@" <<'PY'
import smtplib, sys
f, t, subj = sys.argv[1:4]
s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
try:
    s.sendmail(f, [t], 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nbody\r\n' % (f, t, subj))
    print('250')
except smtplib.SMTPException as e:
    print(getattr(e, 'smtp_code', ''), getattr(e, 'smtp_error', b'').decode() if hasattr(e, 'smtp_error') else e)
s.quit()
PY
}

# ---- always_bcc ----
printf 'Subject: cron output\n\ndone\n' | "$SENDMAIL" root
wait_for 10 has root "cron output"
ok $? "the message reaches root"
wait_for 10 has alice "cron output"
ok $? "always_bcc: its archive copy reaches alice (archive: alice)"

# ---- sender_bcc_maps over SMTP ----
is "$(smtp carol@example.org root@host.example.com "from carol")" 250 "SMTP from carol: accepted"
wait_for 10 has bob "from carol"
ok $? "sender_bcc_maps: bob gets carol's copy"
wait_for 10 has alice "from carol"
ok $? "... and the archive its copy"
like "$(grep -A8 "^Subject: from carol" "$SPOOL/bob" | head -1)" 'from carol' "the copy is the message itself"
like "$(grep -B20 '^Subject: from carol' "$SPOOL/bob" | grep '^To:')" '^To: <root@host\.example\.com>$' \
	"... its To: header unchanged (a blind copy)"

# ---- recipient_bcc_maps, by @domain; bob already a recipient ----
printf 'Subject: to sales\n\nquote\n' | "$SENDMAIL" -f carol@example.org bob@host.example.com someone@sales.example.com
wait_for 10 queue_empty
wait_for 10 has bob "to sales"
ok $? "a message to bob and someone@sales.example.com reaches bob"
is "$(count bob "to sales")" 1 "bob is already a recipient: no second copy from either table"

# ---- copies carry no DSN; notices get no copy ----
printf 'Subject: from dave\n\nhi\n' | "$SENDMAIL" -f dave@example.org root
wait_for 10 queue_empty
wait_for 10 has root "from dave"
ok $? "dave's message reaches root"
wait_for 10 grep -q 'to=<ghost@host\.example\.com>.*status=bounced' "$MAILLOG"
ok $? "the copy for ghost (no such user) bounces"
unlike "$(cat "$MAILLOG")" 'sender non-delivery notification' "... and nobody is told: the copy has NOTIFY=NEVER"
printf 'Subject: to nobody\n\nhi\n' | "$SENDMAIL" -f root@host.example.com nosuchuser@host.example.com
wait_for 10 grep -q 'sender non-delivery notification' "$MAILLOG"
ok $? "a message to an unknown user: root gets a notice"
wait_for 10 queue_empty
sleep_done() { grep -q 'Undelivered Mail Returned to Sender' "$SPOOL/root" 2>/dev/null; }
wait_for 10 sleep_done
ok $? "... in root's mailbox"
is "$(grep -c 'Undelivered Mail Returned to Sender' "$SPOOL/alice")" 0 "the notice got no archive copy"
is "$(count alice "to nobody")" 1 "the original got its archive copy"

# ---- message_drop_headers: Bcc, Content-Length, Return-Path never reach a mailbox ----
timeout 30 $PY - <<'PY'
import smtplib
s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
s.sendmail('erin@example.org', ['root@host.example.com'],
    b'Return-Path: <forged@example.org>\r\nBcc: secret@example.org\r\nContent-Length: 999\r\n'
    b'Subject: dropped headers\r\nX-Kept: yes\r\n\r\nbody\r\nBcc: in the body stays\r\n')
s.quit()
PY
wait_for 10 has root "dropped headers"
ok $? "a message with Bcc:, Content-Length: and a forged Return-Path: over SMTP"
msg=$(awk '/^From erin@example.org/ { f = 1 } f' "$SPOOL/root")
unlike "$msg" '^Bcc: secret' "Bcc: removed"
unlike "$msg" 'Content-Length: 999' "Content-Length: removed"
unlike "$msg" 'forged@example\.org' "the forged Return-Path: removed"
is "$(printf '%s\n' "$msg" | grep -c '^Return-Path:')" 1 "one Return-Path:, the one local delivery writes"
like "$msg" $'\nX-Kept: yes\n' "other headers kept"
like "$msg" $'\nBcc: in the body stays' "a body line that looks like a header is untouched"

# ---- a broken table: temporary failure, nothing queued ----
mv "$CONF/sender_bcc.db" "$CONF/sender_bcc.db.off"
before=$(queued_total)
out=$(smtp carol@example.org root@host.example.com "broken")
like "$out" '^451 4\.3\.0 ' "sender_bcc_maps unreadable: SMTP 451 4.3.0"
printf 'Subject: broken\n\nx\n' | "$SENDMAIL" root 2>"$T/err"
is "$?" 75 "... and sendmail exits 75"
like "$(cat "$T/err")" 'sender_bcc' "... naming the table"
is "$(queued_total)" "$before" "nothing queued"
mv "$CONF/sender_bcc.db.off" "$CONF/sender_bcc.db"
is "$(smtp carol@example.org root@host.example.com "mended")" 250 "mended: mail flows again"

done_testing
