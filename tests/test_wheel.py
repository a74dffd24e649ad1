"""The wheel works outside a clone: built from the source, installed into a fresh venv, it runs a report.

No network is used. The fresh venv gets only the wheel (``--no-deps``); a ``.pth`` file points it at this venv's
site-packages for the dependencies, and ``JUPYTER_PATH`` at this venv's Jupyter data (nbconvert's templates), which
a real ``pip install salesmetrics`` would put in the new venv itself. The report's notebook must come from the
installed package (``importlib.resources``), as nothing of the clone is on the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "datasets" / "demo"
#: What the wheel is built from: the files pyproject.toml names and the package.
SOURCES = ("pyproject.toml", "README.md", "LICENSE")


def _run(command: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the source (the clone gets no build/ folder)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "salesmetrics", source / "salesmetrics", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out]
    _run([*build, source], cwd=source)
    return next(out.glob("salesmetrics-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding only the wheel; returns its bin folder."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=False)
    python = root / "bin" / "python"
    purelib = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).stdout.strip()
    )
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=root)
    return root / "bin"


def _outside_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    return env


def test_the_wheel_ships_the_notebooks(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    shipped = [n for n in names if n.endswith(".ipynb")]
    assert "salesmetrics/reports/notebooks/pipeline_health.ipynb" in shipped
    assert len([n for n in shipped if n.startswith("salesmetrics/exercises/notebooks/")]) == 6
    assert "salesmetrics/reports/notebooks/README.md" in names and "salesmetrics/exercises/notebooks/README.md" in names
    assert not [n for n in names if n.startswith(("tests/", "datasets/", "notebooks/", "exercises/"))]


def test_a_report_runs_from_the_installed_wheel_outside_the_clone(installed, tmp_path):
    where = _run([installed / "python", "-c", "import salesmetrics; print(salesmetrics.__file__)"], tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), "salesmetrics came from the clone"
    shutil.copytree(DEMO, tmp_path / "log")
    command = [installed / "salesmetrics", "report", "pipeline_health", "--log", "log", "--out", "out"]
    done = _run(command, cwd=tmp_path, env=_outside_env())
    page = tmp_path / "out" / "pipeline_health.html"
    assert page.is_file(), done.stdout + done.stderr
    assert "<title>Pipeline health: motion vs movement</title>" in page.read_text(encoding="utf-8")
    listed = _run([installed / "salesmetrics", "report", "--list"], cwd=tmp_path, env=_outside_env()).stdout
    assert "pipeline_health:" in listed and "weekly_review:" in listed
    exercises = _run(
        [
            installed / "python",
            "-c",
            "from salesmetrics.exercises import NOTEBOOKS; print(len(list(NOTEBOOKS.glob('*.ipynb'))))",
        ],
        cwd=tmp_path,
    )
    assert exercises.stdout.strip() == "6"
