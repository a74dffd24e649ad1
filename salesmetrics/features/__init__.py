"""Features for models: leak-free snapshots, one row per deal open at each as-of date, and what happened next.

- ``registry``: every snapshot column, and per feature its group, label, reason template and precision;
- ``build``: ``snapshots`` (and ``as_of_dates``, from ``dates``: the as-of moments);
- ``rows``: the rows of a snapshot table, given the whole log's values they need (the owners' record among them);
- ``parts``: the table of a partitioned log, part by part, here or on a Dask cluster (``docs/scale.md``).
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
