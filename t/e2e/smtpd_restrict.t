#!/bin/bash
# smtpd_restrict.t - Postfix's restriction lists in the SMTP server, as a
# small mail host uses them against spam: smtpd_client_restrictions with a
# DNS block list (reject_rbl_client with a reply filter) and an access
# table, smtpd_helo_restrictions, a restriction class, smtpd_sender_restrictions with
# reject_unknown_sender_domain (NXDOMAIN, null MX, no MX but an A record,
# a name without records) and an access table, all evaluated at RCPT
# (smtpd_delay_reject = yes), and smtpd_data_restrictions with
# reject_unauth_pipelining. A real unbound on 127.0.0.1:53 serves the
# block list and the sender domains (and the PTR lookups, so every test
# client is "unknown"); the clients are swaks bound to 127.0.0.3-7 (outside
# mynetworks) and 127.0.0.1 (inside). Rejections are checked in the SMTP
# reply, the NOQUEUE log line, and the queue (nothing from a refused
# client); a block list that does not answer lets mail pass (Postfix's
# choice), with a warning. Every wait is bounded.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

instance_setup "smtpd_error_sleep_time = 0" "mynetworks = 127.0.0.1/32" \
	"dns_nameservers = 127.0.0.1" "smtpd_helo_required = yes" \
	"smtpd_client_restrictions = permit_mynetworks, reject_rbl_client rbl.test=127.0.0.[2..11], check_client_access hash:\$config_directory/client_access" \
	"smtpd_helo_restrictions = permit_mynetworks, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname" \
	"smtpd_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain, check_sender_access hash:\$config_directory/sender_access" \
	"smtpd_data_restrictions = reject_unauth_pipelining" \
	"smtpd_restriction_classes = local_only" "local_only = permit_mynetworks, reject"
cat >"$CONF/master.cf" <<'CF'
smtp      inet  n       -       n       -       -       smtpd
CF
: >"$T/aliases"
"$SENDMAIL" -bi >/dev/null 2>&1
printf '127.0.0.6    REJECT go away\n' >"$CONF/client_access"
printf 'spammer@good.test   REJECT no thanks\ngood.test   OK\nclassy.test local_only\n' >"$CONF/sender_access"
"$PETREL" map "hash:$CONF/client_access" && "$PETREL" map "hash:$CONF/sender_access"
ok $? "access tables built with petrel map"
stop_peers() {
	unbound_stop
	umount /etc/resolv.conf 2>/dev/null
	instance_teardown
}
trap stop_peers EXIT
# PTR lookups of the smtpd go to unbound too: NXDOMAIN at once, "unknown".
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf

unbound_start good.test <<'EOF'
local-zone: "test." static
local-data: "3.0.0.127.rbl.test. A 127.0.0.2"
local-data: "4.0.0.127.rbl.test. A 127.0.0.255"
local-data: "good.test. MX 10 mx.good.test."
local-data: "mx.good.test. A 127.0.0.9"
local-data: "aonly.test. A 127.0.0.9"
local-data: "classy.test. A 127.0.0.9"
local-data: "nullmx.test. MX 0 ."
local-data: "empty.test. TXT \"no mail here\""
EOF
ok $? "unbound answers on 127.0.0.1:53"
"$PETREL" start >/dev/null 2>"$T/start.err"
ok $? "petrel start" || diag "$(cat "$T/start.err")"

# rcpt SRC HELO SENDER: one swaks session from SRC up to RCPT
# alice@host.example.com; prints the RCPT reply line ("250 ..." or the refusal).
rcpt() {
	timeout 30 swaks --server 127.0.0.1:25 --local-interface "$1" --helo "$2" \
		--from "$3" --to alice@host.example.com --quit-after RCPT 2>&1 |
		awk '/-> RCPT TO/ { f = 1; next } f && /^<(\*\*|-) / { sub(/^<(\*\*|-) +/, ""); print; exit }'
}
log_has() { grep -Eq -- "$1" "$MAILLOG"; }

# ---- clients ----
is "$(rcpt 127.0.0.3 mail.good.test x@good.test)" \
	"554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using rbl.test" \
	"a client listed in the DNS block list (127.0.0.2 within the filter): refused"
like "$(cat "$MAILLOG")" 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.3\]: 554 5\.7\.1 Service unavailable; Client host \[127\.0\.0\.3\] blocked using rbl\.test; from=<x@good\.test> to=<alice@host\.example\.com> proto=ESMTP helo=<mail\.good\.test>' \
	"... logged as Postfix does (NOQUEUE: reject: RCPT from ...)"
is "$(rcpt 127.0.0.4 mail.good.test x@good.test)" "250 2.1.5 Ok" \
	"a block list answer outside the filter (127.0.0.255): accepted"
is "$(rcpt 127.0.0.6 mail.good.test x@good.test)" \
	"554 5.7.1 <unknown[127.0.0.6]>: Client host rejected: go away" \
	"check_client_access REJECT: refused with the table's text"
is "$(rcpt 127.0.0.1 localhost x@good.test)" "250 2.1.5 Ok" \
	"a client in mynetworks: permit_mynetworks ends the client and HELO lists"

# ---- HELO ----
is "$(rcpt 127.0.0.5 localhost x@good.test)" \
	"504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname" \
	"reject_non_fqdn_helo_hostname"
is "$(rcpt 127.0.0.5 'bad_host!' x@good.test)" \
	"501 5.5.2 <bad_host!>: Helo command rejected: Invalid name" "reject_invalid_helo_hostname"

# ---- senders ----
is "$(rcpt 127.0.0.5 mail.good.test x@nx.test)" \
	"450 4.1.8 <x@nx.test>: Sender address rejected: Domain not found" \
	"reject_unknown_sender_domain: NXDOMAIN, 450 (unknown_address_reject_code)"
is "$(rcpt 127.0.0.5 mail.good.test x@nullmx.test)" \
	"550 5.7.27 <x@nullmx.test>: Sender address rejected: Domain has null MX" \
	"reject_unknown_sender_domain: a null MX (RFC 7505), 550 5.7.27"
is "$(rcpt 127.0.0.5 mail.good.test x@empty.test)" \
	"450 4.1.8 <x@empty.test>: Sender address rejected: Domain not found" \
	"reject_unknown_sender_domain: a name with neither MX nor address"
is "$(rcpt 127.0.0.5 mail.good.test x@aonly.test)" "250 2.1.5 Ok" \
	"reject_unknown_sender_domain: no MX but an A record is fine"
is "$(rcpt 127.0.0.5 mail.good.test x@localhost)" \
	"504 5.5.2 <x@localhost>: Sender address rejected: need fully-qualified address" \
	"reject_non_fqdn_sender"
is "$(rcpt 127.0.0.5 mail.good.test spammer@good.test)" \
	"554 5.7.1 <spammer@good.test>: Sender address rejected: no thanks" \
	"check_sender_access: the address before its domain's OK"

# ---- a restriction class named by the sender table (RESTRICTION_CLASS_README) ----
is "$(rcpt 127.0.0.5 mail.good.test x@classy.test)" \
	"554 5.7.1 <x@classy.test>: Sender address rejected: Access denied" \
	"a sender whose table entry names the class local_only: refused outside mynetworks"
is "$(rcpt 127.0.0.1 localhost x@classy.test)" "250 2.1.5 Ok" "... and accepted from mynetworks"

# ---- a whole message from a clean client still arrives; refused ones left nothing ----
out=$(timeout 30 swaks --server 127.0.0.1:25 --local-interface 127.0.0.5 --helo mail.good.test \
	--from someone@good.test --to alice@host.example.com --header "Subject: restrict ok" 2>&1)
like "$out" '250 2\.0\.0 Ok: queued as [0-9A-F]{14}' "a clean client: queued"
mailbox_has() { grep -q "^Subject: $1" "$T/spool/alice" 2>/dev/null; }
wait_for 10 mailbox_has "restrict ok"
ok $? "... and delivered"
is "$(grep -c '^From ' "$T/spool/alice")" 1 "only that message reached the mailbox"

# ---- smtpd_data_restrictions = reject_unauth_pipelining ----
# A spam engine's shortcut: DATA and the message in one write, without
# waiting for the 354. (swaks above waited: its message was taken.)
out=$(timeout 30 $PY - <<'PY'
import socket
s = socket.create_connection(('127.0.0.1', 25), timeout=10, source_address=('127.0.0.5', 0))
f = s.makefile('rb')
def reply():
    lines = []
    while True:
        l = f.readline().decode().rstrip('\r\n')
        lines.append(l)
        if len(l) < 4 or l[3] != '-':
            return lines[-1]
reply()
for c in ('EHLO mail.good.test', 'MAIL FROM:<x@good.test>', 'RCPT TO:<alice@host.example.com>'):
    s.sendall((c + '\r\n').encode())
    reply()
s.sendall(b'DATA\r\nSubject: pipelined\r\n\r\nspam\r\n.\r\nQUIT\r\n')
print(reply())
PY
)
is "$out" "554 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining" \
	"DATA with the message in the same write: refused"
like "$(cat "$MAILLOG")" 'NOQUEUE: reject: DATA from unknown\[127\.0\.0\.5\]: 554 5\.5\.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining; from=<x@good\.test> proto=ESMTP helo=<mail\.good\.test>' \
	"... logged"
is "$(grep -c '^Subject: pipelined' "$T/spool/alice")" 0 "... and nothing of it delivered"

# ---- the block list does not answer: mail passes, with a warning ----
unbound_stop
is "$(rcpt 127.0.0.3 mail.good.test '<>')" "250 2.1.5 Ok" \
	"the DNS block list does not answer: the listed client passes (null sender, no domain to check)"
wait_for 5 log_has 'warning: smtpd_client_restrictions: DNS block list lookup: .*3\.0\.0\.127\.rbl\.test'
ok $? "... and a warning names the lookup"

done_testing
