#!/bin/bash
# syslog.t - logging to syslog (no maillog_file), as a machine's rsyslog
# or journald receives it: the test's own /dev/log (a Python datagram
# socket, the way syslog daemons listen, in a private /dev bound over the
# real one inside the test's mount namespace) records what the daemon and
# sendmail send. Checked: facility mail by default with the ident
# "petrel/SERVICE[pid]", syslog_facility = local3 and syslog_name = mta
# change priority and ident as Postfix's do, an unusable facility is a
# warning and the rest still logs. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup
sed -i '/^maillog_file/d' "$CONF/main.cf"
: >"$T/aliases"

# A private /dev: the devices the programs use, and our /dev/log.
mkdir -p "$T/dev"
for d in null zero random urandom full tty; do
	[ -e "/dev/$d" ] || continue
	touch "$T/dev/$d"
	mount --bind "/dev/$d" "$T/dev/$d"
done
[ -d /dev/pts ] && mkdir -p "$T/dev/pts" && mount --bind /dev/pts "$T/dev/pts"
[ -d /dev/shm ] && mkdir -p "$T/dev/shm" && mount --bind /dev/shm "$T/dev/shm"
ln -s /proc/self/fd "$T/dev/fd"
$PY - "$T/dev/log" "$T/syslog.txt" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], 'ab', buffering=0) as out:
    while True:
        out.write(s.recv(65536).rstrip(b'\n') + b'\n')
PY
SYSLOGPID=$!
trap 'kill $SYSLOGPID 2>/dev/null; umount /dev 2>/dev/null; instance_teardown' EXIT
wait_for 10 test -S "$T/dev/log"
ok $? "a syslog socket listens"
mount --bind "$T/dev" /dev
ok $? "... as /dev/log in the test's mount namespace"

log_has() { grep -Eq -- "$1" "$T/syslog.txt" 2>/dev/null; }

# <PRI> = facility * 8 + severity: mail (2) info (6) = 22, local3 (19) info = 158.
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"
wait_for 10 log_has '^<22>.*petrel/master\[[0-9]+\]: daemon started'
ok $? "facility mail, ident petrel/master[pid] (the default)"
"$PETREL" stop >/dev/null 2>&1

printf 'syslog_facility = local3\nsyslog_name = mta\n' >>"$CONF/main.cf"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start with syslog_facility = local3, syslog_name = mta"
wait_for 10 log_has '^<158>.*mta/master\[[0-9]+\]: daemon started'
ok $? "facility local3, ident mta/master[pid]"
echo "Subject: via syslog" | "$SENDMAIL" root
wait_for 10 log_has '^<158>.*mta/local\[[0-9]+\]: [0-9A-F]{14}: to=<root@host\.example\.com>.*status=sent'
ok $? "the delivery agents log the same way"
"$PETREL" stop >/dev/null 2>&1

sed -i 's/^syslog_facility = local3/syslog_facility = nonsense/' "$CONF/main.cf"
"$PETREL" start >"$T/start.out" 2>&1
ok $? "petrel start with syslog_facility = nonsense"
like "$(cat "$T/start.out")" 'warning: syslog_name "mta" or syslog_facility "nonsense" is unusable: it is ignored' \
	"a warning names the values"
wait_for 10 log_has '^<22>.*mta/master\[[0-9]+\]: daemon started'
ok $? "the facility stays mail, the name is used"

done_testing
