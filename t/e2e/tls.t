#!/bin/bash
# tls.t - TLS and AUTH in the SMTP server: STARTTLS (swaks --tls, Python
# smtplib, openssl s_client for the protocol version and cipher), TLS 1.1
# refused, smtps wrapper mode on 465, the STARTTLS command injection
# (CVE-2011-0411), security level encrypt, a missing or mismatched
# certificate, smtpd_tls_[mandatory_]protocols / _ciphers /
# _exclude_ciphers (and invalid values: no STARTTLS and a warning), DHE
# groups (smtpd_tls_dh1024_param_file), smtpd_tls_chain_files,
# smtpd_use_tls/smtpd_enforce_tls,
# stalled handshakes cut off at smtpd_timeout, and AUTH
# PLAIN/LOGIN checked by a real Dovecot started in the test's namespace.
# The key is root's alone (0600): the smtpd loads it before it drops to
# mail_owner. Runs as root in its own network namespace (t/harness).
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.1/32"
TLSDIR=$T/tls
mkdir -p "$TLSDIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=host.example.com \
	-keyout "$TLSDIR/key.pem" -out "$TLSDIR/cert.pem" >/dev/null 2>&1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TLSDIR/other.pem" 2>/dev/null
chmod 0600 "$TLSDIR/key.pem" "$TLSDIR/other.pem"
cat >>"$CONF/main.cf" <<EOF
smtpd_tls_cert_file = $TLSDIR/cert.pem
smtpd_tls_key_file = $TLSDIR/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
EOF
cat >"$CONF/master.cf" <<EOF
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_authenticated_header=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination
smtps     inet  n       -       n       -       -       smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination
127.0.0.1:2525 inet n   -       n       -       -       smtpd -o smtpd_timeout=2s
127.0.0.1:2526 inet n   -       n       -       -       smtpd
  -o smtpd_tls_cert_file=/nonexistent/cert.pem -o smtpd_tls_key_file=/nonexistent/key.pem
127.0.0.1:2527 inet n   -       n       -       -       smtpd
  -o smtpd_tls_cert_file=/nonexistent/cert.pem -o smtpd_tls_key_file=/nonexistent/key.pem
  -o smtpd_tls_security_level=encrypt
127.0.0.1:2528 inet n   -       n       -       -       smtpd -o smtpd_sasl_auth_enable=yes
127.0.0.1:2529 inet n   -       n       -       -       smtpd
  -o smtpd_tls_wrappermode=yes -o smtpd_timeout=2s
127.0.0.1:2530 inet n   -       n       -       -       smtpd -o smtpd_tls_key_file=$TLSDIR/other.pem
127.0.0.1:2531 inet n   -       n       -       -       smtpd -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no -o smtpd_tls_received_header=no
127.0.0.1:2532 inet n   -       n       -       -       smtpd -o smtpd_tls_protocols=>=TLSv1.3
127.0.0.1:2533 inet n   -       n       -       -       smtpd
  -o smtpd_tls_protocols=!SSLv2,!SSLv3,!TLSv1,!TLSv1.1,!TLSv1.3 -o smtpd_tls_ciphers=high
  -o smtpd_tls_exclude_ciphers=AESGCM,CHACHA20
127.0.0.1:2534 inet n   -       n       -       -       smtpd -o smtpd_tls_protocols=>=TLSv9
127.0.0.1:2535 inet n   -       n       -       -       smtpd -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_protocols=TLSv1.3 -o smtpd_tls_mandatory_protocols=TLSv1.2
127.0.0.1:2536 inet n   -       n       -       -       smtpd -o smtpd_tls_ciphers=strong
127.0.0.1:2537 inet n   -       n       -       -       smtpd -o smtpd_tls_dh1024_param_file=$TLSDIR/dh.pem
127.0.0.1:2538 inet n   -       n       -       -       smtpd -o smtpd_tls_dh1024_param_file=$TLSDIR/other.pem
127.0.0.1:2539 inet n   -       n       -       -       smtpd -o smtpd_tls_security_level=
  -o smtpd_use_tls=yes
127.0.0.1:2540 inet n   -       n       -       -       smtpd -o smtpd_tls_security_level=
  -o smtpd_enforce_tls=yes
127.0.0.1:2541 inet n   -       n       -       -       smtpd -o smtpd_tls_security_level=
127.0.0.1:2542 inet n   -       n       -       -       smtpd -o smtpd_tls_chain_files=$TLSDIR/chain.pem
127.0.0.1:2543 inet n   -       n       -       -       smtpd -o smtpd_tls_chain_files=$TLSDIR/badchain.pem
EOF
# Postfix's chain files: the key, then the chain, leaf first.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=chain.example.com \
	-keyout "$TLSDIR/chain.key" -out "$TLSDIR/chain.crt" >/dev/null 2>&1
cat "$TLSDIR/chain.key" "$TLSDIR/chain.crt" >"$TLSDIR/chain.pem"
cat "$TLSDIR/other.pem" "$TLSDIR/chain.crt" >"$TLSDIR/badchain.pem"
chmod 0600 "$TLSDIR/chain.pem" "$TLSDIR/badchain.pem" "$TLSDIR/chain.key"
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe3072 -out "$TLSDIR/dh.pem" 2>/dev/null
: >"$T/aliases"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start with smtp, submission, smtps and test listeners"
is "$(stat -c '%a %U' "$TLSDIR/key.pem")" "600 root" "the key is readable by root alone"

# --- Dovecot's auth service, its socket under the queue (private/auth) ---
dovecot_auth_start carol:s3cret
ok $? "Dovecot's auth service started, its socket at private/auth"
trap 'dovecot_stop; instance_teardown' EXIT

# A small client: tlsc PORT [SRC] [wrapper] < script. Each line is sent
# and the whole reply printed, lines joined by "|". "!starttls" sends
# STARTTLS and starts TLS after the 220; "!inject" sends STARTTLS and a
# MAIL command in one write, then starts TLS; "!stall" sends STARTTLS and
# then nothing, printing when the server hung up; "!hello" prints the
# TLS protocol and cipher; "!wait" prints the next reply, sending nothing.
# A closed connection reads as "EOF".
cat >"$T/tlsc.py" <<'PY'
import socket, ssl, sys, time
port = int(sys.argv[1]); src = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
wrapper = len(sys.argv) > 3 and sys.argv[3] == 'wrapper'
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = socket.socket()
s.settimeout(15)
if src: s.bind((src, 0))
s.connect(('127.0.0.1', port))
if wrapper:
    s = ctx.wrap_socket(s)
f = s.makefile('rb')
def reply():
    out = []
    while True:
        try:
            l = f.readline(100000)
        except (OSError, ssl.SSLError):
            l = b''
        if not l: return '|'.join(out) if out else 'EOF'
        l = l.decode('utf-8', 'replace').rstrip('\r\n')
        out.append(l)
        if len(l) < 4 or l[3] != '-': return '|'.join(out)
def starttls():
    global s, f
    s = ctx.wrap_socket(s)
    f = s.makefile('rb')
print(reply())
for line in sys.stdin.read().split('\n'):
    if not line: continue
    if line == '!starttls':
        s.sendall(b'STARTTLS\r\n'); r = reply(); print(r)
        if r.startswith('220'): starttls()
    elif line == '!inject':
        s.sendall(b'STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n'); print(reply()); starttls()
    elif line == '!stall':
        s.sendall(b'STARTTLS\r\n'); print(reply())
        t = time.time()
        try:
            while s.recv(100): pass
        except OSError:
            pass
        print('closed after %d s' % round(time.time() - t))
        sys.exit(0)
    elif line == '!hello':
        print(s.version(), s.cipher()[0])
    elif line == '!wait':
        print(reply())
    else:
        try:
            s.sendall((line + '\r\n').encode())
        except OSError:
            pass
        print(reply())
PY
tlsc() { timeout 40 $PY "$T/tlsc.py" "$@" 2>&1; }
mailbox_has() { [ -f "$T/spool/$1" ] && grep -qF -- "$2" "$T/spool/$1"; }
b64() { printf '%b' "$1" | base64 -w0; }

# --- STARTTLS on port 25 (level may) ---
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 25)
like "$out" '250-STARTTLS' "EHLO offers STARTTLS at level may"
unlike "$out" 'AUTH' "no AUTH where smtpd_sasl_auth_enable is off"
out=$(timeout 30 swaks --server 127.0.0.1 --tls --from bob@example.org \
	--to alice@host.example.com --header "Subject: over tls" 2>&1)
like "$out" '<~ +250 2\.0\.0 Ok: queued as [0-9A-F]{14}' "swaks --tls: queued over TLS"
wait_for 10 mailbox_has alice "Subject: over tls"
ok $? "delivered"
rcvd=$(grep -B1 -A5 '^Received: from' "$T/spool/alice" | tr '\n\t' '  ')
like "$rcvd" '\(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)\) +\(No client certificate requested\) +by host\.example\.com \(Petrel\) with ESMTPS id [0-9A-F]{14}' \
	"Received: carries the TLS details and ESMTPS"
like "$(cat "$MAILLOG")" 'petrel/smtpd\[[0-9]+\]: Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)' \
	"smtpd_tls_loglevel 1: the summary line"

out=$(timeout 30 $PY - <<'PY' 2>&1
import smtplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
s.starttls(context=ctx)
s.ehlo('py.example')
print('after:', 'starttls' in s.esmtp_features)
print(s.sendmail('bob@example.org', ['alice@host.example.com'], 'Subject: smtplib tls\r\n\r\nhi\r\n'))
s.quit()
PY
)
is "$out" "after: False
{}" "smtplib starttls(): EHLO no longer offers STARTTLS, mail accepted"
wait_for 10 mailbox_has alice "Subject: smtplib tls"
ok $? "smtplib's message delivered"

out=$(timeout 20 openssl s_client -starttls smtp -connect 127.0.0.1:25 -brief </dev/null 2>&1)
like "$out" 'Protocol version: TLSv1\.3' "openssl s_client: TLSv1.3"
like "$out" 'Ciphersuite: TLS_AES_256_GCM_SHA384' "openssl s_client: TLS_AES_256_GCM_SHA384"
out=$(timeout 20 openssl s_client -starttls smtp -connect 127.0.0.1:25 -brief -tls1_2 </dev/null 2>&1)
like "$out" 'Protocol version: TLSv1\.2' "TLS 1.2 is accepted"
timeout 20 openssl s_client -starttls smtp -connect 127.0.0.1:25 -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
	</dev/null >"$T/tls11.out" 2>&1
ok $((! $?)) "openssl s_client -tls1_1 fails"
like "$(cat "$T/tls11.out")" 'alert protocol version|unsupported protocol' "TLS 1.1 refused with a protocol version alert"
like "$(cat "$MAILLOG")" 'SSL_accept error from localhost\[127\.0\.0\.1\]: .*unsupported protocol' "the refusal is logged"

# --- protocols and ciphers (Postfix's smtpd_tls_[mandatory_]protocols and friends) ---
sc() {	# sc PORT [OPENSSL ARGS...]: openssl s_client -brief over STARTTLS
	local port=$1; shift
	timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$port" -brief "$@" </dev/null 2>&1
}
like "$(sc 2532)" 'Protocol version: TLSv1\.3' "smtpd_tls_protocols = >=TLSv1.3: TLS 1.3 spoken"
like "$(sc 2532 -tls1_2)" 'alert protocol version|unsupported protocol|no protocols available' \
	"smtpd_tls_protocols = >=TLSv1.3: a TLS 1.2 client is refused"
out=$(sc 2533)
like "$out" 'Protocol version: TLSv1\.2' "Postfix's exclusion form !SSLv2, ..., !TLSv1.3: TLS 1.2"
like "$out" 'Ciphersuite: ECDHE-RSA-AES256-SHA384' \
	"smtpd_tls_ciphers = high less smtpd_tls_exclude_ciphers = AESGCM, CHACHA20: the strongest CBC suite"
like "$(sc 2533 -cipher AESGCM)" 'no shared cipher|handshake failure' "... a client that offers only AES-GCM is refused"
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 2534)
unlike "$out" 'STARTTLS' "smtpd_tls_protocols = >=TLSv9: STARTTLS not offered"
like "$(cat "$MAILLOG")" 'warning: smtpd_tls_protocols: invalid TLS protocol ">=TLSv9" in ">=TLSv9": disabling TLS support' \
	"... and a warning naming the parameter and the element"
like "$(sc 2535)" 'Protocol version: TLSv1\.2' "level encrypt: smtpd_tls_mandatory_protocols = TLSv1.2 applies, not smtpd_tls_protocols"
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 2536)
unlike "$out" 'STARTTLS' "smtpd_tls_ciphers = strong (no such grade): STARTTLS not offered"
like "$(cat "$MAILLOG")" 'warning: invalid smtpd_tls_ciphers value "strong" \(high, medium, low, export or null\): disabling TLS support' \
	"... and a warning naming the parameter"

# --- ephemeral DH for TLS 1.2 DHE suites (smtpd_tls_dh1024_param_file) ---
dhe() {	# dhe PORT: the DHE handshake's cipher and temporary key, as openssl s_client prints them
	timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$1" -tls1_2 \
		-cipher DHE-RSA-AES256-GCM-SHA384 </dev/null 2>&1 | grep -E '^(New|Server Temp Key)'
}
is "$(dhe 25)" "Server Temp Key: DH, 2048 bits
New, TLSv1.2, Cipher is DHE-RSA-AES256-GCM-SHA384" \
	"a client that offers only DHE: served with a group as strong as the 2048-bit key"
is "$(dhe 2537)" "Server Temp Key: DH, 3072 bits
New, TLSv1.2, Cipher is DHE-RSA-AES256-GCM-SHA384" "smtpd_tls_dh1024_param_file: the file's 3072-bit group"
is "$(dhe 2538)" "Server Temp Key: DH, 2048 bits
New, TLSv1.2, Cipher is DHE-RSA-AES256-GCM-SHA384" "a file without DH parameters: the built-in group"
like "$(cat "$MAILLOG")" "warning: smtpd_tls_dh1024_param_file: cannot load DH parameters from file $TLSDIR/other\\.pem.*: using the built-in DH group" \
	"... and a warning naming the parameter and the file"

# --- Postfix 2.2's smtpd_use_tls / smtpd_enforce_tls, from old main.cf files ---
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 2539)
like "$out" 'STARTTLS' "smtpd_use_tls = yes (no security level): STARTTLS offered"
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 2541)
unlike "$out" 'STARTTLS' "neither: no STARTTLS"
out=$(printf 'EHLO client.example\nMAIL FROM:<bob@example.org>\nQUIT\n' | tlsc 2540)
like "$out" '530 5\.7\.0 Must issue a STARTTLS command first' "smtpd_enforce_tls = yes: level encrypt"

# --- smtpd_tls_chain_files (Postfix 3.4): key and chain in one file, over cert/key_file ---
out=$(timeout 10 openssl s_client -starttls smtp -connect 127.0.0.1:2542 </dev/null 2>/dev/null |
	openssl x509 -noout -subject 2>/dev/null)
is "$out" "subject=CN = chain.example.com" "smtpd_tls_chain_files: its certificate is served, not smtpd_tls_cert_file's"
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 2543)
unlike "$out" 'STARTTLS' "a chain file whose key does not match: STARTTLS not offered"
like "$(cat "$MAILLOG")" "warning: the private key in $TLSDIR/badchain\\.pem does not match the certificate in $TLSDIR/badchain\\.pem.*: disabling TLS support" \
	"... and a warning naming the file"

# --- a renewed certificate is served after petrel reload ---
served_cn() {
	timeout 10 openssl s_client -starttls smtp -connect 127.0.0.1:25 </dev/null 2>/dev/null |
		openssl x509 -noout -subject 2>/dev/null
}
is "$(served_cn)" "subject=CN = host.example.com" "the certificate served"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=renewed.example.com \
	-keyout "$TLSDIR/key.new" -out "$TLSDIR/cert.new" >/dev/null 2>&1
chmod 0600 "$TLSDIR/key.new"
mv "$TLSDIR/key.new" "$TLSDIR/key.pem"
mv "$TLSDIR/cert.new" "$TLSDIR/cert.pem"
"$PETREL" reload >/dev/null 2>&1
served_renewed() { [ "$(served_cn)" = "subject=CN = renewed.example.com" ]; }
wait_for 10 served_renewed
ok $? "after petrel reload the renewed certificate is served"

# --- wrapper mode (smtps, 465) ---
out=$(timeout 30 swaks --server 127.0.0.1:465 --tls-on-connect --from bob@example.org \
	--to alice@host.example.com --header "Subject: wrapped" 2>&1)
like "$out" '<~ +220 host\.example\.com ESMTP Petrel' "smtps: the banner comes over TLS"
like "$out" '<~ +250 2\.0\.0 Ok: queued as' "smtps: queued"
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 465 "" wrapper)
unlike "$out" 'STARTTLS' "smtps: EHLO does not offer STARTTLS"
out=$(timeout 10 $PY -c '
import socket; s = socket.create_connection(("127.0.0.1", 465), 10)
s.sendall(b"EHLO plain.example\r\n"); s.settimeout(10)
try: print(repr(s.recv(100)))
except OSError as e: print("error", e)' 2>&1)
unlike "$out" '220|250' "smtps: a plain-text client is told nothing in plain text"

# --- STARTTLS command injection (CVE-2011-0411) ---
out=$(printf 'EHLO client.example\n!inject\nNOOP\nRCPT TO:<alice@host.example.com>\nEHLO client.example\nQUIT\n' | tlsc 25)
mapfile -t r <<<"$out"
is "${r[2]}" "220 2.0.0 Ready to start TLS" "STARTTLS with a command pipelined behind it"
is "${r[3]}" "250 2.0.0 Ok" "over TLS the first reply is NOOP's: the injected MAIL was not run"
is "${r[4]}" "503 5.5.1 Error: need MAIL command" "RCPT finds no transaction"
unlike "${r[5]}" 'STARTTLS' "EHLO after STARTTLS no longer offers STARTTLS"
like "$(cat "$MAILLOG")" 'localhost\[127\.0\.0\.1\]: [0-9]+ bytes pipelined after STARTTLS discarded' \
	"the discarded input is logged"
out=$(printf 'EHLO client.example\nMAIL FROM:<a@example.org>\n!starttls\nRCPT TO:<alice@host.example.com>\nQUIT\n' | tlsc 25)
mapfile -t r <<<"$out"
is "${r[4]}" "503 5.5.1 Error: need MAIL command" "STARTTLS ends the transaction begun in plain text"

# --- security level encrypt (submission, 587) ---
out=$(printf 'EHLO client.example\nMAIL FROM:<a@example.org>\nVRFY alice\nNOOP\nQUIT\n' | tlsc 587)
mapfile -t r <<<"$out"
like "${r[1]}" '250-STARTTLS' "encrypt: STARTTLS offered"
unlike "${r[1]}" 'AUTH' "encrypt: no AUTH before TLS"
is "${r[2]}" "530 5.7.0 Must issue a STARTTLS command first" "encrypt: MAIL before STARTTLS refused"
is "${r[3]}" "530 5.7.0 Must issue a STARTTLS command first" "encrypt: VRFY before STARTTLS refused"
is "${r[4]}" "250 2.0.0 Ok" "encrypt: NOOP allowed"

# --- a certificate that cannot be used ---
out=$(printf 'EHLO client.example\nSTARTTLS\nMAIL FROM:<a@example.org>\nRCPT TO:<alice@host.example.com>\nQUIT\n' | tlsc 2526)
mapfile -t r <<<"$out"
unlike "${r[1]}" 'STARTTLS' "missing certificate: STARTTLS not offered"
is "${r[2]}" "502 5.5.1 Error: command not implemented" "missing certificate: STARTTLS refused"
is "${r[4]}" "250 2.1.5 Ok" "missing certificate: plain-text mail still works"
like "$(cat "$MAILLOG")" 'warning: cannot open certificate file /nonexistent/cert\.pem: No such file or directory: disabling TLS support' \
	"a warning names the missing file"
out=$(printf 'EHLO client.example\nSTARTTLS\nMAIL FROM:<a@example.org>\nQUIT\n' | tlsc 2527)
mapfile -t r <<<"$out"
like "${r[1]}" '250-STARTTLS' "encrypt without a certificate: STARTTLS still offered"
is "${r[2]}" "454 4.7.0 TLS not available due to local problem" "encrypt without a certificate: 454 4.7.0"
is "${r[3]}" "530 5.7.0 Must issue a STARTTLS command first" "encrypt without a certificate: no mail in plain text"
out=$(printf 'EHLO client.example\nQUIT\n' | tlsc 2530)
unlike "$out" 'STARTTLS' "a key that does not match: STARTTLS not offered"
like "$(cat "$MAILLOG")" "warning: the private key in $TLSDIR/other\\.pem does not match the certificate in $TLSDIR/cert\\.pem" \
	"a warning says the key does not match"
"$PETREL" status >/dev/null 2>&1
ok $? "the mail system is still running"

# --- stalled handshakes end at smtpd_timeout (2s on these ports) ---
out=$(printf 'EHLO client.example\n!stall\n' | tlsc 2525)
like "$out" 'closed after [2-4] s' "STARTTLS then silence: cut off after about 2s"
like "$(cat "$MAILLOG")" 'timeout after starttls from localhost\[127\.0\.0\.1\] \(TLS handshake\)' "the time-out is logged"
out=$(printf '!starttls\nEHLO client.example\n!wait\n!wait\n' | tlsc 2525)
mapfile -t r <<<"$out"
is "${r[3]}|${r[4]}" "421 4.4.2 host.example.com Error: timeout exceeded|EOF" \
	"an idle client over TLS: 421 4.4.2 at smtpd_timeout, then the end"
t0=$(date +%s)
timeout 20 $PY -c '
import socket; s = socket.create_connection(("127.0.0.1", 2529), 10); s.settimeout(15)
while s.recv(100): pass' 2>/dev/null
el=$(( $(date +%s) - t0 ))
ok $(( ! (el >= 1 && el <= 5) )) "wrapper mode, no ClientHello: cut off after about 2s (${el}s)"

# --- AUTH through Dovecot ---
out=$(printf 'EHLO client.example\nAUTH PLAIN %s\n!starttls\nEHLO client.example\nQUIT\n' \
	"$(b64 '\0carol\0s3cret')" | tlsc 2528)
mapfile -t r <<<"$out"
unlike "${r[1]}" 'AUTH' "plain text: AUTH not offered (smtpd_tls_auth_only)"
is "${r[2]}" "504 5.5.4 Encryption required for requested authentication mechanism" "plain text: AUTH refused"
like "${r[4]}" '250-AUTH PLAIN LOGIN' "after STARTTLS: AUTH PLAIN LOGIN offered"

out=$(timeout 30 swaks --server 127.0.0.1:587 --tls --auth PLAIN --auth-user carol \
	--auth-password s3cret --from carol@example.org --to someone@remote.example 2>&1)
like "$out" '<~ +235 2\.7\.0 Authentication successful' "submission: AUTH PLAIN with the right password"
like "$out" '<~ +250 2\.0\.0 Ok: queued as' "submission: an authenticated client relays"
like "$(cat "$MAILLOG")" 'petrel/smtpd\[[0-9]+\]: [0-9A-F]{14}: client=localhost\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=carol' \
	"the client= line carries sasl_method and sasl_username"
out=$(timeout 30 swaks --server 127.0.0.1:587 --tls --auth LOGIN --auth-user carol \
	--auth-password s3cret --from carol@example.org --to alice@host.example.com \
	--header "Subject: authenticated" 2>&1)
like "$out" '<~ +235 2\.7\.0 Authentication successful' "submission: AUTH LOGIN"
wait_for 10 mailbox_has alice "Subject: authenticated"
ok $? "delivered"
rcvd=$(grep -B1 -A6 '^Received: from' "$T/spool/alice" | tr '\n\t' '  ')
like "$rcvd" '\(No client certificate requested\) +\(Authenticated sender: carol\) +by host\.example\.com \(Petrel\) with ESMTPSA id' \
	"Received: with the authenticated sender (smtpd_sasl_authenticated_header) and ESMTPSA"
out=$(printf 'EHLO client.example\nAUTH PLAIN %s\nQUIT\n' "$(b64 '\0carol\0s3cret')" | tlsc 2531)
mapfile -t r <<<"$out"
like "${r[1]}" '250-AUTH PLAIN LOGIN' "smtpd_tls_auth_only = no: AUTH offered in plain text"
is "${r[2]}" "235 2.7.0 Authentication successful" "smtpd_tls_auth_only = no: AUTH in plain text works"
out=$(timeout 30 swaks --server 127.0.0.1:2531 --tls --from bob@example.org \
	--to alice@host.example.com --header "Subject: no tls header" 2>&1)
wait_for 10 mailbox_has alice "Subject: no tls header"
ok $? "delivered"
rcvd=$(grep -B7 '^Subject: no tls header' "$T/spool/alice" | tr '\n\t' '  ')
like "$rcvd" 'Received: from [^ ]+ \(localhost \[127\.0\.0\.1\]\) +by host\.example\.com \(Petrel\) with ESMTPS id' \
	"smtpd_tls_received_header = no: no (using ...) part, the protocol still says ESMTPS"
out=$(timeout 30 swaks --server 127.0.0.1:465 --tls-on-connect --auth PLAIN --auth-user carol \
	--auth-password s3cret --from carol@example.org --to someone@remote.example 2>&1)
like "$out" '<~ +250 2\.0\.0 Ok: queued as' "smtps: AUTH and relay"

out=$(printf '!starttls\nEHLO client.example\nMAIL FROM:<a@example.org>\nRCPT TO:<someone@remote.example>\nQUIT\n' | tlsc 587)
like "$out" '554 5\.7\.1 <someone@remote\.example>: Relay access denied' "submission: no relay without AUTH"
out=$(printf '!starttls\nAUTH PLAIN %s\nEHLO client.example\nMAIL FROM:<a@example.org>\nAUTH PLAIN %s\nRSET\nAUTH PLAIN\n*\nAUTH PLAIN !!!!\nAUTH PLAIN %s\nAUTH PLAIN %s\nAUTH CRAM-MD5\nQUIT\n' \
	"$(b64 '\0carol\0s3cret')" "$(b64 '\0carol\0s3cret')" "$(b64 '\0carol\0s3cret')" "$(b64 '\0carol\0s3cret')" | tlsc 587)
mapfile -t r <<<"$out"
is "${r[2]}" "503 5.5.1 Error: send EHLO first" "AUTH before EHLO: 503"
is "${r[5]}" "503 5.5.1 Error: MAIL transaction in progress" "AUTH in a transaction: 503"
is "${r[7]}" "334 " "AUTH PLAIN without a response: an empty challenge"
is "${r[8]}" "501 5.7.0 Authentication aborted" "\"*\" cancels: 501"
is "${r[9]}" "501 5.5.2 Error: authentication failed: Invalid base64 data in initial response" "malformed base64: 501 5.5.2"
is "${r[10]}" "235 2.7.0 Authentication successful" "then AUTH succeeds"
is "${r[11]}" "503 5.5.1 Error: already authenticated" "AUTH twice: 503"
is "${r[12]}" "503 5.5.1 Error: already authenticated" "(an unknown mechanism is checked after that)"
out=$(printf '!starttls\nEHLO client.example\nAUTH CRAM-MD5\nAUTH LOGIN\n%s\n%s\nQUIT\n' "$(b64 carol)" "$(b64 s3cret)" | tlsc 587)
mapfile -t r <<<"$out"
is "${r[3]}" "535 5.7.8 Error: authentication failed: Invalid authentication mechanism" "a mechanism not offered: 535"
is "${r[4]}" "334 VXNlcm5hbWU6" "AUTH LOGIN asks for the user name (Dovecot's challenge)"
is "${r[5]}" "334 UGFzc3dvcmQ6" "then for the password"
is "${r[6]}" "235 2.7.0 Authentication successful" "AUTH LOGIN step by step succeeds"
# Wrong passwords last, from another address: Dovecot slows down a client after a failure.
out=$(timeout 30 swaks --server 127.0.0.1:587 --local-interface 127.0.0.3 --tls --auth PLAIN \
	--auth-user carol --auth-password wrong --from carol@example.org --to someone@remote.example 2>&1)
like "$out" '<~\* +535 5\.7\.8 Error: authentication failed' "wrong password: 535 5.7.8"
like "$(cat "$MAILLOG")" 'warning: unknown\[127\.0\.0\.3\]: SASL PLAIN authentication failed: \(reason unavailable\), sasl_username=carol' \
	"the failure is logged as Postfix logs it (fail2ban reads it)"

# --- the set-up's certificate (contrib/petrel-tls-cert, run by petrel-setup) ---
SC=$T/setupconf
mkdir -p "$SC"
cp "$PETREL_SRCDIR/cf/main.cf" "$SC/main.cf"
echo "myhostname = box.example.net" >>"$SC/main.cf"
out=$(PETREL_CONFIG_DIR=$SC sh "$PETREL_SRCDIR/contrib/petrel-tls-cert" "$PETREL_BUILDDIR/sendmail" 2>&1)
is "$out" "petrel-tls-cert: made a self-signed certificate for box.example.net: $SC/tls/cert.pem (key $SC/tls/key.pem)" \
	"the shipped main.cf names a certificate; the set-up makes it"
is "$(stat -c '%a %U' "$SC/tls/key.pem") $(stat -c '%a' "$SC/tls/cert.pem")" "600 root 644" "key 0600 root, certificate 0644"
like "$(openssl x509 -in "$SC/tls/cert.pem" -noout -subject -ext subjectAltName 2>&1 | tr '\n' ' ')" \
	'CN = box\.example\.net .*DNS:box\.example\.net' "made for \$myhostname"
is "$(openssl x509 -in "$SC/tls/cert.pem" -noout -pubkey | sha256sum)" \
	"$(openssl pkey -in "$SC/tls/key.pem" -pubout | sha256sum)" "the key matches the certificate"
sum=$(cat "$SC/tls/cert.pem" "$SC/tls/key.pem" | sha256sum)
out=$(PETREL_CONFIG_DIR=$SC sh "$PETREL_SRCDIR/contrib/petrel-tls-cert" "$PETREL_BUILDDIR/sendmail" 2>&1)
is "$out|$(cat "$SC/tls/cert.pem" "$SC/tls/key.pem" | sha256sum)" "|$sum" "a second run changes nothing"

dovecot_stop
done_testing
