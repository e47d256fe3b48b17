#!/bin/bash
# exitcodes.t - sendmail's exit status for every failure class of
# spec/sendmail-cli.md §9 (DESIGN.md §1 "Exit codes", §2 "bad input gets a
# clear error and changes nothing"): the exact status, a stderr message
# that says why, a silent stdout, and nothing queued afterwards (no queue
# file, no temp file left in maildrop/ or incoming/). Daemon down first,
# then the cases where the daemon changes the path, with it up.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

SIZE_LIMIT=1000
instance_setup_hold "message_size_limit = $SIZE_LIMIT"
unset NAME
# instance_setup_hold: the daemon queues but does not deliver, so what was
# queued stays in incoming/. The recipient is remote all the same: were a
# queue manager to run, it would only defer it (no SMTP client yet).
RCPT=rcpt@example.org

PETREL_UID=$(id -u petrel)
PETREL_GID=$(id -g petrel)
DROP_GID=$(getent group petreldrop | cut -d: -f3)

# Inputs.
printf 'Subject: exit codes\n\nhello\n' >"$T/msg"
printf 'Subject: no recipient headers\n\nhello\n' >"$T/msg-nohdr"
{ printf 'Subject: too big\n\n'; head -c 5000 /dev/zero | tr '\0' 'x' | fold -w 70; echo; } >"$T/msg-big"
chmod 0644 "$T"/msg*

# sm INPUT ARGS...: runs sendmail (bounded) with stdin from INPUT; sets RC, OUT, ERR.
sm() {
	local in=$1; shift
	timeout 30 "$SENDMAIL" "$@" <"$in" >"$T/sm.out" 2>"$T/sm.err"
	RC=$?
	OUT=$(cat "$T/sm.out")
	ERR=$(cat "$T/sm.err")
}

# sm_as USER INPUT ARGS...: the same as a test user.
sm_as() {
	local u=$1 in=$2; shift 2
	timeout 30 setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups -- \
		"$SENDMAIL" "$@" <"$in" >"$T/sm.out" 2>"$T/sm.err"
	RC=$?
	OUT=$(cat "$T/sm.out")
	ERR=$(cat "$T/sm.err")
}

# contains GOT FIXED-STRING NAME
contains() {
	local got=$1 want=$2; shift 2
	if printf '%s' "$got" | grep -qF -- "$want"; then
		ok 0 "$*"
	else
		ok 1 "$*"
		printf '#   got:      %s\n#   expected to contain: %s\n' "$(printf %q "$got")" "$want"
	fi
}

# temp_files: files under construction left in maildrop/ or incoming/.
temp_files() {
	find "$QDIR/maildrop" "$QDIR/incoming" -mindepth 1 -maxdepth 1 -name '.*' 2>/dev/null | sort
}

# The messages in the queue, each counted once even while the queue
# manager moves it from one directory to the next.
all_ids() {
	local d
	for d in maildrop incoming active deferred hold; do queue_files "$d"; done |
		xargs -r -n1 basename | sort -u
}
total_ids() { all_ids | grep -c .; }
# Nothing in transit (daemon up): maildrop/ picked up, active/ empty.
settled() { [ "$(queue_count maildrop)" -eq 0 ] && [ "$(queue_count active)" -eq 0 ]; }

mark() { BASE=$(total_ids); }

# nothing_queued NAME: queue unchanged since mark, no temp file left.
nothing_queued() {
	is "$(total_ids)" "$BASE" "$1: nothing queued"
	is "$(temp_files)" "" "$1: no temp file left behind"
}

# fails NAME STATUS STDERR-REGEX: the checks every failure gets.
fails() {
	local name=$1 want=$2 re=$3
	diag "$name: stderr: $(printf '%s' "$ERR" | head -n 3)"
	is "$RC" "$want" "$name: exit $want"
	like "$ERR" "$re" "$name: stderr says why"
	is "$OUT" "" "$name: stdout empty"
	nothing_queued "$name"
}

# Every accept-and-ignore flag of spec §4/§5 in one run (-X/-D name files
# that must not be created).
IGNORED_FLAGS=(-Am -c -e m -G -h 5 -J -L tag -M x -m -n -O a=b -p smtp -Q -s -T -U
	-x -X "$T/xlog" -D "$T/dlog" -d0.1 -oem -odi -oeq -om -o7 -oL9 -or0s -B8BITMIME
	-N never -R hdrs -V envid1)

"$PETREL" check >"$T/check.out" 2>&1
ok $? "petrel check creates the queue directories" || sed 's/^/# /' "$T/check.out"

########## Daemon down ##########

mark; sm "$T/msg" -z root
fails "unknown option -z" 64 'illegal option.*z'

mark; sm "$T/msg" -oi -o
fails "-o at the end" 64 'requires an argument.*o'

mark; sm "$T/msg"
fails "no recipients" 64 'Recipient addresses must be specified'

mark; sm "$T/msg-nohdr" -t
fails "-t, no recipient headers" 64 'No recipient addresses found in message header'

mark; sm "$T/msg" -t -bp
fails "-t -bp" 64 'delivery mode'

mark; sm "$T/msg" -bp root
fails "-bp with a recipient" 64 'requires no recipient'

mkdir -p "$T/bin"
ln -s "$SENDMAIL" "$T/bin/mailq"
mark
timeout 30 "$T/bin/mailq" root <"$T/msg" >"$T/sm.out" 2>"$T/sm.err"
RC=$?; OUT=$(cat "$T/sm.out"); ERR=$(cat "$T/sm.err")
fails "mailq with a recipient" 64 'requires no recipient'

mark; sm "$T/msg" '<<<'
fails "all recipients invalid" 64 'bad recipient address'

mark; sm "$T/msg" -bz
fails "-bz" 64 '(mode|unsupported).*z'

mark; sm "$T/msg" -bt
fails "-bt" 64 'bt|not supported'

mark; sm "$T/msg-big" "$RCPT"
fails "over message_size_limit (daemon down)" 69 'message file too big'

# -oee: "always exit 0 after the message is queued or rejected" (spec §5.1,
# a SHOULD) against DESIGN.md §1 "It never exits 0 unless the message is
# durably queued" (the contract, which wins). Decision: -oee does not turn
# a usage failure into 0: nothing was queued, and the caller must know.
mark; sm "$T/msg" -oee -z "$RCPT"
fails "-oee -z" 64 'illegal option'
mark; sm "$T/msg" -oee
fails "-oee without recipients" 64 'Recipient addresses must be specified'

mark; sm "$T/msg" -q30m
is "$RC" 0 "-q30m: exit 0"
is "$OUT" "" "-q30m: stdout empty"
is "$ERR" "" "-q30m: stderr empty"
nothing_queued "-q30m"

# Accept-and-ignore flags: queued, and -d0.1 prints the version on stdout
# (spec §4 "-d": "print Version Petrel x.y to stdout, then carry on").
mark; sm "$T/msg" "${IGNORED_FLAGS[@]}" "$RCPT"
is "$RC" 0 "every accept-and-ignore flag: exit 0"
like "$OUT" '^Version Petrel [0-9][^[:cntrl:]]*$' "-d0.1: one version line on stdout"
is "$(total_ids)" "$((BASE + 1))" "every accept-and-ignore flag: message queued"
is "$(queue_count maildrop)" "$((BASE + 1))" "... in maildrop/ (daemon down)"
ok "$(test ! -e "$T/xlog"; echo $?)" "-X FILE creates no file"
ok "$(test ! -e "$T/dlog"; echo $?)" "-D FILE creates no file"
is "$(temp_files)" "" "every accept-and-ignore flag: no temp file left"

# main.cf with a syntax error: 75 (spec §9, config.md §1.4), file and line named.
cp "$CONF/main.cf" "$T/main.cf.good"
echo "foo bar" >>"$CONF/main.cf"
LINE=$(wc -l <"$CONF/main.cf")
mark; sm "$T/msg" "$RCPT"
fails "main.cf syntax error" 75 'missing .=.'
contains "$ERR" "$CONF/main.cf, line $LINE" "main.cf syntax error: stderr names the file and line $LINE"
cp "$T/main.cf.good" "$CONF/main.cf"

# Unreadable main.cf.
chmod 000 "$CONF/main.cf"
mark; sm_as alice "$T/msg" "$RCPT"
fails "unreadable main.cf (alice)" 75 'main\.cf'
like "$ERR" 'Permission denied' "unreadable main.cf: stderr gives the reason"
chmod 0644 "$CONF/main.cf"

# Queue directory missing, daemon down.
mv "$QDIR" "$QDIR.away"
sm "$T/msg" "$RCPT"
MISSING_CREATED=$(test -e "$QDIR"; echo $?)
rm -rf "$QDIR"
mv "$QDIR.away" "$QDIR"
mark
is "$RC" 75 "queue directory missing: exit 75"
like "$ERR" 'No such file or directory' "queue directory missing: stderr says why"
is "$OUT" "" "queue directory missing: stdout empty"
is "$MISSING_CREATED" 1 "queue directory missing: sendmail did not create it"
nothing_queued "queue directory missing"

# maildrop/ not writable, daemon down (read-only, so root is refused too).
mount --bind "$QDIR/maildrop" "$QDIR/maildrop" &&
	mount -o remount,bind,ro "$QDIR/maildrop"
ok $? "maildrop/ remounted read-only"
mark; sm "$T/msg" "$RCPT"
fails "maildrop/ unwritable" 75 'Read-only file system'
umount "$QDIR/maildrop"

# maildrop/ on a full file system, daemon down.
mount -t tmpfs -o "size=64k,mode=1730,uid=$PETREL_UID,gid=$DROP_GID" tmpfs "$QDIR/maildrop"
ok $? "a 64k tmpfs on maildrop/"
dd if=/dev/zero of="$QDIR/maildrop/zz-filler" bs=4k 2>/dev/null
mark; sm "$T/msg" "$RCPT"
fails "maildrop/ full" 75 'No space left'
is "$(ls -A "$QDIR/maildrop")" "zz-filler" "maildrop/ full: only the filler in the directory"
umount "$QDIR/maildrop"

# authorized_submit_users.
echo "authorized_submit_users = root" >>"$CONF/main.cf"
mark; sm_as alice "$T/msg" "$RCPT"
fails "alice not in authorized_submit_users" 77 'not allowed to submit'
contains "$ERR" "alice" "authorized_submit_users: stderr names the user"
cp "$T/main.cf.good" "$CONF/main.cf"

########## Daemon up ##########

petrel_start >"$T/start.out" 2>&1
ok $? "petrel start" || sed 's/^/# /' "$T/start.out"
wait_for 10 settled
ok $? "the daemon picks up what waited in maildrop/"

mark; sm "$T/msg"
fails "no recipients (daemon up)" 64 'Recipient addresses must be specified'

mark; sm "$T/msg" '<<<'
fails "all recipients invalid (daemon up)" 64 'bad recipient address'

mark; sm "$T/msg-nohdr" -t
fails "-t, no recipient headers (daemon up)" 64 'No recipient addresses found in message header'

mark; sm "$T/msg-big" "$RCPT"
fails "over message_size_limit (daemon up)" 69 'message file too big'

mark; sm "$T/msg" "${IGNORED_FLAGS[@]}" "$RCPT"
is "$RC" 0 "every accept-and-ignore flag (daemon up): exit 0"
is "$(queue_count maildrop)" 0 "every accept-and-ignore flag (daemon up): through the daemon, not maildrop/"
wait_for 10 settled
is "$(total_ids)" "$((BASE + 1))" "every accept-and-ignore flag (daemon up): queued"
is "$(temp_files)" "" "every accept-and-ignore flag (daemon up): no temp file left"

# incoming/ on a full file system: the daemon cannot commit, so 75, and no
# fallback copy in maildrop/ either (it was refused, not lost in transit).
mount -t tmpfs -o "size=64k,mode=0700,uid=$PETREL_UID,gid=$PETREL_GID" tmpfs "$QDIR/incoming"
ok $? "a 64k tmpfs on incoming/"
dd if=/dev/zero of="$QDIR/incoming/zz-filler" bs=4k 2>/dev/null
mark; sm "$T/msg" "$RCPT"
fails "incoming/ full (daemon up)" 75 'No space left'
is "$(ls -A "$QDIR/incoming")" "zz-filler" "incoming/ full: only the filler in the directory"
is "$(ls -A "$QDIR/maildrop")" "" "incoming/ full: no fallback file in maildrop/"
# -oee must not turn a temporary failure into "queued" (DESIGN.md §1: never
# 0 unless durably queued; a 0 here loses the message).
mark; sm "$T/msg" -oee "$RCPT"
is "$RC" 75 "incoming/ full with -oee: still exit 75"
nothing_queued "incoming/ full with -oee"
umount -l "$QDIR/incoming"

# authorized_submit_users with the daemon up: the front end refuses, and so
# must the daemon when a local user talks to public/submit directly (the
# socket is open to every local user; DESIGN.md §2 "trusts nothing from
# its caller").
"$PETREL" stop >/dev/null 2>&1
echo "authorized_submit_users = root" >>"$CONF/main.cf"
petrel_start >"$T/start.out" 2>&1
ok $? "petrel start with authorized_submit_users = root" || sed 's/^/# /' "$T/start.out"

mark; sm_as alice "$T/msg" "$RCPT"
fails "alice not in authorized_submit_users (daemon up)" 77 'not allowed to submit'

# raw_submit QDIR: one well-formed raw submission on public/submit; prints the reply.
cat >"$T/raw_submit.py" <<'EOF'
import socket, sys, time
qdir = sys.argv[1]
content = b"Subject: raw socket\n\nhello\n"
now = time.time()
env = b"PETREL-QUEUE 1\nT %d.%06d\nF r\nRT - - rcpt@example.org\nL %020d\nD\n" % (
    int(now), int((now % 1) * 1000000), len(content))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(qdir + "/public/submit")
s.sendall(env + content + b"END\n")
s.shutdown(socket.SHUT_WR)
reply = b""
while not reply.endswith(b"\n"):
    chunk = s.recv(1024)
    if not chunk:
        break
    reply += chunk
print(reply.decode(errors="replace").strip())
EOF
chmod 0644 "$T/raw_submit.py"
mark
REPLY=$(run_as alice timeout 30 "$PY" "$T/raw_submit.py" "$QDIR" 2>&1)
like "$REPLY" '^ERR 77 ' "a raw public/submit request from alice is refused with 77 by the daemon"
nothing_queued "raw public/submit request from alice"
REPLY=$(timeout 30 "$PY" "$T/raw_submit.py" "$QDIR" 2>&1)
like "$REPLY" '^OK [0-9A-F]{14}$' "the same raw request from root is accepted (the request is well-formed)"

"$PETREL" stop >/dev/null 2>&1
cp "$T/main.cf.good" "$CONF/main.cf"

# authorized_mailq_users / authorized_flush_users: sendmail refuses with 77
# and says why; the daemon refuses a client that talks to public/showq
# itself; root is always allowed (Postfix's postqueue).
printf 'authorized_mailq_users = bob\nauthorized_flush_users = bob\n' >>"$CONF/main.cf"
petrel_start >"$T/start.out" 2>&1
ok $? "petrel start with authorized_mailq_users = bob" || sed 's/^/# /' "$T/start.out"
mark; sm_as alice /dev/null -bp
fails "alice not in authorized_mailq_users" 77 'User alice\(2001\) is not allowed to view the mail queue'
mark; sm_as alice /dev/null -q
fails "alice not in authorized_flush_users" 77 'User alice\(2001\) is not allowed to flush the mail queue'
out=$(run_as alice "$PETREL" flush 2>&1)
is "$?" 77 "petrel flush as alice: exit 77"
like "$out" 'User alice\(2001\) is not allowed to flush the mail queue' "... and says why"
sm_as bob /dev/null -bp
is "$RC:$ERR" "0:" "bob, who is listed, may view the queue"
like "$OUT" 'Total requests: ' "... and gets the listing"
sm /dev/null -bp
is "$RC" 0 "root may always view the queue"
cat >"$T/raw_showq.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1] + "/public/showq")
s.sendall(b"mailq 0 0\n")
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    out += chunk
print(len(out))
EOF
chmod 0644 "$T/raw_showq.py"
is "$(run_as alice timeout 30 "$PY" "$T/raw_showq.py" "$QDIR" 2>&1)" 0 \
	"a raw public/showq request from alice gets nothing from the daemon"
like "$(cat "$MAILLOG")" 'warning: showq: alice\(2001\) refused by authorized_mailq_users' "... and the refusal is logged"
ok $([ "$(run_as bob timeout 30 "$PY" "$T/raw_showq.py" "$QDIR" 2>&1)" -gt 0 ]; echo $?) \
	"the same request from bob gets the listing"
"$PETREL" stop >/dev/null 2>&1
cp "$T/main.cf.good" "$CONF/main.cf"

done_testing
