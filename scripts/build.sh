#!/usr/bin/env bash
# build.sh - configures (once) and builds one build directory.
# Usage: scripts/build.sh DIR [gcc|clang] [extra meson options...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1; shift
compiler=${1:-gcc}; [ $# -gt 0 ] && shift
if [ ! -f "$dir/build.ninja" ]; then
	CC=$compiler meson setup "$dir" "$@" >"${dir}.setup.log" 2>&1 || { cat "${dir}.setup.log"; exit 1; }
fi
ninja -C "$dir" >"${dir}.ninja.log" 2>&1 || { tail -50 "${dir}.ninja.log"; exit 1; }
