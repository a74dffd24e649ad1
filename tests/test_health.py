"""Pipeline health: the numbers behind the report, its narrative and its plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.health import filter_log, pipeline_health

matplotlib.use("Agg")
DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


def test_health_on_tiny_log(tiny_log_dir):
    health = pipeline_health(sm.read_log(tiny_log_dir), period="M", min_motions=1)
    groups = health.groups.set_index("owner")
    # ann: D1 (add + 3 advances) and D3 (add + loss); bob: D2 (add, advance, regression)
    assert groups.loc["ann", "movements"] == 6 and groups.loc["bob", "movements"] == 3
    assert groups.loc["ann", "motions"] == 2 and groups.loc["bob", "motions"] == 2
    # D2 is open with 2 activities since... none after its last movement (25 Jan): not stuck
    assert health.stuck_deals.empty
    assert "2 owners logged 4 activities and 9 movements" in health.narrative()


def test_filter_log_and_unknown_owner(tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    assert sorted(filter_log(log, owner="ann").deals["deal_id"]) == ["D1", "D3"]
    with pytest.raises(UsageError, match="No deals with owner 'zed'"):
        filter_log(log, owner="zed")


def test_plots_have_titles_and_labels():
    health = pipeline_health(sm.read_log(DEMO), period="Q")
    for ax in (health.plot_motion_vs_movement(), health.plot_periods(), health.plot_waterfall()):
        assert ax.get_title() and ax.get_ylabel()
