#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end: the 'mq' phase of test_switch_qemu.sh (see there), reported on its own.
exec bash "$(dirname "$0")/test_switch_qemu.sh" mq
