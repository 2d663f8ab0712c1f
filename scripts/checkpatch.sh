#!/bin/sh
# checkpatch.sh qemu|kernel: run the tree's scripts/checkpatch.pl on every
# patch of patches/<tree>/series (kernel: --strict); print TAP.
set -u
tree=$1
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/$tree/src
opts=
# Our kernel tree is a tarball import without upstream history, so commit
# ids of upstream Linux cited in messages cannot be resolved in it.
[ "$tree" = kernel ] && opts="--strict --ignore UNKNOWN_COMMIT_ID"
[ "$tree" = qemu ] && opts="--no-tree"
# checkpatch's helpers (spdxcheck.py) need Debian's python3 and its modules.
export PATH=/usr/bin:$PATH

patches=$(grep -v -e '^#' -e '^$' "$top/patches/$tree/series")
echo "TAP version 13"
echo "1..$(echo "$patches" | grep -c .)"
n=0 failed=0
for p in $patches; do
	n=$((n + 1))
	if out=$(cd "$src" && perl scripts/checkpatch.pl $opts -q "$top/patches/$tree/$p" 2>&1); then
		echo "ok $n - $tree/$p"
	else
		echo "not ok $n - $tree/$p"
		echo "$out" | sed 's/^/# /'
		failed=1
	fi
done
exit $failed
