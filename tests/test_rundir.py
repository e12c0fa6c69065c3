"""The run directory under faults: concurrent runs, a user's own ``-latest`` file, live runs and --resume, Ctrl-C."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from adaptkit._rundir import Checkpoints, RunDir


def _claim(args):
    output, barrier = args
    barrier.wait()
    run = RunDir(Path(output), "same")
    return run.partial.name


def test_runs_started_in_the_same_second_each_get_their_own_directory(tmp_path):
    ctx = multiprocessing.get_context("fork")
    n = 6
    with ctx.Manager() as manager:
        barrier = manager.Barrier(n)
        with ctx.Pool(n) as pool:
            names = pool.map(_claim, [(str(tmp_path), barrier)] * n)
    assert len(set(names)) == n  # no "File exists", no shared folder
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_a_user_file_named_latest_is_never_replaced(tmp_path, caplog):
    mine = tmp_path / "exp-latest"
    mine.write_text("my notes\n")
    run = RunDir(tmp_path, "exp")
    with caplog.at_level("WARNING", logger="adaptkit"):
        final = run.commit()
    assert final.is_dir()
    assert not mine.is_symlink() and mine.read_text() == "my notes\n"
    assert "exp-latest" in caplog.text and "left as it is" in caplog.text
    # adaptkit's own link is still moved on to the newest run
    mine.unlink()
    first = RunDir(tmp_path, "exp").commit()
    second = RunDir(tmp_path, "exp").commit()
    assert first != second and os.readlink(mine) == second.name


_HOLD = """
import sys, time
from pathlib import Path
from adaptkit._rundir import Checkpoints, RunDir
run = RunDir(Path(sys.argv[1]), "live")
Checkpoints(run.partial).save_state("abc", 0, [])
print(run.partial, flush=True)
time.sleep(60)
"""


def test_resume_never_takes_over_a_run_still_in_progress(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        partial = Path(live.stdout.readline().strip())
        assert partial.is_dir()
        assert RunDir.resume(tmp_path, "live", "abc") is None  # locked by the live process
    finally:
        live.kill()
        live.wait()
    resumed = RunDir.resume(tmp_path, "live", "abc")  # the process died: now it is interrupted
    assert resumed is not None and resumed.partial == partial
    resumed.discard()
    assert not partial.exists()


def test_ctrl_c_while_tensorflow_loads_exits_130_with_one_line(tmp_path, digits_npz):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""
            name: digits
            output_dir: {tmp_path / 'runs'}
            data: {{train: {{kind: arrays, path: {digits_npz}}}}}
            source: {{kind: mlp, units: [8]}}
            head: {{kind: classifier}}
            training: {{verbose: 0, stages: [{{epochs: 1}}]}}
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "adaptkit.cli", "run", str(spec)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stderr.readline()  # "adaptkit: running digits (loading TensorFlow...)"
    assert "loading TensorFlow" in line
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "error: interrupted; no run directory was written"
    assert "Aborted!" not in err and "Traceback" not in err
    assert not list((tmp_path / "runs").glob(".*.partial"))  # TensorFlow was still loading: nothing written
