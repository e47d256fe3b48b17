#!/bin/bash
# t/e2e/relay_tls.t - the SMTP client's STARTTLS and AUTH against a real
# server (Python aiosmtpd, t/lib/smtpsink.py, with STARTTLS and AUTH on)
# at relayhost = [127.0.0.1]:PORT. Covered: smtp_tls_security_level may
# with a self-signed certificate (delivered over TLS, the "Untrusted TLS
# connection established" line at smtp_tls_loglevel = 1, the status line
# unchanged); may with a failed handshake (the same server again in plain
# text at once); verify without the CA (deferred, "Server certificate not
# verified" in mailq) and with smtp_tls_CAfile = that certificate
# (delivered after petrel flush, "Verified"); encrypt against a server
# without STARTTLS (deferred, 4.7.4 reason); a smarthost that requires
# AUTH, with the password in hash:sasl_passwd built by petrel map under
# the key "[127.0.0.1]:PORT": Postfix's default security options refuse
# PLAIN and LOGIN even inside TLS (deferred, the warning says why),
# smtp_sasl_security_options = noanonymous delivers with AUTH PLAIN over
# TLS (the server saw the user and password), LOGIN by
# smtp_sasl_mechanism_filter, a wrong password is deferred with the
# server's 535 in mailq (bounced with smtp_sasl_auth_soft_bounce = no),
# and a root-only 0600 sasl_passwd.db works and is picked up when rebuilt;
# smtp_tls_protocols / _ciphers / _exclude_ciphers at level may and
# smtp_tls_mandatory_protocols at encrypt (a TLS 1.2 server deferred under
# >=TLSv1.3, an invalid list deferred with its name, never plain text);
# smtp_tls_wrappermode against a server with TLS from the first byte (may
# raised to encrypt with a warning; verify; a plain server: deferred).
# Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

SINKPORT=10025
instance_setup "relayhost = [127.0.0.1]:$SINKPORT" "mynetworks = 127.0.0.0/8" \
	"smtp_tls_security_level = may" "smtp_tls_loglevel = 1"
export LC_ALL=C.UTF-8
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop; [ -n "${WSPID:-}" ] && kill "$WSPID" 2>/dev/null; instance_teardown' EXIT

# The server's certificate: self-signed, for 127.0.0.1 (IP) and sink.test.
TLSDIR=$T/tls
mkdir -p "$TLSDIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sink.test \
	-addext "subjectAltName = DNS:sink.test, IP:127.0.0.1" \
	-keyout "$TLSDIR/key.pem" -out "$TLSDIR/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for 127.0.0.1"
TLSCONF="\"tls\": {\"cert\": \"$TLSDIR/cert.pem\", \"key\": \"$TLSDIR/key.pem\"}"

SINK=$T/sink
mkdir -p "$SINK"
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
last_id() { grep -oE '[0-9A-F]{14}: from=<[^>]*>, size' "$MAILLOG" | tail -n 1 | cut -c1-14; }
# send SUBJECT: one message to bob@remote.test; prints its queue ID.
send() {
	local before after
	before=$(grep -c ': from=<' "$MAILLOG")
	printf 'From: alice@host.example.com\nTo: bob@remote.test\nSubject: %s\n\nbody\n' "$1" \
		| "$SENDMAIL" -i -f alice@host.example.com bob@remote.test
	wait_for 10 eval '[ "$(grep -c ": from=<" "$MAILLOG")" -gt "$before" ]'
	last_id
}
# reason ID: the delay reason mailq -j gives for the message's recipient.
reason() {
	"$MAILQ" -j 2>/dev/null | $PY -c '
import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m["queue_id"] == sys.argv[1]:
        print(m["recipients"][0].get("delay_reason", ""))' "$1"
}
status_of() { grep -E "$1: to=<bob@remote\.test>.*status=" "$MAILLOG" | tail -n 1 | sed -E 's/.*dsn=([0-9.]+), status=([a-z]+) .*/\2 \1/'; }
# settle ID WHAT: waits until the message has a status= line of kind WHAT.
settle() { wait_for 20 eval "grep -Eq '$1: to=<bob@remote\.test>.*status=$2' \"\$MAILLOG\""; }
# setconf NAME=VALUE...: main.cf changed, then a restart (a reload reaches
# the smtp workers later, and a flush right after it could meet an old one).
setconf() {
	"$PETREL" conf -e "$@" >/dev/null && "$PETREL" stop >/dev/null 2>&1 &&
		"$PETREL" start >/dev/null 2>&1
}
MAILQ=$T/mailq
ln -s "$SENDMAIL" "$MAILQ"

sink_conf "{$TLSCONF}"
sink_start
ok $? "aiosmtpd sink with STARTTLS listens on 127.0.0.1:$SINKPORT"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"

# ---- 1. may: a self-signed certificate, delivered over TLS ----
ID=$(send "may")
settle "$ID" sent
ok $? "may: delivered"
is "$(sink_get 1 "r['tls']")" True "may: the server saw the transaction over TLS"
is "$(sink_get 1 "r['helo']")" host.example.com "may: EHLO again after STARTTLS (the name as before)"
like "$(grep 'TLS connection established' "$MAILLOG" | tail -n 1)" \
	"petrel/smtp\[[0-9]+\]: Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT: TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)$" \
	"may: the TLS line as Postfix 3.x logs it"
like "$(grep "$ID: to=" "$MAILLOG")" "$ID: to=<bob@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT, delay=[0-9.]+, delays=[0-9.]+/0/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as SINK[0-9]+\)$" \
	"may: the status line unchanged"

# ---- 2. may: the handshake fails, the same server again in plain text ----
sink_conf "{$TLSCONF, \"tls_max\": \"TLSv1_1\"}"
ID=$(send "may-fallback")
settle "$ID" sent
ok $? "may, failed handshake: delivered"
is "$(sink_get 2 "r['tls']")" False "may, failed handshake: the retry ran in plain text"
like "$(grep "$ID: 127" "$MAILLOG")" "$ID: 127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT: Cannot start TLS: handshake failure; trying again without TLS" \
	"may, failed handshake: logged"
sink_conf "{$TLSCONF}"

# ---- 3. verify: not verified without the CA, delivered with it ----
setconf "smtp_tls_security_level = verify"
ID=$(send "verify")
settle "$ID" deferred
ok $? "verify, no CA: deferred"
is "$(status_of "$ID")" "deferred 4.7.5" "verify, no CA: dsn 4.7.5"
is "$(reason "$ID")" "Server certificate not verified" "verify, no CA: the reason in mailq -j"
like "$("$SENDMAIL" -bp)" "Server certificate not verified" "verify, no CA: the reason in mailq"
is "$(sink_count)" 2 "verify, no CA: nothing reached the server"
setconf "smtp_tls_CAfile = $TLSDIR/cert.pem"
"$PETREL" flush >/dev/null
settle "$ID" sent
ok $? "verify, CAfile = the certificate: delivered after petrel flush"
like "$(grep 'TLS connection established' "$MAILLOG" | tail -n 1)" \
	"Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT: TLSv1\.3" \
	"verify: Verified in the TLS line"
is "$(sink_get 3 "r['tls']")" True "verify: over TLS"

# ---- 4. encrypt: a server without STARTTLS ----
setconf "smtp_tls_security_level = encrypt"
sink_conf '{}'
ID=$(send "encrypt")
settle "$ID" deferred
ok $? "encrypt, no STARTTLS: deferred"
is "$(status_of "$ID")" "deferred 4.7.4" "encrypt, no STARTTLS: dsn 4.7.4"
is "$(reason "$ID")" "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]" \
	"encrypt, no STARTTLS: the reason"
sink_conf "{$TLSCONF}"
"$PETREL" flush >/dev/null
settle "$ID" sent
ok $? "encrypt: delivered once the server offers STARTTLS (petrel flush)"
is "$(sink_get 4 "r['tls']")" True "encrypt: over TLS"

# ---- 5. a smarthost that requires AUTH ----
cat >"$CONF/sasl_passwd" <<EOF
[127.0.0.1]:$SINKPORT    user@example.com:s3cret pass
EOF
chmod 0600 "$CONF/sasl_passwd"
# root-owned 0600, as Postfix's SASL_README says: the smtp worker opens it before it drops privileges
"$PETREL" map "hash:$CONF/sasl_passwd"
ok $? "petrel map hash:sasl_passwd"
is "$(stat -c '%a %U' "$CONF/sasl_passwd.db")" "600 root" "sasl_passwd.db: root's alone (the worker opened it before dropping privileges)"
is "$("$PETREL" map -q "[127.0.0.1]:$SINKPORT" "hash:$CONF/sasl_passwd")" "user@example.com:s3cret pass" \
	"petrel map -q finds the nexthop key"
sink_conf "{$TLSCONF, \"auth\": {\"user\": \"user@example.com\", \"password\": \"s3cret pass\"}}"
setconf "smtp_tls_security_level = may" "smtp_sasl_auth_enable = yes" \
	"smtp_sasl_password_maps = hash:$CONF/sasl_passwd"
ID=$(send "auth-default")
settle "$ID" deferred
ok $? "AUTH, Postfix's default security options: deferred"
is "$(reason "$ID")" "SASL authentication failed; cannot authenticate to server 127.0.0.1[127.0.0.1]: no mechanism available" \
	"AUTH, default options: the reason"
like "$(grep 'SASL authentication failed: no mechanism' "$MAILLOG" | tail -n 1)" \
	"warning: SASL authentication failed: no mechanism available \(smtp_sasl_tls_security_options = noplaintext forbids PLAIN and LOGIN; set smtp_sasl_tls_security_options = noanonymous to allow them\)" \
	"AUTH, default options: the warning says why and what to change"
is "$(sink_count)" 4 "AUTH, default options: nothing delivered"

setconf "smtp_sasl_security_options = noanonymous"
"$PETREL" flush >/dev/null
settle "$ID" sent
ok $? "AUTH, smtp_sasl_security_options = noanonymous: delivered after petrel flush"
is "$(sink_get 5 "' '.join([str(r['tls'])] + r['auth'])")" "True PLAIN user@example.com s3cret pass" \
	"AUTH PLAIN over TLS with the user and password of sasl_passwd"

setconf "smtp_sasl_mechanism_filter = login"
ID=$(send "auth-login")
settle "$ID" sent
ok $? "AUTH LOGIN (smtp_sasl_mechanism_filter = login): delivered"
is "$(sink_get 6 "' '.join(r['auth'])")" "LOGIN user@example.com s3cret pass" "AUTH LOGIN: the server saw them"

# rebuild: the map again; the idle smtp worker (unprivileged now) restarts to open it as root.
restarts() { grep -c 'smtp_sasl_password_maps has changed -- restarting' "$MAILLOG"; }
rebuild() {
	local before
	before=$(restarts)
	"$PETREL" map "hash:$CONF/sasl_passwd" &&
		wait_for 10 eval '[ "$(restarts)" -gt "$before" ]'
}
sed -i 's/s3cret pass/wrong/' "$CONF/sasl_passwd"
rebuild
ok $? "a rebuilt sasl_passwd.db: the smtp worker restarts (logged)"
ID=$(send "auth-wrong")
settle "$ID" deferred
ok $? "AUTH, a wrong password: deferred"
is "$(status_of "$ID")" "deferred 4.7.8" "AUTH, a wrong password: dsn 4.7.8 (535 is soft)"
is "$(reason "$ID")" "SASL authentication failed; server 127.0.0.1[127.0.0.1] said: 535 5.7.8 Authentication credentials invalid" \
	"AUTH, a wrong password: the server's 535 in mailq -j"
is "$(sink_count)" 6 "AUTH, a wrong password: nothing delivered"
setconf "smtp_sasl_auth_soft_bounce = no"
"$PETREL" flush >/dev/null
settle "$ID" bounced
ok $? "AUTH, a wrong password, smtp_sasl_auth_soft_bounce = no: bounced"
is "$(status_of "$ID")" "bounced 5.7.8" "AUTH, smtp_sasl_auth_soft_bounce = no: dsn 5.7.8"
setconf "smtp_sasl_auth_soft_bounce = yes"
sed -i 's/wrong/s3cret pass/' "$CONF/sasl_passwd"
rebuild
ok $? "the password mended, sasl_passwd.db rebuilt: the worker restarts"
ID=$(send "auth-again")
settle "$ID" sent
ok $? "AUTH: the right password again, delivered"
is "$(sink_get 7 "' '.join(r['auth'])")" "LOGIN user@example.com s3cret pass" "AUTH: the new map's password"


# ---- 6. protocols and ciphers of the client ----
tls_line() { grep 'TLS connection established' "$MAILLOG" | tail -n 1; }
sink_conf "{$TLSCONF}"
setconf "smtp_sasl_auth_enable = no" "smtp_tls_protocols = <=TLSv1.2"
ID=$(send "proto-12")
settle "$ID" sent
ok $? "smtp_tls_protocols = <=TLSv1.2: delivered"
like "$(tls_line)" ": TLSv1\.2 with cipher ECDHE-RSA-" "... over TLS 1.2"
setconf "smtp_tls_ciphers = high" "smtp_tls_exclude_ciphers = AESGCM, CHACHA20"
ID=$(send "ciphers")
settle "$ID" sent
ok $? "smtp_tls_ciphers = high, smtp_tls_exclude_ciphers = AESGCM, CHACHA20: delivered"
like "$(tls_line)" ": TLSv1\.2 with cipher ECDHE-RSA-AES(128|256)-SHA(256|384) " "... with a CBC suite (no GCM, no ChaCha20)"
setconf "smtp_tls_security_level = encrypt" "smtp_tls_mandatory_protocols = >=TLSv1.3"
sink_conf "{$TLSCONF, \"tls_max\": \"TLSv1_2\"}"
ID=$(send "mandatory-13")
settle "$ID" deferred
ok $? "encrypt, smtp_tls_mandatory_protocols = >=TLSv1.3, a TLS 1.2 server: deferred"
is "$(status_of "$ID")" "deferred 4.7.5" "... dsn 4.7.5"
is "$(reason "$ID")" "Cannot start TLS: handshake failure" "... the reason"
sink_conf "{$TLSCONF}"
"$PETREL" flush >/dev/null
settle "$ID" sent
ok $? "... delivered over TLS 1.3 once the server speaks it (smtp_tls_protocols = <=TLSv1.2 does not apply at encrypt)"
like "$(tls_line)" ": TLSv1\.3 with cipher TLS_" "... TLS 1.3 in the log"
setconf "smtp_tls_mandatory_protocols = >=TLSv9"
ID=$(send "bad-proto")
settle "$ID" deferred
ok $? "encrypt, smtp_tls_mandatory_protocols = >=TLSv9: deferred, never in plain text"
is "$(reason "$ID")" 'TLS client initialization failed: smtp_tls_mandatory_protocols: invalid TLS protocol ">=TLSv9" in ">=TLSv9"' \
	"... the reason names the parameter"
like "$(cat "$MAILLOG")" 'warning: TLS client initialization failed: smtp_tls_mandatory_protocols: invalid' "... and is logged"
setconf "smtp_tls_security_level = may"
"$PETREL" flush >/dev/null
settle "$ID" sent
ok $? "level may: smtp_tls_protocols applies, delivered"
like "$(tls_line)" ": TLSv1\.2 with cipher " "... over TLS 1.2"


# ---- 7. smtp_tls_wrappermode: TLS from the first byte (a port 465 server) ----
WS=$T/wsink
mkdir -p "$WS"
printf '{%s, "wrapper": true}\n' "$TLSCONF" >"$WS/conf.json"
$PY "$PETREL_SRCDIR/t/lib/smtpsink.py" 127.0.0.1 10465 "$WS" 2>>"$WS/err" &
WSPID=$!
wait_for 10 test -f "$WS/ready"
ok $? "aiosmtpd sink with TLS from the first byte on 127.0.0.1:10465"
ws_tls() { $PY -c "import json; print(' '.join(str(json.loads(l)['tls']) for l in open('$WS/mail.jsonl')))" 2>/dev/null; }
setconf "relayhost = [127.0.0.1]:10465" "smtp_tls_wrappermode = yes" "smtp_tls_protocols = >=TLSv1" \
	"smtp_tls_mandatory_protocols = >=TLSv1"
ID=$(send "wrapper")
settle "$ID" sent
ok $? "smtp_tls_wrappermode = yes: delivered"
is "$(ws_tls)" "True" "... over TLS from the first byte"
like "$(tls_line)" "Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:10465: TLSv1\.3" \
	"... the TLS line (Trusted: smtp_tls_CAfile knows the certificate)"
like "$(cat "$MAILLOG")" 'warning: smtp_tls_wrappermode requires smtp_tls_security_level = encrypt \(or stronger\): using encrypt' \
	"... level may is raised to encrypt, with a warning"
setconf "smtp_tls_security_level = verify"
ID=$(send "wrapper-verify")
settle "$ID" sent
ok $? "smtp_tls_wrappermode at level verify (CAfile = the certificate): delivered"
like "$(tls_line)" "Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:10465" "... Verified"
setconf "relayhost = [127.0.0.1]:$SINKPORT"
ID=$(send "wrapper-to-plain")
settle "$ID" deferred
ok $? "smtp_tls_wrappermode against a server that greets in plain text: deferred, never sent in plain text"
is "$(reason "$ID")" "Cannot start TLS: handshake failure" "... the reason"
setconf "smtp_tls_wrappermode = no"
"$PETREL" flush >/dev/null
settle "$ID" sent
ok $? "... delivered with STARTTLS once smtp_tls_wrappermode = no"

done_testing
