"""A plugin "installed" for one test: a module and its ``.dist-info`` with an entry point, in a folder to put on ``sys.path``.

``importlib.metadata`` finds the distribution as it finds a pip-installed one, so the
host discovers the plugin through the ``adaptkit`` entry-point group exactly as it
discovers a real one (``adaptkit plugins`` shows its distribution and version).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

__all__ = ["write_distribution"]


def write_distribution(site: Path, module: str, source: str, version: str = "0.1", group: str = "adaptkit") -> Path:
    """Write ``site/<module>.py`` (``source``, dedented) and ``site/<module>-<version>.dist-info`` whose
    ``entry_points.txt`` names it in ``group`` (entry name: ``module`` without ``adaptkit_``); return
    ``site``. Put it on the path (``monkeypatch.syspath_prepend(site)``) and reset the plugin host."""
    site = Path(site)
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    dist = site / f"{module}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{module.removeprefix('adaptkit_')} = {module}\n")
    return site
