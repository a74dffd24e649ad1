"""Models saved with skops and a model card inside; loading accepts only an allow-list of types; no pickle."""

from __future__ import annotations

import hashlib
import json
import pickle
import struct
import time
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import salesmetrics
from salesmetrics.cli.main import main
from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.registry import DEFAULT_FEATURES
from salesmetrics.log import read_log
from salesmetrics.models import CloseLikelihood, StallPredictor, load_model, persistence, read_model_card, save_model
from salesmetrics.models._base import SmallDataWarning
from salesmetrics.models.persistence import ALLOWED_TYPES, CARD_NAME, model_horizon
from salesmetrics.simulation.simulator import simulate


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
    """One fitted model of every kind a file can hold: boosted (no calibration step, the default; sigmoid or
    isotonic), logistic, fallback, 3 classes.

    The calibrated stall models hold out half the deals, so that the calibration sees at least 30 stalls (else it
    is skipped).
    """
    fitted = {
        "hgb": StallPredictor(random_state=0, n_jobs=1, max_iter=40, min_closed=50).fit(snap),
        "sigmoid": StallPredictor(
            random_state=0, n_jobs=1, max_iter=30, min_closed=50, calibration="sigmoid", holdout=0.5
        ).fit(snap),
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


@pytest.mark.parametrize("kind", ["hgb", "sigmoid", "logistic", "three", "isotonic", "fallback", "constant"])
def test_round_trip_gives_the_same_predictions(models, snap, tmp_path, kind):
    model = models[kind]
    calibrated = {
        "hgb": "none (the default for boosting",
        "three": "none (the default for boosting",
        "sigmoid": "sigmoid on ",
        "logistic": "sigmoid on ",
        "isotonic": "isotonic on ",
    }
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
    assert card["features"] == list(DEFAULT_FEATURES)  # opt-in features only when included (decision 0064)
    # no held-out part by default: the card records the training rows' share of stalls (hand-checked here)
    assert card["metrics"]["training_base_rate"] == pytest.approx(snap["stalled"].dropna().astype(float).mean())
    sigmoid_card = read_model_card(save_model(models["sigmoid"], tmp_path / "sigmoid.skops"))
    assert sigmoid_card["metrics"]["holdout_auc"] == pytest.approx(models["sigmoid"].metrics_["holdout_auc"])
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
    with pytest.raises(UsageError, match=r"has no model_card\.json; it was not saved by salesmetrics"):
        load_model(path)
    forged = _write_zip(tmp_path / "forged.skops", _with_card(_members(path), {}))  # hashes that match
    with pytest.raises(UsageError, match="holds a LogisticRegression, not a StallPredictor or CloseLikelihood"):
        load_model(forged)


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


# ---------------------------------------------------------------------- bounded reading, state hash (decision 0032)
MIB = 2**20


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _card(members) -> dict:
    return json.loads(members[CARD_NAME])


def _with_card(members: dict[str, bytes], card: dict, rehash: bool = True) -> dict[str, bytes]:
    """``members`` with ``card`` as the card; ``rehash``: its state hashes recomputed (a forger's copy)."""
    if rehash:
        card = {
            **card,
            "state_sha256": {n: hashlib.sha256(c).hexdigest() for n, c in members.items() if n != CARD_NAME},
        }
    return {**members, CARD_NAME: json.dumps(card).encode()}


def _deflate_bomb(path: Path, inflated: int, card: bytes = b"{}", name: str = "schema.json") -> Path:
    """A real zip bomb: member ``name`` inflates to ``inflated`` bytes of zeros from about 1 KB per MiB.

    Written by hand (zipfile cannot write raw deflate data): each MiB of zeros deflates, with a full flush, to the
    same 1,037 bytes, so the stream is that block repeated.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\0" * MIB) + c.flush(zlib.Z_FULL_FLUSH)
    data = block * (inflated // MIB) + b"\x03\x00"  # then an empty final block
    out, directory = b"", b""
    for entry, content, method, size in (
        (name.encode(), data, 8, inflated // MIB * MIB),
        (CARD_NAME.encode(), card, 0, len(card)),
    ):
        crc = zlib.crc32(content) if method == 0 else 0
        head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 33, crc, len(content), size, len(entry), 0)
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 33, crc, len(content), size, len(entry), 0, 0, 0,
            0, 0, len(out),
        ) + entry  # fmt: skip
        out += head + entry + content
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(directory), len(out), 0)
    path.write_bytes(out + directory + end)
    return path


def _bounded(call, seconds=15.0, peak_mib=48):  # generous: the memory bound is the sharp one
    """Run ``call`` (which must raise UsageError); assert it took little time and little memory; the error."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(UsageError) as caught:
            call()
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert took < seconds, f"took {took:.2f} s"
    assert peak < peak_mib * MIB, f"peak {peak / MIB:.0f} MiB"
    return str(caught.value)


def test_a_zip_bomb_is_refused_quickly_with_bounded_memory(tmp_path):
    bomb = _deflate_bomb(tmp_path / "bomb.skops", 4_000_000_000 // MIB * MIB)
    assert bomb.stat().st_size < 4_200_000  # 4 MB of file, 4 GB once inflated
    with zipfile.ZipFile(bomb) as archive, archive.open("schema.json") as member:  # it really inflates
        assert member.read(8 * MIB) == b"\0" * (8 * MIB)
    for call in (lambda: load_model(bomb), lambda: read_model_card(bomb)):
        message = _bounded(call)
        assert "member schema.json declares 3,999,268,864 bytes uncompressed, more than the" in message
        assert "(a zip bomb?)" in message and "retrain the model" in message


def test_members_that_inflate_past_their_declared_size_or_expand_too_much_are_refused(tmp_path):
    lying = tmp_path / "lying.skops"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b"\0" * (32 * MIB))
        archive.writestr(CARD_NAME, b" " * (8 * MIB) + b"{}")
        for name in ("schema.json", CARD_NAME):
            archive.getinfo(name).file_size = 1000  # what the directory declares; the data holds far more
    assert "its member model_card.json cannot be read (Bad CRC-32" in _bounded(lambda: read_model_card(lying))
    # skops reads members whole (here 32 MiB for 1,000 declared bytes): it is handed only members read with a cap
    assert "its member schema.json cannot be read (Bad CRC-32" in _bounded(lambda: load_model(lying), peak_mib=8)

    dense = _deflate_bomb(tmp_path / "dense.skops", 100 * MIB, name="0.npy")  # within each limit, 1,000 x its size
    message = _bounded(lambda: load_model(dense))
    assert "2 members declare 104,857,602 bytes uncompressed in a file of " in message
    assert "100 times the file size, are allowed; a zip bomb?" in message


def test_limits_on_total_card_and_list_of_members(models, tmp_path, monkeypatch):
    path = save_model(models["hgb"], tmp_path / "m.skops")
    size = path.stat().st_size
    monkeypatch.setattr(persistence, "MAX_TOTAL_BYTES", size // 2)
    with pytest.raises(UsageError, match=r"member.* declare [\d,]+ bytes uncompressed in a file of"):
        load_model(path)
    monkeypatch.setattr(persistence, "MAX_TOTAL_BYTES", 256 * MIB)
    monkeypatch.setattr(persistence, "MAX_CARD_BYTES", 500)
    with pytest.raises(
        UsageError, match=r"member model_card.json declares [\d,]+ bytes uncompressed, more than the 500"
    ):
        read_model_card(path)
    with pytest.raises(UsageError, match=r"The model card would take [0-9,]+ bytes, more than the 500"):
        save_model(models["hgb"], tmp_path / "big-card.skops")
    monkeypatch.setattr(persistence, "MAX_CARD_BYTES", MIB)
    monkeypatch.setattr(persistence, "MAX_DIRECTORY_BYTES", 1000)
    with pytest.raises(UsageError, match=r"its list of members takes [\d,]+ bytes, more than 1,000"):
        load_model(path)
    monkeypatch.setattr(persistence, "MAX_DIRECTORY_BYTES", 4 * MIB)
    monkeypatch.setattr(persistence, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(UsageError, match=f"it takes {size:,} bytes, more than the {size - 1:,} a model file may"):
        read_model_card(path)


def test_a_member_named_twice_is_refused(models, tmp_path):
    members = _members(save_model(models["logistic"], tmp_path / "m.skops"))
    path = _write_zip(tmp_path / "twice.skops", members)
    with zipfile.ZipFile(path, "a") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        archive.writestr("schema.json", b"{}")
    for read in (load_model, read_model_card):
        with pytest.raises(UsageError, match=r"it holds more than one member named schema\.json"):
            read(path)


def test_a_zip64_end_record_declaring_a_huge_list_of_members_is_refused(models, tmp_path):
    """The size of the list of members is read from the zip64 end record too, as zipfile reads it, and checked
    before zipfile parses the list (a list of 4 MiB already makes about 90,000 member objects)."""
    raw = save_model(models["hgb"], tmp_path / "m.skops").read_bytes()
    end = raw.rfind(b"PK\x05\x06")
    record = bytearray(raw[end:])
    count, _, offset = struct.unpack("<HII", record[10:20])
    zip64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, 2**40, offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, end, 1)
    record[12:16] = struct.pack("<I", 0xFFFFFFFF)  # "see the zip64 record"
    path = tmp_path / "zip64.skops"
    path.write_bytes(raw[:end] + zip64 + locator + bytes(record))
    for call in (lambda: load_model(path), lambda: read_model_card(path)):
        assert "its list of members takes 1,099,511,627,776 bytes, more than 4,194,304" in _bounded(call)


def test_an_array_header_declaring_more_than_its_member_holds_is_refused(models, tmp_path):
    members = _members(save_model(models["hgb"], tmp_path / "m.skops"))
    name = next(n for n in members if n.endswith(".npy"))
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }"
    header += b" " * (63 - len(header) % 64) + b"\n"
    members[name] = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 16
    forged = _write_zip(tmp_path / "forged.skops", _with_card(members, _card(members)))  # its hash recomputed
    message = _bounded(lambda: load_model(forged))
    assert f"its array {name} declares 8,000,000,000 bytes of data but holds 16 bytes" in message


def test_the_card_records_the_sha256_of_every_member_of_the_state(models, tmp_path):
    members = _members(save_model(models["hgb"], tmp_path / "m.skops"))
    recorded = _card(members)["state_sha256"]
    assert set(recorded) == set(members) - {CARD_NAME} and "schema.json" in recorded
    assert all(recorded[n] == hashlib.sha256(members[n]).hexdigest() for n in recorded)  # sha256sum agrees


def test_a_tampered_state_is_refused(models, tmp_path):
    members = _members(save_model(models["hgb"], tmp_path / "m.skops"))
    name = next(n for n in members if n.endswith(".npy") and len(members[n]) > 200)
    content = bytearray(members[name])
    content[-1] ^= 1  # one bit of one number
    changed = _write_zip(tmp_path / "changed.skops", {**members, name: bytes(content)})
    with pytest.raises(UsageError, match=rf"model state does not match the SHA-256 hashes .*\({name}\).* changed"):
        load_model(changed)
    extra = _write_zip(tmp_path / "extra.skops", {**members, "more.npy": members[name]})
    with pytest.raises(UsageError, match=r"does not match the SHA-256 hashes its model_card.json records \(more.npy\)"):
        load_model(extra)


def test_a_tampered_card_is_refused(models, tmp_path):
    members = _members(save_model(models["hgb"], tmp_path / "stall.skops"))
    card = _card(members)
    cases = {
        "horizon": ({**card, "horizon_days": 90}, r"horizon_days is 90 in the card but 30.0 in the model"),
        "window": (
            {**card, "training_window": {**card["training_window"], "labels_until": "2030-01-01"}},
            r"training_window is .*2030-01-01.* in the card but",
        ),
        "stages": ({**card, "stages": ["A", "B"]}, r'stages is \["A", "B"\] in the card but \["Lead"'),
        "target": ({**card, "target": "won"}, r'target is "won" in the card but "stalled" in the model'),
    }
    for key, (edited, message) in cases.items():
        path = _write_zip(tmp_path / f"{key}.skops", _with_card(members, edited, rehash=False))
        with pytest.raises(UsageError, match=rf"does not describe the model it holds \({message}"):
            load_model(path)
    unhashed = {k: v for k, v in card.items() if k != "state_sha256"}
    path = _write_zip(tmp_path / "unhashed.skops", _with_card(members, unhashed, rehash=False))
    with pytest.raises(UsageError, match=r"records no hash of the model state .* Retrain it"):
        load_model(path)
    other = _card(_members(save_model(models["isotonic"], tmp_path / "other.skops")))  # another model's card
    path = _write_zip(tmp_path / "swapped.skops", _with_card(members, other, rehash=False))
    with pytest.raises(UsageError, match="model state does not match the SHA-256 hashes"):
        load_model(path)
    notes = _write_zip(tmp_path / "notes.skops", _with_card(members, {**card, "source_log": "renamed"}, rehash=False))
    assert load_model(notes).horizon_days == 30  # entries that do not describe the state may be edited


def test_the_horizon_is_part_of_the_fitted_state(models, log):
    assert models["hgb"].horizon_days_ == 30.0 and model_horizon(models["hgb"]) == 30.0
    week = CloseLikelihood(model="logistic", n_jobs=1, min_closed=50).fit(snapshots(log, horizon_days=7))
    assert week.horizon_days_ == 7.0 and model_horizon(week) == 7.0  # a close model keeps its snapshots' horizon
    assert models["constant"].horizon_days_ is None and model_horizon(models["constant"]) is None  # on an array
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_array = StallPredictor(horizon_days=14, n_jobs=1).fit(np.eye(4), [0, 1, 0, 1])
    assert on_array.horizon_days_ is None and model_horizon(on_array) == 14.0  # then its parameter


@pytest.fixture(scope="module")
def log_dir(log, tmp_path_factory):
    from salesmetrics.log import write_log

    return write_log(log, tmp_path_factory.mktemp("cli") / "log", format="csv")


@pytest.mark.slow
def test_commands_take_the_horizon_from_the_model_not_the_card(log_dir, tmp_path, capsys):
    """A close-outcome model's labels look ``horizon_days`` ahead; the card's copy of it changes nothing."""
    model = tmp_path / "close.skops"
    args = ["--horizon-days", "14", "--model", "logistic", "--jobs", "1", "--min-closed", "50", "--end", "2024-05-31"]
    assert main(["model", "train", str(log_dir), "--target", "close", "--out", str(model), *args]) == 0
    card = read_model_card(model)
    assert card["horizon_days"] == 14.0 and card["snapshots"]["horizon_days"] == 14
    assert model_horizon(load_model(model)) == 14.0
    members = _members(model)
    edited = _write_zip(
        tmp_path / "edited.skops",
        _with_card(members, {**card, "snapshots": {**card["snapshots"], "horizon_days": 90}}, rehash=False),
    )
    outputs = {}
    for name, path in (("honest", model), ("edited", edited)):
        for action, extra in (("evaluate", []), ("predict", ["--as-of", "2024-07-15"])):
            out = tmp_path / f"{name}-{action}.csv"
            assert main(["model", action, str(log_dir), "--model", str(path), "--out", str(out), *extra]) == 0
            outputs[name, action] = out.read_text()
    assert outputs["honest", "evaluate"] == outputs["edited", "evaluate"]
    assert outputs["honest", "predict"] == outputs["edited", "predict"]
    # and the horizon does matter: read from the card (90 days), the evaluated labels would have been others
    later = snapshots(sm_log := read_log(log_dir), horizon_days=14)["close_outcome"]
    assert not later.equals(snapshots(sm_log, horizon_days=90)["close_outcome"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_is_refused_or_changes_nothing(models, snap, tmp_path, data):
    """Whatever single byte of a model file changes, loading refuses it with a UsageError, or (a byte no reader
    uses, such as a member's time stamp) loads the very same model; never another error or another model."""
    path = tmp_path / "m.skops"
    if not path.exists():
        save_model(models["logistic"], path)
    raw = bytearray(path.read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    changed = tmp_path / "changed.skops"
    changed.write_bytes(bytes(raw))
    try:
        loaded = load_model(changed)
    except UsageError:
        return
    rows = snap.head(200)
    np.testing.assert_array_equal(loaded.predict_proba(rows), models["logistic"].predict_proba(rows))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_max=True))
def test_a_file_cut_short_anywhere_is_refused(models, tmp_path, cut):
    path = tmp_path / "m.skops"
    if not path.exists():
        save_model(models["logistic"], path)
    raw = path.read_bytes()
    short = tmp_path / "short.skops"
    short.write_bytes(raw[: int(cut * len(raw))])
    for read in (load_model, read_model_card):
        with pytest.raises(UsageError, match=r"not a skops model file|Refused to read|no model_card\.json"):
            read(short)
