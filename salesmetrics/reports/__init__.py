"""Reports: one module per report (its logic), the notebooks that show it, and the runner that makes HTML of them.

- ``health`` (with ``health_result``, and ``health_parts`` for a partitioned log), ``weekly``, ``velocity``,
  ``slippage``, ``stall_risk`` (with ``stall_model``, ``fitting``), ``study`` (with ``study_result``): what each
  report computes; ``tables``: readable tables;
- ``notebooks/``: the report notebooks (shipped in the package);
- ``catalog`` (the reports and their parameters), ``parameters`` (checked before a run), ``kernel`` (runs the
  notebooks), ``pages`` (HTML), ``runner`` (:func:`run_report`, :func:`run_batch`).

Examples
--------
>>> from salesmetrics import reports
>>> "run_report" in dir(reports)
True
"""

from salesmetrics._util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pipeline_health": "health",
        "PipelineHealth": "health_result",
        "weekly_review": "weekly",
        "WeeklyReview": "weekly",
        "velocity_report": "velocity",
        "VelocityReport": "velocity",
        "slippage_report": "slippage",
        "SlippageReport": "slippage",
        "stall_risk_report": "stall_risk",
        "StallRiskReport": "stall_risk",
        "close_likelihood_study": "study",
        "Study": "study",
        "readable": "tables",
        "list_reports": "catalog",
        "get_report": "catalog",
        "render_html": "pages",
        "run_report": "runner",
        "run_batch": "runner",
        "ReportExecutionError": "runner",
    },
)
