#!/bin/sh
# Install the Debian packages the fork needs to build and test. Idempotent.
# Adds deb-src lines (bookworm, bookworm-backports, trixie) and a binary line for
# bookworm-backports only: a trixie binary line would upgrade libc, python and systemd.
set -eu

list=/etc/apt/sources.list.d/qemu-vdpa-persist.list
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

sudo_cmd=
[ "$(id -u)" -eq 0 ] || sudo_cmd=sudo

# apt refuses one mirror listed with and without signed-by: follow the system's lists.
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opt=
if grep -qs "$keyring" /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
	$(ls /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v "$list"); then
	opt="[signed-by=$keyring] "
fi
want_list="deb $opt$mirror bookworm-backports main
deb-src $opt$mirror bookworm main
deb-src $opt$mirror bookworm-backports main
deb-src $opt$mirror trixie main"

# Packages: name, or name/suite to take it from a suite other than the default.
pkgs="build-essential git ccache ca-certificates wget xz-utils dpkg-dev devscripts
python3 python3-venv python3-tomli python3-ply python3-git ninja-build meson/bookworm-backports
pkg-config libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev zlib1g-dev
flex bison bc libelf-dev libssl-dev cpio kmod
iproute2 qemu-system-data seabios ipxe-qemu
python3-matplotlib
lintian dkms busybox-static"
# libvirt as users run it (tests/libvirt): the daemon and virsh, without
# libvirt-daemon-system, which would make systemd the init
pkgs="$pkgs libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients"
# Shared libraries of Debian's own qemu-system-x86, which tests/deb runs
# from a scratch root (the upgrade to our package and back)
pkgs="$pkgs libcapstone4 libpmem1 librdmacm1 libibverbs1 libvdeplug2 liburing2
libfuse3-3 libaio1"

updated=
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want_list" ]; then
	echo "install-deps: writing $list"
	printf '%s\n' "$want_list" | $sudo_cmd tee "$list" >/dev/null
	$sudo_cmd apt-get update -q
	updated=1
fi

missing=
for p in $pkgs; do
	name=${p%/*}
	if ! dpkg-query -W -f '${Status}' "$name" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
# meson must be >= 1.5 for QEMU 10.0; the bookworm one is 1.0.
if command -v meson >/dev/null 2>&1; then
	case "$(meson --version)" in
	0.*|1.[0-4].*) missing="$missing meson/bookworm-backports" ;;
	esac
fi

if [ -n "$missing" ]; then
	[ -n "$updated" ] || $sudo_cmd apt-get update -q
	echo "install-deps: installing$missing"
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q \
		--no-install-recommends $missing
fi
echo "install-deps: all packages present"
