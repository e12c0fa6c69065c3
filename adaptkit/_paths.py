"""Spec fields that name files or folders: resolved against the spec's folder, checked to exist up front.

A section declares such a field with one of the annotations below. When a spec is
read from a file (``validate``, and ``run`` before TensorFlow loads) each such value
is resolved exactly as :meth:`adaptkit.RunContext.resolve` resolves it for the
loaders, and a missing file or folder is an error at the field's dotted path, listed
with the spec's other errors. ``load_spec`` on a mapping, with no file and so no
folder to resolve against, checks nothing. No TensorFlow here.

    path: adaptkit.ExistingFile = Field(..., description="The .npz file.")
    weights: adaptkit.existing_path("file", keywords=("imagenet", "none")) = Field("imagenet", ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional, Union

from pydantic import Field
from pydantic_core import core_schema

from ._errors import shown

__all__ = ["resolve_path", "existing_path", "ExistingFile", "ExistingDir", "ExistingPath", "SPEC_DIR"]

SPEC_DIR = "spec_dir"
"""The validation-context key holding the spec's folder; when absent, paths are not checked."""

Kind = Literal["file", "dir", "any"]
_WORDS = {"file": "file", "dir": "folder", "any": "file or folder"}


def resolve_path(spec_dir: Union[str, Path], value: Union[str, Path]) -> Path:
    """A path from a spec: ``~`` expanded, relative to the spec's folder unless absolute."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else Path(spec_dir) / p


@dataclass(frozen=True)
class _MustExist:
    """Pydantic metadata: after validation, check that the value names an existing path."""

    kind: Kind
    keywords: tuple[str, ...] = ()
    local: Optional[Callable[[str], bool]] = None
    locate: Optional[Callable[[str, Path], Path]] = None

    def check(self, value: Any, info: Any) -> Any:
        spec_dir = (getattr(info, "context", None) or {}).get(SPEC_DIR)
        if spec_dir is None or not isinstance(value, str) or value in self.keywords:
            return value
        if self.local is not None and not self.local(value):
            return value
        path = self.locate(value, Path(spec_dir)) if self.locate else resolve_path(spec_dir, value)
        try:
            exists, is_file, is_dir = path.exists(), path.is_file(), path.is_dir()
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte
            raise ValueError(f"not a usable path ({type(exc).__name__}: {shown(str(exc), quote=False)})") from None
        if not exists:
            raise ValueError(f"no such {_WORDS[self.kind]}: {shown(str(path), 200, quote=False)}")
        if (self.kind == "file" and not is_file) or (self.kind == "dir" and not is_dir):
            raise ValueError(f"not a {_WORDS[self.kind]}: {shown(str(path), 200, quote=False)}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.with_info_after_validator_function(self.check, handler(source))


def existing_path(
    kind: Kind = "file",
    *,
    keywords: tuple[str, ...] = (),
    local: Optional[Callable[[str], bool]] = None,
    locate: Optional[Callable[[str, Path], Path]] = None,
) -> Any:
    """The annotation of a ``str`` field naming a file (``kind="file"``), a folder (``"dir"``)
    or either (``"any"``) that must exist when the spec is read from a file.

    ``keywords``: values that are not paths (``"imagenet"``); ``local(value)``: False for a
    value that is not a local path (a URL, a preset name) — unchecked; ``locate(value,
    spec_dir)``: the path to check, when the loader does not resolve the value against the
    spec's folder (raise ``ValueError`` with a message when there is none)."""
    return Annotated[str, Field(min_length=1), _MustExist(kind, tuple(keywords), local, locate)]


ExistingFile = existing_path("file")
"""A ``str`` field naming a file that must exist (relative to the spec's folder)."""
ExistingDir = existing_path("dir")
"""A ``str`` field naming a folder that must exist (relative to the spec's folder)."""
ExistingPath = existing_path("any")
"""A ``str`` field naming a file or folder that must exist (relative to the spec's folder)."""
