#!/bin/bash
# t/e2e/relay_tls_policy.t - smtp_tls_policy_maps: per-destination TLS
# policy of the SMTP client against real servers (Python aiosmtpd,
# t/lib/smtpsink.py) on 127.0.0.2-6, with MX records from unbound on
# 127.0.0.1:53, smtp_tls_security_level = may in main.cf and the policy
# in a hash: map built by petrel map. Covered: a domain without an entry
# goes by main.cf (delivered over TLS to a self-signed certificate);
# "secure" for a domain on that server: deferred 4.7.5, "Server
# certificate not verified" and the policy named in mailq; "none" for a
# server whose STARTTLS handshake always fails: delivered in plain text on
# the first connection (no STARTTLS tried); "encrypt" for a server
# without STARTTLS: deferred 4.7.4, and the same through a ".corp.test"
# parent-domain entry; "verify match=mx.ca.test" with smtp_tls_CAfile =
# the CA that signed the server's certificate: delivered, "Verified";
# verify with a match= name the certificate lacks: deferred; "secure" by
# smtp_tls_secure_cert_match (nexthop, dot-nexthop): an MX host under the
# domain delivered, an MX host elsewhere deferred; fingerprint
# with the certificate's and with the public key's SHA-256 fingerprint:
# delivered, with another one: deferred; an invalid level: deferred 4.7.5
# with the map, the key and the reason in mailq and the log; relayhost =
# [127.0.0.6]:2525 found under that key (encrypt: deferred where main.cf
# alone would send in plain text); a missing map: deferred 4.3.0, nothing
# sent in clear; a root-only 0600 map works (the smtp worker opens it
# before it drops privileges) and, rebuilt, restarts the worker, whose
# successor uses the new policy. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup "inet_interfaces = 127.0.0.1" "dns_nameservers = 127.0.0.1" \
	"smtp_connect_timeout = 2s" "mynetworks = 127.0.0.0/8" \
	"smtp_tls_security_level = may" "smtp_tls_loglevel = 1"
export LC_ALL=C.UTF-8
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
dead_resolv_conf
MAILQ=$T/mailq
ln -s "$SENDMAIL" "$MAILQ"

# psink_start NAME ADDRESS PORT CONF: an aiosmtpd server recording into
# $T/NAME, its conf.json (read at start for the certificate) set first.
psink_start() {
	mkdir -p "$T/$1"
	printf '%s\n' "$4" >"$T/$1/conf.json"
	rm -f "$T/$1/ready"
	$PY "$PETREL_SRCDIR/t/lib/smtpsink.py" "$2" "$3" "$T/$1" 2>>"$T/$1/err" &
	echo $! >"$T/$1/pid"
	wait_for 10 test -f "$T/$1/ready"
}
psink_stop() { [ -f "$T/$1/pid" ] && kill "$(cat "$T/$1/pid")" 2>/dev/null; rm -f "$T/$1/pid"; }
# rec NAME RCPT EXPR: EXPR over the record of the transaction for RCPT at sink NAME.
rec() {
	$PY - "$T/$1/mail.jsonl" "$2" "$3" <<'EOF' 2>/dev/null
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if sys.argv[2] in r['rcpt_tos']:
        print(eval(sys.argv[3]))
EOF
}
got() { [ -n "$(rec "$1" "$2" "r['tls']")" ]; }
count() { [ -f "$T/$1/mail.jsonl" ] && wc -l <"$T/$1/mail.jsonl" || echo 0; }
# status RCPT: "STATUS DSN" of the recipient's last status= line.
status() {
	grep -E "to=<$1>.*status=" "$MAILLOG" | tail -n 1 |
		sed -E 's/.*dsn=([0-9.]+), status=([a-z]+) .*/\2 \1/'
}
settled() { grep -Eq "to=<$1>.*status=" "$MAILLOG"; }
# reason RCPT: the delay reason mailq -j gives for that recipient.
reason() {
	"$MAILQ" -j 2>/dev/null | $PY -c '
import json, sys
for l in sys.stdin:
    for r in json.loads(l)["recipients"]:
        if r["address"] == sys.argv[1]:
            print(r.get("delay_reason", ""))' "$1" | tail -n 1
}
send() {
	printf 'From: alice@host.example.com\nTo: %s\nSubject: policy\n\nbody\n' "$1" |
		"$SENDMAIL" -i -f alice@host.example.com "$1"
}
setconf() {
	"$PETREL" conf -e "$@" >/dev/null && "$PETREL" stop >/dev/null 2>&1 &&
		"$PETREL" start >/dev/null 2>&1
}
stop_peers() {
	for s in s2 s3 s4 s5 s6; do psink_stop $s; done
	unbound_stop
	wait 2>/dev/null
	umount /etc/resolv.conf 2>/dev/null
	instance_teardown
}
trap stop_peers EXIT

# ---- certificates: one self-signed, one signed by a test CA ----
TLSDIR=$T/tls
mkdir -p "$TLSDIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.self.test \
	-addext "subjectAltName = DNS:mx.self.test" \
	-keyout "$TLSDIR/self.key" -out "$TLSDIR/self.pem" >/dev/null 2>&1 &&
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Petrel Test CA" \
	-keyout "$TLSDIR/ca.key" -out "$TLSDIR/ca.pem" >/dev/null 2>&1 &&
openssl req -newkey rsa:2048 -nodes -subj /CN=mx.ca.test \
	-keyout "$TLSDIR/leaf.key" -out "$TLSDIR/leaf.csr" >/dev/null 2>&1 &&
printf 'subjectAltName = DNS:mx.ca.test, DNS:mx.sec.test\nbasicConstraints = CA:FALSE\n' >"$TLSDIR/leaf.ext" &&
openssl x509 -req -in "$TLSDIR/leaf.csr" -CA "$TLSDIR/ca.pem" -CAkey "$TLSDIR/ca.key" \
	-CAcreateserial -days 2 -extfile "$TLSDIR/leaf.ext" -out "$TLSDIR/leaf.pem" >/dev/null 2>&1
ok $? "a self-signed certificate, a CA and a certificate it signed"
openssl verify -CAfile "$TLSDIR/ca.pem" "$TLSDIR/leaf.pem" >/dev/null 2>&1
ok $? "openssl verify: the CA signs mx.ca.test's certificate"
# Fingerprints of the self-signed certificate: of the DER certificate and of its public key.
FP_CERT=$(openssl x509 -in "$TLSDIR/self.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
FP_PKEY=$(openssl x509 -in "$TLSDIR/self.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -r | cut -c1-64)
like "$FP_CERT" '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "the certificate's SHA-256 fingerprint"
like "$FP_PKEY" '^[0-9a-f]{64}$' "the public key's SHA-256 fingerprint"
SELFTLS="\"tls\": {\"cert\": \"$TLSDIR/self.pem\", \"key\": \"$TLSDIR/self.key\"}"
CATLS="\"tls\": {\"cert\": \"$TLSDIR/leaf.pem\", \"key\": \"$TLSDIR/leaf.key\"}"

unbound_start self.test <<'EOF'
local-zone: "test." static
local-data: "self.test. MX 10 mx.self.test."
local-data: "bank.test. MX 10 mx.self.test."
local-data: "fp.test. MX 10 mx.self.test."
local-data: "fppk.test. MX 10 mx.self.test."
local-data: "fpbad.test. MX 10 mx.self.test."
local-data: "bad.test. MX 10 mx.self.test."
local-data: "mx.self.test. A 127.0.0.2"
local-data: "broken.test. MX 10 mx.broken.test."
local-data: "mx.broken.test. A 127.0.0.3"
local-data: "notls.test. MX 10 mx.notls.test."
local-data: "sub.corp.test. MX 10 mx.notls.test."
local-data: "mx.notls.test. A 127.0.0.4"
local-data: "ca.test. MX 10 mx.ca.test."
local-data: "wrongname.test. MX 10 mx.ca.test."
local-data: "mx.ca.test. A 127.0.0.5"
local-data: "sec.test. MX 10 mx.sec.test."
local-data: "mx.sec.test. A 127.0.0.5"
local-data: "secbad.test. MX 10 mx.ca.test."
EOF
ok $? "unbound answers on 127.0.0.1:53"
psink_start s2 127.0.0.2 25 "{$SELFTLS}"
ok $? "mx.self.test (127.0.0.2:25): STARTTLS, self-signed certificate"
psink_start s3 127.0.0.3 25 "{$SELFTLS, \"tls_max\": \"TLSv1_1\"}"
ok $? "mx.broken.test (127.0.0.3:25): STARTTLS whose handshake always fails"
psink_start s4 127.0.0.4 25 '{}'
ok $? "mx.notls.test (127.0.0.4:25): no STARTTLS"
psink_start s5 127.0.0.5 25 "{$CATLS}"
ok $? "mx.ca.test (127.0.0.5:25): STARTTLS, certificate signed by the test CA"
psink_start s6 127.0.0.6 2525 '{}'
ok $? "a smarthost on 127.0.0.6:2525 without STARTTLS"

POLICY=$T/tls_policy
cat >"$POLICY" <<EOF
# smtp_tls_policy_maps of this test
bank.test	secure
broken.test	none
notls.test	encrypt
.corp.test	encrypt
ca.test		verify match=mx.ca.test
wrongname.test	verify match=nexthop:other.test
sec.test	secure
secbad.test	secure
fp.test		fingerprint match=$FP_CERT
fppk.test	fingerprint match=$FP_PKEY
fpbad.test	fingerprint
	match=00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
bad.test	mandatory
[127.0.0.6]:2525	encrypt protocols=>=TLSv1.2
EOF
"$PETREL" map "hash:$POLICY" >/dev/null 2>&1
ok $? "petrel map hash:tls_policy"
"$PETREL" conf -e "smtp_tls_policy_maps = hash:$POLICY" "smtp_tls_CAfile = $TLSDIR/ca.pem" >/dev/null
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
"$PETREL" check >"$T/check.out" 2>&1
unlike "$(cat "$T/check.out")" "smtp_tls_policy_maps" "petrel check: smtp_tls_policy_maps is a parameter Petrel supports"

for r in a@self.test b@bank.test c@broken.test d@notls.test e@sub.corp.test f@ca.test \
	g@wrongname.test h@fp.test i@fppk.test j@fpbad.test k@bad.test n@sec.test o@secbad.test; do
	send "$r"
done
for r in a@self.test b@bank.test c@broken.test d@notls.test e@sub.corp.test f@ca.test \
	g@wrongname.test h@fp.test i@fppk.test j@fpbad.test k@bad.test n@sec.test o@secbad.test; do
	wait_for 20 settled "$r" || diag "no status line for $r"
done
MAP="hash:$POLICY"

# ---- no entry: main.cf's may ----
is "$(status a@self.test)" "sent 2.0.0" "no entry (self.test): delivered by main.cf's may"
is "$(rec s2 a@self.test "r['tls']")" True "no entry: over TLS"

# ---- secure, a self-signed certificate ----
is "$(status b@bank.test)" "deferred 4.7.5" "secure, self-signed: deferred 4.7.5"
is "$(reason b@bank.test)" "Server certificate not verified (TLS policy \"secure\" of $MAP, next-hop destination \"bank.test\")" \
	"secure: the reason in mailq names the policy"
ok "$(got s2 b@bank.test; [ $? != 0 ]; echo $?)" "secure: nothing reached the server"
like "$(grep 'to=<b@bank.test>' "$MAILLOG" | tail -n 1)" \
	"relay=none, .*status=deferred \(Server certificate not verified \(TLS policy \"secure\" of hash:" \
	"secure: the log's status line names the policy"

# ---- none, a server whose TLS is broken ----
is "$(status c@broken.test)" "sent 2.0.0" "none, broken STARTTLS: delivered"
is "$(rec s3 c@broken.test "r['tls']")" False "none: in plain text"
is "$(rec s3 c@broken.test "r['conn']")" 1 "none: on the first connection (no STARTTLS tried, no retry)"
unlike "$(grep 'mx.broken.test' "$MAILLOG" | grep -v 'to=<')" "SSL_connect|Cannot start TLS" \
	"none: no handshake in the log"

# ---- encrypt, a server without STARTTLS; and by the parent domain ----
is "$(status d@notls.test)" "deferred 4.7.4" "encrypt, no STARTTLS: deferred 4.7.4"
is "$(reason d@notls.test)" "TLS is required, but was not offered by host mx.notls.test[127.0.0.4] (TLS policy \"encrypt\" of $MAP, next-hop destination \"notls.test\")" \
	"encrypt: the reason in mailq"
is "$(status e@sub.corp.test)" "deferred 4.7.4" "sub.corp.test by the .corp.test entry: deferred 4.7.4"
like "$(reason e@sub.corp.test)" "next-hop destination \"\.corp\.test\"\)$" \
	"parent domain: the reason names the .corp.test key"
is "$(count s4)" 0 "encrypt: nothing sent in plain text"

# ---- verify with match= and the CA ----
is "$(status f@ca.test)" "sent 2.0.0" "verify match=mx.ca.test, CAfile = the CA: delivered"
is "$(rec s5 f@ca.test "r['tls']")" True "verify: over TLS"
like "$(grep 'TLS connection established to mx.ca.test' "$MAILLOG" | head -n 1)" \
	"Verified TLS connection established to mx\.ca\.test\[127\.0\.0\.5\]:25: TLSv1\.3" "verify: Verified in the TLS line"
is "$(status g@wrongname.test)" "deferred 4.7.5" "verify match=nexthop:other.test: deferred 4.7.5"
like "$(reason g@wrongname.test)" "^Server certificate not verified \(TLS policy \"verify\" of " \
	"verify, no name matches: the reason"
ok "$(got s5 g@wrongname.test; [ $? != 0 ]; echo $?)" "verify, no name matches: nothing reached the server"

# ---- secure with Postfix's default match (nexthop, dot-nexthop) ----
is "$(status n@sec.test)" "sent 2.0.0" "secure, MX mx.sec.test under sec.test (dot-nexthop): delivered"
is "$(rec s5 n@sec.test "r['tls']")" True "secure, dot-nexthop: over TLS"
is "$(status o@secbad.test)" "deferred 4.7.5" "secure, MX mx.ca.test not under secbad.test: deferred (the MX name does not count)"
ok "$(got s5 o@secbad.test; [ $? != 0 ]; echo $?)" "secure, MX name only: nothing reached the server"

# ---- fingerprint ----
is "$(status h@fp.test)" "sent 2.0.0" "fingerprint of the certificate: delivered"
is "$(rec s2 h@fp.test "r['tls']")" True "fingerprint: over TLS"
is "$(status i@fppk.test)" "sent 2.0.0" "fingerprint of the public key (lower case, no colons): delivered"
is "$(status j@fpbad.test)" "deferred 4.7.5" "another fingerprint: deferred 4.7.5"
like "$(reason j@fpbad.test)" "^Server certificate not verified \(TLS policy \"fingerprint\" of " \
	"another fingerprint: the reason"
ok "$(got s2 j@fpbad.test; [ $? != 0 ]; echo $?)" "another fingerprint: nothing reached the server"

# ---- an invalid policy ----
is "$(status k@bad.test)" "deferred 4.7.5" "invalid level: deferred 4.7.5"
is "$(reason k@bad.test)" "client TLS configuration problem: $MAP, next-hop destination \"bad.test\": invalid security level \"mandatory\"" \
	"invalid level: the map, the key and the reason in mailq"
grep -Fq "warning: $MAP, next-hop destination \"bad.test\": invalid security level \"mandatory\"" "$MAILLOG"
ok $? "invalid level: a warning in the log"
ok "$(got s2 k@bad.test; [ $? != 0 ]; echo $?)" "invalid level: nothing sent"

# ---- relayhost = [127.0.0.6]:2525: the bracketed key with its port ----
setconf "relayhost = [127.0.0.6]:2525"
send l@self.test
wait_for 20 settled l@self.test
is "$(status l@self.test)" "deferred 4.7.4" "relayhost [127.0.0.6]:2525 under its key (encrypt): deferred"
is "$(reason l@self.test)" "TLS is required, but was not offered by host 127.0.0.6[127.0.0.6] (TLS policy \"encrypt\" of $MAP, next-hop destination \"[127.0.0.6]:2525\")" \
	"relayhost: the reason names the [host]:port key"
is "$(count s6)" 0 "relayhost: nothing sent in plain text"

# ---- a missing map: deferred, never in clear ----
BEFORE=$(count s2)
setconf "relayhost =" "smtp_tls_policy_maps = hash:$T/nosuch"
send m@self.test
wait_for 20 settled m@self.test
is "$(status m@self.test)" "deferred 4.3.0" "a missing map: deferred 4.3.0"
is "$(reason m@self.test)" "TLS policy lookup error: open database $T/nosuch.db: No such file or directory" \
	"a missing map: the reason in mailq"
is "$(count s2)" "$BEFORE" "a missing map: nothing sent"
grep -Fq "warning: smtp_tls_policy_maps, next-hop destination \"self.test\": open database $T/nosuch.db" "$MAILLOG"
ok $? "a missing map: a warning in the log"

# ---- a root-only map: opened before the worker drops privileges; rebuilt: picked up ----
ROOTPOL=$T/rootpol
printf 'notls.test\tencrypt\n' >"$ROOTPOL"
chmod 0600 "$ROOTPOL"
"$PETREL" map "hash:$ROOTPOL" >/dev/null 2>&1
is "$(stat -c '%a %U' "$ROOTPOL.db")" "600 root" "a root-only policy map (0600 root)"
setconf "smtp_tls_policy_maps = hash:$ROOTPOL"
send p@notls.test
wait_for 20 settled p@notls.test
is "$(status p@notls.test)" "deferred 4.7.4" "root-only map: read by the worker (encrypt: deferred 4.7.4, not a lookup error)"
like "$(reason p@notls.test)" "\(TLS policy \"encrypt\" of hash:$ROOTPOL, next-hop destination \"notls\.test\"\)$" \
	"root-only map: its policy named"
restarts() { grep -c 'smtp_tls_policy_maps has changed -- restarting' "$MAILLOG"; }
BEFORE=$(restarts)
printf 'notls.test\tnone\n' >"$ROOTPOL"
"$PETREL" map "hash:$ROOTPOL" >/dev/null 2>&1
wait_for 10 eval '[ "$(restarts)" -gt "$BEFORE" ]'
ok $? "the rebuilt root-only map: the smtp worker restarts (logged)"
send q@notls.test
wait_for 20 settled q@notls.test
is "$(status q@notls.test)" "sent 2.0.0" "the rebuilt map's none: delivered"
is "$(rec s4 q@notls.test "r['tls']")" False "the rebuilt map's none: in plain text"

done_testing
