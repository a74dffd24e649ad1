"""Adapters: real export shapes in, validated logs out; every problem names the export file, line and column.

The expected stage_changes and close_date_changes below were worked out by hand from the fixture files in
tests/fixtures/adapters (see the comments next to each expectation).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.adapters import KINDS, run_import
from salesmetrics.exceptions import LogValidationError, UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "adapters"
SF = FIXTURES / "salesforce"
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_datasets = pytest.mark.skipif(
    not DATASETS.is_dir(), reason=f"the shared real datasets are not present at {DATASETS}"
)


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """A table as tuples, timestamps as ISO text in the log's zone, for exact comparison."""
    out = []
    for record in frame[list(columns)].itertuples(index=False):
        out.append(tuple(v.isoformat() if isinstance(v, pd.Timestamp) else v for v in record))
    return out


def copy_fixture(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not found in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def only_error(exc: pytest.ExceptionInfo) -> sm.Problem:
    errors = exc.value.problems.errors
    assert len(errors) == 1, [str(p) for p in errors]
    return errors[0]


# ------------------------------------------------------------------------------------------ Salesforce


@pytest.fixture(scope="module")
def sf_log():
    return sm.import_salesforce(SF / "Opportunity.csv", SF / "OpportunityHistory.csv")


A, B, C, D, E = (f"0065g00000AAAAAAA{i}" for i in range(1, 6))


def test_salesforce_stage_changes_follow_the_sorted_history(sf_log):
    assert rows(sf_log.stage_changes, "deal_id", "changed_at", "stage") == [
        # A: the 01-15 row repeats Qualification with a new Amount and CloseDate: not a stage change.
        (A, "2024-01-02T09:00:00+00:00", "Prospecting"),
        (A, "2024-01-10T10:00:00+00:00", "Qualification"),
        (A, "2024-02-01T08:00:00+00:00", "Proposal/Price Quote"),
        (A, "2024-04-20T16:45:00+00:00", "Closed Won"),
        # B: the Negotiation/Review row is IsDeleted=true and is dropped.
        (B, "2024-01-05T12:00:00+00:00", "Prospecting"),
        (B, "2024-02-10T09:00:00+00:00", "Closed Lost"),
        # C: two rows share 02-05 10:00; file order puts Qualification (line 10) before Prospecting (line 12).
        # Its 02-20 row comes first in the file but last in time.
        (C, "2024-02-01T10:00:00+00:00", "Prospecting"),
        (C, "2024-02-05T10:00:00+00:00", "Qualification"),
        (C, "2024-02-05T10:00:00+00:00", "Prospecting"),
        (C, "2024-02-20T10:00:00+00:00", "Qualification"),
        # D has no history rows. E moves one stage at a time.
        (E, "2024-03-01T09:00:00+00:00", "Prospecting"),
        (E, "2024-03-05T09:00:00+00:00", "Qualification"),
        (E, "2024-03-12T09:00:00+00:00", "Needs Analysis"),
        (E, "2024-03-20T11:00:00+00:00", "Proposal/Price Quote"),
    ]


def test_salesforce_close_date_changes_include_the_first_known_date(sf_log):
    assert rows(sf_log.close_date_changes, "deal_id", "changed_at", "close_date") == [
        (A, "2024-01-02T09:00:00+00:00", "2024-03-31T00:00:00+00:00"),
        (A, "2024-01-15T10:00:00+00:00", "2024-04-30T00:00:00+00:00"),
        (A, "2024-04-20T16:45:00+00:00", "2024-05-15T00:00:00+00:00"),
        (B, "2024-01-05T12:00:00+00:00", "2024-02-28T00:00:00+00:00"),
        (B, "2024-02-10T09:00:00+00:00", "2024-02-10T00:00:00+00:00"),
        (C, "2024-02-01T10:00:00+00:00", "2024-06-30T00:00:00+00:00"),
        (E, "2024-03-01T09:00:00+00:00", "2024-07-31T00:00:00+00:00"),
        (E, "2024-03-12T09:00:00+00:00", "2024-08-31T00:00:00+00:00"),
    ]


def test_salesforce_stage_order_comes_from_probability(sf_log):
    # Qualification and Needs Analysis both have 20%: Qualification is entered earlier in deals' histories.
    # The deleted Negotiation/Review row (90%) does not make it a stage.
    assert sf_log.model.stages == ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote")
    assert sf_log.model.won == ("Closed Won",)
    assert sf_log.model.lost == ("Closed Lost",)


def test_salesforce_deals_and_attributes(sf_log):
    deals = sf_log.deals.set_index("deal_id")
    assert list(deals.index) == [A, B, C, D, E]
    assert deals.loc[A, "owner"] == "0055g00000OWNER01"
    assert deals.loc[B, "created_at"] == pd.Timestamp("2024-01-05 12:00", tz="UTC")
    assert deals.loc[E, "amount"] == 30000 and pd.isna(deals.loc[D, "amount"])
    assert deals.loc[B, "Description"] == "Call back\nnext week"
    assert deals.loc[D, "StageName"] == "Prospecting"
    assert sf_log.model.currency == "USD"


def test_salesforce_opportunity_without_history_makes_history_partial(sf_log):
    summary = sf_log.summary()
    assert summary.history == "partial"
    assert any("1 opportunity has no OpportunityHistory row" in n for n in summary.notes)
    assert any("deleted history row" in n for n in summary.notes)


def test_salesforce_complete_history_when_every_opportunity_has_rows(tmp_path):
    folder = copy_fixture(SF, tmp_path)
    lines = (folder / "Opportunity.csv").read_text().splitlines(keepends=True)
    (folder / "Opportunity.csv").write_text("".join(line for line in lines if "AAAAAAA4" not in line))
    log = sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv")
    assert log.summary().history == "complete"


def test_salesforce_explicit_stage_order_rejects_a_history_stage_it_does_not_list():
    with pytest.raises(LogValidationError) as exc:
        sm.import_salesforce(
            SF / "Opportunity.csv",
            SF / "OpportunityHistory.csv",
            stage_order="Prospecting,Qualification,Proposal/Price Quote",
        )
    problem = only_error(exc)
    assert problem.code == "unknown_stage"
    assert problem.file == "OpportunityHistory.csv"
    assert problem.column == "StageName"
    assert problem.rows == (15,)  # the HIST0015 row: the 14th record after the header
    assert problem.values == ("Needs Analysis",)
    assert "Prospecting, Qualification, Proposal/Price Quote" in problem.expected
    assert "OpportunityHistory.csv, row 15, column 'StageName'" in str(exc.value)


def test_salesforce_explicit_stage_order_and_terminal_stages(tmp_path):
    log = sm.import_salesforce(
        SF / "Opportunity.csv",
        SF / "OpportunityHistory.csv",
        stage_order=["Prospecting", "Needs Analysis", "Qualification", "Proposal/Price Quote", "Closed Won"],
        won=["Closed Won"],
        lost="Closed Lost",
        out=tmp_path / "log",
        format="csv",
    )
    assert log.model.stages == ("Prospecting", "Needs Analysis", "Qualification", "Proposal/Price Quote")
    reread = sm.read_log(tmp_path / "log")
    assert reread.model.stages == log.model.stages
    assert len(reread.stage_changes) == 14 and len(reread.close_date_changes) == 8


def test_salesforce_missing_column_names_file_column_and_close_match(tmp_path):
    folder = copy_fixture(SF, tmp_path)
    edit(folder / "OpportunityHistory.csv", '"StageName"', '"StageNme"')
    with pytest.raises(LogValidationError) as exc:
        sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv")
    problem = only_error(exc)
    assert (problem.code, problem.file, problem.column) == ("missing_column", "OpportunityHistory.csv", "StageName")
    assert "Did you mean 'StageNme'?" in problem.message
    assert "Columns found: Id, OpportunityId" in problem.message


def test_salesforce_bad_timestamp_names_the_line_after_a_multiline_cell(tmp_path):
    folder = copy_fixture(SF, tmp_path)
    # Opportunity C is on line 5: opportunity B's Description spans lines 3 and 4.
    edit(
        folder / "Opportunity.csv",
        '"2024-02-01T10:00:00.000+0000","0055g00000OWNER01"',
        '"2024-02-31T10:00:00.000+0000","x"',
    )
    with pytest.raises(LogValidationError) as exc:
        sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv")
    problem = only_error(exc)
    assert (problem.file, problem.rows, problem.column) == ("Opportunity.csv", (5,), "CreatedDate")
    assert problem.code == "unparseable_timestamp" and problem.values == ("2024-02-31T10:00:00.000+0000",)
    assert "2024-03-14" in problem.expected


def test_salesforce_history_of_an_unknown_opportunity_is_an_error(tmp_path):
    folder = copy_fixture(SF, tmp_path)
    edit(folder / "OpportunityHistory.csv", '"0085g00000HIST0013","0065g00000AAAAAAA5"', '"H13","0065g00000ZZZZZZZ9"')
    with pytest.raises(LogValidationError) as exc:
        sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv")
    problem = only_error(exc)
    assert (problem.code, problem.file, problem.rows) == ("unknown_deal", "OpportunityHistory.csv", (13,))
    assert problem.values == ("0065g00000ZZZZZZZ9",)


def test_salesforce_stage_mismatch_is_a_warning(tmp_path):
    folder = copy_fixture(SF, tmp_path)
    edit(folder / "Opportunity.csv", '"Initech - renewal","","Qualification"', '"Initech - renewal","","Prospecting"')
    log = sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv")
    mismatch = [p for p in log.problems if p.code == "stage_mismatch"]
    assert len(mismatch) == 1
    assert mismatch[0].rows == (5,) and mismatch[0].values == (C,)
    assert log.current_stage()[C] == "Qualification"


def test_salesforce_validator_problems_point_at_the_export(tmp_path):
    folder = copy_fixture(SF, tmp_path)
    edit(
        folder / "Opportunity.csv",
        '"Hooli - platform","","Proposal/Price Quote","30000"',
        '"x","","Proposal/Price Quote","-5"',
    )
    with pytest.raises(LogValidationError) as exc:
        sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv")
    problem = only_error(exc)
    assert (problem.code, problem.file, problem.rows, problem.column) == (
        "negative_amount",
        "Opportunity.csv",
        (7,),
        "Amount",
    )


def test_salesforce_report_labels_and_15_character_ids():
    folder = FIXTURES / "salesforce_report"
    log = sm.import_salesforce(
        folder / "opportunities_report.csv", folder / "OpportunityHistory.csv", timezone="Europe/Berlin"
    )
    deals = log.deals.set_index("deal_id")
    assert list(deals.index) == ["0065g00000Xq1Ab", "0065g00000Xq2Cd"]
    assert deals.loc["0065g00000Xq1Ab", "owner"] == "Ada Lovelace"
    assert deals.loc["0065g00000Xq1Ab", "amount"] == 12000
    # The report writes local times without an offset; the history carries +0000.
    assert deals.loc["0065g00000Xq2Cd", "created_at"].isoformat() == "2024-03-14T14:30:00+01:00"
    assert rows(log.stage_changes, "deal_id", "changed_at", "stage") == [
        ("0065g00000Xq1Ab", "2024-01-02T09:00:00+01:00", "Prospecting"),
        ("0065g00000Xq1Ab", "2024-04-20T16:45:00+02:00", "Closed Won"),
        ("0065g00000Xq2Cd", "2024-03-14T14:30:00+01:00", "Prospecting"),
    ]
    assert any("first 15 characters" in n for n in log.model.notes)


def test_ambiguous_report_dates_warn_on_success_and_date_order_decides(tmp_path, capsys):
    from salesmetrics.cli.main import main

    folder = tmp_path / "report"
    shutil.copytree(FIXTURES / "salesforce_report", folder)
    opps = folder / "opportunities_report.csv"
    text = opps.read_text().replace("3/14/2024 2:30 PM", "3/4/2024 2:30 PM").replace("5/15/2024", "5/6/2024")
    opps.write_text(text.replace("6/28/2024", "6/8/2024"))
    files = [str(opps), str(folder / "OpportunityHistory.csv")]
    # nothing fails, so the warning is the only sign that 3/4/2024 was read as 4 March: it must be shown
    assert main(["import", "salesforce", *files, "--out", str(tmp_path / "mdy"), "-o", "timezone=Europe/Berlin"]) == 0
    out = capsys.readouterr().out
    assert "1 warning:" in out and "they were read month-first" in out and "-o date_order=dmy" in out
    log = sm.import_salesforce(*files, timezone="Europe/Berlin", date_order="dmy")
    assert (
        log.deals.set_index("deal_id").loc["0065g00000Xq2Cd", "created_at"].isoformat() == "2024-04-03T14:30:00+02:00"
    )
    assert not [p for p in log.problems if p.code == "ambiguous_dates"]
    with pytest.raises(UsageError, match="date_order must be"):
        sm.import_hubspot(FIXTURES / "hubspot" / "hubspot-deals.csv", date_order="ymd")


def test_salesforce_refuses_to_overwrite_and_bad_arguments(tmp_path):
    out = tmp_path / "log"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists"):
        sm.import_salesforce(SF / "Opportunity.csv", SF / "OpportunityHistory.csv", out=out)
    assert (out / "keep.txt").read_text() == "mine"
    with pytest.raises(UsageError, match="Unknown time zone"):
        sm.import_salesforce(SF / "Opportunity.csv", SF / "OpportunityHistory.csv", timezone="Mars/Base")
    with pytest.raises(UsageError, match="does not exist"):
        sm.import_salesforce(SF / "nope.csv", SF / "OpportunityHistory.csv")


def test_import_never_deletes_its_own_input(tmp_path):
    # the exports sit inside the output folder: replacing it would delete them
    folder = tmp_path / "crm"
    folder.mkdir()
    for name in ("Opportunity.csv", "OpportunityHistory.csv"):
        (folder / name).write_bytes((SF / name).read_bytes())
    sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv", out=tmp_path / "log")
    with pytest.raises(UsageError, match=r"Opportunity\.csv, a file being imported"):
        sm.import_salesforce(folder / "Opportunity.csv", folder / "OpportunityHistory.csv", out=folder, overwrite=True)
    with pytest.raises(UsageError, match="it is the folder being imported"):
        sm.import_snapshot(folder, preset="maven", out=folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["Opportunity.csv", "OpportunityHistory.csv"]


# ------------------------------------------------------------------------------------------ HubSpot

HS = FIXTURES / "hubspot" / "hubspot-deals.csv"


@pytest.fixture(scope="module")
def hs_log():
    return sm.import_hubspot(HS, timezone="Europe/Berlin")


def test_hubspot_stage_changes_from_date_entered_cells(hs_log):
    assert rows(hs_log.stage_changes, "deal_id", "changed_at", "stage") == [
        ("9001", "2024-03-01T09:30:00+01:00", "Appointment Scheduled"),
        ("9001", "2024-03-05T14:00:00+01:00", "Qualified To Buy"),
        ("9001", "2024-03-12T10:00:00+01:00", "Presentation Scheduled"),
        ("9001", "2024-04-02T16:20:00+02:00", "Closed Won"),
        ("9002", "2024-03-03T11:00:00+01:00", "Appointment Scheduled"),
        ("9002", "2024-03-20T17:05:00+01:00", "Closed Lost"),
        # Same minute: pipeline (column) order decides.
        ("9003", "2024-03-10T08:00:00+01:00", "Appointment Scheduled"),
        ("9003", "2024-03-10T08:00:00+01:00", "Qualified To Buy"),
        ("9003", "2024-03-25T12:00:00+01:00", "Contract Sent"),
    ]


def test_hubspot_stage_model_from_column_order(hs_log):
    assert hs_log.model.stages == (
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Decision Maker Bought-In",
        "Contract Sent",
    )
    assert (hs_log.model.won, hs_log.model.lost) == (("Closed Won",), ("Closed Lost",))
    assert hs_log.summary().history == "partial"
    assert any("one 'Date entered' time per stage" in n for n in hs_log.model.notes)


def test_hubspot_deals_owner_and_attributes(hs_log):
    deals = hs_log.deals.set_index("deal_id")
    assert deals.loc["9003", "amount"] == 8500.5
    assert deals.loc["9004", "owner"] == "(unknown)"
    assert deals.loc["9001", "Deal Stage"] == "Closed Won"
    assert not [c for c in deals.columns if c.startswith(("Date entered", "Date exited", "Cumulative"))]
    warning = [p for p in hs_log.problems if p.code == "missing_owner"]
    assert warning and warning[0].rows == (5,) and warning[0].column == "Deal owner"


def test_hubspot_won_lost_and_order_overrides():
    log = sm.import_hubspot(
        HS,
        stage_order="Appointment Scheduled,Qualified To Buy,Contract Sent,Presentation Scheduled,"
        "Decision Maker Bought-In",
        won="Closed Won",
        lost=["Closed Lost"],
    )
    assert log.model.stages[2:] == ("Contract Sent", "Presentation Scheduled", "Decision Maker Bought-In")


def test_hubspot_stage_order_missing_a_column_stage_is_an_error():
    with pytest.raises(LogValidationError) as exc:
        sm.import_hubspot(HS, stage_order="Appointment Scheduled,Contract Sent")
    problem = only_error(exc)
    assert problem.code == "unknown_stage" and problem.file == "hubspot-deals.csv"
    assert "Qualified To Buy" in problem.values


def test_hubspot_unparseable_date_entered_cell(tmp_path):
    path = tmp_path / "deals.csv"
    shutil.copy(HS, path)
    edit(path, '"2024-03-25 12:00"', '"soon"')
    with pytest.raises(LogValidationError) as exc:
        sm.import_hubspot(path)
    problem = only_error(exc)
    assert problem.rows == (4,)
    assert problem.column == 'Date entered "Contract Sent (Sales Pipeline)"'
    assert problem.values == ("soon",)


def test_hubspot_several_pipelines_need_a_choice(tmp_path):
    path = tmp_path / "deals.csv"
    text = HS.read_text()
    header, *lines = text.splitlines()
    renewal = lines[1].replace('"9002"', '"9102"').replace('"Sales Pipeline"', '"Renewals"')
    path.write_text("\n".join([header, *lines, renewal]) + "\n")
    with pytest.raises(UsageError, match="2 pipelines"):
        sm.import_hubspot(path)
    log = sm.import_hubspot(path, pipeline="Sales Pipeline")
    assert "9102" not in set(log.deals["deal_id"]) and len(log.deals) == 4
    with pytest.raises(UsageError, match="No deal"):
        sm.import_hubspot(path, pipeline="Sales pipe")


def test_hubspot_missing_record_id(tmp_path):
    path = tmp_path / "deals.csv"
    shutil.copy(HS, path)
    edit(path, '"Record ID"', '"Record"')
    with pytest.raises(LogValidationError) as exc:
        sm.import_hubspot(path)
    problem = only_error(exc)
    assert (problem.file, problem.column) == ("deals.csv", "Record ID")
    assert "'Record'" in problem.message


# ------------------------------------------------------------------------------------------ snapshot

SNAP = FIXTURES / "snapshot" / "pipeline_snapshot.csv"


def generic_snapshot(**kwargs):
    options = dict(
        deal_id="Deal",
        owner="Rep",
        stage="Status",
        created_at="Opened",
        first_stage="Lead",
        closed_at="Closed",
        amount="Value",
        stage_order="Lead,Proposal",
    )
    options.update(kwargs)
    return sm.import_snapshot(SNAP, **options)


def test_snapshot_generic_dates_only_what_the_table_says():
    log = generic_snapshot(snapshot_date="2024-02-15")
    assert rows(log.stage_changes, "deal_id", "changed_at", "stage") == [
        ("D-1", "2024-01-10T00:00:00+00:00", "Lead"),
        ("D-1", "2024-02-01T00:00:00+00:00", "Won"),
        ("D-2", "2024-01-12T00:00:00+00:00", "Lead"),
        ("D-2", "2024-01-30T00:00:00+00:00", "Lost"),
        # D-3 is in Proposal now, but when it got there is unknown: only its creation in Lead is dated.
        ("D-3", "2024-01-20T00:00:00+00:00", "Lead"),
        # D-4 has no date at all: no row.
    ]
    deals = log.deals.set_index("deal_id")
    assert deals["snapshot_stage"].to_dict() == {"D-1": "Won", "D-2": "Lost", "D-3": "Proposal", "D-4": "Lead"}
    assert pd.isna(deals.loc["D-4", "created_at"])
    summary = log.summary()
    assert summary.history == "partial"
    assert any("taken on 2024-02-15" in n for n in summary.notes)
    assert any("1 deal has no dated stage entry" in n for n in summary.notes)
    assert any(p.code == "missing_created_at" and p.rows == (5,) for p in log.problems)


def test_snapshot_flags_dates_after_the_snapshot_date():
    log = generic_snapshot(snapshot_date="2024-01-25")
    late = [p for p in log.problems if p.code == "after_snapshot"]
    assert len(late) == 1 and late[0].count == 2  # D-2 lost on 01-30, D-1 won on 02-01
    assert not [p for p in generic_snapshot(snapshot_date="2024-02-15").problems if p.code == "after_snapshot"]


def test_snapshot_reads_parquet_exports(tmp_path):
    table = pd.read_csv(SNAP, dtype=str)
    table.to_parquet(tmp_path / "snapshot.parquet")
    from_parquet = sm.import_snapshot(
        tmp_path / "snapshot.parquet",
        deal_id="Deal",
        owner="Rep",
        stage="Status",
        created_at="Opened",
        first_stage="Lead",
        closed_at="Closed",
        stage_order="Lead,Proposal",
    )
    assert rows(from_parquet.stage_changes, "deal_id", "changed_at", "stage") == rows(
        generic_snapshot().stage_changes, "deal_id", "changed_at", "stage"
    )


def test_snapshot_without_first_stage_dates_no_creation_entry():
    log = generic_snapshot(first_stage=None)
    assert rows(log.stage_changes, "deal_id", "stage") == [("D-1", "Won"), ("D-2", "Lost")]
    assert any("first_stage was not given" in n for n in log.model.notes)


def test_snapshot_needs_a_stage_order():
    with pytest.raises(UsageError, match=r"stage_order=A,B,C.*'Won' \(1\)"):
        generic_snapshot(stage_order=None)


def test_snapshot_unknown_stage_names_the_line():
    with pytest.raises(LogValidationError) as exc:
        generic_snapshot(stage_order="Lead")
    problem = only_error(exc)
    assert (problem.code, problem.file, problem.rows, problem.column) == (
        "unknown_stage",
        "pipeline_snapshot.csv",
        (4,),
        "Status",
    )
    assert problem.values == ("Proposal",)


def test_snapshot_missing_named_column():
    with pytest.raises(LogValidationError) as exc:
        generic_snapshot(owner="Reps")
    problem = only_error(exc)
    assert problem.column == "Reps" and "Did you mean 'Rep'?" in problem.message


def test_snapshot_maven_preset_on_a_small_copy(tmp_path):
    log = sm.import_snapshot(FIXTURES / "snapshot" / "maven", preset="maven", out=tmp_path / "log")
    assert rows(log.stage_changes, "deal_id", "changed_at", "stage") == [
        ("AB12CD34", "2016-10-20T00:00:00+00:00", "Engaging"),
        ("AB12CD34", "2017-03-01T00:00:00+00:00", "Won"),
        ("EF56GH78", "2016-10-25T00:00:00+00:00", "Engaging"),
        ("EF56GH78", "2017-03-11T00:00:00+00:00", "Lost"),
        ("IJ90KL12", "2017-11-02T00:00:00+00:00", "Engaging"),
    ]
    deals = log.deals.set_index("deal_id")
    assert deals.loc["AB12CD34", "product"] == "GTX Pro"
    assert deals.loc["AB12CD34", "list_price"] == 4821
    assert deals.loc["AB12CD34", "team"] == "Dustin Brinkmann"
    # amount is the list price, known from the start; close_value (the price paid, 0 when lost) would leak
    assert deals.loc["AB12CD34", "amount"] == 4821 and deals.loc["AB12CD34", "close_value"] == 4514
    assert deals.loc["EF56GH78", "amount"] > 0 and deals.loc["EF56GH78", "close_value"] == 0
    assert pd.isna(deals.loc["MN34OP56", "created_at"])
    assert deals.loc["MN34OP56", "snapshot_stage"] == "Prospecting"
    assert sm.read_log(tmp_path / "log").summary().history == "partial"


def test_snapshot_maven_preset_says_when_teams_are_missing():
    pipeline_only = sm.import_snapshot(FIXTURES / "snapshot" / "maven" / "sales_pipeline.csv", preset="maven")
    assert pipeline_only.deals["team"].isna().all()
    assert pipeline_only.deals["amount"].isna().all()  # no list prices, and close_value would tell the outcome
    assert any(note.startswith("No sales_teams.csv among the files") for note in pipeline_only.model.notes)
    folder = sm.import_snapshot(FIXTURES / "snapshot" / "maven", preset="maven")
    assert not any(note.startswith("No sales_teams.csv") for note in folder.model.notes)


def test_snapshot_preset_rejects_column_options():
    with pytest.raises(UsageError, match="names its own columns"):
        sm.import_snapshot(FIXTURES / "snapshot" / "maven", preset="maven", owner="x")
    with pytest.raises(UsageError, match="Unknown preset"):
        sm.import_snapshot(FIXTURES / "snapshot" / "maven", preset="mavn")


@needs_datasets
def test_real_maven_dataset_loads(tmp_path):
    folder = DATASETS / "maven_crm_sales"
    log = sm.import_snapshot(folder, preset="maven", out=tmp_path / "maven")
    reread = sm.read_log(tmp_path / "maven")
    summary = reread.summary()
    assert summary.history == "partial" and summary.deals == 8800
    # 8,300 engage dates (all but the 500 Prospecting deals) + 6,711 close dates (Won 4,238 + Lost 2,473).
    assert summary.rows["stage_changes"] == 8300 + 6711
    assert summary.won_deals == 4238 and summary.lost_deals == 2473
    assert int(reread.deals["created_at"].isna().sum()) == 500
    assert (reread.deals["snapshot_stage"] == "Prospecting").sum() == 500
    assert not reread.deals["product"].eq("GTXPro").any()
    assert any("500 deals have no dated stage entry (Prospecting 500)" in n for n in summary.notes)
    assert any("engage_date" in n for n in summary.notes)
    assert log.model.notes == reread.model.notes


@needs_datasets
def test_real_ibm_dataset_loads_without_inventing_dates(tmp_path):
    out = tmp_path / "ibm"
    run_import("snapshot", [DATASETS / "ibm_sales_win_loss"], out, options={"preset": "ibm"})
    log = sm.read_log(out)
    summary = log.summary()
    assert summary.history == "partial"
    assert summary.rows["stage_changes"] == 0 and log.deals["created_at"].isna().all()
    # 78,025 rows - 55 exact repeats - (278 line-item rows - 137 opportunities) = 77,829 deals.
    assert summary.deals == 77829 and log.deals["deal_id"].is_unique
    assert (log.deals["Competitor Type"] == "None").sum() > 9000  # a value, not a missing cell
    assert set(log.deals["snapshot_stage"]) == {"Won", "Loss"}
    assert any("no timestamps" in n for n in summary.notes)
    assert any(p.code == "empty_table" for p in log.problems)


@needs_datasets
def test_real_olist_funnel_loads(tmp_path):
    folder = DATASETS / "olist_marketing_funnel"
    out = tmp_path / "olist"
    sm.import_snapshot(
        [folder / "olist_marketing_qualified_leads_dataset.csv", folder / "olist_closed_deals_dataset.csv"],
        preset="olist",
        out=out,
    )
    log = sm.read_log(out)
    summary = log.summary()
    assert summary.history == "partial" and summary.deals == 8000
    assert (log.stage_changes["stage"] == "Won").sum() == 842
    assert (log.stage_changes["stage"] == "MQL").sum() == 8000
    assert (log.deals["owner"] == "(unknown)").sum() == 8000 - 842
    assert any("right-censored" in n for n in summary.notes)
    assert any("no rep in the data" in n for n in summary.notes)


# ------------------------------------------------------------------------------------------ mapping

MAP = FIXTURES / "mapping"


def test_mapping_builds_the_log():
    log = sm.import_mapped([MAP / "opportunities.csv", MAP / "stage_log.csv"], MAP / "mapping.yaml")
    assert log.model.timezone == "Europe/Berlin" and log.model.name == "Acme CRM"
    # Semicolon file: "1.200,50" is 1200.5; "14.03.2024" is day-first.
    assert rows(log.deals, "deal_id", "owner", "created_at", "team", "Source") == [
        ("A-1", "Kim", "2024-03-14T00:00:00+01:00", "North", "Web"),
        ("A-2", "Lee", "2024-03-15T00:00:00+01:00", "South", "Referral"),
        ("A-3", "Kim", "2024-03-20T00:00:00+01:00", "North", "Web"),
    ]
    assert log.deals["amount"].tolist()[:2] == [1200.5, 800.0] and pd.isna(log.deals["amount"].iloc[2])
    assert rows(log.stage_changes, "deal_id", "stage") == [
        ("A-1", "Lead"),
        ("A-2", "Lead"),
        ("A-1", "Demo"),
        ("A-1", "Won"),
        ("A-2", "Lost"),
        ("A-3", "Lead"),
    ]


def test_mapping_files_are_found_beside_the_yaml_when_not_given(tmp_path):
    log = run_import("mapping", [], tmp_path / "log", mapping=MAP / "mapping.yaml", format="csv")
    assert len(sm.read_log(tmp_path / "log").stage_changes) == len(log.stage_changes) == 6


def test_mapping_unknown_stage_names_the_source_line(tmp_path):
    folder = copy_fixture(MAP, tmp_path)
    edit(folder / "stage_log.csv", "A-1,2024-03-18 11:30,Demo", "A-1,2024-03-18 11:30,Demo call")
    with pytest.raises(LogValidationError) as exc:
        sm.import_mapped([], folder / "mapping.yaml")
    problem = only_error(exc)
    assert (problem.file, problem.rows, problem.column, problem.values) == (
        "stage_log.csv",
        (4,),
        "Stage",
        ("Demo call",),
    )
    assert "'Demo call' may be 'Demo'" in problem.message


def test_mapping_validator_problems_are_restated_for_the_export(tmp_path):
    folder = copy_fixture(MAP, tmp_path)
    edit(folder / "opportunities.csv", "A-3;Kim", "A-1;Kim")
    with pytest.raises(LogValidationError) as exc:
        sm.import_mapped([], folder / "mapping.yaml")
    errors = {p.code: p for p in exc.value.problems.errors}
    assert set(errors) == {"duplicate_id", "unknown_deal"}  # A-3 is gone, so its stage_log row is unknown
    assert (errors["duplicate_id"].file, errors["duplicate_id"].column) == ("opportunities.csv", "Opp #")
    assert errors["duplicate_id"].rows == (2, 4)
    assert (errors["unknown_deal"].file, errors["unknown_deal"].rows) == ("stage_log.csv", (7,))


def test_mapping_missing_column_and_bad_keys(tmp_path):
    folder = copy_fixture(MAP, tmp_path)
    edit(folder / "mapping.yaml", "owner: Rep,", "owner: Reps,")
    with pytest.raises(LogValidationError) as exc:
        sm.import_mapped([], folder / "mapping.yaml")
    problem = only_error(exc)
    assert (problem.file, problem.column) == ("opportunities.csv", "Reps")
    assert "Did you mean 'Rep'?" in problem.message
    edit(folder / "mapping.yaml", "stages:", "stage:")
    with pytest.raises(UsageError, match="did you mean 'stages'"):
        sm.import_mapped([], folder / "mapping.yaml")


def test_mapping_stage_model_is_read_as_a_logs_is(tmp_path):
    folder = copy_fixture(MAP, tmp_path)
    edit(folder / "mapping.yaml", "stages: [Lead, Demo, Proposal]", "stages: Lead, Demo, Proposal")
    log = sm.import_mapped([], folder / "mapping.yaml")
    assert log.model.stages == ("Lead", "Demo", "Proposal")
    edit(folder / "mapping.yaml", "won: [Won]", "won: [Won]\ncommit_stage: Signed")
    with pytest.raises(UsageError, match=r"mapping.yaml, column 'commit_stage': 'commit_stage' must be one of"):
        sm.import_mapped([], folder / "mapping.yaml")
    edit(folder / "mapping.yaml", "timezone: Europe/Berlin", "timezone: Mars/Base")
    edit(folder / "mapping.yaml", "won: [Won]", "won: [yes]")
    with pytest.raises(UsageError) as exc:
        sm.import_mapped([], folder / "mapping.yaml")
    assert "'won' has an item YAML read as true" in str(exc.value)
    edit(folder / "mapping.yaml", "won: [yes]", "won: [Won]")
    with pytest.raises(UsageError) as exc:
        sm.import_mapped([], folder / "mapping.yaml")
    assert str(exc.value).startswith("mapping.yaml:\n1. [error] mapping.yaml, column 'commit_stage'")
    assert "column 'timezone': Unknown time zone." in str(exc.value)


def test_mapping_wide_stage_columns_and_constants(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "id,lead_on,demo_on,won_on,lost_on\n1,2024-01-02,2024-01-09,2024-02-01,\n2,2024-01-03,,,2024-01-20\n"
    )
    (tmp_path / "map.yaml").write_text(
        "stages: [Lead, Demo]\n"
        "history: partial\n"
        "notes: [Owners are not in the export.]\n"
        "deals:\n  file: deals.csv\n  keep: none\n"
        "  columns: {deal_id: id, owner: {value: '(unknown)'}, created_at: lead_on}\n"
        "stage_changes:\n  file: deals.csv\n  deal_id: id\n"
        "  entered: {Lead: lead_on, Demo: demo_on, Won: won_on, Lost: lost_on}\n"
    )
    log = sm.import_mapped([tmp_path / "deals.csv"], tmp_path / "map.yaml")
    assert rows(log.stage_changes, "deal_id", "stage") == [
        ("1", "Lead"),
        ("1", "Demo"),
        ("1", "Won"),
        ("2", "Lead"),
        ("2", "Lost"),
    ]
    assert list(log.deals.columns[:3]) == ["deal_id", "owner", "created_at"] and "demo_on" not in log.deals
    assert log.summary().notes == ("Owners are not in the export.",)


# ------------------------------------------------------------------------------------------ run_import


def test_run_import_dispatches_with_options(tmp_path):
    log = run_import(
        "snapshot",
        [SNAP],
        tmp_path / "log",
        format="csv",
        options={
            "deal_id": "Deal",
            "owner": "Rep",
            "stage": "Status",
            "created_at": "Opened",
            "first_stage": "Lead",
            "stages": "Lead,Proposal",
            "timezone": "Europe/Berlin",
        },
    )
    assert log.model.timezone == "Europe/Berlin"
    assert (tmp_path / "log" / "deals.csv").exists()
    assert sm.read_log(tmp_path / "log").model.stages == ("Lead", "Proposal")
    log = run_import("salesforce", [SF / "Opportunity.csv", SF / "OpportunityHistory.csv"], tmp_path / "sf")
    assert (tmp_path / "sf" / "close_date_changes.parquet").exists() and len(log.deals) == 5
    log = run_import("hubspot", [HS], tmp_path / "hs", options={"timezone": "Europe/Berlin"})
    assert log.model.timezone == "Europe/Berlin"


def test_run_import_usage_errors(tmp_path):
    assert KINDS == ("salesforce", "hubspot", "snapshot", "mapping")
    with pytest.raises(UsageError, match="Did you mean 'hubspot'"):
        run_import("hubspt", [HS], tmp_path / "x")
    with pytest.raises(UsageError, match="Did you mean 'timezone'"):
        run_import("hubspot", [HS], tmp_path / "x", options={"timezon": "UTC"})
    with pytest.raises(UsageError, match="two files"):
        run_import("salesforce", [SF / "Opportunity.csv"], tmp_path / "x")
    with pytest.raises(UsageError, match="--mapping"):
        run_import("mapping", [], tmp_path / "x")
    with pytest.raises(UsageError, match="mapping"):
        run_import("hubspot", [HS], tmp_path / "x", mapping=MAP / "mapping.yaml")
    with pytest.raises(UsageError, match="format"):
        run_import("hubspot", [HS], tmp_path / "x", format="xlsx")
    assert not (tmp_path / "x").exists()


def test_lazy_exports():
    assert sm.import_salesforce.__module__ == "salesmetrics.adapters.salesforce"
    assert sm.import_mapped.__module__ == "salesmetrics.adapters.mapping"
