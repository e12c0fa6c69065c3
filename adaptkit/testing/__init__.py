"""adaptkit's test kit for plugin authors: tiny real data, runs through the real CLI, one piece built on dummy inputs, whole-plugin checks.

It is a pytest plugin (entry point ``pytest11: adaptkit``): with adaptkit installed, the
fixtures below are in every test session; without the entry point, ``pytest -p adaptkit.testing``.

    from adaptkit.testing import build_head, check_plugin, digits_spec, run_spec

    def test_my_plugin_is_sound():
        check_plugin("adaptkit_mine")            # imports without TensorFlow, every kind answered

    def test_my_head_trains(tmp_path, adaptkit_digits):
        run = run_spec(tmp_path, digits_spec(adaptkit_digits, head={"kind": "my_head"}))
        assert run.metrics["test/accuracy"] > 0.5

Fixtures: ``adaptkit_digits`` (400 real UCI digits, 8x8), ``adaptkit_digits_flat``,
``adaptkit_moons`` (a rotated-moons domain shift), ``adaptkit_host``. Nothing here needs
scikit-learn, and importing it does not import TensorFlow.
"""

from ._build import BuiltHead, LossCheck, build_head, compose_loss, context, dummy_parts, fake_step_batch, section
from ._checks import PluginCheck, check_plugin, check_save_reload
from ._data import digits_arrays, digits_spec, make_moons, moons_spec, write_digits, write_rotated_moons
from ._install import write_distribution
from ._runs import SpecRun, expect_error, run_spec

try:  # the fixtures need pytest; the helpers above do not
    from ._fixtures import adaptkit_digits, adaptkit_digits_flat, adaptkit_host, adaptkit_moons  # noqa: F401
except ImportError:  # pragma: no cover
    pass

__all__ = [
    "BuiltHead",
    "LossCheck",
    "PluginCheck",
    "SpecRun",
    "build_head",
    "check_plugin",
    "check_save_reload",
    "compose_loss",
    "context",
    "digits_arrays",
    "digits_spec",
    "dummy_parts",
    "expect_error",
    "fake_step_batch",
    "make_moons",
    "moons_spec",
    "run_spec",
    "section",
    "write_digits",
    "write_distribution",
    "write_rotated_moons",
]
