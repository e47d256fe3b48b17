#!/bin/bash
# t/e2e/relay_fair.t - a slow destination does not hold back mail for the
# others (the queue manager's slots, windows and round-robin), against two
# real servers (Python aiosmtpd, t/lib/smtpsink.py), routed by
# transport_maps (no DNS):
#  1. 200 messages for slow.test (a server that waits 0.5 s before it
#     answers each dot: with smtp_destination_concurrency_limit = 3 the
#     backlog needs more than 30 s) queued while the daemon is down; once
#     they flow, ONE message for fast.test arrives within 10 s, while most
#     of the backlog still waits; the slow server never held more than 3
#     connections at once (exactly 3: the window is full); all 200 arrive
#     in the end, each once, and each entered active/ once (the messages
#     put aside while 50 groups waited for slow.test are not logged twice);
#  2. master.cf's "smtp unix" maxproc caps the smtp slots in all: with
#     maxproc 4 and the per-destination limit at its default (20), 30
#     messages for slow.test go over at most 4 connections at once
#     (exactly 4; without the cap the window of 5 would allow 5);
#  3. idle smtp processes end after max_idle (2 s here): the 4 become 1,
#     and mail still goes out after that;
#  4. the destinations take turns: with only 2 smtp processes in all
#     (maxproc 2) and 40 messages for slow.test flowing over both (10 s of
#     work), one message for fast.test gets the next slot that frees, not
#     the one after the backlog (first come, first served would make it
#     wait for all 40);
#  5. local delivery as one destination: 200 messages for alice queued at
#     once, delivered by a mailbox_command that takes 0.05 s (2 local
#     slots, 50 waiting, the rest parked and given back), each arrive once.
# Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

SLOWPORT=10025
FASTPORT=10026
NSLOW=200
instance_setup "mynetworks = 127.0.0.0/8" \
	"transport_maps = hash:\$config_directory/transport" \
	"smtp_destination_concurrency_limit = 3"
export LC_ALL=C.UTF-8
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop slow; sink_stop fast; instance_teardown' EXIT
printf 'slow.test    smtp:[127.0.0.1]:%s\nfast.test    smtp:[127.0.0.1]:%s\n' \
	"$SLOWPORT" "$FASTPORT" >"$CONF/transport"
"$PETREL" map "hash:$CONF/transport"

declare -A SINKPID=([slow]= [fast]=)
# sink_start NAME PORT CONF-JSON: a fresh state dir $T/NAME each time.
sink_start() {
	local dir=$T/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	printf '%s\n' "$3" >"$dir/conf.json"
	$PY "$PETREL_SRCDIR/t/lib/smtpsink.py" 127.0.0.1 "$2" "$dir" 2>>"$T/$1.err" &
	SINKPID[$1]=$!
	wait_for 10 test -f "$dir/ready"
}
sink_stop() { [ -n "${SINKPID[$1]}" ] && kill "${SINKPID[$1]}" 2>/dev/null; SINKPID[$1]=; }
sink_count() { [ -f "$T/$1/mail.jsonl" ] && wc -l <"$T/$1/mail.jsonl" || echo 0; }
sink_has() { [ "$(sink_count "$1")" -ge "$2" ]; }
maxconc() { cat "$T/$1/maxconc" 2>/dev/null || echo 0; }
# The recipients the sink NAME got, each with its count, for those seen more than once.
sink_dups() {
	$PY -c "
import collections, json
c = collections.Counter(r for l in open('$T/$1/mail.jsonl') for r in json.loads(l)['rcpt_tos'])
print(' '.join('%s:%d' % (a, n) for a, n in sorted(c.items()) if n != 1))"
}
sink_rcpts() {
	$PY -c "
import json
print(len(set(r for l in open('$T/$1/mail.jsonl') for r in json.loads(l)['rcpt_tos'])))"
}
queue_empty() { [ "$(queued_total)" -eq 0 ]; }

sink_start slow "$SLOWPORT" '{"stall_data": 0.5}'
ok $? "slow sink (0.5 s before each answer to the dot) listens on 127.0.0.1:$SLOWPORT"
sink_start fast "$FASTPORT" '{}'
ok $? "fast sink listens on 127.0.0.1:$FASTPORT"

# ---- 1. one slow destination with a backlog, one message elsewhere ----
# The queue directories exist once the daemon ran.
"$PETREL" start >/dev/null 2>&1 && "$PETREL" stop >/dev/null 2>&1
for i in $(seq 1 $NSLOW); do
	printf 'Subject: slow %s\n\nx\n' "$i" | "$SENDMAIL" -f alice@host.example.com "s$i@slow.test" || break
done
is "$(queue_count maildrop)" "$NSLOW" "backlog: $NSLOW messages for slow.test wait in maildrop"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
wait_for 20 sink_has slow 1
ok $? "backlog: the slow destination gets mail"
START=$(date +%s)
printf 'Subject: fast\n\ny\n' | "$SENDMAIL" -f alice@host.example.com "f1@fast.test"
ok $? "one message for fast.test submitted"
wait_for 10 sink_has fast 1
ok $? "fast: the message for fast.test arrived within 10 s"
SLOWNOW=$(sink_count slow)
ELAPSED=$(($(date +%s) - START))
diag "fast.test's message took ${ELAPSED}s; slow.test had $SLOWNOW of $NSLOW then"
ok $([ "$SLOWNOW" -le $((NSLOW / 4)) ]; echo $?) \
	"fast: it did not wait for the backlog (slow.test had $SLOWNOW of $NSLOW)"
like "$(grep 'to=<f1@fast.test>' "$MAILLOG")" \
	"relay=127\.0\.0\.1\[127\.0\.0\.1\]:$FASTPORT, .*dsn=2\.0\.0, status=sent" "fast: logged as sent"
wait_for 90 sink_has slow $NSLOW
ok $? "backlog: all $NSLOW arrived at slow.test"
is "$(sink_rcpts slow)" "$NSLOW" "backlog: $NSLOW different recipients"
is "$(sink_dups slow)" "" "backlog: none twice"
is "$(sink_count fast)" 1 "fast: exactly one delivery"
is "$(maxconc slow)" 3 "backlog: slow.test held at most smtp_destination_concurrency_limit (3) connections at once"
is "$(grep -c 'nrcpt=1 (queue active)' "$MAILLOG")" $((NSLOW + 1)) \
	"each message entered active/ once (parked ones are not loaded twice)"
wait_for 20 queue_empty
ok $? "the queue is empty"
is "$(grep -c 'status=sent' "$MAILLOG")" $((NSLOW + 1)) "every delivery logged once as sent"

# ---- 2. master.cf's smtp unix maxproc caps the smtp slots ----
"$PETREL" stop >/dev/null 2>&1
sed -i '/^smtp_destination_concurrency_limit/d' "$CONF/main.cf"
echo "max_idle = 2s" >>"$CONF/main.cf"
printf 'smtp      unix  -       -       n       -       4       smtp\n' >>"$CONF/master.cf"
sink_stop slow
sink_start slow "$SLOWPORT" '{"stall_data": 0.5}'
ok $? "slow sink restarted (fresh counters)"
for i in $(seq 1 30); do
	printf 'Subject: capped %s\n\nx\n' "$i" | "$SENDMAIL" -f alice@host.example.com "c$i@slow.test" || break
done
is "$(queue_count maildrop)" 30 "maxproc: 30 messages wait in maildrop"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start with smtp unix maxproc 4"
wait_for 60 sink_has slow 30
ok $? "maxproc: the 30 arrived"
is "$(maxconc slow)" 4 "maxproc: at most 4 connections at once (the smtp service's process limit)"
is "$(sink_dups slow)" "" "maxproc: none twice"

# ---- 3. idle smtp processes end after max_idle ----
master_pid() { tr -dc 0-9 <"$QDIR/pid/master.pid" 2>/dev/null; }
smtp_procs() { pgrep -P "$(master_pid)" -x smtp | wc -l; }
smtp_procs_are() { [ "$(smtp_procs)" -eq "$1" ]; }
wait_for 20 smtp_procs_are 1
ok $? "max_idle: the idle smtp processes ended, one is left ($(smtp_procs))"
printf 'Subject: after\n\nz\n' | "$SENDMAIL" -f alice@host.example.com "f2@fast.test"
wait_for 20 sink_has fast 2
ok $? "max_idle: mail still goes out afterwards"

# ---- 4. round-robin over destinations when every slot is busy ----
"$PETREL" stop >/dev/null 2>&1
sed -i 's/^smtp      unix  -       -       n       -       4       smtp$/smtp      unix  -       -       n       -       2       smtp/' \
	"$CONF/master.cf"
is "$(grep -c '^smtp *unix .* 2 *smtp$' "$CONF/master.cf")" 1 "master.cf: smtp unix maxproc 2"
sink_stop slow
sink_start slow "$SLOWPORT" '{"stall_data": 0.5}'
ok $? "slow sink restarted (fresh counters)"
for i in $(seq 1 40); do
	printf 'Subject: turn %s\n\nx\n' "$i" | "$SENDMAIL" -f alice@host.example.com "t$i@slow.test" || break
done
is "$(queue_count maildrop)" 40 "turns: 40 messages for slow.test wait in maildrop"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start with smtp unix maxproc 2"
wait_for 20 sink_has slow 2
ok $? "turns: the backlog flows"
printf 'Subject: turn fast\n\nz\n' | "$SENDMAIL" -f alice@host.example.com "f3@fast.test"
wait_for 10 sink_has fast 3
ok $? "turns: the message for fast.test arrived"
SLOWNOW=$(sink_count slow)
ok $([ "$SLOWNOW" -le 20 ]; echo $?) "turns: it took the next free slot (slow.test had $SLOWNOW of 40)"
wait_for 60 sink_has slow 40
ok $? "turns: the 40 arrived"
is "$(maxconc slow)" 2 "turns: at most 2 connections at once"
is "$(sink_dups slow)" "" "turns: none twice"

# ---- 5. a local backlog is parked and given back too ----
"$PETREL" stop >/dev/null 2>&1
INBOX=$T/home/alice/in
mkdir -p "$INBOX"
chown 2001:2001 "$INBOX"
cat >"$T/slowbox.sh" <<EOF
#!/bin/sh
sleep 0.05
cat >"$INBOX/\$(date +%s%N).\$\$"
EOF
chmod 0755 "$T/slowbox.sh"
echo "mailbox_command = $T/slowbox.sh" >>"$CONF/main.cf"
for i in $(seq 1 $NSLOW); do
	printf 'Subject: local %s\n\nx\n' "$i" | "$SENDMAIL" -f bob@host.example.com alice || break
done
is "$(queue_count maildrop)" "$NSLOW" "local: $NSLOW messages for alice wait in maildrop"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
local_sent() { grep -c 'to=<alice@host.example.com>, .*status=sent' "$MAILLOG"; }
local_all() { [ "$(local_sent)" -ge "$NSLOW" ]; }
wait_for 90 local_all
ok $? "local: $NSLOW deliveries logged ($(local_sent))"
wait_for 20 queue_empty
ok $? "local: the queue is empty"
is "$(find "$INBOX" -type f | wc -l)" "$NSLOW" "local: $NSLOW messages delivered by the mailbox_command"
is "$(cat "$INBOX"/* | grep '^Subject: local ' | sort | uniq -d)" "" "local: none twice"
is "$(cat "$INBOX"/* | grep '^Subject: local ' | sort -u | wc -l)" "$NSLOW" "local: every one of them"

done_testing
