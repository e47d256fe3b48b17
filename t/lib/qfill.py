#!/usr/bin/python3
# qfill.py QDIR SUBDIR COUNT SENDER RCPT [UID]: writes COUNT queue files
# straight into QDIR/SUBDIR (incoming/ or maildrop/), in the format of
# doc/queue-format.md (version 1), the way queue_write() does: a dot-temp
# name, the ID from the clock's microseconds and the inode, a rename that
# never replaces, and one fsync of the directory at the end (the files
# themselves are not synced: this fills a test queue, it is no submitter).
# Each message has a header "X-Seq: N" (N from 1 to COUNT) so that a test
# can count every one at its destination. UID (default: the directory's
# owner) owns the files; mode 0600 (0444 in maildrop/). incoming/ files
# are complete (after cleanup); maildrop/ files carry the r flag (raw).
# Prints the number of files written.
import os, sys, time

qdir, subdir, count, sender, rcpt = sys.argv[1:6]
count = int(count)
d = os.path.join(qdir, subdir)
uid = int(sys.argv[6]) if len(sys.argv) > 6 else os.stat(d).st_uid
gid = os.stat(d).st_gid
raw = subdir == 'maildrop'
mode = 0o444 if raw else 0o600
now = time.time()
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
for n in range(1, count + 1):
    body = ('From: Exhaust <%s>\nTo: <%s>\nSubject: backlog %d\nX-Seq: %d\n'
            'Message-ID: <exhaust.%d@host.example.com>\nDate: Sat, 28 Nov 2026 12:00:00 +0000\n\n'
            'message %d of the backlog\n' % (sender, rcpt, n, n, n, n)).encode()
    head = 'PETREL-QUEUE 1\nT %.6f\n%sS %s\nU 0\nRT - - %s\nL %020d\nD\n' % (
        now, 'F r\n' if raw else '', sender, rcpt, len(body))
    data = head.encode() + body + b'END\n'
    tmp = '.qfill.%d.%d.tmp' % (os.getpid(), n)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dfd)
    os.write(fd, data)
    os.fchown(fd, uid, gid)
    os.fchmod(fd, mode)
    ino = os.fstat(fd).st_ino
    os.close(fd)
    while True:
        qid = '%05X%09X' % (int(time.time() * 1e6) % 1000000, ino & 0xFFFFFFFFF)
        try:
            os.link(tmp, qid, src_dir_fd=dfd, dst_dir_fd=dfd)
            break
        except FileExistsError:
            time.sleep(0.000001)
    os.unlink(tmp, dir_fd=dfd)
os.fsync(dfd)
os.close(dfd)
print(count)
