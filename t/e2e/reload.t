#!/bin/bash
# reload.t - petrel reload re-reads master.cf as well as main.cf: a new
# listener opens, a removed one closes, a kept one takes its new -o
# overrides without being closed, an SMTP session under way finishes
# normally, and a broken master.cf leaves the listeners as they were.
# Runs as root in its own network namespace (t/harness).
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup_hold "smtpd_error_sleep_time = 0"
cat >"$CONF/master.cf" <<'CF'
127.0.0.1:2525 inet n   -       n       -       -       smtpd
127.0.0.1:2527 inet n   -       n       -       -       smtpd -o message_size_limit=1000
CF
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"

# banner PORT: the first line the server sends, or "refused".
banner() {
	timeout 10 $PY - "$1" <<'PY' 2>&1
import socket, sys
try:
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5)
except ConnectionRefusedError:
    print('refused'); sys.exit(0)
s.settimeout(5)
print(s.makefile('rb').readline().decode().rstrip())
s.sendall(b'QUIT\r\n')
PY
}
# size PORT: the SIZE the server announces in EHLO.
size() {
	timeout 10 $PY - "$1" <<'PY' 2>&1
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=5)
s.ehlo('client.example')
print(s.esmtp_features.get('size', 'none'))
s.quit()
PY
}

like "$(banner 2525)" '^220 host\.example\.com ESMTP Petrel$' "2525 answers"
is "$(banner 2526)" "refused" "2526 is not a service yet"
is "$(size 2527)" "1000" "2527 announces its -o message_size_limit"

# A session held open across the reload: EHLO now, the rest after "go".
cat >"$T/held.py" <<'PY'
import socket, sys, os, time
T = sys.argv[1]
s = socket.create_connection(('127.0.0.1', 2527), 5); s.settimeout(20)
f = s.makefile('rb')
def reply():
    while True:
        l = f.readline().decode().rstrip()
        if len(l) < 4 or l[3] != '-': return l
out = [reply()]
s.sendall(b'EHLO held.example\r\n'); out.append(reply())
open(T + '/held.ready', 'w').close()
for i in range(400):
    if os.path.exists(T + '/go'): break
    time.sleep(0.05)
for cmd in (b'MAIL FROM:<bob@example.org>', b'RCPT TO:<root@host.example.com>', b'DATA'):
    s.sendall(cmd + b'\r\n'); out.append(reply())
s.sendall(b'Subject: held\r\n\r\nacross a reload\r\n.\r\n'); out.append(reply())
s.sendall(b'QUIT\r\n'); out.append(reply())
print('\n'.join(out))
PY
timeout 40 $PY "$T/held.py" "$T" >"$T/held.out" 2>&1 &
held=$!
wait_for 10 test -f "$T/held.ready"
ok $? "a session is open on 2527"

cat >"$CONF/master.cf" <<'CF'
127.0.0.1:2526 inet n   -       n       -       -       smtpd
127.0.0.1:2527 inet n   -       n       -       -       smtpd -o message_size_limit=2000
CF
"$PETREL" reload >/dev/null 2>&1
ok $? "petrel reload"
answers_2526() { [ "$(banner 2526)" != refused ]; }
wait_for 10 answers_2526
ok $? "the new listener 2526 opens"
like "$(banner 2526)" '^220 host\.example\.com ESMTP Petrel$' "2526 answers as an SMTP server"
is "$(banner 2525)" "refused" "the removed listener 2525 is closed"
is "$(size 2527)" "2000" "the kept listener 2527 takes its new -o override"
touch "$T/go"
wait "$held"
mapfile -t r <"$T/held.out"
like "${r[5]}" '^250 2\.0\.0 Ok: queued as [0-9A-F]{14}$' "the session open across the reload finished normally"
is "${r[6]}" "221 2.0.0 Bye" "and said goodbye"
like "$(cat "$MAILLOG")" 'reload: service 127\.0\.0\.1:2526: listening' "the new listener is logged"
like "$(cat "$MAILLOG")" 'reload: service 127\.0\.0\.1:2525: closed' "the closed one too"

# A broken master.cf: the listeners stay.
printf '127.0.0.1:2528 inet n - n - - smtpd\nthis is not a master.cf line\n' >"$CONF/master.cf"
"$PETREL" reload >/dev/null 2>&1
broken_logged() { grep -q 'the listeners stay as they were' "$MAILLOG"; }
wait_for 10 broken_logged
ok $? "a broken master.cf is refused with a warning"
like "$(grep 'the listeners stay as they were' "$MAILLOG")" 'master\.cf, line 2' "the warning names the file and line"
like "$(banner 2526)" '^220 ' "2526 still answers"
is "$(banner 2528)" "refused" "nothing from the broken file was opened"
"$PETREL" status >/dev/null 2>&1
ok $? "the mail system is still running"

done_testing
