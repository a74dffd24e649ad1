"""Lazy package namespaces: a package lists the names it exports and the module each lives in; a module is
imported the first time one of its names is used, so importing a package stays cheap (``salesmetrics --help``
starts without pandas or scikit-learn)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose ``exports`` map a name to the
    submodule (relative to ``package``) that defines it.

    Examples
    --------
    >>> getattr_, dir_, all_ = lazy_exports("salesmetrics.log", {"read_log": "reading"})
    >>> getattr_("read_log").__name__, all_
    ('read_log', ['read_log'])
    """
    names = sorted(exports)

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names
