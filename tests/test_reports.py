"""The report runner: parameters and log checked first, HTML self-contained, batches resume, writes atomic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesmetrics import reports
from salesmetrics.cli import main
from salesmetrics.exceptions import LogValidationError, UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"
BROKEN = Path(__file__).parent / "fixtures" / "broken" / "unknown_stage"


def test_list_reports_reads_typed_parameters():
    report = reports.list_reports(FIXTURES)["tiny_report"]
    assert report.title == "Tiny test report"
    assert {n: p.type for n, p in report.parameters.items()} == {
        "log_path": "str",
        "owner": "Optional[str]",
        "fail": "bool",
        "bins": "int",
    }
    assert report.parameters["bins"].help == "histogram bins"


def test_parameters_are_checked_and_coerced():
    report = reports.list_reports(FIXTURES)["tiny_report"]
    assert reports.coerce_parameters(report, {"bins": "7", "fail": "no"}) == {"bins": 7, "fail": False}
    with pytest.raises(UsageError, match=r"no parameter 'bin'\. Did you mean 'bins'"):
        reports.coerce_parameters(report, {"bin": "7"})
    with pytest.raises(UsageError, match="'bins' of report 'tiny_report' must be int, not 'seven'"):
        reports.coerce_parameters(report, {"bins": "seven"})


def test_run_report_writes_self_contained_html(tmp_path):
    (html,) = reports.run_report("tiny_report", log=DEMO, out=tmp_path, folder=FIXTURES, parameters={"bins": 5})
    page = html.read_text()
    assert "data:image/png;base64" in page  # the figure is embedded
    assert not re.findall(r'(?:src|href)="https?://', page)  # nothing fetched from the network
    assert "import matplotlib" not in page  # code hidden by default
    assert "2000 deals" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_report.html"]  # no temporary files left


def test_invalid_log_or_parameters_write_nothing(tmp_path):
    with pytest.raises(LogValidationError, match="stage"):
        reports.run_report("tiny_report", log=BROKEN, out=tmp_path / "a", folder=FIXTURES)
    with pytest.raises(UsageError):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path / "b", folder=FIXTURES, parameters={"x": 1})
    with pytest.raises(UsageError, match=r"No report named 'tiny'\. Did you mean 'tiny_report'"):
        reports.run_report("tiny", log=DEMO, out=tmp_path / "c", folder=FIXTURES)
    assert not any(tmp_path.iterdir())


def test_failing_cell_names_the_cell_and_leaves_no_report(tmp_path):
    with pytest.raises(reports.ReportExecutionError, match="AssertionError: asked to fail"):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path, folder=FIXTURES, parameters={"fail": True})
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob(".*"))


def test_batch_per_owner_resumes_and_indexes(tmp_log_two_owners, tmp_path):
    out = tmp_path / "batch"
    written = reports.run_batch(
        "tiny_report", log=tmp_log_two_owners, out=out, for_each="owner", folder=FIXTURES, progress=False
    )
    assert [p.name for p in written] == ["index.html", "tiny_report-ann.html", "tiny_report-bob.html"]
    index = (out / "index.html").read_text()
    assert 'href="tiny_report-ann.html"' in index and 'href="tiny_report-bob.html"' in index
    stamp = (out / "tiny_report-ann.html").stat().st_mtime_ns
    (out / "tiny_report-bob.html").unlink()  # as if interrupted before bob's report
    reports.run_batch("tiny_report", log=tmp_log_two_owners, out=out, for_each="owner", folder=FIXTURES, progress=False)
    assert (out / "tiny_report-ann.html").stat().st_mtime_ns == stamp  # finished report skipped
    assert (out / "tiny_report-bob.html").exists()
    assert "3 deals" not in (out / "tiny_report-ann.html").read_text()  # ann has 2 of the 3 deals
    assert "2 deals" in (out / "tiny_report-ann.html").read_text()


@pytest.fixture
def tmp_log_two_owners(tiny_log_dir):
    return tiny_log_dir


def test_cli_report_errors(tmp_path, capsys):
    assert main(["report", "--list"]) == 0
    assert main(["report", "pipeline_health"]) == 2  # no --log / --out
    assert "--log" in capsys.readouterr().err
    assert main(["report", "nope", "--log", str(DEMO), "--out", str(tmp_path)]) == 2
    assert "No report named 'nope'" in capsys.readouterr().err
