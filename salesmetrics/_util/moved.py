"""Modules that moved when the package was arranged in layers (0.2.0): importing an old path fails with a message
that names the new one, instead of a bare ``ModuleNotFoundError``.

Old paths are not kept as aliases: ``salesmetrics.simulate`` and ``salesmetrics.snapshots`` are functions, and a
module of the same name would replace them (decision 0039).
"""

from __future__ import annotations

import importlib.abc
import sys

#: old module -> where its contents live now
MOVED = {
    "salesmetrics._atomic": "salesmetrics._util.atomic",
    "salesmetrics._csv_safe": "salesmetrics._util.csv_safe",
    "salesmetrics._fast": "salesmetrics._util.fast",
    "salesmetrics._files": "salesmetrics._util.files",
    "salesmetrics._limits": "salesmetrics._util.limits",
    "salesmetrics._output": "salesmetrics._util.output",
    "salesmetrics._score_engine": "salesmetrics.metrics._engine",
    "salesmetrics._suggest": "salesmetrics._util.suggest",
    "salesmetrics._text": "salesmetrics._util.text",
    "salesmetrics._timezones": "salesmetrics._util.timezones",
    "salesmetrics.config": "salesmetrics.log.config",
    "salesmetrics.coverage": "salesmetrics.log.coverage",
    "salesmetrics.decisions": "salesmetrics.metrics.decisions",
    "salesmetrics.exercises.cli": "salesmetrics.cli.exercises",
    "salesmetrics.health": "salesmetrics.reports.health",
    "salesmetrics.models.cli": "salesmetrics.cli.model",
    "salesmetrics.momentum": "salesmetrics.metrics.momentum",
    "salesmetrics.movement": "salesmetrics.metrics.movement",
    "salesmetrics.outcomes": "salesmetrics.metrics.outcomes",
    "salesmetrics.parsing": "salesmetrics.log.parsing",
    "salesmetrics.prepare": "salesmetrics.log.prepare",
    "salesmetrics.quotas": "salesmetrics.log.quotas",
    "salesmetrics.readers": "salesmetrics.log.readers",
    "salesmetrics.risk_report": "salesmetrics.reports.stall_risk",
    "salesmetrics.schemas": "salesmetrics.log.schemas",
    "salesmetrics.score": "salesmetrics.metrics.scoring",
    "salesmetrics.simulate": "salesmetrics.simulation",
    "salesmetrics.slippage": "salesmetrics.metrics.random_walks",
    "salesmetrics.snapshots": "salesmetrics.features",
    "salesmetrics.study_report": "salesmetrics.reports.study",
    "salesmetrics.tables": "salesmetrics.reports.tables",
    "salesmetrics.validation": "salesmetrics.log.validation",
    "salesmetrics.velocity": "salesmetrics.metrics.velocity",
    "salesmetrics.volume": "salesmetrics.metrics.volume",
    "salesmetrics.waterfall": "salesmetrics.metrics.flows",
    "salesmetrics.weekly": "salesmetrics.reports.weekly",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Answers imports of an old module path with a ``ModuleNotFoundError`` that names the new path."""

    def find_spec(self, fullname, path=None, target=None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        raise ModuleNotFoundError(
            f"{fullname} moved to {new} in salesmetrics 0.2.0 (the package is arranged in layers: "
            "docs/architecture.md); change the import, or use the public names: salesmetrics, salesmetrics.metrics, "
            "salesmetrics.reports",
            name=fullname,
        )


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (after the normal finders, so a module that exists always wins)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
