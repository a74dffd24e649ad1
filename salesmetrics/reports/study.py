"""A close-likelihood study for researchers: the logic of the ``close_likelihood_study`` report.

:func:`close_likelihood_study` puts in one result what ``docs/models.md`` argues a model must show before it is
trusted: a time-split evaluation beside the CRM baselines with bootstrap intervals
(:func:`salesmetrics.models.evaluation.evaluate`), calibration, which features carry the weight (permutation
importance of movement and client-decision features against motion features, whole groups shuffled together),
and survival views (Kaplan–Meier and cumulative incidence of won and lost,
:func:`salesmetrics.models.survival.time_to_close`; a Cox model of the time to the next movement,
:func:`~salesmetrics.models.survival.next_movement_cox`).

The training labels never see past the test start (``observed_until``), and the log is cut at ``as_of``. Each
part that a log cannot support (too few snapshots, one class only, no dates, no activities) is left out with a
sentence saying why; the study never refuses a valid log (``docs/decisions/0026-model-reports.md``). The result,
:class:`~salesmetrics.reports.study_result.Study`, puts its numbers in words, tables and figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from salesmetrics._util.renamed import as_of_after_log
from salesmetrics.exceptions import UsageError
from salesmetrics.features import registry
from salesmetrics.features.build import snapshots
from salesmetrics.features.registry import FEATURES
from salesmetrics.log.coverage import log_coverage
from salesmetrics.log.prepare import filter_log, resolve_as_of
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.models import CloseLikelihood, StallPredictor
from salesmetrics.models.evaluation import evaluate
from salesmetrics.models.splits import time_split
from salesmetrics.models.survival import next_movement_cox, time_to_close
from salesmetrics.reports.fitting import (
    FREQS,
    LEARNERS,
    CollectedWarnings,
    empty_features,
    fill_features,
    thin_snapshots,
)
from salesmetrics.reports.study_result import Study

TARGETS = ("won", "stalled")
COX_MAX_ROWS = 15_000  # the concordance index costs about the square of the rows: above this, dates are thinned
COX_MIN_EVENTS = 20  # movements needed in the training snapshots (half as many in the test snapshots)
SURVIVAL_GROUPS = ("stage", "owner", "team")

#: Feature groups for the permutation importance; every feature in exactly one group (the feature registry's).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = registry.groups()
#: The contrast the study is about: movement and decisions (shuffled together) against motion volume.
CONTRAST: dict[str, tuple[str, ...]] = {
    "movement and decisions": FEATURE_GROUPS["movement and stage"] + FEATURE_GROUPS["client decisions"],
    "motion": FEATURE_GROUPS["motion volume"],
}


def grouped_permutation_importance(model, X: pd.DataFrame, y, groups: dict, n_repeats: int = 5, random_state=0):
    """Drop in ROC AUC when every column of a group is shuffled together (the same row permutation).

    Shuffling a group jointly keeps correlated features inside it from standing in for each other, so the drop
    is what the whole group carries; a group of one feature gives scikit-learn's ``permutation_importance``.
    Columns that are constant in ``X`` are not shuffled (it would change nothing); a group of constants drops 0.
    Returns ``group, features, auc_drop, sd`` (mean and standard deviation over ``n_repeats`` shuffles),
    largest drop first.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    >>> y = (X["a"] + 0.3 * rng.normal(size=400) > 0).astype(int)
    >>> t = grouped_permutation_importance(LogisticRegression().fit(X, y), X, y, {"A": ["a"], "B": ["b"]})
    >>> t["group"].tolist(), bool(t["auc_drop"].iloc[0] > 0.3), bool(abs(t["auc_drop"].iloc[1]) < 0.02)
    (['A', 'B'], True, True)
    """
    y = np.asarray(y)
    rng = np.random.default_rng(random_state)
    base = roc_auc_score(y, model.predict_proba(X)[:, 1])
    rows = []
    for name, columns in groups.items():
        columns = [c for c in columns if c in X.columns]
        varying = [c for c in columns if X[c].nunique(dropna=False) > 1]  # shuffling a constant changes nothing
        drops = [0.0] if not varying else []
        for _ in range(int(n_repeats) if varying else 0):
            shuffled = X.copy()
            shuffled[varying] = X[varying].to_numpy()[rng.permutation(len(X))]
            drops.append(base - roc_auc_score(y, model.predict_proba(shuffled)[:, 1]))
        rows.append({"group": name, "features": len(columns), "auc_drop": float(np.mean(drops)), "sd": np.std(drops)})
    out = pd.DataFrame(rows, columns=["group", "features", "auc_drop", "sd"])
    return out.sort_values("auc_drop", ascending=False, kind="stable").reset_index(drop=True)


def _learner(target: str, learner: str, horizon_days: float, n_jobs, random_state):
    if target == "won":
        return CloseLikelihood(target="won", model=learner, n_jobs=n_jobs, random_state=random_state)
    return StallPredictor(horizon_days=horizon_days, model=learner, n_jobs=n_jobs, random_state=random_state)


def _reason(exc: Exception) -> str:
    """An error message as a clause: no final full stop, first letter in lower case."""
    text = str(exc).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


@as_of_after_log("cutoff", "horizon_days")
def close_likelihood_study(
    log: SalesLog,
    *,
    as_of=None,
    cutoff=None,
    horizon_days: float = 30,
    target: str = "won",
    owner: str | None = None,
    team: str | None = None,
    freq: str = "W",
    model: str = "hgb",
    gap_days: float | None = None,
    n_bootstrap: int = 100,
    n_repeats: int = 5,
    survival_by: str | None = "stage",
    min_age_days: float = 30,
    max_rows: int | None = 100_000,
    random_state=0,
    n_jobs: int | None = 1,
) -> Study:
    """Evaluate a close (or stall) model on a time split beside the baselines, and study what drives it.

    Parameters
    ----------
    log : SalesLog
    as_of : date or None
        The log is cut here (None: its latest event).
    cutoff : date or None
        Train on snapshots before it, test on snapshots from ``cutoff + gap_days`` (None: the moment below which
        70% of the snapshots fall).
    horizon_days : float
        The snapshots' label horizon (the stall window, and the default gap). Before 0.2.0 ``cutoff`` and
        ``horizon_days`` came second and third by position; that still works, with a warning, until 0.4.0 (then
        ``as_of`` may be given by position).
    target : {"won", "stalled"}
        ``won``: a :class:`~salesmetrics.models.CloseLikelihood`; ``stalled``: a
        :class:`~salesmetrics.models.StallPredictor`.
    owner, team : str or None
        Study only these deals.
    freq : {"W", "M"}
        Spacing of the snapshots.
    model : {"hgb", "logistic"}
        The learner (fewer than 200 closed deals: the regularised fallback, said in the narrative).
    gap_days, n_bootstrap
        As in :func:`~salesmetrics.models.evaluation.evaluate`.
    n_repeats : int
        Shuffles per feature and per group for the permutation importance.
    survival_by : {"stage", "owner", "team"} or None
        Grouping of the survival curves; ``min_age_days`` conditions them on deals still open at that age.
    max_rows : int or None
        Most snapshots used: above it, every k-th as-of date is kept (the latest always).
    random_state, n_jobs
        The random state of the model, the bootstrap and the permutations (decision 0046), and threads.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> s = close_likelihood_study(sm.read_log("datasets/demo"), model="logistic", freq="M",
    ...                            n_bootstrap=0, n_repeats=1)  # doctest: +SKIP
    >>> s.evaluation.wide(with_ci=False)["ROC AUC"].round(2).to_dict()  # doctest: +SKIP
    {'model': 0.75, 'stage default rate': 0.76, 'days in stage > 30': 0.52, 'stalled-in-stage flag': 0.5}
    >>> s.narrative().split(";")[0]  # doctest: +SKIP
    'Trained on 1,327 snapshots before 2024-12-31 and tested on 484 from 2025-01-30 (a 30-day gap'
    >>> s.plot_importance()  # doctest: +SKIP
    """
    if target not in TARGETS:
        raise UsageError(f"target must be 'won' or 'stalled', not {target!r}.")
    if freq not in FREQS:
        raise UsageError(f"freq must be 'W' or 'M', not {freq!r}.")
    if model not in LEARNERS:
        raise UsageError(f"model must be 'hgb' or 'logistic', not {model!r}.")
    if survival_by is not None and survival_by not in SURVIVAL_GROUPS:
        raise UsageError(f"survival_by must be 'stage', 'owner', 'team' or None, not {survival_by!r}.")
    if not isinstance(horizon_days, (int, float)) or not horizon_days > 0:
        raise UsageError(f"horizon_days must be a positive number of days (e.g. 30), not {horizon_days!r}.")
    if not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise UsageError(f"n_repeats must be a whole number, 1 or more, not {n_repeats!r}.")
    if max_rows is not None and (not isinstance(max_rows, (int, np.integer)) or max_rows < 100):
        raise UsageError(f"max_rows must be a whole number of 100 or more (or None), not {max_rows!r}.")
    scope = filter_log(log, owner=owner, team=team)
    cover = log_coverage(scope)
    notes = cover.missing("dates", "stage_changes", "activities", "close_dates")
    if cover.partial_note:
        notes.append(cover.partial_note)
    entered = scope.stage_changes["stage"]
    for kind, stages, other in (("lost", log.model.lost, "wins"), ("won", log.model.won, "losses")):
        if target == "won" and cover.stage_changes and not entered.isin(stages).any():
            notes.append(f"The log records no {kind} deal, so a model of winning would see only {other}.")
    common = dict(
        target=target, horizon_days=float(horizon_days), freq=freq, learner=model, coverage=cover, notes=tuple(notes)
    )
    if not cover.dated:
        return Study(as_of=None, **common)
    stamp = resolve_as_of(log, as_of)
    parts: dict = {}

    # ------------------------------------------------------------------ evaluation and importance
    frame = None
    try:
        built = snapshots(scope, freq=freq, horizon_days=horizon_days, observed_until=stamp)
        frame, parts["every"] = thin_snapshots(built, max_rows)
        parts["n_snapshots"] = len(frame)
        train_part, _ = time_split(frame, cutoff, gap_days, train_share=0.7)
        cut, test_start = train_part.attrs["cutoff"], train_part.attrs["test_start"]
        train = snapshots(scope, freq=freq, horizon_days=horizon_days, observed_until=test_start)
        train = train[train["as_of"].isin(frame["as_of"].unique())]
        used = train[(train["as_of"] < cut).to_numpy() & train[target].notna().to_numpy()]
        empty = empty_features(used) if len(used) else []
        frame, train = fill_features(frame, empty), fill_features(train, empty)
        estimator = _learner(target, model, float(horizon_days), n_jobs, random_state)
        parts["empty"] = tuple(f for f in empty if f in _learned(estimator))  # what it learns from (0064)
        with CollectedWarnings() as caught:
            ev = evaluate(
                estimator,
                frame,
                target=target,
                cutoff=cut,
                gap_days=gap_days,
                n_bootstrap=n_bootstrap,
                random_state=random_state,
                train_snapshots=train,
                follow_up="all",  # its own cutoff; the text says which test rows were scored (decision 0056)
            )
        skipped = [m for m in caught.messages() if m.startswith("Baseline")]
        notes.extend(f"{m}." for m in skipped)
        parts["evaluation"] = ev
        fitted = ev.estimators["model"]
        parts["fallback"] = getattr(fitted, "fallback_", None)
        parts["model_used"] = getattr(fitted, "model_", None)
        test = frame[(frame["as_of"] >= ev.test_start).to_numpy() & frame[target].notna().to_numpy()]
        X, y = test[list(FEATURES)], test[target].astype("float64").astype("int64").to_numpy()
        if len(X) != len(ev.predictions):  # pragma: no cover - evaluate's test rows are these rows
            raise UsageError("the test rows could not be matched to the evaluation's")
        with CollectedWarnings():
            single = grouped_permutation_importance(
                fitted, X, y, {f: (f,) for f in _learned(fitted)}, n_repeats, random_state
            ).rename(columns={"group": "feature"})
            group_of = {f: g for g, cols in FEATURE_GROUPS.items() for f in cols}
            single.insert(1, "group", single["feature"].map(group_of))
            parts["importance"] = single.drop(columns="features")
            parts["group_importance"] = grouped_permutation_importance(
                fitted, X, y, FEATURE_GROUPS, n_repeats, random_state
            )
            parts["contrast"] = grouped_permutation_importance(fitted, X, y, CONTRAST, n_repeats, random_state)
    except UsageError as exc:
        parts["evaluation_note"] = _reason(exc)

    # ------------------------------------------------------------------ survival
    try:
        with CollectedWarnings():
            parts["survival"] = time_to_close(scope, as_of=stamp, by=survival_by, min_age_days=min_age_days)
    except UsageError as exc:
        parts["survival_note"] = _reason(exc)
    if frame is None:
        parts["cox_note"] = parts.get("evaluation_note", "there are no snapshots")
    else:
        try:
            cox_cut = parts["evaluation"].cutoff if "evaluation" in parts else cutoff
            cox_frame, parts["cox_every"] = thin_snapshots(frame, COX_MAX_ROWS)
            with CollectedWarnings():
                cox = next_movement_cox(cox_frame, cutoff=cox_cut, gap_days=0.0)
            if cox.events_train < COX_MIN_EVENTS or cox.events_test < COX_MIN_EVENTS // 2:
                parts["cox_note"] = (
                    f"only {cox.events_train:,} movements are seen in the training snapshots and "
                    f"{cox.events_test:,} in the test snapshots, too few for a Cox model (it needs "
                    f"{COX_MIN_EVENTS} and {COX_MIN_EVENTS // 2})"
                )
            else:
                parts["cox"] = cox
        except (UsageError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            parts["cox_note"] = _reason(exc)
    return Study(as_of=stamp, **{**common, "notes": tuple(notes)}, **parts)


def _learned(fitted) -> list[str]:
    """The features the fitted model learns from (opt-in ones only when asked for: decision 0064)."""
    return list(fitted.used_features()) if hasattr(fitted, "used_features") else list(FEATURES)


__all__ = ["CONTRAST", "FEATURE_GROUPS", "Study", "close_likelihood_study", "grouped_permutation_importance"]
