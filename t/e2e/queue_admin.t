#!/bin/bash
# queue_admin.t - the administrator's queue operations, Postfix's
# postsuper -d/-h/-H/-r as "petrel queue delete|hold|release|requeue":
# messages for a relay that is down wait in deferred/; one is held
# (mailq shows it in hold, the queue manager leaves it), released, deleted
# by ID, by IDs on stdin, and the rest requeued once the relay (a real
# aiosmtpd server, t/lib/smtpsink.py) is up: delivered at once, the held
# and deleted ones never. A message deleted while it is being delivered
# (the relay stalls before answering the dot) is dropped when the attempt
# ends: no notice, no file left. Bad input: not a queue ID, an unknown
# ID, a queue a command does not take from, hold of an active message;
# each a clear message and exit status, nothing changed. Every wait is
# bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

SINKPORT=10025
instance_setup "relayhost = [127.0.0.1]:$SINKPORT" "mynetworks = 127.0.0.0/8" \
	"minimal_backoff_time = 1h" "maximal_backoff_time = 2h" "queue_run_delay = 1h" \
	"smtp_data_done_timeout = 30s"
SINK=$T/sink
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
trap 'sink_stop; instance_teardown' EXIT
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

send() {	# send SUBJECT: one message for the relay
	printf 'To: someone@remote.example\nSubject: %s\n\nbody\n' "$1" | "$SENDMAIL" -t -i
}
id_of() {	# id_of SUBJECT: the queue ID of the message with that subject
	grep -l "^Subject: $1\$" "$QDIR"/*/[0-9A-F]* 2>/dev/null | head -n 1 | xargs -r basename
}
where() {	# where ID: the queue directory that holds it ("" when none)
	local d
	for d in incoming active deferred hold; do
		[ -f "$QDIR/$d/$1" ] && { echo "$d"; return; }
	done
	echo ""
}
log_has() { grep -Eq -- "$1" "$MAILLOG"; }

for s in one two three four five; do send "$s"; done
all_deferred() { [ "$(queue_count deferred)" = 5 ]; }
wait_for 20 all_deferred
ok $? "five messages for a relay that is down wait in deferred/"
ONE=$(id_of one) TWO=$(id_of two) THREE=$(id_of three) FOUR=$(id_of four) FIVE=$(id_of five)
ok $([ -n "$ONE" ] && [ -n "$FIVE" ]; echo $?) "their queue IDs ($ONE ... $FIVE)"

# ---- hold ----
out=$("$PETREL" queue hold "$ONE" 2>&1)
ok $? "petrel queue hold ID: exit 0"
is "$out" "petrel queue: Placed on hold: 1 message" "... and Postfix's summary"
is "$(where "$ONE")" hold "... the message is in hold/"
like "$("$PETREL" queue list -j)" "\"queue_name\": \"hold\", \"queue_id\": \"$ONE\"" "mailq -j lists it in the hold queue"
wait_for 5 log_has "$ONE: placed on hold"
ok $? "... logged as '$ONE: placed on hold'"
out=$("$PETREL" queue hold "$ONE" 2>&1)
is "$?:$out" "1:petrel queue: $ONE: already on hold
petrel queue: Placed on hold: 0 messages" "held again: exit 1, says it is already on hold"

# ---- release ----
out=$("$PETREL" queue release "$ONE" 2>&1)
is "$?:$out" "0:petrel queue: Released from hold: 1 message" "petrel queue release ID"
back_deferred() { [ "$(where "$ONE")" = deferred ]; }
wait_for 20 back_deferred
ok $? "... the queue manager tries it at once; the relay is still down: deferred again"
out=$("$PETREL" queue release "$ONE" 2>&1)
is "$?:$out" "1:petrel queue: $ONE: not in the hold queue
petrel queue: Released from hold: 0 messages" "release of a message not held: exit 1"

# ---- delete ----
out=$("$PETREL" queue delete "$TWO" 2>&1)
is "$?:$out" "0:petrel queue: Deleted: 1 message" "petrel queue delete ID"
is "$(where "$TWO")" "" "... the file is gone"
ok $([ ! -e "$QDIR/defer/$TWO" ]; echo $?) "... and its delay reasons"
wait_for 5 log_has "$TWO: removed"
ok $? "... logged as '$TWO: removed'"
out=$(printf '%s\n\n%s\n' "$THREE" "$FOUR" | "$PETREL" queue delete - 2>&1)
is "$?:$out" "0:petrel queue: Deleted: 2 messages" "IDs on stdin (petrel queue delete -)"
is "$(where "$THREE")$(where "$FOUR")" "" "... both gone"

# ---- bad input: clear messages, nothing changed ----
out=$("$PETREL" queue delete 'not-an-id' 2>&1)
is "$?:$out" '1:petrel queue: "not-an-id" is not a queue ID
petrel queue: Deleted: 0 messages' "not a queue ID: exit 1"
out=$("$PETREL" queue delete 0123456789ABCD 2>&1)
is "$?:$out" "1:petrel queue: 0123456789ABCD: no such message
petrel queue: Deleted: 0 messages" "an unknown ID: exit 1"
out=$("$PETREL" queue hold ALL maildrop 2>&1)
is "$?:$out" '64:petrel queue: fatal: hold ALL: "maildrop" is not a queue it takes messages from' \
	"hold ALL with a queue it does not take from: usage error"
"$PETREL" queue delete >/dev/null 2>&1
is "$?" 64 "delete without an ID: usage error"
is "$(queue_count deferred)" 2 "after the bad commands the two messages are still deferred"

# ---- hold one, requeue the rest once the relay is up ----
"$PETREL" queue hold "$FIVE" >/dev/null 2>&1
sink_start
ok $? "the relay comes up (aiosmtpd on 127.0.0.1:$SINKPORT)"
out=$("$PETREL" queue requeue ALL 2>&1)
is "$?:$out" "0:petrel queue: Requeued: 1 message" "petrel queue requeue ALL: the deferred one"
wait_for 20 sink_has 1
ok $? "... delivered at once, without waiting for its retry time (1 h)"
is "$(sink_get 1 "r['data'].split(b'Subject: ')[1].split(b'\\n')[0].strip()")" one "... the message requeued"
is "$(where "$FIVE")" hold "the held one stays in hold/"
is "$(queue_count deferred)$(queue_count incoming)$(queue_count active)" 000 "nothing else left"
out=$("$PETREL" queue delete ALL hold 2>&1)
is "$?:$out" "0:petrel queue: Deleted: 1 message" "delete ALL hold"
is "$(queued_total)" 0 "the queue is empty"
is "$(sink_count)" 1 "the relay got only the requeued message"

# ---- delete during delivery ----
sink_conf '{"stall_data": 4}'
send six
SIX=
six_active() { SIX=$(id_of six); [ -n "$SIX" ] && [ "$(where "$SIX")" = active ]; }
wait_for 20 six_active
ok $? "a message being delivered (the relay stalls before answering the dot)"
out=$("$PETREL" queue hold "$SIX" 2>&1)
is "$?:$out" "1:petrel queue: $SIX: being delivered (active queue): try again when it is deferred
petrel queue: Placed on hold: 0 messages" "hold of an active message: refused, exit 1"
out=$("$PETREL" queue delete "$SIX" 2>&1)
is "$?:$out" "0:petrel queue: Deleted: 1 message" "delete of an active message"
wait_for 20 log_has "$SIX: removed \\(deleted from the queue during delivery\\)"
ok $? "the queue manager drops it when the attempt ends"
is "$(queued_total)" 0 "nothing left in the queue"
ok $([ -z "$(ls "$QDIR/defer")" ]; echo $?) "no delay reasons left behind"
unlike "$(cat "$MAILLOG")" "$SIX: sender (non-delivery|delay|delivery status) notification" "no notice for it"

done_testing
