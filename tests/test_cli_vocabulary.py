"""The command line speaks one vocabulary (decision 0040): every command's parser is walked and checked.

LOG is a positional wherever a log is read; ``--overwrite`` wherever something is written; ``--quiet`` everywhere;
``--format`` only ever names the format of the files written. Old spellings still work and say they are deprecated.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from salesmetrics.cli.main import build_parser, main

#: The commands that read a log folder.
READ_A_LOG = {
    "validate",
    "partition",
    "score",
    "waterfall",
    "report",
    "model train",
    "model evaluate",
    "model predict",
    "model backtest",
}
#: The commands that write files or folders (they all take --out).
WRITE = {
    "import",
    "partition",
    "simulate",
    "score",
    "waterfall",
    "report",
    "model train",
    "model evaluate",
    "model predict",
    "model backtest",
    "exercises make",
    "exercises class",
}
#: What --format may name: the tables of a log folder, or a report.
FILE_FORMATS = {("parquet", "csv"), ("html", "ipynb", "both")}


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """(command words, parser) of every command that runs, e.g. ('model', 'train')."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield " ".join(words), parser
    for group in groups:
        for name, sub in group.choices.items():
            yield from _commands(sub, (*words, name))


COMMANDS = dict(_commands(build_parser()))


def _visible(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The options --help shows, by spelling."""
    return {s: a for a in parser._actions if a.help != argparse.SUPPRESS for s in a.option_strings}


def _hidden(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions if a.help == argparse.SUPPRESS for s in a.option_strings}


def test_the_walk_finds_every_command():
    assert set(COMMANDS) >= READ_A_LOG | WRITE | {"exercises progress", "exercises reset", "exercises list"}
    assert len(COMMANDS) == 16


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_log_is_the_log_positional(command):
    parser = COMMANDS[command]
    positional = [a for a in parser._actions if not a.option_strings and a.dest == "log"]
    assert bool(positional) == (command in READ_A_LOG)
    if positional:
        assert positional[0].metavar == "LOG" and "log folder" in positional[0].help
    assert "--log" not in _visible(parser)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_what_writes_says_overwrite(command):
    parser = COMMANDS[command]
    visible = _visible(parser)
    assert ("--out" in visible) == (command in WRITE)
    assert ("--overwrite" in visible) == (command in WRITE)
    assert "--force" not in visible
    if command in WRITE:
        assert visible["--overwrite"].dest == "overwrite" and visible["--overwrite"].default is False
        assert _hidden(parser)["--force"].dest == "overwrite"  # the old spelling, hidden from --help


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_can_be_quiet(command):
    quiet = _visible(COMMANDS[command])["--quiet"]
    assert quiet.dest == "quiet" and quiet.default is False and quiet.nargs == 0


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_format_only_names_a_file_format(command):
    fmt = _visible(COMMANDS[command]).get("--format")
    if fmt is None:
        return
    assert tuple(fmt.choices) in FILE_FORMATS and fmt.default == fmt.choices[0]
    assert fmt.help.startswith("file format of")
    assert command in WRITE


def test_commands_that_write_a_log_folder_offer_the_same_formats():
    for command in ("import", "simulate"):
        fmt = _visible(COMMANDS[command])["--format"]
        assert tuple(fmt.choices) == ("parquet", "csv") and fmt.default == "parquet"


@pytest.mark.parametrize(
    "argv, dest, value, new",
    [
        (["score", "LOG", "--out", "x.csv", "--force"], "overwrite", True, "--overwrite"),
        (["report", "pipeline_health", "--log", "LOG", "--out", "r", "--force"], "old_log", "LOG", "LOG positional"),
        (
            ["model", "predict", "LOG", "--model", "m.skops", "--out", "x.csv", "--force"],
            "overwrite",
            True,
            "--overwrite",
        ),
        (["exercises", "make", "--trainees", "t.txt", "--out", "h", "--force"], "overwrite", True, "--overwrite"),
        (["exercises", "class", "h", "--force"], "overwrite", True, "--overwrite"),
        (["validate", "LOG", "--format", "json"], "json", True, "--json"),
        (["validate", "LOG", "--format", "text"], "json", False, "--json"),
        (["exercises", "progress", "--format", "json"], "json", True, "--json"),
    ],
)
def test_old_spellings_work_and_say_they_are_deprecated(argv, dest, value, new, capsys):
    args = build_parser().parse_args(argv)
    assert str(getattr(args, dest)) == str(value)
    err = capsys.readouterr().err
    assert "is deprecated and goes in 0.4.0" in err and new in err


def test_new_spellings_say_nothing(capsys):
    args = build_parser().parse_args(["report", "pipeline_health", "LOG", "--out", "r", "--overwrite"])
    assert (args.name, str(args.log), args.overwrite) == ("pipeline_health", "LOG", True)
    assert build_parser().parse_args(["validate", "LOG", "--json"]).json is True
    assert capsys.readouterr().err == ""


def test_report_takes_the_log_either_way_but_not_two(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["report", "pipeline_health", "--log", str(missing), "--out", str(tmp_path / "r")]) == 2
    assert f"the log folder {missing} does not exist" in capsys.readouterr().err
    assert main(["report", "pipeline_health", str(tmp_path), "--log", str(missing), "--out", str(tmp_path)]) == 2
    assert "two logs were given" in capsys.readouterr().err
    assert main(["report", "pipeline_health", "--out", str(tmp_path)]) == 2
    assert "give a report NAME, a LOG folder and --out DIR" in capsys.readouterr().err


def test_quiet_leaves_out_status_lines_but_not_answers(tmp_path, capsys):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "datasets" / "demo"
    out = tmp_path / "deals.csv"
    assert main(["score", str(demo), "--out", str(out), "--quiet"]) == 0
    assert out.exists() and capsys.readouterr().out == ""
    assert main(["validate", str(demo), "--quiet"]) == 0
    assert "OK: the log is valid" not in capsys.readouterr().out
    assert main(["validate", str(demo), "--json", "--quiet"]) == 0
    assert '"valid": true' in capsys.readouterr().out  # asked for: printed even when quiet


def test_help_starts_without_pandas():
    code = (
        "import sys\n"
        "from salesmetrics.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('pandas', 'numpy', 'duckdb', 'sklearn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
