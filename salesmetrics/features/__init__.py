"""Features for models: leak-free snapshots, one row per deal open at each as-of date, and what happened next.

- ``registry``: every snapshot column, and per feature its group, label, reason template and precision;
- ``build``: ``snapshots`` and ``as_of_dates``.
"""

from salesmetrics._util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "snapshots": "build",
        "as_of_dates": "build",
        "FREQS": "build",
        "FEATURES": "registry",
        "LABELS": "registry",
        "REGISTRY": "registry",
        "Feature": "registry",
    },
)
