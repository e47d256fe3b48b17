#!/bin/bash
# dns.t - sendmail/dns.c against a real unbound on 127.0.0.1:53 and [::1]:53
# (t/unit/dns_driver prints what dns_mx_hosts / dns_host_addrs return):
# MX order (preferences kept, equal ones shuffled), null MX (5.1.10), no MX
# (implicit MX), NXDOMAIN (5.1.2), REFUSED and SERVFAIL (4.4.3), this host
# among the MX hosts by name and by address (only the better ones kept,
# 5.4.6 when none is), a CNAME'd MX host, 100 MX hosts (32 kept),
# inet_protocols and smtp_address_preference, dns_nameservers (IPv4, IPv6,
# port, malformed) replacing /etc/resolv.conf's servers while its options
# still apply, /etc/resolv.conf used when dns_nameservers is empty, a
# server that never answers (time-out bounded by resolv.conf's options),
# and bad input: an over-long name, control characters, truncated and
# malformed answers (from a small fake server on 127.0.0.53, since unbound
# never sends those), random bytes given to the parser.
# The test's own /etc/resolv.conf is a bind mount: the machine's is never read.
. "$PETREL_SRCDIR/t/lib/testlib.sh"
. "$PETREL_SRCDIR/t/lib/peers.sh"

DRIVER=${DNS_DRIVER:-$PETREL_BUILDDIR/t/unit/dns_driver}
instance_setup "inet_interfaces = all" "dns_nameservers = 127.0.0.1"

# A resolv.conf whose server is dead: whatever reads it instead of
# dns_nameservers fails; its options bound every wait to one second.
printf 'nameserver 127.0.0.9\noptions timeout:1 attempts:1\n' >"$T/resolv.dead"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.good"
cp "$T/resolv.dead" "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf

# --- unbound ------------------------------------------------------------------
# [::1] too when the kernel gives loopback IPv6 (not in every container).
UNBOUND_V6=0
ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128' && UNBOUND_V6=1
stop_peers() {
	unbound_stop
	[ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
	wait 2>/dev/null
	umount /etc/resolv.conf 2>/dev/null
	instance_teardown
}
trap stop_peers EXIT
unbound_start aonly.test < <(
	cat <<'EOF'
local-zone: "example.com." static
local-zone: "refused.test." refuse
local-zone: "test." static
local-data: "multi.test. MX 10 mx1.multi.test."
local-data: "multi.test. MX 10 mx2.multi.test."
local-data: "multi.test. MX 20 mx3.multi.test."
local-data: "multi.test. MX 30 mx4.multi.test."
local-data: "mx1.multi.test. A 127.0.0.2"
local-data: "mx2.multi.test. A 127.0.0.3"
local-data: "mx3.multi.test. A 127.0.0.4"
local-data: "mx4.multi.test. AAAA fd00::4"
local-data: "nullmx.test. MX 0 ."
local-data: "mixnull.test. MX 0 ."
local-data: "mixnull.test. MX 10 mx1.multi.test."
local-data: "aonly.test. A 127.0.0.5"
local-data: "aonly.test. AAAA fd00::5"
local-data: "v6only.test. AAAA fd00::6"
local-data: "self1.test. MX 10 host.example.com."
local-data: "self2.test. MX 10 a.self2.test."
local-data: "self2.test. MX 20 HOST.example.com."
local-data: "self2.test. MX 30 b.self2.test."
local-data: "self3.test. MX 10 a.self3.test."
local-data: "self3.test. MX 10 host.example.com."
local-data: "self3.test. MX 20 c.self3.test."
local-data: "selfaddr.test. MX 10 a.selfaddr.test."
local-data: "selfaddr.test. MX 20 me.selfaddr.test."
local-data: "selfaddr.test. MX 30 b.selfaddr.test."
local-data: "a.selfaddr.test. A 127.0.0.2"
local-data: "me.selfaddr.test. A 127.0.0.1"
local-data: "b.selfaddr.test. A 127.0.0.3"
local-data: "cname.test. MX 10 alias.cname.test."
local-data: "alias.cname.test. CNAME real.cname.test."
local-data: "real.cname.test. A 127.0.0.7"
local-data: "mxcname.test. CNAME multi.test."
EOF
	for i in $(seq 1 100); do
		echo "local-data: \"many.test. MX $i mx$i.many.test.\""
	done
	)
ok $? "unbound answers on 127.0.0.1:53"

# --- a fake server for what unbound never sends ---------------------------------
cat >"$T/fakedns.py" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.53", 53))
open(sys.argv[1], "w").write("ready\n")
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    i = 12
    labels = []
    while i < len(q) and q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace").lower())
        i += 1 + q[i]
    question = q[12:i + 5]
    first = labels[0] if labels else ""
    def reply(rcode, an, body=b""):
        s.sendto(q[:2] + struct.pack(">HHHHH", 0x8180 | rcode, 1, an, 0, 0) + question + body, peer)
    mx = struct.pack(">HHHIH", 0xc00c, 15, 1, 60, 0)[:-2]
    if first == "servfail":
        reply(2, 0)
    elif first == "trunc":
        reply(0, 2, struct.pack(">HHHI", 0xc00c, 15, 1, 60) + b"\x00\x10\x00\x0a\x03mx")
    elif first == "badptr":
        reply(0, 1, mx + struct.pack(">HHBB", 4, 10, 0xc0, 0xff))
    elif first == "ctrl":
        name = b"\x03a\x01b\x00"
        reply(0, 1, mx + struct.pack(">HH", 2 + len(name), 10) + name)
    elif first == "shortrd":
        reply(0, 1, mx + struct.pack(">HB", 1, 0))
    elif first == "blackhole":
        pass
    else:
        reply(3, 0)
EOF
$PY "$T/fakedns.py" "$T/fakedns.ready" >"$T/fakedns.log" 2>&1 &
FAKE_PID=$!
wait_for 10 test -s "$T/fakedns.ready"
ok $? "fake DNS server on 127.0.0.53:53"

# conf NAME LINE...: another configuration dir, the main one plus LINEs.
conf() {
	local d=$T/conf-$1; shift
	mkdir -p "$d"
	grep -v '^dns_nameservers' "$CONF/main.cf" >"$d/main.cf"
	for l in "$@"; do echo "$l" >>"$d/main.cf"; done
	echo "$d"
}
# with DIR COMMAND...: runs the driver with that configuration.
with() { local d=$1; shift; PETREL_CONFIG_DIR=$d "$DRIVER" "$@" 2>/dev/null; }

# --- MX order ------------------------------------------------------------------
out=$("$DRIVER" mx multi.test 40 2>&1)
is "$(echo "$out" | wc -l)" 40 "40 lookups of multi.test"
is "$(echo "$out" | sed -E 's/^OK 10:mx[12]\.multi\.test 10:mx[12]\.multi\.test 20:mx3\.multi\.test 30:mx4\.multi\.test$/good/' | sort -u)" \
	"good" "preference order kept every time: two at 10, then 20, then 30"
is "$(echo "$out" | grep -c '^OK 10:mx1.multi.test 10:mx2')" "$(echo "$out" | grep -c '^OK 10:mx1')" "never the same host twice"
n1=$(echo "$out" | grep -c '^OK 10:mx1')
n2=$(echo "$out" | grep -c '^OK 10:mx2')
ok $([ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; echo $?) "equal preferences shuffled: mx1 first $n1 times, mx2 first $n2 times"
like "$("$DRIVER" mx MULTI.test. | tr A-Z a-z)" '^ok 10:mx[12]\.multi\.test 10:mx[12]\.multi\.test 20:mx3' "trailing dot and case accepted"
like "$("$DRIVER" mx mxcname.test)" '^OK 10:mx[12]\.multi\.test 10:mx[12]\.multi\.test 20:mx3\.multi\.test 30:mx4\.multi\.test$' \
	"a domain that is a CNAME: the resolver follows it"

# --- the special answers ---------------------------------------------------------
is "$("$DRIVER" mx nullmx.test)" "NULLMX 5.1.10 Domain nullmx.test does not accept mail (nullMX)" "null MX: 5.1.10"
is "$("$DRIVER" mx mixnull.test 2>/dev/null)" "OK 10:mx1.multi.test" "a null MX among other MX hosts is ignored"
is "$("$DRIVER" mx aonly.test)" "OK 0:aonly.test" "no MX record: the domain itself (implicit MX)"
is "$("$DRIVER" mx nosuch.test)" \
	"NOTFOUND 5.1.2 Host or domain name not found. Name service error for name=nosuch.test type=MX: Host not found" \
	"NXDOMAIN: 5.1.2 in Postfix's words"
is "$("$DRIVER" mx x.refused.test)" \
	"TEMPFAIL 4.4.3 Host or domain name not found. Name service error for name=x.refused.test type=MX: Host not found, try again" \
	"REFUSED: 4.4.3, try again"
out=$("$DRIVER" mx many.test 2>"$T/many.err")
is "$(echo "$out" | wc -w)" 33 "100 MX hosts: 32 kept"
like "$out" '^OK 1:mx1\.many\.test 2:mx2\.many\.test .* 32:mx32\.many\.test$' "the 32 most preferred, in order"
like "$(cat "$T/many.err")" 'many.test lists 100 MX hosts: only the 32 most preferred are used' "a warning says so"

# --- this host among the MX hosts ---------------------------------------------------
is "$("$DRIVER" mx self1.test)" "LOOP 5.4.6 mail for self1.test loops back to myself" "best MX is myhostname: loop (5.4.6)"
is "$("$DRIVER" mx self2.test)" "OK 10:a.self2.test" "myhostname at 20 (any case): only the one at 10 kept"
is "$("$DRIVER" mx self3.test)" "LOOP 5.4.6 mail for self3.test loops back to myself" "myhostname shares the best preference: loop"
is "$("$DRIVER" mx selfaddr.test)" "OK 10:a.selfaddr.test" "an MX host with a local address (127.0.0.1) at 20: only the one at 10 kept"
is "$(with "$(conf lo6 'dns_nameservers = 127.0.0.1' 'inet_interfaces = 127.0.0.2')" mx selfaddr.test)" \
	"LOOP 5.4.6 mail for selfaddr.test loops back to myself" "inet_interfaces = 127.0.0.2: the best MX is this host"
is "$(with "$(conf myhost 'dns_nameservers = 127.0.0.1' 'myhostname = a.self2.test')" mx self2.test)" \
	"LOOP 5.4.6 mail for self2.test loops back to myself" "the best MX is \$myhostname"

# --- addresses ------------------------------------------------------------------------
is "$("$DRIVER" addr aonly.test)" "OK 127.0.0.5 fd00::5" "A then AAAA (inet_protocols = all)"
is "$(with "$(conf v4 'dns_nameservers = 127.0.0.1' 'inet_protocols = ipv4')" addr aonly.test)" "OK 127.0.0.5" "inet_protocols = ipv4: A only"
is "$(with "$(conf v6 'dns_nameservers = 127.0.0.1' 'inet_protocols = ipv6')" addr aonly.test)" "OK fd00::5" "inet_protocols = ipv6: AAAA only"
is "$(with "$(conf pref6 'dns_nameservers = 127.0.0.1' 'smtp_address_preference = ipv6')" addr aonly.test)" \
	"OK fd00::5 127.0.0.5" "smtp_address_preference = ipv6: AAAA first"
is "$("$DRIVER" addr v6only.test)" "OK fd00::6" "AAAA only host"
is "$(with "$T/conf-v4" addr v6only.test)" \
	"NOTFOUND 5.1.2 Host or domain name not found. Name service error for name=v6only.test type=A: Host found but no data record of requested type" \
	"AAAA only host under inet_protocols = ipv4: not found"
is "$("$DRIVER" addr alias.cname.test)" "OK 127.0.0.7" "CNAME'd MX host: followed by the resolver"
is "$("$DRIVER" mx cname.test)" "OK 10:alias.cname.test" "the MX list names the CNAME itself"
is "$("$DRIVER" addr nosuch.test)" \
	"NOTFOUND 5.1.2 Host or domain name not found. Name service error for name=nosuch.test type=A: Host not found" \
	"address of an unknown host: not found"
is "$("$DRIVER" addr 192.0.2.1)" "OK 192.0.2.1" "an IPv4 literal is itself"
is "$("$DRIVER" addr 2001:db8::1)" "OK 2001:db8::1" "an IPv6 literal is itself"

# --- dns_nameservers and /etc/resolv.conf ------------------------------------------------
if [ "$UNBOUND_V6" = 1 ]; then
	is "$(with "$(conf v6srv 'dns_nameservers = ::1')" mx nullmx.test | cut -d' ' -f1)" "NULLMX" "dns_nameservers = ::1 (IPv6)"
	is "$(with "$(conf bracket 'dns_nameservers = [::1]:53')" mx nullmx.test | cut -d' ' -f1)" "NULLMX" "dns_nameservers = [::1]:53"
else
	diag "no IPv6 on loopback: dns_nameservers = ::1 not tested"
fi
is "$(with "$(conf port 'dns_nameservers = 127.0.0.1:53')" mx nullmx.test | cut -d' ' -f1)" "NULLMX" "dns_nameservers = 127.0.0.1:53"
is "$(with "$(conf second 'dns_nameservers = 127.0.0.9, 127.0.0.1')" mx nullmx.test | cut -d' ' -f1)" "NULLMX" \
	"a dead first server: the second answers"
like "$(with "$(conf badns 'dns_nameservers = 127.0.0.1:99999')" mx multi.test)" \
	'^TEMPFAIL 4.4.3 dns_nameservers: malformed name server address "127.0.0.1:99999"' "a malformed dns_nameservers entry defers, naming it"
NONS=$(conf none)
like "$(with "$NONS" mx multi.test)" '^TEMPFAIL 4.4.3 .*name=multi.test type=MX: Host not found, try again$' \
	"no dns_nameservers: /etc/resolv.conf's dead server is used"
cp "$T/resolv.good" "$T/resolv.conf"
like "$(with "$NONS" mx multi.test)" '^OK 10:mx' "no dns_nameservers: /etc/resolv.conf's server 127.0.0.1 is used"
cp "$T/resolv.dead" "$T/resolv.conf"
start=$(date +%s)
is "$(with "$(conf deadsrv 'dns_nameservers = 127.0.0.9')" mx multi.test | cut -d' ' -f1,2)" "TEMPFAIL 4.4.3" \
	"a server address nothing listens on: 4.4.3"
BH=$(conf blackhole 'dns_nameservers = 127.0.0.53')
start=$(date +%s)
is "$(with "$BH" mx blackhole.test)" \
	"TEMPFAIL 4.4.3 Host or domain name not found. Name service error for name=blackhole.test type=MX: Host not found, try again" \
	"a server that never answers: 4.4.3"
el=$(( $(date +%s) - start ))
ok $([ "$el" -le 4 ]; echo $?) "time-out bounded by resolv.conf's options (timeout:1 attempts:1): ${el}s"

# --- bad answers, bad names ------------------------------------------------------------
is "$(with "$BH" mx servfail.test)" \
	"TEMPFAIL 4.4.3 Host or domain name not found. Name service error for name=servfail.test type=MX: Host not found, try again" \
	"SERVFAIL: 4.4.3"
like "$(with "$BH" mx trunc.test)" '^TEMPFAIL 4.4.3 .*name=trunc.test type=MX: malformed DNS answer, try again$' "a truncated answer: 4.4.3"
like "$(with "$BH" mx badptr.test)" '^TEMPFAIL 4.4.3 .*name=badptr.test type=MX: malformed MX record, try again$' \
	"a compression pointer past the end: 4.4.3"
like "$(with "$BH" mx shortrd.test)" '^TEMPFAIL 4.4.3 .*malformed MX record' "an MX record too short: 4.4.3"
like "$(PETREL_CONFIG_DIR=$BH "$DRIVER" mx ctrl.test 2>&1)" 'malformed MX host name "a\\001b" in the answer for ctrl.test ignored' \
	"an MX host name with a control character: ignored with a warning"
like "$(with "$BH" mx ctrl.test)" '^TEMPFAIL 4.4.3 .*no valid MX host name, try again$' "... and no host left: 4.4.3"
long=$(printf 'a%.0s' $(seq 1 300)).test
like "$("$DRIVER" mx "$long")" '^NOTFOUND 5\.1\.2 .*name=a{80}\.\.\. type=MX: malformed domain name$' "a 306-character domain: 5.1.2, name cut in the reason"
like "$("$DRIVER" mx "$(printf 'a\001b.test')")" '^NOTFOUND 5\.1\.2 .*name=a\?b\.test type=MX: malformed domain name$' \
	"a control character in the domain: 5.1.2, shown as ?"
like "$("$DRIVER" addr "$(printf 'x\ny.test')")" '^NOTFOUND 5\.1\.2 .*malformed host name$' "a newline in a host name: 5.1.2"
like "$("$DRIVER" mx "a..b.test")" '^NOTFOUND 5\.1\.2 ' "an empty label: 5.1.2"
crashed=0
for i in $(seq 1 30); do
	head -c $((RANDOM % 600)) /dev/urandom >"$T/garbage"
	"$DRIVER" parse-mx "$T/garbage" garbage.test >"$T/garbage.out" 2>/dev/null
	rc=$?
	[ $rc -gt 1 ] && crashed=$((crashed + 1)) && cp "$T/garbage" "$T/crash.$i"
	grep -Eq '^(OK|TEMPFAIL 4\.4\.3 .|NOTFOUND 5\.1\.2 .|NULLMX 5\.1\.10 .)' "$T/garbage.out" || crashed=$((crashed + 1))
done
is "$crashed" 0 "30 random answers: each parsed or refused with a reason, no crash"

done_testing
