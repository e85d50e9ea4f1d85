"""Cause and fix templates: `{name}` placeholders, `{versions[trl]}` lookups, and `[[...]]` segments that
disappear when one of their placeholders is unknown.

Values are inserted as they are, never re-parsed, so a captured `{'q_proj'}` cannot break a template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter
from typing import Any

OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.S)
_FORMATTER = Formatter()


class Missing(Exception):
    """A placeholder has no value."""


def placeholders(template: str) -> set[str]:
    """Every field name a template uses ('versions[trl]' included as written)."""
    names: set[str] = set()
    for piece in OPTIONAL.split(template):
        names.update(field for _, field, _, _ in _FORMATTER.parse(piece) if field)
    return names


def render(template: str, values: Mapping[str, Any]) -> str | None:
    """The filled template, or None when a placeholder outside every [[...]] segment is unknown."""
    parts = OPTIONAL.split(template)  # literal, optional, literal, optional, ...
    out = []
    for index, part in enumerate(parts):
        try:
            out.append(_fill(part, values))
        except Missing:
            if index % 2 == 0:
                return None
    return "".join(out)


def _fill(text: str, values: Mapping[str, Any]) -> str:
    out = []
    for literal, field, _spec, _conversion in _FORMATTER.parse(text):
        out.append(literal)
        if field is not None:
            out.append(_lookup(field, values))
    return "".join(out)


def _lookup(field: str, values: Mapping[str, Any]) -> str:
    base, _, rest = field.partition("[")
    value = values.get(base)
    if rest:
        key = rest.rstrip("]")
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None or value == "" or isinstance(value, Mapping):
        raise Missing(field)
    return str(value)
