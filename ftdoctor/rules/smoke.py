"""What the rule families that judge smoke tests share: fetching a smoke's result (or the reason there is
none), turning a crash or a timeout into a failure that says where it happened, and choosing which rules
apply when smoke tests did not run, or ran only in part (the trainer's gate)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ftdoctor.facts.model import Facts, SmokeResult, SmokeStatus
from ftdoctor.findings import Fix
from ftdoctor.rules.base import Context, Fail, NotApplicable, Rule
from ftdoctor.verify.causes import name_cause

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


def broken(result: SmokeResult, what: str) -> Fail | None:
    """A Fail for a smoke that crashed or hung: `what` crashed/hung, where, and the cause its output shows."""
    if result.status not in (SmokeStatus.CRASHED, SmokeStatus.TIMEOUT):
        return None
    verb = "hung" if result.status == SmokeStatus.TIMEOUT else "crashed"
    cause = name_cause(result.output_tail)
    message = f"{what} {verb}: {result.reason}"
    if cause:
        message += f"; cause: {cause.summary}"
    fixes = (cause.fixes if cause else ()) + (
        Fix("see what it printed (the end is in this finding's evidence; run `ftdoctor check --verify --json` for all of it)"),
    )
    return Fail(message, evidence(result), fixes=fixes)


def failure_cause(text: str) -> tuple[str, tuple[Fix, ...]]:
    """'; cause: ...' and its fixes, when the text shows a known cause."""
    cause = name_cause(text)
    return (f"; cause: {cause.summary}", cause.fixes) if cause else ("", ())


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
