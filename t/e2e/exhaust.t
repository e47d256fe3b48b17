#!/bin/bash
# exhaust.t - Petrel under exhaustion (issue 7, item 6): it stays up,
# answers 4xx where it must, and recovers by itself once the pressure ends.
#   (a) 1,000 concurrent idle SMTP connections (default_process_limit =
#       100): the master stays up, answers the others 421 4.7.0 at once and
#       logs why; once the idle clients are gone a new client is served.
#   (b) the queue's file system full (the whole queue_directory on a 2 MB
#       tmpfs in this test's mount namespace, as the queue is one file
#       system): SMTP gets 452 4.3.1 after the dot, nothing partial stays,
#       the next message after space is freed gets 250; sendmail exits 75,
#       then works again; queue_minfree, 1.5 * message_size_limit and
#       SIZE= against the free space refuse MAIL with 452 4.3.1.
#   (c) a backlog of PETREL_EXHAUST_MESSAGES (default 20000; 5000 in a
#       sanitizer build, which delivers about 80 a second) queue files
#       written straight into incoming/ (t/lib/qfill.py): every one is
#       delivered into a Maildir exactly once, mailq answers during the
#       backlog, and a message sent through SMTP meanwhile is delivered.
# Timings are printed as diagnostics.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

# 20,000 messages take about a minute to deliver in a normal build; a
# sanitizer build delivers about 80 a second, so it gets 5,000 by default.
if grep -q '^#define PETREL_SANITIZERS 1' "$PETREL_BUILDDIR/config.h" 2>/dev/null; then
	NMSG=${PETREL_EXHAUST_MESSAGES:-5000}
else
	NMSG=${PETREL_EXHAUST_MESSAGES:-20000}
fi
IDLE=1000
PROCS=100
QFILL=$PETREL_SRCDIR/t/lib/qfill.py

instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.1/32" \
	"home_mailbox = Maildir/" "local_destination_concurrency_limit = 4" \
	"default_process_limit = $PROCS" "message_size_limit = 0"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
127.0.0.1:2525 inet n   -       n       -       -       smtpd -o queue_minfree=2100000
127.0.0.1:2526 inet n   -       n       -       -       smtpd -o message_size_limit=1500000
CF
: >"$T/aliases"
# The tmpfs mounts below go before the temp dir is removed.
trap '"$PETREL" stop >/dev/null 2>&1; umount "$QDIR" "$T/home/bob" 2>/dev/null; instance_teardown' EXIT
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
MPID=$(tr -dc 0-9 <"$QDIR/pid/master.pid")
master_up() { kill -0 "$MPID" 2>/dev/null; }
# No smtpd serves a client any more (the processes stay, idle, for
# max_idle): no connection of port 25 is open on the server side.
no_sessions() { [ -z "$(ss -Htn state established state close-wait '( sport = :25 )')" ]; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A one-shot SMTP client: smtp_send PORT FROM RCPT BYTES [MAILARGS] prints
# the replies to MAIL and to the dot (or to MAIL only when it fails).
cat >"$T/send.py" <<'PY'
import socket, sys
port, frm, rcpt, size = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
margs = sys.argv[5] if len(sys.argv) > 5 else ''
c = socket.create_connection(('127.0.0.1', port), timeout=30)
f = c.makefile('rb')
def reply():
    while True:
        l = f.readline().decode('utf-8', 'replace').rstrip('\r\n')
        if len(l) < 4 or l[3] != '-': return l
reply()
c.sendall(b'EHLO client.example.org\r\n'); reply()
c.sendall(('MAIL FROM:<%s>%s\r\n' % (frm, margs)).encode()); r = reply()
out = [r]
if r.startswith('250'):
    c.sendall(('RCPT TO:<%s>\r\n' % rcpt).encode()); reply()
    c.sendall(b'DATA\r\n'); reply()
    body = b'Subject: size %d\r\n\r\n' % size
    line = b'x' * 78 + b'\r\n'
    while len(body) < size: body += line
    c.sendall(body + b'.\r\n'); out.append(reply())
c.sendall(b'QUIT\r\n'); reply()
print(' | '.join(out))
PY
smtp_send() { timeout 60 $PY "$T/send.py" "$@" 2>&1; }

# ---------------------------------------------------------------- (a)
# 1,000 idle clients: every one connects and reads its first line, then
# all stay connected while a new client is timed.
ulimit -n 4096
t0=$(ms)
out=$(timeout 120 $PY - "$IDLE" <<'PY' 2>&1
import resource, socket, sys, time
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
idle, first = [], {}
for i in range(n):
    c = socket.create_connection(('127.0.0.1', 25), timeout=30)
    idle.append(c)
for c in idle:
    l = c.makefile('rb').readline().decode().strip()
    k = l[:9] if l else 'EOF'
    first[k] = first.get(k, 0) + 1
print('FIRST ' + ' '.join('%s=%d' % (k.strip(), v) for k, v in sorted(first.items())))
t0 = time.time()
c = socket.create_connection(('127.0.0.1', 25), timeout=5)
line = c.makefile('rb').readline().decode().strip()
print('NEW %s %.3f' % (line, time.time() - t0))
sys.stdout.flush()
for c in idle: c.close()
PY
)
t1=$(ms)
diag "1000 idle connections opened and read in $(( t1 - t0 )) ms"
is "$(echo "$out" | sed -n 's/^FIRST //p')" "220 host.=$PROCS 421 4.7.0=$((IDLE - PROCS))" \
	"$IDLE idle clients: $PROCS sessions greeted, the other $((IDLE - PROCS)) answered 421 4.7.0"
like "$out" "NEW 421 4\.7\.0 host\.example\.com Error: too many connections 0\.[0-9]+" \
	"a new client meanwhile: 421 4.7.0 within a second"
master_up
ok $? "the master is still running"
is "$(grep -c "warning: service smtp: all $PROCS processes busy (default_process_limit or master.cf maxproc): new clients are answered 421 4\.7\.0$" "$MAILLOG")" 1 \
	"the log says why, once (not once per refused client)"
is "$(grep -c '\]: answered 421' "$MAILLOG")" 0 "no log line per refused client"
t0=$(ms)
wait_for 60 no_sessions
ok $? "every session of the idle clients ended once they went away"
diag "sessions gone $(( $(ms) - t0 )) ms after the clients closed"
out=$(smtp_send 25 a@example.org alice@host.example.com 500)
like "$out" '^250 2\.1\.0 Ok \| 250 2\.0\.0 Ok: queued as [0-9A-F]{14}$' "afterwards a new client is served normally"
maildir_count() { find "$T/home/$1/Maildir/new" -type f 2>/dev/null | wc -l; }
has_mail() { [ "$(maildir_count "$1")" -ge "$2" ]; }
wait_for 30 has_mail alice 1
ok $? "and its message is delivered"

diag "part (a) done after ${SECONDS} s"

# ---------------------------------------------------------------- (b)
# The whole queue on a 2 MB tmpfs. incoming/, active/ ... share one file
# system (renames), so a full disk means the whole queue_directory.
"$PETREL" stop >/dev/null 2>&1
mount -t tmpfs -o size=2m,mode=0755 tmpfs "$QDIR"
ok $? "queue_directory on a 2 MB tmpfs"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start on the small file system"
MPID=$(tr -dc 0-9 <"$QDIR/pid/master.pid")
temp_files() { find "$QDIR" -name '.*' -type f | wc -l; }
fill() {	# fill BYTES_LEFT: a filler file leaves about that much free
	local avail
	rm -f "$QDIR/filler"
	avail=$(df -B1 --output=avail "$QDIR" | tail -1 | tr -dc 0-9)
	head -c $((avail - $1)) /dev/zero >"$QDIR/filler" 2>/dev/null
}
fill 300000
before=$(queued_total)
out=$(timeout 60 $PY - "$QDIR/filler" <<'PY' 2>&1
import os, socket, sys
c = socket.create_connection(('127.0.0.1', 25), timeout=30)
f = c.makefile('rb')
def reply():
    while True:
        l = f.readline().decode().rstrip('\r\n')
        if len(l) < 4 or l[3] != '-': return l
def message(subject):
    c.sendall(b'MAIL FROM:<a@example.org>\r\n'); reply()
    c.sendall(b'RCPT TO:<alice@host.example.com>\r\n'); reply()
    c.sendall(b'DATA\r\n'); reply()
    c.sendall(b'Subject: ' + subject + b'\r\n\r\n' + (b'y' * 78 + b'\r\n') * 8000 + b'.\r\n')
    return reply()
reply()
c.sendall(b'EHLO client.example.org\r\n'); reply()
print(message(b'does not fit'))
os.unlink(sys.argv[1])
print(message(b'fits now'))
c.sendall(b'QUIT\r\n'); reply()
PY
)
mapfile -t r <<<"$out"
is "${r[0]}" "452 4.3.1 Insufficient system storage" "SMTP: a 640 KB message on a full queue: 452 4.3.1"
like "${r[1]:-}" '^250 2\.0\.0 Ok: queued as [0-9A-F]{14}$' "the next message in the session, space freed: 250"
is "$(grep -c 'cannot queue mail from localhost\[127\.0\.0\.1\]: .*No space left on device' "$MAILLOG")" 1 \
	"the log names the full disk"
is "$(temp_files)" 0 "no temp file left behind"
master_up
ok $? "the daemon stayed up"
wait_for 30 has_mail alice 2
ok $? "the message sent after the space was freed is delivered"

fill 300000
printf 'Subject: sendmail big\n\n' >"$T/big"
head -c 640000 /dev/zero | tr '\0' 'z' | fold -w 78 >>"$T/big"
err=$("$SENDMAIL" -i alice@host.example.com <"$T/big" 2>&1 >/dev/null)
is "$?" 75 "sendmail on a full queue (daemon up): exit 75"
diag "sendmail said: $err"
is "$(temp_files)" 0 "no temp file left behind"
rm -f "$QDIR/filler"
"$SENDMAIL" -i alice@host.example.com <"$T/big"
is "$?" 0 "sendmail once space is freed: exit 0"
wait_for 30 has_mail alice 3
ok $? "and it is delivered"

# queue_minfree = 2100000 on 2525: more than a 2 MB file system has free.
out=$(smtp_send 2525 a@example.org alice@host.example.com 100)
is "$out" "452 4.3.1 Insufficient system storage" "queue_minfree above the free space: MAIL gets 452 4.3.1"
logged() { grep -Ec -- "$1" "$MAILLOG"; }
is "$(logged 'warning: not enough free space in mail queue .*: [0-9]+ bytes <= queue_minfree 2100000$')" 1 \
	"queue_minfree: the warning says why"
# message_size_limit = 1500000 on 2526: 1.5 times it is more than 2 MB.
out=$(smtp_send 2526 a@example.org alice@host.example.com 100)
is "$out" "452 4.3.1 Insufficient system storage" "free space below 1.5 * message_size_limit: MAIL gets 452 4.3.1"
is "$(logged 'bytes <= 1\.5 \* message_size_limit 1500000$')" 1 "message_size_limit: the warning says why"
# SIZE= against the free space (message_size_limit = 0 on port 25).
out=$(smtp_send 25 a@example.org alice@host.example.com 100 " SIZE=1500000")
is "$out" "452 4.3.1 Insufficient system storage" "SIZE=1500000 on a 2 MB queue: MAIL gets 452 4.3.1"
out=$(smtp_send 25 a@example.org alice@host.example.com 100 " SIZE=1000")
like "$out" '^250 2\.1\.0 Ok \| 250 2\.0\.0 Ok' "SIZE=1000: accepted and queued"
wait_for 30 has_mail alice 4
queue_empty() { [ "$(queued_total)" = 0 ]; }
wait_for 30 queue_empty
"$PETREL" stop >/dev/null 2>&1
umount "$QDIR"
ok $? "the small file system is gone again"

diag "part (b) done after ${SECONDS} s"

# ---------------------------------------------------------------- (c)
rm -rf "$T/home/bob/Maildir" "$T/home/alice/Maildir"
# bob's Maildir on a tmpfs: what is measured is the queue (on disk), not
# how fast this disk creates and later removes 20,000 mailbox files.
mount -t tmpfs -o size=512m,mode=0755 tmpfs "$T/home/bob" && chown 2002:2002 "$T/home/bob"
ok $? "bob's home on a tmpfs"
"$PETREL" start >/dev/null 2>"$T/start.err"
"$PETREL" stop >/dev/null 2>&1
t0=$(ms)
written=$($PY "$QFILL" "$QDIR" incoming "$NMSG" sender@example.org bob@host.example.com)
t1=$(ms)
is "$written" "$NMSG" "$NMSG queue files written into incoming/"
diag "queued $NMSG in $(( t1 - t0 )) ms"
is "$(queue_count incoming)" "$NMSG" "all of them in incoming/"
t0=$(ms)
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start with the backlog"
MPID=$(tr -dc 0-9 <"$QDIR/pid/master.pid")
wait_for 60 has_mail bob 1
ok $? "delivery began"
# mailq during the backlog: answers, with the total.
tq=$(ms)
total=$(timeout 60 "$SENDMAIL" -bp 2>&1 | tail -1)
diag "mailq took $(( $(ms) - tq )) ms: $total"
like "$total" '^[[:space:]]*Total requests: [0-9]+$' "mailq answers during the backlog"
# A new message through SMTP during the backlog.
out=$(smtp_send 25 a@example.org alice@host.example.com 500)
like "$out" '^250 2\.1\.0 Ok \| 250 2\.0\.0 Ok: queued as' "a new message during the backlog is accepted"
tn=$(ms)
LIMIT=$(( NMSG / 20 + 120 ))	# 20 messages a second at least, plus two minutes
wait_for "$LIMIT" has_mail alice 1
ok $? "and delivered"
diag "the new message took $(( $(ms) - tn )) ms, with $(maildir_count bob) of $NMSG delivered"
# Counting 20,000 files every 50 ms would take CPU from the delivery:
# this waits with one directory read every 250 ms, then checks X-Seq.
out=$(timeout $((LIMIT + 30)) $PY - "$T/home/bob/Maildir/new" "$NMSG" "$LIMIT" <<'PY' 2>&1
import os, re, sys, time
d, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + limit
while time.monotonic() < end and len(os.listdir(d)) < n:
    time.sleep(0.25)
seen = {}
for name in os.listdir(d):
    with open(os.path.join(d, name), 'rb') as f:
        m = re.search(rb'^X-Seq: ([0-9]+)$', f.read(), re.M)
    k = int(m.group(1)) if m else 0
    seen[k] = seen.get(k, 0) + 1
print('FILES %d' % sum(seen.values()))
print('DISTINCT %d' % len([k for k in seen if 1 <= k <= n]))
print('DUPLICATES %d' % sum(v - 1 for v in seen.values() if v > 1))
print('MISSING %d' % len([k for k in range(1, n + 1) if k not in seen]))
PY
)
t1=$(ms)
diag "delivered $NMSG in $(( t1 - t0 )) ms ($(( NMSG * 1000 / (t1 - t0 + 1) )) msg/s)"
like "$out" "FILES $NMSG" "all $NMSG delivered within $LIMIT s"
like "$out" "DISTINCT $NMSG" "every message arrived"
like "$out" "DUPLICATES 0" "none twice"
like "$out" "MISSING 0" "none missing"
wait_for 30 queue_empty
ok $? "the queue is empty again"
master_up
ok $? "the master is still running"

tq=$(ms)
"$PETREL" stop >/dev/null 2>&1
diag "petrel stop took $(( $(ms) - tq )) ms"
umount "$T/home/bob"
diag "part (c) done after ${SECONDS} s"
done_testing
