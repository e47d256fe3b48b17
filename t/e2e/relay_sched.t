#!/bin/bash
# t/e2e/relay_sched.t - scheduling of relayed mail against real servers
# (Python aiosmtpd, t/lib/smtpsink.py, and a server that takes the TCP
# connection and never says a word):
#  1. connection reuse: 5 messages for one destination queued while the
#     daemon is down, then delivered with smtp_destination_concurrency_limit
#     = 1: fewer SMTP connections than messages, the log says conn_use=N;
#  2. a dead destination: 200 messages for a server that never answers
#     queued together with 20 for a live one: the 20 arrive within a
#     bounded time, the dead destination is marked dead after a few
#     attempts and most of its messages are deferred without a connection
#     ("delivery temporarily suspended: ..."); petrel flush revives it.
# Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

SINKPORT=10025
DEADPORT=10027
instance_setup "relayhost = [127.0.0.1]:$SINKPORT" "mynetworks = 127.0.0.0/8" \
	"transport_maps = hash:\$config_directory/transport" \
	"smtp_destination_concurrency_limit = 1"
export LC_ALL=C.UTF-8
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop; silent_stop; instance_teardown' EXIT
printf 'dead.test    smtp:[127.0.0.1]:%s\n' "$DEADPORT" >"$CONF/transport"
"$PETREL" map "hash:$CONF/transport"

SINK=$T/sink
mkdir -p "$SINK"
sink_conns() { $PY -c "import json; print(len(set(json.loads(l)['conn'] for l in open('$SINK/mail.jsonl'))))"; }

# The nasty dead server: takes every connection, never answers; counts them.
SILENT=$T/silent
mkdir -p "$SILENT"
SILENTPID=
silent_start() {
	$PY - "$DEADPORT" "$SILENT" <<'EOF' 2>>"$SILENT/err" &
import os, socket, sys
port, state = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', port))
s.listen(512)
open(os.path.join(state, 'ready'), 'w').close()
held, n = [], 0
s.settimeout(600)
while True:
    c, _ = s.accept()
    held.append(c)
    n += 1
    with open(os.path.join(state, 'count.new'), 'w') as f:
        f.write('%d\n' % n)
    os.rename(os.path.join(state, 'count.new'), os.path.join(state, 'count'))
EOF
	SILENTPID=$!
	wait_for 10 test -f "$SILENT/ready"
}
silent_stop() { [ -n "$SILENTPID" ] && kill "$SILENTPID" 2>/dev/null; SILENTPID=; }
silent_count() { cat "$SILENT/count" 2>/dev/null || echo 0; }
log_count() { grep -Ec -- "$1" "$MAILLOG"; }
deferred_is() { [ "$(queue_count deferred)" -eq "$1" ]; }

sink_start
ok $? "aiosmtpd sink listens on 127.0.0.1:$SINKPORT"

# ---- 1. connection reuse ----
# The queue directories exist once the daemon ran.
"$PETREL" start >/dev/null 2>&1 && "$PETREL" stop >/dev/null 2>&1
for i in 1 2 3 4 5; do
	printf 'Subject: reuse %s\n\nbody %s\n' "$i" "$i" \
		| "$SENDMAIL" -f alice@host.example.com "r$i@remote.test" || break
done
is "$(queue_count maildrop)" 5 "reuse: 5 messages wait in maildrop while the daemon is down"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
wait_for 30 sink_has 5
ok $? "reuse: the sink got the 5 messages"
# The queue manager keeps a line only while mail for that nexthop waits
# (on demand): on a loaded machine the pickup may hand over the first
# message before the others, so "fewer connections than messages".
CONNS=$(sink_conns)
ok $([ "$CONNS" -ge 1 ] && [ "$CONNS" -lt 5 ]; echo $?) "reuse: 5 messages over fewer connections ($CONNS)"
like "$(grep -E 'to=<r[0-9]@remote\.test>, .*conn_use=' "$MAILLOG" | head -n 1)" \
	"petrel/smtp\[[0-9]+\]: [0-9A-F]{14}: to=<r[0-9]@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINKPORT, conn_use=[2-5], delay=[0-9.]+, delays=[0-9.]+/0/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 " \
	"reuse: a reused connection's delivery logs conn_use=N in Postfix's shape"
is "$(log_count 'to=<r[0-9]@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+, delay=')" "$CONNS" \
	"reuse: one delivery without conn_use= per connection"

# ---- 2. a dead destination does not stall the others ----
"$PETREL" stop >/dev/null 2>&1
{
	echo "smtp_destination_concurrency_limit = 20"
	echo "smtp_helo_timeout = 3s"
	echo "smtp_connect_timeout = 3s"
	echo "minimal_backoff_time = 600s"
	echo "maximal_backoff_time = 1200s"
} >>"$CONF/main.cf"
silent_start
ok $? "a silent server listens on 127.0.0.1:$DEADPORT"
N0=$(sink_count)
for i in $(seq 1 200); do
	printf 'Subject: dead %s\n\nx\n' "$i" | "$SENDMAIL" -f alice@host.example.com "d$i@dead.test" || break
done
for i in $(seq 1 20); do
	printf 'Subject: live %s\n\ny\n' "$i" | "$SENDMAIL" -f alice@host.example.com "l$i@live.test" || break
done
is "$(queue_count maildrop)" 220 "dead: 220 messages queued (200 dead, 20 live)"
START=$(date +%s)
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start"
wait_for 30 sink_has $((N0 + 20))
ok $? "dead: the 20 live messages arrived"
ELAPSED=$(($(date +%s) - START))
ok $([ "$ELAPSED" -le 20 ]; echo $?) "dead: within 20 s of the start (took ${ELAPSED}s)"
wait_for 60 deferred_is 200
ok $? "dead: the 200 messages for the dead destination wait in deferred/"
like "$(grep -E 'to=<d[0-9]+@dead\.test>.*status=deferred' "$MAILLOG" | head -n 1)" \
	"dsn=4\.4\.2, status=deferred \(" "dead: the first attempts time out (4.4.2)"
SUSP=$(log_count 'to=<d[0-9]+@dead\.test>, relay=none, .*status=deferred \(delivery temporarily suspended: ')
ok $([ "$SUSP" -ge 180 ]; echo $?) "dead: at least 180 deferred without a connection attempt ($SUSP)"
CONNS=$(silent_count)
ok $([ "$CONNS" -ge 1 ] && [ "$CONNS" -le 20 ]; echo $?) \
	"dead: the silent server saw between 1 and 20 connections ($CONNS)"
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
ok $(log_has "\[127\.0\.0\.1\]:$DEADPORT: delivery temporarily suspended: .* \(for 600s\)"; echo $?) \
	"dead: the queue manager logs the dead destination"
"$SENDMAIL" -bp >"$T/mailq" 2>&1
like "$(head -c 2000 "$T/mailq")" "delivery temporarily suspended" "dead: mailq shows the reason"

# petrel flush revives it: the messages are tried again (a connection each).
C0=$(silent_count)
"$PETREL" flush >/dev/null 2>&1
silent_more() { [ "$(silent_count)" -gt "$C0" ]; }
wait_for 20 silent_more
ok $? "dead: after petrel flush the destination is tried again"

done_testing
