# contrib/bench/benchlib.sh - shared code of the Petrel-against-Postfix
# benchmarks (bash, sourced by submit-rate.sh, local-rate.sh, smtp-rate.sh
# and relay-rate.sh; the last two use only the namespace part, see
# "SMTP benchmarks" below: they change nothing on the machine).
#
# Benchmarks, never tests: they time things on a live machine and change
# it for their duration (Postfix is started and stopped, a real user
# "benchuser" exists while Postfix is measured). Everything they change is
# put back by bench_cleanup (run from the EXIT trap): Postfix's main.cf
# and its running state, the benchuser user (userdel; its home is in the
# work dir, its mbox is removed), the log file; /etc/passwd, group, shadow,
# gshadow, subuid and subgid are compared with copies taken before.
#
# Layout of one run:
#   bench_init             the work dir $W, the 1 KB message $W/msg
#   bench_petrel_block F   runs shell function F as a child of this script
#                          inside `unshare -m -n`, with a private
#                          /etc/passwd holding petrel and benchuser, and a
#                          private Petrel instance under $W/petrel
#                          (variables P_*); the machine's /etc is not touched
#   bench_postfix_setup    on the machine: useradd benchuser, Postfix
#                          logging to a file, Postfix stopped (variables PF_*)
#
# Petrel never gets a network interface other than lo (unshare -n); Postfix
# on this machine has default_transport = relay_transport = error and
# inet_interfaces = loopback-only; every message goes to benchuser@localhost.
# No packet leaves 127.0.0.0/8.

BENCH_USER=benchuser
BENCH_UID=2990		# benchuser's uid inside Petrel's private passwd
PF_QDIR=/var/spool/postfix
PF_LOG=/var/log/postfix-bench.log
PY=/usr/bin/python3

bench_die() { echo "${0##*/}: $*" >&2; exit 1; }

# median: the median of the numbers on stdin (odd count: the middle one).
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%.1f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "n/a" }'; }

# bench_init BUILDDIR: the work dir and the message. The binaries are
# copied, so a rebuild in the tree during the run changes nothing.
bench_init() {
	[ "$(id -u)" = 0 ] || bench_die "run me as root (namespaces, useradd, postfix)"
	[ -x "$1/sendmail/sendmail" ] && [ -x "$1/sendmail/petrel" ] ||
		bench_die "no sendmail/sendmail and sendmail/petrel under $1 (build first)"
	[ -x "$PY" ] || bench_die "$PY is needed to poll mailboxes"
	W=$(mktemp -d /tmp/petrel-bench.XXXXXX)
	chmod 0755 "$W"
	mkdir -p "$W/bin"
	cp "$1/sendmail/sendmail" "$1/sendmail/petrel" "$W/bin/"
	# 1024 bytes exactly: 3 header lines, a blank line, 70-column x lines.
	{
		printf 'From: Bench Sender <bench@localhost>\n'
		printf 'To: %s@localhost\n' "$BENCH_USER"
		printf 'Subject: benchmark message\n\n'
	} >"$W/msg"
	local left=$((1024 - $(stat -c %s "$W/msg")))
	while [ "$left" -gt 71 ]; do
		printf '%070d\n' 0 | tr 0 x >>"$W/msg"
		left=$((left - 71))
	done
	printf '%0*d\n' $((left - 1)) 0 | tr 0 y >>"$W/msg"
	[ "$(stat -c %s "$W/msg")" = 1024 ] || bench_die "message is not 1024 bytes"
	PF_STATE_SAVED=
}

# bench_version BUILDDIR: the build's commit, when it is a git checkout.
bench_version() {
	local v
	v=$(git -C "$1" rev-parse --short HEAD 2>/dev/null) || v=unknown
	[ -n "$(git --no-optional-locks -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ] && v="$v+changes"
	echo "$v"
}

# ---------------------------------------------------------------- polling
# bench_poll KIND PATH N LIMIT [COMMAND...]: runs COMMAND (if any), then
# counts what is in the mailbox every 10 ms until N messages are there or
# LIMIT seconds have passed. KIND is mbox ("From " lines, read
# incrementally) or maildir (files in PATH/new). Prints
#   "ok SECONDS_TO_LAST SECONDS_TO_FIRST COUNT SECONDS_IN_COMMAND"
# or "timeout SECONDS - COUNT -", the times counted from just before
# COMMAND (a message delivered while COMMAND still runs is seen at its end).
bench_poll() {
	$PY - "$@" <<'EOF'
import os, subprocess, sys, time
kind, path, n, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
cmd = sys.argv[5:]
t0 = time.monotonic()
tcmd = 0.0
if cmd:
    rc = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tcmd = time.monotonic() - t0
    if rc != 0:
        print("cmdfail %d - 0 -" % rc); sys.exit(0)
count, first, off, tail, f = 0, None, 0, b"\n", None
while True:
    if kind == "mbox":
        if f is None and os.path.exists(path):
            f = open(path, "rb")
        if f is not None:
            f.seek(off)
            data = f.read()
            if data:
                off += len(data)
                count += (tail + data).count(b"\nFrom ")
                tail = (tail + data)[-5:]
    else:
        try:
            count = len(os.listdir(os.path.join(path, "new")))
        except FileNotFoundError:
            count = 0
    now = time.monotonic() - t0
    if count and first is None:
        first = now
    if count >= n:
        print("ok %.4f %.4f %d %.4f" % (now, first, count, tcmd)); break
    if now > limit:
        print("timeout %.4f - %d -" % (now, count)); break
    time.sleep(0.01)
EOF
}

# mbox_count FILE: "From " lines in an mbox (0 when it does not exist).
mbox_count() { grep -c '^From ' "$1" 2>/dev/null || true; }

# -------------------------------------------------------------- submitting
# submit_loop COUNT COMMAND...: COUNT runs of COMMAND with the message on
# stdin, one after the other; prints submissions per second.
submit_loop() {
	local n=$1 i start end; shift
	start=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do
		"$@" <"$W/msg" >/dev/null 2>&1 || { echo "submission $i failed: $*" >&2; return 1; }
	done
	end=$EPOCHREALTIME
	awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", n / (e - s) }'
}

# queue_silently COUNT COMMAND...: COUNT submissions, two at a time (for
# filling a queue; not timed).
queue_silently() {
	local n=$1 half; shift
	half=$((n / 2))
	submit_loop "$half" "$@" >/dev/null &
	submit_loop $((n - half)) "$@" >/dev/null || { wait; return 1; }
	wait $! || return 1
}

# ------------------------------------------------------------------ Petrel
# Inside the namespace (bench_petrel_block): the private passwd and the
# instance. P_CONF, P_QDIR, P_SPOOL, P_HOME, P_MBOX, P_LOG, P_SENDMAIL, P_PETREL.
petrel_ns_setup() {
	local p=$W/petrel
	mkdir -p "$p/etc" "$p/spool" "$p/home/$BENCH_USER"
	grep -v "^$BENCH_USER:" /etc/passwd >"$p/passwd"
	grep -v "^$BENCH_USER:" /etc/group >"$p/group"
	grep -q '^petrel:' "$p/passwd" || echo 'petrel:x:990:990:Petrel mail system:/nonexistent:/usr/sbin/nologin' >>"$p/passwd"
	grep -q '^petrel:' "$p/group" || echo 'petrel:x:990:' >>"$p/group"
	grep -q '^petreldrop:' "$p/group" || echo 'petreldrop:x:991:' >>"$p/group"
	echo "$BENCH_USER:x:$BENCH_UID:$BENCH_UID:Petrel bench user:$p/home/$BENCH_USER:/bin/sh" >>"$p/passwd"
	echo "$BENCH_USER:x:$BENCH_UID:" >>"$p/group"
	mount --bind "$p/passwd" /etc/passwd
	mount --bind "$p/group" /etc/group
	ip link set lo up 2>/dev/null || true
	chown "$BENCH_UID:$BENCH_UID" "$p/home/$BENCH_USER"
	# The spool as Debian's /var/mail: root:mail 2775.
	chown root:mail "$p/spool"
	chmod 2775 "$p/spool"
	P_CONF=$p/etc
	P_QDIR=$p/queue
	P_SPOOL=$p/spool
	P_HOME=$p/home/$BENCH_USER
	P_MBOX=$P_SPOOL/$BENCH_USER
	P_LOG=$p/maillog
	P_SENDMAIL=$W/bin/sendmail
	P_PETREL=$W/bin/petrel
	cat >"$P_CONF/main.cf" <<EOF
queue_directory = $P_QDIR
data_directory = $p/data
maillog_file = $P_LOG
myhostname = bench.example.com
mydomain = example.com
mydestination = \$myhostname, localhost
command_directory = $W/bin
daemon_directory = $W/bin
mail_spool_directory = $P_SPOOL
alias_maps = hash:$p/aliases
alias_database = hash:$p/aliases
default_transport = error
relay_transport = error
biff = no
EOF
	: >"$P_CONF/master.cf"	# no listener: the benchmarks use only sendmail
	: >"$p/aliases"
	export PETREL_CONFIG_DIR=$P_CONF
	"$P_SENDMAIL" -bi >/dev/null 2>&1 || bench_die "petrel: newaliases failed"
	# create the queue once, leave the daemon down
	"$P_PETREL" start >/dev/null 2>&1 || bench_die "petrel start failed (see $P_LOG)"
	"$P_PETREL" stop >/dev/null 2>&1
}

# petrel_queued: messages anywhere in the Petrel queue.
petrel_queued() {
	find "$P_QDIR/maildrop" "$P_QDIR/incoming" "$P_QDIR/active" "$P_QDIR/deferred" \
		"$P_QDIR/hold" -maxdepth 1 -type f 2>/dev/null | wc -l
}

petrel_maildrop() { find "$P_QDIR/maildrop" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# petrel_set NAME VALUE: one main.cf line (the last definition wins).
petrel_set() { echo "$1 = $2" >>"$P_CONF/main.cf"; }

# bench_petrel_block FUNCTION: runs FUNCTION in a child of this script in
# its own mount and network namespace, with the Petrel instance set up.
bench_petrel_block() {
	if [ -z "${BENCH_IN_NS:-}" ]; then
		BENCH_IN_NS=1 W=$W unshare -m -n --propagation private -- "$BASH" "$0" "${BENCH_ARGS[@]}" \
			--petrel-block "$1"
		return
	fi
}

# ------------------------------------------------------------------ Postfix
pf_running() { /usr/sbin/postfix status >/dev/null 2>&1; }

# pf_queued: messages anywhere in Postfix's queue.
pf_queued() {
	find "$PF_QDIR/maildrop" "$PF_QDIR/incoming" "$PF_QDIR/active" "$PF_QDIR/deferred" \
		"$PF_QDIR/hold" -type f 2>/dev/null | wc -l
}
pf_maildrop() { find "$PF_QDIR/maildrop" -type f 2>/dev/null | wc -l; }

# pf_sendmail: Postfix's sendmail, or nothing when this machine has none.
pf_sendmail() {
	local s
	[ -x /usr/sbin/postfix ] || return 1
	for s in /usr/sbin/sendmail.postfix /usr/sbin/sendmail; do
		[ -x "$s" ] || continue
		if command -v dpkg-query >/dev/null && dpkg-query -S "$(readlink -f "$s")" 2>/dev/null | grep -q '^postfix:'; then
			echo "$s"; return 0
		fi
		strings "$s" 2>/dev/null | grep -q 'postdrop' && { echo "$s"; return 0; }
	done
	return 1
}

# pf_set NAME=VALUE...: postconf -e (main.cf is restored at the end).
pf_set() { /usr/sbin/postconf -e "$@"; }

pf_stop() {
	pf_running || return 0
	/usr/sbin/postfix stop >/dev/null 2>&1
	local i
	for ((i = 0; i < 100; i++)); do pf_running || return 0; sleep 0.1; done
	bench_die "postfix does not stop"
}

# pf_start_quick: starts Postfix without postfix-script's integrity
# checks (its own quick-start marker, the one `postfix quick-stop` leaves),
# so a timed start measures the mail system, not find(1) over its files.
pf_start_quick() {
	touch "$PF_QDIR/quick-start"
	/usr/sbin/postfix start
}

# cpu_idle_pct: the share of CPU time idle over the next second, in percent.
cpu_idle_pct() {
	local a b
	a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	echo "$a $b" | awk '{ d = $4 - $2; printf "%d\n", (d > 0) ? 100 * ($3 - $1) / d : 100 }'
}

# bench_quiet: before a timed run, waits up to BENCH_QUIET_WAIT seconds
# (default 30) until the machine is idle (at least BENCH_IDLE_PCT percent,
# default 85, over one second) and no test or build runs; says so on stderr and goes
# on when it never gets quiet, noting it in $W/busy (bench_busy_note).
bench_quiet() {
	local waited=0 idle
	while :; do
		idle=$(cpu_idle_pct)
		if [ "$idle" -ge "${BENCH_IDLE_PCT:-85}" ] && ! pgrep -f 't/harness' >/dev/null 2>&1 &&
		    ! pgrep -x 'make|cc1|clang|ld|as' >/dev/null 2>&1; then
			return 0
		fi
		waited=$((waited + 2))
		if [ "$waited" -ge "${BENCH_QUIET_WAIT:-30}" ]; then
			echo "# warning: machine busy before a run (idle $idle%), measuring anyway" >&2
			echo "$idle" >>"$W/busy"
			return 0
		fi
		sleep 1
	done
}

# bench_busy_note: the closing line about busy runs, if there were any.
bench_busy_note() {
	[ -s "$W/busy" ] || return 0
	echo "# warning: $(wc -l <"$W/busy") run(s) started on a busy machine (idle %: $(tr '\n' ' ' <"$W/busy")); figures unreliable"
}

# bench_tests_idle: waits (up to 3 min) until no Petrel test runs, so the
# machine-wide user is never copied into a test's private passwd.
bench_tests_idle() {
	local i
	for ((i = 0; i < 180; i++)); do
		pgrep -f 't/harness|\.t$' >/dev/null 2>&1 || return 0
		[ "$i" = 0 ] && echo "# waiting for running tests to finish" >&2
		sleep 1
	done
	bench_die "tests still running after 3 minutes; not touching /etc/passwd"
}

# bench_postfix_setup: the machine-wide part. PF_SENDMAIL, PF_HOME, PF_MBOX.
bench_postfix_setup() {
	PF_SENDMAIL=$(pf_sendmail) || return 1
	# benchuser@localhost must be local to this Postfix: nothing may leave.
	/usr/sbin/postconf -h mydestination | tr ', ' '\n\n' | grep -qx localhost ||
		bench_die "localhost is not in Postfix's mydestination; refusing to send"
	getent passwd "$BENCH_USER" >/dev/null &&
		bench_die "user $BENCH_USER already exists on this machine; remove it first"
	pf_queued_before=$(pf_queued)
	[ "$pf_queued_before" = 0 ] || bench_die "Postfix's queue is not empty; not measuring over someone's mail"
	mkdir -p "$W/etc-saved"
	local f
	for f in passwd group shadow gshadow subuid subgid; do
		[ -e "/etc/$f" ] && cp -p "/etc/$f" "$W/etc-saved/$f"
	done
	cp -p /etc/postfix/main.cf "$W/etc-saved/main.cf"
	pf_running && PF_WAS_RUNNING=1 || PF_WAS_RUNNING=
	PF_STATE_SAVED=1
	bench_tests_idle
	PF_HOME=$W/pfhome
	useradd -M -d "$PF_HOME" -s /bin/sh -c 'Petrel bench user' "$BENCH_USER" ||
		bench_die "useradd $BENCH_USER failed"
	PF_USER_ADDED=1
	mkdir -p "$PF_HOME"
	chown "$BENCH_USER:$BENCH_USER" "$PF_HOME"
	PF_MBOX=$(/usr/sbin/postconf -h mail_spool_directory)/$BENCH_USER
	rm -f "$PF_MBOX"
	# Postfix logs to a file through postlogd, the way Petrel does with
	# maillog_file (this machine has no syslog daemon).
	pf_set "maillog_file = $PF_LOG" "home_mailbox ="
	pf_stop
}

# bench_cleanup: puts the machine back (EXIT trap).
bench_cleanup() {
	set +e
	if [ -n "${BENCH_IN_NS:-}" ]; then
		[ -n "${P_PETREL:-}" ] && "$P_PETREL" stop >/dev/null 2>&1
		[ -n "${PFNS_UP:-}" ] && /usr/sbin/postfix stop >/dev/null 2>&1
		local pid
		for pid in ${BENCH_NS_PIDS[@]+"${BENCH_NS_PIDS[@]}"}; do
			kill "$pid" 2>/dev/null
		done
		wait 2>/dev/null
		return
	fi
	if [ -n "${PF_STATE_SAVED:-}" ]; then
		pf_stop
		# only our messages can be there: the queue was empty before
		if [ "$(pf_queued)" != 0 ]; then
			/usr/sbin/postsuper -d ALL >/dev/null 2>&1
			/usr/sbin/postsuper -d ALL maildrop >/dev/null 2>&1
		fi
		cp -p "$W/etc-saved/main.cf" /etc/postfix/main.cf
		rm -f "$PF_LOG" "$PF_QDIR/quick-start"
		if [ -n "${PF_USER_ADDED:-}" ]; then
			rm -f "${PF_MBOX:-/nonexistent}"
			userdel "$BENCH_USER" 2>/dev/null
		fi
		local f
		for f in passwd group shadow gshadow subuid subgid; do
			[ -e "$W/etc-saved/$f" ] || continue
			cmp -s "$W/etc-saved/$f" "/etc/$f" ||
				echo "${0##*/}: warning: /etc/$f differs from before the run (saved copy: $W/etc-saved/$f)" >&2
		done
		[ -n "${PF_WAS_RUNNING:-}" ] && /usr/sbin/postfix start >/dev/null 2>&1
		if grep -q "^$BENCH_USER:" /etc/passwd || ! cmp -s "$W/etc-saved/passwd" /etc/passwd; then
			return	# keep $W for the saved copies
		fi
	fi
	rm -rf "$W"
}

# ------------------------------------------- SMTP benchmarks (private Postfix)
# smtp-rate.sh and relay-rate.sh run Petrel AND Postfix inside the one
# `unshare -m -n` child (bench_petrel_block): both listen on 127.0.0.1 of
# that namespace only, and Postfix there is a private instance: its
# /etc/postfix, /var/spool/postfix and /var/lib/postfix are bind mounts of
# directories under $W, visible to that namespace alone. Nothing on the
# machine changes (no user, no main.cf edit, no port on the host's lo).

# bench_smtp_tools: smtp-source and smtp-sink from the Postfix package in
# apt's cache, unpacked (dpkg -x, never installed) under $W/pfdeb.
bench_smtp_tools() {
	local deb
	deb=$(ls /var/cache/apt/archives/postfix_*.deb 2>/dev/null | tail -n 1)
	[ -n "$deb" ] || bench_die "no /var/cache/apt/archives/postfix_*.deb (apt-get download postfix)"
	[ -x "$W/pfdeb/usr/sbin/smtp-source" ] || dpkg -x "$deb" "$W/pfdeb" || bench_die "dpkg -x $deb failed"
	SMTP_SOURCE=$W/pfdeb/usr/sbin/smtp-source
	SMTP_SINK=$W/pfdeb/usr/sbin/smtp-sink
}

# pfns_setup SMTPD_ADDR ["NAME = VALUE"...]: the private Postfix instance
# (inside the namespace), its smtpd on SMTPD_ADDR (host:port), stopped.
# Its master.cf is Debian's with chroot off (the private spool has no
# chroot copy of /etc); nothing is delivered locally (mydestination empty,
# default_transport = relay_transport = error).
pfns_setup() {
	local addr=$1 d=$W/pfns; shift
	[ -x /usr/sbin/postfix ] || return 1
	mkdir -p "$d/etc" "$d/spool" "$d/lib"
	cp -a /etc/postfix/. "$d/etc/"
	sed -i -e 's/^\([-a-z]*  *\(inet\|unix\|unix-dgram\|fifo\|pass\)  *[-yn]  *[-yn]  *\)y /\1n /' \
		-e "s/^smtp  *inet /$addr inet /" "$d/etc/master.cf"
	grep -q "^$addr inet" "$d/etc/master.cf" || bench_die "no smtp inet line in /etc/postfix/master.cf"
	{
		echo "compatibility_level = 3.6"
		echo "myhostname = pf.bench.example"
		echo "mydomain = bench.example"
		echo "mydestination ="
		echo "inet_interfaces = loopback-only"
		echo "inet_protocols = ipv4"
		echo "mynetworks = 127.0.0.0/8"
		echo "maillog_file = $d/maillog"
		echo "maillog_file_prefixes = $W"
		echo "alias_maps ="
		echo "alias_database ="
		echo "default_transport = error"
		echo "relay_transport = error"
	} >"$d/etc/main.cf"
	[ $# = 0 ] || /usr/sbin/postconf -c "$d/etc" -e "$@" || bench_die "postconf -e $* failed"
	chown postfix "$d/lib"
	# postsuper and friends write the log themselves, as postfix, when the
	# master (and its postlogd) is down
	install -o postfix -m 0600 /dev/null "$d/maillog"
	mount --bind "$d/etc" /etc/postfix
	mount --bind "$d/spool" /var/spool/postfix
	mount --bind "$d/lib" /var/lib/postfix
	PFNS_LOG=$d/maillog
	PFNS_CONF=$d/etc
	/usr/sbin/postfix check >/dev/null 2>&1 || bench_die "postfix check failed in the private instance"
}

pfns_start() { PFNS_UP=1; pf_start_quick >/dev/null 2>&1 || bench_die "private postfix start failed (see $PFNS_LOG)"; }
pfns_stop() { pf_stop; PFNS_UP=; }

# qcount DIR: queue files under DIR (any depth: Postfix hashes some queues).
qcount() { find "$1" -type f 2>/dev/null | wc -l; }

# smtp_source_rate N ARGS...: runs smtp-source (bounded by BENCH_LIMIT
# seconds, 600 by default), prints messages per second over its wall time.
smtp_source_rate() {
	local n=$1 start end; shift
	start=$EPOCHREALTIME
	timeout "${BENCH_LIMIT:-600}" "$SMTP_SOURCE" "$@" >"$W/source.out" 2>&1 ||
		{ echo "smtp-source failed: $(tail -n 3 "$W/source.out")" >&2; return 1; }
	end=$EPOCHREALTIME
	awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", n / (e - s) }'
}
