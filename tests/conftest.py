"""Shared fixtures: a small hand-made log, the path to the real datasets beside the repository, and headless
Chromium for the report browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import write_tiny_log

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def _cache_folder(tmp_path_factory) -> None:
    """Remembered validations (salesmetrics/log/remembered.py) go to a folder of the test session, never to the
    home folder; commands the tests start as processes inherit it."""
    os.environ["SALESMETRICS_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def tiny_log_dir(tmp_path: Path) -> Path:
    """A hand-made CSV log of three deals, every table present."""
    return write_tiny_log(tmp_path / "tiny")


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"the real datasets are not beside the repository ({SHARED_DATASETS})")
    return SHARED_DATASETS


CHROMIUM_INSTALL = "run `make browser` as root, or `apt-get install --no-install-recommends chromium`"


@pytest.fixture(scope="session")
def headless() -> Callable[..., subprocess.CompletedProcess]:
    """``headless(profile, *args)`` runs Debian's Chromium headless with no network at all (every host name
    resolves to nothing). Skips when Chromium is not installed; on CI (``CI`` set) that fails the test."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        reason = f"Debian's chromium is not installed: {CHROMIUM_INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (make test does this on CI)")
        pytest.skip(reason)

    def run(profile: Path, *args: str) -> subprocess.CompletedProcess:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            *args,
        ]
        env = {**os.environ, "HOME": str(profile)}
        return subprocess.run(command, capture_output=True, text=True, timeout=90, env=env, check=False)

    return run
