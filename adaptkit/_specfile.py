"""Reading specs: YAML/JSON files, ``--set`` overrides, validation with the files checked.

Parsing is bounded (:mod:`adaptkit._specload`); pydantic's errors become dotted
SpecErrors (:mod:`adaptkit._specerrors`). No TensorFlow here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import ValidationError

from ._errors import SpecError, shown
from ._paths import SPEC_DIR
from ._plugins import PluginHost, get_host
from ._spec import build_spec_model
from ._specerrors import SpecErrors, spec_errors
from ._specload import MAX_BYTES, MAX_DEPTH, check_tree, dotted, parse_json, parse_yaml

__all__ = ["SpecErrors", "read_spec_file", "parse_overrides", "apply_overrides", "spec_errors", "load_spec", "load_spec_file"]


def _read_bytes(path: Path, where: str) -> bytes:
    """The file's bytes: a regular file of at most :data:`MAX_BYTES`."""
    try:
        if path.is_dir():
            raise SpecError(where, "is a folder, not a spec file")
        if not path.exists():
            raise SpecError(where, "no such spec file")
        if not path.is_file():
            raise SpecError(where, "not a regular file")
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecError(where, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise SpecError(where, f"larger than {MAX_BYTES // 1024:,} KiB: not a spec file?")
    return raw


def read_spec_file(path: Union[str, Path]) -> dict[str, Any]:
    where = str(path)
    raw = _read_bytes(Path(path), where)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(where, f"not UTF-8 text (byte {exc.start})") from None
    fmt = "JSON" if Path(path).suffix.lower() == ".json" else "YAML"
    try:
        data = parse_json(text, where) if fmt == "JSON" else parse_yaml(text, where)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" at line {mark.line + 1}" if mark is not None else ""
        words = " ".join(filter(None, [exc.context, exc.problem])) or str(exc)  # "expected ... but found ..."
        raise SpecError(where, f"not valid YAML{at}: {shown(words, 200, quote=False)}") from None
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or b"\0")
        raise SpecError(where, f"not valid YAML: character #x{code:04x} at position {exc.position} is not allowed") from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:  # JSONDecodeError; a YAML date like 2024-13-01
        raise SpecError(where, f"not valid {fmt}: {shown(str(exc), quote=False)}") from None
    except RecursionError:  # a backstop: the reader's depth limit should come first
        raise SpecError(where, "nested too deeply") from None
    if not isinstance(data, dict):
        raise SpecError(where, "a spec must be a mapping of keys to values")
    return data


def _not_a_path(item: str) -> SpecError:
    return SpecError("--set", f"{shown(item)} is not path.to.key=value")


def parse_overrides(items: Optional[list[str]]) -> list[tuple[list[str], Any]]:
    """``path.to.key=value`` strings -> (path, YAML-parsed value)."""
    out = []
    for item in items or []:
        key, sep, raw = item.partition("=")
        path = [part.strip() for part in key.split(".")]
        if not sep or not all(path):
            raise _not_a_path(item)
        if len(path) > MAX_DEPTH:
            raise SpecError("--set", f"{shown(key)}: nested deeper than {MAX_DEPTH} levels")
        try:
            value = parse_yaml(raw, "--set", path) if raw.strip() else ""
        except (yaml.YAMLError, ValueError, OverflowError):  # not YAML: the text itself
            value = raw
        out.append((path, value))
    return out


def apply_overrides(data: dict[str, Any], overrides: list[tuple[list[str], Any]]) -> dict[str, Any]:
    for path, value in overrides:
        node: Any = data
        for i, part in enumerate(path):
            last = i == len(path) - 1
            where = dotted(path[: i + 1])
            if isinstance(node, list):
                index = int(part) if part.isascii() and part.isdigit() and len(part) < 10 else None
                if index is None or index >= len(node):
                    raise SpecError(where, f"--set: no list item {shown(part, quote=False)} (the list has {len(node)})")
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                raise SpecError(where, "--set: the parent is not a mapping or list")
    return data


def load_spec(data: dict[str, Any], host: Optional[PluginHost] = None, spec_dir: Optional[Path] = None) -> Any:
    """Validate a spec mapping; raise ``SpecErrors`` listing every problem.

    With ``spec_dir`` (the spec file's folder), the files and folders the spec names
    must exist (see :mod:`adaptkit._paths`)."""
    host = host or get_host()
    check_tree(data)
    model = build_spec_model(host)
    context: dict[str, Any] = {"host": host}
    if spec_dir is not None:
        context[SPEC_DIR] = Path(spec_dir)
    try:
        validated = model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = spec_errors(exc, data, host, model)
        if isinstance(data, dict) and data.get("head") is None and data.get("tasks") is None:
            errors.insert(0, SpecError("head", "required key is missing"))  # the after-check did not run
        raise SpecErrors(errors) from None
    if validated.sweep is not None:  # every trial's spec must validate too
        from ._sweep_plan import check_trials

        check_trials(data, validated.sweep, host, spec_dir)
    return validated


def load_spec_file(
    path: Union[str, Path],
    overrides: Optional[list[str]] = None,
    host: Optional[PluginHost] = None,
    check_files: bool = True,
) -> Any:
    """Read, override and validate a spec file; ``check_files``: the files it names must exist
    (resolved against the spec's folder, as the loaders resolve them)."""
    data = read_spec_file(path)
    data = apply_overrides(data, parse_overrides(overrides))
    return load_spec(data, host, Path(path).resolve().parent if check_files else None)
