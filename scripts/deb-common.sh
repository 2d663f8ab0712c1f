# deb-common.sh: sourced by deb-qemu.sh and deb-dkms.sh.  Builds one binary
# package with Debian's own tools, from packaging/<name>/{control,changelog,
# copyright} and a staged tree, without a full source package: dpkg-shlibdeps
# and dpkg-gencontrol write DEBIAN/control, dpkg-deb builds the .deb.
#   deb_begin NAME WORKDIR   set $pkg, $version, $stage (the package's root)
#   deb_docs                 copyright and changelog.Debian.gz into $stage
#   deb_finish OUTDIR        DEBIAN/control and md5sums, then the .deb
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

deb_begin() {
	work=$2
	rm -rf "$work"
	mkdir -p "$work/debian"
	for f in control changelog copyright; do
		cp "$top/packaging/$1/$f" "$work/debian/"
	done
	pkg=$(sed -n 's/^Package: //p' "$work/debian/control")
	version=$(cd "$work" && dpkg-parsechangelog -S Version)
	stage=$work/debian/$pkg
	mkdir -p "$stage/DEBIAN"
}

# The changelog's version must be the pinned Debian base plus our suffix.
deb_check_base() {   # BASE_VERSION
	case "$version" in
	"$1"+vdpa[0-9]*) ;;
	*) echo "deb: packaging changelog says $version, but the pinned base is $1:" \
		"add a changelog entry $1+vdpaN" >&2; exit 1 ;;
	esac
}

deb_docs() {
	doc=$stage/usr/share/doc/$pkg
	install -d "$doc"
	install -m 644 "$work/debian/copyright" "$doc/"
	gzip -9nc "$work/debian/changelog" > "$doc/changelog.Debian.gz"
}

deb_finish() {
	out=$1
	mkdir -p "$out"
	rm -f "$out/${pkg}"_*.deb
	(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
		sort -z | xargs -0r md5sum) > "$stage/DEBIAN/md5sums"
	[ -s "$stage/DEBIAN/md5sums" ] || rm "$stage/DEBIAN/md5sums"
	(cd "$work" && dpkg-gencontrol -p"$pkg" -P"debian/$pkg" \
		-T"debian/$pkg.substvars")
	chmod -R go-w "$stage"
	find "$stage" -type d -exec chmod 755 {} +
	dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/" >/dev/null
	echo "deb: $out/${pkg}_${version#*:}_$(dpkg-deb -f "$out/${pkg}_${version#*:}"_*.deb Architecture).deb"
}
