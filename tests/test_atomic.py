"""The one atomic-write helper every writer of reports, scores, models, figures, handouts and log folders goes
through: a failed or interrupted write never loses what was there (fault injection on each step)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

import salesmetrics as sm
from salesmetrics._util.atomic import atomic_folder, atomic_path, write_text_atomic
from salesmetrics.exceptions import OutputError


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a rep")
        raise RuntimeError("the kernel died")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_finished_write_replaces_the_file_with_shareable_permissions(tmp_path):
    target = tmp_path / "sub" / "scores.csv"
    umask = os.umask(0o027)
    try:
        write_text_atomic(target, "deal_id\nA\n")
    finally:
        os.umask(umask)
    assert target.read_text() == "deal_id\nA\n"
    assert target.stat().st_mode & 0o777 == 0o640  # what a new file gets under the umask, not mkstemp's 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["scores.csv"]


# -- folders: the old log survives a failed or interrupted replacement ----------------------------------------


def _files(folder):
    """Every file below ``folder`` with its bytes: what 'byte-identical' is checked against."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _fail_call(monkeypatch, module, name, n, error):
    """Make the ``n``-th call of ``module.name`` raise ``error`` (earlier and later calls run as usual)."""
    real = getattr(module, name)
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, fake)
    return calls


@pytest.fixture
def old_log(tmp_path, tiny_log_dir):
    """A log written by write_log (CSV), to be replaced (Parquet) by the tests, and its files' bytes."""
    target = sm.write_log(sm.read_log(tiny_log_dir), tmp_path / "out" / "log", format="csv")
    return target, _files(target)


def _left_beside(target):
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


@pytest.mark.parametrize("step", [1, 2], ids=["old-folder-aside", "new-folder-in"])
@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), OSError(errno.EBUSY, "Device busy"), KeyboardInterrupt()],
    ids=["disk-full", "locked", "interrupt"],
)
def test_write_log_keeps_the_old_log_when_a_rename_fails(monkeypatch, tiny_log_dir, old_log, step, error):
    target, before = old_log
    log = sm.read_log(tiny_log_dir)
    calls = _fail_call(monkeypatch, os, "rename", step, error)
    expected = OutputError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as raised:
        sm.write_log(log, target, format="parquet", overwrite=True)
    assert calls["n"] >= step
    assert _files(target) == before  # byte-identical, CSV as before
    assert _left_beside(target) == []  # no staging folder left behind
    if expected is OutputError:
        assert str(target) in str(raised.value) and "unchanged" in str(raised.value)


def test_write_log_keeps_the_old_log_when_writing_the_new_one_fails(monkeypatch, tiny_log_dir, old_log):
    import salesmetrics.log.saleslog as log_module

    target, before = old_log
    _fail_call(monkeypatch, log_module, "_write_table", 3, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(OutputError, match=r"cannot write .*log: the disk is full \(ENOSPC"):
        sm.write_log(sm.read_log(tiny_log_dir), target, format="parquet", overwrite=True)
    assert _files(target) == before and _left_beside(target) == []


def test_write_log_interrupted_while_writing_keeps_the_old_log(monkeypatch, tiny_log_dir, old_log):
    import salesmetrics.log.saleslog as log_module

    target, before = old_log
    _fail_call(monkeypatch, log_module, "_write_table", 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        sm.write_log(sm.read_log(tiny_log_dir), target, format="parquet", overwrite=True)
    assert _files(target) == before and _left_beside(target) == []


def test_a_failed_clean_up_after_the_swap_leaves_the_new_log(monkeypatch, tiny_log_dir, old_log):
    target, _ = old_log

    def broken_rmtree(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(shutil, "rmtree", broken_rmtree)
    sm.write_log(sm.read_log(tiny_log_dir), target, format="parquet", overwrite=True)
    assert sorted(p.name for p in target.iterdir())[0] == "activities.parquet"
    assert len(sm.read_log(target).deals) == 3


def test_when_the_old_log_cannot_be_put_back_the_error_says_where_it_is(monkeypatch, tiny_log_dir, old_log):
    target, before = old_log
    real = os.rename
    calls = {"n": 0}

    def fake(src, dst):  # the old folder goes aside, then every rename fails (the new one in, the old one back)
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", fake)
    with pytest.raises(OutputError, match="the old folder could not be put back and is kept at") as raised:
        sm.write_log(sm.read_log(tiny_log_dir), target, format="parquet", overwrite=True)
    kept = raised.value.kept
    assert kept is not None and _files(Path(kept)) == before  # nothing lost: the old log, byte for byte
    assert kept in str(raised.value)


def test_simulation_write_keeps_the_old_folder_when_the_final_rename_fails(monkeypatch, tmp_path):
    from salesmetrics.simulation.simulator import simulate

    sim = simulate(n_deals=30, n_owners=3, seed=2, months=4, progress=False)
    target = sim.write(tmp_path / "sim", format="csv")
    before = _files(target)
    assert "truth/parameters.yaml" in before
    for step in (1, 2):
        _fail_call(monkeypatch, os, "rename", step, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            sim.write(target, format="parquet", overwrite=True)
        monkeypatch.undo()
        assert _files(target) == before and _left_beside(target) == []


def test_atomic_folder_creates_and_replaces(tmp_path):
    target = tmp_path / "a" / "folder"
    for text in ("first", "second"):
        with atomic_folder(target) as new:
            new.mkdir()
            (new / "x.txt").write_text(text)
    assert (target / "x.txt").read_text() == "second" and sorted(p.name for p in target.parent.iterdir()) == ["folder"]
    with pytest.raises(RuntimeError), atomic_folder(target) as new:
        new.mkdir()
        raise RuntimeError("stopped")
    assert (target / "x.txt").read_text() == "second" and len(list(target.parent.iterdir())) == 1


def test_a_full_disk_while_writing_a_file_is_an_output_error_naming_the_file(monkeypatch, tmp_path):
    target = tmp_path / "scores.csv"
    target.write_text("old")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OutputError) as raised:
        write_text_atomic(target, "new")
    monkeypatch.undo()
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert isinstance(raised.value, OSError) and "\n" not in str(raised.value)
    assert str(raised.value).startswith(f"cannot write {target}: the disk is full")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
