"""Old spellings of public parameters, kept working with a ``DeprecationWarning`` until 0.4.0.

Three kinds of change are covered (decision 0046):

- :func:`renamed`, a decorator: a keyword has a new name (``group_by=`` is ``by=``, ``n=`` is ``top_n=``);
- :func:`as_of_after_log`, a decorator: ``as_of`` moved right after ``log`` and the parameters that came before
  it became keyword-only, so ``sales_velocity(log, "team", "W")`` (the old order) still means what it meant;
- :func:`renamed_attribute`: a result's attribute has a new name (``report.group_by`` is ``report.by``).

A decorated function keeps its new signature (``help()`` and ``inspect.signature`` show only the new names). The
wrapper is one more frame between the caller and the function: a warning the function aims at its caller says
``stacklevel=3`` instead of 2.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Collection

#: The release that drops the old spellings.
REMOVED_IN = "0.4.0"


def warn_old_spelling(message: str, depth: int = 1) -> None:
    """The DeprecationWarning of an old spelling, naming the caller's line: ``depth`` frames above the function
    that calls this one (1: its caller; 2: past a decorator's wrapper)."""
    warnings.warn(
        f"{message}; the old spelling stops working in {REMOVED_IN}.", DeprecationWarning, stacklevel=2 + depth
    )


def renamed(**old_to_new: str) -> Callable:
    """Decorator: each old keyword (``group_by="by"``) still works, with a warning that names the new one.

    Giving both the old and the new name raises ``TypeError``, as giving one argument twice does.

    Examples
    --------
    >>> @renamed(group_by="by")
    ... def report(log, *, by="owner"):
    ...     return by
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     report(None, group_by="team"), str(seen[0].message)
    ('team', 'report(group_by=) is deprecated: use by=; the old spelling stops working in 0.4.0.')
    """

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{function.__name__}() got both {old}= and {new}=; give {new}= only.")
                warn_old_spelling(f"{function.__name__}({old}=) is deprecated: use {new}=")
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def as_of_after_log(*old_order: str, not_as_of: Collection[str] | None = None) -> Callable:
    """Decorator for a function whose ``as_of`` now comes right after ``log``, the rest keyword-only.

    ``old_order`` names the parameters that used to follow ``log`` by position, in their old order
    (``"by", "period", "as_of"``). A call that passes them by position still works, with a warning:

    - two or more values after ``log`` are always the old order (the new signature takes one at most);
    - one value is the old first parameter when it is a string in ``not_as_of``, words that cannot be a date
      (``"owner"``, ``"M"``); otherwise it is the new ``as_of``;
    - when ``not_as_of`` is None the function takes ``as_of`` by keyword only, and every value after ``log``
      keeps its old meaning (the old first parameter was a date too, so a value cannot tell).

    Examples
    --------
    >>> @as_of_after_log("by", "as_of", not_as_of={"owner", "team"})
    ... def velocity(log, as_of=None, *, by="owner"):
    ...     return as_of, by
    >>> velocity("log", "2024-03-31")
    ('2024-03-31', 'owner')
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     velocity("log", "team", "2024-03-31")
    ('2024-03-31', 'team')
    """

    def decorate(function: Callable) -> Callable:
        name = function.__name__

        @functools.wraps(function)
        def wrapper(log, *args, **kwargs):
            if not args:
                return function(log, **kwargs)
            new_use = not_as_of is not None and len(args) == 1
            if new_use and not (isinstance(args[0], str) and args[0] in not_as_of):
                return function(log, *args, **kwargs)
            if len(args) > len(old_order):
                raise TypeError(f"{name}() takes log and at most {len(old_order)} more arguments by position.")
            old = dict(zip(old_order, args, strict=False))
            twice = sorted(set(old) & set(kwargs))
            if twice:
                raise TypeError(f"{name}() got multiple values for {', '.join(twice)}.")
            keywords = ", ".join(f"{p}=" for p in old)
            warn_old_spelling(
                f"{name}(log, {', '.join(old)}) by position is deprecated: as_of follows log now; pass {keywords}"
            )
            return function(log, **old, **kwargs)

        return wrapper

    return decorate


def renamed_attribute(old: str, new: str) -> property:
    """A read-only property ``old`` that returns the attribute ``new``, with a warning that names it.

    Examples
    --------
    >>> class Report:
    ...     by = "team"
    ...     group_by = renamed_attribute("group_by", "by")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     Report().group_by
    'team'
    """

    def get(self):
        warn_old_spelling(f"{type(self).__name__}.{old} is deprecated: use .{new}")
        return getattr(self, new)

    return property(get, doc=f"Deprecated: the old name of ``{new}``.")
