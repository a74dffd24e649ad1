"""Where the stall_risk report's risks come from: a saved model checked against the log, or one fitted on the spot.

A saved model (``model_path``) is loaded with :func:`~salesmetrics.models.persistence.load_model` after its card
is checked: a stall model, trained on the features this version computes and on the log's stages. Otherwise a
:class:`~salesmetrics.models.StallPredictor` is fitted on the log's snapshots with labels cut at the as-of date,
and kept for the next report on the same log and settings (a batch over owners fits once). Either way a
:class:`ModelSource` says in words which model it is and what to be careful about
(``docs/decisions/0026-model-reports.md``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import join_words, plural
from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.registry import FEATURES, OPT_IN, labels
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.models import LEAK_AUC, StallPredictor
from salesmetrics.models.leaks import leak_message
from salesmetrics.models.persistence import STATE_FACTS, load_model, model_card, read_model_card
from salesmetrics.reports.fitting import FREQS, CollectedWarnings, empty_features, fill_features, thin_snapshots

LEARNER_NAMES = {
    "hgb": "gradient-boosting model",
    "logistic": "logistic regression",
    "logistic (fallback)": "strongly regularised logistic regression (the small-data fallback)",
    "constant": "constant model",
}


def _day(value) -> str:
    """A timestamp (or its text) as ``YYYY-MM-DD``; ``?`` when unknown."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "?"
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (ValueError, TypeError):
        return str(value)


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
    losses: str = "movement"  # the stall label: "movement" (a loss counts as one) or "excluded" (decision 0057)

    def label_phrase(self) -> str:
        """Which stall label the risks are of, in words (decision 0057)."""
        h = f"{self.horizon_days:g}"
        if self.losses == "excluded":
            return f"no stage movement in the next {h} days; deals lost within them were left out of training"
        return f"no stage movement in the next {h} days; a loss counts as a movement"

    def leak_sentences(self) -> list[str]:
        """The warning to put first when a feature alone separated the training labels (decision 0030)."""
        if not self.leaks:
            return []
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
            names = [labels().get(f, f) for f in self.empty]
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
    expected = [f for f in FEATURES if f not in left_out and (f not in OPT_IN or f in features)]
    if features != expected:
        missing = sorted(set(expected) - set(features))
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


def protective_sentence(deals: pd.DataFrame) -> str | None:
    """What most often lowers the open deals' stall risks (each deal's strongest protective factor,
    ``protective_feature_1`` of :meth:`StallPredictor.reasons`), counted in words; None without one."""
    if "protective_feature_1" not in deals:
        return None
    names = labels()
    named = deals["protective_feature_1"].dropna().astype("str")
    counts = named[named.isin(list(names))].value_counts()
    if not len(counts):
        return None
    top = counts[counts == counts.iloc[0]].index.sort_values()[:2]
    each = " each" if len(top) > 1 else ""
    return (
        f"What lowers a risk the most is most often {join_words([names[f] for f in top])} "
        f"({plural(int(counts.iloc[0]), 'deal')} of {len(deals):,}{each})."
    )


def saved_model(path, log: SalesLog, as_of: pd.Timestamp, horizon_days: float):
    path = Path(path)
    card = read_model_card(path)
    checks = _check_card(card, path, log, as_of, horizon_days)
    model = load_model(path)  # refuses a card that misdescribes the state
    # What changes results (horizon, training window) comes from the fitted model, never from the card's text;
    # the card adds only what the state does not hold (training metrics, leak findings).
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
        base_rate=metrics.get("training_base_rate", metrics.get("holdout_base_rate")),  # no held-out part by default
        path=str(path),
        checks=tuple(checks),
        leaks=tuple(card.get("leaky_features") or ()),
        excluded=tuple(card.get("excluded_features") or ()),
        losses=str(getattr(model, "losses", "movement")),
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
    digest = hashlib.blake2b(repr(log.model).encode(), digest_size=16)
    for frame in (log.deals, log.stage_changes, log.activities, log.close_date_changes):
        digest.update(repr((list(frame.columns), len(frame))).encode())
        if len(frame):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def fitted_model(
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
    with CollectedWarnings():
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
        empty=tuple(f for f in empty if f in estimator.used_features()),  # what it learns from (0064)
        leaks=tuple(estimator.leaky_features_),
        excluded=tuple(exclude),
    )
    return estimator, source, empty


__all__ = ["LEARNER_NAMES", "ModelSource", "fitted_model", "log_fingerprint", "protective_sentence", "saved_model"]
