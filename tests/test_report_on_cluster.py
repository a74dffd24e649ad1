"""What the pipeline_health report needs from a Dask cluster, without one: the value handed to the notebook survives
its files exactly, the coverage counted part by part is the whole log's, the log read without activities is the log
but for them, and what cannot run on a cluster is refused before a cluster starts. (The page on a real cluster:
``tests/test_scale.py``.)"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from builders import assert_same_health, break_a_part, page_text, write_log_with_warnings, write_undated_log

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.exceptions import LogValidationError
from salesmetrics.log.coverage import log_coverage
from salesmetrics.log.partition import partition_log
from salesmetrics.log.reading import read_log_without_activities
from salesmetrics.reports.health import pipeline_health
from salesmetrics.reports.health_file import read_health, write_health
from salesmetrics.reports.health_parts import coverage_parts, report_parts
from salesmetrics.reports.on_cluster import latest_on_cluster

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


@pytest.fixture(scope="module")
def demo_parts(tmp_path_factory) -> Path:
    return partition_log(DEMO, tmp_path_factory.mktemp("demo") / "parts", 3).folder


@pytest.mark.parametrize("options", [{"period": "Q"}, {"by": "team", "period": "W", "as_of": "2024-12-31"}])
def test_the_health_handed_to_the_notebook_is_the_health_computed(demo_parts, tmp_path, options):
    health = pipeline_health(demo_parts, **options)
    cover = coverage_parts(demo_parts)
    got, got_cover = read_health(write_health(tmp_path / "health", health, cover))
    assert_same_health(got, health)
    assert str(got.as_of.tz) == str(health.as_of.tz) == "UTC"
    assert got.narrative() == health.narrative()
    assert got_cover == cover


def test_an_undated_health_keeps_its_stage_counts(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = sm.read_log(write_undated_log(tmp_path / "log"))
    health = pipeline_health(log)
    got, got_cover = read_health(write_health(tmp_path / "health", health, log_coverage(log)))
    assert not got.dated and got.stage_counts.sum() == 2
    assert_same_health(got, health)
    assert got_cover == log_coverage(log) and not got_cover.dated


def test_the_coverage_counted_part_by_part_is_the_whole_logs(demo_parts):
    got = coverage_parts(demo_parts)
    assert got == log_coverage(sm.read_log(DEMO))
    assert (got.deals, got.activities, got.close_date_changes) == (2000, 30292, 4733)  # the partition's own counts


def test_the_log_without_activities_is_the_log_but_for_them(demo_parts, tmp_path):
    whole = sm.read_log(demo_parts)
    got = read_log_without_activities(demo_parts)
    assert len(got.activities) == 0 and list(got.activities.columns) == list(whole.activities.columns)
    for table in ("deals", "stage_changes", "close_date_changes", "amount_changes"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(whole, table), check_exact=True, obj=table)
    # the activities are still checked: a broken one is refused, located in its part
    broken = partition_log(DEMO, tmp_path / "parts", 2).folder
    activities = broken / "part-00001" / "activities.csv"
    lines = activities.read_text(encoding="utf-8").splitlines()
    lines[1] = "no-such-deal" + lines[1][lines[1].index(",") :]
    activities.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LogValidationError, match=r"part-00001/activities.csv, row 2, column 'deal_id'"):
        read_log_without_activities(broken)


@pytest.mark.parametrize(
    ("log", "extra", "said"),
    [
        ("demo", [], "is not a partitioned log"),
        ("parts", ["--name", "slippage"], "Only the pipeline_health report runs on a Dask cluster"),
        ("parts", ["-p", "owner=Liam M."], "owner='Liam M.' cannot be used on a Dask cluster"),
        ("parts", ["-p", "team=Alpha"], "team='Alpha' cannot be used on a Dask cluster"),
        ("parts", ["--for-each", "owner"], "--for-each cannot be used with --scheduler/--workers"),
    ],
)
def test_what_cannot_run_on_a_cluster_is_refused_before_one_starts(demo_parts, tmp_path, capsys, log, extra, said):
    name = "slippage" if "--name" in extra else "pipeline_health"
    extra = [e for e in extra if e not in ("--name", "slippage")]
    folder = DEMO if log == "demo" else demo_parts
    argv = ["report", name, str(folder), "--out", str(tmp_path / "out"), "--workers", "2", *extra]
    assert main(argv) == 2
    out = capsys.readouterr()
    assert said in out.err and "Dask cluster at" not in out.out, out
    assert not (tmp_path / "out").exists()


def test_health_path_is_the_runners_to_fill(demo_parts, tmp_path, capsys):
    argv = [
        "report",
        "pipeline_health",
        str(demo_parts),
        "--out",
        str(tmp_path / "out"),
        "-p",
        f"health_path={tmp_path}",
    ]
    assert main(argv) == 2
    assert "health_path is filled in by the runner" in capsys.readouterr().err
    assert main(["report", "--list"]) == 0
    assert "health_path" not in capsys.readouterr().out


def test_the_notebook_shows_what_the_runner_hands_it(demo_parts, tmp_path, monkeypatch):
    # the cluster's passes replaced by ones run here, two values altered: the page must show the altered values
    from dataclasses import replace

    import salesmetrics.reports.on_cluster as on_cluster
    from salesmetrics.reports.runner import run_report

    computed = report_parts(demo_parts, period="Q")
    assert len(computed.health.stuck_deals) and computed.money.table is not None
    altered = replace(
        computed,
        health=replace(computed.health, stuck_deals=computed.health.stuck_deals.iloc[:0]),
        money=replace(computed.money, notes=("A note handed over by the runner.",)),
    )
    monkeypatch.setattr(on_cluster, "report_parts", lambda *a, **k: altered)
    monkeypatch.setattr(on_cluster, "latest_on_cluster", lambda path, client: latest_on_cluster(path, None))
    page = run_report("pipeline_health", log=demo_parts, out=tmp_path, parameters={"period": "Q"}, client=object())
    text = page[0].read_text(encoding="utf-8")
    assert "No open deal had 5 or more activities since its last movement." in text
    assert "A note handed over by the runner." in text
    assert "as_of=2025-06-30" in text  # the moment of the health handed over, the whole log's latest event


def passes_here(monkeypatch, then=None) -> None:
    """The runner's cluster path with the parts' passes run here (``report_parts`` without a client), and ``then``
    done to the log folder once they ran (before the notebook starts)."""
    import salesmetrics.reports.on_cluster as on_cluster

    def here(path, **options):
        page = report_parts(path, **{**options, "client": None})
        if then is not None:
            then(Path(path))
        return page

    monkeypatch.setattr(on_cluster, "report_parts", here)
    monkeypatch.setattr(on_cluster, "latest_on_cluster", lambda path, client: latest_on_cluster(path, None))


def same_page_both_ways(parts: Path, tmp_path: Path, monkeypatch, parameters: dict, then=break_a_part) -> str:
    """The page made on one machine and the one made by the cluster path (passes here) of ``parts``, compared word
    for word; a part is broken once the passes ran, so the second page cannot have read the log."""
    from salesmetrics.reports.runner import run_report

    (here,) = run_report("pipeline_health", log=parts, out=tmp_path / "here", parameters=parameters)
    passes_here(monkeypatch, then=then)
    (there,) = run_report("pipeline_health", log=parts, out=tmp_path / "there", parameters=parameters, client=object())
    assert page_text(there) == page_text(here)
    return page_text(there)


@pytest.mark.parametrize("parameters", [{}, {"as_of": "2024-12-31", "period": "Q", "by": "team"}])
def test_the_page_of_the_cluster_path_is_the_one_made_here(tmp_path, monkeypatch, parameters):
    parts = partition_log(DEMO, tmp_path / "parts", 3).folder
    text = same_page_both_ways(parts, tmp_path, monkeypatch, parameters)
    assert "The bridge in money" in text and "Opening" in text


@pytest.mark.parametrize(("rates", "said"), [(None, "The deals carry 2 currencies"), ("EUR:1.08", "soft-deleted")])
def test_the_bridge_notes_of_the_cluster_path_are_the_ones_made_here(tmp_path, monkeypatch, rates, said):
    import numpy as np

    log = sm.read_log(DEMO)
    deals = log.deals.assign(
        currency=np.where(np.arange(len(log.deals)) % 3 == 0, "EUR", "USD"),
        is_deleted=np.where(np.arange(len(log.deals)) % 101 == 7, "true", "false"),
    )
    odd = sm.SalesLog(log.model, deals, log.stage_changes, log.activities, log.close_date_changes, log.source,
                      log.problems, log.amount_changes)  # fmt: skip
    sm.write_log(odd, tmp_path / "odd", "csv")
    parts = partition_log(tmp_path / "odd", tmp_path / "parts", 3).folder
    text = same_page_both_ways(parts, tmp_path, monkeypatch, {"rates": rates} if rates else {})
    assert said in text


def test_the_win_rates_of_an_undated_log_on_the_cluster_path_are_the_ones_made_here(tmp_path, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = partition_log(write_undated_log(tmp_path / "log"), tmp_path / "parts", 2).folder
    text = same_page_both_ways(
        parts, tmp_path, monkeypatch, {}, then=lambda p: (p / "part-00001" / "deals.csv").write_text("not,a,log\n")
    )
    assert "Win rates by owner" in text


def notes_of(run) -> list[str]:
    """The notes about the data ``run()`` raises (what the command line shows, once each)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, sm.DataNote)))


def same_notes_both_ways(whole: Path, tmp_path: Path, monkeypatch) -> str:
    """The report of the unsplit log ``whole`` on one machine and of its 3 parts by the cluster path (passes here):
    the same notes (decision 0067) and the same page words but for the log's name in the footer."""
    from salesmetrics.reports.runner import run_report

    parts = partition_log(whole, tmp_path / "parts", 3).folder
    here = tmp_path / "here"
    said_here = notes_of(lambda: run_report("pipeline_health", log=whole, out=here))
    passes_here(monkeypatch)
    there = tmp_path / "there"
    said_there = notes_of(lambda: run_report("pipeline_health", log=parts, out=there, client=object()))
    assert said_there == said_here
    text = page_text(there / "pipeline_health.html")
    assert text.replace(f"on the log {parts.name}", "") == page_text(here / "pipeline_health.html").replace(
        f"on the log {whole.name}", ""
    )
    return text


def test_the_report_of_a_log_with_warnings_says_the_same_notes_on_its_parts(tmp_path, monkeypatch):
    whole = write_log_with_warnings(tmp_path / "log")
    assert any(p.code == "missing_created_at" for p in sm.read_log(whole).problems)
    same_notes_both_ways(whole, tmp_path, monkeypatch)


DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.mark.skipif(not DATASETS.is_dir(), reason=f"the shared real datasets are not present at {DATASETS}")
def test_the_report_of_the_maven_dataset_on_its_parts_is_the_one_made_here(tmp_path, monkeypatch):
    whole = tmp_path / "maven"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm.import_snapshot(DATASETS / "maven_crm_sales", preset="maven", out=whole)
    assert {p.code for p in sm.read_log(whole).problems} >= {"missing_created_at", "deal_without_stages"}
    text = same_notes_both_ways(whole, tmp_path, monkeypatch)
    assert "The log has no close dates, so no deal is ever due" in text and "Closing amount (USD)" in text


def test_the_pre_flight_on_the_cluster_path_keeps_only_the_deals(tmp_path, monkeypatch):
    """Before a cluster computes the page, the client checks the parameters against the deals alone (no stage,
    close-date or amount change is kept here) and takes the latest event from the parts: the page's as_of is the
    one made on one machine, and an as_of before the first deal is refused with the same words."""
    from salesmetrics.reports import runner

    parts = partition_log(DEMO, tmp_path / "parts", 3).folder
    seen = []
    checked = runner.check_against_log

    def spy(report, values, log, **options):
        seen.append(log)
        return checked(report, values, log, **options)

    monkeypatch.setattr(runner, "check_against_log", spy)
    same_page_both_ways(parts, tmp_path, monkeypatch, {})
    here, there = seen
    assert len(here.stage_changes) and not len(there.stage_changes) and not len(there.close_date_changes)
    assert sorted(there.deals["deal_id"]) == sorted(sm.read_log(DEMO).deals["deal_id"])
    parts = partition_log(DEMO, tmp_path / "unbroken", 3).folder  # the page's run broke a part once it was read
    said = []
    for client in (None, object()):
        with pytest.raises(Exception) as caught:
            runner.run_report(
                "pipeline_health", log=parts, out=tmp_path / "early", parameters={"as_of": "2001-01-01"}, client=client
            )
        said.append(str(caught.value))
    assert said[0] == said[1] and "before the first deal" in said[0]
