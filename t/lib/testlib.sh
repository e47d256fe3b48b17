# t/lib/testlib.sh - shared code of the end-to-end tests (bash).
#
# A test sources this file, calls instance_setup, and reports with ok/is/
# like; done_testing prints the plan. t/harness has already put the test
# in its own network and mount namespace, so it may bind-mount files over
# /etc (a private passwd with the petrel user and test users): nothing on
# the machine itself changes, and it all vanishes when the test ends.
#
# Variables after instance_setup:
#   T         the test's temp dir (removed at exit)
#   CONF      its configuration dir (exported as PETREL_CONFIG_DIR)
#   QDIR      its queue_directory
#   MAILLOG   its maillog_file
#   SENDMAIL  PETREL  the programs from the build tree
# Test users (in the private passwd): petrel (mail_owner, uid 990),
# alice (2001), bob (2002); groups petreldrop (991), mail group of Debian.

set -u
: "${PETREL_BUILDDIR:?run me through t/harness (make check)}"
: "${PETREL_SRCDIR:?run me through t/harness (make check)}"

SENDMAIL=$PETREL_BUILDDIR/sendmail/sendmail
PETREL=$PETREL_BUILDDIR/sendmail/petrel
PY=/usr/bin/python3
TAP_N=0
TAP_FAILED=0

ok() {	# ok CONDITION-STATUS NAME: ok 0 "name" passes
	local st=$1; shift
	TAP_N=$((TAP_N + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		echo "not ok $TAP_N - $*"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
	return "$st"
}

is() {	# is GOT WANT NAME
	local got=$1 want=$2; shift 2
	if [ "$got" = "$want" ]; then
		ok 0 "$*"
	else
		ok 1 "$*"
		printf '#   got:      %s\n#   expected: %s\n' "$(printf %q "$got")" "$(printf %q "$want")"
	fi
}

# matches GOT RE: grep -E's meaning (any line of GOT matches RE) for a
# one-line RE; an RE with a newline in it is matched against the whole of
# GOT ([[ =~ ]], ^ and $ at its ends), since grep would take each of its
# lines for a pattern of its own and an empty one matches anything.
matches() {
	case $2 in
	*$'\n'*) [[ $1 =~ $2 ]] ;;
	*) printf '%s' "$1" | grep -Eq -- "$2" ;;
	esac
}

like() {	# like GOT EXTENDED-REGEX NAME
	local got=$1 re=$2; shift 2
	if matches "$got" "$re"; then
		ok 0 "$*"
	else
		ok 1 "$*"
		printf '#   got:      %s\n#   expected to match: %s\n' "$(printf %q "$got")" "$(printf %q "$re")"
	fi
}

unlike() {
	local got=$1 re=$2; shift 2
	if matches "$got" "$re"; then
		ok 1 "$*"
		printf '#   got:      %s\n#   expected not to match: %s\n' "$(printf %q "$got")" "$(printf %q "$re")"
	else
		ok 0 "$*"
	fi
}

diag() { printf '# %s\n' "$*"; }

done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# wait_for SECONDS COMMAND...: polls every 50 ms until COMMAND succeeds.
wait_for() {
	local limit=$1 i=0; shift
	local tries=$((limit * 20))
	while [ $i -lt $tries ]; do
		if "$@"; then return 0; fi
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# The private /etc: passwd and group copies with the test users.
private_etc() {
	# The test users replace any the machine has (a real install may have
	# made petrel with another uid): tests rely on these exact ids.
	grep -vE '^(petrel|alice|bob):' /etc/passwd >"$T/passwd"
	grep -vE '^(petrel|petreldrop|alice|bob):' /etc/group >"$T/group"
	echo 'petrel:x:990:990:Petrel mail system:/nonexistent:/usr/sbin/nologin' >>"$T/passwd"
	echo 'petrel:x:990:' >>"$T/group"
	echo 'petreldrop:x:991:' >>"$T/group"
	mkdir -p "$T/home/alice" "$T/home/bob"
	echo "alice:x:2001:2001:Alice Liddell,,,:$T/home/alice:/bin/sh" >>"$T/passwd"
	echo "bob:x:2002:2002:&:$T/home/bob:/bin/sh" >>"$T/passwd"
	echo 'alice:x:2001:' >>"$T/group"
	echo 'bob:x:2002:' >>"$T/group"
	chown 2001:2001 "$T/home/alice"
	chown 2002:2002 "$T/home/bob"
	mount --bind "$T/passwd" /etc/passwd
	mount --bind "$T/group" /etc/group
}

# instance_setup [EXTRA MAIN.CF LINES...]
instance_setup() {
	T=$(mktemp -d /tmp/petrel-test.XXXXXX)
	chmod 0755 "$T"
	trap instance_teardown EXIT
	CONF=$T/etc
	QDIR=$T/queue
	MAILLOG=$T/maillog
	mkdir -p "$CONF"
	export PETREL_CONFIG_DIR=$CONF
	private_etc
	{
		echo "queue_directory = $QDIR"
		echo "data_directory = $T/data"
		echo "maillog_file = $MAILLOG"
		echo "myhostname = host.example.com"
		echo "mydomain = example.com"
		echo "myorigin = \$myhostname"
		echo "command_directory = $PETREL_BUILDDIR/sendmail"
		echo "daemon_directory = $PETREL_BUILDDIR/sendmail"
		echo "mail_spool_directory = $T/spool"
		echo "alias_maps = hash:$T/aliases"
		echo "alias_database = hash:$T/aliases"
		for l in "$@"; do echo "$l"; done
	} >"$CONF/main.cf"
	cp "$PETREL_SRCDIR/cf/master.cf" "$CONF/master.cf" 2>/dev/null || : >"$CONF/master.cf"
	touch "$MAILLOG"
	chmod 0644 "$MAILLOG"
	# Mailboxes and aliases stay inside the test: never the machine's /var/mail.
	mkdir -p "$T/spool"
	chmod 1777 "$T/spool"
}

# instance_setup_hold [LINES...]: an instance whose daemon queues but does
# not deliver (master_service_disable = qmgr), for tests that look at what
# was queued. sendmail -q still delivers by hand.
instance_setup_hold() {
	instance_setup "master_service_disable = qmgr" "$@"
}

instance_teardown() {
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		"$PETREL" stop >/dev/null 2>&1 || true
		[ -n "${OVERLAY_SBIN:-}" ] && umount /usr/sbin 2>/dev/null
		umount /etc/passwd /etc/group 2>/dev/null || true
		rm -rf "$T"
	fi
}

petrel_start() {
	"$PETREL" start
}

# queue_count SUBDIR: number of queue files (valid IDs) in a state directory.
queue_count() {
	find "$QDIR/$1" -maxdepth 1 -type f -regextype posix-extended \
		-regex '.*/[0-9A-F]{14}' 2>/dev/null | wc -l
}

# queue_files SUBDIR: their paths.
queue_files() {
	find "$QDIR/$1" -maxdepth 1 -type f -regextype posix-extended \
		-regex '.*/[0-9A-F]{14}' 2>/dev/null | sort
}

# queued_total: messages anywhere in the queue.
queued_total() {
	local n=0 d
	for d in maildrop incoming active deferred hold; do
		n=$((n + $(queue_count $d)))
	done
	echo $n
}

# msg_content FILE: the content part of a queue file (after the D line, before END).
msg_content() {
	$PY - "$1" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
lines = data.split(b'\n')
off = 0
length = None
for line in lines:
    off += len(line) + 1
    if line.startswith(b'L '):
        length = int(line[2:])
    if line == b'D':
        break
sys.stdout.buffer.write(data[off:off + length])
EOF
}

# run_as USER COMMAND...: runs a command as a test user (real uid and gid).
run_as() {
	local u=$1; shift
	local uid gid
	uid=$(id -u "$u")
	gid=$(id -g "$u")
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
}

# system_sendmail: inside this test's mount namespace, make
# /usr/sbin/sendmail (and /usr/lib/sendmail) the build's front end, through
# an overlay on /usr/sbin, for programs that hard-code the path (bsd-mailx).
system_sendmail() {
	mkdir -p "$T/ovl/up" "$T/ovl/work"
	mount -t overlay overlay -o "lowerdir=/usr/sbin,upperdir=$T/ovl/up,workdir=$T/ovl/work" /usr/sbin
	ln -sf "$SENDMAIL" /usr/sbin/sendmail
	OVERLAY_SBIN=1
}
