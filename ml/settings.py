"""Where things are: project paths, the tracking server and the registered model name."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ml.contract import MODEL_NAME


class MLSettings(BaseSettings):
    """Read from the environment (``RP_`` prefix, plus MLflow's own variable)."""

    model_config = SettingsConfigDict(env_prefix="RP_", extra="ignore")

    project_dir: Path = Field(default_factory=Path.cwd)
    params_file: Path = Path("params.yaml")
    model_name: str = MODEL_NAME
    experiment_name: str = MODEL_NAME
    tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "RP_TRACKING_URI")
    )
    # A server that does not answer within this time is reported as unreachable.
    tracking_timeout_seconds: float = Field(default=5.0, gt=0)

    def path(self, relative: str | Path) -> Path:
        """Resolve a project-relative path."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.project_dir / candidate

    @property
    def data_dir(self) -> Path:
        return self.path("data")

    @property
    def reports_dir(self) -> Path:
        return self.path("reports")

    @property
    def resolved_tracking_uri(self) -> str:
        """The configured server, or a sqlite store inside the project."""
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(self.project_dir / 'mlflow.db').resolve()}"

    @property
    def local_artifact_root(self) -> str:
        """Artifact root for the embedded sqlite store (a server proxies its own)."""
        return (self.project_dir / "mlruns").resolve().as_uri()
