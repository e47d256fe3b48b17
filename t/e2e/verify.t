#!/bin/bash
# t/e2e/verify.t - sendmail -bv (spec/sendmail-cli.md §3): one Sendmail-style
# line per final destination on stdout, exit 0 when all are deliverable, 67
# (EX_NOUSER) otherwise. Aliases built with sendmail -bi: root to a user, a
# |command, a /file and a remote address; a list; \user; error:; a loop; an
# unknown user; recipient_delimiter extensions; .forward read as the user
# when root, and skipped with a warning when the caller may not read it;
# remote addresses; usage errors (no address, -t). -bv reads no message and
# delivers, runs, writes or queues nothing: the spool, the queue, the
# files and the log stay as they were.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

# The daemon runs and holds what is queued (no qmgr), so that anything -bv
# queued would stay in sight.
instance_setup_hold "mydestination = host.example.com, localhost" "recipient_delimiter = +"
export LC_ALL=C
OUT=$T/out
mkdir -p "$OUT"
chmod 0777 "$OUT"

cat >"$T/aliases" <<EOF
root: alice, "|/usr/bin/touch $OUT/cmd-ran", $OUT/root.mbox, carol@remote.example.net
list: alice, bob
selfish: \\bob
gone: error:5.1.1 This user has left
half: alice, nosuch
loop1: loop2
loop2: loop1
EOF
"$SENDMAIL" -bi
ok $? "sendmail -bi builds the alias database"

# bob's .forward: his own mailbox (\bob) and a program.
printf '\\bob, "|/usr/bin/touch %s/vacation-ran"\n' "$OUT" >"$T/home/bob/.forward"
chown bob:bob "$T/home/bob/.forward"
chmod 0644 "$T/home/bob/.forward"

petrel_start
ok $? "petrel start"

snapshot() {	# everything -bv must leave alone
	find "$T/spool" "$OUT" -printf '%p %s %T@\n' | sort
	for d in maildrop incoming active deferred hold; do
		find "$QDIR/$d" -type f 2>/dev/null
	done | sort
}
BEFORE=$(snapshot)

# run ARGS...: sendmail with stdin from a pipe that stays open for 10 s, so
# that a -bv reading its input would hang; sets RC, OUT_, ERR.
run() {
	timeout 8 "$SENDMAIL" "$@" >"$T/stdout" 2>"$T/stderr" < <(sleep 10)
	RC=$?
	OUT_=$(cat "$T/stdout")
	ERR=$(cat "$T/stderr")
}

# --- root: a user, a command, a file, a remote address ---------------------
run -bv root
is "$RC" 0 "-bv root: exit 0 (reads no message)"
is "$OUT_" "alice@host.example.com... deliverable: mailer local, user alice
|/usr/bin/touch $OUT/cmd-ran... deliverable: mailer prog, user |/usr/bin/touch $OUT/cmd-ran
$OUT/root.mbox... deliverable: mailer *file*, user $OUT/root.mbox
carol@remote.example.net... deliverable: mailer smtp, host remote.example.net, user carol@remote.example.net" \
	"-bv root: each final target of the alias, Sendmail's shape"
is "$ERR" "" "-bv root: nothing on stderr"

# --- a plain user, qualified or not ------------------------------------------
run -bv alice
is "$OUT_/$RC" "alice... deliverable: mailer local, user alice/0" "-bv alice: the address as typed"
run -bv ALICE@Host.Example.Com
is "$OUT_/$RC" "ALICE@Host.Example.Com... deliverable: mailer local, user alice/0" \
	"-bv ALICE@Host.Example.Com: case-insensitive"

# --- a list; bob's .forward read as bob --------------------------------------
run -bv list
is "$OUT_" "alice@host.example.com... deliverable: mailer local, user alice
bob@host.example.com... deliverable: mailer local, user bob
|/usr/bin/touch $OUT/vacation-ran... deliverable: mailer prog, user |/usr/bin/touch $OUT/vacation-ran" \
	"-bv list: alice, then bob's .forward (\\bob and his program)"
is "$RC" 0 "-bv list: exit 0"

# --- \user skips the .forward --------------------------------------------------
run -bv selfish
is "$OUT_/$RC" "bob@host.example.com... deliverable: mailer local, user bob/0" \
	"-bv selfish (\\bob): the mailbox, not the .forward"

# --- unknown users -------------------------------------------------------------
run -bv nosuch
is "$OUT_" "nosuch... User unknown" "-bv nosuch: User unknown"
is "$RC" 67 "-bv nosuch: exit 67 (EX_NOUSER)"
run -bv alice nosuch@host.example.com
is "$OUT_" "alice... deliverable: mailer local, user alice
nosuch@host.example.com... User unknown" "-bv alice nosuch: a line for each"
is "$RC" 67 "-bv alice nosuch: one unknown makes exit 67"
run -bv half
is "$OUT_" "alice@host.example.com... deliverable: mailer local, user alice
nosuch@host.example.com... User unknown" "-bv half: the bad member of a list is shown"
is "$RC" 67 "-bv half: exit 67"
run -bv gone
is "$OUT_/$RC" "gone... This user has left/67" "-bv gone (error:5.1.1): the alias's text, exit 67"
run -bv loop1
is "$OUT_/$RC" "loop1... User unknown/67" \
	"-bv loop1 (loop1: loop2, loop2: loop1): the loop ends at an unknown user, exit 67"

# --- recipient_delimiter -------------------------------------------------------
run -bv alice+news
is "$OUT_/$RC" "alice+news... deliverable: mailer local, user alice/0" \
	"-bv alice+news: the extension reaches alice"
run -bv list+x@host.example.com
is "$OUT_" "alice@host.example.com... deliverable: mailer local, user alice
bob@host.example.com... deliverable: mailer local, user bob
|/usr/bin/touch $OUT/vacation-ran... deliverable: mailer prog, user |/usr/bin/touch $OUT/vacation-ran" \
	"-bv list+x: the alias without its extension"
run -bv nosuch+x
is "$OUT_/$RC" "nosuch+x... User unknown/67" "-bv nosuch+x: unknown"

# --- remote addresses, several per argument ----------------------------------
run -bv 'Dave <dave@Example.ORG>, alice'
is "$OUT_" "dave@Example.ORG... deliverable: mailer smtp, host example.org, user dave@Example.ORG
alice... deliverable: mailer local, user alice" "-bv 'Dave <dave@Example.ORG>, alice': a remote and a local address"
is "$RC" 0 "-bv remote: exit 0"

# --- bad syntax, usage ---------------------------------------------------------
run -bv alice '<broken'
like "$OUT_" "^alice\.\.\. deliverable: mailer local, user alice
<broken\.\.\. " "-bv alice '<broken': a line for the bad argument"
is "$RC" 67 "-bv with a bad argument: exit 67"
run -bv
is "$RC" 64 "-bv without an address: exit 64"
like "$ERR" "-bv requires at least one recipient" "-bv without an address: says why"
run -bv -t root
is "$RC" 64 "-bv -t: exit 64"
run -bv '<'
is "$RC" 64 "-bv with no valid address at all: exit 64"

# --- a caller who is not root ------------------------------------------------
chmod 0700 "$T/home/bob"
run_as alice timeout 8 "$SENDMAIL" -bv list >"$T/stdout" 2>"$T/stderr" </dev/null
RC=$?
is "$(cat "$T/stdout")/$RC" "alice@host.example.com... deliverable: mailer local, user alice
bob@host.example.com... deliverable: mailer local, user bob/0" \
	"-bv list as alice: bob's .forward cannot be read, his mailbox is shown"
like "$(cat "$T/stderr")" "warning: $T/home/bob/.forward is not readable with your rights" \
	"-bv list as alice: a warning says so"
run_as bob timeout 8 "$SENDMAIL" -bv bob >"$T/stdout" 2>"$T/stderr" </dev/null
is "$(cat "$T/stdout")" "bob... deliverable: mailer local, user bob
|/usr/bin/touch $OUT/vacation-ran... deliverable: mailer prog, user |/usr/bin/touch $OUT/vacation-ran" \
	"-bv bob as bob: his own .forward is read"
chmod 0755 "$T/home/bob"

# --- nothing was delivered, run, written or queued ---------------------------
is "$(snapshot)" "$BEFORE" "spool, files and queue unchanged by -bv"
is "$(grep -cE 'to=<|status=|luser_relay' "$MAILLOG")" 0 "no delivery logged"
ok "$([ ! -e "$OUT/cmd-ran" ] && [ ! -e "$OUT/vacation-ran" ]; echo $?)" "no command ran"
is "$(queued_total)" 0 "nothing queued"

done_testing
