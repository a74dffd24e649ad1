"""Reports: the logic behind each report notebook, the tables they show, and the runner that makes HTML.

- ``runner``: parameters checked first, papermill to execute, one HTML file out;
- ``tables``: tables a sales leader can read;
- ``health``, ``weekly``, ``stall_risk``, ``study``: the logic of the ``pipeline_health``, ``weekly_review``,
  ``stall_risk`` and ``close_likelihood_study`` reports.
"""

from salesmetrics._util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "list_reports": "runner",
        "get_report": "runner",
        "run_report": "runner",
        "run_batch": "runner",
        "pipeline_health": "health",
        "PipelineHealth": "health",
        "weekly_review": "weekly",
        "WeeklyReview": "weekly",
        "stall_risk_report": "stall_risk",
        "StallRiskReport": "stall_risk",
        "close_likelihood_study": "study",
        "Study": "study",
    },
)
