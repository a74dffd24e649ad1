"""The sales log: its format, stage model, readers, validation and the first steps every metric shares.

- ``config``: the stage model and settings of a log (``salesmetrics.yaml``);
- ``schemas``: the tables' columns and pandera schemas;
- ``readers`` and ``parsing``: reading one table file (CSV or Parquet) and turning text cells into values;
- ``validation``: loading a log folder while collecting every problem it has;
- ``saleslog``: :class:`SalesLog`, ``write_log``, ``check_log``;
- ``reading``: ``read_log`` (through the relational core when it vouches for the log, else validation);
- ``quotas``: the optional quotas table;
- ``prepare``: fix the ``as_of`` moment, cut the log there, classify stage entries;
- ``coverage``: which optional tables and columns hold data, and what a report therefore cannot show.

This layer imports nothing above it (see ``docs/architecture.md``).
"""

from salesmetrics._util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "ACTIVITIES": "saleslog",
        "CLOSE_DATE_CHANGES": "saleslog",
        "DEALS": "saleslog",
        "STAGE_CHANGES": "saleslog",
        "LogSummary": "saleslog",
        "SalesLog": "saleslog",
        "check_log": "saleslog",
        "read_log": "reading",
        "write_log": "saleslog",
        "StageModel": "config",
        "load_config": "config",
        "LogCoverage": "coverage",
        "log_coverage": "coverage",
    },
)
