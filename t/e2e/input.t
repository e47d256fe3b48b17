#!/bin/bash
# input.t - how sendmail reads a message (spec/sendmail-cli.md §2, §6, §8):
# the queued bytes, compared exactly. With the daemon down the raw form
# lands in maildrop/ (what the front end read, before cleanup); with the
# daemon up the queue file in incoming/ holds the message after cleanup.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup_hold
unset NAME
# instance_setup_hold: the daemon queues but does not deliver, so what was
# queued stays in incoming/. The recipient is remote all the same: were a
# queue manager to run, it would only defer it (no SMTP client yet).
RCPT=rcpt@example.org

# Full headers, so that cleanup adds only its Received: header.
HDRS='From: Sender <sender@example.org>
To: rcpt@example.org
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-Id: <input-test@example.org>
'

# ids_in WHERE: the queue IDs in maildrop/ ("maildrop") or past cleanup
# ("queue": incoming/, or wherever a queue manager has moved them).
ids_in() {
	local d dirs=maildrop
	[ "$1" = queue ] && dirs="incoming active deferred hold"
	for d in $dirs; do queue_files "$d"; done | xargs -r -n1 basename | sort -u
}
# Nothing in transit (daemon up): maildrop/ picked up, active/ empty.
settled() { [ "$(queue_count maildrop)" -eq 0 ] && [ "$(queue_count active)" -eq 0 ]; }
path_of() {
	local d
	for d in maildrop incoming active deferred hold; do
		[ -f "$QDIR/$d/$1" ] && { echo "$QDIR/$d/$1"; return; }
	done
}

# new_file BEFORE-IDS WHERE: the path of the one file added since BEFORE-IDS.
new_file() {
	local id
	id=$(comm -13 <(echo "$1") <(ids_in "$2"))
	[ "$(printf '%s' "$id" | grep -c .)" -le 1 ] || { diag "more than one new file: $id"; return; }
	[ -n "$id" ] && path_of "$id"
}

# submit WHERE INPUT-FILE ARGS...: runs sendmail, sets RC, ERR and NEW
# (the path of the one queue file it added, "" if none).
submit() {
	local sub=$1 in=$2 before; shift 2
	before=$(ids_in "$sub")
	timeout 30 "$SENDMAIL" "$@" <"$in" >"$T/sm.out" 2>"$T/sm.err"
	RC=$?
	ERR=$(cat "$T/sm.err")
	[ "$sub" = queue ] && { wait_for 10 settled || diag "the queue did not settle"; }
	NEW=$(new_file "$before" "$sub")
	[ -s "$T/sm.out" ] && diag "stdout: $(cat "$T/sm.out")"
}

# content_is FILE EXPECTED-FILE NAME: the queued content, byte for byte.
content_is() {
	local f=$1 want=$2; shift 2
	if [ -z "$f" ] || [ ! -f "$f" ]; then
		ok 1 "$* (no queue file)"
		return
	fi
	msg_content "$f" >"$T/got"
	if cmp -s "$T/got" "$want"; then
		ok 0 "$*"
	else
		ok 1 "$*"
		diag "got:"; od -c "$T/got" | head -n 20 | sed 's/^/#   /'
		diag "expected:"; od -c "$want" | head -n 20 | sed 's/^/#   /'
	fi
}

# after_received FILE: the cleaned content without its first Received: header.
after_received() {
	msg_content "$1" | $PY -c '
import sys
d = sys.stdin.buffer.read()
if d.startswith(b"Received:"):
    i = d.index(b"\n") + 1
    while d[i:i+1] in (b" ", b"\t"):
        i = d.index(b"\n", i) + 1
    d = d[i:]
sys.stdout.buffer.write(d)'
}

# cleaned_is FILE EXPECTED-FILE NAME: content after cleanup minus Received:.
cleaned_is() {
	local f=$1 want=$2; shift 2
	if [ -z "$f" ] || [ ! -f "$f" ]; then
		ok 1 "$* (no queue file)"
		return
	fi
	after_received "$f" >"$T/got"
	if cmp -s "$T/got" "$want"; then
		ok 0 "$*"
	else
		ok 1 "$*"
		diag "got:"; od -c "$T/got" | head -n 20 | sed 's/^/#   /'
		diag "expected:"; od -c "$want" | head -n 20 | sed 's/^/#   /'
	fi
}

# content_match FILE PYTHON-REGEX NAME: the whole content matches (bytes regex).
content_match() {
	local f=$1 re=$2; shift 2
	if [ -z "$f" ] || [ ! -f "$f" ]; then
		ok 1 "$* (no queue file)"
		return
	fi
	msg_content "$f" >"$T/got"
	if $PY -c '
import re, sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if re.fullmatch(sys.argv[2].encode(), d) else 1)' "$T/got" "$re"; then
		ok 0 "$*"
	else
		ok 1 "$*"
		diag "got:"; sed 's/^/#   /' "$T/got" | cat -A | head -n 20
		diag "expected to match: $re"
	fi
}

maildrop_empty() { [ "$(queue_count maildrop)" -eq 0 ]; }

# envelope FILE: the envelope lines (before D).
envelope() {
	sed -n '/^D$/q;p' "$1"
}

# input FILE FORMAT [ARGS...]: printf FORMAT (escapes such as \0 and \351
# are the point) into $T/FILE.
# shellcheck disable=SC2059
input() { local f=$1; shift; printf "$@" >"$T/$f"; }

"$PETREL" check >"$T/check.out" 2>&1
ok $? "petrel check creates the queue directories" || sed 's/^/# /' "$T/check.out"

########## Daemon down: the raw form in maildrop/ ##########

raw_case() {	# raw_case NAME INPUT-FILE EXPECTED-FILE ARGS...
	local name=$1 in=$2 want=$3; shift 3
	submit maildrop "$in" "$@"
	is "$RC" 0 "$name: exit 0"
	content_is "$NEW" "$want" "$name: queued bytes"
	[ -n "$NEW" ] && rm -f "$NEW"
}

: >"$T/empty"
raw_case "empty input" "$T/empty" "$T/empty" "$RCPT"

input nul 'Subject: nul\n\nA\0B\0\0C\n\0\n'
raw_case "NUL bytes in the body" "$T/nul" "$T/nul" "$RCPT"

input cr 'Subject: cr\n\nbare\rcr mid-line\n\rleading\n'
raw_case "bare CR mid-line" "$T/cr" "$T/cr" "$RCPT"

input crlf 'Subject: crlf\r\nTo: x@example.org\r\n\r\nline 1\r\nline 2\r\n'
input crlf.want 'Subject: crlf\nTo: x@example.org\n\nline 1\nline 2\n'
raw_case "CRLF input" "$T/crlf" "$T/crlf.want" "$RCPT"

input mixed 'Subject: mixed\r\nTo: x@example.org\n\r\nline 1\nline 2\r\nline 3\n'
input mixed.want 'Subject: mixed\nTo: x@example.org\n\nline 1\nline 2\nline 3\n'
raw_case "mixed CRLF/LF input" "$T/mixed" "$T/mixed.want" "$RCPT"

{ printf 'Subject: long\n\n'; head -c 5000 /dev/zero | tr '\0' 'L'; printf '\nshort\n'; } >"$T/long"
raw_case "a 5000-octet line" "$T/long" "$T/long" "$RCPT"

input notrail 'Subject: no newline\n\nlast line'
input notrail.want 'Subject: no newline\n\nlast line\n'
raw_case "no trailing newline" "$T/notrail" "$T/notrail.want" "$RCPT"

input from 'From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: from\n\nFrom me, in the body\n'
input from.want 'Subject: from\n\nFrom me, in the body\n'
raw_case "leading From_ line" "$T/from" "$T/from.want" "$RCPT"

input from2 'From a@example.org Mon Jan  1 00:00:00 2024\n>From b@example.org Mon Jan  1 00:00:00 2024\nSubject: from\n\nbody\n'
input from2.want 'Subject: from\n\nbody\n'
raw_case "leading From_ and >From_ lines" "$T/from2" "$T/from2.want" "$RCPT"

input dot 'Subject: dot\n\nbefore\n.\nafter the dot\n'
input dot.want 'Subject: dot\n\nbefore\n'
raw_case "lone dot ends the input without -i" "$T/dot" "$T/dot.want" "$RCPT"

input dotcr 'Subject: dot\r\n\r\nbefore\r\n.\r\nafter the dot\r\n'
raw_case "lone dot CRLF ends the input without -i" "$T/dotcr" "$T/dot.want" "$RCPT"

raw_case "lone dot kept with -i" "$T/dot" "$T/dot" -i "$RCPT"
raw_case "lone dot kept with -oi" "$T/dot" "$T/dot" -oi "$RCPT"

input dots 'Subject: dots\n\n..leading\n..\n...\n.x\n'
raw_case "dots never unstuffed (no -i)" "$T/dots" "$T/dots" "$RCPT"
raw_case "dots never unstuffed (-i)" "$T/dots" "$T/dots" -i "$RCPT"

input eight 'Subject: caf\351 / caf\303\251\nTo: x@example.org\n\nLatin-1: \351\350\340\377\nUTF-8: \303\251\342\202\254\360\237\220\246\n'
raw_case "8-bit bytes" "$T/eight" "$T/eight" "$RCPT"

# "--": a following -oi is a recipient, not an option (so the dot still ends input).
submit maildrop "$T/dot" -- -oi
is "$RC" 0 "-- -oi: exit 0"
content_is "$NEW" "$T/dot.want" "-- -oi: -oi is not an option (the lone dot ends the input)"
like "$(envelope "$NEW")" '^RT [^ ]+ [^ ]+ -oi$' "-- -oi: -oi is the recipient"
rm -f "$NEW"

########## Daemon up: after cleanup, in incoming/ ##########

petrel_start >"$T/start.out" 2>&1
ok $? "petrel start" || sed 's/^/# /' "$T/start.out"
wait_for 10 maildrop_empty

up_case() {	# up_case NAME INPUT-FILE EXPECTED-FILE ARGS...
	local name=$1 in=$2 want=$3; shift 3
	submit queue "$in" "$@"
	is "$RC" 0 "$name (daemon up): exit 0"
	cleaned_is "$NEW" "$want" "$name (daemon up): queued bytes after Received:"
}

# Empty input: the added headers, then the blank line (spec §6.9, §8).
submit queue "$T/empty" "$RCPT"
is "$RC" 0 "empty input (daemon up): exit 0"
ID=$(basename "${NEW:-none}")
content_match "$NEW" "Received: by host\\.example\\.com \\(Petrel, from userid 0\\)\\n\\tid $ID; [^\\n]+\\nMessage-Id: <[0-9]{14}\\.$ID@host\\.example\\.com>\\nDate: [^\\n]+\\nFrom: root@host\\.example\\.com \\([^\\n]*\\)\\nTo: undisclosed-recipients:;\\n\\n" \
	"empty input (daemon up): exactly the added headers and a blank line"

{ printf '%s' "$HDRS"; printf 'Subject: nul\n\nA\0B\0\0C\n\0\n'; } >"$T/up-nul"
up_case "NUL bytes in the body" "$T/up-nul" "$T/up-nul" "$RCPT"

{ printf '%s' "$HDRS"; printf 'Subject: cr\n\nbare\rcr mid-line\n'; } >"$T/up-cr"
up_case "bare CR mid-line" "$T/up-cr" "$T/up-cr" "$RCPT"

{ printf '%s' "$HDRS" | sed 's/$/\r/'; printf 'Subject: crlf\r\n\r\nline 1\r\nline 2\n'; } >"$T/up-crlf"
{ printf '%s' "$HDRS"; printf 'Subject: crlf\n\nline 1\nline 2\n'; } >"$T/up-crlf.want"
up_case "mixed CRLF/LF" "$T/up-crlf" "$T/up-crlf.want" "$RCPT"

{ printf '%s' "$HDRS"; printf 'Subject: long\n\n'; head -c 5000 /dev/zero | tr '\0' 'L'; printf '\nshort\n'; } >"$T/up-long"
up_case "a 5000-octet line" "$T/up-long" "$T/up-long" "$RCPT"

{ printf '%s' "$HDRS"; printf 'Subject: no newline\n\nlast line'; } >"$T/up-notrail"
cp "$T/up-notrail" "$T/up-notrail.want"; echo >>"$T/up-notrail.want"
up_case "no trailing newline" "$T/up-notrail" "$T/up-notrail.want" "$RCPT"

{ printf 'From someone@example.org Mon Jan  1 00:00:00 2024\n'; printf '%s' "$HDRS"; printf 'Subject: from\n\nbody\n'; } >"$T/up-from"
{ printf '%s' "$HDRS"; printf 'Subject: from\n\nbody\n'; } >"$T/up-from.want"
up_case "leading From_ line" "$T/up-from" "$T/up-from.want" "$RCPT"

{ printf '%s' "$HDRS"; printf 'Subject: dot\n\nbefore\n.\nafter the dot\n'; } >"$T/up-dot"
{ printf '%s' "$HDRS"; printf 'Subject: dot\n\nbefore\n'; } >"$T/up-dot.want"
up_case "lone dot ends the input without -i" "$T/up-dot" "$T/up-dot.want" "$RCPT"
up_case "lone dot kept with -i" "$T/up-dot" "$T/up-dot" -i "$RCPT"

{ printf '%s' "$HDRS"; printf 'Subject: dots\n\n..leading\n..\n'; } >"$T/up-dots"
up_case "dots never unstuffed" "$T/up-dots" "$T/up-dots" "$RCPT"

{ printf '%s' "$HDRS"; printf 'Subject: caf\351 / caf\303\251\n\nLatin-1: \351\350\377\nUTF-8: \303\251\342\202\254\n'; } >"$T/up-eight"
up_case "8-bit bytes in headers and body" "$T/up-eight" "$T/up-eight" "$RCPT"

# A header-less body: no blank line inserted before it (spec §6.6).
input nohdr 'Hello world\nsecond line\n'
submit queue "$T/nohdr" "$RCPT"
is "$RC" 0 "header-less body: exit 0"
content_match "$NEW" "Received: [^\\n]*\\n\\t[^\\n]*\\nMessage-Id: [^\\n]+\\nDate: [^\\n]+\\nFrom: [^\\n]+\\nTo: undisclosed-recipients:;\\nHello world\\nsecond line\\n" \
	"header-less body: added headers, then the body with no blank line"

input hdrbody 'Subject: s\nnot a header line\nmore\n'
submit queue "$T/hdrbody" "$RCPT"
is "$RC" 0 "body after a header with no separator: exit 0"
content_match "$NEW" "Received: [^\\n]*\\n\\t[^\\n]*\\nSubject: s\\nMessage-Id: [^\\n]+\\nDate: [^\\n]+\\nFrom: [^\\n]+\\nTo: undisclosed-recipients:;\\nnot a header line\\nmore\\n" \
	"body after a header with no separator: no blank line inserted"

# "--" then -oi@example.org (as an option it would be -o "i@example.org",
# that is -oi): a recipient, and the lone dot still ends the input.
submit queue "$T/dot" -- -oi@example.org
is "$RC" 0 "-- -oi@example.org (daemon up): exit 0"
is "$(envelope "$NEW" | grep '^R' | cut -d' ' -f4-)" "-oi@example.org" "-- -oi@example.org (daemon up): the one recipient"
like "$(msg_content "$NEW" 2>/dev/null | tail -n 1)" '^before$' "-- -oi@example.org (daemon up): not -oi, the lone dot ended the input"

# Envelope sender.
sender_case() {	# sender_case NAME WANT ARGS...
	local name=$1 want=$2; shift 2
	submit queue "$T/msg" "$@"
	is "$RC" 0 "$name: exit 0"
	is "$(envelope "$NEW" | grep -c '^S')" 1 "$name: one S record"
	is "$(envelope "$NEW" | grep '^S')" "S${want:+ $want}" "$name: sender <$want>"
}
input msg 'Subject: sender\n\nhello\n'
# "S" + space + empty value = null sender; allow the exact form "S " for it.
null_sender_case() {
	local name=$1; shift
	submit queue "$T/msg" "$@"
	is "$RC" 0 "$name: exit 0"
	is "$(envelope "$NEW" | grep -c '^S')" 1 "$name: one S record"
	is "$(envelope "$NEW" | grep -c '^S $')" 1 "$name: null sender (an empty S record)"
}
null_sender_case "-f ''" -f '' "$RCPT"
null_sender_case "-f '<>'" -f '<>' "$RCPT"
null_sender_case "-f<>" '-f<>' "$RCPT"
sender_case "-f '<a@b.c>'" a@b.c -f '<a@b.c>' "$RCPT"
sender_case "the last -f wins" a@b.c -f first@example.org -r second@example.org -f a@b.c "$RCPT"
sender_case "no -f" root@host.example.com "$RCPT"

# Full name in the generated From:.
from_hdr() { msg_content "$1" | grep -a '^From:'; }
submit queue "$T/msg" -F 'Full Name' "$RCPT"
is "$RC" 0 "-F: exit 0"
is "$(from_hdr "$NEW")" "From: root@host.example.com (Full Name)" "-F 'Full Name' in the generated From:"
NAME='Env Name' submit queue "$T/msg" "$RCPT"
is "$(from_hdr "$NEW")" "From: root@host.example.com (Env Name)" "\$NAME used without -F"
NAME='Env Name' submit queue "$T/msg" -F 'Flag Name' "$RCPT"
is "$(from_hdr "$NEW")" "From: root@host.example.com (Flag Name)" "-F wins over \$NAME"

before=$(ids_in queue)
run_as alice timeout 30 "$SENDMAIL" "$RCPT" <"$T/msg" >/dev/null 2>"$T/sm.err"
is "$?" 0 "alice submits: exit 0"
wait_for 10 settled
NEW=$(new_file "$before" queue)
is "$(from_hdr "$NEW")" "From: alice@host.example.com (Alice Liddell)" "alice: From: from the socket peer's uid and GECOS up to the comma"
is "$(envelope "$NEW" | grep '^S')" "S alice@host.example.com" "alice: envelope sender"

# Recipient arguments.
rcpts() { envelope "$1" | grep '^R' | sed 's/^R[A-Z] [^ ]* [^ ]* //'; }
submit queue "$T/msg" 'a@example.org, Bob <b@example.org>'
is "$RC" 0 "an address list argument: exit 0"
is "$(rcpts "$NEW")" $'a@example.org\nb@example.org' "\"a@example.org, Bob <b@example.org>\" gives two recipients"

submit queue "$T/msg" dup@example.org other@example.org dup@example.org
is "$RC" 0 "duplicate recipients: exit 0"
is "$(rcpts "$NEW")" $'dup@example.org\nother@example.org' "duplicate recipients queued once"

input dupt 'To: dup@example.org, Dup <dup@example.org>\nSubject: dup\n\nhello\n'
submit queue "$T/dupt" -t dup@example.org
is "$RC" 0 "-t plus the same address on the command line: exit 0"
is "$(rcpts "$NEW")" "dup@example.org" "-t plus the same address on the command line: queued once"

"$PETREL" stop >/dev/null 2>&1

done_testing
