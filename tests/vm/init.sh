#!/bin/sh
# PID 1 of the test VM.  The root is the host's / over 9p, read-only; the
# host's output directory is mounted at $QVP_OUT.  Creates the vdpa_sim_net
# devices asked for on the kernel command line (qvp.vdpa=N), binds them to
# vhost_vdpa, runs $QVP_OUT/cmd.sh and records its exit status.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp QVP_OUT=/tmp/out
top=$(cd "$(dirname "$0")/../.." && pwd)

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
# Keep the host's tree reachable under /mnt: the scratch tmpfs below may
# hide the checkout (a clone in /tmp, say), which is then bound back.
mount --bind / /mnt
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t tmpfs vartmp /var/tmp
if [ ! -d "$top/tests/vm" ]; then
	mkdir -p "$top"
	mount --bind "/mnt$top" "$top"
fi
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p "$QVP_OUT"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "$QVP_OUT"
ip link set lo up

vdpa_devices=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in qvp.vdpa=*) vdpa_devices=${arg#qvp.vdpa=} ;; esac
done

# New vdpa devices wait for an explicit bind: virtio_vdpa (built in for
# the selftest) would take them first otherwise.
echo 0 > /sys/bus/vdpa/drivers_autoprobe
bind_vhost_vdpa() {
	echo vhost_vdpa > "/sys/bus/vdpa/devices/$1/driver_override" &&
	echo "$1" > /sys/bus/vdpa/drivers_probe &&
	[ -d "/sys/bus/vdpa/drivers/vhost_vdpa/$1" ]
}

i=0
while [ "$i" -lt "$vdpa_devices" ]; do
	if ! vdpa dev add name "vdpa$i" mgmtdev vdpasim_net \
			mac "52:54:00:12:34:$((56 + i))" ||
	   ! bind_vhost_vdpa "vdpa$i"; then
		# Tests must not skip for want of a device: fail the run
		echo "init: cannot create vdpa$i" > "$QVP_OUT/output.log"
		echo 126 > "$QVP_OUT/rc"
		echo b > /proc/sysrq-trigger
	fi
	i=$((i + 1))
done

# vhost-vdpa charges every pinned page to RLIMIT_MEMLOCK, root included;
# libvirt raises it for QEMU the same way.
ulimit -l unlimited

rc=0
sh "$QVP_OUT/cmd.sh" > "$QVP_OUT/output.log" 2>&1 || rc=$?
echo "$rc" > "$QVP_OUT/rc"
sync
# Leave through a reboot: QEMU runs with -no-reboot, so it exits.
echo b > /proc/sysrq-trigger
