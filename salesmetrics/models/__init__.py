"""Models built on leak-free snapshots: stall prediction, close likelihood, reasons, and safe persistence.

Names are imported lazily so ``import salesmetrics.models`` stays cheap; scikit-learn is loaded on first use.
See ``docs/models.md``.
"""

from __future__ import annotations

import importlib

#: A ROC AUC from here up is named a probable leak: one feature alone ranking the training labels this well
#: (the estimators' ``leak_auc``), or a whole model's test score (the close-likelihood study). Decision 0030.
LEAK_AUC = 0.98

_EXPORTS = {
    "StallPredictor": "stall",
    "CloseLikelihood": "close",
    "NextStepPredictor": "next_step",
    "explain": "reasons",
    "save_model": "persistence",
    "load_model": "persistence",
    "read_model_card": "persistence",
    "evaluate": "evaluation",
    "Evaluation": "evaluation",
    "time_split": "splits",
    "SnapshotSplit": "splits",
    "snapshot_scorer": "scoring",
    "time_to_close": "survival",
    "next_movement_cox": "survival",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'salesmetrics.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
