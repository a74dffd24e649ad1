"""Every report notebook runs, through the report runner, on the demo log and on a real dataset.

The notebooks are found by glob, so a new report is tested as soon as it lands in
``salesmetrics/reports/notebooks/``. The real dataset is the Maven CRM snapshot converted by the snapshot adapter:
it has no activities, no close-date changes, no commit stage and a partial history, so each report must say what it
cannot show instead of failing. A notebook that truly cannot run here (one that needs a fitted model, say) declares
it in its metadata, ``"salesmetrics_test": {"skip": "why"}``, and may give test parameters there too
(``"parameters": {...}``). The package functions behind the reports are also run on every real preset (Maven,
Olist, IBM: the last has no dated event at all), without the cost of a notebook kernel.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pytest

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.log.coverage import Note
from salesmetrics.reports.catalog import NOTEBOOKS as REPORT_NOTEBOOKS
from salesmetrics.reports.catalog import get_report
from salesmetrics.reports.parameters import coerce_parameters
from salesmetrics.reports.runner import run_report

pytestmark = pytest.mark.notebook  # most tests here run a report notebook in a kernel

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
DEMO = REPO / "datasets" / "demo"
NOTEBOOKS = sorted(REPORT_NOTEBOOKS.glob("*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]

# What each known report must say on each log (a sentence computed from the data, or the reason it cannot be).
SAYS = {
    ("pipeline_health", "demo"): "activities per movement",
    ("pipeline_health", "real"): "the log has no activities, so motion cannot be set against movement",
    ("slippage", "demo"): "open deals were pushed 3 or more times",
    ("slippage", "real"): "The log has no close-date changes",
    ("velocity", "demo"): "sales velocity was",
    ("velocity", "real"): "names no commit stage",
    ("stall_risk", "demo"): "open deals have a stall risk above",
    ("stall_risk", "real"): "The log has no activities",
    ("close_likelihood_study", "demo"): "the model reaches a ROC AUC of",
    ("close_likelihood_study", "real"): "which are empty here: the log has no activities",
}


def _settings(name: str) -> dict:
    meta = json.loads((REPORT_NOTEBOOKS / f"{name}.ipynb").read_text())["metadata"]
    settings = meta.get("salesmetrics_test", {})
    if settings.get("skip"):
        pytest.skip(f"notebook {name} declares it cannot run in tests: {settings['skip']}")
    return dict(settings.get("parameters", {}))


def _snapshot(preset: str, out: Path) -> Path:
    if preset == "olist":
        folder = SHARED_DATASETS / "olist_marketing_funnel"
        source = [
            folder / "olist_marketing_qualified_leads_dataset.csv",
            folder / "olist_closed_deals_dataset.csv",
        ]
    else:
        source = SHARED_DATASETS / {"maven": "maven_crm_sales", "ibm": "ibm_sales_win_loss"}[preset]
    sm.import_snapshot(source, preset=preset, out=out)
    return out


@pytest.fixture(scope="module")
def real_logs(tmp_path_factory):
    """Real datasets converted on first use, once per module: {preset: log folder}."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"the real datasets are not beside the repository ({SHARED_DATASETS})")
    root = tmp_path_factory.mktemp("real")
    cache: dict[str, Path] = {}

    def get(preset: str) -> Path:
        if preset not in cache:
            cache[preset] = _snapshot(preset, root / preset)
        return cache[preset]

    return get


def _run_and_check(name: str, log: Path, out: Path, where: str) -> str:
    files = run_report(name, log=log, out=out, parameters=_settings(name), format="both", overwrite=True)
    page = next(p for p in files if p.suffix == ".html").read_text(encoding="utf-8")
    executed = json.loads(next(p for p in files if p.suffix == ".ipynb").read_text(encoding="utf-8"))
    for i, cell in enumerate(executed["cells"], start=1):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{name} on {where}: cell {i} failed"
            if output["output_type"] == "stream":  # warnings land on stderr; a report should have none
                assert output["name"] != "stderr", f"{name} on {where}, cell {i}: {''.join(output['text'])[:300]}"
    assert "Traceback" not in page
    assert "data:image/png;base64," in page, f"{name} on {where}: no embedded figure"
    expected = SAYS.get((name, where))
    if expected:
        assert expected in page, f"{name} on {where} does not say {expected!r}"
    return page


def test_every_notebook_is_listed_by_the_cli(capsys):
    assert NAMES and {"pipeline_health", "slippage", "velocity"} <= set(NAMES)
    assert main(["report", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in NAMES:
        assert f"{name}:" in listed, f"{name} missing from salesmetrics report --list"


@pytest.mark.parametrize("name", NAMES)
def test_the_defaults_are_valid_and_name_the_demo_log(name):
    """The notebook as stored (nothing injected) reports on the demo log, and every default is a value its parameter
    allows. The demo run below executes each notebook once, with these defaults but for log_path (the same log, given
    as a path), as_of (the log's latest event, which None means too) and the test parameters in the metadata; the
    notebooks are not run a second time as plain notebooks (nbval) in `make test`."""
    report = get_report(name)
    defaults = {key: ast.literal_eval(param.default) for key, param in report.parameters.items()}
    assert (REPORT_NOTEBOOKS / defaults.pop("log_path")).resolve() == DEMO.resolve()
    assert coerce_parameters(report, defaults) == defaults


@pytest.mark.parametrize("name", NAMES)
def test_report_runs_on_the_demo_log(name, tmp_path):
    _run_and_check(name, DEMO, tmp_path, "demo")


@pytest.mark.parametrize("name", NAMES)
def test_report_runs_on_a_real_dataset(name, real_logs, tmp_path):
    _run_and_check(name, real_logs("maven"), tmp_path, "real")


@pytest.mark.parametrize("preset", ["maven", "olist", "ibm"])
def test_report_functions_degrade_on_every_real_preset(preset, real_logs):
    from salesmetrics.reports.health import pipeline_health
    from salesmetrics.reports.slippage import slippage_report
    from salesmetrics.reports.velocity import velocity_report

    log = sm.read_log(real_logs(preset))
    slip, vel = slippage_report(log), velocity_report(log)
    for report in (slip, vel):
        assert "snapshot" in report.narrative() and report.narrative().endswith(".")
    assert "no close-date changes" in slip.narrative() or "no dated events" in slip.narrative()
    assert "'direction' column" in vel.narrative()
    figures = [slip.plot_periods(), slip.plot_push_lengths(), slip.plot_groups(), slip.plot_walks()]
    figures += [vel.plot_time_in_stage(), vel.plot_commit(), vel.plot_responsiveness()]
    for ax in figures:  # each is a titled figure or a titled note: never bare axes
        assert ax.get_title() and (ax.texts or (ax.get_xlabel() and ax.get_ylabel()))
    assert all(ax.get_title() for ax in vel.plot_factors().axes)
    plt.close("all")
    for table in ("serial_pushers", "pulled_in", "random_walkers"):
        assert isinstance(slip.table(table), Note)
    assert isinstance(vel.table("commit"), Note) and isinstance(vel.table("responsiveness"), Note)
    if preset == "ibm":  # no dated event at all: nothing over time, said once
        assert slip.as_of is None and vel.as_of is None
        assert vel.narrative().startswith("The log has no dated events")
        health = pipeline_health(log)
        assert not health.dated
        assert health.narrative().startswith("The log has no dated events")
        assert "77,829 deals: 17,548 Won, 60,281 Loss" in health.narrative()
    else:
        assert "Kaplan–Meier" in vel.narrative()
        assert "no activities" in pipeline_health(log).narrative()


def test_pipeline_health_report_runs_on_a_log_without_dates(real_logs, tmp_path):
    page = _run_and_check("pipeline_health", real_logs("ibm"), tmp_path, "ibm")
    assert "no dated events" in page
