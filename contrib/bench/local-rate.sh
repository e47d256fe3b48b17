#!/bin/bash
# local-rate.sh - local deliveries per second, Petrel against the machine's
# Postfix, into one mbox and into one Maildir (a benchmark, never part of
# `make check`; results and how to read them: RESULTS.md).
#
# Usage (as root): [BENCH_NO_POSTFIX=1] contrib/bench/local-rate.sh [BUILDDIR] [COUNT] [RUNS]
#   BUILDDIR  where sendmail/sendmail and sendmail/petrel were built (.)
#   COUNT     messages per run (1000)
#   RUNS      runs per case; the median is reported (3)
#
# Each run queues COUNT messages of 1024 bytes to benchuser@localhost while
# the mail system is stopped, so they wait in its maildrop/ (Petrel:
# sendmail writes them there itself; Postfix: postdrop), syncs the disk,
# then starts the mail system and polls the mailbox every 10 ms until the
# COUNTth message is there ("From " lines in the mbox, files in
# Maildir/new). The time runs from just before the start command to the
# poll that saw the last message; it covers pickup, cleanup, the queue
# manager and local delivery. Postfix is started with its quick-start
# marker (no postfix-script integrity check, ~0.1 s instead of ~0.7 s);
# Petrel's `petrel start` takes ~0.02 s. "steady" is (COUNT - 1) over the
# time from the first to the last message, start-up left out.
#
# Petrel runs as a private instance in `unshare -m -n` with a private
# passwd holding benchuser (home and spool under the work dir); Postfix
# delivers to a real benchuser (useradd for the duration, userdel at the
# end) in /var/mail and its home. Both: mbox in a root:mail 2775 spool,
# home_mailbox = Maildir/ for the Maildir case, alias lookups in a hash
# map, no .forward, local_destination_concurrency_limit 2 (both defaults).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/benchlib.sh"
builddir=$(cd "${1:-.}" && pwd)
count=${2:-1000}
runs=${3:-3}
BENCH_ARGS=("$builddir" "$count" "$runs")
LIMIT=240		# seconds one delivery run may take

# report LABEL RESULTFILE: "ok T_LAST T_FIRST N T_CMD" lines -> the report line.
report() {
	local tot steady
	tot=$(awk -v n="$count" '{ printf "%.1f\n", n / $2 }' "$2")
	steady=$(awk -v n="$count" '{ printf "%.1f\n", ($2 > $3) ? (n - 1) / ($2 - $3) : 0 }' "$2")
	printf '%-16s median %6s msg/s  (runs: %s)  steady %s msg/s, start command %s s, first message at %s s\n' \
		"$1" "$(echo "$tot" | median)" "$(echo $tot)" "$(echo "$steady" | median)" \
		"$(awk '{ print $5 }' "$2" | median3)" "$(awk '{ print $3 }' "$2" | median3)"
	echo "$tot" | median >"$2.median"
}

# median3: the median with three decimals (seconds).
median3() { sort -g | awk '{ a[NR] = $1 } END { printf "%.3f\n", a[int((NR + 1) / 2)] }'; }

# one_run KIND MAILBOX N LIMIT START_COMMAND...: prints "ok T_LAST T_FIRST N T_CMD".
one_run() {
	local r
	sync
	bench_quiet
	r=$(bench_poll "$@")
	case $r in ok*) echo "$r";; *) bench_die "$1 run: $r (wanted $count)";; esac
}

petrel_cases() {
	local kind r res box
	petrel_ns_setup
	for kind in mbox maildir; do
		if [ "$kind" = maildir ]; then
			petrel_set home_mailbox Maildir/
			box=$P_HOME/Maildir
		else
			petrel_set home_mailbox ""
			box=$P_MBOX
		fi
		res=$W/petrel.$kind
		: >"$res"
		for ((r = 0; r < runs; r++)); do
			rm -rf "$P_MBOX" "$P_HOME/Maildir"
			[ "$(petrel_queued)" = 0 ] || bench_die "petrel queue not empty"
			queue_silently "$count" "$P_SENDMAIL" -t -i || bench_die "queueing failed"
			[ "$(petrel_maildrop)" = "$count" ] || bench_die "maildrop holds $(petrel_maildrop), not $count"
			one_run "$kind" "$box" "$count" "$LIMIT" "$P_PETREL" start >>"$res"
			for ((i = 0; i < 500; i++)); do [ "$(petrel_queued)" = 0 ] && break; sleep 0.02; done
			"$P_PETREL" stop >/dev/null 2>&1
		done
		report "petrel $kind" "$res"
	done
}

if [ "${4:-}" = --petrel-block ]; then
	trap bench_cleanup EXIT
	"$5"
	exit 0
fi

bench_init "$builddir"
trap bench_cleanup EXIT
echo "# local-rate: $count messages of $(stat -c %s "$W/msg") bytes queued with delivery stopped, then start to last delivery; median of $runs runs"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -sr), petrel $(bench_version "$builddir")"
bench_petrel_block petrel_cases

# BENCH_NO_POSTFIX=1: Petrel alone (A/B runs of two builds; also never
# touches the host's passwd, which running tests bind-mount).
if [ "${BENCH_NO_POSTFIX:-0}" = 1 ]; then
	exit 0
fi
if ! bench_postfix_setup; then
	echo "postfix          (no Postfix sendmail on this machine: no ratio)"
	exit 0
fi
echo "# postfix $(/usr/sbin/postconf -h mail_version)"
for kind in mbox maildir; do
	if [ "$kind" = maildir ]; then
		pf_set "home_mailbox = Maildir/"
		box=$PF_HOME/Maildir
	else
		pf_set "home_mailbox ="
		box=$PF_MBOX
	fi
	res=$W/postfix.$kind
	: >"$res"
	for ((r = 0; r < runs; r++)); do
		rm -rf "$PF_MBOX" "$PF_HOME/Maildir"
		[ "$(pf_queued)" = 0 ] || bench_die "postfix queue not empty"
		queue_silently "$count" "$PF_SENDMAIL" -t -i || bench_die "queueing failed"
		[ "$(pf_maildrop)" = "$count" ] || bench_die "postfix maildrop holds $(pf_maildrop), not $count"
		one_run "$kind" "$box" "$count" "$LIMIT" /bin/sh -c \
			"touch $PF_QDIR/quick-start && exec /usr/sbin/postfix start" >>"$res"
		for ((i = 0; i < 500; i++)); do [ "$(pf_queued)" = 0 ] && break; sleep 0.02; done
		pf_stop
	done
	report "postfix $kind" "$res"
done
for kind in mbox maildir; do
	echo "ratio petrel/postfix $kind: $(ratio "$(cat "$W/petrel.$kind.median")" "$(cat "$W/postfix.$kind.median")")  (above 1: Petrel faster)"
done
bench_busy_note
