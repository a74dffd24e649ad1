"""The pipeline simulator: valid logs, determinism, config checks, calibration, and visible ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.simulation.calibration import calibration_report
from salesmetrics.simulation.engine import decision_probability
from salesmetrics.simulation.params import SPEC, resolve_params
from salesmetrics.simulation.simulator import SCENARIOS, simulate


@pytest.fixture(scope="module")
def small():
    return simulate(n_deals=600, n_owners=10, seed=11, months=9)


def test_log_tables_have_canonical_dtypes(small):
    log = small.log
    tz = log.model.timezone
    assert str(log.deals["created_at"].dtype) == f"datetime64[us, {tz}]"
    assert str(log.activities["occurred_at"].dtype) == f"datetime64[us, {tz}]"
    assert str(log.close_date_changes["close_date"].dtype) == f"datetime64[us, {tz}]"
    for table, column in [("deals", "deal_id"), ("stage_changes", "stage"), ("activities", "kind")]:
        assert log.tables[table][column].dtype == "str"
    assert set(log.activities["outcome"].dropna()) <= {"advanced", "stayed", "regressed"}
    assert set(log.activities["direction"]) == {"inbound", "outbound"}
    assert set(log.activities["kind"]) <= {"call", "email", "meeting", "demo", "proposal"}


def test_events_follow_the_process(small):
    log, model = small.log, small.log.model
    end = pd.Timestamp("2024-01-01", tz="UTC") + pd.DateOffset(months=9)
    created = log.deals.set_index("deal_id")["created_at"]
    for name, column in [
        ("stage_changes", "changed_at"),
        ("activities", "occurred_at"),
        ("close_date_changes", "changed_at"),
    ]:
        table = log.tables[name]
        assert (table[column] < end).all(), name
        assert (table[column] >= created.reindex(table["deal_id"]).to_numpy()).all(), name
    first = log.stage_changes.groupby("deal_id")["stage"].first()
    assert (first == model.stages[0]).all()
    # Nothing after a terminal stage.
    last = log.stage_changes.groupby("deal_id").tail(1)
    terminal = log.stage_changes["stage"].isin(model.won + model.lost)
    assert terminal.sum() == last["stage"].isin(model.won + model.lost).sum()
    # Every stage change after the first comes with a decision activity at the same minute, unless stalled.
    truth = small.truth.deals.set_index("deal_id")
    moves = log.stage_changes[log.stage_changes.groupby("deal_id").cumcount() > 0]
    decided = moves[~((moves["stage"] == "Lost") & truth["reason"].reindex(moves["deal_id"]).eq("stalled").to_numpy())]
    acts = log.activities.set_index(["deal_id", "occurred_at"]).index
    assert decided.set_index(["deal_id", "changed_at"]).index.isin(acts).all()


def test_written_log_reads_back_without_problems_and_truth_is_beside_it(small, tmp_path):
    for fmt in ("csv", "parquet"):
        folder = small.write(tmp_path / fmt, format=fmt)
        log = sm.read_log(folder)
        assert not log.problems, [str(p) for p in log.problems]
        assert len(log.activities) == len(small.log.activities)
        truth = folder / "truth"
        assert sorted(p.name for p in truth.iterdir()) == [
            "deals.parquet",
            "owners.parquet",
            "parameters.yaml",
            "win_probability.parquet",
        ]
    with pytest.raises(UsageError, match="already exists"):
        small.write(tmp_path / "csv")
    small.write(tmp_path / "csv", format="csv", overwrite=True)


def test_same_seed_gives_byte_identical_files(tmp_path):
    paths = []
    for i in range(2):
        sim = simulate(n_deals=300, n_owners=6, seed=5, scenario="slipping_quarter", months=12)
        paths.append(sim.write(tmp_path / f"run{i}", format="parquet"))
    files = sorted(p.relative_to(paths[0]) for p in paths[0].rglob("*") if p.is_file())
    assert len(files) == 10  # five log tables, the config, four truth files
    for rel in files:
        assert (paths[0] / rel).read_bytes() == (paths[1] / rel).read_bytes(), rel
    other = simulate(n_deals=300, n_owners=6, seed=6, scenario="slipping_quarter", months=12)
    assert not other.log.activities.equals(sim.log.activities)


def test_parameters_record_every_setting(small):
    params = small.truth.parameters
    assert params["run"]["seed"] == 11 and params["run"]["scenario"] == "baseline"
    flat = pd.json_normalize(params["parameters"], max_level=1).columns
    for key in SPEC:
        assert key in flat or key.split(".")[0] in flat or key in params["parameters"], key


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"owners": {"volum_per_week": 2}}, "Unknown simulator parameter 'owners.volum_per_week'.*volume_per_week"),
        ({"owners": {"decision_rate": 1.5}}, r"'owners.decision_rate' = 1.5 .*from 0.001 to 0.95"),
        ({"process": {"fatigue": [0.1, 0.1]}}, r"'process.fatigue' .*a list of 6 numbers"),
        ({"slip": {"quarter": 2.5}}, r"'slip.quarter' = 2.5 .*whole number"),
        ({"stages": ["A", "B"]}, "per-stage parameters must be given"),
        ({"timezone": "Mars/Base"}, "'timezone' = 'Mars/Base'"),
        ({"timezone": "Pacific"}, "'timezone' = 'Pacific'.*Did you mean 'America/Los_Angeles'"),  # a zone folder
        ("not-a-file.yaml", "does not exist"),
    ],
)
def test_config_errors_name_key_value_and_range(config, message):
    with pytest.raises(UsageError, match=message):
        simulate(n_deals=10, n_owners=2, config=config)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_deals": 0}, "'n_deals' = 0"),
        ({"n_owners": 2.5}, "'n_owners' = 2.5"),
        ({"scenario": "boom"}, "Unknown scenario 'boom'"),
        ({"start": "2024-13-01"}, "'start'"),
        ({"months": -1}, "'months' = -1"),
    ],
)
def test_run_arguments_are_checked(kwargs, message):
    with pytest.raises(UsageError, match=message):
        simulate(**kwargs)


def test_config_from_yaml_and_from_parameters_file(tmp_path, small):
    path = tmp_path / "sim.yaml"
    path.write_text("owners:\n  decision_rate: 0.3\nprocess:\n  inbound_share: [0, 0, 0, 0, 0, 0]\n")
    sim = simulate(n_deals=50, n_owners=3, seed=1, months=3, config=path)
    assert sim.truth.parameters["parameters"]["owners"]["decision_rate"] == 0.3
    assert (sim.log.activities["direction"] == "outbound").all()
    folder = small.write(tmp_path / "again", format="parquet")
    again = simulate(n_deals=600, n_owners=10, seed=11, months=9, config=folder / "truth" / "parameters.yaml")
    pd.testing.assert_frame_equal(again.log.activities, small.log.activities)


def test_custom_stages(tmp_path):
    config = {
        "stages": ["New", "Demo", "Verbal"],
        "won": "Closed Won",
        "lost": "Closed Lost",
        "kinds": {"New": [1, 1, 0, 0, 0], "Demo": [0, 1, 1, 1, 0], "Verbal": [1, 1, 0, 0, 1]},
        "process": {
            key: [1.0, 1.0, 1.0] if key.endswith("multiplier") else [0.5, 0.5, 0.5]
            for key in ["interaction_multiplier", "decision_multiplier", "reject_share", "inbound_share"]
        }
        | {"advance_bias": [0, 1, 1], "fatigue": [0.02] * 3, "stall_growth": [0.001] * 3},
    }
    sim = simulate(n_deals=200, n_owners=4, seed=2, months=6, config=config)
    assert sim.log.model.commit_stage == "Verbal"
    log = sm.read_log(sim.write(tmp_path / "log"))
    assert set(log.stage_changes["stage"]) <= {"New", "Demo", "Verbal", "Closed Won", "Closed Lost"}


def test_decision_probability_closed_form_matches_integration():
    r, a, b, u = 0.1, 0.02, 0.003, 7.0
    w = np.linspace(0, 400, 400_001)
    dens = r * np.exp(-(r + a + b * u) * w - b * w**2 / 2)
    numeric = float(np.sum((dens[1:] + dens[:-1]) / 2 * np.diff(w)))
    assert decision_probability(np.array(r), np.array(a), np.array(b), np.array(u)) == pytest.approx(numeric, rel=1e-6)


def test_true_win_probability_is_calibrated():
    sim = simulate(n_deals=4000, n_owners=40, seed=3, months=18)
    deals = sim.truth.deals
    early = deals[deals["closed_at"].notna() | (deals["outcome"] != "open")]
    closed = early[early["outcome"] != "open"]
    created = sim.log.deals.set_index("deal_id")["created_at"].reindex(closed["deal_id"]).to_numpy()
    first_year = created < pd.Timestamp("2024-10-01", tz="UTC")
    sample = closed[first_year]  # created early enough that almost all have closed
    predicted = sample["win_probability_at_creation"]
    observed = (sample["outcome"] == "won").astype(float)
    assert abs(predicted.mean() - observed.mean()) < 0.03
    bins = pd.cut(predicted, [0, 0.1, 0.25, 0.5, 1.0])
    by_bin = pd.DataFrame({"p": predicted, "y": observed}).groupby(bins, observed=True).mean()
    assert (by_bin["p"] - by_bin["y"]).abs().max() < 0.08
    wp = sim.truth.win_probability
    assert wp["win_probability"].between(0, 1).all()
    assert set(wp["event"]) == {"created", "weekly", "stage_change"}
    won = wp[wp["stage"] == "Won"]
    assert (won["win_probability"] == 1).all()


def test_calibration_within_stated_tolerances():
    report = calibration_report(n_deals=8000, n_owners=100, seed=0)
    asserted = report[report["asserted"]]
    assert len(asserted) >= 6
    failures = asserted.loc[~asserted["within"], ["statistic", "real", "simulated", "low", "high"]]
    assert failures.empty, failures.to_string()


def _owner_stats(log: sm.SalesLog) -> pd.DataFrame:
    """Per owner, from the log alone: win rate, decisions per recorded interaction, activities per open week."""
    changes = log.stage_changes.sort_values(["deal_id", "changed_at"], kind="stable")
    last = changes.groupby("deal_id").tail(1).set_index("deal_id")
    deals = log.deals.set_index("deal_id")
    end = pd.Timestamp("2025-07-01", tz="UTC")
    closed = last["stage"].isin(log.model.won + log.model.lost)
    finish = last["changed_at"].where(closed, end)
    open_weeks = ((finish - deals["created_at"].reindex(finish.index)) / pd.Timedelta(days=7)).clip(lower=1 / 7)
    acts = log.activities.join(deals["owner"], on="deal_id")
    recorded = acts[acts["outcome"].notna()]
    won = last.loc[closed, "stage"].isin(log.model.won)
    owner = deals["owner"]
    return pd.DataFrame(
        {
            "win_rate": won.groupby(owner.reindex(won.index)).mean(),
            "decision_share": recorded["outcome"].isin(["advanced", "regressed"]).groupby(recorded["owner"]).mean(),
            "volume": acts.groupby("owner").size() / open_weeks.groupby(owner.reindex(open_weeks.index)).sum(),
        }
    )


def test_ground_truth_visible_in_simple_statistics():
    sim = simulate(n_deals=6000, n_owners=60, seed=4)
    stats = _owner_stats(sim.log)
    traits = sim.truth.owners.set_index("owner").reindex(stats.index)
    # The observed decision share tracks the latent decision rate, and the observed volume the latent volume.
    assert stats["decision_share"].corr(traits["decision_rate"], method="spearman") > 0.8
    assert stats["volume"].corr(traits["volume_per_week"], method="spearman") > 0.8
    # Win rate goes with decisions, not with activity volume (also after allowing for decisions).
    assert stats["win_rate"].corr(stats["decision_share"]) > 0.6
    assert abs(stats["win_rate"].corr(stats["volume"])) < 0.3
    x = np.column_stack([np.ones(len(stats)), stats["decision_share"], stats["volume"]])
    coef, *_ = np.linalg.lstsq(x, stats["win_rate"].to_numpy(), rcond=None)
    volume_effect = coef[2] * stats["volume"].std()
    decision_effect = coef[1] * stats["decision_share"].std()
    assert abs(volume_effect) < 0.3 * decision_effect


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenarios_teach_what_they_say(scenario):
    sim = simulate(n_deals=3000, n_owners=20, seed=8, scenario=scenario, months=12)
    log, truth = sim.log, sim.truth
    deals = truth.deals
    closed = deals[deals["outcome"] != "open"]
    win = closed.groupby(closed["team"] == "Team A")["outcome"].apply(lambda s: (s == "won").mean())
    acts = log.activities.merge(log.deals[["deal_id", "team"]], on="deal_id")
    per_deal = acts.groupby(acts["team"] == "Team A").size() / log.deals.groupby(log.deals["team"] == "Team A").size()
    if scenario == "motion_heavy":
        assert per_deal[True] > 1.3 * per_deal[False]
        assert win[True] < 0.7 * win[False]
    elif scenario == "compressed":
        moves = log.stage_changes.merge(log.deals[["deal_id", "team"]], on="deal_id")
        won_ids = set(closed.loc[closed["outcome"] == "won", "deal_id"])
        rows = moves[moves["deal_id"].isin(won_ids)].groupby("deal_id").size()
        team = log.deals.set_index("deal_id")["team"].reindex(rows.index) == "Team A"
        assert rows[team].mean() < rows[~team].mean() - 0.5
    elif scenario == "slow_responders":
        owners = truth.owners.groupby(truth.owners["team"] == "Team A")["response_hours"].median()
        assert owners[True] > 5 * owners[False]
        assert win[True] < win[False]
    elif scenario == "slipping_quarter":
        base = simulate(n_deals=3000, n_owners=20, seed=8, scenario="baseline", months=12).log

        def by_quarter(table: pd.DataFrame) -> pd.Series:
            later = table[table.groupby("deal_id").cumcount() > 0]  # not the first row of a deal
            return later.set_index("changed_at").resample("QS").size()

        pushes, base_pushes = by_quarter(log.close_date_changes), by_quarter(base.close_date_changes)
        moves, base_moves = by_quarter(log.stage_changes), by_quarter(base.stage_changes)
        assert pushes.iloc[2] > 1.3 * base_pushes.iloc[2]
        assert moves.iloc[2] < 0.85 * base_moves.iloc[2]
    else:
        assert abs(win[True] - win[False]) < 0.15


def test_outcome_missing_share_is_a_parameter():
    sim = simulate(
        n_deals=300,
        n_owners=5,
        seed=1,
        months=6,
        config={"owners": {"outcome_missing_share": 0.0, "outcome_missing_spread": 0.0}},
    )
    assert sim.log.activities["outcome"].notna().all()
    sim = simulate(n_deals=300, n_owners=5, seed=1, months=6, config={"owners": {"outcome_missing_share": 0.6}})
    assert 0.4 < sim.log.activities["outcome"].isna().mean() < 0.8


def test_resolve_params_scenario_then_config():
    p = resolve_params("slow_responders", {"focus_team": {"response_multiplier": 3}})
    assert p["focus_team"]["response_multiplier"] == 3.0
    assert resolve_params("slipping_quarter")["slip"]["quarter"] == 3


def test_sm_simulate_is_callable_after_the_module_was_imported():
    import salesmetrics as sm
    import salesmetrics.simulation.simulator  # once set sm.simulate to the module; now sm.simulate stays the function

    assert len(sm.simulate(n_deals=20, n_owners=2, seed=1, months=2).log.deals) == 20


@pytest.mark.slow
@pytest.mark.parametrize(
    "env",
    [{"NPY_DISABLE_CPU_FEATURES": "AVX512_ICL,X86_V4"}, {"OPENBLAS_CORETYPE": "SkylakeX"}],
    ids=["numpy-without-avx512", "openblas-skylakex"],
)
def test_every_scenario_gives_the_same_log_on_another_kind_of_processor(tmp_path, env):
    """Run as another processor would (NumPy and OpenBLAS choose their code by the CPU), every scenario writes
    the same log files byte for byte, and truth tables equal within the stated tolerance (decision 0032)."""
    import os
    import subprocess
    import sys

    from salesmetrics.simulation.compare import output_differences

    settings = {"n_deals": 800, "n_owners": 10, "seed": 7, "months": 9}
    code = (
        "import sys\nfrom salesmetrics.simulation.simulator import SCENARIOS, simulate\n"
        f"for s in SCENARIOS: simulate(scenario=s, **{settings!r}).write(sys.argv[1] + '/' + s, format='csv')"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], env={**os.environ, **env}, check=True)
    for scenario in SCENARIOS:
        here = simulate(scenario=scenario, **settings).write(tmp_path / "here" / scenario, format="csv")
        assert output_differences(here, tmp_path / "there" / scenario) == [], scenario
