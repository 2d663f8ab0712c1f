#!/bin/sh
# debian-kernel.sh OUTDIR: Debian's own 6.12 kernel for the test VM, the
# benchmark's "upstream Linux" (IOTLB_PERSIST as upstream implements it).
#
# Image, headers and kbuild come from Debian's archive (bookworm-security),
# unpacked into OUTDIR/root, not installed.  Debian does not build vdpa_sim,
# so vdpa_sim and vdpa_sim_net (and vringh, which only they need) are built
# out of tree from linux-source-6.12 against those headers.  9p and vDPA are modules in Debian's kernel, so an
# initramfs (busybox-static) loads them, mounts the host's / over 9p as
# tests/vm/run asks, and switches to the init= of the kernel command line.
# Results: OUTDIR/vmlinuz and OUTDIR/initrd.img.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
dl=$top/downloads/debian-6.12
ver=${DEBIAN_KERNEL_VERSION:-6.12.117-1~deb12u1}
abi=${ver%%-*}+deb12                # 6.12.117+deb12
kver=$abi-amd64

mkdir -p "$dl"
fetch() {       # package [version]: the .deb in $dl, downloaded once
	ls "$dl/$1"_*.deb >/dev/null 2>&1 ||
		(cd "$dl" && apt-get download "$1${2:+=$2}") ||
		{ echo "debian-kernel: $1 $2 is not in the archive any more;" \
			"set DEBIAN_KERNEL_VERSION (apt-cache policy linux-source-6.12)" >&2
		  exit 1; }
	ls "$dl/$1"_*.deb
}

rm -rf "$out/root" "$out/src" "$out/initramfs"
mkdir -p "$out/root" "$out/src"
for p in linux-image-$kver-unsigned linux-headers-$kver linux-headers-$abi-common \
		linux-kbuild-$abi; do
	dpkg-deb -x "$(fetch "$p" "$ver")" "$out/root"
done
dpkg-deb -x "$(fetch busybox-static)" "$out/root"

# The headers include their -common half by absolute path
hdr=$out/root/usr/src/linux-headers-$kver
sed -i "s#include /usr/src/#include $out/root/usr/src/#" "$hdr/Makefile"

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

# initramfs: busybox, the modules in load order (decompressed for insmod), /init
ird=$out/initramfs
mkdir -p "$ird/bin" "$ird/lib/modules" "$ird/proc" "$ird/dev" "$ird/newroot"
cp "$out/root/bin/busybox" "$ird/bin/"
depmod -b "$out/root" "$kver"        # the package leaves that to its postinst
: > "$ird/modules"
for m in 9p 9pnet_virtio vhost_vdpa; do
	modprobe -d "$out/root" -S "$kver" --show-depends "$m" | awk '{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	name=$(basename "$ko" .xz)
	xz -dc "$ko" > "$ird/lib/modules/$name"
	echo "$name" >> "$ird/modules"
done
grep -q '^9p.ko$' "$ird/modules" || { echo "debian-kernel: no 9p module" >&2; exit 1; }
for ko in "$vringh/vringh.ko" "$vdpa_sim/vdpa_sim.ko" "$vdpa_sim/vdpa_sim_net.ko"; do
	cp "$ko" "$ird/lib/modules/"
	basename "$ko" >> "$ird/modules"
done
# PA mode, as vdpa_sim on our 6.1: guest pages are pinned, the cost measured
sed -i 's/^vdpa_sim.ko$/vdpa_sim.ko use_va=0/' "$ird/modules"
cat > "$ird/init" <<'EOF'
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
EOF
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
cp "$out/root/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "debian-kernel: $out/vmlinuz ($kver), $out/initrd.img ($(wc -l < "$ird/modules") modules)"
