#!/bin/sh
# fetch.sh DIR: downloads and unpacks Debian's lua5.1 source package into DIR/src,
# through a private apt configuration (a deb-src entry made from the system's own Debian
# entries), so the system's apt configuration is never touched.
set -eu
mkdir -p "$1"
dir=$(cd "$1" && pwd)
[ -f "$dir/src/src/lvm.c" ] && exit 0
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/apt/parts" "$dir/dl"
out="$dir/apt/parts/debian-src.sources"
: >"$out"
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	# deb822: every stanza's Types becomes deb-src.
	sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >>"$out"
fi
if [ -f /etc/apt/sources.list ]; then
	# one-line entries: each "deb" line becomes a deb-src stanza.
	grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list | while read -r _ rest; do
		set -- $rest
		case "$1" in \[*) shift ;; esac
		uri=$1; suite=$2; shift 2
		printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' "$uri" "$suite" "$*" >>"$out"
	done
fi
opts="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$dir/apt/parts -o Dir::State::Lists=$dir/apt/lists -o Dir::Cache=$dir/apt/cache"
apt-get $opts update >/dev/null
cd "$dir/dl"
apt-get $opts source --download-only lua5.1 >/dev/null
rm -rf "$dir/src"
mkdir -p "$dir/src"
tar -xzf lua5.1_*.orig.tar.gz -C "$dir/src" --strip-components=1
