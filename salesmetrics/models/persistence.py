"""Saving and loading models safely: skops files with a model card inside, loaded from a fixed allow-list.

A pickle file runs whatever code it names when it is loaded, so a model file from someone else is a program.
salesmetrics never pickles models: :func:`save_model` writes a skops file (a zip of JSON and arrays) and adds
``model_card.json`` to the same archive; :func:`load_model` first lists the types the file would create and
refuses it, naming them, unless every one is on :data:`ALLOWED_TYPES`. :func:`read_model_card` reads only the
card, without creating any object, so a file can be inspected before it is trusted.

Reading is bounded (decision 0032): the file, its list of members, each member's declared uncompressed size and
their total are checked against the ``MAX_*`` limits before anything is decompressed, every member is read with a
cap, and every array's header must declare no more bytes than the member holds, so a small crafted file cannot
make a reader take gigabytes. The card records a SHA-256 of every member of the model state
(``state_sha256``); :func:`load_model` refuses a file whose state does not match it, or whose card says something
about the model (horizon, training window, target, stage model, ...) that the loaded state does not.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import platform
import struct
import zipfile
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from salesmetrics import __version__
from salesmetrics._util.atomic import atomic_path
from salesmetrics._util.output import check_output_file
from salesmetrics._util.text import plural
from salesmetrics.exceptions import UsageError
from salesmetrics.models.leaks import leak_message

CARD_NAME = "model_card.json"
CARD_FORMAT = "salesmetrics-model-card/1"
SCHEMA_NAME = "schema.json"  # skops' description of the objects; the arrays are .npy members beside it

_MIB = 2**20
#: Largest model file read. A stall model of the demo log takes 1.3 MB, a three-class close model 3.2 MB.
MAX_FILE_BYTES = 256 * _MIB
#: Largest list of members (zip central directory): about 40,000 members; a three-class model has about 1,000.
MAX_DIRECTORY_BYTES = 4 * _MIB
#: Largest uncompressed member; the biggest is the schema (2.7 MB in a three-class model of 100 iterations).
MAX_MEMBER_BYTES = 128 * _MIB
#: Largest uncompressed total of all members.
MAX_TOTAL_BYTES = 256 * _MIB
#: Largest schema and card: JSON takes several times its size in memory once parsed.
MAX_SCHEMA_BYTES = 64 * _MIB
MAX_CARD_BYTES = 1 * _MIB
#: Most uncompressed bytes per byte of file: salesmetrics stores models uncompressed (about 1), a zip bomb
#: declares a thousand times its size or more.
MAX_EXPANSION = 100

#: The card entries that describe the fitted state; :func:`load_model` refuses a card whose entries differ from
#: those of the model it loaded (an edited card), so nothing read from the card can differ from the model.
STATE_FACTS = (
    "model_class",
    "target",
    "horizon_days",
    "stages",
    "commit_stage",
    "won_stages",
    "lost_stages",
    "model",
    "calibration",
    "censoring",
    "fallback",
    "excluded_features",
    "leaky_features",
    "classes",
    "features",
    "training_window",
    "rows",
    "censored_rows_left_out",
    "closed_deals",
)

#: Types a salesmetrics model file may hold beyond those skops trusts by default. Nothing else is loaded.
ALLOWED_TYPES = frozenset(
    {
        "salesmetrics.models.stall.StallPredictor",
        "salesmetrics.models.next_step.NextStepPredictor",
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
    own_label = getattr(estimator, "_label_column", None)  # a stall model's label follows its `losses` (ADR 0057)
    target = getattr(estimator, "target", None) or (own_label() if callable(own_label) else None)
    words = getattr(estimator, "label_words", None)
    stage_model = getattr(estimator, "stage_model_", None) or {}
    params = estimator.get_params()
    censoring = "censoring" in params
    card = {
        "format": CARD_FORMAT,
        "model_class": type(estimator).__name__,
        "target": target,
        "target_words": words() if callable(words) else None,
        "horizon_days": model_horizon(estimator),
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


def model_horizon(estimator) -> float | None:
    """The horizon in days a fitted model's labels looked ahead, from its own state: the ``horizon_days`` of the
    snapshots it was fitted on, else its ``horizon_days`` parameter (a stall model); None when it has neither."""
    fitted = getattr(estimator, "horizon_days_", None)
    if fitted is not None:
        return float(fitted)
    param = getattr(estimator, "horizon_days", None)
    return float(param) if param is not None else None


def _leak_warning(estimator) -> str | None:
    """The leak sentences of a fitted estimator (decision 0030), or None when no feature looked leaky."""
    found = getattr(estimator, "leaky_features_", None) or []
    return " ".join(leak_message(entry) for entry in found) or None


def save_model(estimator, path, *, overwrite: bool = False, extra: dict | None = None) -> Path:
    """Write a fitted estimator as a skops file with ``model_card.json`` inside; atomic, never pickled.

    The card records the SHA-256 of every other member (``state_sha256``), which :func:`load_model` checks.
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

    from salesmetrics.models._base import SnapshotClassifier

    if not isinstance(estimator, SnapshotClassifier):
        raise UsageError(f"save_model saves StallPredictor or CloseLikelihood models, not {type(estimator).__name__}.")
    check_is_fitted(estimator)
    path = check_output_file(path, overwrite=overwrite, flag="--force")
    card = model_card(estimator, extra)
    payload = sio.dumps(estimator)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        card["state_sha256"] = {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest()
            for info in sorted(archive.infolist(), key=lambda i: i.filename)
        }
    text = json.dumps(card, indent=2, ensure_ascii=False).encode("utf-8")
    if len(text) > MAX_CARD_BYTES:
        raise UsageError(
            f"The model card would take {len(text):,} bytes, more than the {MAX_CARD_BYTES:,} a model file's card "
            "may hold; pass smaller extra entries."
        )
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(CARD_NAME, text)
    return path


def _check_archive(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"Model file {path} does not exist; train one with 'salesmetrics model train'.")
    if not zipfile.is_zipfile(path):
        raise UsageError(
            f"{path} is not a skops model file (not a zip archive); salesmetrics loads only models it saved "
            "with save_model or 'salesmetrics model train', never pickle files."
        )


def _refuse(path: Path, what: str) -> UsageError:
    return UsageError(
        f"Refused to read {path}: {what}. It was not written by salesmetrics' save_model, or was damaged or "
        "altered since; retrain the model with 'salesmetrics model train' if you do not know where it comes from."
    )


def _read_file(path: Path) -> bytes:
    """The whole file, once (what is checked is what is loaded), refused above :data:`MAX_FILE_BYTES`."""
    _check_archive(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _refuse(path, f"it takes {size:,} bytes, more than the {MAX_FILE_BYTES:,} a model file may")
    with path.open("rb") as f:
        data = f.read(size + 1)  # a byte more than it had, to notice a file that grew meanwhile
    if len(data) > size:
        raise _refuse(path, "it changed while it was read")
    return data


def _directory_size(data: bytes) -> int | None:
    """The size the archive's end record declares for its list of members (what :mod:`zipfile` reads and parses
    in one go), found as :mod:`zipfile` finds it; None when there is none (then ``zipfile`` refuses the file)."""
    end = len(data) - 22
    if not (end >= 0 and data[end : end + 4] == b"PK\x05\x06" and data[-2:] == b"\0\0"):
        end = data.rfind(b"PK\x05\x06", max(0, len(data) - (1 << 16) - 22))
        if end < 0 or len(data) < end + 22:
            return None
    (size,) = struct.unpack("<I", data[end + 12 : end + 16])
    locator = end - 20
    if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":  # zip64: a second end record
        (offset,) = struct.unpack("<Q", data[locator + 8 : locator + 16])
        for record in (locator - 56, offset):  # just before the locator (what zipfile reads), or where it points
            if 0 <= record <= len(data) - 56 and data[record : record + 4] == b"PK\x06\x06":
                size = max(size, struct.unpack("<Q", data[record + 40 : record + 48])[0])
    return size


def _member_limit(name: str) -> int:
    return {CARD_NAME: MAX_CARD_BYTES, SCHEMA_NAME: MAX_SCHEMA_BYTES}.get(name, MAX_MEMBER_BYTES)


def _open_archive(path: Path, data: bytes) -> zipfile.ZipFile:
    """The archive, after checking every declared size against the limits; nothing is decompressed yet."""
    directory = _directory_size(data)
    if directory is not None and directory > MAX_DIRECTORY_BYTES:
        raise _refuse(path, f"its list of members takes {directory:,} bytes, more than {MAX_DIRECTORY_BYTES:,}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, struct.error, NotImplementedError, EOFError) as exc:
        raise _refuse(path, f"it is not a readable zip archive ({exc})") from exc
    infos = archive.infolist()
    twice = sorted(name for name, n in Counter(info.filename for info in infos).items() if n > 1)
    if twice:  # which one would a reader take?
        raise _refuse(path, f"it holds more than one member named {', '.join(twice[:3])}")
    for info in infos:
        limit = _member_limit(info.filename)
        if info.file_size > limit:
            raise _refuse(
                path,
                f"its member {info.filename} declares {info.file_size:,} bytes uncompressed, more than the "
                f"{limit:,} allowed (a zip bomb?)",
            )
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES or total > MAX_EXPANSION * len(data) + _MIB:
        raise _refuse(
            path,
            f"its {plural(len(infos), 'member')} declare {total:,} bytes uncompressed in a file of {len(data):,} "
            f"bytes (at most {MAX_TOTAL_BYTES:,}, and {MAX_EXPANSION} times the file size, are allowed; a zip bomb?)",
        )
    return archive


def _read_member(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    """One member, read with a cap at its declared size (and its limit): a member that inflates to more than it
    declares, or fails its checksum, is refused."""
    info = archive.getinfo(name)
    cap = min(info.file_size, _member_limit(name))
    try:
        with archive.open(info) as member:
            content = member.read(cap + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise _refuse(path, f"its member {name} cannot be read ({exc})") from exc
    if len(content) != info.file_size:
        raise _refuse(path, f"its member {name} holds {len(content):,} bytes but declares {info.file_size:,}")
    return content


def _check_array(path: Path, name: str, content: bytes) -> None:
    """Refuse a ``.npy`` member whose header declares more data than the member holds (NumPy would allocate it)."""
    from numpy.lib import format as npy

    buffer = io.BytesIO(content)
    try:
        version = npy.read_magic(buffer)
        read_header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"array format version {version} is not one NumPy writes for these models")
        shape, _, dtype = read_header(buffer)
    except (ValueError, TypeError, SyntaxError, OverflowError, struct.error) as exc:
        raise _refuse(path, f"its array {name} has an unreadable header ({exc})") from exc
    declared = math.prod(shape) * dtype.itemsize
    held = len(content) - buffer.tell()
    if dtype.hasobject or declared != held:
        what = "Python objects" if dtype.hasobject else f"{declared:,} bytes of data"
        raise _refuse(path, f"its array {name} declares {what} but holds {held:,} bytes")


def _card_from(path: Path, archive: zipfile.ZipFile) -> dict:
    if CARD_NAME not in archive.namelist():
        raise UsageError(f"{path} has no {CARD_NAME}; it was not saved by salesmetrics.")
    text = _read_member(path, archive, CARD_NAME)
    try:
        card = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _refuse(path, f"its {CARD_NAME} is not readable JSON ({exc})") from exc
    if not isinstance(card, dict):
        raise _refuse(path, f"its {CARD_NAME} is not a JSON object")
    return card


def read_model_card(path) -> dict:
    """The model card stored in a model file, read without loading (or trusting) the model itself.

    Reading is bounded like :func:`load_model`'s; the card is not checked against the model (load it for that).
    """
    path = Path(path)
    data = _read_file(path)
    with _open_archive(path, data) as archive:
        return _card_from(path, archive)


def _read_state(path: Path, archive: zipfile.ZipFile) -> dict[str, bytes]:
    """Every member but the card, each read with its cap; arrays whose header overstates their data refused."""
    state = {}
    for info in archive.infolist():
        if info.filename == CARD_NAME:
            continue
        content = _read_member(path, archive, info.filename)
        if info.filename.endswith(".npy") or content.startswith(b"\x93NUMPY"):  # what skops hands to np.load
            _check_array(path, info.filename, content)
        state[info.filename] = content
    return state


def _stored(members: dict[str, bytes]) -> bytes:
    """The members as a new uncompressed archive: what skops reads is exactly what was read and checked here
    (skops reads each member whole, which for a member that inflates past its declared size is unbounded)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _check_state(path: Path, state: dict[str, bytes], card: dict) -> None:
    """Refuse a model state that does not match the SHA-256 hashes the card records for its members."""
    recorded = card.get("state_sha256")
    if not isinstance(recorded, dict) or not recorded:
        raise UsageError(
            f"Refused to load {path}: its {CARD_NAME} records no hash of the model state (state_sha256), so the "
            "model cannot be checked against it: it was saved by an earlier version of salesmetrics, or not by "
            "salesmetrics. Retrain it with 'salesmetrics model train'."
        )
    wrong = sorted(set(state).symmetric_difference(recorded))
    wrong += [n for n in sorted(set(state) & set(recorded)) if hashlib.sha256(state[n]).hexdigest() != recorded[n]]
    if wrong:
        listed = ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
        raise UsageError(
            f"Refused to load {path}: the model state does not match the SHA-256 hashes its {CARD_NAME} records "
            f"({listed}), so the model or its card was changed after it was saved. Retrain the model with "
            "'salesmetrics model train', or restore the file as it was saved."
        )


def card_differences(card: dict, estimator) -> list[str]:
    """The card entries of :data:`STATE_FACTS` that differ from what ``estimator``'s fitted state says, in words.

    An entry the card does not have says nothing false and is not a difference (older cards lack some).

    Examples
    --------
    >>> import warnings
    >>> from salesmetrics.models import StallPredictor
    >>> X, y = np.random.default_rng(0).normal(size=(60, 3)), np.r_[np.zeros(30), np.ones(30)]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = StallPredictor(n_jobs=1).fit(X, y)
    >>> card = model_card(model)
    >>> card_differences({**card, "horizon_days": 90}, model)
    ['horizon_days is 90 in the card but 30.0 in the model']
    """
    facts = json.loads(json.dumps(model_card(estimator), ensure_ascii=False))
    return [
        f"{key} is {json.dumps(card.get(key))} in the card but {json.dumps(facts.get(key))} in the model"
        for key in STATE_FACTS
        if key in card and card[key] != facts.get(key)
    ]


def stage_model_differences(card: dict, stage_model) -> list[str]:
    """How the stage model a model was trained on (its card) differs from ``stage_model`` (a log's), in words.

    Empty when they agree, or when the card does not record them (a model fitted on an array). ``stage_rank``
    counts the open stages, and the labels come from the won and lost stages, so a model means something else
    on a pipeline whose stages differ.

    Examples
    --------
    >>> from salesmetrics.log.config import StageModel
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

    Raises :class:`~salesmetrics.exceptions.UsageError`, saying why, when the file is not a skops archive, is
    larger than the ``MAX_*`` limits allow (a zip bomb), holds any type not on the allow-list (named), does not
    match the state hashes its card records, holds no salesmetrics model, or has a card that says something
    about the model that its fitted state does not (:func:`card_differences`).
    """
    import skops.io as sio

    from salesmetrics.models._base import SnapshotClassifier

    path = Path(path)
    with _open_archive(path, _read_file(path)) as archive:
        state = _read_state(path, archive)
        card = _card_from(path, archive) if CARD_NAME in archive.namelist() else None
    clean = _stored(state)
    try:
        untrusted = sio.get_untrusted_types(data=clean)
    except Exception as exc:  # a damaged or foreign archive
        raise UsageError(f"{path} is not a readable skops model file: {exc}.") from exc
    refused = sorted(t for t in untrusted if t not in ALLOWED_TYPES)
    if refused:
        raise UsageError(
            f"Refused to load {path}: it holds types that are not on salesmetrics' allow-list: "
            f"{', '.join(refused)}. Only models saved by salesmetrics load; retrain the model with "
            "'salesmetrics model train' if you do not know where this file comes from."
        )
    if card is None:
        raise UsageError(f"{path} has no {CARD_NAME}; it was not saved by salesmetrics.")
    _check_state(path, state, card)
    try:
        model = sio.loads(clean, trusted=list(untrusted))
    except Exception as exc:
        raise UsageError(f"{path} could not be loaded: {exc}.") from exc
    if not isinstance(model, SnapshotClassifier):
        raise UsageError(
            f"{path} holds a {type(model).__name__}, not a StallPredictor or CloseLikelihood model; refused."
        )
    differences = card_differences(card, model)
    if differences:
        raise UsageError(
            f"Refused to load {path}: its {CARD_NAME} does not describe the model it holds ("
            f"{'; '.join(differences[:3])}), so the card was edited after the model was saved. Commands use the "
            "model's own state; retrain the model, or restore the card as it was saved."
        )
    return model


__all__ = [
    "ALLOWED_TYPES",
    "CARD_NAME",
    "STATE_FACTS",
    "card_differences",
    "check_stage_model",
    "load_model",
    "model_card",
    "model_horizon",
    "read_model_card",
    "save_model",
    "stage_model_differences",
]
