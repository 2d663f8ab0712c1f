#!/bin/sh
# debian-kernel.sh OUTDIR [6.12 | 6.1 DKMS_DEB]: Debian's own kernel for the
# test VM, unpacked into OUTDIR/root from Debian's archive, not installed.
#
# 6.12 (bookworm-backports): the benchmark's "upstream Linux" (IOTLB_PERSIST
#   as upstream implements it).  Debian does not build vdpa_sim, so vdpa_sim
#   and vdpa_sim_net (and vringh, which only they need) are built out of tree
#   from linux-source-6.12 against its headers.
# 6.1 (bookworm, the stock kernel): built without vDPA at all; every vDPA
#   module comes from our DKMS package (make deb), built by dkms against the
#   unpacked headers: what a Debian 12 host gets with vdpa-persist-dkms.
#
# The extra modules go to the root's lib/modules/KVER/updates/, where an
# installed package puts them.  9p and vDPA are modules in Debian's kernel,
# so an initramfs (busybox-static) loads them, mounts the host's / over 9p as
# tests/vm/run asks, and switches to the init= of the kernel command line.
# Results: OUTDIR/vmlinuz and OUTDIR/initrd.img.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
series=${2:-6.12}
case "$series" in
6.12)
	ver=${DEBIAN_KERNEL_VERSION:-6.12.117-1~deb12u1}
	abi=${ver%%-*}+deb12                # 6.12.117+deb12
	kbuild_pkg=linux-kbuild-$abi
	load="9p 9pnet_virtio vhost_vdpa vdpa_sim_net" ;;
6.1)
	# bookworm(-security)'s newest: apt-cache policy linux-image-amd64
	ver=${DEBIAN_KERNEL_61_VERSION:-6.1.192-3}
	abi=${DEBIAN_KERNEL_61_ABI:-6.1.0-57}
	kbuild_pkg=linux-kbuild-6.1
	dkms_deb=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
	# virtio_vdpa + virtio_net and vduse: the selftest's release and
	# unsupported-parent cases
	# virtio_pci is a module in 6.1 (built in in 6.12)
	load="virtio_pci 9p 9pnet_virtio vhost_vdpa virtio_vdpa virtio_net vdpa_sim_net vduse" ;;
*)	echo "debian-kernel: unknown series $series" >&2; exit 2 ;;
esac
kver=$abi-amd64
dl=$top/downloads/debian-$series

mkdir -p "$dl"
fetch() {       # package [version]: the .deb in $dl, downloaded once
	ls "$dl/$1"_*.deb >/dev/null 2>&1 ||
		(cd "$dl" && apt-get download -q "$1${2:+=$2}" >&2) ||
		{ echo "debian-kernel: $1 $2 is not in the archive any more;" \
			"set DEBIAN_KERNEL_VERSION or DEBIAN_KERNEL_61_VERSION and _ABI" \
			"(apt-cache policy linux-image-amd64 linux-source-6.12)" >&2
		  exit 1; }
	ls "$dl/$1"_*.deb
}

rm -rf "$out/root" "$out/src" "$out/initramfs" "$out/dkms"
mkdir -p "$out/root" "$out/src"
for p in linux-image-$kver-unsigned linux-headers-$kver linux-headers-$abi-common \
		"$kbuild_pkg"; do
	dpkg-deb -x "$(fetch "$p" "$ver")" "$out/root"
done
dpkg-deb -x "$(fetch busybox-static)" "$out/root"

# The headers include their -common half by absolute path
hdr=$out/root/usr/src/linux-headers-$kver
sed -i "s#include /usr/src/#include $out/root/usr/src/#" "$hdr/Makefile"
updates=$out/root/lib/modules/$kver/updates
mkdir -p "$updates"

vdpa_sim_6_12() {
	echo "debian-kernel: vdpa_sim from linux-source-6.12 $ver"
	dpkg-deb --fsys-tarfile "$(fetch linux-source-6.12 "$ver")" |
		tar -xOf - ./usr/src/linux-source-6.12.tar.xz |
		tar -xJf - -C "$out/src" --strip-components=1 \
			linux-source-6.12/drivers/vdpa/vdpa_sim linux-source-6.12/drivers/vhost/vringh.c
	vdpa_sim=$out/src/drivers/vdpa/vdpa_sim
	vringh=$out/src/drivers/vhost
	echo 'obj-m := vringh.o' > "$vringh/Kbuild"
	# No BTF for these modules: that would need pahole
	kbuild="make -s -C $hdr CONFIG_DEBUG_INFO_BTF_MODULES="
	$kbuild M="$vringh" modules
	$kbuild M="$vdpa_sim" KBUILD_EXTRA_SYMBOLS="$vringh/Module.symvers" \
		CONFIG_VDPA_SIM=m CONFIG_VDPA_SIM_NET=m CONFIG_VDPA_SIM_BLOCK= modules
	cp "$vringh/vringh.ko" "$vdpa_sim/vdpa_sim.ko" "$vdpa_sim/vdpa_sim_net.ko" "$updates/"
}

# dkms itself, in a private tree, against the unpacked headers
dkms_6_1() {
	dpkg-deb -x "$dkms_deb" "$out/src"
	name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$out"/src/usr/src/*/dkms.conf)
	dver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$out"/src/usr/src/*/dkms.conf)
	echo "debian-kernel: dkms build $name $dver ($(basename "$dkms_deb"))"
	mkdir -p "$out/dkms"
	d="--dkmstree $out/dkms --sourcetree $out/src/usr/src"
	# shellcheck disable=SC2086
	dkms add $d -m "$name" -v "$dver" >/dev/null
	# shellcheck disable=SC2086
	dkms build $d -m "$name" -v "$dver" -k "$kver" --kernelsourcedir "$hdr" ||
		{ cat "$out/dkms/$name/$dver/build/make.log" >&2; exit 1; }
	mkdir -p "$updates/dkms"
	cp "$out/dkms/$name/$dver/$kver/x86_64/module/"*.ko* "$updates/dkms/"
}

case "$series" in
6.12) vdpa_sim_6_12 ;;
6.1) dkms_6_1 ;;
esac

# initramfs: busybox, the modules in load order (decompressed for insmod), /init
ird=$out/initramfs
mkdir -p "$ird/bin" "$ird/lib/modules" "$ird/proc" "$ird/dev" "$ird/newroot"
cp "$out/root/bin/busybox" "$ird/bin/"
depmod -b "$out/root" "$kver"        # the package leaves that to its postinst
: > "$ird/modules"
for m in $load; do
	modprobe -d "$out/root" -S "$kver" --show-depends "$m" | awk '{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	case "$ko" in
	*.xz) name=$(basename "$ko" .xz); xz -dc "$ko" > "$ird/lib/modules/$name" ;;
	*) name=$(basename "$ko"); cp "$ko" "$ird/lib/modules/" ;;
	esac
	echo "$name" >> "$ird/modules"
	# The test checks where each vDPA module came from
	echo "$name ${ko#"$out/root"}" >> "$ird/modules.origin"
done
grep -q '^9p.ko$' "$ird/modules" || { echo "debian-kernel: no 9p module" >&2; exit 1; }
cp "$ird/modules.origin" "$out/modules.origin"
# PA mode, as vdpa_sim on our 6.1: guest pages are pinned, the cost measured
[ "$series" = 6.1 ] || sed -i 's/^vdpa_sim.ko$/vdpa_sim.ko use_va=0/' "$ird/modules"
cat > "$ird/init" <<'EOI'
#!/bin/busybox sh
# Test VM on Debian's kernel: load modules, mount the host's / (9p), go on
# to the init= given on the kernel command line (tests/vm/init.sh).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
while read -r m args; do
	# shellcheck disable=SC2086
	insmod "/lib/modules/$m" $args || echo "initramfs: insmod $m failed"
done < /modules
init=/sbin/init
for arg in $(cat /proc/cmdline); do
	case "$arg" in init=*) init=${arg#init=} ;; esac
done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none,ro \
	hostroot /newroot || { echo "initramfs: cannot mount the 9p root"; sh; }
umount /proc /dev
exec switch_root /newroot "$init"
EOI
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
cp "$out/root/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "debian-kernel: $out/vmlinuz ($kver), $out/initrd.img ($(wc -l < "$ird/modules") modules)"
