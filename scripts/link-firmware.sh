#!/bin/sh
# link-firmware.sh DIR: Debian's stripped QEMU source has no firmware, so
# link what Debian ships (qemu-system-data, seabios, ipxe-qemu) into the
# build tree's data directory (qemu-bundle), where qemu-system-x86_64 looks
# without -L.
set -eu
dir=$1
mkdir -p "$dir"
for f in /usr/share/qemu/* /usr/share/seabios/* /usr/lib/ipxe/qemu/*; do
	[ -f "$f" ] || continue
	[ -e "$dir/$(basename "$f")" ] || ln -s "$f" "$dir/"
done
