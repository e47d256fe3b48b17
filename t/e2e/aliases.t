#!/bin/bash
# aliases.t - newaliases, sendmail -bi, sendmail -I and -oA (spec/aliases.md
# §1, §3, §4): the statistics line only on a terminal or with -v, the
# warnings of a malformed file (file and line, the rest still built, exit
# 0), exit 75 for a missing source, the database read back with db_dump
# (lowercase keys with their NUL, "@" -> "@", the YP_ entries), owner and
# mode taken from the source, atomic replacement under concurrent runs,
# and postalias -q and praliases reading Petrel's file (Debian's postfix and
# sendmail-bin packages unpacked, never installed: t/lib/peers.sh
# deb_unpack; the test fails when they cannot be had).
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup
unset NAME
A=$T/aliases
{
	echo "alias_database = hash:$A"
	echo "alias_maps = hash:$A"
} >>"$CONF/main.cf"

mkdir -p "$T/bin"
ln -s "$SENDMAIL" "$T/bin/newaliases"
NEWALIASES=$T/bin/newaliases
DBDUMP=$(command -v db5.3_dump || command -v db_dump)

# The alias file: 5 good entries, one malformed line (line 6), an entry
# after it, a duplicate and a continued entry.
cat >"$A" <<'EOF'
# Petrel test aliases
Root: admin@example.com, \root
postmaster: root
MAILER-DAEMON: postmaster
"Foo Bar": root
this line has no colon
list: "|/usr/bin/foo -x",
	/var/log/archive, :include: /etc/mail/list
root: ignored duplicate
EOF
chmod 0644 "$A"
# Expected statistics: N entries, the longest value, sum of name + value.
EXP_N=5
V1='admin@example.com, \root'
V5='"|/usr/bin/foo -x",	/var/log/archive, :include: /etc/mail/list'
EXP_LONGEST=${#V5}
EXP_TOTAL=$(( 4 + ${#V1} + 10 + 4 + 13 + 10 + 7 + 4 + 4 + ${#V5} ))
STATS="$A: $EXP_N aliases, longest $EXP_LONGEST bytes, $EXP_TOTAL bytes total"

# run PROG ARGS...: runs with stdout/stderr captured; sets RC, OUT, ERR.
run() {
	timeout 30 "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# contains GOT FIXED-STRING NAME
contains() {
	local got=$1 want=$2; shift 2
	if printf '%s' "$got" | grep -qF -- "$want"; then
		ok 0 "$*"
	else
		ok 1 "$*"
		printf '#   got:      %s\n#   expected to contain: %s\n' "$(printf %q "$got")" "$want"
	fi
}

# dump DB: the key/value lines of db_dump -p (one per line, leading blank removed).
dump() {
	"$DBDUMP" -p "$1" | sed -n '/^HEADER=END$/,/^DATA=END$/p' | sed -e '1d' -e '$d' -e 's/^ //'
}

# value_of DB KEY-AS-DUMPED: the value line after that key line.
value_of() {
	dump "$1" | K=$2 awk 'NR % 2 == 1 && $0 == ENVIRON["K"] { getline; print; exit }'
}

tmp_files() {
	find "$T" -maxdepth 1 -name '*.tmp' | sort
}

# --- newaliases, not on a terminal -----------------------------------------
run "$NEWALIASES"
is "$RC" 0 "newaliases: exit 0 with a malformed line"
is "$OUT" "" "newaliases: silent on stdout when it is not a terminal"
contains "$ERR" "newaliases: warning: $A, line 6: missing colon" \
	"malformed line: warning with file and line"
contains "$ERR" "newaliases: warning: $A, line 9: duplicate entry \"root\" ignored (first defined at line 2)" \
	"duplicate: warning, first kept"
ok "$([ -f "$A.db" ]; echo $?)" "aliases.db built"
is "$(tmp_files)" "" "no temp file left"
contains "$(cat "$MAILLOG")" "$A, line 6: missing colon" "warning also in the mail log"

# --- the database, read by Berkeley DB's own tool -------------------------
if [ -n "$DBDUMP" ]; then
	D=$(dump "$A.db")
	diag "db_dump: $(echo "$D" | tr '\n' ' ')"
	is "$(value_of "$A.db" 'root\00')" 'admin@example.com, \\root\00' \
		"root: lowercase key and value, both with their NUL"
	is "$(value_of "$A.db" 'mailer-daemon\00')" 'postmaster\00' "MAILER-DAEMON folded"
	is "$(value_of "$A.db" 'foo bar\00')" 'root\00' "quoted name stored unquoted, folded"
	is "$(value_of "$A.db" 'list\00')" \
		'"|/usr/bin/foo -x",\09/var/log/archive, :include: /etc/mail/list\00' \
		"entry after the malformed line, continuation joined, value as written"
	is "$(value_of "$A.db" '@\00')" '@\00' '"@" -> "@" with NULs'
	like "$(value_of "$A.db" 'YP_LAST_MODIFIED')" '^[0-9]{10}$' "YP_LAST_MODIFIED: 10 digits, no NUL"
	is "$(value_of "$A.db" 'YP_MASTER_NAME')" 'host.example.com' "YP_MASTER_NAME: \$myhostname, no NUL"
	is "$(echo "$D" | awk 'NR % 2 == 1' | grep -c '[A-Z].*\\00$')" 0 "no upper-case alias key"
	is "$(echo "$D" | awk 'NR % 2 == 1' | wc -l)" $((EXP_N + 3)) "entries + @ + 2 YP keys"
	is "$("$DBDUMP" -p "$A.db" | grep '^type=')" "type=hash" "a DB_HASH file"
else
	ok 1 "db_dump (db-util) is not installed"
fi

# --- -v, terminals, sendmail -bi / -I --------------------------------------
run "$NEWALIASES" -v
is "$RC" 0 "newaliases -v: exit 0"
is "$OUT" "$STATS" "newaliases -v: Sendmail's statistics line"

if script -qec "true" /dev/null >/dev/null 2>&1; then
	TTY_OUT=$(script -qec "$NEWALIASES 2>/dev/null" /dev/null </dev/null | tr -d '\r')
	is "$TTY_OUT" "$STATS" "newaliases on a terminal: the statistics line"
else
	diag "script(1) cannot make a terminal here: terminal case not checked"
fi

rm -f "$A.db"
run "$SENDMAIL" -bi
is "$RC" 0 "sendmail -bi: exit 0"
is "$OUT" "" "sendmail -bi: silent"
contains "$ERR" "sendmail: warning: $A, line 6: missing colon" "sendmail -bi: warning names the program"
ok "$([ -f "$A.db" ]; echo $?)" "sendmail -bi built aliases.db"

rm -f "$A.db"
run "$SENDMAIL" -I
is "$RC" 0 "sendmail -I: exit 0"
ok "$([ -f "$A.db" ]; echo $?)" "sendmail -I built aliases.db"

run "$SENDMAIL" -bi -v
is "$OUT" "$STATS" "sendmail -bi -v: the statistics line"

# --- -oA: only that file -----------------------------------------------------
printf 'Other: o@example.com\n' >"$T/other"
rm -f "$A.db"
run "$SENDMAIL" -bi -v -oA"$T/other"
is "$RC" 0 "-oA path: exit 0"
is "$OUT" "$T/other: 1 aliases, longest 13 bytes, 18 bytes total" "-oA: statistics of that file"
ok "$([ -f "$T/other.db" ]; echo $?)" "-oA: other.db built"
ok "$([ ! -e "$A.db" ]; echo $?)" "-oA: alias_database left alone"
[ -n "$DBDUMP" ] && is "$(value_of "$T/other.db" 'other\00')" 'o@example.com\00' "-oA: content"

run "$SENDMAIL" -bi -oAhash:"$T/other"
is "$RC" 0 "-oAhash:path: exit 0"

run "$SENDMAIL" -bi -oAtexthash:"$T/other"
is "$RC" 0 "-oAtexthash: nothing to build, exit 0"

# --- errors -------------------------------------------------------------------
run "$SENDMAIL" -bi -oA"$T/missing"
is "$RC" 75 "missing source: exit 75"
contains "$ERR" "cannot open alias file $T/missing: No such file or directory" \
	"missing source: clear message"
ok "$([ ! -e "$T/missing.db" ]; echo $?)" "missing source: no database"

run "$SENDMAIL" -bi -oAdbm:"$T/other"
is "$RC" 1 "unsupported map type: exit 1"
contains "$ERR" 'unsupported alias database type "dbm"' "unsupported map type: message"

mkdir "$T/ro"
printf 'a: b\n' >"$T/ro/aliases"
chmod 0555 "$T/ro"
run setpriv --reuid=2001 --regid=2001 --clear-groups -- "$SENDMAIL" -bi -oA"$T/ro/aliases"
is "$RC" 1 "directory not writable: exit 1"
contains "$ERR" "cannot create $T/ro/aliases.db." "directory not writable: message"
chmod 0755 "$T/ro"

# An old database survives a failed rebuild.
run "$NEWALIASES"
cp "$A.db" "$T/db.before"
chmod 0000 "$A"
run setpriv --reuid=2001 --regid=2001 --clear-groups -- "$SENDMAIL" -bi
is "$RC" 75 "unreadable source: exit 75"
contains "$ERR" "Permission denied" "unreadable source: says why"
ok "$(cmp -s "$A.db" "$T/db.before"; echo $?)" "unreadable source: old database untouched"
chmod 0644 "$A"

# --- owner and mode follow the source ------------------------------------------
chown 2001:2002 "$A"
chmod 0640 "$A"
run "$NEWALIASES"
is "$(stat -c '%u:%g %a' "$A.db")" "2001:2002 640" "owner, group and mode from the source (0640)"
chown 0:0 "$A"
chmod 0644 "$A"
run "$NEWALIASES"
is "$(stat -c '%u:%g %a' "$A.db")" "0:0 644" "owner, group and mode from the source (0644)"
chmod 0664 "$A"
run "$NEWALIASES"
is "$(stat -c '%a' "$A.db")" "644" "group write of the source not copied"
chmod 0644 "$A"

# --- concurrent runs: each replaces the file whole -------------------------------
for i in 1 2 3 4 5 6; do
	"$NEWALIASES" >/dev/null 2>&1 &
done
wait
is "$(tmp_files)" "" "concurrent runs: no temp file left"
[ -n "$DBDUMP" ] && is "$(value_of "$A.db" '@\00')" '@\00' "concurrent runs: a complete database"

# --- Postfix's postalias reads Petrel's file (package unpacked, not installed) ----
PA=""
postfix_unpack
ok $? "Postfix's package unpacked (postalias; downloaded by contrib/install-test-deps, never installed)"
if [ -n "${PF:-}" ]; then
	PA="$PF $PF_SBIN/postalias"
	$PA -q root "hash:$A" >/dev/null 2>&1
	ok $? "the unpacked postalias runs" || { diag "$($PA -q root "hash:$A" 2>&1 | head -n 1)"; PA=""; }
fi
if [ -n "$PA" ]; then
	is "$($PA -q root "hash:$A")" 'admin@example.com, \root' "postalias -q root reads Petrel's aliases.db"
	is "$($PA -q 'Foo Bar' "hash:$A")" 'root' "postalias -q with a folded, quoted name"
	is "$($PA -q @ "hash:$A")" '@' "postalias sees the @ sentinel"
	is "$($PA -q nobody "hash:$A"; echo "rc=$?")" "rc=1" "postalias: unknown name not found"
	# And the other way round: Petrel's -v line for a file postalias built equals its count.
	cp "$A" "$T/pfal"
	$PA "hash:$T/pfal" 2>/dev/null
	is "$(dump "$T/pfal.db" | awk 'NR % 2 == 1' | sort | tr '\n' ' ')" \
		"$(dump "$A.db" | awk 'NR % 2 == 1' | sort | tr '\n' ' ')" \
		"postalias and newaliases store the same keys"
fi

# --- Sendmail's praliases reads it too (sendmail-bin unpacked, not installed) ----
PR=""
deb_unpack sendmail-bin "$T/sm"
ok $? "sendmail-bin's package unpacked (praliases; downloaded by contrib/install-test-deps, never installed)" && {
	PR=$T/sm/usr/libexec/sendmail/praliases
	"$PR" -f "$A" >/dev/null 2>&1
	ok $? "the unpacked praliases runs" || { diag "$("$PR" -f "$A" 2>&1 | head -n 1)"; PR=""; }
}
if [ -n "$PR" ]; then
	is "$("$PR" -f "$A" root 2>/dev/null)" 'root:admin@example.com, \root' "praliases reads Petrel's aliases.db"
	is "$("$PR" -f "$A" 2>/dev/null | grep -c '^@:@$')" 1 "praliases sees @:@"
fi

done_testing
