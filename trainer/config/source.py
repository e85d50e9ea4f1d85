"""Read a YAML config into plain data while keeping the line of every key.

PyYAML's composer gives nodes with marks; we walk them once, constructing scalars with the safe
constructor (so values are exactly what `yaml.safe_load` gives) and recording the 1-based line of each
key path. Everything a user can get wrong about the file itself (not text, not YAML, empty, a list at the
top) is one `InputFileError` with the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdoctor.errors import InputFileError

KeyPath = tuple[str | int, ...]
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # a training config is a few KiB; anything this big is not one
HINT = "a training config is a YAML mapping such as `base_model: ...` on the first line"


@dataclass(frozen=True)
class Duplicate:
    path: KeyPath
    first_line: int
    line: int


@dataclass
class Source:
    """The config file's data, with the line of every key path and the duplicates YAML silently resolved."""

    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)

    def line(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def where(self, path: KeyPath = ()) -> str:
        """`file:LINE`; a key that is absent (a missing required key) points at the first line."""
        return f"{self.path}:{self.line(path) or 1}"


def read_source(path: str | Path) -> Source:
    file = Path(path)
    text = _read_text(file)
    return parse_source(text, file)


def parse_source(text: str, file: Path) -> Source:
    import yaml

    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise InputFileError("empty config (no keys)", where=str(file), hint=HINT)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, file) from None
    except yaml.YAMLError as exc:
        raise InputFileError(f"not valid YAML ({exc})", where=str(file), hint=HINT) from None
    finally:
        loader.dispose()
    if node is None:
        raise InputFileError("empty config (no keys)", where=str(file), hint=HINT)
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else f"a single value ({node.value!r:.40})"
        raise InputFileError(
            f"the top level is {kind}, not a mapping of keys", where=f"{file}:{node.start_mark.line + 1}", hint=HINT
        )
    source = Source(path=file, data={})
    walker = _Walker(loader, source)
    source.data = walker.mapping(node, ())
    return source


def _read_text(file: Path) -> str:
    try:
        size = file.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise InputFileError(f"{size:,} bytes is far too large for a training config", where=str(file), hint=HINT)
        raw = file.read_bytes()
    except FileNotFoundError:
        raise InputFileError("no such config file", where=str(file), hint="check the path") from None
    except IsADirectoryError:
        raise InputFileError("is a directory, expected a YAML config file", where=str(file)) from None
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(file)) from None
    if b"\x00" in raw[:8192]:
        raise InputFileError("a binary file, not a YAML config", where=str(file), hint=HINT)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError("not UTF-8 text", where=f"{file}:{line}", hint="save the config as UTF-8") from None


def _yaml_error(exc: Any, file: Path) -> InputFileError:
    mark = exc.problem_mark or exc.context_mark
    where = f"{file}:{mark.line + 1}" if mark else str(file)
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{exc.context}: {problem}" if "expected a single document" not in exc.context else exc.context
    return InputFileError(f"not valid YAML ({problem})", where=where, hint="check the indentation and quoting there")


class _Walker:
    def __init__(self, loader: Any, source: Source) -> None:
        self.loader = loader
        self.source = source

    def value(self, node: Any, path: KeyPath) -> Any:
        import yaml

        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.source.lines[path + (index,)] = child.start_mark.line + 1
                items.append(self.value(child, path + (index,)))
            return items
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise _yaml_error(exc, self.source.path) from None

    def mapping(self, node: Any, path: KeyPath) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merges in place
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, path)
            if not isinstance(key, str):
                key = str(key) if not isinstance(key, (dict, list)) else repr(key)
            child = path + (key,)
            line = key_node.start_mark.line + 1
            if key in result:
                self.source.duplicates.append(Duplicate(child, self.source.lines[child], line))
            self.source.lines[child] = line
            result[key] = self.value(value_node, child)
        return result
