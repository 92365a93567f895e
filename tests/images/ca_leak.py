"""Which certificates of the host's CA bundle are private (a proxy's or a site's own CA).

The image builds mount the host bundle as a BuildKit secret so that pip can get through a
TLS-intercepting proxy. What must never reach a layer is the part of that bundle that is not
public: the proxy's CA. Public roots are allowed anywhere (certifi ships them in every venv).

A certificate is public when a file that a public package installed, and that is still byte for
byte what the package shipped, holds it:

- the distribution's own copies of the public roots, ``/usr/share/ca-certificates/**.crt``
  (``update-ca-certificates`` builds the host bundle from these plus the administrator's
  ``/usr/local/share/ca-certificates``), checked against dpkg's md5sums;
- certifi's ``cacert.pem`` (Mozilla's list) in the host's Python installations, including pip's
  vendored copy, checked against the wheel's RECORD or dpkg's md5sums.

The integrity check matters: machines behind a proxy often append its CA to certifi's file, and
Debian points its certifi at the system bundle. Whatever the host bundle holds beyond the
public set is private. The host's package versions do not matter: a newer ``ca-certificates``
brings its new roots in its own files. Bundles inside the image are never taken as public, since
a leaked CA would sit in exactly those.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import sys
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DISTRIBUTION_CA_DIR = Path("/usr/share/ca-certificates")
DPKG_INFO_DIR = Path("/var/lib/dpkg/info")
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.DOTALL)
# Where certifi's bundle sits below a site-packages folder.
_CERTIFI_FILES = ("certifi/cacert.pem", "pip/_vendor/certifi/cacert.pem")


@functools.cache
def _dpkg_md5sums(info_dir: Path) -> dict[str, str]:
    """Every file dpkg installed (absolute path) and the md5 it had in its package."""
    sums: dict[str, str] = {}
    for listing in sorted(info_dir.glob("*.md5sums")) if info_dir.is_dir() else []:
        for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
            digest, _, name = line.partition("  ")
            if name:
                sums["/" + name.strip()] = digest.strip()
    return sums


def _record_sha256(site_packages: Path, relative: str) -> str | None:
    """The sha256 (urlsafe base64, as in a wheel's RECORD) installed for ``relative``."""
    for record in site_packages.glob("*.dist-info/RECORD"):
        for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, rest = line.partition(",")
            if name == relative and rest.startswith("sha256="):
                return rest.split(",", 1)[0].removeprefix("sha256=")
    return None


def as_shipped(
    path: Path,
    *,
    site_packages: Path | None = None,
    relative: str = "",
    dpkg_info: Path = DPKG_INFO_DIR,
) -> bool:
    """Whether ``path`` is unchanged since its package (deb or wheel) installed it."""
    content = path.read_bytes()
    packaged = _dpkg_md5sums(dpkg_info).get(str(path))
    if packaged is not None:
        return hashlib.md5(content, usedforsecurity=False).hexdigest() == packaged
    if site_packages is not None:
        recorded = _record_sha256(site_packages, relative)
        if recorded is not None:
            actual = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            return actual.decode() == recorded
    return False


def certificates(pem: bytes) -> list[bytes]:
    """The DER bytes of every certificate in a PEM bundle, in order."""
    found = []
    for body in _PEM.findall(pem):
        try:
            found.append(base64.b64decode(re.sub(rb"\s", b"", body), validate=True))
        except ValueError:
            continue
    return found


def host_public_sources(
    host_bundle: Path = HOST_BUNDLE,
    distribution_dir: Path = DISTRIBUTION_CA_DIR,
    python_paths: Iterable[str] | None = None,
    dpkg_info: Path = DPKG_INFO_DIR,
) -> list[Path]:
    """Files of public roots on this host, each still as its package shipped it."""
    sources = [
        crt
        for crt in (sorted(distribution_dir.rglob("*.crt")) if distribution_dir.is_dir() else [])
        if crt.is_file() and as_shipped(crt, dpkg_info=dpkg_info)
    ]
    if python_paths is None:
        python_paths = [*sys.path, "/usr/lib/python3/dist-packages"]
    bundle_real = host_bundle.resolve() if host_bundle.exists() else None
    seen: set[Path] = set()
    for entry in python_paths:
        site_packages = Path(entry or ".")
        for relative in _CERTIFI_FILES:
            candidate = site_packages / relative
            if not candidate.is_file() or candidate.resolve() in seen:
                continue
            seen.add(candidate.resolve())
            if candidate.resolve() == bundle_real:
                continue  # Debian's certifi may answer with the system bundle itself
            if as_shipped(
                candidate, site_packages=site_packages, relative=relative, dpkg_info=dpkg_info
            ):
                sources.append(candidate)
    return sources


@dataclass(frozen=True)
class PrivateCertificates:
    """The host bundle's certificates that no public source ships, and how that was decided."""

    der: tuple[bytes, ...]
    public_sources: tuple[Path, ...]
    public_count: int

    @property
    def identified(self) -> bool:
        return bool(self.der)

    def needles(self) -> list[bytes]:
        """Byte strings whose presence in a file means one of these certificates is in it.

        Each certificate's DER, and a 64-character line from the middle of its PEM form: the
        public-key and signature bytes there belong to that certificate alone.
        """
        found = []
        for der in self.der:
            found.append(der)
            encoded = base64.b64encode(der)
            lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
            full = [line for line in lines if len(line) == 64]
            if len(full) > 2:
                found.append(full[len(full) // 2])
        return found

    def summary(self) -> str:
        if not self.public_sources:
            return "no public CA source on this host: cannot tell a private CA from a public root"
        if not self.der:
            return (
                f"the host bundle holds no private CA certificate (every one is among the "
                f"{self.public_count} public roots of {len(self.public_sources)} files)"
            )
        return (
            f"{len(self.der)} private CA certificate(s) in the host bundle, beyond the "
            f"{self.public_count} public roots of {len(self.public_sources)} files"
        )


def private_certificates(
    host_bundle: bytes, public_bundles: Iterable[bytes]
) -> PrivateCertificates:
    """Certificates of ``host_bundle`` found in none of ``public_bundles``."""
    bundles = list(public_bundles)
    public: set[bytes] = set()
    for bundle in bundles:
        public.update(certificates(bundle))
    private: list[bytes] = []
    if bundles:
        for der in certificates(host_bundle):
            if der not in public and der not in private:
                private.append(der)
    return PrivateCertificates(tuple(private), (), len(public))


def host_private_certificates(
    host_bundle: Path = HOST_BUNDLE,
    distribution_dir: Path = DISTRIBUTION_CA_DIR,
    python_paths: Iterable[str] | None = None,
    dpkg_info: Path = DPKG_INFO_DIR,
) -> PrivateCertificates:
    """``private_certificates`` for this host's bundle against this host's public sources."""
    sources = host_public_sources(host_bundle, distribution_dir, python_paths, dpkg_info)
    result = private_certificates(host_bundle.read_bytes(), (p.read_bytes() for p in sources))
    return PrivateCertificates(result.der, tuple(sources), result.public_count)


def carries(content: bytes, needles: Iterable[bytes]) -> bool:
    return any(needle in content for needle in needles)


def layer_leaks(layer: tarfile.TarFile, needles: Iterable[bytes], host_bundle: bytes) -> list[str]:
    """What in one image layer leaks the build's CA secret: a secret mount, the host bundle
    itself, or a file that carries a private certificate."""
    needles = list(needles)
    host_size, host_sha = len(host_bundle), hashlib.sha256(host_bundle).hexdigest()
    leaks = []
    for member in layer:
        name = member.name.lstrip("./")
        if name.startswith("run/secrets/"):
            leaks.append(f"{name}: a secret mount")
        if not member.isfile():
            continue
        handle = layer.extractfile(member)
        content = handle.read() if handle is not None else b""
        if member.size == host_size and hashlib.sha256(content).hexdigest() == host_sha:
            leaks.append(f"{name}: the host CA bundle")
        elif carries(content, needles):
            leaks.append(f"{name}: a private CA certificate of the host")
    return leaks
