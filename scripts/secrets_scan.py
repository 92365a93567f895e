"""Secret scan of the repository with detect-secrets, against the reviewed baseline.

    python scripts/secrets_scan.py --baseline .secrets.baseline FILE...   (make secrets-scan)

Every finding of a fresh scan must be in the baseline and audited there as a false positive
(``"is_secret": false``). A finding missing from the baseline, one not audited yet, or one
audited as a real secret fails the scan. Unlike ``detect-secrets-hook``, this never rewrites
the baseline, so CI runs are read-only. Findings are named by file, line and type only: the
matched text is never printed.

To accept a new false positive: ``detect-secrets scan --baseline .secrets.baseline $(git ls-files)``
updates the baseline (labels kept), then ``detect-secrets audit .secrets.baseline`` labels it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detect_secrets.core import baseline
from detect_secrets.core.secrets_collection import SecretsCollection


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the reviewed baseline")
    parser.add_argument("files", nargs="*", type=Path, help="files to scan (git ls-files)")
    return parser.parse_args(argv)


def problems(baseline_path: Path, files: list[Path]) -> tuple[list[str], int]:
    """One line per finding that is not an audited false positive, and the number of findings."""
    # Loading the baseline also applies its plugin and filter settings to the scan.
    known = baseline.load(baseline.load_from_file(str(baseline_path)), str(baseline_path))
    found = SecretsCollection()
    for path in files:
        if path.is_file():
            found.scan_file(str(path))
    lines = []
    count = 0
    for filename, secret in found:
        count += 1
        where = f"{filename}:{secret.line_number}: {secret.type}"
        audited = {(entry.secret_hash, entry.type): entry for entry in known[filename]}
        entry = audited.get((secret.secret_hash, secret.type))
        if entry is None:
            lines.append(f"{where}: new, not in {baseline_path}")
        elif entry.is_secret is None:
            lines.append(f"{where}: in {baseline_path} but not audited")
        elif entry.is_secret:
            lines.append(f"{where}: audited as a real secret: remove it and rotate it")
    return lines, count


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.baseline.is_file():
        print(f"secrets-scan: the baseline {args.baseline} is missing", file=sys.stderr)
        return 2
    lines, count = problems(args.baseline, args.files)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        print(
            f"secrets-scan: {len(lines)} finding(s) are not audited false positives of "
            f"{args.baseline}; see the top of scripts/secrets_scan.py",
            file=sys.stderr,
        )
        return 1
    print(
        f"secrets-scan: {len(args.files)} files, {count} finding(s), every one an audited false "
        f"positive in {args.baseline}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
