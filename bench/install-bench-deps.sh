#!/usr/bin/env bash
# install-bench-deps.sh - installs the Debian 12 packages that bench/run.sh needs
# beyond scripts/install-deps.sh: OVS-DPDK (openvswitch-switch-dpdk, OVS 3.1 with
# DPDK 22.11), dpdk-testpmd (dpdk-dev), gnuplot for the chart, jq for the JSON.
# Skips apt entirely when everything is present. Installing openvswitch-switch
# does not start anything here (no systemd); bench/run.sh runs its own private
# ovsdb-server and ovs-vswitchd-dpdk and leaves the system alternative alone.
# Usage: bench/install-bench-deps.sh
set -euo pipefail

pkgs=(openvswitch-switch-dpdk dpdk-dev gnuplot-nox jq procps util-linux coreutils)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-bench-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
