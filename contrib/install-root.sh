#!/bin/sh
# install-root.sh - the part of `make install` that needs root: the petrel
# user and petreldrop group, the set-gid bit of sendmail, the queue and
# data directories with their owners and modes.
#
# Usage (from make install): install-root.sh SBINDIR QUEUEDIR DATADIR CONFDIR
# It does nothing under DESTDIR or when not run as root, and says so, so
# that staged installs and `make distcheck` work.
set -eu
sbindir=$1 queuedir=$2 datadir=$3 confdir=$4

if [ -n "${DESTDIR:-}" ] || [ "$(id -u)" != 0 ]; then
	echo "petrel: not creating the petrel user, petreldrop group, queue directories"
	echo "petrel: or the set-gid bit (DESTDIR is set or not root); run as root:"
	echo "petrel:   $0 $sbindir $queuedir $datadir $confdir"
	exit 0
fi

getent group petreldrop >/dev/null || groupadd --system petreldrop
getent passwd petrel >/dev/null || useradd --system --user-group --no-create-home \
	--home-dir "$queuedir" --shell /usr/sbin/nologin --comment "Petrel mail system" petrel

chgrp petreldrop "$sbindir/sendmail"
chmod 2755 "$sbindir/sendmail"

mkdir -p "$queuedir" "$datadir"
chown petrel:petrel "$datadir"
chmod 0700 "$datadir"
# petrel check creates the queue directories with their owners and modes.
"$sbindir/petrel" -c "$confdir" check
