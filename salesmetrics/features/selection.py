"""Which snapshot features a model learns from: the registry's default ones, the opt-in ones asked for with
``include`` (decision 0064), none of those in ``exclude`` (decision 0030); names checked, with close matches."""

from __future__ import annotations

from salesmetrics._util.suggest import close_matches
from salesmetrics.exceptions import UsageError
from salesmetrics.features.registry import FEATURES, OPT_IN


def excluded_features(exclude) -> list[str]:
    """The names in ``exclude`` (a name, a list or None), each checked against :data:`FEATURES`.

    >>> excluded_features("amount"), excluded_features(None)
    (['amount'], [])
    """
    if exclude is None:
        return []
    names = [exclude] if isinstance(exclude, str) else list(exclude)
    for name in names:
        if name not in FEATURES:
            near = close_matches(str(name), FEATURES)
            hint = f"did you mean {' or '.join(near)}? " if near else ""
            raise UsageError(
                f"exclude names {name!r}, which is not a snapshot feature; {hint}the features are listed in "
                "docs/models.md (salesmetrics.features.FEATURES)."
            )
    return names


def included_features(include) -> set[str]:
    """The opt-in features named by ``include`` (a name, a list, ``"all"`` for every one of :data:`OPT_IN`, or
    None), each checked.

    >>> sorted(included_features(["motion_trend"])), len(included_features("all")) == len(OPT_IN)
    (['motion_trend'], True)
    """
    if include is None:
        return set()
    names = (list(OPT_IN) if include == "all" else [include]) if isinstance(include, str) else list(include)
    for name in names:
        if name not in OPT_IN:
            what = "is learned from by default" if name in FEATURES else "is not a snapshot feature"
            raise UsageError(
                f"include names {name!r}, which {what}; include takes the opt-in features "
                f"{', '.join(OPT_IN)} (or 'all'), decision 0064."
            )
    return set(names)


def learned_features(exclude=None, include=None) -> list[str]:
    """The features a model learns from, in model order (:data:`FEATURES`).

    >>> "motion_trend" in learned_features(), "motion_trend" in learned_features(include="all")
    (False, True)
    >>> "amount" in learned_features(exclude=["amount"])
    False
    """
    left_out, opted = set(excluded_features(exclude)), included_features(include)
    chosen = [f for f in FEATURES if f not in left_out and (f not in OPT_IN or f in opted)]
    if not chosen:
        raise UsageError("exclude leaves no feature to learn from; leave out fewer features.")
    return chosen


__all__ = ["excluded_features", "included_features", "learned_features"]
