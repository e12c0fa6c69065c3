"""Unions of one section family's kinds: for the spec's own keys, and for plugin sections
that hold a section of another family (:func:`section_of`).

A family's union is discriminated by ``kind`` (by ``name`` for optimizers, whose
``kind`` field carries that alias). When the family's base has a ``default_kind``,
a mapping without the kind gets it. Pydantic only: no TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Optional, Union

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter
from pydantic_core import core_schema

from ._sections import SECTION_BASES, Section

if TYPE_CHECKING:  # pragma: no cover
    from ._plugins import PluginHost

__all__ = ["family_union", "section_of", "tag_key", "nested_family"]


def tag_key(family: str) -> str:
    """The key a spec names the kind with: ``kind``, or its alias (``name`` for optimizers)."""
    return SECTION_BASES[family].model_fields["kind"].alias or "kind"


def _fill_kind(family: str, value: Any) -> Any:
    if isinstance(value, dict) and "kind" not in value and tag_key(family) not in value:
        return {tag_key(family): SECTION_BASES[family].default_kind, **value}
    return value


def family_union(host: "PluginHost", family: str) -> Any:
    """The annotation of a spec key that holds one section of ``family``, for ``host``'s kinds."""
    classes = host.section_classes(family)
    if not classes:
        broken = [f"{p.name} ({p.status})" for p in host.broken()]
        message = f"no installed plugin provides {family} kinds" + (
            "; broken plugins: " + ", ".join(broken) if broken else ""
        )

        def refuse(value: Any) -> Any:
            raise ValueError(message)

        return Annotated[Any, AfterValidator(refuse), Field(json_schema_extra={"description": message})]
    union = Union[tuple(classes)]
    if SECTION_BASES[family].default_kind is None:
        return Annotated[union, Field(discriminator="kind")]
    return Annotated[union, Field(discriminator="kind"), BeforeValidator(partial(_fill_kind, family))]


_ADAPTERS: dict[tuple, TypeAdapter] = {}


def _adapter(host: "PluginHost", family: str) -> TypeAdapter:
    key = (id(host), family, tuple(host.section_classes(family)))
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(family_union(host, family))
    return _ADAPTERS[key]


@dataclass(frozen=True)
class _Nested:
    """Pydantic metadata: validate against the family's kinds of the host at validation time."""

    family: str
    defaults: tuple

    def _host(self, info: Any) -> "PluginHost":
        context = getattr(info, "context", None) or {}
        if context.get("host") is not None:
            return context["host"]
        from ._plugins import get_host

        return get_host()

    def _validate(self, value: Any, info: Any) -> Any:
        if isinstance(value, SECTION_BASES[self.family]):
            return value
        host = self._host(info)
        value = _fill_kind(self.family, value)
        if isinstance(value, dict) and self.defaults:
            kind = value.get("kind", value.get(tag_key(self.family)))
            found = host.sections[self.family].get(kind) if isinstance(kind, str) else None
            if found is not None:
                fields = found[0].model_fields
                value = {**{k: v for k, v in self.defaults if k in fields}, **value}
        return _adapter(host, self.family).validate_python(value, context=getattr(info, "context", None))

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        def dump(value: Any, info: Any) -> Any:
            return value.model_dump(mode=info.mode, by_alias=True) if isinstance(value, Section) else value

        return core_schema.with_info_plain_validator_function(
            self._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(dump, info_arg=True),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        from ._plugins import get_host

        return handler(_adapter(get_host(), self.family).core_schema)


def nested_family(metadata: Any) -> Optional[str]:
    """The family a field's metadata item validates against (from :func:`section_of`), else None."""
    return metadata.family if isinstance(metadata, _Nested) else None


def section_of(family: str, **defaults: Any) -> Any:
    """The annotation of a plugin section's field that holds a section of another family.

    ``optimizer: adaptkit.section_of("optimizer", beta_1=0.5) = Field({}, validate_default=True,
    description=...)`` accepts every installed optimizer kind (``{name: sgd, momentum: 0.9}``),
    exactly as a stage's ``optimizer`` does; ``defaults`` replace a kind's own defaults for the
    fields that kind has (here: adam's ``beta_1`` is 0.5 unless the spec says otherwise). The
    kinds are those of the host validating the spec (``load_spec(data, host)``), else of
    :func:`adaptkit.get_host`.
    """
    if family not in SECTION_BASES:
        raise ValueError(f"no section family {family!r} (families: {', '.join(SECTION_BASES)})")
    return Annotated[SECTION_BASES[family], _Nested(family, tuple(sorted(defaults.items())))]
