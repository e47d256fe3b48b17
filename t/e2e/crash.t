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

instance_setup
unset NAME

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
	slow_producer "slow $at" 60 "$prog" | "$SENDMAIL" root >/dev/null 2>&1 &
	pid=$!
	wait_for 10 progress_at_least "$prog" "$at" || diag "producer did not reach piece $at"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	KRC=$?
}

# kill_on.py MODE WATCH DELAY SENDMAIL INPUT ARGS...: starts sendmail with
# INPUT as stdin; as soon as MODE happens (temp: a dot-file appears in the
# directory WATCH; socket: sendmail holds a socket) it waits DELAY seconds
# and kills sendmail with SIGKILL. Prints "seen|missed STATUS".
cat >"$T/kill_on.py" <<'EOF'
import os, signal, subprocess, sys, time
mode, watch, delay, sm, inp = sys.argv[1:6]
args = sys.argv[6:]
with open(inp, "rb") as f:
    p = subprocess.Popen([sm] + args, stdin=f, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

def happened():
    if mode == "temp":
        return any(n.startswith(".") for n in os.listdir(watch))
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
# show) and its content ends with the marker line.
all_whole() {
	local sub=$1 name=$2 f id bad=""
	for f in $(queue_files "$sub"); do
		id=$(basename "$f")
		if ! timeout 20 "$PETREL" queue show "$id" >/dev/null 2>"$T/show.err"; then
			bad="$bad $id(show: $(head -c 200 "$T/show.err"))"
		elif [ "$(msg_content "$f" | tail -n 1)" != "$MARK" ]; then
			bad="$bad $id(content cut)"
		fi
	done
	is "$bad" "" "$name: every queue file in $sub/ parses and is whole"
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
	r=$(timeout 60 "$PY" "$T/kill_on.py" temp "$QDIR/maildrop" "$delay" "$SENDMAIL" "$T/big" root)
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
wait_for 20 test "$(queue_count maildrop)" -eq 0
ok $? "(a) the daemon takes the whole messages out of maildrop/"
wait_for 10 test ! -e "$QDIR/maildrop/.dead.0.0.tmp"
ok $? "(a) the daemon removes the stale (2-hour-old) temp file"
is "$(queue_count incoming)" "$WHOLE" "(a) incoming/ holds exactly the $WHOLE whole messages"
all_whole incoming "(a) after pickup"
is "$(ls -A "$QDIR/corrupt" 2>/dev/null)" "" "(a) nothing quarantined"

########## (b) daemon up ##########

BASE=$(queue_count incoming)
for at in 2 10 40; do
	kill_while_reading "$at"
	is "$KRC" 137 "(b) killed while reading (piece $at): sendmail died of SIGKILL"
done
is "$(queue_count incoming)" "$BASE" "(b) killed while reading: incoming/ gains nothing"
is "$(queue_count maildrop)" 0 "(b) killed while reading: maildrop/ gains nothing"

for delay in 0 0.002 0.01 0.05; do
	r=$(timeout 60 "$PY" "$T/kill_on.py" socket - "$delay" "$SENDMAIL" "$T/big" root)
	diag "(b) kill while sending on public/submit, delay $delay: $r"
done
wait_for 20 test -z "$(temps_in incoming)"
ok $? "(b) killed while sending: no temp file stays in incoming/"
diag "(b) killed while sending: $(($(queue_count incoming) - BASE)) whole message(s) reached the daemon before the kill"
all_whole incoming "(b) killed while sending"
is "$(queue_count maildrop)" 0 "(b) killed while sending: maildrop/ gains nothing"

# A raw client that sends part of a well-formed request and dies (SIGKILL)
# or closes the connection: nothing may be queued. The same request whole
# is accepted (so the request itself is fine).
cat >"$T/raw_client.py" <<'EOF'
import os, signal, socket, sys, time
qdir, how = sys.argv[1], sys.argv[2]
content = open(sys.argv[3], "rb").read()
now = time.time()
env = b"PETREL-QUEUE 1\nT %d.%06d\nF r\nRT - - root@host.example.com\nL %020d\nD\n" % (
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
BASE=$(queue_count incoming)
timeout 30 "$PY" "$T/raw_client.py" "$QDIR" kill "$T/big" >/dev/null 2>&1
is "$?" 137 "(b) raw client killed after half its request"
R=$(timeout 30 "$PY" "$T/raw_client.py" "$QDIR" half "$T/big" 2>&1)
like "$R" '^ERR ' "(b) half a request, then EOF: the daemon answers ERR"
wait_for 20 test -z "$(temps_in incoming)"
ok $? "(b) half requests: no temp file stays in incoming/"
is "$(queue_count incoming)" "$BASE" "(b) half requests: nothing queued"
R=$(timeout 30 "$PY" "$T/raw_client.py" "$QDIR" whole "$T/big" 2>&1)
like "$R" '^OK [0-9A-F]{14}$' "(b) the whole request is accepted"
is "$(queue_count incoming)" "$((BASE + 1))" "(b) the whole request is queued"

BASE=$(queue_count incoming)
timeout 30 "$SENDMAIL" root <"$T/small" >/dev/null 2>"$T/sm.err"
is "$?" 0 "(b) the next submission works"
is "$(queue_count incoming)" "$((BASE + 1))" "(b) ... and is queued in incoming/"
all_whole incoming "(b) at the end"

########## (c) workers killed during 50 parallel submissions ##########

MPID=$(tr -d ' \n' <"$QDIR/pid/master.pid")
workers() { ps --ppid "$MPID" -o pid= 2>/dev/null | tr -d ' ' | sort -n; }
nworkers() { workers | grep -c .; }
finished() { find "$T/c" -name '*.rc' 2>/dev/null | wc -l; }
NW=$(nworkers)
diag "(c) master $MPID with $NW workers"
ok "$([ "$NW" -ge 2 ]; echo $?)" "(c) the master runs its workers"

N=50
mkdir -p "$T/c"
head -c 100000 /dev/zero | tr '\0' 'c' | fold -w 76 >"$T/c-body"
BEFORE_FILES=$(queue_files incoming)
for ((i = 1; i <= N; i++)); do
	(
		{ printf 'Subject: crash-c-%d\n\n' "$i"; sleep "0.$((i % 10))"; cat "$T/c-body"; echo "$MARK"; } |
			timeout 40 "$SENDMAIL" root >/dev/null 2>"$T/c/$i.err"
		echo $? >"$T/c/$i.rc"
	) &
done

KILLS=0
for thr in 3 12 22 32 42; do
	wait_for 30 test "$(finished)" -ge "$thr"
	for w in $(workers); do
		kill -KILL "$w" 2>/dev/null && KILLS=$((KILLS + 1))
	done
	wait_for 5 test "$(nworkers)" -ge 2
done
wait_for 60 test "$(finished)" -eq "$N"
ok $? "(c) all $N submissions finished"
wait
diag "(c) worker processes killed: $KILLS"
ok "$([ "$KILLS" -ge 3 ]; echo $?)" "(c) workers were killed during the run"

OK0=0
for ((i = 1; i <= N; i++)); do
	[ "$(cat "$T/c/$i.rc" 2>/dev/null)" = 0 ] && OK0=$((OK0 + 1))
done
is "$OK0" "$N" "(c) every sendmail exited 0 (a broken socket falls back to maildrop/)"

wait_for 20 test "$(queue_count maildrop)" -eq 0
ok $? "(c) maildrop/ drained by the restarted pickup"
# Subjects of the new queue files (maildrop/ too, in case it did not drain).
NEWF=$( { comm -13 <(echo "$BEFORE_FILES") <(queue_files incoming); queue_files maildrop; } | grep .)
printf '%s\n' $NEWF | xargs -r grep -a -h -o '^Subject: crash-c-[0-9]*$' | sed 's/^Subject: crash-c-//' |
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
all_whole incoming "(c) after the worker kills"
is "$(ls -A "$QDIR/corrupt" 2>/dev/null)" "" "(c) nothing quarantined"

ok "$(kill -0 "$MPID" 2>/dev/null; echo $?)" "(c) the master survived"
wait_for 10 test "$(nworkers)" -ge "$NW"
ok $? "(c) the master restarted its workers ($(nworkers) running)"
BASE=$(queue_count incoming)
timeout 30 "$SENDMAIL" root <"$T/small" >/dev/null 2>"$T/sm.err"
is "$?" 0 "(c) a later submission works"
wait_for 5 test "$(queue_count incoming)" -eq "$((BASE + 1))"
ok $? "(c) ... and is queued"

"$PETREL" stop >/dev/null 2>&1

done_testing
