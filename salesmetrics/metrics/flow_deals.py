"""Which deals a waterfall adds up, and in which currency: soft-deleted deals are left out, and amounts in
several currencies are never added up unless converted (decision 0038; the CRM's own column names, 0054).

Used by :func:`salesmetrics.metrics.flows.waterfall`, which re-exports these names.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from salesmetrics.exceptions import CurrencyError, DataNote, UsageError
from salesmetrics.log.prepare import amount_at
from salesmetrics.log.saleslog import SalesLog

_DELETED_TRUE = {"true", "t", "yes", "y", "1", "x"}
# deal columns read as the soft-delete flag and the currency, compared without case, spaces, dots, underscores:
# ours first, then the CRM's as its importer keeps them (Salesforce IsDeleted and CurrencyIsoCode, HubSpot's
# Deal Currency Code / Currency)
DELETED_COLUMNS = ("is_deleted", "isdeleted", "deleted")
CURRENCY_COLUMNS = ("currency", "currencyisocode", "dealcurrencycode", "currencycode")


def deal_column(deals: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first deals column named like one of ``names`` (without case, spaces, dots, underscores), or None.

    >>> deal_column(pd.DataFrame(columns=["deal_id", "CurrencyIsoCode"]), CURRENCY_COLUMNS)
    'CurrencyIsoCode'
    """
    found = {str(c).lower().replace(" ", "").replace("_", "").replace(".", ""): c for c in reversed(deals.columns)}
    for name in names:
        key = name.replace("_", "")
        if key in found:
            return found[key]
    return None


def deleted_deals(deals: pd.DataFrame) -> pd.Series:
    """Boolean mask of soft-deleted deals: an ``is_deleted`` column (or Salesforce's ``IsDeleted``, kept by its
    importer) that is true (``true``, ``1``, ``yes``)."""
    name = deal_column(deals, DELETED_COLUMNS)
    if name is None:
        return pd.Series(False, index=deals.index)
    column = deals[name]
    if pd.api.types.is_bool_dtype(column):
        return column.fillna(False).astype(bool)
    text = column.astype("string").str.strip().str.lower()
    return text.isin(_DELETED_TRUE).fillna(False).astype(bool)


def parse_rates(rates: dict[str, float] | str | None) -> dict | None:
    """Currency rates as a dict: a dict as given, or the text of a report parameter, ``"EUR:1.08,GBP:1.25"``
    (one unit of each currency in the log's; ``EUR=1.08`` as ``--rate`` has it is read too); None or empty text:
    no rates. The values are checked where they are used (:func:`deal_rates`).

    >>> parse_rates("EUR:1.08, gbp = 1.25")
    {'EUR': '1.08', 'GBP': '1.25'}
    """
    if not isinstance(rates, str):
        return rates
    out = {}
    for piece in filter(None, (p.strip() for p in rates.split(","))):
        code, sep, value = piece.replace(":", "=", 1).partition("=")
        if not sep or not code.strip() or not value.strip():
            raise UsageError(
                f"rates {rates!r}: {piece!r} is not CODE:VALUE; give the value of one unit of each currency in the "
                "log's currency, comma-separated, e.g. EUR:1.08,GBP:1.25."
            )
        out[code.strip().upper()] = value.strip()
    return out or None


def deal_rates(log: SalesLog, rates: dict[str, float] | None) -> np.ndarray:
    """Per deal, the factor that converts its amounts into one currency; refuses to add up mixed currencies.

    A deals column ``currency`` (or ``CurrencyIsoCode``, :data:`CURRENCY_COLUMNS`) with more than one code
    raises :class:`~salesmetrics.exceptions.CurrencyError` unless ``rates`` gives a factor for every code (the
    value of one unit of that currency in the log's currency). Without the column, or with one code, every
    factor is 1.
    """
    deals = log.deals
    n = len(deals)
    name = deal_column(deals, CURRENCY_COLUMNS)
    if name is None:
        if rates:
            raise UsageError(
                "rates were given but the deals have no 'currency' column, so there is nothing to convert; "
                "leave the rates out."
            )
        return np.ones(n)
    codes = deals[name].astype("string").str.strip().str.upper()
    present = sorted(set(codes.dropna().unique()) - {""})
    if not rates:
        if len(present) > 1:
            counts = codes.value_counts()
            listed = ", ".join(f"{c} ({int(counts[c]):,} deals)" for c in present[:8])
            target = log.model.currency or present[0]
            example = " ".join(f"--rate {c}=..." for c in present if c != target)[:200]
            parameter = ",".join(f"{c}:..." for c in present if c != target)[:200]
            raise CurrencyError(
                f"The deals carry {len(present)} currencies ({listed}), so their amounts cannot be added up. "
                f"Convert them: give the value of one unit of each currency in {target} (salesmetrics waterfall: "
                f"{example}; a report: -p rates={parameter}; in Python: "
                "rates={'EUR': 1.08, ...}), or import converted amounts."
            )
        return np.ones(n)
    table = {}
    for code, value in rates.items():
        try:
            factor = float(value)
        except (TypeError, ValueError):
            factor = float("nan")
        if not np.isfinite(factor) or factor <= 0:
            raise UsageError(f"rate {code}={value!r} must be a positive number, e.g. {code}=1.08.")
        table[str(code).strip().upper()] = factor
    own = str(log.model.currency or "").strip().upper()
    if own and own not in table:  # the log's own currency needs no rate: one unit is one unit
        table[own] = 1.0
    missing = [c for c in present if c not in table]
    if missing:
        raise CurrencyError(
            f"No rate for {', '.join(missing[:8])}: the deals carry these currencies too; give a rate for each "
            f"(e.g. --rate {missing[0]}=1.0, or in a report -p rates=...,{missing[0]}:1.0)."
        )
    if codes.isna().any() or (codes == "").any():
        unknown = deals.loc[(codes.isna() | (codes == "")).to_numpy(), "deal_id"].astype(str).head(5).tolist()
        raise CurrencyError(
            f"Some deals have no currency (e.g. {', '.join(unknown)}), so their amounts cannot be converted; "
            f"fill the deals column '{name}'."
        )
    return codes.map(table).to_numpy(float)


def result_currency(log: SalesLog, rates) -> str | None:
    """The currency the amounts are in: the log's, or the one code every deal carries when it is another."""
    name = deal_column(log.deals, CURRENCY_COLUMNS)
    if rates or name is None:
        return log.model.currency
    codes = set(log.deals[name].astype("string").str.strip().str.upper().dropna()) - {""}
    if len(codes) != 1:
        return log.model.currency
    (code,) = codes
    if log.model.currency and code != str(log.model.currency).strip().upper():
        warnings.warn(
            f"Every deal is in {code}, not in the log's currency ({log.model.currency}): the amounts are in {code}. "
            f"To have them in {log.model.currency}, give the rate (--rate {code}=...).",
            DataNote,
            stacklevel=4,  # the caller of waterfall, past the as_of_after_log wrapper
        )
    return code


__all__ = [
    "CURRENCY_COLUMNS",
    "DELETED_COLUMNS",
    "amount_at",
    "deal_column",
    "deal_rates",
    "deleted_deals",
    "parse_rates",
    "result_currency",
]
