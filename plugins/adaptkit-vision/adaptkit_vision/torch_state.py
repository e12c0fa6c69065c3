"""Read a PyTorch state dict (``torch.save`` file) into numpy arrays, without torch and without running its code.

Two layouts exist:

- the legacy format (torch < 1.6, e.g. torchvision's ``mobilenet_v2-b0353104.pth``): five
  pickles one after the other (magic number, protocol version, system info, the state dict,
  the list of storage keys), then each storage's raw bytes, in key order, each after an
  8-byte little-endian element count;
- the zip format (torch >= 1.6): ``<name>/data.pkl`` (the state dict) and one raw file
  ``<name>/data/<key>`` per storage.

In both, tensors are pickled as calls to ``torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, ...)`` whose storage is a persistent id. The unpickler here resolves only the
globals a state dict needs (``collections.OrderedDict``, ``_rebuild_tensor_v2`` and
``_rebuild_parameter``, the typed storage classes), each mapped to a small local function; any other global (a function, a
class, a module-level object) is refused, so a malicious file cannot execute code.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

__all__ = ["TorchFileError", "read_state_dict"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

_STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class TorchFileError(ValueError):
    """The file is not a readable torch state dict (the message says why, in one line)."""


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return _STORAGE_DTYPES[self.name]


class _Storage:
    """A storage whose bytes are filled in later (legacy files put them after the pickle)."""

    def __init__(self, dtype: np.dtype, numel: int):
        self.dtype = dtype
        self.numel = numel
        self.data: Optional[np.ndarray] = None


@dataclass
class _View:
    """A storage that is a slice of another one (legacy ``view_metadata``)."""

    root: _Storage
    offset: int
    numel: int


@dataclass
class _TensorRef:
    storage: Any
    offset: int
    size: tuple
    stride: tuple

    def materialise(self) -> np.ndarray:
        storage, offset = self.storage, self.offset
        if isinstance(storage, _View):
            storage, offset = storage.root, offset + storage.offset
        data = storage.data
        if data is None:
            raise TorchFileError("a tensor refers to a storage whose bytes are missing")
        if not self.size:
            return np.array(data[offset])  # a 0-d array
        last = offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if any(s < 0 for s in self.stride) or any(n < 0 for n in self.size) or offset < 0:
            raise TorchFileError(f"a tensor of size {self.size} has a negative stride, size or offset")
        if min(self.size) > 0 and (offset < 0 or last >= data.size):
            raise TorchFileError(f"a tensor of size {self.size} reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            data[offset:], shape=self.size, strides=[s * data.itemsize for s in self.stride], writeable=False
        )
        return np.array(view)  # a contiguous copy that owns its memory


def _rebuild_tensor(storage: Any, offset: int, size: tuple, stride: tuple, *_ignored: Any) -> _TensorRef:
    """Stands in for ``torch._utils._rebuild_tensor_v2`` (requires_grad, hooks, metadata ignored)."""
    return _TensorRef(storage, int(offset), tuple(int(n) for n in size), tuple(int(s) for s in stride))


def _rebuild_parameter(data: Any, *_ignored: Any) -> Any:
    """Stands in for ``torch._utils._rebuild_parameter`` (an ``nn.Parameter`` is its tensor)."""
    return data


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, storages: dict[str, Any]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise TorchFileError(f"refusing to load {module}.{name}: not part of a tensor state dict") from None

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) >= 5):
            raise TorchFileError(f"unknown persistent id {str(pid)[:60]}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"unsupported storage type {storage_type!r}")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, int(numel))
        root = self.storages[key]
        view = pid[5] if len(pid) > 5 else None
        if view is not None:  # legacy: (view_key, offset, view_size)
            _view_key, offset, view_numel = view
            return _View(root, int(offset), int(view_numel))
        return root


def _load_one(f: Any) -> Any:
    """One plain pickle (header fields): plain Python values only."""
    return _Unpickler(f, {}).load()


def _fill_legacy_storages(f: Any, storages: dict[str, _Storage]) -> None:
    keys = _load_one(f)
    if not isinstance(keys, list):
        raise TorchFileError("the storage key list is missing")
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise TorchFileError(f"storage {key} is listed but no tensor uses it")
        header = f.read(8)
        if len(header) != 8:
            raise TorchFileError("the file ends before all storages are read (truncated?)")
        (numel,) = struct.unpack("<q", header)
        nbytes = numel * storage.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise TorchFileError("the file ends inside a storage (truncated?)")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)


def _read_legacy(f: Any) -> Any:
    magic = _load_one(f)
    if magic != LEGACY_MAGIC:
        raise TorchFileError("not a torch file (wrong magic number)")
    protocol = _load_one(f)
    if protocol != LEGACY_PROTOCOL:
        raise TorchFileError(f"unsupported torch legacy protocol version {protocol}")
    sys_info = _load_one(f)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise TorchFileError("big-endian torch files are not supported")
    storages: dict[str, _Storage] = {}
    obj = _Unpickler(f, storages).load()
    _fill_legacy_storages(f, storages)
    return obj


def _read_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise TorchFileError("a zip file without data.pkl: not a torch state dict")
        prefix = pkl[0][: -len("data.pkl")]
        storages: dict[str, _Storage] = {}
        obj = _Unpickler(io.BytesIO(archive.read(pkl[0])), storages).load()
        for key, storage in storages.items():
            try:
                raw = archive.read(f"{prefix}data/{key}")
            except KeyError:
                raise TorchFileError(f"storage data/{key} is missing from the archive") from None
            storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return obj


def _materialise(obj: Any) -> Any:
    if isinstance(obj, _TensorRef):
        return obj.materialise()
    if isinstance(obj, dict):
        return OrderedDict((k, _materialise(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    return obj


def read_state_dict(path: "str | Path") -> "OrderedDict[str, np.ndarray]":
    """The tensors of a torch state dict file (legacy or zip format) as numpy arrays, by key.

    Raises :class:`TorchFileError` for a file that is not a torch state dict, uses a global
    outside the allowed set, or is truncated; ``OSError`` when it cannot be opened.
    """
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            obj = _read_zip(path)
        else:
            with open(path, "rb") as f:
                obj = _read_legacy(f)
    except TorchFileError:
        raise
    except (pickle.UnpicklingError, EOFError, struct.error, zipfile.BadZipFile, ValueError, TypeError) as exc:
        raise TorchFileError(f"not a readable torch file ({type(exc).__name__}: {exc})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]  # a training checkpoint {"state_dict": ..., ...}
    if not isinstance(obj, dict):
        raise TorchFileError(f"the file holds a {type(obj).__name__}, not a state dict")
    out = _materialise(obj)
    return OrderedDict((str(k), v) for k, v in out.items() if isinstance(v, np.ndarray))
