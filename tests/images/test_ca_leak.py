"""The choice of which host CA certificates count as private, and finding them in a layer.

Certificates are made here with `cryptography`; the folders stand in for the host's
``/usr/share/ca-certificates`` and a Python installation's certifi.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.images.ca_leak import PrivateCertificates, host_private_certificates, layer_leaks


def _root(common_name: str) -> bytes:
    """A self-signed CA certificate, PEM."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA384())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def roots() -> dict[str, bytes]:
    return {
        "debian_old": _root("Public Root shipped by every ca-certificates"),
        "new_public": _root("Public Root added by a ca-certificates update"),
        "proxy": _root("Egress Proxy CA"),
    }


class Host:
    """A fake host: its bundle, its distribution CA folder (with dpkg's md5sums) and a certifi
    installed from a wheel (with its RECORD)."""

    def __init__(self, root: Path, distribution: list[bytes], certifi: list[bytes]) -> None:
        self.distribution_dir = root / "usr-share-ca-certificates"
        self.dpkg_info = root / "dpkg-info"
        (self.distribution_dir / "mozilla").mkdir(parents=True)
        self.dpkg_info.mkdir()
        sums = []
        for number, pem in enumerate(distribution):
            crt = self.distribution_dir / "mozilla" / f"root-{number}.crt"
            crt.write_bytes(pem)
            sums.append(
                f"{hashlib.md5(pem, usedforsecurity=False).hexdigest()}  {str(crt).lstrip('/')}\n"
            )
        (self.dpkg_info / "ca-certificates.md5sums").write_text("".join(sums))
        self.site_packages = root / "site-packages"
        self.certifi = self.site_packages / "certifi" / "cacert.pem"
        self.certifi.parent.mkdir(parents=True)
        content = b"\n".join(certifi)
        self.certifi.write_bytes(content)
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        record = self.site_packages / "certifi-2099.1.1.dist-info" / "RECORD"
        record.parent.mkdir()
        record.write_text(f"certifi/__init__.py,,\ncertifi/cacert.pem,sha256={digest},1\n")
        self.bundle = root / "ca-certificates.crt"

    def with_bundle(self, *pems: bytes) -> Host:
        self.bundle.write_bytes(b"".join(pems))
        return self

    def found(self, *extra_paths: Path) -> PrivateCertificates:
        paths = [str(self.site_packages), *map(str, extra_paths)]
        return host_private_certificates(
            self.bundle, self.distribution_dir, python_paths=paths, dpkg_info=self.dpkg_info
        )

    def private(self) -> list[bytes]:
        return [
            x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            for der in self.found().der
        ]


def _layer(files: dict[str, bytes]) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return tarfile.open(fileobj=buffer, mode="r")


def test_an_extra_public_root_is_not_flagged(tmp_path: Path, roots: dict[str, bytes]) -> None:
    # The host's newer ca-certificates ships a root that the image's older package lacks
    # (the Atos root of the original failure); certifi has it too.
    host = Host(tmp_path, [roots["debian_old"], roots["new_public"]], [roots["new_public"]])
    host.with_bundle(roots["debian_old"], roots["new_public"])
    assert host.private() == []
    found = host.found()
    assert not found.identified
    assert "no private CA" in found.summary()
    # A certifi layer carrying that public root is not a leak.
    certifi = _layer({"opt/venv/lib/certifi/cacert.pem": roots["new_public"]})
    assert layer_leaks(certifi, found.needles(), host.bundle.read_bytes()) == []


def test_a_root_only_certifi_knows_is_public_too(tmp_path: Path, roots: dict[str, bytes]) -> None:
    # The distribution folder predates the root; certifi (Mozilla's list) already has it.
    host = Host(tmp_path, [roots["debian_old"]], [roots["new_public"]])
    host.with_bundle(roots["debian_old"], roots["new_public"])
    assert host.private() == []


def test_a_private_ca_is_flagged_and_found_in_the_layer_that_carries_it(
    tmp_path: Path, roots: dict[str, bytes]
) -> None:
    host = Host(tmp_path, [roots["debian_old"]], [roots["debian_old"]])
    host.with_bundle(roots["debian_old"], roots["proxy"])
    assert host.private() == [roots["proxy"]]
    found = host.found()
    assert "1 private CA certificate" in found.summary()

    needles, bundle = found.needles(), host.bundle.read_bytes()
    carrier = _layer(
        {
            # The image's own bundle plus the proxy CA (update-ca-certificates ran in a layer).
            "etc/ssl/certs/ca-certificates.crt": roots["proxy"] + roots["debian_old"],
            "opt/venv/lib/certifi/cacert.pem": roots["debian_old"],
        }
    )
    assert layer_leaks(carrier, needles, bundle) == [
        "etc/ssl/certs/ca-certificates.crt: a private CA certificate of the host"
    ]
    # In DER form (a Java keystore, say) it is found too.
    der = x509.load_pem_x509_certificate(roots["proxy"]).public_bytes(serialization.Encoding.DER)
    assert layer_leaks(_layer({"opt/keystore.jks": b"\x00" * 9 + der}), needles, bundle)
    # A layer with only public roots, or nothing of the bundle, is clean.
    assert layer_leaks(_layer({"app/code.py": b"print(1)\n"}), needles, bundle) == []
    assert layer_leaks(_layer({"etc/ssl/x.pem": roots["debian_old"]}), needles, bundle) == []


def test_both_a_new_public_root_and_a_private_ca(tmp_path: Path, roots: dict[str, bytes]) -> None:
    host = Host(tmp_path, [roots["debian_old"], roots["new_public"]], [roots["new_public"]])
    host.with_bundle(roots["debian_old"], roots["new_public"], roots["proxy"])
    assert host.private() == [roots["proxy"]]
    found = host.found()
    leaky = _layer({"usr/local/share/ca-certificates/proxy.crt": roots["proxy"]})
    public = _layer({"opt/venv/lib/certifi/cacert.pem": roots["new_public"]})
    assert layer_leaks(leaky, found.needles(), host.bundle.read_bytes())
    assert layer_leaks(public, found.needles(), host.bundle.read_bytes()) == []


def test_the_host_bundle_and_secret_mounts_are_leaks_without_any_private_ca(
    tmp_path: Path, roots: dict[str, bytes]
) -> None:
    host = Host(tmp_path, [roots["debian_old"]], [roots["debian_old"]])
    bundle = host.with_bundle(roots["debian_old"]).bundle.read_bytes()
    layer = _layer({"tmp/copied.crt": bundle, "run/secrets/ca": b""})
    assert sorted(layer_leaks(layer, [], bundle)) == [
        "run/secrets/ca: a secret mount",
        "tmp/copied.crt: the host CA bundle",
    ]


def test_a_certifi_that_is_the_system_bundle_is_not_a_public_source(
    tmp_path: Path, roots: dict[str, bytes]
) -> None:
    # Debian's python3-certifi answers with /etc/ssl/certs/ca-certificates.crt, proxy CA and all.
    host = Host(tmp_path, [roots["debian_old"]], [roots["debian_old"]])
    host.with_bundle(roots["debian_old"], roots["proxy"])
    patched = tmp_path / "dist-packages" / "certifi"
    patched.mkdir(parents=True)
    (patched / "cacert.pem").symlink_to(host.bundle)
    found = host.found(patched.parent)
    assert len(found.der) == 1
    assert all(source.resolve() != host.bundle for source in found.public_sources)


def test_a_certifi_with_the_proxy_ca_appended_is_not_a_public_source(
    tmp_path: Path, roots: dict[str, bytes]
) -> None:
    # What machines behind a proxy often do (this CI machine's pip vendored certifi, for one):
    # the file no longer matches the hash its wheel recorded.
    host = Host(tmp_path, [roots["debian_old"]], [roots["debian_old"]])
    host.with_bundle(roots["debian_old"], roots["proxy"])
    with host.certifi.open("ab") as certifi:
        certifi.write(roots["proxy"])
    assert host.private() == [roots["proxy"]]
    assert host.certifi not in host.found().public_sources


def test_a_distribution_file_dpkg_does_not_know_is_not_public(
    tmp_path: Path, roots: dict[str, bytes]
) -> None:
    host = Host(tmp_path, [roots["debian_old"]], [roots["debian_old"]])
    (host.distribution_dir / "local-admin").mkdir()
    (host.distribution_dir / "local-admin" / "proxy.crt").write_bytes(roots["proxy"])
    host.with_bundle(roots["debian_old"], roots["proxy"])
    assert host.private() == [roots["proxy"]]


def test_no_public_source_means_no_verdict(tmp_path: Path, roots: dict[str, bytes]) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_bytes(roots["debian_old"] + roots["proxy"])
    found = host_private_certificates(
        bundle, tmp_path / "absent", python_paths=[], dpkg_info=tmp_path / "no-dpkg"
    )
    assert found.public_sources == ()
    assert not found.identified
    assert "cannot tell" in found.summary()
