"""Reasons: for each scored deal, the features that push its risk up the most, in plain words.

How a reason is found (``docs/decisions/0018-reasons.md``): at fit time, for each feature, the model's average
risk is computed over a sample of training rows with that feature set to each of about twenty values (its
quantiles, and "missing"): a partial-dependence curve. A deal's *effect* of a feature is the curve at the
deal's value minus the curve at the training median: how much the risk moves because this deal differs from a
typical one on that feature, the other features held as they are in the sample. The three largest positive
effects are the deal's reasons, written with the deal's own numbers ("close date pushed 3 times").

This needs no extra model call when scoring (a table lookup per feature), so it stays cheap for 100,000 deals.
The effects are not additive and not SHAP values: two correlated features may both show up for the same cause.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics.exceptions import UsageError
from salesmetrics.features.registry import REGISTRY, find, precisions
from salesmetrics.models.threads import limit_threads

SAMPLE_ROWS = 300
GRID_POINTS = 21
MIN_EFFECT = 0.005  # effects below half a percentage point are not reasons

#: feature -> (template for a value, text when the value is missing; "?": none), from the feature registry
TEMPLATES: dict[str, tuple] = {f.name: (f.reason, "?" if f.missing is None else f.missing) for f in REGISTRY}

#: Decimals a template shows of each feature's value (reasons are cached on the value rounded so).
PRECISION = precisions()


def describe(feature: str, value: float, reference: float, stage: str | None = None) -> str:
    """One reason in plain words, with the deal's value (``reference``: the training median).

    Examples
    --------
    >>> describe("close_date_pushes", 3, 0)
    'close date pushed 3 times'
    >>> describe("interactions_since_decision", 4, 1)
    'no client decision in the last 4 meetings'
    >>> describe("days_since_commit", 14.2, 5)
    '14 days past commit without signature'
    """
    entry = find(feature)
    if value is None or not np.isfinite(value):
        return entry.missing if entry is not None and entry.missing is not None else f"{feature} missing"
    if entry is None:
        ref = f" (typical {reference:g})" if np.isfinite(reference) else ""
        return f"{feature} = {value:g}{ref}"
    return entry.reason(float(value), float(reference), stage)


def prepare_reasons(estimator, matrix: np.ndarray) -> None:
    """Store the partial-dependence table reasons are read from (``reason_grid_``, ``reason_curve_`` ...)."""
    n, f = matrix.shape
    # the rows in one order first (by every column, missing values apart), so that the same rows in another order
    # (a partitioned log's snapshots come part by part) give the same sample and the same reasons
    keys = [k for j in range(f) for k in (np.isnan(matrix[:, j]), np.nan_to_num(matrix[:, j], nan=0.0))]
    matrix = matrix[np.lexsort(keys[::-1])] if n and f else matrix
    rng = np.random.default_rng(0)
    sample = matrix[rng.choice(n, size=min(n, SAMPLE_ROWS), replace=False)] if n else matrix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
        reference = np.nanmedian(matrix, axis=0) if n else np.full(f, np.nan)
        grids = []
        for j in range(f):
            column = matrix[:, j]
            finite = column[np.isfinite(column)]
            grids.append(np.unique(np.quantile(finite, np.linspace(0, 1, GRID_POINTS))) if len(finite) else [])
    width = max([len(g) for g in grids] + [1])
    grid = np.full((f, width), np.nan)
    curve = np.full((f, width), np.nan)
    at_missing = np.zeros(f)
    blocks, where = [], []
    for j in range(f):
        for k, value in enumerate([*grids[j], np.nan]):
            block = sample.copy()
            block[:, j] = value
            blocks.append(block)
            where.append((j, k))
    if blocks and len(sample):
        stacked = np.vstack(blocks)
        risk = estimator._risk_from_proba(estimator.estimator_.predict_proba(stacked))
        means = risk.reshape(len(blocks), len(sample)).mean(axis=1)
        for (j, k), m in zip(where, means, strict=True):
            if k < len(grids[j]):
                grid[j, k] = grids[j][k]
                curve[j, k] = m
            else:
                at_missing[j] = m
    estimator.reason_reference_ = reference
    estimator.reason_grid_ = grid
    estimator.reason_curve_ = curve
    estimator.reason_missing_ = at_missing
    estimator.reason_baseline_ = _lookup(grid, curve, at_missing, reference[None, :])[0]


def _lookup(grid: np.ndarray, curve: np.ndarray, at_missing: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Partial dependence of each column of ``values`` (rows x features), linear between grid points."""
    out = np.empty(values.shape)
    for j in range(values.shape[1]):
        g = grid[j][np.isfinite(grid[j])]
        column = values[:, j]
        if len(g):
            out[:, j] = np.interp(column, g, curve[j][: len(g)])
        else:
            out[:, j] = at_missing[j]
        out[~np.isfinite(column), j] = at_missing[j]
    return out


def effects(estimator, matrix: np.ndarray) -> np.ndarray:
    """Each row's effect of each feature on its risk, in probability points (rows x features)."""
    values = _lookup(estimator.reason_grid_, estimator.reason_curve_, estimator.reason_missing_, matrix)
    return values - estimator.reason_baseline_[None, :]


@renamed(n="top_n")
def explain(estimator, X, top_n: int = 3, protective: int = 0) -> pd.DataFrame:
    """The ``top_n`` strongest reasons (effects above half a percentage point) behind each row's risk.

    A feature whose value is missing is never a reason (its partial dependence describes the model's handling
    of a gap, not the deal). With ``protective`` > 0, also the ``protective`` features that lower the risk the
    most: ``protective_i`` (words), ``protective_feature_i`` and ``lowers_by_i`` (negative probability points).

    Returns one row per row of ``X`` (same order): ``deal_id, as_of, owner, stage`` when ``X`` has them, the
    ``risk`` (probability of a stall, or of not winning), and for i = 1..top_n ``reason_i`` (plain words),
    ``feature_i`` and ``effect_i`` (how many probability points the feature adds to the risk). Rows with fewer
    than ``top_n`` reasons have empty cells.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from salesmetrics.models import StallPredictor
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"close_date_pushes": rng.poisson(1, 500), "noise": rng.normal(size=500)})
    >>> y = (rng.random(500) < 0.1 + 0.2 * X["close_date_pushes"].clip(0, 4)).astype(int)
    >>> model = StallPredictor(model="logistic", min_closed=100, n_jobs=1).fit(X, y)
    >>> deal = pd.DataFrame({"close_date_pushes": [4], "noise": [0.0]})
    >>> explain(model, deal, top_n=1)[["reason_1", "feature_1"]].iloc[0].tolist()
    ['close date pushed 4 times', 'close_date_pushes']
    """
    if top_n < 1:
        raise UsageError(f"top_n must be 1 or more reasons, not {top_n!r}.")
    if int(protective) != protective or protective < 0:
        raise UsageError(f"protective must be 0 or more factors, not {protective!r}.")
    with limit_threads(getattr(estimator, "n_jobs", None)):  # the model call and the lookups, like fit and predict
        return _explain(estimator, X, top_n, int(protective))


def _explain(estimator, X, n: int, protective: int = 0) -> pd.DataFrame:
    matrix = estimator._matrix(X, reset=False)
    risk = estimator._risk_from_proba(estimator.estimator_.predict_proba(matrix))
    effect = effects(estimator, matrix)
    # a missing value is no reason: its partial dependence says what the model does with a gap (most deals are
    # "not yet at commit"), not what this deal did (issue 19)
    effect[~np.isfinite(matrix)] = np.nan
    names = list(getattr(estimator, "feature_names_in_", [f"x{j}" for j in range(matrix.shape[1])]))
    stages = X["stage"].astype(object).to_numpy() if isinstance(X, pd.DataFrame) and "stage" in X else None
    out: dict[str, object] = {}
    if isinstance(X, pd.DataFrame):
        for column in ("deal_id", "as_of", "owner", "stage"):
            if column in X:
                out[column] = X[column].array
    out["risk"] = risk
    # risk factors: the largest effects that raise the risk
    rising = np.where(np.isfinite(effect) & (effect >= MIN_EFFECT), effect, -np.inf)
    _render(out, estimator, matrix, names, stages, rising, n, ("reason", "feature", "effect"))
    if protective:
        # protective factors: the largest effects that lower it (shown as negative probability points)
        falling = np.where(np.isfinite(effect) & (effect <= -MIN_EFFECT), -effect, -np.inf)
        _render(
            out,
            estimator,
            matrix,
            names,
            stages,
            falling,
            protective,
            ("protective", "protective_feature", "lowers_by"),
        )
        for k in range(min(protective, matrix.shape[1])):
            out[f"lowers_by_{k + 1}"] = -np.asarray(out[f"lowers_by_{k + 1}"])
    index = X.index if isinstance(X, pd.DataFrame) else None
    return pd.DataFrame(out, index=index)


def _render(out, estimator, matrix, names, stages, masked, n, prefixes) -> None:
    """Add ``n`` columns of words, feature and effect for the largest values of ``masked`` (-inf: not shown)."""
    reference = estimator.reason_reference_
    words_col, feature_col, effect_col = prefixes
    top = np.argsort(-masked, axis=1, kind="stable")[:, :n]
    rows = np.arange(len(matrix))
    digits = np.array([PRECISION.get(name, -1) for name in names])  # -1: shown exactly
    is_stage = np.array([name == "stage_rank" for name in names])
    for k in range(min(n, matrix.shape[1])):
        j = top[:, k]
        chosen = masked[rows, j]
        ok = np.isfinite(chosen)
        text = np.full(len(matrix), None, dtype=object)
        sel = np.flatnonzero(ok)
        if len(sel):
            # the same words for the same (feature, value as shown, side of typical, stage): render each once
            jj, values = j[sel], matrix[sel, j[sel]]
            shown = values.copy()
            for d in np.unique(digits[jj]):
                if d >= 0:
                    mask = digits[jj] == d
                    shown[mask] = np.round(values[mask], int(d))
            missing = ~np.isfinite(values)
            shown[missing] = -np.inf
            side = np.where(missing, False, values > reference[jj])
            stage = np.where(is_stage[jj] & (stages is not None), stages[sel] if stages is not None else "", "")
            stage_code = pd.factorize(stage.astype(str))[0]
            group = (jj * 2 + side) * (int(stage_code.max()) + 1) + stage_code
            codes, uniques = pd.factorize(shown + 1j * group)  # one complex key: (value shown, the rest)
            first = np.zeros(len(uniques), dtype=np.int64)
            first[codes[::-1]] = np.arange(len(codes))[::-1]  # a representative row of each combination
            words = np.array(
                [
                    describe(names[jj[i]], values[i], reference[jj[i]], stage[i] or None if is_stage[jj[i]] else None)
                    for i in first
                ],
                dtype=object,
            )
            text[sel] = words[codes]
        out[f"{words_col}_{k + 1}"] = pd.Series(text, dtype="str").to_numpy()
        out[f"{feature_col}_{k + 1}"] = pd.Series(
            np.where(ok, np.array(names, dtype=object)[j], None), dtype="str"
        ).to_numpy()
        out[f"{effect_col}_{k + 1}"] = np.where(ok, chosen, np.nan)


__all__ = ["MIN_EFFECT", "TEMPLATES", "describe", "effects", "explain", "prepare_reasons"]
