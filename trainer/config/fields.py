"""How a schema field is declared: its default and ONE description, plus the value rules the validator
enforces. The docs page (docs/config.md) is generated from these declarations, so a field is documented
in exactly one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    doc: str
    group: str = ""
    choices: tuple[Any, ...] = ()  # allowed values for the str (or int) part of the type
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    trainer: bool = True  # False: accepted and checked, but ftdoctor's own trainer does not act on it


def key(default: Any = None, doc: str = "", *, group: str = "", choices: tuple[Any, ...] = (),
        minimum: float | None = None, maximum: float | None = None, required: bool = False,
        trainer: bool = True) -> Any:
    """A config key: `key(default, "what it does")`."""
    spec = Spec(doc=doc, group=group, choices=choices, minimum=minimum, maximum=maximum, required=required,
                trainer=trainer)
    return dataclasses.field(default=default, metadata={"spec": spec})


def extras() -> Any:
    """Keys Axolotl knows that this schema does not model: kept by name and value, never judged."""
    return dataclasses.field(default_factory=dict, metadata={"extras": True})


def spec_of(field: dataclasses.Field) -> Spec | None:
    return field.metadata.get("spec")


def schema_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The YAML keys of a schema class (its documented fields), by name."""
    return {f.name: f for f in dataclasses.fields(cls) if spec_of(f) is not None}
