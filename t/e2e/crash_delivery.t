#!/bin/bash
# crash_delivery.t - crash consistency end to end (issue 7): 200 messages
# through SMTP and 200 through sendmail, each with its own token, while
# the master's processes (smtpd sessions, submit, pickup, the queue
# manager, local delivery, and twice the master itself) are killed with
# SIGKILL at random moments; the daemon is restarted whenever it is gone.
# Afterwards every acknowledged message (250 after DATA, or sendmail's
# exit 0) must be in alice's Maildir at least once: zero lost. Duplicates
# are allowed (delivery is at least once) and counted in the output.
# Bounded: 12 kills, every loop with a count or time limit.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup "home_mailbox = Maildir/" "mynetworks = 127.0.0.0/8" \
	"mydestination = host.example.com, localhost" "smtpd_error_sleep_time = 0"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
echo "postmaster: root" >"$T/aliases"
N=200
KILLS=12
ACK_SMTP=$T/ack.smtp
ACK_SM=$T/ack.sendmail
: >"$ACK_SMTP"
: >"$ACK_SM"

master_pid() { tr -dc 0-9 <"$QDIR/pid/master.pid" 2>/dev/null; }
master_up() { "$PETREL" status >/dev/null 2>&1; }
# Starts the daemon again when it is gone (its old children may still be
# ending, so a refused start is tried again, for at most 20 s).
ensure_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		master_up && return 0
		"$PETREL" start >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"

# SMTP submitter: one connection per message; a token is acknowledged only
# after the 250 to DATA. A refused or broken connection is tried again
# (the daemon may be restarting), for at most 120 s in all.
timeout 180 $PY - "$N" "$ACK_SMTP" <<'PY' >"$T/smtp.out" 2>&1 &
import smtplib, sys, time
n, ackfile = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + 120
ack = open(ackfile, 'a')
for i in range(n):
    tok = 's-%d' % i
    while time.time() < deadline:
        try:
            s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
            s.sendmail('sender@example.org', ['alice@host.example.com'],
                       'Subject: crash %s\r\nX-Token: %s\r\n\r\nbody %s\r\n' % (tok, tok, tok))
            ack.write(tok + '\n'); ack.flush()
            try:
                s.quit()
            except Exception:
                pass
            break
        except Exception:
            time.sleep(0.1)
PY
SMTP_PID=$!

# sendmail submitter: a token is acknowledged when sendmail exits 0 (it
# writes maildrop/ itself when the daemon is down).
(
	for ((i = 0; i < N; i++)); do
		tok=m-$i
		if printf 'Subject: crash %s\nX-Token: %s\n\nbody %s\n' "$tok" "$tok" "$tok" |
			timeout 30 "$SENDMAIL" -i alice@host.example.com; then
			echo "$tok" >>"$ACK_SM"
		fi
	done
) &
SM_PID=$!

# The killer: a random victim among the master's children (or, twice,
# the master) every 0.2 to 0.9 s, while the submitters run.
killed=""
for ((k = 0; k < KILLS; k++)); do
	sleep "0.$((RANDOM % 8 + 2))"
	kill -0 "$SMTP_PID" 2>/dev/null || kill -0 "$SM_PID" 2>/dev/null || break
	ensure_up
	mp=$(master_pid)
	[ -n "$mp" ] || continue
	if [ "$k" = 4 ] || [ "$k" = 9 ]; then
		victim=$mp
		name=master
	else
		mapfile -t kids < <(pgrep -P "$mp")
		[ "${#kids[@]}" -gt 0 ] || continue
		victim=${kids[$((RANDOM % ${#kids[@]}))]}
		name=$(cat "/proc/$victim/comm" 2>/dev/null || echo gone)
	fi
	kill -9 "$victim" 2>/dev/null && killed="$killed $name"
done
diag "killed:$killed (after ${SECONDS}s)"
wait "$SMTP_PID"
diag "smtp submitter done after ${SECONDS}s"
wait "$SM_PID"
diag "sendmail submitter done after ${SECONDS}s"
ok "$([ -n "$killed" ]; echo $?)" "processes were killed while mail flowed"

ensure_up
ok $? "the daemon runs again"
# Deliveries cut short were deferred: retry them now, then wait for an
# empty queue.
"$PETREL" flush >/dev/null 2>&1
empty() { [ "$(queued_total)" = 0 ]; }
wait_for 120 empty
ok $? "the queue drains (left: $(queued_total))"
diag "drained after ${SECONDS}s"

acked=$(cat "$ACK_SMTP" "$ACK_SM" | wc -l)
ok "$([ "$acked" -ge $((N / 2)) ]; echo $?)" "most submissions were acknowledged ($acked of $((2 * N)))"
# Count each token's copies in the Maildir.
counts=$(cat "$T"/home/alice/Maildir/new/* 2>/dev/null | sed -n 's/^X-Token: //p' | sort | uniq -c)
lost=0 dups=0
while read -r tok; do
	c=$(printf '%s\n' "$counts" | awk -v t="$tok" '$2 == t { print $1 }')
	if [ -z "$c" ]; then
		lost=$((lost + 1))
		diag "lost: $tok"
	elif [ "$c" -gt 1 ]; then
		dups=$((dups + c - 1))
	fi
done < <(cat "$ACK_SMTP" "$ACK_SM")
diag "acknowledged $acked, lost $lost, duplicates $dups"
is "$lost" 0 "every acknowledged message was delivered (duplicates: $dups)"
unknown=$(printf '%s\n' "$counts" | awk '{ print $2 }' | grep -cvxF -f <(cat "$ACK_SMTP" "$ACK_SM"))
diag "delivered but not acknowledged (cut before the answer): $unknown"

# The workers never outlive their master (they would hold the queue
# manager's lock and the sockets a new master's workers need): even those
# that changed ids, which makes the kernel forget their parent-death signal.
mp=$(master_pid)
# Who runs as whom (issue 7): the master root, local delivery root (it
# becomes each recipient), every other worker mail_owner.
ps -o user=,comm= --ppid "$mp" >"$T/ps"
is "$(ps -o user= -p "$mp" | tr -d ' ')" root "the master runs as root"
is "$(awk '$2 == "qmgr" { print $1 }' "$T/ps" | sort -u)" petrel "the queue manager runs as petrel"
is "$(awk '$2 == "local" { print $1 }' "$T/ps" | sort -u)" root "local delivery runs as root"
is "$(awk '$2 != "local" { print $1 }' "$T/ps" | sort -u)" petrel "every other worker runs as petrel"
mapfile -t kids < <(pgrep -P "$mp")
kill -9 "$mp"
kids_gone() { local k; for k in "${kids[@]}"; do kill -0 "$k" 2>/dev/null && return 1; done; return 0; }
wait_for 10 kids_gone
ok $? "kill -9 of the master: its ${#kids[@]} workers end too"
"$PETREL" start >/dev/null 2>&1
echo "after" | "$SENDMAIL" -i alice@host.example.com
after_delivered() { grep -lq '^after$' "$T"/home/alice/Maildir/new/* 2>/dev/null; }
wait_for 20 after_delivered
ok $? "a new master delivers at once (no old queue manager in the way)"

"$PETREL" stop >/dev/null 2>&1
done_testing
