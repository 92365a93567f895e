"""The PostgreSQL and MLflow images: built offline by build-base-images.sh, then really run.

Images are built (or reused: their tags hash their recipe) under the default prefix, so a second
run takes seconds. Every container, volume and network made here has a unique name and is
removed at the end.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

import tests.images.test_images as app_image_tests
from tests.images.conftest import REPO_ROOT, docker, inspect_image
from tests.support.network import free_port

pytestmark = pytest.mark.integration

SCRIPT = REPO_ROOT / "scripts" / "build-base-images.sh"
PREFIX = "rp-svc-test"
POSTGRES_UID = 999
MLFLOW_UID = 10001


def _pin(name: str) -> str:
    text = (REPO_ROOT / "constraints.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)$", text, re.MULTILINE)
    assert match, f"constraints.txt does not pin {name}"
    return match.group(1)


MLFLOW_VERSION = _pin("mlflow")


@dataclass(frozen=True)
class ServiceImage:
    reference: str
    build_seconds: float
    build_log: str


def _build(kind: str, docker_engine: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), kind],
        cwd=REPO_ROOT,
        env={**env, "DOCKER": docker_engine},
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )


def _service_image(kind: str, docker_engine: str, env: dict[str, str]) -> ServiceImage:
    started = time.monotonic()
    result = _build(kind, docker_engine, env)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"build-base-images.sh {kind} failed:\n{result.stderr[-4000:]}"
    references = result.stdout.split()
    assert len(references) == 1, f"one reference expected on stdout: {result.stdout!r}"
    print(f"\n{kind}: {references[0]} in {seconds:.0f} s\n{result.stderr}")
    return ServiceImage(references[0], seconds, result.stderr)


@pytest.fixture(scope="session")
def postgres_image(docker_engine: str, subprocess_env: dict[str, str]) -> ServiceImage:
    return _service_image("postgres", docker_engine, subprocess_env)


@pytest.fixture(scope="session")
def mlflow_image(docker_engine: str, subprocess_env: dict[str, str]) -> ServiceImage:
    return _service_image("mlflow", docker_engine, subprocess_env)


def _unique(what: str) -> str:
    return f"{PREFIX}-{what}-{uuid.uuid4().hex[:8]}"


class Resources:
    """Containers, volumes and networks to remove, whatever the test's outcome."""

    def __init__(self) -> None:
        self.containers: list[str] = []
        self.volumes: list[str] = []
        self.networks: list[str] = []

    def volume(self) -> str:
        name = _unique("vol")
        docker("volume", "create", name)
        self.volumes.append(name)
        return name

    def network(self) -> str:
        name = _unique("net")
        docker("network", "create", name)
        self.networks.append(name)
        return name

    def run(self, image: str, *options: str, name: str | None = None) -> str:
        name = name or _unique("ctr")
        self.containers.append(name)
        docker("run", "-d", "--name", name, *options, image)
        return name

    def remove(self) -> None:
        for container in reversed(self.containers):
            docker("rm", "-f", "-v", container, check=False)
        for volume in self.volumes:
            docker("volume", "rm", "-f", volume, check=False)
        for network in self.networks:
            docker("network", "rm", network, check=False)


@pytest.fixture
def resources() -> Iterator[Resources]:
    made = Resources()
    try:
        yield made
    finally:
        made.remove()


def _logs(container: str) -> str:
    result = docker("logs", container, check=False)
    return result.stdout + result.stderr


def _wait_healthy(container: str, seconds: float) -> float:
    """Seconds until Docker reports the image's HEALTHCHECK healthy; fails on exit or timeout."""
    started = time.monotonic()
    state: dict = {}
    while time.monotonic() - started < seconds:
        state = json.loads(docker("inspect", "-f", "{{json .State}}", container).stdout)
        if state["Status"] not in {"created", "running"}:
            raise AssertionError(f"{container} is {state['Status']}:\n{_logs(container)[-3000:]}")
        if state.get("Health", {}).get("Status") == "healthy":
            return time.monotonic() - started
        time.sleep(0.5)
    health = state.get("Health")
    raise AssertionError(f"{container} not healthy in {seconds} s ({health}):\n{_logs(container)}")


def _wait_exit(container: str, seconds: float) -> int:
    result = docker("wait", container, timeout=seconds)
    return int(result.stdout.strip())


def _process_uid(container: str) -> int:
    """The real uid of the container's PID 1 (the server itself, after the entrypoint's exec)."""
    status = docker("exec", container, "cat", "/proc/1/status").stdout
    match = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.MULTILINE)
    assert match, status
    assert match.group(1) == match.group(2), status
    return int(match.group(1))


# --- build script -----------------------------------------------------------------------------


def test_build_reuses_an_existing_image(
    postgres_image: ServiceImage,
    mlflow_image: ServiceImage,
    docker_engine: str,
    subprocess_env: dict[str, str],
) -> None:
    assert re.fullmatch(r"[\w./-]+/postgres:15-[0-9a-f]{12}", postgres_image.reference)
    assert re.fullmatch(
        rf"[\w./-]+/mlflow:{re.escape(MLFLOW_VERSION)}-[0-9a-f]{{12}}", mlflow_image.reference
    )
    for kind, image in (("postgres", postgres_image), ("mlflow", mlflow_image)):
        started = time.monotonic()
        again = _build(kind, docker_engine, subprocess_env)
        assert again.returncode == 0, again.stderr
        assert again.stdout.split() == [image.reference]
        assert "building" not in again.stderr, again.stderr
        assert time.monotonic() - started < 30
        # The short alias compose.yaml defaults to follows the exact tag.
        alias = image.reference.rsplit("-", 1)[0]
        assert inspect_image(alias)["Id"] == inspect_image(image.reference)["Id"]


@pytest.mark.parametrize("kind", ["postgres", "mlflow"])
def test_no_ca_bundle_in_any_layer(
    kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    image: ServiceImage = request.getfixturevalue(f"{kind}_image")
    app_image_tests.test_no_ca_bundle_in_any_layer(image.reference, tmp_path_factory)


# --- PostgreSQL -------------------------------------------------------------------------------


def test_postgres_image_metadata(postgres_image: ServiceImage) -> None:
    info = inspect_image(postgres_image.reference)
    config = info["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "rotten-potatoes-postgres"
    assert labels["org.opencontainers.image.version"] == "15"
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert "5432/tcp" in config["ExposedPorts"]
    assert "/var/lib/postgresql/data" in config["Volumes"]
    assert "PGDATA=/var/lib/postgresql/data" in config["Env"]
    assert "pg_isready" in " ".join(config["Healthcheck"]["Test"])
    print(f"\npostgres image: {info['Size'] / 1e6:.1f} MB")


def _run_postgres(
    resources: Resources,
    image: str,
    volume: str,
    port: int,
    *env: str,
    mounts: tuple[str, ...] = (),
) -> str:
    options = ["-v", f"{volume}:/var/lib/postgresql/data", "-p", f"127.0.0.1:{port}:5432"]
    for mount in mounts:
        options += ["-v", mount]
    for item in env:
        options += ["-e", item]
    return resources.run(image, *options)


def _connect(port: int, user: str, password: str, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        user=user,
        password=password,
        dbname=dbname,
        connect_timeout=5,
        autocommit=True,
    )


def test_postgres_initialises_with_password_auth_and_runs_as_postgres(
    postgres_image: ServiceImage, resources: Resources
) -> None:
    port, password = free_port(), uuid.uuid4().hex
    container = _run_postgres(
        resources,
        postgres_image.reference,
        resources.volume(),
        port,
        "POSTGRES_USER=rotten",
        f"POSTGRES_PASSWORD={password}",
        "POSTGRES_DB=rotten_potatoes",
    )
    print(f"\npostgres healthy in {_wait_healthy(container, 60):.1f} s")

    with _connect(port, "rotten", password, "rotten_potatoes") as connection:
        row = connection.execute(
            "SELECT current_database(), current_user, current_setting('server_version_num'),"
            " current_setting('password_encryption')"
        ).fetchone()
    assert row is not None
    database, user, version, encryption = row
    assert (database, user, encryption) == ("rotten_potatoes", "rotten", "scram-sha-256")
    assert version.startswith("15")

    # Over TCP (from the host, i.e. not from inside the container) the password counts, and
    # there is no other role to log in as.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(port, "rotten", "not-" + password, "rotten_potatoes")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(port, "postgres", password, "rotten_potatoes")

    assert _process_uid(container) == POSTGRES_UID
    owner = docker("exec", container, "stat", "-c", "%u %a", "/var/lib/postgresql/data").stdout
    assert owner.split() == [str(POSTGRES_UID), "700"]
    assert docker("exec", container, "cat", "/proc/1/comm").stdout.strip() == "postgres"


def test_postgres_restart_keeps_the_data_and_does_not_initialise_again(
    postgres_image: ServiceImage, resources: Resources
) -> None:
    port, password, volume = free_port(), uuid.uuid4().hex, resources.volume()
    first = _run_postgres(
        resources,
        postgres_image.reference,
        volume,
        port,
        "POSTGRES_USER=rotten",
        f"POSTGRES_PASSWORD={password}",
        "POSTGRES_DB=rotten_potatoes",
    )
    _wait_healthy(first, 60)
    with _connect(port, "rotten", password, "rotten_potatoes") as connection:
        connection.execute("CREATE TABLE kept (review text)")
        connection.execute("INSERT INTO kept VALUES ('still here')")
    assert "initialising" in _logs(first)
    docker("stop", first)
    docker("rm", "-v", first)

    # A new container on the same volume, with a different password and none at all: the
    # cluster is started as it is (the variables only shape a new one), nothing is re-created.
    for env in (
        ("POSTGRES_USER=rotten", "POSTGRES_PASSWORD=ignored", "POSTGRES_DB=other"),
        ("POSTGRES_USER=rotten",),
    ):
        again = _run_postgres(resources, postgres_image.reference, volume, port, *env)
        _wait_healthy(again, 60)
        logs = _logs(again)
        assert "initialising" not in logs, logs
        assert "no initialisation" in logs, logs
        with _connect(port, "rotten", password, "rotten_potatoes") as connection:
            assert connection.execute("SELECT review FROM kept").fetchall() == [("still here",)]
            databases = connection.execute("SELECT datname FROM pg_database").fetchall()
        assert ("other",) not in databases
        docker("rm", "-f", "-v", again)


def test_postgres_password_file(postgres_image: ServiceImage, resources: Resources) -> None:
    port, password = free_port(), uuid.uuid4().hex
    with tempfile.TemporaryDirectory() as folder:
        secret = Path(folder) / "password"
        secret.write_text(password + "\n")
        secret.chmod(0o644)
        container = _run_postgres(
            resources,
            postgres_image.reference,
            resources.volume(),
            port,
            "POSTGRES_USER=app",
            "POSTGRES_PASSWORD_FILE=/run/secrets/db-password",
            mounts=(f"{secret}:/run/secrets/db-password:ro",),
        )
        _wait_healthy(container, 60)
    # POSTGRES_DB defaults to the user's name, as upstream; the trailing newline is not part of
    # the password.
    with _connect(port, "app", password, "app") as connection:
        assert connection.execute("SELECT current_database()").fetchone() == ("app",)


def test_postgres_refuses_an_empty_volume_without_password(
    postgres_image: ServiceImage, resources: Resources
) -> None:
    volume = resources.volume()
    container = _run_postgres(
        resources, postgres_image.reference, volume, free_port(), "POSTGRES_USER=rotten"
    )
    assert _wait_exit(container, 60) != 0
    logs = _logs(container)
    assert "no superuser password is set" in logs, logs
    assert "POSTGRES_PASSWORD" in logs, logs
    # Nothing was initialised: the next start with a password gets a fresh cluster.
    listing = docker(
        "run", "--rm", "--entrypoint", "ls", "-v", f"{volume}:/data",
        postgres_image.reference, "-A", "/data",
    )  # fmt: skip
    assert listing.stdout.strip() == ""


# --- MLflow -----------------------------------------------------------------------------------


def test_mlflow_image_metadata(mlflow_image: ServiceImage) -> None:
    info = inspect_image(mlflow_image.reference)
    config = info["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "rotten-potatoes-mlflow"
    assert labels["org.opencontainers.image.version"] == MLFLOW_VERSION
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert config["User"] == f"{MLFLOW_UID}:{MLFLOW_UID}"
    assert "5000/tcp" in config["ExposedPorts"]
    assert "/var/lib/mlflow" in config["Volumes"]
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    assert config["Cmd"][:2] == ["mlflow", "server"]
    print(f"\nmlflow image: {info['Size'] / 1e6:.1f} MB")


def _http(url: str, host: str | None = None, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass(frozen=True)
class MlflowServer:
    container: str
    port: int

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def mlflow_server(mlflow_image: ServiceImage) -> Iterator[MlflowServer]:
    """The image's default command: SQLite and artifacts in its volume, proxied artifacts."""
    made = Resources()
    try:
        port = free_port()
        container = made.run(
            mlflow_image.reference,
            "-v", f"{made.volume()}:/var/lib/mlflow",
            "-p", f"127.0.0.1:{port}:5000",
        )  # fmt: skip
        print(f"\nmlflow healthy in {_wait_healthy(container, 120):.1f} s")
        yield MlflowServer(container, port)
    finally:
        made.remove()


def test_mlflow_health_and_non_root(mlflow_server: MlflowServer) -> None:
    assert _http(f"{mlflow_server.uri}/health") == (200, b"OK")
    assert _process_uid(mlflow_server.container) == MLFLOW_UID
    owner = docker("exec", mlflow_server.container, "stat", "-c", "%u", "/var/lib/mlflow/mlflow.db")
    assert owner.stdout.strip() == str(MLFLOW_UID)


def test_mlflow_logs_a_run_with_a_proxied_artifact(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    experiment = client.create_experiment(f"{PREFIX}-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment)
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "f1", 0.87)
    artifact = tmp_path / "notes.txt"
    artifact.write_text("logged through the server\n")
    client.log_artifact(run_id, str(artifact))
    client.set_terminated(run_id)

    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    stored = client.get_run(run_id)
    assert stored.data.params == {"alpha": "0.5"}
    assert stored.data.metrics == {"f1": 0.87}
    assert stored.info.status == "FINISHED"
    assert [item.path for item in client.list_artifacts(run_id)] == ["notes.txt"]
    # The server wrote the file into its own volume (no shared folder with the client).
    on_disk = docker(
        "exec", mlflow_server.container, "cat",
        f"/var/lib/mlflow/artifacts/{experiment}/{run_id}/artifacts/notes.txt",
    )  # fmt: skip
    assert on_disk.stdout == "logged through the server\n"


def test_mlflow_answers_loopback_host_headers_only(mlflow_server: MlflowServer) -> None:
    api = f"{mlflow_server.uri}/api/2.0/mlflow/experiments/search?max_results=1"
    for host in (f"127.0.0.1:{mlflow_server.port}", f"localhost:{mlflow_server.port}"):
        status, body = _http(api, host=host)
        assert status == 200, (host, body[:200])
    status, _ = _http(api, host=f"rebinding.example:{mlflow_server.port}")
    assert status == 403


def test_mlflow_with_a_postgres_backend_store(
    mlflow_image: ServiceImage, postgres_image: ServiceImage, resources: Resources
) -> None:
    network, password = resources.network(), uuid.uuid4().hex
    database = resources.run(
        postgres_image.reference,
        "--network", network, "--network-alias", "postgres",
        "-v", f"{resources.volume()}:/var/lib/postgresql/data",
        "-e", "POSTGRES_USER=mlflow", "-e", f"POSTGRES_PASSWORD={password}",
        "-e", "POSTGRES_DB=mlflow",
    )  # fmt: skip
    _wait_healthy(database, 60)
    port = free_port()
    server = resources.run(
        mlflow_image.reference,
        "--network", network,
        "-v", f"{resources.volume()}:/var/lib/mlflow",
        "-p", f"127.0.0.1:{port}:5000",
        "-e", f"MLFLOW_BACKEND_STORE_URI=postgresql+psycopg://mlflow:{password}@postgres:5432/mlflow",
    )  # fmt: skip
    print(f"\nmlflow on PostgreSQL healthy in {_wait_healthy(server, 180):.1f} s")

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"http://127.0.0.1:{port}")
    experiment = client.create_experiment("stored-in-postgres")
    tables = docker(
        "exec", database, "psql", "-U", "mlflow", "-d", "mlflow", "-Atc",
        "SELECT name FROM experiments ORDER BY experiment_id",
    )  # fmt: skip
    assert "stored-in-postgres" in tables.stdout.split()
    assert client.get_experiment(experiment).name == "stored-in-postgres"
    assert "mlflow.db" not in docker("exec", server, "ls", "-A", "/var/lib/mlflow").stdout
