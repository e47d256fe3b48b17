#!/bin/bash
# milter_dkim.t - a real filter from Debian: opendkim in signing mode (key
# from opendkim-genkey in the test's temp dir, run in the foreground on a
# socket in the temp dir) as smtpd_milters and non_smtpd_milters. The
# copies Petrel delivers carry a DKIM-Signature that python3-dkim verifies
# against the generated TXT record (no DNS), for mail from SMTP and from
# sendmail -t alike, with simple and relaxed canonicalization.
# Runs as root in its own network namespace (t/harness); every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

for p in opendkim opendkim-genkey; do
	if ! command -v $p >/dev/null; then
		echo "1..0 # SKIP $p is not installed (contrib/install-test-deps)"
		exit 0
	fi
done

instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.0/8"
cp /dev/null "$T/aliases"
D=$T/dkim
mkdir -p "$D"
chmod 0755 "$D"
opendkim-genkey -D "$D" -d example.org -s test
ok $? "opendkim-genkey made a key"

# dkim_conf NAME CANON: a configuration whose socket is $D/NAME.sock.
DKIM_PIDS=()
dkim_start() {
	local name=$1 canon=$2
	cat >"$D/$name.conf" <<EOF
Mode			s
Domain			example.org
Selector		test
KeyFile			$D/test.private
Socket			local:$D/$name.sock
UMask			000
Canonicalization	$canon
Syslog			no
RequireSafeKeys		false
PidFile			$D/$name.pid
InternalHosts		127.0.0.1
EOF
	opendkim -f -x "$D/$name.conf" >"$D/$name.log" 2>&1 &
	DKIM_PIDS+=($!)
	wait_for 10 test -S "$D/$name.sock" || diag "opendkim $name did not start: $(cat "$D/$name.log")"
}
cleanup() {
	local p
	for p in "${DKIM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${DKIM_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	instance_teardown
}
trap cleanup EXIT
dkim_start simple simple/simple
dkim_start relaxed relaxed/relaxed

cat >"$CONF/master.cf" <<EOF
smtp      inet  n       -       n       -       -       smtpd
127.0.0.1:2501 inet n - n - - smtpd -o smtpd_milters=unix:$D/simple.sock
127.0.0.1:2502 inet n - n - - smtpd -o smtpd_milters=local:$D/relaxed.sock
pickup    unix  n       -       n       60      1       pickup
EOF
echo "non_smtpd_milters = unix:$D/simple.sock" >>"$CONF/main.cf"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || cat "$T/start.err"

# verify USER SUBJECT: "ok" when the delivered message verifies, else why not.
verify() {
	$PY - "$T/spool/$1" "$2" "$D/test.txt" <<'EOF'
import mailbox, re, sys
import dkim
txt = open(sys.argv[3]).read()
record = ''.join(re.findall(r'"([^"]*)"', txt)).encode()
def dnsfunc(name, timeout=5):
    return record if name == b'test._domainkey.example.org.' else None
try:
    box = mailbox.mbox(sys.argv[1], create=False)
except Exception as e:
    print('no mailbox: %s' % e); sys.exit(0)
for key in box.keys():
    m = box.get_message(key)
    if m['Subject'] != sys.argv[2]:
        continue
    raw = box.get_bytes(key)
    if b'DKIM-Signature:' not in raw:
        print('no DKIM-Signature'); sys.exit(0)
    print('ok' if dkim.verify(raw, dnsfunc=dnsfunc) else 'does not verify')
    sys.exit(0)
print('no message')
EOF
}
delivered() { [ -f "$T/spool/$1" ] && grep -q "^Subject: $2\$" "$T/spool/$1"; }

body=$'Hello,\n\nthis line has  two spaces and a trailing tab\t\nand a long line '"$(printf 'x%.0s' $(seq 1 300))"$'\n\n-- \nsig\n'
for port in 2501 2502; do
	out=$(timeout 30 swaks --server 127.0.0.1:$port --from sender@example.org \
		--to alice@host.example.com --h-From "Sender <sender@example.org>" \
		--header "Subject: dkim smtp $port" --body "$body" 2>&1)
	like "$out" '250 2\.0\.0 Ok: queued as' "SMTP $port: queued"
	wait_for 10 delivered alice "dkim smtp $port"
	is "$(verify alice "dkim smtp $port")" ok "SMTP $port: the delivered copy carries a DKIM-Signature that verifies"
done
like "$(grep -A1 '^DKIM-Signature' "$T/spool/alice" | tr -d '\n\t ')" 'c=relaxed/relaxed;d=example\.org;s=test' "the relaxed filter signed with its settings"

printf 'From: Sender <sender@example.org>\nTo: alice@host.example.com\nSubject: dkim sendmail\n\n%s' "$body" |
	"$SENDMAIL" -t -f sender@example.org
is $? 0 "sendmail -t: exit 0"
wait_for 10 delivered alice "dkim sendmail"
is "$(verify alice "dkim sendmail")" ok "sendmail -t: the delivered copy carries a DKIM-Signature that verifies"

# A tampered copy must fail: the check can fail.
$PY - "$T/spool/alice" "$D/test.txt" <<'EOF' >"$T/tamper"
import mailbox, re, sys
import dkim
record = ''.join(re.findall(r'"([^"]*)"', open(sys.argv[2]).read())).encode()
box = mailbox.mbox(sys.argv[1], create=False)
for key in box.keys():
    if box.get_message(key)['Subject'] == 'dkim sendmail':
        raw = box.get_bytes(key).replace(b'sig', b'SIG')
        print('verifies' if dkim.verify(raw, dnsfunc=lambda n, timeout=5: record) else 'fails')
EOF
is "$(cat "$T/tamper")" fails "a changed body no longer verifies"

done_testing
