#!/bin/sh
# deb-qemu.sh BUILDDIR OUTDIR: qemu-system-x86_64 from BUILDDIR (configured
# for /usr by `make deb`) as packaging/qemu's binary package, in OUTDIR.
set -eu
# shellcheck source=scripts/deb-common.sh
. "$(dirname "$0")/deb-common.sh"
build=$(cd "$1" && pwd)
deb_begin qemu "$top/out/deb/work-qemu"
deb_check_base "$(sed -n 's/^version=//p' "$top/qemu/UPSTREAM")"

install -d "$stage/usr/bin" "$stage/usr/share/man/man1"
install -m 755 "$build/qemu-system-x86_64" "$stage/usr/bin/"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$stage/usr/bin/qemu-system-x86_64"
gzip -9nc "$top/packaging/qemu/qemu-system-x86_64.1" \
	> "$stage/usr/share/man/man1/qemu-system-x86_64.1.gz"
install -D -m 644 "$top/packaging/qemu/lintian-overrides" \
	"$stage/usr/share/lintian/overrides/$pkg"
deb_docs
(cd "$work" && dpkg-shlibdeps -T"debian/$pkg.substvars" "debian/$pkg/usr/bin/qemu-system-x86_64")
deb_finish "$2"
