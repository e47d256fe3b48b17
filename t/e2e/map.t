#!/bin/bash
# map.t - `petrel map`, Petrel's postmap: building FILE.db (silent, exit 0;
# warnings naming file and line for a line without a value, a duplicate
# key, a continuation without an entry), -q KEY (value, exit 0; not found
# exit 1), -q - (key<TAB>value for each key found on stdin, exit 0 when
# one was), -f (no case folding), btree:, a bare name
# (default_database_type), owner and mode from the source, the database
# replaced whole (concurrent builds, a failed build keeps the old one),
# missing files and unsupported types (exit 1, a message naming them), and
# Postfix's postmap -q reading Petrel's database and petrel map -q reading
# postmap's, with the same keys and values (Debian's postfix package
# unpacked, never installed: t/lib/peers.sh postfix_unpack; the test fails
# when it cannot be had).
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup
DBDUMP=$(command -v db5.3_dump || command -v db_dump)
M=$T/transport
cat >"$M" <<'EOF'
# transport_maps for the tests
Example.COM     smtp:[mx.example.com]:2525
.example.com    smtp:[relay.example.com]
local.test      local:
multi.test      smtp:[a.test]
# a comment inside the entry
	continued
novalue.test
example.com     smtp:[second]
error.test      error:5.1.1 no such domain   
EOF

out=$("$PETREL" map "hash:$M" 2>"$T/err"); rc=$?
is "$rc" 0 "petrel map hash:FILE exits 0"
is "$out" "" "... and prints nothing on stdout"
is "$(sed 's/^[^:]*: warning: //' "$T/err")" \
"$M, line 8: expected format: key whitespace value
$M, line 9: duplicate entry: \"example.com\" (the first one is kept)" \
	"warnings name the file and the line (no value, duplicate)"
ok $([ -f "$M.db" ]; echo $?) "FILE.db made"
is "$("$PETREL" map -q example.com "hash:$M")" "smtp:[mx.example.com]:2525" "-q: key folded when built, first definition kept"
is "$("$PETREL" map -q EXAMPLE.Com "hash:$M")" "smtp:[mx.example.com]:2525" "-q: the query is folded too"
is "$("$PETREL" map -q multi.test "hash:$M")" "smtp:[a.test]	continued" "continuation line joined, comment skipped"
is "$("$PETREL" map -q error.test "hash:$M")" "error:5.1.1 no such domain" "trailing white space dropped, inner kept"
out=$("$PETREL" map -q novalue.test "hash:$M"); rc=$?
is "$out:$rc" ":1" "-q: a key not found prints nothing and exits 1"
out=$(printf 'local.test\nnone.test\n.EXAMPLE.com\nerror.test extra\n' | "$PETREL" map -q - "hash:$M"); rc=$?
is "$out" "local.test	local:
.EXAMPLE.com	smtp:[relay.example.com]" "-q -: key<TAB>value for each key found (the whole line is the key)"
is "$rc" 0 "-q -: exit 0 when a key was found"
out=$(printf 'none.test\n' | "$PETREL" map -q - "hash:$M"); rc=$?
is "$out:$rc" ":1" "-q -: exit 1 when none was"
[ -n "$DBDUMP" ] && is "$("$DBDUMP" -p "$M.db" | sed -n '/HEADER=END/,/DATA=END/p' | sed '1d;$d' | paste - - | sort | tr '\n' '|')" \
' .example.com\00	 smtp:[relay.example.com]\00| error.test\00	 error:5.1.1 no such domain\00| example.com\00	 smtp:[mx.example.com]:2525\00| local.test\00	 local:\00| multi.test\00	 smtp:[a.test]\09continued\00|' \
	"the database: lowercase keys, keys and values with their NUL, nothing else"

# --- -f, btree, bare names ----------------------------------------------------------
cp "$M" "$T/nofold"
"$PETREL" map -f "hash:$T/nofold" 2>/dev/null
is "$("$PETREL" map -f -q Example.COM "hash:$T/nofold")" "smtp:[mx.example.com]:2525" "-f: keys keep their case"
is "$("$PETREL" map -f -q example.com "hash:$T/nofold")" "smtp:[second]" "-f: another case is another key"
printf 'k1 v1\nK2 v2\n' >"$T/bt"
"$PETREL" map "btree:$T/bt"
is "$("$PETREL" map -q k2 "btree:$T/bt")" "v2" "btree: built and queried"
printf 'bare value\n' >"$T/bare"
"$PETREL" map "$T/bare"
is "$("$PETREL" map -q bare "hash:$T/bare")" "value" "a bare name: default_database_type (hash)"
mkdir -p "$T/btconf" && echo "default_database_type = btree" >"$T/btconf/main.cf"
printf 'other v\n' >"$T/bare2"
"$PETREL" map -c "$T/btconf" "$T/bare2"
is "$("$PETREL" map -q other "btree:$T/bare2")" "v" "map -c DIR (postmap's place for it) reads that main.cf"
echo "default_database_type = btree" >>"$CONF/main.cf"
"$PETREL" map "$T/bare"
is "$("$PETREL" map -q bare "btree:$T/bare")" "value" "default_database_type = btree is honoured"
is "$("$PETREL" map -q k1 "btree:$T/bare" "btree:$T/bt")" "v1" "-q with several maps: the first that has the key"
out=$("$PETREL" map -q bare "hash:$T/bare" 2>&1); rc=$?
is "$rc" 1 "-q with the wrong type: exit 1"
like "$out" "open database $T/bare.db: .*unexpected file type or format" "... an error naming the database, not \"not found\""

# --- owner, mode, atomic replacement ------------------------------------------------
printf '[smtp.example.com]:587 user:secret\n' >"$T/sasl_passwd"
chmod 0600 "$T/sasl_passwd"
chown alice:alice "$T/sasl_passwd"
"$PETREL" map "hash:$T/sasl_passwd"
is "$(stat -c '%a %U %G' "$T/sasl_passwd.db")" "600 alice alice" "owner, group and mode 0600 from the source (sasl_passwd)"
is "$("$PETREL" map -q '[smtp.example.com]:587' "hash:$T/sasl_passwd")" "user:secret" "the password map answers"
chmod 0644 "$M"
"$PETREL" map "hash:$M" 2>/dev/null
is "$(stat -c '%a' "$M.db")" "644" "mode 0644 from a 0644 source"

for i in 1 2 3 4 5 6; do "$PETREL" map "hash:$M" 2>/dev/null & done
wait
is "$(ls -a "$T" | grep -c '^transport\.db.')" 0 "concurrent builds leave no temporary file"
is "$("$PETREL" map -q local.test "hash:$M")" "local:" "... and a whole database"

mkdir "$T/ro" && cp "$M" "$T/ro/t" && "$PETREL" map "hash:$T/ro/t" 2>/dev/null
chmod 0755 "$T/ro"
ino=$(stat -c %i "$T/ro/t.db")
echo "new.test smtp:[new]" >>"$T/ro/t"
out=$(run_as alice "$PETREL" map "hash:$T/ro/t" 2>&1); rc=$?
is "$rc" 1 "a database that cannot be written: exit 1"
like "$out" "cannot create $T/ro/t\.db\..*: Permission denied" "... with a message naming it"
is "$(stat -c %i "$T/ro/t.db"):$("$PETREL" map -q local.test "hash:$T/ro/t"):$("$PETREL" map -q new.test "hash:$T/ro/t")" \
	"$ino:local::" "... and the old database untouched"

# --- errors -----------------------------------------------------------------------
out=$("$PETREL" map "hash:$T/nosuch" 2>&1); rc=$?
is "$rc" 1 "missing source: exit 1"
like "$out" "open $T/nosuch: No such file or directory" "... naming the file"
ok $([ ! -e "$T/nosuch.db" ]; echo $?) "... and no database made"
out=$("$PETREL" map -q x "hash:$T/nosuch" 2>&1); rc=$?
is "$rc" 1 "-q on a missing database: exit 1"
like "$out" "open database $T/nosuch.db: No such file or directory" "... naming the database"
out=$("$PETREL" map -q x "cdb:$T/bt" 2>&1); rc=$?
is "$rc:$(echo "$out" | grep -c 'unsupported dictionary type: cdb')" "1:1" "unsupported type: exit 1 and a message"
out=$("$PETREL" map 2>&1); rc=$?
is "$rc" 1 "no map named: usage, exit 1"
like "$out" 'usage: petrel .*map' "... the usage names map"
printf '  leading\nk v\n' >"$T/lead"
out=$("$PETREL" map "hash:$T/lead" 2>&1); rc=$?
is "$rc" 0 "a continuation without an entry: still exit 0"
like "$out" "$T/lead, line 1: logical line must not start with whitespace" "... with a warning naming the line"

# --- Postfix's postmap reads Petrel's file and the other way round -------------------
PM=""
postfix_unpack
ok $? "Postfix's package unpacked (postmap; downloaded by contrib/install-test-deps, never installed)"
if [ -n "${PF:-}" ]; then
	PM="$PF $PF_SBIN/postmap"
	$PM -q local.test "hash:$M" >/dev/null 2>&1
	ok $? "the unpacked postmap runs" || { diag "$($PM -q local.test "hash:$M" 2>&1 | head -n 1)"; PM=""; }
fi
if [ -n "$PM" ]; then
	is "$($PM -q EXAMPLE.com "hash:$M")" "smtp:[mx.example.com]:2525" "postmap -q reads Petrel's database"
	is "$($PM -q multi.test "hash:$M")" "smtp:[a.test]	continued" "postmap -q: continued value"
	is "$($PM -q novalue.test "hash:$M"; echo "rc=$?")" "rc=1" "postmap -q: unknown key not found"
	is "$(printf 'local.test\nerror.test\n' | $PM -q - "hash:$M")" "$(printf 'local.test\nerror.test\n' | "$PETREL" map -q - "hash:$M")" \
		"postmap -q - and petrel map -q - print the same"
	cp "$M" "$T/pfmap"
	$PM "hash:$T/pfmap" 2>"$T/pferr"
	is "$("$PETREL" map -q example.com "hash:$T/pfmap")" "smtp:[mx.example.com]:2525" "petrel map -q reads postmap's database"
	is "$("$PETREL" map -q error.test "hash:$T/pfmap")" "error:5.1.1 no such domain" "... every value"
	[ -n "$DBDUMP" ] && is "$("$DBDUMP" -p "$T/pfmap.db" | sed -n '/HEADER=END/,/DATA=END/p' | sed '1d;$d' | paste - - | sort)" \
		"$("$DBDUMP" -p "$M.db" | sed -n '/HEADER=END/,/DATA=END/p' | sed '1d;$d' | paste - - | sort)" \
		"postmap and petrel map store the same keys and values"
	is "$(sed 's/^postmap: warning: //' "$T/pferr" | wc -l)" 2 "postmap also warns twice (no value, duplicate)"
fi

done_testing
