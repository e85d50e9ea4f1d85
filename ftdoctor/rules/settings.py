"""Rule selection from `--select/--ignore` and `[tool.ftdoctor]` in the nearest pyproject.toml.

    [tool.ftdoctor]
    fail-on = "error"                       # "warning" (the default) fails on warnings too
    select = ["DRV", "ARC"]                 # code prefixes; empty means all
    ignore = { TLK401 = "we never build CUDA extensions" }   # or a list of prefixes

An ignored rule is reported as skipped with its reason, never silently dropped. Between a select and an
ignore entry that both match a code, the longer prefix wins (flake8's decision engine).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ftdoctor.errors import InputFileError

FAIL_ON = ("error", "warning")


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: dict[str, str] = field(default_factory=dict)  # prefix -> reason
    fail_on: str = "warning"
    source: str | None = None  # the pyproject.toml the settings came from

    def skip_reason(self, code: str) -> str | None:
        """Why `code` is not judged, or None when it is."""
        skip = self.skip(code)
        return skip[1] if skip else None

    def skip(self, code: str) -> tuple[str, str] | None:
        """("select" | "ignore", reason) when `code` is not judged, else None. Renderers show ignored rules
        (a decision someone wrote down, with a reason) even where unselected ones stay quiet."""
        ignored = max((p for p in self.ignore if code.startswith(p)), key=len, default=None)
        selected = max((p for p in self.select if code.startswith(p)), key=len, default=None)
        if self.select and selected is None:
            return "select", "not selected (--select / [tool.ftdoctor] select)"
        if ignored is not None and (selected is None or len(ignored) >= len(selected)):
            return "ignore", f"ignored: {self.ignore[ignored]}"
        return None

    def merged(self, *, select: list[str] | None, ignore: list[str] | None, fail_on: str | None) -> Settings:
        """Command-line options on top of the file: they add to ignore and replace select. A prefix that names
        no rule is refused: `--select DRV1O0` would otherwise judge nothing and pass."""
        _check_prefixes("--select", select or ())
        _check_prefixes("--ignore", ignore or ())
        more = {p: "--ignore on the command line" for p in (ignore or [])}
        return Settings(
            select=tuple(select) if select else self.select,
            ignore={**self.ignore, **more},
            fail_on=fail_on or self.fail_on,
            source=self.source,
        )


LIST_RULES = "`ftdoctor check --list-rules` and `ftdoctor train --list-rules` list them"


def _check_prefixes(option: str, prefixes) -> None:
    unknown = _unknown_prefixes(prefixes)
    if unknown:
        from ftdoctor.errors import UsageError

        raise UsageError(f"{unknown[0]} is not a rule code or the start of one", where=option, hint=LIST_RULES)


def _unknown_prefixes(prefixes) -> list[str]:
    if not prefixes:
        return []
    from ftdoctor.rules import all_codes

    codes = all_codes()
    return [p for p in prefixes if not any(code.startswith(p) for code in codes)]


def find_pyproject(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path | None = None) -> Settings:
    path = find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(f"cannot read [tool.ftdoctor]: {exc}", where=str(path)) from None
    section = data.get("tool", {}).get("ftdoctor")
    if section is None:
        return Settings()
    return _parse(section, str(path))


def _parse(section: object, where: str) -> Settings:
    if not isinstance(section, dict):
        raise InputFileError("[tool.ftdoctor] must be a table", where=where)
    unknown = sorted(set(section) - {"select", "ignore", "fail-on"})
    if unknown:
        raise InputFileError(
            f"[tool.ftdoctor] has an unknown key {unknown[0]!r}", where=where, hint="known keys: select, ignore, fail-on"
        )
    select = section.get("select", [])
    if not (isinstance(select, list) and all(isinstance(s, str) for s in select)):
        raise InputFileError("[tool.ftdoctor] select must be a list of code prefixes", where=where)
    ignore = section.get("ignore", {})
    if isinstance(ignore, list) and all(isinstance(s, str) for s in ignore):
        ignore = {prefix: f"[tool.ftdoctor] ignore in {where}" for prefix in ignore}
    elif not (isinstance(ignore, dict) and all(isinstance(v, str) for v in ignore.values())):
        raise InputFileError(
            "[tool.ftdoctor] ignore must be a list of prefixes or a table of prefix = \"reason\"", where=where
        )
    fail_on = section.get("fail-on", "warning")
    if fail_on not in FAIL_ON:
        raise InputFileError(f"[tool.ftdoctor] fail-on must be one of {', '.join(FAIL_ON)}", where=where)
    # as on the command line: any case, and a prefix that names no rule is refused (a select that matches
    # nothing would judge nothing and pass; an ignore that matches nothing leaves the rule the writer meant on)
    select = [s.strip().upper() for s in select]
    ignore = {prefix.strip().upper(): reason for prefix, reason in ignore.items()}
    for key, prefixes in (("select", select), ("ignore", list(ignore))):
        unknown = _unknown_prefixes(prefixes)
        if unknown:
            raise InputFileError(f"[tool.ftdoctor] {key}: {unknown[0]} is not a rule code or the start of one",
                                 where=where, hint=LIST_RULES)
    return Settings(select=tuple(select), ignore=ignore, fail_on=fail_on, source=where)
