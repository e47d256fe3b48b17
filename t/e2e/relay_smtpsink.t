#!/bin/bash
# t/e2e/relay_smtpsink.t - relay by MX to Postfix's smtp-sink (unpacked
# from Debian's postfix package, never installed), the receiving server
# nobody here wrote, with its own ideas of ESMTP. unbound on 127.0.0.1:53
# serves the MX records; the sinks listen on 127.0.0.2-6 port 25 and dump
# every transaction (envelope arguments and the data as received, dot
# stuffing included). Covered: delivery to the preferred MX with the
# content, HELO name and MAIL/RCPT parameters as smtp-sink saw them
# (no SIZE= since it does not announce SIZE; RET/ENVID/NOTIFY/ORCPT
# passed on; no success notice of ours since it announces DSN); the
# preferred MX down: the next one; a server without ESMTP (smtp-sink -e):
# HELO, 8-bit MIME sent as quoted-printable, NOTIFY=SUCCESS answered by a
# "relayed" notice; one message with a delivered, a refused (smtp-sink -f
# rcpt: bounce with the sink's reply as Diagnostic-Code) and a deferred
# recipient (-r rcpt: the reason in mailq), the deferred one delivered by
# petrel flush once the sink takes mail. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup "inet_interfaces = 127.0.0.1" "dns_nameservers = 127.0.0.1" \
	"smtp_connect_timeout = 2s"
export LC_ALL=C.UTF-8
SPOOL=$T/spool
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
stop_peers() {
	smtp_sink_stop_all
	unbound_stop
	umount /etc/resolv.conf 2>/dev/null
	instance_teardown
}
trap stop_peers EXIT
dead_resolv_conf

unbound_start sink.test <<'EOF'
local-zone: "test." static
local-data: "sink.test. MX 10 mx1.sink.test."
local-data: "sink.test. MX 20 mx2.sink.test."
local-data: "mx1.sink.test. A 127.0.0.2"
local-data: "mx2.sink.test. A 127.0.0.3"
local-data: "old.test. MX 10 mx.old.test."
local-data: "mx.old.test. A 127.0.0.4"
local-data: "hard.test. MX 10 mx.hard.test."
local-data: "mx.hard.test. A 127.0.0.5"
local-data: "soft.test. MX 10 mx.soft.test."
local-data: "mx.soft.test. A 127.0.0.6"
EOF
ok $? "unbound answers on 127.0.0.1:53"
postfix_unpack
ok $? "Postfix's package unpacked (smtp-sink)"
smtp_sink_start s2 127.0.0.2:25 -h mx1.sink.test
ok $? "smtp-sink on 127.0.0.2:25 (MX 10 of sink.test)"
smtp_sink_start s3 127.0.0.3:25 -h mx2.sink.test
ok $? "smtp-sink on 127.0.0.3:25 (MX 20 of sink.test)"
smtp_sink_start old 127.0.0.4:25 -h mx.old.test -e
ok $? "smtp-sink -e on 127.0.0.4:25 (no ESMTP)"
smtp_sink_start hard 127.0.0.5:25 -h mx.hard.test -f rcpt -B "550 5.1.1 Recipient address rejected: User unknown"
ok $? "smtp-sink -f rcpt on 127.0.0.5:25 (refuses every recipient)"
smtp_sink_start soft 127.0.0.6:25 -h mx.soft.test -r rcpt -b "450 4.2.0 Recipient address rejected: Greylisted, try again"
ok $? "smtp-sink -r rcpt on 127.0.0.6:25 (defers every recipient)"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

log_has() { grep -Eq -- "$1" "$MAILLOG"; }
has_dumps() { [ "$(smtp_sink_count "$1")" -ge "$2" ]; }
# dump NAME RCPT: the transaction smtp-sink NAME dumped for RCPT.
dump() { grep -l -- "^X-Rcpt-Args: <$2>" "$T/$1"/dump/* 2>/dev/null | head -n 1 | xargs -r cat; }
# dump_data NAME RCPT: the data part of a one-recipient transaction (after
# smtp-sink's X- lines and the three lines of its own Received: header,
# without the empty line it appends).
dump_data() { dump "$1" "$2" | sed '1,/^X-Rcpt-Args: /d' | sed '1,3d;$d'; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }

# ---- the preferred MX: content and envelope as smtp-sink saw them ----
printf 'Subject: first\nX-Test: one\n\n.starts with a dot\n.\nlast line\n' |
	"$SENDMAIL" -i -f alice@host.example.com -N success -R hdrs -V env-1 x@sink.test
wait_for 10 has_dumps s2 1
ok $? "the most preferred MX (smtp-sink on 127.0.0.2) got the message"
is "$(smtp_sink_count s3)" 0 "... the second MX got nothing"
D=$(dump s2 'x@sink.test')
like "$D" $'X-Client-Proto: ESMTP\n' "EHLO, not HELO"
like "$D" $'X-Helo-Args: host\\.example\\.com\n' "EHLO host.example.com (smtp_helo_name = \$myhostname)"
like "$D" $'X-Mail-Args: <alice@host\\.example\\.com> [^\n]*RET=HDRS' "MAIL FROM with RET=HDRS"
like "$D" $'X-Mail-Args: [^\n]*ENVID=env-1' "... and ENVID"
unlike "$D" $'X-Mail-Args: [^\n]*SIZE=' "... and no SIZE= (smtp-sink does not announce SIZE)"
like "$D" $'X-Rcpt-Args: <x@sink\\.test> NOTIFY=SUCCESS\n' "RCPT TO with NOTIFY (no ORCPT: none was given)"
DATA=$(dump_data s2 'x@sink.test')
like "$DATA" $'^Received: by host\\.example\\.com \\(Petrel, from userid 0\\)\n\tid [0-9A-F]{14}; ' "the data starts with Petrel's Received: line"
like "$DATA" $'\nSubject: first\nX-Test: one\n' "the headers as written"
like "$DATA" $'\n\n\\.starts with a dot\n\\.\nlast line$' "the body whole: lines with a leading dot as sent (stuffed on the wire, smtp-sink removes the stuffing)"
wait_for 10 log_has "to=<x@sink\.test>, relay=mx1\.sink\.test\[127\.0\.0\.2\]:25, .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok\)"
ok $? "log: relay=mx1.sink.test[127.0.0.2]:25, status=sent (250 2.0.0 Ok)"
wait_for 10 queue_empty
ok $? "the queue is empty"
ok "$(! grep -q 'Delivery Report' "$SPOOL/alice" 2>/dev/null; echo $?)" \
	"NOTIFY=SUCCESS to a server with DSN: no notice of ours (RFC 3461 6.2.2)"

# ---- several messages to one destination ----
for i in 1 2 3 4 5; do
	printf 'Subject: many %s\n\nbody %s\n' "$i" "$i" | "$SENDMAIL" -f alice@host.example.com "m$i@sink.test"
done
wait_for 20 has_dumps s2 6
ok $? "five more messages for sink.test: all at the preferred MX"
is "$(cat "$T"/s2/dump/* | grep -c '^X-Rcpt-Args: <m[1-5]@sink\.test>')" 5 "... each once"

# ---- the preferred MX down: the next one ----
smtp_sink_stop s2
printf 'Subject: second\n\nmx2\n' | "$SENDMAIL" -f alice@host.example.com y@sink.test
wait_for 15 has_dumps s3 1
ok $? "the preferred MX is down: the second MX (127.0.0.3) gets the mail"
wait_for 10 log_has "to=<y@sink\.test>, relay=mx2\.sink\.test\[127\.0\.0\.3\]:25, .*status=sent"
ok $? "log: relay=mx2.sink.test[127.0.0.3]:25"

# ---- a server without ESMTP: HELO, 8-bit MIME as quoted-printable ----
printf 'Subject: old\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\303\251 cr\303\250me\n' |
	"$SENDMAIL" -f alice@host.example.com -N success old@old.test
wait_for 10 has_dumps old 1
ok $? "smtp-sink without ESMTP got the message"
D=$(dump old 'old@old.test')
like "$D" $'X-Client-Proto: SMTP\n' "HELO after the EHLO was refused"
like "$D" $'X-Mail-Args: <alice@host\\.example\\.com>\n' "MAIL FROM without parameters"
like "$D" $'X-Rcpt-Args: <old@old\\.test>\n' "RCPT TO without parameters"
like "$D" $'\nContent-Transfer-Encoding: quoted-printable\n' "8-bit MIME declared quoted-printable"
like "$D" $'\n\ncaf=C3=A9 cr=C3=A8me$' "... and encoded"
ok "$(LC_ALL=C grep -q $'[\x80-\xff]' <<<"$D"; [ $? -eq 1 ]; echo $?)" "... not one 8-bit byte on the wire"
wait_for 10 grep -q '^Subject: Successful Mail Delivery Report' "$SPOOL/alice"
ok $? "NOTIFY=SUCCESS to a server without DSN: a success notice"
like "$(cat "$SPOOL/alice")" $'Action: relayed\n' "... with Action: relayed"

# ---- one message: delivered, refused, deferred; then flush ----
printf 'Subject: mixed\n\nthree fates\n' |
	"$SENDMAIL" -f alice@host.example.com ok@sink.test no@hard.test later@soft.test
wait_for 15 log_has "to=<no@hard\.test>, relay=mx\.hard\.test\[127\.0\.0\.5\]:25, .*dsn=5\.1\.1, status=bounced \(host mx\.hard\.test\[127\.0\.0\.5\] said: 550 5\.1\.1 Recipient address rejected: User unknown \(in reply to RCPT TO command\)\)"
ok $? "refused recipient: bounced with the sink's reply"
wait_for 15 log_has "to=<later@soft\.test>, relay=mx\.soft\.test\[127\.0\.0\.6\]:25, .*dsn=4\.2\.0, status=deferred \(host mx\.soft\.test\[127\.0\.0\.6\] said: 450 4\.2\.0 Recipient address rejected: Greylisted, try again \(in reply to RCPT TO command\)\)"
ok $? "deferred recipient: deferred with the sink's reply"
wait_for 15 has_dumps s3 2
ok $? "delivered recipient: at sink.test's MX"
wait_for 10 grep -q '^Subject: Undelivered Mail Returned to Sender' "$SPOOL/alice"
ok $? "the bounce reached the sender"
B=$(cat "$SPOOL/alice")
like "$B" $'Original-Recipient: rfc822; no@hard\\.test\nFinal-Recipient: rfc822; no@hard\\.test\nAction: failed\nStatus: 5\\.1\\.1\nRemote-MTA: dns; mx\\.hard\\.test\nDiagnostic-Code: smtp; 550 5\\.1\\.1 Recipient address rejected: User unknown\n' \
	"RFC 3464 part: Remote-MTA and Diagnostic-Code: smtp; with the sink's reply"
unlike "$B" 'Final-Recipient: rfc822; (ok@sink|later@soft)\.test' "... naming only the refused recipient"
wait_for 10 test "$(queue_count deferred)" -eq 1
ok $? "the message waits in deferred/ for its deferred recipient"
like "$("$SENDMAIL" -bp 2>&1)" '\(Deferred: host mx\.soft\.test\[127\.0\.0\.6\] said: 450 4\.2\.0' \
	"mailq shows the remote reason"
like "$("$SENDMAIL" -bp 2>&1)" 'later@soft\.test' "... for later@soft.test"
smtp_sink_stop soft
smtp_sink_start soft2 127.0.0.6:25 -h mx.soft.test
ok $? "the greylisting sink now takes mail"
"$PETREL" flush >/dev/null 2>&1
wait_for 15 has_dumps soft2 1
ok $? "petrel flush: the deferred recipient is delivered"
wait_for 10 queue_empty
ok $? "the queue is empty"
is "$(grep -c '^X-Rcpt-Args: ' "$T"/soft2/dump/*)" 1 "one recipient in that transaction (the others were not sent again)"
is "$(cat "$T"/s3/dump/* | grep -c '^X-Rcpt-Args: <ok@sink\.test>')" 1 "ok@sink.test delivered once"

done_testing
