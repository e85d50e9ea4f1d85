"""The knowledge behind `explain`, loaded from data: `signatures/*.toml` and `categories.toml`.

A signature names one way a fine-tuning run fails. It carries a category from the vocabulary, `keywords`
(lower-case substrings that make a line a candidate, so the regexes run only on candidate lines),
`patterns` (regexes whose named groups pull the specifics out of the log), a `cause` template, `fixes`
templates, a `confidence` and the `source` that established the cause. Markers are patterns that only
support or gate signatures (`requires_near`, `supports`, `excluded_near`). Lookup tables map a captured
value (a renamed argument, a removed name) to entry-specific causes and fixes; version floors are not kept
here but in the matrix (`compat_matrix/`), read through `ftdoctor.explain.context`.

Templates use `{name}` placeholders filled from the log's named groups, `derive`d values, lookup entries
and, when facts are given, this environment (see `ftdoctor.explain.context`); a `[[...]]` segment is
dropped when one of its placeholders is unknown. Everything is validated at load: a malformed file is a
bug in ftdoctor and fails with the file and key (the test suite loads every file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from ftdoctor.errors import MatrixError
from ftdoctor.explain.checks import FACTS_CHECKS
from ftdoctor.explain.context import FACTS_VARS, LOG_VARS
from ftdoctor.explain.template import placeholders
from ftdoctor.explain.convert import CONVERTERS, GUARDS

SCHEMA = "ftdoctor-signatures/1"
ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class FixTemplate:
    summary: str
    commands: tuple[str, ...] = ()
    link: str | None = None
    # "facts": only with facts (and every placeholder filled); "no_facts": only when no "facts" fix of the
    # signature was shown; "otherwise": only when no earlier fix of the signature was shown.
    when: Literal["always", "facts", "no_facts", "otherwise"] = "always"


@dataclass(frozen=True)
class LookupEntry:
    """One row of a lookup table; its fields override the signature's when the captured key matches."""

    key: str
    source: str
    owner: str = ""  # regex the signature's `owner` group must match (e.g. the class that got the argument)
    cause: str = ""
    fixes: tuple[FixTemplate, ...] = ()
    confidence: float | None = None
    category: str = ""
    vars: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_source(self.source)
        if self.owner:
            _compile(self.owner, "owner")


@dataclass(frozen=True)
class Marker:
    id: str
    keywords: tuple[str, ...]
    patterns: tuple[str, ...]
    description: str = ""
    vars: dict[str, str] = field(default_factory=dict)  # values a signature near this marker may use

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_keywords(self.keywords)
        for pattern in self.patterns:
            _compile(pattern, "patterns")


@dataclass(frozen=True)
class Signature:
    id: str
    category: str
    title: str
    keywords: tuple[str, ...]
    patterns: tuple[str, ...]
    cause: str
    confidence: float
    source: str
    fixes: tuple[FixTemplate, ...] = ()
    span: int = 0  # following lines joined to the candidate line before matching (wrapped messages)
    near_lines: int = 40
    requires_near: tuple[str, ...] = ()  # markers that must occur within near_lines
    excluded_near: tuple[str, ...] = ()  # markers that veto the match within near_lines
    supports: dict[str, float] = field(default_factory=dict)  # marker -> confidence bonus when near
    supersedes: tuple[str, ...] = ()  # signatures this one replaces when both match
    derive: dict[str, str] = field(default_factory=dict)  # new name -> "converter:group"
    lookup: str = ""  # name of a lookup table
    lookup_key: str = ""  # the named group whose value is looked up
    guards: tuple[str, ...] = ()  # predicates on the specifics that must hold, e.g. "version_lt:requested,oldest"
    facts_check: str = ""  # a predicate in ftdoctor.explain.checks confirming or doubting this from facts

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_keywords(self.keywords)
        _check_source(self.source)
        if not self.patterns:
            raise ValueError("a signature needs at least one pattern")
        for pattern in self.patterns:
            _compile(pattern, "patterns")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie strictly between 0 and 1, found {self.confidence}")
        for name, spec in self.derive.items():
            converter = spec.partition(":")[0]
            if converter not in CONVERTERS:
                raise ValueError(f"derive.{name}: unknown converter {converter!r} (known: {', '.join(CONVERTERS)})")
        if bool(self.lookup) != bool(self.lookup_key):
            raise ValueError("lookup and lookup_key go together")
        for guard in self.guards:
            if guard.partition(":")[0] not in GUARDS:
                raise ValueError(f"guards: unknown predicate {guard!r} (known: {', '.join(GUARDS)})")
        if self.facts_check and self.facts_check not in FACTS_CHECKS:
            raise ValueError(f"facts_check: unknown check {self.facts_check!r} (known: {', '.join(FACTS_CHECKS)})")


@dataclass(frozen=True)
class SignatureFile:
    schema: str
    signature: tuple[Signature, ...] = ()
    marker: tuple[Marker, ...] = ()
    table: dict[str, tuple[LookupEntry, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Category:
    name: str
    title: str
    description: str


@dataclass(frozen=True)
class CategoryFile:
    schema: str
    category: tuple[Category, ...]


@dataclass(frozen=True)
class Catalog:
    signatures: tuple[Signature, ...]
    markers: tuple[Marker, ...]
    tables: dict[str, tuple[LookupEntry, ...]]
    categories: dict[str, Category]

    def signature(self, sig_id: str) -> Signature:
        return next(s for s in self.signatures if s.id == sig_id)


def _check_id(value: str) -> None:
    if not ID.match(value):
        raise ValueError(f"id {value!r} must be lower-case kebab-case")


def _check_keywords(keywords: tuple[str, ...]) -> None:
    if not keywords:
        raise ValueError("at least one keyword is needed (the prefilter only looks at lines containing one)")
    for word in keywords:
        if word != word.lower() or len(word) < 4:
            raise ValueError(f"keyword {word!r} must be lower-case and at least 4 characters long")


def _check_source(source: str) -> None:
    if not source.strip():
        raise ValueError("every entry needs a non-empty `source`")


def _compile(pattern: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what}: {pattern!r} is not a valid regex ({exc})") from None


def data_dir() -> Path:
    return Path(str(resources.files("ftdoctor.explain")))


def _read(path: Path, cls: type) -> object:
    from ftdoctor.matrix.load import read_file

    return read_file(path, cls, SCHEMA, "the explain catalog")


@cache
def load_catalog(directory: Path | None = None) -> Catalog:
    folder = directory or data_dir()
    categories = _read(folder / "categories.toml", CategoryFile).category  # type: ignore[attr-defined]
    files = [(p, _read(p, SignatureFile)) for p in sorted((folder / "signatures").glob("*.toml"))]
    catalog = Catalog(
        signatures=tuple(s for _, f in files for s in f.signature),  # type: ignore[attr-defined]
        markers=tuple(m for _, f in files for m in f.marker),  # type: ignore[attr-defined]
        tables={name: rows for _, f in files for name, rows in f.table.items()},  # type: ignore[attr-defined]
        categories={c.name: c for c in categories},
    )
    _check_references(catalog, folder)
    return catalog


def _check_references(catalog: Catalog, folder: Path) -> None:
    """Cross-file checks: unique ids, known categories, markers, tables and superseded signatures."""
    ids = [s.id for s in catalog.signatures] + [m.id for m in catalog.markers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise MatrixError(f"duplicate ids: {', '.join(duplicates)}", where=str(folder / "signatures"))
    markers = {m.id for m in catalog.markers}
    signatures = {s.id for s in catalog.signatures}
    for sig in catalog.signatures:
        problems = _reference_problems(sig, catalog, markers, signatures)
        if problems:
            raise MatrixError(problems[0], where=f"signature {sig.id}")


def _reference_problems(sig: Signature, catalog: Catalog, markers: set[str], signatures: set[str]) -> list[str]:
    problems = []
    categories = [sig.category] + [e.category for e in catalog.tables.get(sig.lookup, ()) if e.category]
    problems += [f"unknown category {c!r}" for c in categories if c not in catalog.categories]
    named = sig.requires_near + sig.excluded_near + tuple(sig.supports)
    problems += [f"unknown marker {m!r}" for m in named if m not in markers]
    problems += [f"supersedes unknown signature {s!r}" for s in sig.supersedes if s not in signatures]
    if sig.lookup and sig.lookup not in catalog.tables:
        problems.append(f"unknown lookup table {sig.lookup!r}")
    groups = {g for p in sig.patterns for g in re.compile(p).groupindex}
    if sig.lookup_key and sig.lookup_key not in groups:
        problems.append(f"lookup_key {sig.lookup_key!r} is not a named group of its patterns")
    clashes = sorted((groups | set(sig.derive)) & FACTS_VARS)
    problems += [f"group or derived name {name!r} shadows an environment value" for name in clashes]
    problems += _template_problems(sig, catalog, groups)
    return problems


def _template_problems(sig: Signature, catalog: Catalog, groups: set[str]) -> list[str]:
    """Every placeholder must name something that can exist: a typo or an unescaped brace is a bug."""
    entries = catalog.tables.get(sig.lookup, ())
    markers = [m for m in catalog.markers if m.id in (*sig.requires_near, *sig.supports)]
    known = set(FACTS_VARS | LOG_VARS | groups | set(sig.derive))
    known |= {k for e in entries for k in e.vars} | {k for m in markers for k in m.vars}
    known |= {g for m in markers for p in m.patterns for g in re.compile(p).groupindex}
    texts = [sig.cause] + [t for f in sig.fixes for t in (f.summary, *f.commands)]
    texts += [t for e in entries for t in (e.cause, *[x for f in e.fixes for x in (f.summary, *f.commands)])]
    problems = []
    for text in texts:
        try:
            names = placeholders(text)
        except ValueError as exc:
            problems.append(f"template {text[:60]!r}: {exc}")
            continue
        problems += [f"unknown placeholder {{{n}}} in {text[:60]!r}" for n in names if n.partition("[")[0] not in known]
    return problems
