"""The project's own files agree with each other: pins, conda environment, notebooks stored clean, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from salesmetrics.exercises import NOTEBOOKS as EXERCISE_NOTEBOOKS
from salesmetrics.exercises import lab
from salesmetrics.reports.catalog import NOTEBOOKS as REPORT_NOTEBOOKS

REPO = Path(__file__).resolve().parents[1]


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_key(name)] = version.strip()
    return pins


def _direct_dependencies() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    deps = project["dependencies"] + extras["dev"] + extras["scale"]  # make install installs both extras
    return [re.split(r"[<>=!\[ ;]", d)[0] for d in deps]


def test_every_dependency_is_pinned():
    pins = _pins()
    missing = [d for d in _direct_dependencies() if _key(d) not in pins]
    assert not missing, f"add these to requirements/constraints.txt: {missing}"


def test_environment_yml_matches_pyproject_and_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {}
    for item in pip_section:
        if "==" in item:
            name, version = item.split("==")
            listed[_key(name)] = version
    pins = _pins()
    expected = {_key(d): pins[_key(d)] for d in _direct_dependencies()}
    assert listed == expected, "environment.yml and pyproject.toml + constraints.txt disagree"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.startswith("python=3.1")


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    pins = _pins()
    for name in ("pandas", "pandera", "pyarrow", "numpy", "scikit-learn"):
        assert version(name) == pins[_key(name)], f"{name} installed {version(name)}, pinned {pins[_key(name)]}"


def test_notebooks_are_stored_without_outputs():
    for nb_path in list(REPORT_NOTEBOOKS.glob("*.ipynb")) + list(EXERCISE_NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), f"{nb_path.name} has outputs"


def test_cli_help_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "salesmetrics.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("validate", "import", "simulate"):
        assert command in out
    version = subprocess.run(
        [sys.executable, "-m", "salesmetrics.cli", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version.strip().startswith("salesmetrics ")


def test_cli_unknown_command_exits_2():
    result = subprocess.run([sys.executable, "-m", "salesmetrics.cli", "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_lab_copies_the_packaged_notebooks_and_never_replaces_a_trainees(tmp_path, capsys):
    jupyter = tmp_path / "jupyter"  # a stand-in that does nothing
    jupyter.write_text(f"#!{sys.executable}\n")
    jupyter.chmod(0o755)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "01-motion-vs-movement.ipynb").write_text("my answers")
    assert lab.main([str(folder)], euid=1000, jupyter=str(jupyter)) == 0
    shipped = sorted(p.name for p in EXERCISE_NOTEBOOKS.glob("*.ipynb"))
    assert len(shipped) == 6 and sorted(p.name for p in folder.glob("*.ipynb")) == shipped
    assert (folder / "01-motion-vs-movement.ipynb").read_text() == "my answers"
    assert (folder / "02-decision-increments.ipynb").read_bytes() == (
        EXERCISE_NOTEBOOKS / "02-decision-increments.ipynb"
    ).read_bytes()
    assert (folder / "README.md").is_file() and "copied 6 files" in capsys.readouterr().err
    assert lab.main([str(folder)], euid=1000, jupyter=str(jupyter)) == 0
    assert "copied" not in capsys.readouterr().err  # nothing new to copy
