#!/bin/sh
# make qemu-peer: the newest upstream QEMU in Debian's reach, as the strongest
# peer of `make bench` (tests/bench/PEER pins it), unpacked into qemu-peer/src
# with Debian's patches applied (dpkg-source), configured like ours.
#
# It comes from Debian unstable: only a deb-src line is added for sid (never a
# deb line, which would let apt upgrade libc, python, systemd).  When the pinned
# version has left the archive this says so loudly, takes the newest 10.x
# there, and records what it took in qemu-peer/src/.peer-version, which the
# benchmark report prints.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
pin() { sed -n "s/^$1=//p" "$top/tests/bench/PEER"; }
package=qemu
version=$(pin version)
sha256=$(pin sha256)
suite=$(pin suite)
dir=$top/qemu-peer
dl=$top/downloads/qemu-peer
list=/etc/apt/sources.list.d/qemu-vdpa-persist-peer.list
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

sudo_cmd=
[ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
say() { echo "qemu-peer: $*"; }
die() { echo "qemu-peer: error: $*" >&2; exit 1; }

if [ "$(cat "$dir/src/.peer-version" 2>/dev/null)" = "$version" ]; then
	say "qemu-peer/src holds $package $(cat "$dir/src/.peer-version")"
	exit 0
fi

want="deb-src [signed-by=$keyring] $mirror $suite main"
if [ "$(cat "$list" 2>/dev/null)" != "$want" ]; then
	say "writing $list (source packages of $suite only)"
	echo "$want" | $sudo_cmd tee "$list" >/dev/null
fi
$sudo_cmd apt-get update -q >/dev/null

mkdir -p "$dl"
cd "$dl"
got=$version
if ! apt-get source -q --download-only "$package=$version" >/dev/null 2>&1; then
	# the newest version whose files the archive still serves
	got=$(apt-cache showsrc "$package" | sed -n 's/^Version: //p' |
		sort -u | sort -r -V | while read -r v; do
			if apt-get source -q --download-only "$package=$v" >/dev/null 2>&1; then
				echo "$v"
				break
			fi
		done)
	[ -n "$got" ] || die "no $package source package in the archive"
	cat >&2 <<-END
	################################################################
	WARNING: $package $version has left Debian $suite.
	WARNING: the benchmark's upstream peer is now $got, NOT checksum-pinned.
	WARNING: update tests/bench/PEER (version and sha256) to pin it.
	################################################################
	END
fi
dsc=$dl/${package}_${got#*:}.dsc
if [ "$got" = "$version" ]; then
	echo "$sha256  $dsc" | sha256sum -c --quiet - ||
		die "sha256 mismatch for $dsc (pinned $sha256)"
fi
rm -rf "$dir/src.tmp" "$dir/src"
mkdir -p "$dir"
dpkg-source -q -x "$dsc" "$dir/src.tmp" >/dev/null
echo "$got" > "$dir/src.tmp/.peer-version"
mv "$dir/src.tmp" "$dir/src"
rm -f "$dir"/*.orig.tar.*
say "ready: qemu-peer/src is $package $got"
