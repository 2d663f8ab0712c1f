#!/bin/sh
# One libvirt daemon of the libvirt suite, run by tests/libvirt/libvirt_env.py:
#
#   unshare --mount sh tests/libvirt/libvirtd.sh NAME PORT HOST_UUID CACHE LOG
#
# The test VM's / is the host's, read-only, and has no systemd: in a mount
# namespace of its own, each daemon gets empty tmpfs directories for what
# libvirt writes (its own runtime, state and log directories) and our config
# (tests/libvirt/*.conf).  Two of them on one machine can migrate to each
# other: libvirt refuses migration to the same host_uuid.  The QEMU
# capabilities cache (CACHE) is shared, so QEMU is probed once.  The daemon
# listens on 127.0.0.1:PORT (libvirtd.conf) and logs to LOG.
set -eu
name=$1 port=$2 uuid=$3 cache=$4 log=$5
here=$(cd "$(dirname "$0")" && pwd)

# /var/lib/libvirt and friends do not exist on the host (libvirt-daemon-system,
# which creates them, also makes systemd the init): tmpfs over their parents.
mkdir -p /run/libvirt
for d in /etc/libvirt /var/lib /var/log /var/cache /run/libvirt; do
	mount -t tmpfs "virt13-$name" "$d"
done
mkdir -p /var/cache/libvirt
mount --bind "$cache" /var/cache/libvirt

# Debian's libvirt resolves its default QEMU user, libvirt-qemu, before it
# reads qemu.conf ("Failed to parse user 'libvirt-qemu'" otherwise); that user
# also comes from libvirt-daemon-system's postinst.
mkdir /run/libvirt/etc
for f in passwd group; do
	cp "/etc/$f" "/run/libvirt/etc/$f"
done
echo 'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin' \
	>> /run/libvirt/etc/passwd
echo 'libvirt-qemu:x:64055:' >> /run/libvirt/etc/group
for f in passwd group; do
	mount --bind "/run/libvirt/etc/$f" "/etc/$f"
done

cp "$here/qemu.conf" /etc/libvirt/qemu.conf
{
	cat "$here/libvirtd.conf"
	echo "tcp_port = \"$port\""
	echo "host_uuid = \"$uuid\""
	echo "log_outputs = \"3:file:$log\""
} > /etc/libvirt/libvirtd.conf
exec libvirtd --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
