"""Nothing is lost: every command checks its outputs with one helper (salesmetrics/_util/output.py) before the work.

Inputs (log folders, model files, exports) are never written, whatever --overwrite or --force says; a full disk
or a read-only folder gives one line naming the path and the system's reason, exit 1, and no partial file.

Tests run as root in CI, where chmod does not stop root from writing: the read-only cases chmod the folder and,
as root, also inject the error the system would give (EACCES) into ``tempfile.mkstemp`` for that folder. A full
disk is simulated by making the write raise ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmetrics._util.output import check_output_file, check_output_folder, check_writable
from salesmetrics.cli.main import main
from salesmetrics.exceptions import OutputError, UsageError
from salesmetrics.reports import runner as reports

ADAPTERS = Path(__file__).parent / "fixtures" / "adapters"
HUBSPOT = ADAPTERS / "hubspot" / "hubspot-deals.csv"
DISK_FULL = OSError(errno.ENOSPC, "No space left on device")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(err: str) -> str:
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory) -> Path:
    """A small simulated log (Parquet) a model can be trained on in a second."""
    from salesmetrics.simulation.simulator import simulate

    folder = tmp_path_factory.mktemp("sim") / "log"
    simulate(n_deals=150, n_owners=3, seed=3, months=6, progress=False).write(folder)
    return folder


def _train(log: Path, out: Path, *extra: str) -> list[str]:
    """A stall model in a second: the logistic fallback on one thread."""
    fast = ["--model", "logistic", "--jobs", "1", "--min-closed", "1000"]
    return ["model", "train", str(log), "--target", "stall", "--out", str(out), *fast, *extra]


@pytest.fixture(scope="module")
def model_file(sim_log, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "stall.skops"
    assert main(_train(sim_log, out)) == 0
    return out


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder nobody may write to (chmod 0o555; as root, EACCES injected for it, since root writes anyway)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        real = tempfile.mkstemp

        def mkstemp(*args, **kwargs):
            where = kwargs.get("dir")
            if where is not None and Path(where).resolve() == folder.resolve():
                raise PermissionError(errno.EACCES, "Permission denied", str(where))
            return real(*args, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    yield folder
    folder.chmod(0o755)


# -- the helper, hand-made cases ------------------------------------------------------------------------------


def test_an_output_inside_a_log_folder_is_refused_even_with_overwrite(tiny_log_dir):
    for path in (tiny_log_dir / "scores.csv", tiny_log_dir / "deals.csv", tiny_log_dir / "sub" / "x.csv"):
        with pytest.raises(UsageError, match=r"inside the log folder .*tiny, which this command only reads"):
            check_output_file(path, overwrite=True, logs=[tiny_log_dir])
    with pytest.raises(UsageError, match="it is the folder the log is read from"):
        check_output_file(tiny_log_dir, overwrite=True, logs=[tiny_log_dir])


def test_an_output_reached_through_a_link_into_the_log_folder_is_refused(tmp_path, tiny_log_dir):
    link = tmp_path / "elsewhere"
    link.symlink_to(tiny_log_dir, target_is_directory=True)
    with pytest.raises(UsageError, match="inside the log folder"):
        check_output_file(link / "scores.csv", overwrite=True, logs=[tiny_log_dir])


def test_an_output_equal_to_an_input_file_is_refused(tmp_path):
    model = tmp_path / "stall.skops"
    model.write_bytes(b"model")
    with pytest.raises(UsageError, match=r"stall\.skops: it is the file being read; choose another path"):
        check_output_file(tmp_path / "." / "stall.skops", overwrite=True, inputs=[model])
    assert model.read_bytes() == b"model"


def test_an_existing_file_needs_overwrite_and_the_message_names_the_flag(tmp_path):
    out = tmp_path / "risks.csv"
    out.write_text("keep")
    with pytest.raises(
        UsageError, match=r"risks\.csv already exists; choose another file or pass overwrite=True \(--force\)"
    ):
        check_output_file(out, flag="--force")
    assert check_output_file(out, overwrite=True) == out
    with pytest.raises(UsageError, match="is a folder; give a file name"):
        check_output_file(tmp_path, overwrite=True)
    with pytest.raises(UsageError, match="does not exist; create it first"):
        check_output_file(tmp_path / "missing" / "x.csv")


def test_a_folder_output_may_not_hold_an_input_when_it_is_replaced_whole(tmp_path, tiny_log_dir):
    with pytest.raises(UsageError, match="it holds the log folder"):
        check_output_folder(tmp_path, logs=[tiny_log_dir])
    # a folder of reports is only written into: it may hold the log
    assert check_output_folder(tmp_path, logs=[tiny_log_dir], replaces=False) == tmp_path
    with pytest.raises(UsageError, match=r"is a file; give the folder to write the reports into"):
        check_output_folder(tiny_log_dir / "deals.csv", what="the reports")


def test_a_read_only_folder_is_found_before_the_work(read_only):
    with pytest.raises(OutputError, match=r"cannot write .*read-only.*: permission denied \(EACCES"):
        check_writable(read_only / "not-yet" / "there")  # the nearest folder that exists is probed
    assert list(read_only.iterdir()) == []


# -- every command refuses to write into its input, whatever --overwrite says -----------------------------------


@pytest.mark.parametrize("action", ["train", "evaluate", "predict"])
def test_model_out_inside_the_log_folder_is_refused_with_force(action, tiny_log_dir, tmp_path, capsys):
    model = tmp_path / "stall.skops"
    model.write_bytes(b"not looked at: the output is checked first")
    before = _files(tiny_log_dir)
    out = tiny_log_dir / ("new.skops" if action == "train" else "new.csv")
    if action == "train":
        argv = ["model", "train", str(tiny_log_dir), "--target", "stall", "--out", str(out), "--overwrite"]
    else:
        argv = ["model", action, str(tiny_log_dir), "--model", str(model), "--out", str(out), "--overwrite"]
    assert main(argv) == 2
    assert "inside the log folder" in _one_line(capsys.readouterr().err)
    assert _files(tiny_log_dir) == before


@pytest.mark.parametrize("action", ["evaluate", "predict"])
def test_model_out_equal_to_the_model_file_is_refused_with_force(action, tiny_log_dir, tmp_path, capsys):
    model = tmp_path / "stall.skops"
    model.write_bytes(b"the trained model")
    argv = ["model", action, str(tiny_log_dir), "--model", str(model), "--out", str(model), "--overwrite"]
    assert main(argv) == 2
    assert "it is the file being read" in _one_line(capsys.readouterr().err)
    assert model.read_bytes() == b"the trained model"


def test_model_train_out_equal_to_a_log_file_is_refused(tiny_log_dir, capsys):
    before = _files(tiny_log_dir)
    argv = ["model", "train", str(tiny_log_dir), "--target", "won", "--out", str(tiny_log_dir / "deals.csv")]
    assert main([*argv, "--overwrite"]) == 2 and "inside the log folder" in capsys.readouterr().err
    assert _files(tiny_log_dir) == before


def test_backtest_refuses_the_same_file_for_table_and_plot(tiny_log_dir, tmp_path, capsys):
    same = tmp_path / "x.png"
    argv = ["model", "backtest", str(tiny_log_dir), "--target", "won", "--out", str(same), "--plot", str(same)]
    assert main(argv) == 2 and "--out and --plot are the same file" in capsys.readouterr().err


def test_score_out_inside_the_log_folder_is_refused_with_overwrite(tiny_log_dir, capsys):
    before = _files(tiny_log_dir)
    argv = ["score", str(tiny_log_dir), "--out", str(tiny_log_dir / "deals.csv"), "--overwrite", "--quiet"]
    assert main(argv) == 2 and "inside the log folder" in capsys.readouterr().err
    assert _files(tiny_log_dir) == before


@pytest.mark.parametrize("where", ["the-log", "inside"])
def test_report_out_in_the_log_folder_is_refused_before_anything_runs(where, tiny_log_dir, monkeypatch, capsys):
    monkeypatch.setattr(reports, "ReportKernel", None)  # no kernel may start
    before = _files(tiny_log_dir)
    out = tiny_log_dir if where == "the-log" else tiny_log_dir / "reports"
    argv = ["report", "pipeline_health", str(tiny_log_dir), "--out", str(out), "--overwrite"]
    assert main(argv) == 2
    assert "Refusing to write" in _one_line(capsys.readouterr().err)
    assert _files(tiny_log_dir) == before and not (tiny_log_dir / "reports").exists()


# -- a read-only output folder: exit 1, one line, found before the work ------------------------------------------


def _commands(log: Path, out_folder: Path, model: Path | None = None) -> dict[str, list[str]]:
    return {
        "score": ["score", str(log), "--out", str(out_folder / "scores.csv"), "--quiet"],
        "report": ["report", "pipeline_health", str(log), "--out", str(out_folder / "reports")],
        "simulate": [
            "simulate",
            "--deals",
            "30",
            "--owners",
            "3",
            "--months",
            "3",
            "--quiet",
            "--out",
            str(out_folder / "s"),
        ],
        "import": ["import", "hubspot", str(HUBSPOT), "--out", str(out_folder / "hubspot-log")],
        "model": _train(log, out_folder / "stall.skops"),
    }


@pytest.mark.parametrize("command", ["score", "report", "simulate", "import", "model"])
def test_a_read_only_output_folder_is_one_line_and_exit_1(command, read_only, tiny_log_dir, monkeypatch, capsys):
    monkeypatch.setattr(reports, "ReportKernel", None)  # report: found before the notebook runs
    import salesmetrics.simulation.simulator as simulate_module

    monkeypatch.setattr(simulate_module, "simulate", None)  # simulate: found before simulating
    assert main(_commands(tiny_log_dir, read_only)[command]) == 1
    err = _one_line(capsys.readouterr().err)
    assert f"salesmetrics {command}: cannot write {read_only}" in err and "permission denied (EACCES" in err
    assert list(read_only.iterdir()) == []


# -- a full disk while writing: exit 1, one line, no partial file, what was there unchanged ----------------------


def _full(*args, **kwargs):
    raise DISK_FULL


def _fake_kernel(cwd):
    """Stands in for the report kernel: the notebook 'runs' without outputs, so the test reaches the writing."""

    class Kernel:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, nb):
            return nb

    return Kernel()


def test_score_on_a_full_disk(tiny_log_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(os, "replace", _full)  # the last step of every atomic write
    assert main(["score", str(tiny_log_dir), "--out", str(out / "scores.csv"), "--quiet"]) == 1
    err = _one_line(capsys.readouterr().err)
    assert f"salesmetrics score: cannot write {out / 'scores.csv'}: the disk is full (ENOSPC" in err
    assert list(out.iterdir()) == []


def test_score_when_duckdb_cannot_write(tiny_log_dir, tmp_path, monkeypatch, capsys):
    import duckdb

    import salesmetrics.metrics.scoring as scoring

    def io_error(*args, **kwargs):
        raise duckdb.IOException('IO Error: Could not write file "x": No space left on device')

    monkeypatch.setattr(scoring, "deal_scores_to_file", io_error)  # the engine steps aside ...
    monkeypatch.setattr(scoring, "write_frame", io_error)  # ... and the pandas path's writer fails too
    out = tmp_path / "scores.parquet"
    assert main(["score", str(tiny_log_dir), "--out", str(out), "--quiet"]) == 1
    err = _one_line(capsys.readouterr().err)
    assert f"salesmetrics score: cannot write {out}: IO Error: Could not write file" in err and "No space" in err
    assert not out.exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["log", "sub", "..", ".", "out"]), min_size=1, max_size=5))
def test_an_output_is_refused_exactly_when_it_lands_in_the_log_folder(parts):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve() / "a" / "b"
        log = root / "log"
        log.mkdir(parents=True)
        out = root.joinpath(*parts, "x.csv")
        lands = os.path.normpath(out)
        inside = Path(lands).is_relative_to(log)
        try:
            check_output_file(out, overwrite=True, logs=[log])
            refused = False
        except UsageError as exc:
            refused = "log folder" in str(exc)
            if not refused:  # any other refusal: the folder on the way does not exist
                assert "does not exist" in str(exc)
                assert not os.path.isdir(out.parent)  # as the system sees it: "sub/.." needs "sub"
        assert refused == inside


def test_report_on_a_full_disk(tiny_log_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "reports"
    monkeypatch.setattr(reports, "ReportKernel", _fake_kernel)
    monkeypatch.setattr(Path, "write_text", _full)
    assert main(["report", "pipeline_health", str(tiny_log_dir), "--out", str(out)]) == 1
    err = _one_line(capsys.readouterr().err)
    assert f"cannot write {out / 'pipeline_health.html'}: the disk is full" in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("command", ["simulate", "import"])
def test_log_writers_on_a_full_disk_keep_the_old_log(command, tiny_log_dir, tmp_path, monkeypatch, capsys):
    import pyarrow.parquet as pq

    folder = tmp_path / "out"
    folder.mkdir()
    argv = _commands(tiny_log_dir, folder)[command]
    assert main(argv) == 0  # a first log, to be replaced
    target = Path(argv[argv.index("--out") + 1])
    before = _files(target)
    capsys.readouterr()
    real = pq.write_table

    def full_here(table, where, **kwargs):  # the output's disk is full (not the one of temporary files)
        if folder in Path(where).parents:
            raise DISK_FULL
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", full_here)
    assert main([*argv, "--overwrite"]) == 1
    err = _one_line(capsys.readouterr().err)
    assert f"salesmetrics {command}: cannot write {target.absolute()}: the disk is full" in err
    assert _files(target) == before
    assert sorted(p.name for p in folder.iterdir()) == [target.name]  # no staging folder left


def test_model_train_on_a_full_disk(sim_log, tmp_path, monkeypatch, capsys):
    out = tmp_path / "stall.skops"
    out.write_bytes(b"the model trained yesterday")
    monkeypatch.setattr(Path, "write_bytes", _full)  # save_model writes the skops bytes, then appends the card
    assert main(_train(sim_log, out, "--overwrite")) == 1
    err = capsys.readouterr().err
    assert f"salesmetrics model: cannot write {out}: the disk is full" in _one_line(err)
    assert out.read_bytes() == b"the model trained yesterday"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stall.skops"]


def test_model_predict_on_a_full_disk(sim_log, model_file, tmp_path, monkeypatch, capsys):
    import pandas as pd

    out = tmp_path / "risks.csv"
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full)
    assert main(["model", "predict", str(sim_log), "--model", str(model_file), "--out", str(out)]) == 1
    assert f"cannot write {out}: the disk is full" in _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_any_other_file_system_error_is_one_line_exit_1(tiny_log_dir, monkeypatch, capsys):
    import salesmetrics.cli.main as cli

    def locked(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/share/deals.csv")

    monkeypatch.setattr(cli, "_cmd_validate", locked)
    assert main(["validate", str(tiny_log_dir)]) == 1
    assert capsys.readouterr().err == (
        "salesmetrics validate: cannot use /srv/share/deals.csv: Permission denied (EACCES).\n"
    )
    monkeypatch.setattr(cli, "_cmd_validate", _full)
    assert main(["validate", str(tiny_log_dir)]) == 1
    assert capsys.readouterr().err == (
        "salesmetrics validate: a file could not be read or written: No space left on device (ENOSPC).\n"
    )


def test_a_full_temporary_disk_during_import_names_the_folder(tmp_path, monkeypatch, capsys):
    import pyarrow.parquet as pq

    monkeypatch.setattr(pq, "write_table", _full)  # the import's own check writes the log to a temporary folder
    assert main(["import", "hubspot", str(HUBSPOT), "--out", str(tmp_path / "log")]) == 1
    err = _one_line(capsys.readouterr().err)
    assert f"salesmetrics import: cannot write {tempfile.gettempdir()}" in err and "the disk is full" in err
    assert list(tmp_path.iterdir()) == []
