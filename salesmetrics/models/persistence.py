"""Saving and loading models safely: skops files with a model card inside, loaded from a fixed allow-list.

A pickle file runs whatever code it names when it is loaded, so a model file from someone else is a program.
salesmetrics never pickles models: :func:`save_model` writes a skops file (a zip of JSON and arrays) and adds
``model_card.json`` to the same archive; :func:`load_model` first lists the types the file would create and
refuses it, naming them, unless every one is on :data:`ALLOWED_TYPES`. :func:`read_model_card` reads only the
card, without creating any object, so a file can be inspected before it is trusted.
"""

from __future__ import annotations

import json
import platform
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .. import __version__
from .._atomic import atomic_path
from .._output import check_output_file
from ..exceptions import UsageError

CARD_NAME = "model_card.json"
CARD_FORMAT = "salesmetrics-model-card/1"

#: Types a salesmetrics model file may hold beyond those skops trusts by default. Nothing else is loaded.
ALLOWED_TYPES = frozenset(
    {
        "salesmetrics.models.stall.StallPredictor",
        "salesmetrics.models.close.CloseLikelihood",
        "salesmetrics.models.close._WinIncidence",  # the won model of censoring="competing" (decision 0028)
        "salesmetrics.models._base.SignedLog1p",
        "salesmetrics.models._base._ConstantModel",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.isotonic.IsotonicRegression",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn.frozen._frozen.FrozenEstimator",
        "numpy.dtype",
    }
)


def _jsonable(value):
    """Parameters and metrics as JSON values (NumPy scalars and arrays become numbers and lists)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def model_card(estimator, extra: dict | None = None) -> dict:
    """The model card of a fitted estimator: what it predicts, from which data, how well, with which versions.

    ``extra`` adds entries (e.g. ``source_log``, evaluation ``metrics``); dictionaries are merged one level deep.
    """
    import sklearn
    import skops

    window = getattr(estimator, "training_window_", None)
    target = getattr(estimator, "target", None) or getattr(estimator, "_target_column", None)
    stage_model = getattr(estimator, "stage_model_", None) or {}
    params = estimator.get_params()
    censoring = "censoring" in params
    card = {
        "format": CARD_FORMAT,
        "model_class": type(estimator).__name__,
        "target": target,
        "horizon_days": getattr(estimator, "horizon_days", None),
        # the pipeline the snapshots were built on: stage_rank counts these stages (None: fitted on an array)
        "stages": _jsonable(stage_model.get("stages")),
        "commit_stage": stage_model.get("commit_stage"),
        "won_stages": _jsonable(stage_model.get("won")),
        "lost_stages": _jsonable(stage_model.get("lost")),
        "model": getattr(estimator, "model_", None),
        "calibration": getattr(estimator, "calibration_", None),
        # CloseLikelihood: the correction for censored labels as applied (else as asked for); decision 0027
        **({"censoring": getattr(estimator, "censoring_", None) or params["censoring"]} if censoring else {}),
        "fallback": getattr(estimator, "fallback_", None),
        "notice": (f"Small-data fallback: {estimator.fallback_}." if getattr(estimator, "fallback_", None) else None),
        # decision 0030: features left out on purpose, and those that alone separated the training labels
        "excluded_features": list(estimator._excluded()) if hasattr(estimator, "_excluded") else [],
        "leaky_features": _jsonable(getattr(estimator, "leaky_features_", None) or []),
        "leak_warning": _leak_warning(estimator),
        "classes": _jsonable(list(estimator.classes_)),
        "features": [str(f) for f in getattr(estimator, "feature_names_in_", [])]
        or [f"x{i}" for i in range(estimator.n_features_in_)],
        "training_window": (
            {
                "first_as_of": window[0],
                "last_as_of": window[1],
                "labels_until": getattr(estimator, "labels_observed_until_", None),
            }
            if window
            else None
        ),
        "rows": int(getattr(estimator, "n_rows_", 0)),
        "censored_rows_left_out": int(getattr(estimator, "n_censored_", 0)),
        "closed_deals": int(getattr(estimator, "n_closed_", 0)),
        "metrics": _jsonable(getattr(estimator, "metrics_", {})),
        "params": _jsonable(params),
        "versions": {
            "salesmetrics": __version__,
            "scikit-learn": sklearn.__version__,
            "skops": skops.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(card.get(key), dict):
            card[key] = {**card[key], **_jsonable(value)}
        else:
            card[key] = _jsonable(value)
    return card


def _leak_warning(estimator) -> str | None:
    """The leak sentences of a fitted estimator (decision 0030), or None when no feature looked leaky."""
    from ._base import leak_message

    found = getattr(estimator, "leaky_features_", None) or []
    return " ".join(leak_message(entry) for entry in found) or None


def save_model(estimator, path, *, overwrite: bool = False, extra: dict | None = None) -> Path:
    """Write a fitted estimator as a skops file with ``model_card.json`` inside; atomic, never pickled.

    Refuses to replace an existing file unless ``overwrite=True``.

    Examples
    --------
    >>> import tempfile, warnings, numpy as np
    >>> from salesmetrics.models import StallPredictor
    >>> X, y = np.random.default_rng(0).normal(size=(60, 3)), np.r_[np.zeros(30), np.ones(30)]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = StallPredictor(n_jobs=1).fit(X, y)
    >>> folder = tempfile.mkdtemp()
    >>> path = save_model(model, f"{folder}/stall.skops")
    >>> read_model_card(path)["model"], type(load_model(path)).__name__
    ('logistic (fallback)', 'StallPredictor')
    """
    import skops.io as sio
    from sklearn.utils.validation import check_is_fitted

    from ._base import SnapshotClassifier

    if not isinstance(estimator, SnapshotClassifier):
        raise UsageError(f"save_model saves StallPredictor or CloseLikelihood models, not {type(estimator).__name__}.")
    check_is_fitted(estimator)
    path = check_output_file(path, overwrite=overwrite, flag="--force")
    card = model_card(estimator, extra)
    with atomic_path(path) as tmp:
        sio.dump(estimator, tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(CARD_NAME, json.dumps(card, indent=2, ensure_ascii=False))
    return path


def _check_archive(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"Model file {path} does not exist; train one with 'salesmetrics model train'.")
    if not zipfile.is_zipfile(path):
        raise UsageError(
            f"{path} is not a skops model file (not a zip archive); salesmetrics loads only models it saved "
            "with save_model or 'salesmetrics model train', never pickle files."
        )


def read_model_card(path) -> dict:
    """The model card stored in a model file, read without loading (or trusting) the model itself."""
    path = Path(path)
    _check_archive(path)
    with zipfile.ZipFile(path) as archive:
        if CARD_NAME not in archive.namelist():
            raise UsageError(f"{path} has no {CARD_NAME}; it was not saved by salesmetrics.")
        return json.loads(archive.read(CARD_NAME).decode("utf-8"))


def stage_model_differences(card: dict, stage_model) -> list[str]:
    """How the stage model a model was trained on (its card) differs from ``stage_model`` (a log's), in words.

    Empty when they agree, or when the card does not record them (a model fitted on an array). ``stage_rank``
    counts the open stages, and the labels come from the won and lost stages, so a model means something else
    on a pipeline whose stages differ.

    Examples
    --------
    >>> from salesmetrics.config import StageModel
    >>> card = {"stages": ["Lead", "Demo"], "won_stages": ["Won"], "lost_stages": ["Lost"]}
    >>> stage_model_differences(card, StageModel(stages=("Lead", "Demo", "Proposal"), won=("Won",), lost=("Lost",)))
    ['open stages Lead > Demo (model) but Lead > Demo > Proposal (log)']
    """
    out = []
    for key, attr, what, sep in (
        ("stages", "stages", "open stages", " > "),
        ("won_stages", "won", "won stages", ", "),
        ("lost_stages", "lost", "lost stages", ", "),
    ):
        trained = card.get(key)
        if trained is None:
            continue
        here = [str(s) for s in getattr(stage_model, attr)]
        if [str(s) for s in trained] != here:
            before, now = sep.join(map(str, trained)) or "(none)", sep.join(here) or "(none)"
            out.append(f"{what} {before} (model) but {now} (log)")
    return out


def check_stage_model(card: dict, stage_model, path, log_name) -> None:
    """Raise a :class:`~salesmetrics.exceptions.UsageError` when the model's stage model differs from the log's."""
    differences = stage_model_differences(card, stage_model)
    if differences:
        raise UsageError(
            f"{Path(path).name} was trained on another stage model than {log_name} has ({'; '.join(differences)}), "
            "so its stage positions and labels mean other things there; retrain it on this log, or add "
            "--ignore-stage-model to score anyway."
        )


def load_model(path):
    """Load a model saved by :func:`save_model`, creating only types on :data:`ALLOWED_TYPES`.

    Raises :class:`~salesmetrics.exceptions.UsageError` naming every refused type when the file holds any
    other type, and when the file is not a skops archive or does not hold a salesmetrics model.
    """
    import skops.io as sio

    from ._base import SnapshotClassifier

    path = Path(path)
    _check_archive(path)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a damaged or foreign archive
        raise UsageError(f"{path} is not a readable skops model file: {exc}.") from exc
    refused = sorted(t for t in untrusted if t not in ALLOWED_TYPES)
    if refused:
        raise UsageError(
            f"Refused to load {path}: it holds types that are not on salesmetrics' allow-list: "
            f"{', '.join(refused)}. Only models saved by salesmetrics load; retrain the model with "
            "'salesmetrics model train' if you do not know where this file comes from."
        )
    try:
        model = sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise UsageError(f"{path} could not be loaded: {exc}.") from exc
    if not isinstance(model, SnapshotClassifier):
        raise UsageError(
            f"{path} holds a {type(model).__name__}, not a StallPredictor or CloseLikelihood model; refused."
        )
    return model


__all__ = [
    "ALLOWED_TYPES",
    "CARD_NAME",
    "check_stage_model",
    "load_model",
    "model_card",
    "read_model_card",
    "save_model",
    "stage_model_differences",
]
