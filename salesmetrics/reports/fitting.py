"""What the model reports share: the learners and snapshot spacings they offer, training snapshots thinned to a
size that fits quickly, features without a value filled, and the warnings of a fit collected instead of printed.

Used by the ``stall_risk`` report (:mod:`salesmetrics.reports.stall_risk`) and the ``close_likelihood_study``
report (:mod:`salesmetrics.reports.study`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from salesmetrics.features.registry import FEATURES

#: The spacing of training snapshots a model report takes, and its name in the narrative.
FREQS = {"W": "weekly", "M": "monthly"}
#: The learners a model report may fit.
LEARNERS = ("hgb", "logistic")


def empty_features(frame: pd.DataFrame) -> list[str]:
    """The :data:`~salesmetrics.features.registry.FEATURES` with no value in any row of ``frame``.

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


class CollectedWarnings:
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


__all__ = ["FREQS", "LEARNERS", "CollectedWarnings", "empty_features", "fill_features", "thin_snapshots"]
