"""`make lab` as root, and where `exercises make --out` may write (issue 20, part 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from salesmetrics.exercises import lab

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "progress.json"
    monkeypatch.setenv("SALESMETRICS_PROGRESS", str(path))
    return path


def fake_jupyter(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in for `jupyter` that records its arguments, and the file it records them in."""
    record = tmp_path / "args.txt"
    script = tmp_path / "jupyter"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(record)!r}, 'w').write(' '.join(sys.argv[1:]))\n")
    script.chmod(0o755)
    return str(script), record


def test_lab_passes_allow_root_only_as_root(tmp_path, capsys, monkeypatch):
    jupyter, record = fake_jupyter(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exercises").mkdir()  # make lab creates it
    assert lab.main(["exercises"], euid=0, jupyter=jupyter) == 0
    assert record.read_text() == "lab exercises --allow-root"
    assert "--allow-root" in capsys.readouterr().err
    assert lab.main(["exercises", "--no-browser"], euid=1000, jupyter=jupyter) == 0
    assert record.read_text() == "lab exercises --no-browser"
    assert lab.main(["exercises", "--allow-root"], euid=0, jupyter=jupyter) == 0
    assert record.read_text() == "lab exercises --allow-root"  # not twice


def test_lab_says_what_is_wrong_instead_of_a_traceback(tmp_path, capsys):
    assert lab.main([str(tmp_path / "nowhere")], euid=1000, jupyter="jupyter") == 2
    assert "no folder" in capsys.readouterr().err
    assert lab.main([str(tmp_path)], euid=1000, jupyter=str(tmp_path / "no-jupyter")) == 1
    assert "make install" in capsys.readouterr().err


def test_make_lab_runs_the_root_aware_command():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}  # run by make test
    made = subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "lab"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1] == ".venv/bin/python -m salesmetrics.exercises.lab exercises"


def test_exercises_make_checks_out_with_the_shared_output_check(tmp_path, capsys):
    """--out goes through salesmetrics._util.output.check_output_folder: a file, the exercises folder itself and a
    folder inside the log being handed out are refused (exit 2), before anything is written."""
    from salesmetrics.cli.main import main
    from salesmetrics.log import write_log
    from salesmetrics.simulation.simulator import simulate

    names = tmp_path / "names.txt"
    names.write_text("Ana Silva\n")
    make = ["exercises", "make", "--trainees", str(names), "--exercise", "3"]
    assert main([*make, "--out", str(names)]) == 2
    assert "is a file; give the folder to write the trainees' notebooks" in capsys.readouterr().err
    assert main([*make, "--out", str(REPO / "salesmetrics" / "exercises" / "notebooks")]) == 2
    assert "Refusing to write over" in capsys.readouterr().err
    log = simulate(60, 2, seed=1, months=6).log
    folder = tmp_path / "log"
    write_log(log, folder)
    assert main([*make, "--scenario", str(folder), "--out", str(folder / "handout")]) == 2
    assert "inside the log folder" in capsys.readouterr().err
    assert not (folder / "handout").exists()


def test_notebooks_say_which_is_advanced_and_when_they_add_teaching_cases():
    from salesmetrics.exercises.notebook import read_notebook

    def text(name):
        return "\n".join(
            c.source for c in read_notebook(REPO / "salesmetrics" / "exercises" / "notebooks" / f"{name}.ipynb").cells
        )

    first = (
        read_notebook(REPO / "salesmetrics" / "exercises" / "notebooks" / "06-predicting-stalls.ipynb").cells[0].source
    )
    assert "Advanced: about 60 to 75 minutes" in first
    for name in ("01-motion-vs-movement", "03-random-walks", "05-velocity-and-momentum"):
        assert "teaching case" in text(name).lower() and "files are never changed" in text(name), name
