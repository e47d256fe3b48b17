#!/bin/bash
# header_checks.t - header_checks / body_checks with regexp: and pcre:
# tables through the SMTP server (Python smtplib) and through sendmail -t:
# REJECT (550, nothing queued; sendmail exits 65 with the text), IGNORE
# (the header gone from the delivered mbox), PREPEND, REPLACE with $1,
# DISCARD, HOLD into hold/, WARN in the log, a folded header matched as
# one, body_checks REJECT, mime_header_checks on a MIME part header,
# static: as a table, a broken table (451, nothing queued, the log names
# file and line), a fixed table used without a restart, inline: tables
# in check_sender_access and virtual_alias_maps, a REJECT of a maildrop
# file turned into a bounce, and `petrel map -q` on regexp:/pcre:/inline:.
# Runs as root in its own network namespace (t/harness); every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.0/8" \
	"header_checks = regexp:\$config_directory/hc" "body_checks = regexp:\$config_directory/bc" \
	"smtpd_sender_restrictions = check_sender_access inline:{ {blocked@example.org = REJECT blocked by inline}, x@y=OK }" \
	"virtual_alias_domains = virt.example" \
	"virtual_alias_maps = inline:{ alias@virt.example=alice@host.example.com }"
cp /dev/null "$T/aliases"
cat >"$CONF/hc" <<'EOF'
# header_checks for the tests
/^Subject: reject-me/	REJECT 5.7.1 no thanks
/^Subject: discard-me/	DISCARD dropped here
/^Subject: hold-me/	HOLD held by header_checks
/^Subject: warn-me/	WARN watch this
/^Subject: prepend-me/	PREPEND X-Prepended: yes
/^X-Remove-Me:/		IGNORE
/^X-Replace-Me: (.*)$/	REPLACE X-Replaced: was $1
/^X-Fold: first[[:space:]]+second$/ REJECT folded header matched as one
if /^Content-Type:/
/name="?evil\.exe/	REJECT attachment refused
endif
EOF
cat >"$CONF/bc" <<'EOF'
/^forbidden body line$/	REJECT body line refused
EOF
printf '%s\n' '/^Subject:\s+pcre-(\d+)/ REJECT pcre matched $1' >"$CONF/pc"
printf '%s\n' '/^Subject: ok/ OK' '/^Subject: [/ REJECT' >"$CONF/broken"
cat >"$CONF/master.cf" <<EOF
smtp      inet  n       -       n       -       -       smtpd
127.0.0.1:2502 inet n - n - - smtpd -o header_checks=pcre:$CONF/pc
127.0.0.1:2503 inet n - n - - smtpd -o header_checks=regexp:$CONF/broken
127.0.0.1:2504 inet n - n - - smtpd -o header_checks=static:REJECT
pickup    unix  n       -       n       60      1       pickup
EOF
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || cat "$T/start.err"

# smtp PORT FILE [RCPT [SENDER]]: sends FILE (a message) from s@example.org to
# alice; prints the DATA reply, or the MAIL/RCPT reply that refused it.
smtp() {
	timeout 30 $PY - "$1" "$2" "${3:-alice@host.example.com}" "${4:-s@example.org}" <<'EOF'
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
s.ehlo('client.example.org')
for code, text in (s.mail(sys.argv[4]), s.rcpt(sys.argv[3])):
    if code >= 400:
        print(code, text.decode())
        sys.exit(0)
code, text = s.data(open(sys.argv[2], 'rb').read())
print(code, text.decode())
s.quit()
EOF
}
# mk SUBJECT [HEADER...]: a message file with that Subject (and headers); prints its path.
mk() {
	local f=$T/msg.$RANDOM$RANDOM subj=$1; shift
	{
		echo "From: s@example.org"
		echo "To: alice@host.example.com"
		echo "Subject: $subj"
		for h in "$@"; do printf '%b\n' "$h"; done
		echo
		echo "body of $subj"
	} >"$f"
	echo "$f"
}
# msg SUBJECT: the delivered message with that Subject in alice's mbox (empty when none).
msg() {
	$PY - "$T/spool/alice" "$1" <<'EOF'
import mailbox, sys
try:
    for m in mailbox.mbox(sys.argv[1], create=False):
        if m['Subject'] == sys.argv[2]:
            sys.stdout.write(m.as_string())
            break
except FileNotFoundError:
    pass
EOF
}
has_msg() { [ -n "$(msg "$1")" ]; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
queued() { echo $(( $(queued_total) )); }

# --- REJECT: 550 with the text, nothing queued ---
before=$(queued)
out=$(smtp 25 "$(mk reject-me)")
is "$out" "550 5.7.1 no thanks" "REJECT: 550 5.7.1 with the table's text"
is "$(queued)" "$before" "REJECT: nothing queued"
like "$(cat "$MAILLOG")" '[0-9A-F]{14}: reject: header Subject: reject-me from localhost\[127\.0\.0\.1\]; from=<s@example\.org> to=<alice@host\.example\.com> proto=ESMTP helo=<client\.example\.org>: 5\.7\.1 no thanks' \
	"REJECT: logged as Postfix does"

# --- IGNORE, REPLACE with $1, PREPEND: the delivered message ---
out=$(smtp 25 "$(mk prepend-me "X-Remove-Me: secret" "X-Replace-Me: old value" "X-Keep: kept")")
like "$out" '^250 2\.0\.0 Ok: queued as [0-9A-F]{14}$' "PREPEND/IGNORE/REPLACE: queued"
wait_for 15 has_msg prepend-me
got=$(msg prepend-me)
unlike "$got" 'X-Remove-Me' "IGNORE: the header is gone from the mbox"
like "$got" '^X-Replaced: was old value$' "REPLACE: the new header with \$1"
unlike "$got" 'X-Replace-Me' "REPLACE: the old header is gone"
like "$got" $'X-Prepended: yes\nSubject: prepend-me' "PREPEND: the header right above the one that matched"
like "$got" '^X-Keep: kept$' "other headers stay"
like "$got" 'body of prepend-me' "the body stays"

# --- WARN: logged, delivered ---
out=$(smtp 25 "$(mk warn-me)")
like "$out" '^250 ' "WARN: accepted"
wait_for 15 has_msg warn-me
ok $? "WARN: delivered"
like "$(cat "$MAILLOG")" 'warning: header Subject: warn-me from localhost\[127\.0\.0\.1\];.*: watch this' "WARN: logged with its text"

# --- DISCARD: 250, logged, not delivered ---
before=$(queued)
out=$(smtp 25 "$(mk discard-me)")
like "$out" '^250 2\.0\.0 Ok: queued as ' "DISCARD: the client is told 250"
like "$(cat "$MAILLOG")" 'discard: header Subject: discard-me from .*: dropped here' "DISCARD: logged"
is "$(queued)" "$before" "DISCARD: nothing queued"

# --- HOLD: into hold/ ---
out=$(smtp 25 "$(mk hold-me)")
like "$out" '^250 ' "HOLD: accepted"
is "$(queue_count hold)" 1 "HOLD: the message waits in hold/"
like "$(cat "$MAILLOG")" 'hold: header Subject: hold-me from .*: held by header_checks' "HOLD: logged"

# --- a folded header is one logical line ---
out=$(smtp 25 "$(mk folded "X-Fold: first\n\tsecond")")
is "$out" "550 5.7.1 folded header matched as one" "a folded header matches as one logical line"

# --- body_checks ---
f=$(mk body-test)
echo "forbidden body line" >>"$f"
out=$(smtp 25 "$f")
is "$out" "550 5.7.1 body line refused" "body_checks: REJECT on a body line"
like "$(cat "$MAILLOG")" 'reject: body forbidden body line from localhost' "body_checks: logged"

# --- mime_header_checks (default: \$header_checks) on a part's header ---
f=$T/mime.msg
cat >"$f" <<'EOF'
From: s@example.org
To: alice@host.example.com
Subject: mime-test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BB"

--BB
Content-Type: text/plain

hello
--BB
Content-Type: application/octet-stream;
	name="evil.exe"

AAAA
--BB--
EOF
out=$(smtp 25 "$f")
is "$out" "550 5.7.1 attachment refused" "mime_header_checks: a part's folded Content-Type, inside if/endif"
sed -i 's/evil\.exe/good.txt/' "$f"
out=$(smtp 25 "$f")
like "$out" '^250 ' "mime_header_checks: a harmless part passes"

# --- pcre: ---
out=$(smtp 2502 "$(mk pcre-42)")
is "$out" "550 5.7.1 pcre matched 42" "pcre: REJECT with \$1"
out=$(smtp 2502 "$(mk reject-me)")
like "$out" '^250 ' "pcre: -o header_checks replaced the main.cf table"

# --- static: as a table ---
out=$(smtp 2504 "$(mk anything)")
is "$out" "550 5.7.1 Message content rejected" "static:REJECT rejects all, with the default text"

# --- a broken table: 451, nothing queued, file and line logged ---
before=$(queued)
out=$(smtp 2503 "$(mk ok-broken)")
is "$out" "451 4.3.0 Error: table lookup problem" "broken table: 451 4.3.0 (the client keeps the mail)"
is "$(queued)" "$before" "broken table: nothing queued"
like "$(cat "$MAILLOG")" 'header_checks lookup error: regexp:/.*/etc/broken, line 2: regexp "\^Subject: \[": ' \
	"broken table: the log names the file and the line"
printf '%s\n' '/^Subject: ok/ OK' '/^Subject: fixed-/ REJECT fixed table' >"$CONF/broken"
out=$(smtp 2503 "$(mk fixed-now)")
is "$out" "550 5.7.1 fixed table" "the fixed table is read again without a restart"

# --- sendmail -t: REJECT exits 65 with the text, nothing queued ---
before=$(queued)
f=$(mk reject-me)
chmod 0644 "$f"
err=$(run_as alice "$SENDMAIL" -t <"$f" 2>&1 >/dev/null)
is "$?" 65 "sendmail -t: REJECT exits 65 (EX_DATAERR)"
like "$err" 'no thanks' "sendmail -t: the text on stderr"
is "$(queued)" "$before" "sendmail -t: nothing queued"
f=$(mk sendmail-replace "X-Replace-Me: local")
chmod 0644 "$f"
run_as alice "$SENDMAIL" -t <"$f"
is "$?" 0 "sendmail -t: an accepted message exits 0"
wait_for 15 has_msg sendmail-replace
like "$(msg sendmail-replace)" '^X-Replaced: was local$' "sendmail -t: REPLACE applied on the pickup path"
f=$(mk sendmail-body)
echo "forbidden body line" >>"$f"
chmod 0644 "$f"
err=$(run_as alice "$SENDMAIL" -t <"$f" 2>&1 >/dev/null)
is "$?" 65 "sendmail -t: body_checks REJECT exits 65"

# --- petrel map -q, as postmap -q ---
is "$("$PETREL" map -q "Subject: reject-me" "regexp:$CONF/hc")" "REJECT 5.7.1 no thanks" "map -q on regexp:"
is "$("$PETREL" map -q "Subject: pcre-7" "pcre:$CONF/pc")" "REJECT pcre matched 7" "map -q on pcre:"
is "$("$PETREL" map -q X@Y "inline:{ x@y=found }")" "found" "map -q on inline: (key folded)"
"$PETREL" map -q "Subject: nothing" "regexp:$CONF/hc" >/dev/null
is "$?" 1 "map -q: not found exits 1"
printf '%s\n' '/ok/ OK' '/(/ X' >"$CONF/bad2"
err=$("$PETREL" map -q ok "regexp:$CONF/bad2" 2>&1 >/dev/null)
is "$?" 1 "map -q on a broken table exits 1"
like "$err" "regexp:$CONF/bad2, line 2: regexp " "... naming the file and line"

# --- inline: tables in other users of maps ---
out=$(smtp 25 "$(mk inline-sender)" alice@host.example.com blocked@example.org)
is "$out" "554 5.7.1 <blocked@example.org>: Sender address rejected: blocked by inline" \
	"check_sender_access inline:{ {key = text with spaces} } in a restriction list"
out=$(smtp 25 "$(mk via-inline-alias)" alias@virt.example)
like "$out" '^250 ' "virtual_alias_maps = inline:{...}: accepted"
wait_for 15 has_msg via-inline-alias
ok $? "virtual_alias_maps = inline:{...}: delivered to alice"

# --- a maildrop file (the daemon was down) that header_checks reject: a bounce ---
"$PETREL" stop >/dev/null 2>&1
f=$(mk reject-me "X-Dropped: maildrop")
chmod 0644 "$f"
"$SENDMAIL" -t -f alice@host.example.com <"$f"
is "$?" 0 "daemon down: sendmail -t leaves the message in maildrop/ (exit 0)"
is "$(queue_count maildrop)" 1 "... one file in maildrop/"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start again" || cat "$T/start.err"
wait_for 20 has_msg "Undelivered Mail Returned to Sender"
like "$(msg "Undelivered Mail Returned to Sender")" 'no thanks' \
	"maildrop: REJECT bounces to the sender with the text, as Postfix's pickup does"
is "$(queue_count maildrop)" 0 "maildrop: the file is gone"

done_testing
