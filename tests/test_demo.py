"""The bundled demo log is valid, and `make demo` regenerates it on any machine.

The log files are compared byte for byte; the ground-truth tables' floats within the stated tolerance, because
their last binary digit depends on the processor (decision 0032).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.simulation.compare import TRUTH_ATOL, TRUTH_RTOL, output_differences
from salesmetrics.simulation.simulator import main_demo

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"
LOG_FILES = [
    "activities.csv",
    "amount_changes.csv",
    "close_date_changes.csv",
    "deals.csv",
    "salesmetrics.yaml",
    "stage_changes.csv",
]


def test_demo_log_is_valid_and_has_every_table():
    log = sm.read_log(DEMO)
    assert log.problems == ()
    s = log.summary()
    assert s.deals == 2000 and s.owners == 20
    assert all(n > 0 for n in s.rows.values())
    months = (s.last_event - s.first_event).days / 30.4
    assert 17 <= months <= 18.5
    assert log.model.commit_stage is not None


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return main_demo(tmp_path_factory.mktemp("regen") / "demo")


def test_demo_regenerates_identically(regenerated):
    assert output_differences(DEMO, regenerated) == [], "regenerate with `make demo`"
    for name in [*LOG_FILES, "truth/parameters.yaml"]:  # what readers of the log see: the very same bytes
        assert (DEMO / name).read_bytes() == (regenerated / name).read_bytes(), name


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def test_a_last_place_difference_in_the_truth_passes_but_a_real_change_does_not(regenerated, tmp_path):
    """What another processor changes (a unit in the last place) is tolerated; anything larger is reported."""
    copy = _copy(regenerated, tmp_path / "copy")
    table = copy / "truth" / "win_probability.parquet"
    wp = pd.read_parquet(table)
    p = wp["win_probability"].to_numpy().copy()
    moved = np.nextafter(p, 2.0)  # every value one unit in the last place up
    wp.assign(win_probability=moved).to_parquet(table, index=False, compression="zstd")
    assert output_differences(regenerated, copy) == []

    changed = p.copy()
    i = int(np.flatnonzero(p > 0.1)[0])
    changed[i] *= 1 + 100 * TRUTH_RTOL  # far beyond the tolerance, still a tiny change
    wp.assign(win_probability=changed).to_parquet(table, index=False, compression="zstd")
    found = output_differences(regenerated, copy)
    assert len(found) == 1 and "'win_probability' differs beyond the tolerance in 1 row (" in found[0]
    assert f"row {i + 1}," in found[0]

    wp.assign(stage=wp["stage"].where(wp.index != 3, "Elsewhere")).to_parquet(table, index=False, compression="zstd")
    found = output_differences(regenerated, copy)
    assert len(found) == 1 and "column 'stage' differs (first: row 4, " in found[0] and "then 'Elsewhere'" in found[0]
    assert TRUTH_ATOL < 1e-9  # a tolerance that only forgives rounding


def test_a_changed_log_byte_or_a_missing_file_is_reported(regenerated, tmp_path):
    copy = _copy(regenerated, tmp_path / "copy")
    deals = copy / "deals.csv"
    text = deals.read_bytes()
    deals.write_bytes(text.replace(b".", b",", 1))  # one byte of one amount
    (copy / "truth" / "owners.parquet").unlink()
    (copy / "extra.txt").write_text("x")
    assert output_differences(regenerated, copy) == [
        "truth/owners.parquet: missing",
        "extra.txt: not expected",
        "deals.csv: not byte for byte the same",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "env",
    [
        {"NPY_DISABLE_CPU_FEATURES": "AVX512_ICL,X86_V4"},  # NumPy without its AVX-512 code paths
        {"OPENBLAS_CORETYPE": "SkylakeX"},  # another BLAS kernel for the linear solves
    ],
    ids=["numpy-without-avx512", "openblas-skylakex"],
)
def test_demo_regenerates_on_another_kind_of_processor(regenerated, tmp_path, env):
    """The demo made as another processor makes it (NumPy and OpenBLAS pick their code by the CPU): the log
    files are the same bytes and the truth tables agree within the tolerance. On this kind of machine the truth
    floats then differ in the last place (2.8e-16 to 6.7e-16), which the byte comparison used to fail on."""
    out = tmp_path / "demo"
    code = f"from salesmetrics.simulation.simulator import main_demo; main_demo({str(out)!r})"
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True, timeout=120)
    assert output_differences(regenerated, out) == []
    assert output_differences(DEMO, out) == []
    for name in LOG_FILES:
        assert (DEMO / name).read_bytes() == (out / name).read_bytes(), name
