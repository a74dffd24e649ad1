"""Modules moved in 0.2.0: an old import path names the new one; every new path exists; public names still work."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import salesmetrics as sm
from salesmetrics._util.moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_names_the_new_one(old):
    with pytest.raises(ModuleNotFoundError, match=f"{old} moved to {MOVED[old]}"):
        importlib.import_module(old)


@pytest.mark.parametrize("new", sorted(set(MOVED.values())))
def test_every_new_path_imports(new):
    assert importlib.import_module(new).__name__ == new


def test_the_functions_named_like_old_modules_stay_functions():
    # importing every module of the package must not turn sm.simulate or sm.snapshots into a module
    for name in ("salesmetrics.simulation.simulator", "salesmetrics.features.build", "salesmetrics.cli.main"):
        importlib.import_module(name)
    assert callable(sm.simulate) and sm.simulate.__module__ == "salesmetrics.simulation.simulator"
    assert callable(sm.snapshots) and sm.snapshots.__module__ == "salesmetrics.features.build"


def test_an_old_import_in_a_fresh_interpreter_explains_itself():
    done = subprocess.run(
        [sys.executable, "-c", "from salesmetrics.velocity import time_in_stage"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "salesmetrics.velocity moved to salesmetrics.metrics.velocity" in done.stderr


def test_layers_are_reachable_as_attributes():
    assert sm.metrics.decision_increments.__module__ == "salesmetrics.metrics.decisions"
    assert "pipeline_health" in dir(sm.reports)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        sm.metrics.nonsense  # noqa: B018
