"""offline.yml names a mirror for every download source a role defines (URLs, image registries)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


SOURCE_SUFFIXES = ("_url", "_image_registry")


def _download_source_variables() -> set[str]:
    names: set[str] = set()
    for defaults in ROOT.glob("roles/*/defaults/main.yml"):
        data = yaml.safe_load(defaults.read_text(encoding="utf-8")) or {}
        # Empty defaults are optional endpoints (an S3 server), not downloads.
        names |= {name for name, value in data.items() if name.endswith(SOURCE_SUFFIXES) and value}
    return names


def test_every_download_url_has_an_offline_override() -> None:
    offline = yaml.safe_load((ROOT / "offline.yml").read_text(encoding="utf-8"))
    urls = _download_source_variables()
    assert urls, "no download source variables found in roles/*/defaults"
    missing = sorted(urls - set(offline))
    assert not missing, f"offline.yml has no mirror for {missing}"


def test_offline_overrides_name_real_variables() -> None:
    offline = yaml.safe_load((ROOT / "offline.yml").read_text(encoding="utf-8"))
    stray = sorted(set(offline) - _download_source_variables() - {"offline_mirror"})
    assert not stray, f"offline.yml sets variables no role defines: {stray}"
