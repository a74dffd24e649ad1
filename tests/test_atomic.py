"""The one atomic-write helper every writer of reports, scores, models, figures and handouts goes through."""

from __future__ import annotations

import os

import pytest

from salesmetrics._atomic import atomic_path, write_text_atomic


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
