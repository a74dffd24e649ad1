"""The feature registry: every snapshot column, and for each feature its group, label, reason and precision.

One :class:`Feature` per numeric feature of :func:`salesmetrics.snapshots`, in model order. Everything else that
depends on the list of features is derived from :data:`REGISTRY`: the feature columns a model learns from
(:data:`FEATURES`), the groups of the close-likelihood study's permutation importance (:func:`groups`), the
phrases the stall_risk report counts reasons with (:func:`labels`), and the words and decimals of a model's
reasons (:func:`find`, :func:`precisions`). A new feature is one entry here and its computation in
:mod:`salesmetrics.features.build`; ``tests/test_snapshots.py`` fails when the two disagree. Each feature's
definition is in ``docs/models.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesmetrics.features import reason_templates as words
from salesmetrics.features.reason_templates import Template

#: The feature groups, in the order the close-likelihood study shows them.
GROUPS = (
    "movement and stage",
    "client decisions",
    "motion volume",
    "close-date slippage",
    "deal and owner record",
)


@dataclass(frozen=True)
class Feature:
    """One numeric snapshot feature: its column, its group, how prose names it, and how a reason shows it."""

    #: The snapshot column.
    name: str
    #: One of :data:`GROUPS`: the features shuffled together in the study's permutation importance.
    group: str
    #: A short noun phrase for counting reasons across deals ("close-date pushes (5 deals)").
    label: str
    #: The reason in words for a value (:mod:`salesmetrics.features.reason_templates`).
    reason: Template
    #: The reason's words when the value is missing; None: "<name> missing".
    missing: str | None = None
    #: Decimals the reason shows of the value (reasons are cached on the value rounded so).
    precision: int = 0
    #: Whether the estimators learn from it by default; False: computed in every snapshot, learned from only
    #: when an estimator's ``include`` names it (:data:`OPT_IN`; decision 0064).
    default: bool = True


_MOVEMENT, _DECISIONS, _MOTION, _SLIPPAGE, _RECORD = GROUPS


#: The activity kinds with a "days since" feature (``days_since_<kind>``), the noun reasons use, and its article.
KIND_NOUNS = (("email", "email", "an"), ("call", "call", "a"), ("meeting", "meeting", "a"))


def _days_since(kind: str, noun: str, article: str) -> Feature:
    """The opt-in feature of the days since the deal's last activity of ``kind`` (decision 0064)."""
    label = f"time since the last {noun}" + (" or demo" if kind == "meeting" else "")
    says = words.count("day", f"{article} {noun} today", f"last {noun} {{n}} ago", f"no {noun} for {{n}}")
    return Feature(f"days_since_{kind}", _MOTION, label, says, f"no {noun} yet", default=False)


#: Every feature, in model order (the order of the snapshot columns and of a model's inputs).
REGISTRY: tuple[Feature, ...] = (
    # ------------------------------------------------------------------ movement
    Feature("stage_rank", _MOVEMENT, "the stage reached", words.stage_rank, "no stage"),
    Feature(
        "movements",
        _MOVEMENT,
        "stage movements so far",
        words.count("stage movement", "no stage movement yet", "only {n} so far", "{n} so far"),
    ),
    Feature(
        "advances",
        _MOVEMENT,
        "stage advances so far",
        words.count("stage advance", "no stage advance yet", "only {n} so far", "{n} so far"),
    ),
    Feature(
        "regressions",
        _MOVEMENT,
        "stages sent back",
        words.count("", "never sent back a stage", "sent back a stage {times}", "sent back a stage {times}"),
    ),
    Feature(
        "back_and_forth",
        _MOVEMENT,
        "back and forth between stages",
        words.count(
            "",
            "no back and forth",
            "went back and forth between stages {times}",
            "went back and forth between stages {times}",
        ),
    ),
    Feature(
        "days_since_movement",
        _MOVEMENT,
        "time since the last stage movement",
        words.count("day", "moved stage today", "moved stage only {n} ago", "no stage movement for {n}"),
        "no stage movement yet",
    ),
    # ------------------------------------------------------------------ motion
    Feature(
        "motions",
        _MOTION,
        "activities so far",
        words.count("activity", "no activity logged yet", "only {n} logged", "{n} logged"),
    ),
    Feature(
        "motions_14d",
        _MOTION,
        "activities in the last 14 days",
        words.count(
            "activity", "no activity in the last 14 days", "only {n} in the last 14 days", "{n} in the last 14 days"
        ),
    ),
    Feature(
        "motions_30d",
        _MOTION,
        "activities in the last 30 days",
        words.count(
            "activity", "no activity in the last 30 days", "only {n} in the last 30 days", "{n} in the last 30 days"
        ),
    ),
    Feature(
        "motion_per_movement",
        _MOTION,
        "activities per stage movement",
        words.per_movement,
        "no stage movement yet",
        precision=1,
    ),
    Feature(
        "days_since_activity",
        _MOTION,
        "time since the last activity",
        words.count("day", "activity today", "last activity {n} ago", "no activity for {n}"),
        "no activity yet",
    ),
    Feature(
        "activities_since_movement",
        _MOTION,
        "activities since the last stage movement",
        words.count(
            "activity",
            "no activity since the last stage movement",
            "only {n} since the last stage movement",
            "{n} since the last stage movement",
        ),
    ),
    # activity mix, time since each kind, recent against older motion (issue 19; kinds: ACTIVITY_KINDS in build):
    # opt-in, they did not rank better on the rolling-origin backtests (decision 0064)
    Feature(
        "email_share",
        _MOTION,
        "the share of emails among activities",
        words.rate("emails among the activities:"),
        "no activity yet",
        precision=2,
        default=False,
    ),
    Feature(
        "meeting_share",
        _MOTION,
        "the share of meetings and demos among activities",
        words.rate("meetings and demos among the activities:"),
        "no activity yet",
        precision=2,
        default=False,
    ),
    *(_days_since(kind, noun, article) for kind, noun, article in KIND_NOUNS),
    Feature("motion_trend", _MOTION, "recent against older activity", words.motion_trend, default=False),
    # ------------------------------------------------------------------ client decisions
    Feature(
        "interactions",
        _MOTION,  # meetings, calls and demos are motion; what came of them is a decision
        "client meetings so far",
        words.count("client meeting", "no client meeting yet", "only {n} so far", "{n} so far"),
    ),
    Feature(
        "decisions",
        _DECISIONS,
        "client decisions so far",
        words.count("client decision", "no client decision yet", "only {n} so far", "{n} so far"),
    ),
    Feature(
        "decision_rate",
        _DECISIONS,
        "the client decision rate",
        words.rate("client decisions in"),
        "no client meeting yet",
        precision=2,
    ),
    Feature(
        "interactions_since_decision",
        _DECISIONS,
        "meetings since the last client decision",
        words.meetings_since_decision,
    ),
    Feature(
        "decisions_30d",
        _DECISIONS,
        "client decisions in the last 30 days",
        words.count(
            "client decision",
            "no client decision in the last 30 days",
            "only {n} in the last 30 days",
            "{n} in the last 30 days",
        ),
    ),
    # ------------------------------------------------------------------ slippage
    Feature(
        "close_date_pushes",
        _SLIPPAGE,
        "close-date pushes",
        words.count("", "close date never pushed", "close date pushed {times}", "close date pushed {times}"),
    ),
    Feature(
        "days_pushed",
        _SLIPPAGE,
        "days the close date was pushed",
        words.count(
            "day", "close date never pushed", "close date pushed {n} in total", "close date pushed {n} in total"
        ),
    ),
    Feature(
        "close_date_pulls",
        _SLIPPAGE,
        "close-date pulls",
        words.count("", "close date never pulled in", "close date pulled in {times}", "close date pulled in {times}"),
    ),
    Feature(
        "days_past_close",
        _SLIPPAGE,
        "the expected close date",
        words.days_past_close,
        "no expected close date",
    ),
    # ------------------------------------------------------------------ commit
    Feature("days_since_commit", _MOVEMENT, "time since commit", words.past_commit, "not yet at commit"),
    # ------------------------------------------------------------------ the deal
    Feature("amount", _RECORD, "the amount", words.amount, "no amount"),
    Feature(
        "age_days",
        _RECORD,
        "the deal's age",
        words.count("day", "created today", "created only {n} ago", "open for {n}"),
        "no creation date",
    ),
    # ------------------------------------------------------------------ the owner's history up to the as-of moment
    Feature(
        "owner_win_rate",
        _RECORD,
        "the owner's win rate",
        words.rate("owner's win rate so far"),
        "owner has closed no deal yet",
        precision=2,
    ),
    Feature(
        "owner_closed",
        _RECORD,
        "the owner's closed deals",
        words.count("closed deal", "owner has closed no deal yet", "owner has only {n} so far", "owner has {n} so far"),
    ),
    Feature(
        "owner_decision_rate",
        _DECISIONS,
        "the owner's client decision rate",
        words.rate("owner's client decision rate"),
        "owner has no client meetings yet",
        precision=2,
    ),
)

#: The numeric feature columns, in model order: every snapshot has them all.
FEATURES: tuple[str, ...] = tuple(f.name for f in REGISTRY)
#: The features an estimator learns from only when its ``include`` names them (decision 0064).
OPT_IN: tuple[str, ...] = tuple(f.name for f in REGISTRY if not f.default)
#: The features an estimator learns from by default, in model order.
DEFAULT_FEATURES: tuple[str, ...] = tuple(f.name for f in REGISTRY if f.default)

#: The columns that say which deal a snapshot row is and where it stands (``team`` only when the log has teams).
ROW_COLUMNS = ("deal_id", "as_of", "owner", "team", "stage", "expected_close_date", "days_in_stage")

#: Label columns: what happened after the as-of moment (never features). Decision 0015.
LABELS = (
    "stalled",
    "stalled_excluding_losses",
    "next_step",
    "days_to_next_movement",
    "next_movement_observed",
    "won",
    "days_to_outcome",
    "outcome",
    "close_deadline",
    "close_outcome",
    "slipped",
)

_BY_NAME = {f.name: f for f in REGISTRY}


def find(name: str) -> Feature | None:
    """The registry entry of the feature ``name``; None when there is none (e.g. a column of a plain array).

    >>> find("close_date_pushes").group, find("x0")
    ('close-date slippage', None)
    """
    return _BY_NAME.get(name)


def snapshot_columns(with_team: bool = True) -> list[str]:
    """Every column of a snapshots table, in order: :data:`ROW_COLUMNS`, :data:`FEATURES`, :data:`LABELS`."""
    rows = [c for c in ROW_COLUMNS if with_team or c != "team"]
    return [*rows, *FEATURES, *LABELS]


def groups() -> dict[str, tuple[str, ...]]:
    """Each group of :data:`GROUPS` and its features (in model order); every feature is in exactly one.

    >>> groups()["close-date slippage"]
    ('close_date_pushes', 'days_pushed', 'close_date_pulls', 'days_past_close')
    """
    return {group: tuple(f.name for f in REGISTRY if f.group == group) for group in GROUPS}


def labels() -> dict[str, str]:
    """Each feature's label: the noun phrase prose names it with."""
    return {f.name: f.label for f in REGISTRY}


def precisions() -> dict[str, int]:
    """Each feature's precision: the decimals its reason shows."""
    return {f.name: f.precision for f in REGISTRY}


__all__ = [
    "DEFAULT_FEATURES",
    "FEATURES",
    "GROUPS",
    "KIND_NOUNS",
    "LABELS",
    "OPT_IN",
    "REGISTRY",
    "ROW_COLUMNS",
    "Feature",
    "find",
    "groups",
    "labels",
    "precisions",
    "snapshot_columns",
]
