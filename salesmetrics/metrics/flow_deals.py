"""Which deals a waterfall adds up, and in which currency: soft-deleted deals are left out, and amounts in
several currencies are never added up unless converted (decision 0038; the CRM's own column names, 0054).

Used by :func:`salesmetrics.metrics.flows.waterfall`, which re-exports these names.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CurrencyFacts:
    """What the currency checks read of a deals table: its currency column (None without one), the deals per code
    and the first few deals without a code. Facts of parts add up (:meth:`combined`), so a partitioned log is
    checked as a whole (``salesmetrics.reports.health_parts``)."""

    column: str | None
    counts: dict[str, int]
    unknown: int
    unknown_ids: tuple[str, ...]

    @staticmethod
    def combined(facts: list[CurrencyFacts]) -> CurrencyFacts:
        """The facts of the log the parts ``facts`` make end to end (in that order).

        >>> a = CurrencyFacts("currency", {"EUR": 2}, 1, ("d1",))
        >>> b = CurrencyFacts("currency", {"EUR": 1, "USD": 3}, 0, ())
        >>> CurrencyFacts.combined([a, b])
        CurrencyFacts(column='currency', counts={'EUR': 3, 'USD': 3}, unknown=1, unknown_ids=('d1',))
        """
        counts: Counter = Counter()
        for f in facts:
            counts.update(f.counts)
        ids = tuple(i for f in facts for i in f.unknown_ids)[:_NAMED]
        column = next((f.column for f in facts if f.column is not None), None)
        return CurrencyFacts(column, dict(counts), sum(f.unknown for f in facts), ids)


_NAMED = 5  # deals named in a message ("e.g. ...")


def _codes(deals: pd.DataFrame, name: str) -> pd.Series:
    return deals[name].astype("string").str.strip().str.upper()


def currency_facts(deals: pd.DataFrame) -> CurrencyFacts:
    """The :class:`CurrencyFacts` of ``deals``."""
    name = deal_column(deals, CURRENCY_COLUMNS)
    if name is None:
        return CurrencyFacts(None, {}, 0, ())
    codes = _codes(deals, name)
    counts = codes.value_counts()
    unknown = (codes.isna() | (codes == "")).fillna(True).to_numpy(bool)
    ids = deals.loc[unknown, "deal_id"].astype(str).head(_NAMED).tolist()
    return CurrencyFacts(name, {str(c): int(n) for c, n in counts.items() if c != ""}, int(unknown.sum()), tuple(ids))


def rates_table(facts: CurrencyFacts, rates: dict | None, own_currency) -> dict[str, float] | None:
    """The factor of each currency code (None: every factor is 1) for deals with ``facts``; refuses to add up
    mixed currencies (:func:`deal_rates` says how)."""
    if facts.column is None:
        if rates:
            raise UsageError(
                "rates were given but the deals have no 'currency' column, so there is nothing to convert; "
                "leave the rates out."
            )
        return None
    present = sorted(facts.counts)
    if not rates:
        if len(present) > 1:
            listed = ", ".join(f"{c} ({facts.counts[c]:,} deals)" for c in present[:8])
            target = own_currency or present[0]
            example = " ".join(f"--rate {c}=..." for c in present if c != target)[:200]
            parameter = ",".join(f"{c}:..." for c in present if c != target)[:200]
            raise CurrencyError(
                f"The deals carry {len(present)} currencies ({listed}), so their amounts cannot be added up. "
                f"Convert them: give the value of one unit of each currency in {target} (salesmetrics waterfall: "
                f"{example}; a report: -p rates={parameter}; in Python: "
                "rates={'EUR': 1.08, ...}), or import converted amounts."
            )
        return None
    table = {}
    for code, value in rates.items():
        try:
            factor = float(value)
        except (TypeError, ValueError):
            factor = float("nan")
        if not np.isfinite(factor) or factor <= 0:
            raise UsageError(f"rate {code}={value!r} must be a positive number, e.g. {code}=1.08.")
        table[str(code).strip().upper()] = factor
    own = str(own_currency or "").strip().upper()
    if own and own not in table:  # the log's own currency needs no rate: one unit is one unit
        table[own] = 1.0
    missing = [c for c in present if c not in table]
    if missing:
        raise CurrencyError(
            f"No rate for {', '.join(missing[:8])}: the deals carry these currencies too; give a rate for each "
            f"(e.g. --rate {missing[0]}=1.0, or in a report -p rates=...,{missing[0]}:1.0)."
        )
    if facts.unknown:
        raise CurrencyError(
            f"Some deals have no currency (e.g. {', '.join(facts.unknown_ids)}), so their amounts cannot be "
            f"converted; fill the deals column '{facts.column}'."
        )
    return table


def deal_rates(log: SalesLog, rates: dict[str, float] | None) -> np.ndarray:
    """Per deal, the factor that converts its amounts into one currency; refuses to add up mixed currencies.

    A deals column ``currency`` (or ``CurrencyIsoCode``, :data:`CURRENCY_COLUMNS`) with more than one code
    raises :class:`~salesmetrics.exceptions.CurrencyError` unless ``rates`` gives a factor for every code (the
    value of one unit of that currency in the log's currency). Without the column, or with one code, every
    factor is 1.
    """
    facts = currency_facts(log.deals)
    return rates_of_deals(log.deals, facts, rates_table(facts, rates, log.model.currency))


def rates_of_deals(deals: pd.DataFrame, facts: CurrencyFacts, table: dict[str, float] | None) -> np.ndarray:
    """Per deal of ``deals``, its factor in ``table`` (:func:`rates_table` of its ``facts``; None: 1)."""
    if table is None:
        return np.ones(len(deals))
    return _codes(deals, facts.column).map(table).to_numpy(float)


def result_currency(log: SalesLog, rates) -> str | None:
    """The currency the amounts are in: the log's, or the one code every deal carries when it is another."""
    return currency_of(currency_facts(log.deals), rates, log.model.currency, stacklevel=5)


def currency_of(facts: CurrencyFacts, rates, own_currency, stacklevel: int = 4) -> str | None:
    """:func:`result_currency` of deals with ``facts`` in a log whose currency is ``own_currency``."""
    if rates or facts.column is None or len(facts.counts) != 1:
        return own_currency
    (code,) = facts.counts
    if own_currency and code != str(own_currency).strip().upper():
        warnings.warn(
            f"Every deal is in {code}, not in the log's currency ({own_currency}): the amounts are in {code}. "
            f"To have them in {own_currency}, give the rate (--rate {code}=...).",
            DataNote,
            stacklevel=stacklevel,  # the caller of waterfall, past the as_of_after_log wrapper
        )
    return code


__all__ = [
    "CURRENCY_COLUMNS",
    "DELETED_COLUMNS",
    "CurrencyFacts",
    "amount_at",
    "currency_facts",
    "currency_of",
    "deal_column",
    "deal_rates",
    "deleted_deals",
    "parse_rates",
    "rates_of_deals",
    "rates_table",
    "result_currency",
]
