#!/bin/bash
# smtpd_policy.t - check_policy_service (Postfix's policy delegation
# protocol) against a real postgrey (Debian's package unpacked, never
# installed; its Perl modules come from contrib/install-test-deps): the
# first try is greylisted (450 4.2.0, DEFER_IF_PERMIT), a retry after
# postgrey's delay passes and the message carries postgrey's X-Greylist
# header above Received: (PREPEND); a client in mynetworks never asks
# (permit_mynetworks first); a policy server that is down or answers
# nonsense gives smtpd_policy_service_default_action (451 4.3.5 unless
# set), logged; DUNNO as the default action lets mail pass;
# smtpd_end_of_data_restrictions asks a size policy server (a small Python
# one) at END-OF-MESSAGE, which refuses the large message. The clients
# are Python's smtplib bound to 127.0.0.5 (outside mynetworks) and
# 127.0.0.1. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

PGPORT=10023
BADPORT=10024
EODPORT=10025
instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.1/32" \
	"smtpd_recipient_restrictions = permit_mynetworks, check_policy_service inet:127.0.0.1:$PGPORT" \
	"smtpd_policy_service_timeout = 3s"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
PGPID=
BADPID=
EODPID=
stop_peers() {
	[ -n "$EODPID" ] && kill "$EODPID" 2>/dev/null
	[ -n "$PGPID" ] && kill "$PGPID" 2>/dev/null
	[ -n "$BADPID" ] && kill "$BADPID" 2>/dev/null
	wait 2>/dev/null
	instance_teardown
}
trap stop_peers EXIT

deb_unpack postgrey "$T/pg"
ok $? "postgrey's package unpacked (downloaded by contrib/install-test-deps, never installed)"
mkdir -p "$T/pgdb"
: >"$T/pgdb/whitelist_clients"
: >"$T/pgdb/whitelist_recipients"
chown nobody "$T/pgdb"
pg_start() {
	perl -T "$T/pg/usr/sbin/postgrey" --inet=127.0.0.1:$PGPORT --dbdir="$T/pgdb" \
		--user=nobody --group=nogroup --delay=2 --hostname=mx.host.example.com \
		--whitelist-clients="$T/pgdb/whitelist_clients" \
		--whitelist-recipients="$T/pgdb/whitelist_recipients" >>"$T/pgdb/log" 2>&1 &
	PGPID=$!
	wait_for 15 sink_listening 127.0.0.1:$PGPORT
}
pg_start
ok $? "postgrey listens on 127.0.0.1:$PGPORT" || diag "$(cat "$T/pgdb/log")"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

# send SRC SUBJECT: one smtplib transaction from SRC to alice; prints the
# RCPT reply ("CODE TEXT"), then "queued" when the whole message was taken.
send() {
	timeout 30 $PY - "$1" "$2" <<'PY'
import smtplib, sys
src, subject = sys.argv[1], sys.argv[2]
s = smtplib.SMTP(timeout=10, source_address=(src, 0))
s.connect('127.0.0.1', 25)
s.ehlo('mail.client.example')
s.mail('someone@client.example')
code, text = s.rcpt('alice@host.example.com')
print(code, text.decode())
if code == 250:
    s.data(('Subject: %s\r\n\r\nbody\r\n' % subject).encode())
    print('queued')
s.quit()
PY
}
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
msg_of() {	# msg_of SUBJECT: the delivered message with that Subject
	$PY - "$T/spool/alice" "$1" <<'PY'
import mailbox, sys
try:
    for m in mailbox.mbox(sys.argv[1], create=False):
        if m['Subject'] == sys.argv[2]:
            sys.stdout.write(m.as_string())
            break
except FileNotFoundError:
    pass
PY
}
has_msg() { [ -n "$(msg_of "$1")" ]; }

# ---- greylisting ----
out=$(send 127.0.0.5 grey)
is "$out" "450 4.2.0 <alice@host.example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/host.example.com.html" \
	"postgrey's first answer (DEFER_IF_PERMIT 4.2.0 ...) defers the recipient"
like "$(cat "$MAILLOG")" 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.5\]: 450 4\.2\.0 <alice@host\.example\.com>: Recipient address rejected: Greylisted' \
	"... logged as a NOQUEUE reject"
# postgrey lets the same triplet pass once its delay (2 s) is over: retry
# until it does, as a sending MTA would, within a bound.
accepted() { out=$(send 127.0.0.5 grey); [ "$(printf '%s' "$out" | tail -n 1)" = queued ]; }
wait_for 15 accepted
ok $? "a retry after postgrey's delay: accepted and queued"
wait_for 10 has_msg grey
ok $? "... and delivered"
like "$(msg_of grey)" $'\nX-Greylist: delayed [0-9]+ seconds by postgrey-[0-9.]+ at mx\\.host\\.example\\.com; [^\n]+\nReceived: from mail\\.client\\.example ' \
	"postgrey's PREPEND: X-Greylist: above Petrel's Received: header"
is "$(send 127.0.0.1 trusted)" "250 2.1.5 Ok
queued" "a client in mynetworks: permit_mynetworks comes first, no greylisting"

# ---- the policy server is down ----
kill "$PGPID"
wait "$PGPID" 2>/dev/null
PGPID=
is "$(send 127.0.0.5 down)" "451 4.3.5 <alice@host.example.com>: Recipient address rejected: Server configuration problem" \
	"postgrey down: smtpd_policy_service_default_action (451 4.3.5)"
like "$(cat "$MAILLOG")" 'warning: problem talking to server inet:127\.0\.0\.1:10023: connect' \
	"... with a warning naming the server"

# ---- a policy server that answers nonsense ----
$PY -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $BADPORT)); s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b'hello there\n\n')
    c.close()
" 2>/dev/null &
BADPID=$!
wait_for 10 sink_listening 127.0.0.1:$BADPORT
"$PETREL" conf -e "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$BADPORT" >/dev/null
"$PETREL" reload >/dev/null 2>&1
nonsense() { [ "$(send 127.0.0.5 nonsense)" = "451 4.3.5 <alice@host.example.com>: Recipient address rejected: Server configuration problem" ]; }
wait_for 10 nonsense
ok $? "an answer without action=: the default action"
wait_for 5 log_has 'warning: problem talking to server inet:127\.0\.0\.1:10024: an answer without action='
ok $? "... logged as such"
"$PETREL" conf -e "smtpd_policy_service_default_action = DUNNO" >/dev/null
"$PETREL" reload >/dev/null 2>&1
passes() { [ "$(send 127.0.0.5 dunno | tail -n 1)" = queued ]; }
wait_for 10 passes
ok $? "smtpd_policy_service_default_action = DUNNO: the mail passes"

# ---- smtpd_end_of_data_restrictions: a size policy asked once the message is in ----
# The policy server writes down each request's protocol_state and size and
# refuses messages over 2000 bytes (what quota policy daemons do).
$PY - "$T/eod.log" "$EODPORT" <<'PY' 2>/dev/null &
import socket, sys
log, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', port)); s.listen(8)
while True:
    c, _ = s.accept()
    f = c.makefile('rb')
    while True:
        attrs = {}
        for line in f:
            line = line.decode().rstrip('\n')
            if line == '':
                break
            k, _, v = line.partition('=')
            attrs[k] = v
        if not attrs:
            break
        with open(log, 'a') as o:
            o.write('%s %s %s\n' % (attrs.get('protocol_state'), attrs.get('size'), attrs.get('recipient')))
        big = attrs.get('protocol_state') == 'END-OF-MESSAGE' and int(attrs.get('size', '0')) > 2000
        c.sendall(b'action=552 5.3.4 Message too big for the policy\n\n' if big else b'action=DUNNO\n\n')
    c.close()
PY
EODPID=$!
wait_for 10 sink_listening 127.0.0.1:$EODPORT
ok $? "a size policy server listens on 127.0.0.1:$EODPORT"
"$PETREL" conf -e "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:$EODPORT" >/dev/null
"$PETREL" reload >/dev/null 2>&1
eod_send() {	# eod_send SUBJECT BODYBYTES: the reply to the end of the message
	timeout 30 $PY - "$1" "$2" <<'PY'
import smtplib, sys
subject, n = sys.argv[1], int(sys.argv[2])
s = smtplib.SMTP('127.0.0.1', 25, timeout=10, source_address=('127.0.0.5', 0))
s.ehlo('mail.client.example')
s.mail('someone@client.example')
s.rcpt('alice@host.example.com')
try:
    code, text = s.data(('Subject: %s\r\n\n' % subject).encode() + b'x' * n + b'\r\n')
except smtplib.SMTPDataError as e:
    code, text = e.smtp_code, e.smtp_error
print(code, text.decode().split(' queued as ')[0])
s.quit()
PY
}
eod_small() { [ "$(eod_send eod-small 100)" = "250 2.0.0 Ok:" ]; }
wait_for 10 eod_small
ok $? "a small message: the policy says DUNNO at END-OF-MESSAGE, queued"
is "$(eod_send eod-big 5000)" "552 5.3.4 <END-OF-MESSAGE>: End-of-data rejected: Message too big for the policy" \
	"a large one: refused after its last line with the policy's reply"
like "$(cat "$MAILLOG")" 'NOQUEUE: reject: END-OF-MESSAGE from unknown\[127\.0\.0\.5\]: 552 5\.3\.4 <END-OF-MESSAGE>: End-of-data rejected: Message too big for the policy; from=<someone@client\.example> proto=ESMTP helo=<mail\.client\.example>' \
	"... logged as Postfix does"
like "$(cat "$T/eod.log")" '^END-OF-MESSAGE (5[0-9]{3}) $' "the policy server was told protocol_state=END-OF-MESSAGE and the size, no recipient"
wait_for 10 has_msg eod-small
ok $? "the small one delivered"
is "$(msg_of eod-big)" "" "nothing of the refused one delivered"

done_testing
