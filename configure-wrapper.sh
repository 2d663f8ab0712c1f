#!/bin/sh
# Configure qemu/src into qemu/build with the fork's defaults.
# Extra arguments are passed to QEMU's configure after ours, so they win.
# QEMU_DIR=qemu-upstream configures qemu-upstream/src into qemu-upstream/build
# (same relative layout, so ccache hits across the two trees).
set -eu
top=$(cd "$(dirname "$0")" && pwd)
dir=$top/${QEMU_DIR:-qemu}
mkdir -p "$dir/build"
cd "$dir/build"


# Debian's ccache masquerade links: a plain compiler path, cached.
ccache=
if [ -x /usr/lib/ccache/gcc ]; then
	ccache="--cc=/usr/lib/ccache/gcc --cxx=/usr/lib/ccache/g++"
fi

# shellcheck disable=SC2086
exec "$dir/src/configure" \
	--python=/usr/bin/python3 \
	--target-list=x86_64-softmmu \
	--disable-docs \
	--disable-download \
	--disable-install-blobs \
	--disable-werror \
	--enable-kvm \
	--enable-slirp \
	--enable-vhost-vdpa \
	--enable-virtfs \
	--enable-trace-backends=log \
	$ccache \
	"$@"
