#!/bin/sh
# pkg/deb.sh - build leaderrun_VERSION_ARCH.deb with dpkg-deb, from a staged
# tree: the binary, the man page, the examples as documentation, the
# copyright file and the changelog.  Then lintian, if installed: an error
# fails the build, warnings are printed.
#
# usage: pkg/deb.sh VERSION BINARY	(make deb)
#
# BINARY must be statically linked (make static): the package then depends
# on nothing, and one .deb serves every Debian and Ubuntu release of its
# architecture.  The package is native (the packaging lives with the
# sources): VERSION carries no Debian revision, and the top entry of
# pkg/changelog must name it, as must the man page's title line.
# Environment: STRIP (default strip), SOURCE_DATE_EPOCH (default: the
# date of the changelog's top entry), the time stamp of every file.
set -eu
export LC_ALL=C
cd "$(dirname "$0")/.."

die() { echo "deb: $*" >&2; exit 1; }
[ $# = 2 ] || die "usage: pkg/deb.sh VERSION BINARY"
version=$1 bin=$2
[ -n "$version" ] || die "no version (the sources' VERSION define)"
[ -x "$bin" ] || die "$bin: not an executable (make static)"
# A dynamic binary would need a Depends: line (dpkg-shlibdeps) we do not make.
if LC_ALL=C readelf -lW "$bin" 2>/dev/null | grep -q 'Requesting program interpreter'; then
	die "$bin is dynamically linked; the package takes the static one (make static)"
fi
top=$(sed -n '1s/^leaderrun (\([^)]*\)).*/\1/p' pkg/changelog)
[ "$top" = "$version" ] ||
	die "pkg/changelog names $top, the sources $version: add an entry"
th=$(sed -n 's/^\.TH .*"leaderrun \([^"]*\)".*/\1/p' man/leaderrun.1)
[ "$th" = "$version" ] ||
	die "man/leaderrun.1 says version ${th:-none}, the sources $version"

arch=$(dpkg --print-architecture)
deb=leaderrun_${version}_$arch.deb
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' pkg/changelog |
	    head -n 1)" +%s)
fi
export SOURCE_DATE_EPOCH

W=$(mktemp -d "${TMPDIR:-/tmp}/leaderrun-deb.XXXXXX")
trap 'rm -rf "$W"' EXIT
R=$W/root
doc=$R/usr/share/doc/leaderrun
umask 022
mkdir -p "$R/DEBIAN" "$R/usr/bin" "$R/usr/share/man/man1" "$doc/examples" \
    "$R/usr/share/lintian/overrides"

# As dh_strip does: no debug sections, no .comment or .note.
cp "$bin" "$R/usr/bin/leaderrun"
"${STRIP:-strip}" --remove-section=.comment --remove-section=.note \
    --strip-unneeded "$R/usr/bin/leaderrun"
chmod 755 "$R/usr/bin/leaderrun"
gzip -9n < man/leaderrun.1 > "$R/usr/share/man/man1/leaderrun.1.gz"
cp pkg/copyright "$doc/copyright"
gzip -9n < pkg/changelog > "$doc/changelog.gz"
gzip -9n < README.md > "$doc/README.md.gz"
cp pkg/lintian-overrides "$R/usr/share/lintian/overrides/leaderrun"
# Documentation, not programs: no execute bits (as dh_fixperms).
cp examples/* "$doc/examples/"
find "$R/usr/share" -type f -exec chmod 644 {} +

# Built-Using: the static binary carries musl's libc.a.
built=$(dpkg-query -W -f='${source:Package} (= ${source:Version})' \
    musl-dev 2>/dev/null) || built=
size=$(du -k -s "$R/usr" | cut -f1)
{
	sed -n '/^Package:/p' pkg/control
	echo "Version: $version"
	echo "Architecture: $arch"
	sed -n '/^Package:/d; /^Description:/q; p' pkg/control
	echo "Installed-Size: $size"
	[ -z "$built" ] || echo "Built-Using: $built"
	sed -n '/^Description:/,$p' pkg/control
} > "$R/DEBIAN/control"
(cd "$R" && find usr -type f | sort | xargs md5sum) > "$R/DEBIAN/md5sums"
chmod 644 "$R/DEBIAN/control" "$R/DEBIAN/md5sums"
find "$R" -depth -newermt "@$SOURCE_DATE_EPOCH" \
    -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

dpkg-deb --root-owner-group -Zxz --build "$R" "$deb" >/dev/null
ls -l "$deb"
dpkg-deb --contents "$deb" | awk '{ print "    " $1, $3, $6 }'

if command -v lintian >/dev/null 2>&1; then
	echo "lintian $deb:"
	lintian --fail-on error --display-info --tag-display-limit 0 "$deb" ||
		die "lintian reports errors"
	echo "lintian: no errors"
else
	echo "deb: lintian not installed: not checked (apt-get install lintian)"
fi
