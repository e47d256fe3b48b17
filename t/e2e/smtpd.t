#!/bin/bash
# smtpd.t - the SMTP server: listeners from master.cf, ESMTP with
# PIPELINING/SIZE/8BITMIME/ENHANCEDSTATUSCODES/DSN/SMTPUTF8/CHUNKING,
# relay control, sequence and syntax errors, limits, bad input, and the
# message durably queued before 250. Runs as root in its own network
# namespace (t/harness), so port 25 is free. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup "smtpd_error_sleep_time = 0" "smtpd_helo_required = yes" "smtpd_timeout = 5s" \
	"mynetworks = 127.0.0.1/32 [::1]/128" "smtpd_client_connection_count_limit = 3"
cat >"$CONF/master.cf" <<'CF'
# The smtp service on every interface, plus test services on loopback.
smtp      inet  n       -       n       -       -       smtpd
127.0.0.1:2525 inet n   -       n       -       -       smtpd
  -o mynetworks=127.0.0.1/32
  -o message_size_limit=2000
  -o smtpd_recipient_limit=3
  -o smtpd_hard_error_limit=5
127.0.0.1:2526 inet n   -       n       -       -       smtpd
  -o mynetworks=127.0.0.1/32
  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination
[::1]:2527 inet n       -       n       -       2       smtpd
127.0.0.1:2529 inet n   -       n       -       -       smtpd -o smtpd_timeout=1s
pickup    unix  n       -       n       60      1       pickup
CF
cp /dev/null "$T/aliases"
echo "postmaster: root" >"$T/aliases"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start with inet listeners"

# A small SMTP client for raw sessions: smtpc PORT [SRC] < script.
# Script lines are sent one by one, each followed by reading one reply,
# whose first line is printed. "!raw PYTHON-BYTES" sends bytes as given,
# "!send PYTHON-BYTES" sends without reading a reply,
# "!bulk N LINE" pipelines N copies and prints the distinct replies,
# "!close" hangs up without QUIT, "!wait" prints the next reply only.
# A connection the server closed reads as "EOF".
cat >"$T/smtpc.py" <<'PY'
import socket, sys, ast, time
sys.stdout.reconfigure(line_buffering=True)	# a watcher reads the replies as they come
port = int(sys.argv[1]); src = sys.argv[2] if len(sys.argv) > 2 else None
host = '::1' if port == 2527 else '127.0.0.1'
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
s.settimeout(10)
if src: s.bind((src, 0))
s.connect((host, port))
f = s.makefile('rb')
def reply():
    first = None
    while True:
        try:
            l = f.readline(100000)
        except OSError:
            l = b''
        if not l: return first or 'EOF'
        l = l.decode('utf-8', 'replace').rstrip('\r\n')
        if first is None: first = l
        if len(l) < 4 or l[3] != '-': return first
print(reply())
def send(b):
    try:
        s.sendall(b)
    except OSError:
        pass
for line in sys.stdin.read().split('\n'):
    if not line: continue
    if line.startswith('!send '):
        send(ast.literal_eval(line[6:]))
    elif line.startswith('!raw '):
        send(ast.literal_eval(line[5:])); print(reply())
    elif line.startswith('!bulk '):
        _, n, cmd = line.split(' ', 2)
        send((cmd + '\r\n').encode() * int(n))
        seen = {}
        for i in range(int(n)):
            r = reply()
            k = r[:9]
            seen[k] = seen.get(k, 0) + 1
            if r == 'EOF' or r.startswith('421'): break
        print(' '.join('%s=%d' % (k.strip(), v) for k, v in sorted(seen.items())))
    elif line == '!close':
        s.close(); sys.exit(0)
    elif line == '!wait':
        print(reply())
    else:
        send((line + '\r\n').encode('utf-8')); print(reply())
PY
smtpc() { timeout 20 $PY "$T/smtpc.py" "$@" 2>&1; }

mailbox_has() { [ -f "$T/spool/$1" ] && grep -q "$2" "$T/spool/$1"; }

# --- a normal session, pipelined (swaks), to a local user ---
out=$(timeout 20 swaks --server 127.0.0.1 --pipeline --from bob@example.org \
	--to alice@host.example.com --header "Subject: pipelined" 2>&1)
like "$out" '<-+ +250 2\.0\.0 Ok: queued as [0-9A-F]{14}' "swaks --pipeline: queued"
wait_for 10 mailbox_has alice "Subject: pipelined"
ok $? "delivered to the local mailbox"
like "$(grep -A2 '^Received: from' "$T/spool/alice" | head -3 | tr '\n\t' '  ')" \
	'^Received: from [^ ]+ \(localhost \[127\.0\.0\.1\]\) +by host\.example\.com \(Petrel\) with ESMTP id [0-9A-F]{14} +for <alice@host\.example\.com>; ' \
	"Received: header in Postfix's shape"
like "$(cat "$MAILLOG")" 'petrel/smtpd\[[0-9]+\]: [0-9A-F]{14}: client=localhost\[127\.0\.0\.1\]' "client= logged"

# --- relay control ---
out=$(timeout 20 swaks --server 127.0.0.1 --from bob@example.org --to someone@remote.example 2>&1)
like "$out" '250 2\.0\.0 Ok: queued as' "remote recipient from 127.0.0.1 (mynetworks) accepted"
before=$(queued_total)
out=$(timeout 20 swaks --server 127.0.0.1:2525 --local-interface 127.0.0.2 \
	--from bob@example.org --to someone@remote.example 2>&1)
like "$out" '454 4\.7\.1 <someone@remote\.example>: Relay access denied' "outside mynetworks: 454 4.7.1 Relay access denied"
is "$(queued_total)" "$before" "nothing queued for the refused relay"
like "$(cat "$MAILLOG")" 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: 454 4\.7\.1' "relay refusal logged"
out=$(printf 'EHLO x\nMAIL FROM:<a@example.org>\nRCPT TO:<x@remote.example>\nRCPT TO:<alice@host.example.com>\nQUIT\n' | smtpc 2526 127.0.0.2)
like "$out" '554 5\.7\.1 <x@remote\.example>: Relay access denied' "reject_unauth_destination: 554 5.7.1"
mapfile -t r <<<"$out"
is "${r[4]}" "250 2.1.5 Ok" "a local recipient from outside mynetworks accepted"

# A control byte the client sent is never echoed into a reply (fuzz_smtpd).
out=$(printf 'EHLO x\n!raw b"MAIL FROM:<a@example.org> FOO\\rX=y\\r\\n"\nQUIT\n' | smtpc 25)
mapfile -t r <<<"$out"
is "${r[2]}" "555 5.5.4 Unsupported option: FOO?X" "a bare CR in a parameter comes back as '?'"

# --- EHLO features and SMTPUTF8 (Python smtplib) ---
out=$(timeout 20 $PY - <<'PY' 2>&1
import smtplib
from email.message import EmailMessage
s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
code, text = s.ehlo('client.example')
print('FEATURES ' + ','.join(text.decode().split('\n')[1:]))
m = EmailMessage()
m['From'] = 'jörg@example.org'
m['To'] = 'alice@host.example.com'
m['Subject'] = 'utf8 grüße'
m.set_content('héllo wörld\n')
print('SENT', s.send_message(m, mail_options=['SMTPUTF8']))
s.quit()
PY
)
like "$out" '^FEATURES PIPELINING,SIZE 10240000,8BITMIME,ENHANCEDSTATUSCODES,DSN,SMTPUTF8,CHUNKING$' "EHLO features exact"
like "$out" 'SENT \{\}' "smtplib send_message with SMTPUTF8 accepted"
wait_for 10 mailbox_has alice "héllo wörld"
ok $? "the SMTPUTF8 message delivered"
grep -A1 '^Received: from client.example' "$T/spool/alice" | grep -q 'with UTF8SMTP'
ok $? "protocol UTF8SMTP in Received:"

# --- BDAT over a raw socket ---
out=$(smtpc 25 <<'S'
EHLO client.example
MAIL FROM:<bob@example.org> BODY=8BITMIME RET=HDRS ENVID=env+2Bid
RCPT TO:<alice@host.example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@host.example.com
!raw b'BDAT 22\r\nSubject: chunked\r\n\r\nbo'
!raw b'BDAT 14 LAST\r\ndy of chunks\r\n'
DATA
QUIT
S
)
mapfile -t r <<<"$out"
is "${r[4]}" "250 2.0.0 Ok: 22 bytes" "BDAT chunk: 250 with its size"
like "${r[5]}" '^250 2\.0\.0 Ok: queued as [0-9A-F]{14}$' "BDAT LAST: queued"
is "${r[6]}" "503 5.5.1 Error: need MAIL command" "DATA after the BDAT transaction: 503"
wait_for 10 mailbox_has alice "body of chunks"
ok $? "BDAT message delivered"

# --- sequence, syntax, unknown ---
out=$(smtpc 25 <<'S'
MAIL FROM:<a@example.org>
HELO
EHLO client.example
RCPT TO:<alice@host.example.com>
DATA
MAIL FROM:<a@example.org>
MAIL FROM:<a@example.org>
DATA
RSET
MAIL TO:<x>
MAIL FROM:<a@example.org>
RCPT FROM:<alice@host.example.com>
RCPT TO:<>
FOO bar
RCPT TO:<nosuchuser@host.example.com>
MAIL FROM:<a@example.org> SIZE=99999999999
RCPT TO:<alice@host.example.com> NOTIFY=BOGUS
VRFY alice
QUIT
S
)
mapfile -t r <<<"$out"
like "${r[0]}" '^220 host\.example\.com ESMTP Petrel$' "banner: \$myhostname ESMTP \$mail_name"
is "${r[1]}" "503 5.5.1 Error: send HELO/EHLO first" "MAIL before HELO (smtpd_helo_required): 503"
is "${r[2]}" "501 Syntax: HELO hostname" "HELO without a name: 501"
is "${r[4]}" "503 5.5.1 Error: need MAIL command" "RCPT before MAIL: 503"
is "${r[5]}" "503 5.5.1 Error: need MAIL command" "DATA before MAIL: 503"
is "${r[7]}" "503 5.5.1 Error: nested MAIL command" "nested MAIL: 503"
is "${r[8]}" "503 5.5.1 Error: need RCPT command" "DATA before RCPT: 503"
is "${r[10]}" "501 5.5.4 Syntax: MAIL FROM:<address>" "MAIL syntax error: 501"
is "${r[12]}" "501 5.5.4 Syntax: RCPT TO:<address>" "RCPT syntax error: 501"
is "${r[13]}" "501 5.5.4 Syntax: RCPT TO:<address>" "RCPT TO:<>: 501"
is "${r[14]}" "500 5.5.2 Error: command not recognized" "unknown command: 500"
is "${r[15]}" "550 5.1.1 <nosuchuser@host.example.com>: Recipient address rejected: User unknown in local recipient table" "unknown local user: 550 5.1.1"
is "${r[16]}" "503 5.5.1 Error: nested MAIL command" "still in the transaction"
is "${r[17]}" "501 5.5.4 Error: Bad NOTIFY parameter syntax" "bad NOTIFY: 501"
is "${r[18]}" "252 2.0.0 alice" "VRFY: 252"
is "${r[19]}" "221 2.0.0 Bye" "QUIT: 221"

# --- bad input ---
long=$($PY -c "print('NOOP ' + 'x' * 102400)")
out=$(printf 'EHLO x\n%s\n!raw b"NO\\x00OP\\r\\n"\n!raw b"\\xff\\xfe\\x00\\x01junk\\r\\n"\nNOOP\nQUIT\n' "$long" | smtpc 25)
mapfile -t r <<<"$out"
is "${r[2]}" "500 5.5.0 Line too long" "100 KB command line: 500 5.5.0"
is "${r[3]}" "500 5.5.2 Error: bad syntax (NUL character)" "NUL bytes: 500"
like "${r[4]}" '^500 ' "binary junk: 500"
is "${r[5]}" "250 2.0.0 Ok" "the session goes on after bad input"

before=$(queue_count incoming)$(queue_count active)
out=$(printf 'EHLO x\nMAIL FROM:<a@example.org>\nRCPT TO:<alice@host.example.com>\nDATA\n!send b"Subject: cut\\r\\n\\r\\nno end"\n!close\n' | smtpc 25)
like "$out" '354 End data' "DATA started"
sleep 0.3
wait_for 5 grep -q 'lost connection after DATA' "$MAILLOG"
ok $? "unterminated DATA then disconnect: logged"
! grep -rq 'Subject: cut' "$QDIR/incoming" "$QDIR/active" "$T/spool" 2>/dev/null
ok $? "unterminated DATA: nothing queued"

out=$(printf 'EHLO x\n!bulk 10000 RCPT TO:<r@remote.example>\nQUIT\n' | sed "2i MAIL FROM:<a@example.org>" | smtpc 25)
like "$out" '250 2\.1\.5=1000 421 4\.7\.0=1 452 4\.5\.3=20$' "10,000 pipelined RCPTs: 1000 accepted, 452 4.5.3, then 421 too many errors"
like "$(cat "$MAILLOG")" 'too many errors after rcpt from localhost\[127\.0\.0\.1\]' "hard error limit logged"

# --- limits on the 127.0.0.1:2525 service (-o overrides) ---
big=$($PY -c "print('x' * 3000)")
out=$(printf 'EHLO x\nMAIL FROM:<a@example.org> SIZE=5000\nMAIL FROM:<a@example.org>\nRCPT TO:<alice@host.example.com>\nDATA\n!raw b"Subject: big\\r\\n\\r\\n%s\\r\\n.\\r\\n"\nQUIT\n' "$big" | smtpc 2525)
mapfile -t r <<<"$out"
is "${r[2]}" "552 5.3.4 Message size exceeds fixed limit" "SIZE= over message_size_limit: 552 5.3.4"
is "${r[6]}" "552 5.3.4 Message size exceeds fixed limit" "message over message_size_limit: 552 5.3.4"
out=$(printf 'EHLO x\nMAIL FROM:<a@example.org>\nRCPT TO:<alice@host.example.com>\nRCPT TO:<bob@host.example.com>\nRCPT TO:<postmaster@host.example.com>\nRCPT TO:<root@host.example.com>\nQUIT\n' | smtpc 2525)
mapfile -t r <<<"$out"
is "${r[5]}" "250 2.1.5 Ok" "third recipient accepted"
is "${r[6]}" "452 4.5.3 Error: too many recipients" "smtpd_recipient_limit: 452 4.5.3"
out=$(printf 'EHLO x\nFOO\nFOO\nFOO\nFOO\nFOO\n!wait\nNOOP\n' | smtpc 2525)
mapfile -t r <<<"$out"
is "${r[7]}" "421 4.7.0 host.example.com Error: too many errors" "hard error limit: 421 and close"
is "${r[8]}" "EOF" "connection closed after 421"

# --- process limit: maxproc 2 on [::1]:2527 ---
# Two clients hold both slots (each has its greeting, so an smtpd has it);
# the third must get the master's 421 while they still do, not wait for a
# slot: its read is bounded well below the time the two stay.
out=$(timeout 60 $PY - <<'PY' 2>&1
import socket
held = []
for i in range(2):
    c = socket.create_connection(('::1', 2527), timeout=20)
    held.append((c, c.makefile('rb').readline().decode().strip()))
print(' | '.join(g for _, g in held))
third = socket.create_connection(('::1', 2527), timeout=20)
third.settimeout(5)
try:
    print(third.makefile('rb').readline().decode().strip())
except socket.timeout:
    print('no answer within 5 s')
PY
)
like "$out" '^220 host\.example\.com ESMTP Petrel \| 220 host\.example\.com ESMTP Petrel' "two clients take both slots"
like "$out" $'\n421 4\\.7\\.0 host\\.example\\.com Error: too many connections' \
	"every slot taken: the next client gets 421 4.7.0 at once, while the two stay connected"

# --- 500 idle connections on the smtp port (default_process_limit = 100) ---
# The 500th client's 421 shows the master has taken all of them; only then
# is the next one timed.
MPID=$(cat "$QDIR/pid/master.pid" 2>/dev/null | tr -dc 0-9)
out=$(timeout 120 $PY - <<'PY' 2>&1
import socket, time
idle = []
for i in range(500):
    c = socket.create_connection(('127.0.0.1', 25), timeout=60)
    idle.append(c)
last = idle[-1].makefile('rb').readline().decode().strip()
t0 = time.time()
c = socket.create_connection(('127.0.0.1', 25), timeout=5)
line = c.makefile('rb').readline().decode().strip()
print('LAST %s' % last)
print('NEW %s %.2f' % (line, time.time() - t0))
for c in idle: c.close()
PY
)
like "$out" '^LAST 421 4\.7\.0 ' "the 500th idle connection is refused"
like "$out" '^NEW 421 4\.7\.0 host\.example\.com Error: too many connections [0-9.]+$' "500 idle connections: a new client gets 421 4.7.0"
like "$out" ' 0\.[0-9]+$' "within a second"
like "$(cat "$MAILLOG")" 'service smtp: all 100 processes busy' "process limit logged"
# no_sessions: no smtpd serves a client any more (the processes stay,
# idle, for max_idle: no connection of port 25 is open on the server side).
no_sessions() { [ -z "$(ss -Htn state established state close-wait '( sport = :25 )')" ]; }
wait_for 60 no_sessions || diag "smtpd sessions still running after 60 s"
ok $? "every session of the closed clients ended"

# --- smtpd_client_connection_count_limit = 3 for a client outside mynetworks ---
out=$(timeout 20 $PY - <<'PY' 2>&1
import socket, time
idle = []
for i in range(3):
    c = socket.socket(); c.settimeout(10); c.bind(('127.0.0.2', 0)); c.connect(('127.0.0.1', 25))
    c.makefile('rb').readline()
    idle.append(c)
c = socket.socket(); c.settimeout(10); c.bind(('127.0.0.2', 0)); c.connect(('127.0.0.1', 25))
print(c.makefile('rb').readline().decode().strip())
c2 = socket.create_connection(('127.0.0.1', 25), timeout=10)
print(c2.makefile('rb').readline().decode().strip())
PY
)
mapfile -t r <<<"$out"
is "${r[0]}" "421 4.7.0 host.example.com Error: too many connections from this client" "4th connection from one client: 421 4.7.0"
like "${r[1]}" '^220 ' "another client is still served"
wait_for 60 no_sessions || diag "smtpd sessions still running after 60 s"

# --- DSN data kept in the queue (a remote recipient waits in deferred/) ---
out=$(printf 'EHLO x\nMAIL FROM:<a@example.org> RET=HDRS ENVID=QQ+2Bid42\nRCPT TO:<far@remote.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;far@remote.example\nDATA\n!raw b"Subject: dsn\\r\\n\\r\\nx\\r\\n.\\r\\n"\nQUIT\n' | smtpc 25)
qid=$(echo "$out" | sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p')
like "$qid" '^[0-9A-F]{14}$' "DSN message queued"
dsnfile() { f=$(grep -l "QQ+id42" "$QDIR"/deferred/* "$QDIR"/incoming/* "$QDIR"/active/* 2>/dev/null | head -1); [ -n "$f" ]; }
wait_for 10 dsnfile
ok $? "ENVID kept (decoded) in the queue file"
grep -q 'rfc822;far@remote.example' "$f" 2>/dev/null
ok $? "ORCPT kept in the queue file"

# --- smtpd_timeout (1s on 127.0.0.1:2529) ---
out=$(printf '!wait\n' | smtpc 2529)
mapfile -t r <<<"$out"
is "${r[1]}" "421 4.4.2 host.example.com Error: timeout exceeded" "smtpd_timeout: 421 4.4.2"
like "$(cat "$MAILLOG")" 'timeout after CONNECT from localhost\[127\.0\.0\.1\]' "timeout logged"

# --- sendmail -bs: the same SMTP on stdin/stdout, as the invoking user ---
out=$(printf 'EHLO x\r\nMAIL FROM:<alice@host.example.com>\r\nRCPT TO:<bob@host.example.com>\r\nDATA\r\nSubject: via bs\r\n\r\nhello\r\n.\r\nQUIT\r\n' \
	| run_as alice timeout 20 "$SENDMAIL" -bs 2>&1)
like "$(echo "$out" | head -1)" '^220 host\.example\.com ESMTP Petrel' "-bs: banner on stdout"
like "$out" '250 2\.0\.0 Ok: queued as [0-9A-F]{14}' "-bs: queued"
wait_for 10 mailbox_has bob "Subject: via bs"
ok $? "-bs: delivered"
grep -q '^Received: .*from userid 2001' "$T/spool/bob" || grep -A1 '^Received:' "$T/spool/bob" | grep -q 'userid 2001'
ok $? "-bs: a local submission by alice (cleanup's Received:)"

# --- a queue that cannot be written: 452 4.3.1, nothing half-queued ---
mode=$(stat -c %a "$QDIR/incoming")
chmod 0500 "$QDIR/incoming"
out=$(printf 'EHLO x\nMAIL FROM:<a@example.org>\nRCPT TO:<alice@host.example.com>\nDATA\n!raw b"Subject: unwritable\\r\\n\\r\\nx\\r\\n.\\r\\n"\nQUIT\n' | smtpc 25)
chmod "$mode" "$QDIR/incoming"
mapfile -t r <<<"$out"
is "${r[5]}" "452 4.3.1 Insufficient system storage" "unwritable queue: 452 4.3.1"
like "$(cat "$MAILLOG")" 'NOQUEUE: cannot queue mail from localhost\[127\.0\.0\.1\]' "queue failure logged"

# --- a line that never ends is cut off ---
out=$(timeout 20 $PY - <<'PY' 2>&1
import socket
c = socket.create_connection(('127.0.0.1', 25), timeout=10)
f = c.makefile('rb')
f.readline()
try:
    for i in range(400):
        c.sendall(b'x' * 8192)
except OSError:
    pass
print(' | '.join(l.decode().strip() for l in f.readlines()))
PY
)
like "$out" '^500 5\.5\.0 Line too long \| 421 4\.7\.0 host\.example\.com Error: closing the connection' "an endless line: 500 then 421 and close"

# --- durability and health afterwards ---
ls "$QDIR"/incoming/.*.tmp >/dev/null 2>&1
ok $(( $? == 0 ? 1 : 0 )) "no half-written queue files left"
out=$(timeout 20 swaks --server 127.0.0.1 --from bob@example.org --to bob@host.example.com --header "Subject: after all" 2>&1)
like "$out" '250 2\.0\.0 Ok: queued as' "the next good session works"
wait_for 10 mailbox_has bob "Subject: after all"
ok $? "and is delivered"

# --- shutdown: an open session is told 421 ---
(printf 'EHLO x\n!wait\n' | smtpc 25 >"$T/shut.out") &
# The session is open once the EHLO is answered (banner and EHLO lines out).
ehlo_answered() { [ "$(wc -l <"$T/shut.out")" -ge 2 ]; }
wait_for 20 ehlo_answered || diag "the session did not get its EHLO answer"
is "$(ps -o user= -p "$(pgrep -x smtpd -P "$MPID" | head -n 1)" | tr -d ' ')" petrel \
	"an smtpd session runs as mail_owner"
timeout 20 "$PETREL" stop >/dev/null 2>&1
wait
mapfile -t r <"$T/shut.out"
is "${r[2]}" "421 4.3.2 host.example.com Service shutting down" "petrel stop: an open session gets 421"

done_testing
