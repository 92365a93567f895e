"""Look for known secret values in byte streams: image tars, rendered text, logs.

Findings are reported by the secret's name (the file it came from), never by its value. Streams
are read in chunks that overlap by the longest value, so a value split across two chunks is still
found, and a gzip-compressed stream (a compressed image layer) is inflated on the fly.
"""

from __future__ import annotations

import itertools
import subprocess
import tarfile
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

CHUNK = 8 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# Shorter values would match by chance in hundreds of megabytes of image.
MIN_SECRET_LENGTH = 12


def secret_values(folder: Path) -> dict[str, str]:
    """Name -> value of every secret file in the folder (ansible's password lookup format:
    the value, optionally followed by ` salt=...`/` ident=...`)."""
    values = {}
    for path in sorted(folder.iterdir()):
        if path.is_file():
            value = path.read_text(encoding="utf-8").strip().split(" salt=")[0].split(" ident=")[0]
            if value:
                values[path.name] = value
    return values


def needles(values: dict[str, str]) -> dict[bytes, str]:
    """The byte patterns to look for (each value, and its URL-encoded form, as in DATABASE_URL)."""
    patterns: dict[bytes, str] = {}
    for name, value in values.items():
        for form in {value, urllib.parse.quote(value, safe="")}:
            patterns[form.encode()] = name
    return patterns


def chunks(stream: IO[bytes], size: int = CHUNK) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def inflated(parts: Iterator[bytes]) -> Iterator[bytes]:
    """The stream as is, or inflated when it starts with the gzip magic."""
    first = next(parts, b"")
    if not first.startswith(GZIP_MAGIC):
        yield first
        yield from parts
        return
    inflater = zlib.decompressobj(wbits=31)
    for part in itertools.chain([first], parts):
        yield inflater.decompress(part)
    yield inflater.flush()


def names_found(parts: Iterable[bytes], patterns: dict[bytes, str]) -> set[str]:
    """Names of the secrets whose value occurs in the concatenated parts."""
    keep = max(len(pattern) for pattern in patterns) - 1
    tail = b""
    found: set[str] = set()
    for part in parts:
        window = tail + part
        found.update(name for pattern, name in patterns.items() if pattern in window)
        tail = window[-keep:] if keep else b""
    return found


def names_in_text(text: str, patterns: dict[bytes, str]) -> set[str]:
    return names_found([text.encode()], patterns)


def scan_tar_stream(stream: IO[bytes], patterns: dict[bytes, str]) -> dict[str, set[str]]:
    """Member name -> names of the secrets it holds, for every file of a tar read as a stream
    (`docker save` output: each layer tar, the image config, the manifests)."""
    hits: dict[str, set[str]] = {}
    members = 0
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                continue
            members += 1
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            found = names_found(inflated(chunks(extracted)), patterns)
            if found:
                hits[member.name] = found
    if members == 0:
        raise ValueError("the tar stream holds no file: nothing was scanned")
    return hits


def scan_image(image: str, patterns: dict[bytes, str]) -> dict[str, set[str]]:
    """`docker save IMAGE`, streamed (no copy on disk), scanned member by member."""
    with subprocess.Popen(
        ["docker", "save", image], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        hits = scan_tar_stream(process.stdout, patterns)
        process.stdout.read()
        error = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"docker save {image} failed: {error.strip()}")
    return hits
