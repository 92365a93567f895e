#!/usr/bin/env bash
# One role's Molecule scenarios, one after the other, for `make molecule` (which runs
# MOLECULE_JOBS roles at a time):
#   scripts/molecule-scenario.sh ROLE SCENARIO [SCENARIO...]
# A role's scenarios run one after the other, which keeps one role's test hosts and Docker-in-Docker
# work from competing. Molecule's working folder is ~/.ansible/tmp/molecule.<hash of the role's
# folder name>.<scenario>, the same for every checkout: two checkouts must not run Molecule on one
# machine at the same time (a second run broke the first's docker/ce-mirror by pruning that folder).
# Each scenario's whole output goes to $MOLECULE_LOG_DIR/<role>-<scenario>.log; stdout gets one
# line with the result and the time, and on failure the log's last lines. Every scenario runs; the
# exit status is the last failing one's, 0 when all passed.
# Each scenario has a test host of its own (rp-<role>-<scenario>), so roles can run side by side.
set -uo pipefail

role=$1
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
molecule=${MOLECULE:-$root/.venv/bin/molecule}
log_dir=${MOLECULE_LOG_DIR:-$root/build/test-results/molecule}
mkdir -p "$log_dir"

result=0
for scenario in "$@"; do
  log="$log_dir/$role-$scenario.log"
  started=$SECONDS
  (cd "$root/roles/$role" && MOLECULE_HOST_NAME="rp-$role-$scenario" "$molecule" test -s "$scenario") >"$log" 2>&1
  status=$?
  elapsed=$((SECONDS - started))
  if [ "$status" -eq 0 ]; then
    printf '==> molecule %-24s passed in %4d s\n' "$role/$scenario" "$elapsed"
  else
    printf '==> molecule %-24s FAILED in %4d s (exit %d); the end of %s:\n' "$role/$scenario" "$elapsed" "$status" "$log"
    tail -n 60 "$log" | sed 's/^/    /'
    result=$status
  fi
done
exit "$result"
