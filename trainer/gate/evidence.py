"""What the gate's checks found, per requirement, and how strongly they know it.

Tiers, weakest to strongest: `installed` (package metadata), `probed` (torch imported and asked in a
subprocess: CUDA, devices, compute capability), `works` (a smoke op ran: a matmul, a 4-bit layer, an
all-reduce, ...). A check that could not tell is UNKNOWN with its reason, never OK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ftdoctor.findings import Finding, Fix


class CheckStatus(str, Enum):
    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    requirement: str
    status: CheckStatus
    message: str
    tier: str = "none"  # works | probed | installed | none
    fixes: tuple[Fix, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    runner: str  # "verify" (smoke tests ran) | "facts" (live facts only)
    results: tuple[CheckResult, ...] = ()
    findings: tuple[Finding, ...] = ()  # the verify rule families' own findings, when smoke tests ran
    note: str = ""
    elapsed_s: float | None = None

    def result(self, requirement: str) -> CheckResult | None:
        return next((r for r in self.results if r.requirement == requirement), None)
