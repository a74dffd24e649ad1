"""The bundled demo log is valid, and `make demo` regenerates it byte for byte."""

from __future__ import annotations

import filecmp
from pathlib import Path

import salesmetrics as sm
from salesmetrics.simulate import main_demo

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


def test_demo_log_is_valid_and_has_every_table():
    log = sm.read_log(DEMO)
    assert log.problems == ()
    s = log.summary()
    assert s.deals == 2000 and s.owners == 20
    assert all(n > 0 for n in s.rows.values())
    months = (s.last_event - s.first_event).days / 30.4
    assert 17 <= months <= 18.5
    assert log.model.commit_stage is not None


def test_demo_regenerates_identically(tmp_path):
    out = main_demo(tmp_path / "demo")
    files = sorted(p.relative_to(DEMO) for p in DEMO.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(DEMO, out, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors, f"regenerate with `make demo`: {mismatch or errors} differ"
