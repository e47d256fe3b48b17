#!/bin/bash
# milter-rate.sh - what one milter costs: messages per second that Petrel's
# smtpd accepts (250 after the final dot, the queue file fsync'd) from one
# SMTP client over one connection, with no milter, with one libmilter
# filter that only passes everything (t/milter/testfilter with no action),
# and with opendkim signing every message (a benchmark, never part of
# `make check`; results in RESULTS.md).
#
# Usage (as root, from the top of a built tree, after
# `make t/milter/testfilter`): contrib/bench/milter-rate.sh [COUNT] [RUNS]
#   COUNT  messages of 1024 bytes per run (500)
#   RUNS   runs per mode; the median is reported (3)
#
# It runs as the end-to-end tests do: inside `unshare -n -m` with only
# loopback, a private Petrel instance under a temp dir (t/lib/testlib.sh),
# the queue manager held (master_service_disable = qmgr) so that delivery
# does not compete with acceptance; the queue is emptied between runs.
set -eu
if [ -z "${MILTER_BENCH_IN_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "${0##*/}: run me as root (namespaces)" >&2; exit 1; }
	export MILTER_BENCH_IN_NS=1 PETREL_BUILDDIR=${PETREL_BUILDDIR:-$PWD} PETREL_SRCDIR=${PETREL_SRCDIR:-$PWD}
	exec unshare -n -m --propagation private -- bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
count=${1:-500}
runs=${2:-3}
set +e
. "$PETREL_SRCDIR/t/lib/testlib.sh"
instance_setup_hold "mynetworks = 127.0.0.0/8" "smtpd_error_sleep_time = 0"
cp /dev/null "$T/aliases"
TF=$PETREL_BUILDDIR/t/milter/testfilter
[ -x "$TF" ] || { echo "build t/milter/testfilter first" >&2; exit 1; }

"$TF" -p "unix:$T/pass.sock" -n pass -a none >/dev/null 2>&1 &
pids=($!)
opendkim-genkey -D "$T" -d example.org -s bench
cat >"$T/dkim.conf" <<EOF
Mode		s
Domain		example.org
Selector	bench
KeyFile		$T/bench.private
Socket		local:$T/dkim.sock
UMask		000
Syslog		no
RequireSafeKeys	false
InternalHosts	127.0.0.1
EOF
opendkim -f -x "$T/dkim.conf" >/dev/null 2>&1 &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null; wait; instance_teardown' EXIT
wait_for 10 test -S "$T/pass.sock" && wait_for 10 test -S "$T/dkim.sock" ||
	{ echo "filters did not start" >&2; exit 1; }
cat >"$CONF/master.cf" <<EOF
127.0.0.1:2501 inet n - n - - smtpd
127.0.0.1:2502 inet n - n - - smtpd -o smtpd_milters=unix:$T/pass.sock
127.0.0.1:2503 inet n - n - - smtpd -o smtpd_milters=unix:$T/dkim.sock
EOF
"$PETREL" start >/dev/null 2>&1 || exit 1

# rate PORT: messages per second over one connection.
rate() {
	$PY - "$1" "$count" <<'PY'
import smtplib, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
head = 'From: Bench <bench@example.org>\r\nTo: alice@host.example.com\r\nSubject: benchmark message\r\n\r\n'
body = ('x' * 70 + '\r\n') * ((1024 - len(head)) // 72)
msg = (head + body).ljust(1022, 'y') + '\r\n'
s = smtplib.SMTP('127.0.0.1', port, timeout=60)
s.ehlo('bench.example.org')
t0 = time.monotonic()
for i in range(n):
    s.sendmail('bench@example.org', ['alice@host.example.com'], msg)
t = time.monotonic() - t0
s.quit()
print('%.1f' % (n / t))
PY
}
median() { sort -g | awk '{ a[NR] = $1 } END { printf "%.1f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for mode in "2501 no milter" "2502 one pass-through milter" "2503 opendkim signing"; do
	port=${mode%% *}
	all=()
	for ((r = 0; r < runs; r++)); do
		all+=("$(rate "$port")")
		find "$QDIR/incoming" -maxdepth 1 -type f -delete
	done
	printf '%-28s median %7s msg/s   (runs: %s)\n' "${mode#* }" \
		"$(printf '%s\n' "${all[@]}" | median)" "${all[*]}"
done
