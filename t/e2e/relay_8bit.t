#!/bin/bash
# t/e2e/relay_8bit.t - 8-bit content to a server without 8BITMIME (Python
# aiosmtpd, t/lib/smtpsink.py, told to lack it): a MIME message with 8bit
# parts arrives with those parts in quoted-printable (their
# Content-Transfer-Encoding header changed, 7bit parts and the structure
# as they were, lines of at most 76 characters, a leading dot kept right
# through dot-stuffing), and Python's quopri decodes each part back to the
# bytes that were sent; 8-bit content that is no MIME goes as it is; with
# disable_mime_output_conversion = yes nothing is converted; a server that
# offers 8BITMIME gets the message unchanged with BODY=8BITMIME.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

SINKPORT=10025
instance_setup "relayhost = [127.0.0.1]:$SINKPORT" "mynetworks = 127.0.0.0/8"
export LC_ALL=C.UTF-8
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop; instance_teardown' EXIT

SINK=$T/sink
mkdir -p "$SINK"
queue_empty() { [ "$(queued_total)" -eq 0 ]; }

# The test message: a multipart with a 7bit part, an 8bit part (long line,
# trailing space, a line that starts with a dot, '='), and a nested 8bit part.
MSG=$T/msg
$PY - "$MSG" <<'EOF'
import sys
long = ('Gr\u00fc\u00dfe ' * 30).strip().encode()
part8 = b'\xc3\xa9t\xc3\xa9 = summer \n.dot \xc3\xa0 start\n' + long + b'\nlast\n'
msg = (b'From: alice@host.example.com\nTo: bob@remote.test\nSubject: 8bit\n'
       b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
       b'--b1\nContent-Type: text/plain; charset=us-ascii\n\nseven bit\n'
       b'--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
       + part8 +
       b'--b1\nContent-Type: multipart/alternative; boundary=b2\n\n'
       b'--b2\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
       b'<p>\xc3\xbc</p>\n--b2--\n--b1--\n')
open(sys.argv[1], 'wb').write(msg)
open(sys.argv[1] + '.part8', 'wb').write(part8)
EOF

# check N: what the sink got as transaction N, checked by Python; prints OK or what differs.
check() {
	$PY - "$SINK/mail.jsonl" "$1" "$MSG" "$2" <<'EOF'
import base64, email, json, quopri, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = recs[int(sys.argv[2]) - 1]
data = base64.b64decode(r['data'])
orig = open(sys.argv[3], 'rb').read()
part8 = open(sys.argv[3] + '.part8', 'rb').read()
mode = sys.argv[4]
bad = []
body = data.split(b'\r\n\r\n', 1)[1].replace(b'\r\n', b'\n')
obody = orig.split(b'\n\n', 1)[1]
if mode == 'asis':
    if body != obody:
        bad.append('body changed')
else:
    if any(b > 127 for b in body):
        bad.append('8-bit byte on the wire')
    if max(len(l) for l in body.split(b'\n')) > 76:
        bad.append('line longer than 76')
    m = email.message_from_bytes(data.replace(b'\r\n', b'\n'))
    parts = [p for p in m.walk() if not p.is_multipart()]
    cte = [p.get('Content-Transfer-Encoding') for p in parts]
    if cte != [None, 'quoted-printable', 'quoted-printable']:
        bad.append('encodings %r' % cte)
    raw = parts[1].get_payload(decode=False).encode('ascii')
    # The line end before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
    if quopri.decodestring(raw) != part8[:-1]:
        bad.append('part 2 does not decode back: %r' % quopri.decodestring(raw))
    if parts[2].get_payload(decode=True) != b'<p>\xc3\xbc</p>':
        bad.append('part 3 %r' % parts[2].get_payload(decode=True))
    if parts[0].get_payload() != 'seven bit':
        bad.append('part 1 %r' % parts[0].get_payload())
    if b'\n.dot =C3=A0 start\n' not in body:
        bad.append('leading dot line %r' % body)
    if b'summer=20\n' not in body:
        bad.append('trailing space not encoded')
print('OK' if not bad else '; '.join(bad))
EOF
}

sink_start
ok $? "aiosmtpd sink listens on 127.0.0.1:$SINKPORT"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"

# ---- 1. no 8BITMIME: 8bit parts become quoted-printable ----
sink_conf '{"lack": ["8BITMIME"]}'
"$SENDMAIL" -i -B8BITMIME -f alice@host.example.com bob@remote.test <"$MSG"
wait_for 10 sink_has 1
ok $? "no 8BITMIME: the sink got the message"
is "$(check 1 qp)" OK "no 8BITMIME: 8bit parts in quoted-printable, 7-bit on the wire, decode back"
is "$($PY -c "import json; print(' '.join(json.loads(open('$SINK/mail.jsonl').readline())['mail_options']))" | grep -c 8BITMIME)" 0 \
	"no 8BITMIME: no BODY=8BITMIME sent"

# ---- 2. 8-bit content that is no MIME goes as it is ----
printf 'Subject: plain\n\ncaf\xc3\xa9 au lait\n.dot\n' | "$SENDMAIL" -i -f alice@host.example.com carol@remote.test
wait_for 10 sink_has 2
is "$($PY -c "
import base64, json
r = [json.loads(l) for l in open('$SINK/mail.jsonl')][1]
print(base64.b64decode(r['data']).split(b'\r\n\r\n', 1)[1] == b'caf\xc3\xa9 au lait\r\n.dot\r\n')")" True \
	"no MIME: 8-bit body sent as it is"

# ---- 3. disable_mime_output_conversion = yes ----
"$PETREL" conf -e disable_mime_output_conversion=yes >/dev/null
"$PETREL" reload >/dev/null 2>&1
wait_for 10 queue_empty
"$SENDMAIL" -i -B8BITMIME -f alice@host.example.com dave@remote.test <"$MSG"
wait_for 10 sink_has 3
is "$(check 3 asis)" OK "disable_mime_output_conversion = yes: sent as it is"
"$PETREL" conf -e disable_mime_output_conversion=no >/dev/null
"$PETREL" reload >/dev/null 2>&1

# ---- 4. a server with 8BITMIME gets it unchanged ----
sink_conf '{}'
"$SENDMAIL" -i -B8BITMIME -f alice@host.example.com erin@remote.test <"$MSG"
wait_for 10 sink_has 4
is "$(check 4 asis)" OK "8BITMIME offered: the message unchanged"
like "$($PY -c "import json; print(' '.join([json.loads(l) for l in open('$SINK/mail.jsonl')][3]['mail_options']))")" \
	"BODY=8BITMIME" "8BITMIME offered: BODY=8BITMIME"
wait_for 10 queue_empty
ok $? "the queue is empty"

done_testing
