#!/bin/bash
# t/e2e/control.t - the petrel control command (spec/config.md §3) and the
# sendmail flags that start or run the mail system (-bd, -q, -q30m):
# start/status/stop/abort/reload/start-fg/check/flush, the flush matrix of
# DESIGN.md, the users the processes run as, and an unprivileged instance.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup_hold
export LC_ALL=C

# An unprivileged instance of alice's (started below).
ACONF=$T/alice-etc
AQDIR=$T/alice-queue
control_cleanup() {
	if [ -d "$ACONF" ]; then
		run_as alice env PETREL_CONFIG_DIR="$ACONF" "$PETREL" stop >/dev/null 2>&1
	fi
	[ -n "${FG_PID:-}" ] && kill "$FG_PID" 2>/dev/null
	instance_teardown
}
trap control_cleanup EXIT

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
	return 0
}
# none_alive PID...: none of them runs.
none_alive() {
	local p
	for p in "$@"; do alive "$p" && return 1; done
	return 0
}
# status_pid: the master's pid as petrel status reports it ("" when stopped).
status_pid() {
	"$PETREL" status 2>&1 | sed -n 's/.*running: PID: *\([0-9][0-9]*\).*/\1/p'
}
# children PID: the direct children of PID.
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }
is_stopped() { ! "$PETREL" status >/dev/null 2>&1; }
is_running() { "$PETREL" status >/dev/null 2>&1; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }

# ---- status, start ----
"$PETREL" status >"$T/out" 2>"$T/err"
is "$?" 1 "status when stopped: exit 1"
like "$(cat "$T/err")" "the Petrel mail system is not running" "status when stopped: says not running"

"$PETREL" start >"$T/out" 2>"$T/err"
is "$?" 0 "start: exit 0"
# No waiting: start returns only once the listeners are open.
ok "$([ -S "$QDIR/public/submit" ]; echo $?)" "start: $QDIR/public/submit is a socket when start returns"
ok "$([ -S "$QDIR/public/showq" ]; echo $?)" "start: $QDIR/public/showq is a socket when start returns"
n0=$(queue_count incoming)
printf 'Subject: right after start\n\nhi\n' | "$SENDMAIL" root
is "$?" 0 "a submission right after start: exit 0"
is "$(queue_count incoming)" "$((n0 + 1))" "... handed to the daemon (in incoming/ when sendmail returns)"
is "$(queue_count maildrop)" 0 "... not written to maildrop/"

"$PETREL" status >"$T/out" 2>"$T/err"
is "$?" 0 "status when running: exit 0"
like "$(cat "$T/err")" "the Petrel mail system is running: PID: [0-9]+" "status: \"running: PID: N\""
MPID=$(status_pid)
ok "$(alive "${MPID:-0}"; echo $?)" "status: PID $MPID is a live process"
is "$(tr -d ' \n' <"$QDIR/pid/master.pid" 2>/dev/null)" "$MPID" "pid/master.pid holds the same PID"

"$PETREL" start >"$T/out" 2>"$T/err"
is "$?" 1 "start when running: exit 1"
like "$(cat "$T/err")" "already running" "start when running: says already running"
is "$(status_pid)" "$MPID" "start when running: the first master still runs"

# ---- who runs as whom ----
ps -o user=,pid=,ppid=,args= -e >"$T/ps"
is "$(awk -v p="$MPID" '$2 == p { print $1 }' "$T/ps")" root "the master runs as root"
WORKERS=$(children "$MPID")
ok "$([ -n "$WORKERS" ]; echo $?)" "the master has worker processes ($(echo $WORKERS))"
is "$(awk -v p="$MPID" '$3 == p { print $1 }' "$T/ps" | sort -u)" petrel "every worker runs as user petrel"

# ---- reload ----
cp "$CONF/main.cf" "$T/main.cf.good"
echo "this line has no equals sign" >>"$CONF/main.cf"
badline=$(wc -l <"$CONF/main.cf")
"$PETREL" reload >"$T/out" 2>"$T/err"
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "reload with a broken main.cf: refused (exit $rc)"
like "$(cat "$T/err")" "main\.cf, line $badline: missing '=' after attribute name" \
	"reload with a broken main.cf: names the file, the line and the fault"
# The same file reaching the master directly (SIGHUP, as after a race).
KIDS_BEFORE=$(children "$MPID")
kill -HUP "$MPID"
wait_for 5 log_has "main\.cf, line $badline"
ok $? "SIGHUP with a broken main.cf: the log names the file and the line"
ok "$(alive "$MPID"; echo $?)" "broken reload: the master ($MPID) keeps running"
is "$(children "$MPID")" "$KIDS_BEFORE" "broken reload: its workers were not restarted"
# Every command reads main.cf, so mend it (no reload) and ask the daemon
# that kept the old configuration.
cp "$T/main.cf.good" "$CONF/main.cf"
is "$(status_pid)" "$MPID" "broken reload: status names the same master"
is "$("$PETREL" status >/dev/null 2>&1; echo $?)" 0 "broken reload: status exit 0"
n0=$(queue_count incoming)
printf 'Subject: after a broken reload\n\nhi\n' | "$SENDMAIL" root
is "$?" 0 "broken reload: a submission still works"
is "$(queue_count incoming)" "$((n0 + 1))" "broken reload: ... and reaches incoming/ through the daemon"
is "$(queue_count maildrop)" 0 "broken reload: ... not through maildrop/"

# A good reload takes effect.
cp "$T/main.cf.good" "$CONF/main.cf"
echo "mailq_output_format = postfix" >>"$CONF/main.cf"
"$PETREL" reload >"$T/out" 2>"$T/err"
is "$?" 0 "reload with a good main.cf: exit 0"
mailq_is_postfix() { "$SENDMAIL" -bp 2>/dev/null | head -n 1 | grep -q 'Queue ID'; }
wait_for 10 mailq_is_postfix
ok $? "reload: the daemon's mailq uses the new mailq_output_format"
is "$(status_pid)" "$MPID" "reload: same master"
cp "$T/main.cf.good" "$CONF/main.cf"
"$PETREL" reload >/dev/null 2>&1

# ---- flush, sendmail -q with the daemon up ----
"$PETREL" flush >"$T/out" 2>"$T/err"
is "$?" 0 "flush, daemon up: exit 0"
"$SENDMAIL" -q >"$T/out" 2>"$T/err"
is "$?" 0 "sendmail -q as root, daemon up: exit 0"
run_as alice "$SENDMAIL" -q >"$T/out" 2>"$T/err"
is "$?" 0 "sendmail -q as alice, daemon up: exit 0"

# ---- stop ----
WORKERS=$(children "$MPID")
"$PETREL" stop >"$T/out" 2>"$T/err"
is "$?" 0 "stop: exit 0"
"$PETREL" status >"$T/out" 2>"$T/err"
is "$?" 1 "after stop: status exit 1"
ok "$(none_alive "$MPID" $WORKERS; echo $?)" "after stop: neither the master ($MPID) nor its workers ($(echo $WORKERS)) run"
ok "$([ ! -S "$QDIR/public/submit" ] || ! "$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$QDIR/public/submit" 2>/dev/null; echo $?)" \
	"after stop: nobody answers on public/submit"

"$PETREL" stop >"$T/out" 2>"$T/err"
is "$?" 1 "stop when stopped: exit 1"
like "$(cat "$T/err")" "not running" "stop when stopped: says not running"

"$PETREL" abort >"$T/out" 2>"$T/err"
is "$?" 1 "abort when stopped: exit 1"

# ---- flush matrix with the daemon down ----
"$PETREL" flush >"$T/out" 2>"$T/err"
is "$?" 69 "flush, daemon down: exit 69"
like "$(cat "$T/err")" "mail system is down" "flush, daemon down: says the mail system is down"

printf 'Subject: waits in maildrop\n\nhi\n' | "$SENDMAIL" root
is "$?" 0 "submission with the daemon down: exit 0"
is "$(queue_count maildrop)" 1 "... waits in maildrop/"
MD=$(queue_files maildrop)

"$SENDMAIL" -q30m >"$T/out" 2>"$T/err"
is "$?" 0 "sendmail -q30m alone: exit 0"
is "$(queue_files maildrop)" "$MD" "sendmail -q30m alone: does nothing (maildrop file untouched)"
is "$("$PETREL" status >/dev/null 2>&1; echo $?)" 1 "sendmail -q30m alone: starts no daemon"

run_as alice "$SENDMAIL" -q >"$T/out" 2>"$T/err"
is "$?" 69 "sendmail -q as alice, daemon down: exit 69"
is "$(queue_files maildrop)" "$MD" "sendmail -q as alice, daemon down: maildrop untouched"

n0=$(queue_count incoming)
"$SENDMAIL" -q >"$T/out" 2>"$T/err"
is "$?" 0 "sendmail -q as root, daemon down: exit 0"
is "$(queue_count maildrop)" 0 "sendmail -q as root, daemon down: maildrop/ emptied in the foreground"
is "$(queue_count incoming)" 0 "sendmail -q as root, daemon down: nothing is left in incoming/ (had $n0)"
like "$(cat "$T/spool/root" 2>/dev/null)" "Subject: waits in maildrop" \
	"sendmail -q as root, daemon down: delivered in the foreground to the mailbox"
is "$("$PETREL" status >/dev/null 2>&1; echo $?)" 1 "sendmail -q as root: leaves no daemon running"

# ---- abort ----
"$PETREL" start >/dev/null 2>&1
MPID=$(status_pid)
WORKERS=$(children "$MPID")
"$PETREL" abort >"$T/out" 2>"$T/err"
is "$?" 0 "abort: exit 0"
wait_for 10 is_stopped
ok $? "abort: the mail system goes down"
wait_for 10 none_alive "$MPID" $WORKERS
ok $? "abort: no process of the instance is left"

# ---- start-fg ----
"$PETREL" start-fg >"$T/fg.out" 2>"$T/fg.err" &
FG_PID=$!
wait_for 10 is_running
ok $? "start-fg in the background: the mail system comes up"
is "$(status_pid)" "$FG_PID" "start-fg: the master is the start-fg process itself"
ok "$([ -S "$QDIR/public/submit" ]; echo $?)" "start-fg: the submit socket exists"
FG_WORKERS=$(children "$FG_PID")
"$PETREL" stop >"$T/out" 2>"$T/err"
is "$?" 0 "start-fg: petrel stop exit 0"
wait_for 10 none_alive "$FG_PID" $FG_WORKERS
ok $? "start-fg: the foreground master and its workers end"
wait "$FG_PID" 2>/dev/null
FG_PID=

# ---- sendmail -bd ----
"$SENDMAIL" -bd >"$T/out" 2>"$T/err"
is "$?" 0 "sendmail -bd: exit 0"
is "$("$PETREL" status >/dev/null 2>&1; echo $?)" 0 "sendmail -bd: the mail system runs"
ok "$([ -S "$QDIR/public/submit" ]; echo $?)" "sendmail -bd: the submit socket exists when it returns"
"$PETREL" stop >/dev/null 2>&1
is "$?" 0 "stop after sendmail -bd: exit 0"

# ---- check ----
"$PETREL" check >"$T/out" 2>"$T/err"
is "$?" 0 "check on a healthy instance: exit 0"
is "$(grep -ci 'fatal\|error' "$T/err")" 0 "check on a healthy instance: no error" || diag "$(cat "$T/err")"

chmod 0777 "$QDIR/incoming"
"$PETREL" check >"$T/out" 2>"$T/err"
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "check, incoming/ mode 0777: non-zero exit ($rc)"
like "$(cat "$T/err")" "$QDIR/incoming" "check, wrong mode: names the path"
like "$(cat "$T/err")" "chmod 0?700 $QDIR/incoming" "check, wrong mode: gives the chmod fix"
chmod 0700 "$QDIR/incoming"

chown root "$QDIR/incoming"
"$PETREL" check >"$T/out" 2>"$T/err"
rc=$?
ok "$([ "$rc" -ne 0 ]; echo $?)" "check, incoming/ owned by root: non-zero exit ($rc)"
like "$(cat "$T/err")" "$QDIR/incoming" "check, wrong owner: names the path"
like "$(cat "$T/err")" "chown petrel[^ ]* $QDIR/incoming" "check, wrong owner: gives the chown fix"
chown petrel "$QDIR/incoming"

"$PETREL" check >/dev/null 2>&1
is "$?" 0 "check after the fixes: exit 0"

rmdir "$QDIR/hold" "$QDIR/corrupt"
"$PETREL" check >"$T/out" 2>"$T/err"
is "$?" 0 "check with hold/ and corrupt/ missing: exit 0"
is "$(stat -c '%U %a' "$QDIR/hold" 2>&1)" "petrel 700" "check creates hold/ (petrel, 0700)"
is "$(stat -c '%U %a' "$QDIR/corrupt" 2>&1)" "petrel 700" "check creates corrupt/ (petrel, 0700)"

# ---- an unprivileged instance ----
mkdir -p "$ACONF" "$AQDIR"
chown 2001:2001 "$AQDIR"
chmod 0755 "$AQDIR"
touch "$T/alice-maillog"
chown 2001:2001 "$T/alice-maillog"
{
	echo "queue_directory = $AQDIR"
	echo "data_directory = $T/alice-data"
	echo "maillog_file = $T/alice-maillog"
	echo "myhostname = host.example.com"
	echo "mydomain = example.com"
	echo "command_directory = $PETREL_BUILDDIR/sendmail"
	echo "daemon_directory = $PETREL_BUILDDIR/sendmail"
	echo "mail_spool_directory = $T/spool"
	echo "master_service_disable = qmgr"
} >"$ACONF/main.cf"
cp "$CONF/master.cf" "$ACONF/master.cf"
A() { run_as alice env PETREL_CONFIG_DIR="$ACONF" "$@"; }

A "$PETREL" start >"$T/out" 2>"$T/err"
is "$?" 0 "unprivileged instance: petrel start as alice: exit 0" || diag "$(cat "$T/err")"
APID=$(A "$PETREL" status 2>&1 | sed -n 's/.*running: PID: *\([0-9][0-9]*\).*/\1/p')
ok "$(alive "${APID:-0}"; echo $?)" "unprivileged instance: status reports a live master ($APID)"
AKIDS=$(children "${APID:-0}")
ok "$([ -n "$AKIDS" ]; echo $?)" "unprivileged instance: it has workers"
is "$(ps -o user= -p "${APID:-0}" $(for k in $AKIDS; do echo "-p $k"; done) | sort -u | tr -d ' ')" alice \
	"unprivileged instance: the master and every worker run as alice"
printf 'Subject: unprivileged\n\nhi\n' | A "$SENDMAIL" bob@example.org
is "$?" 0 "unprivileged instance: a submission as alice: exit 0"
is "$(find "$AQDIR/incoming" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9A-F]{14}' -user alice | wc -l)" 1 \
	"unprivileged instance: the queue file in incoming/ belongs to alice"
A "$PETREL" stop >"$T/out" 2>"$T/err"
is "$?" 0 "unprivileged instance: petrel stop as alice: exit 0"
ok "$(none_alive "${APID:-0}" $AKIDS; echo $?)" "unprivileged instance: no process left"
A "$PETREL" status >/dev/null 2>&1
is "$?" 1 "unprivileged instance: status exit 1 after stop"
rm -rf "$ACONF"

done_testing
