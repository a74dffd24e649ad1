"""The trainee progress file is never lost: a corrupt or wrongly shaped file is kept aside, never written over;
a wrongly typed entry never breaks a check or the progress listing."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesmetrics.cli.main import main
from salesmetrics.exercises import Exercise, ValueQuestion
from salesmetrics.exercises.progress import ProgressStore


def _aside(folder: Path) -> list[Path]:
    return sorted(folder.glob("progress.json.corrupt-*"))


def _record(store: ProgressStore, state: str = "correct") -> None:
    store.record_check("Ana", "01-demo", "q1", state, title="Demo", questions=["q1", "q2"])


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",  # half a file, as a crash of another tool could leave
        b"\xff\xfe\x00garbage",  # not even UTF-8
        b"[1, 2, 3]",  # JSON, but not a progress file
        b'{"version": 1, "trainees": ["Ana"]}',  # the right key with the wrong shape
        b"",
    ],
    ids=["truncated", "binary", "list", "trainees-list", "empty"],
)
def test_a_corrupt_file_is_kept_aside_byte_for_byte_and_a_fresh_record_started(tmp_path, content):
    path = tmp_path / "progress.json"
    path.write_bytes(content)
    store = ProgressStore(path)
    with pytest.warns(UserWarning, match="cannot read the progress file"):
        assert store.load()["trainees"] == {}
    assert path.read_bytes() == content  # reading never changes it
    with pytest.warns(UserWarning, match=r"it was kept as .*progress\.json\.corrupt-\d{8}T\d{6}Z and a fresh record"):
        _record(store)
    [kept] = _aside(tmp_path)
    assert kept.read_bytes() == content
    assert store.question("Ana", "01-demo", "q1")["state"] == "correct"
    assert json.loads(path.read_text())["version"] == 1


def test_two_corrupt_files_in_the_same_second_are_both_kept(tmp_path):
    path = tmp_path / "progress.json"
    for content in (b"{one", b"{two"):
        path.write_bytes(content)
        with pytest.warns(UserWarning, match="was kept as"):
            _record(ProgressStore(path))
    assert sorted(p.read_bytes() for p in _aside(tmp_path)) == [b"{one", b"{two"]


def test_wrongly_typed_entries_never_break_a_check_and_the_good_ones_stay(tmp_path):
    path = tmp_path / "progress.json"
    good = {"state": "correct", "attempts": 2, "hints": 1, "solution_seen": False, "solved_at": "2026-01-01T10:00"}
    data = {
        "version": 1,
        "trainees": {
            "Ana": {
                "exercises": {
                    "01-demo": {
                        "title": ["not", "text"],
                        "updated_at": 5,
                        "question_ids": "q1",
                        "questions": {
                            "q1": {"state": "maybe", "attempts": "3", "hints": -1, "solution_seen": "yes"},
                            "q2": "correct",
                            "q3": good,
                        },
                    },
                    "02-other": ["not", "a", "mapping"],
                }
            },
            "Ben": "not a mapping",
            "Cy": {"exercises": "none"},
        },
    }
    original = json.dumps(data).encode()
    path.write_bytes(original)
    store = ProgressStore(path)
    # 11 by hand: title, updated_at, question_ids; q1's state, attempts, hints, solution_seen; q2; 02-other; Ben; Cy
    with pytest.warns(
        UserWarning, match=r"has 11 entries of the wrong type; they are left out \(the file is unchanged"
    ):
        text = store.format_text()  # the listing works on the file as it is
    assert "Ana" in text and "q3   solved" in text
    assert path.read_bytes() == original
    with pytest.warns(UserWarning, match=r"had 11 entries of the wrong type; they were left out and the original"):
        store.record_check("Ana", "01-demo", "q1", "incorrect", message="Not quite.")
    store.record_hint("Ana", "01-demo", "q1", 2)
    rec = store.question("Ana", "01-demo", "q1")
    assert (rec["state"], rec["attempts"], rec["hints"]) == ("incorrect", 1, 2)
    assert store.question("Ana", "01-demo", "q3") == good  # the good entries are kept as they were
    [kept] = _aside(tmp_path)
    assert kept.read_bytes() == original
    assert main(["exercises", "progress", "--file", str(path)]) == 0


def test_an_unreadable_file_is_not_written_over(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    path.write_text('{"version": 1, "trainees": {"Ana": {"exercises": {}}}}')
    before = path.read_bytes()
    real = Path.read_bytes

    def locked(self):
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", locked)
    with pytest.warns(UserWarning, match="this check was not recorded"):
        _record(ProgressStore(path))
    monkeypatch.undo()
    assert path.read_bytes() == before and _aside(tmp_path) == []


def test_a_corrupt_file_that_cannot_be_kept_aside_is_left_untouched(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    path.write_bytes(b"{broken")

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.warns(UserWarning, match="could not be kept aside .*left untouched and this check was not recorded"):
        _record(ProgressStore(path))
    monkeypatch.undo()
    assert path.read_bytes() == b"{broken" and _aside(tmp_path) == []


def test_a_check_in_an_exercise_passes_with_a_corrupt_progress_file(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    path.write_bytes(b'{"trainees": {"Ana": {"exercises": {"00-test": {"questions": {"q1": 7}}}}}}')
    monkeypatch.setenv("SALESMETRICS_PROGRESS", str(path))
    ex = Exercise("00-test", "Test", data="baseline", seed=1, trainee="Ana")
    ex.add(ValueQuestion("q1", "t", expected=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ex.q1.check(1).correct
    assert ProgressStore(path).question("Ana", "00-test", "q1")["state"] == "correct"
    assert len(_aside(tmp_path)) == 1


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3) | st.sampled_from(["correct", "incorrect"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["Ana", "01-demo", "q1", "exercises", "questions", "state", "attempts", "hints", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trainees=_JSON)
def test_any_json_in_the_file_never_breaks_a_check_and_is_never_lost(trainees):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "progress.json"
        original = json.dumps({"version": 1, "trainees": trainees}).encode()
        path.write_bytes(original)
        store = ProgressStore(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            store.format_text()
            store.record_check("Ana", "01-demo", "q1", "incorrect", prediction=3)
            store.record_hint("Ana", "01-demo", "q1", 1)
            store.record_solution("Ana", "01-demo", "q1")
            text = store.format_text("Ana")
        rec = store.question("Ana", "01-demo", "q1")
        assert rec["attempts"] >= 1 and rec["hints"] >= 1 and rec["solution_seen"] is True
        assert "01-demo" in text
        saved = sorted(Path(folder).glob("progress.json.corrupt-*"))
        # the original is either still what the file holds (nothing needed leaving out), or kept aside whole
        assert saved == [] or saved[0].read_bytes() == original
