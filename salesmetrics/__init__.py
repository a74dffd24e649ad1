"""salesmetrics: tell motion (activity) from movement (deals passing stage gates).

The public API is imported lazily, so ``salesmetrics --help`` starts fast; ``import salesmetrics as sm``
then ``sm.read_log(...)`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from salesmetrics._util import moved

__version__ = "0.2.0"

_EXPORTS = {
    "SalesLog": "log",
    "LogSummary": "log",
    "read_log": "log",
    "write_log": "log",
    "check_log": "log",
    "StageModel": "log",
    "Problem": "exceptions",
    "SalesmetricsError": "exceptions",
    "LogValidationError": "exceptions",
    "UsageError": "exceptions",
    "OutputError": "exceptions",
    "DataNote": "exceptions",
    "import_salesforce": "adapters",
    "import_hubspot": "adapters",
    "import_snapshot": "adapters",
    "import_mapped": "adapters",
    "simulate": "simulation",
    "Simulation": "simulation",
    "SCENARIOS": "simulation",
    "snapshots": "features",
    "StallPredictor": "models",
    "CloseLikelihood": "models",
}

__all__ = [
    "SCENARIOS",
    "CloseLikelihood",
    "DataNote",
    "LogSummary",
    "LogValidationError",
    "OutputError",
    "Problem",
    "SalesLog",
    "SalesmetricsError",
    "Simulation",
    "StageModel",
    "StallPredictor",
    "UsageError",
    "__version__",
    "check_log",
    "import_hubspot",
    "import_mapped",
    "import_salesforce",
    "import_snapshot",
    "read_log",
    "simulate",
    "snapshots",
    "write_log",
]

if TYPE_CHECKING:  # pragma: no cover
    from salesmetrics.exceptions import (
        DataNote,
        LogValidationError,
        OutputError,
        Problem,
        SalesmetricsError,
        UsageError,
    )
    from salesmetrics.log import LogSummary, SalesLog, StageModel, check_log, read_log, write_log


moved.install()  # an import of a module's old path (before 0.2.0) names the new path

#: The layers a user may reach as ``sm.metrics`` etc. without importing them first.
_SUBPACKAGES = {"adapters", "exercises", "features", "log", "metrics", "models", "reports", "simulation"}


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'salesmetrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
