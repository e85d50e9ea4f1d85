"""The gate: preflight findings + the requirements of this launch checked by a runner → launch or refuse.

An error-level finding refuses the launch; `--force` launches anyway, and the decision says so loudly, in
the terminal and in the run's record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Finding, Severity
from ftdoctor.trainer.gate import requirements as needs
from ftdoctor.trainer.gate.evidence import Evidence
from ftdoctor.trainer.gate.requirements import Requirement
from ftdoctor.trainer.gate.rules import RULES, GateContext, Resuming
from ftdoctor.trainer.gate.runners import Runner
from ftdoctor.trainer.launch.plan import LaunchPlan
from ftdoctor.trainer.preflight import Preflight, judge_preflight


@dataclass(frozen=True)
class GateDecision:
    launch: bool
    forced: bool
    findings: tuple[Finding, ...]
    requirements: tuple[Requirement, ...]
    evidence: Evidence
    plan: LaunchPlan
    checks_run: tuple[str, ...] = field(default=())  # the smoke tests (or fact checks) the runner ran

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    def force_warning(self) -> str:
        codes = ", ".join(sorted({f.code for f in self.errors}))
        return (f"LAUNCHED WITH --force PAST {len(self.errors)} ERROR(S) ({codes}): ftdoctor found this run will fail "
                "or silently do something other than its config says; its results are not to be trusted")

    def as_data(self) -> dict[str, Any]:
        from ftdoctor.typed_data import to_plain

        return {"launch": self.launch, "forced": self.forced,
                "warning": self.force_warning() if self.forced else None,
                "errors": len(self.errors), "requirements": to_plain(self.requirements),
                "checks_run": list(self.checks_run), "evidence": to_plain(self.evidence),
                "launch_plan": {**to_plain(self.plan), "backend": self.plan.backend, "launcher": self.plan.launcher},
                "findings": [to_plain(f) for f in self.findings]}


def run_gate(pre: Preflight, facts: Facts, plan: LaunchPlan, *, runner: Runner, matrix, settings=None,
             force: bool = False, resuming: Resuming | None = None,
             data_sha256: dict[str, str] | None = None) -> GateDecision:
    from ftdoctor.rules.engine import judge

    required = needs.derive(pre.config, pre.plan, plan)
    evidence = runner(required, facts)
    ctx = GateContext(facts=facts, matrix=matrix, settings=settings, pre=pre, launching=True, launch=plan,
                      requirements=required, evidence=evidence, resuming=resuming,
                      data_sha256=dict(data_sha256 or {}))
    findings = [*judge_preflight(pre, ctx), *judge(RULES, ctx), *evidence.findings]
    errors = any(f.severity == Severity.ERROR for f in findings)
    return GateDecision(launch=not errors or force, forced=errors and force, findings=tuple(findings),
                        requirements=required, evidence=evidence, plan=plan,
                        checks_run=tuple(dict.fromkeys(r.smoke for r in required)))


TITLES = {"gate": "Launch gate: what this run needs, checked here"}
