"""TOR38x-39x: the torch smoke test. Does torch initialise CUDA and compute right on every visible device?"""

from __future__ import annotations

from ftdoctor.facts.model import SmokeStatus
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule
from ftdoctor.rules.smoke import broken, evidence, explained, fetch

FAMILY = "verify-torch"


class TorchComputes(Rule):
    """torch multiplies matrices right on every visible device (the CPU when there is none)."""

    code = "TOR380"
    family = FAMILY
    smoke = "torch"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, self.smoke)
        if isinstance(result, NotApplicable):
            return result
        if failed := broken(ctx, result, "the torch smoke test"):
            return failed
        devices = result.details.get("devices", [])
        if result.status == SmokeStatus.OK:
            return Pass(f"{result.reason} (torch {result.details.get('torch')})", evidence(result))
        bad = [d for d in devices if not d.get("ok")]
        text = "; ".join(f"{_device(d)}: {d.get('error', '?')}" for d in bad) or result.reason
        cause = explained(ctx, text)
        return Fail(f"torch failed on {text}{cause.suffix}", evidence(result, devices=devices, **cause.evidence),
                    fixes=cause.fixes)


class CudaInitialises(Rule):
    """A CUDA build of torch initialises CUDA where NVIDIA GPUs are present."""

    code = "TOR381"
    family = FAMILY
    smoke = "torch"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, self.smoke)
        if isinstance(result, NotApplicable):
            return result
        if result.status != SmokeStatus.OK:
            return NotApplicable("the torch smoke test did not pass (TOR380 says why)")
        details = result.details
        if not details.get("cuda_compiled"):
            return NotApplicable(f"this torch is a CPU-only build ({details.get('torch')}): there is no CUDA to initialise")
        if details.get("cuda_available"):
            return Pass(f"CUDA {details.get('torch_cuda')} initialised on {details.get('device_count')} device(s)", evidence(result))
        gpus = ctx.facts.driver.gpus
        if not gpus:
            return NotApplicable("no NVIDIA GPU on this machine for this CUDA build of torch")
        warnings = " ".join(details.get("warnings", [])) or "torch.cuda.is_available() is False and torch gave no reason"
        cause = explained(ctx, warnings)
        return Fail(
            f"torch {details.get('torch')} (CUDA {details.get('torch_cuda')}) cannot use the {len(gpus)} NVIDIA GPU(s) "
            f"here: {warnings}{cause.suffix}",
            evidence(result, warnings=details.get("warnings", []), **cause.evidence),
            fixes=cause.fixes + (Fix("check CUDA_VISIBLE_DEVICES and the driver findings (DRV) above"),),
        )


def _device(device: dict) -> str:
    name = f" ({device['name']})" if device.get("name") else ""
    return f"{device.get('device', '?')}{name}"


RULES = (TorchComputes, CudaInitialises)
