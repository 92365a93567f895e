"""Export a registered model for an image: ``python -m ml.export --alias A --out DIR``.

Resolves the alias to a version, copies that version's model files, and writes
``model_card.json`` with the lineage that ties the files to code, data and run. The folder is
assembled beside the target and swapped in whole, so a failed export leaves the old one intact.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml import lineage, tracking
from ml.contract import CARD_NAME, CHAMPION_ALIAS, MODEL_FILE
from ml.errors import PipelineError, run_cli
from ml.settings import MLSettings

log = logging.getLogger(__name__)

METRIC_KEYS = ("accuracy", "f1", "roc_auc", "fit_seconds")


def build_card(
    client: MlflowClient, version: ModelVersion, alias: str, model_dir: Path
) -> dict[str, Any]:
    """The model card: identity, lineage, hold-out metrics and the pickle's checksum."""
    run = client.get_run(version.run_id)
    tags = version.tags
    pickle_path = model_dir / MODEL_FILE
    if not pickle_path.is_file():
        raise PipelineError(
            f"version {version.version} has no {MODEL_FILE}; was it logged by ml.train?"
        )
    return {
        "name": version.name,
        "version": str(version.version),
        "alias": alias,
        "run_id": version.run_id,
        "git_sha": tags.get("git_sha", lineage.UNKNOWN),
        "git_dirty": tags.get("git_dirty", lineage.UNKNOWN),
        "data_md5": tags.get("data_md5", lineage.UNKNOWN),
        "data_version": tags.get("data_version", lineage.UNKNOWN),
        "train_rows": tags.get("train_rows", lineage.UNKNOWN),
        "metrics": {key: run.data.metrics[key] for key in METRIC_KEYS if key in run.data.metrics},
        "trained_at": datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC).isoformat(),
        "model_sha256": lineage.file_digest(pickle_path, "sha256"),
    }


def _swap_in(staged: Path, target: Path) -> None:
    """Replace target with staged; the old folder is removed only after the rename succeeded."""
    retired = target.with_name(f".{target.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def export(client: MlflowClient, name: str, alias: str, out: Path) -> dict[str, Any]:
    import mlflow.artifacts

    version = tracking.resolve_alias(client, name, alias)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        try:
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version.version}", dst_path=str(staging)
            )
        except MlflowException as error:
            raise PipelineError(
                f"cannot download {name} version {version.version}: {error.message}"
            ) from None
        card = build_card(client, version, alias, staging)
        (staging / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return card


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.export", description=__doc__.split("\n")[0])
    parser.add_argument("--alias", default=CHAMPION_ALIAS, help="registry alias to export")
    parser.add_argument("--out", type=Path, default=Path("build/model"), help="destination folder")
    args = parser.parse_args(argv)
    settings = MLSettings()
    client = tracking.connect(settings)
    out = settings.path(args.out)
    card = export(client, settings.model_name, args.alias, out)
    log.info(
        "exported %s version %s (@%s, run %s) to %s",
        card["name"],
        card["version"],
        args.alias,
        card["run_id"],
        args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("ml.export", main, None))
