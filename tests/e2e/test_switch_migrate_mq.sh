#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end: the 'mq' and 'pagesmq' phases of test_switch_migrate.sh (live
# migration with 2 queue pairs; see there), reported on their own.
exec bash "$(dirname "$0")/test_switch_migrate.sh" mq pagesmq
