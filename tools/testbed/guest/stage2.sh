#!/bin/bash
# Stage 2: PID 1 in the guest after switch_root.  Root = the host's / (9p, read-only) under
# a tmpfs overlay, so host-installed programs and host build outputs run here and every
# write is discarded at power-off.  Sets up a minimal system, runs /testbed-job/script with
# its output appended to /testbed-job/output.log (the host streams that file), writes the
# exit status to /testbed-job/rc, powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
# TESTBED_* variables and the script's arguments, written by run-in-guest.sh
. /testbed-job/vm.env

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm /run/lock /run/samba
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# The guest kernel's modules live in the host's cache, never installed on the host:
# bind them where modprobe looks so that modprobe and request_module() work.
KVER=$(uname -r)
mkdir -p "/lib/modules/$KVER"
mount --bind "$TESTBED_MODDIR/$KVER" "/lib/modules/$KVER"
echo /sbin/modprobe >/proc/sys/kernel/modprobe
modprobe configfs && mount -t configfs configfs /sys/kernel/config 2>/dev/null

hostname testbed
ip link set lo up
printf '127.0.0.1 localhost\n127.0.1.1 testbed\n' >/etc/hosts
ulimit -l unlimited   # RDMA memory registration
ulimit -n 65536
# ksmbd-tools is extracted into the cache, not installed (it conflicts with samba)
[ -d "$TESTBED_KSMBD_TOOLS" ] && export PATH=$PATH:$TESTBED_KSMBD_TOOLS

cd /testbed-job || exit 1
export TESTBED_DIR TESTBED_CACHE TESTBED_JOB=/testbed-job
cut -d' ' -f1 /proc/uptime >/testbed-job/uptime.tmp && mv /testbed-job/uptime.tmp /testbed-job/uptime-at-start
if [ -n "$TESTBED_INTERACTIVE" ]; then
	echo "testbed: interactive shell; 'exit' powers the guest off" >/dev/ttyS0
	setsid -c bash -l </dev/ttyS0 >/dev/ttyS0 2>&1
	rc=$?
else
	if [ "$(head -c2 /testbed-job/script)" = '#!' ]; then
		/testbed-job/script "${TESTBED_ARGV[@]}" >>/testbed-job/output.log 2>&1 </dev/null
	else
		bash /testbed-job/script "${TESTBED_ARGV[@]}" >>/testbed-job/output.log 2>&1 </dev/null
	fi
	rc=$?
fi
echo "$rc" >/testbed-job/rc.tmp && mv /testbed-job/rc.tmp /testbed-job/rc
sync
echo o >/proc/sysrq-trigger   # immediate power-off: qemu exits (-no-reboot)
sleep 30
