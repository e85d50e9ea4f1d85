"""Facts to JSON and back. Loading validates every key and type, so a truncated, hand-edited or foreign
file is reported as one line naming the file and the key, never as a traceback deep inside a rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftdoctor import __version__
from ftdoctor.errors import InputFileError, unreadable
from ftdoctor.facts.model import SCHEMA, Facts
from ftdoctor.typed_data import DataError, from_plain, to_plain


def dumps(facts: Facts) -> str:
    return json.dumps(to_plain(facts), indent=2) + "\n"


def from_dict(data: Any, *, where: str = "facts") -> Facts:
    found = data.get("schema") if isinstance(data, dict) else None
    if isinstance(found, str) and found.startswith("ftdoctor-facts/") and found != SCHEMA:
        raise InputFileError(
            f"a facts snapshot of another ftdoctor version (schema {found!r}; this ftdoctor {__version__} reads {SCHEMA!r})",
            where=where,
            hint="judge it with the ftdoctor that saved it, or save it again with this one (`ftdoctor check --save-facts FILE`)",
        )
    if found != SCHEMA:
        raise InputFileError(
            f"not an ftdoctor facts snapshot (schema {found!r}, expected {SCHEMA!r})",
            where=where,
            hint="create one with `ftdoctor check --save-facts FILE`",
        )
    try:
        return from_plain(Facts, data)
    except DataError as exc:
        raise InputFileError(
            f"key {exc.path}: {exc.message}",
            where=where,
            hint="the snapshot is damaged or from another ftdoctor version; save it again with --save-facts",
        ) from None


def read_json(path: str | Path, *, what: str, hint: str) -> Any:
    """Read a JSON file a user named, turning every way it can be wrong into one InputFileError."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"not a text file, expected {what}", where=str(file), hint=hint) from None
    except OSError as exc:
        raise unreadable(exc, str(file), what) from None
    if not text.strip():
        raise InputFileError(f"empty file, expected {what}", where=str(file), hint=hint)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"not valid JSON ({exc.msg})", where=f"{file}:{exc.lineno}:{exc.colno}", hint=hint
        ) from None


def load(path: str | Path) -> Facts:
    data = read_json(path, what="a facts JSON file", hint="save it again with `ftdoctor check --save-facts FILE`")
    return from_dict(data, where=str(path))
