#!/usr/bin/env bash
# run.sh - the newcomer's first command: installs missing Debian packages,
# builds, and runs ringswitch's main job in the foreground. Until the switch
# daemon lands, that is the vhost-user loopback: two ports wired together,
# sockets in RUN_DIR (default /tmp/ringswitch), ready for two QEMU guests or
# dpdk-testpmd. Extra arguments go to the program.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build gcc
run_dir=${RUN_DIR:-/tmp/ringswitch}
mkdir -p "$run_dir"
cat <<MSG
ringswitch-loopback: vhost-user sockets $run_dir/port0.sock and $run_dir/port1.sock (wired together).
Attach a QEMU guest to port N with:
  -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem
  -chardev socket,id=c0,path=$run_dir/portN.sock,reconnect=1
  -netdev vhost-user,id=n0,chardev=c0 -device virtio-net-pci,netdev=n0
or dpdk-testpmd with:
  dpdk-testpmd --no-huge -m 512 --no-pci --vdev net_virtio_user0,path=$run_dir/portN.sock -- -i
Ctrl-C stops it; kill -USR1 <pid> prints per-queue statistics.
MSG
exec build/tools/ringswitch-loopback --run-dir "$run_dir" "$@"
