"""What a rule is.

A rule is a small class: a stable `code`, a `family`, optional `requires` (codes of rules that must not
have failed), a one-line docstring that is its description, and a `check` that reads facts (and the
matrix) and returns an outcome. Rules never probe and never import torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Fix, Severity


@dataclass(frozen=True)
class Context:
    """What a rule may read. `python` is the interpreter that fixes must target (`<python> -m pip ...`)."""

    facts: Facts
    matrix: Any  # ftdoctor.matrix.Matrix; typed loosely so rules modules need not import the loader
    settings: Any = None  # ftdoctor.rules.settings.Settings

    @property
    def python(self) -> str:
        return self.facts.python.executable or "python"

    def pip(self, *args: str) -> str:
        return " ".join([_quote(self.python), "-m", "pip", *(_requirement(a) for a in args)])


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


# A requirement such as `trl>=1.0` pasted unquoted makes the shell redirect into a file named `=1.0`
# and pip install the newest release; `pkg[extra]` is a glob in zsh. Arguments a rule already quoted
# (or that carry a shell expansion on purpose) are left as written.
_SHELL_SPECIAL = re.compile(r"[<>|&;()\[\]*?! ~]")


def _requirement(arg: str) -> str:
    if arg[:1] in "\"'" or "$" in arg or not _SHELL_SPECIAL.search(arg):
        return arg
    return f'"{arg}"'


@dataclass(frozen=True)
class Pass:
    """The rule applies and found nothing wrong. `message` says what was checked, shown with -v."""

    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    location: str | None = None  # "config.yml:12" when the finding is about a line of a file


@dataclass(frozen=True)
class Fail:
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fixes: tuple[Fix, ...] = ()
    severity: Severity | None = None  # None: the rule's default severity
    location: str | None = None


@dataclass(frozen=True)
class Info:
    """Worth knowing, not a problem (shown with -v)."""

    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fixes: tuple[Fix, ...] = ()
    location: str | None = None


@dataclass(frozen=True)
class NotApplicable:
    """The rule has nothing to judge on this machine (no GPU for a GPU rule, say)."""

    reason: str


@dataclass(frozen=True)
class Unknown:
    """A fact the rule needs could not be determined. Never reported as ok."""

    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    location: str | None = None


Outcome = Pass | Fail | Info | NotApplicable | Unknown
# A rule about a file may return several outcomes (one per offending line); an empty list means it passed.
Outcomes = Outcome | list[Outcome] | tuple[Outcome, ...]


class Rule:
    code: ClassVar[str]
    family: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    requires: ClassVar[frozenset[str]] = frozenset()

    def check(self, ctx: Context) -> Outcomes:  # pragma: no cover - every rule overrides it
        raise NotImplementedError

    @classmethod
    def description(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0]


class PackageInstalled(Rule):
    """The first rule of a package's family: is it installed? The family's other rules require it, so on a
    machine without the package they are skipped rather than failed."""

    package: ClassVar[str]
    severity = Severity.INFO

    def check(self, ctx: Context) -> Pass | NotApplicable:
        dist = ctx.facts.distribution(self.package)
        if dist is None:
            return NotApplicable(f"{self.package} is not installed")
        return Pass(f"{self.package} {dist.version}", {"version": dist.version})
