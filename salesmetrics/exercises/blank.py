"""The placeholder ``____`` that answer cells start with, and how a blank (or half-blank) answer is recognised.

>>> ____ + 1, is_blank(____), is_blank([1, ____]), partly_blank([1, ____])
(____, True, False, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class _Blank:
    """The placeholder ``____`` in answer cells: the trainee has not answered yet.

    Arithmetic on it gives it back (``____ + 1`` is still blank), so a half-edited cell does not crash.
    """

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    def __bool__(self) -> bool:
        return False

    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, name: str):  # ``____.sum()`` stays blank; private and special names are not faked
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key):
        return self

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def _same(self, *args):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __pow__ = _same
    __neg__ = __pos__ = __abs__ = _same


____ = BLANK = _Blank()


def is_blank(value: Any) -> bool:
    """True when ``value`` is the placeholder: ``____``, None, ``...``, empty text, or a list/dict of blanks.

    >>> is_blank(____), is_blank(None), is_blank("  "), is_blank({"a": ____}), is_blank([1, ____])
    (True, True, True, True, False)
    """
    if value is BLANK or value is None or value is Ellipsis:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip() == "____"
    if isinstance(value, Mapping):
        return bool(value) and all(is_blank(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return bool(value) and all(is_blank(v) for v in value)
    return False


def partly_blank(value: Any) -> bool:
    """True when a list or dict answer still holds a ``____`` somewhere (but not only blanks)."""
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        return False
    return any(v is BLANK or partly_blank(v) for v in items)


__all__ = ["BLANK", "____", "is_blank", "partly_blank"]
