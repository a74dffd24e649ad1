"""Stall risk of the open deals, ranked, with the reasons behind each risk: the logic of the ``stall_risk`` report.

:func:`stall_risk_report` scores every deal open at ``as_of`` with a :class:`~salesmetrics.models.StallPredictor`
(the probability of no stage movement within ``horizon_days``) and its three strongest reasons
(:mod:`salesmetrics.models.reasons`). The model is either a saved one (``model_path``: loaded with
:func:`~salesmetrics.models.persistence.load_model`, its card checked against the log) or one fitted on the
spot on the log's snapshots before ``as_of``, whose labels are cut at ``as_of`` (``observed_until``) so that no
training label knows what happened after the moment of the report. The model learns from every deal of the
log; ``owner`` and ``team`` only narrow the deals that are ranked (``docs/decisions/0026-model-reports.md``).

Small logs fall back to a regularised model (and say so); a log where no stall label can be known yet, or one
without dated events, still gives a report that says what cannot be shown.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import join_words, plural
from salesmetrics.log.coverage import LogCoverage, Note, log_coverage, note_axes, table_or_note
from salesmetrics.exceptions import UsageError
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.models import LEAK_AUC
from salesmetrics.features.build import FEATURES
from salesmetrics.reports.tables import first

GROUPS = ("owner", "team")
FREQS = {"W": "weekly", "M": "monthly"}
LEARNERS = ("hgb", "logistic")
LEARNER_NAMES = {
    "hgb": "gradient-boosting model",
    "logistic": "logistic regression",
    "logistic (fallback)": "strongly regularised logistic regression (the small-data fallback)",
    "constant": "constant model",
}

#: A short noun phrase per feature, for counting reasons across deals ("close-date pushes (5 deals)").
FEATURE_LABELS = {
    "stage_rank": "the stage reached",
    "movements": "stage movements so far",
    "advances": "stage advances so far",
    "regressions": "stages sent back",
    "back_and_forth": "back and forth between stages",
    "days_since_movement": "time since the last stage movement",
    "motions": "activities so far",
    "motions_14d": "activities in the last 14 days",
    "motions_30d": "activities in the last 30 days",
    "motion_per_movement": "activities per stage movement",
    "days_since_activity": "time since the last activity",
    "activities_since_movement": "activities since the last stage movement",
    "interactions": "client meetings so far",
    "decisions": "client decisions so far",
    "decision_rate": "the client decision rate",
    "interactions_since_decision": "meetings since the last client decision",
    "decisions_30d": "client decisions in the last 30 days",
    "close_date_pushes": "close-date pushes",
    "days_pushed": "days the close date was pushed",
    "close_date_pulls": "close-date pulls",
    "days_past_close": "the expected close date",
    "days_since_commit": "time since commit",
    "amount": "the amount",
    "age_days": "the deal's age",
    "owner_win_rate": "the owner's win rate",
    "owner_closed": "the owner's closed deals",
    "owner_decision_rate": "the owner's client decision rate",
}


# ------------------------------------------------------------------------------------------------ helpers


def _risk_text(risk: float, threshold: float) -> str:
    """A risk as a whole percentage, with one decimal when that would read as the threshold itself."""
    text = f"{risk:.0%}"
    return f"{risk:.1%}" if text == f"{threshold:.0%}" else text


def _day(value) -> str:
    """A timestamp (or its text) as ``YYYY-MM-DD``; ``?`` when unknown."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "?"
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (ValueError, TypeError):
        return str(value)


def empty_features(frame: pd.DataFrame) -> list[str]:
    """The :data:`~salesmetrics.features.build.FEATURES` with no value in any row of ``frame``.

    A log without activities has no motion or decision values, one without close-date changes no slippage values.
    Such a column carries nothing to learn; it is filled with 0 before fitting (:func:`fill_features`), because
    scikit-learn's histogram gradient boosting fails on a column with no value at all.

    Examples
    --------
    >>> empty_features(pd.DataFrame({"amount": [1.0, np.nan], "days_since_commit": [np.nan, np.nan]}))
    ['days_since_commit']
    """
    return [f for f in FEATURES if f in frame.columns and not frame[f].notna().any()]


def thin_snapshots(frame: pd.DataFrame, max_rows: int | None) -> tuple[pd.DataFrame, int]:
    """Keep every k-th as-of date (the latest always) so that at most ``max_rows`` rows remain; returns the rows
    and k (1: all kept). Thinning dates keeps every deal and the time order, unlike sampling rows.

    Examples
    --------
    >>> f = pd.DataFrame({"as_of": np.repeat(np.arange(10), 3)})
    >>> rows, k = thin_snapshots(f, 12)
    >>> k, sorted(rows["as_of"].unique().tolist())
    (3, [0, 3, 6, 9])
    """
    if max_rows is None or len(frame) <= max_rows:
        return frame, 1
    dates = np.sort(frame["as_of"].unique())[::-1]
    k = max(int(np.ceil(len(frame) / max_rows)), 2)
    while True:
        out = frame[frame["as_of"].isin(dates[::k])]
        if len(out) <= max_rows or k >= len(dates):
            out.attrs.update(frame.attrs)
            return out, k
        k += 1


def fill_features(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with ``columns`` set to 0 (a constant, so a model learns nothing from them); attrs kept."""
    if not columns:
        return frame
    out = frame.assign(**{c: 0.0 for c in columns})
    out.attrs.update(frame.attrs)
    return out


class _Warnings:
    """Collect warnings raised while fitting (a report prints none; what matters goes into its words)."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self.caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)

    def messages(self, category=UserWarning) -> list[str]:
        out = []
        for w in self.caught:
            text = str(w.message).strip().rstrip(".")
            if issubclass(w.category, category) and text not in out:
                out.append(text)
        return out


# ------------------------------------------------------------------------------------------- the model used


@dataclass(frozen=True)
class ModelSource:
    """Where the risks come from: a saved model (``kind="saved"``), one fitted on the spot (``"fitted"``), or
    none (``"none"``, with ``reason``), with what the narrative says about it."""

    kind: str
    horizon_days: float
    learner: str | None = None
    rows: int = 0
    deals: int | None = None
    censored: int = 0
    first_as_of: object = None
    last_as_of: object = None
    labels_until: object = None
    calibration: str | None = None
    fallback: str | None = None
    base_rate: float | None = None
    freq: str | None = None
    every: int = 1
    path: str | None = None
    reason: str | None = None
    empty: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    leaks: tuple[dict, ...] = ()
    excluded: tuple[str, ...] = ()

    def leak_sentences(self) -> list[str]:
        """The warning to put first when a feature alone separated the training labels (decision 0030)."""
        if not self.leaks:
            return []
        from salesmetrics.models._base import leak_message

        names = join_words([str(e["feature"]) for e in self.leaks])
        return [
            f"Do not trust this ranking: {names} alone {'separates' if len(self.leaks) == 1 else 'separate'} "
            "the training labels almost perfectly, so the risks mostly repeat how the export fills "
            f"{'it' if len(self.leaks) == 1 else 'them'}.",
            *(leak_message(e) for e in self.leaks),
        ]

    @property
    def learner_name(self) -> str:
        return LEARNER_NAMES.get(self.learner or "", self.learner or "model")

    def sentence(self) -> str:
        """One or two sentences: which model, trained on what, and any caution."""
        h = f"{self.horizon_days:g}"
        if self.kind == "none":
            return (
                f"No stall model could be fitted ({self.reason}), so the open deals are ranked by the days since "
                "their last stage movement instead, without a risk."
            )
        if self.kind == "fitted":
            deals = f" of {plural(self.deals, 'deal')}" if self.deals is not None else ""
            every = f" (every {_ordinal(self.every)} date)" if self.every > 1 else ""
            text = (
                f"Risks come from a {self.learner_name} fitted on the spot on {self.rows:,} "
                f"{FREQS.get(self.freq or '', '')} snapshots{every}{deals} of the whole log (as-of dates "
                f"{_day(self.first_as_of)} to {_day(self.last_as_of)}); its labels see nothing after the as-of date"
            )
            if self.censored:
                text += f" ({self.censored:,} snapshots whose {h} days were not over then were left out)"
            text += "."
        else:
            text = (
                f"Risks come from the saved model {Path(self.path or '').name} (a {self.learner_name} predicting "
                f"a stall within {h} days), trained on {self.rows:,} snapshot rows with as-of dates "
                f"{_day(self.first_as_of)} to {_day(self.last_as_of)} and labels seen up to "
                f"{_day(self.labels_until)}."
            )
        if self.fallback:
            text += f" Small-data fallback: {self.fallback}."
        if self.excluded:
            text += f" Left out on purpose: {join_words(list(self.excluded))}."
        if self.empty:
            names = [FEATURE_LABELS.get(f, f) for f in self.empty]
            shown = join_words(names[:4] + ([f"{len(names) - 4} more"] if len(names) > 4 else []))
            text += f" {plural(len(names), 'feature')} have no value in this log and carry nothing: {shown}."
        return " ".join([text, *self.checks])


def _check_card(card: dict, path: Path, log: SalesLog, as_of: pd.Timestamp, horizon_days: float) -> list[str]:
    """Refuse a model card that does not fit the log (a UsageError); return the cautions to say."""
    name = path.name
    if card.get("model_class") != "StallPredictor":
        raise UsageError(
            f"{name} holds a {card.get('model_class')} model, not a StallPredictor; the stall_risk report needs a "
            "stall model: train one with 'salesmetrics model train LOG --target stall --out stall.skops'."
        )
    features = list(card.get("features") or [])
    left_out = set(card.get("excluded_features") or [])
    if features != [f for f in FEATURES if f not in left_out]:
        missing = sorted(set(FEATURES) - set(features))
        extra = sorted(set(features) - set(FEATURES))
        what = "; ".join(
            part
            for part in (
                f"lacks {', '.join(missing[:5])}" if missing else "",
                f"has {', '.join(extra[:5])} as well" if extra else "",
                "has them in another order" if not missing and not extra else "",
            )
            if part
        )
        raise UsageError(
            f"{name} was trained on other features than this version of salesmetrics computes (it {what}); "
            "retrain it on this log with 'salesmetrics model train LOG --target stall'."
        )
    checks = []
    stages = card.get("stages") or (card.get("snapshots") or {}).get("stages")
    if stages is not None and list(stages) != list(log.model.stages):
        raise UsageError(
            f"{name} was trained on a log with the stages {' > '.join(map(str, stages))}, but this log has "
            f"{' > '.join(log.model.stages)}, so its stage positions mean other stages; retrain it on this log "
            "or leave model_path empty to fit one on the spot."
        )
    if stages is None:
        checks.append(
            f"Its card does not record the stages it was trained on, so they could not be checked against this "
            f"log's ({' > '.join(log.model.stages)})."
        )
    model_h = card.get("horizon_days")
    if model_h is not None and not np.isclose(float(model_h), float(horizon_days)):
        checks.append(
            f"The model predicts stalls within its own horizon of {float(model_h):g} days, not the "
            f"{float(horizon_days):g} days asked for."
        )
    until = (card.get("training_window") or {}).get("labels_until")
    if until is not None:
        try:
            seen = pd.Timestamp(until)
            later = seen.tz_convert(as_of.tz) > as_of if seen.tzinfo else seen > as_of.tz_localize(None)
        except (ValueError, TypeError):
            later = False
        if later:
            checks.append(
                f"Its training labels saw events up to {_day(until)}, after this report's as-of date: for a "
                "back-test, use a model trained up to the as-of date (or none, to fit one on the spot)."
            )
    return checks


def _saved_model(path, log: SalesLog, as_of: pd.Timestamp, horizon_days: float):
    from salesmetrics.models.persistence import STATE_FACTS, load_model, model_card, read_model_card

    path = Path(path)
    card = read_model_card(path)
    checks = _check_card(card, path, log, as_of, horizon_days)
    model = load_model(path)  # refuses a card that misdescribes the state
    # What changes results (horizon, training window) comes from the fitted model, never from the card's text;
    # the card adds only what the state does not hold (hold-out metrics, leak findings).
    facts = model_card(model)
    card = {**card, **{key: facts[key] for key in STATE_FACTS if key in facts}}
    window = card.get("training_window") or {}
    metrics = card.get("metrics") or {}
    source = ModelSource(
        kind="saved",
        horizon_days=float(card.get("horizon_days") or horizon_days),
        learner=card.get("model"),
        rows=int(card.get("rows") or 0),
        censored=int(card.get("censored_rows_left_out") or 0),
        first_as_of=window.get("first_as_of"),
        last_as_of=window.get("last_as_of"),
        labels_until=window.get("labels_until"),
        calibration=card.get("calibration"),
        fallback=card.get("fallback"),
        base_rate=metrics.get("holdout_base_rate"),
        path=str(path),
        checks=tuple(checks),
        leaks=tuple(card.get("leaky_features") or ()),
        excluded=tuple(card.get("excluded_features") or ()),
    )
    return model, source, []


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


# The last model fitted on the spot, keyed by the log's content and the fit's settings: a batch of reports
# (``--for-each owner``) runs in one kernel and re-reads the same log for every owner, and the model learns from
# every deal whatever the owner, so it is fitted once per batch instead of once per page.
_LAST_FIT: dict[tuple, tuple] = {}


def log_fingerprint(log: SalesLog) -> str:
    """A digest of the log's stage model and table contents: equal for two reads of the same files.

    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> log_fingerprint(log) == log_fingerprint(sm.read_log("datasets/demo"))
    True
    """
    import hashlib

    digest = hashlib.blake2b(repr(log.model).encode(), digest_size=16)
    for frame in (log.deals, log.stage_changes, log.activities, log.close_date_changes):
        digest.update(repr((list(frame.columns), len(frame))).encode())
        if len(frame):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _fitted_model(
    log, as_of, horizon_days, freq, learner, n_jobs, random_state, max_rows, exclude=(), leak_auc=LEAK_AUC
):
    """The fitted model, source and empty features; reused when the same log and settings come again.

    Only a fixed integer ``random_state`` makes a fit repeatable, so only then is the last fit reused.
    """
    fit_args = (log, as_of, horizon_days, freq, learner, n_jobs, random_state, max_rows, tuple(exclude), leak_auc)
    if not isinstance(random_state, (int, np.integer)):
        return _fit_model(*fit_args)
    key = (
        log_fingerprint(log),
        pd.Timestamp(as_of),
        horizon_days,
        freq,
        learner,
        int(random_state),
        max_rows,
        tuple(exclude),
        leak_auc,
    )
    if key not in _LAST_FIT:
        fitted = _fit_model(*fit_args)
        _LAST_FIT.clear()
        _LAST_FIT[key] = fitted
    return _LAST_FIT[key]


def _fit_model(log, as_of, horizon_days, freq, learner, n_jobs, random_state, max_rows, exclude=(), leak_auc=LEAK_AUC):
    from salesmetrics.models import StallPredictor
    from salesmetrics.features.build import snapshots

    train, every = thin_snapshots(snapshots(log, freq=freq, horizon_days=horizon_days, observed_until=as_of), max_rows)
    labelled = train["stalled"].notna().to_numpy()
    if not labelled.any():
        raise UsageError(
            f"no open deal's next {horizon_days:g} days were over by the as-of date, so no stall label is known yet"
        )
    empty = empty_features(train[labelled])
    estimator = StallPredictor(
        horizon_days=horizon_days,
        model=learner,
        n_jobs=n_jobs,
        random_state=random_state,
        exclude=list(exclude) or None,
        leak_auc=leak_auc,
    )
    with _Warnings():
        estimator.fit(fill_features(train, empty))
    source = ModelSource(
        kind="fitted",
        horizon_days=float(horizon_days),
        learner=estimator.model_,
        rows=int(estimator.n_rows_),
        deals=int(train.loc[labelled, "deal_id"].nunique()),
        censored=int(estimator.n_censored_),
        first_as_of=(estimator.training_window_ or (None, None))[0],
        last_as_of=(estimator.training_window_ or (None, None))[1],
        labels_until=estimator.labels_observed_until_,
        calibration=estimator.calibration_,
        fallback=estimator.fallback_,
        base_rate=float(train.loc[labelled, "stalled"].astype("float64").mean()),
        freq=freq,
        every=every,
        empty=tuple(empty),
        leaks=tuple(estimator.leaky_features_),
        excluded=tuple(exclude),
    )
    return estimator, source, empty


# ------------------------------------------------------------------------------------------------ the report


@dataclass(frozen=True)
class StallRiskReport:
    """Everything the ``stall_risk`` report shows, computed once (see :func:`stall_risk_report`).

    ``deals``: one row per open deal in scope at ``as_of``, riskiest first: ``deal_id, owner, team, stage,
    amount, days_in_stage, expected_close_date, risk`` (probability of no stage movement within
    ``horizon_days``; NaN when no model could be had) and ``reason_i, feature_i, effect_i`` for i = 1..3.
    ``source``: the model used (:class:`ModelSource`). ``notes``: what the log cannot show.
    """

    as_of: pd.Timestamp | None
    horizon_days: float
    threshold: float
    top: int
    group_by: str
    currency: str | None
    stages: tuple[str, ...]
    deals: pd.DataFrame
    source: ModelSource
    notes: tuple[str, ...]
    coverage: LogCoverage
    unscored: int = 0

    @property
    def scored(self) -> bool:
        """Whether the deals carry a risk (a model was fitted or loaded)."""
        return self.source.kind != "none" and bool(len(self.deals))

    @property
    def at_risk(self) -> pd.DataFrame:
        """The open deals whose risk is above ``threshold``, riskiest first."""
        if not self.scored:
            return self.deals.iloc[0:0]
        return self.deals[self.deals["risk"] > self.threshold]

    def _reason_pool(self) -> tuple[pd.DataFrame, str]:
        """The deals whose reasons are counted: those above the threshold, else the ``top`` riskiest."""
        if len(self.at_risk):
            return self.at_risk, f"the {plural(len(self.at_risk), 'deal')} above {self.threshold:.0%}"
        head = self.deals.head(self.top)
        return head, f"the {plural(len(head), 'riskiest deal')}"

    def reason_counts(self, deals: pd.DataFrame | None = None) -> pd.DataFrame:
        """How many ``deals`` (default: those above the threshold, else the ``top`` riskiest) have each feature
        among their three reasons: ``feature, reason, deals``, most frequent first."""
        if deals is None:
            deals = self._reason_pool()[0]
        columns = [c for c in ("feature_1", "feature_2", "feature_3") if c in deals]
        if not columns or not len(deals):
            return pd.DataFrame({"feature": [], "reason": [], "deals": []}).astype({"deals": "int64"})
        stacked = pd.concat([deals[c] for c in columns], ignore_index=True).dropna()
        stacked = stacked[stacked.astype("str").isin(list(FEATURE_LABELS))]
        counts = stacked.astype("str").value_counts()
        out = pd.DataFrame({"feature": counts.index.astype("str"), "deals": counts.to_numpy(dtype="int64")})
        out.insert(1, "reason", out["feature"].map(FEATURE_LABELS))
        return out.sort_values(["deals", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ words

    def _risk_sentences(self) -> list[str]:
        d, h, pct = self.deals, f"{self.horizon_days:g}", f"{self.threshold:.0%}"
        n = len(d)
        high = self.at_risk
        if len(high):
            text = (
                f"{len(high):,} of {plural(n, 'open deal')} {'has' if len(high) == 1 else 'have'} a stall risk "
                f"above {pct} (no stage movement in the next {h} days)"
            )
            reasons = self.reason_counts(high).head(3)
            if len(reasons):
                word = "reason is" if len(reasons) == 1 else "reasons are"
                parts = [f"{r.reason} ({plural(int(r.deals), 'deal')})" for r in reasons.itertuples()]
                text += f"; the top {word} {join_words(parts)}"
            out = [text + "."]
            g = self.group_by
            if g in high and high[g].notna().any():
                counts = high[g].astype("str").value_counts()
                if len(counts) > 1:
                    shared = counts[counts == counts.iloc[0]].index.tolist()
                    who = join_words([str(s) for s in shared[:3]])
                    out.append(
                        f"{who} {'holds' if len(shared) == 1 else 'each hold'} the most of them "
                        f"({counts.iloc[0]:,} of {len(high):,}); {plural(len(counts), g)} have at least one."
                    )
                else:
                    out.append(f"All of them belong to {g} {counts.index[0]}.")
        elif n == 1:
            r = d.iloc[0]
            why = f": {r['reason_1']}" if isinstance(r.get("reason_1"), str) and r["reason_1"] else ""
            out = [
                f"The only open deal, {r['deal_id']} ({r['owner']}, in {r['stage']}), has a stall risk of "
                f"{_risk_text(r['risk'], self.threshold)}, not above {pct} (no stage movement in the next {h} days)"
                f"{why}."
            ]
        else:
            r = d.iloc[0]
            why = f": {r['reason_1']}" if isinstance(r.get("reason_1"), str) and r["reason_1"] else ""
            out = [
                f"None of the {plural(n, 'open deal')} has a stall risk above {pct} (no stage movement in the "
                f"next {h} days); the highest is {_risk_text(r['risk'], self.threshold)} ({r['deal_id']}, "
                f"{r['owner']}, in {r['stage']}{why})."
            ]
        tie = self._tie_sentence()
        if tie:
            out.append(tie)
        median = float(d["risk"].median())
        text = f"The median risk is {median:.0%}"
        if self.source.base_rate is not None and np.isfinite(self.source.base_rate):
            text += (
                f"; in the training snapshots, {self.source.base_rate:.0%} of open deals made no stage movement "
                f"within {h} days"
            )
        out.append(text + ".")
        return out

    def _tie_sentence(self) -> str | None:
        """When several of the riskiest deals share the same risk (as the table shows it), say that their order
        among themselves means nothing."""
        shown = (self.deals["risk"].astype("float64") * 100).round(1)
        if len(shown) < 2 or not np.isfinite(shown.iloc[0]):
            return None
        tied = int((shown == shown.iloc[0]).sum())
        if tied < 2:
            return None
        everyone = tied == len(shown)
        who = f"All {tied:,} open deals are" if everyone else f"The top {tied:,} deals are"
        return (
            f"{who} tied at {_risk_text(float(self.deals['risk'].iloc[0]), self.threshold)}: the model cannot tell "
            "them apart, so their order in the table (longest in their stage first) is not a ranking."
        )

    def narrative(self) -> str:
        """A few plain sentences computed from the numbers; what cannot be shown is said, not hidden."""
        if self.as_of is None:
            return " ".join(self.notes)
        lines: list[str] = []
        if not len(self.deals):
            lines.append("No deal is open at the as-of date, so there is nothing to rank.")
            if self.source.kind != "none":
                lines.append(self.source.sentence())
        elif self.source.kind == "none":
            r = self.deals.iloc[0]
            n = len(self.deals)
            lines.append(
                f"{plural(n, 'open deal')} {'is' if n == 1 else 'are'} listed, longest without a stage movement "
                f"first ({r['deal_id']}: {r['days_in_stage']:,.0f} days in {r['stage']})."
            )
            lines.append(self.source.sentence())
        else:
            lines += self.source.leak_sentences()  # first: nothing after it is to be trusted
            lines += self._risk_sentences()
            lines.append(self.source.sentence())
        if self.unscored:
            lines.append(
                f"{plural(self.unscored, 'deal')} in scope {'has' if self.unscored == 1 else 'have'} no dated "
                "stage entry, so whether they are open cannot be known and they are not ranked."
            )
        return " ".join([*lines, *self.notes])

    # ------------------------------------------------------------------ tables

    def table(self, n: int | None = None):
        """The ``n`` (default ``top``) riskiest open deals with the risk in percent and their top three reasons
        in one column (``top_reasons``, strongest first), or a :class:`~salesmetrics.log.coverage.Note` saying why
        there are none."""
        n = self.top if n is None else n
        d = self.deals
        base = ["deal_id", *[c for c in ("owner", "team", "stage", "amount", "days_in_stage") if d[c].notna().any()]]
        if self.scored:
            reasons = d[["reason_1", "reason_2", "reason_3"]].astype("object")
            joined = reasons.apply(lambda r: "; ".join(v for v in r if isinstance(v, str) and v), axis=1)
            d = d.assign(stall_risk_pct=(d["risk"] * 100).round(1), top_reasons=joined if len(d) else [])
            columns = [*base, "stall_risk_pct", "top_reasons"]
        else:
            columns = base
        if self.as_of is None:
            return Note(" ".join(self.notes))
        return table_or_note(first(d[columns], n).reset_index(drop=True), "No deal is open at the as-of date.", 1)

    def _repr_html_(self) -> str:
        table = self.table()
        if isinstance(table, Note):
            body = table._repr_html_()
        else:
            with pd.option_context("display.max_colwidth", None):  # reasons in full, never cut at 50 characters
                body = table.to_html(index=False)
        return f"<p>{html.escape(self.narrative())}</p>" + body

    # ------------------------------------------------------------------ figures

    def _why_not(self) -> str | None:
        if self.as_of is None:
            return " ".join(self.coverage.missing("dates", "stage_changes")) or " ".join(self.notes)
        if not len(self.deals):
            return "No deal is open at the as-of date."
        if self.source.kind == "none":
            return self.source.sentence()
        return None

    def _x_max(self) -> float:
        """Right end of a risk axis in percent: the largest risk or the threshold, with room, at most 100."""
        top = max(float(self.deals["risk"].max()), self.threshold) * 100
        return float(min(100, np.ceil((top + 5) / 10) * 10))

    def plot_distribution(self, ax=None):
        """Histogram of the open deals' stall risks, with the threshold marked."""
        import matplotlib.pyplot as plt

        title = f"Stall risk of the open deals (no stage movement within {self.horizon_days:g} days)"
        why = self._why_not()
        if why:
            return note_axes(ax, title, why)
        ax = ax or plt.subplots(figsize=(8, 4))[1]
        risk = self.deals["risk"].to_numpy(dtype="float64") * 100
        right = self._x_max()
        ax.hist(risk, bins=np.linspace(0, right, int(right // 2.5) + 1), color="tab:blue", alpha=0.8, edgecolor="white")
        ax.axvline(self.threshold * 100, color="tab:red", linestyle="--", label=f"threshold {self.threshold:.0%}")
        ax.axvline(np.median(risk), color="black", linestyle=":", label=f"median {np.median(risk):.0f}%")
        ax.set(title=title, xlabel="stall risk (%)", ylabel="open deals (count)", xlim=(0, right))
        ax.legend(loc="upper right", fontsize="small")
        return ax

    def plot_groups(self, fig=None, max_groups: int = 20):
        """Stall risk of each open deal by owner (or team) and by stage: boxes with every deal as a dot."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        title = f"Stall risk by {self.group_by} and by stage"
        why = self._why_not()
        if why:
            return note_axes(None, title, why).figure
        d = self.deals.assign(risk_pct=self.deals["risk"].astype("float64") * 100)
        g = self.group_by
        has_group = g in d and d[g].notna().any()
        if has_group:
            d[g] = d[g].astype("str")
            counts = d[g].value_counts()
            keep = counts.index[:max_groups]
            order = d[d[g].isin(keep)].groupby(g)["risk_pct"].median().sort_values(ascending=False).index.tolist()
        stages = [s for s in self.stages if (d["stage"] == s).any()]
        rows = max(len(order) if has_group else 1, len(stages))
        fig = fig or plt.figure(figsize=(12, max(3.5, 0.32 * rows + 1.8)))
        ax_group, ax_stage = fig.subplots(1, 2)
        xlabel = f"stall risk within {self.horizon_days:g} days (%)"
        panels = [(ax_stage, "stage", stages, "By stage (pipeline order)")]
        if has_group:
            shown = f" ({len(keep)} of {len(counts)} with the most open deals)" if len(counts) > len(keep) else ""
            panels.insert(0, (ax_group, g, order, f"By {g}{shown}, highest median first"))
        else:
            note_axes(ax_group, f"By {g}", f"No open deal has a {g} in this log.")
        for ax, column, names, name in panels:
            part = d[d[column].isin(names)]
            with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated ``vert``
                warnings.filterwarnings("ignore", message=".*vert.*deprecated", category=DeprecationWarning)
                sns.boxplot(
                    data=part,
                    x="risk_pct",
                    y=column,
                    order=names,
                    ax=ax,
                    color="lightsteelblue",
                    fliersize=0,
                    width=0.6,
                )
            sns.stripplot(data=part, x="risk_pct", y=column, order=names, ax=ax, color="black", size=3, alpha=0.5)
            ax.axvline(self.threshold * 100, color="tab:red", linestyle="--", linewidth=1)
            ax.set(title=name, xlabel=xlabel, ylabel=column, xlim=(0, self._x_max()))
        fig.suptitle(f"{title} ({len(d):,} open deals; dashed line: threshold {self.threshold:.0%})")
        fig.tight_layout()
        return fig

    def plot_reasons(self, ax=None, n: int = 10):
        """How often each feature is among the three reasons of the high-risk deals (else of the riskiest)."""
        import matplotlib.pyplot as plt

        why = self._why_not()
        pool, who = self._reason_pool() if not why else (None, "")
        title = f"Reasons behind {who}" if not why else "Reasons behind the stall risks"
        if why:
            return note_axes(ax, title, why)
        counts = self.reason_counts(pool).head(n)
        if not len(counts):
            return note_axes(ax, title, "No feature moves these deals' risk by half a percentage point or more.")
        ax = ax or plt.subplots(figsize=(8, max(2.5, 0.35 * len(counts) + 1.2)))[1]
        ax.barh(counts["reason"][::-1], counts["deals"][::-1], color="tab:orange")
        ax.set(
            title=title,
            xlabel="deals with it among their top three reasons (count)",
            ylabel="reason (feature)",
        )
        ax.figure.tight_layout()
        return ax


def stall_risk_report(
    log: SalesLog,
    as_of=None,
    *,
    model_path=None,
    horizon_days: float = 30,
    owner: str | None = None,
    team: str | None = None,
    group_by: str = "owner",
    threshold: float = 0.3,
    top: int = 25,
    freq: str = "W",
    model: str = "hgb",
    max_rows: int | None = 100_000,
    n_jobs: int | None = 1,
    random_state=0,
    exclude=None,
    leak_auc: float | None = LEAK_AUC,
) -> StallRiskReport:
    """Open deals at ``as_of`` ranked by their risk of no stage movement within ``horizon_days``, with reasons.

    Parameters
    ----------
    log : SalesLog
    as_of : date, time or None
        The moment of the report (None: the log's latest event).
    model_path : path or None
        A model saved by ``salesmetrics model train --target stall`` (or ``save_model``). Its card must name a
        ``StallPredictor`` trained on the features this version computes and, when the card records them, on
        the log's stages; otherwise a :class:`~salesmetrics.exceptions.UsageError` says so. ``None``: a
        ``StallPredictor`` is fitted on the spot on the log's ``freq`` snapshots with labels cut at ``as_of``.
    horizon_days : float
        The look-ahead of a stall (a saved model keeps its own, and the narrative says so when they differ).
    owner, team : str or None
        Rank only these deals (the model still learns from the whole log).
    group_by : {"owner", "team"}
        How the high-risk deals are counted and drawn.
    threshold : float
        Risks above it count as high (0 < threshold < 1; default 0.3, about twice the share of open deals that
        stall within 30 days on the demo log: the narrative gives that share beside it).
    top : int
        Deals in the table (and whose reasons are counted when none is above ``threshold``).
    freq : {"W", "M"}
        Spacing of the training snapshots of a model fitted on the spot.
    model : {"hgb", "logistic"}
        Learner of a model fitted on the spot (fewer than 200 closed deals: the regularised fallback).
    max_rows : int or None
        Most training snapshots of a model fitted on the spot: above it, every k-th as-of date is kept.
    n_jobs, random_state
        Threads and seed of the fitting.
    exclude : list of str, str or None
        Features a model fitted on the spot leaves out (a comma-separated string is split), e.g. one the
        narrative names as a probable leak.
    leak_auc : float or None
        A feature that alone ranks the training labels with this ROC AUC or more is named, first thing in the
        narrative, as a probable leak that makes the ranking untrustworthy (decision 0030; None: no check).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> r = stall_risk_report(log, as_of="2024-06-30", model="logistic", freq="M")  # doctest: +SKIP
    >>> len(r.deals), r.source.kind, r.narrative().split(" (")[0]  # doctest: +SKIP
    (124, 'fitted', '18 of 124 open deals have a stall risk above 30%')
    >>> r.table().columns.tolist()  # doctest: +SKIP
    ['deal_id', 'owner', 'team', 'stage', 'amount', 'days_in_stage', 'stall_risk_pct', 'top_reasons']

    A log where no stall can be known yet still gives a report, ranked by days in stage (no model needed):

    >>> r = stall_risk_report(log, as_of="2024-01-20")
    >>> r.source.kind, r.narrative().split(" (")[0]
    ('none', '51 open deals are listed, longest without a stage movement first')
    """
    from salesmetrics.log.prepare import filter_log

    if group_by not in GROUPS:
        raise UsageError(f"group_by must be 'owner' or 'team', not {group_by!r}.")
    if freq not in FREQS:
        raise UsageError(f"freq must be 'W' or 'M', not {freq!r}.")
    if model not in LEARNERS:
        raise UsageError(f"model must be 'hgb' or 'logistic', not {model!r}.")
    if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise UsageError(f"threshold must be a probability between 0 and 1 (e.g. 0.5), not {threshold!r}.")
    if max_rows is not None and (not isinstance(max_rows, (int, np.integer)) or max_rows < 100):
        raise UsageError(f"max_rows must be a whole number of 100 or more (or None), not {max_rows!r}.")
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise UsageError(f"top must be a whole number of deals, 1 or more, not {top!r}.")
    if not isinstance(horizon_days, (int, float)) or not horizon_days > 0:
        raise UsageError(f"horizon_days must be a positive number of days (e.g. 30), not {horizon_days!r}.")
    if model_path in ("",):
        model_path = None
    exclude = _exclude_list(exclude)
    if model_path is not None and not Path(model_path).is_file():
        raise UsageError(f"Model file {model_path} does not exist; train one with 'salesmetrics model train'.")
    scope = filter_log(log, owner=owner, team=team)
    cover = log_coverage(scope)
    notes = cover.missing("dates", "stage_changes", "activities", "close_dates")
    if cover.partial_note:
        notes.append(cover.partial_note)
    with_stages = set(scope.stage_changes["deal_id"].astype("str"))
    unscored = int((~scope.deals["deal_id"].astype("str").isin(with_stages)).sum())
    columns = ["deal_id", "owner", "team", "stage", "amount", "days_in_stage", "expected_close_date", "risk"]
    columns += [f"{k}_{i}" for i in (1, 2, 3) for k in ("reason", "feature", "effect")]
    empty_deals = pd.DataFrame({c: pd.Series(dtype="float64" if c == "risk" else "object") for c in columns})
    common = dict(
        threshold=float(threshold),
        top=int(top),
        group_by=group_by,
        currency=log.model.currency,
        stages=tuple(log.model.stages),
        coverage=cover,
        unscored=unscored,
    )
    if not cover.dated or not len(log.stage_changes):
        source = ModelSource(kind="none", horizon_days=float(horizon_days), reason="the log has no dated stage entry")
        stamp = None if not cover.dated else _resolve(log, as_of)
        return StallRiskReport(
            as_of=stamp,
            horizon_days=float(horizon_days),
            deals=empty_deals,
            source=source,
            notes=tuple(notes),
            **common,
        )
    from salesmetrics.features.build import snapshots

    stamp = _resolve(log, as_of)
    current = snapshots(log, as_of=[stamp], horizon_days=horizon_days, observed_until=stamp)
    current = current[current["deal_id"].astype("str").isin(set(scope.deals["deal_id"].astype("str")))]
    estimator, empty = None, []
    if model_path is not None:
        estimator, source, empty = _saved_model(model_path, log, stamp, horizon_days)
    elif not len(current):
        source = ModelSource(kind="none", horizon_days=float(horizon_days), reason="no deal is open to score")
    else:
        try:
            estimator, source, empty = _fitted_model(
                log, stamp, float(horizon_days), freq, model, n_jobs, random_state, max_rows, exclude, leak_auc
            )
        except UsageError as exc:
            source = ModelSource(
                kind="none", horizon_days=float(horizon_days), reason=str(exc).rstrip(".").split("; ")[0]
            )
    keep = [c for c in ("deal_id", "owner", "team", "stage", "amount", "days_in_stage", "expected_close_date")]
    deals = current.reindex(columns=keep)
    if estimator is not None and len(current):
        with _Warnings():
            reasons = estimator.reasons(fill_features(current, empty), n=3)
        deals = deals.join(reasons.drop(columns=[c for c in ("deal_id", "as_of", "owner", "stage") if c in reasons]))
        deals = deals.sort_values(["risk", "days_in_stage", "deal_id"], ascending=[False, False, True], kind="stable")
    else:
        deals = deals.sort_values(["days_in_stage", "deal_id"], ascending=[False, True], kind="stable")
    deals = deals.reindex(columns=columns).reset_index(drop=True)
    return StallRiskReport(
        as_of=stamp,
        horizon_days=float(source.horizon_days),
        deals=deals,
        source=source,
        notes=tuple(notes),
        **common,
    )


def _exclude_list(exclude) -> tuple[str, ...]:
    """``exclude`` as a tuple of feature names, checked now (a bad name is a usage error, not a missing model)."""
    if exclude is None or (isinstance(exclude, str) and not exclude.strip()):
        return ()
    names = [n.strip() for n in exclude.split(",")] if isinstance(exclude, str) else [str(n) for n in exclude]
    names = [n for n in names if n]
    if names:
        from salesmetrics.models import StallPredictor

        StallPredictor(exclude=names).used_features()  # raises a UsageError naming the close matches
    return tuple(dict.fromkeys(names))


def _resolve(log: SalesLog, as_of) -> pd.Timestamp:
    from salesmetrics.log.prepare import resolve_as_of

    return resolve_as_of(log, as_of)


__all__ = [
    "FEATURE_LABELS",
    "ModelSource",
    "StallRiskReport",
    "empty_features",
    "fill_features",
    "stall_risk_report",
    "thin_snapshots",
]
