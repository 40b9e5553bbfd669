#!/usr/bin/env bash
# run.sh - the newcomer's first command: installs missing Debian packages,
# builds, and runs ringswitchd in the foreground with its embedded default
# configuration (one bridge with L2 learning, vhost-user ports vm1 and vm2).
# Sockets and the control socket live in RUN_DIR (default /tmp/ringswitch);
# the config is RUN_DIR/ringswitch.conf, created on first start.
# In another terminal: build/ringctl --run-dir /tmp/ringswitch show
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
scripts/build.sh build gcc
run_dir=${RUN_DIR:-/tmp/ringswitch}
mkdir -p "$run_dir"
exec build/ringswitchd --foreground --run-dir "$run_dir" --config "$run_dir/ringswitch.conf" "$@"
