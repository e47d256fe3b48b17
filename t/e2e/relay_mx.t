#!/bin/bash
# t/e2e/relay_mx.t - relay by MX: unbound on 127.0.0.1:53 serves MX records
# for .test domains whose hosts are Python aiosmtpd servers on 127.0.0.2,
# 127.0.0.3 and 127.0.0.5 port 25 (this test's network namespace owns
# 127.0.0.0/8). Covered: the most preferred MX gets the mail; the next MX
# when the first refuses the connection or greets with 421, or is down;
# null MX bounces 5.1.10, NXDOMAIN 5.1.2, a 310-byte domain 5.1.2;
# relayhost = name looks up the name's MX. Petrel's own smtpd listens on
# 127.0.0.1 only. Bounded waits.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup "inet_interfaces = 127.0.0.1" "dns_nameservers = 127.0.0.1" \
	"smtp_connect_timeout = 2s"
export LC_ALL=C
SPOOL=$T/spool
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
dead_resolv_conf
# sink_start NAME ADDRESS: an aiosmtpd server on ADDRESS:25 recording into $T/NAME.
sink_start() {
	mkdir -p "$T/$1"
	rm -f "$T/$1/ready"
	$PY "$PETREL_SRCDIR/t/lib/smtpsink.py" "$2" 25 "$T/$1" 2>>"$T/$1/err" &
	echo $! >"$T/$1/pid"
	wait_for 10 test -f "$T/$1/ready"
}
sink_stop() { [ -f "$T/$1/pid" ] && kill "$(cat "$T/$1/pid")" 2>/dev/null; rm -f "$T/$1/pid"; }
rcpts() { $PY -c "import json; print(' '.join(r for l in open('$T/$1/mail.jsonl') for r in json.loads(l)['rcpt_tos']))" 2>/dev/null; }
got() { rcpts "$1" | grep -qw -- "$2"; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
stop_peers() {
	for s in s2 s3 s5; do sink_stop $s; done
	unbound_stop
	wait 2>/dev/null
	umount /etc/resolv.conf 2>/dev/null
	instance_teardown
}
trap stop_peers EXIT

unbound_start mx.test <<'EOF'
local-zone: "test." static
local-data: "mx.test. MX 10 mx1.mx.test."
local-data: "mx.test. MX 20 mx2.mx.test."
local-data: "mx1.mx.test. A 127.0.0.2"
local-data: "mx2.mx.test. A 127.0.0.3"
local-data: "down.test. MX 10 dead.down.test."
local-data: "down.test. MX 20 mx2.mx.test."
local-data: "dead.down.test. A 127.0.0.4"
local-data: "busy.test. MX 10 busy.busy.test."
local-data: "busy.test. MX 20 mx2.mx.test."
local-data: "busy.busy.test. A 127.0.0.5"
local-data: "nullmx.test. MX 0 ."
local-data: "smarthost.test. MX 5 mx2.mx.test."
EOF
ok $? "unbound answers on 127.0.0.1:53"
sink_start s2 127.0.0.2
ok $? "MX server on 127.0.0.2:25"
sink_start s3 127.0.0.3
ok $? "MX server on 127.0.0.3:25"
sink_start s5 127.0.0.5
ok $? "MX server on 127.0.0.5:25 (greets with 421)"
echo '{"greeting": "421 4.3.2 busy.busy.test too busy, try later"}' >"$T/s5/conf.json"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start (smtpd on 127.0.0.1 only)"

# ---- MX order ----
printf 'Subject: one\n\nmx\n' | "$SENDMAIL" -f alice@host.example.com a@mx.test
wait_for 10 got s2 a@mx.test
ok $? "the most preferred MX (10, 127.0.0.2) gets the mail"
ok "$(! got s3 a@mx.test; echo $?)" "the second MX does not"
like "$(grep "to=<a@mx.test>" "$MAILLOG")" "relay=mx1\.mx\.test\[127\.0\.0\.2\]:25, delay=[0-9.]+, delays=[0-9.]+/0/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as SINK[0-9]+\)" \
	"log: relay=mx1.mx.test[127.0.0.2]:25"

# ---- the next MX: connection refused, 421 greeting, the first one down ----
printf 'Subject: two\n\nmx\n' | "$SENDMAIL" -f alice@host.example.com b@down.test
wait_for 10 got s3 b@down.test
ok $? "MX 10 refuses the connection: MX 20 (127.0.0.3) gets the mail"
like "$(grep "to=<b@down.test>" "$MAILLOG")" "relay=mx2\.mx\.test\[127\.0\.0\.3\]:25, .*status=sent" "log: relay=mx2.mx.test[127.0.0.3]:25"
printf 'Subject: three\n\nmx\n' | "$SENDMAIL" -f alice@host.example.com c@busy.test
wait_for 10 got s3 c@busy.test
ok $? "MX 10 greets with 421: MX 20 gets the mail"
ok "$(! got s5 c@busy.test; echo $?)" "the busy MX got nothing"
sink_stop s2
printf 'Subject: four\n\nmx\n' | "$SENDMAIL" -f alice@host.example.com d@mx.test
wait_for 10 got s3 d@mx.test
ok $? "the preferred MX is down: the second one gets the mail"

# ---- null MX, NXDOMAIN ----
printf 'Subject: five\n\nnull\n' | "$SENDMAIL" -f alice@host.example.com e@nullmx.test
wait_for 10 log_has "to=<e@nullmx\.test>, relay=none, .*dsn=5\.1\.10, status=bounced"
ok $? "null MX: bounced at once with 5.1.10"
printf 'Subject: six\n\nnx\n' | "$SENDMAIL" -f alice@host.example.com f@nowhere.test
wait_for 10 log_has "to=<f@nowhere\.test>, relay=none, .*dsn=5\.1\.2, status=bounced \(Host or domain name not found"
ok $? "NXDOMAIN: bounced with 5.1.2"
wait_for 10 test "$(grep -c '^Subject: Undelivered Mail Returned to Sender$' "$SPOOL/alice" 2>/dev/null)" -ge 2
ok $? "both bounces reached the sender"
ok "$(grep -q '^Status: 5.1.10' "$SPOOL/alice"; echo $?)" "the null MX bounce says Status: 5.1.10"

# ---- a recipient domain of 310 characters ----
LONG=$($PY -c "print('.'.join(['x' * 61] * 5) + '.test')")
printf 'Subject: long\n\nlong\n' | "$SENDMAIL" -f alice@host.example.com "h@$LONG"
wait_for 10 log_has "to=<h@x{61}\..*, relay=none, .*dsn=5\.1\.2, status=bounced \(the recipient domain is not a valid host or domain name"
ok $? "a 310-byte domain: bounced 5.1.2, never cut"

# ---- relayhost = a name: its MX ----
"$PETREL" conf -e "relayhost = smarthost.test" >/dev/null 2>&1
"$PETREL" stop >/dev/null 2>&1
"$PETREL" start >/dev/null 2>&1
printf 'Subject: seven\n\nvia smarthost\n' | "$SENDMAIL" -f alice@host.example.com g@elsewhere.example
wait_for 10 got s3 g@elsewhere.example
ok $? "relayhost = smarthost.test: the mail goes to smarthost.test's MX"

done_testing
