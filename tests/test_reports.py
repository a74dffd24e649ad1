"""The report runner: parameters and log checked first, HTML self-contained, batches resume, writes atomic."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest

from salesmetrics.cli.main import main
from salesmetrics.exceptions import LogValidationError, UsageError
from salesmetrics.reports import catalog, pages
from salesmetrics.reports import runner as reports

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"
BROKEN = Path(__file__).parent / "fixtures" / "broken" / "unknown_stage"


@pytest.fixture(scope="module")
def tiny():
    return reports.list_reports(FIXTURES)["tiny_report"]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- parameters: names, types and the allowed values declared in the comments ---------------------------------


def test_list_reports_reads_typed_parameters_and_allowed_values(tiny):
    assert tiny.title == "Tiny test report"
    assert {n: p.type for n, p in tiny.parameters.items()} == {
        "log_path": "str",
        "owner": "Optional[str]",
        "team": "Optional[str]",
        "as_of": "Optional[str]",
        "color": "str",
        "bins": "int",
        "fail": "bool",
        "fail_for": "Optional[str]",
    }
    assert tiny.parameters["color"].choices == ("C0", "C1", "C2")
    assert tiny.parameters["color"].help == "bar colour"
    assert tiny.parameters["bins"].minimum == 1 and tiny.parameters["bins"].help == "histogram bins"
    assert tiny.parameters["owner"].choices is None and tiny.parameters["owner"].minimum is None
    assert "bins (int, default 10, at least 1): histogram bins" in tiny.describe()
    assert "log_path" not in tiny.describe()  # given with --log, not a parameter to set


def test_pipeline_health_declares_its_allowed_values():
    params = reports.get_report("pipeline_health").parameters
    assert params["period"].choices == ("W", "M", "Q")
    assert params["by"].choices == ("owner", "team")
    assert params["min_motions"].minimum == 1


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("one of W, M, Q: the period length", ("the period length", ("W", "M", "Q"), None, None)),
        ("One of owner,team:compare", ("compare", ("owner", "team"), None, None)),
        ("at least 0.5: a share", ("a share", None, 0.5, None)),
        ("between 0.01 and 0.99: a probability", ("a probability", None, 0.01, 0.99)),
        (
            "only the deals of this owner (None: everyone)",
            ("only the deals of this owner (None: everyone)", None, None, None),
        ),
        ("", ("", None, None, None)),
    ],
)
def test_parse_help(comment, expected):
    assert reports.parse_help(comment) == expected


def test_parameters_are_checked_and_coerced(tiny):
    assert reports.coerce_parameters(tiny, {"bins": "7", "fail": "no", "owner": "None"}) == {
        "bins": 7,
        "fail": False,
        "owner": None,
    }
    # values from a YAML parameters file arrive typed: a date becomes text, an integral float an int
    assert reports.coerce_parameters(tiny, {"as_of": dt.date(2024, 3, 31), "bins": 4.0}) == {
        "as_of": "2024-03-31",
        "bins": 4,
    }
    with pytest.raises(UsageError, match=r"no parameter 'bin'\. Did you mean 'bins'"):
        reports.coerce_parameters(tiny, {"bin": "7"})
    with pytest.raises(UsageError, match="'bins' of report 'tiny_report' must be int, not 'seven'"):
        reports.coerce_parameters(tiny, {"bins": "seven"})
    with pytest.raises(UsageError, match=r"'bins' of report 'tiny_report' must be int, not 2\.5"):
        reports.coerce_parameters(tiny, {"bins": 2.5})
    with pytest.raises(UsageError, match="'fail' of report 'tiny_report' must be bool, not 'maybe'"):
        reports.coerce_parameters(tiny, {"fail": "maybe"})
    with pytest.raises(UsageError, match="'bins' of report 'tiny_report' must be int, not None"):
        reports.coerce_parameters(tiny, {"bins": None})


def test_values_outside_the_declared_ones_are_rejected(tiny):
    with pytest.raises(
        UsageError, match=r"^Parameter 'color' of report 'tiny_report' must be one of C0, C1, C2, not 'C9'"
    ):
        reports.coerce_parameters(tiny, {"color": "C9"})
    with pytest.raises(UsageError, match=r"not 'c1'\. Did you mean 'C1'\?"):
        reports.coerce_parameters(tiny, {"color": "c1"})
    with pytest.raises(UsageError, match="'bins' of report 'tiny_report' must be at least 1, not '0'"):
        reports.coerce_parameters(tiny, {"bins": "0"})
    assert reports.coerce_parameters(tiny, {"color": "C2", "bins": "1"}) == {"color": "C2", "bins": 1}


def test_pipeline_health_values_rejected_before_running(tmp_path):
    for given, message in [
        ({"period": "Y"}, "Parameter 'period' of report 'pipeline_health' must be one of W, M, Q, not 'Y'"),
        ({"by": "region"}, "must be one of owner, team, not 'region'"),
        ({"min_motions": "0"}, "must be at least 1"),
    ]:
        with pytest.raises(UsageError, match=message):
            reports.run_report("pipeline_health", log=DEMO, out=tmp_path, parameters=given)
    # a probability above 1 used to pass the check and fail inside the notebook after seconds of work
    with pytest.raises(
        UsageError, match=r"'threshold' of report 'stall_risk' must be between 0\.01 and 0\.99, not '5'"
    ):
        reports.run_report("stall_risk", log=DEMO, out=tmp_path, parameters={"threshold": "5"})
    assert _files(tmp_path) == []


# --- values that depend on the log -------------------------------------------------------------------------------


def test_owner_team_and_as_of_are_checked_against_the_log(tiny_log_dir, tmp_path):
    def run(**params):
        reports.run_report("tiny_report", log=tiny_log_dir, out=tmp_path / "out", folder=FIXTURES, parameters=params)

    with pytest.raises(
        UsageError, match=r"no deal in .* has owner 'Ann'\. Close matches: 'ann'\. Owners \(2\): ann, bob\."
    ):
        run(owner="Ann")
    with pytest.raises(UsageError, match=r"has owner 'zed'\. Owners \(2\): ann, bob\.$"):
        run(owner="zed")
    with pytest.raises(UsageError, match=r"Parameter 'team' .* has team 'north'\. .*Teams \(2\): east, west\."):
        run(team="north")
    with pytest.raises(UsageError, match=r"no deal in .* has team 'west' and owner 'ann'\."):
        run(owner="ann", team="west")
    with pytest.raises(UsageError, match=r"Parameter 'as_of' of report 'tiny_report': as_of 'soon' is not a date"):
        run(as_of="soon")
    with pytest.raises(UsageError, match=r"2023-12-31 is before the first deal .* \(2024-01-02\); choose a date from "):
        run(as_of="2023-12-31")
    assert not (tmp_path / "out").exists()


def test_invalid_log_or_parameters_write_nothing(tmp_path):
    with pytest.raises(LogValidationError, match="stage"):
        reports.run_report("tiny_report", log=BROKEN, out=tmp_path / "a", folder=FIXTURES)
    with pytest.raises(UsageError):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path / "b", folder=FIXTURES, parameters={"x": 1})
    with pytest.raises(UsageError, match=r"No report named 'tiny'\. Did you mean 'tiny_report'"):
        reports.run_report("tiny", log=DEMO, out=tmp_path / "c", folder=FIXTURES)
    with pytest.raises(UsageError, match="not as the parameter log_path"):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path / "d", folder=FIXTURES, parameters={"log_path": "x"})
    with pytest.raises(UsageError, match="format must be one of html, ipynb, both"):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path / "e", folder=FIXTURES, format="pdf")
    assert not any(tmp_path.iterdir())
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(UsageError, match=r"--out .*f is a file; give the folder"):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path / "f", folder=FIXTURES)


# --- running, rendering, keeping -----------------------------------------------------------------------------


@pytest.mark.notebook
def test_run_report_writes_self_contained_html_and_notebook(tmp_path):
    written = reports.run_report(
        "tiny_report", log=DEMO, out=tmp_path, folder=FIXTURES, parameters={"bins": 5, "team": "Team A"}, format="both"
    )
    assert [p.name for p in written] == ["tiny_report.ipynb", "tiny_report.html"] and written.kept == []
    page = (tmp_path / "tiny_report.html").read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 1  # the figure is embedded
    assert not re.findall(r'(?:src|href)="https?://', page)  # nothing fetched from the network
    assert "<script" not in page and "@import" not in page  # a static page: no script at all
    assert "import matplotlib" not in page and "log_path" not in page  # code hidden by default
    deals = sum(1 for line in (DEMO / "deals.csv").read_text().splitlines()[1:] if line.endswith(",Team A"))
    assert f"{deals} deals" in page  # the filter reached the notebook
    assert "<title>Tiny test report: Team A</title>" in page
    assert "with bins=5, team=Team A" in page  # the footer says how the report was made
    notebook = json.loads((tmp_path / "tiny_report.ipynb").read_text())
    assert notebook["metadata"]["salesmetrics"]["made_from"].startswith("sha256:")
    assert _files(tmp_path) == ["tiny_report.html", "tiny_report.ipynb"]  # no temporary files left
    with_code = reports.render_html(tmp_path / "tiny_report.ipynb", show_code=True)  # what --show-code gives
    assert "filter_log" in with_code and 'class="highlight' in with_code and ".highlight" in with_code


@pytest.mark.notebook
def test_failing_cell_names_the_cell_and_leaves_no_report(tmp_path):
    with pytest.raises(reports.ReportExecutionError, match="AssertionError: asked to fail"):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path, folder=FIXTURES, parameters={"fail": True})
    assert _files(tmp_path) == []


def test_interrupted_run_leaves_nothing_half_written(tmp_path, monkeypatch):
    def interrupted(self, nb):
        nb.cells[-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "half"}]
        raise KeyboardInterrupt

    monkeypatch.setattr(reports.ReportKernel, "execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reports.run_report("tiny_report", log=DEMO, out=tmp_path, folder=FIXTURES)
    assert _files(tmp_path) == []
    target = tmp_path / "kept.html"
    target.write_text("the old report")
    with pytest.raises(UnicodeEncodeError):
        reports.write_text_atomic(target, "the new report, cut short \ud800")
    assert target.read_text() == "the old report" and _files(tmp_path) == ["kept.html"]


def test_existing_reports_are_kept_run_again_or_refused(tmp_path):
    page, notebook = tmp_path / "r.html", tmp_path / "r.ipynb"
    page.write_text('<!DOCTYPE html><head><meta name="salesmetrics-made-from" content="sha256:x">')
    assert reports._existing_state([page], "sha256:x", overwrite=False) is True  # same inputs: keep
    assert reports._existing_state([page, notebook], "sha256:x", overwrite=False) is False  # one missing: run
    assert reports._existing_state([page], "sha256:x", overwrite=True) is False
    with pytest.raises(UsageError, match=r"r\.html already exists and was made from other parameters"):
        reports._existing_state([page], "sha256:y", overwrite=False)
    notebook.write_text(json.dumps({"metadata": {"salesmetrics": {"made_from": "sha256:x"}}}))
    assert reports._existing_state([page, notebook], "sha256:x", overwrite=False) is True
    page.write_text("<html>made by hand</html>")  # not made by the runner: never replaced without --overwrite
    with pytest.raises(UsageError):
        reports._existing_state([page], "sha256:x", overwrite=False)


def test_render_html_aligns_text_columns_left():
    table = (
        '<table border="1" class="dataframe"><thead><tr><th></th><th>owner</th><th>deals</th></tr></thead>'
        "<tbody><tr><th>0</th><td>Ann</td><td>1,200</td></tr><tr><th>1</th><td>Bob</td><td>NaN</td></tr></tbody></table>"
    )
    aligned = pages._align_table(table)
    assert aligned.count('class="text"') == 3  # the owner header and its two cells; numbers stay right
    assert '<th class="text">owner</th>' in aligned and "<td>1,200</td>" in aligned


# --- batches -------------------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_batch_per_owner_resumes_and_indexes(tiny_log_dir, tmp_path):
    out = tmp_path / "batch"
    written = reports.run_batch(
        "tiny_report", log=tiny_log_dir, out=out, for_each="owner", folder=FIXTURES, progress=False
    )
    assert [p.name for p in written] == ["index.html", "tiny_report-ann.html", "tiny_report-bob.html"]
    assert written.kept == []
    index = (out / "index.html").read_text()
    assert 'href="tiny_report-ann.html">ann<' in index and 'href="tiny_report-bob.html">bob<' in index
    assert "2 deals" in (out / "tiny_report-ann.html").read_text()  # ann has 2 of the 3 deals
    stamp = (out / "tiny_report-ann.html").stat().st_mtime_ns
    (out / "tiny_report-bob.html").unlink()  # as if interrupted before bob's report
    again = reports.run_batch(
        "tiny_report", log=tiny_log_dir, out=out, for_each="owner", folder=FIXTURES, progress=False
    )
    assert (out / "tiny_report-ann.html").stat().st_mtime_ns == stamp  # finished report kept
    assert [p.name for p in again.kept] == ["tiny_report-ann.html"]
    assert "1 deals" in (out / "tiny_report-bob.html").read_text()
    for page in ("tiny_report-ann.html", "tiny_report-bob.html"):  # as of the log's latest event, not the owner's
        assert "as_of=2024-02-03 08:00 UTC+01:00" in (out / page).read_text()
    assert _files(out) == ["index.html", "tiny_report-ann.html", "tiny_report-bob.html"]
    # a new export of the log in the same folder: the old reports are not passed off as finished
    deals = tiny_log_dir / "deals.csv"
    os.utime(deals, ns=(deals.stat().st_atime_ns, deals.stat().st_mtime_ns + 10**9))
    with pytest.raises(UsageError, match=r"tiny_report-ann\.html already exists and was made from other parameters"):
        reports.run_batch("tiny_report", log=tiny_log_dir, out=out, for_each="owner", folder=FIXTURES, progress=False)
    assert (out / "tiny_report-ann.html").stat().st_mtime_ns == stamp


@pytest.mark.notebook
def test_batch_goes_on_after_a_failed_report(tiny_log_dir, tmp_path):
    with pytest.raises(reports.ReportExecutionError, match=r"1 of 2 reports failed \(ann\).*asked to fail for ann"):
        reports.run_batch(
            "tiny_report",
            log=tiny_log_dir,
            out=tmp_path / "out",
            for_each="owner",
            parameters={"fail_for": "ann"},
            folder=FIXTURES,
            progress=False,
        )
    assert _files(tmp_path / "out") == ["index.html", "tiny_report-bob.html"]
    index = (tmp_path / "out" / "index.html").read_text()
    assert "Not made" in index and "asked to fail for ann" in index


def test_batch_checks_before_running(tiny_log_dir, tmp_path):
    def batch(**kwargs):
        options = {
            "log": tiny_log_dir,
            "out": tmp_path / "out",
            "for_each": "owner",
            "folder": FIXTURES,
            "progress": False,
        }
        reports.run_batch("tiny_report", **{**options, **kwargs})

    with pytest.raises(UsageError, match="either --for-each owner or the parameter owner, not both"):
        batch(parameters={"owner": "ann"})
    with pytest.raises(UsageError, match="--for-each must be 'owner' or 'team', not 'stage'"):
        batch(for_each="stage")
    with pytest.raises(UsageError, match="must be one of C0, C1, C2"):
        batch(parameters={"color": "red"})
    with pytest.raises(UsageError, match="has team 'north'"):
        batch(parameters={"team": "north"})
    assert not (tmp_path / "out").exists()
    assert reports.slug("Anna Lee") == reports.slug("anna-lee") == "anna-lee"


# --- command line --------------------------------------------------------------------------------------------


def test_cli_report_errors(tmp_path, capsys):
    assert main(["report", "--list"]) == 0
    assert 'period (str, default "M", one of W, M, Q)' in capsys.readouterr().out
    assert main(["report", "pipeline_health"]) == 2  # no LOG / --out
    assert "a LOG folder and --out DIR" in capsys.readouterr().err
    assert main(["report", "nope", str(DEMO), "--out", str(tmp_path)]) == 2
    assert "No report named 'nope'" in capsys.readouterr().err
    args = ["report", "pipeline_health", str(DEMO), "--out", str(tmp_path)]
    assert main([*args, "-p", "period=Y"]) == 2
    err = capsys.readouterr().err
    assert "error: Parameter 'period' of report 'pipeline_health' must be one of W, M, Q, not 'Y'." in err
    assert main([*args, "-p", "owner=Ava"]) == 2
    assert "no deal in" in (err := capsys.readouterr().err) and "Close matches: 'Ava M.'" in err
    assert main([*args, "-p", "period"]) == 2
    assert "-p expects key=value" in capsys.readouterr().err
    (tmp_path / "params.yaml").write_text("as_of: 2023-06-30  # YAML reads a date\nperiod: Q\n")
    assert main([*args, "-f", str(tmp_path / "params.yaml")]) == 2
    assert "2023-06-30 is before the first deal" in capsys.readouterr().err
    (tmp_path / "params.yaml").write_text("as_of: 2024-13-45\n")
    assert main([*args, "-f", str(tmp_path / "params.yaml")]) == 2
    assert "cannot read parameters file" in capsys.readouterr().err
    assert main(["report", "pipeline_health", str(BROKEN), "--out", str(tmp_path)]) == 1
    assert _files(tmp_path) == ["params.yaml"]


@pytest.mark.notebook
def test_cli_batch_and_resume(tiny_log_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(catalog, "NOTEBOOKS", FIXTURES)  # the command line runs the fixture's report
    out = tmp_path / "per-team"
    args = ["report", "tiny_report", str(tiny_log_dir), "--out", str(out), "--for-each", "team"]
    assert main([*args, "-p", "bins=3"]) == 0
    captured = capsys.readouterr()
    assert "2/2" in captured.err  # the progress bar
    assert f"Wrote {out / 'index.html'}" in captured.out and f"Wrote {out / 'tiny_report-east.html'}" in captured.out
    assert main([*args, "-p", "bins=3"]) == 0  # resume: nothing left to do
    assert f"Kept {out / 'tiny_report-east.html'}" in capsys.readouterr().out
    assert main([*args, "-p", "bins=4"]) == 2  # other parameters: refuse to replace without --overwrite
    assert "already exists and was made from other parameters" in capsys.readouterr().err
    assert _files(out) == ["index.html", "tiny_report-east.html", "tiny_report-west.html"]


class _Stop(Exception):
    """Raised by a spy to stop a report before its kernel starts."""


def test_force_is_the_old_name_of_overwrite(tiny_log_dir, tmp_path, monkeypatch):
    seen = []

    def spy(wanted, record, overwrite):  # what the runner decides with: the value overwrite has inside
        seen.append(overwrite)
        raise _Stop

    monkeypatch.setattr(reports, "_existing_state", spy)
    where = {"log": tiny_log_dir, "out": tmp_path / "out", "folder": FIXTURES}
    for run, options in ((reports.run_report, where), (reports.run_batch, {**where, "for_each": "team"})):
        with pytest.warns(DeprecationWarning, match="overwrite="), pytest.raises(_Stop):
            run("tiny_report", force=True, **options)
        for given in ({"overwrite": True}, {}):
            with pytest.raises(_Stop):
                run("tiny_report", **given, **options)
    assert seen == [True, True, False] * 2
