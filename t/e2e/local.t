#!/bin/bash
# t/e2e/local.t - local delivery (spec/aliases.md, issue "Local delivery"),
# driven through t/unit/local_driver as root, the way the local delivery
# service runs: alias kinds (user, list with owner-, /file and |command as
# default_privs, user@domain forwarded into incoming/, :include: with its
# permission rules), .forward with \user, mbox in the spool read back byte
# for byte (owner, group mail, mode 0660), Maildir, mailbox_command and its
# exit codes, recipient_delimiter, luser_relay, unknown users, the size
# limit, Delivered-To loops, a locked mbox, 200 messages from 4 parallel
# deliveries, and Dovecot (mbox and Maildir) and bsd-mailx reading what
# Petrel wrote.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

DRIVER=$PETREL_BUILDDIR/t/unit/local_driver
instance_setup "mydestination = host.example.com, localhost" "recipient_delimiter = +"
export LC_ALL=C
shopt -s lastpipe	# "msg ... | deliver ..." sets R in this shell
# conf NAME VALUE: sets a main.cf parameter (the last definition wins).
conf() { echo "$1 = $2" >>"$CONF/main.cf"; }
conf alias_maps "hash:$T/aliases, hash:$T/bobaliases"
conf alias_database "hash:$T/aliases"
conf mail_spool_directory "$T/spool"
SPOOL=$T/spool
OUT=$T/out
MAILGID=$(getent group mail | cut -d: -f3)
NOBODY=$(id -u nobody)
mkdir -p "$SPOOL" "$OUT" "$T/incl" "$QDIR/incoming"
chown root:mail "$SPOOL"
chmod 2775 "$SPOOL"
chmod 0777 "$OUT"
chown 990:990 "$QDIR/incoming"
chmod 0700 "$QDIR/incoming"

cat >"$T/aliases" <<EOF
# test aliases
postmaster: alice
list: alice, bob
owner-list: alice
tofile: $OUT/file.mbox
tocmd: "|cat > $OUT/cmd.out; id -un >> $OUT/cmd.out"
remote: carol@remote.example.net, Dave <dave@other.example.org>
incl: :include:$T/incl/members
inclcmd: :include:$T/incl/cmds
bobincl: :include:$T/incl/bobcmds
missing: :include:$T/incl/nonexistent
wwincl: :include:$T/incl/ww
selfish: \\bob
gone: error:5.1.1:550 This user has left
partly: alice, nosuchuser
ownedpartly: bob, nosuchuser2
owner-ownedpartly: bob
EOF
cat >"$T/bobaliases" <<EOF
bobcmd: "|id -un > $OUT/bobcmd.out"
EOF
chown bob "$T/bobaliases"
echo "alice, bob" >"$T/incl/members"
echo "|id -un > $OUT/inclcmd.out" >"$T/incl/cmds"
echo "|id -un > $OUT/bobinclcmd.out" >"$T/incl/bobcmds"
chown bob "$T/incl/bobcmds"
echo "|id -un > $OUT/ww.out" >"$T/incl/ww"
chmod 0666 "$T/incl/ww"

# mkqf FILE ID SENDER RCPT...: a queue file (doc/queue-format.md) with the
# content read from stdin.
cat >"$T/mkqf.py" <<'EOF'
import sys, time
path, qid, sender = sys.argv[1:4]
rcpts = sys.argv[4:]
data = sys.stdin.buffer.read()
t = time.time()
head = 'PETREL-QUEUE 1\nI %s\nT %d.%06d\nS %s\n' % (qid, int(t), int((t % 1) * 1e6), sender)
for r in rcpts:
    head += 'RT - - %s\n' % r
head += 'L %020d\nD\n' % len(data)
open(path, 'wb').write(head.encode() + data + b'END\n')
EOF
mkqf() { $PY "$T/mkqf.py" "$@"; }

N=0
# deliver SENDER RCPT... <content: writes a queue file and runs the driver;
# the driver's lines ("ADDR<TAB>status<TAB>dsn<TAB>text") are in $R.
deliver() {
	N=$((N + 1))
	local qf=$T/q.$N id
	id=$(printf '%014X' $((0xA0000000 + N)))
	mkqf "$qf" "$id" "$@"
	R=$(timeout 60 "$DRIVER" "$qf" 2>"$T/driver.err")
	LASTID=$id
}
msg() {	# msg SUBJECT [BODY]: a small message
	printf 'From: sender@example.org\nTo: someone\nSubject: %s\n\n%s\n' "$1" "${2:-hello}"
}
field() { printf '%s\n' "$R" | awk -F'\t' -v a="$1" -v f="$2" '$1 == a { print $f }'; }

# --- 1. a user's mbox in the spool, byte for byte ---------------------------
printf 'From: sender@example.org\nSubject: first\n\nFrom the start\n>From quoted\nFromage\nend' >"$T/c1"
deliver sender@example.org alice@host.example.com <"$T/c1"
is "$R" "$(printf 'alice@host.example.com\tsent\t2.0.0\tdelivered to mailbox')" "alice: sent, delivered to mailbox"
is "$(stat -c '%U:%G %a' "$SPOOL/alice")" "alice:mail 660" "new spool mbox: alice:mail 0660 (Debian)"
$PY - "$SPOOL/alice" <<'EOF' >"$T/got1"
import re, sys
d = open(sys.argv[1], 'rb').read()
first, rest = d.split(b'\n', 1)
ok = re.fullmatch(rb'From sender@example\.org  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}', first)
sys.stdout.buffer.write((b'FROMLINE-OK\n' if ok else b'BAD: ' + first + b'\n') + rest)
EOF
printf 'FROMLINE-OK\nReturn-Path: <sender@example.org>\nX-Original-To: alice@host.example.com\nDelivered-To: alice@host.example.com\nFrom: sender@example.org\nSubject: first\n\n>From the start\n>From quoted\nFromage\nend\n\n' >"$T/want1"
ok "$(cmp -s "$T/got1" "$T/want1"; echo $?)" "mbox byte-exact: From_ line, Return-Path, X-Original-To, Delivered-To, >From, final newline, blank line"
like "$(cat "$MAILLOG")" "$LASTID: to=<alice@host.example.com>, relay=local, delay=[0-9.]+, delays=[0-9.]+/0/0/[0-9.]+, dsn=2.0.0, status=sent \(delivered to mailbox\)" "Postfix-shaped log line"
ok "$([ ! -e "$SPOOL/alice.lock" ]; echo $?)" "dot-lock removed"

# --- 2. aliases ----------------------------------------------------------------
msg "to the list" | deliver sender@example.org list@host.example.com
is "$(field list@host.example.com 2)" sent "list: sent"
like "$(cat "$SPOOL/bob")" "Return-Path: <owner-list@host.example.com>" "list: owner-list is the envelope sender"
like "$(cat "$MAILLOG")" "to=<bob@host.example.com>, orig_to=<list@host.example.com>, relay=local.*status=sent \(delivered to mailbox\)" "list: expanded recipient logged with orig_to"
is "$(grep -c '^Subject: to the list' "$SPOOL/alice")" 1 "list: alice got it once"

# A list delivered to some members: the failed ones go back to the sender
# of the expansion (owner-LIST when there is one) in an RFC 3464 notice.
before=$(queue_count incoming)
msg "partly" | deliver sender@example.org partly@host.example.com
is "$(field partly@host.example.com 2)" sent "list with an unknown member: sent"
is "$(queue_count incoming)" $((before + 1)) "list with an unknown member: one notice queued"
NOTE=$(ls -t "$QDIR/incoming" | head -1)
is "$(grep '^S ' "$QDIR/incoming/$NOTE")" "S " "notice from the null sender"
is "$(grep -c '^R.* sender@example.org$' "$QDIR/incoming/$NOTE")" 1 "notice to the envelope sender"
like "$(cat "$QDIR/incoming/$NOTE")" '^Final-Recipient: rfc822; ?nosuchuser@host\.example\.com' "notice names the failed member"
like "$(cat "$QDIR/incoming/$NOTE")" '^Status: 5\.1\.1' "notice status 5.1.1"
unlike "$(cat "$QDIR/incoming/$NOTE")" '^Final-Recipient: rfc822; ?alice@' "the delivered member is not in it"
like "$(cat "$MAILLOG")" "$LASTID: sender non-delivery notification: [0-9A-F]{14}" "notice logged"
msg "owned partly" | deliver sender@example.org ownedpartly@host.example.com
NOTE=$(ls -t "$QDIR/incoming" | head -1)
is "$(grep -c '^R.* owner-ownedpartly@host.example.com$' "$QDIR/incoming/$NOTE")" 1 "a list with an owner: the notice goes to owner-LIST"
before=$(queue_count incoming)
msg "bounce of bounce" | deliver "" partly@host.example.com
is "$(queue_count incoming)" "$before" "mail from <>: no notice for failed members"

msg "Case" | deliver sender@example.org LIST@Host.Example.Com
is "$(grep -c '^Subject: Case' "$SPOOL/bob")" 1 "alias keys are case-insensitive"

msg "to a file" | deliver sender@example.org tofile@host.example.com
is "$(field tofile@host.example.com 4)" "delivered to file: $OUT/file.mbox" "/file: delivered"
is "$(stat -c '%u %a' "$OUT/file.mbox")" "$NOBODY 600" "/file: written as default_privs (nobody), mode 0600"
like "$(head -1 "$OUT/file.mbox")" "^From sender@example.org  " "/file: mbox format"

msg "to a command" | deliver sender@example.org tocmd@host.example.com
is "$(field tocmd@host.example.com 2)" sent "|command: sent"
is "$(tail -1 "$OUT/cmd.out")" nobody "|command of a root-owned alias db runs as nobody"
like "$(head -1 "$OUT/cmd.out")" "^From sender@example.org  " "|command gets the From_ line"
ok "$(grep -q '^Subject: to a command' "$OUT/cmd.out"; echo $?)" "|command gets the message on stdin"

msg "bob's db" | deliver sender@example.org bobcmd@host.example.com
is "$(cat "$OUT/bobcmd.out" 2>/dev/null)" bob "|command of a bob-owned alias db runs as bob"

before=$(queue_count incoming)
msg "forward me" | deliver sender@example.org remote@host.example.com
like "$(field remote@host.example.com 4)" "^forwarded as [0-9A-F]{14}$" "user@domain: forwarded as a new queue ID"
is "$(queue_count incoming)" $((before + 1)) "one new file in incoming/"
FWD=$(ls -t "$QDIR/incoming" | head -1)
is "$(stat -c %u "$QDIR/incoming/$FWD")" 990 "forwarded queue file owned by mail_owner"
is "$(grep -c '^RT ' "$QDIR/incoming/$FWD")" 2 "both remote addresses in it"
ok "$(grep -q '^RT - rfc822;remote@host.example.com dave@other.example.org$' "$QDIR/incoming/$FWD"; echo $?)" "ORCPT kept, Name <addr> reduced to addr"
ok "$(grep -q '^S sender@example.org$' "$QDIR/incoming/$FWD"; echo $?)" "original envelope sender kept"
is "$(msg_content "$QDIR/incoming/$FWD" | head -1)" "Delivered-To: remote@host.example.com" "forwarded copy carries Delivered-To"

msg "incl" | deliver sender@example.org incl@host.example.com
is "$(field incl@host.example.com 2)" sent ":include: of addresses"
is "$(grep -c '^Subject: incl' "$SPOOL/alice" "$SPOOL/bob" | tr '\n' ' ')" "$SPOOL/alice:1 $SPOOL/bob:1 " ":include: members got it"

msg "inclcmd" | deliver sender@example.org inclcmd@host.example.com
is "$(field inclcmd@host.example.com 2)/$(field inclcmd@host.example.com 3)" "bounced/5.7.1" ":include: |command refused by default (5.7.1)"
ok "$([ ! -e "$OUT/inclcmd.out" ]; echo $?)" "and not run"
like "$(cat "$MAILLOG")" "refusing delivery to command .* from :include:$T/incl/cmds: not allowed by allow_mail_to_commands" "refusal logged with where"

conf allow_mail_to_commands "alias, forward, include"
msg "inclcmd2" | deliver sender@example.org inclcmd@host.example.com
is "$(field inclcmd@host.example.com 2)" sent ":include: |command allowed with include"
is "$(cat "$OUT/inclcmd.out" 2>/dev/null)" nobody "root-owned include: runs as default_privs"
msg "bobincl" | deliver sender@example.org bobincl@host.example.com
is "$(cat "$OUT/bobinclcmd.out" 2>/dev/null)" bob "bob-owned include: runs as bob"
msg "ww" | deliver sender@example.org wwincl@host.example.com
is "$(field wwincl@host.example.com 3)" 5.7.1 "world-writable include: its |command refused even when allowed"
ok "$([ ! -e "$OUT/ww.out" ]; echo $?)" "and not run"
like "$(cat "$MAILLOG")" "include file $T/incl/ww is writable by group or others" "logged with where"

msg "missing" | deliver sender@example.org missing@host.example.com
is "$(field missing@host.example.com 2)/$(field missing@host.example.com 3)" "deferred/4.3.0" "missing :include: file: deferred"
like "$(cat "$MAILLOG")" "cannot open include file .*$T/incl/nonexistent: No such file or directory" "missing include logged with the path"

msg "gone" | deliver sender@example.org gone@host.example.com
is "$(field gone@host.example.com 3)/$(field gone@host.example.com 4)" "5.1.1/This user has left" "error: target"

msg "selfish" | deliver sender@example.org selfish@host.example.com
is "$(grep -c '^Subject: selfish' "$SPOOL/bob")" 1 "\\user delivers to the mailbox"

msg "postmaster" | deliver sender@example.org Postmaster
is "$(field Postmaster 2)" sent "postmaster (no domain) is deliverable"
msg "daemon" | deliver sender@example.org MAILER-DAEMON@host.example.com
is "$(field MAILER-DAEMON@host.example.com 2)" sent "MAILER-DAEMON without an alias goes to root"
ok "$(grep -q '^Subject: daemon' "$SPOOL/root"; echo $?)" "root's mailbox written"
is "$(stat -c '%U' "$SPOOL/root")" root "root's mailbox is root's"

# --- 3. .forward -----------------------------------------------------------------
printf '\\bob, "|cat > %s/bobfwd.out; id -un >> %s/bobfwd.out"\n' "$OUT" "$OUT" >"$T/home/bob/.forward"
chown bob:bob "$T/home/bob/.forward"
msg "forwarded" | deliver sender@example.org bob@host.example.com
is "$(field bob@host.example.com 2)" sent ".forward: sent"
is "$(grep -c '^Subject: forwarded' "$SPOOL/bob")" 1 ".forward \\bob: mailbox got it once"
is "$(tail -1 "$OUT/bobfwd.out" 2>/dev/null)" bob ".forward |command runs as bob"
chmod 0664 "$T/home/bob/.forward"
msg "gw forward" | deliver sender@example.org bob@host.example.com
is "$(grep -c 'Subject: gw forward' "$OUT/bobfwd.out")" 0 "group-writable .forward ignored"
is "$(grep -c '^Subject: gw forward' "$SPOOL/bob")" 1 "mail goes to the mailbox instead"
like "$(cat "$MAILLOG")" "ignoring $T/home/bob/.forward: the file or its directory is writable" ".forward refusal logged"
rm -f "$T/home/bob/.forward"

# --- 4. recipient_delimiter, unknown users, luser_relay ----------------------
msg "ext" | deliver sender@example.org alice+tag@host.example.com
is "$(field alice+tag@host.example.com 2)" sent "alice+tag: sent"
is "$(grep -c '^Subject: ext' "$SPOOL/alice")" 1 "alice+tag lands in alice's mailbox"
ok "$(grep -q '^Delivered-To: alice+tag@host.example.com' "$SPOOL/alice"; echo $?)" "Delivered-To keeps the extension"

msg "nobody home" | deliver sender@example.org nosuch@host.example.com
is "$(field nosuch@host.example.com 2)/$(field nosuch@host.example.com 3)" "bounced/5.1.1" "unknown user: 5.1.1"
is "$(field nosuch@host.example.com 4)" 'unknown user: "nosuch"' "unknown user text"
conf luser_relay alice
msg "relayed luser" | deliver sender@example.org nosuch@host.example.com
is "$(field nosuch@host.example.com 2)" sent "luser_relay takes unknown users"
ok "$(grep -q '^Subject: relayed luser' "$SPOOL/alice"; echo $?)" "to the relay's mailbox"
conf luser_relay ""

# --- 5. mailbox_size_limit, Delivered-To loop ----------------------------------
conf mailbox_size_limit 100000
size_before=$(stat -c %s "$SPOOL/bob")
$PY -c 'print("Subject: big\n\n" + ("x" * 75 + "\n") * 2000)' | deliver sender@example.org bob@host.example.com
is "$(field bob@host.example.com 2)/$(field bob@host.example.com 3)" "bounced/5.2.2" "mailbox_size_limit exceeded: 5.2.2"
is "$(stat -c %s "$SPOOL/bob")" "$size_before" "mailbox truncated back to its size"
conf mailbox_size_limit 51200000

printf 'Delivered-To: alice@host.example.com\nSubject: loop\n\nx\n' | deliver sender@example.org alice@host.example.com
is "$(field alice@host.example.com 2)/$(field alice@host.example.com 3)" "bounced/5.4.6" "Delivered-To loop: 5.4.6"
like "$(field alice@host.example.com 4)" "mail forwarding loop for alice@host.example.com" "loop text"

# --- 6. a locked mbox defers; others keep flowing -------------------------------
$PY - "$SPOOL/alice" "$T/locked" <<'EOF' &
import fcntl, os, sys, time
f = open(sys.argv[1], 'a')
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], 'w').close()
time.sleep(40)
EOF
LOCKER=$!
wait_for 10 test -e "$T/locked"
t0=$(date +%s)
msg "while locked" | deliver sender@example.org alice@host.example.com bob@host.example.com
t1=$(date +%s)
is "$(field alice@host.example.com 2)/$(field alice@host.example.com 3)" "deferred/4.2.0" "locked mbox: deferred 4.2.0"
like "$(field alice@host.example.com 4)" "mailbox locked" "text says locked"
ok "$([ $((t1 - t0)) -le 20 ]; echo $?)" "within the bound ($((t1 - t0)) s)"
is "$(field bob@host.example.com 2)" sent "the other recipient was delivered"
like "$(cat "$MAILLOG")" "status=deferred \(cannot update mailbox $SPOOL/alice: mailbox locked" "deferral logged with the mailbox"
kill "$LOCKER" 2>/dev/null
wait "$LOCKER" 2>/dev/null

# --- 7. 200 messages by 4 parallel deliveries ------------------------------------
rm -f "$SPOOL/carl"
echo "carl:x:2003:2003::$T/home/carl:/bin/sh" >>"$T/passwd"
mkdir -p "$T/home/carl"
chown 2003:2003 "$T/home/carl"
for w in 1 2 3 4; do
	mkdir -p "$T/par$w"
	for i in $(seq 1 50); do
		{ printf 'Subject: par-%s-%s\n\n' "$w" "$i"; $PY -c "print(('line $w $i ' * 8 + '\n') * 40)"; } |
			mkqf "$T/par$w/$i" "$(printf '%014X' $((0xB0000000 + w * 1000 + i)))" sender@example.org carl@host.example.com
	done
done
for w in 1 2 3 4; do
	( for i in $(seq 1 50); do timeout 60 "$DRIVER" "$T/par$w/$i"; done >"$T/par$w.out" ) &
done
wait
is "$(cat "$T"/par?.out | cut -f2 | sort | uniq -c | awk '{print $1, $2}')" "200 sent" "200 parallel deliveries sent"
is "$(grep -c '^From ' "$SPOOL/carl")" 200 "200 From_ lines in the mbox"
is "$(grep '^Subject: par-' "$SPOOL/carl" | sort -u | wc -l)" 200 "each Subject exactly once"
is "$(grep -c '^Subject: par-' "$SPOOL/carl")" 200 "no Subject twice"
$PY - "$SPOOL/carl" <<'EOF' >"$T/parcheck"
import re, sys
d = open(sys.argv[1]).read()
msgs = re.split(r'\n(?=From sender@example\.org  )', d)
bad = 0
for m in msgs:
    s = re.search(r'^Subject: par-(\d)-(\d+)$', m, re.M)
    w, i = s.group(1), s.group(2)
    body = m.split('\n\n', 1)[1]
    lines = [l for l in body.split('\n') if l]
    if len(lines) != 40 or any(l != ('line %s %s ' % (w, i)) * 8 for l in lines):
        bad += 1
print(len(msgs), bad)
EOF
is "$(cat "$T/parcheck")" "200 0" "every message whole, none interleaved"

# --- 8. mailx reads the spool mbox ---------------------------------------------
# bsd-mailx 8.1.2 has no -H: list the headers ("h") and leave without
# changing the mailbox ("x").
n_alice=$(grep -c '^From ' "$SPOOL/alice")
sum_before=$(md5sum <"$SPOOL/alice")
printf 'h\nx\n' | timeout 20 mail -N -f "$SPOOL/alice" >"$T/mailx.out" 2>&1
is "$(grep -cE '^[> ][NUO ] +[0-9]+ ' "$T/mailx.out")" "$n_alice" "bsd-mailx lists every message of alice's mbox ($n_alice)"
like "$(grep -E '^[> ][NUO ] +1 ' "$T/mailx.out")" "sender@example.or.* first$" "mailx shows sender and subject of the first"
ok "$(grep -q "\"$SPOOL/alice\": $n_alice messages" "$T/mailx.out"; echo $?)" "mailx counts $n_alice messages"
is "$(md5sum <"$SPOOL/alice")" "$sum_before" "reading left the mbox unchanged"

# --- 9. Maildir, mailbox_command -----------------------------------------------
conf home_mailbox Maildir/
msg "to maildir" | deliver sender@example.org bob@host.example.com
is "$(field bob@host.example.com 4)" "delivered to maildir" "home_mailbox Maildir/: delivered"
is "$(ls "$T/home/bob/Maildir/new" | wc -l)" 1 "one file in new/"
is "$(ls "$T/home/bob/Maildir/tmp" | wc -l)" 0 "tmp/ empty"
is "$(stat -c %U "$T/home/bob/Maildir/new/"*)" bob "written as bob"
ok "$(grep -q '^Delivered-To: bob@host.example.com' "$T/home/bob/Maildir/new/"*; echo $?)" "with Delivered-To"
msg "second maildir" | deliver sender@example.org bob@host.example.com
conf home_mailbox mbox
msg "home mbox" | deliver sender@example.org bob@host.example.com
is "$(stat -c '%U %a' "$T/home/bob/mbox")" "bob 600" "home_mailbox without /: an mbox in the home"
ok "$(grep -q '^Subject: home mbox' "$T/home/bob/mbox"; echo $?)" "written there"
conf home_mailbox ""

cat >"$T/mc.sh" <<EOF
#!/bin/sh
{ echo "HOME=\$HOME USER=\$USER LOGNAME=\$LOGNAME SHELL=\$SHELL"
  echo "SENDER=\$SENDER RECIPIENT=\$RECIPIENT"
  echo "EXTENSION=\$EXTENSION DOMAIN=\$DOMAIN LOCAL=\$LOCAL"
  echo "PATH=\$PATH ID=\$(id -un)"
  cat; } > $OUT/mc.out
exit \$(cat $T/mc.exit)
EOF
chmod 0755 "$T/mc.sh"
conf mailbox_command "$T/mc.sh"
echo 0 >"$T/mc.exit"
msg "mc" | deliver 'we;ird@example.org' alice+tag@host.example.com
is "$(field alice+tag@host.example.com 2)" sent "mailbox_command exit 0: sent"
is "$(sed -n 1p "$OUT/mc.out")" "HOME=$T/home/alice USER=alice LOGNAME=alice SHELL=/bin/sh" "mailbox_command: HOME USER LOGNAME SHELL"
is "$(sed -n 2p "$OUT/mc.out")" "SENDER=we_ird@example.org RECIPIENT=alice+tag@host.example.com" "SENDER (metacharacter filtered) and RECIPIENT"
is "$(sed -n 3p "$OUT/mc.out")" "EXTENSION=tag DOMAIN=host.example.com LOCAL=alice+tag" "EXTENSION, DOMAIN, LOCAL"
is "$(sed -n 4p "$OUT/mc.out")" "PATH=/usr/bin:/bin ID=alice" "PATH, and runs as the recipient"
echo 75 >"$T/mc.exit"
msg "mc75" | deliver sender@example.org alice@host.example.com
is "$(field alice@host.example.com 2)/$(field alice@host.example.com 3)" "deferred/4.3.0" "mailbox_command exit 75: deferred"
echo 67 >"$T/mc.exit"
msg "mc67" | deliver sender@example.org alice@host.example.com
is "$(field alice@host.example.com 2)/$(field alice@host.example.com 3)" "bounced/5.1.1" "mailbox_command exit 67: bounced 5.1.1"
conf mailbox_command ""

# --- 10. a recipient without a home directory ---------------------------------
echo "dan:x:2004:2004::$T/home/dan:/bin/sh" >>"$T/passwd"
msg "no home spool" | deliver sender@example.org dan@host.example.com
is "$(field dan@host.example.com 2)" sent "no home: the spool mailbox still works"
like "$(cat "$MAILLOG")" "user dan: home directory $T/home/dan: No such file or directory" "missing home logged"
conf home_mailbox Maildir/
msg "no home maildir" | deliver sender@example.org dan@host.example.com
is "$(field dan@host.example.com 2)/$(field dan@host.example.com 3)" "deferred/4.3.0" "no home with home_mailbox: deferred"
conf home_mailbox ""

# --- 11. a world-writable (1777) spool: the recipient does it all ------------
mkdir -p "$T/spool2"
chmod 1777 "$T/spool2"
conf mail_spool_directory "$T/spool2"
msg "sticky spool" | deliver sender@example.org bob@host.example.com
is "$(field bob@host.example.com 2)" sent "1777 spool: sent"
is "$(stat -c '%U:%G %a' "$T/spool2/bob")" "bob:bob 600" "1777 spool: mbox created by bob, mode 0600"
conf mail_spool_directory "$T/spool"

# --- 12. Dovecot reads what Petrel wrote -----------------------------------------
if command -v dovecot >/dev/null 2>&1; then
	imap_check() {	# imap_check PORT: "COUNT|SUBJECT OF MESSAGE 1"
		$PY - "$1" <<'EOF'
import imaplib, sys
try:
    m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
    m.login('alice', 'wonderland')
    typ, data = m.select('INBOX', readonly=True)
    n = int(data[0])
    typ, d = m.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    subj = d[0][1].decode().strip()
    m.logout()
    print('%d|%s' % (n, subj))
except Exception as e:
    print('error: %s' % e)
EOF
	}
	dovecot_run() {	# dovecot_run NAME MAIL_LOCATION PORT
		local d=$T/dovecot-$1
		mkdir -p "$d/run" "$d/state"
		echo "alice:{PLAIN}wonderland:2001:2001::$T/home/alice::" >"$d/users"
		cat >"$d/dovecot.conf" <<EOF
protocols = imap
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = $2
mail_privileged_group = mail
first_valid_uid = 1000
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $3
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
EOF
		timeout 20 dovecot -c "$d/dovecot.conf" 2>>"$d/start.err"
		wait_for 10 $PY -c "import socket; socket.create_connection(('127.0.0.1', $3), 1)"
	}
	dovecot_stop() { timeout 20 doveadm -c "$T/dovecot-$1/dovecot.conf" stop 2>/dev/null; }

	n_alice=$(grep -c '^From ' "$SPOOL/alice")
	dovecot_run mbox "mbox:~/mail:INBOX=$SPOOL/%u" 10143
	is "$(imap_check 10143)" "$n_alice|Subject: first" "Dovecot (mbox) lists alice's $n_alice messages and reads the first"
	dovecot_stop mbox
	conf home_mailbox Maildir/
	msg "maildir for dovecot" | deliver sender@example.org alice@host.example.com
	msg "second for dovecot" | deliver sender@example.org alice@host.example.com
	conf home_mailbox ""
	dovecot_run maildir "maildir:~/Maildir" 10144
	is "$(imap_check 10144)" "2|Subject: maildir for dovecot" "Dovecot (Maildir) lists the 2 messages in new/"
	dovecot_stop maildir
else
	ok 1 "# skip dovecot is not installed"
	ok 1 "# skip dovecot is not installed"
fi

done_testing
