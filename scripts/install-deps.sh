#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages ringswitch needs to build,
# test and run its end-to-end peers, skipping apt entirely when all are present.
# Usage: scripts/install-deps.sh [--build-only]
set -euo pipefail

build_pkgs=(meson ninja-build gcc clang libclang-rt-14-dev pkg-config libcmocka-dev libjansson-dev libmicrohttpd-dev)
# prometheus: promtool and a server for tests/e2e/test_switch_metrics.sh, which runs its own
# (the package's service, where systemd starts one, is not used).
peer_pkgs=(qemu-system-x86 busybox-static dpdk-dev iperf3 ethtool python3 cpio xz-utils zstd kmod iproute2 procps tshark prometheus curl)

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--build-only" ] || pkgs+=("${peer_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
