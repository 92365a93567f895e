#!/usr/bin/env bash
# One Molecule scenario, for `make molecule` (which runs MOLECULE_JOBS of them at a time):
#   scripts/molecule-scenario.sh ROLE SCENARIO
# The scenario's whole output goes to $MOLECULE_LOG_DIR/<role>-<scenario>.log; stdout gets one line
# with the result and the time, and on failure the log's last lines. The exit status is molecule's.
# Each scenario has a test host of its own (rp-<role>-<scenario>), so scenarios can run side by side.
set -uo pipefail

role=$1
scenario=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
molecule=${MOLECULE:-$root/.venv/bin/molecule}
log_dir=${MOLECULE_LOG_DIR:-$root/build/test-results/molecule}
log="$log_dir/$role-$scenario.log"
mkdir -p "$log_dir"

started=$SECONDS
(cd "$root/roles/$role" && MOLECULE_HOST_NAME="rp-$role-$scenario" "$molecule" test -s "$scenario") >"$log" 2>&1
status=$?
elapsed=$((SECONDS - started))
if [ "$status" -eq 0 ]; then
  printf '==> molecule %-24s passed in %4d s\n' "$role/$scenario" "$elapsed"
else
  printf '==> molecule %-24s FAILED in %4d s (exit %d); the end of %s:\n' "$role/$scenario" "$elapsed" "$status" "$log"
  tail -n 60 "$log" | sed 's/^/    /'
fi
exit "$status"
