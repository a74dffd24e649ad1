"""Models saved with skops and a model card inside; loading accepts only an allow-list of types; no pickle."""

from __future__ import annotations

import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

import salesmetrics
from salesmetrics.exceptions import UsageError
from salesmetrics.models import CloseLikelihood, StallPredictor, load_model, read_model_card, save_model
from salesmetrics.models._base import SmallDataWarning
from salesmetrics.models.persistence import ALLOWED_TYPES, CARD_NAME
from salesmetrics.simulate import simulate
from salesmetrics.snapshots import FEATURES, snapshots


class Intruder:
    """A type no salesmetrics model holds."""

    def __init__(self):
        self.payload = "anything"


@pytest.fixture(scope="module")
def log():
    return simulate(n_deals=400, n_owners=6, seed=4, months=8).log


@pytest.fixture(scope="module")
def snap(log):
    return snapshots(log)


@pytest.fixture(scope="module")
def models(snap):
    """One fitted model of every kind a file can hold: boosted + sigmoid or isotonic, logistic, fallback, 3 classes.

    The stall models hold out half the deals, so that the calibration sees at least 30 stalls (else it is skipped).
    """
    fitted = {
        "hgb": StallPredictor(random_state=0, n_jobs=1, max_iter=40, min_closed=50, holdout=0.5).fit(snap),
        "logistic": CloseLikelihood(model="logistic", random_state=0, n_jobs=1, min_closed=50).fit(snap),
        "three": CloseLikelihood(target="close_outcome", random_state=0, n_jobs=1, max_iter=30, min_closed=50).fit(
            snap
        ),
        "isotonic": StallPredictor(
            random_state=0, n_jobs=1, max_iter=30, min_closed=50, calibration="isotonic", holdout=0.5
        ).fit(snap),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        fitted["fallback"] = StallPredictor(n_jobs=1, min_closed=10**6).fit(snap)
        fitted["constant"] = CloseLikelihood(n_jobs=1).fit(np.zeros((5, 2)), np.ones(5))
    return fitted


@pytest.mark.parametrize("kind", ["hgb", "logistic", "three", "isotonic", "fallback", "constant"])
def test_round_trip_gives_the_same_predictions(models, snap, tmp_path, kind):
    model = models[kind]
    calibrated = {"hgb": "sigmoid on ", "logistic": "sigmoid on ", "three": "sigmoid on ", "isotonic": "isotonic on "}
    assert model.calibration_.startswith(calibrated.get(kind, "none")), model.calibration_
    path = save_model(model, tmp_path / "model.skops")
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    X = snap if kind != "constant" else np.zeros((3, 2))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    if kind != "constant":
        assert loaded.reasons(snap.head(50)).equals(model.reasons(snap.head(50)))


def test_model_card_inside_the_file(models, snap, tmp_path):
    model = models["hgb"]
    path = save_model(model, tmp_path / "stall.skops", extra={"source_log": "my-log", "metrics": {"test_auc": 0.7}})
    card = read_model_card(path)
    assert card["model_class"] == "StallPredictor" and card["target"] == "stalled" and card["horizon_days"] == 30
    assert card["training_window"] == {
        "first_as_of": str(snap["as_of"].min()),
        "last_as_of": model.training_window_[1],
        "labels_until": snap.attrs["observed_until"],
    }
    assert card["rows"] == model.n_rows_ and card["closed_deals"] == model.n_closed_
    assert card["features"] == list(FEATURES)
    assert card["metrics"]["holdout_auc"] == pytest.approx(model.metrics_["holdout_auc"])
    assert card["metrics"]["test_auc"] == 0.7 and card["source_log"] == "my-log"
    assert card["versions"]["salesmetrics"] == salesmetrics.__version__
    assert card["fallback"] is None and card["notice"] is None
    with zipfile.ZipFile(path) as archive:  # readable by anyone without Python: it is plain JSON in the zip
        assert json.loads(archive.read(CARD_NAME))["model"] == "hgb"


def test_fallback_notice_in_the_card(models, tmp_path):
    card = read_model_card(save_model(models["fallback"], tmp_path / "small.skops"))
    assert card["model"] == "logistic (fallback)"
    assert card["notice"].startswith("Small-data fallback: only ") and "min_closed=1000000" in card["notice"]


def test_never_pickled(models, tmp_path):
    path = save_model(models["hgb"], tmp_path / "m.skops")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "schema.json" in names and CARD_NAME in names
        assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib"))]


def test_refuses_to_overwrite_and_missing_folder(models, tmp_path):
    path = save_model(models["hgb"], tmp_path / "m.skops")
    with pytest.raises(UsageError, match=r"already exists; choose another file or pass overwrite=True"):
        save_model(models["hgb"], path)
    save_model(models["logistic"], path, overwrite=True)
    assert read_model_card(path)["model_class"] == "CloseLikelihood"
    with pytest.raises(UsageError, match="does not exist; create it first"):
        save_model(models["hgb"], tmp_path / "nowhere" / "m.skops")
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_refuses_unknown_types_naming_them(tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump({"model": Intruder()}, path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(CARD_NAME, "{}")
    with pytest.raises(
        UsageError, match=r"Refused to load .*evil\.skops.* not on salesmetrics' allow-list: .*Intruder"
    ):
        load_model(path)


def test_refuses_a_foreign_but_harmless_model(tmp_path):
    path = tmp_path / "plain.skops"
    sio.dump(LogisticRegression().fit(np.eye(2), [0, 1]), path)
    with pytest.raises(UsageError, match="holds a LogisticRegression, not a StallPredictor or CloseLikelihood"):
        load_model(path)


def test_refuses_pickle_files(models, tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(models["hgb"]))
    with pytest.raises(UsageError, match=r"not a skops model file .* never pickle files"):
        load_model(path)
    with pytest.raises(UsageError, match="does not exist"):
        load_model(tmp_path / "missing.skops")
    with pytest.raises(UsageError, match="not saved by salesmetrics"):
        plain = tmp_path / "plain.skops"
        sio.dump({"a": 1}, plain)
        read_model_card(plain)


def test_save_refuses_other_objects_and_unfitted(tmp_path):
    with pytest.raises(UsageError, match="saves StallPredictor or CloseLikelihood models, not LogisticRegression"):
        save_model(LogisticRegression(), tmp_path / "x.skops")
    with pytest.raises(Exception, match="not fitted"):
        save_model(StallPredictor(), tmp_path / "x.skops")


def test_allow_list_is_small_and_explicit():
    assert all(t.startswith(("salesmetrics.models.", "sklearn.", "numpy.")) for t in ALLOWED_TYPES)
    assert not any("pickle" in t or t.startswith("builtins.") for t in ALLOWED_TYPES)


def test_the_card_names_the_stage_model_and_the_censoring(models, log, snap, tmp_path):
    card = read_model_card(save_model(models["hgb"], tmp_path / "stall.skops"))
    assert card["stages"] == list(log.model.stages) and card["commit_stage"] == log.model.commit_stage
    assert card["won_stages"] == list(log.model.won) and card["lost_stages"] == list(log.model.lost)
    assert "censoring" not in card  # a stall model has no censoring setting
    loaded = load_model(tmp_path / "stall.skops")
    assert loaded.stage_model_ == models["hgb"].stage_model_
    assert read_model_card(save_model(models["logistic"], tmp_path / "close.skops"))["censoring"] == "none"
    ipcw = CloseLikelihood(model="logistic", censoring="ipcw", n_jobs=1, min_closed=50).fit(snap)
    card = read_model_card(save_model(ipcw, tmp_path / "ipcw.skops"))
    assert card["censoring"] == ipcw.censoring_ and card["censoring"].startswith("ipcw (weights ")
    assert card["stages"] == list(log.model.stages)
    # fitted on a plain array: no stage model to record
    assert read_model_card(save_model(models["constant"], tmp_path / "array.skops"))["stages"] is None
