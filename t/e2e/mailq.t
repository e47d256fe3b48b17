#!/bin/bash
# t/e2e/mailq.t - the queue listing: mailq / sendmail -bp, byte for byte
# (spec/mailq-format.md): Sendmail's layout (the default) and what
# monitoring-plugins' check_mailq reads from it, Postfix's layout
# (mailq_output_format = postfix), mailq -j, and who may list the queue
# with the daemon up or down.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup_hold
export LC_ALL=C
MAILQ=$T/mailq
ln -s "$SENDMAIL" "$MAILQ"

# expected FORMAT: the listing the spec gives for what is in the queue,
# computed from the queue files (T, S, L and RT records).
expected() {
	$PY - "$QDIR" "$1" <<'EOF'
import os, re, sys, time
qdir, fmt = sys.argv[1], sys.argv[2]
msgs = []
for d in ('maildrop', 'incoming', 'active', 'deferred', 'hold'):
    try:
        names = os.listdir(os.path.join(qdir, d))
    except FileNotFoundError:
        continue
    for n in names:
        if not re.fullmatch(r'[0-9A-F]{14}', n):
            continue
        rec, rcpts = {}, []
        with open(os.path.join(qdir, d, n), 'rb') as f:
            for line in f:
                line = line.rstrip(b'\n').decode()
                if line == 'D':
                    break
                if line.startswith('RT '):
                    rcpts.append(line.split(' ', 3)[3])
                elif len(line) >= 2 and line[1] == ' ':
                    rec[line[0]] = line[2:]
        sec, usec = rec['T'].split('.')
        msgs.append((int(sec), int(usec), n, rec.get('S', ''), int(rec['L']), rcpts))
msgs.sort()
out = []
if fmt == 'sendmail':
    if not msgs:
        out.append('%s/mqueue is empty' % qdir)
    else:
        out.append('\t\t%s/mqueue (%d request%s)' % (qdir, len(msgs), '' if len(msgs) == 1 else 's'))
        out.append('-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------')
    for sec, usec, qid, sender, size, rcpts in msgs:
        out.append('%13s %8d %.16s <%s>' % (qid, size, time.ctime(sec), sender)
                   + ''.join('\n\t\t\t\t\t <%s>' % r for r in rcpts))
    out.append('\t\tTotal requests: %d' % len(msgs))
else:
    # Postfix's long-queue-ID layout (Petrel's IDs are 14 characters).
    if not msgs:
        out.append('Mail queue is empty')
    else:
        out.append('%-17s %8s %-19s %s' % ('----Queue ID-----', '--Size--',
                                          '---Arrival Time----', '--Sender/Recipient------'))
        blocks = []
        for sec, usec, qid, sender, size, rcpts in msgs:
            blocks.append('%-17s %8d %19.19s %s' % (qid, size, time.ctime(sec), sender or 'MAILER-DAEMON')
                          + ''.join('\n%-17s %8s %-19s %s' % ('', '', '', r) for r in rcpts))
        out.append('\n\n'.join(blocks))
        total = sum(m[4] for m in msgs)
        out.append('\n-- %d Kbytes in %d Request%s.' % (total // 1024, len(msgs), '' if len(msgs) == 1 else 's'))
sys.stdout.write('\n'.join(out) + '\n')
EOF
}

# same GOT-FILE WANT-FILE NAME: byte-for-byte equality.
same() {
	if cmp -s "$1" "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diff -u <(cat -A "$2") <(cat -A "$1") | sed 's/^/#   /'
	fi
}

# check_mailq's Sendmail parser (monitoring-plugins 2.3.3): a line that
# matches /mqueue/ and / \((\d+) request/ gives the count; a line that
# matches /^\s+Total\sRequests:\s(\d+)$/i overrides it.
check_mailq_sendmail() {
	perl -ne 'if (/mqueue/ && / \((\d+) request/) { $n = $1 }
		if (/^\s+Total\sRequests:\s(\d+)$/i) { $n = $1 }
		END { print defined $n ? $n : "undef" }' "$1"
}
# The header line alone (without the Total line).
check_mailq_header() {
	perl -ne 'if (/mqueue/ && / \((\d+) request/) { $n = $1 } END { print defined $n ? $n : "undef" }' "$1"
}
# Its Postfix parser: the last line, /Kbytes in (\d+)/ or /Mail queue is empty/.
check_mailq_postfix() {
	tail -n 1 "$1" | perl -ne 'if (/Kbytes in (\d+)/) { print $1 } elsif (/Mail queue is empty/) { print 0 } else { print "unknown" }'
}

"$PETREL" start 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

# ---- Sendmail layout, empty queue ----
"$MAILQ" >"$T/got" 2>"$T/err"
is "$?" 0 "mailq, empty queue: exit 0"
printf '%s/mqueue is empty\n\t\tTotal requests: 0\n' "$QDIR" >"$T/want"
same "$T/got" "$T/want" "mailq, empty queue: \"$QDIR/mqueue is empty\" then \"\\t\\tTotal requests: 0\""
is "$(cat "$T/err")" "" "mailq, empty queue: nothing on stderr"
is "$(check_mailq_sendmail "$T/got")" 0 "check_mailq (sendmail parser) reads 0"

# ---- one message ----
printf 'Subject: one\n\nfirst\n' | "$SENDMAIL" -f sender@example.com alice@example.org
ok $? "first message queued"
"$MAILQ" >"$T/got1" 2>"$T/err"
is "$?" 0 "mailq, 1 message: exit 0"
expected sendmail >"$T/want"
same "$T/got1" "$T/want" "mailq, 1 message: Sendmail layout byte for byte"
is "$(sed -n 1p "$T/got1")" "$(printf '\t\t%s/mqueue (1 request)' "$QDIR")" "mailq, 1 message: header \"(1 request)\""
is "$(tail -n 1 "$T/got1")" "$(printf '\t\tTotal requests: 1')" "mailq, 1 message: last line \"\\t\\tTotal requests: 1\""
is "$(check_mailq_sendmail "$T/got1")" 1 "check_mailq (sendmail parser) reads 1"

# ---- two messages ----
printf 'Subject: two\n\nsecond\n' | "$SENDMAIL" bob@example.net carol@example.net
ok $? "second message queued (two recipients)"
"$MAILQ" >"$T/got2" 2>"$T/err"
is "$?" 0 "mailq, 2 messages: exit 0"
expected sendmail >"$T/want"
same "$T/got2" "$T/want" "mailq, 2 messages: Sendmail layout byte for byte"
is "$(sed -n 1p "$T/got2")" "$(printf '\t\t%s/mqueue (2 requests)' "$QDIR")" "header \"\\t\\t$QDIR/mqueue (2 requests)\""
is "$(sed -n 2p "$T/got2")" "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------" \
	"column heading exact"
is "$(grep -cE '^[0-9A-F]{14} ' "$T/got2")" 2 "two ID lines starting with 14 [0-9A-F]"
like "$(grep -E '^[0-9A-F]{14}' "$T/got2" | head -n 1)" \
	'^[0-9A-F]{14}  +[0-9]+ (Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2} <sender@example\.com>$' \
	"first ID line: ID, size, Q-Time, <sender>"
is "$(grep -cP '^\t{5} <[^<>]+@[^<>]+>$' "$T/got2")" 3 "three recipient lines of 5 tabs, a space and <addr>"
is "$(grep -P '^\t{5} <' "$T/got2" | tr -d '\t')" "$(printf ' <alice@example.org>\n <bob@example.net>\n <carol@example.net>')" \
	"recipients in queue order"
is "$(tail -n 1 "$T/got2")" "$(printf '\t\tTotal requests: 2')" "last line \"\\t\\tTotal requests: 2\""
is "$(check_mailq_sendmail "$T/got2")" 2 "check_mailq (sendmail parser) reads 2"
is "$(check_mailq_header "$T/got2")" 2 "check_mailq's /mqueue/ + / \\((\\d+) request/ alone reads 2"
is "$("$MAILQ" | grep -c '^[0-9A-F]')" 2 "mailq | grep -c '^[0-9A-F]' counts 2"

"$SENDMAIL" -bp >"$T/bp" 2>"$T/err"
is "$?" 0 "sendmail -bp: exit 0"
same "$T/bp" "$T/got2" "sendmail -bp prints what mailq prints"

# ---- mailq -j ----
"$MAILQ" -j >"$T/json" 2>"$T/err"
is "$?" 0 "mailq -j: exit 0"
jcheck=$($PY - "$T/json" "$QDIR" <<'EOF'
import json, os, sys
lines = open(sys.argv[1], encoding='utf-8').read().splitlines()
qdir = sys.argv[2]
out = []
ids = sorted(os.listdir(os.path.join(qdir, 'incoming')))
objs = []
for l in lines:
    try:
        objs.append(json.loads(l))
    except ValueError as e:
        print('bad JSON line %r: %s' % (l, e))
        sys.exit(0)
print('lines=%d' % len(objs))
keys = {'queue_name', 'queue_id', 'arrival_time', 'message_size', 'forced_expire', 'sender', 'recipients'}
for o in objs:
    missing = keys - set(o)
    if missing:
        print('missing keys %s' % sorted(missing))
    path = os.path.join(qdir, o.get('queue_name', '?'), o.get('queue_id', '?'))
    rec = {}
    rcpts = []
    try:
        for line in open(path, 'rb'):
            line = line.rstrip(b'\n').decode()
            if line == 'D':
                break
            if line.startswith('RT '):
                rcpts.append(line.split(' ', 3)[3])
            elif len(line) > 1 and line[1] == ' ':
                rec[line[0]] = line[2:]
    except OSError:
        print('no queue file %s' % path)
        continue
    checks = [
        ('queue_name', o.get('queue_name') == 'incoming'),
        ('arrival_time', o.get('arrival_time') == int(rec['T'].split('.')[0]) and type(o.get('arrival_time')) is int),
        ('message_size', o.get('message_size') == int(rec['L'])),
        ('forced_expire', o.get('forced_expire') is False),
        ('sender', o.get('sender') == rec.get('S')),
        ('recipients', [r.get('address') for r in o.get('recipients', [])] == rcpts),
    ]
    for k, good in checks:
        if not good:
            print('%s wrong in %s' % (k, json.dumps(o)))
print('ids=' + ' '.join(sorted(o.get('queue_id', '?') for o in objs)))
print('want=' + ' '.join(ids))
EOF
)
is "$(echo "$jcheck" | grep -v '^ids=\|^want=')" "lines=2" "mailq -j: one JSON object per line, 2 lines, keys and values match the queue files"
is "$(echo "$jcheck" | sed -n 's/^ids=//p')" "$(echo "$jcheck" | sed -n 's/^want=//p')" "mailq -j: the queue IDs of incoming/"

# ---- who may list ----
run_as alice "$MAILQ" >"$T/alice" 2>"$T/err"
is "$?" 0 "mailq as alice, daemon up: exit 0"
same "$T/alice" "$T/got2" "mailq as alice, daemon up: the same listing"

"$PETREL" stop 2>/dev/null
ok $? "petrel stop"

"$MAILQ" >"$T/down" 2>"$T/err"
is "$?" 0 "mailq as root, daemon down: exit 0"
same "$T/down" "$T/got2" "mailq as root, daemon down: the same listing, read from the queue"
like "$(cat "$T/err")" "Mail system is down -- accessing queue directly" \
	"mailq as root, daemon down: warns on stderr"

run_as alice "$MAILQ" >"$T/alice" 2>"$T/err"
is "$?" 69 "mailq as alice, daemon down: exit 69"
is "$(cat "$T/alice")" "" "mailq as alice, daemon down: no listing"
like "$(cat "$T/err")" "Queue report unavailable - mail system is down" \
	"mailq as alice, daemon down: says the mail system is down"

# ---- Postfix layout ----
echo "mailq_output_format = postfix" >>"$CONF/main.cf"
"$MAILQ" >"$T/pf" 2>/dev/null
is "$?" 0 "postfix layout, daemon down: exit 0"
expected postfix >"$T/want"
same "$T/pf" "$T/want" "postfix layout (2 messages), root, daemon down: byte for byte"
is "$(sed -n 1p "$T/pf")" "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------" \
	"postfix layout: heading (long queue IDs)"
like "$(tail -n 1 "$T/pf")" '^-- [0-9]+ Kbytes in 2 Requests\.$' "postfix layout: \"-- N Kbytes in 2 Requests.\""
is "$(check_mailq_postfix "$T/pf")" 2 "check_mailq (postfix parser) reads 2"

"$PETREL" start 2>/dev/null
ok $? "petrel start with mailq_output_format = postfix"
"$MAILQ" >"$T/pfup" 2>"$T/err"
is "$?" 0 "postfix layout, daemon up: exit 0"
same "$T/pfup" "$T/want" "postfix layout, daemon up: the same listing"
run_as alice "$MAILQ" >"$T/alice" 2>/dev/null
same "$T/alice" "$T/want" "postfix layout as alice, daemon up: the same listing"

rm -f "$(queue_files incoming | head -n 1)"
"$MAILQ" >"$T/pf1"
expected postfix >"$T/want"
same "$T/pf1" "$T/want" "postfix layout, 1 message: byte for byte"
like "$(tail -n 1 "$T/pf1")" '^-- [0-9]+ Kbytes in 1 Request\.$' "postfix layout: \"-- N Kbytes in 1 Request.\""

for f in $(queue_files incoming); do rm -f "$f"; done
"$MAILQ" >"$T/pf0"
printf 'Mail queue is empty\n' >"$T/want"
same "$T/pf0" "$T/want" "postfix layout, empty queue: \"Mail queue is empty\""
is "$(check_mailq_postfix "$T/pf0")" 0 "check_mailq (postfix parser) reads 0"

"$PETREL" stop 2>/dev/null
done_testing
