#!/bin/bash
# relay-rate.sh - messages per second relayed by SMTP to 10 destinations,
# Petrel against Postfix on the same machine (a benchmark, never part of
# `make check`; results in RESULTS.md).
#
# Usage (as root): contrib/bench/relay-rate.sh [BUILDDIR] [PER_DEST] [RUNS]
#   BUILDDIR  where sendmail/sendmail and sendmail/petrel were built (.)
#   PER_DEST  messages of 1024 bytes per destination (100: a quick run of
#             1,000 messages; 1000 is the issue's full 10 x 1,000)
#   RUNS      runs per system; the median is reported (3)
#
# Destinations: d1.example ... d10.example, each routed by transport_maps
# (hash:) to its own smtp-sink (Postfix's test server, unpacked from apt's
# cached postfix .deb) on 127.0.0.2:25 ... 127.0.0.11:25, so each system
# sees 10 next hops with their own per-destination concurrency (default
# 20, the same default in both), not one. The sinks accept everything and
# keep nothing; `smtp-sink -c` prints a running message counter.
#
# One run: with delivery held, smtp-source queues PER_DEST messages for
# each destination over SMTP (not timed; 10 parallel sessions); the script
# checks that exactly 10 x PER_DEST are queued, stops the system, releases
# the messages, starts fresh sinks, then times from just before the start
# command to the poll (every 10 ms) that sees the sinks' counters add up
# to the total. Held and released:
#   Petrel   master_service_disable = qmgr while queueing (mail stays in
#            incoming/); released by dropping that line: `petrel start`
#            brings the queue manager up, which scans incoming/.
#   Postfix  smtpd_client_restrictions = check_client_access static:HOLD
#            while queueing (mail goes to hold/); released with
#            `postsuper -H ALL` while stopped (hold/ to deferred/), then
#            `postfix start` with its quick-start marker; its queue manager
#            scans deferred/ at start. (Postfix with its qmgr service
#            disabled accepts only ~9 msg/s here: cleanup cannot wake it.)
# So the time covers the start of the mail system, the queue manager and
# the SMTP client, and both pay their start-up; "first" is when the first
# message reached a sink, "steady" is (total - 1) over first-to-last.
# Runs alternate Petrel, Postfix, ... Everything runs inside one
# `unshare -m -n` child with only lo (Petrel as a private instance,
# Postfix as a private instance on bind mounts: benchlib.sh pfns_setup);
# nothing on the machine changes and no packet leaves 127.0.0.0/8.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/benchlib.sh"
builddir=$(cd "${1:-.}" && pwd)
per=${2:-100}
runs=${3:-3}
BENCH_ARGS=("$builddir" "$per" "$runs")
NDEST=10
total=$((NDEST * per))
LIMIT=$((60 + total / 5))	# seconds one relay run may take (at 5 msg/s)
P_ADDR=127.0.0.1:10025
PF_ADDR=127.0.0.1:10026
SINK_PIDS=()

sink_addr() { echo "127.0.0.$(($1 + 1)):25"; }

sinks_start() {
	local i
	for ((i = 1; i <= NDEST; i++)); do
		"$SMTP_SINK" -c -u postfix "$(sink_addr "$i")" 256 >"$W/sink.$i" 2>&1 &
		SINK_PIDS+=($!)
		BENCH_NS_PIDS+=($!)
	done
	for ((i = 0; i < 100; i++)); do
		[ "$(ss -Hltn 'sport = :25' | wc -l)" = "$NDEST" ] && return 0
		sleep 0.05
	done
	bench_die "smtp-sinks did not start: $(cat "$W"/sink.* | head -n 3)"
}

sinks_stop() {
	local pid
	for pid in ${SINK_PIDS[@]+"${SINK_PIDS[@]}"}; do kill "$pid" 2>/dev/null; done
	for pid in ${SINK_PIDS[@]+"${SINK_PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
	SINK_PIDS=()
}

# sink_poll TOTAL LIMIT COMMAND...: runs COMMAND, then adds up the sinks'
# counters every 10 ms; "ok T_LAST T_FIRST COUNT T_CMD" or "timeout ...".
sink_poll() {
	$PY - "$W" "$NDEST" "$@" <<'PY'
import re, subprocess, sys, time
w, nd, total, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
cmd = sys.argv[5:]
pat = re.compile(rb'mesg=(\d+)\r?$')
t0 = time.monotonic()
rc = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
tcmd = time.monotonic() - t0
if rc != 0:
    print("cmdfail %d - 0 -" % rc); sys.exit(0)
first = None
while True:
    count = 0
    for i in range(1, nd + 1):
        try:
            with open("%s/sink.%d" % (w, i), "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 64))
                m = pat.search(f.read())
                if m:
                    count += int(m.group(1))
        except FileNotFoundError:
            pass
    now = time.monotonic() - t0
    if count and first is None:
        first = now
    if count >= total:
        print("ok %.4f %.4f %d %.4f" % (now, first, count, tcmd)); break
    if now > limit:
        print("timeout %.4f - %d -" % (now, count)); break
    time.sleep(0.01)
PY
}

# inject ADDR: PER_DEST messages to each destination, 10 sessions.
inject() {
	local i
	for ((i = 1; i <= NDEST; i++)); do
		smtp_source_rate "$per" -s 10 -m "$per" -l 1024 -f a@example.org \
			-t "rcpt@d$i.example" -M client.bench.example "$1" >/dev/null || return 1
	done
}

# timed_release NAME START_COMMAND...: one timed release; appends the
# poll result to $W/NAME.res.
timed_release() {
	local name=$1 r; shift
	sinks_start
	sync
	bench_quiet
	r=$(sink_poll "$total" "$LIMIT" "$@")
	case $r in ok*) ;; *) bench_die "$name run: $r (wanted $total)";; esac
	[ "$(echo "$r" | awk '{ print $4 }')" = "$total" ] || bench_die "$name: sinks counted more than sent: $r"
	echo "$r" >>"$W/$name.res"
}

petrel_run() {
	local i
	inject "$P_ADDR" || bench_die "petrel: queueing failed"
	[ "$(qcount "$P_QDIR/incoming")" = "$total" ] ||
		bench_die "petrel queued $(qcount "$P_QDIR/incoming"), not $total"
	"$P_PETREL" stop >/dev/null 2>&1
	petrel_set master_service_disable ""
	timed_release petrel "$P_PETREL" start
	for ((i = 0; i < 500; i++)); do [ "$(petrel_queued)" = 0 ] && break; sleep 0.02; done
	[ "$(petrel_queued)" = 0 ] || bench_die "petrel queue not empty after the run"
	sinks_stop
	"$P_PETREL" stop >/dev/null 2>&1
	petrel_set master_service_disable qmgr
	"$P_PETREL" start >/dev/null 2>&1 || bench_die "petrel start failed (see $P_LOG)"
}

postfix_run() {
	local i
	inject "$PF_ADDR" || bench_die "postfix: queueing failed"
	[ "$(qcount "$PF_QDIR/hold")" = "$total" ] ||
		bench_die "postfix held $(qcount "$PF_QDIR/hold"), not $total"
	pfns_stop
	/usr/sbin/postsuper -H ALL >"$W/postsuper.out" 2>&1 || bench_die "postsuper -H ALL failed: $(tail -n 2 "$W/postsuper.out")"
	PFNS_UP=1
	timed_release postfix /bin/sh -c "touch $PF_QDIR/quick-start && exec /usr/sbin/postfix start"
	for ((i = 0; i < 500; i++)); do [ "$(pf_queued)" = 0 ] && break; sleep 0.02; done
	[ "$(pf_queued)" = 0 ] || bench_die "postfix queue not empty after the run"
	sinks_stop
}

# report NAME LABEL: the line for one system from $W/NAME.res.
report() {
	local f=$W/$1.res tot
	tot=$(awk -v n="$total" '{ printf "%.1f\n", n / $2 }' "$f")
	printf '%-8s median %7s msg/s   (runs: %s)  steady %s msg/s, start command %s s, first at %s s\n' \
		"$2" "$(echo "$tot" | median)" "$(echo $tot)" \
		"$(awk -v n="$total" '{ printf "%.1f\n", ($2 > $3) ? (n - 1) / ($2 - $3) : 0 }' "$f" | median)" \
		"$(awk '{ print $5 }' "$f" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
		"$(awk '{ print $3 }' "$f" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
	echo "$tot" | median >"$f.median"
}

both() {
	local r i have_pf=1
	bench_smtp_tools
	: >"$W/transport"
	for ((i = 1; i <= NDEST; i++)); do
		echo "d$i.example smtp:[127.0.0.$((i + 1))]:25" >>"$W/transport"
	done
	petrel_ns_setup
	echo "$P_ADDR inet n - n - - smtpd" >"$P_CONF/master.cf"
	cp "$W/transport" "$P_CONF/transport"
	"$P_PETREL" map "hash:$P_CONF/transport" >/dev/null 2>&1 || bench_die "petrel map failed"
	petrel_set mynetworks 127.0.0.0/8
	petrel_set transport_maps "hash:$P_CONF/transport"
	petrel_set master_service_disable qmgr
	"$P_PETREL" start >/dev/null 2>&1 || bench_die "petrel start failed (see $P_LOG)"
	if pfns_setup "$PF_ADDR" "smtpd_client_restrictions = check_client_access static:HOLD" \
	    "transport_maps = hash:/etc/postfix/transport"; then
		cp "$W/transport" "$PFNS_CONF/transport"
		/usr/sbin/postmap "hash:/etc/postfix/transport" || bench_die "postmap failed"
		pfns_start
	else
		have_pf=
	fi
	: >"$W/petrel.res"
	: >"$W/postfix.res"
	for ((r = 0; r < runs; r++)); do
		petrel_run
		[ -z "$have_pf" ] || postfix_run
	done
	report petrel petrel
	if [ -z "$have_pf" ]; then
		echo "postfix  (not installed: no ratio)"
		return
	fi
	echo "# postfix $(/usr/sbin/postconf -h mail_version)"
	report postfix postfix
	echo "ratio petrel/postfix: $(ratio "$(cat "$W/petrel.res.median")" "$(cat "$W/postfix.res.median")")  (above 1: Petrel faster)"
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
echo "# relay-rate: $NDEST destinations x $per messages of 1024 bytes, queued with delivery held, start to last message accepted by the smtp-sinks; median of $runs runs"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -sr), petrel $(bench_version "$builddir"), uptime:$(uptime | sed 's/.*up/ up/')"
bench_petrel_block both
