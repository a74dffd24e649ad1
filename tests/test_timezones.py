"""Time zone names: one rule for the config, the importers and the simulator (salesmetrics/_util/timezones.py)."""

from __future__ import annotations

import pytest

from salesmetrics._util.timezones import is_timezone, suggest_timezones, timezone_hint
from salesmetrics.cli.main import main


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_iana_names_are_time_zones(name):
    assert is_timezone(name)


@pytest.mark.parametrize("name", ["Pacific", "America", "Mars/Base", "", "../../etc/passwd", "Europe/"])
def test_folders_of_the_zone_database_and_nonsense_are_not(name):
    assert not is_timezone(name)


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("Pacific", "America/Los_Angeles"),
        ("PST", "America/Los_Angeles"),
        ("(GMT+01:00) Central European Time (Europe/Paris)", "Europe/Paris"),
        ("europe/berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
    ],
)
def test_the_name_a_person_meant_is_suggested_first(name, meant):
    assert suggest_timezones(name)[0] == meant
    assert repr(meant) in timezone_hint(name)


def test_nothing_close_gives_no_hint():
    assert timezone_hint("qqqqqqqqqq") == ""


def test_a_log_whose_config_names_a_zone_folder_is_a_located_error_with_a_hint(tmp_path, capsys):
    import shutil
    from pathlib import Path

    log = tmp_path / "log"
    shutil.copytree(Path(__file__).parent.parent / "datasets" / "demo", log, ignore=shutil.ignore_patterns("truth"))
    config = log / "salesmetrics.yaml"
    config.write_text(config.read_text().replace("timezone: UTC", "timezone: Pacific"))
    assert main(["validate", str(log)]) == 1  # it was an IsADirectoryError traceback
    out = capsys.readouterr().out
    assert "salesmetrics.yaml, column 'timezone': Unknown time zone. Did you mean 'America/Los_Angeles'" in out
