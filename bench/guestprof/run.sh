#!/bin/sh
# Profiles the guest's Go code natively (see doc.go). Run from anywhere in the repo.
# Usage: bench/guestprof/run.sh [benchmark regexp, default .] [benchtime, default 2s]
# Prints each benchmark and the top of its profile by cumulative time.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/bench/guestprof"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/overlay.json" <<JSON
{"Replace": {
  "$root/guest/sdk/transport_other.go": "$here/fakehost.go",
  "$root/guest/zz_guestprof_test.go": "$here/prof_test.go"
}}
JSON
cd "$root"
for b in $(go test -tags guestprof -overlay "$tmp/overlay.json" -list "${1:-.}" ./guest/ | grep '^Benchmark'); do
  go test -tags guestprof -overlay "$tmp/overlay.json" -run '^$' -bench "^$b\$" -benchtime "${2:-2s}" \
    -benchmem -cpuprofile "$tmp/$b.prof" -o "$tmp/guest.test" ./guest/ | grep '^Benchmark'
  go tool pprof -top -cum -nodecount 40 "$tmp/guest.test" "$tmp/$b.prof" 2>/dev/null | sed -n '6,47p'
  echo
done
