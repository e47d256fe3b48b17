#!/bin/bash
# smtpd_reuse.t - persistent smtpd processes: the master hands each
# connection to an idle smtpd of the service instead of forking one per
# client. Proves that sequential clients are served by the same pid (the
# log's smtpd[PID]), that nothing of a session reaches the next one (AUTH
# identity checked by a real Dovecot, STARTTLS, HELO, MAIL), max_use and
# max_idle, a reload (idle processes exit at once, a busy one finishes
# its client first), an idle smtpd killed with -9 (the next client is
# still served), memory that does not grow over 300 sessions, petrel stop
# and the death of the master. Runs as root in its own network namespace
# (t/harness); every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup "smtpd_error_sleep_time = 0" "smtpd_helo_required = yes" \
	"mynetworks = 127.0.0.1/32" "smtpd_timeout = 10s"
TLSDIR=$T/tls
mkdir -p "$TLSDIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=host.example.com \
	-keyout "$TLSDIR/key.pem" -out "$TLSDIR/cert.pem" >/dev/null 2>&1
chmod 0600 "$TLSDIR/key.pem"
cat >>"$CONF/main.cf" <<EOF
smtpd_tls_cert_file = $TLSDIR/cert.pem
smtpd_tls_key_file = $TLSDIR/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
EOF
# 2525: AUTH (also in plain text) and STARTTLS; 2526: max_use 2;
# 2527: max_idle 2s; 2528: for the reload and the kill; 2529: the memory loop.
cat >"$CONF/master.cf" <<'EOF'
127.0.0.1:2525 inet n   -       n       -       -       smtpd
  -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=no
  -o smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination
127.0.0.1:2526 inet n   -       n       -       -       smtpd -o max_use=2
127.0.0.1:2527 inet n   -       n       -       -       smtpd -o max_idle=2s
127.0.0.1:2528 inet n   -       n       -       -       smtpd
127.0.0.1:2529 inet n   -       n       -       -       smtpd -o max_use=1000
EOF
echo "postmaster: root" >"$T/aliases"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
MPID=$(tr -dc 0-9 <"$QDIR/pid/master.pid")

# --- Dovecot's auth service, its socket under the queue (private/auth) ---
dovecot_auth_start carol:s3cret
ok $? "Dovecot's auth service started, its socket at private/auth"
trap 'dovecot_stop; instance_teardown' EXIT

# smtpc PORT SRC < script: one session; each line is sent and its whole
# reply printed (lines joined by "|"); "!starttls" sends STARTTLS and
# starts TLS after the 220; "!tls" prints whether the connection is TLS.
# A closed connection reads as "EOF".
cat >"$T/smtpc.py" <<'PY'
import socket, ssl, sys
sys.stdout.reconfigure(line_buffering=True)	# a watcher reads the replies as they come
port = int(sys.argv[1]); src = sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = socket.socket(); s.settimeout(15); s.bind((src, 0)); s.connect(('127.0.0.1', port))
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
print(reply())
for line in sys.stdin:	# line by line: a script may come from a FIFO, bit by bit
    line = line.rstrip('\n')
    if not line: continue
    if line == '!starttls':
        s.sendall(b'STARTTLS\r\n'); r = reply(); print(r)
        if r.startswith('220'):
            s = ctx.wrap_socket(s); f = s.makefile('rb')
    elif line == '!tls':
        print('TLS' if isinstance(s, ssl.SSLSocket) else 'PLAIN')
    else:
        s.sendall(line.encode() + b'\r\n'); print(reply())
PY
ndisc() { grep -c 'petrel/smtpd\[[0-9]*\]: disconnect from' "$MAILLOG"; }
# session PORT SRC < script: runs one client session, waits until the
# server logged its disconnect line, and leaves the replies in $T/out
# (one per line) and the serving pid (from that log line) in $SPID.
session() {
	local before
	before=$(ndisc)
	timeout 30 $PY "$T/smtpc.py" "$1" "$2" >"$T/out" 2>&1
	wait_for 20 eval '[ "$(ndisc)" -gt "$before" ]' || diag "no disconnect line for the session on $1"
	SPID=$(grep 'petrel/smtpd\[[0-9]*\]: disconnect from' "$MAILLOG" | tail -n 1 \
		| sed 's/.*petrel\/smtpd\[\([0-9]*\)\].*/\1/')
}
gone() { ! kill -0 "$1" 2>/dev/null; }
AUTHPLAIN=$(printf '\0carol\0s3cret' | base64)

# --- AUTH then a plain session from the same process: not authenticated ---
session 2525 127.0.0.2 <<EOF
EHLO one.example
AUTH PLAIN $AUTHPLAIN
MAIL FROM:<carol@example.org>
RCPT TO:<far@remote.example>
QUIT
EOF
mapfile -t r <"$T/out"
is "${r[2]}" "235 2.7.0 Authentication successful" "session 1: AUTH PLAIN accepted"
is "${r[4]}" "250 2.1.5 Ok" "session 1: authenticated relay from outside mynetworks"
P1=$SPID
like "$P1" '^[0-9]+$' "session 1: pid $P1 from the log"
session 2525 127.0.0.2 <<EOF
EHLO two.example
MAIL FROM:<carol@example.org>
RCPT TO:<far@remote.example>
QUIT
EOF
mapfile -t r <"$T/out"
is "$SPID" "$P1" "session 2 served by the same smtpd process"
is "${r[3]}" "554 5.7.1 <far@remote.example>: Relay access denied" \
	"session 2 (after an AUTH session): not authenticated, relay refused"
unlike "$(grep "smtpd\[$P1\]" "$MAILLOG" | grep 'sasl_username' | tail -n +2)" 'sasl_username' \
	"only the AUTH session logs a sasl_username"

# --- STARTTLS then a session in plain text ---
session 2525 127.0.0.2 <<EOF
EHLO three.example
!starttls
EHLO three.example
!tls
QUIT
EOF
mapfile -t r <"$T/out"
is "$SPID" "$P1" "session 3 (STARTTLS) served by the same process"
is "${r[4]}" "TLS" "session 3 runs over TLS"
session 2525 127.0.0.2 <<EOF
EHLO four.example
!tls
QUIT
EOF
mapfile -t r <"$T/out"
is "$SPID" "$P1" "session 4 served by the same process"
like "${r[0]}" '^220 host\.example\.com ESMTP' "session 4 (after a TLS one): banner in plain text"
like "${r[1]}" '\|250-STARTTLS\|' "session 4: STARTTLS offered again"
is "${r[2]}" "PLAIN" "session 4 stays in plain text"

# --- HELO and MAIL do not carry over ---
session 2525 127.0.0.1 <<EOF
EHLO five.example
MAIL FROM:<a@example.org>
EOF
is "$SPID" "$P1" "session 5 (EHLO and MAIL, no QUIT) served by the same process"
session 2525 127.0.0.1 <<EOF
MAIL FROM:<a@example.org>
QUIT
EOF
mapfile -t r <"$T/out"
is "$SPID" "$P1" "session 6 served by the same process"
is "${r[1]}" "503 5.5.1 Error: send HELO/EHLO first" "session 6: MAIL without HELO refused (smtpd_helo_required)"
session 2525 127.0.0.1 <<EOF
EHLO seven.example
RCPT TO:<postmaster@host.example.com>
QUIT
EOF
mapfile -t r <"$T/out"
is "$SPID" "$P1" "session 7 served by the same process"
is "${r[2]}" "503 5.5.1 Error: need MAIL command" "session 7: RCPT without MAIL is 503"
is "$(grep -c "smtpd\[$P1\]: connect from" "$MAILLOG")" 7 "seven connect lines from one pid"
is "$(grep -c 'smtpd\[[0-9]*\]: connect from' "$MAILLOG")" 7 "and no other smtpd served a client"
# inet_sockets PID: sockets the process holds that are not unix sockets
# (an idle smtpd keeps no client connection, not even a closed one).
inet_sockets() {
	$PY - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
unix = set(l.split()[6] for l in open('/proc/net/unix').readlines()[1:] if len(l.split()) > 6)
n = 0
for fd in os.listdir('/proc/%s/fd' % pid):
    try:
        t = os.readlink('/proc/%s/fd/%s' % (pid, fd))
    except OSError:
        continue
    if t.startswith('socket:[') and t[8:-1] not in unix:
        n += 1
print(n)
PY
}
is "$(inet_sockets "$P1")" 0 "the idle smtpd holds no client socket after seven clients"
is "$(ps -o user= -p "$P1" | tr -d ' ')" petrel "the idle smtpd runs as mail_owner"
is "$(ps -o comm= -p "$P1")" smtpd "and ps names it smtpd"

# --- max_use = 2: a new process for the third client ---
session 2526 127.0.0.1 <<<'QUIT'
U1=$SPID
session 2526 127.0.0.1 <<<'QUIT'
U2=$SPID
wait_for 10 gone "$U1"
ok $? "max_use 2: the process exits after its second client"
session 2526 127.0.0.1 <<<'QUIT'
U3=$SPID
is "$U2" "$U1" "max_use 2: clients 1 and 2 share a process"
ok $(( U3 != U1 ? 0 : 1 )) "max_use 2: client 3 gets a new process ($U1, $U3)"

# --- max_idle = 2s: the idle process exits ---
session 2527 127.0.0.1 <<<'QUIT'
I1=$SPID
t0=$(date +%s%N)
wait_for 15 gone "$I1"
ok $? "max_idle 2s: the idle process exits"
t1=$(date +%s%N)
ok $(( (t1 - t0) / 1000000 >= 1000 ? 0 : 1 )) "not long before its max_idle ($(( (t1 - t0) / 1000000 )) ms)"
session 2527 127.0.0.1 <<<'QUIT'
mapfile -t r <"$T/out"
is "${r[1]}" "221 2.0.0 Bye" "the next client is served by a new process"
ok $(( SPID != I1 ? 0 : 1 )) "a new one ($I1, $SPID)"

# --- an idle smtpd killed with -9: the next client is not lost ---
session 2528 127.0.0.1 <<<'QUIT'
K1=$SPID
kill -9 "$K1"
session 2528 127.0.0.1 <<EOF
EHLO after.example
MAIL FROM:<a@example.org>
RCPT TO:<postmaster@host.example.com>
QUIT
EOF
mapfile -t r <"$T/out"
like "${r[0]}" '^220 ' "after kill -9 of the idle smtpd: the next client gets its banner"
is "${r[3]}" "250 2.1.5 Ok" "and its transaction"
ok $(( SPID != K1 ? 0 : 1 )) "served by another process"
wait_for 10 grep -q "process petrel/smtpd pid $K1 killed by signal 9" "$MAILLOG"
ok $? "the killed process is logged"

# --- reload: the idle process exits at once, a busy one after its client ---
session 2528 127.0.0.1 <<<'QUIT'
R1=$SPID
c0=$(grep -c "smtpd\[$R1\]: connect from" "$MAILLOG")
mkfifo "$T/in"
(timeout 60 $PY "$T/smtpc.py" 2528 127.0.0.1 <"$T/in" >"$T/busy.out" 2>&1) &
exec 9>"$T/in"
echo 'EHLO busy.example' >&9
ehlo_answered() { [ "$(wc -l <"$T/busy.out")" -ge 2 ]; }
wait_for 20 ehlo_answered || diag "the busy session did not get its EHLO answer"
is "$(grep -c "smtpd\[$R1\]: connect from" "$MAILLOG")" $((c0 + 1)) "the open session runs in the idle process"
"$PETREL" reload >/dev/null 2>&1
ok $? "petrel reload"
wait_for 20 grep -q 'reload -- version' "$MAILLOG"
session 2528 127.0.0.1 <<<'QUIT'
R2=$SPID
ok $(( R2 != R1 ? 0 : 1 )) "after the reload a new client gets a new process ($R1, $R2)"
ok $(( $(kill -0 "$R1" 2>/dev/null; echo $?) == 0 ? 0 : 1 )) "the busy old process still runs"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<postmaster@host.example.com>\nQUIT\n' >&9
exec 9>&-
wait
mapfile -t r <"$T/busy.out"
is "${r[2]}" "250 2.1.0 Ok" "the open session goes on after the reload (MAIL)"
is "${r[4]}" "221 2.0.0 Bye" "and ends normally"
wait_for 10 gone "$R1"
ok $? "the old process exits once its client is gone"
session 2528 127.0.0.1 <<<'QUIT'
is "$SPID" "$R2" "the new process goes on serving"

# --- 300 sessions in one process: its memory does not grow ---
# The client waits for each session's disconnect line (the process is
# idle again by then), so every session goes to the same process.
cat >"$T/loop.py" <<'PY'
import socket, ssl, sys, time
log, n = sys.argv[1], int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def ndisc():
    with open(log, 'rb') as f:
        return f.read().count(b']: disconnect from')
for i in range(n):
    before = ndisc()
    s = socket.create_connection(('127.0.0.1', 2529), timeout=15)
    f = s.makefile('rb')
    def reply():
        while True:
            l = f.readline()
            if not l: raise SystemExit('EOF in session %d' % i)
            if len(l) < 4 or l[3:4] != b'-': return l
    reply()
    if i % 10 == 5:	# every tenth session in TLS
        s.sendall(b'EHLO loop%d.example\r\nSTARTTLS\r\n' % i); reply(); reply()
        s = ctx.wrap_socket(s); f = s.makefile('rb')
    cmds = [b'EHLO loop%d.example' % i, b'MAIL FROM:<a%d@example.org>' % i,
            b'RCPT TO:<postmaster@host.example.com>', b'RCPT TO:<far@remote.example>']
    if i % 10 == 0:
        cmds += [b'DATA']
    for c in cmds:
        s.sendall(c + b'\r\n'); reply()
    if i % 10 == 0:
        s.sendall(b'Subject: loop %d\r\n\r\n' % i + b'x' * 2000 + b'\r\n.\r\n'); reply()
    s.sendall(b'RSET\r\nNOOP\r\nQUIT\r\n'); reply(); reply(); reply()
    s.close()
    t = time.time() + 20
    while ndisc() == before and time.time() < t:
        time.sleep(0.005)
print('done %d' % n)
PY
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
timeout 120 $PY "$T/loop.py" "$MAILLOG" 20 >"$T/loop.out" 2>&1
L1=$(grep 'petrel/smtpd\[[0-9]*\]: disconnect from' "$MAILLOG" | tail -n 1 \
	| sed 's/.*petrel\/smtpd\[\([0-9]*\)\].*/\1/')
rss0=$(rss "$L1")
timeout 300 $PY "$T/loop.py" "$MAILLOG" 300 >"$T/loop.out" 2>&1
is "$(cat "$T/loop.out")" "done 300" "300 more sessions ran"
is "$(grep -c "smtpd\[$L1\]: connect from" "$MAILLOG")" 320 "all 320 in one process"
rss1=$(rss "$L1")
diag "VmRSS of smtpd $L1: $rss0 kB after 20 sessions, $rss1 kB after 320"
if grep -q '^#define PETREL_SANITIZERS' "$PETREL_BUILDDIR/config.h" 2>/dev/null; then
	# ASan keeps freed memory in quarantine (up to 256 MB): only a wide bound.
	bound=65536
else
	bound=512
fi
ok $(( rss1 - rss0 <= bound ? 0 : 1 )) "VmRSS grew by at most $bound kB over 300 sessions ($((rss1 - rss0)) kB)"

# --- petrel stop: every smtpd exits; the master's death too ---
# (Only this instance's: other tests on the machine run their own smtpd.)
SPIDS=$(pgrep -x smtpd -P "$MPID")
ok $(( $(echo "$SPIDS" | grep -c '^[0-9]') >= 1 ? 0 : 1 )) "idle smtpd processes before stop: $(echo $SPIDS)"
timeout 20 "$PETREL" stop >/dev/null 2>&1
ok $? "petrel stop"
no_smtpd() { local p; for p in $SPIDS; do gone "$p" || return 1; done; }
wait_for 10 no_smtpd
ok $? "petrel stop: no smtpd left"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start again"
MPID=$(tr -dc 0-9 <"$QDIR/pid/master.pid")
session 2528 127.0.0.1 <<<'QUIT'
D1=$SPID
kill -9 "$MPID"
wait_for 10 gone "$D1"
ok $? "an idle smtpd dies with its master (kill -9 of the master)"

done_testing
