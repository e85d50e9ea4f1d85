"""A fix plan and its outcome, as text and as data."""

from __future__ import annotations

from ftdoctor.fix.plan import Plan
from ftdoctor.typed_data import to_plain


def plan_text(plan: Plan, dry_run: bool, previews=None) -> str:
    lines = [f"ftdoctor fix · {plan.python}"]
    if not plan.problems:
        return "\n".join(lines + ["nothing to fix: check found no errors or warnings"]) + "\n"
    lines.append(f"found {len(plan.problems)} problem(s): " + ", ".join(f.code for f in plan.problems))
    lines += [f"  note: {n}" for n in plan.notes]
    if not plan.steps:
        lines.append("no step can be planned for them (see `ftdoctor check` for their fixes)")
        return "\n".join(lines) + "\n"
    changes = dict((id(s), c) for s, c in previews or [])
    for i, step in enumerate(plan.steps, 1):
        lines += _step(i, step, plan.python, changes.get(id(step)))
    lines += _expected(plan)
    if dry_run and plan.runnable:
        lines.append("dry run: nothing was changed. Run `ftdoctor fix --apply` to apply the runnable steps.")
    return "\n".join(lines) + "\n"


def _step(i: int, step, python: str, actual) -> list[str]:
    tag = {"pip": "run", "env": "set", "manual": "by hand"}[step.kind]
    out = [f"{i}. [{tag}] {step.title}"]
    out += [f"     $ {line}" for line in step.command(python).splitlines()]
    for change in actual if actual is not None else step.changes:
        out.append(f"     - {change.describe()}")
    out += [f"     because {why}" for why in step.why[:3]]
    return out


def _expected(plan: Plan) -> list[str]:
    fixed = {f.code for f in plan.problems} - {f.code for f in plan.expected}
    line = f"expected afterwards (judged by the same rules): {len(plan.expected)} problem(s) left"
    if fixed:
        line += f"; fixed: {', '.join(sorted(fixed))}"
    return [line] + [f"  still: {f.code} {f.message}" for f in plan.expected]


def outcome_text(outcome, before, after) -> str:
    lines = []
    for r in outcome.results:
        mark = "done" if r.ok else "FAILED"
        lines.append(f"[{mark}] {r.step.title}: {r.detail}")
    if outcome.failed:
        lines.append("stopped at the failed step; the steps after it were not run")
    lines += _diff(before, after)
    return "\n".join(lines) + "\n"


def _problems(findings) -> dict[str, str]:
    return {f.code: f.message for f in findings if f.severity.value in ("error", "warning") and not f.message.startswith("unknown")}


def _diff(before, after) -> list[str]:
    old, new = _problems(before), _problems(after)
    lines = ["checked again:"]
    lines += [f"  fixed: {code}" for code in sorted(set(old) - set(new))]
    lines += [f"  still: {code} {new[code]}" for code in sorted(set(old) & set(new))]
    lines += [f"  new:   {code} {new[code]}" for code in sorted(set(new) - set(old))]
    if len(lines) == 1:
        lines.append("  no problem before or after")
    return lines


def plan_data(plan: Plan) -> dict:
    return {
        "python": plan.python,
        "problems": [f.code for f in plan.problems],
        "steps": [dict(to_plain(s), command=s.command(plan.python)) for s in plan.steps],
        "expected_problems": [f.code for f in plan.expected],
        "notes": list(plan.notes),
    }


def outcome_data(plan: Plan, outcome, before, after) -> dict:
    return {
        **plan_data(plan),
        "results": [{"title": r.step.title, "ok": r.ok, "detail": r.detail, "changes": [to_plain(c) for c in r.changes]}
                    for r in outcome.results],
        "before": sorted(_problems(before)),
        "after": sorted(_problems(after)),
    }
