"""The pytest fixtures of adaptkit's test kit (``adaptkit.testing`` is a pytest plugin: they are in every test).

Session-scoped data files, written once with numpy alone, and a fresh plugin host
around a test that needs one. Import-light: no TensorFlow until a fixture builds something.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from ._data import write_digits, write_rotated_moons

__all__ = ["adaptkit_digits", "adaptkit_digits_flat", "adaptkit_moons", "adaptkit_host"]


@pytest.fixture(scope="session")
def adaptkit_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``.npz`` of 400 real UCI digits: ``x`` float32 ``(400, 8, 8, 1)`` grey levels 0..16 (use
    ``scale: 0.0625``), ``y`` int64 0..9, 40 per class; core's ``arrays`` kind reads it."""
    return write_digits(tmp_path_factory.mktemp("adaptkit-digits") / "digits.npz")


@pytest.fixture(scope="session")
def adaptkit_digits_flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 400 digits with ``x`` flattened to ``(400, 64)`` vectors."""
    return write_digits(tmp_path_factory.mktemp("adaptkit-digits-flat") / "digits.npz", flat=True)


@pytest.fixture(scope="session")
def adaptkit_moons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``source.npz``, ``source_test.npz`` and ``target.npz`` (two moons, the target
    rotated by 30 degrees): a domain shift for domain-adaptation losses; see ``moons_spec``."""
    folder = tmp_path_factory.mktemp("adaptkit-moons")
    write_rotated_moons(folder)
    return folder


@pytest.fixture
def adaptkit_host() -> Iterator[object]:
    """The process plugin host, loaded afresh for the test and forgotten after it (a test that
    installs or disables plugins, or sets ``ADAPTKIT_DISABLE_PLUGINS``, sees its own)."""
    from .._plugins import get_host, reset_host

    reset_host()
    yield get_host()
    reset_host()
