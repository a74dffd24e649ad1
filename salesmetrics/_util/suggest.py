"""Close-match suggestions for misspelt names ("did you mean ...?")."""

from __future__ import annotations

import difflib
import re


def normalise(text: str) -> str:
    """A name reduced to lower-case letters and digits, so ``Close Date`` matches ``CloseDate``.

    >>> normalise("Close Date"), normalise("close_date")
    ('closedate', 'closedate')
    """
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def close_matches(value: str, choices: list[str] | tuple[str, ...], n: int = 2) -> list[str]:
    """Choices that ``value`` probably meant: same letters ignoring case and punctuation, one containing the
    other, or a close spelling.

    Examples
    --------
    >>> close_matches("Closed Won", ["Lead", "Won", "Lost"])
    ['Won']
    >>> close_matches("Created At", ["deal_id", "created_at"])
    ['created_at']
    """
    key = normalise(value)
    found = [c for c in choices if normalise(c) == key]
    found += [
        c for c in choices if c not in found and key and normalise(c) and (normalise(c) in key or key in normalise(c))
    ]
    by_norm = {normalise(c): c for c in choices}
    found += [
        by_norm[m] for m in difflib.get_close_matches(key, list(by_norm), n=n, cutoff=0.6) if by_norm[m] not in found
    ]
    return found[:n]
