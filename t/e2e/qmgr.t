#!/bin/bash
# t/e2e/qmgr.t - the queue manager and its notices: delivery within a
# second of submission with the daemon up, sendmail -q delivering in the
# foreground with it down (the cron-only box), deferral with backoff and
# the reason in mailq, petrel flush, bounces per RFC 3464 (parsed by
# Python's email package), no bounce of a bounce (and the 2bounce copy to
# postmaster, once), remote recipients deferred with a clear reason
# while their server is down,
# expiry after maximal_queue_lifetime, one delay notice after
# delay_warning_time, and the log lines in Postfix's shape.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

# Remote mail goes to a relay host where nothing listens (port 9 of this
# test's own loopback): the SMTP client's deferral, without DNS.
instance_setup "relayhost = [127.0.0.1]:9"
export LC_ALL=C
SPOOL=$T/spool
mkdir -p "$SPOOL" "$T/cmdout"
chmod 1777 "$SPOOL" "$T/cmdout"
cat >>"$CONF/main.cf" <<EOF
mail_spool_directory = $SPOOL
alias_maps = hash:$T/aliases
alias_database = hash:$T/aliases
EOF
printf 'postmaster: bob\n' >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1

# The mailbox_command of the later parts: alice's fate is the number in
# mbcmd.rc (0: delivered into cmdout/alice); everybody else gets an mbox
# in the spool, so the notices can be read there.
echo 0 >"$T/mbcmd.rc"
cat >"$T/mbcmd" <<EOF
#!/bin/sh
u=\$(id -un)
if [ "\$u" = alice ]; then
	rc=\$(cat "$T/mbcmd.rc")
	if [ "\$rc" = 0 ]; then cat >>"$T/cmdout/alice"; else cat >/dev/null; fi
	exit "\$rc"
fi
{ echo "From MAILER-DAEMON \$(date)"; cat; echo; } >>"$SPOOL/\$u"
EOF
chmod 0755 "$T/mbcmd"
chmod 0644 "$T/mbcmd.rc"

log_has() { grep -Eq -- "$1" "$MAILLOG"; }
log_count() { grep -Ec -- "$1" "$MAILLOG"; }
file_has() { grep -Eq -- "$2" "$1" 2>/dev/null; }
count_in() { grep -Ec -- "$2" "$1" 2>/dev/null || true; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }
is_deferred() { [ "$(queue_count deferred)" -eq "$1" ]; }
set_conf() { "$PETREL" conf -e "$1=$2" >/dev/null 2>&1; }
restart() { "$PETREL" stop >/dev/null 2>&1; "$PETREL" start >/dev/null 2>&1; }
last_queued() {	# last_queued SENDER: the ID of the last message pickup queued from SENDER
	sed -n "s/.* \([0-9A-F]\{14\}\): from=<$1>, size=[0-9]*, nrcpt=[0-9]* (queue incoming)\$/\1/p" \
		"$MAILLOG" | tail -n 1
}

# dsn_check MBOX NOTICE_SUBJECT RCPT ACTION STATUS_RE DIAG RETURNED ORIG_SUBJECT:
# parses the last message with NOTICE_SUBJECT in the mbox with Python's
# email package and prints OK or what is wrong.
dsn_check() {
	$PY - "$@" <<'EOF'
import mailbox, re, sys
from email.utils import parsedate_to_datetime
path, subj, rcpt, action, status_re, diag, returned, orig = sys.argv[1:9]
msgs = [m for m in mailbox.mbox(path) if m['Subject'] == subj]
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
if not msgs:
    print('no message with subject %r in %s' % (subj, path)); sys.exit(0)
m = msgs[-1]
need(m['From'] == 'MAILER-DAEMON@host.example.com (Mail Delivery System)', 'From: %r' % m['From'])
need(m['Auto-Submitted'] == 'auto-replied', 'Auto-Submitted: %r' % m['Auto-Submitted'])
need(m.get_content_type() == 'multipart/report', 'type %s' % m.get_content_type())
need(m.get_param('report-type') == 'delivery-status', 'report-type %r' % m.get_param('report-type'))
need(m.get('Date') is not None and parsedate_to_datetime(m['Date']) is not None, 'Date')
need(re.match(r'^<\d{14}\.[0-9A-F]{14}@host\.example\.com>$', m['Message-Id'] or ''), 'Message-Id %r' % m['Message-Id'])
parts = m.get_payload()
types = [p.get_content_type() for p in parts]
want3 = 'message/rfc822' if returned == 'full' else 'text/rfc822-headers'
need(types == ['text/plain', 'message/delivery-status', want3], 'parts %r' % types)
if len(parts) == 3 and not bad:
    need(('<%s>' % rcpt) in parts[0].get_payload(), 'readable part names the recipient')
    blocks = parts[1].get_payload()
    need(len(blocks) == 2, '%d delivery-status blocks' % len(blocks))
    msgf, rf = blocks[0], blocks[1]
    need(msgf['Reporting-MTA'] == 'dns; host.example.com', 'Reporting-MTA %r' % msgf['Reporting-MTA'])
    need(msgf['Arrival-Date'] and parsedate_to_datetime(msgf['Arrival-Date']) is not None, 'Arrival-Date')
    need(rf['Final-Recipient'] == 'rfc822; ' + rcpt, 'Final-Recipient %r' % rf['Final-Recipient'])
    need(rf['Original-Recipient'] == 'rfc822; ' + rcpt, 'Original-Recipient %r' % rf['Original-Recipient'])
    need(rf['Action'] == action, 'Action %r' % rf['Action'])
    need(re.fullmatch(status_re, rf['Status'] or ''), 'Status %r' % rf['Status'])
    if diag == 'yes':
        need((rf['Diagnostic-Code'] or '').startswith('x-unix; '), 'Diagnostic-Code %r' % rf['Diagnostic-Code'])
    if action == 'delayed':
        need(rf['Will-Retry-Until'] and parsedate_to_datetime(rf['Will-Retry-Until']) is not None, 'Will-Retry-Until')
    if returned == 'full':
        need(parts[2].get_payload()[0]['Subject'] == orig, 'returned message subject')
    else:
        need(('Subject: %s' % orig) in parts[2].get_payload(), 'returned headers hold the subject')
print('OK' if not bad else '; '.join(bad))
EOF
}

# ---- 1. daemon up: delivered within a second ----
"$PETREL" start >/dev/null 2>&1
is "$?" 0 "petrel start"
ok "$([ -S "$QDIR/private/local" ]; echo $?)" "private/local is a socket"
is "$(stat -c '%U %a' "$QDIR/private" "$QDIR/private/local" 2>&1 | tr '\n' ' ')" "petrel 700 petrel 600 " \
	"private/ (petrel 0700) and private/local (petrel 0600): only qmgr reaches local delivery"
printf 'Subject: first\n\nhello alice\n' | "$SENDMAIL" alice
is "$?" 0 "sendmail alice: exit 0"
wait_for 1 file_has "$SPOOL/alice" '^Subject: first$'
ok $? "daemon up: the message reaches $SPOOL/alice within a second"
wait_for 5 queue_empty
ok $? "... and the queue is empty"
QID=$(last_queued root@host.example.com)
like "$(grep " $QID: " "$MAILLOG")" "$QID: from=<root@host\.example\.com>, size=[0-9]+, nrcpt=1 \(queue active\)" \
	"log: qmgr's \"from=<...>, size=N, nrcpt=N (queue active)\" line"
like "$(grep " $QID: " "$MAILLOG")" "$QID: to=<alice@host\.example\.com>, relay=local, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.[0-9]\.[0-9], status=sent \(" \
	"log: the delivery line in Postfix's shape"
like "$(grep " $QID: " "$MAILLOG")" "petrel/qmgr\[[0-9]+\]: $QID: removed" "log: \"ID: removed\" from petrel/qmgr"
like "$(grep -E 'petrel/(qmgr|local)\[' "$MAILLOG" | head -n 1)" "petrel/(qmgr|local)\[[0-9]+\]: " "the workers log as petrel/qmgr and petrel/local"

# ---- 2. daemon down: sendmail -q delivers in the foreground ----
"$PETREL" stop >/dev/null 2>&1
printf 'Subject: second\n\ncron only\n' | "$SENDMAIL" alice
is "$(queue_count maildrop)" 1 "daemon down: the message waits in maildrop/"
"$SENDMAIL" -q >"$T/out" 2>"$T/err"
is "$?" 0 "sendmail -q as root, daemon down: exit 0"
is "$(cat "$T/out" "$T/err")" "" "sendmail -q: silent (cron mails any output)"
ok "$(file_has "$SPOOL/alice" '^Subject: second$'; echo $?)" "sendmail -q: delivered to $SPOOL/alice before it returns"
is "$(queued_total)" 0 "sendmail -q: the queue is empty"
is "$("$PETREL" status >/dev/null 2>&1; echo $?)" 1 "sendmail -q: leaves no daemon running"
is "$(find "$QDIR" -type f -user root -path '*/[a-z]*/[0-9A-F]*' | wc -l)" 0 \
	"sendmail -q: no queue file belongs to root"
"$SENDMAIL" -q >"$T/out" 2>&1
is "$?" 0 "sendmail -q with an empty queue: exit 0"

# ---- 3. deferral, backoff, mailq, flush ----
set_conf mailbox_command "$T/mbcmd"
echo 75 >"$T/mbcmd.rc"
"$PETREL" start >/dev/null 2>&1
printf 'Subject: third\n\ntry again\n' | "$SENDMAIL" alice
wait_for 5 is_deferred 1
ok $? "exit 75 from mailbox_command: the message is in deferred/"
F=$(queue_files deferred | head -n 1)
ID3=$(basename "${F:-none}")
NOW=$(date +%s)
MT=$(stat -c %Y "$F" 2>/dev/null || echo 0)
ok "$([ "$MT" -gt $((NOW + 200)) ] && [ "$MT" -le $((NOW + 301)) ]; echo $?)" \
	"deferred/: mtime is the next retry, minimal_backoff_time (300s) ahead ($((MT - NOW))s)"
ok "$(file_has "$QDIR/defer/$ID3" "^alice@host\.example\.com	4\.[0-9]+\.[0-9]+	"; echo $?)" \
	"defer/$ID3 holds alice's reason"
"$SENDMAIL" -bp >"$T/mailq" 2>&1
like "$(cat "$T/mailq")" "^ *$ID3 .*" "mailq lists the deferred message"
like "$(cat "$T/mailq")" "\(Deferred: [^)]+\)" "mailq shows (Deferred: reason)"
like "$(grep " $ID3: " "$MAILLOG")" "$ID3: to=<alice@host\.example\.com>, relay=local, .*dsn=4\.[0-9]+\.[0-9]+, status=deferred \(" \
	"log: status=deferred line"
echo 0 >"$T/mbcmd.rc"
"$PETREL" flush >"$T/out" 2>&1
is "$?" 0 "petrel flush, daemon up: exit 0"
wait_for 5 file_has "$T/cmdout/alice" '^Subject: third$'
ok $? "after petrel flush: delivered"
wait_for 5 queue_empty
ok $? "after petrel flush: the queue is empty"
ok "$([ ! -e "$QDIR/defer/$ID3" ]; echo $?)" "its defer/ file is gone with it"

# sendmail -q with the daemon up asks the queue manager the same way.
echo 75 >"$T/mbcmd.rc"
printf 'Subject: third-b\n\nagain\n' | "$SENDMAIL" alice
wait_for 5 is_deferred 1
echo 0 >"$T/mbcmd.rc"
"$SENDMAIL" -q >"$T/out" 2>&1
is "$?" 0 "sendmail -q, daemon up: exit 0"
wait_for 5 file_has "$T/cmdout/alice" '^Subject: third-b$'
ok $? "sendmail -q, daemon up: the deferred message is delivered"

# ---- 4. a bounce, parsed by Python ----
echo 67 >"$T/mbcmd.rc"
printf 'Subject: fourth\n\nthis will bounce\n' | "$SENDMAIL" -f bob@host.example.com alice
wait_for 5 file_has "$SPOOL/bob" '^Subject: Undelivered Mail Returned to Sender$'
ok $? "exit 67: a bounce reaches the sender bob"
is "$(dsn_check "$SPOOL/bob" "Undelivered Mail Returned to Sender" alice@host.example.com failed '5\.[0-9]+\.[0-9]+' yes full fourth)" OK \
	"the bounce: multipart/report, delivery-status fields, the message returned (python email)"
wait_for 5 queue_empty
ok $? "after the bounce the queue is empty"
ID4=$(last_queued bob@host.example.com)
NID=$(sed -n "s/.* $ID4: sender non-delivery notification: \([0-9A-F]\{14\}\)$/\1/p" "$MAILLOG")
ok "$([ -n "$NID" ]; echo $?)" "log: \"$ID4: sender non-delivery notification: $NID\""
like "$(grep " ${NID:-none}: " "$MAILLOG")" "${NID:-none}: from=<>, size=[0-9]+, nrcpt=1 \(queue active\)" \
	"the bounce's envelope sender is <>"
like "$(grep " $ID4: " "$MAILLOG")" "$ID4: to=<alice@host\.example\.com>, relay=local, .*dsn=5\.[0-9]+\.[0-9]+, status=bounced \(" \
	"log: status=bounced line"

# RET=HDRS: only the headers come back.
printf 'Subject: fourth-b\n\nsecret body\n' | "$SENDMAIL" -R hdrs -f bob@host.example.com alice
wait_for 5 queue_empty
is "$(dsn_check "$SPOOL/bob" "Undelivered Mail Returned to Sender" alice@host.example.com failed '5\.[0-9]+\.[0-9]+' yes headers fourth-b)" OK \
	"RET=HDRS: text/rfc822-headers (python email)"

# ---- 5. a bounce that cannot be delivered is not bounced again ----
NB=$(count_in "$SPOOL/bob" '^From MAILER-DAEMON')
printf 'Subject: fifth\n\nto an unknown sender\n' | "$SENDMAIL" -f nosuch@host.example.com alice
wait_for 10 log_has "from=<>, undeliverable notice discarded"
ok $? "a bounce to an unknown local sender fails and is logged as discarded"
wait_for 5 queue_empty
ok $? "... the queue is empty (no loop)"
sleep 1
is "$(count_in "$SPOOL/bob" '^From MAILER-DAEMON')" "$NB" "... and nothing reaches postmaster without 2bounce"

# ---- 6. ... unless notify_classes has 2bounce: one copy to postmaster ----
set_conf notify_classes "resource, software, 2bounce"
restart
printf 'Subject: sixth\n\nto an unknown sender again\n' | "$SENDMAIL" -f nosuch@host.example.com alice
wait_for 10 file_has "$SPOOL/bob" '^Subject: Postmaster Copy: Undelivered Mail$'
ok $? "2bounce: postmaster (alias bob) gets a copy"
wait_for 5 queue_empty
ok $? "2bounce: the queue is empty afterwards"
"$PETREL" flush >/dev/null 2>&1
sleep 1
is "$(count_in "$SPOOL/bob" '^Subject: Postmaster Copy: Undelivered Mail$')" 1 "2bounce: exactly one copy"
like "$(cat "$MAILLOG")" "postmaster non-delivery notification: [0-9A-F]{14}" "log: postmaster non-delivery notification"
set_conf notify_classes "resource, software"

# ---- 7. remote recipients wait while their server is down ----
restart
printf 'Subject: seventh\n\nfar away\n' | "$SENDMAIL" -f bob@host.example.com carol@example.net
wait_for 5 is_deferred 1
ok $? "a remote recipient: deferred"
ID7=$(basename "$(queue_files deferred | head -n 1)")
like "$(grep " $ID7: " "$MAILLOG")" "$ID7: to=<carol@example\.net>, relay=none, delay=[0-9.]+, delays=[0-9.]+/0/[0-9.]+/0, dsn=4\.4\.1, status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:9: Connection refused\)" \
	"log: the remote deferral, essential part first"
"$SENDMAIL" -bp >"$T/mailq" 2>&1
like "$(cat "$T/mailq")" "\(Deferred: connect to 127\.0\.0\.1\[127\.0\.0\.1\]:9: Connection" \
	"mailq: the remote deferral reason"

# ---- 8. expiry after maximal_queue_lifetime ----
set_conf maximal_queue_lifetime 1s
is "$("$PETREL" conf maximal_queue_lifetime 2>&1)" "maximal_queue_lifetime = 1s" "conf: maximal_queue_lifetime = 1s"
restart
sleep 1.1
NB=$(count_in "$SPOOL/bob" '^Subject: Undelivered Mail Returned to Sender$')
"$PETREL" flush >/dev/null 2>&1
wait_for 10 log_has "$ID7: from=<bob@host\.example\.com>, status=expired, returned to sender"
ok $? "log: status=expired, returned to sender"
wait_for 5 queue_empty
ok $? "expired: the queue is empty"
is "$(count_in "$SPOOL/bob" '^Subject: Undelivered Mail Returned to Sender$')" "$((NB + 1))" "expired: one bounce to the sender"
is "$(dsn_check "$SPOOL/bob" "Undelivered Mail Returned to Sender" carol@example.net failed '4\.4\.1' no full seventh)" OK \
	"expired: Action failed, the last status 4.4.1 (python email)"
set_conf maximal_queue_lifetime 5d

# ---- 9. one delay notice after delay_warning_time ----
# 3 s: the first try (a connection refused by the relay host) must end
# before the warning time even on a loaded machine.
set_conf delay_warning_time 3s
restart
printf 'Subject: ninth\n\nslow\n' | "$SENDMAIL" -f bob@host.example.com dave@example.net
wait_for 5 is_deferred 1
ok $? "delay: deferred first"
ID9=$(basename "$(queue_files deferred | head -n 1)")
MT=$(stat -c %Y "$QDIR/deferred/$ID9" 2>/dev/null || echo 0)
ok "$([ "$MT" -le $(($(date +%s) + 4)) ]; echo $?)" "delay: the next try is brought forward to the warning time"
sleep 3.1
"$PETREL" flush >/dev/null 2>&1
wait_for 10 file_has "$SPOOL/bob" '^Subject: Delayed Mail \(still being retried\)$'
ok $? "delay: a delay notice reaches bob"
is "$(dsn_check "$SPOOL/bob" "Delayed Mail (still being retried)" dave@example.net delayed '4\.4\.1' no headers ninth)" OK \
	"delay notice: Action delayed, Will-Retry-Until, headers only (python email)"
ok "$(file_has "$QDIR/defer/$ID9" '^<delay-warned>	-	[0-9]+$'; echo $?)" "the notice is remembered in defer/$ID9"
like "$(cat "$MAILLOG")" "$ID9: sender delay notification: [0-9A-F]{14}" "log: sender delay notification"
"$PETREL" flush >/dev/null 2>&1
sleep 1
"$PETREL" flush >/dev/null 2>&1
sleep 1
is "$(count_in "$SPOOL/bob" '^Subject: Delayed Mail \(still being retried\)$')" 1 "delay: only one notice"
is "$(queue_count deferred)" 1 "delay: the message itself still waits"
"$SENDMAIL" -bp >"$T/mailq" 2>&1
unlike "$(cat "$T/mailq")" "delay-warned" "mailq does not show the notice marker"

# ---- 10. a crashed local delivery process: at least once ----
set_conf delay_warning_time 0h
echo 0 >"$T/mbcmd.rc"
cat >"$T/slowcmd" <<EOF
#!/bin/sh
sleep 3
cat >>"$T/cmdout/alice"
EOF
chmod 0755 "$T/slowcmd"
set_conf mailbox_command "$T/slowcmd"
restart
printf 'Subject: tenth\n\ninterrupted\n' | "$SENDMAIL" alice
MPID=$(tr -d ' \n' <"$QDIR/pid/master.pid")
wait_for 5 pgrep -f "$T/slowcmd" >/dev/null
S=$(pgrep -f "$T/slowcmd" | head -n 1)
# Up from the command to the master's child: the local delivery process.
p=${S:-1}
pp=$(ps -o ppid= -p "$p" | tr -d ' ')
while [ -n "$pp" ] && [ "$pp" != "$MPID" ] && [ "$pp" != 1 ]; do
	p=$pp
	pp=$(ps -o ppid= -p "$p" | tr -d ' ')
done
ok "$([ "$pp" = "$MPID" ]; echo $?)" "the command runs under a local delivery process ($p) of the master"
kill -9 "$p" ${S:+"$S"} 2>/dev/null
wait_for 5 log_has "local delivery was interrupted"
ok $? "a local delivery process killed mid-delivery: logged"
ID10=$(last_queued root@host.example.com)
wait_for 5 test -f "$QDIR/deferred/$ID10"
ok $? "... its recipient is deferred, the message kept in deferred/ (at least once)"
set_conf mailbox_command "$T/mbcmd"
restart
"$PETREL" flush >/dev/null 2>&1
wait_for 10 file_has "$T/cmdout/alice" '^Subject: tenth$'
ok $? "... and delivered on the retry"

# ---- 11. sendmail -bd -q30m starts the daemon ----
"$PETREL" stop >/dev/null 2>&1
"$SENDMAIL" -bd -q30m >"$T/out" 2>&1
is "$?" 0 "sendmail -bd -q30m: exit 0"
is "$("$PETREL" status >/dev/null 2>&1; echo $?)" 0 "sendmail -bd -q30m: the daemon runs"
"$SENDMAIL" -q30m >"$T/out" 2>&1
is "$?" 0 "sendmail -q30m alone: exit 0 (does nothing)"

[ -n "${QMGR_KEEP_LOG:-}" ] && cp "$MAILLOG" "$QMGR_KEEP_LOG"
done_testing
