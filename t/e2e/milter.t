#!/bin/bash
# milter.t - milters through SMTP and through sendmail: every action of a
# libmilter filter (t/milter/testfilter), skipped and no-reply steps,
# macros, two milters in order, a milter that is down, one that sleeps
# past the time-out, one that exits mid-message, bad packets from a
# broken filter, quarantine to hold/ and "petrel queue release", and
# opendkim signing what Petrel delivers (checked with python3-dkim).
# Runs as root in its own network namespace (t/harness); every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

TF=$PETREL_BUILDDIR/t/milter/testfilter
instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.0/8" \
	"milter_content_timeout = 3s" "milter_command_timeout = 3s" "milter_connect_timeout = 2s" \
	"milter_connect_macros = j {daemon_name} {daemon_addr} v {client_addr}"
mkdir -p "$T/m"
chmod 0755 "$T/m"
cp /dev/null "$T/aliases"

# The filters: name socket actions [extra options].
PIDS=()
filter() {	# filter NAME SOCKET ACTIONS [OPTIONS...]
	local name=$1 sock=$2 acts=$3; shift 3
	"$TF" -p "$sock" -n "$name" -a "$acts" "$@" >"$T/m/$name.log" 2>&1 &
	PIDS+=($!)
}
sock_ready() {
	case $1 in
	unix:*) [ -S "${1#unix:}" ] ;;
	inet:*) $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$2" 2>/dev/null ;;
	esac
}
stop_filters() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}
cleanup() { stop_filters; instance_teardown; }
trap cleanup EXIT

U=unix:$T/m
filter hdr "$U/hdr.sock" addheader
filter rej "$U/rej.sock" reject
filter tmp "$U/tmp.sock" tempfail
filter dis "$U/dis.sock" discard
filter cus "$U/cus.sock" custom-reply -s rcpt
filter chg "$U/chg.sock" chgheader,insheader
filter rcp "$U/rcp.sock" delrcpt,addrcpt-par -r bob@host.example.com -d alice@host.example.com
filter body "$U/body.sock" replbody
filter from "$U/from.sock" chgfrom -r changed@example.net
filter quar "$U/quar.sock" quarantine
filter one "inet:7701@127.0.0.1" addheader
filter two "$U/two.sock" addheader
filter slp "$U/slp.sock" sleep -t 8
filter mid "$U/mid.sock" exit-mid
filter skp "$U/skp.sock" skip-steps,progress
filter rr "$U/rr.sock" reject-rcpt -r bob@host.example.com
filter ns "$U/ns.sock" addheader
filter unk "$U/unk.sock" reject-unknown
for s in hdr rej tmp dis cus chg rcp body from quar two slp mid skp rr ns unk; do
	wait_for 10 sock_ready "$U/$s.sock" || diag "filter $s did not start: $(cat "$T/m/$s.log")"
done
wait_for 10 sock_ready inet 7701 || diag "filter one did not start"

# One SMTP service per scenario.
{
	echo "smtp      inet  n       -       n       -       -       smtpd"
	port=2500
	for spec in "$U/hdr.sock" "$U/rej.sock" "$U/tmp.sock" "$U/dis.sock" "$U/cus.sock" \
		"$U/chg.sock" "$U/rcp.sock" "$U/body.sock" "$U/from.sock" "$U/quar.sock" \
		"inet:7701@127.0.0.1,$U/two.sock" "$U/down.sock" "$U/slp.sock" "$U/mid.sock" \
		"$U/skp.sock" "$U/rr.sock"; do
		port=$((port + 1))
		echo "127.0.0.1:$port inet n - n - - smtpd -o smtpd_milters=$spec"
	done
	echo "127.0.0.1:2520 inet n - n - - smtpd -o smtpd_milters=$U/down.sock -o milter_default_action=accept"
	echo "127.0.0.1:2521 inet n - n - - smtpd -o smtpd_milters=$U/mid.sock -o milter_default_action=accept"
	echo "127.0.0.1:2522 inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:7702 -o milter_default_action=accept -o message_size_limit=100000"
	echo "127.0.0.1:2523 inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:7702"
	echo "127.0.0.1:2524 inet n - n - - smtpd -o smtpd_milters=$U/down.sock -o milter_default_action=quarantine"
	echo "127.0.0.1:2525 inet n - n - - smtpd -o smtpd_milters=$U/hdr.sock -o milter_protocol=2"
	echo "127.0.0.1:2526 inet n - n - - smtpd -o smtpd_milters=$U/unk.sock"
	echo "pickup    unix  n       -       n       60      1       pickup"
} >"$CONF/master.cf"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || cat "$T/start.err"

# send PORT SUBJECT [TO...]: one message through swaks; prints the transcript.
send() {
	local port=$1 subj=$2; shift 2
	local to=${*:-alice@host.example.com}
	timeout 30 swaks --server 127.0.0.1:"$port" --from sender@example.org --to "${to// /,}" \
		--header "Subject: $subj" --header "X-Delete-Me: yes" --body "body of $subj" 2>&1
}
# msg USER SUBJECT: the delivered message with that subject (empty when none).
# msg USER SUBJECT [N]: the Nth message (1 = first) in USER's mbox with
# that Subject; has_msg USER SUBJECT [N]: there is one.
msg() {
	$PY - "$T/spool/$1" "$2" "${3:-1}" <<'EOF'
import mailbox, sys
try:
    box = mailbox.mbox(sys.argv[1], create=False)
    n = int(sys.argv[3])
    for m in box:
        if m['Subject'] == sys.argv[2]:
            n -= 1
            if n == 0:
                sys.stdout.write(m.get_from() + '\n' + m.as_string())
                break
except FileNotFoundError:
    pass
EOF
}
has_msg() { [ -n "$(msg "$@")" ]; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }

# --- addheader, macros ---
out=$(send 2501 "t-hdr")
like "$out" '250 2\.0\.0 Ok: queued as [0-9A-F]{14}' "addheader: queued"
qid=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-F]\{14\}\).*/\1/p' | head -1)
wait_for 10 has_msg alice t-hdr
got=$(msg alice t-hdr)
like "$got" "X-Test-hdr: saw=Received,Date,To,From,Subject,Message-Id,X-Mailer,X-Delete-Me client=127\.0\.0\.1 i=$qid from=<?sender@example\.org>? rcpt=alice@host\.example\.com daemon=host\.example\.com j=host\.example\.com" \
	"addheader: the header added, with the headers it saw and the macros {client_addr} i {mail_addr} {rcpt_addr} {daemon_name} j"
like "$got" 'body of t-hdr' "addheader: body kept"
send 2525 "t-proto2" >/dev/null
wait_for 10 has_msg alice t-proto2
like "$(msg alice t-proto2)" 'X-Test-hdr: saw=Received,' "milter_protocol = 2: the filter works with the older protocol"

# --- reject, tempfail, discard, custom reply ---
before=$(queued_total)
out=$(send 2502 "t-rej")
like "$out" '<\*\* +550 5\.7\.1 Command rejected' "reject at end of message: 550 5.7.1"
out=$(send 2503 "t-tmp")
like "$out" '<\*\* +451 4\.7\.1 Service unavailable - try again later' "tempfail: 451 4.7.1"
is "$(queued_total)" "$before" "nothing queued for reject or tempfail"
like "$(cat "$MAILLOG")" '[0-9A-F]{14}: milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 550 5\.7\.1 Command rejected' "reject logged"
out=$(send 2504 "t-dis")
like "$out" '250 2\.0\.0 Ok: queued as' "discard: the client hears 250"
wait_for 5 log_has 'milter-discard: END-OF-MESSAGE'
ok $? "discard logged"
out=$(send 2505 "t-cus")
like "$out" '<\*\* +553 5\.7\.9 custom rejection by cus' "custom reply code and text at RCPT"

# --- header changes, recipients, body, sender ---
send 2506 "t-chg" >/dev/null
wait_for 10 has_msg alice "changed by chg"
got=$(msg alice "changed by chg")
is "$(msg alice "changed by chg" | sed -n 5p)" "X-Inserted-chg: first" "insheader at index 0: the first header (after those of local delivery)"
unlike "$got" 'X-Delete-Me' "chgheader with no value removes the header"
like "$got" 'Subject: changed by chg' "chgheader changes Subject"
send 2507 "t-rcp" >/dev/null
wait_for 10 has_msg bob t-rcp
ok $? "addrcpt_par: the added recipient gets it"
ok "$(has_msg alice t-rcp; echo $((1 - $?)))" "delrcpt: the deleted recipient does not"
send 2508 "t-body" >/dev/null
wait_for 10 has_msg alice t-body
got=$(msg alice t-body)
like "$got" $'\n\nreplaced by body$' "replbody replaces the body"
unlike "$got" 'body of t-body' "the old body is gone"
send 2509 "t-from" >/dev/null
wait_for 10 has_msg alice t-from
like "$(msg alice t-from | head -1)" '^changed@example\.net ' "chgfrom changes the envelope sender"

# --- quarantine: hold/, mailq, release ---
out=$(send 2510 "t-quar")
qid=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-F]\{14\}\).*/\1/p' | head -1)
is "$(queue_count hold)" 1 "quarantine: the message waits in hold/"
like "$(cat "$MAILLOG")" "$qid: milter-hold: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: held by quar" "quarantine logged with the reason"
like "$("$PETREL" queue list -p 2>&1)" "^$qid!" "mailq (Postfix layout) marks it with !"
like "$("$SENDMAIL" -bp 2>&1)" "QUARANTINE: held by quar" "mailq (Sendmail layout) shows the quarantine reason"
ok "$(has_msg alice t-quar; echo $((1 - $?)))" "a held message is not delivered"
out=$("$PETREL" queue release "$qid" 2>&1)
is "$out" "petrel queue: Released from hold: 1 message" "petrel queue release"
wait_for 10 has_msg alice t-quar
ok $? "released: delivered"
"$PETREL" queue release "$qid" >/dev/null 2>&1
is $? 1 "release of a message not held: exit 1"

# --- two milters in order ---
send 2511 "t-two" >/dev/null
wait_for 10 has_msg alice t-two
got=$(msg alice t-two)
like "$got" 'X-Test-one: saw=Received,' "first milter (inet:port@host) added its header"
like "$got" 'X-Test-two: saw=Received,[^ ]*X-Delete-Me,X-Test-one ' "the second milter saw the first one's header"

# --- a milter that is down, one past its time-out, one that exits mid-message ---
out=$(send 2512 "t-down")
like "$out" '<\*\* +451 4\.7\.1 Service unavailable - try again later' "milter down, default tempfail: 451 4.7.1"
like "$(cat "$MAILLOG")" "warning: milter $U/down.sock: connect: connect to $T/m/down.sock: No such file" "the log names the milter that is down"
send 2520 "t-down-accept" >/dev/null
wait_for 10 has_msg alice t-down-accept
ok $? "milter down, milter_default_action = accept: delivered"
before=$(queue_count hold)
out=$(send 2524 "t-down-quarantine")
like "$out" '250 2\.0\.0 Ok: queued as' "milter down, milter_default_action = quarantine: accepted"
is "$(queue_count hold)" $((before + 1)) "... into hold/"
out=$(send 2513 "t-slp")
like "$out" '<\*\* +451 4\.7\.1 Service unavailable' "milter past milter_content_timeout: 451 4.7.1"
like "$(cat "$MAILLOG")" "warning: milter $U/slp.sock: END-OF-MESSAGE: time-out while waiting for a reply \(3000 ms\)" "time-out logged with the milter and the step"
out=$(send 2514 "t-mid")
like "$out" '<\*\* +451 4\.7\.1 Service unavailable' "milter exits mid-message: 451 4.7.1"
like "$(cat "$MAILLOG")" "warning: milter $U/mid.sock: (BODY|END-OF-MESSAGE): connection closed by the milter" "the crash is logged"
filter mid2 "$U/mid.sock" exit-mid
wait_for 10 sock_ready "$U/mid.sock"
out=$(timeout 30 swaks --server 127.0.0.1:2521 --from s@example.org --to alice@host.example.com \
	--header "Subject: t-mid-accept" --body "kept" 2>&1)
like "$out" '250 2\.0\.0 Ok: queued as' "exit mid-message under default accept: queued"
wait_for 10 has_msg alice t-mid-accept
ok $? "... and delivered unchanged"

# --- skipped steps, no-reply steps, progress ---
send 2515 "t-skp" >/dev/null
wait_for 10 has_msg alice t-skp
like "$(msg alice t-skp)" 'X-Skip-skp: connect=0 helo=0 headers=8' "NOCONNECT/NOHELO skipped, NR_HDR/NR_RCPT not waited for, PROGRESS taken"

# --- a recipient rejected, the other kept ---
out=$(send 2516 "t-rr" alice@host.example.com bob@host.example.com)
like "$out" '<\*\* +550 5\.1\.1 recipient refused by filter' "RCPT rejected by the filter"
wait_for 10 has_msg alice t-rr
ok $? "the other recipient gets the message"

# --- an unknown command goes to the milters ---
out=$(timeout 20 $PY - <<'PY' 2>&1
import smtplib
s = smtplib.SMTP('127.0.0.1', 2526, timeout=10)
s.ehlo('x')
print(s.docmd('FOOBAR', 'baz'))
s.quit()
s = smtplib.SMTP('127.0.0.1', 25, timeout=10)
print(s.docmd('FOOBAR', 'baz'))
s.quit()
PY
)
like "$out" "\(550, b'5\.5\.1 unknown command refused by unk'\)" "an unknown command answered by the milter's reply"
like "$out" "\(500, b'5\.5\.2 Error: command not recognized'\)" "without milters: 500 as before"

# --- bad packets from a broken filter (Python, raw protocol) ---
cat >"$T/badmilter.py" <<'PY'
import socket, struct, sys
mode, ready = sys.argv[1], sys.argv[2]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', 7702)); srv.listen(8); srv.settimeout(60)
open(ready, 'w').close()
def pkt(code, data=b''):
    return struct.pack('>I', len(data) + 1) + code + data
def readpkt(f):
    try:
        h = f.read(4)
        if len(h) < 4: return None, None
        n = struct.unpack('>I', h)[0]; d = f.read(n)
    except OSError:
        return None, None
    return d[:1], d[1:]
for _ in range(20):
    try: c, _ = srv.accept()
    except socket.timeout: break
    f = c.makefile('rb')
    try:
        while True:
            code, data = readpkt(f)
            if code is None: break
            if code == b'O':
                c.sendall(pkt(b'O', struct.pack('>III', 6, 0x1ff, 0)))
            elif code == b'E':
                if mode == 'oversized': c.sendall(struct.pack('>I', 0x7fffffff) + b'h')
                elif mode == 'unknown': c.sendall(pkt(b'Z'))
                elif mode == 'nul': c.sendall(pkt(b'h', b'X-Bad\0va\0lue\0'))
                elif mode == 'bigbody': c.sendall(pkt(b'b', b'x' * 60000) * 3)
                c.sendall(pkt(b'c'))
            elif code in (b'A', b'D', b'Q'):
                if code == b'Q': break
            else:
                c.sendall(pkt(b'c'))
    except OSError:
        pass
    c.close()
PY
# The filter says it listens by creating a file (a probe connection would
# use up one of its turns).
start_badmilter() {
	rm -f "$T/bad.ready"
	$PY "$T/badmilter.py" "$1" "$T/bad.ready" &
	bad=$!
	wait_for 20 test -e "$T/bad.ready" || diag "the bad filter ($1) did not start"
}
for mode in oversized unknown nul bigbody; do
	start_badmilter $mode
	out=$(timeout 30 swaks --server 127.0.0.1:2522 --from s@example.org --to alice@host.example.com \
		--header "Subject: t-bad-$mode" --body "kept $mode" 2>&1)
	like "$out" '250 2\.0\.0 Ok: queued as' "bad packet ($mode), default accept: message queued"
	wait_for 10 has_msg alice "t-bad-$mode"
	ok $? "bad packet ($mode): delivered unchanged"
	kill $bad 2>/dev/null; wait $bad 2>/dev/null
done
like "$(cat "$MAILLOG")" 'milter inet:127\.0\.0\.1:7702: END-OF-MESSAGE: packet length 2147483647' "oversized packet logged"
like "$(cat "$MAILLOG")" "milter inet:127\.0\.0\.1:7702: END-OF-MESSAGE: unknown reply code 'Z'" "unknown reply code logged"
like "$(cat "$MAILLOG")" 'milter inet:127\.0\.0\.1:7702: END-OF-MESSAGE: ADDHEADER: more than 2 strings' "header with a NUL logged"
like "$(cat "$MAILLOG")" 'milter inet:127\.0\.0\.1:7702: END-OF-MESSAGE: body replacement over message_size_limit' "body replacement over the limit logged"
unlike "$(msg alice t-bad-nul)" 'X-Bad' "the bad header is not added"
start_badmilter unknown
out=$(timeout 30 swaks --server 127.0.0.1:2523 --from s@example.org --to alice@host.example.com \
	--header "Subject: t-bad-tempfail" 2>&1)
like "$out" '<\*\* +451 4\.7\.1' "bad packet under default tempfail: 451"
kill $bad 2>/dev/null; wait $bad 2>/dev/null

# --- non_smtpd_milters: mail from sendmail -t ---
# A restart, not a reload: the submission service must have the new list
# before the next message (a reload reaches it some time later).
ns_use() {
	"$PETREL" conf -e "non_smtpd_milters = $1" >/dev/null
	"$PETREL" stop >/dev/null 2>&1
	"$PETREL" start >/dev/null 2>&1
}
ns_use "$U/ns.sock"
printf 'To: alice@host.example.com\nSubject: t-ns\n\nfrom sendmail\n' | "$SENDMAIL" -t -f sender@example.org
is $? 0 "sendmail -t with non_smtpd_milters: exit 0"
wait_for 10 has_msg alice t-ns
like "$(msg alice t-ns)" 'X-Test-ns: saw=Received,To,Subject,Message-Id,Date,From client=127\.0\.0\.1 i=[0-9A-F]{14} from=<?sender@example\.org>? rcpt=alice@host\.example\.com' \
	"the milter saw a connection from 127.0.0.1 and the cleaned-up headers"

# A rejection of mail from sendmail becomes a bounce to the sender.
ns_use "$U/rej.sock"
printf 'To: bob@host.example.com\nSubject: t-ns-rej\n\nrefused\n' | "$SENDMAIL" -t -f alice@host.example.com
is $? 0 "sendmail -t, non_smtpd milter rejects: exit 0 (the sender gets a bounce)"
wait_for 10 has_msg alice "Undelivered Mail Returned to Sender"
ok $? "the bounce is delivered to the sender"
got=$(msg alice "Undelivered Mail Returned to Sender")
like "$got" 'Status: 5\.7\.1' "the bounce carries the milter's status"
like "$got" 'Command rejected' "... and its reply text"
ok "$(has_msg bob t-ns-rej; echo $((1 - $?)))" "the rejected message is not delivered"

# More actions on mail from sendmail -t.
ns_send() {	# ns_send SUBJECT: exit status of sendmail -t
	printf 'To: alice@host.example.com\nSubject: %s\nX-Delete-Me: 1\n\noriginal body\n' "$1" |
		"$SENDMAIL" -t -f sender@example.org
}
ns_use "$U/chg.sock $U/body.sock"
ns_send t-ns-chg
is $? 0 "sendmail -t through two milters (chgheader+insheader, replbody): exit 0"
# The SMTP message t-chg above got the same Subject from the chg milter: this is the second.
wait_for 10 has_msg alice "changed by chg" 2
got=$(msg alice "changed by chg" 2)
like "$got" 'X-Inserted-chg: first' "sendmail -t: header inserted"
like "$got" $'\n\nreplaced by body$' "sendmail -t: body replaced by the second milter"
unlike "$got" 'X-Delete-Me|original body' "sendmail -t: header removed, old body gone"
ns_use "$U/quar.sock"
before=$(queue_count hold)
ns_send t-ns-quar
is $? 0 "sendmail -t, quarantine: exit 0"
is "$(queue_count hold)" $((before + 1)) "sendmail -t, quarantine: in hold/"
ns_use "$U/dis.sock"
ns_send t-ns-dis
is $? 0 "sendmail -t, discard: exit 0"
wait_for 5 log_has 'milter-discard: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]'
ok $? "sendmail -t, discard: logged"
ok "$(has_msg alice t-ns-dis; echo $((1 - $?)))" "sendmail -t, discard: not delivered"
ns_use "$U/tmp.sock"
ns_send t-ns-tmp 2>"$T/ns-tmp.err"
is $? 75 "sendmail -t, tempfail: exit 75 (EX_TEMPFAIL), nothing queued"
like "$(cat "$T/ns-tmp.err")" '451 4\.7\.1' "... the reason on stderr"
ns_use ""

stop_filters
done_testing
