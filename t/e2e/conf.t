#!/bin/bash
# conf.t - `petrel conf` end to end (spec/config.md §1, §4).
#
# Runs "$PETREL_BUILDDIR/sendmail/petrel conf ..." against a configuration
# directory under mktemp -d (PETREL_CONFIG_DIR) and checks the listings
# (-n, -d, -h, -H, -x, names), the editing modes (-e, implied -e, -#, -X)
# byte for byte, the unused/unsupported/unknown parameter warnings, the
# syntax error message and exit status, -M, -m, -l, -o and -c, and that
# the shipped cf/main.cf is clean. Prints TAP.
set -u

PETREL="${PETREL_BUILDDIR:?PETREL_BUILDDIR must name the build directory}/sendmail/petrel"
SRCDIR="${PETREL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
export PETREL_CONFIG_DIR="$T/etc"
mkdir -p "$PETREL_CONFIG_DIR"
CF="$PETREL_CONFIG_DIR/main.cf"
MASTER="$PETREL_CONFIG_DIR/master.cf"
unset LANG LC_ALL
export LC_ALL=C

n=0
failed=0

ok() {	# status name
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

is() {	# got want name
	n=$((n + 1))
	if [ "$1" == "$2" ]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		failed=$((failed + 1))
		echo "#   got:"
		printf '%s\n' "$1" | sed 's/^/#     |/'
		echo "#   expected:"
		printf '%s\n' "$2" | sed 's/^/#     |/'
	fi
}

conf() {
	"$PETREL" conf "$@"
}

# --- Listings ---------------------------------------------------------------

cat >"$CF" <<'EOF'
# Test configuration.
myhostname = mx.example.org
relayhost =
mydestination = $myhostname,
    localhost
# a comment between settings
alias_maps = hash:/etc/aliases
smtpd_banner = $myhostname ESMTP $mail_name
recipient_delimiter = +
recipient_delimiter = -
EOF

out=$(conf -n 2>"$T/err"); rc=$?
is "$rc" 0 "conf -n exits 0"
is "$out" 'alias_maps = hash:/etc/aliases
mydestination = $myhostname,    localhost
myhostname = mx.example.org
recipient_delimiter = -
relayhost =
smtpd_banner = $myhostname ESMTP $mail_name' "conf -n: set names, sorted, raw, last definition wins"
is "$(cat "$T/err")" "" "conf -n: no warnings for a clean file"

out=$(conf -d 2>/dev/null)
for line in 'mail_owner = petrel' 'message_size_limit = 10240000' \
    'compatibility_level = 3.6' 'mailq_output_format = sendmail' \
    'mynetworks = 127.0.0.0/8 [::1]/128' 'setgid_group = petreldrop' \
    'mail_name = Petrel' 'relayhost =' 'alias_maps = hash:/etc/aliases' \
    'maximal_queue_lifetime = 5d' 'smtpd_banner = $myhostname ESMTP $mail_name' \
    'mydestination = $myhostname, localhost.$mydomain, localhost' \
    'recipient_delimiter =' 'biff = yes' 'append_dot_mydomain = no' \
    'smtputf8_enable = yes' 'alias_auto_rebuild = yes' 'dns_nameservers ='; do
	printf '%s\n' "$out" | grep -Fxq -- "$line"
	ok $? "conf -d shows: $line"
done
printf '%s\n' "$out" | grep -q '^myhostname = mx.example.org$'
ok $((! $?)) "conf -d ignores main.cf"
printf '%s\n' "$out" | sort -c 2>/dev/null
ok $? "conf -d is sorted by name"

all=$(conf 2>/dev/null)
printf '%s\n' "$all" | sort -c 2>/dev/null
ok $? "conf (no flags) is sorted by name"
printf '%s\n' "$all" | grep -Fxq 'myhostname = mx.example.org'
ok $? "conf (no flags) shows main.cf values"
printf '%s\n' "$all" | grep -Fxq 'mail_owner = petrel'
ok $? "conf (no flags) fills in defaults"
printf '%s\n' "$all" | grep -Fxq 'smtpd_banner = $myhostname ESMTP $mail_name'
ok $? "conf (no flags) leaves values unexpanded"
is "$(printf '%s\n' "$all" | wc -l | tr -d ' ')" "$(conf -d 2>/dev/null | wc -l | tr -d ' ')" \
    "conf lists as many parameters as conf -d"

is "$(conf myhostname relayhost)" 'myhostname = mx.example.org
relayhost =' "conf NAME...: 'name = value', empty as 'name ='"
is "$(conf -h myhostname)" "mx.example.org" "conf -h: value only"
is "$(conf -h relayhost | od -c | head -1)" "$(printf '\n' | od -c | head -1)" \
    "conf -h of an empty value prints an empty line"
is "$(conf -H myhostname relayhost)" 'myhostname
relayhost' "conf -H: names only"
is "$(conf -x mydestination smtpd_banner)" 'mydestination = mx.example.org,    localhost
smtpd_banner = mx.example.org ESMTP Petrel' "conf -x expands"
is "$(conf -xh mydomain)" "example.org" "conf -xh mydomain"
is "$(conf -o relayhost=[gw.example.net] -h relayhost)" "[gw.example.net]" "conf -o overrides"
is "$(conf -o relayhost=[gw.example.net] -xh relayhost)" "[gw.example.net]" "conf -o with -x"
is "$(conf -m)" 'btree
hash
inline
pcre
regexp
static
texthash' "conf -m lists the table types"
is "$(conf -l)" 'flock
fcntl
dotlock' "conf -l lists the locking methods"

mkdir -p "$T/other"
printf 'myhostname = other.example.org\n' >"$T/other/main.cf"
is "$(conf -c "$T/other" -h myhostname)" "other.example.org" "conf -c DIR"
is "$("$PETREL" -c "$T/other" conf -h myhostname)" "other.example.org" "petrel -c DIR conf"
is "$(PETREL_CONFIG_DIR="$T/other" conf -h myhostname)" "other.example.org" \
    "PETREL_CONFIG_DIR"

long=$(printf 'w%02d ' $(seq 1 40))
out=$(conf -f -o "mydestination=$long" -h mydestination)
awk 'length > 80 { bad = 1 } END { exit bad }' <<<"$out"
ok $? "conf -f folds at 80 columns"
is "$(printf '%s\n' "$out" | sed -n 2p | cut -c1-4)" "    " "conf -f indents continuation lines"
is "$(printf '%s\n' "$out" | tr -s ' \n' '  ' | sed 's/ *$//')" "$(printf '%s' "$long" | sed 's/ *$//')" \
    "conf -f keeps every word"

# --- Editing ----------------------------------------------------------------

cp "$CF" "$T/before"
chmod 640 "$CF"
conf -e 'relayhost=[smart.example.net]:587'
ok $? "conf -e exits 0"
is "$(diff "$T/before" "$CF")" '3c3
< relayhost =
---
> relayhost = [smart.example.net]:587' "conf -e changes exactly that line"
is "$(stat -c %a "$CF")" "640" "conf -e keeps the file mode"

cp "$CF" "$T/before"
conf -e 'mydestination = a, b'
is "$(cat "$CF")" '# Test configuration.
myhostname = mx.example.org
relayhost = [smart.example.net]:587
mydestination = a, b
# a comment between settings
alias_maps = hash:/etc/aliases
smtpd_banner = $myhostname ESMTP $mail_name
recipient_delimiter = +
recipient_delimiter = -' "conf -e replaces a continued value, keeps comments and order"

conf -e recipient_delimiter=. smtpd_milters=inet:127.0.0.1:8891
is "$(tail -4 "$CF")" 'smtpd_banner = $myhostname ESMTP $mail_name
recipient_delimiter = .
recipient_delimiter = .
smtpd_milters = inet:127.0.0.1:8891' "conf -e replaces every definition and appends new ones"

conf soft_bounce=yes
ok $? "implied -e exits 0"
is "$(tail -1 "$CF")" "soft_bounce = yes" "name=value without -e edits (implied -e)"
is "$(conf -h soft_bounce)" "yes" "edited value read back"

conf -'#' soft_bounce mydestination
is "$(grep -n 'soft_bounce\|mydestination' "$CF")" '4:#mydestination = a, b
11:#soft_bounce = yes' "conf -# comments parameters out"
is "$(conf -h mydestination)" '$myhostname, localhost.$mydomain, localhost' \
    "a commented-out parameter falls back to its default"

conf -X smtpd_milters recipient_delimiter
is "$(cat "$CF")" '# Test configuration.
myhostname = mx.example.org
relayhost = [smart.example.net]:587
#mydestination = a, b
# a comment between settings
alias_maps = hash:/etc/aliases
smtpd_banner = $myhostname ESMTP $mail_name
#soft_bounce = yes' "conf -X removes parameters"

printf 'a = 1\nlong = x,\n  y\n# keep\nb = 2\n' >"$CF"
conf -'#' long
is "$(cat "$CF")" 'a = 1
#long = x,
#  y
# keep
b = 2' "conf -# comments out continuation lines too"
printf 'a = 1\nlong = x,\n  y\n# keep\nb = 2\n' >"$CF"
conf -X long
is "$(cat "$CF")" 'a = 1
# keep
b = 2' "conf -X removes continuation lines, keeps comments"

printf 'a = 1' >"$CF"
conf -e b=2
is "$(cat "$CF")" 'a = 1
b = 2' "conf -e appends after a last line without newline"

conf -X 'b=2' 2>"$T/err"
is "$?" 1 "conf -X name=value refused"
rm -f "$CF"
conf -e first=1
is "$(cat "$CF" 2>/dev/null)" "first = 1" "conf -e creates a missing main.cf"
ls "$PETREL_CONFIG_DIR" | grep -q tmp
ok $((! $?)) "no temporary file left behind"

# --- Warnings ---------------------------------------------------------------

cat >"$CF" <<'EOF'
myhostname = mx.example.org
foo = bar
my_var = x
smtpd_banner = $my_var ESMTP
sub_level = encrypt
relocated_maps = hash:/etc/petrel/relocated
foo = baz
EOF
cat >"$MASTER" <<'EOF'
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
  -o smtpd_tls_security_level=$sub_level
EOF
out=$(conf -n 2>"$T/err")
is "$(cat "$T/err")" "petrel conf: warning: $CF: unused parameter: foo=baz
petrel conf: warning: $CF: parameter not supported by Petrel: relocated_maps=hash:/etc/petrel/relocated" \
    "unused and unsupported warnings, once per name; \$name references count as use"
printf '%s\n' "$out" | grep -Fxq 'foo = baz'
ok $? "conf -n still lists an unused parameter"
conf >/dev/null 2>"$T/err"
is "$(grep -c 'unused parameter' "$T/err")" 1 "conf (no flags) warns too"
conf -d >/dev/null 2>"$T/err"
is "$(cat "$T/err")" "" "conf -d does not warn"
is "$(conf my_var 2>/dev/null)" "my_var = x" "a user-defined parameter is shown"
is "$(conf -h sub_level 2>/dev/null)" "encrypt" "a parameter used from master.cf is shown"
out=$(conf no_such_param 2>"$T/err")
is "$out" "" "conf NAME for an unknown name prints nothing"
grep -Fxq "petrel conf: warning: no_such_param: unknown parameter" "$T/err"
ok $? "conf NAME for an unknown name warns 'unknown parameter'"
out=$(conf foo 2>"$T/err")
is "$out" "" "an unreferenced main.cf name is unknown to conf NAME"
conf -e foo=qux 2>"$T/err" >/dev/null
is "$(cat "$T/err")" "" "conf -e does not warn"

cp "$SRCDIR/cf/main.cf" "$CF"
rm -f "$MASTER"
conf -n >"$T/out" 2>"$T/err"
is "$?" 0 "shipped cf/main.cf: conf -n exits 0"
is "$(cat "$T/err")" "" "shipped cf/main.cf: no warnings"
grep -Fxq 'compatibility_level = 3.6' "$T/out"
ok $? "shipped cf/main.cf sets compatibility_level = 3.6"

# --- Errors -----------------------------------------------------------------

printf 'a = 1\nfoo bar\n' >"$CF"
out=$(conf -n 2>"$T/err"); rc=$?
is "$rc" 1 "syntax error: exit 1"
is "$(cat "$T/err")" "petrel conf: fatal: $CF, line 2: missing '=' after attribute name: \"foo bar\"" \
    "syntax error message names file and line"
is "$out" "" "syntax error: nothing on stdout"
printf 'a = $b\nb = $a\n' >"$CF"
timeout 10 "$PETREL" conf -n >/dev/null 2>"$T/err"; rc=$?
is "$rc" 1 "expansion loop: exit 1, no hang"
grep -q "parameter a: expansion loop: a -> b -> a" "$T/err"
ok $? "expansion loop message names the parameter"
rm -f "$CF"
conf -n >/dev/null 2>"$T/err"
is "$?" 1 "missing main.cf: exit 1"
grep -q "open $CF" "$T/err"
ok $? "missing main.cf: message names the file"
conf -Q >/dev/null 2>&1
is "$?" 1 "bad option: exit 1"

# --- master.cf ---------------------------------------------------------------

printf 'myhostname = mx.example.org\nlevel = encrypt\n' >"$CF"
is "$(conf -M)" "" "conf -M without master.cf prints nothing"
cat >"$MASTER" <<'EOF'
# service type  private unpriv  chroot  wakeup  maxproc command + args
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
  -o smtpd_tls_security_level=$level
# a comment inside the entry
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:2525 inet n - n - - smtpd
pickup    unix  n       -       y       60      1       pickup
EOF
is "$(conf -M)" 'smtp       inet  n       -       n       -       -       smtpd
submission inet  n       -       n       -       -       smtpd -o smtpd_tls_security_level=$level -o smtpd_sasl_auth_enable=yes
127.0.0.1:2525 inet n    -       n       -       -       smtpd
pickup     unix  n       -       y       60      1       pickup' "conf -M lists master.cf services"
is "$(conf -Mf submission)" 'submission inet  n       -       n       -       -       smtpd
    -o smtpd_tls_security_level=$level
    -o smtpd_sasl_auth_enable=yes' "conf -Mf folds, -M filters by service"
is "$(conf -Mx submission/inet)" 'submission inet  n       -       n       -       -       smtpd -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes' \
    "conf -Mx expands -o values; service/type filter"
is "$(conf -M pickup/inet)" "" "conf -M service/type filter excludes other types"

echo "1..$n"
[ "$failed" -eq 0 ]
