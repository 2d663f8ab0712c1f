#!/bin/sh
# series-tree.sh qemu|kernel OUTDIR [PATH...]: the tree's "upstream" tag with
# patches/<tree>/series applied, as plain files in OUTDIR (PATHs only, if
# given).  Packages are built from what the repository holds, not from
# whatever is checked out or in progress in <tree>/src.
set -eu
tree=$1 out=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
patches=$top/patches/$tree

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
git -C "$top/$tree/src" archive upstream "$@" | tar -xm -C "$out"
# With PATHs, hunks outside them are left out (git apply --include)
incl=
for p in "$@"; do incl="$incl --include=$p --include=$p/*"; done
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	# OUTDIR may lie inside a git work tree, whose top git apply would
	# take paths from: stop its search above OUTDIR.
	# shellcheck disable=SC2086
	GIT_CEILING_DIRECTORIES=$(dirname "$out") git -C "$out" apply $incl "$patches/$p" ||
		{ echo "series-tree($tree): $p does not apply" >&2; exit 1; }
done < "$patches/series"
