#!/bin/bash
# submit-rate.sh - how many `sendmail -t -i` submissions per second one
# caller sustains, Petrel against the machine's Postfix (a benchmark, never
# part of `make check`; results and how to read them: RESULTS.md).
#
# Usage (as root): contrib/bench/submit-rate.sh [BUILDDIR] [COUNT] [RUNS]
#   BUILDDIR  where sendmail/sendmail and sendmail/petrel were built (.)
#   COUNT     submissions per run (1000)
#   RUNS      runs per mode; the median is reported (3)
#
# One caller submits COUNT messages of 1024 bytes to benchuser@localhost,
# one `sendmail -t -i <message` after the other, in three modes:
#   petrel, daemon up    a private Petrel instance (unshare -m -n, private
#                        passwd with the petrel and benchuser users): the
#                        submission socket, then cleanup and an fsync'd
#                        queue file before sendmail exits; the daemon
#                        delivers into benchuser's mbox in the background
#   petrel, daemon down  the same instance stopped: sendmail writes the
#                        queue file into maildrop/ itself
#   postfix              the machine's Postfix, running, through its own
#                        sendmail (postdrop -> maildrop -> pickup ->
#                        cleanup), delivering into /var/mail/benchuser in
#                        the background; benchuser is a real user (useradd)
#                        for the duration, removed at the end
# With the daemon up, each run ends when every message is in the mailbox
# (not timed), so the next run starts with an empty queue. Prints one line
# per mode (median and every run) and the Petrel/Postfix ratios; above 1
# means Petrel is faster. The machine's /etc/passwd, Postfix's main.cf and
# Postfix's running state are put back at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/benchlib.sh"
builddir=$(cd "${1:-.}" && pwd)
count=${2:-1000}
runs=${3:-3}
BENCH_ARGS=("$builddir" "$count" "$runs")
WARMUP=20
DRAIN_LIMIT=300		# seconds a run's background delivery may take

# line LABEL RESULTS...: the report line of one mode.
line() {
	local label=$1; shift
	printf '%-22s median %7s msg/s   (runs: %s)\n' "$label" \
		"$(printf '%s\n' "$@" | median)" "$*"
}

# wait_drain N MBOX QUEUED-FUNCTION: until N messages are in MBOX and the
# queue is empty.
wait_drain() {
	local r
	r=$(bench_poll mbox "$2" "$1" "$DRAIN_LIMIT")
	case $r in ok*) ;; *) bench_die "delivery of the run did not finish: $r";; esac
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$("$3")" = 0 ] && return 0
		sleep 0.02
	done
	bench_die "queue not empty after delivery"
}

petrel_modes() {
	local r up=() down=()
	petrel_ns_setup
	"$P_PETREL" start >/dev/null 2>&1
	submit_loop $WARMUP "$P_SENDMAIL" -t -i >/dev/null
	wait_drain $WARMUP "$P_MBOX" petrel_queued
	for ((r = 0; r < runs; r++)); do
		rm -f "$P_MBOX"
		bench_quiet
		up+=("$(submit_loop "$count" "$P_SENDMAIL" -t -i)")
		wait_drain "$count" "$P_MBOX" petrel_queued
	done
	line "petrel, daemon up" "${up[@]}"
	"$P_PETREL" stop >/dev/null 2>&1
	submit_loop $WARMUP "$P_SENDMAIL" -t -i >/dev/null
	for ((r = 0; r < runs; r++)); do
		find "$P_QDIR/maildrop" -maxdepth 1 -type f -delete
		sync
		bench_quiet
		down+=("$(submit_loop "$count" "$P_SENDMAIL" -t -i)")
		[ "$(petrel_maildrop)" = "$count" ] || bench_die "maildrop holds $(petrel_maildrop), not $count"
	done
	find "$P_QDIR/maildrop" -maxdepth 1 -type f -delete
	line "petrel, daemon down" "${down[@]}"
	printf '%s\n' "${up[@]}" | median >"$W/petrel.up"
	printf '%s\n' "${down[@]}" | median >"$W/petrel.down"
}

if [ "${4:-}" = --petrel-block ]; then
	trap bench_cleanup EXIT
	"$5"
	exit 0
fi

bench_init "$builddir"
trap bench_cleanup EXIT
echo "# submit-rate: $count messages of $(stat -c %s "$W/msg") bytes, one caller, sendmail -t -i, median of $runs runs"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -sr), petrel $(bench_version "$builddir")"
bench_petrel_block petrel_modes

if ! bench_postfix_setup; then
	echo "postfix                (no Postfix sendmail on this machine: no ratio)"
	exit 0
fi
echo "# postfix $(/usr/sbin/postconf -h mail_version) through $PF_SENDMAIL"
/usr/sbin/postfix start >/dev/null 2>&1 || bench_die "postfix start failed"
submit_loop $WARMUP "$PF_SENDMAIL" -t -i >/dev/null
wait_drain $WARMUP "$PF_MBOX" pf_queued
pf=()
for ((r = 0; r < runs; r++)); do
	rm -f "$PF_MBOX"
	bench_quiet
	pf+=("$(submit_loop "$count" "$PF_SENDMAIL" -t -i)")
	wait_drain "$count" "$PF_MBOX" pf_queued
done
line "postfix" "${pf[@]}"
pfm=$(printf '%s\n' "${pf[@]}" | median)
echo "ratio petrel/postfix:  daemon up $(ratio "$(cat "$W/petrel.up")" "$pfm"), daemon down $(ratio "$(cat "$W/petrel.down")" "$pfm")  (above 1: Petrel faster)"
bench_busy_note
