"""Every report renders on any valid log: odd but valid logs, each report run through the runner.

The logs are small simulated pipelines with a part taken away, as real exports come: no activities and no
close-date changes at all (the tables missing), activities without a direction, activities that are all
outbound, no close dates, no amounts, a single owner, and no date at all (a win-loss table: current stages
only). Each report must render to HTML without an error cell, anything on stderr or a ``NaN`` cell, and say in
words what the log cannot show. Notebooks are found by glob, so a new report is covered as soon as it lands in
``notebooks/``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.reports.runner import run_report
from salesmetrics.simulation.simulator import simulate

REPO = Path(__file__).resolve().parents[1]
NAMES = [p.stem for p in sorted((REPO / "salesmetrics" / "reports" / "notebooks").glob("*.ipynb"))]
MODEL_REPORTS = {"stall_risk", "close_likelihood_study"}  # fit a model: several seconds each
REPORTS = [pytest.param(n, marks=[pytest.mark.notebook, *([pytest.mark.slow] if n in MODEL_REPORTS else [])])
           for n in NAMES]  # fmt: skip
# what each report says on a log without activities and close-date changes
SAYS_NO_TABLES = {
    "pipeline_health": "no activities",
    "slippage": "no close-date changes",
    "velocity": "direction",
    "weekly_review": "no activities",
}
ODD = ("no_tables", "no_directions", "all_outbound", "no_close_dates", "no_amounts", "one_owner", "no_dates")
SNAKE_HEADER = re.compile(r"<th[^>]*>\s*[a-z0-9]+(?:_[a-z0-9]+)+\s*</th>")
NAN_CELL = re.compile(r"<td[^>]*>\s*(?:NaN|nan|NaT|None|&lt;NA&gt;)\s*</td>")


def odd_log(kind: str, out: Path) -> Path:
    """A small simulated log with one part taken away (``kind`` is one of :data:`ODD`)."""
    log = simulate(n_deals=90, n_owners=4, seed=7, months=6).log
    deals, acts, closes, model = log.deals, log.activities, log.close_date_changes, log.model
    if kind == "no_tables":
        acts, closes = None, None
    elif kind == "no_directions":
        acts = acts.drop(columns=["direction"])
    elif kind == "all_outbound":
        acts = acts.assign(direction="outbound")
    elif kind == "no_close_dates":
        closes = None
    elif kind == "no_amounts":
        deals = deals.drop(columns=["amount"])
    elif kind == "one_owner":
        deals = deals.assign(owner="Ann Solo", team="Team Solo")
        model = dataclasses.replace(model)
    changes = log.stage_changes
    if kind == "no_dates":  # outcomes known, nothing dated: a win-loss export
        last = changes.sort_values("changed_at", kind="stable").groupby("deal_id")["stage"].last()
        deals = deals.assign(created_at=pd.NaT, snapshot_stage=deals["deal_id"].map(last))
        changes, acts, closes = changes.iloc[0:0], None, None
        model = dataclasses.replace(model, history="partial")
    built = sm.SalesLog.from_frames(model, deals, changes, acts, closes)
    return sm.write_log(built, out, format="csv")


@pytest.fixture(scope="module")
def odd_logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("odd")
    cache: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in cache:
            cache[kind] = odd_log(kind, root / kind)
        return cache[kind]

    return get


def _settings(name: str) -> dict:
    meta = json.loads((REPO / "salesmetrics" / "reports" / "notebooks" / f"{name}.ipynb").read_text())["metadata"]
    settings = meta.get("salesmetrics_test", {})
    if settings.get("skip"):
        pytest.skip(f"notebook {name} declares it cannot run in tests: {settings['skip']}")
    params = dict(settings.get("parameters", {}))
    if name == "close_likelihood_study":  # keep the study quick on a tiny log
        params.update(n_bootstrap=0, n_repeats=1)
    return params


def test_odd_logs_are_valid_and_odd(odd_logs):
    from salesmetrics.log.coverage import log_coverage

    cover = {kind: log_coverage(sm.read_log(odd_logs(kind))) for kind in ODD}
    assert not cover["no_tables"].activities and not cover["no_tables"].close_date_changes
    assert cover["no_directions"].activities and not cover["no_directions"].directions
    assert not cover["no_close_dates"].close_date_changes and not cover["no_amounts"].amounts
    assert sm.read_log(odd_logs("one_owner")).deals["owner"].nunique() == 1
    assert not cover["no_dates"].dated and sm.read_log(odd_logs("no_dates")).summary().current_stages


@pytest.mark.parametrize("kind", ODD)
@pytest.mark.parametrize("name", REPORTS)
def test_every_report_renders_on_an_odd_log(name, kind, odd_logs, tmp_path):
    params = _settings(name)
    files = run_report(name, log=odd_logs(kind), out=tmp_path, parameters=params, format="both", overwrite=True)
    page = next(p for p in files if p.suffix == ".html").read_text(encoding="utf-8")
    executed = json.loads(next(p for p in files if p.suffix == ".ipynb").read_text(encoding="utf-8"))
    for i, cell in enumerate(executed["cells"], start=1):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{name} on {kind}: cell {i} failed"
            if output["output_type"] == "stream":
                assert output["name"] != "stderr", f"{name} on {kind}, cell {i}: {''.join(output['text'])[:300]}"
    assert "Traceback" not in page
    assert "data:image/png;base64," in page, f"{name} on {kind}: no figure drawn"
    assert not NAN_CELL.search(page), f"{name} on {kind}: a NaN cell: {NAN_CELL.search(page)[0]}"
    assert not SNAKE_HEADER.search(page), f"{name} on {kind}: a snake_case header: {SNAKE_HEADER.search(page)[0]}"
    if kind == "all_outbound" and name == "velocity":
        assert "No activity is inbound" in page
    if kind == "no_dates":  # every report says it, whatever else it can show
        assert "no dated events" in page, f"{name} on a log without dates does not say so"
    if kind == "no_tables" and name in SAYS_NO_TABLES:
        assert SAYS_NO_TABLES[name] in page, f"{name} on {kind} does not say {SAYS_NO_TABLES[name]!r}"
    if kind == "no_tables" and name == "pipeline_health":  # missing is not zero: no column of 0 activities
        assert not re.search(r"<th[^>]*>\s*(Motions|Activities|Motion per movement)\s*</th>", page)


@pytest.mark.notebook
def test_an_owner_page_compares_the_owner_with_the_other_owners(odd_logs, tmp_path):
    log = odd_logs("no_amounts")
    owner = sorted(sm.read_log(log).deals["owner"].unique())[0]
    files = run_report("pipeline_health", log=log, out=tmp_path, parameters={"owner": owner}, overwrite=True)
    page = files[0].read_text(encoding="utf-8")
    assert "median of the 3 other owners" in page and "all 4 owners" in page
