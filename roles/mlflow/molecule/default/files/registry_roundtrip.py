"""Molecule verify helper: write to, or read back from, the MLflow server's model registry.

Usage: registry_roundtrip.py write|read TRACKING_URI [STATE_JSON]
`write` creates an experiment and a run, logs a small artifact, registers a model version whose
source is the run's artifact URI, and prints a JSON state. `read` takes that state and checks the
version, its run and the artifact came back unchanged (for example after a service restart).
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

MODEL_NAME = "molecule-roundtrip"
ARTIFACT_TEXT = "rotten potatoes molecule artifact\n"


def write(client: MlflowClient) -> dict:
    experiment_name = f"molecule-verify-{int(time.time() * 1000)}"
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_param(run_id, "purpose", "molecule")
    client.log_metric(run_id, "accuracy", 0.5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "note.txt"
        path.write_text(ARTIFACT_TEXT)
        client.log_artifact(run_id, str(path), artifact_path="model")
    client.set_terminated(run_id)
    artifact_uri = client.get_run(run_id).info.artifact_uri
    try:
        client.get_registered_model(MODEL_NAME)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(MODEL_NAME, f"{artifact_uri}/model", run_id=run_id)
    return {
        "experiment_id": experiment_id,
        "run_id": run_id,
        "artifact_uri": artifact_uri,
        "model": MODEL_NAME,
        "version": version.version,
        "source": version.source,
    }


def read(client: MlflowClient, state: dict) -> dict:
    version = client.get_model_version(state["model"], state["version"])
    run = client.get_run(state["run_id"])
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(state["run_id"], "model/note.txt", tmp)
        text = Path(local).read_text()
    result = {
        "version": version.version,
        "run_id": version.run_id,
        "source": version.source,
        "run_status": run.info.status,
        "artifact_uri": run.info.artifact_uri,
        "artifact_ok": text == ARTIFACT_TEXT,
    }
    if (
        version.run_id != state["run_id"]
        or version.source != state["source"]
        or not result["artifact_ok"]
    ):
        print(json.dumps(result))
        sys.exit("registered version does not match what was written")
    return result


def main() -> None:
    mode, uri = sys.argv[1], sys.argv[2]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if mode == "write":
        print(json.dumps(write(client)))
    elif mode == "read":
        print(json.dumps(read(client, json.loads(sys.argv[3]))))
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
