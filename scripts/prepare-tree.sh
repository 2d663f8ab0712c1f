#!/bin/sh
# prepare-tree.sh qemu|kernel
#
# Create <tree>/src from the pinned Debian source in <tree>/UPSTREAM as a git
# repository: one commit tagged "upstream", then patches/<tree>/series applied
# with git am.  Idempotent: an up-to-date tree is left alone; a tree whose
# series changed is re-applied, but only if it holds no unexported work.
set -eu

hash_only=
if [ "$1" = --hash ]; then hash_only=1; shift; fi
tree=$1
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/$tree/src
patches=$top/patches/$tree
dl=$top/downloads
mkdir -p "$dl"

pin() { sed -n "s/^$1=//p" "$top/$tree/UPSTREAM"; }
package=$(pin package)
version=$(pin version)
sha256=$(pin sha256)
series=$(pin series)

die() { echo "prepare-tree($tree): error: $*" >&2; exit 1; }
say() { echo "prepare-tree($tree): $*"; }

series_hash() {
	(cat "$patches/series"; while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		cat "$patches/$p"
	done < "$patches/series") | sha256sum | cut -d' ' -f1
}

if [ -n "$hash_only" ]; then
	series_hash
	exit 0
fi

apply_series() {
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		git -C "$src" am -q --keep-cr "$patches/$p" ||
			die "patch $p does not apply; fix it in $src (git am --show-current-patch)"
	done < "$patches/series"
	git -C "$src" rev-parse HEAD > "$src/.git/exported-head"
	series_hash > "$src/.git/applied-series"
}

# The newest version of the pinned series still in the archive.
newest_in_series() {
	if [ "$tree" = qemu ]; then
		apt-cache showsrc "$package" | sed -n 's/^Version: //p'
	else
		apt-cache madison "$package" | awk -F'|' '{gsub(/ /,"",$2); print $2}'
	fi | while read -r v; do
		case "${v#*:}" in "$series"*) echo "$v" ;; esac
	done | {
		best=
		while read -r v; do
			if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
				best=$v
			fi
		done
		echo "$best"
	}
}

fetch() {
	v=$1
	cd "$dl"
	if [ "$tree" = qemu ]; then
		apt-get source -q --download-only "$package=$v" >/dev/null 2>&1 || return 1
		ls "$dl/${package}_${v#*:}.dsc"
	else
		apt-get download -q "$package=$v" >/dev/null 2>&1 || return 1
		ls "$dl/${package}_${v#*:}_all.deb"
	fi
}

extract() {
	file=$1
	tmp=$top/$tree/src.tmp
	rm -rf "$tmp"
	if [ "$tree" = qemu ]; then
		dpkg-source -q -x "$file" "$tmp" >/dev/null
		# dpkg-source links the orig tarball beside the tree: not ours
		rm -f "$top/$tree"/*.orig.tar.*
	else
		mkdir -p "$tmp.deb"
		dpkg-deb -x "$file" "$tmp.deb"
		mkdir -p "$tmp"
		tar -C "$tmp" --strip-components=1 -xJf \
			"$tmp.deb/usr/src/linux-source-${series%.}.tar.xz"
		rm -rf "$tmp.deb"
	fi
	git -C "$tmp" init -q
	git -C "$tmp" config user.name "$(git -C "$top" config user.name || echo builder)"
	git -C "$tmp" config user.email "$(git -C "$top" config user.email || echo builder@localhost)"
	git -C "$tmp" config core.autocrlf false
	git -C "$tmp" config gc.auto 0
	git -C "$tmp" add -A -f .
	git -C "$tmp" commit -q -m "upstream: $package $2"
	git -C "$tmp" tag upstream
	mv "$tmp" "$src"
}

if [ -d "$src/.git" ]; then
	[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
		die "$src has uncommitted changes; commit them and run 'make patches'"
	[ "$(series_hash)" = "$(cat "$src/.git/applied-series" 2>/dev/null)" ] && {
		say "up to date"
		exit 0
	}
	head=$(git -C "$src" rev-parse HEAD)
	[ "$head" = "$(cat "$src/.git/exported-head" 2>/dev/null)" ] ||
		die "$src has commits not exported to patches/$tree; run 'make patches' first"
	say "series changed: re-applying on upstream"
	git -C "$src" reset -q --hard upstream
	apply_series
	exit 0
fi

file=$(fetch "$version") || file=
if [ -n "$file" ]; then
	echo "$sha256  $file" | sha256sum -c --quiet - ||
		die "sha256 mismatch for $file (pinned $sha256)"
	got=$version
else
	got=$(newest_in_series)
	[ -n "$got" ] || die "$package $version is not in the archive and no ${series}x is"
	cat >&2 <<-EOF
	################################################################
	WARNING: $package $version is no longer in Debian's archive.
	WARNING: falling back to $got, which is NOT checksum-pinned.
	WARNING: update $tree/UPSTREAM (version and sha256) to pin it.
	################################################################
	EOF
	file=$(fetch "$got") || die "cannot fetch $package $got"
fi
say "extracting $file"
extract "$file" "$got"
apply_series
say "ready: $src ($(git -C "$src" rev-list --count upstream..HEAD) patches on $package $got)"
