"""Scores on a real Dask cluster (a scheduler and two worker processes) are the bytes of the run on this machine
(salesmetrics/metrics/scale.py, ``salesmetrics score --scheduler|--workers``); so are the snapshot tables the models
train on (salesmetrics/features/parts.py, ``salesmetrics model train|backtest --scheduler|--workers``); a worker
killed mid-run changes nothing; a scheduler that cannot be reached is a clear error naming it. One cluster serves
the whole module."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from builders import (
    assert_same_health,
    break_a_part,
    foreign_logs,
    page_text,
    warn_in_part,
    write_foreign_log,
    write_undated_log,
)
from hypothesis import HealthCheck, given, settings

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.exceptions import DataNote, LogValidationError, UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.parts import snapshot_parts
from salesmetrics.log.partition import partition_log
from salesmetrics.metrics import scale
from salesmetrics.metrics.scale import score_parts
from salesmetrics.metrics.scoring import score
from salesmetrics.reports.health import pipeline_health

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a cluster of two processes takes a few seconds to start

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"
CASES = [("deal", "M"), ("owner", "W"), ("owner", "M"), ("owner", "Q"), ("team", "W"), ("team", "M"), ("team", "Q")]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # two test processes never share port 8787
        ) as local,
        distributed.Client(local, set_as_default=False) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Path:
    return partition_log(DEMO, tmp_path_factory.mktemp("demo") / "parts", 4).folder


def test_every_by_and_period_on_the_cluster_is_the_run_here(client, parts):
    for by, period in CASES:
        as_of = None if by == "deal" else "2024-09-30"  # the first pass (the default as_of) once: it is per part
        here = score_parts(parts, as_of, by=by, period=period)
        there = score_parts(parts, as_of, by=by, period=period, client=client)
        pd.testing.assert_frame_equal(there, here, check_exact=True)
    assert len(client.scheduler_info()["workers"]) == 2


@pytest.mark.parametrize(
    ("by", "period", "suffix"), [("deal", None, ".csv"), ("deal", None, ".parquet"), ("team", "Q", ".parquet")]
)
def test_the_command_on_a_running_scheduler_writes_the_same_bytes(client, parts, tmp_path, capsys, by, period, suffix):
    options = ["--by", by, *(["--period", period] if period else []), "--as-of", "2024-09-30"]
    here, there = tmp_path / f"here{suffix}", tmp_path / f"there{suffix}"
    assert main(["score", str(parts), *options, "--out", str(here)]) == 0
    address = client.scheduler.address
    assert main(["score", str(parts), *options, "--out", str(there), "--scheduler", address]) == 0
    assert f"ran on {address} (2 workers)" in capsys.readouterr().out
    assert there.read_bytes() == here.read_bytes()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=foreign_logs())
def test_random_logs_on_the_cluster(client, tmp_path_factory, drawn):
    model, tables = drawn
    folder = write_foreign_log(tmp_path_factory.mktemp("log") / "log", model, tables, "pandas_parquet_ns")
    try:
        parts = partition_log(folder, tmp_path_factory.mktemp("parts") / "p", 2).folder
    except UsageError:  # a part would lack a required table (a few deals only): nothing to score
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deals left out, no close dates: the same notes either way
        there = score_parts(parts, client=client)
        whole = score(sm.read_log(folder))
    pd.testing.assert_frame_equal(there, score_parts(parts))
    by_deal = [f.sort_values("deal_id", kind="stable").reset_index(drop=True) for f in (there, whole)]
    pd.testing.assert_frame_equal(*by_deal)


def test_a_scheduler_that_cannot_be_reached_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(scale, "CONNECT_SECONDS", 2)
    code = main(["score", str(DEMO), "--out", str(tmp_path / "s.csv"), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err and "Traceback" not in err
    assert not (tmp_path / "s.csv").exists()


def test_a_part_refused_on_a_worker_is_reported_on_the_client(client, tmp_path):
    parts = partition_log(DEMO, tmp_path / "parts", 2).folder
    broken = break_a_part(parts)
    with pytest.raises(LogValidationError) as caught:
        score_parts(parts, "2024-06-30", client=client)
    assert [p.file for p in caught.value.problems.errors] == [broken]


def test_the_warnings_of_a_part_validated_on_a_worker_are_not_shown_as_here(client, tmp_path):
    # decision 0067: as a run on the whole log shows none of validation's warnings, neither does a run on parts
    parts = partition_log(DEMO, tmp_path / "parts", 2).folder
    warn_in_part(parts / "part-00001")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        there = score_parts(parts, by="owner", client=client)  # both passes: the part is validated twice
    texts = [str(w.message) for w in caught if issubclass(w.category, DataNote)]
    assert not any("part-00001" in text for text in texts)
    with warnings.catch_warnings(record=True) as here_caught:
        warnings.simplefilter("always")
        here = score_parts(parts, by="owner")
    assert [str(w.message) for w in here_caught if issubclass(w.category, DataNote)] == texts
    pd.testing.assert_frame_equal(there, here, check_exact=True)


def test_a_worker_killed_mid_run_changes_nothing(client, tmp_path):
    parts = partition_log(DEMO, tmp_path / "parts", 12).folder  # enough tasks that the run lasts
    expected = score_parts(parts, "2024-09-30", by="owner")
    result = _killing_a_worker(client, lambda: score_parts(parts, "2024-09-30", by="owner", client=client))
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


def _killing_a_worker(client, job):
    """``job()``'s result, run while a worker process of the cluster busy with one of its tasks is killed (SIGKILL);
    the kill must come while the job runs, and the job must not fail."""
    result, failed = {}, []

    def run() -> None:
        try:
            result["value"] = job()
        except Exception as exc:  # reported below
            failed.append(exc)

    pids = client.run(os.getpid)
    worker = threading.Thread(target=run)
    worker.start()
    deadline, busy = time.monotonic() + 60, []
    while time.monotonic() < deadline and not busy:  # a worker with a task of this run under way
        busy = [address for address, keys in client.processing().items() if keys and address in pids]
        time.sleep(0.005)
    os.kill(pids[busy[0]], signal.SIGKILL)  # the worker process this cluster started, in the middle of a task
    killed_mid_run = worker.is_alive()
    worker.join(180)
    assert killed_mid_run and not failed
    return result["value"]


# ------------------------------------------------------------------------------- snapshot tables (model commands)


def test_snapshot_tables_on_the_cluster_are_the_tables_built_here(client, parts):
    for options in ({"freq": "M"}, {"freq": "W", "observed_until": "2024-09-30", "horizon_days": 14}):
        here = snapshot_parts(parts, **options)
        there = snapshot_parts(parts, **options, client=client)
        pd.testing.assert_frame_equal(there, here, check_exact=True)
        assert there.attrs == here.attrs
        pd.testing.assert_frame_equal(there, snapshots(sm.read_log(parts), **options), check_exact=True)


@pytest.fixture
def nothing_read_here(monkeypatch):
    """No log read on the client during a run (:func:`_refuse_reads`); ``.undo()`` lifts the guard."""
    _refuse_reads(monkeypatch)
    return monkeypatch


def _refuse_reads(patcher) -> None:
    """Every pandas read of a log (read_log, also of one part) and every load by the relational core fails here;
    the workers, other processes, read as usual."""
    from salesmetrics.log import reading
    from salesmetrics.metrics import _engine

    def refuse(*args, **kwargs):
        raise AssertionError(f"the client read a log: {args[:2]}")

    for module, name in ((reading, "read_log"), (scale, "read_log"), (_engine, "load")):
        patcher.setattr(module, name, refuse)


def test_a_model_trained_on_the_cluster_reads_no_log_here_and_predicts_what_the_unsplit_log_does(
    client, parts, tmp_path, capsys, nothing_read_here
):
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test is back
    address = client.scheduler.address
    train = ["model", "train", "--target", "stall", "--model", "logistic", "--freq", "M", "--end", "2025-03-31"]
    with pytest.raises(AssertionError, match="the client read a log"):  # the guard catches a run here
        main([*train, str(parts), "--out", str(tmp_path / "caught.skops")])
    assert main([*train, str(parts), "--out", str(tmp_path / "there.skops"), "--scheduler", address]) == 0
    said = capsys.readouterr().out
    assert f"Building the snapshots on the Dask cluster at {address} (2 workers)" in said
    assert f"(snapshots built on {address} (2 workers))" in said
    nothing_read_here.undo()
    assert main([*train, str(parts), "--out", str(tmp_path / "parts.skops")]) == 0  # the same parts, no cluster
    assert main([*train, str(DEMO), "--out", str(tmp_path / "unsplit.skops")]) == 0  # the unsplit log, no cluster
    for name in ("parts", "unsplit", "there"):
        predict = ["model", "predict", str(DEMO), "--model", str(tmp_path / f"{name}.skops"), "--as-of", "2025-03-31"]
        assert main([*predict, "--out", str(tmp_path / f"{name}.csv"), "--quiet"]) == 0
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "parts.csv").read_bytes()
    # the unsplit log's table has the same rows in another order of deals, so the fit adds floats in another order:
    # the same deals and risks to 1e-12 (a reason tied to the last bit with the next one may swap places)
    there, unsplit = pd.read_csv(tmp_path / "there.csv"), pd.read_csv(tmp_path / "unsplit.csv")
    numbers = [c for c in unsplit if not c.startswith(("reason_", "protective_"))]
    assert len(unsplit) > 100 and "p_stall" in numbers
    pd.testing.assert_frame_equal(there[numbers], unsplit[numbers], check_exact=False, rtol=1e-12)


def test_a_backtest_on_the_cluster_reads_no_log_here_and_prints_the_figures_of_the_unsplit_log(
    client, parts, tmp_path, capsys, nothing_read_here
):
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test is back
    address = client.scheduler.address
    backtest = ["model", "backtest", "--target", "stall", "--model", "logistic", "--bootstrap", "20", "--cutoffs", "2"]
    there_csv, here_csv = tmp_path / "there.csv", tmp_path / "here.csv"
    assert main([*backtest, str(parts), "--scheduler", address, "--out", str(there_csv)]) == 0
    there = capsys.readouterr().out
    nothing_read_here.undo()
    assert main([*backtest, str(DEMO), "--out", str(here_csv)]) == 0
    here = capsys.readouterr().out
    first, there = there.split("\n", 1)
    assert first == f"Building the snapshots on the Dask cluster at {address} (2 workers)"
    assert there.replace(str(parts), str(DEMO)).replace(f" (snapshots built on {address} (2 workers))", "") == (
        here.replace(str(here_csv), str(there_csv))
    )
    assert "Rolling origin: 2 cutoffs" in here and "stalled-in-stage flag" in here
    # the baselines' figures and intervals (the momentum flag's included) to the last bit; the model's to 1e-9 (its
    # fit adds the rows, which come in another order of deals, in another order)
    there, here = pd.read_csv(there_csv), pd.read_csv(here_csv)
    baselines = here["model"] != "model"
    assert baselines.sum() == 12 and here.loc[baselines, "ci_high"].gt(here.loc[baselines, "ci_low"]).all()
    pd.testing.assert_frame_equal(there[baselines], here[baselines], check_exact=True)
    pd.testing.assert_frame_equal(there, here, check_exact=False, rtol=1e-9)


def test_evaluate_and_predict_on_the_cluster_read_no_log_here_and_say_what_they_say_here(
    client, parts, tmp_path, capsys, monkeypatch
):
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test is back
    address = client.scheduler.address
    model = tmp_path / "m.skops"
    train = ["model", "train", str(DEMO), "--target", "stall", "--model", "logistic", "--freq", "M"]
    assert main([*train, "--end", "2025-01-31", "--out", str(model), "--quiet"]) == 0
    runs = {
        "evaluate": ["model", "evaluate", "{log}", "--model", str(model), "--out", "{out}"],
        "predict": ["model", "predict", "{log}", "--model", str(model), "--out", "{out}"],  # as of the latest event
    }
    for name, command in runs.items():
        said, written = {}, {}
        for where, log in (("there", parts), ("parts", parts), ("unsplit", DEMO)):
            out = tmp_path / f"{name}-{where}.csv"
            on = ["--scheduler", address] if where == "there" else []
            with monkeypatch.context() as patched:
                if where == "there":
                    _refuse_reads(patched)
                assert main([word.format(log=log, out=out) for word in command] + on) == 0
            said[where] = capsys.readouterr().out.replace(str(log), "LOG").replace(str(out), "OUT")
            written[where] = out.read_bytes()
        first, there = said["there"].split("\n", 1)
        assert first == f"Building the snapshots on the Dask cluster at {address} (2 workers)"
        assert there.replace(f" (snapshots built on {address} (2 workers))", "") == said["parts"] == said["unsplit"]
        assert written["there"] == written["parts"]
        if name == "evaluate":  # the same rows in the parts' order of deals: sums to the last bit or so
            there, unsplit = (pd.read_csv(tmp_path / f"evaluate-{w}.csv") for w in ("there", "unsplit"))
            assert there["metric"].tolist() == unsplit["metric"].tolist() and "auc" in there["metric"].tolist()
            numbers = [pd.to_numeric(t["value"], errors="coerce") for t in (there, unsplit)]
            pd.testing.assert_series_equal(*numbers, check_exact=False, rtol=1e-12)
            assert there["value"][numbers[0].isna()].tolist() == unsplit["value"][numbers[1].isna()].tolist()
        else:  # the same deals and risks (deals tied in risk in their table's order: the parts' order here)
            there, unsplit = (
                pd.read_csv(tmp_path / f"predict-{w}.csv").sort_values("deal_id", ignore_index=True)
                for w in ("there", "unsplit")
            )
            numbers = [c for c in unsplit if not c.startswith(("reason_", "protective_"))]
            assert len(unsplit) > 100 and "p_stall" in numbers
            pd.testing.assert_frame_equal(there[numbers], unsplit[numbers], check_exact=False, rtol=1e-12)


@pytest.mark.parametrize(
    "command",
    [
        ["model", "train", "--target", "stall", "--out", "{tmp}/m.skops", "--end", "2023-12-31"],
        ["model", "train", "--target", "won", "--out", "{tmp}/m.skops", "--start", "2025-07-02"],
        ["model", "backtest", "--target", "stall"],
    ],
)
def test_the_date_checks_on_the_cluster_say_what_they_say_here(client, parts, tmp_path, capsys, command):
    """--end before the first stage change, --start after the last, and (below) a log without any dated stage
    change: the same words and exit code as on one machine, from the parts' pass."""
    log = parts
    if command[1] == "backtest":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            log = partition_log(write_undated_log(tmp_path / "undated"), tmp_path / "undated-parts", 2).folder
    args = [word.format(tmp=tmp_path) for word in command]
    said = {}
    for where in ((), ("--scheduler", client.scheduler.address)):
        assert main([args[0], args[1], str(log), *args[2:], *where]) == 2
        said[where] = capsys.readouterr().err
    here, there = said.values()
    assert there == here
    assert ("has no dated stage change" if log != parts else "stage change (20") in here


def test_a_worker_killed_while_building_snapshots_changes_nothing(client, tmp_path):
    parts = partition_log(DEMO, tmp_path / "parts", 12).folder  # enough tasks that the run lasts
    expected = snapshot_parts(parts, freq="M")
    result = _killing_a_worker(client, lambda: snapshot_parts(parts, freq="M", client=client))
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


# --------------------------------------------------------------------------------------------- pipeline health


def test_pipeline_health_on_the_cluster_is_the_one_of_the_log_read_here(client, parts):
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test is back
    for options in ({}, {"as_of": "2024-12-31", "period": "Q", "by": "team", "min_motions": 3}):
        there = pipeline_health(parts, **options, client=client)
        assert_same_health(there, pipeline_health(sm.read_log(parts), **options))
        assert len(there.stuck_deals) and there.stuck_deals["stalled"].any()


@pytest.mark.parametrize("options", [[], ["-p", "as_of=2024-12-31", "-p", "period=Q", "-p", "by=team"]])
def test_the_report_on_the_cluster_is_the_page_made_here(client, parts, tmp_path, capsys, options):
    address = client.scheduler.address
    here, there = tmp_path / "here", tmp_path / "there"
    assert main(["report", "pipeline_health", str(parts), "--out", str(here), *options]) == 0
    assert main(["report", "pipeline_health", str(parts), "--out", str(there), *options, "--scheduler", address]) == 0
    said = capsys.readouterr().out
    assert f"Computing the pipeline health on the Dask cluster at {address} (2 workers)" in said
    page = page_text(there / "pipeline_health.html")
    assert page == page_text(here / "pipeline_health.html")
    assert "The bridge in money" in page and "Busy but not moving" in page and "activities per movement" in page
    # the same page made here is kept when asked of the cluster: what the cluster computed is not in its record
    assert main(["report", "pipeline_health", str(parts), "--out", str(here), *options, "--scheduler", address]) == 0
    assert "Kept " in capsys.readouterr().out


def test_the_report_of_an_undated_log_on_the_cluster_is_the_page_made_here(client, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = partition_log(write_undated_log(tmp_path / "log"), tmp_path / "parts", 2).folder
    here, there = tmp_path / "here", tmp_path / "there"
    assert main(["report", "pipeline_health", str(parts), "--out", str(here)]) == 0
    assert (
        main(["report", "pipeline_health", str(parts), "--out", str(there), "--scheduler", client.scheduler.address])
        == 0
    )
    page = page_text(there / "pipeline_health.html")
    assert page == page_text(here / "pipeline_health.html")
    assert "Win rates by owner" in page


def test_a_worker_killed_while_flagging_deals_changes_nothing(client, tmp_path):
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test is back
    parts = partition_log(DEMO, tmp_path / "parts", 12).folder  # enough tasks that the run lasts
    expected = pipeline_health(parts, as_of="2025-03-31")
    result = _killing_a_worker(client, lambda: pipeline_health(parts, as_of="2025-03-31", client=client))
    assert_same_health(result, expected)


def test_a_local_cluster_does_not_need_port_8787():
    """Another Dask cluster (or anything) on port 8787 must not make every ``--workers`` run print Dask's port
    warning: the scheduler's HTTP endpoint takes a free local port."""
    import contextlib
    import socket

    from salesmetrics.metrics.scale import cluster

    held = socket.socket()
    with contextlib.suppress(OSError):  # already taken by someone else: the same situation
        held.bind(("127.0.0.1", 8787))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with cluster(workers=1) as running:
            assert running.workers == 1
    held.close()
    assert not [w for w in caught if "8787" in str(w.message)]
