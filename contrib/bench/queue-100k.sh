#!/bin/bash
# queue-100k.sh - a backlog of COUNT (100,000) messages: how long Petrel
# takes to deliver them all into one Maildir, whether each arrived exactly
# once, and how long mailq takes meanwhile (issue 7, item 6; the CI-sized
# run of 20,000 is t/e2e/exhaust.t). A benchmark, never part of
# `make check`; Petrel only (Postfix is not touched).
#
# Usage (as root): contrib/bench/queue-100k.sh [BUILDDIR] [COUNT]
#   BUILDDIR  where sendmail/sendmail and sendmail/petrel were built (.)
#   COUNT     messages (100000)
#
# The queue files are written straight into incoming/ with the daemon
# stopped (t/lib/qfill.py, the format of doc/queue-format.md: this takes
# seconds where 100,000 sendmail runs would take a quarter of an hour),
# then `petrel start` and the clock runs until the Maildir holds COUNT
# messages (the Maildir is on a tmpfs). Every message carries X-Seq: N;
# the end checks 1..COUNT each once. Runs in `unshare -m -n` with a private passwd (benchlib.sh), so
# nothing on the machine changes; the work dir is removed at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/benchlib.sh"
builddir=$(cd "${1:-.}" && pwd)
count=${2:-100000}
BENCH_ARGS=("$builddir" "$count")
LIMIT=3600		# seconds the delivery may take
QFILL=$here/../../t/lib/qfill.py

backlog() {
	local t0 t1 tq out
	petrel_ns_setup
	petrel_set home_mailbox Maildir/
	petrel_set local_destination_concurrency_limit 4
	# The Maildir on a tmpfs, as in exhaust.t: the queue (on disk) is
	# measured, not how fast this disk creates and removes mailbox files.
	mount -t tmpfs -o size=2g,mode=0755 tmpfs "$P_HOME" || bench_die "cannot mount a tmpfs on $P_HOME"
	chown "$BENCH_UID:$BENCH_UID" "$P_HOME"
	t0=$EPOCHREALTIME
	$PY "$QFILL" "$P_QDIR" incoming "$count" bench@localhost "$BENCH_USER@localhost" >/dev/null ||
		bench_die "qfill failed"
	t1=$EPOCHREALTIME
	sync
	awk -v n="$count" -v s="$t0" -v e="$t1" 'BEGIN { printf "queued      %d files into incoming/ in %.1f s (%.0f/s)\n", n, e - s, n / (e - s) }'
	bench_quiet
	t0=$EPOCHREALTIME
	"$P_PETREL" start >/dev/null 2>&1 || bench_die "petrel start failed (see $P_LOG)"
	# mailq once the queue manager has taken the backlog into active/
	sleep 5
	tq=$EPOCHREALTIME
	out=$("$P_SENDMAIL" -bp 2>&1 | tail -1)
	awk -v s="$tq" -v e="$EPOCHREALTIME" -v o="$out" 'BEGIN { gsub(/^[ \t]+/, "", o); printf "mailq       %.2f s at 5 s into the run: %s\n", e - s, o }'
	out=$($PY - "$P_HOME/Maildir/new" "$count" "$LIMIT" <<'PY'
import os, re, sys, time
d, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
while time.monotonic() - t0 < limit:
    try:
        if len(os.listdir(d)) >= n:
            break
    except FileNotFoundError:
        pass
    time.sleep(1)
seen = {}
for name in os.listdir(d):
    with open(os.path.join(d, name), 'rb') as f:
        m = re.search(rb'^X-Seq: ([0-9]+)$', f.read(), re.M)
    k = int(m.group(1)) if m else 0
    seen[k] = seen.get(k, 0) + 1
print('%d %d %d' % (sum(seen.values()), sum(v - 1 for v in seen.values() if v > 1),
                    len([k for k in range(1, n + 1) if k not in seen])))
PY
)
	t1=$EPOCHREALTIME
	read -r files dups missing <<<"$out"
	awk -v n="$files" -v s="$t0" -v e="$t1" 'BEGIN { printf "delivered   %d in %.1f s from petrel start (%.0f msg/s, the final count included)\n", n, e - s, n / (e - s) }'
	echo "check       duplicates $dups, missing $missing (of $count)"
	"$P_PETREL" stop >/dev/null 2>&1
	umount "$P_HOME"
	[ "$files" = "$count" ] && [ "$dups" = 0 ] && [ "$missing" = 0 ]
}

if [ "${3:-}" = --petrel-block ]; then
	trap bench_cleanup EXIT
	"$4"
	exit
fi

bench_init "$builddir"
trap bench_cleanup EXIT
echo "# queue-100k: $count queued messages delivered into one Maildir"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -sr), petrel $(bench_version "$builddir")"
bench_petrel_block backlog
bench_busy_note
