"""What `explain` returns: diagnoses ranked most likely first, each with the evidence that triggered it.

Plain frozen data, so the terminal renderer, the JSON envelope, the TUI and `train`'s crash report all
read the same objects. `Diagnosis.as_finding()` turns one into the shared `Finding` type for front ends
that already render findings (`check --verify`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftdoctor.findings import Finding, Fix, Severity

CONFIDENCE_LABELS = ((0.8, "high"), (0.55, "medium"), (0.0, "low"))


def confidence_label(value: float) -> str:
    return next(label for floor, label in CONFIDENCE_LABELS if value >= floor)


@dataclass(frozen=True)
class Evidence:
    """One log line that a signature matched: its 1-based line number and its text (cleaned, truncated)."""

    line: int
    text: str


@dataclass(frozen=True)
class Diagnosis:
    category: str  # from the vocabulary in categories.toml, e.g. "abi_mismatch"
    category_title: str
    signature: str  # the id of the signature that recognised it
    title: str  # what was recognised, in a few words
    cause: str  # one sentence with the specifics pulled from the log (and the facts, when given)
    confidence: float  # 0..1
    fixes: tuple[Fix, ...]
    evidence: tuple[Evidence, ...]
    specifics: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the public thread or release note that established the cause
    matches: int = 0  # how many log lines matched (evidence shows a few of them)
    facts_used: bool = False  # the fixes were computed for this environment
    notes: tuple[str, ...] = ()  # what the facts add: agreement, or a sign the log comes from elsewhere

    @property
    def confidence_label(self) -> str:
        return confidence_label(self.confidence)

    def as_finding(self, code: str, log: str | None = None) -> Finding:
        where = None
        if self.evidence:
            where = f"{log}:{self.evidence[0].line}" if log else f"log line {self.evidence[0].line}"
        return Finding(
            code=code,
            family="explain",
            severity=Severity.ERROR,
            title=self.category_title if self.title.lower() == self.category_title.lower() else f"{self.category_title}: {self.title}",
            message=self.cause,
            evidence={"category": self.category, "signature": self.signature, "confidence": self.confidence,
                      "lines": [e.line for e in self.evidence], **self.specifics},
            fixes=self.fixes,
            location=where,
        )


@dataclass(frozen=True)
class ReadStats:
    """How the input was read: enough to tell a user why a diagnosis may be missing."""

    bytes: int = 0
    lines: int = 0
    encoding: str = "utf-8"
    replaced: bool = False  # some bytes were not valid in the encoding and were replaced
    ansi_stripped: bool = False


@dataclass(frozen=True)
class Explanation:
    diagnoses: tuple[Diagnosis, ...]
    read: ReadStats
    facts_source: str = "none"  # "live" | "snapshot" | "none"
    last_error: Evidence | None = None  # the last line that looks like an error, shown when no cause is known

    @property
    def found(self) -> bool:
        return bool(self.diagnoses)
