#!/bin/bash
# virtual.t - virtual alias domains (Postfix's virtual(5)): a table built
# with petrel map, whose "example.org anything" line makes example.org a
# virtual alias domain (virtual_alias_domains = $virtual_alias_maps, the
# default). Covered: one alias, a list, nested aliases with duplicates
# dropped, a catch-all, an address that keeps a copy for itself,
# recipient extensions; orig_to= in the delivery log and
# Original-Recipient: in a NOTIFY=SUCCESS notice; from an SMTP client
# outside mynetworks: a virtual domain is accepted without relay
# permission and an unlisted address is refused 550 5.1.1 at RCPT; from
# sendmail, an unlisted address bounces 5.1.1; an alias loop is refused
# at the end of DATA with 451 4.3.0 and nothing is queued; petrel check
# does not call the parameters unsupported. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"

instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.1/32" \
	"virtual_alias_maps = hash:\$config_directory/virtual" "recipient_delimiter = +" \
	"virtual_alias_recursion_limit = 10"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
cat >"$CONF/virtual" <<'EOF'
example.org          anything
catch.example        anything
info@example.org     alice
sales@example.org    alice, bob@host.example.com
all@example.org      info@example.org, sales@example.org
keep@example.org     keep@example.org, bob
@catch.example       bob
loop1@example.org    loop2@example.org
loop2@example.org    loop1@example.org
EOF
"$PETREL" map "hash:$CONF/virtual"
ok $? "virtual table built with petrel map"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

SPOOL=$T/spool
count() { grep -c "^Subject: $2\$" "$SPOOL/$1" 2>/dev/null || echo 0; }
has() { [ "$(count "$1" "$2")" -ge 1 ]; }
log_has() { grep -Eq -- "$1" "$MAILLOG"; }
queue_empty() { [ "$(queued_total)" -eq 0 ]; }
send() {	# send SUBJECT RCPT...: from sendmail, as carol (no mailbox: bounces are dropped)
	local subj=$1; shift
	printf 'Subject: %s\n\nbody\n' "$subj" | "$SENDMAIL" -f carol@host.example.com "$@"
}

# ---- expansion ----
send one info@example.org
wait_for 10 has alice one
ok $? "info@example.org -> alice"
wait_for 10 log_has 'to=<alice@host\.example\.com>, orig_to=<info@example\.org>, relay=local, .*status=sent'
ok $? "... logged with orig_to=<info@example.org>"
send two sales@example.org
wait_for 10 eval 'has alice two && has bob two'
ok $? "sales@example.org -> alice and bob"
send three all@example.org
wait_for 10 eval 'has alice three && has bob three'
ok $? "all@example.org -> info + sales (nested)"
wait_for 10 queue_empty
is "$(count alice three) $(count bob three)" "1 1" "... alice once though she is in both lists"
send four someone+tag@catch.example
wait_for 10 has bob four
ok $? "a catch-all @catch.example -> bob (with an address extension)"
send five info+news@example.org
wait_for 10 has alice five
ok $? "info+news@example.org: the extension cut off to find info@example.org"

# ---- an address that keeps a copy: it is then unknown (no mailbox) ----
send six keep@example.org
wait_for 10 has bob six
ok $? "keep@example.org, bob: bob gets it"
wait_for 10 log_has 'to=<keep@example\.org>, relay=none, .*dsn=5\.1\.1, status=bounced \(User unknown in virtual alias table\)'
ok $? "... and keep@example.org itself bounces (a virtual alias domain has no mailboxes)"

# ---- an unlisted address from sendmail: bounced ----
send seven nobody@example.org
wait_for 10 log_has 'to=<nobody@example\.org>, relay=none, .*dsn=5\.1\.1, status=bounced \(User unknown in virtual alias table\)'
ok $? "nobody@example.org from sendmail: bounced 5.1.1"

# ---- NOTIFY=SUCCESS: the notice names the original recipient ----
printf 'Subject: eight\n\nbody\n' | "$SENDMAIL" -f bob@host.example.com -N success info@example.org
wait_for 10 grep -q '^Subject: Successful Mail Delivery Report' "$SPOOL/bob"
ok $? "NOTIFY=SUCCESS: a success notice"
like "$(cat "$SPOOL/bob")" $'Original-Recipient: rfc822; info@example\\.org\nFinal-Recipient: rfc822; alice@host\\.example\\.com\nAction: delivered' \
	"... Original-Recipient: info@example.org, Final-Recipient: alice"

# ---- SMTP from outside mynetworks ----
smtp() {	# smtp RCPT...: one transaction from 127.0.0.2; RCPT replies, then the DATA reply
	timeout 30 $PY - "$@" <<'PY'
import smtplib, sys
s = smtplib.SMTP(timeout=10, source_address=('127.0.0.2', 0))
s.connect('127.0.0.1', 25)
s.ehlo('mail.client.example')
s.mail('someone@client.example')
ok = 0
for a in sys.argv[1:]:
    code, text = s.rcpt(a)
    print(code, text.decode())
    ok += code == 250
if ok:
    code, text = s.data(b'Subject: smtp\r\n\r\nbody\r\n')
    print(code, text.decode())
s.quit()
PY
}
out=$(smtp info@example.org nobody@example.org)
like "$out" '^250 2\.1\.5 Ok' "SMTP: info@example.org accepted from outside mynetworks (a virtual domain is ours)"
like "$out" $'\n550 5\\.1\\.1 <nobody@example\\.org>: Recipient address rejected: User unknown in virtual alias table\n' \
	"SMTP: an unlisted address of the virtual domain: 550 5.1.1 at RCPT"
like "$out" '250 2\.0\.0 Ok: queued as ' "SMTP: the message queued for the listed one"
like "$(smtp nobody@elsewhere.example)" '454 4\.7\.1 <nobody@elsewhere\.example>: Relay access denied' \
	"SMTP: other domains still need relay permission"
before=$(grep -c ': from=<' "$MAILLOG")
out=$(smtp loop1@example.org)
like "$out" '451 4\.3\.0 Error: table lookup problem' "an alias loop: 451 4.3.0 at the end of DATA"
like "$(cat "$MAILLOG")" 'recursion past virtual_alias_recursion_limit \(10\)' "... the log says why"
is "$(grep -c ': from=<' "$MAILLOG")" "$before" "... and nothing was queued"

# ---- petrel check knows the parameters ----
unlike "$("$PETREL" check 2>&1)" 'virtual_alias' "petrel check: no warning about virtual_alias_maps"

done_testing
