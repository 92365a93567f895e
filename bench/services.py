"""Processes the serving benchmark starts: a throwaway PostgreSQL cluster and HTTP servers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.postgres import PostgresCluster


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway cluster on 127.0.0.1; yields its SQLAlchemy URL."""
    root = Path(tempfile.mkdtemp(prefix="rp-bench-pg-"))
    cluster = PostgresCluster(root)
    cluster.init()
    cluster.start()
    try:
        yield cluster.url()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_for(url: str, process: subprocess.Popen, timeout: float) -> float:
    """Seconds until ``url`` answers 200; raises if the process dies or time runs out."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback http
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
        pending.extend(int(child) for child in children)
    return round(total_kb / 1024, 1)
