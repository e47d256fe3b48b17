#!/bin/bash
# crash.t - kill -9 during submission leaves either a whole queued message
# or nothing (DESIGN.md §2 "No loss", doc/queue-format.md §4):
#   (a) daemon down: sendmail killed while reading its input and while
#       writing maildrop/; every queue file parses, mailq lists only whole
#       messages, the daemon later queues only whole ones;
#   (b) daemon up: sendmail killed while reading and while sending on
#       public/submit, and a raw client killed mid-request: the daemon
#       queues no half message, and the next submission works;
#   (c) the daemon's workers killed while 50 submissions run in parallel:
#       every sendmail that exited 0 has its message queued.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup_hold
unset NAME
# instance_setup_hold: the daemon queues but does not deliver, so what was
# queued stays in incoming/. The recipient is remote all the same: were a
# queue manager to run, it would only defer it (no SMTP client yet).
RCPT=rcpt@example.org

MARK=END-OF-BODY

# The big message (4 MB) used to catch sendmail or the daemon mid-write.
{
	printf 'Subject: big\n\n'
	head -c 4000000 /dev/zero | tr '\0' 'b' | fold -w 79
	echo
	echo "$MARK"
} >"$T/big"
printf 'Subject: small\n\nhello\n%s\n' "$MARK" >"$T/small"

# slow_producer SUBJECT PIECES PROGRESS-FILE: writes a message in 1000-byte
# pieces, 20 ms apart, noting each piece written in PROGRESS-FILE.
slow_producer() {
	local subj=$1 n=$2 prog=$3 i
	printf 'Subject: %s\n\n' "$subj" || return
	for ((i = 1; i <= n; i++)); do
		printf '%0999d\n' "$i" || return
		echo "$i" >"$prog"
		sleep 0.02
	done
	echo "$MARK"
}

progress_at_least() { [ "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2" ] 2>/dev/null; }

# kill_while_reading PIECE: sendmail reads from the slow producer and is
# killed (-9) once PIECE pieces were written. Sets KRC (sendmail's status).
kill_while_reading() {
	local at=$1 prog=$T/progress.$1.$RANDOM pid
	echo 0 >"$prog"
	slow_producer "slow $at" 60 "$prog" | "$SENDMAIL" "$RCPT" >/dev/null 2>&1 &
	pid=$!
	wait_for 10 progress_at_least "$prog" "$at" || diag "producer did not reach piece $at"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	KRC=$?
}

# kill_on.py MODE WATCH DELAY SENDMAIL INPUT ARGS...: starts sendmail with
# INPUT as stdin; as soon as MODE happens (temp: a new dot-file appears in the
# directory WATCH; socket: sendmail holds a socket) it waits DELAY seconds
# and kills sendmail with SIGKILL. Prints "seen|missed STATUS".
cat >"$T/kill_on.py" <<'EOF'
import os, signal, subprocess, sys, time
mode, watch, delay, sm, inp = sys.argv[1:6]
args = sys.argv[6:]
old_temps = set(n for n in os.listdir(watch) if n.startswith(".")) if mode == "temp" else set()
with open(inp, "rb") as f:
    p = subprocess.Popen([sm] + args, stdin=f, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)


def happened():
    if mode == "temp":
        return any(n.startswith(".") and n not in old_temps for n in os.listdir(watch))
    try:
        fds = os.listdir("/proc/%d/fd" % p.pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (p.pid, fd)).startswith("socket:"):
                return True
        except OSError:
            pass
    return False

deadline = time.time() + 20
seen = False
while time.time() < deadline and p.poll() is None:
    if happened():
        seen = True
        break
if seen and float(delay) > 0:
    time.sleep(float(delay))
try:
    p.send_signal(signal.SIGKILL)
except OSError:
    pass
p.wait()
print("seen" if seen else "missed", p.returncode)
EOF

# all_whole SUBDIR NAME: every queue file in SUBDIR parses (petrel queue
# show, which checks the length and the end marker) and its content ends
# with the marker line (the file with "MARK\nEND\n").
all_whole() {
	local sub=$1 name=$2 f id bad=""
	for f in $(if [ "$sub" = post ]; then post_files; else queue_files "$sub"; fi); do
		id=$(basename "$f")
		if ! timeout 20 "$PETREL" queue show "$id" >/dev/null 2>"$T/show.err"; then
			bad="$bad $id(show: $(head -c 200 "$T/show.err"))"
		elif [ "$(tail -c $((${#MARK} + 6)) "$f" | tr '\n' '|')" != "|$MARK|END|" ]; then
			bad="$bad $id(content cut)"
		fi
	done
	is "$bad" "" "$name: every queue file in $sub parses and is whole"
}

# mailq_lists_whole NAME: mailq (root, daemon down: read from the queue)
# lists exactly the valid maildrop files, and its total agrees.
mailq_lists_whole() {
	local name=$1 out ids files
	out=$(timeout 20 "$SENDMAIL" -bp 2>/dev/null)
	ids=$(printf '%s\n' "$out" | grep -oE '^[0-9A-F]{14}' | sort)
	files=$(queue_files maildrop | xargs -r -n1 basename | sort)
	is "$ids" "$files" "$name: mailq lists exactly the whole messages"
	like "$out" "Total requests: $(queue_count maildrop)\$" "$name: mailq total"
}

temps_in() { find "$QDIR/$1" -mindepth 1 -maxdepth 1 -name '.*' 2>/dev/null | sort; }

# Messages past cleanup: incoming/ now, but a queue manager may move them on.
POST_DIRS="incoming active deferred hold"
post_files() { local d; for d in $POST_DIRS; do queue_files "$d"; done; }
post_count() { post_files | xargs -r -n1 basename | sort -u | grep -c .; }
# Nothing in transit (daemon up): maildrop/ picked up, active/ empty.
settled() { [ "$(queue_count maildrop)" -eq 0 ] && [ "$(queue_count active)" -eq 0 ]; }

# Conditions for wait_for (evaluated at each poll).
count_is() { [ "$(queue_count "$1")" -eq "$2" ]; }
post_count_is() { [ "$(post_count)" -eq "$1" ]; }
no_temps_in() { [ -z "$(temps_in "$1")" ]; }

"$PETREL" check >"$T/check.out" 2>&1
ok $? "petrel check creates the queue directories" || sed 's/^/# /' "$T/check.out"

########## (a) daemon down ##########

for at in 1 3 8 15 30 50; do
	kill_while_reading "$at"
	is "$KRC" 137 "(a) killed while reading (piece $at): sendmail died of SIGKILL"
	is "$(queue_count maildrop)" 0 "(a) killed while reading (piece $at): nothing queued"
done
is "$(temps_in maildrop)" "" "(a) killed while reading: no temp file (nothing was written yet)"

SEEN=0
for delay in 0 0.001 0.005 0.03; do
	r=$(timeout 60 "$PY" "$T/kill_on.py" temp "$QDIR/maildrop" "$delay" "$SENDMAIL" "$T/big" "$RCPT")
	diag "(a) kill while writing maildrop/, delay $delay: $r"
	case $r in seen*) SEEN=$((SEEN + 1)) ;; esac
	all_whole maildrop "(a) killed while writing (delay $delay)"
	mailq_lists_whole "(a) killed while writing (delay $delay)"
done
ok "$([ "$SEEN" -ge 1 ]; echo $?)" "(a) at least one kill hit sendmail while its temp file existed ($SEEN of 4)"
WHOLE=$(queue_count maildrop)
diag "(a) whole messages in maildrop/: $WHOLE; temp files left: $(temps_in maildrop | wc -l)"

# Temp files: one left by a crash two hours ago (stale), one fresh.
printf 'PETREL-QUEUE 1\nT 1700000000.000000\nF r\nRT - - root\nL 00000000000000001000\nD\nSubject: partial\n' >"$QDIR/maildrop/.dead.0.0.tmp"
cp "$QDIR/maildrop/.dead.0.0.tmp" "$QDIR/maildrop/.fresh.0.0.tmp"
touch -d '2 hours ago' "$QDIR/maildrop/.dead.0.0.tmp"
mailq_lists_whole "(a) with partial temp files"

petrel_start >"$T/start.out" 2>&1
ok $? "(a) petrel start" || sed 's/^/# /' "$T/start.out"
wait_for 20 settled
ok $? "(a) the daemon takes the whole messages out of maildrop/" || {
	ls -la "$QDIR/maildrop" | sed 's/^/#   /'
	grep -a maildrop "$MAILLOG" | tail -n 5 | sed 's/^/#   /'
}
wait_for 10 test ! -e "$QDIR/maildrop/.dead.0.0.tmp"
ok $? "(a) the daemon removes the stale (2-hour-old) temp file"
ok "$(test -e "$QDIR/maildrop/.fresh.0.0.tmp"; echo $?)" "(a) ... and leaves the fresh one alone (removed only once stale)"
is "$(post_count)" "$WHOLE" "(a) the queue holds exactly the $WHOLE whole messages"
all_whole post "(a) after pickup"
is "$(ls -A "$QDIR/corrupt" 2>/dev/null)" "" "(a) nothing quarantined"

diag "(a) done after $SECONDS s"

########## (b) daemon up ##########

BASE=$(post_count)
for at in 2 10 40; do
	kill_while_reading "$at"
	is "$KRC" 137 "(b) killed while reading (piece $at): sendmail died of SIGKILL"
done
is "$(post_count)" "$BASE" "(b) killed while reading: the queue gains nothing"
is "$(queue_count maildrop)" 0 "(b) killed while reading: maildrop/ gains nothing"

for delay in 0 0.002 0.01 0.05; do
	r=$(timeout 60 "$PY" "$T/kill_on.py" socket - "$delay" "$SENDMAIL" "$T/big" "$RCPT")
	diag "(b) kill while sending on public/submit, delay $delay: $r"
done
wait_for 20 no_temps_in incoming
ok $? "(b) killed while sending: no temp file stays in incoming/"
wait_for 20 settled
diag "(b) killed while sending: $(($(post_count) - BASE)) whole message(s) reached the daemon before the kill"
all_whole post "(b) killed while sending"
is "$(queue_count maildrop)" 0 "(b) killed while sending: maildrop/ gains nothing"

# A raw client that sends part of a well-formed request and dies (SIGKILL)
# or closes the connection: nothing may be queued. The same request whole
# is accepted (so the request itself is fine).
cat >"$T/raw_client.py" <<'EOF'
import os, signal, socket, sys, time
qdir, how = sys.argv[1], sys.argv[2]
content = open(sys.argv[3], "rb").read()
now = time.time()
env = b"PETREL-QUEUE 1\nT %d.%06d\nF r\nRT - - rcpt@example.org\nL %020d\nD\n" % (
    int(now), int((now % 1) * 1000000), len(content))
payload = env + content + b"END\n"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(qdir + "/public/submit")
if how == "whole":
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    print(s.recv(1024).decode(errors="replace").strip())
    sys.exit(0)
s.sendall(payload[:len(payload) // 2])
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
s.shutdown(socket.SHUT_WR)
print(s.recv(1024).decode(errors="replace").strip())
EOF
BASE=$(post_count)
R=$( { timeout 30 "$PY" "$T/raw_client.py" "$QDIR" kill "$T/big" >/dev/null 2>&1; echo $?; } 2>/dev/null)
is "$R" 137 "(b) raw client killed after half its request"
R=$(timeout 30 "$PY" "$T/raw_client.py" "$QDIR" half "$T/big" 2>&1)
like "$R" '^ERR ' "(b) half a request, then EOF: the daemon answers ERR"
wait_for 20 no_temps_in incoming
ok $? "(b) half requests: no temp file stays in incoming/"
wait_for 20 settled
is "$(post_count)" "$BASE" "(b) half requests: nothing queued"
R=$(timeout 30 "$PY" "$T/raw_client.py" "$QDIR" whole "$T/big" 2>&1)
like "$R" '^OK [0-9A-F]{14}$' "(b) the whole request is accepted"
wait_for 20 settled
is "$(post_count)" "$((BASE + 1))" "(b) the whole request is queued"

BASE=$(post_count)
timeout 30 "$SENDMAIL" "$RCPT" <"$T/small" >/dev/null 2>"$T/sm.err"
is "$?" 0 "(b) the next submission works"
wait_for 20 settled
is "$(post_count)" "$((BASE + 1))" "(b) ... and is queued"
all_whole post "(b) at the end"

diag "(b) done after $SECONDS s"

########## (c) workers killed during 50 parallel submissions ##########

MPID=$(tr -d ' \n' <"$QDIR/pid/master.pid")
workers() { ps --ppid "$MPID" -o pid= 2>/dev/null | tr -d ' ' | sort -n; }
nworkers() { workers | grep -c .; }
finished() { find "$T/c" -name '*.rc' 2>/dev/null | wc -l; }
finished_at_least() { [ "$(finished)" -ge "$1" ]; }
workers_at_least() { [ "$(nworkers)" -ge "$1" ]; }
NW=$(nworkers)
diag "(c) master $MPID with $NW workers"
ok "$([ "$NW" -ge 2 ]; echo $?)" "(c) the master runs its workers"

# kill_workers.py INCOMING MASTER-PID DELAY TIMEOUT: notes the master's
# children (the workers); as soon as one opens a new temp file in incoming/
# (it is in the middle of a request), waits DELAY seconds and kills them
# all with SIGKILL.
# Prints "seen N" (N processes killed) or "missed 0".
cat >"$T/kill_workers.py" <<'EOF2'
import os, signal, sys, time
incoming, mpid, delay, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
kids = []
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == mpid:
                    kids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
old = set(n for n in os.listdir(incoming) if n.startswith("."))
deadline = time.time() + limit
while not any(n.startswith(".") and n not in old for n in os.listdir(incoming)):
    if time.time() > deadline:
        print("missed 0")
        sys.exit(0)
if delay > 0:
    time.sleep(delay)
n = 0
for k in kids:
    try:
        os.kill(k, signal.SIGKILL)
        n += 1
    except OSError:
        pass
print("seen", n)
EOF2

# 50 sendmails start at once; their input ends over 10 seconds.
N=50
mkdir -p "$T/c"
{ head -c 100000 /dev/zero | tr '\0' 'c' | fold -w 76; echo; } >"$T/c-body"
BEFORE_IDS=$(post_files | xargs -r -n1 basename; echo NO-SUCH-ID)
for ((i = 1; i <= N; i++)); do
	(
		{ printf 'Subject: crash-c-%d\n\n' "$i"; sleep "$((i / 5)).$((i % 5 * 2))"; cat "$T/c-body"; echo "$MARK"; } |
			timeout 40 "$SENDMAIL" "$RCPT" >/dev/null 2>"$T/c/$i.err"
		echo $? >"$T/c/$i.rc"
	) &
done

KILLS=0
ROUNDS=0
for delay in 0 0.002 0 0.005 0 0.001; do
	finished_at_least "$N" && break
	r=$(timeout 20 "$PY" "$T/kill_workers.py" "$QDIR/incoming" "$MPID" "$delay" 4)
	case $r in "seen "*) ROUNDS=$((ROUNDS + 1)); KILLS=$((KILLS + ${r#seen })) ;; esac
	wait_for 5 workers_at_least "$NW"
done
wait_for 60 finished_at_least "$N"
ok $? "(c) all $N submissions finished"
wait
diag "(c) worker processes killed: $KILLS in $ROUNDS rounds (after $SECONDS s)"
# At least one round must have caught a request in flight (on a quiet
# machine most of them do; a loaded one may finish the submissions first).
ok "$([ "$ROUNDS" -ge 1 ]; echo $?)" "(c) workers were killed mid-request"

OK0=0
for ((i = 1; i <= N; i++)); do
	[ "$(cat "$T/c/$i.rc" 2>/dev/null)" = 0 ] && OK0=$((OK0 + 1))
done
is "$OK0" "$N" "(c) every sendmail exited 0 (a broken socket falls back to maildrop/)"

wait_for 20 settled
ok $? "(c) maildrop/ drained by the restarted pickup, the queue settled"
# Subjects of the new queue files (maildrop/ too, in case it did not drain).
NEWF=$( { post_files; queue_files maildrop; } | grep -v -F -f <(echo "$BEFORE_IDS"))
printf '%s\n' "$NEWF" | xargs -r grep -a -h -o '^Subject: crash-c-[0-9]*$' | sed 's/^Subject: crash-c-//' |
	sort -n | uniq -c >"$T/c-counts"
LOST=""
DUPS=0
for ((i = 1; i <= N; i++)); do
	c=$(awk -v i="$i" '$2 == i { print $1 }' "$T/c-counts")
	c=${c:-0}
	[ "$c" -gt 1 ] && DUPS=$((DUPS + c - 1))
	if [ "$(cat "$T/c/$i.rc" 2>/dev/null)" = 0 ] && [ "$c" -eq 0 ]; then
		LOST="$LOST $i"
	fi
done
is "$LOST" "" "(c) no message lost: every sendmail that exited 0 has its message queued"
diag "(c) duplicates (queued more than once): $DUPS"
diag "(c) messages that came through the maildrop/ fallback: $(printf '%s\n' "$NEWF" | xargs -r grep -l -a '^A origin=maildrop$' | wc -l)"
diag "(c) worker deaths the master logged: $(grep -c 'killed by signal 9' "$MAILLOG")"
all_whole post "(c) after the worker kills"
is "$(ls -A "$QDIR/corrupt" 2>/dev/null)" "" "(c) nothing quarantined"

ok "$(kill -0 "$MPID" 2>/dev/null; echo $?)" "(c) the master survived"
wait_for 10 workers_at_least "$NW"
ok $? "(c) the master restarted its workers ($(nworkers) running)"
BASE=$(post_count)
timeout 30 "$SENDMAIL" "$RCPT" <"$T/small" >/dev/null 2>"$T/sm.err"
is "$?" 0 "(c) a later submission works"
wait_for 5 post_count_is "$((BASE + 1))"
ok $? "(c) ... and is queued"

diag "(c) done after $SECONDS s"
"$PETREL" stop >/dev/null 2>&1

done_testing
