#!/bin/sh
# apt-source.sh PACKAGE VERSION DIR [SUITE]: unpacks the Debian source package PACKAGE at exactly
# VERSION into DIR/PACKAGE-VERSION (and writes DIR/PACKAGE-VERSION/.unpacked when done). The
# machine's apt configuration may list binary packages only, so this uses a private configuration
# under DIR/apt (DIR/apt-SUITE) whose deb-src entries are derived from the system's own (same URIs,
# suites, components and keys): no archive address is written anywhere in the repository. With
# SUITE (a Debian codename, e.g. trixie), the system's codename in those suites becomes SUITE
# (bookworm-security becomes trixie-security). The system's apt configuration is never changed;
# apt verifies what it fetches against the system's keys.
set -eu
pkg=$1
version=$2
dir=$(mkdir -p "$3" && cd "$3" && pwd)
suite=${4:-}
dest="$dir/$pkg-$version"
[ -f "$dest/.unpacked" ] && exit 0
apt="$dir/apt${suite:+-$suite}"
system_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -n "$suite" ] && [ -z "$system_suite" ]; then
    echo "apt-source.sh: /etc/os-release names no VERSION_CODENAME to replace with $suite" >&2
    exit 1
fi

# The system's suite names, or those of SUITE: "bookworm-updates" becomes "trixie-updates".
retarget() {
    if [ -n "$suite" ]; then sed "s/\b$system_suite\b/$suite/g"; else cat; fi
}
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"

# deb822 stanzas (*.sources): every "Types: deb" stanza becomes a "Types: deb-src" one.
derive_sources() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; ORS = "\n\n" }
             /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ { sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f"
    done | retarget > "$apt/sources.list.d/derived.sources"
    # one-line sources.list entries: "deb URI SUITE COMPONENTS" becomes "deb-src ...".
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        if [ -f "$f" ]; then sed -n 's/^[ \t]*deb[ \t]/deb-src /p' "$f"; fi
    done | retarget > "$apt/sources.list"
}

run_apt() {
    apt-get -q -o Dir::Etc::SourceList="$apt/sources.list" \
        -o Dir::Etc::SourceParts="$apt/sources.list.d" -o Dir::State::Lists="$apt/lists" \
        -o Dir::Cache="$apt/cache" -o APT::Get::AllowUnauthenticated=false "$@"
}

derive_sources
run_apt update > "$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; exit 1; }
tmp="$dir/.unpack-$pkg"
rm -rf "$tmp" && mkdir -p "$tmp"
(cd "$tmp" && run_apt source "$pkg=$version") > "$apt/source-$pkg.log" 2>&1 || {
    echo "apt-source.sh: cannot get source package $pkg $version; see $apt/source-$pkg.log" >&2
    tail -n 5 "$apt/source-$pkg.log" >&2
    exit 1
}
upstream=${version%-*}
upstream=${upstream#*:}
rm -rf "$dest"
mv "$tmp/$pkg-$upstream" "$dest"
rm -rf "$tmp"
touch "$dest/.unpacked"
