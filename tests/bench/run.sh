#!/bin/sh
# make bench: boot the test VM on each kernel, run tests/bench/bench.py in it
# against the three QEMUs, then write docs/bench/ (tests/bench/report.py).
#
#   BENCH_MODE=full|quick   full: the published run; quick: one size, one
#                           round, one kernel (a few minutes, for development)
#   BENCH_ROUNDS, BENCH_SIZES, BENCH_BACKINGS, BENCH_KERNELS and
#   BENCH_LINUX_ROUNDS (reboots of the Linux test guest) override the mode
#   BENCH_REPORT=docs/bench  where the report goes (quick: out/bench/report)
#   BENCH_RESULTS=out/bench  where each kernel's results go
#
# Results stay in $BENCH_RESULTS/<kernel>/ (bench.jsonl, traces/,
# console.log, seconds); the report is made from the kernels of this run.
set -eu
cd "$(dirname "$0")/../.."
mode=${BENCH_MODE:-full}
case $mode in
full)	rounds=3 linux_rounds=3 sizes=256M,1G,4G,8G kernels="debian-6.12 patched"
	report=docs/bench ;;
quick)	rounds=1 linux_rounds=0 sizes=256M kernels=debian-6.12 report=out/bench/report ;;
*)	echo "bench: BENCH_MODE is full or quick, not $mode" >&2; exit 2 ;;
esac
rounds=${BENCH_ROUNDS:-$rounds}
linux_rounds=${BENCH_LINUX_ROUNDS:-$linux_rounds}
sizes=${BENCH_SIZES:-$sizes}
kernels=${BENCH_KERNELS:-$kernels}
backings=${BENCH_BACKINGS:-thp,4k,hugetlbfs}
report=${BENCH_REPORT:-$report}
results_dir=${BENCH_RESULTS:-out/bench}
case $results_dir in /*) ;; *) results_dir=$PWD/$results_dir ;; esac
case $report in /*) ;; *) report=$PWD/$report ;; esac
debian=kernel/build-debian-6.12
# The source and the destination of the largest size, pinned (hugetlbfs
# reserves 2 MiB pages for both), and the VM's own
largest=$(echo "$sizes" | tr , '\n' | sed 's/G$/*1024/; s/M$//' | bc | sort -n | tail -1)
[ "$rounds" -gt 0 ] || largest=256     # the Linux guest's only
mem_mib=$((2 * largest + 3072))
mem=${mem_mib}M
# Under TCG every page of the test VM ends up in host memory, and the TCG
# code buffer and QEMU's own (about 1 GiB) come on top
avail=$(($(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo || echo 0) / 1024))
if [ $((mem_mib + 1024)) -gt "$avail" ]; then
	echo "bench: a $largest MiB guest needs a $mem_mib MiB test VM and about 1 GiB more;" \
		"this host has $avail MiB available: lower BENCH_SIZES" >&2
	exit 2
fi

# A rebuild during the run must not mix two versions: measure copies taken
# now, stripped (the VM copies them into its memory), beside a link to
# their build tree's firmware.
mkdir -p out/bench/bin
peer=$(cat qemu-peer/src/.peer-version)
pin=$(sed -n 's/^version=//p' tests/bench/PEER)
if [ "$peer" != "$pin" ]; then
	echo "################################################################" >&2
	echo "WARNING: the upstream peer is $peer, not the pinned $pin" >&2
	echo "################################################################" >&2
fi
base=$(sed -n 's/^version=//p' qemu/UPSTREAM)
qemus=
for q in "fork qemu" "qemu-$(echo "$peer" | sed 's/^[0-9]*://; s/+.*//') qemu-peer" \
		"qemu-$(echo "$base" | sed 's/^[0-9]*://; s/+.*//') qemu-upstream"; do
	# shellcheck disable=SC2086
	set -- $q
	mkdir -p "out/bench/bin/$1"
	strip -p -o "out/bench/bin/$1/qemu-system-x86_64" "$2/build/qemu-system-x86_64"
	ln -sfn "$PWD/$2/build/qemu-bundle" "out/bench/bin/$1/qemu-bundle"
	qemus="$qemus --qemu $1=$PWD/out/bench/bin/$1/qemu-system-x86_64"
done
git -C qemu/src log -1 --format='%h %s' > out/bench/fork-commit
# Likewise the benchmark's code and the test library it imports, which may
# change in the tree during an hour's run
code=$PWD/out/bench/code
rm -rf "$code"
mkdir -p "$code/tests"
cp tests/__init__.py "$code/tests/"
cp -r tests/lib tests/bench "$code/tests/"
cp -r tools "$code/"
# and the Linux test guest, where tests/lib/paths.py looks for it
if [ "$linux_rounds" -gt 0 ]; then
	mkdir -p "$code/kernel/build-guest" "$code/tests/guest-linux/build"
	cp kernel/build-guest/vmlinux "$code/kernel/build-guest/"
	cp tests/guest-linux/build/initramfs.cpio "$code/tests/guest-linux/build/"
fi

# vhost-vdpa (every kernel) and vdpa_sim each keep at most max_iotlb_entries
# (default 2048) physically contiguous runs per address space.  Guest RAM
# on 4 KiB pages in a VM whose memory earlier runs fragmented is more runs
# than that: the map fails with ENOSPC, which vhost reports as EFAULT, for
# every QEMU alike (docs/bench/README.md).  Enough for every page of the
# largest guest, at least 2^20.  Built in (patched): the kernel command
# line; modules (Debian's kernel): their lines in a copy of the initramfs.
iotlb_entries=$((largest * 256 > 1048576 ? largest * 256 : 1048576))
iotlb_params="vhost_vdpa.max_iotlb_entries=$iotlb_entries vdpa_sim.max_iotlb_entries=$iotlb_entries"
initrd=out/bench/initrd-debian-6.12.img
if echo "$kernels" | grep -q debian-6.12; then
	ird=$(mktemp -d /tmp/bench-initrd.XXXXXX)
	(cd "$ird" && gzip -dc "$OLDPWD/$debian/initrd.img" | cpio -id --quiet)
	sed -i -e "s/^vhost_vdpa\.ko.*/& max_iotlb_entries=$iotlb_entries/" \
		-e "s/^vdpa_sim\.ko.*/& max_iotlb_entries=$iotlb_entries/" "$ird/modules"
	if [ "$(grep -c "max_iotlb_entries=$iotlb_entries" "$ird/modules")" != 2 ]; then
		echo "bench: no vhost_vdpa or vdpa_sim line in $debian/initrd.img's modules" >&2
		exit 2
	fi
	(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd"
	rm -rf "$ird"
fi

start=$(date +%s)
status=0
results=
n=0
for k in $kernels; do
	n=$((n + 1))
	case $k in
	patched)	boot="--kernel kernel/build-bench/arch/x86/boot/bzImage" ;;
	unpatched)	boot="--kernel kernel/build-upstream/arch/x86/boot/bzImage" ;;
	debian-6.12)	boot="--kernel $debian/vmlinuz --qemu-arg=-initrd
				--qemu-arg=$initrd" ;;
	*)		echo "bench: unknown kernel $k" >&2; exit 2 ;;
	esac
	echo "=== bench ($mode): kernel $k ($n of $(echo "$kernels" | wc -w)), $rounds rounds of" \
		"$sizes x $backings, $linux_rounds of Linux guest reboots, VM $mem ($(date +%T))"
	out=$results_dir/$k
	mkdir -p "$out"
	rm -rf "$out/traces"
	t=$(date +%s)
	# shellcheck disable=SC2086
	# no_timer_check: a loaded host can fail the VM kernel's IO-APIC timer check
	tests/vm/run $boot --vdpa 2 --mem $mem --timeout 10800 --out "$out" \
		--append "no_timer_check $iotlb_params" -- \
		env -C "$code" PYTHONPATH="$code:$PWD/qemu/src/python" \
		/usr/bin/python3 -m tests.bench.bench --system "$k" $qemus \
		--sizes "$sizes" --backings "$backings" --rounds "$rounds" \
		--linux-rounds "$linux_rounds" || status=1
	echo $(($(date +%s) - t)) > "$out/seconds"
	[ ! -s "$out/bench.jsonl" ] || results="$results $out/bench.jsonl"
done
# shellcheck disable=SC2086
env -C "$code" /usr/bin/python3 -m tests.bench.report --mode "$mode" \
	--out "$report" --fork-commit "$(cat out/bench/fork-commit)" $results
echo "=== bench: done in $((($(date +%s) - start) / 60)) min; $report/bench.md"
exit $status
