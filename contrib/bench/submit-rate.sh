#!/bin/bash
# submit-rate.sh - how many `sendmail -t` submissions per second one caller
# sustains, Petrel against Postfix when Postfix is installed on this
# machine (never in CI: this is a benchmark, not a test).
#
# Usage: contrib/bench/submit-rate.sh [BUILDDIR] [COUNT] [RUNS]
#   BUILDDIR  where sendmail/sendmail and sendmail/petrel were built (.)
#   COUNT     submissions per run (1000)
#   RUNS      runs per mode; the median is reported (3)
#
# Petrel runs as a private instance under a temp dir with its daemon up
# (the submission-socket path: cleanup + fsync'd queue file before exit 0)
# and with it down (the maildrop path). Postfix, when /usr/sbin/postfix
# exists, is measured through its own /usr/sbin/sendmail.postfix or
# /usr/sbin/sendmail with the system instance running. Messages are 1 KB.
# Run as root, ideally inside `unshare -n -m` (the Petrel instance binds
# nothing on the network, but needs a private /etc/passwd for its user).
set -eu
builddir=$(cd "${1:-.}" && pwd)
count=${2:-1000}
runs=${3:-3}
SENDMAIL=$builddir/sendmail/sendmail
PETREL=$builddir/sendmail/petrel

T=$(mktemp -d /tmp/petrel-bench.XXXXXX)
chmod 0755 "$T"
cleanup() {
	PETREL_CONFIG_DIR=$T/etc "$PETREL" stop >/dev/null 2>&1 || true
	umount /etc/passwd /etc/group 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

if ! getent passwd petrel >/dev/null; then
	if [ "$(unshare --help >/dev/null 2>&1; echo $?)" = 0 ] && [ -z "${PETREL_BENCH_NS:-}" ]; then
		exec env PETREL_BENCH_NS=1 unshare -m --propagation private -- "$0" "$@"
	fi
	cp /etc/passwd "$T/passwd"; cp /etc/group "$T/group"
	echo 'petrel:x:990:990::/nonexistent:/usr/sbin/nologin' >>"$T/passwd"
	echo 'petrel:x:990:' >>"$T/group"; echo 'petreldrop:x:991:' >>"$T/group"
	mount --bind "$T/passwd" /etc/passwd; mount --bind "$T/group" /etc/group
fi

mkdir -p "$T/etc"
cat >"$T/etc/main.cf" <<EOF
queue_directory = $T/queue
data_directory = $T/data
maillog_file = $T/maillog
myhostname = bench.example.com
EOF
: >"$T/etc/master.cf"
export PETREL_CONFIG_DIR=$T/etc

body=$(head -c 700 /dev/zero | tr '\0' 'x' | fold -w 70)
message="From: bench@example.com
To: someone@example.org
Subject: benchmark message

$body
"

# one_run COMMAND...: prints submissions per second for COUNT runs of COMMAND.
one_run() {
	local start end i
	start=$(date +%s.%N)
	for ((i = 0; i < count; i++)); do
		printf '%s' "$message" | "$@" || { echo "submission failed" >&2; exit 1; }
	done
	end=$(date +%s.%N)
	echo "$count / ($end - $start)" | bc -l
}

median() { sort -n | awk '{a[NR]=$1} END {printf "%.0f\n", a[int((NR+1)/2)]}'; }

measure() {	# measure LABEL COMMAND...
	local label=$1; shift
	local r results=()
	for ((r = 0; r < runs; r++)); do
		results+=("$(one_run "$@")")
	done
	printf '%-28s median %6s/s  (runs: %s)\n' "$label" \
		"$(printf '%s\n' "${results[@]}" | median)" \
		"$(printf '%.0f ' "${results[@]}")"
}

"$PETREL" start
measure "petrel, daemon up" "$SENDMAIL" -t -i
"$PETREL" stop
measure "petrel, daemon down" "$SENDMAIL" -t -i

if [ -x /usr/sbin/postfix ]; then
	pf=/usr/sbin/sendmail
	[ -x /usr/sbin/sendmail.postfix ] && pf=/usr/sbin/sendmail.postfix
	/usr/sbin/postfix status >/dev/null 2>&1 || /usr/sbin/postfix start >/dev/null 2>&1
	measure "postfix ($pf)" env -u PETREL_CONFIG_DIR "$pf" -t -i
fi
