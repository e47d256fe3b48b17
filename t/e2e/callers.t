#!/bin/bash
# t/e2e/callers.t - the programs that run sendmail, exactly as they do it
# (spec/callers.md, spec/sendmail-cli.md), through both submission paths:
#   up:   the daemon runs; the message goes over public/submit and the
#         queue file is in incoming/ when sendmail returns;
#   down: no daemon; sendmail writes maildrop/ itself, and `petrel start`
#         picks the file up into incoming/.
# Each case checks the path it took, then the queued message (envelope and
# content of the incoming/ file).
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup_hold
system_sendmail
export LC_ALL=C

# Our own leftovers, undone before instance_teardown removes $T.
callers_cleanup() {
	[ -n "${OVERLAY_CONF:-}" ] && umount "$OVERLAY_CONF" 2>/dev/null
	instance_teardown
}
trap callers_cleanup EXIT

# ---- helpers -------------------------------------------------------------

# parse_queued: reads the envelope and the message of $QF into shell
# variables, in this shell (no subshell per check: the machine is shared):
#   ENV_S ENV_F ENV_U  the S, F and U records;  RCPTS  the recipients,
#   sorted, joined by spaces;  H[name]  the first header line of that name
#   (lower-case key);  HC[name]  how many there are;  RCVD2  the line after
#   Received:;  $T/content, $T/headers, $T/body  the message cut up.
parse_queued() {
	local line name prev= rc=()
	ENV_S= ENV_F= ENV_U= RCPTS= RCVD2=
	H=()
	HC=()
	: >"$T/content"
	if [ -f "$QF" ]; then
		while IFS= read -r line; do
			[ "$line" = D ] && break
			case $line in
			"S "*) ENV_S=${line#S } ;;
			"F "*) ENV_F=${line#F } ;;
			"U "*) ENV_U=${line#U } ;;
			R[TD]" "*) line=${line#R? }; line=${line#* }; rc+=("${line#* }") ;;
			esac
		done <"$QF"
		msg_content "$QF" >"$T/content" 2>/dev/null
	fi
	[ ${#rc[@]} -gt 0 ] && RCPTS=$(printf '%s\n' "${rc[@]}" | sort | paste -sd' ' -)
	: >"$T/headers"
	while IFS= read -r line; do
		[ -z "$line" ] && break
		echo "$line" >>"$T/headers"
		if [ "$prev" = received ]; then RCVD2=$line; fi
		prev=
		case $line in
		[[:space:]]*) continue ;;
		esac
		name=${line%%:*}
		name=${name,,}
		HC[$name]=$((${HC[$name]:-0} + 1))
		[ -z "${H[$name]+set}" ] && H[$name]=$line
		prev=$name
	done <"$T/content"
	sed '1,/^$/d' "$T/content" >"$T/body"
}
declare -A H HC

daemon_up() { "$PETREL" status >/dev/null 2>&1; }
ensure_up() { daemon_up || "$PETREL" start >/dev/null 2>>"$T/petrel.err"; }
ensure_down() { daemon_up && "$PETREL" stop >/dev/null 2>>"$T/petrel.err"; true; }

# new_files SUBDIR BEFORE-LIST: queue files of SUBDIR not in BEFORE-LIST.
new_files() { queue_files "$1" | comm -13 "$2" -; }
one_new_in() { [ "$(new_files "$1" "$2" | wc -l)" -eq 1 ]; }
file_gone() { [ ! -e "$1" ]; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }

# submit MODE NAME UID COMMAND...: runs COMMAND with stdin from $T/in and
# checks that the message took MODE's path. Sets RC, OUT, ERR and QF (the
# incoming/ queue file, or /nonexistent), ID (its queue ID).
submit() {
	local mode=$1 name=$2 uid=$3 md
	shift 3
	if [ "$mode" = up ]; then ensure_up; else ensure_down; fi
	queue_files incoming >"$T/inc.before"
	queue_files maildrop >"$T/md.before"
	"$@" <"$T/in" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	QF=/nonexistent
	ID=NONE
	if [ "$mode" = up ]; then
		# Synchronous: the file is in incoming/ when sendmail returns.
		ok "$(one_new_in incoming "$T/inc.before"; echo $?)" \
			"$name (daemon up): one new file in incoming/ when sendmail returns"
		is "$(new_files maildrop "$T/md.before" | wc -l)" 0 \
			"$name (daemon up): nothing written to maildrop/"
		if one_new_in incoming "$T/inc.before"; then
			QF=$(new_files incoming "$T/inc.before")
			ID=$(basename "$QF")
		fi
		wait_for 5 log_has "petrel/[a-z]+\[[0-9]+\]: $ID: uid=$uid from=<"
		ok $? "$name (daemon up): logged \"$ID: uid=$uid from=<...>\""
	else
		ok "$(one_new_in maildrop "$T/md.before"; echo $?)" \
			"$name (daemon down): one new file in maildrop/"
		is "$(new_files incoming "$T/inc.before" | wc -l)" 0 \
			"$name (daemon down): nothing in incoming/ before the daemon runs"
		md=$(new_files maildrop "$T/md.before" | head -n 1)
		is "$(stat -c %u "${md:-/nonexistent}" 2>/dev/null)" "$uid" \
			"$name (daemon down): the maildrop file belongs to uid $uid"
		"$PETREL" start >/dev/null 2>>"$T/petrel.err"
		wait_for 10 one_new_in incoming "$T/inc.before"
		ok $? "$name (daemon down): picked up into incoming/ after petrel start"
		ok "$(file_gone "${md:-/nonexistent}"; echo $?)" \
			"$name (daemon down): the maildrop file is gone after pickup"
		if one_new_in incoming "$T/inc.before"; then
			QF=$(new_files incoming "$T/inc.before")
			ID=$(basename "$QF")
		fi
		wait_for 5 log_has "petrel/pickup\[[0-9]+\]: $ID: uid=$uid from=<"
		ok $? "$name (daemon down): pickup logged \"$ID: uid=$uid from=<...>\""
		"$PETREL" stop >/dev/null 2>>"$T/petrel.err"
	fi
	parse_queued
}

# added_headers NAME UID: what cleanup adds to every local submission
# (spec/sendmail-cli.md §8), checked on $QF.
added_headers() {
	local name=$1 uid=$2
	is "${H[received]-}" "Received: by host.example.com (Petrel, from userid $uid)" \
		"$name: Received: by host.example.com (Petrel, from userid $uid)"
	like "$RCVD2" \
		"^[[:space:]]+id $ID; [A-Z][a-z]{2}, " "$name: Received: continues with id <queue ID>; <date>"
	is "${HC[received]:-0}" 1 "$name: one Received: header"
	is "${HC[bcc]:-0}" 0 "$name: no Bcc: header"
	is "${HC[return-path]:-0}" 0 "$name: no Return-Path: at submission"
}

# generated_ids NAME: Date: and Message-Id: were added by Petrel.
generated_ids() {
	local name=$1
	is "${HC[date]:-0}" 1 "$name: one Date: header"
	like "${H[date]-}" \
		'^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [ 0-9]?[0-9] (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}' \
		"$name: Date: in RFC 5322 form"
	is "${HC[message-id]:-0}" 1 "$name: one Message-Id: header"
	like "${H[message-id]-}" "^Message-I[dD]: <[0-9]{14}\.$ID@host\.example\.com>$" \
		"$name: Message-Id: <YYYYMMDDhhmmss.$ID@host.example.com>"
}

# ---- the callers ---------------------------------------------------------

# Debian cron 3.0pl1: popen("/usr/sbin/sendmail -FCronDaemon -i -B8BITMIME -oem  root").
case_debian_cron() {
	local mode=$1 n="Debian cron"
	printf '%s\n' \
		'From: root (Cron Daemon)' \
		'To: root' \
		'Subject: Cron <root@host> /usr/local/bin/backup.sh' \
		'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=UTF-8' \
		'Content-Transfer-Encoding: 8bit' \
		'X-Cron-Env: <SHELL=/bin/sh>' \
		'X-Cron-Env: <HOME=/root>' \
		'X-Cron-Env: <PATH=/usr/bin:/bin>' \
		'X-Cron-Env: <LOGNAME=root>' \
		'' >"$T/in"
	printf '%s\n' \
		'Sauvegarde terminée : 3 fichiers copiés → /srv/backup' \
		'Größe: 12 Mo — 日本語のテキスト' \
		'.' \
		'fin' >"$T/in.body"
	cat "$T/in.body" >>"$T/in"
	submit "$mode" "$n" 0 /bin/sh -c '/usr/sbin/sendmail -FCronDaemon -i -B8BITMIME -oem  root'
	n="$n ($mode)"
	is "$RC" 0 "$n: exit 0"
	is "$OUT" "" "$n: stdout silent"
	is "$ERR" "" "$n: stderr silent"
	is "$ENV_S" "root@host.example.com" "$n: envelope sender root@host.example.com"
	is "$RCPTS" "root@host.example.com" "$n: envelope recipient root@host.example.com"
	like "$ENV_F" "8" "$n: -B8BITMIME recorded (flag 8)"
	is "${H[to]-}" "To: root@host.example.com" "$n: To: root completed to root@host.example.com"
	is "${H[from]-}" "From: root@host.example.com (Cron Daemon)" \
		"$n: From: root completed, comment kept"
	is "${H[subject]-}" "Subject: Cron <root@host> /usr/local/bin/backup.sh" "$n: Subject: kept"
	is "$(grep -c '^X-Cron-Env: <[A-Z]*=.*>$' "$T/headers")" 4 "$n: the four X-Cron-Env: lines kept"
	is "${H[content-transfer-encoding]-}" "Content-Transfer-Encoding: 8bit" "$n: CTE kept"
	added_headers "$n" 0
	generated_ids "$n"
	is "$(od -An -tx1 <"$T/body")" "$(od -An -tx1 <"$T/in.body")" \
		"$n: 8-bit UTF-8 body and its lone '.' line kept byte for byte (-i)"
}

# cronie: "%s -FCronDaemon -i -odi -oem -oi -t -f %s".
case_cronie() {
	local mode=$1 n="cronie"
	printf '%s\n' \
		'From: "(Cron Daemon)" <root@host.example.com>' \
		'To: root' \
		'Subject: Cron <root@host> /usr/bin/backup' \
		'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=UTF-8' \
		'Auto-Submitted: auto-generated' \
		'Precedence: bulk' \
		'X-Cron-Env: <XDG_SESSION_ID=42>' \
		'X-Cron-Env: <LANG=C.UTF-8>' \
		'' \
		'backup done' >"$T/in"
	submit "$mode" "$n" 0 /bin/sh -c '/usr/sbin/sendmail -FCronDaemon -i -odi -oem -oi -t -f root'
	n="$n ($mode)"
	is "$RC" 0 "$n: exit 0"
	is "$OUT" "" "$n: stdout silent"
	is "$ENV_S" "root@host.example.com" "$n: -f root qualified: sender root@host.example.com"
	is "$RCPTS" "root@host.example.com" "$n: -t took To: root as root@host.example.com"
	is "${H[to]-}" "To: root@host.example.com" "$n: To: completed"
	is "${H[from]-}" 'From: "(Cron Daemon)" <root@host.example.com>' "$n: From: kept"
	is "${H[auto-submitted]-}" "Auto-Submitted: auto-generated" "$n: Auto-Submitted: kept"
	added_headers "$n" 0
	generated_ids "$n"
	is "$(cat "$T/body")" "backup done" "$n: body"
}

# PHP mail() with sendmail_path = "sendmail -t -i" (CRLF headers, LF body).
case_php() {
	local mode=$1 n="PHP mail()"
	: >"$T/in"
	submit "$mode" "$n" 0 php -d sendmail_path="$SENDMAIL -t -i" -r \
		'var_dump(mail("alice@example.org","Subj","Body line\n.\nmore", "From: web@example.com\r\nBcc: secret@example.org"));'
	n="$n ($mode)"
	is "$RC" 0 "$n: php exits 0"
	is "$OUT" "bool(true)" "$n: mail() returned true"
	is "$RCPTS" "alice@example.org secret@example.org" "$n: To: and Bcc: recipients"
	is "$ENV_S" "root@host.example.com" "$n: envelope sender is the caller"
	is "${HC[bcc]:-0}" 0 "$n: Bcc: removed"
	is "${H[to]-}" "To: alice@example.org" "$n: To: kept"
	is "${H[from]-}" "From: web@example.com" "$n: From: kept"
	is "${H[subject]-}" "Subject: Subj" "$n: Subject: kept"
	is "$(grep -c $'\r' "$T/content")" 0 "$n: no CR left from PHP's CRLF headers"
	is "$(od -An -c <"$T/body")" "$(printf 'Body line\n.\nmore\n' | od -An -c)" \
		"$n: body with the lone '.' line (-i), CRLF ending turned into LF"
	added_headers "$n" 0
	generated_ids "$n"
}

# PHPMailer isSendmail(): "sendmail -oi -fSENDER -t", the whole header block.
case_phpmailer() {
	local mode=$1 n="PHPMailer"
	printf '%s\n' \
		'Date: Thu, 28 Nov 2024 05:14:00 +0000' \
		'To: Alice <alice@example.org>' \
		'From: Web Shop <web@example.com>' \
		'Cc: carol@example.net' \
		'Bcc: hidden@example.net' \
		'Subject: Your order' \
		'Message-ID: <k3Jd9aQ2@example.com>' \
		'X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)' \
		'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=us-ascii' \
		'' \
		'Thank you for your order.' >"$T/in"
	submit "$mode" "$n" 0 "$SENDMAIL" -oi -fbounce@example.com -t
	n="$n ($mode)"
	is "$RC" 0 "$n: exit 0"
	is "$OUT" "" "$n: stdout silent"
	is "$ENV_S" "bounce@example.com" "$n: -f glued to the address is the sender"
	is "$RCPTS" "alice@example.org carol@example.net hidden@example.net" \
		"$n: To:, Cc: and Bcc: recipients"
	is "${HC[bcc]:-0}" 0 "$n: Bcc: removed"
	is "${H[cc]-}" "Cc: carol@example.net" "$n: Cc: kept"
	is "${HC[message-id]:-0}" 1 "$n: one Message-ID:"
	is "${H[message-id]-}" "Message-ID: <k3Jd9aQ2@example.com>" "$n: the caller's Message-ID: kept"
	is "${HC[date]:-0}" 1 "$n: one Date:"
	is "${H[date]-}" "Date: Thu, 28 Nov 2024 05:14:00 +0000" "$n: the caller's Date: kept"
	added_headers "$n" 0
	is "$(cat "$T/body")" "Thank you for your order." "$n: body"
}

# bsd-mailx: `mail -s SUBJECT rcpt` runs /usr/sbin/sendmail itself.
case_mailx() {
	local mode=$1 n="bsd-mailx"
	echo body >"$T/in"
	submit "$mode" "$n" 0 mail -s "Test subject" alice@example.org
	n="$n ($mode)"
	is "$RC" 0 "$n: mail exits 0"
	is "$ERR" "" "$n: no complaint on stderr"
	is "$RCPTS" "alice@example.org" "$n: recipient alice@example.org"
	is "$ENV_S" "root@host.example.com" "$n: sender root@host.example.com"
	is "${H[subject]-}" "Subject: Test subject" "$n: Subject: kept"
	is "${H[to]-}" "To: alice@example.org" "$n: To: kept"
	like "${H[from]-}" '^From: root@host\.example\.com( \([^()]*\))?$' \
		"$n: From: root@host.example.com added"
	added_headers "$n" 0
	generated_ids "$n"
	is "$(cat "$T/body")" "body" "$n: body"
}

# git send-email: exec(sendmail, '-i', '-f', from, recipients...).
case_git() {
	local mode=$1 n="git send-email"
	printf '%s\n' \
		'From: Me <me@example.com>' \
		'To: a@example.org' \
		'Cc: c@example.org' \
		'Subject: [PATCH] frob: keep the last line' \
		'Date: Thu, 28 Nov 2024 05:14:00 +0100' \
		'Message-ID: <20241128041400.4711-1-me@example.com>' \
		'X-Mailer: git-send-email 2.39.5' \
		'MIME-Version: 1.0' \
		'Content-Transfer-Encoding: 8bit' \
		'' >"$T/in"
	printf '%s\n' \
		'The frobnicator dropped the line after a lone dot:' \
		'.' \
		'..' \
		'---' \
		' frob.c | 1 +' \
		'diff --git a/frob.c b/frob.c' \
		'--- a/frob.c' \
		'+++ b/frob.c' \
		'@@ -1 +1,2 @@' \
		' keep' \
		'+.' \
		'-- ' \
		'2.39.5' >"$T/in.body"
	cat "$T/in.body" >>"$T/in"
	submit "$mode" "$n" 0 "$SENDMAIL" -i -f me@example.com a@example.org b@example.org
	n="$n ($mode)"
	is "$RC" 0 "$n: exit 0"
	is "$OUT" "" "$n: stdout silent"
	is "$ENV_S" "me@example.com" "$n: -f me@example.com"
	is "$RCPTS" "a@example.org b@example.org" \
		"$n: exactly the argv recipients (Cc: not used without -t)"
	is "${H[message-id]-}" "Message-ID: <20241128041400.4711-1-me@example.com>" \
		"$n: Message-ID: kept"
	is "${HC[message-id]:-0}" 1 "$n: one Message-ID:"
	added_headers "$n" 0
	is "$(od -An -c <"$T/body")" "$(od -An -c <"$T/in.body")" \
		"$n: patch kept byte for byte ('.' and '..' lines untouched)"
}

# mutt: "/usr/sbin/sendmail -oem -oi" then -- and the recipients.
case_mutt() {
	local mode=$1 n="mutt"
	printf '%s\n' \
		'Date: Thu, 28 Nov 2024 05:20:00 +0100' \
		'From: Bob <bob@example.com>' \
		'To: a@example.org' \
		'Subject: lunch' \
		'Message-ID: <Z0gLmQ8@example.com>' \
		'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=us-ascii' \
		'Content-Disposition: inline' \
		'User-Agent: Mutt/2.2.9 (2022-11-12)' \
		'' \
		'Noon?' \
		'.' \
		'Bob' >"$T/in"
	submit "$mode" "$n" 0 "$SENDMAIL" -oem -oi -- a@example.org
	n="$n ($mode)"
	is "$RC" 0 "$n: exit 0"
	is "$OUT" "" "$n: stdout silent"
	is "$RCPTS" "a@example.org" "$n: recipient after --"
	is "$ENV_S" "root@host.example.com" "$n: sender root@host.example.com"
	is "${H[from]-}" "From: Bob <bob@example.com>" "$n: From: kept"
	added_headers "$n" 0
	is "$(cat "$T/body")" $'Noon?\n.\nBob' "$n: lone '.' kept (-oi)"
}

# fail2ban sendmail-common.conf: printf %b "..." | sendmail -f "<sender>" "<dest>" (no -i).
case_fail2ban() {
	local mode=$1 n="fail2ban"
	: >"$T/in"
	submit "$mode" "$n" 0 /bin/sh -c 'printf %b "Subject: [Fail2Ban] sshd: banned 192.0.2.7 from host.example.com
Date: $(LC_ALL=C date +"%a, %d %h %Y %T %z")
From: Fail2Ban <fail2ban@host.example.com>
To: root\n
Hi,\n
The IP 192.0.2.7 has just been banned by Fail2Ban after
3 attempts against sshd.\n
Lines containing failures of 192.0.2.7
.
sshd[4711]: Failed password for root from 192.0.2.7 port 4242 ssh2
Regards,\n
Fail2Ban" | /usr/sbin/sendmail -f "fail2ban@host.example.com" "root"'
	n="$n ($mode)"
	is "$RC" 0 "$n: exit 0"
	is "$OUT" "" "$n: stdout silent"
	is "$ENV_S" "fail2ban@host.example.com" "$n: sender"
	is "$RCPTS" "root@host.example.com" "$n: recipient root@host.example.com"
	is "${H[to]-}" "To: root@host.example.com" "$n: To: completed"
	added_headers "$n" 0
	is "$(cat "$T/body")" $'Hi,\n\nThe IP 192.0.2.7 has just been banned by Fail2Ban after\n3 attempts against sshd.\n\nLines containing failures of 192.0.2.7' \
		"$n: without -i the lone '.' line ends the message"
	is "$(grep -c 'sshd\[4711\]\|Regards' "$T/content")" 0 "$n: nothing after the '.' line is queued"
}

# sendmail root -oi: parsing stops at "root", so "-oi" is a recipient
# address, not an option (spec/sendmail-cli.md §2.1), and a lone "." still
# ends the input.
case_root_dash_oi() {
	local mode=$1 n="sendmail root -oi"
	printf '%s\n' 'Subject: options after a recipient' '' 'before' '.' 'after' >"$T/in"
	submit "$mode" "$n" 0 "$SENDMAIL" root -oi
	n="$n ($mode)"
	is "$RC" 0 "$n: exit 0 (root is a good recipient)"
	is "$RCPTS" "-oi@host.example.com root@host.example.com" \
		"$n: \"-oi\" is a recipient address, not an option"
	is "$(cat "$T/body")" "before" "$n: -oi not applied: the lone '.' ended the input"
}

CASES="case_debian_cron case_cronie case_php case_phpmailer case_mailx case_git case_mutt case_fail2ban case_root_dash_oi"

"$PETREL" check >/dev/null 2>"$T/check.err"
ok $? "petrel check prepares the queue directories" || diag "$(cat "$T/check.err")"

# ---- daemon up ----
"$PETREL" start >/dev/null 2>>"$T/petrel.err"
ok $? "petrel start"
for c in $CASES; do $c up; done

# A local user, over the socket: the identity comes from SO_PEERCRED.
printf '%s\n' 'Subject: from alice' '' 'hello bob' >"$T/in"
submit up "alice" 2001 run_as alice "$SENDMAIL" bob@example.org
is "$RC" 0 "alice (up): exit 0"
is "$ENV_S" "alice@host.example.com" "alice (up): envelope sender alice@host.example.com"
is "$ENV_U" "2001" "alice (up): submitting uid 2001 recorded"
is "$RCPTS" "bob@example.org" "alice (up): recipient"
is "${H[from]-}" "From: alice@host.example.com (Alice Liddell)" \
	"alice (up): From: with the GECOS name up to the comma"
added_headers "alice (up)" 2001

# The set-gid copy, as the package installs it.
mkdir -p "$T/bin"
cp "$SENDMAIL" "$T/bin/sendmail"
chgrp petreldrop "$T/bin/sendmail"
chmod 2755 "$T/bin/sendmail"
cp "$SENDMAIL" "$T/bin/sendmail-plain"
chmod 0755 "$T/bin/sendmail-plain"

# systemd's NoNewPrivileges: the set-gid bit is void, the socket still works.
submit up "alice, no_new_privs" 2001 run_as alice setpriv --no-new-privs -- "$T/bin/sendmail" bob@example.org
is "$RC" 0 "alice, no_new_privs (up): exit 0 without set-id"
is "$ENV_S" "alice@host.example.com" "alice, no_new_privs (up): sender alice@host.example.com"

# ---- daemon down ----
ensure_down
for c in $CASES; do $c down; done

printf '%s\n' 'Subject: from alice, daemon down' '' 'hello bob' >"$T/in"

# Without the set-gid bit nobody but root may write maildrop/: exit 75, nothing queued.
before=$(queued_total)
run_as alice "$T/bin/sendmail-plain" bob@example.org <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 75 "alice, plain copy, daemon down: exit 75 (EX_TEMPFAIL)"
is "$(queued_total)" "$before" "alice, plain copy, daemon down: nothing queued"
like "$(cat "$T/err")" "." "alice, plain copy, daemon down: says why on stderr"

# no_new_privs and no daemon: exit 75 (DESIGN.md).
run_as alice setpriv --no-new-privs -- "$T/bin/sendmail" bob@example.org <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 75 "alice, no_new_privs, daemon down: exit 75"
is "$(queued_total)" "$before" "alice, no_new_privs, daemon down: nothing queued"

# The set-gid copy with a non-default configuration that the default
# main.cf does not list in alternate_config_directories: the privilege is
# dropped, so the maildrop write fails (75).
run_as alice "$T/bin/sendmail" bob@example.org <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 75 "alice, set-gid copy, unlisted config dir: privilege dropped, exit 75"
is "$(queued_total)" "$before" "alice, set-gid copy, unlisted config dir: nothing queued"

# Now list $CONF in the default main.cf (a private overlay of its directory).
DEFCONF=$(env -u PETREL_CONFIG_DIR "$PETREL" conf -d -h config_directory 2>/dev/null)
case $DEFCONF in
/*) ;;
*) DEFCONF=$(strings -a "$SENDMAIL" | grep -m1 -E '^/.*/petrel$') ;;
esac
parent=$(dirname "$DEFCONF")
while [ ! -d "$parent" ]; do parent=$(dirname "$parent"); done
mkdir -p "$T/ovl2/up" "$T/ovl2/work"
mount -t overlay overlay -o "lowerdir=$parent,upperdir=$T/ovl2/up,workdir=$T/ovl2/work" "$parent" &&
	OVERLAY_CONF=$parent
# An overlay on /etc would hide the private passwd and group: bind them again.
case /etc/ in "${parent%/}"/*) mount --bind "$T/passwd" /etc/passwd; mount --bind "$T/group" /etc/group ;; esac
# Never write the machine's own directory: only inside the overlay.
if [ -n "${OVERLAY_CONF:-}" ]; then
	mkdir -p "$DEFCONF"
	printf 'alternate_config_directories = %s\n' "$CONF" >"$DEFCONF/main.cf"
fi
ok "$([ -n "${OVERLAY_CONF:-}" ] && [ -f "$DEFCONF/main.cf" ]; echo $?)" \
	"default main.cf $DEFCONF lists $CONF (private overlay)"

submit down "alice, set-gid copy" 2001 run_as alice "$T/bin/sendmail" bob@example.org
is "$RC" 0 "alice, set-gid copy (down): exit 0"
is "$ERR" "" "alice, set-gid copy (down): stderr silent"
is "$ENV_S" "alice@host.example.com" "alice, set-gid copy (down): sender from the file owner"
is "$ENV_U" "2001" "alice, set-gid copy (down): uid 2001 recorded"
is "${H[from]-}" "From: alice@host.example.com (Alice Liddell)" "alice, set-gid copy (down): From:"
added_headers "alice, set-gid copy (down)" 2001

ensure_down
grep -E 'fatal|error|warning' "$T/petrel.err" | while read -r l; do diag "petrel said: $l"; done
done_testing
