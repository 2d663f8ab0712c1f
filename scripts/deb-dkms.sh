#!/bin/sh
# deb-dkms.sh OUTDIR: packaging/dkms's binary package, the vDPA modules'
# sources from kernel/UPSTREAM + patches/kernel (the files Kbuild names and
# the patched headers), in OUTDIR.
set -eu
# shellcheck source=scripts/deb-common.sh
. "$(dirname "$0")/deb-common.sh"
deb_begin dkms "$top/out/deb/work-dkms"
deb_check_base "$(sed -n 's/^version=//p' "$top/kernel/UPSTREAM")"
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$top/packaging/dkms/dkms.conf")
dver=${version#*:}
src=$stage/usr/src/$name-$dver

sh "$top/scripts/series-tree.sh" kernel "$src" drivers/vdpa drivers/vhost/vdpa.c \
	drivers/vhost/vhost.h drivers/vhost/vringh.c drivers/virtio/virtio_vdpa.c \
	include/linux/vdpa.h include/uapi/linux/vhost.h include/uapi/linux/vhost_types.h
# The in-tree Makefiles descend by CONFIG_; one Kbuild lists the modules
find "$src" \( -name Makefile -o -name Kconfig \) -delete
install -m 644 "$top/packaging/dkms/Kbuild" "$src/"
sed "s/@VERSION@/$dver/" "$top/packaging/dkms/dkms.conf" > "$src/dkms.conf"
for s in postinst prerm; do
	sed "s/@VERSION@/$dver/" "$top/packaging/dkms/$s" > "$stage/DEBIAN/$s"
	chmod 755 "$stage/DEBIAN/$s"
done
find "$src" -type f -exec chmod 644 {} +
deb_docs
deb_finish "$1"
