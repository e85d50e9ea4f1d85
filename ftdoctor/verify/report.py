"""The smoke tests in a command's JSON data: what ran, how it ended, how long it took."""

from __future__ import annotations

from typing import Any

from ftdoctor.facts.model import Facts


def verify_summary(facts: Facts) -> dict[str, Any]:
    """{"verify": {...}} when smoke tests ran, else nothing (the findings carry the evidence)."""
    verify = facts.verify
    if not verify.ran:
        return {}
    smokes = [
        {"name": s.name, "status": s.status.value, "reason": s.reason, "stage": s.stage, "elapsed_s": s.elapsed_s}
        for s in verify.smokes
    ]
    return {"verify": {"elapsed_s": verify.elapsed_s, "smokes": smokes}}
