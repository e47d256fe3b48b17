#!/bin/bash
# smtp-rate.sh - messages per second accepted over SMTP from 10 parallel
# clients, Petrel's smtpd against Postfix's smtpd on the same machine (a
# benchmark, never part of `make check`; results in RESULTS.md).
#
# Usage (as root): contrib/bench/smtp-rate.sh [BUILDDIR] [COUNT] [RUNS]
#   BUILDDIR  where sendmail/sendmail and sendmail/petrel were built (.)
#   COUNT     messages per run (1000)
#   RUNS      runs per system; the median is reported (3)
#
# One run: `smtp-source -s 10 -m COUNT -l 1024` (Postfix's load generator,
# unpacked from apt's cached postfix .deb) sends COUNT messages, one
# connection per message (EHLO, MAIL, RCPT, DATA, QUIT), over 10 parallel
# sessions to the system's smtpd on 127.0.0.1; the time is smtp-source's
# wall time, so each message counts once it got its 250 after the dot
# (queue file written and fsync'd). The runs alternate Petrel, Postfix,
# Petrel, ... so that load on the shared machine hits both alike.
#
# Only acceptance is measured; nothing is delivered:
#   Petrel   master_service_disable = qmgr: accepted mail stays in incoming/.
#   Postfix  smtpd_client_restrictions = check_client_access static:HOLD:
#            cleanup files every message into hold/, the queue manager runs
#            but has nothing to do. (Postfix with its qmgr service disabled
#            is no fair stand-in: every cleanup then fails to wake the
#            qmgr and Postfix accepts only ~9 msg/s on this VM.)
# After each run the script checks that exactly COUNT files were queued,
# then empties the queue. Both run inside one `unshare -m -n` child with
# only lo: Petrel is a private instance under the work dir, Postfix a
# private instance whose /etc/postfix, spool and data dir are bind mounts
# (benchlib.sh pfns_setup); the machine's Postfix, users and ports are
# not touched. Sender a@example.org, recipient b@example.net, relay
# permitted by mynetworks = 127.0.0.0/8 on both; Postfix's transports are
# discard (with error, its smtpd rejects the recipient outright), Petrel's
# error (its smtpd does not look), moot as nothing is delivered.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/benchlib.sh"
builddir=$(cd "${1:-.}" && pwd)
count=${2:-1000}
runs=${3:-3}
BENCH_ARGS=("$builddir" "$count" "$runs")
P_ADDR=127.0.0.1:10025
PF_ADDR=127.0.0.1:10026
SRC_ARGS=(-s 10 -m "$count" -l 1024 -f a@example.org -t b@example.net -M client.bench.example)

petrel_run() {
	local r
	r=$(smtp_source_rate "$count" "${SRC_ARGS[@]}" "$P_ADDR") || bench_die "petrel run failed"
	[ "$(qcount "$P_QDIR/incoming")" = "$count" ] ||
		bench_die "petrel queued $(qcount "$P_QDIR/incoming"), not $count"
	find "$P_QDIR/incoming" -maxdepth 1 -type f -delete
	echo "$r"
}

postfix_run() {
	local r
	r=$(smtp_source_rate "$count" "${SRC_ARGS[@]}" "$PF_ADDR") || bench_die "postfix run failed"
	[ "$(qcount "$PF_QDIR/hold")" = "$count" ] ||
		bench_die "postfix held $(qcount "$PF_QDIR/hold"), not $count (queue: $(pf_queued))"
	/usr/sbin/postsuper -d ALL hold >/dev/null 2>&1
	echo "$r"
}

both() {
	local r pr=() fr=() have_pf=1
	bench_smtp_tools
	petrel_ns_setup
	cat >"$P_CONF/master.cf" <<EOT
$P_ADDR inet n - n - - smtpd
EOT
	petrel_set master_service_disable qmgr
	petrel_set mynetworks 127.0.0.0/8
	"$P_PETREL" start >/dev/null 2>&1 || bench_die "petrel start failed (see $P_LOG)"
	if pfns_setup "$PF_ADDR" "smtpd_client_restrictions = check_client_access static:HOLD" \
	    "default_transport = discard" "relay_transport = discard"; then
		pfns_start
	else
		have_pf=
	fi
	for ((r = 0; r < runs; r++)); do
		sync; bench_quiet
		pr+=("$(petrel_run)")
		[ -n "$have_pf" ] || continue
		sync; bench_quiet
		fr+=("$(postfix_run)")
	done
	printf 'petrel   median %7s msg/s   (runs: %s)\n' "$(printf '%s\n' "${pr[@]}" | median)" "${pr[*]}"
	if [ -z "$have_pf" ]; then
		echo "postfix  (not installed: no ratio)"
		return
	fi
	echo "# postfix $(/usr/sbin/postconf -h mail_version)"
	printf 'postfix  median %7s msg/s   (runs: %s)\n' "$(printf '%s\n' "${fr[@]}" | median)" "${fr[*]}"
	echo "ratio petrel/postfix: $(ratio "$(printf '%s\n' "${pr[@]}" | median)" "$(printf '%s\n' "${fr[@]}" | median)")  (above 1: Petrel faster)"
	bench_busy_note
}

if [ "${4:-}" = --petrel-block ]; then
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	"$5"
	exit 0
fi

bench_init "$builddir"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "# smtp-rate: $count messages of 1024 bytes (smtp-source -s 10 -l 1024, one connection each), accepted into the queue, delivery held; median of $runs runs"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -sr), petrel $(bench_version "$builddir"), uptime:$(uptime | sed 's/.*up/ up/')"
bench_petrel_block both
