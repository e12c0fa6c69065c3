"""adaptkit sweep: trials through Ray Tune as ordinary run directories, the leaderboard's numbers, a rerun that skips, a killed sweep that resumes, bad keys, random search.

Each sweep runs the real CLI in a subprocess (Ray starts its own workers), on 400
real UCI digits, a one-epoch mlp: a few seconds a trial, Ray's start-up on top.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from adaptkit.testing import digits_spec, write_digits

pytest.importorskip("ray.tune")

LR = "training.stages.0.optimizer.learning_rate"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "RAY_AUTH_MODE": "disabled"}


def _spec(folder: Path, name: str, sweep: dict, **extra) -> Path:
    data = write_digits(folder / "digits.npz") if not (folder / "digits.npz").exists() else folder / "digits.npz"
    spec = digits_spec(data, training={"stages": [{"epochs": 1, "optimizer": {"learning_rate": 0.01}}], "verbose": 0}, name=name, **extra)
    spec["sweep"] = {"max_concurrent": 2, **sweep}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _sweep(path: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "adaptkit.cli", "sweep", str(path), "--output", str(path.parent / "runs"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=timeout)


def _board(folder: Path) -> list[dict]:
    with open(folder / "leaderboard.csv") as fh:
        return list(csv.DictReader(fh))


def _trial_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    """A 2 x 2 grid (learning rate x hidden units), two seeds per trial, run once for the tests below."""
    folder = tmp_path_factory.mktemp("grid")
    path = _spec(folder, "grid", {"grid": {LR: [0.03, 0.003], "source.units": [[16], [32]]}}, repeats={"seeds": 2})
    done = _sweep(path)
    assert done.returncode == 0, done.stdout + done.stderr
    return path, folder / "runs" / "grid-sweep", done


def test_a_grid_writes_a_run_directory_per_trial_and_a_leaderboard_of_their_numbers(grid_sweep):
    path, folder, done = grid_sweep
    trials = _trial_dirs(folder)
    assert len(trials) == 4
    board = _board(folder)
    assert sorted(r["trial"] for r in board) == [t.name for t in trials] and [r["rank"] for r in board] == ["1", "2", "3", "4"]
    seen = set()
    for row in board:
        trial = folder / row["trial"]
        aggregate = json.loads((trial / "aggregate.json").read_text())
        stats = aggregate["headline"]
        assert float(row["mean"]) == pytest.approx(stats["mean"]) and float(row["sd"]) == pytest.approx(stats["sd"])
        seeds = [json.loads((trial / f"seed{s}" / "metrics.json").read_text())["headline"]["value"] for s in (0, 1)]
        assert stats["mean"] == pytest.approx(sum(seeds) / 2)  # the trial's own seed runs, not a copy
        spec = yaml.safe_load((trial / "spec.yaml").read_text())
        assert spec["sweep"] is None and spec["repeats"]["seeds"] == 2
        setting = (spec["training"]["stages"][0]["optimizer"]["learning_rate"], tuple(spec["source"]["units"]))
        assert (float(row[LR]), tuple(json.loads(row["source.units"]))) == setting
        seen.add(setting)
    assert seen == {(0.03, (16,)), (0.03, (32,)), (0.003, (16,)), (0.003, (32,))}
    means = [float(r["mean"]) for r in board]
    assert means == sorted(means, reverse=True)
    summary = json.loads((folder / "sweep.json").read_text())
    assert summary["recommendation"]["best"] == board[0]["trial"] and summary["engine"]["search"] == "grid"
    assert "recommendation: use: " in done.stdout and "runner-up" in done.stdout


def test_a_rerun_skips_every_finished_trial(grid_sweep):
    path, folder, _ = grid_sweep
    before = {t.name: (t / "aggregate.json").stat().st_mtime_ns for t in _trial_dirs(folder)}
    again = _sweep(path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert {t.name: (t / "aggregate.json").stat().st_mtime_ns for t in _trial_dirs(folder)} == before
    assert {r["status"] for r in _board(folder)} == {"skipped"}
    assert again.stderr.count("finished before, skipped") == 4


def _wait_for_a_finished_trial(process: subprocess.Popen, folder: Path, timeout: float = 400) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the sweep ended before a trial finished"
        finished = [p for p in folder.glob("*/metrics.json") if not p.parent.name.startswith(".")] if folder.is_dir() else []
        if finished:
            return finished[0].parent
        time.sleep(0.5)
    raise AssertionError("no trial finished in time")


def test_a_killed_sweep_run_again_skips_the_finished_trial_and_completes(tmp_path):
    path = _spec(tmp_path, "killed", {"grid": {LR: [0.03, 0.01, 0.003]}, "max_concurrent": 1})
    folder = tmp_path / "runs" / "killed-sweep"
    command = [sys.executable, "-m", "adaptkit.cli", "sweep", str(path), "--output", str(tmp_path / "runs")]
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = _wait_for_a_finished_trial(process, folder)
    finished_at = (first / "metrics.json").stat().st_mtime_ns
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "run the same command again" in err
    finished = {t.name for t in _trial_dirs(folder)}  # the trial running at Ctrl-C may have finished too
    assert first.name in finished and len(finished) < 3
    again = _sweep(path)
    assert again.returncode == 0, again.stdout + again.stderr
    board = {r["trial"]: r for r in _board(folder)}
    assert len(board) == 3 and len(_trial_dirs(folder)) == 3
    assert (first / "metrics.json").stat().st_mtime_ns == finished_at
    assert {name for name, r in board.items() if r["status"] == "skipped"} == finished
    assert {r["status"] for name, r in board.items() if name not in finished} == {"ran"}
    assert not [p for p in folder.iterdir() if p.name.endswith(".partial")]  # the interrupted trial was finished


def test_random_search_samples_its_trials_through_rays_searcher_with_a_fixed_seed(tmp_path):
    search = {"kind": "random", "samples": 3, "seed": 7, "space": {LR: {"loguniform": [0.001, 0.1]}}}
    path = _spec(tmp_path, "random", {"search": search})
    done = _sweep(path)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "runs" / "random-sweep"
    rates = sorted(float(r[LR]) for r in _board(folder))
    assert len(rates) == 3 and len(set(rates)) == 3 and all(0.001 <= r <= 0.1 for r in rates)
    for trial in _trial_dirs(folder):  # each trial ran with its sampled rate
        spec = yaml.safe_load((trial / "spec.yaml").read_text())
        assert spec["training"]["stages"][0]["optimizer"]["learning_rate"] in rates
    again = _sweep(path)  # the same seed draws the same rates: nothing is trained again
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(float(r[LR]) for r in _board(folder)) == rates and {r["status"] for r in _board(folder)} == {"skipped"}


def test_a_bad_grid_key_is_one_line_naming_it_before_ray_or_tensorflow_starts(tmp_path):
    path = _spec(tmp_path, "bad", {"grid": {LR: [0.01]}})
    done = _sweep(path, "--grid", "training.stages.0.optimizer.learnin_rate=0.1,0.01", timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = [l for l in done.stderr.splitlines() if l.startswith("error:")]
    assert line.startswith(f"error: {path}: sweep.grid.training.stages.0.optimizer.learnin_rate: value 0.1: ")
    assert "starting Ray" not in done.stderr and not (tmp_path / "runs").exists()
    probe = (
        "import sys\nfrom adaptkit.cli import main\n"
        f"try:\n    main(['validate', {str(path)!r}, '--set', 'sweep.grid={{{LR}: [-1.0]}}'])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print(code, sorted(m for m in ('ray', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    checked = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), timeout=120)
    assert checked.stdout.split("\n")[-2] == "2 []", checked.stdout + checked.stderr
    assert f"sweep.grid.{LR}: value -1.0: " in checked.stderr


def test_a_sweep_on_a_two_node_ray_cluster_runs_its_trials_on_both_nodes(tmp_path, monkeypatch):
    """sweep.address: the trials go to an existing cluster (a head and a second node, one CPU each,
    as ``ray start --head`` / ``ray start --address`` would make them), one trial on each node."""
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        path = _spec(tmp_path, "cluster", {"grid": {LR: [0.03, 0.003]}, "cpus_per_trial": 1, "address": cluster.address})
        done = _sweep(path)
        assert done.returncode == 0, done.stdout + done.stderr
        summary = json.loads((tmp_path / "runs" / "cluster-sweep" / "sweep.json").read_text())
        nodes = {trial["node"] for trial in summary["trials"]}
        assert len(nodes) == 2 and nodes <= {node.node_id for node in cluster.list_all_nodes()}
        assert summary["engine"]["address"] == cluster.address and summary["engine"]["nodes"] == 2
        assert {r["status"] for r in _board(tmp_path / "runs" / "cluster-sweep")} == {"ran"}
        assert "on 2 Ray node(s)" in done.stderr
        alone = _spec(tmp_path, "alone", {"grid": {LR: [0.03]}})  # no address: a Ray of its own, not the running cluster
        done = _sweep(alone)
        assert done.returncode == 0, done.stdout + done.stderr
        (trial,) = json.loads((tmp_path / "runs" / "alone-sweep" / "sweep.json").read_text())["trials"]
        assert trial["node"] not in {node.node_id for node in cluster.list_all_nodes()}
    finally:
        cluster.shutdown()
