#!/bin/sh
# export-patches.sh qemu|kernel
# Export <tree>/src commits upstream..HEAD to patches/<tree>/ and regenerate
# the series file.  Leaves patches/ untouched when nothing changed.
set -eu
tree=$1
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/$tree/src
out=$top/patches/$tree
[ -d "$src/.git" ] || { echo "export-patches: no $src; run 'make prepare'" >&2; exit 1; }
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
	{ echo "export-patches: $src has uncommitted changes; commit them first" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$src" format-patch -q --zero-commit --no-signature -N -o "$tmp" upstream..HEAD
(cd "$tmp" && ls -1 | grep '\.patch$' || true) > "$tmp/series"

if diff -r -q "$tmp" "$out" >/dev/null 2>&1; then
	echo "export-patches($tree): no change"
else
	rm -f "$out"/*.patch
	cp "$tmp"/*.patch "$out"/ 2>/dev/null || true
	cp "$tmp/series" "$out/series"
	echo "export-patches($tree): $(wc -l < "$out/series") patches in patches/$tree"
fi
# The tree now matches patches/: prepare-tree.sh may re-apply over it.
git -C "$src" rev-parse HEAD > "$src/.git/exported-head"
sh "$top/scripts/prepare-tree.sh" --hash "$tree" > "$src/.git/applied-series"
