"""Who runs the gate's checks. A runner takes the requirements and the live facts and returns `Evidence`;
the gate is given one (tests inject their own).

- `verify_runner`: ftdoctor's verified loading (`ftdoctor.verify.run_smokes`) runs exactly the smoke
  tests the requirements name, each in its own subprocess: the "works" tier.
- `facts_runner`: what the live facts already prove (torch imported in a subprocess: CUDA, device count,
  compute capability; package metadata for the rest). What they cannot prove stays UNKNOWN, with the
  smoke test that would settle it named.

`default_runner()` picks verified loading when this ftdoctor has it, the facts otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ftdoctor.facts.model import Facts, Status
from ftdoctor.findings import Fix
from ftdoctor.trainer.gate.evidence import CheckResult, CheckStatus, Evidence
from ftdoctor.trainer.gate.requirements import Requirement

Runner = Callable[[tuple[Requirement, ...], Facts], Evidence]
PACKAGES = {"flash-attn": "flash-attn", "bitsandbytes-4bit": "bitsandbytes", "bitsandbytes-8bit": "bitsandbytes",
            "deepspeed": "deepspeed", "deepspeed-ops": "deepspeed"}
INSTALL = {"flash-attn": ("flash-attn", "--no-build-isolation"), "bitsandbytes": ("bitsandbytes",),
           "deepspeed": ("deepspeed",)}


def default_runner() -> Runner:
    try:
        from ftdoctor.verify import SmokeOptions, run_smokes  # verified loading, when this build has it
    except ImportError:
        return facts_runner

    def run(requirements: tuple[Requirement, ...], facts: Facts) -> Evidence:
        ops = next((tuple(r.detail.split(",")) for r in requirements if r.name == "deepspeed-ops"), ())
        return verify_runner(requirements, facts, run_smokes, options=SmokeOptions(deepspeed_ops=ops))
    return run


# --------------------------------------------------------------------------- from the live facts
def facts_runner(requirements: tuple[Requirement, ...], facts: Facts) -> Evidence:
    results = tuple(_from_facts(r, facts) for r in requirements)
    return Evidence("facts", results, note="smoke tests are not available in this build: checks use the live "
                    "facts (torch probed in a subprocess, package metadata)")


def _from_facts(requirement: Requirement, facts: Facts) -> CheckResult:
    match requirement.name:
        case "torch":
            return _torch(requirement, facts)
        case "cuda":
            return _cuda(requirement, facts)
        case "bf16":
            return _bf16(requirement, facts)
        case "collective":
            return _collective(requirement, facts)
        case "deepspeed-ops":
            return _installed(requirement, facts, "whether DeepSpeed can build and load "
                              f"{requirement.detail} (a JIT C++ build on first use, about a minute each, cached) "
                              "is not verified")
    return _installed(requirement, facts, "whether it imports and runs here is not verified")


def _torch(req: Requirement, facts: Facts) -> CheckResult:
    torch = facts.torch
    if torch.status == Status.OK and torch.source == "subprocess":
        return CheckResult(req.name, CheckStatus.OK, f"torch {torch.version} imports (probed in a subprocess)",
                           "probed", details={"version": torch.version})
    if torch.status in (Status.ERROR, Status.ABSENT):
        return CheckResult(req.name, CheckStatus.FAILED, f"torch cannot run here: {torch.reason}", "probed",
                           (Fix("run `ftdoctor check` for the cause and the install command"),))
    return CheckResult(req.name, CheckStatus.UNKNOWN, f"torch was not probed: {torch.reason or 'no probe ran'}")


def _cuda(req: Requirement, facts: Facts) -> CheckResult:
    torch = facts.torch
    if torch.status != Status.OK or torch.source != "subprocess":
        return CheckResult(req.name, CheckStatus.UNKNOWN, f"torch was not probed ({torch.reason or 'no probe'}): "
                           "whether CUDA works is unknown")
    where = f"needed by {req.why}"
    fix = Fix("run on a machine with NVIDIA GPUs and a CUDA build of torch (`ftdoctor check` names the build for "
              "its driver), or change the setting that needs CUDA", ())
    if not torch.cuda:
        return CheckResult(req.name, CheckStatus.FAILED, f"CUDA is {where}, but torch {torch.version} is a CPU-only "
                           "build and this machine has no usable GPU", "probed", (fix,))
    if not torch.cuda_available:
        return CheckResult(req.name, CheckStatus.FAILED, f"CUDA is {where}, but torch (CUDA {torch.cuda}) reports "
                           "no usable GPU (torch.cuda.is_available() is False)", "probed", (fix,))
    count = torch.device_count or 0
    if count < req.count:
        return CheckResult(req.name, CheckStatus.FAILED, f"{req.count} GPUs are needed ({req.why}), torch sees "
                           f"{count}", "probed", (Fix(f"launch with --processes {count}, or on a machine with "
                                                      f"{req.count} GPUs (check CUDA_VISIBLE_DEVICES)"),))
    return CheckResult(req.name, CheckStatus.OK, f"torch sees {count} CUDA device(s)", "probed",
                       details={"device_count": count})


def _bf16(req: Requirement, facts: Facts) -> CheckResult:
    from ftdoctor.matrix import cc_tuple

    devices = facts.torch.devices or facts.driver.gpus
    ccs = [cc_tuple(d.compute_capability) for d in devices if d.compute_capability]
    if not ccs:
        return CheckResult(req.name, CheckStatus.UNKNOWN, "the GPUs' compute capability is unknown")
    low = min(ccs)
    if low >= (8, 0):
        return CheckResult(req.name, CheckStatus.OK, f"compute capability {low[0]}.{low[1]} has bf16", "probed")
    return CheckResult(req.name, CheckStatus.FAILED, f"bf16 needs compute capability 8.0 (Ampere) or newer; this "
                       f"GPU is {low[0]}.{low[1]}", "probed", (Fix("set bf16: false and fp16: true"),))


def _collective(req: Requirement, facts: Facts) -> CheckResult:
    backend = req.detail
    if backend == "nccl" and facts.torch.status == Status.OK and not facts.torch.nccl:
        return CheckResult(req.name, CheckStatus.FAILED, "this torch has no NCCL: the GPU processes cannot talk",
                           "probed", (Fix("install a CUDA build of torch (it bundles NCCL)"),))
    have = f"NCCL {facts.torch.nccl}" if backend == "nccl" and facts.torch.nccl else backend
    return CheckResult(req.name, CheckStatus.UNKNOWN, f"{req.count} ranks over {have}: an all-reduce across them "
                       "is not verified (the `distributed` smoke test would run one)", "installed")


def _installed(req: Requirement, facts: Facts, unverified: str) -> CheckResult:
    package = PACKAGES[req.name]
    dist = facts.distribution(package)
    if facts.python.status != Status.OK:
        return CheckResult(req.name, CheckStatus.UNKNOWN, f"the installed packages are unknown ({facts.python.reason})")
    if dist is None:
        command = " ".join([facts.python.executable or "python", "-m", "pip", "install", *INSTALL[package]])
        return CheckResult(req.name, CheckStatus.FAILED, f"{package} is needed by {req.why}, and it is not installed",
                           "installed", (Fix(f"install {package}", (command,)),))
    return CheckResult(req.name, CheckStatus.UNKNOWN, f"{package} {dist.version} is installed; {unverified} "
                       f"(the `{req.smoke}` smoke test would)", "installed", details={"version": dist.version})


# --------------------------------------------------------------------------- verified loading
def verify_runner(requirements: tuple[Requirement, ...], facts: Facts, run_smokes: Callable[..., Any], *,
                  options: Any = None) -> Evidence:
    """Run exactly the smoke tests the requirements name through `run_smokes(host, names, world_size=,
    facts=, options=, notices=)`, and read each requirement's result from the smoke that proves it."""
    import sys
    import time

    names = list(dict.fromkeys(r.smoke for r in requirements))
    world = max((r.count for r in requirements if r.name == "collective"), default=2)
    began = time.monotonic()
    extra = {"options": options} if options is not None else {}
    outcome = run_smokes(_host(facts), names, world_size=world, facts=facts, notices=sys.stderr, **extra)
    verified = getattr(outcome.facts, "verify", None)
    results = []
    for requirement in requirements:
        smoke = verified.smoke(requirement.smoke) if verified is not None else None
        results.append(_from_smoke(requirement, smoke, facts) if smoke is not None else
                       _from_facts(requirement, facts))
    return Evidence("verify", tuple(results), tuple(outcome.findings), f"smoke tests run: {', '.join(names)}",
                    round(time.monotonic() - began, 3))


def _host(facts: Facts):
    """This machine, for the training interpreter, with the DeepSpeed op cache the training run will use."""
    import os
    import sys

    from ftdoctor.probes.host import Host
    from ftdoctor.trainer.launch.command import extensions_dir

    python = facts.python.executable or sys.executable
    host = Host.from_environment(python=python)
    env = {**host.env, "TORCH_EXTENSIONS_DIR": os.environ.get("TORCH_EXTENSIONS_DIR") or str(extensions_dir(python))}
    return Host(root=host.root, env=env, python=python)


def _from_smoke(requirement: Requirement, smoke: Any, facts: Facts) -> CheckResult:
    status = str(getattr(smoke.status, "value", smoke.status))
    details = {"smoke": smoke.name, "status": status, "stage": smoke.stage, **dict(smoke.details or {})}
    if status == "skipped":  # e.g. "flash-attn is not installed": what the facts say decides
        known = _from_facts(requirement, facts)
        if known.status == CheckStatus.FAILED:
            return known
        return CheckResult(requirement.name, CheckStatus.UNKNOWN, f"`{smoke.name}` smoke test skipped: {smoke.reason}",
                           details=details)
    if status != "ok":
        tail = (smoke.output_tail or "").strip().splitlines()[-1:] or [""]
        return CheckResult(requirement.name, CheckStatus.FAILED, f"`{smoke.name}` smoke test {status}"
                           f"{' at ' + smoke.stage if smoke.stage else ''}: {smoke.reason or tail[0]}", "works",
                           (Fix("`ftdoctor check --verify` shows the smoke test's output and the fix"),), details)
    if requirement.name == "cuda":
        return _cuda_from_smoke(requirement, details)
    if requirement.name == "bf16":
        return _bf16(requirement, facts)  # the smoke's matmul is float32: the compute capability decides
    return CheckResult(requirement.name, CheckStatus.OK, f"`{smoke.name}` smoke test passed", "works", details=details)


def _cuda_from_smoke(requirement: Requirement, details: dict[str, Any]) -> CheckResult:
    count = (details.get("device_count") or 0) if details.get("cuda_available") else 0
    if count >= requirement.count:
        return CheckResult(requirement.name, CheckStatus.OK, f"a matmul is right on {count} CUDA device(s) (`torch` "
                           "smoke test)", "works", details=details)
    build = f"CUDA {details['torch_cuda']}" if details.get("torch_cuda") else "a CPU-only build"
    return CheckResult(requirement.name, CheckStatus.FAILED, f"CUDA on {requirement.count} device(s) is needed by "
                       f"{requirement.why}, but the `torch` smoke test found {count} (torch {details.get('torch')}, "
                       f"{build})", "works", (Fix("run on a machine with NVIDIA GPUs and a CUDA build of torch "
                                                  "(`ftdoctor check` names the build for its driver), or change the "
                                                  "setting that needs CUDA"),), details)
