#!/usr/bin/env bash
# One suite of `make test`: runs the command after SUMMARY and SUITE, then appends the suite's
# result and time to SUMMARY (both lanes append to the same file; a line is one short write).
#   scripts/timed-suite.sh SUMMARY SUITE COMMAND...
# The exit status is the command's.
set -uo pipefail

summary=$1
suite=$2
shift 2
printf '\n==> make %s\n' "$suite"
started=$SECONDS
"$@"
status=$?
result=passed
[ "$status" -eq 0 ] || result=FAILED
printf '  %-18s %-7s %5d s\n' "$suite" "$result" "$((SECONDS - started))" >> "$summary"
exit "$status"
