#!/bin/bash
# t/e2e/relay.t - relay by SMTP to relayhost = [127.0.0.1]:PORT (no DNS):
# a real SMTP server (Python aiosmtpd, t/lib/smtpsink.py) records every
# transaction and can be told to refuse recipients (450/550), to lack
# PIPELINING/8BITMIME/SMTPUTF8/DSN/SIZE, to announce a small SIZE, to stall
# before answering the dot, or to send broken replies. Covered: delivery
# from sendmail and from SMTP with the content byte-exact (dot-stuffing,
# CRLF), one transaction with a delivered, a deferred and a bounced
# recipient (RFC 3464 report with Remote-MTA and Diagnostic-Code: smtp;),
# the retry after petrel flush, a server that is down (4.4.1, then
# delivered), SIZE (5.3.4), SMTPUTF8 (5.6.7), DSN parameters passed on,
# several messages to one destination, sendmail -q with no daemon, a
# server that stalls after DATA (4.4.2), and malformed replies (deferred,
# the reason names the server). The log lines are checked in Postfix's
# shape. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

SINKPORT=10025
instance_setup "relayhost = [127.0.0.1]:$SINKPORT" "smtp_data_done_timeout = 2s" \
	"mynetworks = 127.0.0.0/8" "transport_maps = hash:\$config_directory/transport"
export LC_ALL=C.UTF-8
SPOOL=$T/spool
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop; sink2_stop; instance_teardown' EXIT
cat >"$CONF/transport" <<EOF
special.test    smtp:[127.0.0.1]:10026
.sub.test       smtp:[127.0.0.1]:10026
forbidden.test  error:5.7.1 mail for forbidden.test is not accepted
EOF
"$PETREL" map "hash:$CONF/transport"

# ---- the remote server ----
SINK=$T/sink
mkdir -p "$SINK"
# A second server, on port 10026, for transport_maps.
SINK2=$T/sink2
SINK2PID=
sink2_start() {
	mkdir -p "$SINK2"
	rm -f "$SINK2/ready"
	$PY "$PETREL_SRCDIR/t/lib/smtpsink.py" 127.0.0.1 10026 "$SINK2" 2>>"$SINK2/err" &
	SINK2PID=$!
	wait_for 10 test -f "$SINK2/ready"
}
sink2_stop() { [ -n "$SINK2PID" ] && kill "$SINK2PID" 2>/dev/null; SINK2PID=; }
sink2_rcpts() { $PY -c "import json,sys; print(' '.join(r for l in open('$SINK2/mail.jsonl') for r in json.loads(l)['rcpt_tos']))" 2>/dev/null; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }
is_deferred() { [ "$(queue_count deferred)" -eq "$1" ]; }
file_has() { grep -Eq -- "$2" "$1" 2>/dev/null; }
last_id() { grep -oE '[0-9A-F]{14}: from=<[^>]*>, size' "$MAILLOG" | tail -n 1 | cut -c1-14; }

# rfc3464 MBOX SUBJECT RCPT ACTION STATUS REMOTE_MTA DIAG: checks the last
# notice with that subject (Python's email package); prints OK or what differs.
rfc3464() {
	$PY - "$@" <<'EOF'
import mailbox, re, sys
path, subj, rcpt, action, status, mta, diag = sys.argv[1:8]
msgs = [m for m in mailbox.mbox(path) if m['Subject'] == subj]
if not msgs:
    print('no notice %r' % subj); sys.exit(0)
m = msgs[-1]
bad = []
if m.get_content_type() != 'multipart/report' or m.get_param('report-type') != 'delivery-status':
    bad.append('type %s' % m.get_content_type())
parts = m.get_payload()
ds = [p for p in parts if p.get_content_type() == 'message/delivery-status']
if len(ds) != 1:
    bad.append('%d status parts' % len(ds))
else:
    blocks = ds[0].get_payload()
    rfs = [b for b in blocks[1:] if b['Final-Recipient'] == 'rfc822; ' + rcpt]
    if len(blocks) != 2 or len(rfs) != 1:
        bad.append('blocks %r' % [b['Final-Recipient'] for b in blocks[1:]])
    else:
        rf = rfs[0]
        for k, want in (('Action', action), ('Status', status), ('Remote-MTA', mta),
                        ('Diagnostic-Code', diag)):
            got = rf[k] or ''
            if want.startswith('re:') and re.fullmatch(want[3:], got):
                continue
            if got != want:
                bad.append('%s %r' % (k, rf[k]))
print('OK' if not bad else '; '.join(bad))
EOF
}

sink_start
ok $? "aiosmtpd sink listens on 127.0.0.1:$SINKPORT"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"

# ---- 1. from sendmail: content byte-exact, dots stuffed and unstuffed ----
printf 'From: alice@host.example.com\nTo: bob@remote.test\nSubject: first\n\nline one\n.leading dot\n..two dots\n.\nlast line\n' \
	| "$SENDMAIL" -i -f alice@host.example.com bob@remote.test
wait_for 10 sink_has 1
ok $? "sendmail: the remote server got the message"
is "$(sink_get 1 "r['mail_from'] + ' ' + ','.join(r['rcpt_tos'])")" "alice@host.example.com bob@remote.test" \
	"sendmail: envelope"
is "$(sink_get 1 "r['data'].split(b'\r\n\r\n', 1)[1] == b'line one\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n'")" True \
	"sendmail: body byte-exact after dot-stuffing, CRLF line ends"
is "$(sink_get 1 "r['data'].replace(b'\r\n', b'').count(b'\n')")" 0 "sendmail: no bare LF on the wire"
like "$(sink_get 1 "r['data'].split(b'\r\n\r\n', 1)[0]")" "Subject: first" "sendmail: headers as queued"
is "$(sink_get 1 "r['helo']")" "host.example.com" "EHLO with smtp_helo_name = \$myhostname"
ID1=$(last_id)
wait_for 5 log_has "$ID1: removed"
ok $? "sendmail: the message left the queue"
like "$(grep "$ID1: to=" "$MAILLOG")" "^.* petrel/smtp\[[0-9]+\]: $ID1: to=<bob@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT, delay=[0-9.]+, delays=[0-9.]+/0/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as SINK[0-9]+\)$" \
	"log: the delivery in Postfix's shape"

# ---- 2. from SMTP ----
$PY - <<'EOF'
import smtplib
s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
s.sendmail('alice@host.example.com', ['carol@remote.test'],
           b'From: <alice@host.example.com>\r\nTo: <carol@remote.test>\r\nSubject: second\r\n\r\n.hidden\r\nbody\r\n')
s.quit()
EOF
ok $? "SMTP: accepted for carol@remote.test"
wait_for 10 sink_has 2
ok $? "SMTP: relayed to the remote server"
is "$(sink_get 2 "r['data'].split(b'\r\n\r\n', 1)[1] == b'.hidden\r\nbody\r\n'")" True "SMTP: body byte-exact"
like "$(sink_get 2 "r['data'].split(b'\r\n\r\n', 1)[0]")" "^Received: from " "SMTP: our Received: line on top"
like "$(sink_get 2 "' '.join(r['mail_options'])")" "^SIZE=[0-9]+$" "MAIL FROM carries SIZE="

# ---- 3. mixed results in one transaction ----
sink_conf '{"rcpt": {"defer@remote.test": "450 4.2.0 <defer@remote.test>: mailbox busy", "reject@remote.test": "550 5.1.1 <reject@remote.test>: no such user"}}'
printf 'Subject: third\n\nfor three\n' | "$SENDMAIL" -f alice@host.example.com ok@remote.test defer@remote.test reject@remote.test
wait_for 10 sink_has 3
ok $? "mixed: one transaction reached the server"
is "$(sink_get 3 "','.join(r['rcpt_tos'])")" "ok@remote.test" "mixed: only the accepted recipient got the data"
wait_for 10 is_deferred 1
ok $? "mixed: the message waits in deferred/"
ID3=$(basename "$(queue_files deferred | head -n 1)")
like "$(grep "$ID3: to=<ok@" "$MAILLOG")" "dsn=2\.0\.0, status=sent \(250 " "mixed: ok@ sent"
like "$(grep "$ID3: to=<defer@" "$MAILLOG")" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT, .*dsn=4\.2\.0, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 450 4\.2\.0 <defer@remote\.test>: mailbox busy \(in reply to RCPT TO command\)\)" \
	"mixed: defer@ deferred with the server's words"
like "$(grep "$ID3: to=<reject@" "$MAILLOG")" "dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <reject@remote\.test>: no such user \(in reply to RCPT TO command\)\)" \
	"mixed: reject@ bounced"
wait_for 10 file_has "$SPOOL/alice" '^Subject: Undelivered Mail Returned to Sender$'
ok $? "mixed: the bounce reached alice's mailbox"
is "$(rfc3464 "$SPOOL/alice" "Undelivered Mail Returned to Sender" reject@remote.test failed 5.1.1 "dns; 127.0.0.1" "smtp; 550 5.1.1 <reject@remote.test>: no such user")" OK \
	"mixed: RFC 3464 report with Remote-MTA and Diagnostic-Code: smtp;"
"$SENDMAIL" -bp >"$T/mailq" 2>&1
like "$(cat "$T/mailq")" "Deferred: host 127\.0\.0\.1\[127\.0\.0\.1\] said: 450" "mixed: mailq shows the server's answer"
sink_conf '{}'
"$PETREL" flush >/dev/null 2>&1
wait_for 10 sink_has 4
ok $? "mixed: after petrel flush the deferred recipient is retried"
is "$(sink_get 4 "','.join(r['rcpt_tos'])")" "defer@remote.test" "mixed: only the deferred recipient is sent again"
wait_for 10 queue_empty
ok $? "mixed: the queue is empty"

# ---- 3b. without PIPELINING, one command at a time; HELO when EHLO is refused ----
sink_conf '{"lack": ["PIPELINING"], "rcpt": {"no@remote.test": "550 5.1.1 <no@remote.test>: no such user"}}'
N0=$(sink_count)
printf 'Subject: third-b\n\nlockstep\n' | "$SENDMAIL" -f alice@host.example.com yes@remote.test no@remote.test
wait_for 10 sink_has $((N0 + 1))
is "$(sink_get $((N0 + 1)) "','.join(r['rcpt_tos'])")" "yes@remote.test" "no PIPELINING: the accepted recipient got it"
wait_for 10 log_has "to=<no@remote\.test>, .*dsn=5\.1\.1, status=bounced"
ok $? "no PIPELINING: the refused one bounced"
sink_conf '{"no_ehlo": true}'
printf 'Subject: third-c\n\nhelo\n' | "$SENDMAIL" -f alice@host.example.com helo@remote.test
wait_for 10 sink_has $((N0 + 2))
is "$(sink_get $((N0 + 2)) "r['helo'] + ' ' + ' '.join(r['mail_options'])")" "host.example.com " \
	"EHLO refused: HELO, and no ESMTP parameters"
sink_conf '{}'
wait_for 10 queue_empty

# ---- 4. DSN parameters passed on ----
B=$(sink_count)
$PY - <<'EOF'
import smtplib
s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
s.ehlo()
s.mail('alice@host.example.com', ['RET=HDRS', 'ENVID=abc123'])
s.rcpt('dsn@remote.test', ['NOTIFY=FAILURE,DELAY', 'ORCPT=rfc822;orig@remote.test'])
s.data(b'Subject: fourth\r\n\r\ndsn\r\n')
s.quit()
EOF
wait_for 10 sink_has $((B + 1))
ok $? "DSN: relayed"
is "$(sink_get $((B + 1)) "' '.join(r['mail_dsn'])")" "RET=HDRS ENVID=abc123" "DSN: RET and ENVID on MAIL FROM"
is "$(sink_get $((B + 1)) "' '.join(r['rcpt_dsn'][0])")" "NOTIFY=FAILURE,DELAY ORCPT=rfc822;orig@remote.test" "DSN: NOTIFY and ORCPT on RCPT TO"
sink_conf '{"lack": ["DSN"]}'
printf 'Subject: fourth-b\n\nno dsn\n' | "$SENDMAIL" -N failure -f alice@host.example.com nodsn@remote.test
wait_for 10 sink_has $((B + 2))
is "$(sink_get $((B + 2)) "len(r['mail_dsn']) + len(r['rcpt_dsn'][0])")" 0 "DSN: no DSN parameters for a server without DSN"
printf 'Subject: success-b\n\nrelayed\n' | "$SENDMAIL" -N success -f alice@host.example.com relayed@remote.test
wait_for 10 file_has "$SPOOL/alice" '^Subject: Successful Mail Delivery Report$'
ok $? "NOTIFY=SUCCESS, server without DSN: a success notice reaches the sender"
is "$(rfc3464 "$SPOOL/alice" "Successful Mail Delivery Report" relayed@remote.test relayed 2.0.0 "dns; 127.0.0.1" "re:smtp; 250 2\.0\.0 Ok: queued as SINK[0-9]+")" OK \
	"NOTIFY=SUCCESS, server without DSN: Action: relayed, Remote-MTA, Diagnostic-Code"
sink_conf '{}'
printf 'Subject: success-a\n\npassed on\n' | "$SENDMAIL" -N success,failure -f alice@host.example.com passed@remote.test
wait_for 10 sink_has $((B + 4))
is "$(sink_get $((B + 4)) "' '.join(r['rcpt_dsn'][0])")" "NOTIFY=SUCCESS,FAILURE" "NOTIFY=SUCCESS to a DSN server: passed on"
IDP=$(grep -oE '[0-9A-F]{14}: to=<passed@remote\.test>' "$MAILLOG" | cut -c1-14)
wait_for 10 log_has "$IDP: removed"
unlike "$(grep "$IDP: " "$MAILLOG")" "delivery status notification" "NOTIFY=SUCCESS to a DSN server: no success notice of ours (RFC 3461 6.2.2)"
B=$((B + 2))

# ---- 5. SIZE, SMTPUTF8, 8BITMIME ----
sink_conf '{"size": 200}'
BIG=$(head -c 400 /dev/zero | tr '\0' x)
printf 'Subject: fifth\n\n%s\n' "$BIG" | "$SENDMAIL" -f alice@host.example.com big@remote.test
wait_for 10 log_has "to=<big@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT, .*dsn=5\.3\.4, status=bounced \(message size [0-9]+ exceeds size limit 200 of server 127\.0\.0\.1\[127\.0\.0\.1\]\)"
ok $? "SIZE: bounced 5.3.4 before sending"
wait_for 10 test "$(grep -c '^Final-Recipient: rfc822; big@remote.test' "$SPOOL/alice")" -ge 1
is "$(rfc3464 "$SPOOL/alice" "Undelivered Mail Returned to Sender" big@remote.test failed 5.3.4 "" "")" OK "SIZE: the bounce says 5.3.4"
is "$(sink_count)" $((B + 2)) "SIZE: nothing was sent"
sink_conf '{"lack": ["SMTPUTF8"]}'
printf 'Subject: sixth\n\nutf8\n' | "$SENDMAIL" -f alice@host.example.com 'dörte@remote.test'
wait_for 10 log_has "to=<dörte@remote\.test>, .*dsn=5\.6\.7, status=bounced \(SMTPUTF8 is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)"
ok $? "SMTPUTF8: a UTF-8 address to a server without SMTPUTF8 bounces 5.6.7"
sink_conf '{}'
printf 'Subject: sixth-b\n\nutf8\n' | "$SENDMAIL" -f alice@host.example.com 'jürgen@remote.test'
wait_for 10 sink_has $((B + 3))
like "$(sink_get $((B + 3)) "','.join(r['rcpt_tos']) + ' ' + ' '.join(r['mail_options'])")" "^jürgen@remote\.test SIZE=[0-9]+ SMTPUTF8$" \
	"SMTPUTF8: offered, the UTF-8 address goes with MAIL FROM ... SMTPUTF8"
sink_conf '{"lack": ["8BITMIME"]}'
printf 'Subject: seventh\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ngr\303\274n\n' \
	| "$SENDMAIL" -B8BITMIME -f alice@host.example.com eight@remote.test
wait_for 10 sink_has $((B + 4))
is "$(sink_get $((B + 4)) "r['data'].split(b'\r\n\r\n', 1)[1] == b'gr=C3=BCn\r\n' and b'\r\nContent-Transfer-Encoding: quoted-printable\r\n' in r['data'] and 'BODY=8BITMIME' not in r['mail_options']")" True \
	"8BITMIME: lacking, the part declared 8bit goes as quoted-printable, without BODY= (relay_8bit.t has more)"
sink_conf '{}'

# ---- 6. several messages for one destination ----
N0=$(sink_count)
for i in 1 2 3 4 5; do
	printf 'Subject: many %s\n\nmany\n' "$i" | "$SENDMAIL" -f alice@host.example.com "many$i@remote.test"
done
wait_for 15 sink_has $((N0 + 5))
ok $? "five messages for one destination: all delivered"
is "$($PY -c "
import json; print(sorted(r for l in open('$SINK/mail.jsonl') for r in json.loads(l)['rcpt_tos'] if r.startswith('many')))")" \
	"['many1@remote.test', 'many2@remote.test', 'many3@remote.test', 'many4@remote.test', 'many5@remote.test']" \
	"five messages: each once"

# ---- 6b. transport_maps: domain, .parent, error: ----
sink2_start
ok $? "a second server on 127.0.0.1:10026"
N0=$(sink_count)
printf 'Subject: tm\n\nmap\n' | "$SENDMAIL" -f alice@host.example.com x@special.test y@a.sub.test z@sub.test
wait_for 10 test "$(sink2_rcpts)" = "x@special.test y@a.sub.test"
ok $? "transport_maps: special.test and a.sub.test (.sub.test) go to the map's nexthop, in one transaction"
wait_for 10 sink_has $((N0 + 1))
is "$(sink_get $((N0 + 1)) "','.join(r['rcpt_tos'])")" "z@sub.test" "transport_maps: .sub.test does not match sub.test itself (relayhost)"
like "$(grep "to=<x@special.test>" "$MAILLOG")" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:10026, .*status=sent" "transport_maps: logged relay=...:10026"
printf 'Subject: tm2\n\nmap\n' | "$SENDMAIL" -f alice@host.example.com no@forbidden.test
wait_for 10 log_has "to=<no@forbidden\.test>, relay=none, .*dsn=5\.7\.1, status=bounced \(mail for forbidden\.test is not accepted\)"
ok $? "transport_maps: error:5.7.1 text bounces with that code and text"
sink2_stop

# ---- 7. broken replies: deferred, the reason names the server ----
wait_for 10 queue_empty
for bad in 'xyzzy' '250-first line\r\n550 second line' "550 $(head -c 600 /dev/zero | tr '\0' y)"; do
	sink_conf "{\"rcpt\": {\"broken@remote.test\": \"$bad\"}}"
	printf 'Subject: broken\n\nbroken\n' | "$SENDMAIL" -f alice@host.example.com broken@remote.test
	wait_for 10 is_deferred 1
	ID=$(last_id)
	like "$(grep "$ID: to=" "$MAILLOG")" "dsn=4\.4\.2, status=deferred \(malformed reply from 127\.0\.0\.1\[127\.0\.0\.1\]: (malformed reply line|reply codes differ|reply line longer than 512)" \
		"bad reply ${bad:0:20}: deferred, naming the server"
	"$PETREL" queue delete "$ID" >/dev/null 2>&1 || rm -f "$QDIR/deferred/$ID"
done
sink_conf '{"rcpt": {"cut@remote.test": "!close 250-half a reply"}}'
printf 'Subject: cut\n\ncut\n' | "$SENDMAIL" -f alice@host.example.com cut@remote.test
wait_for 10 log_has "to=<cut@remote\.test>, .*dsn=4\.4\.2, status=deferred \(lost connection with 127\.0\.0\.1\[127\.0\.0\.1\] in the middle of a reply while sending RCPT TO\)"
ok $? "connection closed in the middle of a reply: deferred, naming the server"
wait_for 10 is_deferred 1
rm -f "$QDIR"/deferred/*
is "$(grep -c 'petrel/smtp.*\(fatal\|panic\)' "$MAILLOG")" 0 "no smtp process died on bad replies"
sink_conf '{}'
rm -f "$QDIR"/deferred/*

# ---- 8. a server that stalls after DATA: time-out, deferred ----
sink_conf '{"stall_data": 4}'
nsmtp() { ps --ppid "$(tr -d ' \n' <"$QDIR/pid/master.pid")" -o comm= | grep -cx smtp; }
NSMTP0=$(nsmtp)
printf 'Subject: stall\n\nslow\n' | "$SENDMAIL" -f alice@host.example.com slow@remote.test
for i in 2 3; do
	printf 'Subject: stall %s\n\nslow\n' $i | "$SENDMAIL" -f alice@host.example.com "slow$i@remote.test"
done
wait_for 10 log_has "to=<slow@remote\.test>, .*dsn=4\.4\.2, status=deferred \(conversation with 127\.0\.0\.1\[127\.0\.0\.1\] timed out while sending end of data -- message may be sent more than once\)"
ok $? "stall after DATA: smtp_data_done_timeout defers 4.4.2"
slow_all() { [ "$(grep -c 'to=<slow[23]*@remote.test>, .*status=deferred' "$MAILLOG")" -eq 3 ]; }
wait_for 10 slow_all
ok $? "three stalled deliveries in parallel: all deferred"
NSMTP1=$(nsmtp)
ok "$([ "$NSMTP1" -ge 3 ]; echo $?)" "three parallel deliveries: the master started smtp workers on demand ($NSMTP0 before, $NSMTP1 now)"
sink_conf '{}'
wait_for 10 is_deferred 3
rm -f "$QDIR"/deferred/*

# ---- 9. the server is down, then comes back ----
sink_stop
printf 'Subject: down\n\nlater\n' | "$SENDMAIL" -f alice@host.example.com down@remote.test
wait_for 10 log_has "to=<down@remote\.test>, relay=none, .*dsn=4\.4\.1, status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT: Connection refused\)"
ok $? "server down: deferred 4.4.1, connection refused"
wait_for 10 is_deferred 1
"$SENDMAIL" -bp >"$T/mailq" 2>&1
like "$(cat "$T/mailq")" "\(Deferred: connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT: Connectio" "server down: mailq says why"
sink_start
N0=$(sink_count)
"$PETREL" flush >/dev/null 2>&1
wait_for 10 sink_has $((N0 + 1))
ok $? "server back: petrel flush delivers it"
is "$(sink_get $((N0 + 1)) "r['rcpt_tos'][0]")" "down@remote.test" "server back: the right message"

# ---- 9b. sender_dependent_relayhost_maps: one sender's mail to another relay ----
sink2_start
printf 'special@example.org  [127.0.0.1]:10026\n' >"$CONF/sender_relay"
"$PETREL" map "hash:$CONF/sender_relay"
"$PETREL" conf -e "sender_dependent_relayhost_maps = hash:\$config_directory/sender_relay" >/dev/null
"$PETREL" reload >/dev/null 2>&1
N0=$(sink_count)
printf 'Subject: by sender\n\nx\n' | "$SENDMAIL" -f special@example.org bysender@remote.test
printf 'Subject: by relayhost\n\nx\n' | "$SENDMAIL" -f alice@host.example.com byrelayhost@remote.test
has_bysender() { sink2_rcpts | grep -qw 'bysender@remote\.test'; }
wait_for 20 has_bysender
ok $? "mail from special@example.org goes to its own relay (sender_dependent_relayhost_maps)" ||
	diag "$(grep -E 'bysender|sender_dep|sender_relay' "$MAILLOG")"
wait_for 20 sink_has $((N0 + 1))
ok $? "mail from another sender still goes to relayhost"
is "$(sink_get $((N0 + 1)) "r['rcpt_tos'][0]")" "byrelayhost@remote.test" "... the right one"
"$PETREL" conf -e "sender_dependent_relayhost_maps =" >/dev/null
"$PETREL" reload >/dev/null 2>&1
sink2_stop

# ---- 10. sendmail -q with no daemon delivers remote mail ----
"$PETREL" stop >/dev/null 2>&1
N0=$(sink_count)
printf 'Subject: cron\n\nforeground\n' | "$SENDMAIL" -f alice@host.example.com cron@remote.test
is "$(queue_count maildrop)" 1 "daemon down: the message waits in maildrop/"
"$SENDMAIL" -q
ok $? "sendmail -q: exit 0"
is "$(sink_count)" $((N0 + 1)) "sendmail -q: delivered remote mail in the foreground"
is "$(queued_total)" 0 "sendmail -q: the queue is empty"
ok "$([ ! -s "$SINK/err" ] || ! grep -q Traceback "$SINK/err"; echo $?)" "the sink had no error"

done_testing
