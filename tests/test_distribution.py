"""Scale-out through tf.distribute: mirrored over 2 logical CPUs and a 2-worker local cluster match one device.

The runs happen in fresh subprocesses (TensorFlow sets its devices up once per
process; ``ADAPTKIT_LOGICAL_CPUS=2`` splits the CPU before). The specs are
full-batch (tests/distributed_runs.py says why); metrics must agree within
``LOSS_TOL`` (relative) for losses and ``ACC_TOL`` (absolute) for accuracies:
floating-point sums in another order, and WDGRL's random gradient-penalty
points drawn per replica. Heavy: about a minute for the mirrored module fixture
and 30-60 s for the cluster on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adaptkit import SpecError, load_spec_file

SCRIPT = Path(__file__).with_name("distributed_runs.py")
LOSS_TOL = 1e-3
ACC_TOL = 0.01


def _env(**extra: str) -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


@pytest.fixture(scope="module")
def arrays(tmp_path_factory) -> dict[str, Path]:
    """UCI digits (source), the same images dimmed and shifted (target), and digit + parity labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    folder = tmp_path_factory.mktemp("dist-data")
    x = d.images[..., None].astype("float32")
    paths = {"data": folder / "digits.npz", "target": folder / "shifted.npz", "labels": folder / "labels.npz"}
    np.savez(paths["data"], x=x, y=d.target.astype("int64"))
    np.savez(paths["target"], x=x * 0.5 + 3, y=d.target.astype("int64"))
    np.savez(paths["labels"], x=x, digit=d.target.astype("int64"), parity=(d.target % 2).astype("int64"))
    return paths


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory, arrays) -> tuple[Path, dict]:
    """Each spec once on one device and once mirrored over 2 logical CPUs, in one fresh process."""
    out = tmp_path_factory.mktemp("dist-runs")
    args = [str(out), str(arrays["data"]), str(arrays["target"]), str(arrays["labels"]), "mirrored", "finetune", "dann", "wdgrl", "multitask"]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600, env=_env(ADAPTKIT_LOGICAL_CPUS="2"))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads(done.stdout.split("RESULTS ", 1)[1])


def assert_close(one: dict, other: dict) -> None:
    """Every number of ``one`` (a run's test metrics, or its last history row) in ``other``, within tolerance."""
    for key, value in one.items():
        if key in ("seconds", "epoch", "stage", "stage_epoch") or key.endswith("examples"):
            continue
        try:
            a, b = float(value), float(other[key])
        except ValueError:
            assert value == other[key], key
            continue
        tol = LOSS_TOL * max(1.0, abs(a)) if "loss" in key or "wasserstein" in key or key.startswith("weight_") else ACC_TOL
        assert abs(a - b) <= tol, f"{key}: one device {a}, distributed {b}"


@pytest.mark.parametrize("name", ["finetune", "dann", "wdgrl", "multitask"])
def test_mirrored_over_two_replicas_matches_one_device(mirrored, name):
    """finetune: plain fit, then discriminative rates with gradual unfreezing; dann: the two-stream
    trainer; wdgrl: a critic player with its own optimizer and 3 steps; multitask: GradNorm's
    weighting of the replicas' averaged task gradients."""
    _, results = mirrored
    one, distributed = results[name]["default"], results[name]["mirrored"]
    assert one["distribution"] is None
    assert distributed["distribution"] == {"kind": "mirrored", "replicas": 2, "workers": 1}
    assert set(one["metrics"]) == set(distributed["metrics"]) and set(one["last"]) == set(distributed["last"])
    assert_close(one["metrics"], distributed["metrics"])
    assert_close(one["last"], distributed["last"])


def test_an_interrupted_mirrored_run_resumes_where_it_stopped(mirrored):
    """Stopped after epoch 2 of stage 2 (discriminative rates, gradual unfreezing), ``--resume``d
    under the same strategy: the stage's backup is restored and the run ends as the uninterrupted one."""
    _, results = mirrored
    resumed, whole = results["finetune"]["resumed"], results["finetune"]["mirrored"]
    assert resumed["epochs"] == [["1", "1"], ["1", "2"], ["1", "3"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"]]
    assert "stage 2 (stage2): resuming after epoch 2" in resumed["log"]
    assert_close(whole["metrics"], resumed["metrics"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_worker_cluster_matches_one_device_and_only_the_chief_writes_the_run(mirrored, tmp_path):
    """Two local processes, MultiWorkerMirroredStrategy over gRPC: both finish with the one-device
    metrics; the chief writes output/, the other worker its own copy under output/.worker-1."""
    out, results = mirrored
    workers = [f"localhost:{_free_port()}", f"localhost:{_free_port()}"]
    procs = []
    for index in range(2):
        config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        cmd = [sys.executable, "-m", "adaptkit.cli", "run", str(out / "dann.yaml"), "--output", str(tmp_path / "cluster"),
               "--set", "training.distribution=multi_worker"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(TF_CONFIG=config)))
    try:
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (stdout, stderr) in zip(procs, outputs):
        assert p.returncode == 0, stderr[-3000:]
    chief = json.loads((tmp_path / "cluster" / "dann-latest" / "metrics.json").read_text())
    worker = json.loads((tmp_path / "cluster" / ".worker-1" / "dann-latest" / "metrics.json").read_text())
    assert chief["distribution"] == {"kind": "multi_worker", "replicas": 2, "workers": 2}
    assert sorted(p.name for p in (tmp_path / "cluster").iterdir() if not p.name.startswith(".")) == sorted(
        ["dann-latest", (tmp_path / "cluster" / "dann-latest").resolve().name])
    assert_close(results["dann"]["default"]["metrics"], chief["metrics"])
    assert chief["metrics"] == worker["metrics"]


# -- the spec, without TensorFlow ----------------------------------------------------------


def test_distribution_spec_short_form_and_one_line_errors(spec_file):
    spec = load_spec_file(spec_file(), ["training.distribution=mirrored"])
    assert spec.training.distribution.kind == "mirrored" and spec.training.distribution.devices is None
    assert load_spec_file(spec_file()).training.distribution.kind == "default"
    with pytest.raises(SpecError, match=r"^training.distribution: .*devices are for kind 'mirrored' only"):
        load_spec_file(spec_file(), ["training.distribution={kind: multi_worker, devices: ['/gpu:0']}"])
    with pytest.raises(SpecError, match=r"^evaluation.baseline: not under training.distribution multi_worker"):
        load_spec_file(spec_file(), ["training.distribution=multi_worker", "evaluation.baseline=true"])
    with pytest.raises(SpecError, match=r"^training.distribution: Input should be 'default', 'mirrored' or 'multi_worker'"):
        load_spec_file(spec_file(), ["training.distribution=tpu"])


def test_multi_worker_without_a_cluster_and_lr_find_across_workers_are_refused(spec_file, monkeypatch, tmp_path):
    from adaptkit._lrfind import lr_find
    from adaptkit._runner import run_pipeline

    monkeypatch.delenv("TF_CONFIG", raising=False)
    path = spec_file()
    spec = load_spec_file(path, ["training.distribution=multi_worker"])
    with pytest.raises(SpecError, match=r"^training.distribution: multi_worker needs the cluster in the TF_CONFIG"):
        run_pipeline(spec, path)
    with pytest.raises(SpecError, match=r"^training.distribution.devices: '/gpu:7' is not a device of this machine \("):
        run_pipeline(load_spec_file(path, ["training.distribution={kind: mirrored, devices: ['/gpu:7']}"]), path)
    assert not (tmp_path / "runs").exists()
    with pytest.raises(SpecError, match=r"^training.distribution: lr-find sweeps on one machine"):
        lr_find(spec, path)
