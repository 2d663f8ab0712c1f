#!/bin/sh
# make bench: boot the test VM on each kernel, run tests/bench/bench.py in it
# against each QEMU, then write docs/bench/ (tools/bench_report.py).
#
#   BENCH_RUNS=5  BENCH_SIZES=256M,1G,2G,4G
#   BENCH_KERNELS="patched unpatched debian-6.12"
#
# Results stay in out/bench/<kernel>/ (bench.jsonl, traces/, console.log,
# seconds); the report is made from the kernels of this run.
set -eu
cd "$(dirname "$0")/../.."
runs=${BENCH_RUNS:-5}
sizes=${BENCH_SIZES:-256M,1G,2G,4G}
kernels=${BENCH_KERNELS:-patched unpatched debian-6.12}
debian=kernel/build-debian-6.12
# 4 GiB source + 4 GiB destination, both pinned, and the VM's own
mem=12G

# A rebuild of qemu/build during the run must not mix two forks: measure a
# hard link taken now (in the build tree, so QEMU still finds its firmware).
fork=qemu/build/qemu-system-x86_64.bench
ln -f qemu/build/qemu-system-x86_64 $fork
mkdir -p out/bench
git -C qemu/src log -1 --format='%h %s' > out/bench/fork-commit
qemus="--qemu fork=$fork --qemu upstream=qemu-upstream/build/qemu-system-x86_64"

start=$(date +%s)
status=0
results=
for k in $kernels; do
	case $k in
	patched)	boot="--kernel kernel/build/arch/x86/boot/bzImage" ;;
	unpatched)	boot="--kernel kernel/build-upstream/arch/x86/boot/bzImage" ;;
	debian-6.12)	boot="--kernel $debian/vmlinuz --qemu-arg=-initrd
				--qemu-arg=$debian/initrd.img" ;;
	*)		echo "bench: unknown kernel $k" >&2; exit 2 ;;
	esac
	echo "=== bench: kernel $k, $runs runs of $sizes ($(date +%T))"
	mkdir -p "out/bench/$k"
	t=$(date +%s)
	# shellcheck disable=SC2086
	tests/vm/run $boot --vdpa 2 --mem $mem --timeout 7200 --out "out/bench/$k" -- \
		python3 tests/bench/bench.py --system "$k" $qemus \
		--sizes "$sizes" --runs "$runs" || status=1
	echo $(($(date +%s) - t)) > "out/bench/$k/seconds"
	[ ! -s "out/bench/$k/bench.jsonl" ] || results="$results out/bench/$k/bench.jsonl"
done
# shellcheck disable=SC2086
/usr/bin/python3 tools/bench_report.py --fork-commit "$(cat out/bench/fork-commit)" $results
echo "=== bench: done in $((($(date +%s) - start) / 60)) min; docs/bench/bench.md"
exit $status
