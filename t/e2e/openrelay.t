#!/bin/bash
# openrelay.t - the classic open-relay tricks (issue 7), tried from a client
# outside mynetworks (mynetworks = 127.0.0.1/32, the client bound to
# 127.0.0.2): each recipient is refused at RCPT and nothing is queued,
# while a plain local recipient is still accepted and a client inside
# mynetworks may relay. Python smtplib is the client.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.1/32" \
	"mydestination = host.example.com, localhost" "smtpd_hard_error_limit = 100" \
	"master_service_disable = qmgr"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
echo "postmaster: root" >"$T/aliases"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"

# rcpt_replies SRC ADDR...: one session from SRC, one RCPT per address;
# prints "ADDR<TAB>CODE" per address (the reply code, or ERR for a
# connection problem).
rcpt_replies() {
	timeout 60 $PY - "$@" <<'PY'
import smtplib, sys
src, addrs = sys.argv[1], sys.argv[2:]
s = smtplib.SMTP(timeout=10, source_address=(src, 0))
s.connect('127.0.0.1', 25)
s.ehlo('client.example')
s.mail('someone@example.org')
for a in addrs:
    try:
        code, _ = s.docmd('RCPT TO:<%s>' % a)
    except Exception:
        code = 'ERR'
    print('%s\t%s' % (a, code))
s.rset()
s.quit()
PY
}

tricks=(
	'alice%remote.example@host.example.com'
	'"alice@remote.example"@host.example.com'
	'"alice%remote.example"@host.example.com'
	'@host.example.com:alice@remote.example'
	'@host.example.com,@remote.example:alice@remote.example'
	'alice@remote.example@host.example.com'
	'remote.example!alice@host.example.com'
	'remote.example!alice'
	'alice@remote.example.'
	'alice@REMOTE.Example'
	'alice@host.example.com.remote.example'
	'alice@remote.example%host.example.com'
	'alice@[192.0.2.1]'
	'alice@[127.0.0.2]'
	'alice@[IPv6:2001:db8::1]'
	'alice@[host.example.com]'
	'alice@remote.example@'
	'alice@host.example.com@remote.example'
)

before=$(queued_total)
out=$(rcpt_replies 127.0.0.2 "${tricks[@]}")
for t in "${tricks[@]}"; do
	code=$(printf '%s\n' "$out" | awk -F'\t' -v a="$t" '$1 == a { print $2 }')
	like "$code" '^[45][0-9][0-9]$' "outside mynetworks: <$t> refused ($code)"
done
# Nothing can have been queued: no DATA was sent, but make sure no
# message file appeared either.
is "$(queued_total)" "$before" "nothing queued"

out=$(rcpt_replies 127.0.0.2 alice@host.example.com alice@HOST.EXAMPLE.COM alice@host.example.com.)
is "$(printf '%s\n' "$out" | cut -f2 | tr '\n' ' ')" "250 250 250 " \
	"outside mynetworks: a local recipient (any case, trailing dot) is accepted"

out=$(rcpt_replies 127.0.0.1 alice@remote.example)
is "$(printf '%s\n' "$out" | cut -f2)" "250" "inside mynetworks: relaying is allowed"

# A whole message with the tricks in the envelope: DATA is refused for
# want of a valid recipient and nothing reaches the queue.
out=$(timeout 60 $PY - <<'PY' 2>&1
import smtplib
s = smtplib.SMTP(timeout=10, source_address=('127.0.0.2', 0))
s.connect('127.0.0.1', 25)
try:
    s.sendmail('someone@example.org',
               ['alice%remote.example@host.example.com', '@host.example.com:alice@remote.example'],
               'Subject: relay\r\n\r\nrelay me\r\n')
    print('SENT')
except smtplib.SMTPRecipientsRefused:
    print('REFUSED')
PY
)
is "$out" "REFUSED" "a whole message through the tricks is refused"
is "$(queued_total)" "$before" "still nothing queued"

"$PETREL" stop >/dev/null 2>&1
done_testing
