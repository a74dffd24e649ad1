"""Shared fixtures: a small hand-made log, the path to the real datasets beside the repository, and headless
Chromium for the report browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"

TINY_CONFIG = """\
name: tiny
stages: [Lead, Qualified, Proposal, Commit]
won: [Won]
lost: [Lost]
commit_stage: Commit
timezone: Europe/Berlin
currency: EUR
"""
TINY_DEALS = """\
deal_id,owner,created_at,amount,team,industry
D1,ann,2024-01-02 09:00,1000,east,retail
D2,bob,2024-01-05 10:00,2500,west,banking
D3,ann,2024-02-01 08:00,,east,retail
"""
TINY_CHANGES = """\
deal_id,changed_at,stage
D1,2024-01-02 09:00,Lead
D1,2024-01-10 10:00,Qualified
D1,2024-01-20 11:00,Proposal
D1,2024-02-01 12:00,Won
D2,2024-01-05 10:00,Lead
D2,2024-01-15 10:00,Qualified
D2,2024-01-25 10:00,Lead
D3,2024-02-01 08:00,Lead
D3,2024-02-03 08:00,Lost
"""
TINY_ACTIVITIES = """\
deal_id,occurred_at,kind,outcome,direction
D1,2024-01-03 10:00,call,stayed,outbound
D1,2024-01-09 15:00,meeting,advanced,outbound
D2,2024-01-06 09:00,email,,inbound
D2,2024-01-06 11:00,email,,outbound
"""
TINY_CLOSE_DATES = """\
deal_id,changed_at,close_date
D1,2024-01-02 09:00,2024-02-15
D1,2024-01-20 11:00,2024-01-31
D2,2024-01-05 10:00,2024-02-28
D2,2024-01-25 10:00,2024-03-29
"""


@pytest.fixture
def tiny_log_dir(tmp_path: Path) -> Path:
    """A hand-made CSV log of three deals, every table present."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "salesmetrics.yaml").write_text(TINY_CONFIG)
    (folder / "deals.csv").write_text(TINY_DEALS)
    (folder / "stage_changes.csv").write_text(TINY_CHANGES)
    (folder / "activities.csv").write_text(TINY_ACTIVITIES)
    (folder / "close_date_changes.csv").write_text(TINY_CLOSE_DATES)
    return folder


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
