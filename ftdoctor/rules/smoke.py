"""What the rule families that judge smoke tests share: fetching a smoke's result (or the reason there is
none), turning a crash or a timeout into a failure that says where it happened, naming the cause of a failure
through `ftdoctor explain` (one knowledge base for logs and smoke tests), and choosing which rules apply when
smoke tests did not run, or ran only in part (the trainer's gate)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftdoctor.facts.model import Facts, SmokeResult, SmokeStatus
from ftdoctor.findings import Fix
from ftdoctor.rules.base import Context, Fail, NotApplicable, Rule

if TYPE_CHECKING:
    from ftdoctor.explain.model import Diagnosis

TAIL_IN_EVIDENCE = 12  # lines of output kept in a finding's evidence


def fetch(ctx: Context, name: str) -> SmokeResult | NotApplicable:
    """The smoke's result, or NotApplicable with the reason it is not there or did not apply."""
    verify = ctx.facts.verify
    if not verify.ran:
        return NotApplicable(verify.reason)
    result = verify.smoke(name)
    if result is None:
        return NotApplicable(f"the {name} smoke test was not run")
    if result.status == SmokeStatus.SKIPPED:
        return NotApplicable(result.reason)
    return result


def evidence(result: SmokeResult, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"smoke": result.name, "status": result.status.value, "elapsed_s": result.elapsed_s}
    if result.status != SmokeStatus.OK:
        out.update(stage=result.stage, returncode=result.returncode, signal=result.signal,
                   output_tail="\n".join(result.output_tail.splitlines()[-TAIL_IN_EVIDENCE:]))
    return {**out, **extra}


def broken(ctx: Context, result: SmokeResult, what: str) -> Fail | None:
    """A Fail for a smoke that crashed or hung: `what` crashed/hung, where, and the cause its output shows."""
    if result.status not in (SmokeStatus.CRASHED, SmokeStatus.TIMEOUT):
        return None
    verb = "hung" if result.status == SmokeStatus.TIMEOUT else "crashed"
    cause = explained(ctx, result.output_tail)
    fixes = cause.fixes + (
        Fix("see what it printed (the end is in this finding's evidence; run `ftdoctor check --verify --json` for all of it)"),
    )
    return Fail(f"{what} {verb}: {result.reason}{cause.suffix}", evidence(result, **cause.evidence), fixes=fixes)


@dataclass(frozen=True)
class Cause:
    """`ftdoctor explain`'s most likely diagnosis of a smoke test's error text, as a finding adds it after the
    smoke's own facts: "; cause (category): ..." in the message, its fixes (for these facts), and where the
    knowledge came from in the evidence. Empty when explain knows no cause: never a guess."""

    diagnosis: Diagnosis | None = None

    @property
    def suffix(self) -> str:
        d = self.diagnosis
        if d is None:
            return ""
        sure = "" if d.confidence_label == "high" else f", {d.confidence_label} confidence"
        return f"; cause ({d.category}{sure}): {d.cause}"

    @property
    def fixes(self) -> tuple[Fix, ...]:
        return self.diagnosis.fixes if self.diagnosis else ()

    @property
    def evidence(self) -> dict[str, Any]:
        d = self.diagnosis
        if d is None:
            return {}
        return {"cause": {"category": d.category, "explain_signature": d.signature, "confidence": d.confidence,
                          "source": d.source}}


def explained(ctx: Context, text: str) -> Cause:
    """The cause `ftdoctor explain` names for this text (an error, a smoke's output tail), with its fixes
    written for the facts being judged."""
    if not (text or "").strip():
        return Cause()
    from ftdoctor.explain import explain_text

    result = explain_text(text, facts=ctx.facts, matrix=ctx.matrix)
    return Cause(result.diagnoses[0] if result.found else None)


def smoke_of(rule: type[Rule]) -> str | None:
    """The smoke test a rule judges (its `smoke` class attribute), or None for a rule that reads facts only."""
    return getattr(rule, "smoke", None)


def without_unrun_smokes(rules: Iterable[type[Rule]], facts: Facts) -> list[type[Rule]]:
    """Drop the rules of smoke-test families none of whose smokes ran: a plain `check` (or `--verify-only
    torch`) does not list the others as skipped. Within a family that ran, every rule stays, so that an
    opt-in smoke left out still says how to ask for it."""
    rules = list(rules)
    ran = {smoke.name for smoke in facts.verify.smokes}
    families = {rule.family for rule in rules if smoke_of(rule) in ran}
    return [rule for rule in rules if smoke_of(rule) is None or rule.family in families]


def rules_for_smokes(names: Iterable[str]) -> list[type[Rule]]:
    """Every rule of the families the named smokes feed, the static ones (such as /dev/shm) included."""
    from ftdoctor.rules import all_rules

    wanted = set(names)
    rules = all_rules()
    families = {rule.family for rule in rules if smoke_of(rule) in wanted}
    return [rule for rule in rules if rule.family in families]
