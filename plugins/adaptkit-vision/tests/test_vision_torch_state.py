"""Reading torch state dicts without torch: files written by real torch, the real torchvision weights, safety."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from adaptkit_vision.torch_state import LEGACY_MAGIC, LEGACY_PROTOCOL, TorchFileError, read_state_dict
from adaptkit_vision.torchvision_mobilenet import imagenet_weights_path

DATA = Path(__file__).parent / "data"
TINY = ["a", "a_transposed", "a_rows", "counts", "half", "mask", "scalar", "parameter"]


@pytest.fixture(scope="module")
def reference():
    return np.load(DATA / "torchvision_mobilenet_v2_reference.npz")


@pytest.mark.parametrize("layout", ["legacy", "zip"])
def test_tensors_written_by_torch_read_back_exactly(layout, reference):
    # written by tests/make_torch_reference.py with torch.save (legacy: _use_new_zipfile_serialization=False)
    state = read_state_dict(DATA / f"tiny_{layout}.pth")
    assert list(state) == TINY
    for key, value in state.items():
        expected = reference[f"tiny_{key}"]
        assert value.dtype == expected.dtype and value.shape == expected.shape, key
        np.testing.assert_array_equal(value, expected, err_msg=key)
    # views own their data (a transposed view, a slice at a storage offset)
    np.testing.assert_array_equal(state["a_transposed"], state["a"].T)
    np.testing.assert_array_equal(state["a_rows"], state["a"][1:])
    assert state["counts"][1, 1] == 2**40 and state["scalar"].shape == ()


def test_torchvision_imagenet_file_reads_completely():
    state = read_state_dict(imagenet_weights_path("source.weights"))
    counters = {k: v for k, v in state.items() if k.endswith("num_batches_tracked")}
    tensors = {k: v for k, v in state.items() if k not in counters}
    assert len(tensors) == 262 and len(counters) == 52  # 52 BatchNorm layers
    assert all(v.shape == () and v.dtype == np.int64 for v in counters.values())
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)  # depthwise
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert all(v.dtype == np.float32 for v in tensors.values())
    assert sum(v.size for v in tensors.values()) == 3_538_984  # 3,504,872 parameters + BatchNorm statistics
    assert 0.1 < float(state["features.18.1.weight"].mean()) < 10  # trained BatchNorm scales, not zeros


def _legacy_header() -> bytes:
    return b"".join(pickle.dumps(v, protocol=2) for v in (LEGACY_MAGIC, LEGACY_PROTOCOL, {"little_endian": True}))


@pytest.mark.parametrize("payload", [pickle.dumps(print), pickle.dumps(Path("x")), pickle.dumps(np.zeros(2))])
def test_globals_outside_a_state_dict_are_refused(tmp_path, payload):
    file = tmp_path / "evil.pth"
    file.write_bytes(_legacy_header() + payload + pickle.dumps([]))
    with pytest.raises(TorchFileError, match="refusing to load"):
        read_state_dict(file)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a pickle at all", "not a readable torch file"),
        (pickle.dumps(123) + pickle.dumps(1001), "wrong magic number"),
        (None, "truncated"),
    ],
)
def test_corrupt_files_are_torch_file_errors(tmp_path, content, message):
    if content is None:  # the real legacy file cut inside its storages
        content = (DATA / "tiny_legacy.pth").read_bytes()[:-20]
    file = tmp_path / "bad.pth"
    file.write_bytes(content)
    with pytest.raises(TorchFileError, match=message) as err:
        read_state_dict(file)
    assert "\n" not in str(err.value)



class _RunsCode:
    """What a malicious checkpoint pickles: unpickling it calls ``exec`` on a payload."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _evil_state(marker: Path) -> bytes:
    return pickle.dumps({"features.0.weight": _RunsCode(marker)}, protocol=2)


@pytest.mark.parametrize("layout", ["legacy", "zip"])
def test_a_checkpoint_whose_pickle_runs_code_is_refused_and_runs_nothing(tmp_path, layout):
    import zipfile

    marker = tmp_path / "PWNED"
    payload = _evil_state(marker)
    pickle.loads(payload)  # the payload is live: plain unpickling runs it
    assert marker.exists()
    marker.unlink()
    evil = tmp_path / "evil.pth"
    if layout == "legacy":
        evil.write_bytes(_legacy_header() + payload + pickle.dumps([]))
    else:
        with zipfile.ZipFile(evil, "w") as archive:
            archive.writestr("archive/data.pkl", payload)
            archive.writestr("archive/version", "3\n")
    with pytest.raises(TorchFileError, match=r"refusing to load (__builtin__|builtins)\.exec: not part of a tensor state dict"):
        read_state_dict(evil)
    assert not marker.exists()


def test_the_source_refuses_it_in_one_line_trusted_or_not(tmp_path):
    import logging

    import adaptkit
    from adaptkit_vision.sections import TorchvisionMobileNetV2Source
    from adaptkit_vision.torchvision_mobilenet import build_torchvision_mobilenet_v2

    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pth"
    evil.write_bytes(_legacy_header() + _evil_state(marker) + pickle.dumps([]))
    section = TorchvisionMobileNetV2Source(kind="torchvision_mobilenet_v2", weights=str(evil))
    for trust_code in (False, True):  # a torch file is never unpickled as code, not even with --trust-code
        ctx = adaptkit.RunContext(seed=0, spec_dir=tmp_path, where="source", log=logging.getLogger("t"), trust_code=trust_code)
        with pytest.raises(adaptkit.ModelError) as err:
            build_torchvision_mobilenet_v2(section, (32, 32, 3), ctx)
        assert str(err.value) == (
            f"source.weights: {evil}: refusing to load __builtin__.exec: not part of a tensor state dict"
        )
    assert not marker.exists()
