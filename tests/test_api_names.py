"""One name per concept (decision 0046): every renamed parameter works by its new name, and its old name still
works with a warning and gives the same result, until 0.4.0.

``by`` groups, ``top_n`` is how many to show, ``random_state`` drives an algorithm's randomness, and ``as_of``
comes right after ``log``.
"""

from __future__ import annotations

import inspect

import matplotlib
import numpy as np
import pandas as pd
import pytest
from builders import write_tiny_log

import salesmetrics as sm
from salesmetrics._util.renamed import as_of_after_log, renamed
from salesmetrics.exceptions import UsageError
from salesmetrics.exercises import ex6_predicting_stalls as ex6
from salesmetrics.exercises.ex2_decision_increments import stalled_deals
from salesmetrics.exercises.ex4_quality_over_volume import half_owners
from salesmetrics.exercises.ex6_predicting_stalls import plot_reasons
from salesmetrics.metrics import sales_velocity, score, score_groups, serial_pushers, waterfall
from salesmetrics.models import StallPredictor
from salesmetrics.models.reasons import explain
from salesmetrics.reports.catalog import get_report
from salesmetrics.reports.health import pipeline_health
from salesmetrics.reports.parameters import coerce_parameters
from salesmetrics.reports.slippage import slippage_report
from salesmetrics.reports.stall_risk import stall_risk_report
from salesmetrics.reports.study import close_likelihood_study
from salesmetrics.reports.velocity import velocity_report
from salesmetrics.reports.weekly import weekly_review

matplotlib.use("Agg")

DEMO = "datasets/demo"
AS_OF = "2024-02-29"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return sm.read_log(write_tiny_log(tmp_path_factory.mktemp("names") / "tiny"))


@pytest.fixture(scope="module")
def demo():
    return sm.read_log(DEMO)


@pytest.fixture(scope="module")
def reasons_model():
    """A small fitted stall model and its rows (as in the ``explain`` example)."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"close_date_pushes": rng.poisson(1, 500), "noise": rng.normal(size=500)})
    y = (rng.random(500) < 0.1 + 0.2 * X["close_date_pushes"].clip(0, 4)).astype(int)
    return StallPredictor(model="logistic", min_closed=100, n_jobs=1).fit(X, y), X.head(20)


def _old(call, old: str):
    """``call()`` with the old spelling: it must warn, naming the old spelling and 0.4.0; returns the result."""
    with pytest.warns(DeprecationWarning, match=rf"{old}.*0\.4\.0"):
        return call()


# ------------------------------------------------------------------------------------------- the helpers


def test_the_new_signature_is_what_help_shows():
    assert "by" in inspect.signature(velocity_report).parameters
    assert "group_by" not in inspect.signature(velocity_report).parameters
    assert list(inspect.signature(sales_velocity).parameters)[:2] == ["log", "as_of"]
    assert list(inspect.signature(waterfall).parameters)[:2] == ["log", "as_of"]
    assert list(inspect.signature(score).parameters)[:2] == ["log", "as_of"]
    assert list(inspect.signature(score_groups).parameters)[:2] == ["log", "as_of"]
    assert list(inspect.signature(close_likelihood_study).parameters)[:2] == ["log", "as_of"]


def test_old_and_new_name_together_is_an_error():
    @renamed(group_by="by")
    def report(log, *, by="owner"):
        return by

    with pytest.raises(TypeError, match="got both group_by= and by="):
        report(None, group_by="team", by="owner")


def test_a_value_given_twice_by_old_position_and_keyword_is_an_error():
    @as_of_after_log("by", "as_of", not_as_of={"owner", "team"})
    def metric(log, as_of=None, *, by="owner"):
        return as_of, by

    with pytest.raises(TypeError, match="multiple values for by"):
        metric("log", "team", by="owner")
    with pytest.raises(TypeError, match="at most 2 more arguments"):
        metric("log", "team", "2024-01-01", "extra")


# ------------------------------------------------------------------------------------- group_by -> by


def test_velocity_report_by(tiny):
    new = velocity_report(tiny, AS_OF, by="team")
    old = _old(lambda: velocity_report(tiny, AS_OF, group_by="team"), "group_by")
    assert new.by == old.by == "team"
    pd.testing.assert_frame_equal(new.group_velocity, old.group_velocity)
    assert _old(lambda: new.group_by, "group_by") == "team"


def test_slippage_report_by(tiny):
    new = slippage_report(tiny, AS_OF, by="team")
    old = _old(lambda: slippage_report(tiny, AS_OF, group_by="team"), "group_by")
    assert new.by == old.by == "team"
    pd.testing.assert_frame_equal(new.groups, old.groups)
    assert _old(lambda: new.group_by, "group_by") == "team"


def test_pipeline_health_by(tiny):
    new = pipeline_health(tiny, as_of=AS_OF, by="team")
    old = _old(lambda: pipeline_health(tiny, as_of=AS_OF, group_by="team"), "group_by")
    assert new.by == old.by == "team"
    pd.testing.assert_frame_equal(new.groups, old.groups)
    assert _old(lambda: new.group_by, "group_by") == "team"


def test_stall_risk_report_by_and_top_n(tiny):
    # the arguments are checked before a model is fitted: the old names reach the new parameters
    with pytest.raises(UsageError, match="by must be 'owner' or 'team'"):
        stall_risk_report(tiny, by="stage")
    with pytest.raises(UsageError, match="by must be 'owner' or 'team'"):
        _old(lambda: stall_risk_report(tiny, group_by="stage"), "group_by")
    with pytest.raises(UsageError, match="top_n must be a whole number"):
        stall_risk_report(tiny, top_n=0)
    with pytest.raises(UsageError, match="top_n must be a whole number"):
        _old(lambda: stall_risk_report(tiny, top=0), "top")


# -------------------------------------------------------------------------------- top / n -> top_n


def test_report_tables_top_n(tiny):
    slip = slippage_report(tiny, AS_OF)
    velocity = velocity_report(tiny, AS_OF, period="W")
    week = weekly_review(tiny, AS_OF, days=60)
    for report, name in ((slip, "groups"), (velocity, "velocity"), (week, "changes")):
        new = report.table(name, top_n=1)
        old = _old(lambda report=report, name=name: report.table(name, n=1), "n")
        pd.testing.assert_frame_equal(new, old)
        assert len(new) == 1


def test_report_plots_top_n(tiny):
    slip = slippage_report(tiny, AS_OF)
    velocity = velocity_report(tiny, AS_OF)
    for plot in (slip.plot_groups, velocity.plot_responsiveness):
        new = plot(top_n=1)
        old = _old(lambda plot=plot: plot(top=1), "top")
        assert [p.get_width() for p in new.patches] == [p.get_width() for p in old.patches]


def test_explain_and_reasons_top_n(reasons_model):
    model, rows = reasons_model
    new = explain(model, rows, top_n=1)
    pd.testing.assert_frame_equal(new, _old(lambda: explain(model, rows, n=1), "n"))
    pd.testing.assert_frame_equal(new, model.reasons(rows, top_n=1))
    pd.testing.assert_frame_equal(new, _old(lambda: model.reasons(rows, n=1), "n"))
    assert "reason_1" in new and "reason_2" not in new


def test_exercise_6_plot_reasons_top_n(reasons_model, monkeypatch):
    model, rows = reasons_model
    # the figure's title names the deal, its stage and as_of: snapshot columns the small model was not fitted on
    snapshot = {"deal_id": "D1", "as_of": pd.Timestamp("2024-01-07"), "stage": "Lead"}
    monkeypatch.setattr(ex6, "explain", lambda model, rows, top_n: explain(model, rows, top_n=top_n).assign(**snapshot))
    new = plot_reasons(model, rows, top_n=2)
    old = _old(lambda: plot_reasons(model, rows, n=2), "n")
    assert [p.get_width() for p in new.axes[0].patches] == [p.get_width() for p in old.axes[0].patches]


def test_exercise_2_stalled_deals_top_n(demo):
    new = stalled_deals(demo, top_n=3)
    pd.testing.assert_frame_equal(new, _old(lambda: stalled_deals(demo, n=3), "n"))
    assert len(new) == 3


def test_serial_pushers_serial_threshold(demo):
    new = serial_pushers(demo, "2025-06-30", serial_threshold=5)
    pd.testing.assert_frame_equal(new, _old(lambda: serial_pushers(demo, "2025-06-30", n=5), "n"))
    assert len(new) == 42  # the docstring's example


# ----------------------------------------------------------------------------------- force -> overwrite


def test_make_variants_overwrite(tmp_path):
    from salesmetrics.exercises.notebook import make_variants

    first = make_variants(["Ana"], tmp_path, exercises=["01-motion-vs-movement"])
    with pytest.raises(UsageError, match="already exist"):
        make_variants(["Ana"], tmp_path, exercises=["01-motion-vs-movement"])
    assert make_variants(["Ana"], tmp_path, exercises=["01-motion-vs-movement"], overwrite=True) == first
    old = _old(lambda: make_variants(["Ana"], tmp_path, exercises=["01-motion-vs-movement"], force=True), "force")
    assert old == first


def test_exercise_3_serial_share_serial_threshold(demo):
    from salesmetrics.exercises.ex3_random_walks import serial_share

    new = serial_share(demo, serial_threshold=2)
    pd.testing.assert_series_equal(new, _old(lambda: serial_share(demo, n=2), "n"))
    assert not new.equals(serial_share(demo))  # 3, the default, is another threshold


# ------------------------------------------------------------------------------- seed -> random_state


def test_half_owners_random_state():
    owners = pd.DataFrame({"wins": range(10)}, index=[f"o{i}" for i in range(10)])
    new = half_owners(owners, random_state=3)
    pd.testing.assert_frame_equal(new, _old(lambda: half_owners(owners, seed=3), "seed"))
    assert len(new) == 5


# ----------------------------------------------------------------------------- as_of right after log


def test_sales_velocity_old_order(tiny):
    new = sales_velocity(tiny, AS_OF, by="team", period="W")
    pd.testing.assert_frame_equal(new, _old(lambda: sales_velocity(tiny, "team", "W", AS_OF), "by position"))
    one = sales_velocity(tiny, by="team")
    pd.testing.assert_frame_equal(one, _old(lambda: sales_velocity(tiny, "team"), "by position"))


def test_a_date_after_log_is_as_of_without_a_warning(tiny, recwarn):
    pd.testing.assert_frame_equal(sales_velocity(tiny, AS_OF), sales_velocity(tiny, as_of=AS_OF))
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_waterfall_old_order(tiny):
    new = waterfall(tiny, AS_OF, period="Q", by="owner", pipeline="all")
    old = _old(lambda: waterfall(tiny, "Q", "owner", "all", "flows", AS_OF), "by position")
    pd.testing.assert_frame_equal(new.bridge, old.bridge)
    pd.testing.assert_frame_equal(new.moves, old.moves)


def test_score_and_score_groups_old_order(tiny):
    new = score(tiny, AS_OF, by="owner", period="W")
    pd.testing.assert_frame_equal(new, _old(lambda: score(tiny, "owner", "W", AS_OF), "by position"))
    pd.testing.assert_frame_equal(score(tiny, AS_OF), _old(lambda: score(tiny, "deal", "M", AS_OF), "by position"))


def test_deal_scores_and_score_groups_are_old_names_of_score(tiny):
    """One name per concept (decision 0061): the old names warn, name score and 0.4.0, and give score's frames."""
    from salesmetrics.metrics import deal_scores

    pd.testing.assert_frame_equal(_old(lambda: deal_scores(tiny, AS_OF), "deal_scores"), score(tiny, AS_OF))
    groups = _old(lambda: score_groups(tiny, AS_OF, by="team", period="M"), "score_groups")
    pd.testing.assert_frame_equal(groups, score(tiny, AS_OF, by="team", period="M"))
    with pytest.warns(DeprecationWarning) as caught:
        pd.testing.assert_frame_equal(score_groups(tiny, "team", "M", AS_OF), groups)
    said = [str(w.message) for w in caught]
    assert any("by position" in m for m in said) and any("score_groups" in m and "0.4.0" in m for m in said)
    with pytest.raises(UsageError, match="by 'deal'"), pytest.warns(DeprecationWarning):
        score_groups(tiny, AS_OF, by="deal")
    with pytest.warns(DeprecationWarning, match="score_groups") as caught:
        score_groups(tiny, AS_OF, by="team")
    assert caught[0].filename == __file__  # the warning names the caller's line


def test_close_likelihood_study_old_order(tiny):
    # cutoff and horizon_days came second and third: a bad horizon given by position is still the horizon
    with pytest.raises(UsageError, match="horizon_days"):
        _old(lambda: close_likelihood_study(tiny, "2024-01-10", -1), "by position")


# ------------------------------------------------------------------------------- report parameters


RENAMED_PARAMETERS = [
    ("pipeline_health", "group_by", "by", "team"),
    ("stall_risk", "top", "top_n", "5"),
    ("weekly_review", "top", "top_n", "5"),
    ("close_likelihood_study", "group_by", "by", "owner"),
]


@pytest.mark.parametrize(("report", "old", "new", "value"), RENAMED_PARAMETERS)
def test_report_parameters_old_names(report, old, new, value):
    report = get_report(report)
    assert new in report.parameters and old not in report.parameters
    expected = coerce_parameters(report, {new: value})
    with pytest.warns(FutureWarning, match=rf"'{old}' of report '{report.name}' is called '{new}' now.*0\.4\.0"):
        assert coerce_parameters(report, {old: value}) == expected
    with pytest.raises(UsageError, match=f"Give the parameter '{new}' of report '{report.name}' once"):
        coerce_parameters(report, {old: value, new: value})


def test_the_command_line_says_a_report_parameter_was_renamed(tiny_log_dir, tmp_path, monkeypatch, capsys):
    from salesmetrics.cli.main import main
    from salesmetrics.reports import runner

    def checked_only(name, *, parameters, **options):  # the parameters are checked; no kernel starts
        coerce_parameters(get_report(name), parameters)
        return runner.ReportFiles()

    monkeypatch.setattr(runner, "run_report", checked_only)
    assert main(["report", "pipeline_health", str(tiny_log_dir), "--out", str(tmp_path), "-p", "group_by=team"]) == 0
    warning = "salesmetrics report: warning: The parameter 'group_by' of report 'pipeline_health' is called 'by' now"
    assert warning in capsys.readouterr().err
