"""TRI1xx: Triton compiles and runs a kernel on this GPU (what torch.compile and many fused kernels need)."""

from __future__ import annotations

from ftdoctor.facts.model import SmokeStatus
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule
from ftdoctor.rules.smoke import broken, evidence, explained, fetch

FAMILY = "triton"


class TritonRuns(Rule):
    """Triton compiles and runs a trivial kernel on the GPU."""

    code = "TRI100"
    family = FAMILY
    smoke = "triton"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, self.smoke)
        if isinstance(result, NotApplicable):
            return result
        if failed := broken(ctx, result, "the Triton smoke test"):
            return failed
        if result.status == SmokeStatus.OK:
            return Pass(f"{result.reason} (triton {result.details.get('version')})", evidence(result))
        cause = explained(ctx, result.reason + "\n" + result.output_tail)
        return Fail(f"Triton {result.details.get('version', '')} failed: {result.reason}{cause.suffix}",
                    evidence(result, **cause.evidence),
                    fixes=cause.fixes + (Fix("torch.compile and Triton-based kernels will fail the same way; "
                                       "install the triton version torch pins", (ctx.pip("check"),)),))


RULES = (TritonRuns,)
