"""``adaptkit new-plugin``: write a plugin package to start from, whose own tests pass as written.

    adaptkit-<name>/
        pyproject.toml            the ``adaptkit`` entry point
        README.md                 what it provides (the docs page)
        docs/<name>.md            the same page, for a docs folder
        adaptkit_<name>/__init__.py   hook implementations (no TensorFlow at import)
        adaptkit_<name>/sections.py   one section per kind, with descriptions
        adaptkit_<name>/build.py      the builders (TensorFlow inside the functions)
        adaptkit_<name>/layers.py     the head's registered Keras layer (``head`` only)
        tests/test_<name>.py          adaptkit.testing: a check of the plugin, a run, one test per kind

The package is written in a hidden folder and renamed when complete: nothing
half-written is left, and an existing folder is never touched. No TensorFlow here.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from string import Template

from . import _scaffold_code as C
from . import _scaffold_docs as D
from ._errors import SpecError

__all__ = ["KINDS", "new_plugin", "plugin_files"]

KINDS = ("loss", "head", "data", "source", "metric")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def parse_kinds(text: str) -> list[str]:
    """``"loss,head"`` -> the kinds in :data:`KINDS` order; a one-line ``SpecError`` at ``--kinds`` otherwise."""
    asked = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in asked if k not in KINDS]
    if unknown or not asked:
        raise SpecError("--kinds", f"{', '.join(map(repr, unknown)) or 'nothing'} is not a kind; choose from {', '.join(KINDS)}")
    return [k for k in KINDS if k in asked]


def _prefix(name: str) -> str:
    prefix = name.strip().lower().replace("-", "_")
    prefix = prefix[len("adaptkit_"):] if prefix.startswith("adaptkit_") else prefix
    if not NAME.match(prefix):
        raise SpecError("NAME", f"{name!r} is not a plugin name: use lower-case letters, digits, '_' or '-', starting with a letter")
    return prefix


def _example(prefix: str, kinds: list[str]) -> str:
    data = f"{{kind: {prefix}_csv, path: digits.csv}}" if "data" in kinds else "{kind: arrays, path: digits.npz, scale: 0.0625}"
    stage = f"{{epochs: 8, losses: [{{kind: {prefix}_confidence_penalty, weight: 0.1}}]}}" if "loss" in kinds else "{epochs: 8}"
    lines = [
        f"name: {prefix}-demo",
        "data:",
        f"  train: {data}",
        "  test_split: 0.25",
        f"source: {{kind: {prefix}_dense, units: 64}}" if "source" in kinds else "source: {kind: mlp, units: [32]}",
        f"head: {{kind: {prefix}_head, hidden: 32}}" if "head" in kinds else "head: {kind: classifier}",
        "training:",
        f"  stages: [{stage}]",
    ]
    if "metric" in kinds:  # listed metrics replace the defaults: keep the head's headline
        lines.append(f"evaluation: {{metrics: [{{kind: accuracy}}, {{kind: {prefix}_macro_f1}}]}}")
    return "\n".join(lines) + "\n"


def plugin_files(name: str, kinds: list[str]) -> dict[str, str]:
    """Relative path -> text of every file of the package ``adaptkit-<name>`` with ``kinds``."""
    prefix = _prefix(name)
    title = "; ".join(
        {"loss": "a confidence-penalty loss", "head": "a dense head", "data": "CSV data", "source": "a dense source model", "metric": "macro F1"}[k]
        for k in kinds
    )
    fill = {"prefix": prefix, "dist": prefix.replace("_", "-"), "title": title[0].upper() + title[1:]}
    pick = lambda blocks: "".join(blocks[k] for k in kinds if k in blocks)  # noqa: E731
    sectioned = [k for k in kinds if k in C.SECTIONS_CLASSES]
    sections = C.SECTIONS_HEAD + pick(C.SECTIONS) + "\n\nSECTIONS = [" + ", ".join(C.SECTIONS_CLASSES[k] for k in sectioned) + "]\n"
    if not sectioned:
        sections = sections.replace("from typing import Literal\n\nfrom pydantic import Field\n\nimport adaptkit\n", "")
    files = {
        "pyproject.toml": C.PYPROJECT,
        f"adaptkit_{prefix}/__init__.py": C.INIT_HEAD + pick(C.INIT) + C.SECTIONS_HOOK + "".join(C.hook(k) for k in kinds),
        f"adaptkit_{prefix}/sections.py": sections,
        f"adaptkit_{prefix}/build.py": C.BUILD_HEAD + pick(C.BUILD),
        f"tests/test_{prefix}.py": D.TESTS_HEAD.replace("$spec_lines", pick(D.SPEC_LINES)) + pick(D.TESTS),
    }
    if "head" in kinds:
        files[f"adaptkit_{prefix}/layers.py"] = C.LAYERS
    doc = D.DOC_HEAD.replace("$kind_rows", pick(D.KIND_ROWS)).replace("$example", _example(prefix, kinds))
    files[f"docs/{prefix}.md"] = doc
    files["README.md"] = doc
    return {path: Template(text).substitute(fill) for path, text in files.items()}


def new_plugin(name: str, kinds: str, output: Path) -> Path:
    """Write ``output/adaptkit-<name>`` for the comma-separated ``kinds``; return its folder."""
    chosen = parse_kinds(kinds)
    prefix = _prefix(name)
    folder = Path(output) / f"adaptkit-{prefix.replace('_', '-')}"
    if folder.exists() or folder.is_symlink():
        raise SpecError(str(folder), "already exists: choose another name or --output folder (nothing was written)")
    files = plugin_files(name, chosen)
    partial = None
    try:
        Path(output).mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=output))
        for rel, text in files.items():
            path = partial / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(partial, 0o755)  # mkdtemp's 0700 would be unusual for a source folder
        if folder.exists() or folder.is_symlink():  # appeared meanwhile: never replaced
            raise SpecError(str(folder), "already exists: choose another name or --output folder (nothing was written)")
        os.rename(partial, folder)
    except OSError as exc:
        raise SpecError("--output", f"cannot write {folder}: {exc.strerror or exc} (nothing was written)") from exc
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
    return folder
