# t/lib/peers.sh - real programs the end-to-end tests talk to, set up the
# same way everywhere (bash; source it after testlib.sh and instance_setup).
#
#   dead_resolv_conf        bind-mounts $T/resolv.conf over /etc/resolv.conf
#                           naming a server nobody runs (127.0.0.9, one try
#                           of one second): whatever reads resolv.conf
#                           instead of dns_nameservers fails, and fast.
#   unbound_start NAME      starts unbound on 127.0.0.1:53 (and [::1]:53
#                           when UNBOUND_V6=1) serving the server: lines
#                           read from stdin (local-zone, local-data, ...);
#                           returns once an MX query for NAME is answered,
#                           1 after 10 s (its log is then in diag lines).
#   unbound_stop            stops it.
#   deb_unpack PACKAGE DIR  unpacks a Debian package into DIR, never
#                           installing it: $PETREL_<PACKAGE>_DEB (upper
#                           case, - as _), the apt cache's .deb (where
#                           contrib/install-test-deps downloads it) or one
#                           apt-get download; 1 (and a diag line) when no
#                           package can be had.
#   postfix_unpack          deb_unpack postfix $T/pf, and sets PF (a command
#                           prefix with its library path and a private
#                           MAIL_CONFIG) and PF_SBIN.
#   smtp_sink_start NAME ADDRESS:PORT [OPTIONS...]
#                           Postfix's smtp-sink on ADDRESS:PORT as the
#                           petrel user, dumping each transaction into
#                           $T/NAME/ (one file per message, the dump format
#                           of smtp-sink(1)); returns once it listens.
#   smtp_sink_stop NAME     stops it; smtp_sink_stop_all stops every one.
#   smtp_sink_count NAME    the number of transactions it dumped.
#   dovecot_auth_start USER:PASSWORD
#                           Dovecot's auth service alone (no IMAP, no SSL),
#                           its socket at $QDIR/private/auth for the petrel
#                           user (smtpd_sasl_type = dovecot,
#                           smtpd_sasl_path = private/auth), one PLAIN and
#                           LOGIN user; returns once the socket is there.
#   dovecot_stop            stops it.
#
# The aiosmtpd server of the relay tests (t/lib/smtpsink.py; its options
# are the keys of SINK/conf.json, read at every connection), on
# ${SINKADDR:-127.0.0.1} port $SINKPORT with its state in $SINK (the test
# sets both):
#   sink_start / sink_stop  start it (returns once it listens) / stop it
#   sink_conf JSON          replaces its conf.json atomically
#   sink_count, sink_has N  transactions recorded / at least N of them
#   sink_get N EXPR         a Python expression over record r, the Nth
#                           transaction (1 = first; r['data'] decoded)

UNBOUND=$(command -v unbound || echo /usr/sbin/unbound)
UNBOUND_PID=
SMTP_SINKS=

dead_resolv_conf() {
	printf 'nameserver 127.0.0.9\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
	mount --bind "$T/resolv.conf" /etc/resolv.conf
}

# A UDP MX query for $1 to 127.0.0.1:53 that gets any answer.
unbound_answers() { $PY -c "
import socket, struct, sys
q = struct.pack('>HHHHHH', 1, 0x100, 1, 0, 0, 0)
q += b''.join(bytes([len(l)]) + l.encode() for l in sys.argv[1].split('.')) + b'\x00'
q += struct.pack('>HH', 15, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
s.sendto(q, ('127.0.0.1', 53)); sys.exit(0 if len(s.recv(512)) > 12 else 1)" "$1" 2>/dev/null; }

unbound_start() {
	local probe=$1
	mkdir -p "$T/unbound"
	{
		cat <<EOF
server:
	interface: 127.0.0.1
	port: 53
	username: ""
	chroot: ""
	directory: "$T/unbound"
	pidfile: "$T/unbound/unbound.pid"
	logfile: "$T/unbound/unbound.log"
	use-syslog: no
	do-daemonize: no
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
EOF
		if [ "${UNBOUND_V6:-0}" = 1 ]; then
			echo "	interface: ::1"
			echo "	access-control: ::1 allow"
		fi
		sed 's/^/	/'
	} >"$T/unbound/unbound.conf"
	"$UNBOUND" -c "$T/unbound/unbound.conf" >"$T/unbound/stdout" 2>&1 &
	UNBOUND_PID=$!
	if ! wait_for 10 unbound_answers "$probe"; then
		diag "$(cat "$T/unbound/unbound.log" "$T/unbound/stdout" 2>/dev/null)"
		return 1
	fi
}

unbound_stop() {
	[ -n "$UNBOUND_PID" ] && kill "$UNBOUND_PID" 2>/dev/null && wait "$UNBOUND_PID" 2>/dev/null
	UNBOUND_PID=
	return 0
}

deb_unpack() {
	local pkg=$1 dir=$2 var deb
	var=PETREL_$(printf '%s' "$pkg" | tr 'a-z-' 'A-Z_')_DEB
	deb=${!var:-$(ls /var/cache/apt/archives/"$pkg"_*.deb 2>/dev/null | tail -n 1)}
	if [ -z "$deb" ]; then
		(cd "$T" && timeout 60 apt-get download "$pkg" >/dev/null 2>&1)
		deb=$(ls "$T/$pkg"_*.deb 2>/dev/null | head -n 1)
	fi
	if [ -z "$deb" ] || ! dpkg -x "$deb" "$dir" 2>/dev/null; then
		diag "no $pkg package to unpack (set $var, or let apt-get download $pkg work)"
		return 1
	fi
}

postfix_unpack() {
	[ -x "$T/pf/usr/sbin/postmap" ] || deb_unpack postfix "$T/pf" || return 1
	mkdir -p "$T/pfconf"
	printf 'mail_owner = petrel\nsetgid_group = petreldrop\ncompatibility_level = 3.6\n' >"$T/pfconf/main.cf"
	PF="env LD_LIBRARY_PATH=$T/pf/usr/lib/postfix MAIL_CONFIG=$T/pfconf"
	PF_SBIN=$T/pf/usr/sbin
}

sink_listening() { ss -Hltn "src $1" 2>/dev/null | grep -q .; }

smtp_sink_start() {
	local name=$1 addr=$2; shift 2
	postfix_unpack || return 1
	mkdir -p "$T/$name/dump"
	chown petrel "$T/$name/dump"
	$PF "$PF_SBIN/smtp-sink" -u petrel -d "$T/$name/dump/%Y%m%d%H%M%S." "$@" "$addr" 64 \
		>"$T/$name/log" 2>&1 &
	echo $! >"$T/$name/pid"
	SMTP_SINKS="$SMTP_SINKS $name"
	if ! wait_for 10 sink_listening "$addr"; then
		diag "smtp-sink $name on $addr: $(cat "$T/$name/log")"
		return 1
	fi
}

smtp_sink_stop() {
	local pid
	[ -f "$T/$1/pid" ] || return 0
	pid=$(cat "$T/$1/pid")
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -f "$T/$1/pid"
	return 0
}

smtp_sink_stop_all() {
	local s
	for s in $SMTP_SINKS; do smtp_sink_stop "$s"; done
}

smtp_sink_count() { find "$T/$1/dump" -type f 2>/dev/null | wc -l; }

SINKPID=

sink_start() {
	mkdir -p "$SINK"
	rm -f "$SINK/ready"
	$PY "$PETREL_SRCDIR/t/lib/smtpsink.py" "${SINKADDR:-127.0.0.1}" "$SINKPORT" "$SINK" \
		2>>"$SINK/err" &
	SINKPID=$!
	wait_for 10 test -f "$SINK/ready"
}

sink_stop() {
	if [ -n "$SINKPID" ]; then
		kill "$SINKPID" 2>/dev/null
		wait "$SINKPID" 2>/dev/null
	fi
	SINKPID=
	return 0
}

sink_conf() { mkdir -p "$SINK" && printf '%s\n' "$1" >"$SINK/conf.json.new" && mv "$SINK/conf.json.new" "$SINK/conf.json"; }
sink_count() { [ -f "$SINK/mail.jsonl" ] && wc -l <"$SINK/mail.jsonl" || echo 0; }
sink_has() { [ "$(sink_count)" -ge "$1" ]; }

sink_get() {
	$PY - "$SINK/mail.jsonl" "$1" "$2" <<'EOF'
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = recs[int(sys.argv[2]) - 1]
r['data'] = base64.b64decode(r['data'])
v = eval(sys.argv[3])
sys.stdout.write(v.decode('utf-8', 'replace') if isinstance(v, bytes) else str(v))
EOF
}

DV=

dovecot_auth_start() {
	DV=$T/dovecot
	mkdir -p "$DV/run" "$DV/state" "$QDIR/private"
	echo "${1%%:*}:{PLAIN}${1#*:}" >"$DV/users"
	cat >"$DV/dovecot.conf" <<EOF
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV/dovecot.log
protocols =
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DV/users
}
userdb {
  driver = static
  args = uid=2001 gid=2001 home=$T/home/alice
}
service auth {
  unix_listener $QDIR/private/auth {
    mode = 0660
    user = petrel
    group = petrel
  }
}
EOF
	dovecot -c "$DV/dovecot.conf" || return 1
	wait_for 10 test -S "$QDIR/private/auth"
}

dovecot_stop() {
	[ -n "$DV" ] && [ -f "$DV/run/master.pid" ] && kill "$(cat "$DV/run/master.pid")" 2>/dev/null
	return 0
}
