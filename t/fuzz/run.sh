#!/bin/bash
# t/fuzz/run.sh - builds every libFuzzer target under t/fuzz/ with clang
# (AddressSanitizer + UBSan) and runs each for SECONDS seconds on a copy of
# its seed corpus. Prints executions per second; exits 1 on any crash,
# leaving the crashing input in BUILDDIR/t/fuzz/out/TARGET/.
#
# Usage: t/fuzz/run.sh SRCDIR BUILDDIR SECONDS LIBRARY-SOURCES...
# (`make fuzz FUZZ_SECONDS=30` calls it.) FUZZ_TARGETS="smtpd qfile" runs
# only those targets.
set -u
srcdir=$(cd "$1" && pwd) builddir=$(cd "$2" && pwd) seconds=$3
shift 3
srcs=()
for s in "$@"; do
	case $s in *.c) srcs+=("$srcdir/$s") ;; esac
done
out=$builddir/t/fuzz/out
mkdir -p "$out"
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-D_GNU_SOURCE -DPETREL_CONFIG_DIR_DEFAULT='"/etc/petrel"'
	-DPETREL_QUEUE_DIR_DEFAULT='"/var/spool/petrel"' -DPETREL_DATA_DIR_DEFAULT='"/var/lib/petrel"'
	-DPETREL_DAEMON_DIR_DEFAULT='"/usr/libexec/petrel"' -DPETREL_COMMAND_DIR_DEFAULT='"/usr/sbin"'
	-DPETREL_BIN_DIR_DEFAULT='"/usr/bin"' -I"$builddir" -I"$srcdir/lib" -I"$srcdir/sendmail" -I"$srcdir/aliases")
failed=0
for f in "$srcdir"/t/fuzz/fuzz_*.c; do
	name=$(basename "$f" .c)
	target=${name#fuzz_}
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $target "* ]]; then
		continue
	fi
	bin=$out/$name
	if ! clang "${flags[@]}" "$f" "${srcs[@]}" -o "$bin" -ldb -lpcre2-8 -lssl -lcrypto -lresolv 2>"$out/$name.build.log"; then
		echo "FAIL: $name does not build (see $out/$name.build.log)"
		failed=1
		continue
	fi
	work=$out/$target
	rm -rf "$work"
	mkdir -p "$work/corpus"
	[ -d "$srcdir/t/fuzz/corpus/$target" ] && cp "$srcdir/t/fuzz/corpus/$target"/* "$work/corpus/" 2>/dev/null
	# libdb keeps a few buffers for the life of the process (t/lsan.supp).
	(cd "$work" && LSAN_OPTIONS="suppressions=$srcdir/t/lsan.supp:print_suppressions=0" "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 corpus >"$work/run.log" 2>&1)
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log" | head -n 1)
	rate=$(( ${execs:-0} / (seconds > 0 ? seconds : 1) ))
	if [ $rc -ne 0 ]; then
		echo "FAIL: $name crashed after ${execs:-?} runs (see $work/run.log, inputs in $work)"
		# CI keeps only what is printed: the cause and the input, not the files.
		grep -E -A12 '^==[0-9]+==|^SUMMARY|runtime error' "$work/run.log" | head -n 40
		for c in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
			[ -f "$c" ] && { echo "input $c:"; head -c 1024 "$c" | od -A d -c | head -n 24; }
		done
		failed=1
	else
		echo "ok: $name ${execs:-0} runs in ${seconds}s (~$rate/s)"
	fi
done
exit $failed
