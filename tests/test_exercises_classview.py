"""`salesmetrics exercises class DIR`: the trainer's view of a class on one offline page (issue 20, part 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesmetrics.cli.main import main
from salesmetrics.exercises.classview import class_view, render_class_view
from salesmetrics.exercises.progress import ProgressStore

HOSTILE = "<script>alert('x')</script> & Bo"
Q = ["q1", "q2", "q3"]


def record(path: Path, trainee: str, checks: list[tuple], hints=(), solutions=()) -> None:
    store = ProgressStore(path)
    for q, state, mistake in checks:
        store.record_check(trainee, "01-motion-vs-movement", q, state, mistake=mistake, title="Motion", questions=Q)
    for q in hints:
        store.record_hint(trainee, "01-motion-vs-movement", q, 1, title="Motion", questions=Q)
    for q in solutions:
        store.record_solution(trainee, "01-motion-vs-movement", q, title="Motion", questions=Q)


@pytest.fixture
def handout(tmp_path) -> Path:
    """Four trainees listed; three progress files (one per trainee folder); Cy has not started; plus a corrupt
    file and a JSON file that is not a progress file."""
    folder = tmp_path / "handout"
    folder.mkdir()
    (folder / "trainees.csv").write_text(
        f'trainee,folder,seed\nAna Silva,ana-silva,1\nBen Okafor,ben-okafor,2\nCy Late,cy-late,3\n"{HOSTILE}",bo,4\n'
    )
    record(
        folder / "ana-silva" / "progress.json",
        "Ana Silva",
        [("q1", "correct", None), ("q2", "incorrect", "mean"), ("q3", "recorded", "wrong prediction")],
        hints=["q2"],
    )
    record(
        folder / "ben-okafor" / "progress.json",
        "Ben Okafor",
        [("q1", "incorrect", "repeats counted"), ("q1", "correct", None), ("q2", "incorrect", "mean")],
        solutions=["q2"],
    )
    record(folder / "bo" / "progress.json", HOSTILE, [("q1", "incorrect", "repeats counted")], hints=["q1"])
    (folder / "cy-late").mkdir()
    (folder / "cy-late" / "progress.json").write_text("{not json")
    (folder / "settings.json").write_text('{"theme": "dark"}')
    return folder


def test_class_view_figures_by_hand(handout):
    view = class_view(handout)
    assert view.trainees == ["Ana Silva", "Ben Okafor", "Cy Late", HOSTILE]
    assert len(view.files) == 3 and len(view.notes) == 1 and "cy-late" in view.notes[0]
    q = view.questions.set_index("question")
    # q1: Ana and Ben solved it (Ben after a mistake), Bo's latest check is a mistake; 4 in the class
    assert (q.loc["q1", "solved"], q.loc["q1", "share solved"], q.loc["q1", "attempts"]) == (2, 0.5, 4)
    assert q.loc["q1", "mistakes"] == "repeats counted (1)" and q.loc["q1", "used hints"] == 1
    assert (q.loc["q2", "solved"], q.loc["q2", "mistakes"], q.loc["q2", "saw solution"]) == (0, "mean (2)", 1)
    assert q.loc["q2", "used hints"] == 1 and q.loc["q3", "tried"] == 1
    assert q.loc["q3", "mistakes"] == ""  # a wrong prediction is recorded, not a mistake
    done = view.done.set_index("trainee")
    assert done.loc["Ana Silva", "solved"] == 1 and done.loc["Ben Okafor", "attempts"] == 3
    assert (done.loc["Cy Late", "solved"], done.loc["Cy Late", "attempts"], done.loc["Cy Late", "questions"]) == (
        0,
        0,
        3,
    )


def test_class_command_writes_one_page_and_never_touches_the_progress_files(handout, capsys):
    before = {p: p.read_bytes() for p in handout.rglob("*.json")}
    assert main(["exercises", "class", str(handout)]) == 0
    page = handout / "class.html"
    assert "Wrote the class view" in capsys.readouterr().out
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and HOSTILE not in text and "&lt;script&gt;alert(&#x27;x&#x27;)" in text
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text)
    assert main(["exercises", "class", str(handout)]) == 2 and "--overwrite" in capsys.readouterr().err
    assert main(["exercises", "class", str(handout), "--overwrite"]) == 0
    assert {p: p.read_bytes() for p in handout.rglob("*.json")} == before  # the corrupt one is not moved aside
    assert main(["exercises", "class", str(handout / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    empty = handout.parent / "empty"
    empty.mkdir()
    assert main(["exercises", "class", str(empty)]) == 2 and "No progress file" in capsys.readouterr().err
    assert main(["exercises", "class", str(handout), "--out", str(handout / "ana-silva" / "progress.json")]) == 2


def test_class_page_in_headless_chromium(handout, headless, tmp_path):
    page = tmp_path / "class.html"
    page.write_text(render_class_view(class_view(handout)), encoding="utf-8")
    done = headless(tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    dom = done.stdout
    assert "who-table" in dom, f"Chromium did not render the page (exit {done.returncode}): {done.stderr[-1500:]}"
    assert "<script" not in dom  # the hostile name stayed text
    who = re.search(r'<table id="who-table">(.*?)</table>', dom, re.S)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", who, re.S)
    assert len(rows) == 5  # header and four trainees, Cy Late included
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; Bo" in who
    assert re.search(r"Ana Silva</th>\s*<td[^>]*>1 / 3</td>", who)
    questions = re.search(r'<table id="question-table">(.*?)</table>', dom, re.S)[1]
    assert len(re.findall(r"<tr>", questions)) == 4 and "mean (2)" in questions and "50%" in questions
