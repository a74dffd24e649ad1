"""Adapters on exports as analysts have them: report line items and footers, spreadsheet leftovers, legacy
encodings, renamed stages, snapshots without close dates or ids, and win-loss tables without dates.

Fixtures are in tests/fixtures/adapters/exports (README.md there says which tool writes each shape). Expected
values were worked out by hand from those files (see the comments next to each expectation).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics._util.timezones import suggest_timezones
from salesmetrics.adapters import run_import
from salesmetrics.adapters._settings import as_merges, check_timezone
from salesmetrics.cli.main import main
from salesmetrics.exceptions import LogValidationError, UsageError
from salesmetrics.log.readers import read_raw_table
from salesmetrics.metrics.outcomes import win_rates
from salesmetrics.metrics.scoring import score

FIXTURES = Path(__file__).parent / "fixtures" / "adapters"
EXPORTS = FIXTURES / "exports"
REPORT_HISTORY = FIXTURES / "salesforce_report" / "OpportunityHistory.csv"
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_datasets = pytest.mark.skipif(
    not DATASETS.is_dir(), reason=f"the shared real datasets are not present at {DATASETS}"
)


def notes_with(log: sm.SalesLog, text: str) -> list[str]:
    return [n for n in log.model.notes if text in n]


# ------------------------------------------------------------------ repeated opportunity rows (line items)


def test_opportunities_with_products_rows_are_read_as_one_opportunity_each():
    log = sm.import_salesforce(
        EXPORTS / "salesforce_products" / "opportunities_with_products.csv", REPORT_HISTORY, timezone="Europe/Berlin"
    )
    deals = log.deals.set_index("deal_id")
    assert list(deals.index) == ["0065g00000Xq1Ab", "0065g00000Xq2Cd"]
    # Amount is the opportunity's, repeated on each line: kept, not summed (12,000, not 24,000).
    assert deals.loc["0065g00000Xq1Ab", "amount"] == 12000
    assert deals.loc["0065g00000Xq1Ab", "Product Name"] == "Widget | Gadget"
    assert deals.loc["0065g00000Xq1Ab", "Total Price"] == "9,000.00 | 3,000.00"
    assert deals.loc["0065g00000Xq2Cd", "Product Name"] == "Widget"
    assert len(log.stage_changes) == 3
    assert notes_with(log, "1 opportunity appears on 2 rows (one per line item")


def test_line_items_in_a_parquet_export_with_numeric_columns(tmp_path):
    # As pandas (or Workbench via DuckDB) writes it: Quantity and Total Price are numbers, not text.
    table = pd.DataFrame(
        {
            "Opportunity ID": ["0065g00000Xq1Ab", "0065g00000Xq1Ab", "0065g00000Xq2Cd"],
            "Opportunity Owner": ["Ada Lovelace", "Ada Lovelace", "Grace Hopper"],
            "Stage": ["Closed Won", "Closed Won", "Prospecting"],
            "Amount": [12000.0, 12000.0, 5000.0],
            "Probability (%)": [100, 100, 10],
            "Created Date": ["2024-01-02 09:00", "2024-01-02 09:00", "2024-03-14 14:30"],
            "Quantity": [150, 50, 100],
        }
    )
    table.to_parquet(tmp_path / "opportunities.parquet")
    log = sm.import_salesforce(tmp_path / "opportunities.parquet", REPORT_HISTORY, out=tmp_path / "log")
    assert sm.read_log(tmp_path / "log").deals["Quantity"].tolist() == ["150 | 50", "100"]
    assert log.deals["amount"].tolist() == [12000.0, 5000.0]


def test_an_exactly_repeated_opportunity_row_is_left_out(tmp_path):
    # Before: pandas.errors.InvalidIndexError (a traceback) from the Salesforce adapter.
    opps = tmp_path / "Opportunity.csv"
    text = (FIXTURES / "salesforce" / "Opportunity.csv").read_text(encoding="utf-8")
    opps.write_text(text + text.splitlines(keepends=True)[1], encoding="utf-8")
    log = sm.import_salesforce(opps, FIXTURES / "salesforce" / "OpportunityHistory.csv")
    assert len(log.deals) == 5 and log.deals["deal_id"].is_unique
    assert notes_with(log, "Opportunity.csv: 1 row repeating an earlier row exactly was left out.")


def test_rows_of_one_opportunity_that_disagree_are_an_error_naming_rows_and_columns(tmp_path):
    opps = tmp_path / "opportunities_with_products.csv"
    text = (EXPORTS / "salesforce_products" / "opportunities_with_products.csv").read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    lines[2] = lines[2].replace('"Ada Lovelace"', '"Grace Hopper"').replace('"Closed Won"', '"Prospecting"')
    opps.write_text("\r\n".join(lines), encoding="utf-8")
    with pytest.raises(LogValidationError) as exc:
        sm.import_salesforce(opps, REPORT_HISTORY)
    [problem] = exc.value.problems.errors
    assert (problem.code, problem.file, problem.rows, problem.column) == (
        "duplicate_id",
        opps.name,
        (2, 3),
        "Opportunity ID",
    )
    assert problem.values == ("0065g00000Xq1Ab",)
    assert "'Opportunity Owner', 'Stage'" in problem.message and "Remove the extra rows" in problem.message


def test_snapshot_rows_of_one_deal_combine_when_the_log_columns_agree(tmp_path):
    table = tmp_path / "deals.csv"
    base = (EXPORTS / "snapshot_no_close" / "deals.csv").read_text(encoding="utf-8")
    table.write_text(
        base.replace("deal,owner,stage,created,amount", "deal,owner,stage,created,amount,product").replace(
            "S-1,Kim,Won,2024-01-10,1000\n", "S-1,Kim,Won,2024-01-10,1000,A\nS-1,Kim,Won,2024-01-10,1000,B\n"
        ),
        encoding="utf-8",
    )
    names = dict(deal_id="deal", owner="owner", stage="stage", amount="amount", stage_order="Lead,Proposal")
    log = sm.import_snapshot(table, **names)
    assert log.deals.set_index("deal_id").loc["S-1", ["amount", "product"]].tolist() == [1000, "A | B"]
    table.write_text(table.read_text(encoding="utf-8").replace("1000,B", "999,B"), encoding="utf-8")
    with pytest.raises(LogValidationError) as exc:
        sm.import_snapshot(table, **names)
    [problem] = exc.value.problems.errors
    assert (problem.code, problem.rows, problem.values) == ("duplicate_id", (2, 3), ("S-1",))
    assert "differ in 'amount'" in problem.message


# --------------------------------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("Pacific", "America/Los_Angeles"),  # a folder of the zone database: was IsADirectoryError
        ("Eastern Standard Time", "America/New_York"),  # the Windows name
        ("(GMT-08:00) Pacific Standard Time (America/Los_Angeles)", "America/Los_Angeles"),  # as Salesforce shows it
        ("Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("Europe/Berln", "Europe/Berlin"),
    ],
)
def test_unknown_time_zones_suggest_the_iana_name(given, meant):
    assert suggest_timezones(given)[0] == meant
    with pytest.raises(UsageError, match=f"Unknown time zone .*Did you mean '{meant}'"):
        check_timezone(given)


def test_valid_time_zones_pass_and_odd_names_fail_cleanly():
    assert check_timezone("America/Los_Angeles") == "America/Los_Angeles"
    assert check_timezone(" US/Pacific ") == "US/Pacific"
    for name in ("America", "../etc/passwd", "", "Mars/Olympus"):
        with pytest.raises(UsageError, match="Unknown time zone"):
            check_timezone(name)


def test_timezone_pacific_on_the_command_line_is_a_usage_error(tmp_path, capsys):
    for kind, files in (
        ("hubspot", [FIXTURES / "hubspot" / "hubspot-deals.csv"]),
        (
            "salesforce",
            [FIXTURES / "salesforce" / "Opportunity.csv", FIXTURES / "salesforce" / "OpportunityHistory.csv"],
        ),
    ):
        args = ["import", kind, *map(str, files), "--out", str(tmp_path / kind), "-o", "timezone=Pacific"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "Unknown time zone 'Pacific'" in err and "America/Los_Angeles" in err and "Traceback" not in err
        assert not (tmp_path / kind).exists()


# --------------------------------------------------------------------- spreadsheet rows and report footers


def excel_pipeline(**kwargs) -> sm.SalesLog:
    """The Excel snapshot with its four ',,,,,' rows, its columns named."""
    names = dict(deal_id="Deal", owner="Rep", stage="Status", stage_order="Lead,Proposal", closed_at="Closed")
    return sm.import_snapshot(EXPORTS / "excel_trailing_rows" / "pipeline.csv", **names, **kwargs)


def test_excel_empty_rows_at_the_end_are_dropped_and_noted():
    log = excel_pipeline()
    assert list(log.deals["deal_id"]) == ["D-1", "D-2", "D-3", "D-4"]
    assert notes_with(log, "pipeline.csv: 4 empty rows (no value in any cell")


def test_salesforce_classic_report_footer_is_dropped_and_noted():
    # Before: 'rows 6, 7, 8, 9, 10 ... have no opportunity id' (the footer lines read as opportunities).
    log = sm.import_salesforce(
        EXPORTS / "salesforce_footer" / "opportunities_report.csv", REPORT_HISTORY, timezone="Europe/Berlin"
    )
    assert list(log.deals["deal_id"]) == ["0065g00000Xq1Ab", "0065g00000Xq2Cd"]
    [note] = notes_with(log, "the report footer")
    assert "lines 6-10" in note and "Confidential Information - Do Not Distribute" in note
    assert not [n for n in log.model.notes if "empty row" in n]  # the footer's blank lines are part of it


def test_rows_before_a_footer_keep_their_line_numbers(tmp_path):
    opps = tmp_path / "opportunities_report.csv"
    text = (EXPORTS / "salesforce_footer" / "opportunities_report.csv").read_text(encoding="utf-8")
    opps.write_text(text.replace("3/14/2024 2:30 PM", "3/44/2024 2:30 PM"), encoding="utf-8")
    with pytest.raises(LogValidationError) as exc:
        sm.import_salesforce(opps, REPORT_HISTORY)
    [problem] = exc.value.problems.errors
    assert (problem.rows, problem.column, problem.values) == ((3,), "Created Date", ("3/44/2024 2:30 PM",))


def test_a_lone_value_in_the_first_column_without_a_footer_marker_is_not_dropped(tmp_path):
    table = tmp_path / "pipeline.csv"
    text = (EXPORTS / "excel_trailing_rows" / "pipeline.csv").read_bytes().replace(b",,,,,\r\n", b"")
    table.write_bytes(text + b"D-5,,,,,\r\n")
    log = sm.import_snapshot(table, deal_id="Deal", stage="Status", stage_order="Lead,Proposal")
    assert list(log.deals["deal_id"]) == ["D-1", "D-2", "D-3", "D-4", "D-5"]


# ------------------------------------------------------------------------------------------------ cp1252


def test_cp1252_export_is_read_as_cp1252_not_cp775():
    path = EXPORTS / "cp1252" / "pipeline.csv"
    raw, problems = read_raw_table(path, "pipeline")
    assert raw.encoding == "cp1252"
    assert [p.code for p in problems] == ["encoding_guessed"] and "read as cp1252" in problems[0].message
    log = sm.import_snapshot(path, deal_id="Deal", owner="Rep", stage="Status", stage_order="Lead,Proposal")
    deals = log.deals.set_index("deal_id")
    assert deals.loc["D-1", "owner"] == "Zoë Müller" and deals.loc["D-2", "owner"] == "José Núñez"
    assert deals.loc["D-1", "Next step"] == "Signed – “go live” in March"
    assert deals.loc["D-2", "Next step"] == "Budget €5k too low…"


# Words as Western European names and notes have them: plain letters with an accent here and there, numbers,
# and the punctuation Excel's cp1252 adds (curly quotes, dashes, the euro sign).
WORD = st.builds(
    lambda head, accent, tail: head + accent + tail,
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzMSJ", min_size=1, max_size=6),
    st.sampled_from(["", "é", "è", "à", "ü", "ö", "ä", "ß", "ç", "ñ", "ø", "É", "Ü", "œ"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=6),
)
TOKEN = st.one_of(WORD, st.sampled_from(["€5k", "“go”", "‘ok’", "–", "…", "42", "•"]))
WESTERN_TEXT = st.lists(TOKEN, min_size=1, max_size=5).map(" ".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(WESTERN_TEXT, min_size=1, max_size=6))
def test_western_text_saved_as_cp1252_reads_back_unchanged(tmp_path, names):
    path = tmp_path / "names.csv"
    path.write_bytes(("id,name\r\n" + "".join(f'{i},"{n}"\r\n' for i, n in enumerate(names))).encode("cp1252"))
    raw, _ = read_raw_table(path, "names")
    assert raw.frame["name"].tolist() == names


# ----------------------------------------------------------------------------- HubSpot: a renamed stage


HUBSPOT_RENAMED = EXPORTS / "hubspot_renamed_stage" / "hubspot-deals.csv"


def regressions(log: sm.SalesLog) -> dict[str, int]:
    scores = score(log)
    return dict(zip(scores["deal_id"], scores["regressions"], strict=True))


def test_hubspot_renamed_stage_without_merging_gives_false_regressions():
    log = sm.import_hubspot(HUBSPOT_RENAMED)
    assert log.model.stages[-1] == "Demo Completed"  # the new column comes last in the export
    assert regressions(log) == {"101": 0, "102": 1, "103": 1, "104": 0}


def test_hubspot_merge_stages_orders_the_merged_stage_and_removes_false_regressions():
    log = sm.import_hubspot(HUBSPOT_RENAMED, merge_stages="Demo Scheduled:Demo Completed")
    assert log.model.stages == ("Appointment Scheduled", "Demo Completed", "Decision Maker Bought-In", "Contract Sent")
    assert regressions(log) == {"101": 0, "102": 0, "103": 0, "104": 0}
    changes = log.stage_changes[log.stage_changes["deal_id"] == "103"]
    # 103 has a date in both columns (01-12 old name, 03-02 new name) and nothing between: the earlier is kept.
    assert [(t.strftime("%m-%d"), s) for t, s in zip(changes["changed_at"], changes["stage"], strict=True)] == [
        ("01-10", "Appointment Scheduled"),
        ("01-12", "Demo Completed"),
        ("03-05", "Decision Maker Bought-In"),
    ]
    assert notes_with(log, "'Demo Scheduled' is read as 'Demo Completed'")
    assert notes_with(log, "1 deal entered a merged stage under both names")
    assert not [p for p in log.problems if p.code == "stage_mismatch"]


def test_merge_stages_from_the_command_line_and_its_usage_errors(tmp_path):
    log = run_import(
        "hubspot", [HUBSPOT_RENAMED], tmp_path / "log", options={"merge_stages": "Demo Scheduled:Demo Completed"}
    )
    assert "Demo Scheduled" not in log.model.all_stages
    with pytest.raises(UsageError, match=r"'Demo Sceduled' \(did you mean 'Demo Scheduled'\?\)"):
        sm.import_hubspot(HUBSPOT_RENAMED, merge_stages="Demo Sceduled:Demo Completed")
    with pytest.raises(UsageError, match="has no ':'"):
        sm.import_hubspot(HUBSPOT_RENAMED, merge_stages="Demo Scheduled")
    with pytest.raises(UsageError, match="merge each old name straight"):
        as_merges("A:B,B:C")
    assert as_merges({"Old": "New"}) == {"Old": "New"}


def test_mapping_merges_a_renamed_stage_from_a_list_of_columns(tmp_path):
    shutil.copy(HUBSPOT_RENAMED, tmp_path / "deals.csv")
    (tmp_path / "map.yaml").write_text(
        "stages: [Appointment Scheduled, Demo Completed, Decision Maker Bought-In, Contract Sent]\n"
        "won: [Closed Won]\nlost: [Closed Lost]\nhistory: partial\n"
        "deals:\n  file: deals.csv\n  keep: none\n"
        "  columns: {deal_id: Record ID, owner: Deal owner, created_at: Create Date}\n"
        "stage_changes:\n  file: deals.csv\n  deal_id: Record ID\n  entered:\n"
        "    Appointment Scheduled: 'Date entered \"Appointment Scheduled (Sales Pipeline)\"'\n"
        "    Demo Completed: ['Date entered \"Demo Scheduled (Sales Pipeline)\"', "
        "'Date entered \"Demo Completed (Sales Pipeline)\"']\n"
        "    Decision Maker Bought-In: 'Date entered \"Decision Maker Bought-In (Sales Pipeline)\"'\n"
        "    Contract Sent: 'Date entered \"Contract Sent (Sales Pipeline)\"'\n"
        "    Closed Won: 'Date entered \"Closed Won (Sales Pipeline)\"'\n"
        "    Closed Lost: 'Date entered \"Closed Lost (Sales Pipeline)\"'\n"
    )
    log = sm.import_mapped([tmp_path / "deals.csv"], tmp_path / "map.yaml")
    hubspot = sm.import_hubspot(HUBSPOT_RENAMED, merge_stages="Demo Scheduled:Demo Completed")
    columns = ["deal_id", "changed_at", "stage"]
    assert log.stage_changes[columns].equals(hubspot.stage_changes[columns])
    assert regressions(log) == {"101": 0, "102": 0, "103": 0, "104": 0}


def test_merge_stages_in_salesforce_and_snapshot_imports():
    log = sm.import_salesforce(
        FIXTURES / "salesforce" / "Opportunity.csv",
        FIXTURES / "salesforce" / "OpportunityHistory.csv",
        merge_stages="Needs Analysis:Qualification",
    )
    assert "Needs Analysis" not in log.model.all_stages
    assert "Needs Analysis" not in set(log.stage_changes["stage"])
    log = sm.import_snapshot(
        EXPORTS / "snapshot_no_close" / "deals.csv",
        deal_id="deal",
        stage="stage",
        stage_order="Lead",
        merge_stages="Proposal:Lead",
    )
    assert set(log.deals["snapshot_stage"]) == {"Won", "Lost", "Lead"}


# ---------------------------------------------------------------------------- snapshot without close date


def test_snapshot_without_close_date_does_not_count_won_and_lost_deals_as_open():
    log = sm.import_snapshot(
        EXPORTS / "snapshot_no_close" / "deals.csv",
        deal_id="deal",
        owner="owner",
        stage="stage",
        created_at="created",
        first_stage="Lead",
        amount="amount",
        stage_order="Lead,Proposal",
    )
    scores = score(log).set_index("deal_id")
    # Before: S-1 (Won) and S-2 (Lost) had only their creation entry into Lead, so they were open in Lead.
    assert scores["is_open"].to_dict() == {"S-1": False, "S-2": False, "S-3": True, "S-4": True}
    assert set(log.stage_changes["deal_id"]) == {"S-3", "S-4"}
    summary = log.summary()
    assert (summary.open_deals, summary.won_deals, summary.lost_deals) == (2, 1, 1)
    assert notes_with(log, "2 won or lost deals have no close date (Won 1, Lost 1)")


def test_snapshot_with_close_dates_keeps_dating_closed_deals():
    log = excel_pipeline(created_at="Opened", first_stage="Lead")
    won = log.stage_changes[log.stage_changes["deal_id"] == "D-1"]
    assert list(won["stage"]) == ["Lead", "Won"]
    assert not notes_with(log, "no close date")


# --------------------------------------------------------------------------------------- generated ids


CONTACTS = EXPORTS / "campaign_contacts" / "contacts.csv"


def contacts(path=CONTACTS, **kwargs) -> sm.SalesLog:
    return sm.import_snapshot(path, stage="y", won="yes", lost="no", stage_order="Contacted", **kwargs)


def test_generated_row_ids_name_the_file_line():
    log = contacts(generate_id="row")
    assert list(log.deals["deal_id"]) == ["row-2", "row-3", "row-4", "row-5", "row-6"]
    assert notes_with(log, "contacts.csv has no id column: each row was given a generated deal_id (row-<line>")
    assert set(log.deals["owner"]) == {"(unknown)"}


def test_generated_content_ids_survive_resorting_and_tell_identical_rows_apart(tmp_path):
    log = contacts(generate_id="content")
    ids = list(log.deals["deal_id"])
    assert len(set(ids)) == 5 and all(i.startswith("c-") for i in ids)
    assert ids[3] == ids[1] + "-2"  # lines 3 and 5 hold identical cells
    lines = CONTACTS.read_bytes().split(b"\r\n")
    resorted = tmp_path / "contacts.csv"
    resorted.write_bytes(b"\r\n".join([lines[0], lines[5], lines[1], lines[3], lines[2], lines[4], b""]))
    again = contacts(resorted, generate_id="content").deals.set_index("deal_id")["age"]
    assert again.to_dict() == log.deals.set_index("deal_id")["age"].to_dict()


def test_generated_ids_are_opt_in():
    with pytest.raises(UsageError, match=r"deal_id=COLUMN \(or, for a table without ids, generate_id=row"):
        contacts()
    with pytest.raises(UsageError, match="either deal_id=COLUMN or generate_id"):
        contacts(generate_id="row", deal_id="age")
    with pytest.raises(UsageError, match="generate_id must be one of row, content"):
        contacts(generate_id="hash")


# ------------------------------------------------------------------------------ win rates without dates


def win_loss_log(**kwargs) -> sm.SalesLog:
    return sm.import_snapshot(
        EXPORTS / "win_loss" / "win_loss.csv",
        deal_id="Opportunity Number",
        stage="Opportunity Result",
        team="Region",
        amount="Opportunity Amount USD",
        won="Won",
        lost="Loss",
        stage_order="Identified,Validated,Qualified",
        **kwargs,
    )


def test_win_loss_table_without_dates_gives_win_rates_by_segment():
    log = win_loss_log()
    assert log.stage_changes.empty
    assert notes_with(log, "7 deals have a known outcome: win rates by segment need no dates")
    by_region = win_rates(log, by="team").set_index("team")
    # Northwest: 1 Won, 2 Loss, 6 Won -> 2 of 3; Pacific: 3 Won, 4, 5, 7 Loss -> 1 of 4.
    assert by_region.loc["Northwest", ["deals", "won", "lost"]].tolist() == [3, 2, 1]
    assert by_region.loc["Northwest", "win_rate"] == pytest.approx(2 / 3)
    assert by_region.loc["Pacific", "win_rate"] == pytest.approx(1 / 4)
    by_group = win_rates(log, by=["Supplies Group"]).set_index("Supplies Group")
    assert by_group["win_rate"].to_dict() == pytest.approx(
        {"Car Accessories": 2 / 3, "Performance & Non-auto": 1 / 3, "Tires & Wheels": 0.0}
    )
    with pytest.raises(UsageError, match=r"no column 'Region'.*Columns: deal_id"):
        win_rates(log, by="Region")  # the import made Region the team


@pytest.mark.slow
def test_pipeline_health_report_of_a_log_without_dates_shows_win_rates(tmp_path):
    from salesmetrics.reports.runner import run_report

    win_loss_log(out=tmp_path / "log")
    files = run_report("pipeline_health", log=tmp_path / "log", out=tmp_path / "report", parameters={"by": "team"})
    page = next(p for p in files if p.suffix == ".html").read_text(encoding="utf-8")
    assert "Win rates by team, from each deal" in page
    # Northwest: 2 won of 3 decided; Pacific: 1 of 4 (hand-counted from win_loss.csv)
    assert "67%" in page and "25%" in page and "Traceback" not in page  # rates in percent (tables.readable)


def test_win_rates_count_open_deals_and_missing_segments():
    log = sm.import_snapshot(
        EXPORTS / "snapshot_no_close" / "deals.csv", deal_id="deal", stage="stage", stage_order="Lead,Proposal"
    )
    rates = win_rates(log, by="source_amount").set_index("source_amount")  # the export's amount column
    assert rates.loc["(missing)", ["deals", "open", "decided"]].tolist() == [1, 1, 0]
    assert pd.isna(rates.loc["(missing)", "win_rate"])
    assert int(rates["won"].sum()) == log.summary().won_deals == 1


# ------------------------------------------------------------------------------------ real datasets


@needs_datasets
@pytest.mark.slow
def test_real_bank_marketing_contacts_with_generated_ids(tmp_path):
    source = tmp_path / "bank.csv"
    shutil.copy(DATASETS / "uci_bank_marketing" / "bank.csv", source)  # the 4,521-row sample
    log = contacts(source, generate_id="content")
    assert len(log.deals) == 4521 and log.deals["deal_id"].is_unique
    rates = win_rates(log, by="job")
    assert int(rates["decided"].sum()) == 4521
    assert rates["win_rate"].between(0, 1).all()
