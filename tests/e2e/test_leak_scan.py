"""The leak scanner of the demo e2e (tests/e2e/leak_scan.py) finds what it must.

Without this, the demo's "no secret in any image layer" check could pass because the scanner
looked at nothing: here a value is planted in a layer tar (plain and gzip-compressed), across a
chunk boundary, and in an image config, and must be found; a clean archive must come out clean.
"""

from __future__ import annotations

import gzip
import io
import secrets
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.e2e.leak_scan import (
    names_found,
    names_in_text,
    needles,
    scan_image,
    scan_tar_stream,
    secret_values,
)


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def saved_image(layer: bytes, config: bytes = b'{"config": {"Env": []}}') -> io.BytesIO:
    """An archive shaped like `docker save`: a config, a manifest and one layer tar."""
    return io.BytesIO(
        tar_bytes(
            {
                "manifest.json": b'[{"Config": "config.json", "Layers": ["abc/layer.tar"]}]',
                "config.json": config,
                "abc/layer.tar": layer,
            }
        )
    )


@pytest.fixture
def planted() -> dict[str, str]:
    return {"postgres_password": secrets.token_urlsafe(24)}


def test_secret_files_are_read_without_ansible_suffixes(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(16)
    (tmp_path / "postgres_password").write_text(f"{value} salt=abcdefgh\n", encoding="utf-8")
    (tmp_path / "api_key").write_text(f"{value}x\n", encoding="utf-8")
    assert secret_values(tmp_path) == {"api_key": value + "x", "postgres_password": value}


def test_a_value_in_a_layer_file_is_found(planted: dict[str, str]) -> None:
    value = planted["postgres_password"]
    layer = tar_bytes({"opt/app/settings.env": f"DATABASE_PASSWORD={value}\n".encode()})
    hits = scan_tar_stream(saved_image(layer), needles(planted))
    assert hits == {"abc/layer.tar": {"postgres_password"}}


def test_a_value_in_a_compressed_layer_is_found(planted: dict[str, str]) -> None:
    value = planted["postgres_password"]
    layer = gzip.compress(tar_bytes({"etc/app.conf": f"password = {value}\n".encode()}))
    hits = scan_tar_stream(saved_image(layer), needles(planted))
    assert hits == {"abc/layer.tar": {"postgres_password"}}


def test_a_value_in_the_image_config_is_found(planted: dict[str, str]) -> None:
    value = planted["postgres_password"]
    config = f'{{"config": {{"Env": ["POSTGRES_PASSWORD={value}"]}}}}'.encode()
    hits = scan_tar_stream(saved_image(tar_bytes({"a": b"x"}), config), needles(planted))
    assert hits == {"config.json": {"postgres_password"}}


def test_a_url_encoded_value_is_found() -> None:
    value = "p@ss/" + secrets.token_hex(8)
    text = "postgresql+psycopg://rotten:p%40ss%2F" + value[5:] + "@postgres:5432/db"
    assert names_in_text(text, needles({"db": value})) == {"db"}


def test_a_value_split_across_chunks_is_found(planted: dict[str, str]) -> None:
    value = planted["postgres_password"].encode()
    middle = len(value) // 2
    parts = [b"x" * 100 + value[:middle], value[middle:] + b"y" * 100]
    assert names_found(parts, needles(planted)) == {"postgres_password"}


def test_a_clean_image_is_clean(planted: dict[str, str]) -> None:
    layer = tar_bytes({"opt/app/main.py": b"print('hello')\n" * 1000})
    assert scan_tar_stream(saved_image(layer), needles(planted)) == {}


def test_an_empty_stream_is_an_error(planted: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="nothing was scanned"):
        scan_tar_stream(io.BytesIO(tar_bytes({})), needles(planted))


@pytest.mark.integration
def test_a_value_in_a_real_docker_image_is_found(planted: dict[str, str]) -> None:
    """The same through `docker save` of an image made here with `docker import` (no pull)."""
    engine = shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True)
    if not engine or engine.returncode != 0:
        pytest.fail("no Docker engine: make docker-engine starts one")
    value = planted["postgres_password"]
    image = f"rp-leak-scan-test:{secrets.token_hex(4)}"
    rootfs = tar_bytes({"etc/app.conf": f"password = {value}\n".encode(), "bin/true": b"\x7fELF"})
    subprocess.run(["docker", "import", "-", image], input=rootfs, capture_output=True, check=True)
    try:
        hits = scan_image(image, needles(planted))
    finally:
        subprocess.run(["docker", "image", "rm", "-f", image], capture_output=True, check=False)
    assert hits, "the planted value was not found in any member of docker save's archive"
    assert set().union(*hits.values()) == {"postgres_password"}
