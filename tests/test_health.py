"""Pipeline health: the numbers behind the report, its narrative and its plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import filter_log
from salesmetrics.reports.health import pipeline_health

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


def test_one_owner_is_singular_and_the_waterfall_sentence_reconciles(tiny_log_dir):
    health = pipeline_health(filter_log(sm.read_log(tiny_log_dir), owner="bob"), period="M", min_motions=1)
    text = health.narrative()
    assert "1 owner logged" in text and "1 owners" not in text
    assert "0 of 1 open deal had at least 1 activity since" in text
    health = pipeline_health(sm.read_log(DEMO), period="M")
    text = health.narrative()
    latest = health.periods[health.periods["period_index"] == health.periods["period_index"].max()]
    row = latest[[c for c in latest.columns if c.endswith("_count")]].sum().astype(int)
    net = row["pulled_in_count"] + row["reopened_count"] - row["pushed_out_count"]
    flows = row["opening_count"] + row["created_count"] - row["won_count"] - row["lost_count"] + net
    assert flows == row["closing_count"]
    assert f"{net:+d} pulled in or pushed out (net), {row['closing_count']} still open" in text


def test_a_log_without_dates_says_so_and_counts_current_stages(tmp_path):
    (tmp_path / "salesmetrics.yaml").write_text("stages: [Lead, Deal]\nwon: [Won]\nlost: [Lost]\nhistory: partial\n")
    deals = "deal_id,owner,created_at,snapshot_stage\nA,ann,,Won\nB,ann,,Lost\nC,bob,,Won\n"
    (tmp_path / "deals.csv").write_text(deals)
    (tmp_path / "stage_changes.csv").write_text("deal_id,changed_at,stage\n")
    health = pipeline_health(sm.read_log(tmp_path))
    assert not health.dated
    assert health.narrative() == (
        "The log has no dated events, so movement, motion and the waterfall cannot be placed in time. "
        "Current stages of its 3 deals: 2 Won, 1 Lost."
    )


def test_motion_vs_movement_names_only_the_outliers_when_crowded():
    health = pipeline_health(sm.read_log(DEMO), period="Q")
    assert len(health.plot_motion_vs_movement(label_limit=5).texts) == 5
    assert len(health.plot_motion_vs_movement(label_limit=50).texts) == 20
